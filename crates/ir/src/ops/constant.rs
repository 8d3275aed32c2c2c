//! # `Constant {value…}` and `ConstantOfShape(shape) {value}`
//!
//! `Constant`: the attribute's type and dims, small integer (and whole-number float) values
//! symbolic. `ConstantOfShape`: the value's type (float32 0 by default) over the shape vector's
//! symbolic value. Exact evaluation of `ConstantOfShape` (a constant `Constant` is read directly
//! by the passes).

use super::{Entry, InferCtx, InferResult, Inferred, MAX_RANK, OpDef, want_int};
use crate::error::InferError;
use crate::eval::{Arr, Data, pick};
use crate::{Attr, DType, Dim, Node};

pub(super) const ENTRIES: &[Entry] =
    &[Entry { domain: "", ops: &["Constant"], def: &ConstantOp }, Entry { domain: "", ops: &["ConstantOfShape"], def: &ConstantOfShapeOp }];

struct ConstantOp;
struct ConstantOfShapeOp;

fn infer_constant_of_shape(ctx: &InferCtx) -> InferResult {
    let shape = ctx.input(0, "input")?;
    want_int(shape, 0)?;
    let dtype = match ctx.attr("value") {
        Some(Attr::Tensor(t)) => t.dtype(),
        _ => DType::F32,
    };
    let out = match (&shape.sym_value, shape.shape.as_ref().and_then(|s| s.first()).and_then(Dim::fixed)) {
        (Some(v), _) => v.clone(),
        (None, Some(r)) if (0..=MAX_RANK).contains(&r) => vec![Dim::Unknown; r as usize],
        _ => return Ok(vec![Inferred::rankless(dtype)]),
    };
    Ok(vec![Inferred::new(dtype, out)])
}

fn infer_constant(ctx: &InferCtx) -> InferResult {
    match ctx.attr("value") {
        Some(Attr::Tensor(t)) => {
            let sym = t.small_values();
            Ok(vec![Inferred::new(t.dtype(), t.dims().iter().map(|d| Dim::Fixed(*d)).collect()).with_value(sym)])
        }
        Some(Attr::Int(v)) => Ok(vec![Inferred::new(DType::I64, vec![]).with_value(Some(vec![Dim::Fixed(*v)]))]),
        Some(Attr::Ints(v)) => {
            Ok(vec![Inferred::new(DType::I64, vec![Dim::Fixed(v.len() as i64)]).with_value(Some(v.iter().map(|x| Dim::Fixed(*x)).collect()))])
        }
        Some(Attr::Float(f)) => {
            Ok(vec![Inferred::new(DType::F32, vec![]).with_value((f.fract() == 0.0 && f.abs() < 16_777_216.0).then(|| vec![Dim::Fixed(*f as i64)]))])
        }
        Some(Attr::Floats(v)) => Ok(vec![Inferred::new(DType::F32, vec![Dim::Fixed(v.len() as i64)])]),
        _ => Err(InferError::Attr { name: "value".into(), message: "Constant needs a value".into() }),
    }
}

impl OpDef for ConstantOp {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some(infer_constant(ctx))
    }
}

impl OpDef for ConstantOfShapeOp {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some(infer_constant_of_shape(ctx))
    }

    fn eval(&self, n: &Node, ins: &[Option<Arr>], _out: DType) -> Option<Vec<Arr>> {
        let s: Vec<usize> = ins.first()?.as_ref()?.ints()?.iter().map(|v| usize::try_from(*v).ok()).collect::<Option<_>>()?;
        let len: usize = s.iter().product();
        let fill = match n.attr("value") {
            Some(Attr::Tensor(t)) => Arr::from_tensor(t)?,
            None => Arr { dtype: DType::F32, dims: vec![1], data: Data::F(vec![0.0]) },
            _ => return None,
        };
        let data = pick(&fill.data, &vec![0; len]);
        Some(vec![Arr { dtype: fill.dtype, dims: s, data }])
    }
}
