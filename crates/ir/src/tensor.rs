//! Constant tensors (initializers and `value` attributes).
//!
//! Types rotor computes with hold typed vectors; every other element type is kept as the raw
//! little-endian bytes ONNX defines for it ([`TensorData::Raw`]), strings as byte strings, and
//! weights stored outside the model as a window of a mapped file ([`TensorData::External`]),
//! read only when someone asks for the values.

use std::borrow::Cow;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

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
    /// Little-endian bytes of a type rotor does no math on (sub-byte types packed as ONNX packs them).
    Raw(Vec<u8>),
    /// Byte strings (`STRING` tensors).
    Strings(Vec<Vec<u8>>),
    /// Bytes in a file beside the model, read through one mapping per file.
    External(ExternalData),
}

/// A file that external tensor data is read from (implemented by `rotor-export` over a mapping).
pub trait ExternalSource: Send + Sync + fmt::Debug {
    /// The `location` the model wrote (relative to its folder).
    fn location(&self) -> &str;
    /// The file on disk.
    fn path(&self) -> &Path;
    /// `length` bytes at `offset`.
    fn bytes(&self, offset: u64, length: u64) -> Result<&[u8], String>;
}

/// A window of an external data file.
#[derive(Clone, Debug)]
pub struct ExternalData {
    /// The file.
    pub source: Arc<dyn ExternalSource>,
    /// Byte offset of the tensor in the file.
    pub offset: u64,
    /// Byte length of the tensor.
    pub length: u64,
}

impl ExternalData {
    /// The bytes (through the file's mapping; nothing is copied).
    pub fn bytes(&self) -> Result<&[u8], String> {
        self.source.bytes(self.offset, self.length)
    }
}

impl PartialEq for ExternalData {
    fn eq(&self, other: &ExternalData) -> bool {
        (Arc::ptr_eq(&self.source, &other.source) && self.offset == other.offset && self.length == other.length)
            || matches!((self.bytes(), other.bytes()), (Ok(a), Ok(b)) if a == b)
    }
}

/// A constant tensor with a fixed shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    dims: Vec<i64>,
    dtype: DType,
    numel: u64,
    data: TensorData,
}

/// Element count of `dims`: an error for negative dims or a product past `u64`.
pub fn element_count(dims: &[i64]) -> Result<u64, String> {
    dims.iter().try_fold(1u64, |acc, d| {
        let d = u64::try_from(*d).map_err(|_| format!("dims {dims:?} have a negative entry"))?;
        acc.checked_mul(d).ok_or_else(|| format!("dims {dims:?} hold more elements than fit in 64 bits"))
    })
}

fn typed_len(data: &TensorData) -> Option<usize> {
    Some(match data {
        TensorData::F32(v) => v.len(),
        TensorData::F64(v) => v.len(),
        TensorData::F16(v) | TensorData::BF16(v) => v.len(),
        TensorData::I64(v) => v.len(),
        TensorData::I32(v) => v.len(),
        TensorData::Bool(v) => v.len(),
        TensorData::Strings(v) => v.len(),
        TensorData::Raw(_) | TensorData::External(_) => return None,
    })
}

fn typed_dtype(data: &TensorData) -> Option<DType> {
    Some(match data {
        TensorData::F32(_) => DType::F32,
        TensorData::F64(_) => DType::F64,
        TensorData::F16(_) => DType::F16,
        TensorData::BF16(_) => DType::BF16,
        TensorData::I64(_) => DType::I64,
        TensorData::I32(_) => DType::I32,
        TensorData::Bool(_) => DType::Bool,
        TensorData::Strings(_) => DType::Str,
        TensorData::Raw(_) | TensorData::External(_) => return None,
    })
}

impl Tensor {
    /// A tensor from typed data and dims. Fails when the element count does not match the dims
    /// (or for `Raw`/`External` data, which need a type: see [`Tensor::from_bytes`], [`Tensor::external`]).
    pub fn new(dims: Vec<i64>, data: TensorData) -> Result<Tensor, String> {
        let numel = element_count(&dims)?;
        let dtype = typed_dtype(&data).ok_or("raw and external data need an element type: use Tensor::from_bytes / Tensor::external")?;
        let len = typed_len(&data).unwrap_or(0);
        if numel != len as u64 {
            return Err(format!("tensor of dims {dims:?} needs {numel} elements, got {len}"));
        }
        Ok(Tensor { dims, dtype, numel, data })
    }

