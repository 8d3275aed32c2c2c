//! Elementwise ops: arithmetic and comparisons with numpy broadcasting, unary maths, `Where`,
//! `Cast`. Small integer tensors carry their symbolic values through `Add`/`Sub`/`Mul`/`Div`, so
//! shape arithmetic (`N - Nq`, `N / 2`) stays visible in inferred shapes.

use super::{InferCtx, InferResult, Inferred, broadcast_shapes, known_shape, want_same_dtype};
use crate::attrs;
use crate::dim::Dim;
use crate::dtype::DType;
use crate::error::{BuildError, InferError};
use crate::graph::{Graph, Value};

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

pub(super) fn infer_arith(ctx: &InferCtx) -> InferResult {
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
}

pub(super) fn infer_compare(ctx: &InferCtx) -> InferResult {
    let a = ctx.input(0, "A")?;
    let b = ctx.input(1, "B")?;
    want_same_dtype(a, b, 1)?;
    let (Some(sa), Some(sb)) = (known_shape(a), known_shape(b)) else { return Ok(vec![Inferred::rankless(DType::Bool)]) };
    // Equal of size values (TorchScript's `expand(-1)` test) when every element is decided:
    // equal expressions, or a size (never negative) against a negative number
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
}

/// Element-wise over two symbolic value lists (one may have a single element), booleans as
/// 0/1; `None` unless every element is decided.
fn elementwise_sym(a: &[Dim], b: &[Dim], f: impl Fn(&Dim, &Dim) -> Option<bool>) -> Option<Vec<Dim>> {
    let n = a.len().max(b.len());
    if !(a.len() == n || a.len() == 1) || !(b.len() == n || b.len() == 1) {
        return None;
    }
    (0..n).map(|i| f(&a[if a.len() == 1 { 0 } else { i }], &b[if b.len() == 1 { 0 } else { i }]).map(|t| Dim::Fixed(i64::from(t)))).collect()
}

pub(super) fn infer_where(ctx: &InferCtx) -> InferResult {
    let c = ctx.input(0, "condition")?;
    let x = ctx.input(1, "X")?;
    let y = ctx.input(2, "Y")?;
    if c.dtype != DType::Bool && c.dtype != DType::Undefined {
        return Err(InferError::DType { index: 0, expected: "Bool".into(), actual: c.dtype });
    }
    want_same_dtype(x, y, 2)?;
    let (Some(sc), Some(sx), Some(sy)) = (known_shape(c), known_shape(x), known_shape(y)) else { return Ok(vec![Inferred::rankless(x.dtype)]) };
    // selecting between size values with a decided condition keeps them symbolic
    let sym = match (&c.sym_value, &x.sym_value, &y.sym_value) {
        (Some(cv), Some(xv), Some(yv)) if x.dtype.is_int() => {
            let n = cv.len().max(xv.len()).max(yv.len());
            let at = |v: &[Dim], i: usize| v.get(if v.len() == 1 { 0 } else { i }).cloned();
            (0..n)
                .map(|i| match at(cv, i)?.fixed()? {
                    0 => at(yv, i),
                    _ => at(xv, i),
                })
                .collect::<Option<Vec<Dim>>>()
                .filter(|_| [cv.len(), xv.len(), yv.len()].iter().all(|l| *l == n || *l == 1))
        }
        _ => None,
    };
    Ok(vec![Inferred::new(x.dtype, broadcast_shapes(&[sc, sx, sy])?).with_value(sym)])
}

pub(super) fn infer_unary(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "X")?;
    let float_only = matches!(ctx.op, "Cos" | "Sin" | "Exp" | "Log" | "Sqrt" | "Reciprocal" | "Sigmoid" | "Erf" | "Tanh" | "Softmax" | "Gelu");
    if float_only {
        super::want_float(x, 0)?;
    }
    if ctx.op == "Not" && x.dtype != DType::Bool && x.dtype != DType::Undefined {
        return Err(InferError::DType { index: 0, expected: "Bool".into(), actual: x.dtype });
    }
    if ctx.op == "Trilu" && x.rank().is_some_and(|r| r < 2) {
        return Err(InferError::Rank { index: 0, expected: ">= 2".into(), actual: x.rank().unwrap_or(0) });
    }
    let sym = match ctx.op {
        "Identity" => x.sym_value.clone(),
        "Neg" => x.sym_value.as_ref().map(|v| v.iter().map(|d| d.scale(-1)).collect()),
        _ => None,
    };
    Ok(vec![Inferred { dtype: x.dtype, shape: x.shape.clone(), sym_value: sym }])
}

pub(super) fn infer_cast(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "input")?;
    let to = ctx.attr_int("to")?.ok_or(InferError::Attr { name: "to".into(), message: "is required".into() })?;
    let dtype = i32::try_from(to).map(DType::from_onnx_code).map_err(|_| InferError::Attr { name: "to".into(), message: format!("invalid type code {to}") })?;
    // integers keep their symbolic values as integers and as floats (sizes are exact in f32
    // below 2^24: `arange(seq.float())` keeps its length `seq`)
    let sym = if x.dtype.is_int() && (dtype.is_int() || dtype.is_float()) { x.sym_value.clone() } else { None };
    Ok(vec![Inferred { dtype, shape: x.shape.clone(), sym_value: sym }])
}

