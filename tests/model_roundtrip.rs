//! Lossless load/save of models rotor did not write, and hostile input: a hand-built model
//! using every attribute kind, opaque element types, empty output slots, subgraphs reading outer
//! values, declared sequence types, model-local functions, custom domains, sparse initializers,
//! doc strings and metadata must come back as the very same `ModelProto`; malformed models
//! must be refused with an error naming the culprit, never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed expectation panics, which is how a test fails")]

use prost::Message;
use rotor_export::proto::{
    AttributeProto, FunctionProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, SparseTensorProto, StringStringEntryProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto, attribute_proto::AttributeType, tensor_shape_proto, type_proto,
};

fn dim_value(v: i64) -> tensor_shape_proto::Dimension {
    tensor_shape_proto::Dimension { value: Some(tensor_shape_proto::dimension::Value::DimValue(v)), denotation: None }
}

fn dim_param(p: &str) -> tensor_shape_proto::Dimension {
    tensor_shape_proto::Dimension { value: Some(tensor_shape_proto::dimension::Value::DimParam(p.into())), denotation: Some("DATA_BATCH".into()) }
}

fn tensor_type(elem: i32, dims: Vec<tensor_shape_proto::Dimension>) -> TypeProto {
    TypeProto {
        denotation: None,
        value: Some(type_proto::Value::TensorType(type_proto::Tensor { elem_type: Some(elem), shape: Some(TensorShapeProto { dim: dims }) })),
    }
}

