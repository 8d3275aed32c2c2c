//! ONNX op constructors with eager type/shape inference.
//!
//! Each family lives in its own file: the constructors (methods on [`Graph`] shaped like the
//! ONNX signature: tensor inputs positional, attributes typed) and the inference functions that
//! [`infer`] dispatches to. The table in [`infer`] is the single registration point; the ONNX
//! loader goes through it too, so a loaded graph prints with the same inferred types.

mod elementwise;
mod nn;
mod shape;

use crate::dim::{Dim, shape_text};
use crate::dtype::DType;
use crate::error::InferError;
use crate::graph::{Attr, ValueInfo};

#[allow(unused_imports)] // re-exported for emitters and docs
pub use crate::graph::Graph;

/// What an inference function sees.
pub struct InferCtx<'a> {
    /// Op type.
    pub op: &'a str,
    /// Op domain (`""` = ai.onnx).
    pub domain: &'a str,
    /// Input infos (`None` = omitted optional input).
    pub inputs: Vec<Option<&'a ValueInfo>>,
    /// Attributes.
    pub attrs: &'a [(String, Attr)],
    /// ai.onnx opset of the graph.
    pub opset: i64,
    /// Number of outputs the node declares.
    pub num_outputs: usize,
}

/// The inferred type of one output.
#[derive(Clone, Debug, PartialEq)]
pub struct Inferred {
    pub dtype: DType,
    pub shape: Option<Vec<Dim>>,
    pub sym_value: Option<Vec<Dim>>,
}

impl Inferred {
    /// Fully unknown type (lenient loading only).
    pub fn unknown() -> Inferred {
        Inferred { dtype: DType::Undefined, shape: None, sym_value: None }
    }
    /// A known type and shape.
    pub fn new(dtype: DType, shape: Vec<Dim>) -> Inferred {
        Inferred { dtype, shape: Some(shape), sym_value: None }
    }
    /// A known type with unknown rank.
    pub fn rankless(dtype: DType) -> Inferred {
        Inferred { dtype, shape: None, sym_value: None }
    }
    /// Attach a symbolic value.
    pub fn with_value(mut self, v: Option<Vec<Dim>>) -> Inferred {
        self.sym_value = v;
        self
    }
}

pub(crate) type InferResult = Result<Vec<Inferred>, InferError>;

/// Infer output types of a node; `None` when rotor does not know the op.
pub fn infer(ctx: &InferCtx) -> Option<InferResult> {
    let f: fn(&InferCtx) -> InferResult = match (ctx.domain, ctx.op) {
        ("" | "ai.onnx", op) => match op {
            "Add" | "Sub" | "Mul" | "Div" | "Pow" | "Max" | "Min" | "Mod" => elementwise::infer_arith,
            "Equal" | "Less" | "Greater" | "LessOrEqual" | "GreaterOrEqual" | "And" | "Or" | "Xor" => elementwise::infer_compare,
            "Where" => elementwise::infer_where,
            "Neg" | "Abs" | "Cos" | "Sin" | "Exp" | "Log" | "Sqrt" | "Reciprocal" | "Sigmoid" | "Erf" | "Tanh" | "Relu" | "Floor" | "Ceil" | "Round"
            | "Identity" | "Not" | "Softmax" | "Gelu" | "CumSum" | "Trilu" => elementwise::infer_unary,
            "Cast" => elementwise::infer_cast,
            "Shape" => shape::infer_shape,
            "Size" => shape::infer_size,
            "Reshape" => shape::infer_reshape,
            "Squeeze" => shape::infer_squeeze,
            "Unsqueeze" => shape::infer_unsqueeze,
            "Concat" => shape::infer_concat,
            "Slice" => shape::infer_slice,
            "Gather" => shape::infer_gather,
            "Transpose" => shape::infer_transpose,
            "Expand" => shape::infer_expand,
            "Range" => shape::infer_range,
            "ConstantOfShape" => shape::infer_constant_of_shape,
            "Constant" => shape::infer_constant,
            "Pad" => shape::infer_pad,
            "Split" => shape::infer_split,
            "Tile" => shape::infer_tile,
            "ScatterND" | "ScatterElements" => shape::infer_scatter,
            "MatMul" => nn::infer_matmul,
            "Einsum" => nn::infer_einsum,
            "Conv" => nn::infer_conv,
            "LayerNormalization" => nn::infer_layer_norm,
            "ReduceL2" | "ReduceSum" | "ReduceMean" | "ReduceMax" | "ReduceSumSquare" => nn::infer_reduce,
            "RotaryEmbedding" => nn::infer_rotary_embedding,
            "If" => infer_if,
            "Dropout" => infer_dropout,
            _ => return None,
        },
        ("com.microsoft", "RotaryEmbedding") => nn::infer_ms_rotary_embedding,
        _ => return None,
    };
    Some(f(ctx))
}

/// `Dropout`: the input's type, and a Bool mask of its shape.
fn infer_dropout(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "data")?;
    let mut out = vec![Inferred { dtype: x.dtype, shape: x.shape.clone(), sym_value: None }];
    if ctx.num_outputs > 1 {
        out.push(Inferred { dtype: DType::Bool, shape: x.shape.clone(), sym_value: None });
    }
    Ok(out)
}

