//! Constant tensors (initializers and `value` attributes).

use crate::dtype::DType;

/// Element storage of a constant tensor. Half types are kept as raw bit patterns.
#[derive(Clone, Debug, PartialEq)]
pub enum TensorData {
    F32(Vec<f32>),
    F64(Vec<f64>),
    /// IEEE half, bit patterns.
    F16(Vec<u16>),
    /// bfloat16, bit patterns.
    BF16(Vec<u16>),
    I64(Vec<i64>),
    I32(Vec<i32>),
    Bool(Vec<bool>),
}

/// A constant tensor with a fixed shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    dims: Vec<i64>,
    data: TensorData,
}

impl Tensor {
    /// A tensor from data and dims. Fails when the element count does not match the dims.
    pub fn new(dims: Vec<i64>, data: TensorData) -> Result<Tensor, String> {
        let expected: i64 = dims.iter().product();
        let t = Tensor { dims, data };
        if dims_invalid(&t.dims) || expected as usize != t.len() {
            return Err(format!("tensor of dims {:?} needs {} elements, got {}", t.dims, expected, t.len()));
        }
        Ok(t)
    }

    /// An f32 tensor.
    pub fn f32(dims: Vec<i64>, data: Vec<f32>) -> Result<Tensor, String> {
        Tensor::new(dims, TensorData::F32(data))
    }

    /// An f64 tensor.
    pub fn f64(dims: Vec<i64>, data: Vec<f64>) -> Result<Tensor, String> {
        Tensor::new(dims, TensorData::F64(data))
    }

    /// An i64 tensor.
    pub fn i64(dims: Vec<i64>, data: Vec<i64>) -> Result<Tensor, String> {
        Tensor::new(dims, TensorData::I64(data))
    }

    /// A rank-0 i64 tensor.
    pub fn scalar_i64(v: i64) -> Tensor {
        Tensor { dims: vec![], data: TensorData::I64(vec![v]) }
    }

    /// A rank-0 f32 tensor.
    pub fn scalar_f32(v: f32) -> Tensor {
        Tensor { dims: vec![], data: TensorData::F32(vec![v]) }
    }

    /// A rank-1 i64 tensor.
    pub fn vec_i64(v: &[i64]) -> Tensor {
        Tensor { dims: vec![v.len() as i64], data: TensorData::I64(v.to_vec()) }
    }

    /// Element type.
    pub fn dtype(&self) -> DType {
        match &self.data {
            TensorData::F32(_) => DType::F32,
            TensorData::F64(_) => DType::F64,
            TensorData::F16(_) => DType::F16,
            TensorData::BF16(_) => DType::BF16,
            TensorData::I64(_) => DType::I64,
            TensorData::I32(_) => DType::I32,
            TensorData::Bool(_) => DType::Bool,
        }
    }

    /// Dimensions.
    pub fn dims(&self) -> &[i64] {
        &self.dims
    }

    /// Elements.
    pub fn data(&self) -> &TensorData {
        &self.data
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.data {
            TensorData::F32(v) => v.len(),
            TensorData::F64(v) => v.len(),
            TensorData::F16(v) | TensorData::BF16(v) => v.len(),
            TensorData::I64(v) => v.len(),
            TensorData::I32(v) => v.len(),
            TensorData::Bool(v) => v.len(),
        }
    }

    /// True when the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Integer elements widened to i64 (for shape-like constants).
    pub fn as_i64s(&self) -> Option<Vec<i64>> {
        match &self.data {
            TensorData::I64(v) => Some(v.clone()),
            TensorData::I32(v) => Some(v.iter().map(|x| *x as i64).collect()),
            _ => None,
        }
    }

