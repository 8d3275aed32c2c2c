//! # `Tile(input, repeats)`
//!
//! Each dim times its repeat count (symbolic when the counts are). Exact evaluation.
//! Per-feature transfer (tables): repeated trailing axes repeat their features.

use super::{Entry, InferCtx, InferResult, Inferred, OpDef, known_shape};
use crate::eval::{Arr, pick};
use crate::feat::{Analyzer, Feat, Transfer};
use crate::query::{const_ints, input, shape};
use crate::{DType, Dim, Graph, Node, Value};

pub(super) const ENTRIES: &[Entry] = &[Entry { domain: "", ops: &["Tile"], def: &TileOp }];

struct TileOp;

fn infer_tile(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "input")?;
    let reps = ctx.input(1, "repeats")?;
    let Some(s) = known_shape(x) else { return Ok(vec![Inferred::rankless(x.dtype)]) };
    let out = match &reps.sym_value {
        Some(r) if r.len() == s.len() => s.iter().zip(r).map(|(d, k)| d.mul(k)).collect(),
        _ => vec![Dim::Unknown; s.len()],
    };
    Ok(vec![Inferred::new(x.dtype, out)])
}

fn feat(a: &mut Analyzer, g: &Graph, n: &Node) -> Option<Feat> {
    let x = input(n, 0)?;
    let f = a.feat(g, x)?;
    let r = shape(g, x)?.len();
    let reps = const_ints(g, input(n, 1)?)?;
    if reps.len() != r {
        return None;
    }
    let first = Analyzer::first_trailing(r, &f)?;
    let mut cur = f;
    for t in 0..cur.dims.len() {
        let rep = usize::try_from(reps[first + t]).ok()?;
        if rep == 1 {
            continue;
        }
        let d = cur.dims[t];
        let keep: Vec<usize> = (0..rep * d).map(|i| i % d).collect();
        cur = Analyzer::select(&cur, t, &keep)?;
    }
    Some(cur)
}

impl OpDef for TileOp {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some(infer_tile(ctx))
    }

    fn eval(&self, _n: &Node, ins: &[Option<Arr>], _out: DType) -> Option<Vec<Arr>> {
        let a = ins.first()?.as_ref()?;
        let reps: Vec<usize> = ins.get(1)?.as_ref()?.ints()?.iter().map(|v| usize::try_from(*v).ok()).collect::<Option<_>>()?;
        if reps.len() != a.dims.len() {
            return None;
        }
        let dims: Vec<usize> = a.dims.iter().zip(&reps).map(|(d, k)| d * k).collect();
        let len: usize = dims.iter().product();
        let order: Vec<usize> = (0..len)
            .map(|flat| {
                let mut rem = flat;
                let (mut src, mut stride) = (0, 1);
                for o in (0..dims.len()).rev() {
                    let c = rem % dims[o];
                    rem /= dims[o];
                    src += (c % a.dims[o]) * stride;
                    stride *= a.dims[o];
                }
                src
            })
            .collect();
        Some(vec![Arr { dtype: a.dtype, dims, data: pick(&a.data, &order) }])
    }

    fn feat(&self, a: &mut Analyzer, g: &Graph, n: &Node, _v: Value) -> Transfer {
        if !a.table() {
            return Transfer::Opaque;
        }
        feat(a, g, n).into()
    }
}
