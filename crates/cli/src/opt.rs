//! `rotor opt`: read any ONNX model into rotor's IR, run passes, write it back; optionally
//! verify the result against the original in ONNX Runtime.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use rotor_runtime::verify::{ModelRef, verify_rewrite};

use crate::Failure;

#[derive(Args)]
pub struct OptArgs {
    /// The ONNX model to read (external data is read beside it).
    input: PathBuf,
    /// Output ONNX file (may be the input itself; the write is atomic). Initializers stored as
    /// external data stay external, in `<OUT>.data`. An output (model, data file, report) that
    /// is one of the input's files or another output is refused, except `-o IN` (in place).
    #[arg(short = 'o', long = "output", value_name = "OUT.onnx")]
    output: PathBuf,
    /// Comma-separated passes to run, in order, repeated until nothing changes (kebab-case
    /// names; `none`: write the model back unchanged). Default: the cleanup passes, then
    /// fuse-rope, then dce.
    #[arg(long, value_name = "a,b,..", value_delimiter = ',')]
    passes: Vec<String>,
    /// What fuse-rope writes: `ai.onnx` (opset-23 RotaryEmbedding, the default: the standard
    /// op, run by ONNX Runtime >= 1.23 on CPU and CUDA and parsed by TensorRT >= 10.15; the
    /// model is raised to opset 23 only when every op keeps its meaning), `com.microsoft` (ONNX
    /// Runtime's contrib op, any opset), or `decomposed` (rotor's compact form in standard ops,
    /// for runtimes with neither op).
    #[arg(long, value_name = "T", default_value = "ai.onnx")]
    rope_target: String,
    /// Legalize for a deployment target (`rotor lint --help` lists them): the default pipeline
    /// with RoPE fused into the op the target has (or decomposed where it has none), fused ops
    /// it lacks lowered, no opset upgrade beyond what it loads, and the rewrites it needs
    /// (tract: boolean Equal, int64 CumSum). The result is then linted: exit 1 if the target
    /// still cannot run something. Overrides --rope-target; --passes replaces the pipeline.
    #[arg(long, value_name = "T")]
    target: Option<String>,
    /// Write the pass report (rewrites and time per pass, node counts, rejections) as JSON.
    #[arg(long, value_name = "R.json")]
    report: Option<PathBuf>,
    /// Print every candidate a pass looked at and left alone, with the reason.
    #[arg(long)]
    explain: bool,
    /// Run the original and the result in ONNX Runtime on seeded inputs (3 bindings of every
    /// symbolic dim) and exit 1 when any output differs past 1e-4 + 1e-4·|b| (float16: 2e-3 +
    /// 4e-3·|b|).
    #[arg(long)]
    verify: bool,
    /// Sizes of a symbolic input dim for --verify, `NAME=SIZE[,SIZE..]` (repeatable; default
    /// 1, 7 and 67 for every dim).
    #[arg(long = "dim", value_name = "NAME=SIZES")]
    dims: Vec<String>,
    /// fsync the written files before renaming them into place (survives a power loss; about
    /// 2 s per GB of external data). The rename is atomic either way.
    #[arg(long)]
    fsync: bool,
    /// Print nothing on success.
    #[arg(short, long)]
    quiet: bool,
}

pub use rotor_passes::plan::pass_list;

/// Parse `--dim NAME=SIZE[,SIZE..]` flags (sizes >= 1); the names are checked against the
/// model once it is loaded ([`rotor_runtime::verify::check_sizes`]).
fn parse_dims(dims: &[String]) -> Result<BTreeMap<String, Vec<i64>>, Failure> {
    let mut chosen: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for d in dims {
        let (k, v) = d.split_once('=').ok_or_else(|| Failure::usage(format!("--dim {d}: expected NAME=SIZE[,SIZE..]")))?;
        let sizes: Vec<i64> = v
            .split(',')
            .map(|s| s.trim().parse::<i64>().ok().filter(|n| *n >= 1))
            .collect::<Option<_>>()
            .ok_or_else(|| Failure::usage(format!("--dim {d}: sizes must be integers >= 1")))?;
        chosen.insert(k.to_string(), sizes);
    }
    Ok(chosen)
}

fn verify(original: &Path, result: &Path, g: &rotor_builder::Graph, chosen: &BTreeMap<String, Vec<i64>>, quiet: bool) -> Result<bool, Failure> {
    let lines = verify_rewrite(ModelRef::Path(original), ModelRef::Path(result), g, chosen).map_err(|e| match e {
        rotor_runtime::RuntimeError::Input { name, message } if chosen.contains_key(&name) => Failure::usage(format!("--dim {name}: {message}")),
        rotor_runtime::RuntimeError::Input { .. } => Failure::usage(format!("--verify: {e}")),
        other => Failure::failed(format!("--verify: {other}")),
    })?;
    for l in lines.iter().filter(|l| !quiet || !l.ok) {
        eprintln!("verify [{}] {}: {} {}", l.binding, l.output, if l.ok { "ok" } else { "FAILED" }, l.summary);
    }
    Ok(lines.iter().all(|l| l.ok))
}

/// The files of this run, checked before anything is written: no output may be an input (the
/// model, its external data) or another output, except the documented in-place `-o IN`.
fn check_paths(a: &OptArgs, g: &rotor_builder::Graph) -> Result<(), Failure> {
    use rotor_export::paths::{Role, model_files, model_outputs, refuse_clobbering};
    let reads = model_files(&a.input, g);
    let mut writes = model_outputs(&a.output);
    let in_place_outputs = writes.len();
    if let Some(r) = &a.report {
        writes.push(Role::new("--report", r));
    }
    refuse_clobbering(&reads, &writes, in_place_outputs).map_err(Failure::usage)
}

