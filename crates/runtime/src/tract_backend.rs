//! tract backend (tract-onnx 0.23): the model is typed with its declared symbolic input shapes,
//! optimised once, and run with concrete inputs (symbols resolved per call).

use std::sync::Arc;

use tract_onnx::prelude::*;

use crate::backend::Backend;
use crate::error::RuntimeError;
use crate::tensor::{HostTensor, NamedTensors};

/// A model loaded into tract.
pub struct TractBackend {
    plan: Arc<TypedRunnableModel>,
    inputs: Vec<String>,
    outputs: Vec<String>,
}

impl TractBackend {
    /// Load and optimise ONNX bytes.
    pub fn new(model: &[u8]) -> Result<TractBackend, RuntimeError> {
        Self::prepare(tract_onnx::onnx().model_for_read(&mut &model[..]).map_err(RuntimeError::tract)?)
    }

    /// Load and optimise an ONNX file (external data resolved next to it).
    pub fn from_file(path: &std::path::Path) -> Result<TractBackend, RuntimeError> {
        Self::prepare(tract_onnx::onnx().model_for_path(path).map_err(RuntimeError::tract)?)
    }

    fn prepare(inference: InferenceModel) -> Result<TractBackend, RuntimeError> {
        let typed = inference.into_optimized().map_err(RuntimeError::tract)?;
        let inputs = typed.input_outlets().map_err(RuntimeError::tract)?.iter().map(|o| typed.node(o.node).name.clone()).collect();
        let outputs = typed
            .output_outlets()
            .map_err(RuntimeError::tract)?
            .iter()
            .map(|o| typed.outlet_label(*o).map(str::to_string).unwrap_or_else(|| typed.node(o.node).name.clone()))
            .collect();
        let plan = typed.into_runnable().map_err(RuntimeError::tract)?;
        Ok(TractBackend { plan, inputs, outputs })
    }
}

impl TractBackend {
    /// Milliseconds of `iters` runs (after [`crate::WARMUP_RUNS`] warm-ups) with the inputs
    /// converted once (each run gets shared handles to them) and the outputs dropped in place:
    /// the model's own latency, for benchmarks.
    pub fn time_runs(&mut self, inputs: &NamedTensors, iters: usize) -> Result<Vec<f64>, RuntimeError> {
        let ordered = self.ordered(inputs)?;
        let plan = &self.plan;
        crate::time_ms(iters, || plan.run(ordered.clone()).map(drop).map_err(RuntimeError::tract))
    }
}

impl TractBackend {
    /// The inputs in the model's order, converted.
    fn ordered(&self, inputs: &NamedTensors) -> Result<TVec<TValue>, RuntimeError> {
        self.inputs
            .iter()
            .map(|name| {
                let t = inputs.iter().find(|(n, _)| n == name).ok_or_else(|| RuntimeError::Input { name: name.clone(), message: "not provided".into() })?;
                Ok(to_tvalue(&t.1))
            })
            .collect()
    }
}

fn to_tvalue(t: &HostTensor) -> TValue {
    match t {
        HostTensor::F32(a) => Tensor::from(a.clone()).into_tvalue(),
        HostTensor::F16(a) => Tensor::from(a.clone()).into_tvalue(),
        HostTensor::BF16(a) => {
            // tract has no bf16 element type here: widen to f32 (the graph's Casts still apply).
            Tensor::from(a.mapv(|v| v.to_f32())).into_tvalue()
        }
        HostTensor::I64(a) => Tensor::from(a.clone()).into_tvalue(),
        HostTensor::Bool(a) => Tensor::from(a.clone()).into_tvalue(),
    }
}

fn from_tvalue(name: &str, v: &TValue) -> Result<HostTensor, RuntimeError> {
    let t: &Tensor = v;
    let err = |e: TractError| RuntimeError::Tract(format!("output {name}: {e}"));
    Ok(match t.datum_type() {
        DatumType::F32 => HostTensor::F32(t.to_plain_array_view::<f32>().map_err(err)?.to_owned()),
        DatumType::F16 => HostTensor::F16(t.to_plain_array_view::<f16>().map_err(err)?.to_owned()),
        DatumType::I64 => HostTensor::I64(t.to_plain_array_view::<i64>().map_err(err)?.to_owned()),
        DatumType::Bool => HostTensor::Bool(t.to_plain_array_view::<bool>().map_err(err)?.to_owned()),
        other => return Err(RuntimeError::Tract(format!("output {name}: element type {other:?} is not supported by rotor"))),
    })
}

impl Backend for TractBackend {
    fn name(&self) -> String {
        "tract".into()
    }

    fn run(&mut self, inputs: &NamedTensors) -> Result<NamedTensors, RuntimeError> {
        let ordered = self.ordered(inputs)?;
        // tract panics on some invalid inputs (an out-of-range Gather index, say): report those
        // as errors like any other failure instead of unwinding through the caller.
        let plan = &self.plan;
        let outs = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| plan.run(ordered)))
            .map_err(|p| {
                RuntimeError::Tract(format!(
                    "tract panicked: {}",
                    p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()
                ))
            })?
            .map_err(RuntimeError::tract)?;
        self.outputs.iter().zip(outs.iter()).map(|(n, v)| Ok((n.clone(), from_tvalue(n, v)?))).collect()
    }
}
