//! # Rotary embedding: ai.onnx `RotaryEmbedding` (opset 23) and ORT's
//! `com.microsoft.RotaryEmbedding`
//!
//! ai.onnx: X `[B, heads, S, H]` or `[B, S, heads·H]` (with `num_heads`), caches of one type
//! with X and last dim `rotary_embedding_dim/2` (the whole head by default), optional integer
//! `position_ids`; X's type and shape. Contrib op: `(input, position_ids, cos_cache,
//! sin_cache)`, the input's type and shape.

use super::{Entry, InferCtx, InferResult, Inferred, OpDef, known_shape, want_float, want_same_dtype};
use crate::error::InferError;
use crate::{Dim, ValueInfo};

pub(super) const ENTRIES: &[Entry] =
    &[Entry { domain: "", ops: &["RotaryEmbedding"], def: &RotaryOnnx }, Entry { domain: "com.microsoft", ops: &["RotaryEmbedding"], def: &RotaryMs }];

struct RotaryOnnx;
struct RotaryMs;

fn check_cache(cache: &ValueInfo, x: &ValueInfo, index: usize, rot_half: Option<i64>) -> Result<(), InferError> {
    want_same_dtype(x, cache, index)?;
    if let (Some(cs), Some(h)) = (cache.shape.as_deref(), rot_half)
        && let Some(last) = cs.last().and_then(Dim::fixed)
        && last != h
    {
        return Err(InferError::Invalid(format!("cache last dim {last} != rotary_dim/2 ({h})")));
    }
    Ok(())
}

/// ai.onnx `RotaryEmbedding` (opset 23): X [B, heads, S, H] or [B, S, heads*H] (+ num_heads).
fn infer_rotary_embedding(ctx: &InferCtx) -> InferResult {
    if ctx.opset < 23 {
        return Err(InferError::Invalid(format!("RotaryEmbedding needs opset >= 23, the graph has {}", ctx.opset)));
    }
    let x = ctx.input(0, "X")?;
    want_float(x, 0)?;
    let Some(s) = known_shape(x) else { return Ok(vec![Inferred::rankless(x.dtype)]) };
    let num_heads = ctx.attr_int("num_heads")?;
    let head = match s.len() {
        4 => s[3].fixed(),
        3 => match num_heads {
            Some(h) if h > 0 => s[2].fixed().map(|w| w / h),
            _ => return Err(InferError::Attr { name: "num_heads".into(), message: "is required for 3-D input".into() }),
        },
        r => return Err(InferError::Rank { index: 0, expected: "3 or 4".into(), actual: r }),
    };
    let rot = ctx.attr_int("rotary_embedding_dim")?.filter(|r| *r > 0).or(head);
    if let (Some(r), Some(h)) = (rot, head)
        && (r % 2 != 0 || r > h)
    {
        return Err(InferError::Attr { name: "rotary_embedding_dim".into(), message: format!("{r} must be even and <= head size {h}") });
    }
    check_cache(ctx.input(1, "cos_cache")?, x, 1, rot.map(|r| r / 2))?;
    check_cache(ctx.input(2, "sin_cache")?, x, 2, rot.map(|r| r / 2))?;
    if let Some(p) = ctx.opt_input(3) {
        super::want_int(p, 3)?;
    }
    Ok(vec![Inferred::new(x.dtype, s.to_vec())])
}

/// ORT contrib `com.microsoft.RotaryEmbedding`: (input, position_ids, cos_cache, sin_cache).
fn infer_ms_rotary_embedding(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "input")?;
    want_float(x, 0)?;
    super::want_int(ctx.input(1, "position_ids")?, 1)?;
    check_cache(ctx.input(2, "cos_cache")?, x, 2, None)?;
    check_cache(ctx.input(3, "sin_cache")?, x, 3, None)?;
    Ok(vec![Inferred { dtype: x.dtype, shape: x.shape.clone(), sym_value: None }])
}

impl OpDef for RotaryOnnx {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some(infer_rotary_embedding(ctx))
    }

    fn since(&self, _op: &str) -> i64 {
        23
    }
}

impl OpDef for RotaryMs {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some(infer_ms_rotary_embedding(ctx))
    }
}
