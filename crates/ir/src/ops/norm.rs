//! # Normalizations: `LayerNormalization`; the opset facts of `BatchNormalization`,
//! `GroupNormalization` (opset 21) and `RMSNormalization` (opset 23)
//!
//! `LayerNormalization`: X's type and shape (float); the optional mean and inverse-deviation
//! outputs are float32 of unknown rank here.

use super::{Entry, InferCtx, InferResult, Inferred, OpDef, want_float, want_same_dtype};
use crate::{DType, Node};

pub(super) const ENTRIES: &[Entry] = &[
    Entry { domain: "", ops: &["LayerNormalization"], def: &LayerNormOp },
    Entry { domain: "", ops: &["BatchNormalization"], def: &BatchNormOp },
    Entry { domain: "", ops: &["GroupNormalization"], def: &GroupNormOp },
    Entry { domain: "", ops: &["RMSNormalization"], def: &RmsNormOp },
];

struct LayerNormOp;
struct BatchNormOp;
struct GroupNormOp;
struct RmsNormOp;

fn infer_layer_norm(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "X")?;
    let scale = ctx.input(1, "Scale")?;
    want_float(x, 0)?;
    want_same_dtype(x, scale, 1)?;
    let mut outs = vec![Inferred { dtype: x.dtype, shape: x.shape.clone(), sym_value: None }];
    for _ in 1..ctx.num_outputs {
        outs.push(Inferred::rankless(DType::F32));
    }
    Ok(outs)
}

impl OpDef for LayerNormOp {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some(infer_layer_norm(ctx))
    }
}

impl OpDef for BatchNormOp {
    fn changes(&self, n: &Node, from: i64, to: i64) -> Option<String> {
        (from < 14 && 14 <= to && n.outputs.len() > 1).then(|| "BatchNormalization's training outputs changed in opset 14".to_string())
    }
}

impl OpDef for GroupNormOp {
    fn since(&self, _op: &str) -> i64 {
        21
    }

    fn changes(&self, _n: &Node, from: i64, to: i64) -> Option<String> {
        (from < 21 && 21 <= to).then(|| "GroupNormalization's scale and bias are per channel from opset 21 (per group before)".to_string())
    }
}

impl OpDef for RmsNormOp {
    fn since(&self, _op: &str) -> i64 {
        23
    }
}
