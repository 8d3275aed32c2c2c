//! Export contracts: ModelProto header fields, load → print round trip, metadata, external data
//! and atomic writes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed expectation panics, which is how a test fails")]

use rotor_export::ExportOptions;
use rotor_ir::text;
use rotor_runtime::{BackendKind, Tolerance};
use rotor_tests::{model_dir, ort_available};
use serde_json::json;

fn build(cfg: serde_json::Value) -> rotor_builder::Graph {
    rotor_builder::emit::build_from_json(&cfg, None).expect("valid config")
}

#[test]
fn load_then_print_gives_the_same_text() {
    for cfg in [
        json!({"kind": "rotary", "dim": 16, "mode": "qk", "use_xpos": true}),
        json!({"kind": "rotary", "dim": 8, "mode": "cached_qk", "offset_input": true, "layout": "half", "head_dim": 12, "start_index": 2}),
        json!({"kind": "rotary", "dim": 8, "rank": 5, "seq_before_head_dim": true, "dtype": "float16"}),
    ] {
        let g = build(cfg.clone());
        let bytes = rotor_export::to_bytes(&g).expect("serialise");
        let back = rotor_export::load_bytes(&bytes).expect("decode");
        assert_eq!(text::print(&g), text::print(&back), "config {cfg}");
        let meta = rotor_export::metadata(&bytes).expect("metadata");
        let stored = meta.iter().find(|(k, _)| k == "rotor.config").map(|(_, v)| v.clone()).expect("rotor.config metadata");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&stored).expect("json"), cfg);
    }
}

#[test]
fn model_header_has_ir_version_opset_and_producer() {
    let g = build(json!({"kind": "rotary", "dim": 8, "opset": 21}));
    let m = rotor_export::to_model(&g).expect("model");
    assert_eq!(m.ir_version, Some(10));
    assert_eq!(m.producer_name.as_deref(), Some("rotor"));
    assert_eq!(m.opset_import.len(), 1);
    assert_eq!(m.opset_import[0].version, Some(21));
    assert_eq!(rotor_export::ir_version_for(17), 8);
    assert_eq!(rotor_export::ir_version_for(23), 11);
}

#[test]
fn external_data_models_load_and_match_inline_ones() {
    let g = build(json!({"kind": "rotary", "dim": 64, "head_dim": 300, "mode": "qk"}));
    let dir = model_dir("external");
    let inline = dir.join("inline.onnx");
    let external = dir.join("external.onnx");
    rotor_export::write_model(&g, &inline, &ExportOptions::default()).expect("inline");
    let opts = ExportOptions { external_data_above: 0, external_min_tensor: 512, ..Default::default() };
    let written = rotor_export::write_model(&g, &external, &opts).expect("external");
    assert_eq!(written.len(), 2, "model and data file: {written:?}");
    assert!(written[1].to_string_lossy().ends_with("external.onnx.data"));
    assert!(std::fs::metadata(&external).expect("model").len() < std::fs::metadata(&inline).expect("model").len());
    let back = rotor_export::load_file(&external).expect("load with external data");
    assert_eq!(text::print(&back), text::print(&g));
    if !ort_available("external_data") {
        return;
    }
    let dims = [("N".to_string(), 9i64)].into_iter().collect();
    let ins = rotor_runtime::inputs::random_inputs(&g, &dims, &Default::default(), 7).expect("inputs");
    for kind in [BackendKind::OrtCpu, BackendKind::Tract] {
        let a = rotor_runtime::load_path(kind, &inline).expect("inline").run(&ins).expect("run");
        let b = rotor_runtime::load_path(kind, &external).expect("external").run(&ins).expect("run");
        for ((n, x), (_, y)) in a.iter().zip(&b) {
            let c = rotor_runtime::compare(y, x, Tolerance { atol: 0.0, rtol: 0.0 }).expect("same shape");
            assert!(c.ok(), "{kind:?} {n}: {}", c.summary());
        }
    }
}

#[test]
fn failed_writes_leave_nothing_behind() {
    let g = build(json!({"kind": "rotary", "dim": 64, "head_dim": 300, "mode": "qk"}));
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let missing = dir.join("no/such/dir/out.onnx");
    assert!(rotor_export::write_model(&g, &missing, &ExportOptions::default()).is_err());
    // An existing model, then a write to the same path that fails half way: the external data
    // file is written to a temp file whose rename fails (a directory is in the way). The old
    // model must survive byte for byte and no temp file may remain.
    let target = dir.join("out.onnx");
    std::fs::write(&target, b"previous").expect("seed file");
    std::fs::create_dir_all(dir.join("out.onnx.data/blocker")).expect("dir in the way");
    let opts = ExportOptions { external_data_above: 0, external_min_tensor: 16, ..Default::default() };
    let err = rotor_export::write_model(&g, &target, &opts).expect_err("the data file cannot be renamed into place");
    assert!(err.to_string().contains("out.onnx.data"), "{err}");
    assert_eq!(std::fs::read(&target).expect("old file"), b"previous");
    let leftovers: Vec<_> = std::fs::read_dir(dir).expect("dir").filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().contains(".tmp-")).collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
    // Without the obstacle the same write succeeds and replaces the old file.
    std::fs::remove_dir_all(dir.join("out.onnx.data")).expect("remove");
    rotor_export::write_model(&g, &target, &opts).expect("write");
    assert_ne!(std::fs::read(&target).expect("new file"), b"previous");
}

#[test]
fn bfloat16_graphs_export_with_bfloat16_io_and_f32_math() {
    // No CPU runtime here runs bfloat16 (ORT CPU has no bfloat16 Mul, tract no bfloat16 type):
    // check the types and shapes, reload, and leave the model for onnx.checker (scripts/test.sh).
    for cfg in [
        json!({"kind": "rotary", "dim": 16, "mode": "qk", "use_xpos": true, "dtype": "bfloat16"}),
        json!({"kind": "rotary", "dim": 16, "mode": "cached_qk", "offset_input": true, "layout": "half", "dtype": "bfloat16", "form": "fused"}),
    ] {
        let g = build(cfg.clone());
        for v in g.inputs().iter().chain(g.outputs()) {
            let info = g.info(*v);
            if info.name != "offset" {
                assert_eq!(info.dtype, rotor_builder::DType::BF16, "{cfg}: {} is {}", info.name, info.type_text());
            }
        }
        // positions and angles stay f32: the trig runs in f32 and is cast once
        assert!(g.nodes().iter().any(|n| n.op_type == "Cos" && n.output_values().all(|o| g.dtype(o) == rotor_builder::DType::F32)), "{cfg}");
        let bytes = rotor_export::to_bytes(&g).expect("serialise");
        let back = rotor_export::load_bytes(&bytes).expect("reload");
        assert_eq!(text::print(&back), text::print(&g));
        let name = if cfg["form"] == "fused" { "bf16_cached_fused.onnx" } else { "bf16_xpos_qk.onnx" };
        std::fs::write(model_dir("bfloat16").join(name), &bytes).expect("write");
    }
}
