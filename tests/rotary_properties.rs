//! Property tests over random rotary configs and shapes (no Python needed):
//! ORT == tract on every graph, inferred output shapes match what runs, and the position
//! arithmetic is right (an offset shifts positions; cached keys rotate like the plain graph).
//! The last two are metamorphic (rotor against rotor, so a graph that is wrong the same way in
//! both forms would pass them); the package's own math checks offsets and cached keys on random
//! configs in `torch_properties.rs` (libtorch) and `rotary_golden.rs` (held-out goldens).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed expectation panics, which is how a test fails")]

use std::collections::BTreeMap;

use proptest::prelude::*;
use rotor_runtime::{BackendKind, HostTensor, NamedTensors, Tolerance};
use rotor_tests::{f32_tensor, ort_available};
use serde_json::{Value, json};

fn config() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec![4usize, 6, 8, 16, 32]),
        prop::sample::select(vec!["single", "qk", "cached_qk"]),
        any::<bool>(),
        prop::sample::select(vec!["interleaved", "half"]),
        0usize..4,
        0usize..3,
        3usize..6,
        any::<bool>(),
        any::<bool>(),
        prop::sample::select(vec!["lang", "pixel", "constant"]),
    )
        .prop_map(|(dim, mode, xpos, layout, extra, start, rank, seq_before, offset, freqs_for)| {
            let use_xpos = xpos && mode != "single" && freqs_for == "lang";
            let mut c = json!({"kind": "rotary", "dim": dim, "mode": mode, "layout": layout, "rank": rank,
                "seq_before_head_dim": seq_before, "freqs_for": freqs_for, "use_xpos": use_xpos,
                "head_dim": dim + extra, "start_index": start.min(extra)});
            if offset && !(use_xpos && mode == "qk") {
                c["offset_input"] = json!(true);
            }
            c
        })
}

fn run(kind: BackendKind, bytes: &[u8], ins: &NamedTensors) -> NamedTensors {
    rotor_runtime::load(kind, bytes).and_then(|mut b| b.run(ins)).unwrap_or_else(|e| panic!("{kind:?}: {e}"))
}

fn close(a: &NamedTensors, b: &NamedTensors, what: &str) {
    rotor_tests::assert_close(a, b, Tolerance::PARITY_F32, what);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn ort_and_tract_agree_and_shapes_match_inference(cfg in config(), n in 1i64..70, extra_k in 0i64..40, seed in 0u64..1000) {
        if !ort_available("properties") { return Ok(()); }
        let g = rotor_builder::emit::build_from_json(&cfg, None).unwrap_or_else(|e| panic!("{cfg}: {e}"));
        let bytes = rotor_export::to_bytes(&g).expect("serialise");
        let dims: BTreeMap<String, i64> = [("N".into(), n), ("Nq".into(), n), ("Nk".into(), n + extra_k), ("B".into(), 2), ("H".into(), 3)].into_iter().collect();
        let ins = rotor_runtime::inputs::random_inputs(&g, &dims, &[("offset".to_string(), (0, 3000))].into_iter().collect(), seed).expect("inputs");
        let a = run(BackendKind::OrtCpu, &bytes, &ins);
        let b = run(BackendKind::Tract, &bytes, &ins);
        close(&b, &a, &format!("tract vs ort, {cfg}"));
        for (v, (name, t)) in g.outputs().iter().zip(&a) {
            let inferred: Vec<i64> = g.info(*v).shape.as_ref().expect("rank").iter().map(|d| match d {
                rotor_builder::Dim::Fixed(k) => *k,
                d => dims.get(d.symbol().unwrap_or("?")).copied().or_else(|| rotor_runtime::inputs::default_dim(d.symbol().unwrap_or("?")).into()).unwrap_or(-1),
            }).collect();
            let actual: Vec<i64> = t.shape().iter().map(|d| *d as i64).collect();
            prop_assert_eq!(inferred, actual, "output {} of {}", name, cfg);
        }
    }

    #[test]
    fn an_offset_shifts_positions(dim in prop::sample::select(vec![4usize, 8, 16]), n in 1usize..20, off in 0usize..50, layout in prop::sample::select(vec!["interleaved", "half"]), seed in 0u64..100) {
        if !ort_available("properties") { return Ok(()); }
        let with = rotor_builder::emit::build_from_json(&json!({"kind": "rotary", "dim": dim, "layout": layout, "offset_input": true, "rank": 3}), None).expect("graph");
        let without = rotor_builder::emit::build_from_json(&json!({"kind": "rotary", "dim": dim, "layout": layout, "rank": 3}), None).expect("graph");
        let mut rng = rotor_runtime::inputs::Rng::new(seed);
        let x: Vec<f32> = (0..n * dim).map(|_| rng.normal() as f32).collect();
        // x placed at positions off..off+n of a longer sequence (zeros before).
        let mut long = vec![0.0f32; off * dim];
        long.extend_from_slice(&x);
        let a = run(BackendKind::OrtCpu, &rotor_export::to_bytes(&with).expect("bytes"), &vec![
            ("x".into(), f32_tensor(&[1, n, dim], x)),
            ("offset".into(), HostTensor::I64(ndarray::ArrayD::from_elem(vec![], off as i64))),
        ]);
        let b = run(BackendKind::Tract, &rotor_export::to_bytes(&without).expect("bytes"), &vec![("x".into(), f32_tensor(&[1, n + off, dim], long))]);
        let HostTensor::F32(b) = &b[0].1 else { panic!("f32 output") };
        let tail = b.slice(ndarray::s![.., off.., ..]).to_owned().into_dyn();
        close(&a, &vec![("x_rot".into(), HostTensor::F32(tail))], "offset vs shifted");
    }
}

