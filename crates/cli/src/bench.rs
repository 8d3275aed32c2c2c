//! `rotor bench`: wall-clock timings (median of N) of exporting and of running models.

use std::path::PathBuf;

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
    /// RoPE and xPos q,k (1, 8, N, 64) f32, single thread: export time, ORT decomposed and fused,
    /// tract, libtorch eager (with `--features torch`), the ORT copy floor and, when present,
    /// torch.onnx.export's graph (python/export_torch_onnx.py) — with the ratios of the perf goals.
    Rotary {
        /// Sequence length N.
        #[arg(long, default_value_t = 1024)]
        n: i64,
        /// Iterations per measurement (after 3 warm-ups).
        #[arg(long, default_value_t = 50)]
        iters: usize,
        /// Directory with torch_rope_qk.onnx / torch_xpos_qk.onnx from python/export_torch_onnx.py.
        #[arg(long, default_value = "target/bench")]
        torch_onnx: PathBuf,
        /// ORT device: cpu, or cuda (when the loaded ONNX Runtime has a usable CUDA EP).
        #[arg(long, default_value = "cpu")]
        device: String,
    },
    /// Time running a model in ONNX Runtime and tract on seeded random inputs (bound once; the
    /// outputs stay in the runtime: the model's latency, not the adapter's).
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

fn ms(f: impl FnMut() -> Result<(), Failure>, iters: usize) -> Result<f64, Failure> {
    Ok(stats(rotor_runtime::time_ms(iters, f)?).0)
}

fn ort_ms(bytes: &[u8], ins: &rotor_runtime::NamedTensors, iters: usize, device: rotor_runtime::OrtDevice) -> Result<f64, Failure> {
    let opts = rotor_runtime::OrtOptions { threads: 1, device, ..Default::default() };
    let mut b = rotor_runtime::OrtBackend::new(bytes, &opts).map_err(Failure::failed)?;
    Ok(stats(b.time_runs(ins, iters).map_err(Failure::failed)?).0)
}

/// The copy floor: a graph whose outputs are its inputs (`Identity`), same shapes and bytes.
fn copy_graph(like: &rotor_builder::Graph) -> Result<Vec<u8>, Failure> {
    let mut g = rotor_builder::Builder::new("copy", 17).map_err(Failure::failed)?;
    for v in like.inputs() {
        let info = like.info(*v);
        let x = g.input(&info.name, info.dtype, info.shape.clone().unwrap_or_default()).map_err(Failure::failed)?;
        let y = g.identity(&format!("{}_copy", info.name), x).map_err(Failure::failed)?;
        g.output(&format!("{}_out", info.name), y).map_err(Failure::failed)?;
    }
    rotor_export::to_bytes(&g).map_err(Failure::failed)
}

fn bench_rotary(n: i64, iters: usize, torch_onnx: &std::path::Path, device: &str) -> Result<u8, Failure> {
    let device = match device {
        "cpu" => rotor_runtime::OrtDevice::Cpu,
        "cuda" => {
            let s = rotor_runtime::cuda_status();
            if s != rotor_runtime::CudaStatus::Available {
                return Err(Failure::failed(format!("--device cuda: {}", s.describe())));
            }
            rotor_runtime::OrtDevice::Cuda
        }
        other => return Err(Failure::usage(format!("--device {other}: expected cpu or cuda"))),
    };
    println!("rotor bench rotary: q, k f32 [1, 8, {n}, 64], 1 thread, ORT on {device:?}, median of {iters}");
    for (name, cfg) in [
        ("rope", serde_json::json!({"kind": "rotary", "dim": 64, "mode": "qk"})),
        ("xpos", serde_json::json!({"kind": "rotary", "dim": 64, "mode": "qk", "use_xpos": true})),
    ] {
        let mut fused_cfg = cfg.clone();
        fused_cfg["form"] = serde_json::json!("fused");
        let export_ms = ms(
            || {
                let g = crate::export::build(&cfg, None)?;
                rotor_export::to_bytes(&g).map(|_| ()).map_err(Failure::failed)
            },
            iters,
        )?;
        let g = crate::export::build(&cfg, None)?;
        let gf = crate::export::build(&fused_cfg, None)?;
        let (bytes, fused) = (rotor_export::to_bytes(&g).map_err(Failure::failed)?, rotor_export::to_bytes(&gf).map_err(Failure::failed)?);
        let dims = [("B".to_string(), 1i64), ("H".to_string(), 8), ("N".to_string(), n)].into_iter().collect();
        let ins = rotor_runtime::inputs::random_inputs(&g, &dims, &Default::default(), 0).map_err(Failure::failed)?;
        let decomposed = ort_ms(&bytes, &ins, iters, device)?;
        let fused_ms = ort_ms(&fused, &ins, iters, device)?;
        let floor = ort_ms(&copy_graph(&g)?, &ins, iters, device)?;
        let mut tract = rotor_runtime::TractBackend::new(&bytes).map_err(Failure::failed)?;
        let tract_ms = ms(|| rotor_runtime::Backend::run(&mut tract, &ins).map(|_| ()).map_err(Failure::failed), iters)?;
        println!("{name}: {} nodes decomposed, {} fused", g.nodes().len(), gf.nodes().len());
        println!("  export (config -> ONNX bytes)   {export_ms:>9.3} ms");
        println!("  ORT decomposed                  {decomposed:>9.3} ms   {:>6.2}x copy floor", decomposed / floor);
        println!("  ORT fused (RotaryEmbedding)     {fused_ms:>9.3} ms   {:>6.2}x copy floor   (goal <= 2x)", fused_ms / floor);
        println!("  ORT copy floor (Identity)       {floor:>9.3} ms");
        println!("  tract decomposed                {tract_ms:>9.3} ms");
        torch_eager(&cfg, &ins, iters)?;
        let baseline = torch_onnx.join(format!("torch_{name}_qk.onnx"));
        match baseline.exists() {
            true => {
                // from the file: the dynamo export keeps constants in external data beside it
                let opts = rotor_runtime::OrtOptions { threads: 1, device, ..Default::default() };
                let mut b = rotor_runtime::OrtBackend::from_file(&baseline, &opts).map_err(Failure::failed)?;
                let t = stats(b.time_runs(&ins, iters).map_err(Failure::failed)?).0;
                println!("  ORT torch.onnx.export graph     {t:>9.3} ms   decomposed/torch.onnx = {:.2}   (goal <= 0.5)", decomposed / t);
            }
            false => println!("  torch.onnx.export graph: {} not found (python/export_torch_onnx.py makes it)", baseline.display()),
        }
    }
    Ok(0)
}

