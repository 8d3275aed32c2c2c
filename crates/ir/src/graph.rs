//! The typed, editable graph IR: values with element types and symbolic shapes, nodes with
//! dotted names, use lists, edits (rewire, replace, remove, insert, sort) and subgraphs.
//!
//! Every node is type-checked when it is added (by the op registry, [`crate::ops`]), so a
//! mismatch fails at the call that caused it, naming the node and the op. Graphs read from files
//! are lenient (an op rotor cannot infer gets unknown types), but nodes added to them with
//! [`Graph::insert_node`] and `strict` are checked like any other. Naming, scopes and insertion
//! cursors are the business of `rotor-builder`'s `Builder`; this type only stores.
//!
//! Ids are stable: a [`Value`] or [`NodeId`] keeps meaning the same thing while other nodes are
//! added, removed or moved. Each value knows its producer ([`Graph::producer`]) and its uses
//! ([`Graph::uses`]); a node holding subgraphs (`If`, `Loop`, `Scan`) uses the outer values its
//! bodies read as *implicit* inputs, so nothing an inner graph needs looks dead from outside.
//!
//! A graph loaded from a file also carries what rotor does not interpret (declared types, doc
//! strings, model-local functions, fields of newer ONNX versions) so that saving gives the same
//! model back; see `rotor-export`.

use std::collections::{HashMap, HashSet};

use crate::dim::Dim;
use crate::dtype::DType;
use crate::error::{BuildError, InferError};
use crate::ops;
use crate::tensor::Tensor;

/// Handle to a value (graph input, initializer or node output) of one [`Graph`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Value(pub(crate) usize);

/// Stable handle to a node of one [`Graph`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub(crate) usize);

impl NodeId {
    /// The id as a number: ids are handed out in order, so a node added after
    /// [`Graph::node_id_bound`] returned `k` has an index of at least `k`.
    pub fn index(self) -> usize {
        self.0
    }
}

/// Where a value comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// A graph input.
    Input,
    /// An initializer.
    Initializer,
    /// A sparse initializer.
    SparseInitializer,
    /// Output `slot` of node `node`.
    Node { node: NodeId, slot: usize },
    /// A value of an enclosing graph that this subgraph reads (by name).
    Outer,
    /// Nothing any more: its producer was removed.
    Detached,
}

/// One use of a value: input `slot` of `node`, or an implicit use by a subgraph of `node`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Use {
    /// The consuming node.
    pub node: NodeId,
    /// Input slot; [`Use::IMPLICIT`] when a subgraph of the node reads the value.
    pub slot: usize,
}

impl Use {
    /// Slot of an implicit use (a subgraph reads the value from the enclosing scope).
    pub const IMPLICIT: usize = usize::MAX;
}

/// The type of a value as a model declares it (graph inputs/outputs, `value_info`), including
/// the non-tensor types ONNX has.
#[derive(Clone, Debug, PartialEq)]
pub enum ValueType {
    /// A tensor; `shape` is `None` when the rank is not given.
    Tensor { dtype: DType, shape: Option<Vec<Dim>> },
    /// A sparse tensor.
    SparseTensor { dtype: DType, shape: Option<Vec<Dim>> },
    /// A sequence of values of one type.
    Sequence(Box<ValueType>),
    /// A map from a key type to values of one type.
    Map { key: DType, value: Box<ValueType> },
    /// An optional value.
    Optional(Box<ValueType>),
    /// Not given (or a kind this version of ONNX does not know).
    Unknown,
}

impl ValueType {
    /// The text form used in graph text: `F32[B, N]`, `Seq<F32[?*]>`, `Map<I64, F32[]>`.
    pub fn text(&self) -> String {
        let shaped = |dtype: &DType, shape: &Option<Vec<Dim>>| match shape {
            Some(s) => format!("{dtype}{}", crate::dim::shape_text(s)),
            None => format!("{dtype}[?*]"),
        };
        match self {
            ValueType::Tensor { dtype, shape } => shaped(dtype, shape),
            ValueType::SparseTensor { dtype, shape } => format!("Sparse<{}>", shaped(dtype, shape)),
            ValueType::Sequence(t) => format!("Seq<{}>", t.text()),
            ValueType::Map { key, value } => format!("Map<{key}, {}>", value.text()),
            ValueType::Optional(t) => format!("Opt<{}>", t.text()),
            ValueType::Unknown => "?".into(),
        }
    }
}

/// A declared type as the model wrote it: the parsed view and the encoded `ValueInfoProto`
/// (name cleared), written back unchanged.
#[derive(Clone, Debug, PartialEq)]
pub struct Declared {
    /// The type.
    pub ty: ValueType,
    /// The encoded declaration (written back verbatim by `rotor-export`).
    pub encoded: Vec<u8>,
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
    /// The type the model declared for this value, if it declared one.
    pub declared: Option<Declared>,
}

impl ValueInfo {
    /// Rank, when known.
    pub fn rank(&self) -> Option<usize> {
        self.shape.as_ref().map(|s| s.len())
    }

    /// `F32[B, N, 64]`, `F32[?*]` when the rank is unknown, or the declared non-tensor type.
    pub fn type_text(&self) -> String {
        if let Some(Declared { ty, .. }) = &self.declared
            && !matches!(ty, ValueType::Tensor { .. } | ValueType::Unknown)
        {
            return ty.text();
        }
        match &self.shape {
            Some(s) => format!("{}{}", self.dtype, crate::dim::shape_text(s)),
            None => format!("{}[?*]", self.dtype),
        }
    }
}

/// A sparse tensor (sparse initializers and attributes), carried as its encoded
/// `SparseTensorProto` with the type and dims shown in graph text.
#[derive(Clone, Debug, PartialEq)]
pub struct SparseTensor {
    /// Element type of the values.
    pub dtype: DType,
    /// Dense shape.
    pub dims: Vec<i64>,
    /// The encoded `SparseTensorProto`.
    pub encoded: Vec<u8>,
}

/// A `TYPE_PROTO` attribute value: the parsed view and the encoded `TypeProto`.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeAttr {
    /// The type.
    pub ty: ValueType,
    /// The encoded `TypeProto`.
    pub encoded: Vec<u8>,
}

