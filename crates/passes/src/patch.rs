//! Patches: a rewrite built aside and applied whole (tract's `ModelPatch` is the model).
//!
//! A rule reads the graph it rewrites immutably and returns a [`Patch`]: the replacement, built
//! with the same [`Builder`] the emitters use over a small graph of its own whose inputs are
//! *taps* of the rewritten graph's values, plus what changes in the rewritten graph — values
//! whose readers are *shunted* to a replacement, nodes and initializers to drop once nothing
//! reads them, an opset to move to, memo entries for later patches. [`Patch::apply`] checks
//! everything it can before the first edit (taps and shunted values live, names free, the opset
//! move allowed), then copies the new nodes in (each type-checked again, strictly, whatever the
//! graph's leniency), redirects the readers and drops what is dead. A rule that bails (`None`)
//! or errors has touched nothing.
//!
//! ```
//! use rotor_builder::{Builder, DType, Dim};
//! use rotor_passes::patch::Patch;
//!
//! let mut b = Builder::new("g", 17)?;
//! let x = b.input("x", DType::F32, [Dim::sym("N")])?;
//! let y = b.neg("neg", x)?;
//! let z = b.neg("neg2", y)?;
//! b.output("z", z)?;
//! let mut g = b.finish()?;
//! // replace Neg(Neg(x)) by x: shunt z's readers (the output) to a tap of x
//! let mut p = Patch::new(&g);
//! let tx = p.tap(&g, x)?;
//! p.shunt(z, tx);
//! p.drop_if_dead(g.producer(z).unwrap());
//! p.apply(&mut g, &mut rotor_builder::Memo::default())?;
//! assert_eq!(g.nodes().len(), 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use rotor_builder::{Builder, Memo};
use rotor_ir::{BuildError, Graph, NodeId, Origin, Value};

/// A memo entry to record once the patch is applied (its values translated to the graph's).
type Remember = Box<dyn FnOnce(&mut Memo, &dyn Fn(Value) -> Option<Value>)>;

/// A rewrite built aside; see the module docs.
pub struct Patch {
    b: Builder,
    /// patch value -> value of the rewritten graph
    taps: HashMap<Value, Value>,
    /// value of the rewritten graph -> its tap
    tapped: HashMap<Value, Value>,
    /// (value of the rewritten graph, its replacement: a patch value or a tap)
    shunts: Vec<(Value, Value)>,
    before: Option<NodeId>,
    drop_nodes: Vec<NodeId>,
    remove: Vec<NodeId>,
    drop_initializers: Vec<Value>,
    opset: Option<i64>,
    remember: Vec<Remember>,
    count: usize,
}

impl std::fmt::Debug for Patch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Patch")
            .field("nodes", &self.b.nodes().len())
            .field("taps", &self.taps.len())
            .field("shunts", &self.shunts)
            .field("before", &self.before)
            .field("opset", &self.opset)
            .finish()
    }
}

fn fail(message: String) -> BuildError {
    BuildError::Graph { graph: "patch".into(), message }
}

impl Patch {
    /// An empty patch of `g` (at `g`'s opset).
    pub fn new(g: &Graph) -> Patch {
        Patch {
            b: Builder::over(Graph::new_subgraph("patch", g.opset(), false)),
            taps: HashMap::new(),
            tapped: HashMap::new(),
            shunts: Vec::new(),
            before: None,
            drop_nodes: Vec::new(),
            remove: Vec::new(),
            drop_initializers: Vec::new(),
            opset: None,
            remember: Vec::new(),
            count: 1,
        }
    }

    /// How many rewrites the patch makes, as the pass report counts them (1 by default; a fold
    /// of a node's outputs counts each output).
    pub fn counts(&mut self, n: usize) {
        self.count = n;
    }

    /// The rewrites the patch makes ([`Patch::counts`]).
    pub fn count(&self) -> usize {
        self.count
    }

    /// Move the rewritten graph to ai.onnx opset `to` before the new nodes go in (the patch's own
    /// nodes are built and checked at `to`). [`Patch::apply`] refuses, changing nothing, when
    /// a node of the graph would mean something else there (`rotor_ir::opset`).
    pub fn set_opset(&mut self, to: i64) {
        self.opset = Some(to);
        self.b.graph_mut().set_opset(to);
    }

