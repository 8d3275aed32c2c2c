//! Emitters, grouped by family — [`rotary`] (RoPE, xPos, axial rotary: rotary-embedding-torch),
//! [`hierarchical`] (simple-hierarchical-transformer's blocks), [`sinusoidal`] — one file per
//! building block, and the registration table from config kind to model builder.

pub mod hierarchical;
pub mod rotary;
pub mod sinusoidal;

use serde_json::Value;

use crate::config::ModelConfig;
use crate::error::EmitError;
use crate::weights::WeightMap;
use crate::{Builder, Graph};

/// Build the graph for a parsed config (and optional checkpoint weights).
pub fn build(config: &ModelConfig, weights: Option<&WeightMap>) -> Result<Graph, EmitError> {
    match config {
        ModelConfig::Rotary(c) => rotary::build(c, checkpoint_freqs(weights, c.num_rotary_freqs())?, xpos_base(weights)?),
        ModelConfig::AxialRotary(c) => rotary::axial::build(c, checkpoint_freqs(weights, c.freqs.count())?),
        ModelConfig::Sinusoidal(c) => sinusoidal::build(c),
        ModelConfig::Hierarchical(c) => {
            let w = weights.ok_or_else(|| {
                crate::ConfigError::new("kind", "hierarchical_transformer needs the checkpoint: pass --weights model.safetensors (its state_dict)")
            })?;
            hierarchical::build(c, w)
        }
    }
}

/// `freqs` of a `RotaryEmbedding` checkpoint (learned, or torch's exact values), if given.
fn checkpoint_freqs(weights: Option<&WeightMap>, count: usize) -> Result<Option<Vec<f32>>, EmitError> {
    let Some(w) = weights else { return Ok(None) };
    match w.find_suffix("freqs")? {
        Some(key) => Ok(Some(w.f32_exact(key, &[count as i64])?)),
        None => Ok(None),
    }
}

/// The xPos base of a live `RotaryEmbedding` (its non-persistent `scale` buffer, which only
/// rotor's Python package passes), if given.
fn xpos_base(weights: Option<&WeightMap>) -> Result<Option<Vec<f32>>, EmitError> {
    let Some(w) = weights else { return Ok(None) };
    match w.find_suffix("scale")? {
        Some(key) => {
            let t = w.get(key).ok_or_else(|| EmitError::Weight { key: key.into(), message: "missing".into() })?;
            Ok(Some(w.f32_exact(key, &[t.len() as i64])?))
        }
        None => Ok(None),
    }
}

/// Parse a config JSON value, build its graph, and record the config and kind in the graph's
/// metadata (`rotor.config`, `rotor.kind`).
pub fn build_from_json(config: &Value, weights: Option<&WeightMap>) -> Result<Graph, EmitError> {
    let parsed = ModelConfig::from_json(config)?;
    if let Some(w) = weights {
        check_weights_are_read(&parsed, w)?;
    }
    let mut g = build(&parsed, weights)?;
    g.set_metadata("rotor.kind", parsed.kind());
    g.set_metadata("rotor.config", &config.to_string());
    Ok(g)
}

/// Weights that give a config nothing it reads are an error naming what was looked for (rather
/// than silently exporting config-only values).
fn check_weights_are_read(parsed: &ModelConfig, w: &WeightMap) -> Result<(), EmitError> {
    let have = || {
        let keys: Vec<&str> = w.keys().take(8).collect();
        if keys.is_empty() { "the file holds no tensors".to_string() } else { format!("the file holds {}", keys.join(", ")) }
    };
    match parsed {
        ModelConfig::Rotary(_) | ModelConfig::AxialRotary(_) if w.find_suffix("freqs")?.is_none() => Err(EmitError::Weight {
            key: "freqs".into(),
            message: format!("not in the weights ({}); a RotaryEmbedding's state_dict holds its frequencies as `freqs` (or `<prefix>.freqs`)", have()),
        }),
        ModelConfig::Sinusoidal(_) => {
            Err(EmitError::Weight { key: w.keys().next().unwrap_or("").to_string(), message: "sinusoidal configs read no weights: drop --weights".into() })
        }
        _ => Ok(()),
    }
}

/// A note for config-only exports whose frequencies may differ from torch's by one ulp:
/// torch evaluates `theta ** x` for blocks of 16 frequencies with SLEEF's vectorised powf,
/// while rotor rounds correctly (as torch's scalar path does). `None` when not applicable.
pub fn precision_note(config: &Value) -> Option<String> {
    match ModelConfig::from_json(config).ok()? {
        ModelConfig::Rotary(c) if c.freqs.custom_freqs.is_none() && c.freqs.freqs_for == crate::config::FreqsFor::Lang && c.freqs.dim >= 32 => Some(format!(
            "frequencies computed from the config; torch computes dim >= 32 ({}) with SLEEF's vectorised powf, \
             up to 1 ulp apart, which past ~1000 positions can reach the 1e-4 parity tolerance. \
             For bit-exact frequencies pass the module's state_dict with --weights (its `freqs`).",
            c.freqs.dim
        )),
        _ => None,
    }
}

