//! Model configs: the PyTorch constructor kwargs (snake_case, same defaults) plus rotor's own
//! keys, parsed from JSON with errors that name the offending field (DESIGN §2).

mod axial;
mod fields;
mod hierarchical;
pub mod keys;
mod rotary;
mod sinusoidal;

pub use axial::{AXIAL_IGNORED, AxialRotaryConfig};
pub use fields::Fields;
pub use sinusoidal::{SinusoidalConfig, SinusoidalLayout, SinusoidalMode};

pub use hierarchical::{HIERARCHICAL_IGNORED, HierarchicalConfig, Hierarchy, Window};
pub use rotary::{FreqSpec, FreqsFor, FusedOp, Layout, ROTARY_IGNORED, RotaryConfig, RotaryMode};

use serde_json::Value;

use crate::DType;
use crate::error::ConfigError;

/// Keys every kind accepts.
#[derive(Clone, Debug, PartialEq)]
pub struct Common {
    /// Element type of float inputs and outputs.
    pub dtype: DType,
    /// ai.onnx opset (default chosen by `form`).
    pub opset: i64,
    /// `decomposed` (portable ops) or `fused` (opset-23 `RotaryEmbedding`).
    pub form: Form,
}

/// Graph form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// Elementwise ops only; runs everywhere (opset 17 by default).
    Decomposed,
    /// The fused `RotaryEmbedding` op where semantics allow (opset 23).
    Fused,
}

/// A parsed config, one variant per `kind`.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelConfig {
    /// `kind: "rotary"` — `RotaryEmbedding` of rotary-embedding-torch.
    Rotary(RotaryConfig),
    /// `kind: "hierarchical_transformer"` — `HierarchicalTransformer` of
    /// simple-hierarchical-transformer (needs checkpoint weights).
    Hierarchical(HierarchicalConfig),
    /// `kind: "axial_rotary"` — `get_axial_freqs` + `apply_rotary_emb`.
    AxialRotary(AxialRotaryConfig),
    /// `kind: "sinusoidal"` — absolute sinusoidal position encoding.
    Sinusoidal(SinusoidalConfig),
}

/// Kinds rotor knows, for error messages.
/// The ai.onnx opsets rotor's emitters write (the `opset` key), each tested against the
/// packages. Graphs built by hand with [`crate::Builder`] may use any opset whose ops they use.
pub const EMIT_OPSETS: std::ops::RangeInclusive<i64> = 17..=24;

pub const KINDS: &[&str] = &["rotary", "axial_rotary", "sinusoidal", "hierarchical_transformer"];

/// Marker prefix for non-finite numbers found in config text (see [`parse_json_text`]).
pub(crate) const NON_FINITE: &str = "rotor-non-finite:";

/// Parse config text as JSON. Python's `json.dumps` writes `NaN`, `Infinity` and `-Infinity`,
/// and numbers like `1e999` overflow: those are kept (as marked strings) so that the field
/// getters can reject them by name ("`theta`: must be a finite number, got Infinity") instead
/// of failing the whole parse.
pub fn parse_json_text(text: &str) -> Result<Value, ConfigError> {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => Ok(v),
        Err(first) => {
            let patched = mark_non_finite(text);
            serde_json::from_str::<Value>(&patched).map_err(|_| ConfigError::new("<json>", format!("invalid JSON: {first}")))
        }
    }
}

