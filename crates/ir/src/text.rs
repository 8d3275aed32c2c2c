//! The graph text used by goldens, `rotor print` and `rotor diff`: one line per node,
//! deterministic.
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
//! in a diff without dumping weights (external data shows its file window instead). Attributes
//! are sorted by name. Subgraphs (`If`, `Loop`, `Scan` bodies) are printed under their node,
//! indented, with `capture` lines for the outer values they read.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use crate::{Attr, DType, Graph, Node, Tensor, TensorData};

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

/// The first few values (typed data only).
fn first_values(t: &Tensor) -> Option<Vec<f64>> {
    let n = SHOWN_VALUES;
    Some(match t.data() {
        TensorData::F32(v) => v.iter().take(n).map(|x| f64::from(*x)).collect(),
        TensorData::F64(v) => v.iter().take(n).copied().collect(),
        TensorData::F16(v) => v.iter().take(n).map(|x| f64::from(crate::f16_bits_to_f32(*x))).collect(),
        TensorData::BF16(v) => v.iter().take(n).map(|x| f64::from(f32::from_bits(u32::from(*x) << 16))).collect(),
        TensorData::I64(v) => v.iter().take(n).map(|x| *x as f64).collect(),
        TensorData::I32(v) => v.iter().take(n).map(|x| f64::from(*x)).collect(),
        TensorData::Bool(v) => v.iter().take(n).map(|x| f64::from(u8::from(*x))).collect(),
        // External data: parse just the first few elements out of the mapping.
        TensorData::External(e) if t.dtype().is_computable() => {
            let k = t.len().min(n);
            let bytes = e.bytes().ok()?.get(..k * t.dtype().size_of())?;
            let head = Tensor::from_le_bytes(t.dtype(), vec![k as i64], bytes).ok()?;
            return first_values(&head);
        }
        TensorData::Raw(_) | TensorData::Strings(_) | TensorData::External(_) => return None,
    })
}

fn tensor_text(t: &Tensor) -> String {
    let dims: Vec<String> = t.dims().iter().map(|d| d.to_string()).collect();
    let head = format!("{}[{}]", t.dtype(), dims.join(", "));
    // Stored inline or in an external file, the same tensor prints the same.
    let body = match t.data() {
        TensorData::External(e) if !t.dtype().is_computable() => match e.bytes() {
            Ok(b) => format!("raw #{:08x}", fnv1a(b)),
            Err(m) => format!("unreadable external data ({m})"),
        },
        TensorData::Strings(s) => {
            let shown: Vec<String> = s.iter().take(SHOWN_VALUES).map(|b| format!("{:?}", String::from_utf8_lossy(b))).collect();
            let more = if s.len() > SHOWN_VALUES { ", …" } else { "" };
            let digest = if s.len() > SHOWN_VALUES { format!(" #{:08x}", fnv1a(&s.concat())) } else { String::new() };
            format!("[{}{more}]{digest}", shown.join(", "))
        }
        TensorData::Raw(b) => format!("raw #{:08x}", fnv1a(b)),
        _ => {
            let shown: Vec<String> = first_values(t).unwrap_or_default().iter().map(|v| number(*v, t.dtype())).collect();
            let more = if t.len() > SHOWN_VALUES { ", …" } else { "" };
            let values = if t.dims().is_empty() { shown.join("") } else { format!("[{}{more}]", shown.join(", ")) };
            let digest = if t.len() > SHOWN_VALUES { format!(" #{:08x}", t.raw_bytes().map_or(0, |b| fnv1a(&b))) } else { String::new() };
            format!("{values}{digest}")
        }
    };
    format!("{head} = {body}")
}

fn attr_text(name: &str, a: &Attr) -> String {
    match a {
        Attr::Int(v) if name == "to" => i32::try_from(*v).map(|c| DType::from_onnx_code(c).to_string()).unwrap_or_else(|_| v.to_string()),
        Attr::Int(v) => v.to_string(),
        Attr::Float(v) => format!("{v}"),
        Attr::Ints(v) => format!("{v:?}"),
        Attr::Floats(v) => format!("{v:?}"),
        Attr::Str(s) => format!("{s:?}"),
        Attr::Bytes(b) => format!("bytes #{:08x}", fnv1a(b)),
        Attr::Strings(v) => format!("{:?}", v.iter().map(|b| String::from_utf8_lossy(b).into_owned()).collect::<Vec<_>>()),
        Attr::Tensor(t) => tensor_text(t),
        Attr::Tensors(ts) => format!("[{}]", ts.iter().map(tensor_text).collect::<Vec<_>>().join("; ")),
        Attr::Graph(g) => format!("<graph {}>", g.name()),
        Attr::Graphs(gs) => format!("[{}]", gs.iter().map(|g| format!("<graph {}>", g.name())).collect::<Vec<_>>().join(", ")),
        Attr::SparseTensor(s) => format!("Sparse<{}{:?}> #{:08x}", s.dtype, s.dims, fnv1a(&s.encoded)),
        Attr::SparseTensors(ss) => {
            format!("[{}]", ss.iter().map(|s| format!("Sparse<{}{:?}> #{:08x}", s.dtype, s.dims, fnv1a(&s.encoded))).collect::<Vec<_>>().join(", "))
        }
        Attr::TypeProto(t) => t.ty.text(),
        Attr::TypeProtos(ts) => format!("[{}]", ts.iter().map(|t| t.ty.text()).collect::<Vec<_>>().join(", ")),
        Attr::Opaque(b) => format!("opaque #{:08x}", fnv1a(b)),
    }
}

