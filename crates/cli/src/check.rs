//! `rotor check`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, ValueEnum};
use rotor_runtime::{BackendKind, CudaStatus, HostTensor, NamedTensors, Tolerance};

use crate::Failure;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// ONNX Runtime, CPU, default optimisations.
    Ort,
    /// ONNX Runtime, CPU, graph optimisations disabled.
    OrtNoopt,
    /// ONNX Runtime with the CUDA execution provider.
    OrtCuda,
    /// tract.
    Tract,
    /// libtorch eager (needs a build with the `torch` feature).
    Torch,
    /// ORT CPU, tract, libtorch (in builds with the `torch` feature; rotor's rotary exports,
    /// skipped for other models) and ORT CUDA (when available).
    All,
}

#[derive(Args)]
pub struct CheckArgs {
    /// The ONNX model.
    model: PathBuf,
    /// Backend(s) to run.
    #[arg(long, value_enum, default_value = "all")]
    backend: BackendChoice,
    /// Input tensors (.safetensors or .npz), by input name (or `SET/name`).
    #[arg(long, value_name = "X.safetensors")]
    inputs: Option<PathBuf>,
    /// Expected outputs (.safetensors or .npz), by output name (or `SET/name`); also read for
    /// inputs when --inputs is not given.
    #[arg(long, value_name = "Y.safetensors")]
    expect: Option<PathBuf>,
    /// Size (>= 1) of a symbolic dimension of the model's inputs for random inputs, e.g.
    /// `--dim N=128` (repeatable). A name the model does not have fails the check.
    #[arg(long = "dim", value_name = "NAME=SIZE")]
    dims: Vec<String>,
    /// Seed of the random inputs.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Absolute tolerance [default: the parity tolerance of each output's element type,
    /// 1e-4 for float32, 2e-3 for float16/bfloat16]. A finite number >= 0.
    #[arg(long, value_parser = atol_bound)]
    atol: Option<f64>,
    /// Relative tolerance, times |expected| [default: 1e-4 for float32, 4e-3 for
    /// float16/bfloat16 outputs]. A finite number >= 0.
    #[arg(long, value_parser = rtol_bound)]
    rtol: Option<f64>,
    /// Only these sets of a golden file (repeatable).
    #[arg(long = "set", value_name = "SET")]
    sets: Vec<String>,
}

/// `--atol`: a finite number >= 0 (NaN or a negative bound would pass any difference).
fn atol_bound(s: &str) -> Result<f64, String> {
    bound("atol", s)
}

/// `--rtol`: a finite number >= 0.
fn rtol_bound(s: &str) -> Result<f64, String> {
    bound("rtol", s)
}

fn bound(name: &str, s: &str) -> Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("{name} must be a number, got {s:?}"))?;
    rotor_runtime::compare::check_bound(name, v)
}

fn split_sets(tensors: NamedTensors) -> BTreeMap<String, NamedTensors> {
    let mut sets: BTreeMap<String, NamedTensors> = BTreeMap::new();
    for (name, t) in tensors {
        let (set, local) = match name.split_once('/') {
            Some((s, l)) => (s.to_string(), l.to_string()),
            None => (String::new(), name),
        };
        sets.entry(set).or_default().push((local, t));
    }
    sets
}

fn read_sets(path: &Path) -> Result<BTreeMap<String, NamedTensors>, Failure> {
    Ok(split_sets(rotor_runtime::refs::read_tensors(path).map_err(Failure::usage)?))
}

/// A key of the config recorded in the model's metadata (`rotor.config`).
fn config_value(g: &rotor_builder::Graph, key: &str) -> Option<serde_json::Value> {
    let (_, text) = g.metadata().iter().find(|(k, _)| k == "rotor.config")?;
    serde_json::from_str::<serde_json::Value>(text).ok()?.get(key).cloned()
}

fn int_ranges(g: &rotor_builder::Graph) -> rotor_runtime::inputs::IntRanges {
    let mut r = rotor_runtime::inputs::IntRanges::new();
    r.insert("offset".into(), (0, 64));
    r.insert("positions".into(), (0, 4096));
    let vocab = config_value(g, "num_tokens").and_then(|n| n.as_i64());
    r.insert("ids".into(), (0, vocab.unwrap_or(16)));
    r
}

