//! `rotor bench`: wall-clock timings (median of N) of exporting and of running models.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand};
use serde_json::Value;

use crate::Failure;

#[derive(Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: BenchWhat,
}

#[derive(Subcommand)]
enum BenchWhat {
    /// Time config → ONNX bytes (parse, build, serialise), weights loading included.
    Export {
        /// Config JSON file.
        #[arg(long)]
        config: PathBuf,
        /// Checkpoint weights.
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Iterations (after 3 warm-up runs).
        #[arg(long, default_value_t = 200)]
        iters: usize,
    },
    /// Time running a model in each backend on seeded random inputs.
    Run {
        /// The ONNX model.
        model: PathBuf,
        /// Size of a symbolic dimension, e.g. `--dim N=1024` (repeatable).
        #[arg(long = "dim", value_name = "NAME=SIZE")]
        dims: Vec<String>,
        /// Iterations per backend (after 3 warm-up runs).
        #[arg(long, default_value_t = 50)]
        iters: usize,
        /// ORT intra-op threads (0 = ORT's default). tract runs single-threaded.
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
}

/// Median, min and 90th percentile of samples in milliseconds.
pub fn stats(mut ms: Vec<f64>) -> (f64, f64, f64) {
    ms.sort_by(f64::total_cmp);
    if ms.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    (at(0.5), ms[0], at(0.9))
}

pub fn run(a: BenchArgs) -> Result<u8, Failure> {
    match a.what {
        BenchWhat::Export { config, weights, iters } => {
            let text = std::fs::read_to_string(&config).map_err(|e| Failure::usage(format!("cannot read {}: {e}", config.display())))?;
            let cfg: Value = serde_json::from_str(&text).map_err(|e| Failure::usage(format!("{}: invalid JSON: {e}", config.display())))?;
            let mut samples = Vec::with_capacity(iters);
            let mut last = (0usize, 0usize);
            for i in 0..iters + 3 {
                let t = Instant::now();
                let g = crate::export::build(&cfg, weights.as_deref())?;
                let bytes = rotor_export::to_bytes(&g).map_err(Failure::failed)?;
                let dt = t.elapsed().as_secs_f64() * 1e3;
                if i >= 3 {
                    samples.push(dt);
                }
                last = (g.nodes().len(), bytes.len());
            }
            let (med, min, p90) = stats(samples);
            println!("export {}: {} nodes, {} bytes; median {med:.3} ms  min {min:.3} ms  p90 {p90:.3} ms  ({iters} runs)", config.display(), last.0, last.1);
            Ok(0)
        }
        BenchWhat::Run { model, dims, iters, threads } => {
            let g = rotor_export::load_file(&model).map_err(Failure::usage)?;
            let mut dm = std::collections::BTreeMap::new();
            for d in &dims {
                let (k, v) = d.split_once('=').ok_or_else(|| Failure::usage(format!("--dim {d}: expected NAME=SIZE")))?;
                dm.insert(k.to_string(), v.parse::<i64>().map_err(|_| Failure::usage(format!("--dim {d}: SIZE must be an integer")))?);
            }
            let ins = rotor_runtime::inputs::random_inputs(&g, &dm, &Default::default(), 0).map_err(Failure::usage)?;
            let ort: Box<dyn rotor_runtime::Backend> = Box::new(
                rotor_runtime::OrtBackend::from_file(&model, &rotor_runtime::OrtOptions { threads, ..Default::default() }).map_err(Failure::failed)?,
            );
            let tract: Box<dyn rotor_runtime::Backend> = Box::new(rotor_runtime::TractBackend::from_file(&model).map_err(Failure::failed)?);
            println!("inputs: {}", ins.iter().map(|(n, t)| format!("{n} {}", t.type_text())).collect::<Vec<_>>().join(", "));
            for mut b in [ort, tract] {
                let mut samples = Vec::with_capacity(iters);
                for i in 0..iters + 3 {
                    let t = Instant::now();
                    b.run(&ins).map_err(Failure::failed)?;
                    if i >= 3 {
                        samples.push(t.elapsed().as_secs_f64() * 1e3);
                    }
                }
                let (med, min, p90) = stats(samples);
                println!("{:<10} median {med:.3} ms  min {min:.3} ms  p90 {p90:.3} ms  ({iters} runs)", b.name());
            }
            Ok(0)
        }
    }
}
