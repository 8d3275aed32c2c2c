//! ONNX → IR, losslessly: decode a model and replay its nodes through the builder's inference
//! (so a loaded model prints with the same inferred types as the graph that produced it), while
//! keeping everything rotor does not interpret — declared types, doc strings, functions, opset
//! imports, fields of newer ONNX versions — for [`crate::to_model`] to write back.
//!
//! External data is read through one mapping per file, and only when a value is asked for; a
//! `location` that leaves the model's folder is refused.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use prost::Message;
use rotor_ir::{
    Attr, DType, Declared, Dim, ExternalData, ExternalSource, Function, Graph, ModelInfo, NodeId, SparseTensor, Tensor, TensorData, TypeAttr, ValueType,
};

use crate::error::ExportError;
use crate::proto::{
    AttributeProto, FunctionProto, GraphProto, ModelProto, NodeProto, SparseTensorProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
    attribute_proto::AttributeType, tensor_shape_proto, type_proto,
};

/// An external data file, mapped on first use.
#[derive(Debug)]
struct MappedFile {
    location: String,
    path: PathBuf,
    /// File size, read once when the file is first referenced.
    size: u64,
    map: OnceLock<Result<memmap2::Mmap, String>>,
}

/// Map an external data file opened read-only.
#[allow(unsafe_code, reason = "mapping a file is unsafe in Rust's terms; it is what keeps large weights off the heap")]
fn map_read_only(f: &std::fs::File) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: the file is opened read-only, and rotor never writes to a file it has mapped: saving
    // writes a new file and renames it into place, so a mapped inode is never changed under us
    // (`rotor opt IN -o IN` included). Another process truncating it is outside our control.
    unsafe { memmap2::Mmap::map(f) }
}

impl ExternalSource for MappedFile {
    fn location(&self) -> &str {
        &self.location
    }
    fn path(&self) -> &Path {
        &self.path
    }
    fn bytes(&self, offset: u64, length: u64) -> Result<&[u8], String> {
        let map = self
            .map
            .get_or_init(|| {
                let f = std::fs::File::open(&self.path).map_err(|e| format!("cannot open {}: {e}", self.path.display()))?;
                map_read_only(&f).map_err(|e| format!("cannot map {}: {e}", self.path.display()))
            })
            .as_ref()
            .map_err(Clone::clone)?;
        let (start, end) = (usize::try_from(offset).ok(), offset.checked_add(length).and_then(|e| usize::try_from(e).ok()));
        match (start, end) {
            (Some(s), Some(e)) if e <= map.len() => Ok(&map[s..e]),
            _ => Err(format!("bytes {offset}..+{length} are past the end of {} ({} bytes)", self.location, map.len())),
        }
    }
}

/// The declared type of a value, as rotor's tensor view.
fn value_type(t: &TypeProto) -> ValueType {
    use type_proto::Value as V;
    let shape = |s: &Option<TensorShapeProto>| s.as_ref().map(|s| s.dim.iter().map(dim_of).collect::<Vec<_>>());
    match &t.value {
        Some(V::TensorType(t)) => ValueType::Tensor { dtype: DType::from_onnx_code(t.elem_type.unwrap_or(0)), shape: shape(&t.shape) },
        Some(V::SparseTensorType(t)) => ValueType::SparseTensor { dtype: DType::from_onnx_code(t.elem_type.unwrap_or(0)), shape: shape(&t.shape) },
        Some(V::SequenceType(s)) => ValueType::Sequence(Box::new(s.elem_type.as_deref().map_or(ValueType::Unknown, value_type))),
        Some(V::MapType(m)) => ValueType::Map {
            key: DType::from_onnx_code(m.key_type.unwrap_or(0)),
            value: Box::new(m.value_type.as_deref().map_or(ValueType::Unknown, value_type)),
        },
        Some(V::OptionalType(o)) => ValueType::Optional(Box::new(o.elem_type.as_deref().map_or(ValueType::Unknown, value_type))),
        _ => ValueType::Unknown,
    }
}

/// A declared dimension. Negative sizes (invalid) read as unknown, so no inference ever sees them.
fn dim_of(d: &tensor_shape_proto::Dimension) -> Dim {
    match &d.value {
        Some(tensor_shape_proto::dimension::Value::DimValue(v)) if *v >= 0 => Dim::Fixed(*v),
        Some(tensor_shape_proto::dimension::Value::DimParam(p)) if !p.is_empty() => Dim::parse_param(p),
        _ => Dim::Unknown,
    }
}

