//! The claims a user relies on hold: no check passes on a tolerance that cannot fail, a closed
//! stdout ends every subcommand quietly, every backend reports bad inputs as errors, every
//! argument is checked before anything is written (a failed run leaves nothing), and no output
//! overwrites one of the command's inputs or another of its outputs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed expectation panics, which is how a test fails")]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;

use common::{ort_missing, rotor, stderr, write_tensors};

/// The files in `dir`, sorted by name.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).expect("dir").map(|e| e.expect("entry").file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// Export a rotary config into `dir/name` (flags after the kind).
fn export(dir: &Path, name: &str, flags: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let mut args = vec!["export", "rotary"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["-o", out.to_str().expect("utf8")]);
    let o = rotor(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

/// Write a safetensors file of one tensor with the given safetensors dtype and raw bytes.
fn write_tensor(path: &Path, name: &str, dtype: &str, shape: &[usize], data: &[u8]) {
    write_tensors(path, &[(name, dtype, shape.to_vec(), data.to_vec())]);
}

#[test]
fn a_tolerance_that_cannot_fail_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = export(dir.path(), "m.onnx", &["--dim", "8"]);
    for flag in ["--atol=nan", "--atol=-1", "--rtol=NaN", "--rtol=-0.5", "--atol=inf", "--atol=abc"] {
        let o = rotor(&["check", m.to_str().expect("utf8"), flag]);
        assert_eq!(o.status.code(), Some(2), "{flag}: {}", stderr(&o));
        let name = if flag.contains("atol") { "atol" } else { "rtol" };
        assert!(stderr(&o).contains(name), "{flag}: {}", stderr(&o));
        assert!(!String::from_utf8_lossy(&o.stdout).contains("check passed"), "{flag}");
    }
}

/// Run `args` with stdout connected to a pipe whose read end is already closed.
fn with_closed_stdout(args: &[&str]) -> std::process::ExitStatus {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rotor")).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn rotor");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "{args:?} panicked on a closed stdout:\n{err}");
    out.status
}

#[test]
fn a_closed_stdout_ends_every_subcommand_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |n: &str| dir.path().join(n).to_str().expect("utf8").to_string();
    export(dir.path(), "a.onnx", &["--dim", "16", "--mode", "qk"]);
    export(dir.path(), "c.onnx", &["--dim", "16", "--mode", "qk", "--theta", "500"]);
    std::fs::write(p("cfg.json"), r#"{"kind": "rotary", "dim": 8}"#).expect("cfg");
    let mut runs: Vec<Vec<String>> = vec![
        vec!["print".into(), p("a.onnx")],
        vec!["print".into(), p("a.onnx"), "--summary".into()],
        vec!["diff".into(), p("a.onnx"), p("c.onnx")],
        vec!["lint".into(), p("a.onnx"), "--target".into(), "all".into()],
        vec!["export".into(), "rotary".into(), "--dim".into(), "8".into(), "-o".into(), p("x.onnx"), "--print".into()],
        vec!["opt".into(), p("a.onnx"), "-o".into(), p("b.onnx"), "--explain".into()],
        vec!["bench".into(), "export".into(), "--config".into(), p("cfg.json"), "--iters".into(), "2".into()],
        vec!["--help".into()],
        vec!["export".into(), "rotary".into(), "--help".into()],
    ];
    if !ort_missing() {
        runs.push(vec!["check".into(), p("a.onnx")]);
    }
    for sub in ["export", "opt", "lint", "check", "print", "diff", "bench"] {
        runs.push(vec![sub.into(), "--help".into()]);
    }
    for args in &runs {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let status = with_closed_stdout(&args);
        // as other Unix tools: done (0), or ended by SIGPIPE (a shell shows 141)
        assert!(status.code() == Some(0) || status.signal() == Some(13), "{args:?}: {status:?}");
    }
}

#[cfg(feature = "torch")]
#[test]
fn the_torch_backend_reports_bad_inputs_as_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = export(dir.path(), "xpos.onnx", &["--dim", "16", "--mode", "qk", "--use-xpos", "true"]);
    // q and k of different lengths: xPos rotates both with one set of angles
    let inputs = dir.path().join("in.safetensors");
    write_tensors(&inputs, &[("k", "F32", vec![1, 2, 7, 16], vec![0u8; 2 * 7 * 16 * 4]), ("q", "F32", vec![1, 2, 5, 16], vec![0u8; 2 * 5 * 16 * 4])]);
    let o = rotor(&["check", m.to_str().expect("utf8"), "--backend", "torch", "--inputs", inputs.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("input k: has 7 positions and q has 5"), "{out}");
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
}

#[test]
fn opt_checks_every_argument_before_writing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = export(dir.path(), "a.onnx", &["--dim", "16", "--mode", "qk"]);
    let a = a.to_str().expect("utf8");
    let out = dir.path().join("out.onnx");
    let out = out.to_str().expect("utf8");
    let report = dir.path().join("nodir/r.json");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--verify", "--dim", "N=0"], "--dim N"),
        (vec!["--verify", "--dim", "Zz=3"], "no symbolic input dim \"Zz\""),
        (vec!["--dim", "N=3"], "add --verify"),
        (vec!["--report", report.to_str().expect("utf8")], "does not exist"),
    ];
    for (extra, needle) in cases {
        let mut args = vec!["opt", a, "-o", out];
        args.extend(extra.iter().copied());
        let o = rotor(&args);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{extra:?}: expected {needle:?} in {}", stderr(&o));
        assert_eq!(listing(dir.path()), ["a.onnx"], "{extra:?}: a failed run left files");
    }
}

