//! # Hierarchical merge (`hierarchical_cat` + `HierarchicalMerge`)
//!
//! `hierarchical_cat(tokens, strides)`: with all strides 1, a feature concat; otherwise each
//! hierarchy's tokens are repeated element-wise `s` times along the sequence
//! (`b n d -> b (n s) d`), all are cut to the shortest length `min(n_h·s_h)` (computed in-graph)
//! and concatenated. `HierarchicalMerge` then applies `RMSNorm(Σd) → Linear(+b) → SiLU →
//! Linear(+b)` (`net.0.gamma`, `net.1`, `net.3`). Opsets 17+, float32, lengths symbolic.

use crate::emit::hierarchical::linear::{linear, silu};
use crate::emit::hierarchical::norm::rms_norm;
use crate::emit::hierarchical::params::Params;
use crate::error::{BuildError, EmitError};
use crate::{Builder, Value};

/// One input of [`hierarchical_cat`]: tokens `[B, n_h, d]` and their stride.
#[derive(Clone, Copy, Debug)]
pub struct Stream {
    /// Tokens `[B, n_h, d]`.
    pub tokens: Value,
    /// Stride `s_h`.
    pub stride: usize,
    /// Width `d`.
    pub dim: usize,
}

/// `hierarchical_cat`: `[B, m, Σd]`.
///
/// Strides are powers of two, so `min_h(n_h·s_h)` is reached by the smallest stride:
/// `m = n_min·s_min`. Row `r < m` of hierarchy h is its token `⌊r/s_h⌋` — a `Gather` with
/// indices `Range(m) / s_h`, which is `repeat` + cut in one op, with the same length `m` for every
/// stream (runtimes then see one symbolic length instead of a `Min` of several).
pub fn hierarchical_cat(g: &mut Builder, streams: &[Stream]) -> Result<Value, BuildError> {
    let tokens: Vec<Value> = streams.iter().map(|s| s.tokens).collect();
    if streams.iter().all(|s| s.stride == 1) {
        return g.concat("", &tokens, -1);
    }
    // 1. m = n_min * s_min, from the stream with the smallest stride
    let (imin, smin) = streams.iter().enumerate().map(|(i, s)| (i, s.stride)).min_by_key(|(_, s)| *s).unwrap_or((0, 1));
    let n_min = g.shape_of("len", streams[imin].tokens, 1, Some(2))?;
    let n_min = g.squeeze("len_scalar", n_min, &[0])?;
    let s_c = g.const_i64("s_min", smin as i64)?;
    let m = g.mul("rows", n_min, s_c)?;
    let zero = g.const_i64("zero", 0)?;
    let one = g.const_i64("one", 1)?;
    let r = g.range("row", zero, m, one)?;
    // 2. stream h: rows r -> token r / s_h: [B, n_h, d] -> [B, m, d]
    let mut cut = Vec::with_capacity(streams.len());
    for (i, s) in streams.iter().enumerate() {
        if s.stride == 1 && smin == 1 {
            cut.push(s.tokens);
            continue;
        }
        let st = g.const_i64(&format!("h{i}_stride"), s.stride as i64)?;
        let idx = g.div(&format!("h{i}_index"), r, st)?;
        cut.push(g.gather(&format!("h{i}_repeat"), s.tokens, idx, 1)?);
    }
    g.concat("", &cut, -1)
}

/// `HierarchicalMerge`: `[B, m, Σd]` → `[B, m, dim_out]`.
pub fn merge(g: &mut Builder, p: &Params, streams: &[Stream], dim_out: usize) -> Result<Value, EmitError> {
    let total: usize = streams.iter().map(|s| s.dim).sum();
    let x = g.with_scope("cat", |g| hierarchical_cat(g, streams))?;
    let x = g.with_scope("norm", |g| rms_norm(g, &p.sub("net.0"), x, total))?;
    let x = g.with_scope("proj_in", |g| linear(g, &p.sub("net.1"), x, total, 2 * dim_out, true))?;
    let x = g.with_scope("silu", |g| silu(g, x))?;
    g.with_scope("proj_out", |g| linear(g, &p.sub("net.3"), x, 2 * dim_out, dim_out, true))
}
