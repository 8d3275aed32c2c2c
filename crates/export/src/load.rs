//! ONNX → IR: decode a model and replay its nodes through the builder's inference, so a
//! loaded model prints with the same inferred types as the graph that produced it.

use std::path::Path;

use prost::Message;
use rotor_builder::{Attr, DType, Dim, Graph, Tensor, TensorData};

use crate::error::ExportError;
use crate::proto::{AttributeProto, ModelProto, TensorProto, ValueInfoProto, attribute_proto::AttributeType, tensor_shape_proto, type_proto};

fn tensor_from_proto(t: &TensorProto, base_dir: Option<&Path>) -> Result<Tensor, ExportError> {
    let name = t.name.clone().unwrap_or_default();
    let code = t.data_type.unwrap_or(0);
    let dtype = DType::from_onnx_code(code).ok_or_else(|| ExportError::Unsupported(format!("tensor {name:?}: element type {code} is not supported")))?;
    let dims = t.dims.clone();
    let bad = |m: String| ExportError::Unsupported(format!("tensor {name:?}: {m}"));
    if !t.external_data.is_empty() {
        let get = |k: &str| t.external_data.iter().find(|e| e.key.as_deref() == Some(k)).and_then(|e| e.value.clone());
        let location = get("location").ok_or_else(|| bad("external data without a location".into()))?;
        let dir = base_dir.ok_or_else(|| bad("external data needs the model's directory (load from a file)".into()))?;
        if location.split('/').any(|p| p == "..") || Path::new(&location).is_absolute() {
            return Err(bad(format!("external data location {location:?} must stay inside the model's directory")));
        }
        let path = dir.join(&location);
        let bytes = std::fs::read(&path).map_err(ExportError::io("cannot read", &path))?;
        let offset: usize = get("offset").map(|o| o.parse().map_err(|_| bad(format!("bad offset {o}")))).transpose()?.unwrap_or(0);
        let length: usize = match get("length") {
            Some(l) => l.parse().map_err(|_| bad(format!("bad length {l}")))?,
            None => bytes.len().saturating_sub(offset),
        };
        let slice = bytes.get(offset..offset + length).ok_or_else(|| bad(format!("external range {offset}+{length} is past the end of {location}")))?;
        return Tensor::from_le_bytes(dtype, dims, slice).map_err(bad);
    }
    if let Some(raw) = &t.raw_data {
        return Tensor::from_le_bytes(dtype, dims, raw).map_err(bad);
    }
    let data = match dtype {
        DType::F32 => TensorData::F32(t.float_data.clone()),
        DType::F64 => TensorData::F64(t.double_data.clone()),
        DType::I64 => TensorData::I64(t.int64_data.clone()),
        DType::I32 => TensorData::I32(t.int32_data.clone()),
        DType::Bool => TensorData::Bool(t.int32_data.iter().map(|v| *v != 0).collect()),
        DType::F16 => TensorData::F16(t.int32_data.iter().map(|v| *v as u16).collect()),
        DType::BF16 => TensorData::BF16(t.int32_data.iter().map(|v| *v as u16).collect()),
        DType::Undefined => return Err(bad("undefined element type".into())),
    };
    Tensor::new(dims, data).map_err(bad)
}

fn attr_from_proto(a: &AttributeProto) -> Result<Option<Attr>, ExportError> {
    let ty = a.r#type.and_then(|t| AttributeType::try_from(t).ok());
    Ok(Some(match ty {
        Some(AttributeType::Int) => Attr::Int(a.i.unwrap_or(0)),
        Some(AttributeType::Float) => Attr::Float(a.f.unwrap_or(0.0)),
        Some(AttributeType::Ints) => Attr::Ints(a.ints.clone()),
        Some(AttributeType::Floats) => Attr::Floats(a.floats.clone()),
        Some(AttributeType::String) => Attr::Str(String::from_utf8_lossy(a.s.as_deref().unwrap_or_default()).into_owned()),
        Some(AttributeType::Tensor) => match &a.t {
            Some(t) => Attr::Tensor(tensor_from_proto(t, None)?),
            None => return Ok(None),
        },
        _ => return Ok(None),
    }))
}

