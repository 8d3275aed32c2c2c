//! Helpers shared by the passes: how a node is named in reasons, whether a value may take over
//! another's readers, fresh names, and removing what a rewrite left dead. Reading the graph
//! (constants behind values, attributes, static shapes) is `rotor_ir::query`, re-exported here.

pub use rotor_ir::query::*;
use rotor_ir::{Graph, Node, Value};

/// How a node is named in reasons: its name, or `op#position` when it has none.
pub fn label(g: &Graph, n: &Node) -> String {
    if n.name.is_empty() { format!("{}#{}", n.op_type, g.position(n.id).unwrap_or(usize::MAX)) } else { n.name.clone() }
}

/// True when `new` may replace `old` everywhere without changing the model's interface: when
/// `old` is a graph output, `new` must be a node output that is not itself a graph output (it
/// then takes over the output's name).
pub fn can_forward(g: &Graph, old: Value, new: Value) -> bool {
    if !g.is_output(old) {
        return true;
    }
    g.producer(new).is_some() && !g.is_output(new) && !g.inputs().contains(&new) && g.dtype(old) == g.dtype(new)
}

/// A scope name no value or node of `g` uses, as itself or as a dotted prefix.
pub fn fresh_scope(g: &Graph, base: &str) -> String {
    let taken = |s: &str| {
        let prefix = format!("{s}.");
        let clash = |n: &str| n == s || n.starts_with(&prefix);
        g.nodes().iter().any(|n| clash(&n.name) || n.output_values().any(|v| clash(g.value_name(v))))
            || g.inputs().iter().chain(g.initializers().iter().map(|(v, _)| v)).any(|v| clash(g.value_name(*v)))
    };
    if !taken(base) {
        return base.to_string();
    }
    (1..).map(|i| format!("{base}_{i}")).find(|s| !taken(s)).unwrap_or_else(|| base.to_string())
}

/// Remove `start` if nothing reads it, then, transitively, the producers of its inputs that
/// nothing reads any more (the part of a replaced subgraph only it used).
pub fn remove_dead_from(g: &mut Graph, start: rotor_builder::NodeId) -> Result<(), rotor_builder::BuildError> {
    let mut work = vec![start];
    // a partial rotation's Concat reads the root: start from its readers too
    if let Some(n) = g.node(start) {
        for v in n.output_values() {
            work.extend(g.uses(v).iter().map(|u| u.node));
        }
    }
    while let Some(id) = work.pop() {
        let Some(n) = g.node(id) else { continue };
        let dead = n.output_values().all(|v| g.uses(v).is_empty() && !g.is_output(v)) && n.subgraphs().is_empty();
        if !dead {
            continue;
        }
        let inputs: Vec<Value> = n.inputs.iter().flatten().copied().collect();
        g.remove_node(id)?;
        work.extend(inputs.iter().filter_map(|v| g.producer(*v)));
    }
    Ok(())
}
