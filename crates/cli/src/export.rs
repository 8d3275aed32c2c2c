//! `rotor export`.

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::{Map, Value};

use crate::Failure;

#[derive(Args)]
pub struct ExportArgs {
    /// Config JSON file (keys = the PyTorch kwargs, plus `kind`).
    #[arg(long, value_name = "CFG.json")]
    config: Option<PathBuf>,
    /// Checkpoint weights (`state_dict()` saved with safetensors, PyTorch key names).
    #[arg(long, value_name = "W.safetensors")]
    weights: Option<PathBuf>,
    /// Output ONNX file.
    #[arg(short = 'o', long = "output", value_name = "OUT.onnx")]
    output: Option<PathBuf>,
    /// Also print the graph text.
    #[arg(long)]
    print: bool,
    /// Print nothing on success.
    #[arg(short, long)]
    quiet: bool,
    /// Leave out `value_info` (by default every intermediate value's inferred type and shape is
    /// written, so Netron and `polygraphy inspect` show them).
    #[arg(long)]
    no_value_info: bool,
    /// Shortcut form: the kind, then `--key value` pairs (`rotor export rotary --dim 64 --use-xpos`).
    #[arg(value_name = "KIND [--KEY VALUE]...", trailing_var_arg = true, allow_hyphen_values = true)]
    shortcut: Vec<String>,
}

/// Parse a flag value: JSON when it parses (numbers, booleans, lists, null), else a string.
fn flag_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

struct Parsed {
    config: Map<String, Value>,
    config_path: Option<PathBuf>,
    weights: Option<PathBuf>,
    output: Option<PathBuf>,
    print: bool,
    quiet: bool,
    value_info: bool,
}

fn parse(a: ExportArgs) -> Result<Parsed, Failure> {
    let mut p =
        Parsed { config: Map::new(), config_path: None, weights: a.weights, output: a.output, print: a.print, quiet: a.quiet, value_info: !a.no_value_info };
    let mut config_path = a.config;
    let mut overrides: Vec<(String, Value)> = Vec::new();
    let mut it = a.shortcut.into_iter().peekable();
    if let Some(first) = it.peek()
        && !first.starts_with('-')
    {
        overrides.push(("kind".into(), Value::String(first.clone())));
        it.next();
    }
    while let Some(tok) = it.next() {
        let needs_value = matches!(tok.as_str(), "-o" | "--output" | "--config" | "--weights");
        let value = if needs_value { Some(it.next().ok_or_else(|| Failure::usage(format!("{tok} needs a value")))?) } else { None };
        match (tok.as_str(), value) {
            ("-o" | "--output", Some(v)) => p.output = Some(PathBuf::from(v)),
            ("--config", Some(v)) => config_path = Some(PathBuf::from(v)),
            ("--weights", Some(v)) => p.weights = Some(PathBuf::from(v)),
            ("--print", _) => p.print = true,
            ("-q" | "--quiet", _) => p.quiet = true,
            ("--no-value-info", _) => p.value_info = false,
            (flag, _) if flag.starts_with("--") && flag.len() > 2 => {
                let (key, inline) = match flag[2..].split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (flag[2..].to_string(), None),
                };
                let key = key.replace('-', "_");
                let value = match inline {
                    Some(v) => flag_value(&v),
                    None => match it.peek() {
                        Some(next) if !next.starts_with('-') || next.parse::<f64>().is_ok() => flag_value(&it.next().unwrap_or_default()),
                        _ => Value::Bool(true),
                    },
                };
                overrides.push((key, value));
            }
            (other, _) => return Err(Failure::usage(format!("unexpected argument {other:?} (config keys are passed as --key value)"))),
        }
    }
    p.config_path = config_path.clone();
    if let Some(path) = config_path {
        let text = std::fs::read_to_string(&path).map_err(|e| Failure::usage(format!("cannot read config {}: {e}", path.display())))?;
        match rotor_builder::config::parse_json_text(&text) {
            Ok(Value::Object(m)) => p.config = m,
            Ok(_) => return Err(Failure::usage(format!("config {}: the config must be a JSON object", path.display()))),
            Err(e) => return Err(Failure::usage(format!("config {}: {e}", path.display()))),
        }
    }
    for (k, v) in overrides {
        p.config.insert(k, v);
    }
    if p.config.is_empty() {
        return Err(Failure::usage("nothing to export: give --config CFG.json or a kind with flags (see rotor export --help)"));
    }
    Ok(p)
}

