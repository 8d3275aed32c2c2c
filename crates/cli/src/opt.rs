//! `rotor opt`: read any ONNX model into rotor's IR, run passes, write it back; optionally
//! verify the result against the original in ONNX Runtime.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use rotor_passes::optimize::{Host, OptimizeError, Request, optimize};
use rotor_runtime::optimize::{Destination, FileHost, Source};

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
/// model once it is loaded.
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

/// The CLI's words for what went wrong.
fn failure(e: OptimizeError, input: &std::path::Path) -> Failure {
    match e {
        OptimizeError::Plan(e) => match e.field {
            "passes" => Failure::usage(format!("unknown pass {:?}\n{}", e.value, pass_list())),
            "rope_target" => Failure::usage(format!("--rope-target {:?}: {}", e.value, e.message)),
            _ => Failure::usage(format!("--target {:?}: {}", e.value, e.message)),
        },
        OptimizeError::Usage { field: Some(f), .. } if f == "dims" => Failure::usage("--dim sets the sizes --verify runs with; add --verify"),
        OptimizeError::Usage { field: Some(f), message } if f == "verify" => Failure::usage(format!("--verify: {message}")),
        OptimizeError::Dim { name, message } => Failure::usage(format!("--dim {name}: {message}")),
        OptimizeError::Usage { message, .. } | OptimizeError::Model(message) => Failure::usage(message),
        OptimizeError::Pass(m) => Failure::usage(format!("{}: {m}", input.display())),
        OptimizeError::Failed(m) | OptimizeError::Unavailable(m) => Failure::failed(format!("--verify: {m}")),
    }
}

pub fn run(a: OptArgs) -> Result<u8, Failure> {
    let request =
        Request { passes: a.passes.clone(), rope_target: Some(a.rope_target.clone()), target: a.target.clone(), verify: a.verify, dims: parse_dims(&a.dims)? };
    let mut host = FileHost::new(Source::Path(a.input.clone()), Destination::Path(a.output.clone()), "the output model");
    host.fsync = a.fsync;
    if let Some(r) = &a.report {
        host.also_writes("--report", r.clone());
    }
    let (g, outcome) = optimize(&request, &mut host).map_err(|e| failure(e, &a.input))?;
    if let Some(r) = &a.report {
        let text = serde_json::to_string_pretty(&outcome).map_err(Failure::usage)?;
        if let Err(e) = rotor_export::write_atomic(r, format!("{text}\n").as_bytes()) {
            host.undo_write();
            return Err(Failure::usage(format!("--report {}: {e}", r.display())));
        }
    }
    let report = &outcome.report;
    if a.explain {
        for r in &report.rejections {
            eprintln!("{}: {}: {}", r.pass.replace('_', "-"), r.node, r.reason);
        }
        if report.rejections.is_empty() {
            eprintln!("explain: no candidate was left alone");
        }
    }
    if !a.quiet {
        let files: Vec<String> = host.written().iter().map(|p| p.display().to_string()).collect();
        for p in report.passes.iter().filter(|p| p.rewrites > 0) {
            eprintln!("{:<16} {:>5} rewrites  {:>8.2} ms", p.name.replace('_', "-"), p.rewrites, p.seconds * 1e3);
        }
        eprintln!(
            "wrote {} ({}; {} -> {} nodes) — loaded in {:.1} ms, passes {:.1} ms ({} rounds), saved in {:.1} ms",
            files.join(" + "),
            rotor_ir::text::summary(&g),
            report.nodes_before,
            report.nodes_after,
            outcome.load_ms,
            outcome.passes_ms,
            report.rounds,
            outcome.save_ms,
        );
    }
    for c in outcome.verify.iter().flatten().filter(|c| !a.quiet || !c.ok) {
        eprintln!("verify [{}] {}: {} {}", c.binding, c.output, if c.ok { "ok" } else { "FAILED" }, c.summary);
    }
    if !outcome.verified() {
        // a failed proof keeps the result for inspection (exit 1), as a failed lint does
        return Err(Failure::failed("--verify: the optimized model's outputs differ from the original's past tolerance (written anyway, for inspection)"));
    }
    if let (Some(t), Some(findings)) = (outcome.target, &outcome.lint) {
        if !findings.is_empty() {
            let lines: Vec<String> = findings.iter().map(|f| format!("  {} ({}): {}  [source: {}]", f.node, f.op, f.why, f.source)).collect();
            return Err(Failure::failed(format!(
                "--target {t}: the result still has {} node(s) it cannot run (written anyway):\n{}",
                findings.len(),
                lines.join("\n")
            )));
        }
        if !a.quiet {
            eprintln!("--target {t}: the result lints clean");
        }
    }
    Ok(0)
}
