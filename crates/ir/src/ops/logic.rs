//! # Comparisons and boolean ops: `Equal`, `Less`, `Greater`, `LessOrEqual`, `GreaterOrEqual`,
//! `And`, `Or`, `Xor`, `Not`
//!
//! Bool outputs with numpy broadcasting. `Equal` of integer size values is decided symbolically
//! where every element is (equal expressions; a size, never negative, against a negative number),
//! which TorchScript's `expand(-1)` tests need. Exact evaluation on every element type.

use super::{Entry, InferCtx, InferResult, Inferred, OpDef, broadcast_shapes, known_shape, like_input, want_same_dtype};
use crate::error::InferError;
use crate::eval::{Arr, Scalar, map, zip};
use crate::feat::{Analyzer, Feat, Transfer};
use crate::{DType, Dim, Graph, Node, Value};

pub(super) const ENTRIES: &[Entry] = &[
    Entry { domain: "", ops: &["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor"], def: &Compare },
    Entry { domain: "", ops: &["Not"], def: &NotOp },
];

struct Compare;
struct NotOp;

/// Element-wise over two symbolic value lists (one may have a single element), booleans as
/// 0/1; `None` unless every element is decided.
fn elementwise_sym(a: &[Dim], b: &[Dim], f: impl Fn(&Dim, &Dim) -> Option<bool>) -> Option<Vec<Dim>> {
    let n = a.len().max(b.len());
    if !(a.len() == n || a.len() == 1) || !(b.len() == n || b.len() == 1) {
        return None;
    }
    (0..n).map(|i| f(&a[if a.len() == 1 { 0 } else { i }], &b[if b.len() == 1 { 0 } else { i }]).map(|t| Dim::Fixed(i64::from(t)))).collect()
}

fn cmp(op: &str, p: f64, q: f64) -> bool {
    match op {
        "Equal" => p == q,
        "Less" => p < q,
        "Greater" => p > q,
        "LessOrEqual" => p <= q,
        _ => p >= q,
    }
}

/// One element of `op` (`None`: the op does not take these kinds).
fn apply(op: &str, p: Scalar, q: Scalar) -> Option<Scalar> {
    let ordered = matches!(op, "Equal" | "Less" | "Greater" | "LessOrEqual" | "GreaterOrEqual");
    Some(Scalar::B(match (p, q) {
        (Scalar::F(p), Scalar::F(q)) if ordered => cmp(op, p, q),
        (Scalar::I(p), Scalar::I(q)) if ordered => cmp(op, p as f64, q as f64) && (op != "Equal" || p == q),
        (Scalar::B(p), Scalar::B(q)) => match op {
            "And" => p && q,
            "Or" => p || q,
            "Xor" => p ^ q,
            "Equal" => p == q,
            _ => return None,
        },
        _ => return None,
    }))
}

impl OpDef for Compare {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some((|| {
            let a = ctx.input(0, "A")?;
            let b = ctx.input(1, "B")?;
            want_same_dtype(a, b, 1)?;
            let (Some(sa), Some(sb)) = (known_shape(a), known_shape(b)) else { return Ok(vec![Inferred::rankless(DType::Bool)]) };
            let sym = match (ctx.op, &a.sym_value, &b.sym_value) {
                ("Equal", Some(x), Some(y)) if a.dtype.is_int() => elementwise_sym(x, y, |p, q| match (p.fixed(), q.fixed()) {
                    (Some(m), Some(n)) => Some(m == n),
                    _ if p == q && !matches!(p, Dim::Unknown) => Some(true),
                    _ if (p.sign() == Some(1) && q.fixed().is_some_and(|n| n < 0)) || (q.sign() == Some(1) && p.fixed().is_some_and(|n| n < 0)) => Some(false),
                    _ => None,
                }),
                _ => None,
            };
            Ok(vec![Inferred::new(DType::Bool, broadcast_shapes(&[sa, sb])?).with_value(sym)])
        })())
    }

    fn eval(&self, n: &Node, ins: &[Option<Arr>], out_dtype: DType) -> Option<Vec<Arr>> {
        if ins.len() != 2 {
            return None;
        }
        Some(vec![zip(ins[0].as_ref()?, ins[1].as_ref()?, out_dtype, |p, q| apply(&n.op_type, p, q))?])
    }

    fn feat(&self, a: &mut Analyzer, g: &Graph, n: &Node, _v: Value) -> Transfer {
        if !a.table() {
            return Transfer::Opaque;
        }
        let fs: Option<Vec<Feat>> = n.inputs.iter().map(|i| i.and_then(|i| a.feat(g, i))).collect();
        match fs {
            Some(fs) => a.combine(&n.op_type, &fs).into(),
            None => Transfer::Unknown,
        }
    }
}

impl OpDef for NotOp {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some((|| {
            let x = ctx.input(0, "X")?;
            if x.dtype != DType::Bool && x.dtype != DType::Undefined {
                return Err(InferError::DType { index: 0, expected: "Bool".into(), actual: x.dtype });
            }
            like_input(x, None)
        })())
    }

    fn eval(&self, _n: &Node, ins: &[Option<Arr>], _out_dtype: DType) -> Option<Vec<Arr>> {
        Some(vec![map(ins.first()?.as_ref()?, |e| if let Scalar::B(b) = e { Some(Scalar::B(!b)) } else { None })?])
    }

    fn feat(&self, a: &mut Analyzer, g: &Graph, n: &Node, _v: Value) -> Transfer {
        if !a.table() {
            return Transfer::Opaque;
        }
        match crate::query::input(n, 0).and_then(|x| a.feat(g, x)) {
            Some(f) => Transfer::Feat(a.generic("Not", &[f])),
            None => Transfer::Unknown,
        }
    }
}
