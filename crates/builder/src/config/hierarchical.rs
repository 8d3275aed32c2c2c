//! `kind: "hierarchical_transformer"`: the kwargs of
//! `simple_hierarchical_transformer.HierarchicalTransformer` (0.4.0) that shape inference,
//! resolved per hierarchy exactly as the constructor does
//! (`../shared/reference/hierarchical_transformer.md` §1).

use serde_json::Value;

use super::{Common, Fields};
use crate::error::ConfigError;

/// The attention of one hierarchy's blocks, after the constructor's window reset rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// `LocalMHA` with this window (W > 0).
    Local(usize),
    /// Full causal `Attention` with xPos rotary (window `None`, or reset because it exceeded
    /// `seq_len // c`).
    Full,
    /// No attention at all (window 0): the block is feed-forward only.
    NoAttention,
}

/// One hierarchy, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Hierarchy {
    /// Compression factor `c` (power of two).
    pub compress: usize,
    /// Stride `s` (power of two, ≤ c).
    pub stride: usize,
    /// Width `d`.
    pub dim: usize,
    /// Head size `e`.
    pub dim_head: usize,
    /// Heads `H`.
    pub heads: usize,
    /// FF multiplier (`int(d * ff_mult)` inner width).
    pub ff_mult: f64,
    /// Attention kind.
    pub window: Window,
}

impl Hierarchy {
    /// The axial factor `c / s` used inside a block.
    pub fn axial(&self) -> usize {
        self.compress / self.stride
    }
    /// FF inner width `int(d * ff_mult)`.
    pub fn ff_inner(&self) -> usize {
        (self.dim as f64 * self.ff_mult) as usize
    }
}

/// A validated `kind: "hierarchical_transformer"` config.
#[derive(Clone, Debug, PartialEq)]
pub struct HierarchicalConfig {
    pub common: Common,
    pub num_tokens: usize,
    pub depth: usize,
    pub seq_len: usize,
    pub hierarchies: Vec<Hierarchy>,
    pub hierarchy_merge_all: bool,
    /// Index (into `hierarchies`) of the predicting hierarchy.
    pub predict_index: usize,
    pub predict_use_all_hierarchy: bool,
}

/// Training-only kwargs of `HierarchicalTransformer`: accepted and ignored.
pub const HIERARCHICAL_IGNORED: &[&str] = &[
    "recon_loss_weight",
    "next_latent_loss_weight",
    "next_latent_loss_type",
    "num_rollouts",
    "chunk_summarizers",
    "detach_summaries",
    "dynamics_hidden_dim",
    "dynamics_num_layers",
    "dynamic_rollout_loss_weight",
    "dynamic_loss_decay",
    "rollout_weights",
    "ignore_index",
    "use_flash_attn",
];

/// `cast_tuple(v, n)`: a list must have `n` entries, a scalar is repeated.
fn per_hierarchy<T: Clone>(field: &str, v: Option<Vec<T>>, is_list: bool, n: usize, default: T) -> Result<Vec<T>, ConfigError> {
    match v {
        None => Ok(vec![default; n]),
        Some(v) if !is_list => Ok(vec![v[0].clone(); n]),
        Some(v) if v.len() == n => Ok(v),
        Some(v) => Err(ConfigError::new(field, format!("has {} entries, one per hierarchy ({n}) is needed", v.len()))),
    }
}

fn is_pow2(v: usize) -> bool {
    v > 0 && v.is_power_of_two()
}

/// `None` / int / list of (int | null): windows per hierarchy (`None` = full attention).
fn read_windows(raw: Option<&Value>, n: usize) -> Result<Vec<Option<usize>>, ConfigError> {
    let one = |field: &str, v: &Value| -> Result<Option<usize>, ConfigError> {
        match v {
            Value::Null => Ok(None),
            v => v.as_u64().map(|w| Some(w as usize)).ok_or_else(|| ConfigError::new(field, format!("must be a non-negative integer or null, got {v}"))),
        }
    };
    match raw {
        None | Some(Value::Null) => Ok(vec![None; n]),
        Some(Value::Array(items)) => {
            if items.len() != n {
                return Err(ConfigError::new("window_sizes", format!("has {} entries, one per hierarchy ({n}) is needed", items.len())));
            }
            items.iter().enumerate().map(|(i, v)| one(&format!("window_sizes[{i}]"), v)).collect()
        }
        Some(v) => Ok(vec![one("window_sizes", v)?; n]),
    }
}