fn backends(choice: BackendChoice) -> Result<Vec<BackendKind>, Failure> {
    Ok(match choice {
        BackendChoice::Ort => vec![BackendKind::OrtCpu],
        BackendChoice::OrtNoopt => vec![BackendKind::OrtCpuNoOpt],
        BackendChoice::OrtCuda => vec![BackendKind::OrtCuda],
        BackendChoice::Tract => vec![BackendKind::Tract],
        #[cfg(feature = "torch")]
        BackendChoice::Torch => vec![BackendKind::Torch],
        #[cfg(not(feature = "torch"))]
        BackendChoice::Torch => return Err(Failure::usage("the torch backend needs a rotor built with `--features torch`")),
        BackendChoice::All => {
            let mut v = vec![BackendKind::OrtCpu, BackendKind::Tract];
            #[cfg(feature = "torch")]
            v.push(BackendKind::Torch);
            match rotor_runtime::cuda_status() {
                CudaStatus::Available => v.push(BackendKind::OrtCuda),
                other => eprintln!("ort-cuda: skipped ({})", other.describe()),
            }
            v
        }
    })
}

fn shapes(ts: &NamedTensors) -> String {
    ts.iter().map(|(n, t)| format!("{n} {}", t.type_text())).collect::<Vec<_>>().join(", ")
}

pub use rotor_runtime::verify::input_symbols;

/// Parse `--dim NAME=SIZE` flags; every name must be a symbolic dim of the model (exit 1 if
/// not) and every size >= 1 (exit 2).
fn parse_dims(a: &CheckArgs, g: &rotor_builder::Graph) -> Result<BTreeMap<String, i64>, Failure> {
    let symbols = input_symbols(g);
    let mut dims = BTreeMap::new();
    for d in &a.dims {
        let (k, v) = d.split_once('=').ok_or_else(|| Failure::usage(format!("--dim {d}: expected NAME=SIZE")))?;
        let v: i64 = v.parse().map_err(|_| Failure::usage(format!("--dim {d}: SIZE must be an integer")))?;
        if !symbols.iter().any(|s| s == k) {
            return Err(Failure::failed(format!("--dim {d}: the model has no symbolic dim {k:?} (its input dims: {})", symbols.join(", "))));
        }
        if v < 1 {
            return Err(Failure::usage(format!("--dim {d}: a size must be at least 1")));
        }
        dims.insert(k.to_string(), v);
    }
    if !dims.is_empty() && a.inputs.is_some() {
        return Err(Failure::usage("--dim sets the sizes of random inputs; with --inputs the sizes come from the file"));
    }
    Ok(dims)
}

/// Bindings the model cannot run with, refused before running: cached keys shorter than the
/// queries (`rotate_queries_with_cached_keys` needs Nk >= Nq).
fn refuse_impossible(g: &rotor_builder::Graph, dims: &BTreeMap<String, i64>) -> Result<(), Failure> {
    let size = |n: &str| dims.get(n).copied().unwrap_or_else(|| rotor_runtime::inputs::default_dim(n));
    if config_value(g, "mode").and_then(|m| m.as_str().map(str::to_string)).as_deref() == Some("cached_qk") && size("Nq") > size("Nk") {
        return Err(Failure::usage(format!(
            "--dim Nq={} with Nk={}: the cached keys must be at least as long as the queries (Nk >= Nq)",
            size("Nq"),
            size("Nk")
        )));
    }
    Ok(())
}

