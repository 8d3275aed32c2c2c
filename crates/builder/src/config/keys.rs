//! The config contract as data: every key of every kind, its default and meaning. `rotor export
//! KIND --help` prints it and `docs/config.md` is checked against it; a test builds each kind
//! with every key set to its listed default and requires the same graph as with the key left
//! out, so a documented default cannot drift from the parser's.

/// One config key.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KeyDoc {
    /// The key (a PyTorch kwarg, or one of rotor's graph keys).
    pub key: &'static str,
    /// The default as JSON (`None`: required, or derived from other keys as `derived` says).
    pub default: Option<&'static str>,
    /// For keys without a JSON default: `required`, or how the default is derived.
    pub derived: &'static str,
    /// What it means.
    pub doc: &'static str,
}

const fn k(key: &'static str, default: &'static str, doc: &'static str) -> KeyDoc {
    KeyDoc { key, default: Some(default), derived: "", doc }
}

const fn d(key: &'static str, derived: &'static str, doc: &'static str) -> KeyDoc {
    KeyDoc { key, default: None, derived, doc }
}

/// Keys every kind reads.
pub const COMMON: &[KeyDoc] = &[
    d("kind", "required", "rotary | axial_rotary | sinusoidal | hierarchical_transformer"),
    k("dtype", "\"float32\"", "float32 | float16 | bfloat16: inputs and outputs; positions, angles, cos/sin stay f32"),
    k("form", "\"decomposed\"", "decomposed (standard ops) | fused (opset-23 RotaryEmbedding where the config allows)"),
    d("opset", "17, or 23 with form fused", "ai.onnx opset, 17..=24"),
];

const FREQS: &[KeyDoc] = &[
    d("dim", "required", "rotary feature count (even; at most 65536)"),
    k("freqs_for", "\"lang\"", "lang | pixel | constant"),
    k("theta", "10000.0", "base of lang frequencies"),
    k("max_freq", "10.0", "top frequency of pixel frequencies"),
    k("num_freqs", "1", "number of constant frequencies"),
    k("custom_freqs", "null", "explicit frequencies (a list), used as given"),
    k("theta_rescale_factor", "1.0", "NTK-aware rescale: theta *= factor ** (dim / (dim - 2))"),
];

/// `kind: "rotary"`.
pub const ROTARY: &[KeyDoc] = &[
    k("use_xpos", "false", "xPos scaling (modes qk and cached_qk)"),
    k("xpos_scale_base", "512.0", "xPos scale base"),
    k("interpolate_factor", "1.0", "position interpolation: positions / factor (>= 1)"),
    k("seq_before_head_dim", "false", "sequence axis -3 instead of -2"),
    d("head_dim", "dim", "feature size of the inputs (partial rotation when larger than dim)"),
    k("rank", "4", "input rank, 3..=8"),
    k("layout", "\"interleaved\"", "interleaved pairs (2i, 2i+1) as the package | half pairs (i, i+d/2) as GPT-NeoX/LLaMA"),
    k("start_index", "0", "first rotated feature"),
    k("mode", "\"single\"", "single: x -> x_rot | qk: q, k -> q_rot, k_rot | cached_qk: q (Nq), k (Nk >= Nq)"),
    k("offset_input", "false", "adds an int64 scalar input `offset` (the package's offset=)"),
    k("fused_op", "\"ai.onnx\"", "with form fused: ai.onnx | com.microsoft (ORT's contrib op)"),
];

/// `kind: "axial_rotary"`.
pub const AXIAL: &[KeyDoc] = &[
    k("axial_dims", "null", "axis sizes (list; null entries, or null, read them from the input at run time; each <= 1048576, at most 8 axes)"),
    k("offsets", "null", "per-axis position offsets (null: all 0)"),
    d("num_axes", "len(axial_dims) or len(offsets)", "number of axes when every size is read at run time"),
    d("head_dim", "axes x 2 x rotary frequencies", "feature size of the input"),
    k("leading_rank", "1", "batch-like axes before the axial ones, 0..=4"),
];

/// `kind: "sinusoidal"`.
pub const SINUSOIDAL: &[KeyDoc] = &[
    d("d_model", "required", "feature size (even; at most 65536)"),
    k("base", "10000.0", "frequency base"),
    k("layout", "\"interleaved\"", "interleaved (sin even, cos odd) | concat (all sin, then all cos)"),
    k("emb_scale", "null", "null: y = x + pe | a number s: y = x * s + pe"),
    k("mode", "\"add\"", "add: x [B, N, d_model] -> y | table: positions int64 -> pe"),
    k("positions_rank", "1", "with mode table: positions [N] (1) or [B, N] (2)"),
    k("offset_input", "false", "adds an int64 scalar input `offset`"),
];

