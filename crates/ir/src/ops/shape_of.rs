//! # `Shape(x) {start, end}` and `Size(x)`
//!
//! The dims of x (a slice of them) as an int64 vector whose symbolic value is the dims
//! themselves, so `Range(0, Squeeze(Shape(x)[2]))` has the inferred shape `[N]`; `Size` is their
//! product. Exact evaluation over constants.

use super::{Entry, InferCtx, InferResult, Inferred, OpDef, known_shape};
use crate::eval::{Arr, Data};
use crate::query::attr_int;
use crate::{DType, Dim, Node};

pub(super) const ENTRIES: &[Entry] = &[Entry { domain: "", ops: &["Shape"], def: &ShapeOp }, Entry { domain: "", ops: &["Size"], def: &SizeOp }];

struct ShapeOp;
struct SizeOp;

impl OpDef for ShapeOp {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some((|| {
            let x = ctx.input(0, "data")?;
            let Some(s) = known_shape(x) else { return Ok(vec![Inferred::rankless(DType::I64)]) };
            let r = s.len() as i64;
            let clamp = |v: i64| -> usize { (if v < 0 { v + r } else { v }).clamp(0, r) as usize };
            let start = clamp(ctx.attr_int("start")?.unwrap_or(0));
            let end = clamp(ctx.attr_int("end")?.unwrap_or(r));
            let dims: Vec<Dim> = if start < end { s[start..end].to_vec() } else { vec![] };
            Ok(vec![Inferred::new(DType::I64, vec![Dim::Fixed(dims.len() as i64)]).with_value(Some(dims))])
        })())
    }

    fn eval(&self, n: &Node, ins: &[Option<Arr>], _out: DType) -> Option<Vec<Arr>> {
        let a = ins.first()?.as_ref()?;
        let r = a.dims.len() as i64;
        let clamp = |v: i64| if v < 0 { (v + r).max(0) } else { v.min(r) } as usize;
        let start = clamp(attr_int(n, "start", 0));
        let end = clamp(attr_int(n, "end", r));
        let dims: Vec<i64> = a.dims.get(start..end.max(start))?.iter().map(|d| *d as i64).collect();
        Some(vec![Arr { dtype: DType::I64, dims: vec![dims.len()], data: Data::I(dims) }])
    }
}

impl OpDef for SizeOp {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some(ctx.input(0, "data").map(|x| {
            let v = known_shape(x).map(|s| vec![s.iter().fold(Dim::Fixed(1), |acc, d| acc.mul(d))]);
            vec![Inferred::new(DType::I64, vec![]).with_value(v)]
        }))
    }

    fn eval(&self, _n: &Node, ins: &[Option<Arr>], _out: DType) -> Option<Vec<Arr>> {
        let a = ins.first()?.as_ref()?;
        Some(vec![Arr { dtype: DType::I64, dims: vec![], data: Data::I(vec![a.len() as i64]) }])
    }
}
