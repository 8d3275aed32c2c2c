//! # `Transpose(data) {perm}`
//!
//! The permuted dims (reversed without `perm`); `perm` must be a permutation. Exact evaluation;
//! the identity permutation is a no-op. Per-feature transfer (tables): a transpose that leaves
//! the described trailing axes in place keeps them.

use super::{Entry, InferCtx, InferResult, Inferred, OpDef, known_shape};
use crate::error::InferError;
use crate::eval::{Arr, pick};
use crate::feat::{Analyzer, Transfer};
use crate::query::{attr_ints, input, shape};
use crate::{DType, Graph, Node, Value};

pub(super) const ENTRIES: &[Entry] = &[Entry { domain: "", ops: &["Transpose"], def: &TransposeOp }];

struct TransposeOp;

fn infer_transpose(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "data")?;
    let Some(s) = known_shape(x) else { return Ok(vec![Inferred::rankless(x.dtype)]) };
    let perm = ctx.attr_ints("perm")?.unwrap_or_else(|| (0..s.len() as i64).rev().collect());
    let mut sorted = perm.clone();
    sorted.sort_unstable();
    if sorted != (0..s.len() as i64).collect::<Vec<_>>() {
        return Err(InferError::Attr { name: "perm".into(), message: format!("{perm:?} is not a permutation of rank {}", s.len()) });
    }
    Ok(vec![Inferred::new(x.dtype, perm.iter().map(|p| s[*p as usize].clone()).collect())])
}

impl OpDef for TransposeOp {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some(infer_transpose(ctx))
    }

    fn eval(&self, n: &Node, ins: &[Option<Arr>], _out: DType) -> Option<Vec<Arr>> {
        let a = ins.first()?.as_ref()?;
        let r = a.dims.len();
        let perm: Vec<usize> = match attr_ints(n, "perm") {
            Some(p) => p.iter().map(|v| usize::try_from(*v).ok()).collect::<Option<_>>()?,
            None => (0..r).rev().collect(),
        };
        if perm.len() != r {
            return None;
        }
        let dims: Vec<usize> = perm.iter().map(|p| a.dims.get(*p).copied()).collect::<Option<_>>()?;
        let mut strides = vec![1usize; r];
        for i in (0..r.saturating_sub(1)).rev() {
            strides[i] = strides[i + 1] * a.dims[i + 1];
        }
        let order: Vec<usize> = (0..a.len())
            .map(|flat| {
                let mut rem = flat;
                let mut src = 0;
                for o in (0..r).rev() {
                    src += (rem % dims[o]) * strides[perm[o]];
                    rem /= dims[o];
                }
                src
            })
            .collect();
        Some(vec![Arr { dtype: a.dtype, dims, data: pick(&a.data, &order) }])
    }

    fn feat(&self, a: &mut Analyzer, g: &Graph, n: &Node, v: Value) -> Transfer {
        if !a.table() {
            return Transfer::Opaque;
        }
        let Some(x) = input(n, 0) else { return Transfer::Unknown };
        let Some(f) = a.feat(g, x) else { return Transfer::Unknown };
        let Some(rank) = shape(g, v).map(<[_]>::len) else { return Transfer::Unknown };
        let Some(perm) = attr_ints(n, "perm") else { return Transfer::Unknown };
        let k = f.dims.len();
        let Some(skip) = rank.checked_sub(k) else { return Transfer::Unknown };
        perm.iter().enumerate().skip(skip).all(|(i, p)| *p == i as i64).then_some(f).into()
    }

    fn noop(&self, g: &Graph, n: &Node) -> Option<Value> {
        let x = input(n, 0)?;
        let identity = match attr_ints(n, "perm") {
            Some(p) => p.iter().enumerate().all(|(i, a)| *a == i as i64),
            None => shape(g, x).is_some_and(|s| s.len() <= 1),
        };
        identity.then_some(x)
    }
}