    /// Little-endian raw bytes, as ONNX `raw_data` stores them.
    pub fn to_le_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len() * self.dtype().size_of());
        match &self.data {
            TensorData::F32(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            TensorData::F64(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            TensorData::F16(v) | TensorData::BF16(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            TensorData::I64(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            TensorData::I32(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            TensorData::Bool(v) => v.iter().for_each(|x| out.push(u8::from(*x))),
        }
        out
    }

    /// Parse little-endian raw bytes of the given type and dims.
    pub fn from_le_bytes(dtype: DType, dims: Vec<i64>, bytes: &[u8]) -> Result<Tensor, String> {
        fn chunks<const W: usize, T>(b: &[u8], f: impl Fn([u8; W]) -> T) -> Vec<T> {
            b.chunks_exact(W)
                .map(|c| {
                    let mut a = [0u8; W];
                    a.copy_from_slice(c);
                    f(a)
                })
                .collect()
        }
        let size = dtype.size_of();
        if size == 0 || !bytes.len().is_multiple_of(size) {
            return Err(format!("raw data of {} bytes is not a whole number of {dtype} elements", bytes.len()));
        }
        let data = match dtype {
            DType::F32 => TensorData::F32(chunks(bytes, f32::from_le_bytes)),
            DType::F64 => TensorData::F64(chunks(bytes, f64::from_le_bytes)),
            DType::F16 => TensorData::F16(chunks(bytes, u16::from_le_bytes)),
            DType::BF16 => TensorData::BF16(chunks(bytes, u16::from_le_bytes)),
            DType::I64 => TensorData::I64(chunks(bytes, i64::from_le_bytes)),
            DType::I32 => TensorData::I32(chunks(bytes, i32::from_le_bytes)),
            DType::Bool => TensorData::Bool(bytes.iter().map(|b| *b != 0).collect()),
            DType::Undefined => return Err("undefined element type".into()),
        };
        Tensor::new(dims, data)
    }

    /// Elements as f64 (for printing digests); integers and bools are widened.
    pub fn values_f64(&self) -> Vec<f64> {
        match &self.data {
            TensorData::F32(v) => v.iter().map(|x| *x as f64).collect(),
            TensorData::F64(v) => v.clone(),
            TensorData::F16(v) => v.iter().map(|x| f16_bits_to_f32(*x) as f64).collect(),
            TensorData::BF16(v) => v.iter().map(|x| f32::from_bits((*x as u32) << 16) as f64).collect(),
            TensorData::I64(v) => v.iter().map(|x| *x as f64).collect(),
            TensorData::I32(v) => v.iter().map(|x| *x as f64).collect(),
            TensorData::Bool(v) => v.iter().map(|x| f64::from(u8::from(*x))).collect(),
        }
    }

    /// The same values converted to another float type (f32 source only), rounding to nearest even.
    pub fn cast_f32_to(&self, to: DType) -> Option<Tensor> {
        let TensorData::F32(v) = &self.data else { return None };
        let data = match to {
            DType::F32 => TensorData::F32(v.clone()),
            DType::F64 => TensorData::F64(v.iter().map(|x| *x as f64).collect()),
            DType::F16 => TensorData::F16(v.iter().map(|x| f32_to_f16_bits(*x)).collect()),
            DType::BF16 => TensorData::BF16(v.iter().map(|x| f32_to_bf16_bits(*x)).collect()),
            _ => return None,
        };
        Some(Tensor { dims: self.dims.clone(), data })
    }
}

fn dims_invalid(dims: &[i64]) -> bool {
    dims.iter().any(|d| *d < 0)
}

/// Round an f32 to the nearest bfloat16 (ties to even), as bits.
pub fn f32_to_bf16_bits(x: f32) -> u16 {
    let bits = x.to_bits();
    if x.is_nan() {
        return ((bits >> 16) as u16) | 0x0040;
    }
    let round = 0x7fff + ((bits >> 16) & 1);
    ((bits + round) >> 16) as u16
}

/// Round an f32 to the nearest IEEE half (ties to even), as bits.
pub fn f32_to_f16_bits(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32;
    let mant = bits & 0x7f_ffff;
    if exp == 0xff {
        return sign | 0x7c00 | if mant != 0 { 0x200 } else { 0 };
    }
    let e = exp - 127 + 15;
    if e >= 0x1f {
        return sign | 0x7c00;
    }
    if e <= 0 {
        if e < -10 {
            return sign;
        }
        let m = mant | 0x80_0000;
        let shift = (14 - e) as u32;
        let half = 1u32 << (shift - 1);
        let rest = m & ((1u32 << shift) - 1);
        let mut v = m >> shift;
        if rest > half || (rest == half && (v & 1) == 1) {
            v += 1;
        }
        return sign | v as u16;
    }
    let mut v = ((e as u32) << 10) | (mant >> 13);
    let rest = mant & 0x1fff;
    if rest > 0x1000 || (rest == 0x1000 && (v & 1) == 1) {
        v += 1;
    }
    sign | v as u16
}

/// Widen IEEE half bits to f32.
pub fn f16_bits_to_f32(h: u16) -> f32 {
    let sign = ((h & 0x8000) as u32) << 16;
    let exp = ((h >> 10) & 0x1f) as u32;
    let mant = (h & 0x3ff) as u32;
    let bits = match (exp, mant) {
        (0, 0) => sign,
        (0, m) => {
            let mut e = 127 - 15 + 1;
            let mut m = m;
            while m & 0x400 == 0 {
                m <<= 1;
                e -= 1;
            }
            sign | ((e as u32) << 23) | ((m & 0x3ff) << 13)
        }
        (0x1f, m) => sign | 0x7f80_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_round_trips_and_rounds_to_even() {
        for x in [0.0f32, 1.0, -2.5, 65504.0, 6.1035156e-5, 5.9604645e-8, 0.1, 1234.567] {
            let h = f32_to_f16_bits(x);
            let back = f16_bits_to_f32(h);
            assert!((back - x).abs() <= x.abs() * 1e-3 + 6e-8, "{x} -> {back}");
        }
        assert_eq!(f32_to_f16_bits(1.0), 0x3c00);
        assert_eq!(f32_to_f16_bits(70000.0), 0x7c00);
        // 1 + 2^-11 is a tie between 1 and 1+2^-10: rounds to even (1.0).
        assert_eq!(f32_to_f16_bits(1.0 + 2f32.powi(-11)), 0x3c00);
        assert_eq!(f32_to_bf16_bits(1.0), 0x3f80);
    }

    #[test]
    fn new_checks_element_count() {
        assert!(Tensor::f32(vec![2, 3], vec![0.0; 5]).is_err());
        assert!(Tensor::f32(vec![2, 3], vec![0.0; 6]).is_ok());
    }
}
