//! # Compress (`simple_hierarchical_transformer.Compress`)
//!
//! One hierarchy's compression of the token embeddings `[B, n, D]` → `[B, ceil(n/s), d]`:
//! - `c == 1`: `Linear(D, d, no bias)` (`compress_fn.weight`), or identity when `D == d`;
//! - `c > 1`: causal `Conv1d(D, 4D, kernel c, stride s)` with `c-1` zeros on the left
//!   (`compress_fn.1.conv`), SiLU, `Conv1d(4D, d, 1)` (`compress_fn.3`).
//!
//! Opsets 17+, float32, n symbolic.

use crate::emit::hierarchical::linear::{linear, silu};
use crate::emit::hierarchical::params::Params;
use crate::error::EmitError;
use crate::{Builder, Value};

/// `Compress` with compression `c`, stride `s`, from width `dim_in` (= D) to `dim_out` (= d).
pub fn compress(g: &mut Builder, p: &Params, x: Value, c: usize, s: usize, dim_in: usize, dim_out: usize) -> Result<Value, EmitError> {
    if c == 1 {
        if dim_in == dim_out {
            return Ok(x);
        }
        return linear(g, &p.sub("compress_fn"), x, dim_in, dim_out, false);
    }
    let inner = 4 * dim_in;
    // [B, n, D] -> [B, D, n]
    let t = g.transpose("to_channels", x, &[0, 2, 1])?;
    // causal conv: pad c-1 zeros on the left of time, stride s: [B, D, n] -> [B, 4D, ceil(n/s)]
    let w1 = g.constant("conv_weight", p.tensor("compress_fn.1.conv.weight", &[inner as i64, dim_in as i64, c as i64])?)?;
    let b1 = g.constant("conv_bias", p.tensor("compress_fn.1.conv.bias", &[inner as i64])?)?;
    let h = g.conv1d("conv", t, w1, Some(b1), [c as i64 - 1, 0], s as i64)?;
    let h = g.with_scope("silu", |g| silu(g, h))?;
    // 1x1 conv: [B, 4D, n_h] -> [B, d, n_h]
    let w3 = g.constant("proj_weight", p.tensor("compress_fn.3.weight", &[dim_out as i64, inner as i64, 1])?)?;
    let b3 = g.constant("proj_bias", p.tensor("compress_fn.3.bias", &[dim_out as i64])?)?;
    let y = g.conv1d("proj", h, w3, Some(b3), [0, 0], 1)?;
    // [B, d, n_h] -> [B, n_h, d]
    Ok(g.transpose("", y, &[0, 2, 1])?)
}
