//! `rotor opt`: read any ONNX model into rotor's IR, run passes, write it back; optionally
//! verify the result against the original in ONNX Runtime.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use rotor_passes::{DEFAULT_PIPELINE, Options, PASSES, RopeTarget};
use rotor_runtime::{BackendKind, Tolerance};

use crate::Failure;

#[derive(Args)]
pub struct OptArgs {
    /// The ONNX model to read (external data is read beside it).
    input: PathBuf,
    /// Output ONNX file (may be the input itself; the write is atomic). Initializers stored as
    /// external data stay external, in `<OUT>.data`.
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

/// The passes `--help` lists, with the pseudo-pass `none`.
pub fn pass_list() -> String {
    let mut s = String::from("Passes:\n  none              no pass: the model is written back as it was read\n");
    for p in PASSES {
        s.push_str(&format!("  {:<17} {}\n", p.name.replace('_', "-"), p.summary));
    }
    s.push_str(&format!("Default pipeline: {}\n", DEFAULT_PIPELINE.iter().map(|p| p.replace('_', "-")).collect::<Vec<_>>().join(", ")));
    s
}

const DEFAULT_SIZES: [i64; 3] = [1, 7, 67];

fn verify(original: &Path, result: &Path, g: &rotor_builder::Graph, dims: &[String], quiet: bool) -> Result<bool, Failure> {
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
    let symbols = crate::check::input_symbols(g);
    if let Some(k) = chosen.keys().find(|k| !symbols.contains(k)) {
        return Err(Failure::usage(format!("--dim {k}: the model has no symbolic input dim {k:?} (its dims: {})", symbols.join(", "))));
    }
    let runs = chosen.values().map(Vec::len).max().unwrap_or(3).max(3);
    let load = |p: &Path| rotor_runtime::load_path(BackendKind::OrtCpu, p).map_err(|e| Failure::failed(format!("--verify: {}: {e}", p.display())));
    let mut a = load(original)?;
    let mut b = load(result)?;
    let mut ok = true;
    for k in 0..runs {
        let binding: BTreeMap<String, i64> = symbols
            .iter()
            .map(|s| {
                let sizes = chosen.get(s).map_or(&DEFAULT_SIZES[..], Vec::as_slice);
                (s.clone(), sizes[k % sizes.len()])
            })
            .collect();
        let inputs =
            rotor_runtime::inputs::random_inputs(g, &binding, &Default::default(), 1000 + k as u64).map_err(|e| Failure::usage(format!("--verify: {e}")))?;
        let want = a.run(&inputs).map_err(|e| Failure::failed(format!("--verify: the original model failed: {e}")))?;
        let got = b.run(&inputs).map_err(|e| Failure::failed(format!("--verify: the optimized model failed: {e}")))?;
        let text: Vec<String> = binding.iter().map(|(k, v)| format!("{k}={v}")).collect();
        for ((name, w), (_, o)) in want.iter().zip(&got) {
            let tol = Tolerance::parity_for(w.dtype());
            let c = rotor_runtime::compare(o, w, tol).map_err(|e| Failure::failed(format!("--verify {}: output {name}: {e}", text.join(" "))))?;
            ok &= c.ok();
            if !quiet || !c.ok() {
                eprintln!("verify [{}] {name}: {} {}", text.join(" "), if c.ok() { "ok" } else { "FAILED" }, c.summary());
            }
        }
    }
    Ok(ok)
}

pub fn run(a: OptArgs) -> Result<u8, Failure> {
    let target = RopeTarget::parse(&a.rope_target)
        .ok_or_else(|| Failure::usage(format!("--rope-target {:?}: expected one of {}", a.rope_target, RopeTarget::ALL.map(|(n, _)| n).join(", "))))?;
    let target_def = match &a.target {
        Some(t) => Some(crate::lint::resolve(std::slice::from_ref(t))?.into_iter().next().ok_or_else(|| Failure::usage("--target: none"))?),
        None => None,
    };
    let (target_passes, target) = match target_def {
        Some(t) => {
            let (p, rope) = rotor_passes::targets::pipeline(t);
            (Some(p), rope)
        }
        None => (None, target),
    };
    let names: Vec<String> = match (&target_passes, a.passes.is_empty()) {
        (_, false) => a.passes.clone(),
        (Some(p), true) => p.iter().map(|s| s.to_string()).collect(),
        (None, true) => DEFAULT_PIPELINE.iter().map(|s| s.to_string()).collect(),
    };
    let names: Vec<&str> = names.iter().map(String::as_str).filter(|n| *n != "none").collect();
    for n in &names {
        if rotor_passes::pass_by_name(n).is_none() {
            return Err(Failure::usage(format!("unknown pass {n:?}\n{}", pass_list())));
        }
    }
    let t0 = Instant::now();
    let mut g = rotor_export::load_file(&a.input).map_err(|e| Failure::usage(format!("{}: {e}", a.input.display())))?;
    let loaded_ms = t0.elapsed().as_secs_f64() * 1e3;
    let t1 = Instant::now();
    let mut options = Options { rope_target: target, ..Options::default() };
    if let Some(t) = target_def {
        options.max_opset = t.opsets.1;
        options.keep_fused = Some(target);
    }
    let report = rotor_passes::run_passes(&mut g, &names, &options).map_err(|e| Failure::usage(format!("{}: {e}", a.input.display())))?;
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
        std::fs::write(r, text + "\n").map_err(|e| Failure::usage(format!("--report {}: {e}", r.display())))?;
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
    if a.verify && !verify(&a.input, &a.output, &g, &a.dims, a.quiet)? {
        return Err(Failure::failed("--verify: the optimized model's outputs differ from the original's past tolerance"));
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
