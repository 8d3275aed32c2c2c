//! The typed graph IR: values with element types and symbolic shapes, nodes with dotted names.
//!
//! Every node is type-checked when it is added (see [`crate::ops`]), so a mismatch fails at the
//! builder call that caused it, naming the node and the op. Names are deterministic: a node's
//! name is the current scope path plus the local name given by the emitter
//! (`rope.q.cos_x`); the empty local name gives the bare scope (`rope.q`), used for the node that
//! produces an emitter's result.

use std::collections::{HashMap, HashSet};

use crate::dim::Dim;
use crate::dtype::DType;
use crate::error::{BuildError, InferError};
use crate::ops;
use crate::tensor::Tensor;

/// Handle to a value (graph input, initializer or node output) of one [`Graph`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Value(pub(crate) usize);

/// Where a value comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// A graph input.
    Input,
    /// An initializer (index into [`Graph::initializers`]).
    Initializer(usize),
    /// Output `slot` of node `node`.
    Node { node: usize, slot: usize },
}

/// Type information of a value.
#[derive(Clone, Debug, PartialEq)]
pub struct ValueInfo {
    /// The ONNX value name.
    pub name: String,
    /// Element type.
    pub dtype: DType,
    /// Shape; `None` when even the rank is unknown (only in loaded models).
    pub shape: Option<Vec<Dim>>,
    /// For small integer tensors (shapes, indices): their elements, when known symbolically.
    pub sym_value: Option<Vec<Dim>>,
    /// Producer.
    pub origin: Origin,
}

impl ValueInfo {
    /// Rank, when known.
    pub fn rank(&self) -> Option<usize> {
        self.shape.as_ref().map(|s| s.len())
    }

    /// `F32[B, N, 64]`, or `F32[?*]` when the rank is unknown.
    pub fn type_text(&self) -> String {
        match &self.shape {
            Some(s) => format!("{}{}", self.dtype, crate::dim::shape_text(s)),
            None => format!("{}[?*]", self.dtype),
        }
    }
}

/// A node attribute value.
#[derive(Clone, Debug, PartialEq)]
pub enum Attr {
    Int(i64),
    Float(f32),
    Ints(Vec<i64>),
    Floats(Vec<f32>),
    Str(String),
    Tensor(Tensor),
}

impl From<i64> for Attr {
    fn from(v: i64) -> Attr {
        Attr::Int(v)
    }
}
impl From<f32> for Attr {
    fn from(v: f32) -> Attr {
        Attr::Float(v)
    }
}
impl From<Vec<i64>> for Attr {
    fn from(v: Vec<i64>) -> Attr {
        Attr::Ints(v)
    }
}
impl From<&str> for Attr {
    fn from(v: &str) -> Attr {
        Attr::Str(v.to_string())
    }
}
impl From<Tensor> for Attr {
    fn from(v: Tensor) -> Attr {
        Attr::Tensor(v)
    }
}

/// Attribute list, kept in the order given.
pub type Attrs = Vec<(String, Attr)>;

/// Build an [`Attrs`] list: `attrs![("axis", 1i64), ("perm", vec![0i64, 2, 1, 3])]`.
#[macro_export]
macro_rules! attrs {
    () => { ::std::vec::Vec::<(::std::string::String, $crate::Attr)>::new() };
    ($(($k:expr, $v:expr)),+ $(,)?) => {
        vec![$(($k.to_string(), $crate::Attr::from($v))),+]
    };
}

/// One node.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Unique dotted name.
    pub name: String,
    /// ONNX op type.
    pub op_type: String,
    /// Op domain: `""` for ai.onnx, `"com.microsoft"` for ORT contrib ops.
    pub domain: String,
    /// Inputs; `None` for an omitted optional input.
    pub inputs: Vec<Option<Value>>,
    /// Outputs.
    pub outputs: Vec<Value>,
    /// Attributes.
    pub attrs: Attrs,
}

impl Node {
    /// The attribute named `name`, if set.
    pub fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
}

