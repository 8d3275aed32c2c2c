//! Raising a model's ai.onnx opset without changing what any node computes.
//!
//! ONNX op versions between opset 13 and 23 mostly add element types or attributes whose
//! defaults keep the old behaviour. The exceptions below change what an existing node means
//! (or make it invalid); a model holding one is not upgraded. Source: the ONNX operator
//! changelog (`onnx/docs/Changelog.md`, onnx 1.18) and the op schemas of the pinned onnx wheel
//! (`onnx.defs.get_all_schemas_with_history()`), which list every version in between.

use rotor_builder::{Graph, Node};

/// The lowest opset this module upgrades from: opset 13 moved `axes`/`split` attributes of
/// Squeeze, Unsqueeze, Split and ReduceSum to inputs, and older models are not handled.
pub const MIN_UPGRADABLE: i64 = 13;

/// IR version a model at `opset` needs (the ONNX release that introduced the opset).
pub fn ir_version_for(opset: i64) -> i64 {
    match opset {
        ..=14 => 7,
        15..=18 => 8,
        19..=20 => 9,
        21..=22 => 10,
        23 => 11,
        24 => 12,
        _ => 13,
    }
}

/// Ops an ai.onnx opset dropped (deprecated before opset 13 and never brought back).
const REMOVED: &[&str] = &["Upsample", "Scatter", "ImageScaler", "Crop", "ATen"];
const REDUCE_18: &[&str] =
    &["ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSumSquare"];

/// Why `n` (a node of a graph at opset `from`) would mean something else at opset `to`.
fn breaks(n: &Node, from: i64, to: i64) -> Option<String> {
    if !(n.domain.is_empty() || n.domain == "ai.onnx") {
        return None;
    }
    let crosses = |v: i64| from < v && v <= to;
    let op = n.op_type.as_str();
    if REMOVED.contains(&op) {
        return Some(format!("{op} is not an op of opset {to}"));
    }
    if REDUCE_18.contains(&op) && crosses(18) && n.attr("axes").is_some() {
        return Some(format!("{op} takes axes as an input from opset 18 (this node has an axes attribute)"));
    }
    match op {
        "DFT" if crosses(20) => Some("DFT takes its axis as an input from opset 20".into()),
        "GridSample" if crosses(20) => Some("GridSample renamed its interpolation modes in opset 20".into()),
        "GroupNormalization" if crosses(21) => Some("GroupNormalization's scale and bias are per channel from opset 21 (per group before)".into()),
        "RoiAlign" if crosses(16) && n.attr("coordinate_transformation_mode").is_none() => {
            Some("RoiAlign's default coordinate_transformation_mode changed in opset 16".into())
        }
        "BatchNormalization" if crosses(14) && n.outputs.len() > 1 => Some("BatchNormalization's training outputs changed in opset 14".into()),
        _ => None,
    }
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
