//! Dead-code elimination.
//!
//! Pattern:
//! ```text
//! n = Op(...)        where no output of n is read by a node, a subgraph or the graph outputs
//!                    (transitively: readers that are themselves dead do not count)
//! init w             where nothing reads w and w is not a graph input
//! ```
//! Rewrite: remove them. ONNX ops have no side effects, so a node whose outputs nobody reads
//! cannot change the model's outputs.

use std::collections::HashSet;

use rotor_builder::{Graph, NodeId, Use};

use crate::{Cx, Pass, PassError};

pub const NAME: &str = "dce";
pub const SUMMARY: &str = "remove nodes and initializers nothing reads";

/// The pass.
pub struct Dce;

impl Pass for Dce {
    fn name(&self) -> &'static str {
        NAME
    }

    fn run(&self, g: &mut Graph, cx: &mut Cx) -> Result<usize, PassError> {
        let mut dead: HashSet<NodeId> = HashSet::new();
        for n in g.nodes().iter().rev() {
            let live = n.output_values().any(|v| g.is_output(v) || g.uses(v).iter().any(|u: &Use| !dead.contains(&u.node)));
            if !live {
                dead.insert(n.id);
            }
        }
        let ids: Vec<NodeId> = g.nodes().iter().filter(|n| dead.contains(&n.id)).map(|n| n.id).collect();
        if !ids.is_empty() {
            g.remove_nodes(&ids).map_err(|e| cx.build_error(e))?;
        }
        let unused: Vec<_> = g.initializers().iter().map(|(v, _)| *v).filter(|v| g.is_unused(*v) && !g.inputs().contains(v) && !g.is_output(*v)).collect();
        for v in &unused {
            g.remove_initializer(*v).map_err(|e| cx.build_error(e))?;
        }
        Ok(ids.len() + unused.len())
    }
}