    /// A tensor of any fixed-width type from its little-endian bytes (`raw_data`): typed for
    /// the types rotor computes with, kept as bytes otherwise. The byte count must match.
    pub fn from_bytes(dtype: DType, dims: Vec<i64>, bytes: &[u8]) -> Result<Tensor, String> {
        let numel = element_count(&dims)?;
        let want = dtype.packed_bytes(numel).ok_or_else(|| format!("element type {dtype} has no fixed-width byte form"))?;
        if bytes.len() as u64 != want {
            return Err(format!("{dtype} tensor of dims {dims:?} needs {want} bytes of data, got {}", bytes.len()));
        }
        if dtype.is_computable() {
            return Tensor::from_le_bytes(dtype, dims, bytes);
        }
        Ok(Tensor { dims, dtype, numel, data: TensorData::Raw(bytes.to_vec()) })
    }

    /// A tensor whose bytes live in an external file; the window must have the right size.
    pub fn external(dtype: DType, dims: Vec<i64>, data: ExternalData) -> Result<Tensor, String> {
        let numel = element_count(&dims)?;
        let want = dtype.packed_bytes(numel).ok_or_else(|| format!("element type {dtype} cannot be stored as external data"))?;
        if data.length != want {
            return Err(format!("{dtype} tensor of dims {dims:?} needs {want} bytes, the external data has {}", data.length));
        }
        Ok(Tensor { dims, dtype, numel, data: TensorData::External(data) })
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
        Tensor { dims: vec![], dtype: DType::I64, numel: 1, data: TensorData::I64(vec![v]) }
    }

    /// A rank-0 f32 tensor.
    pub fn scalar_f32(v: f32) -> Tensor {
        Tensor { dims: vec![], dtype: DType::F32, numel: 1, data: TensorData::F32(vec![v]) }
    }

    /// A rank-1 i64 tensor.
    pub fn vec_i64(v: &[i64]) -> Tensor {
        Tensor { dims: vec![v.len() as i64], dtype: DType::I64, numel: v.len() as u64, data: TensorData::I64(v.to_vec()) }
    }

    /// Element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Dimensions.
    pub fn dims(&self) -> &[i64] {
        &self.dims
    }

    /// Elements as stored (typed, raw bytes, strings or an external window).
    pub fn data(&self) -> &TensorData {
        &self.data
    }

    /// True when the data lives in an external file.
    pub fn is_external(&self) -> bool {
        matches!(self.data, TensorData::External(_))
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        usize::try_from(self.numel).unwrap_or(usize::MAX)
    }

