//! IR → `ModelProto`. Graphs rotor builds get rotor's header (IR version for the opset,
//! producer, value_info for every intermediate value); graphs loaded from a file are written
//! back as they came: their header, declared types, doc strings, functions and every field
//! rotor does not interpret.

use prost::Message;
use rotor_ir::{Attr, Dim, Graph, Tensor, TensorData, Value, ValueInfo, ir_version_for};

use crate::error::ExportError;
use crate::proto::{
    AttributeProto, FunctionProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, SparseTensorProto, StringStringEntryProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto, attribute_proto::AttributeType, tensor_proto::DataLocation, tensor_shape_proto, type_proto,
};

/// Options of [`to_model`] and [`crate::write_model`].
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// Move initializers to an external data file when the model's initializers total more than
    /// this many bytes (protobuf messages cannot exceed 2 GiB). Default: 1.5 GiB. Initializers
    /// that were external in a loaded model stay external whatever their size.
    pub external_data_above: usize,
    /// Only initializers of at least this many bytes go to the external file. Default 1 KiB.
    pub external_min_tensor: usize,
    /// Write `value_info` with the inferred type of every intermediate value of graphs rotor
    /// builds (Netron and `polygraphy inspect` then show shapes). Loaded models keep exactly
    /// the declarations they came with. Default: on.
    pub value_info: bool,
    /// `fsync` the files before renaming them into place, so they survive a power loss (the
    /// rename alone already means readers never see a partial file). Costs about 2 s per GB
    /// of external data on a plain disk. Default: off, as onnx and torch write.
    pub sync: bool,
}

impl Default for ExportOptions {
    fn default() -> ExportOptions {
        ExportOptions { external_data_above: 1536 << 20, external_min_tensor: 1024, value_info: true, sync: false }
    }
}

/// Where the data of an initializer goes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Placement {
    /// In the model (`raw_data` / typed fields).
    Inline,
    /// In an external file: `location` (relative), byte `offset`, `length`.
    External { location: String, offset: u64, length: u64 },
}

fn dim_proto(d: &Dim) -> tensor_shape_proto::Dimension {
    use tensor_shape_proto::dimension::Value;
    let value = match d {
        Dim::Fixed(v) => Some(Value::DimValue(*v)),
        // Only bare symbols are written as names; derived expressions stay anonymous so that
        // every runtime reads them as "unknown" rather than parsing them.
        Dim::Sym(_) => d.symbol().map(|s| Value::DimParam(s.to_string())),
        Dim::Unknown => None,
    };
    tensor_shape_proto::Dimension { value, denotation: None }
}

fn inferred_value_info(v: &ValueInfo) -> ValueInfoProto {
    let shape = v.shape.as_ref().map(|s| TensorShapeProto { dim: s.iter().map(dim_proto).collect() });
    ValueInfoProto {
        name: Some(v.name.clone()),
        r#type: Some(TypeProto {
            denotation: None,
            value: Some(type_proto::Value::TensorType(type_proto::Tensor { elem_type: Some(v.dtype.onnx_code()), shape })),
        }),
        doc_string: None,
        metadata_props: Vec::new(),
    }
}

/// The declaration of a value: as the model declared it, else from inference.
fn value_info(v: &ValueInfo) -> Result<ValueInfoProto, ExportError> {
    match &v.declared {
        Some(d) => {
            let mut p = ValueInfoProto::decode(d.encoded.as_slice())?;
            p.name = Some(v.name.clone());
            Ok(p)
        }
        None => Ok(inferred_value_info(v)),
    }
}

/// A constant as a `TensorProto` (`raw_data`, `string_data` for strings, or an external window).
pub(crate) fn tensor_proto(name: &str, t: &Tensor, placement: &Placement) -> Result<TensorProto, ExportError> {
    let mut p = TensorProto { dims: t.dims().to_vec(), data_type: Some(t.dtype().onnx_code()), name: Some(name.to_string()), ..Default::default() };
    match (placement, t.data()) {
        (Placement::External { location, offset, length }, _) => {
            let entry = |k: &str, v: String| StringStringEntryProto { key: Some(k.into()), value: Some(v) };
            p.external_data = vec![entry("location", location.clone()), entry("offset", offset.to_string()), entry("length", length.to_string())];
            p.data_location = Some(DataLocation::External as i32);
        }
        (Placement::Inline, TensorData::Strings(s)) => p.string_data = s.clone(),
        (Placement::Inline, TensorData::External(e)) => {
            p.raw_data = Some(e.bytes().map_err(|m| ExportError::Invalid(format!("initializer {name:?}: {m}")))?.to_vec());
        }
        (Placement::Inline, _) => p.raw_data = Some(t.to_le_bytes()),
    }
    Ok(p)
}