/// A node attribute value.
#[derive(Clone, Debug, PartialEq)]
pub enum Attr {
    Int(i64),
    Float(f32),
    Ints(Vec<i64>),
    Floats(Vec<f32>),
    /// A UTF-8 string.
    Str(String),
    /// A string attribute whose bytes are not UTF-8.
    Bytes(Vec<u8>),
    Strings(Vec<Vec<u8>>),
    Tensor(Tensor),
    Tensors(Vec<Tensor>),
    /// A subgraph (`If` branches, `Loop`/`Scan` bodies).
    Graph(Box<Graph>),
    Graphs(Vec<Graph>),
    SparseTensor(SparseTensor),
    SparseTensors(Vec<SparseTensor>),
    TypeProto(TypeAttr),
    TypeProtos(Vec<TypeAttr>),
    /// An attribute carried as its encoded `AttributeProto` (a reference to an attribute of an
    /// enclosing function, a doc string on the attribute, or a kind ONNX adds later).
    Opaque(Vec<u8>),
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
impl From<Graph> for Attr {
    fn from(v: Graph) -> Attr {
        Attr::Graph(Box::new(v))
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
    /// Stable id.
    pub id: NodeId,
    /// Dotted name (unique in graphs rotor builds; loaded models keep theirs, even empty).
    pub name: String,
    /// ONNX op type.
    pub op_type: String,
    /// Op domain: `""` for ai.onnx, `"com.microsoft"` for ORT contrib ops.
    pub domain: String,
    /// Inputs; `None` for an omitted optional input.
    pub inputs: Vec<Option<Value>>,
    /// Outputs; `None` for an omitted optional output (an empty name in ONNX).
    pub outputs: Vec<Option<Value>>,
    /// Attributes.
    pub attrs: Attrs,
    /// Doc string.
    pub doc: Option<String>,
    /// Fields rotor does not interpret (overload, metadata, device configurations), encoded as
    /// a `NodeProto` and merged back when saving.
    pub extra: Vec<u8>,
}

impl Node {
    /// The attribute named `name`, if set.
    pub fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The output values that exist (skipping omitted slots).
    pub fn output_values(&self) -> impl Iterator<Item = Value> + '_ {
        self.outputs.iter().flatten().copied()
    }

    /// `op` or `domain.op`.
    pub fn qualified_op(&self) -> String {
        if self.domain.is_empty() { self.op_type.clone() } else { format!("{}.{}", self.domain, self.op_type) }
    }

    /// Subgraphs held in attributes, with the attribute name.
    pub fn subgraphs(&self) -> Vec<(&str, &Graph)> {
        let mut v = Vec::new();
        for (k, a) in &self.attrs {
            match a {
                Attr::Graph(g) => v.push((k.as_str(), g.as_ref())),
                Attr::Graphs(gs) => v.extend(gs.iter().map(|g| (k.as_str(), g))),
                _ => {}
            }
        }
        v
    }
}

/// A model-local function, carried as its encoded `FunctionProto`.
#[derive(Clone, Debug, PartialEq)]
pub struct Function {
    /// Domain of the function (the op domain nodes call it with).
    pub domain: String,
    /// Name (the op type nodes call it with).
    pub name: String,
    /// Overload, if any.
    pub overload: String,
    /// Formal inputs and outputs (for graph text).
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    /// Number of nodes in its body (for graph text).
    pub node_count: usize,
    /// The encoded `FunctionProto`.
    pub encoded: Vec<u8>,
}

/// Model-level fields of a loaded model, kept for saving it back. Graphs rotor builds leave
/// them empty; `rotor-export` then writes rotor's own header.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelInfo {
    /// `ir_version` as the model declared it.
    pub ir_version: Option<i64>,
    /// Opset imports in the model's order, `(domain, version)`; `""` is ai.onnx.
    pub opset_imports: Vec<(String, i64)>,
    pub producer_name: Option<String>,
    pub producer_version: Option<String>,
    pub domain: Option<String>,
    pub model_version: Option<i64>,
    pub doc: Option<String>,
    /// Model-local functions.
    pub functions: Vec<Function>,
    /// Fields rotor does not interpret (training info, device configurations, ...), encoded as
    /// the model message and merged back when saving.
    pub extra: Vec<u8>,
    /// True for a graph read from a file (save it as it came, declared types only).
    pub loaded: bool,
    /// The external data files the model's tensors are read from (mapped lazily), as the loader
    /// resolved them: a write over one of them would destroy the input.
    pub data_files: Vec<std::path::PathBuf>,
}

/// A graph under construction (and, once outputs are set, a finished graph).
#[derive(Clone, Debug)]
pub struct Graph {
    name: String,
    opset: i64,
    values: Vec<ValueInfo>,
    uses: Vec<Vec<Use>>,
    nodes: Vec<Node>,
    /// `NodeId` → position in `nodes` (`usize::MAX` once removed).
    node_pos: Vec<usize>,
    inputs: Vec<Value>,
    outputs: Vec<Value>,
    initializers: Vec<(Value, Tensor)>,
    init_index: HashMap<Value, usize>,
    init_extra: HashMap<Value, Vec<u8>>,
    sparse_initializers: Vec<(Value, SparseTensor)>,
    captures: Vec<Value>,
    value_info_order: Vec<Value>,
    value_names: HashMap<String, Value>,
    node_names: HashSet<String>,
    metadata: Vec<(String, String)>,
    lenient: bool,
    subgraph: bool,
    doc: Option<String>,
    extra: Vec<u8>,
    model: ModelInfo,
}

impl Graph {
    fn empty(name: &str, opset: i64, lenient: bool, subgraph: bool) -> Graph {
        Graph {
            name: name.to_string(),
            opset,
            values: Vec::new(),
            uses: Vec::new(),
            nodes: Vec::new(),
            node_pos: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            initializers: Vec::new(),
            init_index: HashMap::new(),
            init_extra: HashMap::new(),
            sparse_initializers: Vec::new(),
            captures: Vec::new(),
            value_info_order: Vec::new(),
            value_names: HashMap::new(),
            node_names: HashSet::new(),
            metadata: Vec::new(),
            lenient,
            subgraph,
            doc: None,
            extra: Vec::new(),
            model: ModelInfo::default(),
        }
    }

    /// An empty graph for the given ai.onnx opset (any opset ONNX has: 1 and up; which ops a
    /// graph may hold at it is each op's business, see [`crate::ops`]).
    pub fn new(name: &str, opset: i64) -> Result<Graph, BuildError> {
        if opset < 1 {
            return Err(BuildError::Graph { graph: name.to_string(), message: format!("opset {opset} is not an ai.onnx opset (they start at 1)") });
        }
        Ok(Graph::empty(name, opset, false, false))
    }

