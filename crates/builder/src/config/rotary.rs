//! `kind: "rotary"`: the kwargs of `rotary_embedding_torch.RotaryEmbedding` (0.9.1) plus the
//! graph-shape keys of rotor (`head_dim`, `rank`, `layout`, `start_index`, `mode`,
//! `offset_input`).

use super::fields::MAX_FEATURES;
use super::{Common, Fields};
use crate::error::ConfigError;

/// How frequencies are chosen (`freqs_for`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreqsFor {
    /// `1 / theta^(2i/dim)`.
    Lang,
    /// `linspace(1, max_freq/2, dim/2) * pi`.
    Pixel,
    /// `ones(num_freqs)`.
    Constant,
}

/// Which features form a rotation pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Pairs (2i, 2i+1), as rotary-embedding-torch (GPT-J style).
    Interleaved,
    /// Pairs (i, i + rot_dim/2), as GPT-NeoX / LLaMA.
    Half,
}

/// Which public method of `RotaryEmbedding` the graph computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RotaryMode {
    /// `x` → `rotate_queries_or_keys(x, offset)`.
    Single,
    /// `q, k` (same length) → each `rotate_queries_or_keys(·, offset)`, or with xPos
    /// `rotate_queries_and_keys(q, k)`.
    Qk,
    /// `q` (Nq), `k` (Nk ≥ Nq) → `rotate_queries_with_cached_keys(q, k, offset)`.
    CachedQk,
}

/// Which fused op `form: "fused"` emits (`fused_op`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FusedOp {
    /// ai.onnx `RotaryEmbedding` (opset 23): `(X, cos_cache, sin_cache)` with 3-D caches.
    Onnx,
    /// ORT's `com.microsoft.RotaryEmbedding`: `(input, position_ids, cos_cache, sin_cache)` with
    /// 2-D caches indexed by `position_ids` `[B, S]`.
    Microsoft,
}

/// A validated `kind: "rotary"` config.
#[derive(Clone, Debug, PartialEq)]
pub struct RotaryConfig {
    pub common: Common,
    /// The frequency kwargs (`dim`, `custom_freqs`, `freqs_for`, `theta`, ...).
    pub freqs: FreqSpec,
    pub use_xpos: bool,
    pub xpos_scale_base: f64,
    pub interpolate_factor: f64,
    pub seq_before_head_dim: bool,
    /// Feature size of the inputs (default `dim`).
    pub head_dim: usize,
    /// Input rank (default 4).
    pub rank: usize,
    pub layout: Layout,
    /// First rotated feature.
    pub start_index: usize,
    pub mode: RotaryMode,
    /// Add an int64 scalar input `offset`.
    pub offset_input: bool,
    /// The op of the fused form.
    pub fused_op: FusedOp,
}

/// The frequency kwargs of `RotaryEmbedding` (what `self.freqs` is built from).
#[derive(Clone, Debug, PartialEq)]
pub struct FreqSpec {
    /// `dim`: the rotary dimension the frequencies are built for (even, ≥ 4).
    pub dim: usize,
    /// `custom_freqs`: used as given when present.
    pub custom_freqs: Option<Vec<f64>>,
    pub freqs_for: FreqsFor,
    pub theta: f64,
    pub max_freq: f64,
    pub num_freqs: usize,
    pub theta_rescale_factor: f64,
}

impl FreqSpec {
    /// Read and validate `dim`, `custom_freqs`, `freqs_for`, `theta`, `max_freq`, `num_freqs`,
    /// `theta_rescale_factor`.
    pub fn read(f: &mut Fields) -> Result<FreqSpec, ConfigError> {
        let dim = f.opt_usize_max("dim", MAX_FEATURES)?.ok_or_else(|| ConfigError::new("dim", "is required"))?;
        if dim < 4 || dim % 2 != 0 {
            return Err(ConfigError::new("dim", format!("must be an even integer >= 4, got {dim} (rotary-embedding-torch divides by dim - 2)")));
        }
        let custom_freqs = f.opt_f64_list("custom_freqs")?;
        if let Some(n) = custom_freqs.as_ref().map(Vec::len).filter(|n| *n > MAX_FEATURES) {
            return Err(ConfigError::new("custom_freqs", format!("at most {MAX_FEATURES} frequencies, got {n}")));
        }
        if custom_freqs.as_ref().is_some_and(Vec::is_empty) {
            return Err(ConfigError::new("custom_freqs", "must not be empty (use null for the default frequencies)"));
        }
        let freqs_for = match f.choice_or("freqs_for", &["lang", "pixel", "constant"], "lang")? {
            "pixel" => FreqsFor::Pixel,
            "constant" => FreqsFor::Constant,
            _ => FreqsFor::Lang,
        };
        let theta = f.f64_or("theta", 10000.0)?;
        if theta <= 0.0 {
            return Err(ConfigError::new("theta", format!("must be > 0, got {theta}")));
        }
        let max_freq = f.f64_or("max_freq", 10.0)?;
        let num_freqs = f.opt_usize_max("num_freqs", MAX_FEATURES)?.unwrap_or(1);
        if num_freqs == 0 {
            return Err(ConfigError::new("num_freqs", "must be >= 1"));
        }
        let theta_rescale_factor = f.f64_or("theta_rescale_factor", 1.0)?;
        if theta_rescale_factor <= 0.0 {
            return Err(ConfigError::new("theta_rescale_factor", format!("must be > 0, got {theta_rescale_factor}")));
        }
        Ok(FreqSpec { dim, custom_freqs, freqs_for, theta, max_freq, num_freqs, theta_rescale_factor })
    }