#[cfg(feature = "torch")]
fn torch_eager(cfg: &serde_json::Value, ins: &rotor_runtime::NamedTensors, iters: usize) -> Result<(), Failure> {
    let rotor_builder::config::ModelConfig::Rotary(c) = rotor_builder::config::ModelConfig::from_json(cfg).map_err(Failure::usage)? else {
        return Ok(());
    };
    let t = rotor_runtime::torch_backend::TorchRotary::new(&c, None).map_err(Failure::failed)?;
    let (med, _, _) = stats(t.time_forward(ins, iters, 1).map_err(Failure::failed)?);
    println!("  libtorch eager (package math)   {med:>9.3} ms");
    Ok(())
}

#[cfg(not(feature = "torch"))]
fn torch_eager(_cfg: &serde_json::Value, _ins: &rotor_runtime::NamedTensors, _iters: usize) -> Result<(), Failure> {
    println!("  libtorch eager: not built (cargo build --features torch)");
    Ok(())
}

pub fn run(a: BenchArgs) -> Result<u8, Failure> {
    match a.what {
        BenchWhat::Rotary { n, iters, torch_onnx, device } => bench_rotary(n, iters, &torch_onnx, &device),
        BenchWhat::Export { config, weights, iters } => {
            let text = std::fs::read_to_string(&config).map_err(|e| Failure::usage(format!("cannot read {}: {e}", config.display())))?;
            let cfg: Value = serde_json::from_str(&text).map_err(|e| Failure::usage(format!("{}: invalid JSON: {e}", config.display())))?;
            let mut last = (0usize, 0usize);
            let samples = rotor_runtime::time_ms(iters, || {
                let g = crate::export::build(&cfg, weights.as_deref())?;
                let bytes = rotor_export::to_bytes(&g).map_err(Failure::failed)?;
                last = (g.nodes().len(), bytes.len());
                Ok(())
            })?;
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
            // the model's latency, not the adapter's: inputs bound once, outputs left in the
            // runtime's buffers
            let mut ort =
                rotor_runtime::OrtBackend::from_file(&model, &rotor_runtime::OrtOptions { threads, ..Default::default() }).map_err(Failure::failed)?;
            let mut tract = rotor_runtime::TractBackend::from_file(&model).map_err(Failure::failed)?;
            println!("inputs: {}", ins.iter().map(|(n, t)| format!("{n} {}", t.type_text())).collect::<Vec<_>>().join(", "));
            let report = |name: &str, samples: Vec<f64>| {
                let (med, min, p90) = stats(samples);
                println!("{name:<10} median {med:.3} ms  min {min:.3} ms  p90 {p90:.3} ms  ({iters} runs)");
            };
            report(&rotor_runtime::Backend::name(&ort), ort.time_runs(&ins, iters).map_err(Failure::failed)?);
            match tract.time_runs(&ins, iters) {
                Ok(samples) => report("tract", samples),
                Err(e) => println!("tract      failed: {e}"),
            }
            Ok(0)
        }
    }
}
