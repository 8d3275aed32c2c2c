//! `rotor lint`: what a deployment target cannot run in a model, with the source of each fact.

use std::path::PathBuf;

use clap::Args;
use rotor_passes::targets::{self, TARGETS};

use crate::Failure;

#[derive(Args)]
pub struct LintArgs {
    /// The ONNX model.
    model: PathBuf,
    /// Target(s) to lint for (repeatable): ort, ort-1.22, tract, tensorrt-10.14, tensorrt-10.15,
    /// portable, or `all`.
    #[arg(long = "target", value_name = "T", required = true)]
    targets: Vec<String>,
}

/// The targets, one line each, for `--help` and errors.
pub use rotor_passes::plan::target_list;

/// Resolve `--target` names (`all` = every target).
pub fn resolve(names: &[String]) -> Result<Vec<&'static targets::Target>, Failure> {
    if names.iter().any(|n| n == "all") {
        return Ok(TARGETS.iter().collect());
    }
    names.iter().map(|n| targets::target(n).ok_or_else(|| Failure::usage(format!("--target {n:?}: unknown target; known:\n{}", target_list())))).collect()
}

pub fn run(a: LintArgs) -> Result<u8, Failure> {
    let ts = resolve(&a.targets)?;
    let g = rotor_export::load_file(&a.model).map_err(|e| Failure::usage(format!("{}: {e}", a.model.display())))?;
    let mut dirty = false;
    for t in ts {
        let findings = targets::lint(&g, t);
        if findings.is_empty() {
            println!("{}: clean", t.name);
        } else {
            dirty = true;
            println!("{}: {} node(s) it cannot run", t.name, findings.len());
            for f in &findings {
                println!("  {} ({}): {}  [source: {}]", f.node, f.op, f.why, f.source);
            }
        }
        for n in t.notes {
            println!("  note: {n}");
        }
    }
    Ok(if dirty { crate::EXIT_FAILED } else { 0 })
}
