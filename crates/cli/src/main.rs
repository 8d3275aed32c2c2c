//! `rotor`: export positional-encoding graphs as ONNX, check them in ONNX Runtime and tract,
//! print their graph text, and time them.

mod bench;
mod check;
mod export;
mod lint;
mod opt;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit status for invalid input (bad config, unreadable file, unknown flag).
pub const EXIT_USAGE: u8 = 2;
/// Exit status when a check finds a difference past tolerance or a backend fails.
pub const EXIT_FAILED: u8 = 1;

#[derive(Parser)]
#[command(
    name = "rotor",
    version,
    about = "Emit RoPE / xPos / hierarchical-attention graphs as ONNX, proven equal to the PyTorch packages",
    long_about = "rotor turns the constructor kwargs of rotary-embedding-torch (and friends) into compact, \
dynamic-shape ONNX graphs in milliseconds, and checks them in ONNX Runtime and tract.\n\n\
Exit status: 0 success, 1 a check failed (difference past tolerance, backend error), 2 invalid input.\n\n\
ONNX Runtime is loaded from ORT_DYLIB_PATH, or from the `onnxruntime` Python package of \
$ROTOR_PYTHON / python3 (scripts/setup_python.sh sets that up)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write the ONNX model of a config (keys = the PyTorch kwargs).
    #[command(
        long_about = "Write the ONNX model of a config.\n\n\
The complete form is `rotor export --config CFG.json -o OUT.onnx`; the config's keys are the PyTorch \
constructor kwargs (snake_case, same defaults) plus rotor's graph keys; `rotor export KIND --help` lists them with their defaults (docs/config.md). Shortcut: name the kind \
and pass keys as flags, e.g. `rotor export rotary --dim 64 --use-xpos --mode qk -o xpos.onnx` \
(`--use-xpos` = true, values are parsed as JSON when they can be: `--custom-freqs [1,0.5]`). Flags override \
the config file.\n\n\
The file is written atomically: on any error nothing is left at OUT. Errors name the offending field.",
        after_help = "Examples:\n  rotor export --config rope.json -o rope.onnx\n  rotor export rotary --dim 64 --mode cached_qk --offset-input -o kv.onnx --print"
    )]
    Export(export::ExportArgs),
    /// Run a model in ONNX Runtime and tract on seeded or given inputs and compare.
    #[command(long_about = "Run a model in each backend and report max abs/rel differences between backends and \
against expected outputs. Exits 1 when any difference exceeds |a-b| <= atol + rtol*|b|.\n\n\
Inputs: --inputs FILE (.safetensors or .npz), or seeded normal floats / uniform ints with symbolic dims set \
by --dim NAME=SIZE. --expect FILE holds expected outputs by output name; tensors named `SET/name` are \
grouped into sets checked one after another (goldens from rotor's scripts are laid out that way, \
so `--expect golden.safetensors` alone checks every length in it).")]
    Check(check::CheckArgs),
    /// Read any ONNX model, run passes (cleanup, RoPE fusion or lowering), write it back.
    #[command(
        long_about = "Read any ONNX model into rotor's IR, run passes, and write it back.\n\n\
Passes (kebab-case; the list runs in order and repeats until nothing changes, at most 8 rounds):\n  \
none: no pass, a lossless round trip\n  \
dce: remove nodes and initializers nothing reads\n  \
eliminate-noops: remove Identity, same-type Cast, same-shape Reshape/Expand, identity Transpose/Slice, x*1, ...\n  \
cse: merge identical nodes and identical constants/initializers\n  \
fold-constants: fold constant subgraphs (exact ops only, size-limited) and shape chains over symbolic dims\n  \
fuse-rope: fuse x*cos + rotate(x)*sin (rotate_half, interleaved pairs, partial rotation, xPos scales, the chunk form \
cat(x1*c - x2*s, x2*c + x1*s), rotor's own decomposed form) into one op per rotated tensor, the op chosen by --rope-target; only what is proven equivalent \
(pairing, signs, cos/sin equal on both features of a pair, read from the model's own tables)\n  \
lower-rope: rewrite ai.onnx and com.microsoft RotaryEmbedding as standard ops\n  \
legalize-tract: rewrite what tract 0.23 cannot evaluate (boolean Equal, int64 CumSum of flags, batched outer-product MatMul, ConstantOfShape without value)\n  \
fit-opset: lower the opset to the --target's maximum when every node provably means the same there\n\
Default pipeline: eliminate-noops, fold-constants, cse, dce, fuse-rope, dce.\n\n\
Every attribute kind, element type, \
declared type (sequence, map, optional included), doc string, metadata, model-local function, opset import and \
sparse initializer is kept; initializers stored as external data stay external (copied file to file, never read \
into memory), in `<OUT>.data`. An external-data location outside the model's folder is refused.\n\n\
The write is atomic: on any error (exit 2, naming the node or tensor) nothing is left at OUT.",
        after_help = "Examples:\n  rotor opt model.onnx -o fused.onnx --verify --report report.json\n  rotor opt model.onnx -o lowered.onnx --passes lower-rope,dce\n  rotor opt model.onnx -o same.onnx --passes none"
    )]
    Opt(opt::OptArgs),
    /// List what a deployment target cannot run in a model (exit 1 if anything), with sources.
    #[command(
        long_about = "Check a model against what a runtime can load and run: its opset range, op domains, and the ops \
(or forms of ops) it lacks, each finding with the source of the fact (release notes, operator docs, runs in this \
repository). Exit 0 clean, 1 findings, 2 invalid input. `rotor opt --target T` legalizes a model for T.\n\n\
Targets:\n  ort             ONNX Runtime 1.31 (opsets 7..=26; RoPE as ai.onnx RotaryEmbedding)\n  \
ort-1.22        ONNX Runtime 1.22 (opsets 7..=22; RoPE as com.microsoft RotaryEmbedding)\n  \
tract           tract 0.23 (RoPE decomposed; boolean Equal and int64 CumSum rewritten)\n  \
tensorrt-10.14  TensorRT 10.14 parser (opsets 9..=20; RoPE decomposed; Slice/Squeeze/Unsqueeze axes constant)\n  \
tensorrt-10.15  TensorRT 10.15 parser (RoPE as ai.onnx RotaryEmbedding)\n  \
portable        opset 17, standard ops only\n  all             every target",
        after_help = "Example:\n  rotor lint model.onnx --target tract --target ort-1.22"
    )]
    Lint(lint::LintArgs),
    /// Print the graph text of a model (one line per node, types and symbolic shapes).
    #[command(long_about = "Print the graph text of any ONNX model: one line per node (`out = Op(in, ...) {attrs} : types`), \