/// The line of one node (without its subgraphs).
fn node_line(g: &Graph, n: &Node) -> String {
    let outs: Vec<&str> = n.outputs.iter().map(|v| v.map(|v| g.value_name(v)).unwrap_or("_")).collect();
    let ins: Vec<&str> = n.inputs.iter().map(|v| v.map(|v| g.value_name(v)).unwrap_or("_")).collect();
    let mut attrs: Vec<(&String, &Attr)> = n.attrs.iter().map(|(k, v)| (k, v)).collect();
    attrs.sort_by(|a, b| a.0.cmp(b.0));
    let attrs = if attrs.is_empty() {
        String::new()
    } else {
        format!(" {{{}}}", attrs.iter().map(|(k, v)| format!("{k}: {}", attr_text(k, v))).collect::<Vec<_>>().join(", "))
    };
    let types: Vec<String> = n.output_values().map(|v| g.info(v).type_text()).collect();
    let node_name = if outs.first() == Some(&n.name.as_str()) {
        String::new()
    } else if n.name.is_empty() {
        "  # node (unnamed)".to_string()
    } else {
        format!("  # node {}", n.name)
    };
    format!("{} = {}({}){attrs} : {}{node_name}", outs.join(", "), n.qualified_op(), ins.join(", "), types.join(", "))
}

/// The opset header: the model's imports for loaded models, else ai.onnx plus used domains.
fn domains(g: &Graph) -> String {
    let info = g.model_info();
    if info.loaded && !g.is_subgraph() {
        let mut parts: Vec<String> = info
            .opset_imports
            .iter()
            .map(|(d, v)| if d.is_empty() || d == "ai.onnx" { format!("ai.onnx {}", g.opset()) } else { format!("{d} {v}") })
            .collect();
        for d in g.extra_domains() {
            if !info.opset_imports.iter().any(|(x, _)| *x == d) {
                parts.push(format!("{d} 1"));
            }
        }
        return parts.join(", ");
    }
    let mut s = format!("ai.onnx {}", g.opset());
    for d in g.extra_domains() {
        let _ = write!(s, ", {d} 1");
    }
    s
}

fn print_into(out: &mut String, g: &Graph, indent: &str) {
    for v in g.captures() {
        let info = g.info(*v);
        let _ = writeln!(out, "{indent}capture {} : {}", info.name, info.type_text());
    }
    for v in g.inputs() {
        let info = g.info(*v);
        let _ = writeln!(out, "{indent}input {} : {}", info.name, info.type_text());
    }
    for (v, t) in g.initializers() {
        let _ = writeln!(out, "{indent}init {} : {}", g.value_name(*v), tensor_text(t));
    }
    for (v, s) in g.sparse_initializers() {
        let _ = writeln!(out, "{indent}init {} : Sparse<{}{:?}> #{:08x}", g.value_name(*v), s.dtype, s.dims, fnv1a(&s.encoded));
    }
    for n in g.nodes() {
        let _ = writeln!(out, "{indent}{}", node_line(g, n));
        for (attr, sub) in n.subgraphs() {
            let _ = writeln!(out, "{indent}  {attr}: graph {}", sub.name());
            print_into(out, sub, &format!("{indent}    "));
        }
    }
    for v in g.outputs() {
        let info = g.info(*v);
        let _ = writeln!(out, "{indent}output {} : {}", info.name, info.type_text());
    }
}

/// Print a graph as text.
pub fn print(g: &Graph) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "graph {} ({})", g.name(), domains(g));
    for f in &g.model_info().functions {
        let _ = writeln!(
            out,
            "function {}.{}({}) -> ({}) : {} nodes #{:08x}",
            f.domain,
            f.name,
            f.inputs.join(", "),
            f.outputs.join(", "),
            f.node_count,
            fnv1a(&f.encoded)
        );
    }
    print_into(&mut out, g, "");
    out
}

/// One-line summary: node count and op histogram (`16 nodes: Add 2, Cast 1, …`).
pub fn summary(g: &Graph) -> String {
    let counts: Vec<String> = g.op_counts().iter().map(|(op, n)| format!("{op} {n}")).collect();
    let deep = g.node_count_deep();
    let sub = if deep > g.nodes().len() { format!(" ({deep} with subgraphs)") } else { String::new() };
    format!("{} nodes{sub}: {}", g.nodes().len(), counts.join(", "))
}

