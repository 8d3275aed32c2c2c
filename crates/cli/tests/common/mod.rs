//! Helpers shared by the CLI's test files: run the binary, read its stderr, write small
//! safetensors files.

#![allow(dead_code, reason = "each test file uses the helpers it needs")]

use std::path::Path;
use std::process::{Command, Output};

/// Run `rotor` with `args`.
pub fn rotor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rotor")).args(args).output().expect("run rotor")
}

/// The run's stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// True (with a visible SKIPPED line) when ONNX Runtime is not set up for this run.
pub fn ort_missing() -> bool {
    if std::env::var("ORT_DYLIB_PATH").is_ok() || std::env::var("ROTOR_REQUIRE_ORT").as_deref() == Ok("1") {
        return false;
    }
    eprintln!("SKIPPED: ORT_DYLIB_PATH is not set (scripts/test.sh sets it)");
    true
}

/// A safetensors file of `(name, safetensors dtype, shape, raw little-endian bytes)` tensors.
pub fn write_tensors(path: &Path, tensors: &[(&str, &str, Vec<usize>, Vec<u8>)]) {
    let mut header = String::from("{");
    let mut data: Vec<u8> = Vec::new();
    for (i, (name, dtype, shape, bytes)) in tensors.iter().enumerate() {
        let start = data.len();
        data.extend(bytes);
        let sep = if i > 0 { "," } else { "" };
        header.push_str(&format!("{sep}\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape:?},\"data_offsets\":[{start},{}]}}", data.len()));
    }
    header.push('}');
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header.as_bytes());
    out.extend(data);
    std::fs::write(path, out).expect("write safetensors");
}

/// A safetensors file of f32 tensors `(name, shape, values)`.
pub fn write_safetensors(path: &Path, tensors: &[(&str, Vec<usize>, Vec<f32>)]) {
    let t: Vec<(&str, &str, Vec<usize>, Vec<u8>)> =
        tensors.iter().map(|(n, s, v)| (*n, "F32", s.clone(), v.iter().flat_map(|x| x.to_le_bytes()).collect())).collect();
    write_tensors(path, &t);
}
