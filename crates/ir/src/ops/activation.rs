//! # Activations and `Softmax`: `Softmax`, `Gelu` (opset 20), `Swish` (opset 24)
//!
//! The input's type (float) and shape. (`Relu` and `Sigmoid` are element-wise maths, see
//! `unary`.)

use super::{Entry, InferCtx, InferResult, OpDef, like_input, want_float};

pub(super) const ENTRIES: &[Entry] = &[
    Entry { domain: "", ops: &["Softmax"], def: &Activation { since: 1, infers: true } },
    Entry { domain: "", ops: &["Gelu"], def: &Activation { since: 20, infers: true } },
    Entry { domain: "", ops: &["Swish"], def: &Activation { since: 24, infers: false } },
];

struct Activation {
    since: i64,
    infers: bool,
}

impl OpDef for Activation {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        self.infers.then(|| {
            let x = ctx.input(0, "X")?;
            want_float(x, 0)?;
            like_input(x, None)
        })
    }

    fn since(&self, _op: &str) -> i64 {
        self.since
    }
}
