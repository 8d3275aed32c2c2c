//! ONNX Runtime backend (`ort` 2.0.0-rc.15, load-dynamic).
//!
//! The shared library is found, in order: `ORT_DYLIB_PATH`; the `onnxruntime` package of
//! `$ROTOR_PYTHON` (or `python3`) — the PyPI wheel ships `capi/libonnxruntime.so.*`. It is
//! loaded once per process. The CUDA execution provider is used only when asked for, and
//! [`cuda_status`] says why it cannot be when it cannot (CPU-only build, missing CUDA
//! libraries, no device).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ndarray::ArrayD;
use ort::environment::Environment;
use ort::ep::{self, ExecutionProvider};
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::{DynValue, Tensor, TensorElementType, ValueType};

use crate::backend::Backend;
use crate::error::RuntimeError;
use crate::tensor::{HostTensor, NamedTensors};

/// Where ONNX Runtime runs a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrtDevice {
    /// CPU execution provider.
    Cpu,
    /// CUDA execution provider (fails if unavailable; check [`cuda_status`] first).
    Cuda,
}

/// Options of an ORT session.
#[derive(Clone, Debug)]
pub struct OrtOptions {
    /// Execution provider.
    pub device: OrtDevice,
    /// Run ORT's graph optimisations (`All`) or none (`Disable`, what parity tests use first).
    pub optimize: bool,
    /// Intra-op threads (0 = ORT's default).
    pub threads: usize,
}

impl Default for OrtOptions {
    fn default() -> OrtOptions {
        OrtOptions { device: OrtDevice::Cpu, optimize: true, threads: 0 }
    }
}

struct Loaded {
    env: Environment,
    path: PathBuf,
}

static ORT: OnceLock<Result<Loaded, String>> = OnceLock::new();
static FOUND_PATH: OnceLock<Result<PathBuf, String>> = OnceLock::new();

fn python_capi_dir() -> Option<PathBuf> {
    let python = std::env::var("ROTOR_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(python)
        .args(["-c", "import onnxruntime, os; print(os.path.dirname(onnxruntime.__file__))"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("capi"))
}

fn find_in_dir(dir: &Path) -> Option<PathBuf> {
    let mut hits: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("libonnxruntime.so.") || n == "libonnxruntime.dylib" || n == "onnxruntime.dll")
        })
        .collect();
    hits.sort();
    hits.pop()
}

/// Use the ONNX Runtime shared library at `path`, or the one in the folder `path` (the
/// `onnxruntime` package's `capi/`), before anything loads one: rotor's Python package passes
/// the package the user has. `Ok(false)` when a library was already chosen for this process
/// (the first choice stays); an error when a folder holds no ONNX Runtime library.
pub fn use_ort_library(path: &Path) -> Result<bool, RuntimeError> {
    let lib = if path.is_dir() {
        find_in_dir(path).ok_or_else(|| RuntimeError::OrtUnavailable(format!("no ONNX Runtime shared library in {}", path.display())))?
    } else {
        path.to_path_buf()
    };
    Ok(FOUND_PATH.set(Ok(lib)).is_ok())
}

/// Locate the ONNX Runtime shared library (see the module docs for the search order). The
/// answer is computed once per process.
pub fn find_ort_library() -> Result<PathBuf, RuntimeError> {
    FOUND_PATH.get_or_init(search_ort_library).clone().map_err(RuntimeError::OrtUnavailable)
}

fn search_ort_library() -> Result<PathBuf, String> {
    if let Ok(p) = std::env::var("ORT_DYLIB_PATH") {
        let p = PathBuf::from(p);
        return if p.is_file() { Ok(p) } else { Err(format!("ORT_DYLIB_PATH={} is not a file", p.display())) };
    }
    if let Some(p) = python_capi_dir().as_deref().and_then(find_in_dir) {
        return Ok(p);
    }
    Err("set ORT_DYLIB_PATH to libonnxruntime.so (pip install onnxruntime==1.31.1 ships it in onnxruntime/capi/), \
         or make `python3 -c 'import onnxruntime'` work; scripts/setup_python.sh does both"
        .into())
}

fn loaded() -> Result<&'static Loaded, RuntimeError> {
    let r = ORT.get_or_init(|| {
        let path = FOUND_PATH.get_or_init(search_ort_library).clone()?;
        let builder = ort::init_from(&path).map_err(|e| format!("cannot load {}: {e}", path.display()))?;
        let env = builder.with_name("rotor").build().map_err(|e| format!("cannot create the ORT environment: {e}"))?;
        Ok(Loaded { env, path })
    });
    r.as_ref().map_err(|e| RuntimeError::OrtUnavailable(e.clone()))
}

