//! Matching helpers shared by the passes: constants behind values, attributes, static shapes,
//! fresh names.

use std::borrow::Cow;

use rotor_builder::{Attr, DType, Dim, Graph, Node, Tensor, Value};

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

/// How a node is named in reasons: its name, or `op#position` when it has none.
pub fn label(g: &Graph, n: &Node) -> String {
    if n.name.is_empty() { format!("{}#{}", n.op_type, g.position(n.id).unwrap_or(usize::MAX)) } else { n.name.clone() }
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

/// True when `new` may replace `old` everywhere without changing the model's interface: when
/// `old` is a graph output, `new` must be a node output that is not itself a graph output (it
/// then takes over the output's name).
pub fn can_forward(g: &Graph, old: Value, new: Value) -> bool {
    if !g.is_output(old) {
        return true;
    }
    g.producer(new).is_some() && !g.is_output(new) && !g.inputs().contains(&new) && g.dtype(old) == g.dtype(new)
}

/// A scope name no value or node of `g` uses, as itself or as a dotted prefix.
pub fn fresh_scope(g: &Graph, base: &str) -> String {
    let taken = |s: &str| {
        let prefix = format!("{s}.");
        let clash = |n: &str| n == s || n.starts_with(&prefix);
        g.nodes().iter().any(|n| clash(&n.name) || n.output_values().any(|v| clash(g.value_name(v))))
            || g.inputs().iter().chain(g.initializers().iter().map(|(v, _)| v)).any(|v| clash(g.value_name(*v)))
    };
    if !taken(base) {
        return base.to_string();
    }
    (1..).map(|i| format!("{base}_{i}")).find(|s| !taken(s)).unwrap_or_else(|| base.to_string())
}

/// True for float element types the RoPE ops accept.
pub fn is_rope_float(d: DType) -> bool {
    matches!(d, DType::F32 | DType::F16 | DType::BF16)
}

/// Remove `start` if nothing reads it, then, transitively, the producers of its inputs that
/// nothing reads any more (the part of a replaced subgraph only it used).
pub fn remove_dead_from(g: &mut Graph, start: rotor_builder::NodeId) -> Result<(), rotor_builder::BuildError> {
    let mut work = vec![start];
    // a partial rotation's Concat reads the root: start from its readers too
    if let Some(n) = g.node(start) {
        for v in n.output_values() {
            work.extend(g.uses(v).iter().map(|u| u.node));
        }
    }
    while let Some(id) = work.pop() {
        let Some(n) = g.node(id) else { continue };
        let dead = n.output_values().all(|v| g.uses(v).is_empty() && !g.is_output(v)) && n.subgraphs().is_empty();
        if !dead {
            continue;
        }
        let inputs: Vec<Value> = n.inputs.iter().flatten().copied().collect();
        g.remove_node(id)?;
        work.extend(inputs.iter().filter_map(|v| g.producer(*v)));
    }
    Ok(())
}
