//! # Arithmetic: `Add`, `Sub`, `Mul`, `Div`, `Pow`, `Max`, `Min`, `Mod`
//!
//! Numpy broadcasting; both operands of one type (`Pow` excepted). Small integer tensors carry
//! their symbolic values through `Add`/`Sub`/`Mul`/`Div`/`Max`/`Min`, so shape arithmetic
//! (`N - Nq`, `N / 2`) stays visible in inferred shapes. Exact evaluation: +, −, ×, ÷ and
//! max/min of floats (one rounding from the f64 result) and of integers (checked; `Div` of
//! non-negative integers only, where truncation and floor agree). No-ops: `x·1`, `x/1`, `x−0`
//! by a constant of x's type that does not broadcast x to a new shape (`x+0` is not one:
//! −0.0 + 0 = +0.0).

use super::{Entry, InferCtx, InferResult, Inferred, OpDef, broadcast_shapes, known_shape, want_same_dtype};
use crate::eval::{Arr, Scalar, zip};
use crate::feat::{Analyzer, Feat, Transfer};
use crate::query::{const_f64s, constant, input, only_output, same_shape, shape};
use crate::{DType, Dim, Graph, Node, Value};

pub(super) const ENTRIES: &[Entry] = &[Entry { domain: "", ops: &["Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Mod"], def: &Arith }];

struct Arith;

fn sym_binary(op: &str, a: &[Dim], b: &[Dim]) -> Option<Vec<Dim>> {
    let n = a.len().max(b.len());
    if !(a.len() == n || a.len() == 1) || !(b.len() == n || b.len() == 1) {
        return None;
    }
    (0..n)
        .map(|i| {
            let x = &a[if a.len() == 1 { 0 } else { i }];
            let y = &b[if b.len() == 1 { 0 } else { i }];
            let r = match op {
                "Add" => x.add(y),
                "Sub" => x.sub(y),
                "Mul" => x.mul(y),
                // ONNX integer Div truncates; shape values are non-negative so this is floor.
                "Div" => x.div_dim(y, false),
                "Max" => match (x.fixed(), y.fixed()) {
                    (Some(p), Some(q)) => Dim::Fixed(p.max(q)),
                    _ if x == y => x.clone(),
                    _ => Dim::Unknown,
                },
                "Min" => match (x.fixed(), y.fixed()) {
                    (Some(p), Some(q)) => Dim::Fixed(p.min(q)),
                    _ if x == y => x.clone(),
                    _ => Dim::Unknown,
                },
                _ => Dim::Unknown,
            };
            (r != Dim::Unknown).then_some(r)
        })
        .collect()
}

/// One element of `op` over two floats or two integers (`None`: not exact here).
fn apply(op: &str, p: Scalar, q: Scalar) -> Option<Scalar> {
    match (p, q) {
        (Scalar::F(p), Scalar::F(q)) => Some(Scalar::F(match op {
            "Add" => p + q,
            "Sub" => p - q,
            "Mul" => p * q,
            "Div" => p / q,
            "Max" | "Min" if p.is_nan() || q.is_nan() => return None,
            "Max" => p.max(q),
            "Min" => p.min(q),
            _ => return None,
        })),
        (Scalar::I(p), Scalar::I(q)) => match op {
            "Add" => p.checked_add(q),
            "Sub" => p.checked_sub(q),
            "Mul" => p.checked_mul(q),
            "Div" if p >= 0 && q > 0 => Some(p / q),
            "Max" => Some(p.max(q)),
            "Min" => Some(p.min(q)),
            _ => None,
        }
        .map(Scalar::I),
        _ => None,
    }
}

