//! `rotor`: export positional-encoding graphs as ONNX, check them in ONNX Runtime and tract,
//! print their graph text, and time them.

mod bench;
mod check;
mod export;

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
constructor kwargs (snake_case, same defaults) plus rotor's graph keys (DESIGN §2). Shortcut: name the kind \
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
    /// Print the graph text of a model (one line per node, types and symbolic shapes).
    Print {
        /// The ONNX model.
        model: std::path::PathBuf,
        /// Append a node-count summary by op type.
        #[arg(long)]
        summary: bool,
    },
    /// Time exporting (config → ONNX bytes) and running models.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Export(a) => export::run(a),
        Command::Check(a) => check::run(a),
        Command::Print { model, summary } => print(&model, summary),
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

fn print(model: &std::path::Path, summary: bool) -> Result<u8, Failure> {
    let g = rotor_export::load_file(model).map_err(Failure::usage)?;
    print!("{}", rotor_export::text::print(&g));
    if summary {
        println!("{}", rotor_export::text::summary(&g));
    }
    Ok(0)
}
