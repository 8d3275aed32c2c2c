//! Runtime errors.

/// Anything that can fail while running a model.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// ONNX Runtime's shared library could not be found or loaded.
    #[error("ONNX Runtime is not available: {0}")]
    OrtUnavailable(String),
    /// ONNX Runtime rejected the model or failed while running it.
    #[error("ONNX Runtime: {0}")]
    Ort(String),
    /// tract rejected the model or failed while running it.
    #[error("tract: {0}")]
    Tract(String),
    /// A requested execution provider cannot be used here.
    #[error("{0}")]
    DeviceUnavailable(String),
    /// An input is missing or of the wrong type/shape.
    #[error("input {name}: {message}")]
    Input { name: String, message: String },
    /// Reading or writing tensors failed.
    #[error("{path}: {message}")]
    Io { path: String, message: String },
}

impl RuntimeError {
    pub(crate) fn ort(e: impl std::fmt::Display) -> RuntimeError {
        RuntimeError::Ort(e.to_string())
    }
    #[cfg(feature = "tract")]
    pub(crate) fn tract(e: impl std::fmt::Display) -> RuntimeError {
        // anyhow chains in alternate form read "a: b: c" (no backtrace).
        RuntimeError::Tract(format!("{e:#}").replace('\n', " "))
    }
}
