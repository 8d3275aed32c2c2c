//! Emitters: one file per building block, and the registration table from config kind to
//! model builder.

pub mod rope;
pub mod rotary;
pub mod xpos;

use serde_json::Value;

use crate::config::ModelConfig;
use crate::error::EmitError;
use crate::graph::Graph;
use crate::weights::WeightMap;

/// Build the graph for a parsed config (and optional checkpoint weights).
pub fn build(config: &ModelConfig, weights: Option<&WeightMap>) -> Result<Graph, EmitError> {
    match config {
        ModelConfig::Rotary(c) => {
            // Learned frequencies (`learned_freq=True`) come from the checkpoint's `freqs`.
            let freqs = match weights {
                Some(w) => match w.find_suffix("freqs")? {
                    Some(key) => Some(w.f32_exact(key, &[c.num_rotary_freqs() as i64])?),
                    None => None,
                },
                None => None,
            };
            rotary::build(c, freqs)
        }
    }
}

/// Parse a config JSON value, build its graph, and record the config and kind in the graph's
/// metadata (`rotor.config`, `rotor.kind`).
pub fn build_from_json(config: &Value, weights: Option<&WeightMap>) -> Result<Graph, EmitError> {
    let parsed = ModelConfig::from_json(config)?;
    let mut g = build(&parsed, weights)?;
    g.set_metadata("rotor.kind", parsed.kind());
    g.set_metadata("rotor.config", &config.to_string());
    Ok(g)
}

/// A note for config-only exports whose frequencies may differ from torch's by one ulp:
/// torch evaluates `theta ** x` for blocks of 16 frequencies with SLEEF's vectorised powf,
/// while rotor rounds correctly (as torch's scalar path does). `None` when not applicable.
pub fn precision_note(config: &Value) -> Option<String> {
    match ModelConfig::from_json(config).ok()? {
        ModelConfig::Rotary(c) if c.custom_freqs.is_none() && c.freqs_for == crate::config::FreqsFor::Lang && c.dim >= 32 => Some(format!(
            "frequencies computed from the config; torch computes dim >= 32 ({}) with SLEEF's vectorised powf, \
             up to 1 ulp apart, which past ~1000 positions can reach the 1e-4 parity tolerance. \
             For bit-exact frequencies pass the module's state_dict with --weights (its `freqs`).",
            c.dim
        )),
        _ => None,
    }
}
