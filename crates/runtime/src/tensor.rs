//! Host tensors exchanged with the backends.

use half::{bf16, f16};
use ndarray::ArrayD;
use rotor_builder::DType;

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

    /// Convert a float tensor to another float type (round to nearest even).
    pub fn cast_float(&self, to: DType) -> Option<HostTensor> {
        let f = self.to_f64();
        let shape = ndarray::IxDyn(self.shape());
        let arr = |v: Vec<f32>| ArrayD::from_shape_vec(shape.clone(), v).ok();
        Some(match to {
            DType::F32 => HostTensor::F32(arr(f.iter().map(|v| *v as f32).collect())?),
            DType::F16 => HostTensor::F16(ArrayD::from_shape_vec(shape.clone(), f.iter().map(|v| f16::from_f64(*v)).collect()).ok()?),
            DType::BF16 => HostTensor::BF16(ArrayD::from_shape_vec(shape.clone(), f.iter().map(|v| bf16::from_f64(*v)).collect()).ok()?),
            _ => return None,
        })
    }

    /// `DType[d0, d1, …]`.
    pub fn type_text(&self) -> String {
        let dims: Vec<String> = self.shape().iter().map(|d| d.to_string()).collect();
        format!("{}[{}]", self.dtype(), dims.join(", "))
    }
}

/// Named tensors, in order.
pub type NamedTensors = Vec<(String, HostTensor)>;
