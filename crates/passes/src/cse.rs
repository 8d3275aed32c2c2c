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

use rotor_builder::{Graph, NodeId, Value};

use crate::util::{can_forward, is_onnx, label};
use crate::{Cx, Pass, PassError};

pub const NAME: &str = "cse";
pub const SUMMARY: &str = "merge identical nodes and identical constants/initializers";

const RANDOM_OPS: &[&str] = &["RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial", "Bernoulli"];
const MAX_COMPARED_BYTES: u64 = 1 << 20;

/// The pass.
pub struct Cse;

fn merge(g: &mut Graph, cx: &mut Cx, old: Value, new: Value, what: &str) -> Result<bool, PassError> {
    if !can_forward(g, old, new) {
        cx.reject(g.value_name(old), format!("{what} duplicates {}, but it is a graph output {} cannot take over", g.value_name(new), g.value_name(new)));
        return Ok(false);
    }
    g.replace_all_uses(old, new).map_err(|e| cx.build_error(e))?;
    Ok(true)
}

impl Pass for Cse {
    fn name(&self) -> &'static str {
        NAME
    }

    fn run(&self, g: &mut Graph, cx: &mut Cx) -> Result<usize, PassError> {
        let mut done = 0;
        // 1. initializers with equal contents
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
        drop(seen);
        for (dup, first) in dups {
            if merge(g, cx, dup, first, "initializer")? {
                done += 1;
            }
        }
        // 2. nodes, in order (inputs merged before their readers are keyed)
        let mut nodes: HashMap<String, NodeId> = HashMap::new();
        let ids: Vec<NodeId> = g.nodes().iter().map(|n| n.id).collect();
        for id in ids {
            let Some(n) = g.node(id) else { continue };
            if (is_onnx(n) && RANDOM_OPS.contains(&n.op_type.as_str())) || !n.subgraphs().is_empty() || n.outputs.is_empty() {
                continue;
            }
            let key = format!("{}|{}|{:?}|{:?}|{}", n.domain, n.op_type, n.inputs, n.attrs, n.outputs.len());
            let Some(&first) = nodes.get(&key) else {
                nodes.insert(key, id);
                continue;
            };
            let Some(f) = g.node(first) else { continue };
            let pairs: Vec<(Option<Value>, Option<Value>)> = n.outputs.iter().copied().zip(f.outputs.iter().copied()).collect();
            if pairs.iter().any(|(a, b)| a.is_some() && b.is_none()) {
                continue; // the first node does not compute an output this one does
            }
            let name = label(g, n);
            if pairs.iter().any(|(a, b)| matches!((a, b), (Some(a), Some(b)) if !can_forward(g, *a, *b))) {
                cx.reject(&name, "duplicates an earlier node, but its output is a graph output the earlier one cannot take over");
                continue;
            }
            for (a, b) in pairs {
                if let (Some(a), Some(b)) = (a, b) {
                    g.replace_all_uses(a, b).map_err(|e| cx.build_error(e))?;
                }
            }
            g.remove_node(id).map_err(|e| cx.build_error(e))?;
            done += 1;
        }
        Ok(done)
    }
}
