//! `kind: "sinusoidal"`: absolute sinusoidal position encoding (Vaswani et al.).
//! `PE[pos, 2i] = sin(pos / base^(2i/d))`, `PE[pos, 2i+1] = cos(pos / base^(2i/d))`
//! (`layout: "interleaved"`), or all sines then all cosines (`layout: "concat"`).

use super::fields::MAX_FEATURES;
use super::{Common, Fields};
use crate::error::ConfigError;

/// Where sines and cosines go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinusoidalLayout {
    /// sin at even features, cos at odd features.
    Interleaved,
    /// `[sin(a_0..a_{d/2}), cos(a_0..a_{d/2})]`.
    Concat,
}

/// What the graph computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinusoidalMode {
    /// Input `x` `[B, N, d_model]` → `y = x * emb_scale + PE` (no scale when `emb_scale` is null).
    Add,
    /// Input `positions` int64 → `pe` (the table rows at those positions).
    Table,
}

/// A validated `kind: "sinusoidal"` config.
#[derive(Clone, Debug, PartialEq)]
pub struct SinusoidalConfig {
    pub common: Common,
    /// Feature size (even).
    pub d_model: usize,
    /// Wavelength base (10000).
    pub base: f64,
    pub layout: SinusoidalLayout,
    /// Multiplier of `x` in `add` mode (`sqrt(d_model)` in the Transformer), or none.
    pub emb_scale: Option<f64>,
    pub mode: SinusoidalMode,
    /// Rank of `positions` in `table` mode: 1 (`[N]`) or 2 (`[B, N]`).
    pub positions_rank: usize,
    /// Add an int64 scalar input `offset` added to every position.
    pub offset_input: bool,
}

impl SinusoidalConfig {
    /// Read and validate.
    pub fn read(f: &mut Fields) -> Result<SinusoidalConfig, ConfigError> {
        let common = Common::read(f)?;
        if common.form == super::Form::Fused {
            return Err(ConfigError::new("form", "sinusoidal encodings have no fused ONNX op; use \"decomposed\""));
        }
        let d_model = f.opt_usize_max("d_model", MAX_FEATURES)?.ok_or_else(|| ConfigError::new("d_model", "is required"))?;
        if d_model < 2 || d_model % 2 != 0 {
            return Err(ConfigError::new("d_model", format!("must be an even integer >= 2, got {d_model}")));
        }
        let base = f.f64_or("base", 10000.0)?;
        if base <= 0.0 {
            return Err(ConfigError::new("base", format!("must be > 0, got {base}")));
        }
        let layout = match f.choice_or("layout", &["interleaved", "concat"], "interleaved")? {
            "concat" => SinusoidalLayout::Concat,
            _ => SinusoidalLayout::Interleaved,
        };
        let emb_scale = match f.raw("emb_scale") {
            None => None,
            Some(_) => Some(f.f64_or("emb_scale", 1.0)?),
        };
        let mode = match f.choice_or("mode", &["add", "table"], "add")? {
            "table" => SinusoidalMode::Table,
            _ => SinusoidalMode::Add,
        };
        let positions_rank = f.opt_usize_max("positions_rank", 16)?.unwrap_or(1);
        if !(1..=2).contains(&positions_rank) {
            return Err(ConfigError::new("positions_rank", format!("must be 1 ([N]) or 2 ([B, N]), got {positions_rank}")));
        }
        if mode == SinusoidalMode::Add && f.has("positions_rank") {
            return Err(ConfigError::new("positions_rank", "only applies to mode \"table\""));
        }
        if mode == SinusoidalMode::Table && emb_scale.is_some() {
            return Err(ConfigError::new("emb_scale", "only applies to mode \"add\""));
        }
        let offset_input = f.bool_or("offset_input", false)?;
        Ok(SinusoidalConfig { common, d_model, base, layout, emb_scale, mode, positions_rank, offset_input })
    }

    /// `1 / base^(2i/d)` for i in 0..d/2, computed in f64.
    pub fn inv_freq(&self) -> Vec<f64> {
        (0..self.d_model / 2).map(|i| 1.0 / self.base.powf((2 * i) as f64 / self.d_model as f64)).collect()
    }
}