/// `If`: the outputs of `then_branch`, where `else_branch` agrees on each type.
fn infer_if(ctx: &InferCtx) -> InferResult {
    let branch = |name: &str| match ctx.attr(name) {
        Some(Attr::Graph(g)) => Ok(g.outputs().iter().map(|v| g.info(*v).clone()).collect::<Vec<_>>()),
        _ => Err(InferError::Attr { name: name.into(), message: "must be a graph".into() }),
    };
    let (then, els) = (branch("then_branch")?, branch("else_branch")?);
    if then.len() != els.len() {
        return Err(InferError::Invalid(format!("then_branch has {} outputs, else_branch {}", then.len(), els.len())));
    }
    Ok(then
        .iter()
        .zip(&els)
        .map(|(a, b)| {
            let dtype = if a.dtype == b.dtype { a.dtype } else { DType::Undefined };
            let shape = match (&a.shape, &b.shape) {
                (Some(x), Some(y)) if x.len() == y.len() => Some(x.iter().zip(y).map(|(p, q)| if p == q { p.clone() } else { Dim::Unknown }).collect()),
                _ => None,
            };
            Inferred { dtype, shape, sym_value: None }
        })
        .collect())
}

// ----- helpers shared by the inference functions ------------------------------------------------

impl<'a> InferCtx<'a> {
    pub(crate) fn input(&self, i: usize, what: &'static str) -> Result<&'a ValueInfo, InferError> {
        self.inputs.get(i).copied().flatten().ok_or(InferError::MissingInput { index: i, what })
    }
    pub(crate) fn opt_input(&self, i: usize) -> Option<&'a ValueInfo> {
        self.inputs.get(i).copied().flatten()
    }
    pub(crate) fn attr(&self, name: &str) -> Option<&'a Attr> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
    pub(crate) fn attr_int(&self, name: &str) -> Result<Option<i64>, InferError> {
        match self.attr(name) {
            None => Ok(None),
            Some(Attr::Int(v)) => Ok(Some(*v)),
            Some(_) => Err(InferError::Attr { name: name.into(), message: "must be an int".into() }),
        }
    }
    pub(crate) fn attr_ints(&self, name: &str) -> Result<Option<Vec<i64>>, InferError> {
        match self.attr(name) {
            None => Ok(None),
            Some(Attr::Ints(v)) => Ok(Some(v.clone())),
            Some(_) => Err(InferError::Attr { name: name.into(), message: "must be a list of ints".into() }),
        }
    }
}

/// Normalise a possibly negative axis against a rank.
pub(crate) fn norm_axis(axis: i64, rank: usize, name: &str) -> Result<usize, InferError> {
    let r = rank as i64;
    if axis < -r || axis >= r {
        return Err(InferError::Attr { name: name.into(), message: format!("axis {axis} out of range for rank {rank}") });
    }
    Ok(if axis < 0 { (axis + r) as usize } else { axis as usize })
}

/// Numpy multidirectional broadcast of several shapes.
pub(crate) fn broadcast_shapes(shapes: &[&[Dim]]) -> Result<Vec<Dim>, InferError> {
    let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![Dim::Fixed(1); rank];
    for s in shapes {
        let off = rank - s.len();
        for (i, d) in s.iter().enumerate() {
            out[off + i] = out[off + i].broadcast(d).map_err(|_| InferError::Broadcast { lhs: shape_text(shapes[0]), rhs: shape_text(s) })?;
        }
    }
    Ok(out)
}

pub(crate) fn want_float(v: &ValueInfo, index: usize) -> Result<(), InferError> {
    if v.dtype.is_float() || v.dtype == DType::Undefined { Ok(()) } else { Err(InferError::DType { index, expected: "a float type".into(), actual: v.dtype }) }
}

pub(crate) fn want_int(v: &ValueInfo, index: usize) -> Result<(), InferError> {
    if v.dtype.is_int() || v.dtype == DType::Undefined { Ok(()) } else { Err(InferError::DType { index, expected: "int64 or int32".into(), actual: v.dtype }) }
}

pub(crate) fn want_same_dtype(a: &ValueInfo, b: &ValueInfo, index: usize) -> Result<(), InferError> {
    if a.dtype == b.dtype || a.dtype == DType::Undefined || b.dtype == DType::Undefined {
        Ok(())
    } else {
        Err(InferError::DType { index, expected: a.dtype.to_string(), actual: b.dtype })
    }
}

/// Shape of an input, or an `Ok(None)` early return marker when unknown.
pub(crate) fn known_shape(v: &ValueInfo) -> Option<&[Dim]> {
    v.shape.as_deref()
}

/// Symbolic value of an input as plain integers, when fully fixed.
pub(crate) fn fixed_values(v: &ValueInfo) -> Option<Vec<i64>> {
    v.sym_value.as_ref()?.iter().map(Dim::fixed).collect()
}