/// A graph under construction (and, once outputs are set, a finished graph).
#[derive(Clone, Debug)]
pub struct Graph {
    name: String,
    opset: i64,
    values: Vec<ValueInfo>,
    nodes: Vec<Node>,
    inputs: Vec<Value>,
    outputs: Vec<Value>,
    initializers: Vec<(Value, Tensor)>,
    scope: Vec<String>,
    value_names: HashMap<String, Value>,
    node_names: HashSet<String>,
    metadata: Vec<(String, String)>,
    lenient: bool,
}

/// Opsets rotor emits and loads (ai.onnx domain).
pub const SUPPORTED_OPSETS: std::ops::RangeInclusive<i64> = 17..=24;

impl Graph {
    /// An empty graph for the given ai.onnx opset.
    pub fn new(name: &str, opset: i64) -> Result<Graph, BuildError> {
        if !SUPPORTED_OPSETS.contains(&opset) {
            return Err(BuildError::Graph {
                graph: name.to_string(),
                message: format!("opset {opset} is not supported (supported: {}..={})", SUPPORTED_OPSETS.start(), SUPPORTED_OPSETS.end()),
            });
        }
        Ok(Graph {
            name: name.to_string(),
            opset,
            values: Vec::new(),
            nodes: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            initializers: Vec::new(),
            scope: Vec::new(),
            value_names: HashMap::new(),
            node_names: HashSet::new(),
            metadata: Vec::new(),
            lenient: false,
        })
    }

    /// A graph whose nodes get unknown types instead of errors when inference fails
    /// (used when loading models written by other tools).
    pub fn new_lenient(name: &str, opset: i64) -> Graph {
        Graph {
            name: name.to_string(),
            opset,
            values: Vec::new(),
            nodes: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            initializers: Vec::new(),
            scope: Vec::new(),
            value_names: HashMap::new(),
            node_names: HashSet::new(),
            metadata: Vec::new(),
            lenient: true,
        }
    }

    // ----- accessors -------------------------------------------------------------------------

