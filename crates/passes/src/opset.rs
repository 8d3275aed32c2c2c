//! Raising a model's ai.onnx opset without changing what any node computes.
//!
//! ONNX op versions between opset 13 and 23 mostly add element types or attributes whose
//! defaults keep the old behaviour. The exceptions below change what an existing node means
//! (or make it invalid); a model holding one is not upgraded. Source: the ONNX operator
//! changelog (`onnx/docs/Changelog.md`, onnx 1.18) and the op schemas of the pinned onnx wheel
//! (`onnx.defs.get_all_schemas_with_history()`), which list every version in between.

use rotor_builder::{Graph, Node, ir_version_for};

/// The lowest opset this module upgrades from: opset 13 moved `axes`/`split` attributes of
/// Squeeze, Unsqueeze, Split and ReduceSum to inputs, and older models are not handled.
pub const MIN_UPGRADABLE: i64 = 13;

/// Ops an ai.onnx opset dropped (deprecated before opset 13 and never brought back).
const REMOVED: &[&str] = &["Upsample", "Scatter", "ImageScaler", "Crop", "ATen"];
const REDUCE_18: &[&str] =
    &["ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSumSquare"];

/// Why `n` (a node of a graph at opset `from`) would mean something else at opset `to`
/// (`from < to`: the versions crossed are `(from, to]`; a downgrade passes them swapped).
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

/// The lowest opset this module lowers a model to (below 18, Reduce/Split/Pad/Resize took
/// their axes and options in other forms).
pub const MIN_DOWNGRADE: i64 = 18;

/// ai.onnx ops by the opset that introduced them (`onnx.defs.get_all_schemas_with_history()`
/// of the pinned onnx 1.23.2, non-deprecated schemas).
const INTRODUCED: &[(i64, &[&str])] = &[
    (19, &["DeformConv"]),
    (20, &["AffineGrid", "Gelu", "ImageDecoder", "RegexFullMatch", "StringConcat", "StringSplit"]),
    (21, &["GroupNormalization"]),
    (23, &["Attention", "RMSNormalization", "RotaryEmbedding"]),
    (24, &["Swish", "TensorScatter"]),
    (26, &["BitCast", "CumProd"]),
];

/// Element types by the opset whose ops first accept them (ONNX operator changelog): float8
/// (19), int4/uint4 (21), float4e2m1 (23), float8e8m0 (24), int2/uint2 (25).
const TYPES_INTRODUCED: &[(i32, i64)] = &[(17, 19), (18, 19), (19, 19), (20, 19), (21, 21), (22, 21), (23, 23), (24, 24), (25, 25), (26, 25)];

/// Why `n` cannot be written at the lower opset `to` (an op of a newer opset, or an attribute
/// form a newer version added).
fn blocks_downgrade(g: &Graph, n: &Node, to: i64) -> Option<String> {
    if !(n.domain.is_empty() || n.domain == "ai.onnx") {
        return None;
    }
    let op = n.op_type.as_str();
    if let Some((v, _)) = INTRODUCED.iter().find(|(v, ops)| *v > to && ops.contains(&op)) {
        return Some(format!("{op} exists from opset {v}"));
    }
    let attr_since_19 = match op {
        "Cast" | "CastLike" => n.attr("saturate").is_some(),
        "AveragePool" => n.attr("dilations").is_some(),
        "Pad" => matches!(n.attr("mode"), Some(rotor_builder::Attr::Str(m)) if m == "wrap"),
        "Resize" => matches!(n.attr("coordinate_transformation_mode"), Some(rotor_builder::Attr::Str(m)) if m == "half_pixel_symmetric"),
        _ => false,
    };
    if attr_since_19 && to < 19 {
        return Some(format!("{op} uses an attribute or mode of opset 19"));
    }
    if matches!(op, "ReduceMax" | "ReduceMin") && to < 20 && crate::util::input(n, 0).is_some_and(|x| g.dtype(x) == rotor_builder::DType::Bool) {
        return Some(format!("{op} of booleans exists from opset 20"));
    }
    let code = |d: rotor_builder::DType| d.onnx_code();
    let typed = n.output_values().map(|v| code(g.dtype(v))).chain(match n.attr("to") {
        Some(rotor_builder::Attr::Int(t)) => Some(i32::try_from(*t).unwrap_or(0)),
        _ => None,
    });
    for c in typed {
        if let Some((_, v)) = TYPES_INTRODUCED.iter().find(|(t, v)| *t == c && *v > to) {
            return Some(format!("{op} produces element type {} of opset {v}", rotor_builder::DType::from_onnx_code(c)));
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
