//! # Linear
//!
//! `nn.Linear`: `y = x @ W^T (+ b)` with `W` `[out, in]` from `{path}.weight` (stored transposed
//! as an initializer `[in, out]` for `MatMul`) and `b` from `{path}.bias`. Any leading axes.
//! Opsets 17+, float32.

use crate::Tensor;
use crate::emit::hierarchical::params::Params;
use crate::error::EmitError;
use crate::{Builder, Value};

/// `x @ W^T (+ b)`; nodes are scoped by the caller (the product is named by the scope).
pub fn linear(g: &mut Builder, p: &Params, x: Value, in_dim: usize, out_dim: usize, bias: bool) -> Result<Value, EmitError> {
    let w = p.get("weight", &[out_dim as i64, in_dim as i64])?;
    // [out, in] -> [in, out]
    let mut wt = vec![0.0f32; w.len()];
    for o in 0..out_dim {
        for i in 0..in_dim {
            wt[i * out_dim + o] = w[o * in_dim + i];
        }
    }
    let wt =
        g.constant("weight_t", Tensor::f32(vec![in_dim as i64, out_dim as i64], wt).map_err(|m| EmitError::Weight { key: p.key("weight"), message: m })?)?;
    if !bias {
        return Ok(g.matmul("", x, wt)?);
    }
    let y = g.matmul("matmul", x, wt)?;
    let b = g.constant("bias", p.tensor("bias", &[out_dim as i64])?)?;
    Ok(g.add("", y, b)?)
}

/// `x * sigmoid(x)` (SiLU).
pub fn silu(g: &mut Builder, x: Value) -> Result<Value, EmitError> {
    let s = g.sigmoid("sigmoid", x)?;
    Ok(g.mul("", x, s)?)
}
