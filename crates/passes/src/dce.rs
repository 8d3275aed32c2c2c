//! Dead-code elimination.
//!
//! Pattern:
//! ```text
//! n = Op(...)        where no output of n is read by a node, a subgraph or the graph outputs
//!                    (transitively: readers that are themselves dead do not count)
//! init w             where nothing reads w (once the dead nodes are gone) and w is not a
//!                    graph input
//! ```
//! Rewrite: remove them. ONNX ops have no side effects, so a node whose outputs nobody reads
//! cannot change the model's outputs.

use std::collections::HashSet;

use rotor_ir::{Graph, NodeId, Use, Value};

use crate::patch::Patch;
use crate::{Cx, PassError, Rule};

pub const NAME: &str = "dce";
pub const SUMMARY: &str = "remove nodes and initializers nothing reads";

/// The pass.
pub struct Dce;

impl Rule for Dce {
    fn name(&self) -> &'static str {
        NAME
    }

    /// The graph as a whole: one patch removes everything dead.
    fn candidates(&mut self, _g: &Graph, _cx: &mut Cx) -> Result<Vec<Option<NodeId>>, PassError> {
        Ok(vec![None])
    }

    fn rewrite(&mut self, g: &Graph, _at: Option<NodeId>, _cx: &mut Cx) -> Result<Option<Patch>, PassError> {
        // 1. dead nodes, readers before producers
        let mut dead: HashSet<NodeId> = HashSet::new();
        for n in g.nodes().iter().rev() {
            let live = n.output_values().any(|v| g.is_output(v) || g.uses(v).iter().any(|u: &Use| !dead.contains(&u.node)));
            if !live {
                dead.insert(n.id);
            }
        }
        let ids: Vec<NodeId> = g.nodes().iter().filter(|n| dead.contains(&n.id)).map(|n| n.id).collect();
        // 2. initializers nothing reads once those are gone
        let unused: Vec<Value> = g
            .initializers()
            .iter()
            .map(|(v, _)| *v)
            .filter(|v| !g.inputs().contains(v) && !g.is_output(*v) && g.uses(*v).iter().all(|u| dead.contains(&u.node)))
            .collect();
        if ids.is_empty() && unused.is_empty() {
            return Ok(None);
        }
        let mut p = Patch::new(g);
        p.remove_nodes(&ids);
        for v in &unused {
            p.drop_initializer_if_unused(*v);
        }
        p.counts(ids.len() + unused.len());
        Ok(Some(p))
    }
}
