//! # Norms
//!
//! `nn.LayerNorm(d)` (eps 1e-5, affine) as ONNX `LayerNormalization` (opset 17+), and the
//! simple-hierarchical-transformer `RMSNorm`: `F.normalize(x, dim=-1) * sqrt(d) * gamma`, i.e.
//! `x / max(‖x‖₂, 1e-12) * f32(d ** 0.5) * gamma` — not the `rsqrt(mean(x²) + eps)` form.
//! Float32, any leading axes.

use crate::DType;
use crate::emit::hierarchical::params::Params;
use crate::error::EmitError;
use crate::{Builder, Value};

/// `LayerNormalization(x, weight, bias, axis=-1, epsilon=1e-5)`.
pub fn layer_norm(g: &mut Builder, p: &Params, x: Value, d: usize) -> Result<Value, EmitError> {
    let w = g.constant("weight", p.tensor("weight", &[d as i64])?)?;
    let b = g.constant("bias", p.tensor("bias", &[d as i64])?)?;
    Ok(g.layer_norm("", x, w, Some(b), 1e-5)?)
}

/// `x / max(‖x‖₂, 1e-12) * sqrt(d) * gamma`, in that order.
pub fn rms_norm(g: &mut Builder, p: &Params, x: Value, d: usize) -> Result<Value, EmitError> {
    // 1. ‖x‖₂ over the last axis, clamped at 1e-12 (torch's F.normalize)
    let norm = g.reduce("l2", "ReduceL2", x, &[-1], true)?;
    let eps = g.const_scalar("eps", 1e-12, DType::F32)?;
    let denom = g.max("clamped", norm, eps)?;
    let unit = g.div("unit", x, denom)?;
    // 2. * sqrt(d), then * gamma
    let scale = g.const_scalar("scale", (d as f64).sqrt() as f32, DType::F32)?;
    let scaled = g.mul("scaled", unit, scale)?;
    let gamma = g.constant("gamma", p.tensor("gamma", &[d as i64])?)?;
    Ok(g.mul("", scaled, gamma)?)
}
