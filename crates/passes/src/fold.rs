//! Constant folding and shape-chain folding.
//!
//! Pattern:
//! ```text
//! v = Op(...)             an integer value whose elements inference knows as numbers
//!                         (Shape of static dims, Gather/Concat/Slice/arithmetic of them)
//!                         -> an initializer
//! v = Op(...), w = Op'(...)  two integer values inference knows as the same symbolic
//!                         elements ([batch, seq] twice) -> w reads v
//! v = Op(c1, .., cn)      every input constant, Op exact (below) -> an initializer
//! ```
//! Exact ops only, so a folded value is bit for bit what any runtime computes: shape and index
//! ops (Shape, Size, Reshape, Unsqueeze, Squeeze, Concat, Slice, Gather, Transpose, Expand,
//! Tile, ConstantOfShape, Identity), integer Range, casts between integer types and from
//! integers or float64 to float32, comparisons and boolean ops, Where, Neg/Abs, Add/Sub/Mul,
//! Div of floats and of non-negative integers, Sqrt (correctly rounded), Max/Min. Sin, Cos,
//! Pow, Exp and friends are left to the runtime: their last bit depends on the math library.
//! Size limit: a fold may add at most 64 KiB more than the constants it reads (a broadcast
//! table never blows the model up). float16/bfloat16 are not folded.

use std::collections::HashMap;

use rotor_builder::{Attr, DType, Dim, Graph, Node, NodeId, Tensor, TensorData, Value};

use crate::util::{attr_int, attr_ints, can_forward, constant, fresh_scope, is_onnx, label};
use crate::{Cx, Pass, PassError};

pub const NAME: &str = "fold_constants";
pub const SUMMARY: &str = "fold constant subgraphs (exact ops only, size-limited) and shape chains over symbolic dims";

/// Bytes a single fold may add beyond the constants it reads.
pub const GROWTH_LIMIT: u64 = 64 << 10;

/// The pass.
pub struct FoldConstants;

/// Ops [`eval`] computes exactly.
const EXACT_OPS: &[&str] = &[
    "Identity",
    "Neg",
    "Abs",
    "Sqrt",
    "Not",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Max",
    "Min",
    "Equal",
    "Less",
    "Greater",
    "LessOrEqual",
    "GreaterOrEqual",
    "And",
    "Or",
    "Xor",
    "Where",
    "Cast",
    "Shape",
    "Size",
    "Reshape",
    "Unsqueeze",
    "Squeeze",
    "Concat",
    "Gather",
    "Slice",
    "Transpose",
    "Expand",
    "Tile",
    "ConstantOfShape",
    "Range",
];

/// Values for evaluation.
#[derive(Clone, Debug)]
enum Data {
    F(Vec<f64>),
    I(Vec<i64>),
    B(Vec<bool>),
}

#[derive(Clone, Debug)]
struct Arr {
    dtype: DType,
    dims: Vec<usize>,
    data: Data,
}

impl Arr {
    fn len(&self) -> usize {
        self.dims.iter().product()
    }