/// The path of the loaded ONNX Runtime library (loading it if needed).
pub fn ort_library_path() -> Result<PathBuf, RuntimeError> {
    Ok(loaded()?.path.clone())
}

/// Whether ORT's CUDA execution provider can run here, and if not, why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CudaStatus {
    /// A session with the CUDA EP was created.
    Available,
    /// The loaded ONNX Runtime is a CPU-only build (e.g. the `onnxruntime` wheel, not `onnxruntime-gpu`).
    NotCompiled(String),
    /// The CUDA/cuDNN libraries the EP needs could not be loaded.
    MissingLibraries(String),
    /// The libraries load but there is no usable GPU.
    NoDevice(String),
    /// Some other failure (message from ORT).
    Failed(String),
}

impl CudaStatus {
    /// A one-line human explanation.
    pub fn describe(&self) -> String {
        match self {
            CudaStatus::Available => "CUDA execution provider available".into(),
            CudaStatus::NotCompiled(m) => format!("CUDA EP not compiled into this ONNX Runtime (CPU-only build): {m}"),
            CudaStatus::MissingLibraries(m) => format!("CUDA EP present but its CUDA/cuDNN libraries are missing: {m}"),
            CudaStatus::NoDevice(m) => format!("CUDA EP present but no CUDA device is usable: {m}"),
            CudaStatus::Failed(m) => format!("CUDA EP failed to start: {m}"),
        }
    }
}

/// Probe the CUDA execution provider once (a tiny Identity model).
pub fn cuda_status() -> CudaStatus {
    static STATUS: OnceLock<CudaStatus> = OnceLock::new();
    STATUS.get_or_init(probe_cuda).clone()
}

fn probe_cuda() -> CudaStatus {
    let loaded = match loaded() {
        Ok(l) => l,
        Err(e) => return CudaStatus::Failed(e.to_string()),
    };
    match <ep::CUDA as ExecutionProvider>::is_available() {
        Ok(true) => {}
        Ok(false) => return CudaStatus::NotCompiled(format!("{} does not list CUDAExecutionProvider", loaded.path.display())),
        Err(e) => return CudaStatus::Failed(e.to_string()),
    }
    let model = match probe_model() {
        Ok(m) => m,
        Err(e) => return CudaStatus::Failed(e),
    };
    let attempt = Session::builder(&loaded.env)
        .map_err(|e| e.to_string())
        .and_then(|b| b.with_execution_providers([ep::CUDA::default().build().error_on_failure()]).map_err(|e| e.to_string()))
        .and_then(|mut b| b.commit_from_memory(&model).map(|_| ()).map_err(|e| e.to_string()));
    match attempt {
        Ok(()) => CudaStatus::Available,
        Err(m) if m.contains("cannot open shared object") || m.contains("libcu") || m.contains("libcudnn") => CudaStatus::MissingLibraries(m),
        Err(m) if m.contains("no CUDA-capable device") || m.contains("CUDA driver") || m.contains("cudaErrorNoDevice") || m.contains("cudaGetDeviceCount") => {
            CudaStatus::NoDevice(m)
        }
        Err(m) => CudaStatus::Failed(m),
    }
}

fn probe_model() -> Result<Vec<u8>, String> {
    let mut g = rotor_builder::Builder::new("cuda_probe", 17).map_err(|e| e.to_string())?;
    let x = g.input("x", rotor_builder::DType::F32, [1i64]).map_err(|e| e.to_string())?;
    let y = g.identity("y", x).map_err(|e| e.to_string())?;
    g.output("y_out", y).map_err(|e| e.to_string())?;
    rotor_export::to_bytes(&g).map_err(|e| e.to_string())
}