    /// A graph whose nodes get unknown types instead of errors when inference fails, and whose
    /// node names may repeat or be empty (used when loading models written by other tools).
    pub fn new_lenient(name: &str, opset: i64) -> Graph {
        Graph::empty(name, opset, true, false)
    }

    /// An empty subgraph (a body of `If`/`Loop`/`Scan`) of a graph at `opset`. Names it reads
    /// from enclosing graphs become captures ([`Graph::capture`]).
    pub fn new_subgraph(name: &str, opset: i64, lenient: bool) -> Graph {
        Graph::empty(name, opset, lenient, true)
    }

    // ----- accessors -------------------------------------------------------------------------

    /// Graph name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// ai.onnx opset the graph targets (inference follows it).
    pub fn opset(&self) -> i64 {
        self.opset
    }
    /// Move the graph to another ai.onnx opset (inference of nodes added from now on follows
    /// it) and record it in the model's opset imports. The caller checks that every node keeps
    /// its meaning at the new opset.
    pub fn set_opset(&mut self, opset: i64) {
        self.opset = opset;
        match self.model.opset_imports.iter_mut().find(|(d, _)| d.is_empty() || d == "ai.onnx") {
            Some(entry) => entry.1 = opset,
            None if self.model.loaded => self.model.opset_imports.push((String::new(), opset)),
            None => {}
        }
    }