pub fn run(a: CheckArgs) -> Result<u8, Failure> {
    let g = rotor_export::load_file(&a.model).map_err(|e| Failure::usage(format!("{}: {e}", a.model.display())))?;
    let input_names: Vec<String> = g.inputs().iter().map(|v| g.value_name(*v).to_string()).collect();
    let output_names: Vec<String> = g.outputs().iter().map(|v| g.value_name(*v).to_string()).collect();
    let dims = parse_dims(&a, &g)?;
    // Per output: the given tolerances, else the parity tolerance of the expected element type
    // (the model's declared output type when there is no expected tensor).
    let tol_for = |dtype: rotor_builder::DType| {
        let base = Tolerance::parity_for(dtype);
        Tolerance { atol: a.atol.unwrap_or(base.atol), rtol: a.rtol.unwrap_or(base.rtol) }
    };
    let declared_dtype: BTreeMap<String, rotor_builder::DType> = g.outputs().iter().map(|v| (g.value_name(*v).to_string(), g.info(*v).dtype)).collect();

    // 1. Sets of (inputs, expected outputs). Every tensor of --expect must name an output or an
    //    input of the model, every output must have an expected tensor in every set checked,
    //    and every expected set must be run.
    let expect_sets = a.expect.as_deref().map(read_sets).transpose()?;
    if let Some(es) = &expect_sets {
        let mut stray = Vec::new();
        for (set, tensors) in es {
            if set == "state_dict" {
                continue; // rotor goldens keep the module's weights there
            }
            for (n, _) in tensors {
                let known = output_names.contains(n) || input_names.contains(n);
                if !known {
                    stray.push(if set.is_empty() { n.clone() } else { format!("{set}/{n}") });
                }
            }
        }
        if !stray.is_empty() {
            return Err(Failure::failed(format!("--expect tensors {stray:?} match no input or output of the model (outputs: {})", output_names.join(", "))));
        }
    }
    let input_sets = match a.inputs.as_deref() {
        Some(p) => Some(read_sets(p)?),
        None => expect_sets.clone(),
    };
    let mut sets: Vec<(String, NamedTensors, NamedTensors)> = Vec::new();
    match input_sets {
        Some(isets) => {
            for set in &a.sets {
                if !isets.contains_key(set) {
                    return Err(Failure::failed(format!("--set {set}: no such set (sets: {})", isets.keys().cloned().collect::<Vec<_>>().join(", "))));
                }
            }
            for (set, tensors) in isets {
                if !a.sets.is_empty() && !a.sets.contains(&set) {
                    continue;
                }
                if set == "state_dict" {
                    continue;
                }
                let pick = |ts: &NamedTensors, names: &[String]| -> NamedTensors { ts.iter().filter(|(n, _)| names.contains(n)).cloned().collect() };
                let ins = pick(&tensors, &input_names);
                if ins.len() != input_names.len() {
                    let missing: Vec<&String> = input_names.iter().filter(|n| !ins.iter().any(|(m, _)| m == *n)).collect();
                    return Err(Failure::usage(format!("set {set:?}: missing inputs {missing:?}")));
                }
                let exp = expect_sets.as_ref().and_then(|e| e.get(&set)).map(|ts| pick(ts, &output_names)).unwrap_or_default();
                sets.push((set, ins, exp));
            }
            if sets.is_empty() {
                return Err(Failure::usage(format!("no set in the input file provides the model's inputs {input_names:?}")));
            }
            if let Some(es) = &expect_sets {
                let checked: Vec<&String> = sets.iter().map(|(s, _, _)| s).collect();
                let unmatched: Vec<&String> =
                    es.keys().filter(|s| *s != "state_dict" && !checked.contains(s) && (a.sets.is_empty() || a.sets.contains(*s))).collect();
                if !unmatched.is_empty() {
                    return Err(Failure::failed(format!("--expect sets {unmatched:?} have no inputs to run them with")));
                }
            }
        }
        None => {
            let mut dims = dims.clone();
            if let Some(seq_len) = config_value(&g, "seq_len").and_then(|v| v.as_i64()) {
                dims.entry("N".into()).or_insert(rotor_runtime::inputs::default_dim("N").min(seq_len));
            }
            refuse_impossible(&g, &dims)?;
            let ins = rotor_runtime::inputs::random_inputs(&g, &dims, &int_ranges(&g), a.seed).map_err(Failure::usage)?;
            sets.push((format!("random(seed {})", a.seed), ins, Vec::new()));
        }
    }

    // 2. HierarchicalTransformer asserts ids.shape[-1] <= seq_len: say so before running.
    if let Some(seq_len) = config_value(&g, "seq_len").and_then(|v| v.as_u64()) {
        for (set, ins, _) in &sets {
            if let Some((_, t)) = ins.iter().find(|(n, _)| n == "ids")
                && let Some(n) = t.shape().last().filter(|n| **n as u64 > seq_len)
            {
                return Err(Failure::usage(format!(
                    "set {set}: ids has length {n} > seq_len {seq_len} (the model, like HierarchicalTransformer, accepts 1..=seq_len tokens)"
                )));
            }
        }
    }

    // 3. Run every backend on every set.
    let mut failed = false;
    let kinds = backends(a.backend)?;
    let mut results: Vec<(String, Vec<Option<NamedTensors>>)> = Vec::new();
    for kind in kinds {
        let t0 = Instant::now();
        let mut backend = match rotor_runtime::load_path(kind, &a.model) {
            Ok(b) => b,
            Err(e) if a.backend == BackendChoice::All && matches!(e, rotor_runtime::RuntimeError::DeviceUnavailable(_)) => {
                println!("{}: skipped ({e})", kind.label());
                continue;
            }
            Err(e) => {
                println!("{}: cannot load the model: {e}", kind.label());
                failed = true;
                continue;
            }
        };
        let load_ms = t0.elapsed().as_secs_f64() * 1e3;
        let mut outs = Vec::new();
        let mut run_ms = 0.0;
        for (set, ins, _) in &sets {
            let t = Instant::now();
            match backend.run(ins) {
                Ok(o) => outs.push(Some(o)),
                Err(e) => {
                    println!("{}: set {set}: {e}", backend.name());
                    failed = true;
                    outs.push(None);
                }
            }
            run_ms += t.elapsed().as_secs_f64() * 1e3;
        }
        println!("{}: loaded in {load_ms:.1} ms, ran {} set(s) in {run_ms:.1} ms", backend.name(), sets.len());
        results.push((backend.name(), outs));
    }

    // 4. Compare, matching outputs by name: each backend against the expected outputs, and
    //    against the first backend. Count what was compared, per set and output.
    let mut comparisons = 0usize;
    let mut used_tols: Vec<String> = Vec::new();
    let mut uncompared: Vec<String> = Vec::new();
    for (i, (set, ins, exp)) in sets.iter().enumerate() {
        println!("set {set}: inputs {}", shapes(ins));
        for oname in &output_names {
            let expected = exp.iter().find(|(n, _)| n == oname).map(|(_, t)| t);
            let tol = tol_for(expected.map(HostTensor::dtype).or_else(|| declared_dtype.get(oname).copied()).unwrap_or(rotor_builder::DType::F32));
            let rule = format!("|a-b| <= {} + {}*|b|", tol.atol, tol.rtol);
            if !used_tols.contains(&rule) {
                used_tols.push(rule);
            }
            let mut against_expected = 0;
            let mut produced = 0;
            let mut cross = 0;
            for (bi, (bname, outs)) in results.iter().enumerate() {
                let Some(outs) = &outs[i] else { continue };
                let Some((_, actual)) = outs.iter().find(|(n, _)| n == oname) else {
                    println!("  {bname:<12} {oname:<8} missing from the backend's outputs  FAIL");
                    failed = true;
                    continue;
                };
                produced += 1;
                let mut line = |label: &str, expected: &HostTensor| match rotor_runtime::compare(actual, expected, tol) {
                    Ok(c) => {
                        failed |= !c.ok();
                        println!("  {bname:<12} {oname:<8} vs {label:<12} {}  {}", c.summary(), if c.ok() { "ok" } else { "FAIL" });
                    }
                    Err(m) => {
                        failed = true;
                        println!("  {bname:<12} {oname:<8} vs {label:<12} {m}  FAIL");
                    }
                };
                if let Some(e) = expected {
                    line("expected", e);
                    against_expected += 1;
                }
                if bi > 0 {
                    let (ref_name, ref_outs) = &results[0];
                    if let Some(Some(r)) = ref_outs.get(i)
                        && let Some((_, e)) = r.iter().find(|(n, _)| n == oname)
                    {
                        line(ref_name, e);
                        cross += 1;
                    }
                }
            }
            comparisons += against_expected + cross;
            if a.expect.is_some() && expected.is_none() {
                uncompared.push(format!("set {set}: {oname} has no expected tensor in --expect"));
            } else if against_expected == 0 && (produced < 2 || cross == 0) {
                uncompared.push(format!("set {set}: {oname} was compared by no two backends and against no expected tensor"));
            }
        }
    }
    for u in &uncompared {
        println!("  {u}  FAIL");
    }
    failed |= !uncompared.is_empty();
    let used = used_tols.join("; ");
    println!("{comparisons} comparison(s) over {} set(s) and {} output(s)", sets.len(), output_names.len());
    if failed {
        println!("check FAILED (tolerance {used})");
        Ok(crate::EXIT_FAILED)
    } else {
        println!("check passed (tolerance {used})");
        Ok(0)
    }
}
