//! # `Expand(input, shape)`
//!
//! Numpy broadcast of the input against the shape vector (its symbolic value). Exact
//! evaluation; an expand to x's own (fully known) shape is a no-op. Per-feature transfer
//! (tables): a unit trailing axis repeats its one feature, on the last axis or one moved last.

use super::{Entry, InferCtx, InferResult, Inferred, OpDef, known_shape, want_int};
use crate::eval::{Arr, broadcast, pick};
use crate::feat::{Analyzer, Feat, Transfer};
use crate::query::{input, only_output, same_shape, shape};
use crate::{DType, Graph, Node, Value};

pub(super) const ENTRIES: &[Entry] = &[Entry { domain: "", ops: &["Expand"], def: &ExpandOp }];

struct ExpandOp;

fn infer_expand(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "input")?;
    let shape = ctx.input(1, "shape")?;
    want_int(shape, 1)?;
    let (Some(s), Some(t)) = (known_shape(x), &shape.sym_value) else {
        return Ok(vec![Inferred::rankless(x.dtype)]);
    };
    Ok(vec![Inferred::new(x.dtype, super::broadcast_shapes(&[s, t])?)])
}

fn feat(a: &mut Analyzer, g: &Graph, n: &Node, v: Value) -> Option<Feat> {
    let x = input(n, 0)?;
    let f = a.feat(g, x)?;
    let so = shape(g, v)?;
    let k = f.dims.len();
    let out: Vec<usize> = so[so.len().checked_sub(k)?..].iter().map(|d| d.fixed().and_then(|d| usize::try_from(d).ok())).collect::<Option<_>>()?;
    let mut cur = f;
    for (t, want) in out.iter().enumerate() {
        if cur.dims[t] == *want {
            continue;
        }
        if cur.dims[t] != 1 {
            return None;
        }
        cur = Analyzer::select(&cur, t, &vec![0; *want])?;
    }
    Some(cur)
}

impl OpDef for ExpandOp {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some(infer_expand(ctx))
    }

    fn eval(&self, _n: &Node, ins: &[Option<Arr>], _out: DType) -> Option<Vec<Arr>> {
        let a = ins.first()?.as_ref()?;
        let s: Vec<usize> = ins.get(1)?.as_ref()?.ints()?.iter().map(|v| usize::try_from(*v).ok()).collect::<Option<_>>()?;
        let dims = broadcast(&[&a.dims, &s])?;
        let len: usize = dims.iter().product();
        let order: Vec<usize> = (0..len).map(|i| Arr::index_of(&a.dims, &dims, i)).collect();
        Some(vec![Arr { dtype: a.dtype, dims, data: pick(&a.data, &order) }])
    }

    fn feat(&self, a: &mut Analyzer, g: &Graph, n: &Node, v: Value) -> Transfer {
        if !a.table() {
            return Transfer::Opaque;
        }
        feat(a, g, n, v).into()
    }

    fn feat_moved(&self, a: &mut Analyzer, g: &Graph, n: &Node, v: Value, axis: usize) -> Transfer {
        let Some(x) = input(n, 0) else { return Transfer::Unknown };
        let Some(d) = shape(g, v).and_then(|s| s.get(axis)?.fixed()).and_then(|d| usize::try_from(d).ok()) else { return Transfer::Unknown };
        match a.moved_inputs(g, &[x], v, axis).and_then(|mut f| f.pop()) {
            // a broadcast axis repeats its one entry
            Some(f) if f.total() == 1 => Transfer::Feat(Feat { dims: vec![d], entries: vec![f.entries[0]; d] }),
            Some(f) if f.total() == d => Transfer::Feat(f),
            _ => Transfer::Unknown,
        }
    }

    fn noop(&self, g: &Graph, n: &Node) -> Option<Value> {
        let (x, y) = (input(n, 0)?, only_output(n)?);
        matches!((shape(g, x), shape(g, y)), (Some(a), Some(b)) if same_shape(a, b)).then_some(x)
    }
}