fn declared(v: &ValueInfoProto) -> Declared {
    let ty = v.r#type.as_ref().map_or(ValueType::Unknown, value_type);
    let mut rest = v.clone();
    rest.name = None;
    Declared { ty, encoded: rest.encode_to_vec() }
}

fn tensor_view(d: &Declared) -> (DType, Option<Vec<Dim>>) {
    match &d.ty {
        ValueType::Tensor { dtype, shape } => (*dtype, shape.clone()),
        _ => (DType::Undefined, None),
    }
}

/// What the loader needs while it walks a model: the model's folder and the external files
/// mapped so far.
struct Loader<'a> {
    base_dir: Option<&'a Path>,
    files: HashMap<String, Arc<MappedFile>>,
    opset: i64,
}

/// Names and types visible from enclosing graphs, innermost first.
struct Scope<'p> {
    graph: &'p Graph,
    parent: Option<&'p Scope<'p>>,
}

impl Scope<'_> {
    fn lookup(&self, name: &str) -> Option<(DType, Option<Vec<Dim>>)> {
        match self.graph.value_by_name(name) {
            Some(v) => Some((self.graph.dtype(v), self.graph.info(v).shape.clone())),
            None => self.parent.and_then(|p| p.lookup(name)),
        }
    }
}

fn bad_tensor(name: &str, m: impl std::fmt::Display) -> ExportError {
    ExportError::Invalid(format!("tensor {name:?}: {m}"))
}

