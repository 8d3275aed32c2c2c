//! # `Conv(X, W, B)`, and the opset facts of `DeformConv` (opset 19) and `AveragePool`
//! (`dilations` from opset 19)
//!
//! `Conv`: X `[N, C, ...]`, W `[M, C/group, k...]`; each spatial output dim
//! `floor((d + pads − dilation·(k−1) − 1) / stride) + 1`, symbolic when d is.

use super::{Entry, InferCtx, InferResult, Inferred, OpDef, known_shape, want_float, want_same_dtype};
use crate::error::InferError;
use crate::{Dim, Graph, Node, shape_text};

pub(super) const ENTRIES: &[Entry] = &[
    Entry { domain: "", ops: &["Conv"], def: &ConvOp },
    Entry { domain: "", ops: &["DeformConv"], def: &DeformConvOp },
    Entry { domain: "", ops: &["AveragePool"], def: &AveragePoolOp },
];

struct ConvOp;
struct DeformConvOp;
struct AveragePoolOp;

fn infer_conv(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "X")?;
    let w = ctx.input(1, "W")?;
    want_float(x, 0)?;
    want_same_dtype(x, w, 1)?;
    let (Some(sx), Some(sw)) = (known_shape(x), known_shape(w)) else { return Ok(vec![Inferred::rankless(x.dtype)]) };
    if sx.len() < 3 || sw.len() != sx.len() {
        return Err(InferError::Invalid(format!("Conv needs X [N, C, ...] and W of the same rank, got {} and {}", shape_text(sx), shape_text(sw))));
    }
    let group = ctx.attr_int("group")?.unwrap_or(1);
    if let (Some(c), Some(wc)) = (sx[1].fixed(), sw[1].fixed())
        && Some(c) != wc.checked_mul(group)
    {
        return Err(InferError::Invalid(format!("X has {c} channels, W expects {wc} x group {group}")));
    }
    if let Some(bias) = ctx.opt_input(2)
        && let (Some([bd]), Some(m)) = (bias.shape.as_deref(), sw[0].fixed())
        && bd.fixed().is_some_and(|b| b != m)
    {
        return Err(InferError::Invalid(format!("bias has {bd} entries, W has {m} output channels")));
    }
    let sp = sx.len() - 2;
    let kernel: Vec<i64> = match ctx.attr_ints("kernel_shape")? {
        Some(k) => k,
        None => sw[2..].iter().map(|d| d.fixed().unwrap_or(1)).collect(),
    };
    let strides = ctx.attr_ints("strides")?.unwrap_or_else(|| vec![1; sp]);
    let dil = ctx.attr_ints("dilations")?.unwrap_or_else(|| vec![1; sp]);
    let pads = ctx.attr_ints("pads")?.unwrap_or_else(|| vec![0; 2 * sp]);
    if kernel.len() != sp || strides.len() != sp || dil.len() != sp || pads.len() != 2 * sp {
        return Err(InferError::Invalid("kernel_shape/strides/dilations/pads do not match the spatial rank".into()));
    }
    let mut out = vec![sx[0].clone(), sw[0].clone()];
    for i in 0..sp {
        let overflow = || InferError::Invalid("kernel_shape/dilations/pads overflow".into());
        let span = kernel[i].checked_sub(1).and_then(|k| dil[i].checked_mul(k)).and_then(|s| s.checked_add(1)).ok_or_else(overflow)?;
        let pad = pads[i].checked_add(pads[i + sp]).and_then(|p| p.checked_sub(span)).ok_or_else(overflow)?;
        let padded = sx[2 + i].add(&Dim::Fixed(pad));
        out.push(padded.div_floor(strides[i]).add(&Dim::Fixed(1)));
    }
    Ok(vec![Inferred::new(x.dtype, out)])
}

impl OpDef for ConvOp {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some(infer_conv(ctx))
    }
}

impl OpDef for DeformConvOp {
    fn since(&self, _op: &str) -> i64 {
        19
    }
}

impl OpDef for AveragePoolOp {
    fn newer_form(&self, _g: &Graph, n: &Node, to: i64) -> Option<String> {
        (n.attr("dilations").is_some() && to < 19).then(|| "AveragePool uses an attribute or mode of opset 19".to_string())
    }
}