    /// The value standing for `v` of `g` in the patch (the same one each time).
    pub fn tap(&mut self, g: &Graph, v: Value) -> Result<Value, BuildError> {
        if let Some(t) = self.tapped.get(&v) {
            return Ok(*t);
        }
        if !g.is_live(v) {
            return Err(fail(format!("tap of a value that is not live: #{v:?}")));
        }
        let t = self.b.graph_mut().capture_like(g.info(v))?;
        self.taps.insert(t, v);
        self.tapped.insert(v, t);
        Ok(t)
    }

    /// Tap several values.
    pub fn tap_all(&mut self, g: &Graph, vs: &[Value]) -> Result<Vec<Value>, BuildError> {
        vs.iter().map(|v| self.tap(g, *v)).collect()
    }

    /// The builder of the replacement (tapped values are its inputs).
    pub fn builder(&mut self) -> &mut Builder {
        &mut self.b
    }

    /// Place the new nodes just before node `id` of the rewritten graph (at the end otherwise).
    pub fn before(&mut self, id: NodeId) {
        self.before = Some(id);
    }

    /// Make every reader of `old` (a value of the rewritten graph: node inputs, subgraphs, graph
    /// outputs, which keep their names) read `new` (a value of the patch, or a tap).
    pub fn shunt(&mut self, old: Value, new: Value) {
        self.shunts.push((old, new));
    }

    /// Remove node `id` of the rewritten graph, and then the producers of its inputs that
    /// nothing reads any more, once the shunts are done — if nothing reads it then.
    pub fn drop_if_dead(&mut self, id: NodeId) {
        self.drop_nodes.push(id);
    }

    /// Remove exactly these nodes of the rewritten graph once the shunts are done (nothing else
    /// may read their outputs then: [`Patch::apply`] fails, having removed none of them).
    pub fn remove_nodes(&mut self, ids: &[NodeId]) {
        self.remove.extend_from_slice(ids);
    }

    /// Remove initializer `v` once the shunts are done, if nothing reads it then.
    pub fn drop_initializer_if_unused(&mut self, v: Value) {
        self.drop_initializers.push(v);
    }

