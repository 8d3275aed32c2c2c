//! # rotor-runtime
//!
//! Run ONNX models in ONNX Runtime (CPU, CUDA when present) and tract behind one
//! [`Backend`] trait, compare outputs with rotor's parity tolerance, read reference tensors
//! (`.safetensors`, `.npz`), and make seeded random inputs.

mod backend;
pub mod compare;
mod error;
pub mod inputs;
pub mod optimize;
mod ort_backend;
pub mod refs;
mod tensor;
#[cfg(feature = "torch")]
pub mod torch_backend;
#[cfg(feature = "tract")]
mod tract_backend;
pub mod verify;

pub use backend::Backend;
pub use compare::{Comparison, Tolerance, compare};
pub use error::RuntimeError;
pub use ort_backend::{CudaStatus, OrtBackend, OrtDevice, OrtOptions, cuda_status, find_ort_library, ort_library_path, use_ort_library};
pub use tensor::{HostTensor, NamedTensors};
#[cfg(feature = "tract")]
pub use tract_backend::TractBackend;

/// Warm-up runs [`time_ms`] discards before sampling.
pub const WARMUP_RUNS: usize = 3;

/// Milliseconds of each of `iters` calls of `f`, after [`WARMUP_RUNS`] untimed ones; the
/// first error stops the loop.
pub fn time_ms<E>(iters: usize, mut f: impl FnMut() -> Result<(), E>) -> Result<Vec<f64>, E> {
    for _ in 0..WARMUP_RUNS {
        f()?;
    }
    (0..iters)
        .map(|_| {
            let t = std::time::Instant::now();
            f()?;
            Ok(t.elapsed().as_secs_f64() * 1e3)
        })
        .collect()
}

/// Which backend to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    /// ONNX Runtime on CPU, graph optimisations on.
    OrtCpu,
    /// ONNX Runtime on CPU, graph optimisations off.
    OrtCpuNoOpt,
    /// ONNX Runtime with the CUDA execution provider.
    OrtCuda,
    /// tract.
    Tract,
    /// libtorch eager reference of the model's rotor config (feature `torch`).
    #[cfg(feature = "torch")]
    Torch,
}

impl BackendKind {
    /// The name reports use for this backend (`ort-cpu`, `ort-cpu-noopt`, `ort-cuda`, `tract`,
    /// `torch`), as [`Backend::name`] gives it once loaded.
    pub fn label(self) -> &'static str {
        match self {
            BackendKind::OrtCpu => "ort-cpu",
            BackendKind::OrtCpuNoOpt => "ort-cpu-noopt",
            BackendKind::OrtCuda => "ort-cuda",
            BackendKind::Tract => "tract",
            #[cfg(feature = "torch")]
            BackendKind::Torch => "torch",
        }
    }
}

/// ORT options of an ORT backend kind.
fn ort_options(kind: BackendKind) -> OrtOptions {
    match kind {
        BackendKind::OrtCpuNoOpt => OrtOptions { optimize: false, ..OrtOptions::default() },
        BackendKind::OrtCuda => OrtOptions { device: OrtDevice::Cuda, ..OrtOptions::default() },
        _ => OrtOptions::default(),
    }
}

/// Load `model` into the backend `kind`.
pub fn load(kind: BackendKind, model: &[u8]) -> Result<Box<dyn Backend>, RuntimeError> {
    Ok(match kind {
        #[cfg(feature = "tract")]
        BackendKind::Tract => Box::new(TractBackend::new(model)?),
        #[cfg(not(feature = "tract"))]
        BackendKind::Tract => return Err(RuntimeError::Tract("this build of rotor-runtime has no tract backend (feature `tract`)".into())),
        #[cfg(feature = "torch")]
        BackendKind::Torch => Box::new(torch_backend::from_metadata(
            &rotor_export::metadata(model).map_err(|e| RuntimeError::Input { name: "model".into(), message: e.to_string() })?,
        )?),
        ort => Box::new(OrtBackend::new(model, &ort_options(ort))?),
    })
}

/// Load the ONNX file at `path` into the backend `kind` (external data resolved next to it).
pub fn load_path(kind: BackendKind, path: &std::path::Path) -> Result<Box<dyn Backend>, RuntimeError> {
    Ok(match kind {
        #[cfg(feature = "tract")]
        BackendKind::Tract => Box::new(TractBackend::from_file(path)?),
        #[cfg(not(feature = "tract"))]
        BackendKind::Tract => return Err(RuntimeError::Tract("this build of rotor-runtime has no tract backend (feature `tract`)".into())),
        #[cfg(feature = "torch")]
        BackendKind::Torch => {
            let bytes = std::fs::read(path).map_err(|e| RuntimeError::Io { path: path.display().to_string(), message: e.to_string() })?;
            load(BackendKind::Torch, &bytes)?
        }
        ort => Box::new(OrtBackend::from_file(path, &ort_options(ort))?),
    })
}
