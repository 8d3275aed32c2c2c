//! Errors of exporting, writing and loading models.

use std::path::PathBuf;

use rotor_ir::BuildError;

/// Anything that can fail in `rotor-export`.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The graph is invalid.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// Reading or writing a file failed.
    #[error("{action} {path}: {source}")]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },
    /// The bytes are not an ONNX model.
    #[error("not an ONNX model: {0}")]
    Decode(#[from] prost::DecodeError),
    /// The model uses something rotor cannot represent.
    #[error("{0}")]
    Unsupported(String),
    /// The model is malformed (dangling names, bad tensor data, cycles, ...).
    #[error("invalid model: {0}")]
    Invalid(String),
}

impl ExportError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> ExportError {
        let path = path.into();
        move |source| ExportError::Io { action, path, source }
    }
}