    /// Record `values` (of the patch, or taps) under `key` (whose values are the rewritten
    /// graph's) in the memo once applied, as the values they become in the rewritten graph.
    pub fn remember<K: Hash + Eq + 'static>(&mut self, key: K, values: Vec<Value>) {
        self.remember_with(move |map| Some((key, values.iter().map(|v| map(*v)).collect::<Option<Vec<Value>>>()?)));
    }

    /// Record a memo entry once applied, its key and values made by `f` from the map of patch
    /// values (and taps) to the rewritten graph's values (for keys that name values the patch
    /// builds).
    pub fn remember_with<K: Hash + Eq + 'static>(&mut self, f: impl FnOnce(&dyn Fn(Value) -> Option<Value>) -> Option<(K, Vec<Value>)> + 'static) {
        self.remember.push(Box::new(move |memo, map| {
            if let Some((k, vs)) = f(map) {
                memo.insert(k, vs);
            }
        }));
    }

    /// True when the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.b.nodes().is_empty()
            && self.shunts.is_empty()
            && self.drop_nodes.is_empty()
            && self.remove.is_empty()
            && self.drop_initializers.is_empty()
            && self.opset.is_none()
    }

    /// Apply the patch to `g` (the graph it was built from); returns the new nodes' ids. Every
    /// check runs before the first edit: on `Err`, `g` is as it was.
    pub fn apply(self, g: &mut Graph, memo: &mut Memo) -> Result<Vec<NodeId>, BuildError> {
        let p = self.b.graph();
        // 1. checks
        for (t, v) in &self.taps {
            if !g.is_live(*v) || g.value_name(*v) != p.value_name(*t) {
                return Err(fail(format!("tapped value {} is gone", p.value_name(*t))));
            }
        }
        for (old, new) in &self.shunts {
            if !g.is_live(*old) {
                return Err(fail(format!("shunted value #{old:?} is not live")));
            }
            if !self.taps.contains_key(new) && !p.is_live(*new) {
                return Err(fail(format!("replacement #{new:?} is not a value of the patch")));
            }
        }
        if let Some(b) = self.before
            && g.position(b).is_none()
        {
            return Err(fail(format!("anchor node #{b:?} is gone")));
        }
        let mut names: HashSet<&str> = HashSet::new();
        for (v, _) in p.initializers() {
            let name = p.value_name(*v);
            if g.value_by_name(name).is_some() || !names.insert(name) {
                return Err(fail(format!("name {name:?} is taken")));
            }
        }
        for n in p.nodes() {
            if !n.subgraphs().is_empty() {
                return Err(fail(format!("node {}: a patch holds no subgraphs", n.name)));
            }
            if g.has_node_name(&n.name) {
                return Err(fail(format!("node name {:?} is taken", n.name)));
            }
            for v in n.output_values() {
                let name = p.value_name(v);
                if g.value_by_name(name).is_some() || !names.insert(name) {
                    return Err(fail(format!("name {name:?} is taken")));
                }
            }
        }
        if let Some(to) = self.opset {
            if to > g.opset() {
                rotor_ir::opset::check_upgrade(g, to).map_err(fail)?;
            } else {
                rotor_ir::opset::check_downgrade(g, to).map_err(fail)?;
            }
        }
        // 2. edits: opset, initializers, nodes (checked strictly), shunts, removals
        if let Some(to) = self.opset {
            if to > g.opset() {
                rotor_ir::opset::upgrade(g, to).map_err(fail)?;
            } else {
                rotor_ir::opset::downgrade(g, to).map_err(fail)?;
            }
        }
        let mut map: HashMap<Value, Value> = self.taps.clone();
        for (v, t) in p.initializers() {
            let nv = g.constant_raw(p.value_name(*v), t.clone())?;
            map.insert(*v, nv);
        }
        let mut added = Vec::with_capacity(p.nodes().len());
        for n in p.nodes() {
            let inputs: Vec<Option<Value>> = n.inputs.iter().map(|i| i.and_then(|v| map.get(&v).copied())).collect();
            if inputs.iter().zip(&n.inputs).any(|(m, i)| m.is_none() && i.is_some()) {
                return Err(fail(format!("node {}: an input is neither tapped nor built", n.name)));
            }
            let out_names: Vec<String> = n.outputs.iter().map(|o| o.map(|v| p.value_name(v).to_string()).unwrap_or_default()).collect();
            let id = g.insert_node(self.before, true, &n.name, &n.op_type, &n.domain, &inputs, n.attrs.clone(), &out_names)?;
            if let Some(m) = g.node(id) {
                for (o, mo) in n.outputs.iter().zip(&m.outputs) {
                    if let (Some(o), Some(mo)) = (o, mo) {
                        map.insert(*o, *mo);
                    }
                }
            }
            added.push(id);
        }
        for (old, new) in &self.shunts {
            let new = map.get(new).copied().ok_or_else(|| fail("replacement not built".into()))?;
            g.replace_all_uses(*old, new)?;
        }
        if !self.remove.is_empty() {
            g.remove_nodes(&self.remove)?;
        }
        for id in &self.drop_nodes {
            crate::util::remove_dead_from(g, *id)?;
        }
        for v in &self.drop_initializers {
            if g.is_live(*v) && g.is_unused(*v) && !g.inputs().contains(v) && g.constant_of(*v).is_some() {
                g.remove_initializer(*v)?;
            }
        }
        let lookup = |v: Value| map.get(&v).copied();
        for r in self.remember {
            r(memo, &lookup);
        }
        Ok(added)
    }
}

/// The outer values a memo entry holds, when every one is still live in `g`.
pub fn live(g: &Graph, values: Option<&[Value]>) -> Option<Vec<Value>> {
    let v = values?;
    v.iter().all(|x| g.is_live(*x) && !matches!(g.info(*x).origin, Origin::Detached)).then(|| v.to_vec())
}
