//! Helpers shared by rotor's integration tests: golden files, backends, comparisons.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed expectation panics, which is how a test fails")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rotor_runtime::{BackendKind, HostTensor, NamedTensors, Tolerance};

/// Repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// Where tests drop the models they export (checked by onnx.checker in scripts/test.sh).
pub fn model_dir(kind: &str) -> PathBuf {
    let base = std::env::var_os("ROTOR_MODEL_DIR").map(PathBuf::from).unwrap_or_else(|| repo_root().join("target/rotor-models"));
    let dir = base.join(kind);
    std::fs::create_dir_all(&dir).expect("create model dir");
    dir
}

/// True when ONNX Runtime can be loaded. When it cannot: panics if `ROTOR_REQUIRE_ORT=1`
/// (scripts/test.sh sets it), else prints a visible SKIPPED line and returns false.
pub fn ort_available(test: &str) -> bool {
    match rotor_runtime::find_ort_library() {
        Ok(_) => true,
        Err(e) if std::env::var("ROTOR_REQUIRE_ORT").as_deref() == Ok("1") => panic!("{test}: ONNX Runtime required: {e}"),
        Err(e) => {
            eprintln!("SKIPPED {test}: {e}");
            false
        }
    }
}

/// A golden file: config, metadata and tensor sets `SET/name`.
pub struct Golden {
    pub name: String,
    pub config: serde_json::Value,
    pub sets: BTreeMap<String, NamedTensors>,
    /// The module's state_dict as saved by the script (`state_dict/<key>` tensors).
    pub state_dict: NamedTensors,
    /// False for goldens that document a package behaviour rather than a parity target.
    pub parity: bool,
}

impl Golden {
    /// The state_dict as checkpoint weights.
    pub fn weights(&self) -> rotor_builder::WeightMap {
        let mut w = rotor_builder::WeightMap::new();
        for (k, t) in &self.state_dict {
            let HostTensor::F32(a) = t else { panic!("{}: state_dict/{k} is not f32", self.name) };
            let dims: Vec<i64> = a.shape().iter().map(|d| *d as i64).collect();
            w.insert(k, rotor_builder::Tensor::f32(dims, a.iter().copied().collect()).expect("tensor"));
        }
        w
    }
}

/// Read a golden `.safetensors` written by one of the `golden/*/make_goldens.py` scripts.
pub fn read_golden(path: &Path) -> Golden {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let meta = meta.metadata().clone().unwrap_or_default();
    assert!(meta.get("generated_by").is_some_and(|g| g.contains("make_goldens.py")), "{} does not say which script made it", path.display());
    let config: serde_json::Value = serde_json::from_str(meta.get("config").expect("config metadata")).expect("config JSON");
    let mut sets: BTreeMap<String, NamedTensors> = BTreeMap::new();
    for (name, t) in rotor_runtime::refs::read_safetensors(&bytes).expect("golden tensors") {
        let (set, local) = name.split_once('/').expect("golden tensors are named SET/name");
        sets.entry(set.to_string()).or_default().push((local.to_string(), t));
    }
    let state_dict = sets.remove("state_dict").unwrap_or_default();
    let parity = meta.get("parity").is_none_or(|p| p != "false");
    Golden { name: meta.get("case").cloned().unwrap_or_default(), config, sets, state_dict, parity }
}

/// Golden files in a directory, sorted.
pub fn golden_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    v.sort();
    v
}

/// The backends every golden runs in: ORT CPU (optimisations off and on), tract, and ORT's CUDA
/// EP when this machine has a usable one (otherwise a visible SKIPPED line says why: CPU-only
/// ONNX Runtime build, missing CUDA libraries, or no device).
pub fn parity_backends() -> Vec<BackendKind> {
    static NOTE: std::sync::Once = std::sync::Once::new();
    let mut v = vec![BackendKind::OrtCpuNoOpt, BackendKind::OrtCpu, BackendKind::Tract];
    match rotor_runtime::cuda_status() {
        rotor_runtime::CudaStatus::Available => v.push(BackendKind::OrtCuda),
        other => NOTE.call_once(|| eprintln!("SKIPPED ort-cuda parity: {}", other.describe())),
    }
    v
}

/// Run `model` in every parity backend on every set of `golden`, compare with the golden's
/// outputs, matched by name, at the parity tolerance of each *expected* tensor's element type
/// (so a float32 config that wrongly emitted float16 is judged at the float32 tolerance and
/// fails on the type). Every expected output must be produced and every produced output must
/// have an expected tensor. Returns failure lines (empty = all good) and the worst ratio to
/// tolerance seen.
pub fn check_against_golden(model: &[u8], golden: &Golden, input_names: &[String]) -> (Vec<String>, f64) {
    let mut failures = Vec::new();
    let mut worst = 0.0f64;
    for kind in parity_backends() {
        let mut b = match rotor_runtime::load(kind, model) {
            Ok(b) => b,
            Err(e) => {
                failures.push(format!("{}: {kind:?} cannot load: {e}", golden.name));
                continue;
            }
        };
        for (set, tensors) in &golden.sets {
            let inputs: NamedTensors = tensors.iter().filter(|(n, _)| input_names.contains(n)).cloned().collect();
            let outs = match b.run(&inputs) {
                Ok(o) => o,
                Err(e) => {
                    failures.push(format!("{}/{set}: {}: {e}", golden.name, b.name()));
                    continue;
                }
            };
            for (ename, _) in tensors.iter().filter(|(n, _)| !input_names.contains(n)) {
                if !outs.iter().any(|(o, _)| o == ename) {
                    failures.push(format!("{}/{set}: {} produced no output {ename}", golden.name, b.name()));
                }
            }
            for (oname, actual) in &outs {
                let Some((_, expected)) = tensors.iter().find(|(n, _)| n == oname) else {
                    failures.push(format!("{}/{set}: no expected tensor for output {oname}", golden.name));
                    continue;
                };
                let tol = Tolerance::parity_for(expected.dtype());
                match rotor_runtime::compare(actual, expected, tol) {
                    Ok(c) => {
                        worst = worst.max(c.worst_ratio);
                        if !c.ok() {
                            failures.push(format!("{}/{set}: {} {oname}: {}", golden.name, b.name(), c.summary()));
                        }
                    }
                    Err(m) => failures.push(format!("{}/{set}: {} {oname}: {m}", golden.name, b.name())),
                }
            }
        }
    }
    (failures, worst)
}