    /// Number of frequencies (`len(freqs)` in the package).
    pub fn count(&self) -> usize {
        match (&self.custom_freqs, self.freqs_for) {
            (Some(c), _) => c.len(),
            (None, FreqsFor::Constant) => self.num_freqs,
            (None, _) => self.dim / 2,
        }
    }
}

/// kwargs of `RotaryEmbedding` that only matter for training or PyTorch caching.
pub const ROTARY_IGNORED: &[&str] = &["learned_freq", "cache_if_possible", "cache_max_seq_len"];

impl RotaryConfig {
    /// Read and validate the rotary keys.
    pub fn read(f: &mut Fields) -> Result<RotaryConfig, ConfigError> {
        let common = Common::read(f)?;
        f.ignore(ROTARY_IGNORED);
        let freqs = FreqSpec::read(f)?;
        let dim = freqs.dim;
        let use_xpos = f.bool_or("use_xpos", false)?;
        let xpos_scale_base = f.f64_or("xpos_scale_base", 512.0)?;
        if xpos_scale_base == 0.0 {
            return Err(ConfigError::new("xpos_scale_base", "must not be 0"));
        }
        let interpolate_factor = f.f64_or("interpolate_factor", 1.0)?;
        if interpolate_factor < 1.0 {
            return Err(ConfigError::new("interpolate_factor", format!("must be >= 1 (as the package asserts), got {interpolate_factor}")));
        }
        let seq_before_head_dim = f.bool_or("seq_before_head_dim", false)?;
        let head_dim = f.opt_usize_max("head_dim", MAX_FEATURES)?.unwrap_or(dim);
        if head_dim == 0 {
            return Err(ConfigError::new("head_dim", "must be >= 1"));
        }
        let rank = f.opt_usize_max("rank", 16)?.unwrap_or(4);
        if !(3..=8).contains(&rank) {
            return Err(ConfigError::new("rank", format!("must be between 3 and 8, got {rank}")));
        }
        let layout = match f.choice_or("layout", &["interleaved", "half"], "interleaved")? {
            "half" => Layout::Half,
            _ => Layout::Interleaved,
        };
        let start_index = f.opt_usize_max("start_index", MAX_FEATURES)?.unwrap_or(0);
        let mode = match f.choice_or("mode", &["single", "qk", "cached_qk"], "single")? {
            "qk" => RotaryMode::Qk,
            "cached_qk" => RotaryMode::CachedQk,
            _ => RotaryMode::Single,
        };
        let offset_input = f.bool_or("offset_input", false)?;
        if f.has("fused_op") && common.form != super::Form::Fused {
            return Err(ConfigError::new("fused_op", "only applies to form \"fused\""));
        }
        let fused_op = match f.choice_or("fused_op", &["ai.onnx", "com.microsoft"], "ai.onnx")? {
            "com.microsoft" => FusedOp::Microsoft,
            _ => FusedOp::Onnx,
        };
        let cfg = RotaryConfig {
            common,
            freqs,
            use_xpos,
            xpos_scale_base,
            interpolate_factor,
            seq_before_head_dim,
            head_dim,
            rank,
            layout,
            start_index,
            mode,
            offset_input,
            fused_op,
        };
        cfg.check()?;
        Ok(cfg)
    }

    /// Number of frequencies (`len(freqs)` in the package).
    pub fn num_rotary_freqs(&self) -> usize {
        self.freqs.count()
    }

    /// Rotated width `2 * len(freqs)`.
    pub fn rot_dim(&self) -> usize {
        2 * self.num_rotary_freqs()
    }

    /// Sequence axis (negative, from the end).
    pub fn seq_axis(&self) -> i64 {
        if self.seq_before_head_dim { -3 } else { -2 }
    }

    fn check(&self) -> Result<(), ConfigError> {
        let rot = self.rot_dim();
        if rot > self.head_dim {
            let field = if self.freqs.custom_freqs.is_some() { "custom_freqs" } else { "dim" };
            return Err(ConfigError::new(field, format!("rotary dim {rot} (2 * number of frequencies) exceeds head_dim {}", self.head_dim)));
        }
        if self.start_index + rot > self.head_dim {
            return Err(ConfigError::new("start_index", format!("start_index {} + rotary dim {rot} runs past head_dim {}", self.start_index, self.head_dim)));
        }
        if self.use_xpos {
            if self.mode == RotaryMode::Single {
                return Err(ConfigError::new(
                    "use_xpos",
                    "xPos needs queries and keys together: use mode \"qk\" or \"cached_qk\" (rotate_queries_or_keys forbids xPos)",
                ));
            }
            if rot != self.freqs.dim {
                return Err(ConfigError::new("use_xpos", format!("xPos scales all {} features of dim, but the frequencies rotate {rot}", self.freqs.dim)));
            }
            if self.mode == RotaryMode::Qk && self.offset_input {
                return Err(ConfigError::new("offset_input", "rotate_queries_and_keys (mode \"qk\" with xPos) takes no offset; use mode \"cached_qk\""));
            }
        }
        Ok(())
    }
}
