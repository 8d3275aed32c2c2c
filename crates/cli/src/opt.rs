//! `rotor opt`: read any ONNX model into rotor's IR, run passes, write it back.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use crate::Failure;

/// Passes `rotor opt` knows, by CLI name (kebab-case).
const PASSES: &[(&str, &str)] = &[("none", "no pass: the model is written back as it was read (a lossless round trip)")];

#[derive(Args)]
pub struct OptArgs {
    /// The ONNX model to read (external data is read beside it).
    input: PathBuf,
    /// Output ONNX file (may be the input itself; the write is atomic). Initializers stored as
    /// external data stay external, in `<OUT>.data`.
    #[arg(short = 'o', long = "output", value_name = "OUT.onnx")]
    output: PathBuf,
    /// Comma-separated passes to run, in order (`none`: write the model back unchanged).
    #[arg(long, value_name = "a,b,..", default_value = "none", value_delimiter = ',')]
    passes: Vec<String>,
    /// Print nothing on success.
    #[arg(short, long)]
    quiet: bool,
}

pub fn run(a: OptArgs) -> Result<u8, Failure> {
    for p in &a.passes {
        if !PASSES.iter().any(|(n, _)| n == p) {
            let known: Vec<&str> = PASSES.iter().map(|(n, _)| *n).collect();
            return Err(Failure::usage(format!("unknown pass {p:?} (known: {})", known.join(", "))));
        }
    }
    let t0 = Instant::now();
    let g = rotor_export::load_file(&a.input).map_err(|e| Failure::usage(format!("{}: {e}", a.input.display())))?;
    let loaded_ms = t0.elapsed().as_secs_f64() * 1e3;
    let t1 = Instant::now();
    let written = rotor_export::write_model(&g, &a.output, &rotor_export::ExportOptions::default()).map_err(Failure::usage)?;
    if !a.quiet {
        let files: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        eprintln!(
            "wrote {} ({}) — loaded in {loaded_ms:.1} ms, saved in {:.1} ms",
            files.join(" + "),
            rotor_export::text::summary(&g),
            t1.elapsed().as_secs_f64() * 1e3
        );
    }
    Ok(0)
}