    /// True for graphs of loaded models (inference failures give unknown types).
    pub fn is_lenient(&self) -> bool {
        self.lenient
    }
    /// True for subgraphs (bodies of `If`/`Loop`/`Scan`).
    pub fn is_subgraph(&self) -> bool {
        self.subgraph
    }
    /// Nodes in order (topological for graphs built or loaded by rotor).
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }
    /// The node with this id (`None` once removed).
    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.node_pos.get(id.0).and_then(|p| self.nodes.get(*p))
    }
    /// True when a node of this graph is named `name`.
    pub fn has_node_name(&self, name: &str) -> bool {
        self.node_names.contains(name)
    }
    /// How many node ids the graph has handed out (removed nodes included): the index the next
    /// added node gets.
    pub fn node_id_bound(&self) -> usize {
        self.node_pos.len()
    }
    /// Position of a node in [`Graph::nodes`].
    pub fn position(&self, id: NodeId) -> Option<usize> {
        self.node_pos.get(id.0).copied().filter(|p| *p < self.nodes.len())
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
    /// Sparse initializers in order.
    pub fn sparse_initializers(&self) -> &[(Value, SparseTensor)] {
        &self.sparse_initializers
    }
    /// Values of enclosing graphs that this subgraph reads.
    pub fn captures(&self) -> &[Value] {
        &self.captures
    }
    /// Values the model listed in `value_info`, in its order.
    pub fn value_info_order(&self) -> &[Value] {
        &self.value_info_order
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
        self.init_index.get(&v).map(|i| &self.initializers[*i].1)
    }
    /// The node producing a value, if a node does.
    pub fn producer(&self, v: Value) -> Option<NodeId> {
        match self.values[v.0].origin {
            Origin::Node { node, .. } => Some(node),
            _ => None,
        }
    }
    /// Every use of a value by a node of this graph (graph outputs are not listed: see
    /// [`Graph::is_output`]).
    pub fn uses(&self, v: Value) -> &[Use] {
        &self.uses[v.0]
    }
    /// True when the value is a graph output.
    pub fn is_output(&self, v: Value) -> bool {
        self.outputs.contains(&v)
    }
    /// True when nothing reads the value (no node, not a graph output).
    pub fn is_unused(&self, v: Value) -> bool {
        self.uses[v.0].is_empty() && !self.is_output(v)
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
    /// The graph's doc string.
    pub fn doc(&self) -> Option<&str> {
        self.doc.as_deref()
    }
    /// Set the graph's doc string.
    pub fn set_doc(&mut self, doc: Option<String>) {
        self.doc = doc;
    }
    /// Encoded `GraphProto` fields rotor does not interpret (merged back when saving).
    pub fn extra(&self) -> &[u8] {
        &self.extra
    }
    /// Set the uninterpreted `GraphProto` fields.
    pub fn set_extra(&mut self, extra: Vec<u8>) {
        self.extra = extra;
    }
    /// Model-level fields (loaded models).
    pub fn model_info(&self) -> &ModelInfo {
        &self.model
    }
    /// Model-level fields, for editing.
    pub fn model_info_mut(&mut self) -> &mut ModelInfo {
        &mut self.model
    }
    /// Counts of nodes by op type, sorted by op type.
    pub fn op_counts(&self) -> Vec<(String, usize)> {
        let mut m: std::collections::BTreeMap<String, usize> = Default::default();
        for n in &self.nodes {
            *m.entry(n.op_type.clone()).or_default() += 1;
        }
        m.into_iter().collect()
    }
    /// Domains used by nodes other than ai.onnx (subgraphs included), sorted.
    pub fn extra_domains(&self) -> Vec<String> {
        let mut d: Vec<String> = Vec::new();
        self.visit_nodes(&mut |n| {
            if !n.domain.is_empty() && n.domain != "ai.onnx" {
                d.push(n.domain.clone());
            }
        });
        d.sort();
        d.dedup();
        d
    }
    /// Visit every node, subgraphs included (depth first, a node before its subgraphs' nodes).
    pub fn visit_nodes(&self, f: &mut dyn FnMut(&Node)) {
        for n in &self.nodes {
            f(n);
            for (_, g) in n.subgraphs() {
                g.visit_nodes(f);
            }
        }
    }
    /// Number of nodes, subgraphs included.
    pub fn node_count_deep(&self) -> usize {
        let mut c = 0;
        self.visit_nodes(&mut |_| c += 1);
        c
    }

    /// True when `v` still names a value of this graph (its producer was not removed).
    pub fn is_live(&self, v: Value) -> bool {
        self.values.get(v.0).is_some_and(|i| i.origin != Origin::Detached)
    }

    // ----- naming ----------------------------------------------------------------------------

    /// A value name not used yet, made from `base` (`base`, `base.1`, `base.2`, ...).
    pub fn fresh_name(&self, base: &str) -> String {
        if !base.is_empty() && !self.value_names.contains_key(base) && !self.node_names.contains(base) {
            return base.to_string();
        }
        (1..).map(|i| format!("{base}.{i}")).find(|n| !self.value_names.contains_key(n) && !self.node_names.contains(n)).unwrap_or_default()
    }

    fn new_value(&mut self, name: String, dtype: DType, shape: Option<Vec<Dim>>, sym_value: Option<Vec<Dim>>, origin: Origin) -> Result<Value, BuildError> {
        if name.is_empty() || self.value_names.contains_key(&name) {
            return Err(BuildError::DuplicateName(name));
        }
        let v = Value(self.values.len());
        self.value_names.insert(name.clone(), v);
        self.values.push(ValueInfo { name, dtype, shape, sym_value, origin, declared: None });
        self.uses.push(Vec::new());
        Ok(v)
    }

    /// Rename a value (graph inputs and outputs included). Fails when the name is taken.
    pub fn rename_value(&mut self, v: Value, name: &str) -> Result<(), BuildError> {
        if self.values[v.0].name == name {
            return Ok(());
        }
        if name.is_empty() || self.value_names.contains_key(name) {
            return Err(BuildError::DuplicateName(name.to_string()));
        }
        let old = std::mem::replace(&mut self.values[v.0].name, name.to_string());
        self.value_names.remove(&old);
        self.value_names.insert(name.to_string(), v);
        // Subgraphs read outer values by name: follow the rename there.
        for u in self.uses[v.0].clone() {
            if u.slot == Use::IMPLICIT
                && let Some(p) = self.position(u.node)
            {
                for (_, a) in self.nodes[p].attrs.iter_mut() {
                    for g in subgraphs_mut(a) {
                        g.rename_capture(&old, name);
                    }
                }
            }
        }
        Ok(())
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

    /// List an existing value (an initializer with a default, in old models) as a graph input.
    pub fn mark_input(&mut self, v: Value) {
        self.inputs.push(v);
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
            self.rename_value(v, name)?;
            v
        } else {
            self.add_node_full(name, "Identity", "", &[Some(v)], Vec::new(), &[name.to_string()])?[0]
        };
        self.outputs.push(out);
        Ok(out)
    }

    /// Mark an existing value as a graph output under its own name (used by the ONNX loader).
    pub fn mark_output(&mut self, v: Value) {
        self.outputs.push(v);
    }

    /// Replace the graph outputs.
    pub fn set_outputs(&mut self, outputs: Vec<Value>) {
        self.outputs = outputs;
    }

    /// Add an initializer with an exact (unscoped) name.
    pub fn constant_raw(&mut self, name: &str, t: Tensor) -> Result<Value, BuildError> {
        let shape: Vec<Dim> = t.dims().iter().map(|d| Dim::Fixed(*d)).collect();
        let sym_value = t.small_values();
        let v = self.new_value(name.to_string(), t.dtype(), Some(shape), sym_value, Origin::Initializer)?;
        self.init_index.insert(v, self.initializers.len());
        self.initializers.push((v, t));
        Ok(v)
    }

    /// Fields of an initializer's `TensorProto` rotor does not interpret (doc string, metadata),
    /// encoded; empty when there are none.
    pub fn initializer_extra(&self, v: Value) -> &[u8] {
        self.init_extra.get(&v).map_or(&[], Vec::as_slice)
    }

    /// Keep uninterpreted `TensorProto` fields of an initializer (loader).
    pub fn set_initializer_extra(&mut self, v: Value, extra: Vec<u8>) {
        if extra.is_empty() {
            self.init_extra.remove(&v);
        } else {
            self.init_extra.insert(v, extra);
        }
    }

    /// Add a sparse initializer (loaded models).
    pub fn sparse_constant_raw(&mut self, name: &str, t: SparseTensor) -> Result<Value, BuildError> {
        let shape: Vec<Dim> = t.dims.iter().map(|d| Dim::Fixed(*d)).collect();
        let v = self.new_value(name.to_string(), t.dtype, Some(shape), None, Origin::SparseInitializer)?;
        self.sparse_initializers.push((v, t));
        Ok(v)
    }

    /// Replace the tensor of an initializer (same name); the value's type follows the tensor.
    pub fn set_constant(&mut self, v: Value, t: Tensor) -> Result<(), BuildError> {
        let Some(i) = self.init_index.get(&v).copied() else {
            return Err(BuildError::Graph { graph: self.name.clone(), message: format!("{} is not an initializer", self.values[v.0].name) });
        };
        let info = &mut self.values[v.0];
        info.dtype = t.dtype();
        info.shape = Some(t.dims().iter().map(|d| Dim::Fixed(*d)).collect());
        info.sym_value = t.small_values();
        self.initializers[i].1 = t;
        Ok(())
    }

    /// Read a value of an enclosing graph in this subgraph (by its name there). Returns the
    /// existing capture when the name is already captured.
    pub fn capture(&mut self, name: &str, dtype: DType, shape: Option<Vec<Dim>>) -> Result<Value, BuildError> {
        if let Some(v) = self.value_by_name(name) {
            return Ok(v);
        }
        let v = self.new_value(name.to_string(), dtype, shape, None, Origin::Outer)?;
        self.captures.push(v);
        Ok(v)
    }

    /// A value standing for `info` of another graph (a patch taps the graph it rewrites this way):
    /// a capture carrying the other value's type, shape and symbolic value, so inference over it
    /// is what inference over the original is.
    pub fn capture_like(&mut self, info: &ValueInfo) -> Result<Value, BuildError> {
        if let Some(v) = self.value_by_name(&info.name) {
            return Ok(v);
        }
        let v = self.new_value(info.name.clone(), info.dtype, info.shape.clone(), info.sym_value.clone(), Origin::Outer)?;
        self.captures.push(v);
        Ok(v)
    }

    /// Run `f` on each subgraph held by node `id` (with its attribute name). Edits inside a body
    /// must keep the outer values it reads (its captures) as they are.
    pub fn edit_subgraphs<E>(&mut self, id: NodeId, mut f: impl FnMut(&str, &mut Graph) -> Result<(), E>) -> Result<(), E> {
        let Some(p) = self.position(id) else { return Ok(()) };
        for (name, a) in self.nodes[p].attrs.iter_mut() {
            for g in subgraphs_mut(a) {
                f(name, g)?;
            }
        }
        Ok(())
    }

    fn rename_capture(&mut self, old: &str, new: &str) {
        let Some(v) = self.value_by_name(old) else { return };
        if self.values[v.0].origin != Origin::Outer {
            return;
        }
        match self.value_by_name(new) {
            // Already captured under the new name: point the uses there and drop the old capture.
            Some(existing) if existing != v => {
                let _ = self.replace_all_uses(v, existing);
                self.captures.retain(|c| *c != v);
                self.value_names.remove(old);
                self.values[v.0].origin = Origin::Detached;
            }
            _ => {
                let _ = self.rename_value(v, new);
            }
        }
    }

    /// Record the model's declared type of a value; a type or shape inference left unknown is
    /// taken from the declaration.
    pub fn declare(&mut self, v: Value, declared: Declared, in_value_info: bool) {
        let info = &mut self.values[v.0];
        if let ValueType::Tensor { dtype, shape } = &declared.ty {
            if info.dtype == DType::Undefined {
                info.dtype = *dtype;
            }
            if info.shape.is_none() {
                info.shape.clone_from(shape);
            }
        }
        info.declared = Some(declared);
        if in_value_info {
            self.value_info_order.push(v);
        }
    }

    /// Drop the declared type of a value (after a pass changed its type).
    pub fn forget_declared(&mut self, v: Value) {
        self.values[v.0].declared = None;
    }

    // ----- nodes -----------------------------------------------------------------------------

    /// Add a node with explicit node and output names (unscoped; an empty output name is an
    /// omitted optional output). Types are inferred; in a lenient graph an inference failure
    /// gives unknown types instead of an error. Returns the values of the named outputs.
    pub fn add_node_full(
        &mut self,
        name: &str,
        op: &str,
        domain: &str,
        inputs: &[Option<Value>],
        attrs: Attrs,
        output_names: &[String],
    ) -> Result<Vec<Value>, BuildError> {
        let id = self.add_node_raw(name, op, domain, inputs, attrs, output_names)?;
        let pos = self.node_pos[id.0];
        Ok(self.nodes[pos].output_values().collect())
    }

    /// [`Graph::add_node_full`], returning the new node's id.
    pub fn add_node_raw(
        &mut self,
        name: &str,
        op: &str,
        domain: &str,
        inputs: &[Option<Value>],
        attrs: Attrs,
        output_names: &[String],
    ) -> Result<NodeId, BuildError> {
        self.insert_node(None, !self.lenient, name, op, domain, inputs, attrs, output_names)
    }

    /// Add a node before node `before` (at the end when `None`). With `strict`, inference
    /// must accept the node and names must be unique, whatever the graph's leniency: what a
    /// pass adds to a loaded model is checked like a node of a built graph.
    #[allow(clippy::too_many_arguments, reason = "the fields of one ONNX node, as NodeProto has them")]
    pub fn insert_node(
        &mut self,
        before: Option<NodeId>,
        strict: bool,
        name: &str,
        op: &str,
        domain: &str,
        inputs: &[Option<Value>],
        attrs: Attrs,
        output_names: &[String],
    ) -> Result<NodeId, BuildError> {
        let lenient = !strict;
        if !lenient && (name.is_empty() || self.node_names.contains(name)) {
            return Err(BuildError::DuplicateName(name.to_string()));
        }
        if let Some(bad) = inputs.iter().flatten().find(|v| v.0 >= self.values.len() || self.values[v.0].origin == Origin::Detached) {
            return Err(BuildError::Graph { graph: self.name.clone(), message: format!("node {name}: input #{} is not a live value of this graph", bad.0) });
        }
        let mut seen = HashSet::new();
        if let Some(dup) = output_names.iter().filter(|n| !n.is_empty()).find(|n| !seen.insert(n.as_str()) || self.value_names.contains_key(n.as_str())) {
            return Err(BuildError::DuplicateName(dup.clone()));
        }
        // Outer values the subgraphs read: resolve them here (capturing them in turn when this
        // graph is itself a subgraph).
        let mut implicit = Vec::new();
        for (_, a) in &attrs {
            for g in subgraphs(a) {
                for c in g.free_names() {
                    let v = match self.value_by_name(&c) {
                        Some(v) => v,
                        None if self.subgraph => {
                            let (dtype, shape) = g.value_by_name(&c).map(|v| (g.dtype(v), g.info(v).shape.clone())).unwrap_or((DType::Undefined, None));
                            self.capture(&c, dtype, shape)?
                        }
                        None => {
                            return Err(BuildError::Graph {
                                graph: self.name.clone(),
                                message: format!("node {name}: its subgraph reads {c:?}, which is not defined"),
                            });
                        }
                    };
                    if !implicit.contains(&v) {
                        implicit.push(v);
                    }
                }
            }
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
            Ok(_) if lenient => vec![ops::Inferred::unknown(); output_names.len()],
            Ok(outs) => {
                return Err(BuildError::Op {
                    node: name.to_string(),
                    op: op.to_string(),
                    source: InferError::Invalid(format!("{} outputs requested, the op has {}", output_names.len(), outs.len())),
                });
            }
            Err(_) if lenient => vec![ops::Inferred::unknown(); output_names.len()],
            Err(e) => return Err(e),
        };
        let id = NodeId(self.node_pos.len());
        let mut outputs = Vec::with_capacity(output_names.len());
        for (slot, (out_name, inf)) in output_names.iter().zip(inferred).enumerate() {
            if out_name.is_empty() {
                outputs.push(None);
                continue;
            }
            outputs.push(Some(self.new_value(out_name.clone(), inf.dtype, inf.shape, inf.sym_value, Origin::Node { node: id, slot })?));
        }
        for (slot, v) in inputs.iter().enumerate() {
            if let Some(v) = v {
                self.uses[v.0].push(Use { node: id, slot });
            }
        }
        for v in implicit {
            self.uses[v.0].push(Use { node: id, slot: Use::IMPLICIT });
        }
        if !name.is_empty() {
            self.node_names.insert(name.to_string());
        }
        let node = Node {
            id,
            name: name.to_string(),
            op_type: op.to_string(),
            domain: domain.to_string(),
            inputs: inputs.to_vec(),
            outputs,
            attrs,
            doc: None,
            extra: Vec::new(),
        };
        match before.and_then(|b| self.position(b)) {
            Some(p) => {
                self.nodes.insert(p, node);
                self.node_pos.push(p);
                self.reindex_from(p);
            }
            None => {
                self.node_pos.push(self.nodes.len());
                self.nodes.push(node);
            }
        }
        Ok(id)
    }

    fn reindex_from(&mut self, from: usize) {
        for (p, n) in self.nodes.iter().enumerate().skip(from) {
            self.node_pos[n.id.0] = p;
        }
    }

    /// Names this (sub)graph reads from enclosing graphs.
    fn free_names(&self) -> Vec<String> {
        self.captures.iter().filter(|v| self.values[v.0].origin == Origin::Outer).map(|v| self.values[v.0].name.clone()).collect()
    }

    /// Set a node's doc string and uninterpreted fields (loader).
    pub fn set_node_extras(&mut self, id: NodeId, doc: Option<String>, extra: Vec<u8>) {
        if let Some(p) = self.position(id) {
            self.nodes[p].doc = doc;
            self.nodes[p].extra = extra;
        }
    }

    /// Replace input `slot` of a node, keeping use lists right.
    pub fn set_input(&mut self, id: NodeId, slot: usize, v: Option<Value>) -> Result<(), BuildError> {
        let p = self.position(id).ok_or_else(|| self.gone(id))?;
        if slot >= self.nodes[p].inputs.len() {
            self.nodes[p].inputs.resize(slot + 1, None);
        }
        if let Some(old) = self.nodes[p].inputs[slot] {
            self.uses[old.0].retain(|u| !(u.node == id && u.slot == slot));
        }
        if let Some(new) = v {
            self.uses[new.0].push(Use { node: id, slot });
        }
        self.nodes[p].inputs[slot] = v;
        Ok(())
    }

    /// Replace an attribute of a node (added when absent). Subgraph attributes are not edited
    /// this way (their implicit uses would go stale).
    pub fn set_attr(&mut self, id: NodeId, name: &str, a: Attr) -> Result<(), BuildError> {
        let p = self.position(id).ok_or_else(|| self.gone(id))?;
        if matches!(a, Attr::Graph(_) | Attr::Graphs(_)) {
            return Err(BuildError::Graph {
                graph: self.name.clone(),
                message: format!("node {}: subgraph attributes cannot be replaced", self.nodes[p].name),
            });
        }
        let attrs = &mut self.nodes[p].attrs;
        match attrs.iter_mut().find(|(k, _)| k == name) {
            Some(entry) => entry.1 = a,
            None => attrs.push((name.to_string(), a)),
        }
        Ok(())
    }

    fn gone(&self, id: NodeId) -> BuildError {
        BuildError::Graph { graph: self.name.clone(), message: format!("node #{} was removed", id.0) }
    }

    /// Make every reader of `old` (node inputs, subgraphs, graph outputs) read `new` instead.
    /// When `old` is a graph output, `new` takes over its name so the model's interface keeps
    /// its names (`old` gets a fresh one).
    pub fn replace_all_uses(&mut self, old: Value, new: Value) -> Result<(), BuildError> {
        if old == new {
            return Ok(());
        }
        for u in self.uses[old.0].clone() {
            if u.slot == Use::IMPLICIT {
                let (old_name, new_name) = (self.values[old.0].name.clone(), self.values[new.0].name.clone());
                if let Some(p) = self.position(u.node) {
                    for (_, a) in self.nodes[p].attrs.iter_mut() {
                        for g in subgraphs_mut(a) {
                            g.rename_capture(&old_name, &new_name);
                        }
                    }
                }
                self.uses[old.0].retain(|x| *x != u);
                if !self.uses[new.0].contains(&u) {
                    self.uses[new.0].push(u);
                }
            } else {
                self.set_input(u.node, u.slot, Some(new))?;
            }
        }
        if self.outputs.contains(&old) {
            let out_name = self.values[old.0].name.clone();
            let keep_new_name = self.outputs.contains(&new) || !matches!(self.values[new.0].origin, Origin::Node { .. });
            for o in self.outputs.iter_mut().filter(|o| **o == old) {
                *o = new;
            }
            if !keep_new_name {
                let tmp = self.fresh_name(&format!("{out_name}.replaced"));
                self.rename_value(old, &tmp)?;
                self.rename_value(new, &out_name)?;
                // The declared output type moves with the name.
                let declared = self.values[old.0].declared.take();
                if self.values[new.0].declared.is_none() {
                    self.values[new.0].declared = declared;
                }
            }
        }
        Ok(())
    }

    /// Remove a node whose outputs nobody reads. Its output values are detached (their names
    /// become free).
    pub fn remove_node(&mut self, id: NodeId) -> Result<(), BuildError> {
        self.remove_nodes(&[id])
    }

    /// Remove several nodes at once (one pass over the node list). Fails, changing nothing, when
    /// an output of one of them is still read by a node that stays or is a graph output.
    pub fn remove_nodes(&mut self, ids: &[NodeId]) -> Result<(), BuildError> {
        let doomed: HashSet<NodeId> = ids.iter().copied().collect();
        for id in &doomed {
            let p = self.position(*id).ok_or_else(|| self.gone(*id))?;
            for v in self.nodes[p].output_values() {
                if self.is_output(v) || self.uses[v.0].iter().any(|u| !doomed.contains(&u.node)) {
                    return Err(BuildError::Graph {
                        graph: self.name.clone(),
                        message: format!("node {} cannot be removed: {} is still used", self.nodes[p].name, self.values[v.0].name),
                    });
                }
            }
        }
        for id in &doomed {
            let p = self.node_pos[id.0];
            let node = &self.nodes[p];
            let ins: Vec<Value> = node.inputs.iter().flatten().copied().collect();
            let outs: Vec<Value> = node.output_values().collect();
            let name = node.name.clone();
            let has_subgraphs = !node.subgraphs().is_empty();
            for v in ins {
                self.uses[v.0].retain(|u| u.node != *id);
            }
            if has_subgraphs {
                for uses in self.uses.iter_mut() {
                    uses.retain(|u| !(u.node == *id && u.slot == Use::IMPLICIT));
                }
            }
            for v in outs {
                let n = std::mem::take(&mut self.values[v.0].name);
                self.value_names.remove(&n);
                self.values[v.0].name = n;
                self.values[v.0].origin = Origin::Detached;
            }
            if !self.lenient || !self.nodes.iter().any(|n| n.id != *id && n.name == name) {
                self.node_names.remove(&name);
            }
        }
        self.nodes.retain(|n| !doomed.contains(&n.id));
        for id in &doomed {
            self.node_pos[id.0] = usize::MAX;
        }
        self.value_info_order.retain(|v| self.values[v.0].origin != Origin::Detached);
        self.reindex_from(0);
        Ok(())
    }

    /// Remove an initializer nobody reads.
    pub fn remove_initializer(&mut self, v: Value) -> Result<(), BuildError> {
        let Some(i) = self.init_index.get(&v).copied() else {
            return Err(BuildError::Graph { graph: self.name.clone(), message: format!("{} is not an initializer", self.values[v.0].name) });
        };
        if !self.is_unused(v) || self.inputs.contains(&v) {
            return Err(BuildError::Graph { graph: self.name.clone(), message: format!("initializer {} is still used", self.values[v.0].name) });
        }
        self.initializers.remove(i);
        self.init_index = self.initializers.iter().enumerate().map(|(i, (v, _))| (*v, i)).collect();
        let n = self.values[v.0].name.clone();
        self.value_names.remove(&n);
        self.values[v.0].origin = Origin::Detached;
        self.value_info_order.retain(|x| *x != v);
        Ok(())
    }

    /// Infer again, in node order, what is still unknown about node outputs (shapes, dims,
    /// element types, symbolic values) from the current inputs — after passes rewired inputs
    /// (a folded constant where a computed shape was). Never replaces anything already known,
    /// so declared types stay as declared. Returns how many values learned something.
    pub fn refresh_types(&mut self) -> usize {
        let mut learned = 0;
        for p in 0..self.nodes.len() {
            let node = &self.nodes[p];
            let inferred = {
                let infos: Vec<Option<&ValueInfo>> = node.inputs.iter().map(|i| i.map(|v| &self.values[v.0])).collect();
                let ctx = ops::InferCtx {
                    op: &node.op_type,
                    domain: &node.domain,
                    inputs: infos,
                    attrs: &node.attrs,
                    opset: self.opset,
                    num_outputs: node.outputs.len(),
                };
                match ops::infer(&ctx) {
                    Some(Ok(outs)) => outs,
                    _ => continue,
                }
            };
            let outs: Vec<Option<Value>> = node.outputs.clone();
            for (out, inf) in outs.iter().zip(inferred) {
                let Some(v) = out else { continue };
                let info = &mut self.values[v.0];
                let mut changed = false;
                if info.dtype == DType::Undefined && inf.dtype != DType::Undefined {
                    info.dtype = inf.dtype;
                    changed = true;
                }
                changed |= fill_unknown(&mut info.shape, inf.shape);
                changed |= fill_unknown(&mut info.sym_value, inf.sym_value);
                learned += usize::from(changed);
            }
        }
        learned
    }

    /// Put the nodes in topological order, keeping the current order wherever it already is
    /// one. Fails naming a node on a cycle.
    pub fn topo_sort(&mut self) -> Result<(), BuildError> {
        // producers of each node's inputs, and of the outer values its subgraphs read: one pass
        // over the nodes and one over the use lists (O(nodes + uses))
        let mut deps: Vec<Vec<usize>> =
            self.nodes.iter().map(|node| node.inputs.iter().flatten().filter_map(|v| self.producer(*v)).filter_map(|id| self.position(id)).collect()).collect();
        for (v, uses) in self.uses.iter().enumerate() {
            let Some(from) = self.producer(Value(v)).and_then(|id| self.position(id)) else { continue };
            for u in uses.iter().filter(|u| u.slot == Use::IMPLICIT) {
                if let Some(at) = self.position(u.node) {
                    deps[at].push(from);
                }
            }
        }
        let order = stable_topological_order(&deps).map_err(|stuck| BuildError::Graph {
            graph: self.name.clone(),
            message: format!("the graph has a cycle through node {:?}", self.nodes[stuck].name),
        })?;
        let mut old: Vec<Option<Node>> = std::mem::take(&mut self.nodes).into_iter().map(Some).collect();
        self.nodes = order.into_iter().filter_map(|p| old[p].take()).collect();
        self.reindex_from(0);
        Ok(())
    }

    /// Check that the graph is complete: at least one output.
    pub fn validate(&self) -> Result<(), BuildError> {
        if self.outputs.is_empty() && !self.model.loaded {
            return Err(BuildError::Graph { graph: self.name.clone(), message: "the graph has no outputs".into() });
        }
        Ok(())
    }
}

/// Take what `new` knows where `old` does not (a missing list, or unknown entries of a list of
/// the same length); true when anything was learned.
fn fill_unknown(old: &mut Option<Vec<Dim>>, new: Option<Vec<Dim>>) -> bool {
    match (old.as_mut(), new) {
        (None, Some(n)) => {
            *old = Some(n);
            true
        }
        (Some(o), Some(n)) if o.len() == n.len() => {
            let mut changed = false;
            for (a, b) in o.iter_mut().zip(n) {
                if matches!(a, Dim::Unknown) && !matches!(b, Dim::Unknown) {
                    *a = b;
                    changed = true;
                }
            }
            changed
        }
        _ => false,
    }
}

/// The IR version of the ONNX release that introduced `opset` (what runtimes expect with it).
pub fn ir_version_for(opset: i64) -> i64 {
    match opset {
        ..=14 => 7,
        15..=18 => 8,
        19..=20 => 9,
        21..=22 => 10,
        23 => 11,
        24 => 12,
        _ => 13,
    }
}

/// A topological order of `deps.len()` items, where `deps[i]` lists the items item `i` needs
/// (Kahn's algorithm, smallest ready index first: a list already in order keeps it). `Err(i)`
/// names an item on a cycle.
pub fn stable_topological_order(deps: &[Vec<usize>]) -> Result<Vec<usize>, usize> {
    let n = deps.len();
    let mut indegree = vec![0usize; n];
    let mut readers: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, d) in deps.iter().enumerate() {
        let mut d = d.clone();
        d.sort_unstable();
        d.dedup();
        indegree[i] = d.len();
        for x in d {
            readers[x].push(i);
        }
    }
    let mut ready: std::collections::BinaryHeap<std::cmp::Reverse<usize>> = (0..n).filter(|i| indegree[*i] == 0).map(std::cmp::Reverse).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(std::cmp::Reverse(i)) = ready.pop() {
        order.push(i);
        for &r in &readers[i] {
            indegree[r] -= 1;
            if indegree[r] == 0 {
                ready.push(std::cmp::Reverse(r));
            }
        }
    }
    match (0..n).find(|i| indegree[*i] > 0) {
        Some(stuck) => Err(stuck),
        None => Ok(order),
    }
}

