//! The [`Builder`]: what building a graph needs on top of storing it — a naming scope, an
//! insertion cursor and a memo of values built once and reused — over a [`rotor_ir::Graph`].
//!
//! Names are deterministic: a node's name is the current scope path plus the local name an
//! emitter gives (`rope.q.cos_x`); the empty local name gives the bare scope (`rope.q`), used for
//! the node that produces an emitter's result. Every node is type-checked as it is added (the
//! op registry of `rotor-ir`), so a mismatch fails at the builder call that caused it, naming the
//! node and the op.
//!
//! ```
//! use rotor_builder::{Builder, DType, Dim};
//!
//! let mut b = Builder::new("neg", 17)?;
//! let x = b.input("x", DType::F32, [Dim::sym("N"), Dim::Fixed(4)])?;
//! let y = b.with_scope("block", |b| b.neg("", x))?;
//! b.output("y", y)?;
//! let g = b.finish()?;
//! assert_eq!(g.nodes()[0].name, "block");
//! # Ok::<(), rotor_builder::BuildError>(())
//! ```

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::hash::Hash;
use std::ops::Deref;

use rotor_ir::{Attrs, BuildError, DType, Dim, Graph, NodeId, Tensor, Value};

/// Values built once and looked up again by a typed key (one set of rotary tables per sequence
/// length, say). Each key type has its own map, so keys of different emitters never collide.
#[derive(Default)]
pub struct Memo {
    maps: HashMap<TypeId, Box<dyn Any>>,
}

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memo").field("key_types", &self.maps.len()).finish()
    }
}

impl Memo {
    /// The values stored under `key`.
    pub fn get<K: Hash + Eq + 'static>(&self, key: &K) -> Option<&[Value]> {
        self.maps.get(&TypeId::of::<K>())?.downcast_ref::<HashMap<K, Vec<Value>>>()?.get(key).map(Vec::as_slice)
    }

    /// Store `values` under `key` (replacing what was there).
    pub fn insert<K: Hash + Eq + 'static>(&mut self, key: K, values: Vec<Value>) {
        let map = self.maps.entry(TypeId::of::<K>()).or_insert_with(|| Box::new(HashMap::<K, Vec<Value>>::new()));
        if let Some(m) = map.downcast_mut::<HashMap<K, Vec<Value>>>() {
            m.insert(key, values);
        }
    }
}

/// A graph under construction: the graph, a scope path for names, an insertion cursor and a
/// memo. Reads go through `Deref` to the [`Graph`]; additions go through the builder, so they
/// are named in scope and placed at the cursor.
#[derive(Debug)]
pub struct Builder {
    graph: Graph,
    scope: Vec<String>,
    before: Option<NodeId>,
    memo: Memo,
}

impl Deref for Builder {
    type Target = Graph;
    fn deref(&self) -> &Graph {
        &self.graph
    }
}

impl Builder {
    /// A builder of a new, empty graph at ai.onnx `opset`.
    pub fn new(name: &str, opset: i64) -> Result<Builder, BuildError> {
        Ok(Builder::over(Graph::new(name, opset)?))
    }

    /// A builder adding to an existing graph (a loaded model, say).
    pub fn over(graph: Graph) -> Builder {
        Builder { graph, scope: Vec::new(), before: None, memo: Memo::default() }
    }

    /// Run `f` with a builder over `g` (taken for the call, put back after, also on error).
    pub fn edit<T, E>(g: &mut Graph, f: impl FnOnce(&mut Builder) -> Result<T, E>) -> Result<T, E> {
        let taken = std::mem::replace(g, Graph::new_lenient("", 1));
        let mut b = Builder::over(taken);
        let out = f(&mut b);
        *g = b.into_graph();
        out
    }

    /// The graph, for reading.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The graph, for edits the builder does not make (rewiring, metadata, removals).
    pub fn graph_mut(&mut self) -> &mut Graph {
        &mut self.graph
    }

    /// The graph, as built so far.
    pub fn into_graph(self) -> Graph {
        self.graph
    }

    /// The finished graph: it must have at least one output.
    pub fn finish(self) -> Result<Graph, BuildError> {
        self.graph.validate()?;
        Ok(self.graph)
    }

    // ----- naming and placement ----------------------------------------------------------------

    /// Run `f` with `name` pushed on the scope path; names made inside are `…name.local`.
    pub fn with_scope<T, E>(&mut self, name: &str, f: impl FnOnce(&mut Builder) -> Result<T, E>) -> Result<T, E> {
        self.scope.push(name.to_string());
        let out = f(self);
        self.scope.pop();
        out
    }

    /// The full dotted name for a local name in the current scope (`""` = the scope itself).
    pub fn scoped(&self, local: &str) -> String {
        let mut parts: Vec<&str> = self.scope.iter().map(String::as_str).collect();
        if !local.is_empty() {
            parts.push(local);
        }
        parts.join(".")
    }

