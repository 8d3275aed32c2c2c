//! `rotor._rotor`: the native half of rotor's Python package. The Python half
//! (`python/rotor/__init__.py`) reads live PyTorch modules into a config and tensors and calls
//! these functions; every error arrives as one of the exception classes of `rotor._errors`
//! (a Rust panic, which would be a bug, arrives as `rotor.RotorError`, never as a crash).

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rotor_builder::{DType, Graph, Tensor, WeightMap};

pyo3::import_exception!(rotor._errors, RotorError);
pyo3::import_exception!(rotor._errors, ConfigError);
pyo3::import_exception!(rotor._errors, ModelError);
pyo3::import_exception!(rotor._errors, RuntimeUnavailableError);

/// Which exception class a failure becomes.
enum Kind {
    /// A bad config, option or weight (`ConfigError`, a `ValueError`).
    Config,
    /// Input that is not a readable ONNX model (`ModelError`, a `ValueError`).
    Model,
    /// ONNX Runtime could not be loaded (`RuntimeUnavailableError`).
    Unavailable,
    /// Anything else (`RotorError`).
    Other,
}

struct Fail(Kind, String);

impl Fail {
    fn config(m: impl std::fmt::Display) -> Fail {
        Fail(Kind::Config, m.to_string())
    }
    fn model(m: impl std::fmt::Display) -> Fail {
        Fail(Kind::Model, m.to_string())
    }
    fn other(m: impl std::fmt::Display) -> Fail {
        Fail(Kind::Other, m.to_string())
    }
}

impl From<Fail> for PyErr {
    fn from(f: Fail) -> PyErr {
        match f.0 {
            Kind::Config => ConfigError::new_err(f.1),
            Kind::Model => ModelError::new_err(f.1),
            Kind::Unavailable => RuntimeUnavailableError::new_err(f.1),
            Kind::Other => RotorError::new_err(f.1),
        }
    }
}

/// Run `f` without the GIL, turning a panic into `RotorError`.
fn guarded<T: Send>(py: Python<'_>, f: impl FnOnce() -> Result<T, Fail> + Send) -> PyResult<T> {
    let r = py.detach(|| catch_unwind(AssertUnwindSafe(f)));
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(fail)) => Err(fail.into()),
        Err(panic) => {
            let what = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned()).unwrap_or_default();
            Err(RotorError::new_err(format!("internal error (a bug in rotor, please report it): {what}")))
        }
    }
}

/// A model given as bytes or as a path.
enum Source {
    Bytes(Vec<u8>),
    Path(PathBuf),
}

impl Source {
    fn extract(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Source> {
        if let Ok(b) = obj.cast::<PyBytes>() {
            return Ok(Source::Bytes(b.as_bytes().to_vec()));
        }
        if let Ok(p) = obj.extract::<PathBuf>() {
            return Ok(Source::Path(p));
        }
        Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "{what}: expected a path (str or os.PathLike) or the model's bytes, got {}",
            obj.get_type().name()?
        )))
    }

    fn load(&self) -> Result<Graph, Fail> {
        match self {
            Source::Bytes(b) => rotor_export::load_bytes(b).map_err(Fail::model),
            Source::Path(p) => rotor_export::load_file(p).map_err(|e| Fail::model(format!("{}: {e}", p.display()))),
        }
    }
}

fn dtype_of(name: &str) -> Option<DType> {
    Some(match name {
        "float32" => DType::F32,
        "float16" => DType::F16,
        "bfloat16" => DType::BF16,
        "float64" => DType::F64,
        "int64" => DType::I64,
        "int32" => DType::I32,
        "bool" => DType::Bool,
        _ => return None,
    })
}

/// One tensor as the Python half passes it: (name, dtype name, shape, little-endian bytes).
type RawTensor = (String, String, Vec<i64>, Vec<u8>);

/// [`RawTensor`] as it arrives from Python (the bytes still a Python object).
type PyTensor<'py> = (String, String, Vec<i64>, Bound<'py, PyBytes>);

fn weight_map(tensors: Vec<RawTensor>) -> Result<WeightMap, Fail> {
    let mut w = WeightMap::new();
    for (name, dtype, dims, bytes) in tensors {
        let dt = dtype_of(&dtype)
            .ok_or_else(|| Fail::config(format!("weight `{name}`: unsupported dtype {dtype} (float32, float16, bfloat16, float64, int64, int32, bool)")))?;
        let t = Tensor::from_le_bytes(dt, dims, &bytes).map_err(|m| Fail::config(format!("weight `{name}`: {m}")))?;
        w.insert(&name, t);
    }
    Ok(w)
}

