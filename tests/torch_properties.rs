//! The libtorch reference backend (feature `torch`): it reproduces the package's goldens
//! (including torch's own frequencies, bit for bit), and on random configs and shapes ORT ==
//! tract == libtorch. Built and run by scripts/test.sh (`--features torch`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed expectation panics, which is how a test fails")]
#![cfg(feature = "torch")]

use std::collections::BTreeMap;

use proptest::prelude::*;
use rotor_builder::config::ModelConfig;
use rotor_runtime::torch_backend::TorchRotary;
use rotor_runtime::{Backend, BackendKind, NamedTensors, Tolerance};
use rotor_tests::{golden_files, kernel_independent_freqs, ort_available, read_golden, repo_root};
use serde_json::{Value, json};

fn rotary(cfg: &Value) -> rotor_builder::config::RotaryConfig {
    match ModelConfig::from_json(cfg).expect("config") {
        ModelConfig::Rotary(c) => c,
        other => panic!("not rotary: {other:?}"),
    }
}

fn close(a: &NamedTensors, b: &NamedTensors, tol: Tolerance, what: &str) {
    rotor_tests::assert_close(a, b, tol, what);
}

/// The golden of the same name computed on this machine by `make_goldens.py --check --keep
/// $ROTOR_FRESH_GOLDENS/rotary` (scripts/test.sh), when present. Required when
/// `ROTOR_REQUIRE_FRESH=1`.
fn fresh_golden(committed: &std::path::Path) -> Option<rotor_tests::Golden> {
    let dir = std::env::var_os("ROTOR_FRESH_GOLDENS").map(std::path::PathBuf::from);
    let path = dir.map(|d| d.join("rotary").join(committed.file_name().expect("file name")));
    match path.filter(|p| p.exists()) {
        Some(p) => Some(read_golden(&p)),
        None if std::env::var("ROTOR_REQUIRE_FRESH").as_deref() == Ok("1") => {
            panic!("no freshly computed golden for {} (ROTOR_FRESH_GOLDENS)", committed.display())
        }
        None => None,
    }
}

#[test]
fn libtorch_reference_reproduces_the_package_goldens() {
    let mut checked = 0;
    let mut fresh_checked = 0;
    for f in golden_files(&repo_root().join("golden/rotary")) {
        let golden = read_golden(&f);
        if !golden.parity || golden.config.get("kind").and_then(|k| k.as_str()) != Some("rotary") {
            continue;
        }
        let cfg = rotary(&golden.config);
        let mut t = TorchRotary::new(&cfg, None).expect("torch");
        // libtorch computes the same frequencies as the Python package: bit for bit against the
        // package run on this machine (scripts/test.sh keeps those files); the committed golden,
        // which another CPU (another of torch's kernels) may have made, must hold frequencies
        // that some kernel can produce (`kernel_independent_freqs`, its reasons there).
        let ours = rotor_runtime::torch_backend::freqs_of(&t);
        let theirs = golden.weights().f32_exact("freqs", &[ours.len() as i64]).expect("golden freqs");
        if let Err(e) = kernel_independent_freqs(&cfg.freqs, &theirs) {
            panic!("{}: the committed golden's frequencies are no kernel's: {e}", golden.name);
        }
        if let Err(e) = kernel_independent_freqs(&cfg.freqs, &ours) {
            panic!("{}: libtorch's frequencies on this machine are no kernel's: {e}", golden.name);
        }
        if let Some(fresh) = fresh_golden(&f) {
            let theirs = fresh.weights().f32_exact("freqs", &[ours.len() as i64]).expect("fresh freqs");
            assert!(
                ours.iter().zip(&theirs).all(|(a, b)| a.to_bits() == b.to_bits()),
                "{}: libtorch freqs differ from the package's on this machine",
                golden.name
            );
            fresh_checked += 1;
        }
        let inputs: Vec<&str> = match cfg.mode {
            rotor_builder::config::RotaryMode::Single => vec!["x"],
            _ => vec!["q", "k"],
        };
        let tol = Tolerance::parity_for(cfg.common.dtype);
        for (set, tensors) in &golden.sets {
            let ins: NamedTensors = tensors.iter().filter(|(n, _)| inputs.contains(&n.as_str()) || n == "offset").cloned().collect();
            let out = t.run(&ins).unwrap_or_else(|e| panic!("{}/{set}: {e}", golden.name));
            let expected: NamedTensors = out.iter().map(|(n, _)| tensors.iter().find(|(m, _)| m == n).cloned().expect("expected output")).collect();
            close(&out, &expected, tol, &format!("{}/{set} torch vs package", golden.name));
        }
        checked += 1;
    }
    assert!(checked >= 25, "checked {checked}");
    eprintln!("libtorch freqs: {checked} committed goldens hold kernel-independent frequencies, {fresh_checked} bit-exact against the package on this machine");
}

