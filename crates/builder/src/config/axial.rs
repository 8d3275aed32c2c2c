//! `kind: "axial_rotary"`: `RotaryEmbedding.get_axial_freqs(*dims, offsets)` applied with
//! `apply_rotary_emb` (rotary-embedding-torch 0.9.1) — rotary over several axes (images,
//! video), each axis rotating its own block of `rot_dim` features.

use serde_json::Value;

use super::fields::{MAX_FEATURES, MAX_SIZE};
use super::rotary::FreqSpec;
use super::{Common, Fields};
use crate::error::ConfigError;

/// A validated `kind: "axial_rotary"` config.
#[derive(Clone, Debug, PartialEq)]
pub struct AxialRotaryConfig {
    pub common: Common,
    /// Frequency kwargs (`dim`, `freqs_for`, `theta`, ...).
    pub freqs: FreqSpec,
    /// Axis sizes `d1..dk`, or `None` for each: read from the input shape at run time.
    pub axial_dims: Vec<Option<usize>>,
    /// Per-axis position offsets (`offsets`), 0 by default.
    pub offsets: Vec<f64>,
    /// Feature size of the input (default: all rotated features, `k * rot_dim`).
    pub head_dim: usize,
    /// Number of leading (batch-like) axes before the axial ones.
    pub leading_rank: usize,
}

/// Training-only or irrelevant kwargs of `RotaryEmbedding` for axial use.
pub const AXIAL_IGNORED: &[&str] = &["learned_freq", "cache_if_possible", "cache_max_seq_len", "interpolate_factor", "seq_before_head_dim", "xpos_scale_base"];

impl AxialRotaryConfig {
    /// Read and validate.
    pub fn read(f: &mut Fields) -> Result<AxialRotaryConfig, ConfigError> {
        let common = Common::read(f)?;
        f.ignore(AXIAL_IGNORED);
        let freqs = FreqSpec::read(f)?;
        if f.bool_or("use_xpos", false)? {
            return Err(ConfigError::new("use_xpos", "get_axial_freqs has no xPos scaling"));
        }
        let axial_dims: Option<Vec<Option<usize>>> = match f.raw("axial_dims") {
            None => None,
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| match v {
                        Value::Null => Ok(None),
                        v => v.as_u64().filter(|d| *d > 0 && *d <= MAX_SIZE).map(|d| Some(d as usize)).ok_or_else(|| {
                            ConfigError::new(format!("axial_dims[{i}]"), format!("must be a positive integer of at most {MAX_SIZE}, or null, got {v}"))
                        }),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Some(v) => return Err(ConfigError::new("axial_dims", format!("must be a list of axis sizes (null entries: read at run time), got {v}"))),
        };
        let offsets = f.opt_f64_list("offsets")?;
        let num_axes = f.opt_usize_max("num_axes", 8)?;
        let k = match (&axial_dims, &offsets, num_axes) {
            (Some(d), _, _) => d.len(),
            (None, Some(o), _) => o.len(),
            (None, None, Some(n)) => n,
            (None, None, None) => return Err(ConfigError::new("axial_dims", "give the axis sizes, or num_axes to read them all from the input shape")),
        };
        if k == 0 {
            return Err(ConfigError::new("axial_dims", "needs at least one axis"));
        }
        if k > 8 {
            return Err(ConfigError::new("axial_dims", format!("at most 8 axes, got {k}")));
        }
        if let Some(n) = num_axes.filter(|n| *n != k) {
            return Err(ConfigError::new("num_axes", format!("{n} does not match the {k} axes of axial_dims/offsets")));
        }
        if let Some(o) = &offsets
            && o.len() != k
        {
            return Err(ConfigError::new("offsets", format!("has {} entries, one per axis ({k}) is needed", o.len())));
        }
        let rot = 2 * freqs.count();
        let head_dim = f.opt_usize_max("head_dim", MAX_FEATURES)?.unwrap_or(k * rot);
        if k * rot > head_dim {
            return Err(ConfigError::new("head_dim", format!("{k} axes x rotary dim {rot} = {} features exceed head_dim {head_dim}", k * rot)));
        }
        let leading_rank = f.opt_usize("leading_rank")?.unwrap_or(1);
        if leading_rank > 4 {
            return Err(ConfigError::new("leading_rank", format!("must be at most 4, got {leading_rank}")));
        }
        Ok(AxialRotaryConfig {
            common,
            freqs,
            axial_dims: axial_dims.unwrap_or_else(|| vec![None; k]),
            offsets: offsets.unwrap_or_else(|| vec![0.0; k]),
            head_dim,
            leading_rank,
        })
    }

    /// Number of axial axes.
    pub fn num_axes(&self) -> usize {
        self.axial_dims.len()
    }
}
