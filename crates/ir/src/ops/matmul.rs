//! # `MatMul(A, B)`
//!
//! Numpy matmul: 1-D operands promoted and their unit axis dropped again, batch dims
//! broadcast, inner dims equal when both are known. Per-feature transfer (tables): a product
//! whose inner dim is 1 (`[…, M, 1] @ […, 1, N]`, an outer product) is the broadcast `Mul` of
//! its operands (−0 aside: the one-term sum may turn −0 into +0), on any axis.

use super::{Entry, InferCtx, InferResult, Inferred, OpDef, broadcast_shapes, known_shape, want_same_dtype};
use crate::error::InferError;
use crate::feat::{Analyzer, Feat, Transfer};
use crate::query::{input, shape};
use crate::{Dim, Graph, Node, Value, shape_text};

pub(super) const ENTRIES: &[Entry] = &[Entry { domain: "", ops: &["MatMul"], def: &MatMulOp }];

struct MatMulOp;

fn infer_matmul(ctx: &InferCtx) -> InferResult {
    let a = ctx.input(0, "A")?;
    let b = ctx.input(1, "B")?;
    want_same_dtype(a, b, 1)?;
    let (Some(sa), Some(sb)) = (known_shape(a), known_shape(b)) else { return Ok(vec![Inferred::rankless(a.dtype)]) };
    if sa.is_empty() || sb.is_empty() {
        return Err(InferError::Invalid("MatMul inputs must have rank >= 1".into()));
    }
    let mut la = sa.to_vec();
    let mut lb = sb.to_vec();
    let (pa, pb) = (la.len() == 1, lb.len() == 1);
    if pa {
        la.insert(0, Dim::Fixed(1));
    }
    if pb {
        lb.push(Dim::Fixed(1));
    }
    let (k1, k2) = (&la[la.len() - 1], &lb[lb.len() - 2]);
    if let (Some(x), Some(y)) = (k1.fixed(), k2.fixed())
        && x != y
    {
        return Err(InferError::Invalid(format!("inner dims differ: {} @ {}", shape_text(sa), shape_text(sb))));
    }
    let batch = broadcast_shapes(&[&la[..la.len() - 2], &lb[..lb.len() - 2]])?;
    let mut out = batch;
    if !pa {
        out.push(la[la.len() - 2].clone());
    }
    if !pb {
        out.push(lb[lb.len() - 1].clone());
    }
    Ok(vec![Inferred::new(a.dtype, out)])
}

/// The operands of an outer product: both of rank 2 or more, inner dim 1.
fn outer_operands(g: &Graph, n: &Node) -> Option<[Value; 2]> {
    let (a, b) = (input(n, 0)?, input(n, 1)?);
    let (sa, sb) = (shape(g, a)?, shape(g, b)?);
    (sa.len() >= 2 && sb.len() >= 2 && sa[sa.len() - 1] == Dim::Fixed(1) && sb[sb.len() - 2] == Dim::Fixed(1)).then_some([a, b])
}

fn outer_transfer(a: &mut Analyzer, fs: Option<Vec<Feat>>) -> Transfer {
    match fs {
        Some(fs) => super::arith_transfer(a, "Mul", &fs).into(),
        None => Transfer::Unknown,
    }
}

impl OpDef for MatMulOp {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some(infer_matmul(ctx))
    }

    fn feat(&self, a: &mut Analyzer, g: &Graph, n: &Node, _v: Value) -> Transfer {
        if !a.table() {
            return Transfer::Opaque;
        }
        let Some(ins) = outer_operands(g, n) else { return Transfer::Opaque };
        let fs = ins.iter().map(|i| a.feat(g, *i)).collect();
        outer_transfer(a, fs)
    }

    fn feat_moved(&self, a: &mut Analyzer, g: &Graph, n: &Node, v: Value, axis: usize) -> Transfer {
        let Some(ins) = outer_operands(g, n) else { return Transfer::Opaque };
        let fs = a.moved_inputs(g, &ins, v, axis);
        outer_transfer(a, fs)
    }
}
