//! The `rotor` binary: bad input exits 2 with the field named and leaves no file; the happy
//! path exports, prints and checks.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed expectation panics, which is how a test fails")]

use std::path::Path;

mod common;

use common::{ort_missing as rotor_ort_missing, rotor, stderr, write_safetensors};

/// Export `config` (JSON text) and expect exit 2, `needle` in stderr, and no output file.
fn rejects(config: &str, needle: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("cfg.json");
    std::fs::write(&cfg, config).expect("write config");
    let out = dir.path().join("out.onnx");
    let o = rotor(&["export", "--config", cfg.to_str().expect("utf8"), "-o", out.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(2), "config {config}: {}", stderr(&o));
    assert!(stderr(&o).contains(needle), "config {config}: expected {needle:?} in {:?}", stderr(&o));
    assert!(!out.exists(), "config {config}: an output file was left behind");
    let leftovers = std::fs::read_dir(dir.path()).expect("dir").count();
    assert_eq!(leftovers, 1, "config {config}: only the config may remain");
}

#[test]
fn bad_configs_name_the_field_and_leave_no_file() {
    rejects(r#"{"kind":"rotary","dim":32,"dimm":4}"#, "`dimm`");
    rejects(r#"{"kind":"rotary","dim":7}"#, "`dim`");
    rejects(r#"{"kind":"rotary","dim":0}"#, "`dim`");
    rejects(r#"{"kind":"rotary","dim":-4}"#, "`dim`");
    rejects(r#"{"kind":"rotary","dim":64,"head_dim":32}"#, "`dim`");
    rejects(r#"{"kind":"rotary","dim":16,"head_dim":20,"start_index":5}"#, "`start_index`");
    rejects(r#"{"kind":"rotary","dim":16,"interpolate_factor":0.5}"#, "`interpolate_factor`");
    rejects(r#"{"kind":"rotary","dim":16,"theta":0}"#, "`theta`");
    rejects(r#"{"kind":"rotary","dim":16,"theta":-10000}"#, "`theta`");
    rejects(r#"{"kind":"rotary","dim":16,"use_xpos":true}"#, "`use_xpos`");
    rejects(r#"{"kind":"rotary","dim":16,"custom_freqs":[]}"#, "`custom_freqs`");
    rejects(r#"{"kind":"rotary","dim":16,"custom_freqs":[1.0, NaN]}"#, "`custom_freqs[1]`");
    rejects(r#"{"kind":"rotary","dim":16,"theta":Infinity}"#, "`theta`");
    rejects(r#"{"kind":"rotary","dim":16,"max_freq":-1e999}"#, "`max_freq`");
    rejects(r#"{"kind":"rotary","dim":"16"}"#, "`dim`");
    rejects(r#"{"kind":"rotary","dim":16,"mode":"both"}"#, "`mode`");
    rejects(r#"{"kind":"rotary","dim":16,"mode":"qk","use_xpos":true,"offset_input":true}"#, "`offset_input`");
    rejects(r#"{"kind":"rotary","dim":16,"opset":12}"#, "`opset`");
    rejects(r#"{"kind":"rotary","dim":16,"rank":2}"#, "`rank`");
    rejects(r#"{"kind":"rope","dim":16}"#, "`kind`");
    rejects(r#"{"dim":16}"#, "`kind`");
    rejects(r#"{"kind":"rotary","dim":16,}"#, "invalid JSON");
    rejects(r#"[1, 2]"#, "JSON object");
}

#[test]
fn hostile_config_sizes_are_refused_quickly() {
    // Each of these once panicked, ran out of memory or wrote gigabytes (issue 7).
    rejects(r#"{"kind":"rotary","dim":4,"freqs_for":"constant","num_freqs":9223372036854775808}"#, "`num_freqs`");
    rejects(r#"{"kind":"rotary","dim":4000000000}"#, "`dim`");
    rejects(r#"{"kind":"rotary","dim":4,"head_dim":100000000000}"#, "`head_dim`");
    rejects(r#"{"kind":"axial_rotary","dim":4,"axial_dims":[1000000000,1000000000]}"#, "`axial_dims[0]`");
    rejects(r#"{"kind":"sinusoidal","d_model":1000000000}"#, "`d_model`");
    rejects(r#"{"kind":"rotary","dim":4,"custom_freqs":[1e40, 1.0]}"#, "`custom_freqs[0]`");
    rejects(r#"{"kind":"rotary","dim":4,"rank":1000}"#, "`rank`");
    rejects(r#"{"kind":"hierarchical_transformer","num_tokens":16,"dim":8,"depth":1,"seq_len":100000000000}"#, "`seq_len`");
}

#[test]
fn unreadable_config_and_unwritable_output_fail_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("x.onnx");
    let o = rotor(&["export", "--config", "/nonexistent/cfg.json", "-o", out.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot read config"), "{}", stderr(&o));
    assert!(!out.exists());
    let blocked = dir.path().join("no/such/dir/x.onnx");
    let o = rotor(&["export", "rotary", "--dim", "16", "-o", blocked.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no/such/dir/x.onnx"), "{}", stderr(&o));
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0, "nothing may be left");
    let o = rotor(&["export", "rotary", "--dim", "16"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("-o"), "{}", stderr(&o));
}

#[test]
fn shortcut_flags_equal_the_config_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("cfg.json");
    std::fs::write(&cfg, r#"{"kind":"rotary","dim":16,"use_xpos":true,"mode":"cached_qk","offset_input":true,"custom_freqs":null,"theta":500.0}"#)
        .expect("cfg");
    let a = dir.path().join("a.onnx");
    let b = dir.path().join("b.onnx");
    let o = rotor(&["export", "--config", cfg.to_str().expect("utf8"), "-o", a.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o =
        rotor(&["export", "rotary", "--dim", "16", "--use-xpos", "--mode", "cached_qk", "--offset-input", "--theta=500.0", "-o", b.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let pa = rotor(&["print", a.to_str().expect("utf8")]);
    let pb = rotor(&["print", b.to_str().expect("utf8")]);
    assert!(pa.status.success());
    assert_eq!(String::from_utf8_lossy(&pa.stdout), String::from_utf8_lossy(&pb.stdout));
    assert!(String::from_utf8_lossy(&pa.stdout).contains("output q_rot : F32[B, H, Nq, 16]"));
}

#[test]
fn check_passes_on_an_exported_model_and_fails_on_wrong_expectations() {
    if rotor_ort_missing() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("m.onnx");
    let o = rotor(&["export", "rotary", "--dim", "8", "--mode", "qk", "-o", model.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = rotor(&["check", model.to_str().expect("utf8"), "--dim", "N=33"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}\n{}", stderr(&o));
    assert!(out.contains("tract") && out.contains("vs ort-cpu") && out.contains("check passed"), "{out}");
    assert!(out.contains("comparison(s)"), "{out}");
}

#[test]
fn a_golden_of_another_config_fails_on_values() {
    if rotor_ort_missing() {
        return;
    }
    // Same inputs and outputs as the golden (dim 64, qk), another theta: the check must run
    // and fail on the values (exit 1), not on shapes or usage (exit 2).
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("m.onnx");
    let o = rotor(&["export", "rotary", "--dim", "64", "--mode", "qk", "--theta", "500", "-o", model.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../golden/rotary/lang_qk_d64.safetensors");
    let o = rotor(&["check", model.to_str().expect("utf8"), "--expect", golden.to_str().expect("utf8")]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    assert!(out.contains("vs expected") && out.contains("FAIL") && out.contains("outside"), "{out}");
}

#[test]
fn check_fails_when_nothing_is_compared() {
    if rotor_ort_missing() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("kv.onnx");
    let m = model.to_str().expect("utf8");
    let o = rotor(&["export", "rotary", "--dim", "8", "--mode", "cached_qk", "-o", m]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (q, k): (Vec<f32>, Vec<f32>) = ((0..2 * 8).map(|i| i as f32 * 0.1).collect(), (0..3 * 8).map(|i| i as f32 * -0.1).collect());
    let inputs = dir.path().join("in.safetensors");
    write_safetensors(&inputs, &[("q", vec![1, 1, 2, 8], q.clone()), ("k", vec![1, 1, 3, 8], k.clone())]);
    // An expect file naming the inputs instead of the outputs compares nothing: exit 1.
    let expect = dir.path().join("exp.safetensors");
    write_safetensors(&expect, &[("q", vec![1, 1, 2, 8], q), ("k", vec![1, 1, 3, 8], k)]);
    let o = rotor(&["check", m, "--inputs", inputs.to_str().expect("utf8"), "--expect", expect.to_str().expect("utf8")]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("q_rot has no expected tensor") && out.contains("check FAILED"), "{out}");
    // An expect tensor that matches nothing: exit 1, named.
    write_safetensors(&expect, &[("q_rotated", vec![1, 1, 2, 8], vec![0.0; 16])]);
    let o = rotor(&["check", m, "--inputs", inputs.to_str().expect("utf8"), "--expect", expect.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("q_rotated") && stderr(&o).contains("match no input or output"), "{}", stderr(&o));
    // One backend and no expectations: nothing to compare with: exit 1.
    let o = rotor(&["check", m, "--backend", "ort"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("compared by no two backends") && out.contains("0 comparison(s)"), "{out}");
    // --dim names the model does not have: exit 1; impossible sizes: exit 2 naming the dims.
    let o = rotor(&["check", m, "--dim", "N=300"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no symbolic dim \"N\"") && stderr(&o).contains("Nq"), "{}", stderr(&o));
    let o = rotor(&["check", m, "--dim", "Nq=400", "--dim", "Nk=300"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("Nq=400") && stderr(&o).contains("Nk=300"), "{}", stderr(&o));
    let o = rotor(&["check", m, "--dim", "Nq=0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("at least 1"), "{}", stderr(&o));
    assert!(!String::from_utf8_lossy(&o.stderr).contains('\u{1b}'), "no terminal escapes in errors");
}

#[test]
fn weights_that_give_nothing_the_config_reads_are_refused() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("m.onnx");
    let weights = dir.path().join("w.safetensors");
    write_safetensors(&weights, &[("something_else", vec![2], vec![1.0, 2.0])]);
    let o = rotor(&["export", "rotary", "--dim", "8", "--weights", weights.to_str().expect("utf8"), "-o", out.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("`freqs`") && stderr(&o).contains("something_else"), "{}", stderr(&o));
    assert!(!out.exists());
    let hier = root.join("golden/hierarchical/demo_config_a.weights.safetensors");
    let o = rotor(&["export", "sinusoidal", "--d-model", "8", "--weights", hier.to_str().expect("utf8"), "-o", out.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("read no weights"), "{}", stderr(&o));
    assert!(!out.exists());
}

#[test]
fn opt_round_trips_and_diff_reports_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |n: &str| dir.path().join(n).to_str().expect("utf8").to_string();
    let o = rotor(&["export", "rotary", "--dim", "16", "--mode", "qk", "--use-xpos", "-o", &p("a.onnx")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = rotor(&["opt", &p("a.onnx"), "-o", &p("b.onnx"), "--passes", "none"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(p("a.onnx")).expect("a"), std::fs::read(p("b.onnx")).expect("b"), "a round trip of rotor's own export is byte-identical");
    let o = rotor(&["diff", &p("a.onnx"), &p("b.onnx")]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
    let o = rotor(&["export", "rotary", "--dim", "16", "--mode", "qk", "--use-xpos", "--theta", "500", "-o", &p("c.onnx")]);
    assert!(o.status.success());
    let o = rotor(&["diff", &p("a.onnx"), &p("c.onnx")]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("~ init rope.freqs") || out.contains("~ init"), "{out}");
    // Garbage in: exit 2, nothing written; unknown pass: exit 2.
    std::fs::write(p("bad.onnx"), b"\x08\x07garbage").expect("bad");
    let o = rotor(&["opt", &p("bad.onnx"), "-o", &p("out.onnx")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!dir.path().join("out.onnx").exists());
    let o = rotor(&["opt", &p("a.onnx"), "-o", &p("out.onnx"), "--passes", "fuse-everything"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown pass"), "{}", stderr(&o));
    let o = rotor(&["diff", &p("a.onnx"), &p("bad.onnx")]);
    assert_eq!(o.status.code(), Some(2));
    // --no-value-info leaves the intermediate types out; the default writes them.
    let o = rotor(&["export", "rotary", "--dim", "16", "--mode", "qk", "--no-value-info", "-o", &p("d.onnx")]);
    assert!(o.status.success());
    assert!(std::fs::metadata(p("d.onnx")).expect("d").len() < std::fs::metadata(p("a.onnx")).expect("a").len());
}

#[test]
fn check_against_package_golden_passes() {
    if rotor_ort_missing() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let model = dir.path().join("x.onnx");
    let o = rotor(&["export", "rotary", "--dim", "32", "--mode", "qk", "--use-xpos", "-o", model.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let golden = root.join("golden/rotary/xpos_qk.safetensors");
    let o = rotor(&["check", model.to_str().expect("utf8"), "--expect", golden.to_str().expect("utf8"), "--backend", "all"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("set n1031") && out.contains("vs expected"), "{out}");
}

#[test]
fn check_defaults_to_the_half_precision_tolerance_for_float16_outputs() {
    if rotor_ort_missing() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let model = dir.path().join("h.onnx");
    let o = rotor(&["export", "rotary", "--dim", "16", "--mode", "qk", "--use-xpos", "--dtype", "float16", "-o", model.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let golden = root.join("golden/rotary/f16_xpos_qk.safetensors");
    let (m, g) = (model.to_str().expect("utf8"), golden.to_str().expect("utf8"));
    let o = rotor(&["check", m, "--expect", g]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("check passed (tolerance |a-b| <= 0.002 + 0.004*|b|)"), "{out}");
    // The f32 tolerance, asked for explicitly, is finer than float16 rounding of the package.
    let o = rotor(&["check", m, "--expect", g, "--atol", "1e-4", "--rtol", "1e-4"]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stdout));
}

/// True (and a visible SKIPPED line) when no ONNX Runtime is configured for this run.
#[test]
fn hierarchical_export_needs_weights_and_check_rejects_lengths_past_seq_len() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("h.onnx");
    let cfg = root.join("examples/hierarchical_config_a.json");
    let o = rotor(&["export", "--config", cfg.to_str().expect("utf8"), "-o", model.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--weights"), "{}", stderr(&o));
    assert!(!model.exists());
    let weights = root.join("golden/hierarchical/demo_config_a.weights.safetensors");
    let o = rotor(&["export", "--config", cfg.to_str().expect("utf8"), "--weights", weights.to_str().expect("utf8"), "-o", model.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = rotor(&["check", model.to_str().expect("utf8"), "--dim", "N=129"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("129 > seq_len 128"), "{}", stderr(&o));
}

#[test]
fn opt_fuses_rotors_decomposed_export_reports_and_explains() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |n: &str| dir.path().join(n).to_str().expect("utf8").to_string();
    let o = rotor(&["export", "rotary", "--dim", "16", "--mode", "qk", "--use-xpos", "-o", &p("a.onnx")]);
    assert!(o.status.success(), "{}", stderr(&o));
    // default pipeline, ai.onnx target: both q and k fused, in the report
    let o = rotor(&["opt", &p("a.onnx"), "-o", &p("f.onnx"), "--report", &p("r.json"), "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p("r.json")).expect("report")).expect("json");
    let fused: u64 = r["passes"].as_array().expect("passes").iter().filter(|p| p["name"] == "fuse_rope").map(|p| p["rewrites"].as_u64().expect("n")).sum();
    assert_eq!(fused, 2, "{r}");
    assert_eq!(r["rope_target"], "ai.onnx");
    assert!(r["converged"].as_bool().expect("converged"));
    let printed = rotor(&["print", &p("f.onnx")]);
    assert_eq!(String::from_utf8_lossy(&printed.stdout).matches("RotaryEmbedding(").count(), 2);
    // the same bytes from the same input
    let o = rotor(&["opt", &p("a.onnx"), "-o", &p("g.onnx"), "-q"]);
    assert!(o.status.success());
    assert_eq!(std::fs::read(p("f.onnx")).expect("f"), std::fs::read(p("g.onnx")).expect("g"));
    // lowered back: no fused op, and --explain says when nothing was left alone
    let o = rotor(&["opt", &p("f.onnx"), "-o", &p("l.onnx"), "--passes", "lower-rope,dce", "--explain"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("explain: no candidate was left alone"), "{}", stderr(&o));
    let printed = rotor(&["print", &p("l.onnx")]);
    assert!(!String::from_utf8_lossy(&printed.stdout).contains("RotaryEmbedding"));
    // bad flags: exit 2 naming the flag
    let o = rotor(&["opt", &p("a.onnx"), "-o", &p("x.onnx"), "--rope-target", "tensorrt"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--rope-target") && stderr(&o).contains("decomposed"), "{}", stderr(&o));
    assert!(!dir.path().join("x.onnx").exists());
    // --help lists every pass
    let help = rotor(&["opt", "--help"]);
    let text = String::from_utf8_lossy(&help.stdout);
    for pass in rotor_passes::PASSES {
        assert!(text.contains(&pass.name.replace('_', "-")), "--help does not mention {}", pass.name);
    }
    for flag in ["--rope-target", "--verify", "--explain", "--report"] {
        assert!(text.contains(flag), "--help does not mention {flag}");
    }
    let pipeline: Vec<String> = rotor_passes::DEFAULT_PIPELINE.iter().map(|p| p.replace('_', "-")).collect();
    assert!(text.contains(&format!("Default pipeline: {}.", pipeline.join(", "))), "--help states another default pipeline:\n{text}");
}

#[test]
fn opt_explains_why_a_near_miss_was_not_fused() {
    // q·cos + q·sin: "rotate" is the identity, which is no pair swap
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |n: &str| dir.path().join(n).to_str().expect("utf8").to_string();
    let o = rotor(&["export", "rotary", "--dim", "16", "-o", &p("a.onnx")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&rotor(&["print", &p("a.onnx")]).stdout).to_string();
    assert!(text.contains("Split") || text.contains("Gather"), "rotor's decomposed form swaps with Split or Gather:\n{text}");
    let o = rotor(&["opt", &p("a.onnx"), "-o", &p("b.onnx"), "--passes", "fuse-rope,dce", "--rope-target", "decomposed", "--explain"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // already rotor's compact form: nothing to do for the decomposed target
    assert!(!stderr(&o).contains("fuse-rope "), "{}", stderr(&o));
}

#[test]
fn opt_verify_fails_when_the_outputs_differ() {
    if rotor_ort_missing() {
        return;
    }
    // a model drawing random numbers differs from itself run to run: --verify must say so
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |n: &str| dir.path().join(n).to_str().expect("utf8").to_string();
    let mut g = rotor_builder::Builder::new("random", 17).expect("graph");
    let x = g.input("x", rotor_builder::DType::F32, [rotor_builder::Dim::sym("N"), rotor_builder::Dim::Fixed(4)]).expect("x");
    // Dropout in training mode zeroes a random half of the elements on every run
    let ratio = g.constant("ratio", rotor_builder::Tensor::scalar_f32(0.5)).expect("ratio");
    let training = g.constant("training", rotor_builder::Tensor::new(vec![], rotor_builder::TensorData::Bool(vec![true])).expect("bool")).expect("training");
    let y = g.add_node("drop", "Dropout", &[Some(x), Some(ratio), Some(training)], vec![]).expect("drop");
    g.output("y", y).expect("out");
    std::fs::write(p("random.onnx"), rotor_export::to_bytes(&g).expect("bytes")).expect("write");
    let o = rotor(&["opt", &p("random.onnx"), "-o", &p("out.onnx"), "--passes", "none", "--verify"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("FAILED"), "{}", stderr(&o));
    // and passes on a deterministic model, at the chosen sizes
    let o = rotor(&["export", "rotary", "--dim", "16", "--mode", "qk", "-o", &p("a.onnx")]);
    assert!(o.status.success());
    let o = rotor(&["opt", &p("a.onnx"), "-o", &p("b.onnx"), "--verify", "--dim", "N=1,37,70"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stderr(&o).matches("verify [").count(), 6, "3 bindings x 2 outputs:\n{}", stderr(&o));
    let o = rotor(&["opt", &p("a.onnx"), "-o", &p("b.onnx"), "--verify", "--dim", "S=3"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn lint_reports_each_target_with_sources_and_opt_target_legalizes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |n: &str| dir.path().join(n).to_str().expect("utf8").to_string();
    let o = rotor(&["export", "rotary", "--dim", "16", "--mode", "qk", "--form", "fused", "-o", &p("f.onnx")]);
    assert!(o.status.success(), "{}", stderr(&o));
    // the opset-23 op: ORT 1.22 and TensorRT 10.14 cannot run it; the finding names its source
    let o = rotor(&["lint", &p("f.onnx"), "--target", "ort-1.22", "--target", "ort"]);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("RotaryEmbedding") && out.contains("source:") && out.contains("ort: clean"), "{out}");
    let o = rotor(&["lint", &p("f.onnx"), "--target", "all"]);
    assert_eq!(o.status.code(), Some(1));
    // legalized for ORT 1.22: the standard op lowered, fused into the contrib op, and the model
    // (at opset 23 only for that op) lowered to opset 22; the result lints clean
    let o = rotor(&["opt", &p("f.onnx"), "-o", &p("o.onnx"), "--target", "ort-1.22"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&rotor(&["print", &p("o.onnx")]).stdout).to_string();
    assert!(
        text.starts_with("graph") && text.contains("(ai.onnx 22, com.microsoft 1)") && text.matches("com.microsoft.RotaryEmbedding").count() == 2,
        "{text}"
    );
    // portable (opset 17) is below what rotor lowers to: reported, written anyway, exit 1
    let o = rotor(&["opt", &p("f.onnx"), "-o", &p("p.onnx"), "--target", "portable", "--explain"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("opset 23 cannot be lowered to 17"), "{}", stderr(&o));
    let o = rotor(&["export", "rotary", "--dim", "16", "--mode", "qk", "--opset", "17", "-o", &p("d.onnx")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = rotor(&["opt", &p("d.onnx"), "-o", &p("m.onnx"), "--target", "ort-1.22", "--report", &p("r.json")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("lints clean"), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p("r.json")).expect("report")).expect("json");
    assert_eq!(r["rope_target"], "com.microsoft");
    let o = rotor(&["lint", &p("m.onnx"), "--target", "ort-1.22"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
    // unknown target: exit 2, listing the known ones
    let o = rotor(&["lint", &p("d.onnx"), "--target", "onnxruntime-web"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("tensorrt-10.15"), "{}", stderr(&o));
}
