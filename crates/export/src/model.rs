//! IR → `ModelProto`.

use prost::Message;
use rotor_builder::{Attr, Dim, Graph, Tensor, ValueInfo};

use crate::error::ExportError;
use crate::proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
    attribute_proto::AttributeType, tensor_shape_proto, type_proto,
};

/// Options of [`to_model`] and [`crate::write_model`].
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// Move initializers to an external data file when the model's initializers total more than
    /// this many bytes (protobuf messages cannot exceed 2 GiB). Default: 1.5 GiB.
    pub external_data_above: usize,
    /// Only initializers of at least this many bytes go to the external file. Default 1 KiB.
    pub external_min_tensor: usize,
}

impl Default for ExportOptions {
    fn default() -> ExportOptions {
        ExportOptions { external_data_above: 1536 << 20, external_min_tensor: 1024 }
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

fn value_info(v: &ValueInfo) -> ValueInfoProto {
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

/// A constant as a `TensorProto` with `raw_data`.
pub(crate) fn tensor_proto(name: &str, t: &Tensor) -> TensorProto {
    TensorProto {
        dims: t.dims().to_vec(),
        data_type: Some(t.dtype().onnx_code()),
        name: Some(name.to_string()),
        raw_data: Some(t.to_le_bytes()),
        ..Default::default()
    }
}

fn attribute(name: &str, a: &Attr) -> AttributeProto {
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
        Attr::Tensor(t) => {
            p.t = Some(tensor_proto("", t));
            AttributeType::Tensor
        }
    };
    p.r#type = Some(ty as i32);
    p
}

/// Build the `ModelProto` of a graph: IR version for its opset, opset imports (plus
/// `com.microsoft` 1 when contrib ops are used), producer, metadata, graph I/O types.
pub fn to_model(g: &Graph) -> Result<ModelProto, ExportError> {
    g.validate()?;
    let name_of = |v: &Option<rotor_builder::Value>| v.map(|v| g.value_name(v).to_string()).unwrap_or_default();
    let nodes = g
        .nodes()
        .iter()
        .map(|n| NodeProto {
            input: n.inputs.iter().map(name_of).collect(),
            output: n.outputs.iter().map(|v| g.value_name(*v).to_string()).collect(),
            name: Some(n.name.clone()),
            op_type: Some(n.op_type.clone()),
            domain: if n.domain.is_empty() { None } else { Some(n.domain.clone()) },
            attribute: n.attrs.iter().map(|(k, a)| attribute(k, a)).collect(),
            ..Default::default()
        })
        .collect();
    let graph = GraphProto {
        node: nodes,
        name: Some(g.name().to_string()),
        initializer: g.initializers().iter().map(|(v, t)| tensor_proto(g.value_name(*v), t)).collect(),
        input: g.inputs().iter().map(|v| value_info(g.info(*v))).collect(),
        output: g.outputs().iter().map(|v| value_info(g.info(*v))).collect(),
        ..Default::default()
    };
    let mut opset_import = vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(g.opset()) }];
    for d in g.extra_domains() {
        opset_import.push(OperatorSetIdProto { domain: Some(d), version: Some(1) });
    }
    Ok(ModelProto {
        ir_version: Some(ir_version_for(g.opset())),
        opset_import,
        producer_name: Some("rotor".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        graph: Some(graph),
        metadata_props: g.metadata().iter().map(|(k, v)| StringStringEntryProto { key: Some(k.clone()), value: Some(v.clone()) }).collect(),
        ..Default::default()
    })
}

/// Serialise a graph to ONNX bytes (all initializers inline).
pub fn to_bytes(g: &Graph) -> Result<Vec<u8>, ExportError> {
    let m = to_model(g)?;
    let size = m.encoded_len();
    if size > i32::MAX as usize {
        return Err(ExportError::Unsupported(format!(
            "the model is {size} bytes, over protobuf's 2 GiB limit: use write_model, which moves weights to external data"
        )));
    }
    Ok(m.encode_to_vec())
}
