//! Common-subexpression elimination.
//!
//! Pattern:
//! ```text
//! a = Op(i1, .., in) {attrs}
//! b = Op(i1, .., in) {attrs}      same domain, op, inputs (after earlier merges), attributes
//! init w1 = T,  init w2 = T       same element type, dims and bytes (neither a graph input)
//! ```
//! Rewrite: readers of `b` (of `w2`) read `a` (`w1`); `b` is removed (`w2` is left to `dce`).
//! Ops that draw random numbers and nodes holding subgraphs are never merged. Only
//! initializers up to 1 MiB are compared (weights do not repeat; shape vectors and tables do),
//! external ones read through their mapping.

use std::collections::HashMap;

use rotor_ir::{Attr, Graph, NodeId, Value};

use crate::patch::Patch;
use crate::util::{can_forward, is_onnx, label};
use crate::{Cx, PassError, Rule};

pub const NAME: &str = "cse";
pub const SUMMARY: &str = "merge identical nodes and identical constants/initializers";

const RANDOM_OPS: &[&str] = &["RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial", "Bernoulli"];
const MAX_COMPARED_BYTES: u64 = 1 << 20;

/// What two nodes must share to compute the same thing, but their attributes: domain, op,
/// inputs (after earlier merges) and output count.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Shape {
    domain: String,
    op: String,
    inputs: Vec<Option<Value>>,
    outputs: usize,
}

/// True when two attribute values are the same bits (floats by their bits: `-0.0` and `0.0`
/// differ, as do NaNs of different payloads; tensors by their element type, dims and bytes).
fn same_attr(a: &Attr, b: &Attr) -> bool {
    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    let tensor = |x: &rotor_ir::Tensor, y: &rotor_ir::Tensor| {
        x.dtype() == y.dtype() && x.dims() == y.dims() && x.raw_bytes().is_some() && x.raw_bytes() == y.raw_bytes()
    };
    match (a, b) {
        (Attr::Float(x), Attr::Float(y)) => x.to_bits() == y.to_bits(),
        (Attr::Floats(x), Attr::Floats(y)) => bits(x) == bits(y),
        (Attr::Tensor(x), Attr::Tensor(y)) => tensor(x, y),
        (Attr::Tensors(x), Attr::Tensors(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| tensor(p, q)),
        _ => a == b,
    }
}

/// FNV-1a of a byte string.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// The pass: the nodes seen with each shape (reset every round).
#[derive(Default)]
pub struct Cse {
    nodes: HashMap<Shape, Vec<NodeId>>,
}

impl Cse {
    /// Initializers with equal contents: readers of later ones read the first.
    fn initializers(g: &Graph, cx: &mut Cx) -> Result<Option<Patch>, PassError> {
        // keyed by type, dims and a hash of the bytes; equal keys compare the bytes themselves
        let mut seen: HashMap<(rotor_ir::DType, Vec<i64>, u64), Vec<Value>> = HashMap::new();
        let mut dups = Vec::new();
        for (v, t) in g.initializers() {
            if g.inputs().contains(v) || g.is_unused(*v) || t.byte_len() > MAX_COMPARED_BYTES {
                continue;
            }
            let Some(bytes) = t.raw_bytes() else { continue };
            let key = (t.dtype(), t.dims().to_vec(), fnv(&bytes));
            let same = seen.entry(key).or_default();
            let first = same.iter().copied().find(|f| g.constant_of(*f).and_then(|ft| ft.raw_bytes()).is_some_and(|fb| fb == bytes));
            match first {
                Some(first) => dups.push((*v, first)),
                None => same.push(*v),
            }
        }
        let mut p = Patch::new(g);
        let mut merged = 0;
        for (dup, first) in dups {
            if !can_forward(g, dup, first) {
                cx.reject(
                    g.value_name(dup),
                    format!("initializer duplicates {}, but it is a graph output {} cannot take over", g.value_name(first), g.value_name(first)),
                );
                continue;
            }
            let t = p.tap(g, first).map_err(|e| cx.build_error(e))?;
            p.shunt(dup, t);
            merged += 1;
        }
        p.counts(merged);
        Ok((merged > 0).then_some(p))
    }
}

impl Rule for Cse {
    fn name(&self) -> &'static str {
        NAME
    }

    /// The initializers first (the graph as a whole), then every node in order (inputs merged
    /// before their readers are keyed).
    fn candidates(&mut self, g: &Graph, _cx: &mut Cx) -> Result<Vec<Option<NodeId>>, PassError> {
        self.nodes.clear();
        Ok(std::iter::once(None).chain(g.nodes().iter().map(|n| Some(n.id))).collect())
    }

    fn rewrite(&mut self, g: &Graph, at: Option<NodeId>, cx: &mut Cx) -> Result<Option<Patch>, PassError> {
        let Some(id) = at else { return Cse::initializers(g, cx) };
        let Some(n) = g.node(id) else { return Ok(None) };
        if (is_onnx(n) && RANDOM_OPS.contains(&n.op_type.as_str())) || !n.subgraphs().is_empty() || n.outputs.is_empty() {
            return Ok(None);
        }
        let key = Shape { domain: n.domain.clone(), op: n.op_type.clone(), inputs: n.inputs.clone(), outputs: n.outputs.len() };
        let same = |f: &rotor_ir::Node| f.attrs.len() == n.attrs.len() && f.attrs.iter().zip(&n.attrs).all(|((ka, a), (kb, b))| ka == kb && same_attr(a, b));
        let seen = self.nodes.entry(key).or_default();
        let Some(first) = seen.iter().copied().find(|f| g.node(*f).is_some_and(same)) else {
            seen.push(id);
            return Ok(None);
        };
        let Some(f) = g.node(first) else { return Ok(None) };
        let pairs: Vec<(Option<Value>, Option<Value>)> = n.outputs.iter().copied().zip(f.outputs.iter().copied()).collect();
        if pairs.iter().any(|(a, b)| a.is_some() && b.is_none()) {
            return Ok(None); // the first node does not compute an output this one does
        }
        let name = label(g, n);
        if pairs.iter().any(|(a, b)| matches!((a, b), (Some(a), Some(b)) if !can_forward(g, *a, *b))) {
            cx.reject(&name, "duplicates an earlier node, but its output is a graph output the earlier one cannot take over");
            return Ok(None);
        }
        let mut p = Patch::new(g);
        for (a, b) in pairs {
            if let (Some(a), Some(b)) = (a, b) {
                let t = p.tap(g, b).map_err(|e| cx.build_error(e))?;
                p.shunt(a, t);
            }
        }
        p.remove_nodes(&[id]);
        Ok(Some(p))
    }
}