/// The per-feature transfer of `op` over its operands' descriptions: signs tracked through the
/// product, quotient, sum and difference of two operands, any other op (or more operands) a
/// plain function of the signed classes.
pub(crate) fn transfer(a: &mut Analyzer, op: &str, fs: &[Feat]) -> Option<Feat> {
    let dims = Analyzer::broadcast_dims(fs)?;
    if fs.len() != 2 || !matches!(op, "Mul" | "Div" | "Add" | "Sub") {
        return Some(a.generic(op, fs));
    }
    let n = fs.iter().map(Feat::total).max()?;
    let entries = (0..n)
        .map(|i| {
            let x = fs[0].entries[if fs[0].total() == 1 { 0 } else { i }];
            let y = fs[1].entries[if fs[1].total() == 1 { 0 } else { i }];
            match op {
                // (sx·X)(sy·Y) = sx·sy·(XY)
                "Mul" | "Div" => (x.0 * y.0, a.class(op, vec![(1, x.1), (1, y.1)])),
                // sx·X ± sy·Y = sx·(X ± sx·sy·Y)
                _ => {
                    let same = x.0 * y.0 == 1;
                    let op2 = match (op, same) {
                        ("Add", true) | ("Sub", false) => "Add",
                        _ => "Sub",
                    };
                    (x.0, a.class(op2, vec![(1, x.1), (1, y.1)]))
                }
            }
        })
        .collect();
    Some(Feat { dims, entries })
}

impl OpDef for Arith {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some((|| {
            let a = ctx.input(0, "A")?;
            let b = ctx.input(1, "B")?;
            if ctx.op != "Pow" {
                want_same_dtype(a, b, 1)?;
            }
            if ctx.op == "Max" || ctx.op == "Min" {
                for (i, extra) in ctx.inputs.iter().enumerate().skip(2) {
                    if let Some(e) = extra {
                        want_same_dtype(a, e, i)?;
                    }
                }
            }
            let (Some(sa), Some(sb)) = (known_shape(a), known_shape(b)) else { return Ok(vec![Inferred::rankless(a.dtype)]) };
            let shape = broadcast_shapes(&[sa, sb])?;
            // integer arithmetic only (float values of sizes, from a Cast, are not floored by Div)
            let sym = match (&a.sym_value, &b.sym_value) {
                (Some(x), Some(y)) if ctx.inputs.len() == 2 && a.dtype.is_int() => sym_binary(ctx.op, x, y),
                _ => None,
            };
            Ok(vec![Inferred::new(a.dtype, shape).with_value(sym)])
        })())
    }

    fn eval(&self, n: &Node, ins: &[Option<Arr>], out_dtype: DType) -> Option<Vec<Arr>> {
        if ins.len() != 2 {
            return None;
        }
        let (a, b) = (ins[0].as_ref()?, ins[1].as_ref()?);
        // float32 results: each op is correctly rounded from the f64 value
        Some(vec![zip(a, b, out_dtype, |p, q| apply(&n.op_type, p, q))?])
    }

    fn feat(&self, a: &mut Analyzer, g: &Graph, n: &Node, _v: Value) -> Transfer {
        if !a.table() {
            return Transfer::Opaque;
        }
        let fs: Option<Vec<Feat>> = n.inputs.iter().map(|i| i.and_then(|i| a.feat(g, i))).collect();
        match fs {
            Some(fs) => transfer(a, &n.op_type, &fs).into(),
            None => Transfer::Unknown,
        }
    }

    fn feat_moved(&self, a: &mut Analyzer, g: &Graph, n: &Node, v: Value, axis: usize) -> Transfer {
        let Some(ins) = n.inputs.iter().copied().collect::<Option<Vec<Value>>>() else { return Transfer::Unknown };
        match a.moved_inputs(g, &ins, v, axis) {
            Some(fs) => transfer(a, &n.op_type, &fs).into(),
            None => Transfer::Unknown,
        }
    }

    fn noop(&self, g: &Graph, n: &Node) -> Option<Value> {
        let want = match n.op_type.as_str() {
            "Mul" | "Div" => 1.0,
            "Sub" => 0.0,
            _ => return None,
        };
        let (x, y) = (input(n, 0)?, only_output(n)?);
        let c = input(n, 1)?;
        let neutral =
            constant(g, c).is_some_and(|t| t.dtype() == g.dtype(x)) && const_f64s(g, c).is_some_and(|v| !v.is_empty() && v.iter().all(|e| *e == want));
        let same = matches!((shape(g, x), shape(g, y)), (Some(a), Some(b)) if same_shape(a, b));
        (neutral && same).then_some(x)
    }
}