/// Build the graph of a config (JSON text, the CLI's config format) with optional weights
/// (tensors, or a safetensors file), serialize it, and write it to `path` when given (atomic).
/// Returns `(model bytes, notes)`; notes say what the export chose (e.g. a fused form that
/// fell back to the decomposed one, and why).
#[pyfunction]
#[pyo3(signature = (config_json, tensors=None, weights_path=None, path=None, value_info=true))]
fn export_config<'py>(
    py: Python<'py>,
    config_json: String,
    tensors: Option<Vec<PyTensor<'py>>>,
    weights_path: Option<PathBuf>,
    path: Option<PathBuf>,
    value_info: bool,
) -> PyResult<(Bound<'py, PyBytes>, Vec<String>)> {
    let tensors: Option<Vec<RawTensor>> = tensors.map(|ts| ts.into_iter().map(|(n, d, s, b)| (n, d, s, b.as_bytes().to_vec())).collect());
    let (bytes, notes) = guarded(py, move || {
        let config: serde_json::Value = rotor_builder::config::parse_json_text(&config_json).map_err(|e| Fail::config(format!("config: {e}")))?;
        if !config.is_object() {
            return Err(Fail::config("config: must be a dict (a JSON object)"));
        }
        if let (Some(p), Some(w)) = (&path, &weights_path) {
            use rotor_export::paths::{Role, model_outputs, refuse_clobbering};
            let writes: Vec<Role> = model_outputs(p).into_iter().map(|r| Role::new(r.what.replace("the output model", "path"), r.path)).collect();
            refuse_clobbering(&[Role::new("weights", w)], &writes, 0).map_err(Fail::config)?;
        }
        let weights = match (tensors, weights_path) {
            (Some(_), Some(_)) => return Err(Fail::config("weights: give a state_dict or a safetensors path, not both")),
            (Some(t), None) => Some(weight_map(t)?),
            (None, Some(p)) => {
                let b = std::fs::read(&p).map_err(|e| Fail::config(format!("weights: cannot read {}: {e}", p.display())))?;
                Some(WeightMap::from_safetensors(&b).map_err(|e| Fail::config(format!("weights {}: {e}", p.display())))?)
            }
            (None, None) => None,
        };
        let g = rotor_builder::emit::build_from_json(&config, weights.as_ref()).map_err(|e| match e {
            rotor_builder::EmitError::Build(b) => Fail::other(b),
            other => Fail::config(other),
        })?;
        let opts = rotor_export::ExportOptions { value_info, ..Default::default() };
        let bytes = rotor_export::to_bytes_with(&g, &opts).map_err(Fail::other)?;
        if let Some(p) = &path {
            rotor_export::write_atomic(p, &bytes).map_err(Fail::other)?;
        }
        let notes = rotor_builder::emit::export_notes(&g, &config, weights.as_ref(), weights.is_some());
        Ok((bytes, notes))
    })?;
    Ok((PyBytes::new(py, &bytes), notes))
}

/// Run passes over a model (`rotor opt`): `src` a path or bytes; writes `path` when given
/// (external data stays external beside it). Returns `(report JSON text, model bytes or None
/// when written to a file, ok)`; `ok` is false when verification or the target's lint failed
/// (the report says which).
#[pyfunction]
#[pyo3(signature = (src, path=None, passes=None, rope_target=None, target=None, verify=false, dims=None, ort_library=None))]
#[allow(clippy::too_many_arguments)]
fn optimize<'py>(
    py: Python<'py>,
    src: &Bound<'py, PyAny>,
    path: Option<PathBuf>,
    passes: Option<Vec<String>>,
    rope_target: Option<String>,
    target: Option<String>,
    verify: bool,
    dims: Option<BTreeMap<String, Vec<i64>>>,
    ort_library: Option<PathBuf>,
) -> PyResult<(String, Option<Bound<'py, PyBytes>>, bool)> {
    let src = Source::extract(src, "src")?;
    let (report, bytes, ok) = guarded(py, move || {
        use rotor_passes::optimize::{OptimizeError, Request, optimize};
        use rotor_runtime::optimize::{Destination, FileHost, Source as From};
        let request = Request { passes: passes.unwrap_or_default(), rope_target, target, verify, dims: dims.unwrap_or_default() };
        if verify && let Some(lib) = &ort_library {
            rotor_runtime::use_ort_library(lib).map_err(|e| Fail(Kind::Unavailable, format!("verify=True needs ONNX Runtime: {e}")))?;
        }
        let from = match src {
            Source::Bytes(b) => From::Bytes(b),
            Source::Path(p) => From::Path(p),
        };
        let to = match &path {
            Some(p) => Destination::Path(p.clone()),
            None => Destination::Bytes,
        };
        let mut host = FileHost::new(from, to, "path");
        let (_, outcome) = optimize(&request, &mut host).map_err(|e| match e {
            OptimizeError::Plan(e) => Fail::config(e),
            OptimizeError::Usage { field: Some(f), .. } if f == "dims" => Fail::config("dims: sets the sizes verify=True runs with; pass verify=True"),
            OptimizeError::Dim { name, message } => Fail::config(format!("dims[{name:?}]: {message}")),
            OptimizeError::Usage { message, .. } => Fail::config(message),
            OptimizeError::Model(m) => Fail::model(m),
            OptimizeError::Unavailable(m) => Fail(Kind::Unavailable, format!("verify=True needs ONNX Runtime: {m}")),
            OptimizeError::Pass(m) => Fail::other(m),
            OptimizeError::Failed(m) => Fail::other(format!("verify: {m}")),
        })?;
        let ok = outcome.verified() && outcome.lint_clean();
        let text = serde_json::to_string(&outcome).map_err(Fail::other)?;
        Ok((text, host.into_bytes(), ok))
    })?;
    Ok((report, bytes.map(|b| PyBytes::new(py, &b)), ok))
}