// ----- diff ---------------------------------------------------------------------------------

/// The items of a graph that a diff compares, in the graph-text vocabulary: `(section, key,
/// text)`. Initializers compare by a digest of their bytes (external data included).
fn items(g: &Graph) -> Vec<(&'static str, String, String)> {
    let mut v = Vec::new();
    v.push(("opset", String::new(), domains(g)));
    for f in &g.model_info().functions {
        v.push((
            "function",
            format!("{}.{}", f.domain, f.name),
            format!("({}) -> ({}) : {} nodes #{:08x}", f.inputs.join(", "), f.outputs.join(", "), f.node_count, fnv1a(&f.encoded)),
        ));
    }
    for (i, x) in g.inputs().iter().enumerate() {
        v.push(("input", g.value_name(*x).to_string(), format!("#{i} : {}", g.info(*x).type_text())));
    }
    for (i, x) in g.outputs().iter().enumerate() {
        v.push(("output", g.value_name(*x).to_string(), format!("#{i} : {}", g.info(*x).type_text())));
    }
    for (x, t) in g.initializers() {
        let dims: Vec<String> = t.dims().iter().map(|d| d.to_string()).collect();
        let digest = match t.data() {
            TensorData::Strings(s) => fnv1a(&s.concat()),
            _ => t.raw_bytes().map_or(0, |b| fnv1a(&b)),
        };
        v.push(("init", g.value_name(*x).to_string(), format!("{}[{}] #{digest:08x}", t.dtype(), dims.join(", "))));
    }
    for (k, val) in g.metadata() {
        v.push(("metadata", k.clone(), format!("{val:?}")));
    }
    // Nodes are keyed by name when it is unique, else by their first output.
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for n in g.nodes() {
        *counts.entry(n.name.as_str()).or_default() += 1;
    }
    for n in g.nodes() {
        let key = if !n.name.is_empty() && counts[n.name.as_str()] == 1 {
            n.name.clone()
        } else {
            format!("→{}", n.output_values().next().map(|o| g.value_name(o).to_string()).unwrap_or_default())
        };
        let mut text = node_line(g, n);
        for (attr, sub) in n.subgraphs() {
            let _ = write!(text, "\n  {attr}: graph {}\n", sub.name());
            let mut body = String::new();
            print_into(&mut body, sub, "    ");
            text.push_str(body.trim_end());
        }
        v.push(("node", key, text));
    }
    // Keys repeat in odd models (an input listed twice, unnamed nodes without outputs, repeated
    // metadata keys): number the repeats so every item is compared.
    let mut seen: HashMap<(&'static str, String), usize> = HashMap::new();
    for item in v.iter_mut() {
        let n = seen.entry((item.0, item.1.clone())).or_default();
        *n += 1;
        if *n > 1 {
            item.1 = format!("{} #{n}", item.1);
        }
    }
    v
}

/// A structural diff of two graphs in the graph-text vocabulary: nodes added, removed or
/// changed (by name), inputs/outputs, initializers (by digest), metadata, opsets, functions.
/// Returns the diff text and the number of differences (0 = equal).
pub fn diff(a: &Graph, b: &Graph) -> (String, usize) {
    let (ia, ib) = (items(a), items(b));
    let index = |v: &[(&'static str, String, String)]| -> BTreeMap<(&'static str, String), usize> {
        v.iter().enumerate().map(|(i, (s, k, _))| ((*s, k.clone()), i)).collect()
    };
    let (xa, xb) = (index(&ia), index(&ib));
    let mut out = String::new();
    let mut count = 0;
    let label = |s: &str, k: &str| if k.is_empty() { s.to_string() } else { format!("{s} {k}") };
    for (s, k, ta) in &ia {
        match xb.get(&(*s, k.clone())).map(|i| &ib[*i].2) {
            None => {
                count += 1;
                let _ = writeln!(out, "- {}: {ta}", label(s, k));
            }
            Some(tb) if tb != ta => {
                count += 1;
                let _ = writeln!(out, "~ {}:", label(s, k));
                for l in ta.lines() {
                    let _ = writeln!(out, "    - {l}");
                }
                for l in tb.lines() {
                    let _ = writeln!(out, "    + {l}");
                }
            }
            Some(_) => {}
        }
    }
    for (s, k, tb) in &ib {
        if !xa.contains_key(&(*s, k.clone())) {
            count += 1;
            let _ = writeln!(out, "+ {}: {tb}", label(s, k));
        }
    }
    // Same items, different order of nodes: still a different graph text.
    if count == 0 {
        let order = |v: &[(&'static str, String, String)]| v.iter().filter(|x| x.0 == "node").map(|x| x.1.clone()).collect::<Vec<_>>();
        if order(&ia) != order(&ib) {
            count += 1;
            let _ = writeln!(out, "~ node order differs");
        }
    }
    (out, count)
}