/// Remove what a failed run wrote (not in place: there the input itself was replaced).
fn remove_written(a: &OptArgs, written: &[PathBuf]) {
    if rotor_export::paths::same_file(&a.input, &a.output) {
        return;
    }
    for p in written {
        let _ = std::fs::remove_file(p);
    }
}

pub fn run(a: OptArgs) -> Result<u8, Failure> {
    let plan = rotor_passes::plan::plan(&a.passes, Some(&a.rope_target), a.target.as_deref()).map_err(|e| match e.field {
        "passes" => Failure::usage(format!("unknown pass {:?}\n{}", e.value, pass_list())),
        "rope_target" => Failure::usage(format!("--rope-target {:?}: {}", e.value, e.message)),
        _ => Failure::usage(format!("--target {:?}: {}", e.value, e.message)),
    })?;
    let (target, target_def) = (plan.options.rope_target, plan.target);
    let names: Vec<&str> = plan.passes.iter().map(String::as_str).collect();
    // Every argument is checked before anything is written (exit 2, nothing left behind).
    let chosen = parse_dims(&a.dims)?;
    if !chosen.is_empty() && !a.verify {
        return Err(Failure::usage("--dim sets the sizes --verify runs with; add --verify"));
    }
    let t0 = Instant::now();
    let mut g = rotor_export::load_file(&a.input).map_err(|e| Failure::usage(format!("{}: {e}", a.input.display())))?;
    let loaded_ms = t0.elapsed().as_secs_f64() * 1e3;
    rotor_runtime::verify::check_sizes(&g, &chosen).map_err(|e| match e {
        rotor_runtime::RuntimeError::Input { name, message } => Failure::usage(format!("--dim {name}: {message}")),
        other => Failure::usage(other),
    })?;
    check_paths(&a, &g)?;
    let t1 = Instant::now();
    let report = rotor_passes::run_passes(&mut g, &names, &plan.options).map_err(|e| Failure::usage(format!("{}: {e}", a.input.display())))?;
    let pass_ms = t1.elapsed().as_secs_f64() * 1e3;
    let t2 = Instant::now();
    let written = rotor_export::write_model(&g, &a.output, &rotor_export::ExportOptions { sync: a.fsync, ..Default::default() }).map_err(Failure::usage)?;
    let saved_ms = t2.elapsed().as_secs_f64() * 1e3;
    if let Some(r) = &a.report {
        let mut json = serde_json::to_value(&report).map_err(Failure::usage)?;
        if let Some(o) = json.as_object_mut() {
            o.insert("rope_target".into(), target.name().into());
            o.insert("load_ms".into(), loaded_ms.into());
            o.insert("passes_ms".into(), pass_ms.into());
            o.insert("save_ms".into(), saved_ms.into());
        }
        let text = serde_json::to_string_pretty(&json).map_err(Failure::usage)?;
        if let Err(e) = rotor_export::write_atomic(r, format!("{text}\n").as_bytes()) {
            remove_written(&a, &written);
            return Err(Failure::usage(format!("--report {}: {e}", r.display())));
        }
    }
    if a.explain {
        for r in &report.rejections {
            eprintln!("{}: {}: {}", r.pass.replace('_', "-"), r.node, r.reason);
        }
        if report.rejections.is_empty() {
            eprintln!("explain: no candidate was left alone");
        }
    }
    if !a.quiet {
        let files: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        for p in report.passes.iter().filter(|p| p.rewrites > 0) {
            eprintln!("{:<16} {:>5} rewrites  {:>8.2} ms", p.name.replace('_', "-"), p.rewrites, p.seconds * 1e3);
        }
        eprintln!(
            "wrote {} ({}; {} -> {} nodes) — loaded in {loaded_ms:.1} ms, passes {pass_ms:.1} ms ({} rounds), saved in {saved_ms:.1} ms",
            files.join(" + "),
            rotor_export::text::summary(&g),
            report.nodes_before,
            report.nodes_after,
            report.rounds,
        );
    }
    if a.verify {
        match verify(&a.input, &a.output, &g, &chosen, a.quiet) {
            Ok(true) => {}
            // a failed proof keeps the result for inspection (exit 1), as a failed lint does
            Ok(false) => {
                return Err(Failure::failed(
                    "--verify: the optimized model's outputs differ from the original's past tolerance (written anyway, for inspection)",
                ));
            }
            Err(f) => {
                if f.code == crate::EXIT_USAGE {
                    remove_written(&a, &written);
                }
                return Err(f);
            }
        }
    }
    if let Some(t) = target_def {
        let findings = rotor_passes::targets::lint(&g, t);
        if !findings.is_empty() {
            let lines: Vec<String> = findings.iter().map(|f| format!("  {} ({}): {}  [source: {}]", f.node, f.op, f.why, f.source)).collect();
            return Err(Failure::failed(format!(
                "--target {}: the result still has {} node(s) it cannot run (written anyway):\n{}",
                t.name,
                findings.len(),
                lines.join("\n")
            )));
        }
        if !a.quiet {
            eprintln!("--target {}: the result lints clean", t.name);
        }
    }
    Ok(0)
}
