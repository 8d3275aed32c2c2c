//! Errors of config validation and of turning a config (and weights) into a graph.

pub use rotor_ir::{BuildError, InferError};

/// An invalid configuration: names the offending field (dotted path) and says why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("config field `{field}`: {message}")]
pub struct ConfigError {
    /// The key, as written in the config JSON (e.g. `dim`, `custom_freqs[2]`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl ConfigError {
    /// A config error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError { field: field.into(), message: message.into() }
    }
}

/// Anything that can go wrong turning a config (and weights) into a graph.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EmitError {
    /// The config is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The graph could not be built (a bug in an emitter, or a weight of the wrong shape).
    #[error(transparent)]
    Build(#[from] BuildError),
    /// A weight is missing or has the wrong shape or type.
    #[error("weight `{key}`: {message}")]
    Weight { key: String, message: String },
}