fn float_list(f: &mut Fields, key: &str) -> Result<Option<Vec<f64>>, ConfigError> {
    match f.raw(key) {
        None => Ok(None),
        Some(Value::Array(items)) => {
            let v = items
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    x.as_f64()
                        .filter(|x| x.is_finite() && *x > 0.0)
                        .ok_or_else(|| ConfigError::new(format!("{key}[{i}]"), format!("must be a positive number, got {x}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some(v))
        }
        Some(x) => {
            let v = x
                .as_f64()
                .filter(|x| x.is_finite() && *x > 0.0)
                .ok_or_else(|| ConfigError::new(key, format!("must be a positive number or a list, got {x}")))?;
            Ok(Some(vec![v]))
        }
    }
}

impl HierarchicalConfig {
    /// Read and validate the kwargs, resolving per-hierarchy values and the window reset rule.
    pub fn read(f: &mut Fields) -> Result<HierarchicalConfig, ConfigError> {
        let common = Common::read(f)?;
        if common.dtype != crate::DType::F32 {
            return Err(ConfigError::new("dtype", "hierarchical_transformer graphs are float32 only"));
        }
        f.ignore(HIERARCHICAL_IGNORED);
        let num_tokens = f.usize("num_tokens")?;
        if num_tokens == 0 {
            return Err(ConfigError::new("num_tokens", "must be >= 1"));
        }
        let depth = f.usize("depth")?;
        let seq_len = f.opt_usize("seq_len")?.unwrap_or(2048);
        if seq_len == 0 {
            return Err(ConfigError::new("seq_len", "must be >= 1"));
        }
        let hierarchies = f.opt_usize_or_list("hierarchies")?.unwrap_or_else(|| vec![1]);
        let n = hierarchies.len();
        if n == 0 {
            return Err(ConfigError::new("hierarchies", "must not be empty"));
        }
        for (i, c) in hierarchies.iter().enumerate() {
            if !is_pow2(*c) {
                return Err(ConfigError::new(
                    if n == 1 { "hierarchies".to_string() } else { format!("hierarchies[{i}]") },
                    format!("compression factors must be powers of two, got {c}"),
                ));
            }
        }
        let mut sorted = hierarchies.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != n {
            return Err(ConfigError::new("hierarchies", format!("compression factors must be unique, got {hierarchies:?}")));
        }
        if !f.has("dim") {
            return Err(ConfigError::new("dim", "is required"));
        }
        let dims = per_hierarchy("dim", f.opt_usize_or_list("dim")?, f.is_list("dim"), n, 0)?;
        let dim_head = per_hierarchy("dim_head", f.opt_usize_or_list("dim_head")?, f.is_list("dim_head"), n, 64)?;
        let heads = per_hierarchy("heads", f.opt_usize_or_list("heads")?, f.is_list("heads"), n, 8)?;
        let ff_mult = per_hierarchy("ff_mult", float_list(f, "ff_mult")?, f.is_list("ff_mult"), n, 4.0)?;
        let strides = per_hierarchy("hierarchical_stride", f.opt_usize_or_list("hierarchical_stride")?, f.is_list("hierarchical_stride"), n, 1)?;
        let windows = read_windows(f.raw("window_sizes"), n)?;
        let hierarchy_merge_all = f.bool_or("hierarchy_merge_all", false)?;
        let predict_use_all_hierarchy = f.bool_or("predict_use_all_hierarchy", false)?;
        let predict = f.opt_usize("predict_hierarchy")?;

        let list_keys: Vec<&str> =
            ["dim", "dim_head", "heads", "ff_mult", "hierarchical_stride", "window_sizes"].into_iter().filter(|k| f.is_list(k)).collect();
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            // name the list entry when the user gave a list, the key when a scalar was repeated
            let at = |k: &str| if list_keys.contains(&k) { format!("{k}[{i}]") } else { k.to_string() };
            for (k, v) in [("dim", dims[i]), ("dim_head", dim_head[i]), ("heads", heads[i])] {
                if v == 0 {
                    return Err(ConfigError::new(at(k), "must be >= 1"));
                }
                // feature sizes share one bound with every other kind's (docs/config.md)
                if k != "heads" && v > super::fields::MAX_FEATURES {
                    return Err(ConfigError::new(at(k), format!("must be at most {} (rotor's bound on feature sizes), got {v}", super::fields::MAX_FEATURES)));
                }
            }
            if !is_pow2(strides[i]) {
                return Err(ConfigError::new(at("hierarchical_stride"), format!("strides must be powers of two, got {}", strides[i])));
            }
            if strides[i] > hierarchies[i] {
                return Err(ConfigError::new(
                    at("hierarchical_stride"),
                    format!("stride {} exceeds the compression factor {} of its hierarchy", strides[i], hierarchies[i]),
                ));
            }
            // Window reset rule (constructor): a window larger than seq_len // c becomes full attention.
            let window = match windows[i] {
                None => Window::Full,
                Some(0) => Window::NoAttention,
                Some(w) if w > seq_len / hierarchies[i] => Window::Full,
                Some(w) => Window::Local(w),
            };
            if window != Window::NoAttention && dim_head[i] % 2 != 0 {
                return Err(ConfigError::new(at("dim_head"), format!("rotary attention needs an even head size, got {}", dim_head[i])));
            }
            if (ff_mult[i] * dims[i] as f64) < 1.0 {
                return Err(ConfigError::new(at("ff_mult"), "gives a feed-forward width of 0"));
            }
            out.push(Hierarchy {
                compress: hierarchies[i],
                stride: strides[i],
                dim: dims[i],
                dim_head: dim_head[i],
                heads: heads[i],
                ff_mult: ff_mult[i],
                window,
            });
        }
        let predict_c = predict.unwrap_or_else(|| *sorted.first().unwrap_or(&1));
        let predict_index = hierarchies
            .iter()
            .position(|c| *c == predict_c)
            .ok_or_else(|| ConfigError::new("predict_hierarchy", format!("{predict_c} is not one of the hierarchies {hierarchies:?}")))?;
        if !hierarchy_merge_all && out[predict_index].stride != 1 {
            return Err(ConfigError::new(
                "predict_hierarchy",
                format!("the predicting hierarchy ({predict_c}x) must have stride 1 unless hierarchy_merge_all is set"),
            ));
        }
        Ok(HierarchicalConfig { common, num_tokens, depth, seq_len, hierarchies: out, hierarchy_merge_all, predict_index, predict_use_all_hierarchy })
    }

    /// Width of the token embedding: `max(dims)`.
    pub fn token_dim(&self) -> usize {
        self.hierarchies.iter().map(|h| h.dim).max().unwrap_or(0)
    }

    /// `sum(dims)`.
    pub fn total_dim(&self) -> usize {
        self.hierarchies.iter().map(|h| h.dim).sum()
    }
}
