//! Moving a model to another ai.onnx opset without changing what any node computes.
//!
//! ONNX op versions between opset 13 and 23 mostly add element types or attributes whose
//! defaults keep the old behaviour. The exceptions change what an existing node means (or make
//! it invalid); a model holding one is not moved. Each op's facts live with the op in the
//! registry ([`crate::ops::OpDef::since`], [`removed`](crate::ops::OpDef::removed),
//! [`changes`](crate::ops::OpDef::changes), [`newer_form`](crate::ops::OpDef::newer_form));
//! this module walks a graph with them. Sources: the ONNX operator changelog
//! (`onnx/docs/Changelog.md`, onnx 1.18) and the op schemas of the pinned onnx wheel
//! (`onnx.defs.get_all_schemas_with_history()`, onnx 1.23.2), which list every version.

use crate::query::is_onnx;
use crate::{DType, Graph, Node, ir_version_for};

/// The lowest opset this module upgrades from: opset 13 moved `axes`/`split` attributes of
/// Squeeze, Unsqueeze, Split and ReduceSum to inputs, and older models are not handled.
pub const MIN_UPGRADABLE: i64 = 13;

/// Why `n` (a node of a graph at opset `from`) would mean something else at opset `to`
/// (`from < to`: the versions crossed are `(from, to]`; a downgrade passes them swapped).
fn breaks(n: &Node, from: i64, to: i64) -> Option<String> {
    if !is_onnx(n) {
        return None;
    }
    let op = crate::ops::lookup(&n.domain, &n.op_type)?;
    if op.removed(&n.op_type) {
        return Some(format!("{} is not an op of opset {to}", n.op_type));
    }
    op.changes(n, from, to)
}

/// Check that every node of `g` (subgraphs included) keeps its meaning at opset `to`.
/// `Err` names the first node that would not.
pub fn check_upgrade(g: &Graph, to: i64) -> Result<(), String> {
    let from = g.opset();
    if from >= to {
        return Ok(());
    }
    if from < MIN_UPGRADABLE {
        return Err(format!("the model's opset {from} is below {MIN_UPGRADABLE}; rotor does not upgrade it"));
    }
    let mut first: Option<String> = None;
    g.visit_nodes(&mut |n| {
        if first.is_none()
            && let Some(why) = breaks(n, from, to)
        {
            first = Some(format!("node {:?}: {why}", n.name));
        }
    });
    match first {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The lowest opset this module lowers a model to (below 18, Reduce/Split/Pad/Resize took
/// their axes and options in other forms).
pub const MIN_DOWNGRADE: i64 = 18;

/// Element types by the opset whose ops first accept them (ONNX operator changelog): float8
/// (19), int4/uint4 (21), float4e2m1 (23), float8e8m0 (24), int2/uint2 (25).
const TYPES_INTRODUCED: &[(i32, i64)] = &[(17, 19), (18, 19), (19, 19), (20, 19), (21, 21), (22, 21), (23, 23), (24, 24), (25, 25), (26, 25)];

/// Why `n` cannot be written at the lower opset `to` (an op of a newer opset, an attribute form
/// or input type a newer version added, an element type of a later opset).
fn blocks_downgrade(g: &Graph, n: &Node, to: i64) -> Option<String> {
    if !is_onnx(n) {
        return None;
    }
    let op = n.op_type.as_str();
    if let Some(def) = crate::ops::lookup(&n.domain, op) {
        let since = def.since(op);
        if since > to {
            return Some(format!("{op} exists from opset {since}"));
        }
        if let Some(why) = def.newer_form(g, n, to) {
            return Some(why);
        }
    }
    let code = |d: DType| d.onnx_code();
    let typed = n.output_values().map(|v| code(g.dtype(v))).chain(match n.attr("to") {
        Some(crate::Attr::Int(t)) => Some(i32::try_from(*t).unwrap_or(0)),
        _ => None,
    });
    for c in typed {
        if let Some((_, v)) = TYPES_INTRODUCED.iter().find(|(t, v)| *t == c && *v > to) {
            return Some(format!("{op} produces element type {} of opset {v}", DType::from_onnx_code(c)));
        }
    }
    None
}

/// Check that `g` can be written at the lower opset `to` with every node meaning what it
/// means now. `Err` names the first node that could not.
pub fn check_downgrade(g: &Graph, to: i64) -> Result<(), String> {
    let from = g.opset();
    if to >= from {
        return Ok(());
    }
    if to < MIN_DOWNGRADE {
        return Err(format!("rotor lowers opsets down to {MIN_DOWNGRADE}, not to {to}"));
    }
    if let Some((v, t)) =
        g.initializers().iter().find_map(|(v, t)| TYPES_INTRODUCED.iter().find(|(c, o)| *c == t.dtype().onnx_code() && *o > to).map(|_| (*v, t.dtype())))
    {
        return Err(format!("initializer {:?} is {t}, a type of a later opset", g.value_name(v)));
    }
    for n in g.nodes() {
        if !n.subgraphs().is_empty() {
            return Err(format!("node {:?}: subgraphs are not lowered", n.name));
        }
        if let Some(why) = blocks_downgrade(g, n, to).or_else(|| breaks(n, to, from)) {
            return Err(format!("node {:?}: {why}", n.name));
        }
    }
    Ok(())
}

/// Lower `g` to opset `to` after [`check_downgrade`], and its IR version to the one `to` came
/// with when the model has no fields rotor does not interpret.
pub fn downgrade(g: &mut Graph, to: i64) -> Result<(), String> {
    check_downgrade(g, to)?;
    if g.opset() > to {
        g.set_opset(to);
        // a runtime of that opset may not read a newer IR version (ORT 1.22: IR <= 10): lower
        // it too, unless the model carries fields rotor does not interpret (they may be of the
        // newer IR)
        let plain = g.model_info().extra.is_empty() && g.nodes().iter().all(|n| n.extra.is_empty());
        let info = g.model_info_mut();
        if info.loaded && plain && info.ir_version.is_some_and(|v| v > ir_version_for(to)) {
            info.ir_version = Some(ir_version_for(to));
        }
    }
    Ok(())
}

/// Raise `g` to opset `to` after [`check_upgrade`]; subgraph nodes follow the model's opset.
/// The IR version is raised to what `to` needs.
pub fn upgrade(g: &mut Graph, to: i64) -> Result<(), String> {
    check_upgrade(g, to)?;
    if g.opset() >= to {
        return Ok(());
    }
    g.set_opset(to);
    let info = g.model_info_mut();
    if info.loaded {
        let need = ir_version_for(to);
        if info.ir_version.is_none_or(|v| v < need) {
            info.ir_version = Some(need);
        }
    }
    Ok(())
}
