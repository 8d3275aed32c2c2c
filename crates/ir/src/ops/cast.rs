//! # `Cast(x) {to}` and `CastLike(x, target)`
//!
//! The target type, x's shape; integers keep their symbolic values as integers and as floats
//! (sizes are exact in f32 below 2^24: `arange(seq.float())` keeps its length `seq`). Exact
//! evaluation between integer types and bool, from integers (below 2^53) or float64 to float32,
//! and float32 to float64. A cast to the type x already has is a no-op. Float-to-float casts
//! keep a feature's sign (per-feature transfer); others are plain functions. The `saturate`
//! attribute exists from opset 19.

use super::{Entry, InferCtx, InferResult, Inferred, OpDef};
use crate::error::InferError;
use crate::eval::{Arr, Data};
use crate::feat::{Analyzer, Transfer};
use crate::query::input;
use crate::{DType, Graph, Node, Value};

pub(super) const ENTRIES: &[Entry] = &[
    Entry { domain: "", ops: &["Cast"], def: &CastOp },
    Entry { domain: "", ops: &["CastLike"], def: &CastLikeOp },
    Entry { domain: "", ops: &["BitCast"], def: &BitCastOp },
];

struct CastOp;
struct CastLikeOp;
/// `BitCast` (opset 26): only its opset is known to rotor.
struct BitCastOp;

impl OpDef for BitCastOp {
    fn since(&self, _op: &str) -> i64 {
        26
    }
}

/// The transfer of both casts: float to float keeps signs.
fn cast_feat(a: &mut Analyzer, g: &Graph, n: &Node, v: Value, moved: Option<usize>) -> Transfer {
    if !a.table() {
        return Transfer::Opaque;
    }
    let Some(x) = input(n, 0) else { return Transfer::Unknown };
    let f = match moved {
        None => a.feat(g, x),
        Some(axis) => a.feat_moved(g, x, axis),
    };
    let Some(f) = f else { return Transfer::Unknown };
    let float = |d: DType| matches!(d, DType::F32 | DType::F16 | DType::BF16 | DType::F64);
    let op = format!("Cast{}", g.dtype(v));
    Transfer::Feat(if float(g.dtype(x)) && float(g.dtype(v)) { a.unary(&op, f, true) } else { a.generic(&op, &[f]) })
}

/// `saturate` (float8 casts) is an attribute of opset 19.
fn saturate_form(n: &Node, to: i64) -> Option<String> {
    (n.attr("saturate").is_some() && to < 19).then(|| format!("{} uses an attribute or mode of opset 19", n.op_type))
}

impl OpDef for CastOp {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some((|| {
            let x = ctx.input(0, "input")?;
            let to = ctx.attr_int("to")?.ok_or(InferError::Attr { name: "to".into(), message: "is required".into() })?;
            let dtype =
                i32::try_from(to).map(DType::from_onnx_code).map_err(|_| InferError::Attr { name: "to".into(), message: format!("invalid type code {to}") })?;
            let sym = if x.dtype.is_int() && (dtype.is_int() || dtype.is_float()) { x.sym_value.clone() } else { None };
            Ok(vec![Inferred { dtype, shape: x.shape.clone(), sym_value: sym }])
        })())
    }

    fn eval(&self, _n: &Node, ins: &[Option<Arr>], out_dtype: DType) -> Option<Vec<Arr>> {
        let a = ins.first()?.as_ref()?;
        let data = match (&a.data, out_dtype) {
            (Data::I(v), DType::I64 | DType::I32) => Data::I(v.clone()),
            (Data::I(v), DType::F32 | DType::F64) => Data::F(v.iter().map(|e| *e as f64).collect()),
            (Data::I(v), DType::Bool) => Data::B(v.iter().map(|e| *e != 0).collect()),
            (Data::B(v), DType::I64 | DType::I32) => Data::I(v.iter().map(|e| i64::from(*e)).collect()),
            (Data::B(v), DType::Bool) => Data::B(v.clone()),
            (Data::F(v), DType::F32) => Data::F(v.iter().map(|e| f64::from(*e as f32)).collect()),
            (Data::F(v), DType::F64) if a.dtype == DType::F64 || a.dtype == DType::F32 => Data::F(v.clone()),
            _ => return None,
        };
        // int64 -> float32 goes through f64: exact below 2^53, then one rounding to f32
        if let (Data::I(v), DType::F32) = (&a.data, out_dtype)
            && v.iter().any(|e| e.unsigned_abs() > (1 << 53))
        {
            return None;
        }
        Some(vec![Arr { dtype: out_dtype, dims: a.dims.clone(), data }])
    }

    fn feat(&self, a: &mut Analyzer, g: &Graph, n: &Node, v: Value) -> Transfer {
        cast_feat(a, g, n, v, None)
    }

    fn feat_moved(&self, a: &mut Analyzer, g: &Graph, n: &Node, v: Value, axis: usize) -> Transfer {
        cast_feat(a, g, n, v, Some(axis))
    }

    fn noop(&self, g: &Graph, n: &Node) -> Option<Value> {
        let (x, y) = (input(n, 0)?, crate::query::only_output(n)?);
        (g.dtype(x) == g.dtype(y) && g.dtype(x).is_computable()).then_some(x)
    }

    fn newer_form(&self, _g: &Graph, n: &Node, to: i64) -> Option<String> {
        saturate_form(n, to)
    }
}

impl OpDef for CastLikeOp {
    fn feat(&self, a: &mut Analyzer, g: &Graph, n: &Node, v: Value) -> Transfer {
        cast_feat(a, g, n, v, None)
    }

    fn feat_moved(&self, a: &mut Analyzer, g: &Graph, n: &Node, v: Value, axis: usize) -> Transfer {
        cast_feat(a, g, n, v, Some(axis))
    }

    fn noop(&self, g: &Graph, n: &Node) -> Option<Value> {
        let x = input(n, 0)?;
        (input(n, 1).is_some_and(|t| g.dtype(t) == g.dtype(x)) && g.dtype(x).is_computable()).then_some(x)
    }

    fn newer_form(&self, _g: &Graph, n: &Node, to: i64) -> Option<String> {
        saturate_form(n, to)
    }
}
