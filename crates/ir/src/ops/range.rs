//! # `Range(start, limit, delta)`
//!
//! Scalars of one type; the length `ceil((limit − start) / delta)` stays symbolic for a fixed
//! positive delta (`Range(0, seq, 1)` has length `seq`). Exact evaluation of integer ranges.

use super::{Entry, InferCtx, InferResult, Inferred, OpDef};
use crate::error::InferError;
use crate::eval::{Arr, Data};
use crate::{DType, Dim, Node};

pub(super) const ENTRIES: &[Entry] = &[Entry { domain: "", ops: &["Range"], def: &RangeOp }];

struct RangeOp;

fn infer_range(ctx: &InferCtx) -> InferResult {
    let start = ctx.input(0, "start")?;
    let limit = ctx.input(1, "limit")?;
    let delta = ctx.input(2, "delta")?;
    for (i, v) in [start, limit, delta].iter().enumerate() {
        if v.rank().is_some_and(|r| r != 0) {
            return Err(InferError::Rank { index: i, expected: "0 (a scalar)".into(), actual: v.rank().unwrap_or(0) });
        }
        super::want_same_dtype(start, v, i)?;
    }
    let len = match (start.sym_value.as_deref(), limit.sym_value.as_deref(), delta.sym_value.as_deref().and_then(|d| d.first()?.fixed())) {
        (Some([s]), Some([l]), Some(d)) if d > 0 => l.sub(s).div_ceil(d),
        _ => Dim::Unknown,
    };
    Ok(vec![Inferred::new(start.dtype, vec![len])])
}

impl OpDef for RangeOp {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some(infer_range(ctx))
    }

    fn eval(&self, _n: &Node, ins: &[Option<Arr>], _out: DType) -> Option<Vec<Arr>> {
        let arg = |i: usize| ins.get(i).and_then(Option::as_ref);
        let (s, l, d) = (arg(0)?.ints()?, arg(1)?.ints()?, arg(2)?.ints()?);
        let (s, l, d) = (*s.first()?, *l.first()?, *d.first()?);
        if d == 0 {
            return None;
        }
        let count = ((l - s) as f64 / d as f64).ceil().max(0.0) as usize;
        let v: Vec<i64> = (0..count as i64).map(|i| s + i * d).collect();
        Some(vec![Arr { dtype: arg(0)?.dtype, dims: vec![v.len()], data: Data::I(v) }])
    }
}