/// What an export chose that its caller may not expect, one line each: a fused form that fell
/// back to the decomposed one (and why), float64 weights rounded to float32, and the
/// [`precision_note`] of frequencies computed from the config (`freqs_given`: the frequencies
/// came from weights or from libtorch).
pub fn export_notes(g: &Graph, config: &Value, weights: Option<&WeightMap>, freqs_given: bool) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(rounded) = weights.map(WeightMap::rounded).filter(|r| !r.is_empty()) {
        let shown: Vec<String> = rounded.iter().take(4).map(|k| format!("`{k}`")).collect();
        let more = if rounded.len() > shown.len() { format!(" and {} more", rounded.len() - shown.len()) } else { String::new() };
        notes.push(format!("{} float64 weight(s) rounded to float32, the precision of rotor's graphs: {}{more}", rounded.len(), shown.join(", ")));
    }
    if let Some((_, form)) = g.metadata().iter().find(|(k, _)| k == "rotor.form")
        && form.starts_with("decomposed (")
    {
        notes.push(format!("emitted {form}"));
    }
    if !freqs_given && let Some(note) = precision_note(config) {
        notes.push(note);
    }
    notes
}

/// Zero-pad axis `axis` (non-negative) of `x` at the end to a multiple of `m`, given the axis
/// length `n` as a `[1]` int64 vector. Written as a constant `Pad` of `m − 1` rows followed by a
/// `Slice` to `ceil(n/m)·m` rows, because tract only takes constant pads.
pub fn pad_to_multiple(g: &mut Builder, local: &str, x: crate::Value, n: crate::Value, m: usize, axis: usize) -> Result<crate::Value, crate::BuildError> {
    if m == 1 {
        return Ok(x);
    }
    let rank = g.rank(x);
    g.with_scope(local, |g| {
        // 1. m - 1 zero rows at the end (the most any length needs)
        let mut pads = vec![0i64; 2 * rank];
        pads[rank + axis] = m as i64 - 1;
        let pads = g.const_i64s("pads", &pads)?;
        let padded = g.pad("padded", x, pads, None)?;
        // 2. keep ceil(n / m) * m rows
        let m_minus_1 = g.const_i64s("m_minus_1", &[m as i64 - 1])?;
        let m_c = g.const_i64s("m", &[m as i64])?;
        let up = g.add("up", n, m_minus_1)?;
        let count = g.div("count", up, m_c)?;
        let total = g.mul("total", count, m_c)?;
        first_rows(g, "", padded, total, axis as i64)
    })
}

/// The first `n` entries (`n` a `[1]` int64 vector) along `axis`: `Gather(x, Range(0, n))`.
/// Unlike `Slice(x, 0, n)`, the output length is `n` by construction, with no `min(n, len)`
/// for a runtime's shape inference to resolve (tract mis-handles those when they nest).
pub fn first_rows(g: &mut Builder, local: &str, x: crate::Value, n: crate::Value, axis: i64) -> Result<crate::Value, crate::BuildError> {
    let name = |s: &str| if local.is_empty() { format!("rows_{s}") } else { format!("{local}_{s}") };
    let n = g.squeeze(&name("count"), n, &[0])?;
    let zero = g.const_i64(&name("zero"), 0)?;
    let one = g.const_i64(&name("one"), 1)?;
    let idx = g.range(&name("index"), zero, n, one)?;
    g.gather(local, x, idx, axis)
}

/// Rows `0, s, 2s, …` of axis 1 of `x` (`x[:, ::s]`), exactly `n` of them (`n` as an int64
/// scalar): a `Gather` with indices `Range(0, n·s, s)` — no strided `Slice`, which tract does not
/// support on symbolic axes, and the output length is `n` by construction.
pub fn every_nth_row(g: &mut Builder, local: &str, x: crate::Value, s: usize, n: crate::Value) -> Result<crate::Value, crate::BuildError> {
    if s == 1 {
        return Ok(x);
    }
    g.with_scope(local, |g| {
        let st = g.const_i64("stride", s as i64)?;
        let zero = g.const_i64("zero", 0)?;
        let end = g.mul("end", n, st)?;
        let idx = g.range("index", zero, end, st)?;
        g.gather("", x, idx, 1)
    })
}
