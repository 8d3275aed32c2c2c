//! # `Transpose(data) {perm}`
//!
//! The permuted dims (reversed without `perm`); `perm` must be a permutation. Exact evaluation;
//! the identity permutation is a no-op. Per-feature transfer (tables): a transpose that leaves
//! the described trailing axes in place keeps them; one that moves another axis last describes
//! it through [`Analyzer::feat_moved`]; either renames its classes when it reorders the other
//! axes.

use super::{Entry, InferCtx, InferResult, Inferred, OpDef, known_shape};
use crate::error::InferError;
use crate::eval::{Arr, pick};
use crate::feat::{Analyzer, Feat, Transfer};
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

/// The permutation of node `n` (output `v`), checked.
fn perm_of(g: &Graph, n: &Node, v: Value) -> Option<Vec<usize>> {
    let r = shape(g, v)?.len();
    let perm: Vec<usize> = match attr_ints(n, "perm") {
        Some(p) => p.iter().map(|a| usize::try_from(*a).ok()).collect::<Option<_>>()?,
        None => (0..r).rev().collect(),
    };
    let mut sorted = perm.clone();
    sorted.sort_unstable();
    (r > 0 && sorted == (0..r).collect::<Vec<_>>()).then_some(perm)
}

/// The description `f` of the input's axis `perm[axis]` viewed last, as the description of the
/// output's axis `axis` viewed last: the same classes when the other axes keep their order,
/// renamed when the transpose reorders them.
fn keep_or_rename(a: &mut Analyzer, perm: &[usize], axis: usize, f: Feat) -> Feat {
    let rest: Vec<usize> = perm.iter().enumerate().filter(|(i, _)| *i != axis).map(|(_, p)| *p).collect();
    if rest.windows(2).all(|w| w[0] < w[1]) { f } else { a.reordered(&format!("Transpose{perm:?}@{axis}"), f) }
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
        let Some(perm) = perm_of(g, n, v) else { return Transfer::Unknown };
        let r = perm.len();
        if perm[r - 1] != r - 1 {
            // the input's axis that ends up last, viewed last
            return match a.feat_moved(g, x, perm[r - 1]) {
                Some(f) => Transfer::Feat(keep_or_rename(a, &perm, r - 1, f)),
                None => Transfer::Unknown,
            };
        }
        let Some(f) = a.feat(g, x) else { return Transfer::Unknown };
        let Some(skip) = r.checked_sub(f.dims.len()) else { return Transfer::Unknown };
        if !perm.iter().enumerate().skip(skip).all(|(i, p)| *p == i) {
            return Transfer::NotHere;
        }
        Transfer::Feat(keep_or_rename(a, &perm, r - 1, f))
    }

    fn feat_moved(&self, a: &mut Analyzer, g: &Graph, n: &Node, v: Value, axis: usize) -> Transfer {
        let Some(x) = input(n, 0) else { return Transfer::Unknown };
        let Some(perm) = perm_of(g, n, v) else { return Transfer::Unknown };
        match perm.get(axis).and_then(|src| a.feat_moved(g, x, *src)) {
            Some(f) => Transfer::Feat(keep_or_rename(a, &perm, axis, f)),
            None => Transfer::Unknown,
        }
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