/// `kind: "hierarchical_transformer"` (needs `--weights`, the model's state_dict).
pub const HIERARCHICAL: &[KeyDoc] = &[
    d("num_tokens", "required", "vocabulary size"),
    d("dim", "required", "model width (int, or one per hierarchy; each at most 65536)"),
    d("depth", "required", "number of layers"),
    k("seq_len", "2048", "longest input; the graph refuses longer ones at run time"),
    k("dim_head", "64", "attention head size (int or per hierarchy; each at most 65536)"),
    k("heads", "8", "attention heads (int or per hierarchy)"),
    k("ff_mult", "4.0", "feed-forward expansion (number or per hierarchy)"),
    k("hierarchies", "1", "compression factor of each hierarchy (int or list)"),
    k("window_sizes", "null", "local attention window per hierarchy (null = full attention, 0 = none)"),
    k("hierarchical_stride", "1", "stride of each hierarchy (int or list)"),
    k("hierarchy_merge_all", "false", "merge every hierarchy's output"),
    d("predict_hierarchy", "the hierarchy of compression 1", "which hierarchy predicts the logits"),
    k("predict_use_all_hierarchy", "false", "predict from all hierarchies"),
];

/// The keys of a kind beyond [`COMMON`] (the frequency keys included for the rotary kinds).
pub fn keys(kind: &str) -> Option<Vec<KeyDoc>> {
    Some(match kind {
        "rotary" => [FREQS, ROTARY].concat(),
        "axial_rotary" => [FREQS, AXIAL].concat(),
        "sinusoidal" => SINUSOIDAL.to_vec(),
        "hierarchical_transformer" => HIERARCHICAL.to_vec(),
        _ => return None,
    })
}

/// Training-only kwargs of a kind: accepted and ignored.
pub fn ignored(kind: &str) -> &'static [&'static str] {
    match kind {
        "rotary" => super::rotary::ROTARY_IGNORED,
        "axial_rotary" => super::axial::AXIAL_IGNORED,
        "hierarchical_transformer" => super::hierarchical::HIERARCHICAL_IGNORED,
        _ => &[],
    }
}

/// The key table of a kind as text (for `rotor export KIND --help`).
pub fn help_text(kind: &str) -> Option<String> {
    let keys = keys(kind)?;
    let mut s = format!("Config keys of kind {kind:?} (JSON keys, or --key-name value flags; defaults as in the PyTorch class):\n\n");
    for kd in COMMON.iter().chain(keys.iter()) {
        let default = kd.default.map_or_else(|| format!("({})", kd.derived), |v| v.to_string());
        s.push_str(&format!("  {:<26} {:<32} {}\n", kd.key, default, kd.doc));
    }
    let ignored = ignored(kind);
    if !ignored.is_empty() {
        s.push_str(&format!("\nAccepted and ignored (training-only): {}\n", ignored.join(", ")));
    }
    Some(s)
}