/// The graph text of a model (`rotor print`).
#[pyfunction]
fn graph_text(py: Python<'_>, src: &Bound<'_, PyAny>) -> PyResult<String> {
    let src = Source::extract(src, "src")?;
    guarded(py, move || Ok(rotor_ir::text::print(&src.load()?)))
}

/// The structural diff of two models (`rotor diff`'s output): `(text, count)`.
#[pyfunction]
fn diff(py: Python<'_>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<(String, usize)> {
    let (a, b) = (Source::extract(a, "a")?, Source::extract(b, "b")?);
    guarded(py, move || {
        let (ga, gb) = (a.load()?, b.load()?);
        Ok(rotor_ir::text::diff(&ga, &gb))
    })
}

/// The passes: `[(name, summary)]` (kebab-case names, as `passes=` takes them).
#[pyfunction]
fn pass_names() -> Vec<(String, String)> {
    rotor_passes::PASSES.iter().map(|p| (p.name.replace('_', "-"), p.summary.to_string())).collect()
}

/// The default pipeline, kebab-case.
#[pyfunction]
fn default_pipeline() -> Vec<String> {
    rotor_passes::DEFAULT_PIPELINE.iter().map(|p| p.replace('_', "-")).collect()
}

/// The deployment targets: `[(name, runtime)]`.
#[pyfunction]
fn target_names() -> Vec<(String, String)> {
    rotor_passes::targets::TARGETS.iter().map(|t| (t.name.to_string(), t.runtime.to_string())).collect()
}

/// The config keys of a kind with their defaults (what `rotor export KIND --help` prints).
#[pyfunction]
fn config_help(kind: &str) -> PyResult<String> {
    rotor_builder::config::keys::help_text(kind)
        .ok_or_else(|| ConfigError::new_err(format!("kind {kind:?}: unknown (rotary, axial_rotary, sinusoidal, hierarchical_transformer)")))
}

/// One config key as Python sees it: `(key, default JSON or None, derived, doc)`.
type KeyRow = (String, Option<String>, String, String);

/// The config keys of a kind, in documented order (the common keys first).
#[pyfunction]
fn config_key_table(kind: &str) -> PyResult<Vec<KeyRow>> {
    use rotor_builder::config::keys;
    let own =
        keys::keys(kind).ok_or_else(|| ConfigError::new_err(format!("kind {kind:?}: unknown (rotary, axial_rotary, sinusoidal, hierarchical_transformer)")))?;
    Ok(keys::COMMON.iter().chain(own.iter()).map(|k| (k.key.to_string(), k.default.map(str::to_string), k.derived.to_string(), k.doc.to_string())).collect())
}

/// rotor's native module: model building, passes and ONNX I/O in Rust.
#[pymodule(name = "_rotor")]
mod rotor_native {
    #[pymodule_export]
    use super::{config_help, config_key_table, default_pipeline, diff, export_config, graph_text, optimize, pass_names, target_names};

    #[pymodule_init]
    fn init(m: &pyo3::Bound<'_, pyo3::types::PyModule>) -> pyo3::PyResult<()> {
        use pyo3::types::PyModuleMethods;
        m.add("__version__", env!("CARGO_PKG_VERSION"))
    }
}