enum ModelSource<'a> {
    Bytes(&'a [u8]),
    File(&'a Path),
}

/// A model loaded into an ONNX Runtime session.
pub struct OrtBackend {
    session: Session,
    label: String,
}

impl OrtBackend {
    /// Create a session from ONNX bytes.
    pub fn new(model: &[u8], opts: &OrtOptions) -> Result<OrtBackend, RuntimeError> {
        Self::create(ModelSource::Bytes(model), opts)
    }

    /// Create a session from an ONNX file (external data is found next to it).
    pub fn from_file(path: &Path, opts: &OrtOptions) -> Result<OrtBackend, RuntimeError> {
        Self::create(ModelSource::File(path), opts)
    }

    fn create(model: ModelSource, opts: &OrtOptions) -> Result<OrtBackend, RuntimeError> {
        let loaded = loaded()?;
        let mut b = Session::builder(&loaded.env).map_err(RuntimeError::ort)?;
        let level = if opts.optimize { GraphOptimizationLevel::All } else { GraphOptimizationLevel::Disable };
        b = b.with_optimization_level(level).map_err(RuntimeError::ort)?;
        if opts.threads > 0 {
            b = b.with_intra_threads(opts.threads).map_err(RuntimeError::ort)?;
        }
        if opts.device == OrtDevice::Cuda {
            let status = cuda_status();
            if status != CudaStatus::Available {
                return Err(RuntimeError::DeviceUnavailable(status.describe()));
            }
            b = b.with_execution_providers([ep::CUDA::default().build().error_on_failure()]).map_err(RuntimeError::ort)?;
        }
        let session = match model {
            ModelSource::Bytes(bytes) => b.commit_from_memory(bytes),
            ModelSource::File(path) => b.commit_from_file(path),
        }
        .map_err(RuntimeError::ort)?;
        let label = format!("ort-{}{}", if opts.device == OrtDevice::Cuda { "cuda" } else { "cpu" }, if opts.optimize { "" } else { "-noopt" });
        Ok(OrtBackend { session, label })
    }
}

impl OrtBackend {
    /// Milliseconds of `iters` runs (after [`crate::WARMUP_RUNS`] warm-ups) with the inputs converted once and the
    /// outputs left in ORT's buffers: the graph's own latency, for benchmarks.
    pub fn time_runs(&mut self, inputs: &NamedTensors, iters: usize) -> Result<Vec<f64>, RuntimeError> {
        let values: Vec<(String, DynValue)> = inputs.iter().map(|(n, t)| Ok((n.clone(), to_value(n, t)?))).collect::<Result<_, RuntimeError>>()?;
        let refs: Vec<(&str, &DynValue)> = values.iter().map(|(n, v)| (n.as_str(), v)).collect();
        crate::time_ms(iters, || self.session.run(refs.clone()).map(drop).map_err(RuntimeError::ort))
    }
}

fn to_value(name: &str, t: &HostTensor) -> Result<DynValue, RuntimeError> {
    let err = |e: ort::Error| RuntimeError::Input { name: name.into(), message: e.to_string() };
    Ok(match t {
        HostTensor::F32(a) => Tensor::from_array(a.clone()).map_err(err)?.into_dyn(),
        HostTensor::F16(a) => Tensor::from_array(a.clone()).map_err(err)?.into_dyn(),
        HostTensor::BF16(a) => Tensor::from_array(a.clone()).map_err(err)?.into_dyn(),
        HostTensor::I64(a) => Tensor::from_array(a.clone()).map_err(err)?.into_dyn(),
        HostTensor::Bool(a) => Tensor::from_array(a.clone()).map_err(err)?.into_dyn(),
    })
}

fn from_value(name: &str, v: &DynValue) -> Result<HostTensor, RuntimeError> {
    fn arr<T: ort::value::PrimitiveTensorElementType + Clone>(v: &DynValue) -> Result<ArrayD<T>, RuntimeError> {
        Ok(v.try_extract_array::<T>().map_err(RuntimeError::ort)?.to_owned())
    }
    match v.dtype() {
        ValueType::Tensor { ty, .. } => Ok(match ty {
            TensorElementType::Float32 => HostTensor::F32(arr(v)?),
            TensorElementType::Float16 => HostTensor::F16(arr(v)?),
            TensorElementType::Bfloat16 => HostTensor::BF16(arr(v)?),
            TensorElementType::Int64 => HostTensor::I64(arr(v)?),
            TensorElementType::Bool => HostTensor::Bool(arr(v)?),
            other => return Err(RuntimeError::Ort(format!("output {name}: element type {other:?} is not supported by rotor"))),
        }),
        other => Err(RuntimeError::Ort(format!("output {name}: {other:?} is not a tensor"))),
    }
}

impl Backend for OrtBackend {
    fn name(&self) -> String {
        self.label.clone()
    }

    fn run(&mut self, inputs: &NamedTensors) -> Result<NamedTensors, RuntimeError> {
        let values: Vec<(String, DynValue)> = inputs.iter().map(|(n, t)| Ok((n.clone(), to_value(n, t)?))).collect::<Result<_, RuntimeError>>()?;
        let outputs = self.session.run(values).map_err(RuntimeError::ort)?;
        outputs.iter().map(|(name, v)| Ok((name.to_string(), from_value(name, &v)?))).collect()
    }
}
