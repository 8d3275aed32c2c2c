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

use rotor_ir::{Graph, NodeId, Value};

use crate::patch::Patch;
use crate::util::{can_forward, is_onnx, label};
use crate::{Cx, PassError, Rule};

pub const NAME: &str = "cse";
pub const SUMMARY: &str = "merge identical nodes and identical constants/initializers";

const RANDOM_OPS: &[&str] = &["RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial", "Bernoulli"];
const MAX_COMPARED_BYTES: u64 = 1 << 20;

/// The pass: the first node seen with each key (reset every round).
#[derive(Default)]
pub struct Cse {
    nodes: HashMap<String, NodeId>,
}

impl Cse {
    /// Initializers with equal contents: readers of later ones read the first.
    fn initializers(g: &Graph, cx: &mut Cx) -> Result<Option<Patch>, PassError> {
        let mut seen: HashMap<(String, Vec<i64>, Vec<u8>), Value> = HashMap::new();
        let mut dups = Vec::new();
        for (v, t) in g.initializers() {
            if g.inputs().contains(v) || g.is_unused(*v) || t.byte_len() > MAX_COMPARED_BYTES {
                continue;
            }
            let Some(bytes) = t.raw_bytes() else { continue };
            let key = (t.dtype().to_string(), t.dims().to_vec(), bytes.into_owned());
            match seen.get(&key) {
                Some(first) => dups.push((*v, *first)),
                None => {
                    seen.insert(key, *v);
                }
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
        let key = format!("{}|{}|{:?}|{:?}|{}", n.domain, n.op_type, n.inputs, n.attrs, n.outputs.len());
        let Some(&first) = self.nodes.get(&key) else {
            self.nodes.insert(key, id);
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
