//! The graph text used by goldens and `rotor print`: one line per node, deterministic.
//!
//! ```text
//! graph rotary_qk (ai.onnx 17)
//! input q : F32[B, H, N, 64]
//! init rope.freqs : F32[64] = [-1, 1, -0.5623413, 0.5623413, -0.31622776, 0.31622776, …] #9a3c1f07
//! rope.len = Shape(q) {end: -1, start: -2} : I64[1]
//! q_rot = Add(rope.q.x_cos, rope.q.partner_sin) : F32[B, H, N, 64]  # node rope.q
//! output q_rot : F32[B, H, N, 64]
//! ```
//! Initializers show up to 8 values and an FNV-1a digest of their bytes, so value changes show
//! in a diff without dumping weights. Attributes are sorted by name.

use std::fmt::Write;

use rotor_builder::{Attr, DType, Graph, Tensor};

const SHOWN_VALUES: usize = 8;

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, b| (h ^ u32::from(*b)).wrapping_mul(0x0100_0193))
}

fn number(v: f64, dtype: DType) -> String {
    if dtype.is_float() {
        match dtype {
            DType::F64 => format!("{v}"),
            _ => format!("{}", v as f32),
        }
    } else {
        format!("{}", v as i64)
    }
}

fn values(t: &Tensor) -> String {
    let vals = t.values_f64();
    let shown: Vec<String> = vals.iter().take(SHOWN_VALUES).map(|v| number(*v, t.dtype())).collect();
    let more = if vals.len() > SHOWN_VALUES { ", …" } else { "" };
    if t.dims().is_empty() { shown.join("") } else { format!("[{}{more}]", shown.join(", ")) }
}

fn tensor_text(t: &Tensor) -> String {
    let dims: Vec<String> = t.dims().iter().map(|d| d.to_string()).collect();
    let digest = if t.len() > SHOWN_VALUES { format!(" #{:08x}", fnv1a(&t.to_le_bytes())) } else { String::new() };
    format!("{}[{}] = {}{digest}", t.dtype(), dims.join(", "), values(t))
}

fn attr_text(name: &str, a: &Attr) -> String {
    match a {
        Attr::Int(v) if name == "to" => DType::from_onnx_code(*v as i32).map(|d| d.to_string()).unwrap_or_else(|| v.to_string()),
        Attr::Int(v) => v.to_string(),
        Attr::Float(v) => format!("{v}"),
        Attr::Ints(v) => format!("{v:?}"),
        Attr::Floats(v) => format!("{v:?}"),
        Attr::Str(s) => format!("{s:?}"),
        Attr::Tensor(t) => tensor_text(t),
    }
}

/// Print a graph as text.
pub fn print(g: &Graph) -> String {
    let mut out = String::new();
    let mut domains = format!("ai.onnx {}", g.opset());
    for d in g.extra_domains() {
        let _ = write!(domains, ", {d} 1");
    }
    let _ = writeln!(out, "graph {} ({domains})", g.name());
    for v in g.inputs() {
        let info = g.info(*v);
        let _ = writeln!(out, "input {} : {}", info.name, info.type_text());
    }
    for (v, t) in g.initializers() {
        let _ = writeln!(out, "init {} : {}", g.value_name(*v), tensor_text(t));
    }
    for n in g.nodes() {
        let outs: Vec<&str> = n.outputs.iter().map(|v| g.value_name(*v)).collect();
        let ins: Vec<&str> = n.inputs.iter().map(|v| v.map(|v| g.value_name(v)).unwrap_or("_")).collect();
        let op = if n.domain.is_empty() { n.op_type.clone() } else { format!("{}.{}", n.domain, n.op_type) };
        let mut attrs: Vec<(&String, &Attr)> = n.attrs.iter().map(|(k, v)| (k, v)).collect();
        attrs.sort_by(|a, b| a.0.cmp(b.0));
        let attrs = if attrs.is_empty() {
            String::new()
        } else {
            format!(" {{{}}}", attrs.iter().map(|(k, v)| format!("{k}: {}", attr_text(k, v))).collect::<Vec<_>>().join(", "))
        };
        let types: Vec<String> = n.outputs.iter().map(|v| g.info(*v).type_text()).collect();
        let node_name = if outs.first() == Some(&n.name.as_str()) { String::new() } else { format!("  # node {}", n.name) };
        let _ = writeln!(out, "{} = {op}({}){attrs} : {}{node_name}", outs.join(", "), ins.join(", "), types.join(", "));
    }
    for v in g.outputs() {
        let info = g.info(*v);
        let _ = writeln!(out, "output {} : {}", info.name, info.type_text());
    }
    out
}

/// One-line summary: node count and op histogram (`16 nodes: Add 2, Cast 1, …`).
pub fn summary(g: &Graph) -> String {
    let counts: Vec<String> = g.op_counts().iter().map(|(op, n)| format!("{op} {n}")).collect();
    format!("{} nodes: {}", g.nodes().len(), counts.join(", "))
}