impl Loader<'_> {
    fn external(&mut self, t: &TensorProto, name: &str, dtype: DType) -> Result<Tensor, ExportError> {
        let get = |k: &str| t.external_data.iter().find(|e| e.key.as_deref() == Some(k)).and_then(|e| e.value.clone());
        let location = get("location").ok_or_else(|| bad_tensor(name, "external data without a location"))?;
        let dir = self.base_dir.ok_or_else(|| bad_tensor(name, "external data needs the model's folder (load the model from a file)"))?;
        let rel = Path::new(&location);
        if location.is_empty() || rel.is_absolute() || rel.components().any(|c| !matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir)) {
            return Err(bad_tensor(name, format!("external data location {location:?} must stay inside the model's folder")));
        }
        let num = |k: &str| -> Result<Option<u64>, ExportError> {
            get(k).map(|v| v.trim().parse::<u64>().map_err(|_| bad_tensor(name, format!("bad external {k} {v:?}")))).transpose()
        };
        let offset = num("offset")?.unwrap_or(0);
        let file = match self.files.get(&location) {
            Some(f) => f.clone(),
            None => {
                let path = dir.join(rel);
                let size = std::fs::metadata(&path).map_err(ExportError::io("cannot read", &path))?.len();
                let f = Arc::new(MappedFile { location: location.clone(), path, size, map: OnceLock::new() });
                self.files.insert(location.clone(), f.clone());
                f
            }
        };
        let length = match num("length")? {
            Some(l) => l,
            None => file.size.checked_sub(offset).ok_or_else(|| bad_tensor(name, format!("external offset {offset} is past the end of {location}")))?,
        };
        let size = file.size;
        if offset.checked_add(length).is_none_or(|end| end > size) {
            return Err(bad_tensor(name, format!("external range {offset}+{length} is past the end of {location} ({size} bytes)")));
        }
        let dims = t.dims.clone();
        Tensor::external(dtype, dims, ExternalData { source: file, offset, length }).map_err(|m| bad_tensor(name, m))
    }

    fn tensor(&mut self, t: &TensorProto) -> Result<Tensor, ExportError> {
        let name = t.name.clone().unwrap_or_default();
        let dtype = DType::from_onnx_code(t.data_type.unwrap_or(0));
        if matches!(dtype, DType::Undefined | DType::Other(_)) {
            return Err(bad_tensor(&name, format!("element type {} is not an ONNX data type", t.data_type.unwrap_or(0))));
        }
        let dims = t.dims.clone();
        if !t.external_data.is_empty() || t.data_location == Some(crate::proto::tensor_proto::DataLocation::External as i32) {
            return self.external(t, &name, dtype);
        }
        let bad = |m: String| bad_tensor(&name, m);
        if dtype == DType::Str {
            return Tensor::new(dims, TensorData::Strings(t.string_data.clone())).map_err(bad);
        }
        if let Some(raw) = &t.raw_data {
            return Tensor::from_bytes(dtype, dims, raw).map_err(bad);
        }
        // Typed storage fields, by the rules of onnx.proto.
        let data = match dtype {
            DType::F32 => TensorData::F32(t.float_data.clone()),
            DType::F64 => TensorData::F64(t.double_data.clone()),
            DType::I64 => TensorData::I64(t.int64_data.clone()),
            DType::I32 => TensorData::I32(t.int32_data.clone()),
            DType::Bool => TensorData::Bool(t.int32_data.iter().map(|v| *v != 0).collect()),
            DType::F16 => TensorData::F16(t.int32_data.iter().map(|v| *v as u16).collect()),
            DType::BF16 => TensorData::BF16(t.int32_data.iter().map(|v| *v as u16).collect()),
            _ => {
                let bytes: Vec<u8> = match dtype {
                    DType::U8 | DType::I8 | DType::F8E4M3FN | DType::F8E4M3FNUZ | DType::F8E5M2 | DType::F8E5M2FNUZ | DType::F8E8M0 => {
                        t.int32_data.iter().map(|v| *v as u8).collect()
                    }
                    // packed sub-byte types: one packed byte per int32
                    DType::U4 | DType::I4 | DType::F4E2M1 | DType::U2 | DType::I2 | DType::F6E2M3 | DType::F6E3M2 => {
                        t.int32_data.iter().map(|v| *v as u8).collect()
                    }
                    DType::U16 | DType::I16 => t.int32_data.iter().flat_map(|v| (*v as u16).to_le_bytes()).collect(),
                    DType::U32 => t.uint64_data.iter().flat_map(|v| (*v as u32).to_le_bytes()).collect(),
                    DType::U64 => t.uint64_data.iter().flat_map(|v| v.to_le_bytes()).collect(),
                    DType::C64 => t.float_data.iter().flat_map(|v| v.to_le_bytes()).collect(),
                    DType::C128 => t.double_data.iter().flat_map(|v| v.to_le_bytes()).collect(),
                    _ => return Err(bad(format!("element type {dtype} has no data field"))),
                };
                return Tensor::from_bytes(dtype, dims, &bytes).map_err(bad);
            }
        };
        Tensor::new(dims, data).map_err(bad)
    }

    fn attr(&mut self, a: &AttributeProto, scope: &Scope, node: &str) -> Result<Attr, ExportError> {
        let name = a.name.as_deref().unwrap_or("");
        if a.ref_attr_name.is_some() || a.doc_string.is_some() {
            let mut rest = a.clone();
            rest.name = None;
            return Ok(Attr::Opaque(rest.encode_to_vec()));
        }
        let ty = a.r#type.and_then(|t| AttributeType::try_from(t).ok());
        let bad = |m: &str| ExportError::Invalid(format!("node {node:?}: attribute {name:?}: {m}"));
        Ok(match ty {
            Some(AttributeType::Int) => Attr::Int(a.i.unwrap_or(0)),
            Some(AttributeType::Float) => Attr::Float(a.f.unwrap_or(0.0)),
            Some(AttributeType::Ints) => Attr::Ints(a.ints.clone()),
            Some(AttributeType::Floats) => Attr::Floats(a.floats.clone()),
            Some(AttributeType::String) => {
                let bytes = a.s.clone().unwrap_or_default();
                match String::from_utf8(bytes) {
                    Ok(s) => Attr::Str(s),
                    Err(e) => Attr::Bytes(e.into_bytes()),
                }
            }
            Some(AttributeType::Strings) => Attr::Strings(a.strings.clone()),
            Some(AttributeType::Tensor) => Attr::Tensor(self.tensor(a.t.as_ref().ok_or_else(|| bad("TENSOR attribute without a tensor"))?)?),
            Some(AttributeType::Tensors) => Attr::Tensors(a.tensors.iter().map(|t| self.tensor(t)).collect::<Result<_, _>>()?),
            Some(AttributeType::Graph) => Attr::Graph(Box::new(self.graph(a.g.as_ref().ok_or_else(|| bad("GRAPH attribute without a graph"))?, Some(scope))?)),
            Some(AttributeType::Graphs) => Attr::Graphs(a.graphs.iter().map(|g| self.graph(g, Some(scope))).collect::<Result<_, _>>()?),
            Some(AttributeType::SparseTensor) => {
                Attr::SparseTensor(sparse(a.sparse_tensor.as_ref().ok_or_else(|| bad("SPARSE_TENSOR attribute without a tensor"))?))
            }
            Some(AttributeType::SparseTensors) => Attr::SparseTensors(a.sparse_tensors.iter().map(sparse).collect()),
            Some(AttributeType::TypeProto) => {
                let t = a.tp.as_ref().ok_or_else(|| bad("TYPE_PROTO attribute without a type"))?;
                Attr::TypeProto(TypeAttr { ty: value_type(t), encoded: t.encode_to_vec() })
            }
            Some(AttributeType::TypeProtos) => {
                Attr::TypeProtos(a.type_protos.iter().map(|t| TypeAttr { ty: value_type(t), encoded: t.encode_to_vec() }).collect())
            }
            // An attribute without (or with an unknown) type: carry it as it is.
            Some(AttributeType::Undefined) | None => {
                let mut rest = a.clone();
                rest.name = None;
                Attr::Opaque(rest.encode_to_vec())
            }
        })
    }

    /// Load one graph (the main graph, or a subgraph with `outer` the enclosing scopes).
    fn graph(&mut self, gp: &GraphProto, outer: Option<&Scope>) -> Result<Graph, ExportError> {
        let gname = gp.name.clone().unwrap_or_default();
        let mut g = match outer {
            Some(_) => Graph::new_subgraph(&gname, self.opset, true),
            None => Graph::new_lenient(&gname, self.opset),
        };
        let dup = |what: &str, n: &str| ExportError::Invalid(format!("graph {gname:?}: {what} {n:?} is defined twice"));
        let value_info: HashMap<&str, &ValueInfoProto> = gp.value_info.iter().filter_map(|v| v.name.as_deref().map(|n| (n, v))).collect();

        // 1. Initializers (dense and sparse), then inputs (an input may name an initializer: a
        //    default value, in old IR versions).
        for t in &gp.initializer {
            let name = t.name.clone().unwrap_or_default();
            if name.is_empty() {
                return Err(ExportError::Invalid(format!("graph {gname:?}: an initializer has no name")));
            }
            let tensor = self.tensor(t)?;
            let v = g.constant_raw(&name, tensor).map_err(|_| dup("initializer", &name))?;
            let rest = TensorProto { doc_string: t.doc_string.clone(), metadata_props: t.metadata_props.clone(), segment: t.segment, ..Default::default() };
            if rest != TensorProto::default() {
                g.set_initializer_extra(v, rest.encode_to_vec());
            }
        }
        for s in &gp.sparse_initializer {
            let name = s.values.as_ref().and_then(|v| v.name.clone()).unwrap_or_default();
            g.sparse_constant_raw(&name, sparse(s)).map_err(|_| dup("sparse initializer", &name))?;
        }
        for i in &gp.input {
            let name = i.name.as_deref().unwrap_or("");
            let d = declared(i);
            let v = match g.value_by_name(name) {
                Some(v) if g.constant_of(v).is_some() && !g.inputs().contains(&v) => {
                    g.mark_input(v);
                    v
                }
                Some(_) => return Err(dup("input", name)),
                None => {
                    let (dtype, shape) = tensor_view(&d);
                    g.input_raw(name, dtype, shape).map_err(|_| ExportError::Invalid(format!("graph {gname:?}: input name {name:?} is empty or taken")))?
                }
            };
            g.declare(v, d, false);
        }

        // 2. Nodes, in a topological order (the model's own order when it is one).
        let order = node_order(gp, &g)?;
        // value_info of a graph output stays in the residual: the output entry declares it.
        let output_names: HashSet<&str> = gp.output.iter().filter_map(|o| o.name.as_deref()).collect();
        let mut declared_names: HashSet<String> = HashSet::new();
        for idx in order {
            let n = &gp.node[idx];
            let name = n.name.clone().unwrap_or_default();
            let mut inputs = Vec::with_capacity(n.input.len());
            for i in &n.input {
                if i.is_empty() {
                    inputs.push(None);
                    continue;
                }
                let v = match g.value_by_name(i) {
                    Some(v) => v,
                    None => match outer.and_then(|s| s.lookup(i)) {
                        Some((dtype, shape)) => g.capture(i, dtype, shape)?,
                        None => {
                            return Err(ExportError::Invalid(format!(
                                "node {name:?} ({}) reads {i:?}, which nothing defines",
                                n.op_type.as_deref().unwrap_or("")
                            )));
                        }
                    },
                };
                inputs.push(Some(v));
            }
            let mut attrs = Vec::with_capacity(n.attribute.len());
            {
                let here = Scope { graph: &g, parent: outer };
                for a in &n.attribute {
                    attrs.push((a.name.clone().unwrap_or_default(), self.attr(a, &here, &name)?));
                }
            }
            let op = n.op_type.as_deref().unwrap_or("");
            let domain = n.domain.as_deref().unwrap_or("");
            let id: NodeId =
                g.add_node_raw(&name, op, domain, &inputs, attrs, &n.output).map_err(|e| ExportError::Invalid(format!("node {name:?} ({op}): {e}")))?;
            let extra = NodeProto {
                overload: n.overload.clone(),
                metadata_props: n.metadata_props.clone(),
                device_configurations: n.device_configurations.clone(),
                ..Default::default()
            };
            let extra = if extra == NodeProto::default() { Vec::new() } else { extra.encode_to_vec() };
            g.set_node_extras(id, n.doc_string.clone(), extra);
            for o in n.output.iter().filter(|o| !o.is_empty() && !output_names.contains(o.as_str())) {
                if let (Some(vi), Some(v)) = (value_info.get(o.as_str()), g.value_by_name(o)) {
                    g.declare(v, declared(vi), true);
                    declared_names.insert(o.clone());
                }
            }
        }

        // 3. Outputs (a subgraph may return an outer value directly).
        for o in &gp.output {
            let name = o.name.as_deref().unwrap_or("");
            let v = match g.value_by_name(name) {
                Some(v) => v,
                None => match outer.and_then(|s| s.lookup(name)) {
                    Some((dtype, shape)) => g.capture(name, dtype, shape)?,
                    None => return Err(ExportError::Invalid(format!("graph {gname:?}: output {name:?} is not defined"))),
                },
            };
            // An output that is also an input keeps the input's declaration; a value listed as
            // an output twice keeps its first (saving writes one declaration per value).
            let first_listing = !g.outputs().contains(&v);
            g.mark_output(v);
            if first_listing && !g.inputs().contains(&v) {
                g.declare(v, declared(o), false);
            }
        }

        // 4. value_info entries for inputs, initializers and names nothing defines, and graph
        //    fields rotor does not interpret, are carried in the graph's residual.
        let mut rest =
            GraphProto { quantization_annotation: gp.quantization_annotation.clone(), metadata_props: gp.metadata_props.clone(), ..Default::default() };
        for vi in &gp.value_info {
            let name = vi.name.as_deref().unwrap_or("");
            if !declared_names.contains(name) {
                rest.value_info.push(vi.clone());
            }
        }
        if rest != GraphProto::default() {
            g.set_extra(rest.encode_to_vec());
        }
        g.set_doc(gp.doc_string.clone());
        Ok(g)
    }
}