fn mark_non_finite(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let (mut i, mut in_str) = (0, false);
    while i < chars.len() {
        let c = chars[i];
        if in_str {
            out.push(c);
            if c == '\\' && i + 1 < chars.len() {
                out.push(chars[i + 1]);
                i += 1;
            } else if c == '"' {
                in_str = false;
            }
            i += 1;
            continue;
        }
        if c == '"' {
            in_str = true;
            out.push(c);
            i += 1;
            continue;
        }
        let is_start = c == '-' || c == 'N' || c == 'I' || c.is_ascii_digit();
        if is_start {
            let mut j = i;
            while j < chars.len() && (chars[j].is_ascii_alphanumeric() || matches!(chars[j], '-' | '+' | '.')) {
                j += 1;
            }
            let token: String = chars[i..j].iter().collect();
            let non_finite = matches!(token.as_str(), "NaN" | "Infinity" | "-Infinity" | "-NaN") || token.parse::<f64>().is_ok_and(|v| !v.is_finite());
            if non_finite {
                out.push_str(&format!("\"{NON_FINITE}{token}\""));
            } else {
                out.push_str(&token);
            }
            i = j.max(i + 1);
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// The first key of `map` that kind `kind` does not document (its keys, the common ones and its
/// accepted training-only kwargs), as the error [`Fields::finish`] would give for it.
fn unknown_key(map: &serde_json::Map<String, Value>, kind: &str) -> Option<ConfigError> {
    let documented = keys::keys(kind)?;
    let known: Vec<&str> = keys::COMMON.iter().chain(documented.iter()).map(|k| k.key).chain(keys::ignored(kind).iter().copied()).collect();
    let k = map.keys().find(|k| !known.contains(&k.as_str()))?;
    Some(fields::unknown_key_error(k, &known, &format!("kind {kind:?}")))
}

impl ModelConfig {
    /// Parse a config from JSON text.
    pub fn from_json_str(text: &str) -> Result<ModelConfig, ConfigError> {
        ModelConfig::from_json(&parse_json_text(text)?)
    }

    /// Parse a config from a JSON value (an object with `kind`).
    pub fn from_json(value: &Value) -> Result<ModelConfig, ConfigError> {
        let Value::Object(map) = value else {
            return Err(ConfigError::new("<json>", "the config must be a JSON object"));
        };
        let mut f = Fields::new(map);
        let kind = match f.raw("kind") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => return Err(ConfigError::new("kind", format!("must be a string, got {other}"))),
            None => return Err(ConfigError::new("kind", format!("is required (one of {})", KINDS.join(", ")))),
        };
        let read = match kind.as_str() {
            "rotary" => RotaryConfig::read(&mut f).map(ModelConfig::Rotary),
            "hierarchical_transformer" => HierarchicalConfig::read(&mut f).map(ModelConfig::Hierarchical),
            "axial_rotary" => AxialRotaryConfig::read(&mut f).map(ModelConfig::AxialRotary),
            "sinusoidal" => SinusoidalConfig::read(&mut f).map(ModelConfig::Sinusoidal),
            other => return Err(ConfigError::new("kind", format!("unknown kind {other:?}; supported: {}", KINDS.join(", ")))),
        };
        // A typo (`"dimm": 32`) is reported as the unknown key it is, with its did-you-mean,
        // rather than as the error it caused (`dim` is required).
        let parsed = read.map_err(|e| unknown_key(map, &kind).unwrap_or(e))?;
        f.finish(&format!("kind {kind:?}"))?;
        Ok(parsed)
    }

    /// The `kind` string.
    pub fn kind(&self) -> &'static str {
        match self {
            ModelConfig::Rotary(_) => "rotary",
            ModelConfig::Hierarchical(_) => "hierarchical_transformer",
            ModelConfig::AxialRotary(_) => "axial_rotary",
            ModelConfig::Sinusoidal(_) => "sinusoidal",
        }
    }

    /// Common keys.
    pub fn common(&self) -> &Common {
        match self {
            ModelConfig::Rotary(c) => &c.common,
            ModelConfig::Hierarchical(c) => &c.common,
            ModelConfig::AxialRotary(c) => &c.common,
            ModelConfig::Sinusoidal(c) => &c.common,
        }
    }
}

impl Common {
    /// Read `dtype`, `form` and `opset`.
    pub fn read(f: &mut Fields) -> Result<Common, ConfigError> {
        let dtype = match f.choice_or("dtype", &["float32", "float16", "bfloat16"], "float32")? {
            "float16" => DType::F16,
            "bfloat16" => DType::BF16,
            _ => DType::F32,
        };
        let form = match f.choice_or("form", &["decomposed", "fused"], "decomposed")? {
            "fused" => Form::Fused,
            _ => Form::Decomposed,
        };
        let default_opset = match form {
            Form::Decomposed => 17,
            Form::Fused => 23,
        };
        let opset = f.opt_i64("opset")?.unwrap_or(default_opset);
        let range = EMIT_OPSETS;
        if !range.contains(&opset) {
            return Err(ConfigError::new("opset", format!("{opset} is not supported (supported: {}..={})", range.start(), range.end())));
        }
        if form == Form::Fused && opset < 23 {
            return Err(ConfigError::new("opset", format!("form \"fused\" needs opset >= 23 (RotaryEmbedding), got {opset}")));
        }
        Ok(Common { dtype, opset, form })
    }
}
