//! # Element-wise maths of one input: `Neg`, `Abs`, `Sqrt`, `Sin`, `Cos`, `Exp`, `Log`,
//! `Reciprocal`, `Sigmoid`, `Erf`, `Tanh`, `Relu`, `Floor`, `Ceil`, `Round`, and the ones rotor
//! only analyses (`Tan`, `Asin`, `Atan`, `Sinh`, `Cosh`, `Softplus`, `Sign`, `IsNaN`, `IsInf`,
//! `Acos`)
//!
//! The input's type and shape (float inputs for the transcendental ones); `Neg` carries integer
//! symbolic values. Exact evaluation: `Neg`, `Abs` (integers checked), `Sqrt` (correctly
//! rounded in f64, and the f64 → f32 rounding of a float32 input's root is exact). The rest are
//! left to the runtime: their last bit depends on the math library. Per-feature transfer (cos/
//! sin tables): odd functions keep a feature's sign, even ones drop it, others are plain
//! functions of their argument.

use super::{Entry, InferCtx, InferResult, OpDef, like_input, want_float};
use crate::eval::{Arr, Scalar, map};
use crate::feat::{Analyzer, Feat, Transfer};
use crate::query::input;
use crate::{DType, Graph, Node, Value};

pub(super) const ENTRIES: &[Entry] = &[
    Entry { domain: "", ops: &["Neg"], def: &Negate },
    Entry { domain: "", ops: &["Abs"], def: &Absolute },
    Entry { domain: "", ops: &["Sqrt"], def: &SquareRoot },
    Entry { domain: "", ops: &["Sin", "Erf", "Reciprocal", "Tanh"], def: &Odd { infers: true } },
    Entry { domain: "", ops: &["Tan", "Asin", "Atan", "Sinh"], def: &Odd { infers: false } },
    Entry { domain: "", ops: &["Cos"], def: &Even { infers: true } },
    Entry { domain: "", ops: &["Cosh"], def: &Even { infers: false } },
    Entry { domain: "", ops: &["Exp", "Log", "Sigmoid"], def: &Plain { infers: true, float: true } },
    Entry { domain: "", ops: &["Relu", "Floor", "Ceil", "Round"], def: &Plain { infers: true, float: false } },
    Entry { domain: "", ops: &["Softplus", "Sign", "IsNaN", "IsInf", "Acos"], def: &Plain { infers: false, float: false } },
];

struct Negate;
struct Absolute;
struct SquareRoot;
/// `f(−x) = −f(x)`.
struct Odd {
    infers: bool,
}
/// `f(−x) = f(x)`.
struct Even {
    infers: bool,
}
/// Any other function of one argument.
struct Plain {
    infers: bool,
    float: bool,
}

/// The input's type and shape (checked to be a float type when `float`).
fn same_type(ctx: &InferCtx, float: bool) -> InferResult {
    let x = ctx.input(0, "X")?;
    if float {
        want_float(x, 0)?;
    }
    like_input(x, None)
}

/// The description of input 0 in [`crate::feat::Mode::Table`] (`Err`: the transfer's verdict).
fn table_input(a: &mut Analyzer, g: &Graph, n: &Node) -> Result<Feat, Transfer> {
    if !a.table() {
        return Err(Transfer::Opaque);
    }
    input(n, 0).and_then(|x| a.feat(g, x)).ok_or(Transfer::Unknown)
}

impl OpDef for Negate {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some(ctx.input(0, "X").and_then(|x| like_input(x, x.sym_value.as_ref().map(|v| v.iter().map(|d| d.scale(-1)).collect()))))
    }

    fn eval(&self, _n: &Node, ins: &[Option<Arr>], _out: DType) -> Option<Vec<Arr>> {
        Some(vec![map(ins.first()?.as_ref()?, |e| match e {
            Scalar::F(v) => Some(Scalar::F(-v)),
            Scalar::I(v) => v.checked_neg().map(Scalar::I),
            Scalar::B(_) => None,
        })?])
    }

    fn feat(&self, a: &mut Analyzer, g: &Graph, n: &Node, _v: Value) -> Transfer {
        let Some(x) = input(n, 0) else { return Transfer::Unknown };
        a.feat(g, x).map(|f| Feat { entries: f.entries.iter().map(|(s, c)| (-s, *c)).collect(), dims: f.dims }).into()
    }
}

impl OpDef for Absolute {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some(same_type(ctx, false))
    }

    fn eval(&self, _n: &Node, ins: &[Option<Arr>], _out: DType) -> Option<Vec<Arr>> {
        Some(vec![map(ins.first()?.as_ref()?, |e| match e {
            Scalar::F(v) => Some(Scalar::F(v.abs())),
            Scalar::I(v) => v.checked_abs().map(Scalar::I),
            Scalar::B(_) => None,
        })?])
    }

    fn feat(&self, a: &mut Analyzer, g: &Graph, n: &Node, _v: Value) -> Transfer {
        Even { infers: true }.feat(a, g, n, _v)
    }
}

impl OpDef for SquareRoot {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some(same_type(ctx, true))
    }

    fn eval(&self, _n: &Node, ins: &[Option<Arr>], _out: DType) -> Option<Vec<Arr>> {
        let a = ins.first()?.as_ref()?;
        let f32_input = a.dtype == DType::F32;
        // sqrt is correctly rounded in f64, and f64 -> f32 rounding of it is exact for f32 inputs
        Some(vec![map(a, |e| match e {
            Scalar::F(v) => Some(Scalar::F(if f32_input { f64::from((v as f32).sqrt()) } else { v.sqrt() })),
            _ => None,
        })?])
    }

    fn feat(&self, a: &mut Analyzer, g: &Graph, n: &Node, v: Value) -> Transfer {
        Plain { infers: true, float: true }.feat(a, g, n, v)
    }
}

impl OpDef for Odd {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        self.infers.then(|| same_type(ctx, true))
    }

    fn feat(&self, a: &mut Analyzer, g: &Graph, n: &Node, _v: Value) -> Transfer {
        match table_input(a, g, n) {
            Ok(f) => Transfer::Feat(a.unary(&n.op_type, f, true)),
            Err(t) => t,
        }
    }
}

impl OpDef for Even {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        self.infers.then(|| same_type(ctx, true))
    }

    fn feat(&self, a: &mut Analyzer, g: &Graph, n: &Node, _v: Value) -> Transfer {
        match table_input(a, g, n) {
            Ok(f) => {
                let f = Feat { entries: f.entries.iter().map(|(_, c)| (1, *c)).collect(), dims: f.dims };
                Transfer::Feat(a.unary(&n.op_type, f, true))
            }
            Err(t) => t,
        }
    }
}

impl OpDef for Plain {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        self.infers.then(|| same_type(ctx, self.float))
    }

    fn feat(&self, a: &mut Analyzer, g: &Graph, n: &Node, _v: Value) -> Transfer {
        match table_input(a, g, n) {
            Ok(f) => Transfer::Feat(a.generic(&n.op_type, &[f])),
            Err(t) => t,
        }
    }
}