    /// Run `f` with new nodes inserted just before node `before` instead of at the end.
    pub fn insert_before<T, E>(&mut self, before: NodeId, f: impl FnOnce(&mut Builder) -> Result<T, E>) -> Result<T, E> {
        let saved = self.before.replace(before);
        let out = f(self);
        self.before = saved;
        out
    }

    // ----- memo ---------------------------------------------------------------------------------

    /// Values stored under `key` earlier in this build, if they are all still live.
    pub fn memo<K: Hash + Eq + 'static>(&self, key: &K) -> Option<Vec<Value>> {
        let v = self.memo.get(key)?;
        v.iter().all(|x| self.graph.is_live(*x)).then(|| v.to_vec())
    }

    /// Remember values so later steps reuse them instead of building the same subgraph again.
    pub fn set_memo<K: Hash + Eq + 'static>(&mut self, key: K, values: Vec<Value>) {
        self.memo.insert(key, values);
    }

    // ----- inputs, outputs, constants ------------------------------------------------------------

    /// Declare a graph input (name used as given, not scoped).
    pub fn input<D: Into<Dim>>(&mut self, name: &str, dtype: DType, shape: impl IntoIterator<Item = D>) -> Result<Value, BuildError> {
        self.graph.input(name, dtype, shape)
    }

    /// Mark `v` as a graph output named `name` (see [`Graph::output`]).
    pub fn output(&mut self, name: &str, v: Value) -> Result<Value, BuildError> {
        self.graph.output(name, v)
    }

    /// Set (or replace) a metadata entry of the model.
    pub fn set_metadata(&mut self, key: &str, value: &str) {
        self.graph.set_metadata(key, value);
    }

    /// Add an initializer named `local` in the current scope.
    pub fn constant(&mut self, local: &str, t: Tensor) -> Result<Value, BuildError> {
        let name = self.scoped(local);
        self.graph.constant_raw(&name, t)
    }

    /// An i64 scalar initializer.
    pub fn const_i64(&mut self, local: &str, v: i64) -> Result<Value, BuildError> {
        self.constant(local, Tensor::scalar_i64(v))
    }

    /// A 1-D i64 initializer.
    pub fn const_i64s(&mut self, local: &str, v: &[i64]) -> Result<Value, BuildError> {
        self.constant(local, Tensor::vec_i64(v))
    }

    /// An f32 scalar initializer, converted to `dtype` (a float type).
    pub fn const_scalar(&mut self, local: &str, v: f32, dtype: DType) -> Result<Value, BuildError> {
        let name = self.scoped(local);
        let t = Tensor::scalar_f32(v)
            .cast_f32_to(dtype)
            .ok_or_else(|| BuildError::BadConstant { name: name.clone(), message: format!("cannot hold a float in {dtype}") })?;
        self.graph.constant_raw(&name, t)
    }

    // ----- nodes ----------------------------------------------------------------------------------

    /// Add a node with explicit node and output names (unscoped), at the cursor.
    pub fn add_node_full(
        &mut self,
        name: &str,
        op: &str,
        domain: &str,
        inputs: &[Option<Value>],
        attrs: Attrs,
        output_names: &[String],
    ) -> Result<Vec<Value>, BuildError> {
        let strict = !self.graph.is_lenient();
        let id = self.graph.insert_node(self.before, strict, name, op, domain, inputs, attrs, output_names)?;
        Ok(self.graph.node(id).map(|n| n.output_values().collect()).unwrap_or_default())
    }

    /// Add an ai.onnx node with one output, named `local` in the current scope.
    pub fn add_node(&mut self, local: &str, op: &str, inputs: &[Option<Value>], attrs: Attrs) -> Result<Value, BuildError> {
        self.add_node_in(local, "", op, inputs, attrs)
    }

    /// Add a node in a given domain with one output (e.g. `com.microsoft` contrib ops).
    pub fn add_node_in(&mut self, local: &str, domain: &str, op: &str, inputs: &[Option<Value>], attrs: Attrs) -> Result<Value, BuildError> {
        let name = self.scoped(local);
        let outs = self.add_node_full(&name, op, domain, inputs, attrs, std::slice::from_ref(&name))?;
        outs.first().copied().ok_or_else(|| BuildError::Graph { graph: self.graph.name().into(), message: format!("node {name}: no output") })
    }

    /// Add a node with `n` outputs named `{name}.{i}`.
    pub fn add_node_multi(&mut self, local: &str, op: &str, inputs: &[Option<Value>], attrs: Attrs, n: usize) -> Result<Vec<Value>, BuildError> {
        let name = self.scoped(local);
        let out_names: Vec<String> = (0..n).map(|i| format!("{name}.{i}")).collect();
        self.add_node_full(&name, op, "", inputs, attrs, &out_names)
    }
}