    /// Graph name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// ai.onnx opset the graph targets.
    pub fn opset(&self) -> i64 {
        self.opset
    }
    /// Nodes in topological (insertion) order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }
    /// Graph inputs in order.
    pub fn inputs(&self) -> &[Value] {
        &self.inputs
    }
    /// Graph outputs in order.
    pub fn outputs(&self) -> &[Value] {
        &self.outputs
    }
    /// Initializers in insertion order.
    pub fn initializers(&self) -> &[(Value, Tensor)] {
        &self.initializers
    }
    /// Type information of a value.
    pub fn info(&self, v: Value) -> &ValueInfo {
        &self.values[v.0]
    }
    /// Name of a value.
    pub fn value_name(&self, v: Value) -> &str {
        &self.values[v.0].name
    }
    /// Shape of a value (empty slice when unknown rank).
    pub fn shape(&self, v: Value) -> &[Dim] {
        self.values[v.0].shape.as_deref().unwrap_or(&[])
    }
    /// Element type of a value.
    pub fn dtype(&self, v: Value) -> DType {
        self.values[v.0].dtype
    }
    /// Rank of a value (0 when unknown).
    pub fn rank(&self, v: Value) -> usize {
        self.shape(v).len()
    }
    /// The value with this name.
    pub fn value_by_name(&self, name: &str) -> Option<Value> {
        self.value_names.get(name).copied()
    }
    /// The constant behind a value, when it is an initializer.
    pub fn constant_of(&self, v: Value) -> Option<&Tensor> {
        match self.values[v.0].origin {
            Origin::Initializer(i) => Some(&self.initializers[i].1),
            _ => None,
        }
    }
    /// Metadata key/value pairs (exported as `metadata_props`).
    pub fn metadata(&self) -> &[(String, String)] {
        &self.metadata
    }
    /// Set (or replace) a metadata entry.
    pub fn set_metadata(&mut self, key: &str, value: &str) {
        match self.metadata.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value.to_string(),
            None => self.metadata.push((key.to_string(), value.to_string())),
        }
    }
    /// Counts of nodes by op type, sorted by op type.
    pub fn op_counts(&self) -> Vec<(String, usize)> {
        let mut m: std::collections::BTreeMap<String, usize> = Default::default();
        for n in &self.nodes {
            *m.entry(n.op_type.clone()).or_default() += 1;
        }
        m.into_iter().collect()
    }
    /// Domains used by nodes other than ai.onnx.
    pub fn extra_domains(&self) -> Vec<String> {
        let mut d: Vec<String> = self.nodes.iter().filter(|n| !n.domain.is_empty()).map(|n| n.domain.clone()).collect();
        d.sort();
        d.dedup();
        d
    }

    // ----- naming ----------------------------------------------------------------------------

    /// Run `f` with `name` pushed on the scope path; names made inside are `…name.local`.
    pub fn with_scope<T, E>(&mut self, name: &str, f: impl FnOnce(&mut Graph) -> Result<T, E>) -> Result<T, E> {
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

    fn new_value(&mut self, name: String, dtype: DType, shape: Option<Vec<Dim>>, sym_value: Option<Vec<Dim>>, origin: Origin) -> Result<Value, BuildError> {
        if name.is_empty() || self.value_names.contains_key(&name) {
            return Err(BuildError::DuplicateName(name));
        }
        let v = Value(self.values.len());
        self.value_names.insert(name.clone(), v);
        self.values.push(ValueInfo { name, dtype, shape, sym_value, origin });
        Ok(v)
    }

    // ----- inputs, outputs, constants --------------------------------------------------------

    /// Declare a graph input (name used as given, not scoped).
    pub fn input<D: Into<Dim>>(&mut self, name: &str, dtype: DType, shape: impl IntoIterator<Item = D>) -> Result<Value, BuildError> {
        let shape: Vec<Dim> = shape.into_iter().map(Into::into).collect();
        self.input_raw(name, dtype, Some(shape))
    }

    /// Declare a graph input whose shape may be unknown (used by the ONNX loader).
    pub fn input_raw(&mut self, name: &str, dtype: DType, shape: Option<Vec<Dim>>) -> Result<Value, BuildError> {
        // An integer scalar input (an offset, say) takes part in shape arithmetic as a symbol.
        let sym_value = (dtype.is_int() && shape.as_ref().is_some_and(Vec::is_empty)).then(|| vec![Dim::sym(name)]);
        let v = self.new_value(name.to_string(), dtype, shape, sym_value, Origin::Input)?;
        self.inputs.push(v);
        Ok(v)
    }

    /// Mark `v` as a graph output named `name`. The producing node's output is renamed when
    /// possible; otherwise (inputs, initializers, values already exported) an `Identity` is added.
    pub fn output(&mut self, name: &str, v: Value) -> Result<Value, BuildError> {
        let renameable = matches!(self.values[v.0].origin, Origin::Node { .. }) && !self.outputs.contains(&v);
        if self.values[v.0].name == name && renameable {
            self.outputs.push(v);
            return Ok(v);
        }
        if self.value_names.contains_key(name) {
            return Err(BuildError::DuplicateName(name.to_string()));
        }
        let out = if renameable {
            let old = std::mem::replace(&mut self.values[v.0].name, name.to_string());
            self.value_names.remove(&old);
            self.value_names.insert(name.to_string(), v);
            v
        } else {
            let saved = std::mem::take(&mut self.scope);
            let r = self.add_node(name, "Identity", &[Some(v)], Vec::new());
            self.scope = saved;
            r?
        };
        self.outputs.push(out);
        Ok(out)
    }

    /// Mark an existing value as a graph output under its own name (used by the ONNX loader).
    pub fn mark_output(&mut self, v: Value) {
        self.outputs.push(v);
    }

    /// Add an initializer named `local` in the current scope.
    pub fn constant(&mut self, local: &str, t: Tensor) -> Result<Value, BuildError> {
        let name = self.scoped(local);
        self.constant_raw(&name, t)
    }

    /// Add an initializer with an exact (unscoped) name.
    pub fn constant_raw(&mut self, name: &str, t: Tensor) -> Result<Value, BuildError> {
        let shape: Vec<Dim> = t.dims().iter().map(|d| Dim::Fixed(*d)).collect();
        let sym_value = if t.len() <= 64 { t.as_i64s().map(|v| v.into_iter().map(Dim::Fixed).collect()) } else { None };
        let idx = self.initializers.len();
        let v = self.new_value(name.to_string(), t.dtype(), Some(shape), sym_value, Origin::Initializer(idx))?;
        self.initializers.push((v, t));
        Ok(v)
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
        self.constant_raw(&name, t)
    }

    // ----- nodes -----------------------------------------------------------------------------

    /// Add an ai.onnx node with one output, named `local` in the current scope.
    pub fn add_node(&mut self, local: &str, op: &str, inputs: &[Option<Value>], attrs: Attrs) -> Result<Value, BuildError> {
        let name = self.scoped(local);
        let outs = self.add_node_full(&name, op, "", inputs, attrs, std::slice::from_ref(&name))?;
        Ok(outs[0])
    }

    /// Add a node with `n` outputs named `{name}.{i}`.
    pub fn add_node_multi(&mut self, local: &str, op: &str, inputs: &[Option<Value>], attrs: Attrs, n: usize) -> Result<Vec<Value>, BuildError> {
        let name = self.scoped(local);
        let out_names: Vec<String> = (0..n).map(|i| format!("{name}.{i}")).collect();
        self.add_node_full(&name, op, "", inputs, attrs, &out_names)
    }

    /// Add a node in a given domain with one output (e.g. `com.microsoft` contrib ops).
    pub fn add_node_in(&mut self, local: &str, domain: &str, op: &str, inputs: &[Option<Value>], attrs: Attrs) -> Result<Value, BuildError> {
        let name = self.scoped(local);
        let outs = self.add_node_full(&name, op, domain, inputs, attrs, std::slice::from_ref(&name))?;
        Ok(outs[0])
    }

    /// Add a node with explicit node and output names (unscoped). Types are inferred; in a
    /// lenient graph an inference failure gives unknown types instead of an error.
    pub fn add_node_full(
        &mut self,
        name: &str,
        op: &str,
        domain: &str,
        inputs: &[Option<Value>],
        attrs: Attrs,
        output_names: &[String],
    ) -> Result<Vec<Value>, BuildError> {
        if name.is_empty() || self.node_names.contains(name) {
            return Err(BuildError::DuplicateName(name.to_string()));
        }
        let inferred = {
            let infos: Vec<Option<&ValueInfo>> = inputs.iter().map(|i| i.map(|v| &self.values[v.0])).collect();
            let ctx = ops::InferCtx { op, domain, inputs: infos, attrs: &attrs, opset: self.opset, num_outputs: output_names.len() };
            match ops::infer(&ctx) {
                Some(Ok(outs)) => Ok(outs),
                Some(Err(source)) => Err(BuildError::Op { node: name.to_string(), op: op.to_string(), source }),
                None => Err(BuildError::UnsupportedOp {
                    node: name.to_string(),
                    op: op.to_string(),
                    domain: if domain.is_empty() { String::new() } else { format!("{domain}.") },
                }),
            }
        };
        let inferred = match inferred {
            Ok(outs) if outs.len() >= output_names.len() => outs,
            Ok(_) if self.lenient => vec![ops::Inferred::unknown(); output_names.len()],
            Ok(outs) => {
                return Err(BuildError::Op {
                    node: name.to_string(),
                    op: op.to_string(),
                    source: InferError::Invalid(format!("{} outputs requested, the op has {}", output_names.len(), outs.len())),
                });
            }
            Err(_) if self.lenient => vec![ops::Inferred::unknown(); output_names.len()],
            Err(e) => return Err(e),
        };
        let node_idx = self.nodes.len();
        let mut outputs = Vec::with_capacity(output_names.len());
        for (slot, (out_name, inf)) in output_names.iter().zip(inferred).enumerate() {
            if out_name.is_empty() {
                continue;
            }
            outputs.push(self.new_value(out_name.clone(), inf.dtype, inf.shape, inf.sym_value, Origin::Node { node: node_idx, slot })?);
        }
        self.node_names.insert(name.to_string());
        self.nodes.push(Node {
            name: name.to_string(),
            op_type: op.to_string(),
            domain: domain.to_string(),
            inputs: inputs.to_vec(),
            outputs: outputs.clone(),
            attrs,
        });
        Ok(outputs)
    }

    /// Check that the graph is complete: at least one output, and every input has a known shape.
    pub fn validate(&self) -> Result<(), BuildError> {
        if self.outputs.is_empty() {
            return Err(BuildError::Graph { graph: self.name.clone(), message: "the graph has no outputs".into() });
        }
        Ok(())
    }
}
