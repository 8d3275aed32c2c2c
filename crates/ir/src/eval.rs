//! Exact evaluation of ops over constant inputs: the values (`Arr`) the op registry's
//! [`crate::ops::OpDef::eval`] computes with, and the data movement every op shares (broadcast,
//! gather by index). Floats are held as f64 and rounded once to the output type, so an op whose
//! f64 result rounds to the f32 a runtime computes (+, −, ×, ÷, √, data movement) is exact.

use crate::{DType, Node, Tensor, TensorData};

/// Element values of an [`Arr`].
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    /// Floats (float32/float64 elements, held as f64).
    F(Vec<f64>),
    /// Integers (int64/int32 elements).
    I(Vec<i64>),
    /// Booleans.
    B(Vec<bool>),
}

/// One element of [`Data`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar {
    F(f64),
    I(i64),
    B(bool),
}

/// A constant tensor being evaluated: element type, dims, values (row-major).
#[derive(Clone, Debug, PartialEq)]
pub struct Arr {
    pub dtype: DType,
    pub dims: Vec<usize>,
    pub data: Data,
}

impl Arr {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.dims.iter().product()
    }

    /// True when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes the array takes in its element type.
    pub fn bytes(&self) -> u64 {
        (self.len() * self.dtype.size_of().max(1)) as u64
    }

    /// The array of a tensor of a computable type (float32/64, int32/64, bool).
    pub fn from_tensor(t: &Tensor) -> Option<Arr> {
        let t = t.resolved().ok()?;
        let dims: Vec<usize> = t.dims().iter().map(|d| usize::try_from(*d).ok()).collect::<Option<_>>()?;
        let data = match t.data() {
            TensorData::F32(v) => Data::F(v.iter().map(|x| f64::from(*x)).collect()),
            TensorData::F64(v) => Data::F(v.clone()),
            TensorData::I64(v) => Data::I(v.clone()),
            TensorData::I32(v) => Data::I(v.iter().map(|x| i64::from(*x)).collect()),
            TensorData::Bool(v) => Data::B(v.clone()),
            _ => return None,
        };
        Some(Arr { dtype: t.dtype(), dims, data })
    }

    /// The tensor of this array (floats rounded once to float32 when that is the type).
    pub fn to_tensor(&self) -> Option<Tensor> {
        let dims: Vec<i64> = self.dims.iter().map(|d| *d as i64).collect();
        let data = match (&self.data, self.dtype) {
            (Data::F(v), DType::F32) => TensorData::F32(v.iter().map(|x| *x as f32).collect()),
            (Data::F(v), DType::F64) => TensorData::F64(v.clone()),
            (Data::I(v), DType::I64) => TensorData::I64(v.clone()),
            (Data::I(v), DType::I32) => TensorData::I32(v.iter().map(|x| i32::try_from(*x).ok()).collect::<Option<_>>()?),
            (Data::B(v), DType::Bool) => TensorData::Bool(v.clone()),
            _ => return None,
        };
        Tensor::new(dims, data).ok()
    }

    /// The elements, when they are integers.
    pub fn ints(&self) -> Option<&[i64]> {
        match &self.data {
            Data::I(v) => Some(v),
            _ => None,
        }
    }

    /// Element `i` as a [`Scalar`].
    pub fn at(&self, i: usize) -> Scalar {
        match &self.data {
            Data::F(v) => Scalar::F(v[i]),
            Data::I(v) => Scalar::I(v[i]),
            Data::B(v) => Scalar::B(v[i]),
        }
    }

    /// The index into an array of `dims` of the element at `flat` in the broadcast `out_dims`.
    pub fn index_of(dims: &[usize], out_dims: &[usize], flat: usize) -> usize {
        let mut rem = flat;
        let mut idx = 0;
        let mut stride = 1;
        let off = out_dims.len() - dims.len();
        let mut coords = vec![0usize; out_dims.len()];
        for a in (0..out_dims.len()).rev() {
            coords[a] = rem % out_dims[a];
            rem /= out_dims[a];
        }
        for a in (0..dims.len()).rev() {
            let c = if dims[a] == 1 { 0 } else { coords[a + off] };
            idx += c * stride;
            stride *= dims[a];
        }
        idx
    }
}

