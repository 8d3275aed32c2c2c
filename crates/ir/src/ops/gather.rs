//! # `Gather(data, indices) {axis}` and `GatherElements(data, indices) {axis}`
//!
//! `Gather`: the indices' dims replace the axis; constant indices into a 1-D shape vector keep
//! its symbolic values, and a constant index out of range is an error. Exact evaluation.
//! Per-feature transfer: constant indices (rank 0 or 1) along a trailing axis select features;
//! along a leading axis (tables) every row keeps its features. `GatherElements` is only
//! analysed (tables): a gather along a leading axis is a function of both operands' features.

use super::{Entry, InferCtx, InferResult, Inferred, OpDef, fixed_values, known_shape, norm_axis, want_int};
use crate::error::InferError;
use crate::eval::{Arr, take};
use crate::feat::{Analyzer, Feat, Mode, Transfer};
use crate::query::{attr_int, axis, const_ints, constant, input, shape};
use crate::{DType, Graph, Node, Value};

pub(super) const ENTRIES: &[Entry] =
    &[Entry { domain: "", ops: &["Gather"], def: &GatherOp }, Entry { domain: "", ops: &["GatherElements"], def: &GatherElementsOp }];

struct GatherOp;
struct GatherElementsOp;

fn infer_gather(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "data")?;
    let idx = ctx.input(1, "indices")?;
    want_int(idx, 1)?;
    let (Some(s), Some(is)) = (known_shape(x), known_shape(idx)) else { return Ok(vec![Inferred::rankless(x.dtype)]) };
    let ax = norm_axis(ctx.attr_int("axis")?.unwrap_or(0), s.len(), "axis")?;
    if let (Some(n), Some(vals)) = (s[ax].fixed(), fixed_values(idx))
        && let Some(bad) = vals.iter().find(|v| **v >= n || **v < -n)
    {
        return Err(InferError::Invalid(format!("index {bad} out of range for axis {ax} of size {n}")));
    }
    let mut out = s[..ax].to_vec();
    out.extend_from_slice(is);
    out.extend_from_slice(&s[ax + 1..]);
    let sym = match (&x.sym_value, fixed_values(idx)) {
        (Some(v), Some(ix)) if s.len() == 1 => {
            let n = v.len() as i64;
            ix.iter().map(|i| v.get((if *i < 0 { i + n } else { *i }) as usize).cloned()).collect()
        }
        _ => None,
    };
    Ok(vec![Inferred::new(x.dtype, out).with_value(sym)])
}

fn feat(a: &mut Analyzer, g: &Graph, n: &Node) -> Option<Feat> {
    let x = input(n, 0)?;
    let f = a.feat(g, x)?;
    let r = shape(g, x)?.len();
    let ax = axis(attr_int(n, "axis", 0), r)?;
    let first = Analyzer::first_trailing(r, &f)?;
    if ax < first {
        return (a.mode() == Mode::Table).then_some(f);
    }
    let t = ax - first;
    let idx_v = input(n, 1)?;
    let idx = const_ints(g, idx_v)?;
    let idx_rank = constant(g, idx_v)?.dims().len();
    let d = f.dims[t] as i64;
    let keep: Vec<usize> = idx.iter().map(|i| usize::try_from(if *i < 0 { i + d } else { *i }).ok().filter(|i| (*i as i64) < d)).collect::<Option<_>>()?;
    let mut out = Analyzer::select(&f, t, &keep)?;
    match idx_rank {
        0 => {
            out.dims.remove(t);
            if out.dims.is_empty() {
                out.dims.push(1);
            }
            Some(out)
        }
        1 => Some(out),
        _ => None,
    }
}

impl OpDef for GatherOp {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some(infer_gather(ctx))
    }

    fn eval(&self, n: &Node, ins: &[Option<Arr>], _out: DType) -> Option<Vec<Arr>> {
        let (a, idx) = (ins.first()?.as_ref()?, ins.get(1)?.as_ref()?);
        let ax = axis(attr_int(n, "axis", 0), a.dims.len())?;
        let d = a.dims[ax] as i64;
        let ids: Vec<usize> = idx.ints()?.iter().map(|i| usize::try_from(if *i < 0 { i + d } else { *i }).ok()).collect::<Option<_>>()?;
        Some(vec![take(a, ax, &ids, &idx.dims)?])
    }

    fn feat(&self, a: &mut Analyzer, g: &Graph, n: &Node, _v: Value) -> Transfer {
        feat(a, g, n).into()
    }
}

impl OpDef for GatherElementsOp {
    fn feat(&self, a: &mut Analyzer, g: &Graph, n: &Node, _v: Value) -> Transfer {
        if !a.table() {
            return Transfer::Opaque;
        }
        let go = |a: &mut Analyzer| -> Result<Option<Feat>, ()> {
            let rank = shape(g, input(n, 0).ok_or(())?).ok_or(())?.len();
            let ax = axis(attr_int(n, "axis", 0), rank).ok_or(())?;
            let fd = a.feat(g, input(n, 0).ok_or(())?).ok_or(())?;
            let fi = a.feat(g, input(n, 1).ok_or(())?).ok_or(())?;
            (ax < rank.checked_sub(fd.dims.len().max(fi.dims.len())).ok_or(())?).then_some(()).ok_or(())?;
            Ok(a.combine("GatherElements", &[fd, fi]))
        };
        match go(a) {
            Ok(f) => f.into(),
            Err(()) => Transfer::Unknown,
        }
    }
}