fn sparse(s: &SparseTensorProto) -> SparseTensor {
    SparseTensor { dtype: DType::from_onnx_code(s.values.as_ref().and_then(|v| v.data_type).unwrap_or(0)), dims: s.dims.clone(), encoded: s.encode_to_vec() }
}

/// Every name a node reads, its subgraphs' reads of outer names included.
fn reads(n: &NodeProto, out: &mut Vec<String>) {
    out.extend(n.input.iter().filter(|i| !i.is_empty()).cloned());
    for a in &n.attribute {
        for g in a.g.iter().chain(a.graphs.iter()) {
            let local: HashSet<&str> = g
                .input
                .iter()
                .filter_map(|i| i.name.as_deref())
                .chain(g.initializer.iter().filter_map(|t| t.name.as_deref()))
                .chain(g.node.iter().flat_map(|n| n.output.iter().map(String::as_str)))
                .collect();
            let mut inner = Vec::new();
            for n in &g.node {
                reads(n, &mut inner);
            }
            inner.extend(g.output.iter().filter_map(|o| o.name.clone()));
            out.extend(inner.into_iter().filter(|i| !local.contains(i.as_str())));
        }
    }
}

/// Node indices in a topological order: the file's order where it is one (a stable sort).
fn node_order(gp: &GraphProto, g: &Graph) -> Result<Vec<usize>, ExportError> {
    let n = gp.node.len();
    let mut producer: HashMap<&str, usize> = HashMap::new();
    for (i, node) in gp.node.iter().enumerate() {
        for o in node.output.iter().filter(|o| !o.is_empty()) {
            if producer.insert(o.as_str(), i).is_some() || g.value_by_name(o).is_some() {
                return Err(ExportError::Invalid(format!("value {o:?} is defined twice (second time by node {:?})", node.name.as_deref().unwrap_or(""))));
            }
        }
    }
    let mut sorted = true;
    let mut deps = Vec::with_capacity(n);
    for (i, node) in gp.node.iter().enumerate() {
        let mut r = Vec::new();
        reads(node, &mut r);
        let d: Vec<usize> = r.iter().filter_map(|name| producer.get(name.as_str()).copied()).collect();
        if d.contains(&i) {
            return Err(ExportError::Invalid(format!("node {:?} reads its own output", node.name.as_deref().unwrap_or(""))));
        }
        sorted &= d.iter().all(|x| *x < i);
        deps.push(d);
    }
    if sorted {
        return Ok((0..n).collect());
    }
    rotor_ir::stable_topological_order(&deps)
        .map_err(|stuck| ExportError::Invalid(format!("the graph has a cycle through node {:?}", gp.node[stuck].name.as_deref().unwrap_or(""))))
}

