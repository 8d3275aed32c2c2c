//! # `ScatterND`, `ScatterElements` (and `TensorScatter`, opset 24)
//!
//! The data's type and shape; updates share data's element type, indices are integers.
//! (`Slice` recognises a read of the rows a `ScatterND` just wrote, see its module.)

use super::{Entry, InferCtx, InferResult, Inferred, OpDef, want_int};

pub(super) const ENTRIES: &[Entry] =
    &[Entry { domain: "", ops: &["ScatterND", "ScatterElements"], def: &ScatterOp }, Entry { domain: "", ops: &["TensorScatter"], def: &TensorScatterOp }];

struct ScatterOp;
struct TensorScatterOp;

/// `ScatterND(data, indices, updates)` / `ScatterElements(data, indices, updates)`: data's
/// type and shape; updates must share data's element type and indices be integers.
fn infer_scatter(ctx: &InferCtx) -> InferResult {
    let data = ctx.input(0, "data")?;
    want_int(ctx.input(1, "indices")?, 1)?;
    super::want_same_dtype(data, ctx.input(2, "updates")?, 2)?;
    Ok(vec![Inferred { dtype: data.dtype, shape: data.shape.clone(), sym_value: None }])
}

impl OpDef for ScatterOp {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some(infer_scatter(ctx))
    }
}

impl OpDef for TensorScatterOp {
    fn since(&self, _op: &str) -> i64 {
        24
    }
}