fn vi(name: &str, ty: TypeProto) -> ValueInfoProto {
    ValueInfoProto { name: Some(name.into()), r#type: Some(ty), doc_string: None, metadata_props: Vec::new() }
}

fn raw(name: &str, elem: i32, dims: Vec<i64>, bytes: Vec<u8>) -> TensorProto {
    TensorProto { name: Some(name.into()), data_type: Some(elem), dims, raw_data: Some(bytes), ..Default::default() }
}

fn node(name: &str, op: &str, inputs: &[&str], outputs: &[&str]) -> NodeProto {
    NodeProto {
        name: Some(name.into()),
        op_type: Some(op.into()),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn attr(name: &str, ty: AttributeType, fill: impl FnOnce(&mut AttributeProto)) -> AttributeProto {
    let mut a = AttributeProto { name: Some(name.into()), r#type: Some(ty as i32), ..Default::default() };
    fill(&mut a);
    a
}

fn entry(k: &str, v: &str) -> StringStringEntryProto {
    StringStringEntryProto { key: Some(k.into()), value: Some(v.into()) }
}

const F32: i32 = 1;
const U8: i32 = 2;
const STRING: i32 = 8;
const BOOL: i32 = 9;
const C64: i32 = 14;
const F8E4M3FN: i32 = 17;
const INT4: i32 = 22;

/// A model that exercises everything the loader must carry.
fn rich_model() -> ModelProto {
    // Subgraphs of the If: both read the outer `x`.
    let then_branch = GraphProto {
        name: Some("then".into()),
        node: vec![node("then_id", "Identity", &["x"], &["t_out"])],
        output: vec![vi("t_out", tensor_type(F32, vec![dim_param("N"), dim_value(2)]))],
        ..Default::default()
    };
    let else_branch = GraphProto {
        name: Some("else".into()),
        node: vec![node("else_neg", "Neg", &["x"], &["e_out"])],
        output: vec![vi("e_out", tensor_type(F32, vec![dim_param("N"), dim_value(2)]))],
        ..Default::default()
    };
    let mut if_node = node("branch", "If", &["cond"], &["if_out"]);
    if_node.attribute =
        vec![attr("then_branch", AttributeType::Graph, |a| a.g = Some(then_branch)), attr("else_branch", AttributeType::Graph, |a| a.g = Some(else_branch))];
    // An op rotor does not know, with an omitted first output (as LSTM's Y) and every other
    // attribute kind.
    let sparse = SparseTensorProto {
        values: Some(raw("sp", F32, vec![2], [1.5f32, -2.0].iter().flat_map(|v| v.to_le_bytes()).collect())),
        indices: Some(raw("", 7, vec![2], [0i64, 3].iter().flat_map(|v| v.to_le_bytes()).collect())),
        dims: vec![4],
    };
    let mut custom = node("custom", "Mystery", &["x", "", "w"], &["", "h"]);
    custom.domain = Some("my.domain".into());
    custom.doc_string = Some("does something".into());
    custom.metadata_props = vec![entry("origin", "test")];
    custom.attribute = vec![
        attr("names", AttributeType::Strings, |a| a.strings = vec![b"a".to_vec(), vec![0xff, 0xfe]]),
        attr("blob", AttributeType::String, |a| a.s = Some(vec![0xc3, 0x28])),
        attr("tensors", AttributeType::Tensors, |a| a.tensors = vec![raw("", U8, vec![2], vec![1, 2]), raw("", INT4, vec![3], vec![0x21, 0x03])]),
        attr("sparse", AttributeType::SparseTensor, |a| a.sparse_tensor = Some(sparse.clone())),
        attr("ty", AttributeType::TypeProto, |a| a.tp = Some(tensor_type(F32, vec![dim_value(3)]))),
        attr("floats", AttributeType::Floats, |a| a.floats = vec![0.5, f32::NAN]),
        attr("ints", AttributeType::Ints, |a| a.ints = vec![-1, i64::MAX]),
        attr("documented", AttributeType::Int, |a| {
            a.i = Some(3);
            a.doc_string = Some("an attribute with a doc string".into());
        }),
    ];
    let add = node("sum", "Add", &["if_out", "h"], &["y"]);
    let call = {
        let mut n = node("call", "Twice", &["x"], &["f"]);
        n.domain = Some("local".into());
        n
    };
    let seq = node("seq", "SequenceConstruct", &["x", "x"], &["s"]);
    let function = FunctionProto {
        name: Some("Twice".into()),
        domain: Some("local".into()),
        input: vec!["a".into()],
        output: vec!["b".into()],
        node: vec![node("fadd", "Add", &["a", "a"], &["b"])],
        opset_import: vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(17) }],
        ..Default::default()
    };
    let graph = GraphProto {
        name: Some("rich".into()),
        doc_string: Some("a graph with everything".into()),
        node: vec![custom, if_node, add, call, seq],
        initializer: vec![
            raw("w", F32, vec![2], [0.25f32, 4.0].iter().flat_map(|v| v.to_le_bytes()).collect()),
            TensorProto { doc_string: Some("bytes".into()), metadata_props: vec![entry("unit", "none")], ..raw("u8s", U8, vec![3], vec![7, 8, 9]) },
            raw("f8s", F8E4M3FN, vec![2], vec![0x38, 0xb8]),
            raw("i4s", INT4, vec![3], vec![0x21, 0x0f]),
            raw("c64", C64, vec![1], [1.0f32, -1.0].iter().flat_map(|v| v.to_le_bytes()).collect()),
            TensorProto {
                name: Some("strs".into()),
                data_type: Some(STRING),
                dims: vec![2],
                string_data: vec![b"hello".to_vec(), vec![0, 1, 2]],
                ..Default::default()
            },
        ],
        sparse_initializer: vec![sparse],
        input: vec![vi("x", tensor_type(F32, vec![dim_param("N"), dim_value(2)])), vi("cond", tensor_type(BOOL, vec![]))],
        output: vec![
            vi("y", tensor_type(F32, vec![dim_param("N"), dim_value(2)])),
            vi("f", tensor_type(F32, vec![dim_param("N"), dim_value(2)])),
            vi(
                "s",
                TypeProto {
                    denotation: None,
                    value: Some(type_proto::Value::SequenceType(Box::new(type_proto::Sequence { elem_type: Some(Box::new(tensor_type(F32, vec![]))) }))),
                },
            ),
        ],
        value_info: vec![
            vi("h", tensor_type(F32, vec![dim_param("N"), dim_value(2)])),
            // a declaration with a negative size (invalid, but ORT ignores it): kept as written
            vi("if_out", tensor_type(F32, vec![dim_value(-3), dim_value(2)])),
        ],
        metadata_props: vec![entry("graph_key", "graph_value")],
        ..Default::default()
    };
    ModelProto {
        ir_version: Some(8),
        opset_import: vec![
            OperatorSetIdProto { domain: Some(String::new()), version: Some(17) },
            OperatorSetIdProto { domain: Some("my.domain".into()), version: Some(3) },
            OperatorSetIdProto { domain: Some("local".into()), version: Some(1) },
        ],
        producer_name: Some("hand".into()),
        producer_version: Some("1.0".into()),
        domain: Some("org.example".into()),
        model_version: Some(5),
        doc_string: Some("model doc".into()),
        graph: Some(graph),
        metadata_props: vec![entry("k", "v")],
        functions: vec![function],
        ..Default::default()
    }
}

#[test]
fn a_model_with_everything_comes_back_identical() {
    let original = rich_model();
    let bytes = original.encode_to_vec();
    let g = rotor_export::load_bytes(&bytes).expect("load");
    // The omitted output slot stays in place: h is the second output of the node.
    let custom = g.nodes().iter().find(|n| n.name == "custom").expect("custom node");
    assert!(custom.outputs[0].is_none() && custom.outputs[1].is_some_and(|v| g.value_name(v) == "h"));
    // The opaque node's output type comes from the model's value_info.
    let h = g.value_by_name("h").expect("h");
    assert_eq!(g.info(h).type_text(), "F32[N, 2]");
    assert_eq!(g.info(g.value_by_name("s").expect("s")).type_text(), "Seq<F32[]>");
    // The If's subgraphs read x: x has an implicit use.
    let x = g.value_by_name("x").expect("x");
    assert!(g.uses(x).iter().any(|u| u.slot == rotor_builder::Use::IMPLICIT));
    // Compared as encoded bytes (a NaN attribute is equal to itself there).
    assert_eq!(rotor_export::to_bytes(&g).expect("save"), bytes, "the saved model differs from the loaded one");
    // And once more through the file path (atomic write, external data machinery).
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("rich.onnx");
    rotor_export::write_model(&g, &path, &rotor_export::ExportOptions::default()).expect("write");
    assert_eq!(std::fs::read(&path).expect("read"), bytes);
    let text = rotor_ir::text::print(&g);
    assert!(text.contains("then_branch: graph then") && text.contains("capture x : F32[N, 2]"), "{text}");
    assert!(text.contains("graph rich (ai.onnx 17, my.domain 3, local 1)"), "{text}");
}

#[test]
fn typed_storage_fields_load_as_the_same_values() {
    let mut m = rich_model();
    let g = m.graph.as_mut().expect("graph");
    // u8 in int32_data, f32 in float_data, complex64 in float_data, int4 packed in int32_data
    g.initializer[0] = TensorProto { name: Some("w".into()), data_type: Some(F32), dims: vec![2], float_data: vec![0.25, 4.0], ..Default::default() };
    g.initializer[1] = TensorProto {
        name: Some("u8s".into()),
        data_type: Some(U8),
        dims: vec![3],
        int32_data: vec![7, 8, 9],
        doc_string: Some("bytes".into()),
        metadata_props: vec![entry("unit", "none")],
        ..Default::default()
    };
    g.initializer[3] = TensorProto { name: Some("i4s".into()), data_type: Some(INT4), dims: vec![3], int32_data: vec![0x21, 0x0f], ..Default::default() };
    g.initializer[4] = TensorProto { name: Some("c64".into()), data_type: Some(C64), dims: vec![1], float_data: vec![1.0, -1.0], ..Default::default() };
    let loaded = rotor_export::load_bytes(&m.encode_to_vec()).expect("load");
    // Written back as raw_data: the very bytes of the all-raw model.
    assert_eq!(rotor_export::to_bytes(&loaded).expect("save"), rich_model().encode_to_vec());
}

fn load_err(m: &ModelProto) -> String {
    match rotor_export::load_bytes(&m.encode_to_vec()) {
        Ok(_) => panic!("a malformed model was accepted"),
        Err(e) => e.to_string(),
    }
}

fn simple(nodes: Vec<NodeProto>, inits: Vec<TensorProto>) -> ModelProto {
    ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(17) }],
        graph: Some(GraphProto {
            name: Some("g".into()),
            node: nodes,
            initializer: inits,
            input: vec![vi("x", tensor_type(F32, vec![dim_value(2)]))],
            output: vec![vi("y", tensor_type(F32, vec![dim_value(2)]))],
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn malformed_models_are_refused_naming_the_culprit() {
    // not protobuf at all
    assert!(rotor_export::load_bytes(b"\xff\xff\xff\xff not a model").is_err());
    // a node reading a name nothing defines
    let e = load_err(&simple(vec![node("bad_reader", "Neg", &["nowhere"], &["y"])], vec![]));
    assert!(e.contains("bad_reader") && e.contains("nowhere"), "{e}");
    // a cycle
    let e = load_err(&simple(vec![node("a", "Add", &["x", "b_out"], &["y"]), node("b", "Neg", &["y"], &["b_out"])], vec![]));
    assert!(e.contains("cycle"), "{e}");
    // one name defined twice
    let e = load_err(&simple(vec![node("a", "Neg", &["x"], &["y"]), node("b", "Neg", &["x"], &["y"])], vec![]));
    assert!(e.contains("defined twice") && e.contains("\"y\""), "{e}");
    // tensor data that disagrees with its dims
    let e = load_err(&simple(vec![node("a", "Add", &["x", "w"], &["y"])], vec![raw("w", F32, vec![3], vec![0; 8])]));
    assert!(e.contains("\"w\"") && e.contains("12 bytes"), "{e}");
    // negative and overflowing dims
    let e = load_err(&simple(vec![node("a", "Add", &["x", "w"], &["y"])], vec![raw("w", F32, vec![-1], vec![])]));
    assert!(e.contains("\"w\"") && e.contains("negative"), "{e}");
    let e = load_err(&simple(vec![node("a", "Add", &["x", "w"], &["y"])], vec![raw("w", F32, vec![i64::MAX, 4], vec![])]));
    assert!(e.contains("\"w\""), "{e}");
    // an unknown element type
    let e = load_err(&simple(vec![node("a", "Add", &["x", "w"], &["y"])], vec![raw("w", 99, vec![1], vec![0])]));
    assert!(e.contains("\"w\"") && e.contains("99"), "{e}");
    // no graph
    assert!(rotor_export::load_bytes(&ModelProto::default().encode_to_vec()).is_err());
}

#[test]
fn hostile_declarations_load_without_panicking() {
    // Split declaring no outputs, a declared negative dim, a shape input of absurd rank, a
    // Slice with i64 extremes: rotor reads them (types unknown where inference cannot say)
    // and writes them back unchanged.
    let mut m = simple(
        vec![
            node("split0", "Split", &["x"], &[]),
            node("shape", "Shape", &["x"], &["s"]),
            node("cos", "ConstantOfShape", &["big"], &["c"]),
            node("sl", "Slice", &["x", "lo", "hi", "", "st"], &["y"]),
        ],
        vec![
            raw("big", 7, vec![1], 4i64.to_le_bytes().to_vec()),
            raw("lo", 7, vec![1], i64::MIN.to_le_bytes().to_vec()),
            raw("hi", 7, vec![1], i64::MAX.to_le_bytes().to_vec()),
            raw("st", 7, vec![1], i64::MIN.to_le_bytes().to_vec()),
        ],
    );
    let g = m.graph.as_mut().expect("graph");
    g.input[0] = vi("x", tensor_type(F32, vec![dim_value(-7)]));
    g.value_info.push(vi("big_shape", tensor_type(7, vec![dim_value(1 << 40)])));
    let loaded = rotor_export::load_bytes(&m.encode_to_vec()).expect("load");
    assert_eq!(rotor_export::to_bytes(&loaded).expect("save"), m.encode_to_vec());
    let _ = rotor_ir::text::print(&loaded);
}

#[test]
fn external_data_outside_the_model_folder_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("w.bin"), [0u8; 8]).expect("data");
    for (location, needle) in [("../w.bin", "inside the model's folder"), ("/etc/passwd", "inside the model's folder"), ("w.bin", "past the end")] {
        let mut w = TensorProto { name: Some("w".into()), data_type: Some(F32), dims: vec![4], ..Default::default() };
        w.external_data = vec![entry("location", location), entry("offset", "0"), entry("length", "16")];
        w.data_location = Some(1);
        let m = simple(vec![node("a", "Add", &["x", "w"], &["y"])], vec![w]);
        let path = dir.path().join("m.onnx");
        std::fs::write(&path, m.encode_to_vec()).expect("model");
        let e = rotor_export::load_file(&path).map(|_| ()).expect_err("must refuse");
        assert!(e.to_string().contains(needle), "{location}: {e}");
    }
}

#[test]
fn external_data_round_trips_file_to_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let values: Vec<f32> = (0..4096).map(|i| i as f32 * 0.5).collect();
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(dir.path().join("weights.bin"), [vec![9u8; 100], bytes.clone()].concat()).expect("data");
    let mut w = TensorProto { name: Some("w".into()), data_type: Some(F32), dims: vec![4096], ..Default::default() };
    w.external_data = vec![entry("location", "weights.bin"), entry("offset", "100"), entry("length", &bytes.len().to_string())];
    w.data_location = Some(1);
    let mut m = simple(vec![node("a", "Add", &["x", "w"], &["y"])], vec![w]);
    m.graph.as_mut().expect("graph").input[0] = vi("x", tensor_type(F32, vec![dim_value(4096)]));
    m.graph.as_mut().expect("graph").output[0] = vi("y", tensor_type(F32, vec![dim_value(4096)]));
    let src = dir.path().join("m.onnx");
    std::fs::write(&src, m.encode_to_vec()).expect("model");
    let g = rotor_export::load_file(&src).expect("load");
    let (_, t) = &g.initializers()[0];
    assert!(t.is_external(), "the tensor stays a window of the file");
    // Written elsewhere: still external, in <out>.data, same bytes.
    let out = dir.path().join("out.onnx");
    let written = rotor_export::write_model(&g, &out, &rotor_export::ExportOptions::default()).expect("write");
    assert_eq!(written.len(), 2);
    let back = rotor_export::load_file(&out).expect("reload");
    let (_, t2) = &back.initializers()[0];
    assert!(t2.is_external());
    assert_eq!(t2.raw_bytes().as_deref(), Some(bytes.as_slice()));
    assert_eq!(rotor_ir::text::print(&back), rotor_ir::text::print(&g));
    let (_, count) = rotor_ir::text::diff(&g, &back);
    assert_eq!(count, 0);
    // Overwriting the input in place works too (the old data file stays mapped until replaced).
    rotor_export::write_model(&g, &src, &rotor_export::ExportOptions::default()).expect("in place");
    let again = rotor_export::load_file(&src).expect("reload in place");
    assert_eq!(again.initializers()[0].1.raw_bytes().as_deref(), Some(bytes.as_slice()));
}