fn type_of(v: &ValueInfoProto) -> (DType, Option<Vec<Dim>>) {
    let Some(type_proto::Value::TensorType(t)) = v.r#type.as_ref().and_then(|t| t.value.as_ref()) else { return (DType::Undefined, None) };
    let dtype = t.elem_type.and_then(DType::from_onnx_code).unwrap_or(DType::Undefined);
    let shape = t.shape.as_ref().map(|s| {
        s.dim
            .iter()
            .map(|d| match &d.value {
                Some(tensor_shape_proto::dimension::Value::DimValue(v)) => Dim::Fixed(*v),
                Some(tensor_shape_proto::dimension::Value::DimParam(p)) => Dim::sym(p),
                None => Dim::Unknown,
            })
            .collect()
    });
    (dtype, shape)
}

/// Decode a `ModelProto` into a (lenient) graph. External data is resolved against `base_dir`.
pub fn from_model(m: &ModelProto, base_dir: Option<&Path>) -> Result<Graph, ExportError> {
    let graph = m.graph.as_ref().ok_or_else(|| ExportError::Unsupported("the model has no graph".into()))?;
    let opset = m
        .opset_import
        .iter()
        .find(|o| o.domain.as_deref().unwrap_or("").is_empty() || o.domain.as_deref() == Some("ai.onnx"))
        .and_then(|o| o.version)
        .unwrap_or(17);
    let mut g = Graph::new_lenient(graph.name.as_deref().unwrap_or("graph"), opset);
    for t in &graph.initializer {
        g.constant_raw(t.name.as_deref().unwrap_or(""), tensor_from_proto(t, base_dir)?)?;
    }
    for i in &graph.input {
        let name = i.name.as_deref().unwrap_or("");
        if g.value_by_name(name).is_some() {
            continue; // an initializer listed as input (old IR versions)
        }
        let (dtype, shape) = type_of(i);
        g.input_raw(name, dtype, shape)?;
    }
    for (idx, n) in graph.node.iter().enumerate() {
        let name = n.name.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| format!("node_{idx}"));
        let inputs = n
            .input
            .iter()
            .map(|i| if i.is_empty() { Ok(None) } else { g.value_by_name(i).map(Some).ok_or_else(|| rotor_builder::BuildError::UnknownValue(i.clone())) })
            .collect::<Result<Vec<_>, _>>()?;
        let mut attrs = Vec::new();
        for a in &n.attribute {
            if let Some(v) = attr_from_proto(a)? {
                attrs.push((a.name.clone().unwrap_or_default(), v));
            }
        }
        g.add_node_full(&name, n.op_type.as_deref().unwrap_or(""), n.domain.as_deref().unwrap_or(""), &inputs, attrs, &n.output)?;
    }
    for o in &graph.output {
        let name = o.name.as_deref().unwrap_or("");
        let v = g.value_by_name(name).ok_or_else(|| rotor_builder::BuildError::UnknownValue(name.to_string()))?;
        g.mark_output(v);
    }
    for p in &m.metadata_props {
        g.set_metadata(p.key.as_deref().unwrap_or(""), p.value.as_deref().unwrap_or(""));
    }
    Ok(g)
}

/// Decode ONNX bytes into a graph (no external data).
pub fn load_bytes(bytes: &[u8]) -> Result<Graph, ExportError> {
    from_model(&ModelProto::decode(bytes)?, None)
}

/// Read an ONNX file into a graph (external data resolved next to it).
pub fn load_file(path: &Path) -> Result<Graph, ExportError> {
    let bytes = std::fs::read(path).map_err(ExportError::io("cannot read", path))?;
    from_model(&ModelProto::decode(bytes.as_slice())?, path.parent())
}

/// The `metadata_props` of ONNX bytes, without building the graph.
pub fn metadata(bytes: &[u8]) -> Result<Vec<(String, String)>, ExportError> {
    let m = ModelProto::decode(bytes)?;
    Ok(m.metadata_props.iter().map(|p| (p.key.clone().unwrap_or_default(), p.value.clone().unwrap_or_default())).collect())
}
