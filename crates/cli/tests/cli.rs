//! The `rotor` binary: bad input exits 2 with the field named and leaves no file; the happy
//! path exports, prints and checks.

use std::path::Path;
use std::process::{Command, Output};

fn rotor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rotor")).args(args).output().expect("run rotor")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

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
    // A golden of another config must not pass.
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../golden/rotary/lang_qk_d64.safetensors");
    let o = rotor(&["check", model.to_str().expect("utf8"), "--expect", golden.to_str().expect("utf8")]);
    assert_ne!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
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
fn rotor_ort_missing() -> bool {
    if std::env::var("ORT_DYLIB_PATH").is_ok() || std::env::var("ROTOR_REQUIRE_ORT").as_deref() == Ok("1") {
        return false;
    }
    eprintln!("SKIPPED: ORT_DYLIB_PATH is not set (scripts/test.sh sets it)");
    true
}

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