#[test]
fn diff_names_what_changed() {
    let a = rotor_export::load_bytes(&rich_model().encode_to_vec()).expect("a");
    let (text, count) = rotor_ir::text::diff(&a, &a);
    assert_eq!(count, 0, "{text}");
    let mut m = rich_model();
    let g = m.graph.as_mut().expect("graph");
    g.node[2].op_type = Some("Sub".into());
    g.initializer[0].raw_data = Some([0.5f32, 4.0].iter().flat_map(|v| v.to_le_bytes()).collect());
    g.node.push(node("extra", "Neg", &["x"], &["z"]));
    let b = rotor_export::load_bytes(&m.encode_to_vec()).expect("b");
    let (text, count) = rotor_ir::text::diff(&a, &b);
    assert_eq!(count, 3, "{text}");
    assert!(text.contains("~ node sum:") && text.contains("Sub(if_out, h)"), "{text}");
    assert!(text.contains("~ init w:"), "{text}");
    assert!(text.contains("+ node extra:"), "{text}");
}

/// Inputs the fuzzers (fuzz/) found problems with: each must load or be refused, print, diff
/// equal to itself, and survive a save + reload with the same graph text.
#[test]
fn fuzz_regressions_stay_fixed() {
    let dir = rotor_tests::repo_root().join("tests/fuzz-regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/fuzz-regressions") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        n += 1;
        let Ok(g) = rotor_export::load_bytes(&bytes) else { continue };
        let text = rotor_ir::text::print(&g);
        let (diff, count) = rotor_ir::text::diff(&g, &g);
        assert_eq!(count, 0, "{}: a graph differs from itself:\n{diff}", path.display());
        if let Ok(saved) = rotor_export::to_bytes(&g) {
            let back = rotor_export::load_bytes(&saved).unwrap_or_else(|e| panic!("{}: rotor's own output does not load: {e}", path.display()));
            assert_eq!(rotor_ir::text::print(&back), text, "{}", path.display());
        }
    }
    assert!(n > 0, "no regression inputs found");
}