fn attribute(name: &str, a: &Attr, opts: &ExportOptions) -> Result<AttributeProto, ExportError> {
    let mut p = AttributeProto { name: Some(name.to_string()), ..Default::default() };
    let ty = match a {
        Attr::Int(v) => {
            p.i = Some(*v);
            AttributeType::Int
        }
        Attr::Float(v) => {
            p.f = Some(*v);
            AttributeType::Float
        }
        Attr::Ints(v) => {
            p.ints = v.clone();
            AttributeType::Ints
        }
        Attr::Floats(v) => {
            p.floats = v.clone();
            AttributeType::Floats
        }
        Attr::Str(s) => {
            p.s = Some(s.as_bytes().to_vec());
            AttributeType::String
        }
        Attr::Bytes(b) => {
            p.s = Some(b.clone());
            AttributeType::String
        }
        Attr::Strings(v) => {
            p.strings = v.clone();
            AttributeType::Strings
        }
        Attr::Tensor(t) => {
            p.t = Some(tensor_proto("", t, &Placement::Inline)?);
            AttributeType::Tensor
        }
        Attr::Tensors(ts) => {
            p.tensors = ts.iter().map(|t| tensor_proto("", t, &Placement::Inline)).collect::<Result<_, _>>()?;
            AttributeType::Tensors
        }
        Attr::Graph(g) => {
            p.g = Some(graph_proto(g, opts, &|_, _| Placement::Inline)?);
            AttributeType::Graph
        }
        Attr::Graphs(gs) => {
            p.graphs = gs.iter().map(|g| graph_proto(g, opts, &|_, _| Placement::Inline)).collect::<Result<_, _>>()?;
            AttributeType::Graphs
        }
        Attr::SparseTensor(s) => {
            p.sparse_tensor = Some(SparseTensorProto::decode(s.encoded.as_slice())?);
            AttributeType::SparseTensor
        }
        Attr::SparseTensors(ss) => {
            p.sparse_tensors = ss.iter().map(|s| SparseTensorProto::decode(s.encoded.as_slice())).collect::<Result<_, _>>()?;
            AttributeType::SparseTensors
        }
        Attr::TypeProto(t) => {
            p.tp = Some(TypeProto::decode(t.encoded.as_slice())?);
            AttributeType::TypeProto
        }
        Attr::TypeProtos(ts) => {
            p.type_protos = ts.iter().map(|t| TypeProto::decode(t.encoded.as_slice())).collect::<Result<_, _>>()?;
            AttributeType::TypeProtos
        }
        Attr::Opaque(bytes) => {
            let mut p = AttributeProto::decode(bytes.as_slice())?;
            p.name = Some(name.to_string());
            return Ok(p);
        }
    };
    p.r#type = Some(ty as i32);
    Ok(p)
}

/// One graph (main or subgraph) as a `GraphProto`; `place` decides where each initializer's
/// data goes.
pub(crate) fn graph_proto(g: &Graph, opts: &ExportOptions, place: &dyn Fn(Value, &Tensor) -> Placement) -> Result<GraphProto, ExportError> {
    let name_of = |v: &Option<Value>| v.map(|v| g.value_name(v).to_string()).unwrap_or_default();
    let mut nodes = Vec::with_capacity(g.nodes().len());
    for n in g.nodes() {
        let mut p = if n.extra.is_empty() { NodeProto::default() } else { NodeProto::decode(n.extra.as_slice())? };
        p.input = n.inputs.iter().map(name_of).collect();
        p.output = n.outputs.iter().map(name_of).collect();
        p.name = (!n.name.is_empty()).then(|| n.name.clone());
        p.op_type = Some(n.op_type.clone());
        p.domain = (!n.domain.is_empty()).then(|| n.domain.clone());
        p.doc_string.clone_from(&n.doc);
        p.attribute = n.attrs.iter().map(|(k, a)| attribute(k, a, opts)).collect::<Result<_, _>>()?;
        nodes.push(p);
    }
    let mut p = if g.extra().is_empty() { GraphProto::default() } else { GraphProto::decode(g.extra())? };
    // value_info: the model's own declarations in its order, then (graphs rotor builds) the
    // inferred type of every other intermediate value, then declarations of names rotor keeps
    // aside (inputs, outputs, names nothing defines).
    let carried = std::mem::take(&mut p.value_info);
    let mut vi: Vec<ValueInfoProto> = g.value_info_order().iter().map(|v| value_info(g.info(*v))).collect::<Result<_, _>>()?;
    if opts.value_info && !g.model_info().loaded {
        for n in g.nodes() {
            for v in n.output_values() {
                let info = g.info(v);
                if !g.is_output(v) && info.declared.is_none() && info.dtype != rotor_ir::DType::Undefined {
                    vi.push(inferred_value_info(info));
                }
            }
        }
    }
    vi.extend(carried);
    p.value_info = vi;
    p.node = nodes;
    p.name = Some(g.name().to_string());
    p.doc_string = g.doc().map(str::to_string);
    p.initializer = g
        .initializers()
        .iter()
        .map(|(v, t)| {
            let mut tp = tensor_proto(g.value_name(*v), t, &place(*v, t))?;
            let extra = g.initializer_extra(*v);
            if !extra.is_empty() {
                let rest = TensorProto::decode(extra)?;
                tp.doc_string = rest.doc_string;
                tp.metadata_props = rest.metadata_props;
                tp.segment = rest.segment;
            }
            Ok(tp)
        })
        .collect::<Result<_, ExportError>>()?;
    p.sparse_initializer = g
        .sparse_initializers()
        .iter()
        .map(|(v, s)| {
            let mut sp = SparseTensorProto::decode(s.encoded.as_slice())?;
            if let Some(values) = sp.values.as_mut() {
                values.name = Some(g.value_name(*v).to_string());
            }
            Ok(sp)
        })
        .collect::<Result<_, ExportError>>()?;
    p.input = g.inputs().iter().map(|v| value_info(g.info(*v))).collect::<Result<_, _>>()?;
    p.output = g.outputs().iter().map(|v| value_info(g.info(*v))).collect::<Result<_, _>>()?;
    Ok(p)
}