#[test]
fn outputs_never_overwrite_inputs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |n: &str| dir.path().join(n).to_str().expect("utf8").to_string();
    // a model whose initializers live in an external data file beside it
    let g = rotor_builder::emit::build_from_json(&serde_json::json!({"kind": "rotary", "dim": 64, "mode": "qk", "use_xpos": true}), None).expect("graph");
    let opts = rotor_export::ExportOptions { external_data_above: 0, external_min_tensor: 0, ..Default::default() };
    let written = rotor_export::write_model(&g, Path::new(&p("a.onnx")), &opts).expect("write");
    assert_eq!(written.len(), 2, "model and data file: {written:?}");
    let (model, data) = (std::fs::read(p("a.onnx")).expect("a"), std::fs::read(p("a.onnx.data")).expect("data"));
    let unchanged = |what: &str| {
        assert_eq!(std::fs::read(p("a.onnx")).expect("a"), model, "{what}: the input model changed");
        assert_eq!(std::fs::read(p("a.onnx.data")).expect("data"), data, "{what}: the input's external data changed");
    };
    // the output model onto the input's external data
    let o = rotor(&["opt", &p("a.onnx"), "-o", &p("a.onnx.data")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("a.onnx.data") && stderr(&o).contains("external data"), "{}", stderr(&o));
    unchanged("-o a.onnx.data");
    // the report onto the output model, and onto the input
    for report in [p("o.onnx"), p("a.onnx")] {
        let o = rotor(&["opt", &p("a.onnx"), "-o", &p("o.onnx"), "--report", &report]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains("--report"), "{}", stderr(&o));
        unchanged("--report");
        assert!(!dir.path().join("o.onnx").exists(), "nothing written");
    }
    // in place is the documented exception: the model and its data are replaced together
    let o = rotor(&["opt", &p("a.onnx"), "-o", &p("a.onnx")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(rotor_export::load_file(Path::new(&p("a.onnx"))).is_ok());
    // an export onto its own config or weights
    std::fs::write(p("cfg.json"), r#"{"kind": "rotary", "dim": 8}"#).expect("cfg");
    let o = rotor(&["export", "--config", &p("cfg.json"), "-o", &p("cfg.json")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--config"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(p("cfg.json")).expect("cfg"), r#"{"kind": "rotary", "dim": 8}"#);
    write_tensor(Path::new(&p("w.safetensors")), "freqs", "F32", &[4], &[0u8; 16]);
    let o = rotor(&["export", "rotary", "--dim", "8", "--weights", &p("w.safetensors"), "-o", &p("w.safetensors")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--weights"), "{}", stderr(&o));
}

#[test]
fn weights_of_other_element_types_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |n: &str| dir.path().join(n).to_str().expect("utf8").to_string();
    // integer frequencies: refused, naming the key and the type
    write_tensor(Path::new(&p("int.safetensors")), "freqs", "I32", &[4], &[1u8, 0, 0, 0].repeat(4));
    let o = rotor(&["export", "rotary", "--dim", "8", "--weights", &p("int.safetensors"), "-o", &p("m.onnx")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("`freqs`") && stderr(&o).contains("int32"), "{}", stderr(&o));
    assert_eq!(listing(dir.path()), ["int.safetensors"]);
    // float64 frequencies: rounded to the graph's float32, and the export says so
    let f64s: Vec<u8> = [1.0f64, 0.1, 0.01, 0.001].iter().flat_map(|v| v.to_le_bytes()).collect();
    write_tensor(Path::new(&p("f64.safetensors")), "freqs", "F64", &[4], &f64s);
    let o = rotor(&["export", "rotary", "--dim", "8", "--weights", &p("f64.safetensors"), "-o", &p("m.onnx")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("float64 weight(s) rounded to float32") && stderr(&o).contains("`freqs`"), "{}", stderr(&o));
    // float32 ones: no such note
    let f32s: Vec<u8> = [1.0f32, 0.1, 0.01, 0.001].iter().flat_map(|v| v.to_le_bytes()).collect();
    write_tensor(Path::new(&p("f32.safetensors")), "freqs", "F32", &[4], &f32s);
    let o = rotor(&["export", "rotary", "--dim", "8", "--weights", &p("f32.safetensors"), "-o", &p("m.onnx")]);
    assert!(o.status.success() && !stderr(&o).contains("rounded"), "{}", stderr(&o));
}

#[test]
fn a_misspelt_key_is_named_with_its_suggestion() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("cfg.json");
    std::fs::write(&cfg, r#"{"kind": "rotary", "dimm": 32}"#).expect("cfg");
    let out = dir.path().join("m.onnx");
    let o = rotor(&["export", "--config", cfg.to_str().expect("utf8"), "-o", out.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("`dimm`") && stderr(&o).contains("did you mean `dim`?"), "{}", stderr(&o));
}

#[test]
fn check_help_says_what_all_runs() {
    let o = rotor(&["check", "--help"]);
    let text = String::from_utf8_lossy(&o.stdout);
    let all = text.lines().find(|l| l.trim_start().starts_with("- all:")).expect("`all` in --help");
    assert!(all.contains("libtorch") && all.contains("tract") && all.contains("ORT"), "{all}");
}