fn function(f: &FunctionProto) -> Function {
    Function {
        domain: f.domain.clone().unwrap_or_default(),
        name: f.name.clone().unwrap_or_default(),
        overload: f.overload.clone().unwrap_or_default(),
        inputs: f.input.clone(),
        outputs: f.output.clone(),
        node_count: f.node.len(),
        encoded: f.encode_to_vec(),
    }
}

/// Decode a `ModelProto` into a (lenient) graph. External data is resolved against `base_dir`.
pub fn from_model(m: &ModelProto, base_dir: Option<&Path>) -> Result<Graph, ExportError> {
    let graph = m.graph.as_ref().ok_or_else(|| ExportError::Invalid("the model has no graph".into()))?;
    let opset_imports: Vec<(String, i64)> = m.opset_import.iter().map(|o| (o.domain.clone().unwrap_or_default(), o.version.unwrap_or(0))).collect();
    let opset = opset_imports.iter().find(|(d, _)| d.is_empty() || d == "ai.onnx").map_or(1, |(_, v)| *v);
    let mut loader = Loader { base_dir, files: HashMap::new(), opset };
    let mut g = loader.graph(graph, None)?;
    for p in &m.metadata_props {
        g.set_metadata(p.key.as_deref().unwrap_or(""), p.value.as_deref().unwrap_or(""));
    }
    let rest = ModelProto { training_info: m.training_info.clone(), configuration: m.configuration.clone(), ..Default::default() };
    *g.model_info_mut() = ModelInfo {
        ir_version: m.ir_version,
        opset_imports,
        producer_name: m.producer_name.clone(),
        producer_version: m.producer_version.clone(),
        domain: m.domain.clone(),
        model_version: m.model_version,
        doc: m.doc_string.clone(),
        functions: m.functions.iter().map(function).collect(),
        extra: if rest == ModelProto::default() { Vec::new() } else { rest.encode_to_vec() },
        loaded: true,
        data_files: {
            let mut files: Vec<PathBuf> = loader.files.values().map(|f| f.path.clone()).collect();
            files.sort();
            files
        },
    };
    Ok(g)
}

/// Decode ONNX bytes into a graph (external data is refused: load from a file for that).
pub fn load_bytes(bytes: &[u8]) -> Result<Graph, ExportError> {
    from_model(&ModelProto::decode(bytes)?, None)
}

/// Read an ONNX file into a graph (external data resolved next to it, mapped lazily).
pub fn load_file(path: &Path) -> Result<Graph, ExportError> {
    let bytes = std::fs::read(path).map_err(ExportError::io("cannot read", path))?;
    let m = ModelProto::decode(bytes.as_slice()).map_err(|e| ExportError::Invalid(format!("{} is not an ONNX model: {e}", path.display())))?;
    drop(bytes);
    let dir = path.parent().map(|p| if p.as_os_str().is_empty() { Path::new(".") } else { p });
    from_model(&m, dir)
}

/// The `metadata_props` of ONNX bytes, without building the graph.
pub fn metadata(bytes: &[u8]) -> Result<Vec<(String, String)>, ExportError> {
    let m = ModelProto::decode(bytes)?;
    Ok(m.metadata_props.iter().map(|p| (p.key.clone().unwrap_or_default(), p.value.clone().unwrap_or_default())).collect())
}
