//! # `Identity` and `Dropout`
//!
//! `Identity` passes its input through (type, shape, symbolic value; every feature in place),
//! a no-op wherever its output may be read as its input. `Dropout` in inference form (no ratio
//! or training-mode input, mask unread) passes its input through too; its optional mask output
//! is a Bool tensor of the input's shape.

use super::{Entry, InferCtx, InferResult, Inferred, OpDef, like_input};
use crate::eval::Arr;
use crate::feat::{Analyzer, Transfer};
use crate::query::input;
use crate::{DType, Graph, Node, Value};

pub(super) const ENTRIES: &[Entry] = &[Entry { domain: "", ops: &["Identity"], def: &IdentityOp }, Entry { domain: "", ops: &["Dropout"], def: &DropoutOp }];

struct IdentityOp;
struct DropoutOp;

impl OpDef for IdentityOp {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some(ctx.input(0, "X").and_then(|x| like_input(x, x.sym_value.clone())))
    }

    fn eval(&self, _n: &Node, ins: &[Option<Arr>], _out: DType) -> Option<Vec<Arr>> {
        Some(vec![ins.first()?.as_ref()?.clone()])
    }

    fn feat(&self, a: &mut Analyzer, g: &Graph, n: &Node, _v: Value) -> Transfer {
        match input(n, 0) {
            Some(x) => a.feat(g, x).into(),
            None => Transfer::Unknown,
        }
    }

    fn noop(&self, _g: &Graph, n: &Node) -> Option<Value> {
        (n.outputs.len() == 1).then(|| input(n, 0)).flatten()
    }
}

impl OpDef for DropoutOp {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some((|| {
            let x = ctx.input(0, "data")?;
            let mut out = vec![Inferred { dtype: x.dtype, shape: x.shape.clone(), sym_value: None }];
            if ctx.num_outputs > 1 {
                out.push(Inferred { dtype: DType::Bool, shape: x.shape.clone(), sym_value: None });
            }
            Ok(out)
        })())
    }

    fn noop(&self, _g: &Graph, n: &Node) -> Option<Value> {
        (n.outputs.len() == 1 && n.inputs.len() == 1).then(|| input(n, 0)).flatten()
    }
}