subgraphs indented under their node with the outer values they capture, initializers with their first values and a \
digest of their bytes. The same text as rotor's insta goldens, so `rotor print` output can be snapshot-tested.")]
    Print {
        /// The ONNX model.
        model: std::path::PathBuf,
        /// Append a node-count summary by op type.
        #[arg(long)]
        summary: bool,
    },
    /// Structural diff of two models in the graph-text vocabulary; exit 0 equal, 1 different.
    #[command(long_about = "Compare two ONNX models structurally: nodes added (+), removed (-) or changed (~) by name, \
graph inputs/outputs, initializers (by a digest of their bytes, external data included), metadata, opset imports \
and functions. Exit 0 when equal, 1 when they differ, 2 when a model cannot be read — so a CI job can \
snapshot-test graph changes.")]
    Diff {
        /// The first (old) model.
        a: std::path::PathBuf,
        /// The second (new) model.
        b: std::path::PathBuf,
        /// Print only the count of differences.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Time exporting (config → ONNX bytes) and running models.
    Bench(bench::BenchArgs),
}

/// A closed stdout or stderr (`rotor print m.onnx | head -1`) ends the process quietly, as it
/// does for other Unix tools: the default action of SIGPIPE (the shell sees status 141), not a
/// panic on the failed write. Rust's runtime ignores SIGPIPE unless told otherwise. Files are
/// written atomically (temp file + rename), so an ended write leaves nothing at the output.
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    #[allow(unsafe_code, reason = "restoring a signal's default action before any thread starts is the only way to get it")]
    // SAFETY: called first thing in main, before any other thread exists; SIG_DFL is a valid
    // disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Export(a) => export::run(a),
        Command::Check(a) => check::run(a),
        Command::Opt(a) => opt::run(a),
        Command::Lint(a) => lint::run(a),
        Command::Print { model, summary } => print(&model, summary),
        Command::Diff { a, b, quiet } => diff(&a, &b, quiet),
        Command::Bench(a) => bench::run(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}

/// A CLI failure: message and exit status.
pub struct Failure {
    pub message: String,
    pub code: u8,
}

impl Failure {
    /// Invalid input (exit 2).
    pub fn usage(m: impl std::fmt::Display) -> Failure {
        Failure { message: m.to_string(), code: EXIT_USAGE }
    }
    /// A failed run (exit 1).
    pub fn failed(m: impl std::fmt::Display) -> Failure {
        Failure { message: m.to_string(), code: EXIT_FAILED }
    }
}

fn load(model: &std::path::Path) -> Result<rotor_builder::Graph, Failure> {
    rotor_export::load_file(model).map_err(|e| Failure::usage(format!("{}: {e}", model.display())))
}

fn diff(a: &std::path::Path, b: &std::path::Path, quiet: bool) -> Result<u8, Failure> {
    let (ga, gb) = (load(a)?, load(b)?);
    let (text, count) = rotor_ir::text::diff(&ga, &gb);
    if count == 0 {
        if !quiet {
            println!("no differences");
        }
        return Ok(0);
    }
    if !quiet {
        println!("--- {}\n+++ {}", a.display(), b.display());
        print!("{text}");
    }
    println!("{count} difference(s)");
    Ok(EXIT_FAILED)
}

fn print(model: &std::path::Path, summary: bool) -> Result<u8, Failure> {
    let g = load(model)?;
    print!("{}", rotor_ir::text::print(&g));
    if summary {
        println!("{}", rotor_ir::text::summary(&g));
    }
    Ok(0)
}
