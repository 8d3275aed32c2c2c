//! # Control flow: `If` (inferred), `Loop`, `Scan`
//!
//! `If`: the outputs of `then_branch`, where `else_branch` agrees on each type (dims it does
//! not agree on are unknown).

use super::{Entry, InferCtx, InferResult, Inferred, OpDef};
use crate::error::InferError;
use crate::{Attr, DType, Dim};

pub(super) const ENTRIES: &[Entry] = &[Entry { domain: "", ops: &["If"], def: &IfOp }];

struct IfOp;

/// `If`: the outputs of `then_branch`, where `else_branch` agrees on each type.
fn infer_if(ctx: &InferCtx) -> InferResult {
    let branch = |name: &str| match ctx.attr(name) {
        Some(Attr::Graph(g)) => Ok(g.outputs().iter().map(|v| g.info(*v).clone()).collect::<Vec<_>>()),
        _ => Err(InferError::Attr { name: name.into(), message: "must be a graph".into() }),
    };
    let (then, els) = (branch("then_branch")?, branch("else_branch")?);
    if then.len() != els.len() {
        return Err(InferError::Invalid(format!("then_branch has {} outputs, else_branch {}", then.len(), els.len())));
    }
    Ok(then
        .iter()
        .zip(&els)
        .map(|(a, b)| {
            let dtype = if a.dtype == b.dtype { a.dtype } else { DType::Undefined };
            let shape = match (&a.shape, &b.shape) {
                (Some(x), Some(y)) if x.len() == y.len() => Some(x.iter().zip(y).map(|(p, q)| if p == q { p.clone() } else { Dim::Unknown }).collect()),
                _ => None,
            };
            Inferred { dtype, shape, sym_value: None }
        })
        .collect())
}

impl OpDef for IfOp {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some(infer_if(ctx))
    }
}