/// Numpy broadcast of static shapes.
pub fn broadcast(shapes: &[&[usize]]) -> Option<Vec<usize>> {
    let r = shapes.iter().map(|s| s.len()).max()?;
    let mut out = vec![1usize; r];
    for s in shapes {
        for (i, d) in s.iter().enumerate() {
            let o = &mut out[r - s.len() + i];
            if *o == 1 {
                *o = *d;
            } else if *d != 1 && *d != *o {
                return None;
            }
        }
    }
    Some(out)
}

/// Elements of `d` in the order `order` gives.
pub fn pick(d: &Data, order: &[usize]) -> Data {
    match d {
        Data::F(v) => Data::F(order.iter().map(|i| v[*i]).collect()),
        Data::I(v) => Data::I(order.iter().map(|i| v[*i]).collect()),
        Data::B(v) => Data::B(order.iter().map(|i| v[*i]).collect()),
    }
}

/// Data from scalars of one kind (`None` when they mix kinds); an empty list takes the kind of
/// `dtype`.
fn collect(v: Vec<Scalar>, dtype: DType) -> Option<Data> {
    let first = v.first().copied().unwrap_or(if dtype == DType::Bool {
        Scalar::B(false)
    } else if dtype.is_int() {
        Scalar::I(0)
    } else {
        Scalar::F(0.0)
    });
    match Some(first) {
        None | Some(Scalar::F(_)) => v.into_iter().map(|s| if let Scalar::F(x) = s { Some(x) } else { None }).collect::<Option<_>>().map(Data::F),
        Some(Scalar::I(_)) => v.into_iter().map(|s| if let Scalar::I(x) = s { Some(x) } else { None }).collect::<Option<_>>().map(Data::I),
        Some(Scalar::B(_)) => v.into_iter().map(|s| if let Scalar::B(x) = s { Some(x) } else { None }).collect::<Option<_>>().map(Data::B),
    }
}

/// `f` applied element-wise to `a` and `b` broadcast together; `None` when the shapes do not
/// broadcast or `f` declines an element (an overflow, a kind it does not take).
pub fn zip(a: &Arr, b: &Arr, out_dtype: DType, f: impl Fn(Scalar, Scalar) -> Option<Scalar>) -> Option<Arr> {
    let dims = broadcast(&[&a.dims, &b.dims])?;
    let n: usize = dims.iter().product();
    let v: Vec<Scalar> = (0..n).map(|i| f(a.at(Arr::index_of(&a.dims, &dims, i)), b.at(Arr::index_of(&b.dims, &dims, i)))).collect::<Option<_>>()?;
    Some(Arr { dtype: out_dtype, dims, data: collect(v, out_dtype)? })
}

/// `f` applied to each element of `a`, keeping its type and dims.
pub fn map(a: &Arr, f: impl Fn(Scalar) -> Option<Scalar>) -> Option<Arr> {
    let v: Vec<Scalar> = (0..a.len()).map(|i| f(a.at(i))).collect::<Option<_>>()?;
    Some(Arr { dtype: a.dtype, dims: a.dims.clone(), data: collect(v, a.dtype)? })
}

/// Gather rows of `a` along `axis` by `idx` (row-major); `idx_dims` replace the axis.
pub fn take(a: &Arr, axis: usize, idx: &[usize], idx_dims: &[usize]) -> Option<Arr> {
    let outer: usize = a.dims[..axis].iter().product();
    let inner: usize = a.dims[axis + 1..].iter().product();
    let d = a.dims[axis];
    let mut order = Vec::with_capacity(outer * idx.len() * inner);
    for o in 0..outer {
        for k in idx {
            if *k >= d {
                return None;
            }
            let base = (o * d + k) * inner;
            order.extend(base..base + inner);
        }
    }
    let mut dims = a.dims[..axis].to_vec();
    dims.extend_from_slice(idx_dims);
    dims.extend_from_slice(&a.dims[axis + 1..]);
    Some(Arr { dtype: a.dtype, dims, data: pick(&a.data, &order) })
}

/// Evaluate `n` over its inputs, as its op's registry entry defines (`None`: the op has no
/// exact evaluation, or not over these inputs).
pub fn evaluate(n: &Node, ins: &[Option<Arr>], out_dtype: DType) -> Option<Vec<Arr>> {
    crate::ops::lookup(&n.domain, &n.op_type)?.eval(n, ins, out_dtype)
}