fn config() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec![4usize, 8, 16, 32, 64]),
        prop::sample::select(vec!["single", "qk", "cached_qk"]),
        any::<bool>(),
        prop::sample::select(vec!["interleaved", "half"]),
        0usize..4,
        3usize..6,
        any::<bool>(),
        any::<bool>(),
        prop::sample::select(vec![1.0f64, 2.0, 8.0]),
        prop::sample::select(vec![10000.0f64, 500.0, 500000.0]),
    )
        .prop_map(|(dim, mode, xpos, layout, extra, rank, seq_before, offset, interp, theta)| {
            let use_xpos = xpos && mode != "single";
            let mut c = json!({"kind": "rotary", "dim": dim, "mode": mode, "layout": layout, "rank": rank,
                "seq_before_head_dim": seq_before, "use_xpos": use_xpos, "interpolate_factor": interp, "theta": theta,
                "head_dim": dim + if use_xpos { 0 } else { extra }});
            if offset && !(use_xpos && mode == "qk") {
                c["offset_input"] = json!(true);
            }
            c
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn ort_tract_and_libtorch_agree(cfg in config(), n in 1i64..300, extra_k in 0i64..200, seed in 0u64..10_000) {
        if !ort_available("torch_properties") { return Ok(()); }
        let rc = rotary(&cfg);
        // torch's frequencies: exact for any config (the weights path), so long lengths compare
        // at the parity tolerance.
        let mut t = TorchRotary::new(&rc, None).expect("torch");
        let freqs = rotor_runtime::torch_backend::freqs_of(&t);
        let mut w = rotor_builder::WeightMap::new();
        w.insert("freqs", rotor_builder::Tensor::f32(vec![freqs.len() as i64], freqs).expect("freqs"));
        let g = rotor_builder::emit::build_from_json(&cfg, Some(&w)).unwrap_or_else(|e| panic!("{cfg}: {e}"));
        let bytes = rotor_export::to_bytes(&g).expect("bytes");
        let dims: BTreeMap<String, i64> = [("N".into(), n), ("Nq".into(), n), ("Nk".into(), n + extra_k), ("B".into(), 2), ("H".into(), 2), ("A".into(), 2)].into_iter().collect();
        let ins = rotor_runtime::inputs::random_inputs(&g, &dims, &[("offset".to_string(), (0, 4000))].into_iter().collect(), seed).expect("inputs");
        let reference = t.run(&ins).expect("torch");
        for kind in [BackendKind::OrtCpu, BackendKind::Tract] {
            let out = rotor_runtime::load(kind, &bytes).and_then(|mut b| b.run(&ins)).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
            close(&out, &reference, Tolerance::PARITY_F32, &format!("{kind:?} vs libtorch, {cfg}"));
        }
    }
}

/// Every backend answers bad inputs with an error, never a panic or an abort: a missing input,
/// the wrong rank, feature size or element type, q and k of lengths the graph cannot serve.
#[test]
fn every_backend_reports_bad_inputs_as_errors() {
    if !ort_available("every_backend_reports_bad_inputs_as_errors") {
        return;
    }
    let f = |shape: &[usize]| rotor_tests::f32_tensor(shape, vec![0.5; shape.iter().product()]);
    let ints = |shape: &[usize]| rotor_runtime::HostTensor::I64(ndarray::ArrayD::from_elem(shape.to_vec(), 1));
    let cases: Vec<(Value, &str, NamedTensors)> = vec![
        (json!({"kind": "rotary", "dim": 16, "mode": "qk", "use_xpos": true}), "missing k", vec![("q".into(), f(&[1, 2, 5, 16]))]),
        (
            json!({"kind": "rotary", "dim": 16, "mode": "qk", "use_xpos": true}),
            "q of rank 3",
            vec![("k".into(), f(&[1, 2, 5, 16])), ("q".into(), f(&[2, 5, 16]))],
        ),
        (
            json!({"kind": "rotary", "dim": 16, "mode": "qk", "use_xpos": true}),
            "8 features",
            vec![("k".into(), f(&[1, 2, 5, 8])), ("q".into(), f(&[1, 2, 5, 8]))],
        ),
        (
            json!({"kind": "rotary", "dim": 16, "mode": "qk", "use_xpos": true}),
            "int64 q",
            vec![("k".into(), f(&[1, 2, 5, 16])), ("q".into(), ints(&[1, 2, 5, 16]))],
        ),
        (
            json!({"kind": "rotary", "dim": 16, "mode": "qk", "use_xpos": true}),
            "xPos q 5, k 7",
            vec![("k".into(), f(&[1, 2, 7, 16])), ("q".into(), f(&[1, 2, 5, 16]))],
        ),
        (
            json!({"kind": "rotary", "dim": 16, "mode": "cached_qk"}),
            "cached keys Nq 7 > Nk 5",
            vec![("k".into(), f(&[1, 2, 5, 16])), ("q".into(), f(&[1, 2, 7, 16]))],
        ),
    ];
    for (cfg, what, inputs) in cases {
        let g = rotor_builder::emit::build_from_json(&cfg, None).expect("graph");
        let bytes = rotor_export::to_bytes(&g).expect("bytes");
        for kind in [BackendKind::OrtCpu, BackendKind::Tract, BackendKind::Torch] {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rotor_runtime::load(kind, &bytes).and_then(|mut b| b.run(&inputs))));
            match result {
                Ok(Err(_)) => {}
                Ok(Ok(_)) => panic!("{what}: {} ran and returned outputs", kind.label()),
                Err(_) => panic!("{what}: {} panicked instead of returning an error", kind.label()),
            }
        }
    }
}