    fn from_tensor(t: &Tensor) -> Option<Arr> {
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

    fn to_tensor(&self) -> Option<Tensor> {
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

    fn ints(&self) -> Option<&[i64]> {
        match &self.data {
            Data::I(v) => Some(v),
            _ => None,
        }
    }

    /// Element `i` of a row-major array, for broadcasting.
    fn index_of(dims: &[usize], out_dims: &[usize], flat: usize) -> usize {
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

fn broadcast(shapes: &[&[usize]]) -> Option<Vec<usize>> {
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

fn elementwise(op: &str, a: &Arr, b: &Arr, out_dtype: DType) -> Option<Arr> {
    let dims = broadcast(&[&a.dims, &b.dims])?;
    let n: usize = dims.iter().product();
    let ia = |i: usize| Arr::index_of(&a.dims, &dims, i);
    let ib = |i: usize| Arr::index_of(&b.dims, &dims, i);
    let data = match (&a.data, &b.data) {
        (Data::F(x), Data::F(y)) => {
            let f = |p: f64, q: f64| -> Option<f64> {
                Some(match op {
                    "Add" => p + q,
                    "Sub" => p - q,
                    "Mul" => p * q,
                    "Div" => p / q,
                    "Max" | "Min" if p.is_nan() || q.is_nan() => return None,
                    "Max" => p.max(q),
                    "Min" => p.min(q),
                    _ => return None,
                })
            };
            match op {
                "Equal" | "Less" | "Greater" | "LessOrEqual" | "GreaterOrEqual" => Data::B((0..n).map(|i| cmp(op, x[ia(i)], y[ib(i)])).collect()),
                _ => Data::F((0..n).map(|i| f(x[ia(i)], y[ib(i)])).collect::<Option<_>>()?),
            }
        }
        (Data::I(x), Data::I(y)) => {
            let f = |p: i64, q: i64| -> Option<i64> {
                match op {
                    "Add" => p.checked_add(q),
                    "Sub" => p.checked_sub(q),
                    "Mul" => p.checked_mul(q),
                    "Div" if p >= 0 && q > 0 => Some(p / q),
                    "Max" => Some(p.max(q)),
                    "Min" => Some(p.min(q)),
                    _ => None,
                }
            };
            match op {
                "Equal" | "Less" | "Greater" | "LessOrEqual" | "GreaterOrEqual" => {
                    Data::B((0..n).map(|i| cmp(op, x[ia(i)] as f64, y[ib(i)] as f64) && (op != "Equal" || x[ia(i)] == y[ib(i)])).collect())
                }
                _ => Data::I((0..n).map(|i| f(x[ia(i)], y[ib(i)])).collect::<Option<_>>()?),
            }
        }
        (Data::B(x), Data::B(y)) => Data::B(
            (0..n)
                .map(|i| {
                    let (p, q) = (x[ia(i)], y[ib(i)]);
                    match op {
                        "And" => Some(p && q),
                        "Or" => Some(p || q),
                        "Xor" => Some(p ^ q),
                        "Equal" => Some(p == q),
                        _ => None,
                    }
                })
                .collect::<Option<_>>()?,
        ),
        _ => return None,
    };
    Some(Arr { dtype: out_dtype, dims, data })
}

fn cmp(op: &str, p: f64, q: f64) -> bool {
    match op {
        "Equal" => p == q,
        "Less" => p < q,
        "Greater" => p > q,
        "LessOrEqual" => p <= q,
        _ => p >= q,
    }
}

/// Gather rows of `a` along `axis` by `idx` (row-major).
fn take(a: &Arr, axis: usize, idx: &[usize], idx_dims: &[usize]) -> Option<Arr> {
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

fn pick(d: &Data, order: &[usize]) -> Data {
    match d {
        Data::F(v) => Data::F(order.iter().map(|i| v[*i]).collect()),
        Data::I(v) => Data::I(order.iter().map(|i| v[*i]).collect()),
        Data::B(v) => Data::B(order.iter().map(|i| v[*i]).collect()),
    }
}

fn norm_axis(a: i64, r: usize) -> Option<usize> {
    crate::util::axis(a, r)
}

/// Evaluate one node over constant inputs (`None`: not an exact op, or not foldable here).
fn eval(n: &Node, ins: &[Option<Arr>], out_dtype: DType) -> Option<Vec<Arr>> {
    let x = || ins.first()?.as_ref();
    let arg = |i: usize| ins.get(i).and_then(Option::as_ref);
    let one = |a: Arr| Some(vec![a]);
    match n.op_type.as_str() {
        "Identity" => one(x()?.clone()),
        "Neg" | "Abs" => {
            let a = x()?;
            let data = match &a.data {
                Data::F(v) => Data::F(v.iter().map(|e| if n.op_type == "Neg" { -e } else { e.abs() }).collect()),
                Data::I(v) => Data::I(v.iter().map(|e| if n.op_type == "Neg" { e.checked_neg() } else { e.checked_abs() }).collect::<Option<_>>()?),
                Data::B(_) => return None,
            };
            one(Arr { data, ..a.clone() })
        }
        "Sqrt" => {
            let a = x()?;
            let Data::F(v) = &a.data else { return None };
            // sqrt is correctly rounded in f64, and f64 -> f32 rounding of it is exact for f32 inputs
            one(Arr { data: Data::F(v.iter().map(|e| if a.dtype == DType::F32 { f64::from((*e as f32).sqrt()) } else { e.sqrt() }).collect()), ..a.clone() })
        }
        "Not" => {
            let a = x()?;
            let Data::B(v) = &a.data else { return None };
            one(Arr { data: Data::B(v.iter().map(|e| !e).collect()), ..a.clone() })
        }
        op @ ("Add" | "Sub" | "Mul" | "Div" | "Max" | "Min" | "Equal" | "Less" | "Greater" | "LessOrEqual" | "GreaterOrEqual" | "And" | "Or" | "Xor") => {
            if ins.len() != 2 {
                return None;
            }
            let (a, b) = (arg(0)?, arg(1)?);
            let r = elementwise(op, a, b, out_dtype)?;
            // float32 results: each op is correctly rounded from the f64 value
            one(r)
        }
        "Where" => {
            let (c, a, b) = (arg(0)?, arg(1)?, arg(2)?);
            let Data::B(cv) = &c.data else { return None };
            let dims = broadcast(&[&c.dims, &a.dims, &b.dims])?;
            let len: usize = dims.iter().product();
            let order_a: Vec<usize> = (0..len).map(|i| Arr::index_of(&a.dims, &dims, i)).collect();
            let order_b: Vec<usize> = (0..len).map(|i| Arr::index_of(&b.dims, &dims, i)).collect();
            let pa = pick(&a.data, &order_a);
            let pb = pick(&b.data, &order_b);
            let cond: Vec<bool> = (0..len).map(|i| cv[Arr::index_of(&c.dims, &dims, i)]).collect();
            let data = match (pa, pb) {
                (Data::F(p), Data::F(q)) => Data::F(cond.iter().zip(p.iter().zip(q)).map(|(c, (p, q))| if *c { *p } else { q }).collect()),
                (Data::I(p), Data::I(q)) => Data::I(cond.iter().zip(p.iter().zip(q)).map(|(c, (p, q))| if *c { *p } else { q }).collect()),
                (Data::B(p), Data::B(q)) => Data::B(cond.iter().zip(p.iter().zip(q)).map(|(c, (p, q))| if *c { *p } else { q }).collect()),
                _ => return None,
            };
            one(Arr { dtype: a.dtype, dims, data })
        }
        "Cast" => {
            let a = x()?;
            let data = match (&a.data, out_dtype) {
                (Data::I(v), DType::I64 | DType::I32) => Data::I(v.clone()),
                (Data::I(v), DType::F32 | DType::F64) => Data::F(v.iter().map(|e| *e as f64).collect()),
                (Data::I(v), DType::Bool) => Data::B(v.iter().map(|e| *e != 0).collect()),
                (Data::B(v), DType::I64 | DType::I32) => Data::I(v.iter().map(|e| i64::from(*e)).collect()),
                (Data::B(v), DType::Bool) => Data::B(v.clone()),
                (Data::F(v), DType::F32) => Data::F(v.iter().map(|e| f64::from(*e as f32)).collect()),
                (Data::F(v), DType::F64) if a.dtype == DType::F64 || a.dtype == DType::F32 => Data::F(v.clone()),
                _ => return None,
            };
            // int64 -> float32 goes through f64: exact below 2^53, then one rounding to f32
            if let (Data::I(v), DType::F32) = (&a.data, out_dtype)
                && v.iter().any(|e| e.unsigned_abs() > (1 << 53))
            {
                return None;
            }
            one(Arr { dtype: out_dtype, dims: a.dims.clone(), data })
        }
        "Shape" => {
            let a = x()?;
            let r = a.dims.len() as i64;
            let clamp = |v: i64| if v < 0 { (v + r).max(0) } else { v.min(r) } as usize;
            let start = clamp(attr_int(n, "start", 0));
            let end = clamp(attr_int(n, "end", r));
            let dims: Vec<i64> = a.dims.get(start..end.max(start))?.iter().map(|d| *d as i64).collect();
            one(Arr { dtype: DType::I64, dims: vec![dims.len()], data: Data::I(dims) })
        }
        "Size" => {
            let a = x()?;
            one(Arr { dtype: DType::I64, dims: vec![], data: Data::I(vec![a.len() as i64]) })
        }
        "Reshape" => {
            let a = x()?;
            let s = arg(1)?.ints()?;
            let allowzero = attr_int(n, "allowzero", 0) != 0;
            let mut dims: Vec<i64> =
                s.iter().enumerate().map(|(i, d)| if *d == 0 && !allowzero { a.dims.get(i).map_or(-2, |x| *x as i64) } else { *d }).collect();
            let known: i64 = dims.iter().filter(|d| **d >= 0).product();
            let total = a.len() as i64;
            if let Some(p) = dims.iter().position(|d| *d == -1) {
                if known == 0 || total % known != 0 {
                    return None;
                }
                dims[p] = total / known;
            }
            let dims: Vec<usize> = dims.iter().map(|d| usize::try_from(*d).ok()).collect::<Option<_>>()?;
            (dims.iter().product::<usize>() == a.len()).then_some(())?;
            one(Arr { dims, ..a.clone() })
        }
        "Unsqueeze" | "Squeeze" => {
            let a = x()?;
            let axes: Vec<i64> = match arg(1) {
                Some(v) => v.ints()?.to_vec(),
                None => attr_ints(n, "axes").unwrap_or_default(),
            };
            let mut dims = a.dims.clone();
            if n.op_type == "Unsqueeze" {
                let r = dims.len() + axes.len();
                let mut ax: Vec<usize> = axes.iter().map(|v| norm_axis(*v, r)).collect::<Option<_>>()?;
                ax.sort_unstable();
                for v in ax {
                    dims.insert(v, 1);
                }
            } else {
                let r = dims.len();
                let ax: Vec<usize> =
                    if axes.is_empty() { (0..r).filter(|i| dims[*i] == 1).collect() } else { axes.iter().map(|v| norm_axis(*v, r)).collect::<Option<_>>()? };
                if ax.iter().any(|i| dims[*i] != 1) {
                    return None;
                }
                dims = dims.iter().enumerate().filter(|(i, _)| !ax.contains(i)).map(|(_, d)| *d).collect();
            }
            one(Arr { dims, ..a.clone() })
        }
        "Concat" => {
            let parts: Vec<&Arr> = ins.iter().map(Option::as_ref).collect::<Option<_>>()?;
            let first = parts.first()?;
            let r = first.dims.len();
            let ax = norm_axis(attr_int(n, "axis", 0), r)?;
            let outer: usize = first.dims[..ax].iter().product();
            let mut order_parts: Vec<Data> = Vec::new();
            let mut dims = first.dims.clone();
            dims[ax] = parts.iter().map(|p| p.dims.get(ax).copied()).sum::<Option<usize>>()?;
            let mut out: Option<Data> = None;
            for o in 0..outer {
                for p in &parts {
                    if p.dims.len() != r || (0..r).any(|i| i != ax && p.dims[i] != first.dims[i]) {
                        return None;
                    }
                    let inner: usize = p.dims[ax..].iter().product();
                    order_parts.push(pick(&p.data, &(o * inner..(o + 1) * inner).collect::<Vec<_>>()));
                }
            }
            for d in order_parts {
                out = Some(match (out, d) {
                    (None, d) => d,
                    (Some(Data::F(mut a)), Data::F(b)) => {
                        a.extend(b);
                        Data::F(a)
                    }
                    (Some(Data::I(mut a)), Data::I(b)) => {
                        a.extend(b);
                        Data::I(a)
                    }
                    (Some(Data::B(mut a)), Data::B(b)) => {
                        a.extend(b);
                        Data::B(a)
                    }
                    _ => return None,
                });
            }
            one(Arr { dtype: first.dtype, dims, data: out.unwrap_or(Data::I(Vec::new())) })
        }
        "Gather" => {
            let (a, idx) = (x()?, arg(1)?);
            let ax = norm_axis(attr_int(n, "axis", 0), a.dims.len())?;
            let d = a.dims[ax] as i64;
            let ids: Vec<usize> = idx.ints()?.iter().map(|i| usize::try_from(if *i < 0 { i + d } else { *i }).ok()).collect::<Option<_>>()?;
            one(take(a, ax, &ids, &idx.dims)?)
        }
        "Slice" => {
            let a = x()?;
            let starts = arg(1)?.ints()?;
            let ends = arg(2)?.ints()?;
            let r = a.dims.len();
            let axes: Vec<i64> = match arg(3) {
                Some(v) => v.ints()?.to_vec(),
                None => (0..starts.len() as i64).collect(),
            };
            let steps: Vec<i64> = match arg(4) {
                Some(v) => v.ints()?.to_vec(),
                None => vec![1; starts.len()],
            };
            let mut cur = a.clone();
            for (i, start) in starts.iter().enumerate() {
                let ax = norm_axis(*axes.get(i)?, r)?;
                let d = cur.dims[ax] as i64;
                let step = *steps.get(i)?;
                if step == 0 {
                    return None;
                }
                let norm = |v: i64| if v < 0 { v.saturating_add(d) } else { v };
                let mut keep = Vec::new();
                if step > 0 {
                    let (mut k, e) = (norm(*start).clamp(0, d), norm(*ends.get(i)?).clamp(0, d));
                    while k < e {
                        keep.push(k as usize);
                        k += step;
                    }
                } else {
                    let (mut k, e) = (norm(*start).clamp(-1, d - 1), norm(*ends.get(i)?).clamp(-1, d - 1));
                    while k > e {
                        keep.push(k as usize);
                        k += step;
                    }
                }
                let len = keep.len();
                cur = take(&cur, ax, &keep, &[len])?;
            }
            one(cur)
        }
        "Transpose" => {
            let a = x()?;
            let r = a.dims.len();
            let perm: Vec<usize> = match attr_ints(n, "perm") {
                Some(p) => p.iter().map(|v| usize::try_from(*v).ok()).collect::<Option<_>>()?,
                None => (0..r).rev().collect(),
            };
            if perm.len() != r {
                return None;
            }
            let dims: Vec<usize> = perm.iter().map(|p| a.dims.get(*p).copied()).collect::<Option<_>>()?;
            let mut strides = vec![1usize; r];
            for i in (0..r.saturating_sub(1)).rev() {
                strides[i] = strides[i + 1] * a.dims[i + 1];
            }
            let len = a.len();
            let order: Vec<usize> = (0..len)
                .map(|flat| {
                    let mut rem = flat;
                    let mut src = 0;
                    for o in (0..r).rev() {
                        src += (rem % dims[o]) * strides[perm[o]];
                        rem /= dims[o];
                    }
                    src
                })
                .collect();
            one(Arr { dtype: a.dtype, dims, data: pick(&a.data, &order) })
        }
        "Expand" => {
            let a = x()?;
            let s: Vec<usize> = arg(1)?.ints()?.iter().map(|v| usize::try_from(*v).ok()).collect::<Option<_>>()?;
            let dims = broadcast(&[&a.dims, &s])?;
            let len: usize = dims.iter().product();
            let order: Vec<usize> = (0..len).map(|i| Arr::index_of(&a.dims, &dims, i)).collect();
            one(Arr { dtype: a.dtype, dims, data: pick(&a.data, &order) })
        }
        "Tile" => {
            let a = x()?;
            let reps: Vec<usize> = arg(1)?.ints()?.iter().map(|v| usize::try_from(*v).ok()).collect::<Option<_>>()?;
            if reps.len() != a.dims.len() {
                return None;
            }
            let dims: Vec<usize> = a.dims.iter().zip(&reps).map(|(d, k)| d * k).collect();
            let len: usize = dims.iter().product();
            let order: Vec<usize> = (0..len)
                .map(|flat| {
                    let mut rem = flat;
                    let (mut src, mut stride) = (0, 1);
                    for o in (0..dims.len()).rev() {
                        let c = rem % dims[o];
                        rem /= dims[o];
                        src += (c % a.dims[o]) * stride;
                        stride *= a.dims[o];
                    }
                    src
                })
                .collect();
            one(Arr { dtype: a.dtype, dims, data: pick(&a.data, &order) })
        }
        "ConstantOfShape" => {
            let s: Vec<usize> = x()?.ints()?.iter().map(|v| usize::try_from(*v).ok()).collect::<Option<_>>()?;
            let len: usize = s.iter().product();
            let fill = match n.attr("value") {
                Some(Attr::Tensor(t)) => Arr::from_tensor(t)?,
                None => Arr { dtype: DType::F32, dims: vec![1], data: Data::F(vec![0.0]) },
                _ => return None,
            };
            let data = pick(&fill.data, &vec![0; len]);
            one(Arr { dtype: fill.dtype, dims: s, data })
        }
        "Range" => {
            let (s, l, d) = (arg(0)?.ints()?, arg(1)?.ints()?, arg(2)?.ints()?);
            let (s, l, d) = (*s.first()?, *l.first()?, *d.first()?);
            if d == 0 {
                return None;
            }
            let count = ((l - s) as f64 / d as f64).ceil().max(0.0) as usize;
            let v: Vec<i64> = (0..count as i64).map(|i| s + i * d).collect();
            one(Arr { dtype: arg(0)?.dtype, dims: vec![v.len()], data: Data::I(v) })
        }
        _ => None,
    }
}

fn bytes_of(a: &Arr) -> u64 {
    (a.len() * a.dtype.size_of().max(1)) as u64
}

impl Pass for FoldConstants {
    fn name(&self) -> &'static str {
        NAME
    }

    fn run(&self, g: &mut Graph, cx: &mut Cx) -> Result<usize, PassError> {
        let ids: Vec<NodeId> = g.nodes().iter().map(|n| n.id).collect();
        let mut done = 0;
        let mut seen_sym: HashMap<String, Value> = HashMap::new();
        for id in ids {
            let Some(n) = g.node(id) else { continue };
            if !is_onnx(n) || !n.subgraphs().is_empty() || n.op_type == "Constant" {
                continue;
            }
            let name = label(g, n);
            let outs: Vec<Value> = n.output_values().collect();
            // 1. integer values inference knows: numbers -> constants; symbols -> shared
            let mut known = Vec::new();
            for v in &outs {
                let info = g.info(*v);
                let (Some(sym), Some(shape)) = (&info.sym_value, &info.shape) else { continue };
                if !info.dtype.is_int() || shape.len() > 1 || sym.len() != shape.first().and_then(Dim::fixed).map_or(1, |d| d as usize) {
                    continue;
                }
                if let Some(vals) = sym.iter().map(Dim::fixed).collect::<Option<Vec<i64>>>() {
                    let dims: Vec<i64> = shape.iter().map(|d| d.fixed().unwrap_or(1)).collect();
                    let t = Arr { dtype: info.dtype, dims: dims.iter().map(|d| *d as usize).collect(), data: Data::I(vals) }.to_tensor();
                    known.push((*v, t));
                } else if !sym.iter().any(|d| matches!(d, Dim::Unknown)) {
                    let key = format!("{}:{:?}:{}", info.dtype, shape, sym.iter().map(Dim::to_string).collect::<Vec<_>>().join(","));
                    match seen_sym.get(&key) {
                        Some(first) if can_forward(g, *v, *first) => {
                            g.replace_all_uses(*v, *first).map_err(|e| cx.build_error(e))?;
                            done += 1;
                        }
                        Some(_) => {}
                        None => {
                            seen_sym.insert(key, *v);
                        }
                    }
                }
            }
            // 2. every input constant: evaluate exact ops
            if known.is_empty()
                && let Some(n) = g.node(id)
                && EXACT_OPS.contains(&n.op_type.as_str())
                && n.inputs.iter().flatten().all(|v| constant(g, *v).is_some_and(|t| t.len() <= 1 << 20))
            {
                let ins: Vec<Option<Arr>> = n
                    .inputs
                    .iter()
                    .map(|i| i.and_then(|v| constant(g, v)).and_then(|t| if t.len() <= 1 << 20 { Arr::from_tensor(&t) } else { None }))
                    .collect();
                let all_const = !n.inputs.is_empty() && n.inputs.iter().zip(&ins).all(|(i, a)| i.is_none() || a.is_some());
                if all_const && outs.len() == 1 && !matches!(g.dtype(outs[0]), DType::F16 | DType::BF16) {
                    let in_bytes: u64 = ins.iter().flatten().map(bytes_of).sum();
                    if let Some(res) = eval(n, &ins, g.dtype(outs[0])) {
                        let out_bytes: u64 = res.iter().map(bytes_of).sum();
                        if out_bytes > in_bytes + GROWTH_LIMIT {
                            cx.reject(&name, format!("folding would add {out_bytes} bytes (limit: inputs + {GROWTH_LIMIT})"));
                        } else if let Some(t) = res.first().and_then(Arr::to_tensor) {
                            known.push((outs[0], Some(t)));
                        }
                    }
                }
            }
            for (v, t) in known {
                let Some(t) = t else { continue };
                if g.is_output(v) || g.uses(v).is_empty() {
                    continue; // an initializer cannot take over a graph output's name here
                }
                let scope = fresh_scope(g, &format!("{}_folded", g.value_name(v)));
                let c = g.constant_raw(&scope, t).map_err(|e| cx.build_error(e))?;
                g.replace_all_uses(v, c).map_err(|e| cx.build_error(e))?;
                done += 1;
            }
        }
        Ok(done)
    }
}