/// f32 tensor from a shape and values.
pub fn f32_tensor(shape: &[usize], v: Vec<f32>) -> HostTensor {
    HostTensor::F32(ndarray::ArrayD::from_shape_vec(shape.to_vec(), v).expect("shape matches data"))
}

/// Assert two sets of named outputs agree: the same names on both sides, each pair within `tol`.
pub fn assert_close(a: &NamedTensors, b: &NamedTensors, tol: Tolerance, what: &str) {
    let mut names_a: Vec<&str> = a.iter().map(|(n, _)| n.as_str()).collect();
    let mut names_b: Vec<&str> = b.iter().map(|(n, _)| n.as_str()).collect();
    names_a.sort_unstable();
    names_b.sort_unstable();
    assert_eq!(names_a, names_b, "{what}: the two sides have different outputs");
    for (n, x) in a {
        let (_, y) = b.iter().find(|(m, _)| m == n).unwrap_or_else(|| panic!("{what}: no {n} on the other side"));
        let c = rotor_runtime::compare(x, y, tol).unwrap_or_else(|e| panic!("{what} {n}: {e}"));
        assert!(c.ok(), "{what} {n}: {}", c.summary());
    }
}

/// The f32 spacing at `x` (positive, finite): the distance to the next float up.
fn spacing(x: f32) -> f64 {
    f64::from(f32::from_bits(x.to_bits() + 1)) - f64::from(x)
}

/// Whether `freqs` are frequencies `RotaryEmbedding` computes for `spec` on *some* CPU, whichever
/// of torch's kernels (`ATEN_CPU_CAPABILITY` default, avx2, avx512) ran. The bound holds for
/// every kernel and no wider, so a golden moved by a few ulps fails:
/// - `lang`: the package computes `1 / theta ** (2i / dim)` in float32 (theta, after the NTK
///   rescale, rounded to f32 by torch first). `2i / dim` and the reciprocal are IEEE divisions,
///   the same everywhere; the power is the only kernel-dependent step, and every kernel's powf is
///   faithful: within 1 ulp of the exact power (SLEEF's `powf_u10` in the avx2/avx512 kernels,
///   <= 1.0 ulp; glibc's powf in the scalar one, < 1 ulp). So freqs[i] must be `1 / p` for a
///   float32 `p` within 1 ulp of the power computed in f64. (Kernels are seen 2 ulps apart on
///   `interp4_ntk8`; a plain ulp bound would have to allow ~4 after the reciprocal.)
/// - `pixel`: `linspace(1, max_freq / 2, dim // 2) * pi`: basic IEEE operations; a kernel may
///   fuse linspace's `start + step * i` into one FMA (one rounding instead of two), so within
///   1 ulp of torch's scalar result (rotor's `linspace_f32`).
/// - `constant` and `custom_freqs`: copies of given numbers, exact.
pub fn kernel_independent_freqs(spec: &rotor_builder::config::FreqSpec, freqs: &[f32]) -> Result<(), String> {
    use rotor_builder::config::FreqsFor;
    use rotor_builder::emit::rotary::rope;
    let expected = rope::package_freqs(spec);
    if freqs.len() != expected.len() {
        return Err(format!("{} frequencies, the config gives {}", freqs.len(), expected.len()));
    }
    for (i, (&f, &e)) in freqs.iter().zip(&expected).enumerate() {
        let ok = match (&spec.custom_freqs, spec.freqs_for) {
            (Some(_), _) | (None, FreqsFor::Constant) => f.to_bits() == e.to_bits(),
            (None, FreqsFor::Pixel) => f.to_bits().abs_diff(e.to_bits()) <= 1,
            (None, FreqsFor::Lang) => {
                let theta = rope::rescaled_theta(spec.theta, spec.theta_rescale_factor, spec.dim) as f32;
                let exponent = (2 * i) as f32 / spec.dim as f32;
                let exact = f64::from(theta).powf(f64::from(exponent));
                let nearest = exact as f32;
                // the float32 powers within 1 ulp of the exact one, and their reciprocals
                (-2i64..=2)
                    .filter_map(|k| u32::try_from(i64::from(nearest.to_bits()) + k).ok().map(f32::from_bits))
                    .filter(|p| (f64::from(*p) - exact).abs() <= spacing(nearest).max(spacing(*p)))
                    .any(|p| (1.0f32 / p).to_bits() == f.to_bits())
            }
        };
        if !ok {
            return Err(format!("freqs[{i}] = {f:e} (bits {:#010x}); the config gives {e:e} (bits {:#010x})", f.to_bits(), e.to_bits()));
        }
    }
    Ok(())
}
