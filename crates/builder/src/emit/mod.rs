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