/// The `ModelProto` of a graph with every initializer inline. Graphs rotor builds get IR
/// version for their opset, opset imports (plus `com.microsoft` 1 when contrib ops are used),
/// producer, metadata; loaded graphs keep their header.
pub fn to_model(g: &Graph) -> Result<ModelProto, ExportError> {
    to_model_with(g, &ExportOptions::default(), &|_, _| Placement::Inline)
}

pub(crate) fn to_model_with(g: &Graph, opts: &ExportOptions, place: &dyn Fn(Value, &Tensor) -> Placement) -> Result<ModelProto, ExportError> {
    g.validate()?;
    let info = g.model_info();
    let graph = graph_proto(g, opts, place)?;
    let mut m = if info.extra.is_empty() { ModelProto::default() } else { ModelProto::decode(info.extra.as_slice())? };
    let used = g.extra_domains();
    let mut opset_import: Vec<OperatorSetIdProto> = Vec::new();
    if info.loaded {
        for (d, v) in &info.opset_imports {
            let version = if d.is_empty() || d == "ai.onnx" { g.opset() } else { *v };
            opset_import.push(OperatorSetIdProto { domain: Some(d.clone()), version: Some(version) });
        }
        for d in used.iter().filter(|d| !info.opset_imports.iter().any(|(x, _)| x == *d)) {
            opset_import.push(OperatorSetIdProto { domain: Some(d.clone()), version: Some(1) });
        }
        m.ir_version = Some(info.ir_version.unwrap_or_else(|| ir_version_for(g.opset())));
        m.producer_name.clone_from(&info.producer_name);
        m.producer_version.clone_from(&info.producer_version);
        m.domain.clone_from(&info.domain);
        m.model_version = info.model_version;
        m.doc_string.clone_from(&info.doc);
        m.functions = info.functions.iter().map(|f| FunctionProto::decode(f.encoded.as_slice())).collect::<Result<_, _>>()?;
    } else {
        opset_import.push(OperatorSetIdProto { domain: Some(String::new()), version: Some(g.opset()) });
        for d in used {
            opset_import.push(OperatorSetIdProto { domain: Some(d), version: Some(1) });
        }
        m.ir_version = Some(ir_version_for(g.opset()));
        m.producer_name = Some("rotor".into());
        m.producer_version = Some(env!("CARGO_PKG_VERSION").into());
    }
    m.opset_import = opset_import;
    m.graph = Some(graph);
    m.metadata_props = g.metadata().iter().map(|(k, v)| StringStringEntryProto { key: Some(k.clone()), value: Some(v.clone()) }).collect();
    Ok(m)
}

/// Serialise a graph to ONNX bytes (all initializers inline, external data read in).
pub fn to_bytes(g: &Graph) -> Result<Vec<u8>, ExportError> {
    to_bytes_with(g, &ExportOptions::default())
}

/// [`to_bytes`] with options (e.g. no `value_info`).
pub fn to_bytes_with(g: &Graph, opts: &ExportOptions) -> Result<Vec<u8>, ExportError> {
    let m = to_model_with(g, opts, &|_, _| Placement::Inline)?;
    let size = m.encoded_len();
    if size > i32::MAX as usize {
        return Err(ExportError::Unsupported(format!(
            "the model is {size} bytes, over protobuf's 2 GiB limit: use write_model, which moves weights to external data"
        )));
    }
    Ok(m.encode_to_vec())
}
