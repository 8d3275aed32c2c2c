//! The one trait every backend implements.

use crate::error::RuntimeError;
use crate::tensor::NamedTensors;

/// Something that runs a loaded model on named host tensors.
pub trait Backend {
    /// Short label used in reports (`ort-cpu`, `tract`, ...).
    fn name(&self) -> String;
    /// Run the model; outputs come back named, in the model's output order.
    fn run(&mut self, inputs: &NamedTensors) -> Result<NamedTensors, RuntimeError>;
}
