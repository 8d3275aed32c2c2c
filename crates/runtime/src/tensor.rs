//! Host tensors exchanged with the backends.

use half::{bf16, f16};
use ndarray::{ArrayD, IxDyn};
use rotor_builder::{DType, Tensor, TensorData};

/// A tensor in host memory, of one of the element types rotor graphs use.
#[derive(Clone, Debug, PartialEq)]
pub enum HostTensor {
    F32(ArrayD<f32>),
    F16(ArrayD<f16>),
    BF16(ArrayD<bf16>),
    I64(ArrayD<i64>),
    Bool(ArrayD<bool>),
}

impl HostTensor {
    /// Element type.
    pub fn dtype(&self) -> DType {
        match self {
            HostTensor::F32(_) => DType::F32,
            HostTensor::F16(_) => DType::F16,
            HostTensor::BF16(_) => DType::BF16,
            HostTensor::I64(_) => DType::I64,
            HostTensor::Bool(_) => DType::Bool,
        }
    }

    /// Shape.
    pub fn shape(&self) -> &[usize] {
        match self {
            HostTensor::F32(a) => a.shape(),
            HostTensor::F16(a) => a.shape(),
            HostTensor::BF16(a) => a.shape(),
            HostTensor::I64(a) => a.shape(),
            HostTensor::Bool(a) => a.shape(),
        }
    }

    /// Elements widened to f64, in logical (row-major) order.
    pub fn to_f64(&self) -> Vec<f64> {
        match self {
            HostTensor::F32(a) => a.iter().map(|v| *v as f64).collect(),
            HostTensor::F16(a) => a.iter().map(|v| v.to_f64()).collect(),
            HostTensor::BF16(a) => a.iter().map(|v| v.to_f64()).collect(),
            HostTensor::I64(a) => a.iter().map(|v| *v as f64).collect(),
            HostTensor::Bool(a) => a.iter().map(|v| f64::from(u8::from(*v))).collect(),
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape().iter().product()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `DType[d0, d1, …]`.
    pub fn type_text(&self) -> String {
        let dims: Vec<String> = self.shape().iter().map(|d| d.to_string()).collect();
        format!("{}[{}]", self.dtype(), dims.join(", "))
    }
}

impl TryFrom<&Tensor> for HostTensor {
    type Error = String;

    /// A builder tensor (an initializer or a parsed checkpoint entry) as a host tensor;
    /// float64 and int32, which rotor graphs never exchange, are refused.
    fn try_from(t: &Tensor) -> Result<HostTensor, String> {
        let shape = IxDyn(&t.dims().iter().map(|d| *d as usize).collect::<Vec<_>>());
        let bad = |e: ndarray::ShapeError| e.to_string();
        let t = t.resolved()?;
        Ok(match t.data() {
            TensorData::F32(v) => HostTensor::F32(ArrayD::from_shape_vec(shape, v.clone()).map_err(bad)?),
            TensorData::F16(v) => HostTensor::F16(ArrayD::from_shape_vec(shape, v.iter().map(|b| f16::from_bits(*b)).collect()).map_err(bad)?),
            TensorData::BF16(v) => HostTensor::BF16(ArrayD::from_shape_vec(shape, v.iter().map(|b| bf16::from_bits(*b)).collect()).map_err(bad)?),
            TensorData::I64(v) => HostTensor::I64(ArrayD::from_shape_vec(shape, v.clone()).map_err(bad)?),
            TensorData::Bool(v) => HostTensor::Bool(ArrayD::from_shape_vec(shape, v.clone()).map_err(bad)?),
            _ => return Err(format!("dtype {} is not supported", t.dtype())),
        })
    }
}

/// Named tensors, in order.
pub type NamedTensors = Vec<(String, HostTensor)>;