#[test]
fn cached_keys_rotate_like_the_plain_graph() {
    if !ort_available("properties") {
        return;
    }
    // rotate_queries_with_cached_keys: k at 0..Nk, q at Nk-Nq..Nk. Same as the single-mode graph
    // on k, and on q placed at the end of a length-Nk sequence.
    let cached = rotor_builder::emit::build_from_json(&json!({"kind": "rotary", "dim": 8, "mode": "cached_qk", "rank": 3}), None).expect("graph");
    let single = rotor_builder::emit::build_from_json(&json!({"kind": "rotary", "dim": 8, "rank": 3}), None).expect("graph");
    let (nq, nk) = (3usize, 11usize);
    let mut rng = rotor_runtime::inputs::Rng::new(5);
    let q: Vec<f32> = (0..nq * 8).map(|_| rng.normal() as f32).collect();
    let k: Vec<f32> = (0..nk * 8).map(|_| rng.normal() as f32).collect();
    let out = run(
        BackendKind::OrtCpu,
        &rotor_export::to_bytes(&cached).expect("bytes"),
        &vec![("q".into(), f32_tensor(&[1, nq, 8], q.clone())), ("k".into(), f32_tensor(&[1, nk, 8], k.clone()))],
    );
    let single_bytes = rotor_export::to_bytes(&single).expect("bytes");
    let k_ref = run(BackendKind::OrtCpu, &single_bytes, &vec![("x".into(), f32_tensor(&[1, nk, 8], k))]);
    let mut padded = vec![0.0f32; (nk - nq) * 8];
    padded.extend_from_slice(&q);
    let q_ref = run(BackendKind::OrtCpu, &single_bytes, &vec![("x".into(), f32_tensor(&[1, nk, 8], padded))]);
    let HostTensor::F32(q_full) = &q_ref[0].1 else { panic!("f32") };
    let q_tail = HostTensor::F32(q_full.slice(ndarray::s![.., nk - nq.., ..]).to_owned().into_dyn());
    close(&vec![out[0].clone()], &vec![("q_rot".into(), q_tail)], "cached q");
    close(&vec![out[1].clone()], &vec![("k_rot".into(), k_ref[0].1.clone())], "cached k");
}