/// Build the graph of a config (and weights), as `rotor export` does.
pub fn build(config: &Value, weights: Option<&Path>) -> Result<rotor_builder::Graph, Failure> {
    Ok(build_with_weights(config, weights)?.0)
}

/// [`build`], also returning the weights it read (for the export's notes).
fn build_with_weights(config: &Value, weights: Option<&Path>) -> Result<(rotor_builder::Graph, Option<rotor_builder::WeightMap>), Failure> {
    let weights = match weights {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| Failure::usage(format!("cannot read weights {}: {e}", path.display())))?;
            Some(rotor_builder::WeightMap::from_safetensors(&bytes).map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?)
        }
        None => None,
    };
    let weights = match weights {
        Some(w) => Some(w),
        None => torch_freqs(config),
    };
    let g = rotor_builder::emit::build_from_json(config, weights.as_ref()).map_err(Failure::usage)?;
    Ok((g, weights))
}

/// With the `torch` feature, config-only rotary exports take their frequencies from libtorch,
/// bit-identical to the Python package's (SLEEF rounding included).
#[cfg(feature = "torch")]
fn torch_freqs(config: &Value) -> Option<rotor_builder::WeightMap> {
    let rotor_builder::config::ModelConfig::Rotary(c) = rotor_builder::config::ModelConfig::from_json(config).ok()? else { return None };
    let t = rotor_runtime::torch_backend::TorchRotary::new(&c, None).ok()?;
    let f = rotor_runtime::torch_backend::freqs_of(&t);
    let mut w = rotor_builder::WeightMap::new();
    w.insert("freqs", rotor_builder::Tensor::f32(vec![f.len() as i64], f).ok()?);
    Some(w)
}

#[cfg(not(feature = "torch"))]
fn torch_freqs(_config: &Value) -> Option<rotor_builder::WeightMap> {
    None
}

pub fn run(a: ExportArgs) -> Result<u8, Failure> {
    // `rotor export KIND --help`: the config keys of that kind with their defaults.
    if let Some(kind) = a.shortcut.first().filter(|k| !k.starts_with('-'))
        && a.shortcut.iter().any(|t| t == "--help" || t == "-h")
    {
        let text = rotor_builder::config::keys::help_text(kind)
            .ok_or_else(|| Failure::usage(format!("unknown kind {kind:?} (rotary, axial_rotary, sinusoidal, hierarchical_transformer)")))?;
        println!("{text}\nUsage: rotor export {kind} --key value ... -o OUT.onnx   (or --config CFG.json; see docs/config.md)");
        return Ok(0);
    }
    let p = parse(a)?;
    let output = p.output.clone().ok_or_else(|| Failure::usage("missing -o OUT.onnx"))?;
    {
        use rotor_export::paths::{Role, model_outputs, refuse_clobbering};
        let mut reads = Vec::new();
        reads.extend(p.config_path.iter().map(|c| Role::new("--config", c)));
        reads.extend(p.weights.iter().map(|w| Role::new("--weights", w)));
        refuse_clobbering(&reads, &model_outputs(&output), 0).map_err(Failure::usage)?;
    }
    let config = Value::Object(p.config);
    let started = std::time::Instant::now();
    let (g, weights) = build_with_weights(&config, p.weights.as_deref())?;
    let opts = rotor_export::ExportOptions { value_info: p.value_info, ..Default::default() };
    let written = rotor_export::write_model(&g, &output, &opts).map_err(Failure::usage)?;
    if p.print {
        print!("{}", rotor_ir::text::print(&g));
    }
    if !p.quiet {
        for note in rotor_builder::emit::export_notes(&g, &config, weights.as_ref(), p.weights.is_some() || cfg!(feature = "torch")) {
            eprintln!("note: {note}");
        }
        let files: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        eprintln!("wrote {} ({}) in {:.1} ms", files.join(" + "), rotor_ir::text::summary(&g), started.elapsed().as_secs_f64() * 1e3);
    }
    Ok(0)
}