macro_rules! binary_ops {
    ($($(#[$doc:meta])* $fn_name:ident => $op:literal),* $(,)?) => {
        $(
            $(#[$doc])*
            pub fn $fn_name(&mut self, name: &str, a: Value, b: Value) -> Result<Value, BuildError> {
                self.add_node(name, $op, &[Some(a), Some(b)], attrs![])
            }
        )*
    };
}

macro_rules! unary_ops {
    ($($(#[$doc:meta])* $fn_name:ident => $op:literal),* $(,)?) => {
        $(
            $(#[$doc])*
            pub fn $fn_name(&mut self, name: &str, x: Value) -> Result<Value, BuildError> {
                self.add_node(name, $op, &[Some(x)], attrs![])
            }
        )*
    };
}

/// Elementwise constructors.
impl Graph {
    binary_ops! {
        /// `Add(a, b)` with broadcasting.
        add => "Add",
        /// `Sub(a, b)` with broadcasting.
        sub => "Sub",
        /// `Mul(a, b)` with broadcasting.
        mul => "Mul",
        /// `Div(a, b)` with broadcasting (integer division truncates).
        div => "Div",
        /// `Pow(a, b)`.
        pow => "Pow",
        /// `Max(a, b)`.
        max => "Max",
        /// `Min(a, b)`.
        min => "Min",
        /// `Equal(a, b)` → Bool.
        equal => "Equal",
        /// `Less(a, b)` → Bool.
        less => "Less",
        /// `Greater(a, b)` → Bool.
        greater => "Greater",
        /// `LessOrEqual(a, b)` → Bool.
        less_or_equal => "LessOrEqual",
        /// `Or(a, b)` on Bool.
        or => "Or",
        /// `And(a, b)` on Bool.
        and => "And",
    }

    unary_ops! {
        /// `Neg(x)`.
        neg => "Neg",
        /// `Cos(x)`.
        cos => "Cos",
        /// `Sin(x)`.
        sin => "Sin",
        /// `Exp(x)`.
        exp => "Exp",
        /// `Sqrt(x)`.
        sqrt => "Sqrt",
        /// `Reciprocal(x)` = 1/x.
        reciprocal => "Reciprocal",
        /// `Sigmoid(x)`.
        sigmoid => "Sigmoid",
        /// `Erf(x)`.
        erf => "Erf",
        /// `Identity(x)`.
        identity => "Identity",
        /// `Not(x)` on Bool.
        not => "Not",
        /// `Floor(x)`.
        floor => "Floor",
    }

    /// `Where(cond, x, y)`.
    pub fn where_(&mut self, name: &str, cond: Value, x: Value, y: Value) -> Result<Value, BuildError> {
        self.add_node(name, "Where", &[Some(cond), Some(x), Some(y)], attrs![])
    }

    /// `Cast(x, to)`.
    pub fn cast(&mut self, name: &str, x: Value, to: DType) -> Result<Value, BuildError> {
        self.add_node(name, "Cast", &[Some(x)], attrs![("to", to.onnx_code() as i64)])
    }

    /// `Softmax(x, axis)`.
    pub fn softmax(&mut self, name: &str, x: Value, axis: i64) -> Result<Value, BuildError> {
        self.add_node(name, "Softmax", &[Some(x)], attrs![("axis", axis)])
    }

    /// `Gelu(x)` (opset 20+, exact erf form) or its decomposition `0.5·x·(1+erf(x/√2))` below.
    pub fn gelu(&mut self, name: &str, x: Value) -> Result<Value, BuildError> {
        if self.opset() >= 20 {
            return self.add_node(name, "Gelu", &[Some(x)], attrs![("approximate", "none")]);
        }
        let dt = self.dtype(x);
        let inv_sqrt2 = self.const_scalar(&format!("{name}_inv_sqrt2"), std::f32::consts::FRAC_1_SQRT_2, dt)?;
        let one = self.const_scalar(&format!("{name}_one"), 1.0, dt)?;
        let half = self.const_scalar(&format!("{name}_half"), 0.5, dt)?;
        let scaled = self.mul(&format!("{name}_scaled"), x, inv_sqrt2)?;
        let e = self.erf(&format!("{name}_erf"), scaled)?;
        let e1 = self.add(&format!("{name}_erf1"), e, one)?;
        let hx = self.mul(&format!("{name}_halfx"), x, half)?;
        self.mul(name, hx, e1)
    }

    /// `Trilu(x, k, upper)`.
    pub fn trilu(&mut self, name: &str, x: Value, k: Option<Value>, upper: bool) -> Result<Value, BuildError> {
        self.add_node(name, "Trilu", &[Some(x), k], attrs![("upper", i64::from(upper))])
    }

    /// `CumSum(x, axis)`.
    pub fn cumsum(&mut self, name: &str, x: Value, axis: Value) -> Result<Value, BuildError> {
        self.add_node(name, "CumSum", &[Some(x), Some(axis)], attrs![])
    }
}