fn subgraphs(a: &Attr) -> Vec<&Graph> {
    match a {
        Attr::Graph(g) => vec![g.as_ref()],
        Attr::Graphs(gs) => gs.iter().collect(),
        _ => Vec::new(),
    }
}

fn subgraphs_mut(a: &mut Attr) -> Vec<&mut Graph> {
    match a {
        Attr::Graph(g) => vec![g.as_mut()],
        Attr::Graphs(gs) => gs.iter_mut().collect(),
        _ => Vec::new(),
    }
}

impl PartialEq for Graph {
    /// Structural equality: same name, opset, nodes (names, ops, attributes, wiring by value
    /// name), inputs, outputs and initializers.
    fn eq(&self, other: &Graph) -> bool {
        let names = |g: &Graph, vs: &[Value]| vs.iter().map(|v| g.value_name(*v).to_string()).collect::<Vec<_>>();
        let opt_names = |g: &Graph, vs: &[Option<Value>]| vs.iter().map(|v| v.map(|v| g.value_name(v).to_string())).collect::<Vec<_>>();
        self.name == other.name
            && self.opset == other.opset
            && names(self, &self.inputs) == names(other, &other.inputs)
            && names(self, &self.outputs) == names(other, &other.outputs)
            && self.initializers.len() == other.initializers.len()
            && self.initializers.iter().zip(&other.initializers).all(|((a, x), (b, y))| self.value_name(*a) == other.value_name(*b) && x == y)
            && self.nodes.len() == other.nodes.len()
            && self.nodes.iter().zip(&other.nodes).all(|(a, b)| {
                a.name == b.name
                    && a.op_type == b.op_type
                    && a.domain == b.domain
                    && a.attrs == b.attrs
                    && opt_names(self, &a.inputs) == opt_names(other, &b.inputs)
                    && opt_names(self, &a.outputs) == opt_names(other, &b.outputs)
            })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed expectation panics, which is how a test fails")]
mod tests {
    use super::*;

    /// Add a one-output node named `name` (its output too).
    fn node(g: &mut Graph, name: &str, op: &str, inputs: &[Option<Value>], attrs: Attrs) -> Value {
        g.add_node_full(name, op, "", inputs, attrs, &[name.to_string()]).expect("node")[0]
    }

    fn chain() -> (Graph, Value, Value, Value) {
        let mut g = Graph::new("t", 17).expect("graph");
        let x = g.input("x", DType::F32, [Dim::sym("N")]).expect("x");
        let a = node(&mut g, "a", "Neg", &[Some(x)], Vec::new());
        let b = node(&mut g, "b", "Abs", &[Some(a)], Vec::new());
        g.output("y", b).expect("y");
        (g, x, a, b)
    }

    #[test]
    fn use_lists_follow_edits() {
        let (mut g, x, a, b) = chain();
        assert_eq!(g.uses(x).len(), 1);
        assert_eq!(g.uses(a), &[Use { node: g.producer(b).expect("b"), slot: 0 }]);
        // b reads x directly; a is then dead and can go.
        let bn = g.producer(b).expect("b");
        g.set_input(bn, 0, Some(x)).expect("rewire");
        assert!(g.is_unused(a));
        assert_eq!(g.uses(x).len(), 2);
        let an = g.producer(a).expect("a");
        g.remove_node(an).expect("remove");
        assert_eq!(g.uses(x).len(), 1);
        assert_eq!(g.nodes().len(), 1);
        assert!(g.value_by_name("a").is_none());
        // the id of b still works after the removal shifted positions
        assert_eq!(g.node(bn).map(|n| n.op_type.as_str()), Some("Abs"));
        assert_eq!(g.position(bn), Some(0));
    }

    #[test]
    fn removing_a_used_node_fails_and_changes_nothing() {
        let (mut g, _, a, _) = chain();
        let an = g.producer(a).expect("a");
        assert!(g.remove_node(an).is_err());
        assert_eq!(g.nodes().len(), 2);
    }

    #[test]
    fn replace_all_uses_keeps_output_names() {
        let (mut g, x, _, b) = chain();
        let c = node(&mut g, "c", "Relu", &[Some(x)], Vec::new());
        g.replace_all_uses(b, c).expect("replace");
        assert_eq!(g.outputs(), &[c]);
        assert_eq!(g.value_name(c), "y");
        assert!(g.is_unused(b));
    }

    #[test]
    fn insert_before_and_topo_sort() {
        let (mut g, x, a, _) = chain();
        let an = g.producer(a).expect("a");
        let zn = g.insert_node(Some(an), true, "z", "Relu", "", &[Some(x)], Vec::new(), &["z".to_string()]).expect("z");
        let z = g.node(zn).and_then(|n| n.outputs[0]).expect("z");
        assert_eq!(g.nodes()[0].name, "z");
        // Make a read z: still sorted. Then make z read b: a cycle-free reorder is needed.
        g.set_input(an, 0, Some(z)).expect("rewire");
        g.topo_sort().expect("sorted");
        let order: Vec<&str> = g.nodes().iter().map(|n| n.name.as_str()).collect();
        assert_eq!(order, ["z", "a", "b"]);
        let zn = g.producer(z).expect("z");
        let y = g.value_by_name("y").expect("y");
        g.set_input(zn, 0, Some(y)).expect("cycle");
        assert!(g.topo_sort().expect_err("cycle").to_string().contains("cycle"));
    }

    #[test]
    fn subgraph_reads_are_implicit_uses() {
        let mut g = Graph::new("t", 17).expect("graph");
        let c = g.input("c", DType::Bool, Vec::<Dim>::new()).expect("c");
        let x = g.input("x", DType::F32, [Dim::Fixed(2)]).expect("x");
        let mut body = Graph::new_subgraph("then", 17, false);
        let bx = body.capture("x", DType::F32, Some(vec![Dim::Fixed(2)])).expect("capture");
        let n = node(&mut body, "neg", "Neg", &[Some(bx)], Vec::new());
        body.output("out", n).expect("out");
        let mut other = Graph::new_subgraph("else", 17, false);
        let ox = other.capture("x", DType::F32, None).expect("capture");
        other.output("out2", ox).expect("out");
        let y = node(&mut g, "if", "If", &[Some(c)], vec![("then_branch".into(), body.into()), ("else_branch".into(), other.into())]);
        g.output("y", y).expect("y");
        assert_eq!(g.uses(x).len(), 1);
        assert_eq!(g.uses(x)[0].slot, Use::IMPLICIT);
        // Renaming x renames the captures inside.
        g.rename_value(x, "x2").expect("rename");
        let ifn = &g.nodes()[0];
        for (_, sg) in ifn.subgraphs() {
            assert!(sg.value_by_name("x2").is_some(), "{}", sg.name());
        }
    }
}
