//! Export time, config JSON → ONNX bytes (parse + build + serialise), for the RoPE and xPos
//! graphs of the perf goals. `cargo bench -p rotor-export`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "benchmark code: a failed setup panics")]

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

fn export(c: &mut Criterion) {
    let cases = [
        ("rope_qk_d64", json!({"kind": "rotary", "dim": 64, "mode": "qk"})),
        ("xpos_qk_d64", json!({"kind": "rotary", "dim": 64, "mode": "qk", "use_xpos": true})),
        ("rope_cached_offset_d128", json!({"kind": "rotary", "dim": 128, "mode": "cached_qk", "offset_input": true})),
    ];
    for (name, cfg) in cases {
        let text = cfg.to_string();
        c.bench_function(&format!("export/{name}"), |b| {
            b.iter(|| {
                let value = rotor_builder::config::parse_json_text(std::hint::black_box(&text)).expect("config");
                let g = rotor_builder::emit::build_from_json(&value, None).expect("graph");
                rotor_export::to_bytes(&g).expect("bytes")
            })
        });
    }
}

/// The HierarchicalTransformer (dim 64, depth 2, hierarchies (1,2,8), windows
/// (16,32,None)): weights read and parsed from the committed checkpoint on every iteration.
fn export_hierarchical(c: &mut Criterion) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cfg_text = std::fs::read_to_string(root.join("examples/hierarchical_config_a.json")).expect("config");
    let weights = root.join("golden/hierarchical/demo_config_a.weights.safetensors");
    c.bench_function("export/hierarchical_config_a_with_weights", |b| {
        b.iter(|| {
            let value = rotor_builder::config::parse_json_text(&cfg_text).expect("config");
            let bytes = std::fs::read(&weights).expect("weights");
            let w = rotor_builder::WeightMap::from_safetensors(&bytes).expect("safetensors");
            let g = rotor_builder::emit::build_from_json(&value, Some(&w)).expect("graph");
            rotor_export::to_bytes(&g).expect("bytes")
        })
    });
}

criterion_group!(benches, export, export_hierarchical);
criterion_main!(benches);