    /// True when the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.numel == 0
    }

    /// Size of the data in bytes (`raw_data` form; strings: their total length).
    pub fn byte_len(&self) -> u64 {
        match &self.data {
            TensorData::Strings(v) => v.iter().map(|s| s.len() as u64).sum(),
            TensorData::External(e) => e.length,
            TensorData::Raw(b) => b.len() as u64,
            _ => self.dtype.packed_bytes(self.numel).unwrap_or(0),
        }
    }

    /// The tensor with external data read into memory as typed data (a borrow when it is not
    /// external). Types rotor does no math on stay raw bytes.
    pub fn resolved(&self) -> Result<Cow<'_, Tensor>, String> {
        match &self.data {
            TensorData::External(e) => Ok(Cow::Owned(Tensor::from_bytes(self.dtype, self.dims.clone(), e.bytes()?)?)),
            _ => Ok(Cow::Borrowed(self)),
        }
    }

    /// Integer elements widened to i64 (for shape-like constants).
    pub fn as_i64s(&self) -> Option<Vec<i64>> {
        match &self.data {
            TensorData::I64(v) => Some(v.clone()),
            TensorData::I32(v) => Some(v.iter().map(|x| *x as i64).collect()),
            TensorData::External(_) if self.dtype.is_int() => self.resolved().ok()?.as_i64s(),
            _ => None,
        }
    }

    /// The elements of a small tensor (at most 64) as known sizes for shape inference:
    /// integers, and floats that hold exact integers below 2^24 (`0.0`, `1.0` of an `arange`).
    pub fn small_values(&self) -> Option<Vec<crate::Dim>> {
        if self.len() > 64 {
            return None;
        }
        if let Some(v) = self.as_i64s() {
            return Some(v.into_iter().map(crate::Dim::Fixed).collect());
        }
        if !matches!(self.dtype, DType::F32 | DType::F64) {
            return None;
        }
        self.values_f64().into_iter().map(|x| (x.fract() == 0.0 && x.abs() < 16_777_216.0).then_some(crate::Dim::Fixed(x as i64))).collect()
    }

    /// Little-endian raw bytes, as ONNX `raw_data` stores them (`None` for string tensors and
    /// unreadable external data).
    pub fn raw_bytes(&self) -> Option<Cow<'_, [u8]>> {
        let mut out = Vec::with_capacity(self.byte_len() as usize);
        match &self.data {
            TensorData::F32(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            TensorData::F64(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            TensorData::F16(v) | TensorData::BF16(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            TensorData::I64(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            TensorData::I32(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            TensorData::Bool(v) => v.iter().for_each(|x| out.push(u8::from(*x))),
            TensorData::Raw(b) => return Some(Cow::Borrowed(b)),
            TensorData::External(e) => return e.bytes().ok().map(Cow::Borrowed),
            TensorData::Strings(_) => return None,
        }
        Some(Cow::Owned(out))
    }

    /// Little-endian raw bytes (empty for string tensors and unreadable external data).
    pub fn to_le_bytes(&self) -> Vec<u8> {
        self.raw_bytes().map(Cow::into_owned).unwrap_or_default()
    }

    /// Parse little-endian raw bytes of a type rotor computes with.
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
            other => return Tensor::from_bytes(other, dims, bytes),
        };
        Tensor::new(dims, data)
    }

    /// Elements as f64 (for printing); integers and bools are widened. Empty for types rotor
    /// does no math on.
    pub fn values_f64(&self) -> Vec<f64> {
        match &self.data {
            TensorData::F32(v) => v.iter().map(|x| *x as f64).collect(),
            TensorData::F64(v) => v.clone(),
            TensorData::F16(v) => v.iter().map(|x| f16_bits_to_f32(*x) as f64).collect(),
            TensorData::BF16(v) => v.iter().map(|x| f32::from_bits((*x as u32) << 16) as f64).collect(),
            TensorData::I64(v) => v.iter().map(|x| *x as f64).collect(),
            TensorData::I32(v) => v.iter().map(|x| *x as f64).collect(),
            TensorData::Bool(v) => v.iter().map(|x| f64::from(u8::from(*x))).collect(),
            TensorData::External(_) if self.dtype.is_computable() => self.resolved().map(|t| t.values_f64()).unwrap_or_default(),
            TensorData::Raw(_) | TensorData::Strings(_) | TensorData::External(_) => Vec::new(),
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
        Some(Tensor { dims: self.dims.clone(), dtype: to, numel: self.numel, data })
    }
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
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed expectation panics, which is how a test fails")]
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
        assert!(Tensor::f32(vec![-1, 3], vec![]).is_err());
        assert!(Tensor::f32(vec![i64::MAX, i64::MAX], vec![]).is_err());
    }

    #[test]
    fn raw_types_check_their_byte_count() {
        let t = Tensor::from_bytes(DType::U8, vec![3], &[1, 2, 3]).expect("u8");
        assert_eq!(t.raw_bytes().as_deref(), Some(&[1u8, 2, 3][..]));
        assert!(Tensor::from_bytes(DType::U8, vec![4], &[1, 2, 3]).is_err());
        // int4: 3 elements pack into 2 bytes
        assert!(Tensor::from_bytes(DType::I4, vec![3], &[0x21, 0x03]).is_ok());
        assert!(Tensor::from_bytes(DType::Str, vec![1], &[0]).is_err());
        let f = Tensor::from_bytes(DType::F32, vec![1], &1.5f32.to_le_bytes()).expect("f32");
        assert_eq!(f.data(), &TensorData::F32(vec![1.5]));
    }
}
