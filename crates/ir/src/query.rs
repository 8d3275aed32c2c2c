//! Reading a graph the way rules and op definitions do: the constant behind a value, a node's
//! inputs and attributes, static shapes, axes. Read-only helpers shared by the op registry and
//! the passes.

use std::borrow::Cow;

use crate::{Attr, DType, Dim, Graph, Node, Tensor, Value};

/// The node producing `v`, if a node does.
pub fn producer(g: &Graph, v: Value) -> Option<&Node> {
    g.producer(v).and_then(|id| g.node(id))
}

/// The constant behind `v`: an initializer that is not also a graph input (inputs can be
/// overridden at run time), or the output of a `Constant` node.
pub fn constant(g: &Graph, v: Value) -> Option<Cow<'_, Tensor>> {
    if let Some(t) = g.constant_of(v) {
        return if g.inputs().contains(&v) { None } else { Some(Cow::Borrowed(t)) };
    }
    let n = producer(g, v)?;
    if n.op_type != "Constant" || !is_onnx(n) {
        return None;
    }
    match n.attrs.first().map(|(k, a)| (k.as_str(), a)) {
        Some(("value", Attr::Tensor(t))) => Some(Cow::Borrowed(t)),
        Some(("value_int", Attr::Int(i))) => Some(Cow::Owned(Tensor::scalar_i64(*i))),
        Some(("value_ints", Attr::Ints(v))) => Some(Cow::Owned(Tensor::vec_i64(v))),
        Some(("value_float", Attr::Float(f))) => Some(Cow::Owned(Tensor::scalar_f32(*f))),
        Some(("value_floats", Attr::Floats(v))) => Tensor::f32(vec![v.len() as i64], v.clone()).ok().map(Cow::Owned),
        _ => None,
    }
}

/// The integer elements of a constant `v`.
pub fn const_ints(g: &Graph, v: Value) -> Option<Vec<i64>> {
    constant(g, v)?.as_i64s()
}

/// The elements of a constant `v` as f64 (floats and integers).
pub fn const_f64s(g: &Graph, v: Value) -> Option<Vec<f64>> {
    let t = constant(g, v)?;
    if !t.dtype().is_computable() {
        return None;
    }
    Some(t.values_f64())
}

/// True for an ai.onnx node.
pub fn is_onnx(n: &Node) -> bool {
    n.domain.is_empty() || n.domain == "ai.onnx"
}

/// True for an ai.onnx node of op `op`.
pub fn is_op(n: &Node, op: &str) -> bool {
    n.op_type == op && is_onnx(n)
}

/// An int attribute, or `default`.
pub fn attr_int(n: &Node, name: &str, default: i64) -> i64 {
    match n.attr(name) {
        Some(Attr::Int(i)) => *i,
        _ => default,
    }
}

/// An ints attribute.
pub fn attr_ints(n: &Node, name: &str) -> Option<Vec<i64>> {
    match n.attr(name) {
        Some(Attr::Ints(v)) => Some(v.clone()),
        _ => None,
    }
}

/// Input `i` of `n`, when present.
pub fn input(n: &Node, i: usize) -> Option<Value> {
    n.inputs.get(i).copied().flatten()
}

/// The single output of `n`, when it has exactly one.
pub fn only_output(n: &Node) -> Option<Value> {
    let mut it = n.output_values();
    let v = it.next()?;
    it.next().is_none().then_some(v)
}

/// The shape of `v` when its rank is known.
pub fn shape(g: &Graph, v: Value) -> Option<&[Dim]> {
    g.info(v).shape.as_deref()
}

/// The size of the last axis of `v`, when known.
pub fn last_dim(g: &Graph, v: Value) -> Option<i64> {
    shape(g, v)?.last()?.fixed()
}

/// True when two shapes are provably equal (same rank, each dimension the same number or the
/// same symbolic expression; unknown dimensions never compare equal).
pub fn same_shape(a: &[Dim], b: &[Dim]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y && !matches!(x, Dim::Unknown))
}

/// Normalise a possibly negative axis for rank `r`.
pub fn axis(a: i64, r: usize) -> Option<usize> {
    let r = r as i64;
    let a = if a < 0 { a + r } else { a };
    (0..r).contains(&a).then_some(a as usize)
}

/// True for float element types the RoPE ops accept.
pub fn is_rope_float(d: DType) -> bool {
    matches!(d, DType::F32 | DType::F16 | DType::BF16)
}