/// Every kind's keys as Markdown tables (the generated part of `docs/config.md`).
pub fn markdown() -> String {
    let row = |kd: &KeyDoc| {
        format!("| `{}` | {} | {} |\n", kd.key, kd.default.map_or_else(|| format!("({})", kd.derived), |v| format!("`{v}`")), kd.doc.replace('|', "\\|"))
    };
    let mut s = String::from("### Keys of every kind\n\n| key | default | meaning |\n|---|---|---|\n");
    COMMON.iter().for_each(|kd| s.push_str(&row(kd)));
    for kind in ["rotary", "axial_rotary", "sinusoidal", "hierarchical_transformer"] {
        s.push_str(&format!("\n### `kind: \"{kind}\"`\n\n| key | default | meaning |\n|---|---|---|\n"));
        keys(kind).unwrap_or_default().iter().for_each(|kd| s.push_str(&row(kd)));
        let ignored = ignored(kind);
        if !ignored.is_empty() {
            s.push_str(&format!("\nAccepted and ignored (training-only): {}.\n", ignored.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")));
        }
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed expectation panics, which is how a test fails")]
mod tests {
    use super::*;
    use crate::config::ModelConfig;

    fn minimal(kind: &str) -> serde_json::Value {
        match kind {
            "rotary" => serde_json::json!({"kind": "rotary", "dim": 8}),
            "axial_rotary" => serde_json::json!({"kind": "axial_rotary", "dim": 4, "num_axes": 2}),
            "sinusoidal" => serde_json::json!({"kind": "sinusoidal", "d_model": 8}),
            _ => serde_json::json!({"kind": "hierarchical_transformer", "num_tokens": 16, "dim": 8, "depth": 1}),
        }
    }

    #[test]
    fn listed_defaults_are_the_parser_defaults() {
        for kind in ["rotary", "axial_rotary", "sinusoidal", "hierarchical_transformer"] {
            let base = ModelConfig::from_json(&minimal(kind)).unwrap_or_else(|e| panic!("{kind}: {e}"));
            let keys = keys(kind).unwrap_or_default();
            for kd in COMMON.iter().chain(keys.iter()) {
                let Some(default) = kd.default else { continue };
                let mut cfg = minimal(kind);
                // keys that only apply with another key set: compare with that key set on both sides
                let companion = match (kind, kd.key) {
                    (_, "fused_op") => Some(("form", "fused")),
                    ("sinusoidal", "positions_rank") => Some(("mode", "table")),
                    _ => None,
                };
                let base = match companion {
                    Some((key, value)) => {
                        cfg[key] = value.into();
                        ModelConfig::from_json(&cfg).unwrap_or_else(|e| panic!("{kind}: {e}"))
                    }
                    None => base.clone(),
                };
                let value: serde_json::Value =
                    serde_json::from_str(default).unwrap_or_else(|e| panic!("{kind}.{}: default {default} is not JSON: {e}", kd.key));
                cfg[kd.key] = value;
                let parsed = ModelConfig::from_json(&cfg).unwrap_or_else(|e| panic!("{kind}.{} = {default}: {e}", kd.key));
                assert_eq!(parsed, base, "{kind}.{}: the listed default {default} is not the parser's", kd.key);
            }
            // every listed key is one the parser knows (a misspelt key would be refused)
            for kd in &keys {
                let mut cfg = minimal(kind);
                cfg[kd.key] = serde_json::Value::Null;
                if let Err(e) = ModelConfig::from_json(&cfg) {
                    assert!(!e.to_string().contains("unknown key"), "{kind}.{}: {e}", kd.key);
                }
            }
        }
    }

    /// The integer bounds a key's doc states: `lo..=hi`, or `at most hi` (lower bound unknown).
    fn documented_bounds(doc: &str) -> Option<(Option<i64>, i64)> {
        let num = |s: &str| s.chars().take_while(char::is_ascii_digit).collect::<String>().parse::<i64>().ok();
        if let Some(i) = doc.find("..=") {
            let lo: String = doc[..i].chars().rev().take_while(char::is_ascii_digit).collect::<Vec<_>>().into_iter().rev().collect();
            return Some((lo.parse().ok(), num(&doc[i + 3..])?));
        }
        let i = doc.find("at most ")?;
        let rest = &doc[i + 8..];
        // "at most 8 axes" bounds a list's length, not a value
        if rest.trim_start_matches(|c: char| c.is_ascii_digit()).starts_with(" axes") {
            return None;
        }
        Some((None, num(rest)?))
    }

    #[test]
    fn documented_bounds_are_the_parsers() {
        let mut checked = 0;
        for kind in crate::config::KINDS {
            for kd in COMMON.iter().chain(keys(kind).unwrap_or_default().iter()) {
                let Some((lo, hi)) = documented_bounds(kd.doc) else { continue };
                let with = |v: i64| {
                    let mut cfg = minimal(kind);
                    cfg[kd.key] = v.into();
                    ModelConfig::from_json(&cfg)
                };
                assert!(with(hi).is_ok(), "{kind}.{} = {hi} (documented bound): {:?}", kd.key, with(hi).err());
                let e = with(hi + 1).expect_err("past the documented bound");
                assert!(e.to_string().contains(&format!("`{}", kd.key)), "{kind}.{} = {}: {e}", kd.key, hi + 1);
                if let Some(lo) = lo {
                    assert!(with(lo).is_ok(), "{kind}.{} = {lo} (documented bound): {:?}", kd.key, with(lo).err());
                    let e = with(lo - 1).expect_err("below the documented bound");
                    assert!(e.to_string().contains(&format!("`{}", kd.key)), "{kind}.{} = {}: {e}", kd.key, lo - 1);
                }
                checked += 1;
            }
        }
        assert!(checked >= 6, "only {checked} documented bounds found");
    }

    #[test]
    fn help_lists_every_key() {
        let text = help_text("rotary").unwrap_or_default();
        for key in ["dim", "theta", "use_xpos", "layout", "fused_op", "opset", "learned_freq"] {
            assert!(text.contains(key), "{key} missing from:\n{text}");
        }
        assert!(help_text("nope").is_none());
    }
}
