//! Shape ops: `Shape`, `Reshape`, `(Un)Squeeze`, `Concat`, `Slice`, `Gather`, `Transpose`,
//! `Expand`, `Range`, `ConstantOfShape`, `Pad`, `Split`, `Tile`. Shape tensors carry symbolic
//! values, so e.g. `Range(0, Squeeze(Shape(x)[2]))` has the inferred shape `[N]`.

use super::{InferCtx, InferResult, Inferred, fixed_values, known_shape, norm_axis, want_int};
use crate::attrs;
use crate::dim::{Dim, shape_text};
use crate::dtype::DType;
use crate::error::{BuildError, InferError};
use crate::graph::{Attr, Graph, Value};
use crate::tensor::Tensor;

/// Slice ends at or beyond this magnitude mean "to the end" (ONNX uses INT64_MAX/MIN).
const BIG: i64 = i64::MAX / 2;

/// Ranks above this are treated as unknown when they come from a (possibly hostile) declared
/// dimension, so that no inference allocates per declared rank.
const MAX_RANK: i64 = 64;

pub(super) fn infer_shape(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "data")?;
    let Some(s) = known_shape(x) else { return Ok(vec![Inferred::rankless(DType::I64)]) };
    let r = s.len() as i64;
    let clamp = |v: i64| -> usize { (if v < 0 { v + r } else { v }).clamp(0, r) as usize };
    let start = clamp(ctx.attr_int("start")?.unwrap_or(0));
    let end = clamp(ctx.attr_int("end")?.unwrap_or(r));
    let dims: Vec<Dim> = if start < end { s[start..end].to_vec() } else { vec![] };
    Ok(vec![Inferred::new(DType::I64, vec![Dim::Fixed(dims.len() as i64)]).with_value(Some(dims))])
}

pub(super) fn infer_size(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "data")?;
    let v = known_shape(x).map(|s| vec![s.iter().fold(Dim::Fixed(1), |acc, d| acc.mul(d))]);
    Ok(vec![Inferred::new(DType::I64, vec![]).with_value(v)])
}

pub(super) fn infer_reshape(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "data")?;
    let shape = ctx.input(1, "shape")?;
    want_int(shape, 1)?;
    let allowzero = ctx.attr_int("allowzero")?.unwrap_or(0) != 0;
    let Some(target) = &shape.sym_value else {
        let rank = shape.shape.as_ref().and_then(|s| s.first()).and_then(Dim::fixed);
        return Ok(vec![match rank {
            Some(r) if (0..=MAX_RANK).contains(&r) => Inferred::new(x.dtype, vec![Dim::Unknown; r as usize]),
            _ => Inferred::rankless(x.dtype),
        }]);
    };
    let input = known_shape(x);
    let mut out: Vec<Dim> = Vec::with_capacity(target.len());
    let mut infer_at = None;
    for (i, d) in target.iter().enumerate() {
        match d.fixed() {
            Some(0) if !allowzero => out.push(input.and_then(|s| s.get(i).cloned()).unwrap_or(Dim::Unknown)),
            Some(-1) => {
                if infer_at.replace(i).is_some() {
                    return Err(InferError::Invalid("shape has more than one -1".into()));
                }
                out.push(Dim::Unknown);
            }
            Some(v) if v < -1 => return Err(InferError::Invalid(format!("shape entry {v} is invalid"))),
            _ => out.push(d.clone()),
        }
    }
    if let (Some(i), Some(input)) = (infer_at, input) {
        // Cancel dims common to input and output, divide what is left by fixed output dims.
        let mut rest: Vec<Dim> = input.to_vec();
        let mut divisor = 1i64;
        let mut ok = true;
        for (j, d) in out.iter().enumerate() {
            if j == i {
                continue;
            }
            if let Some(pos) = rest.iter().position(|r| r == d) {
                rest.remove(pos);
            } else if let Some(k) = d.fixed() {
                divisor = divisor.checked_mul(k).ok_or_else(|| InferError::Invalid(format!("shape {} overflows", shape_text(target))))?;
            } else {
                ok = false;
            }
        }
        if ok {
            let prod = rest.iter().fold(Dim::Fixed(1), |acc, d| acc.mul(d));
            out[i] = match prod.fixed() {
                Some(p) if divisor != 0 && p % divisor != 0 => {
                    return Err(InferError::Invalid(format!("cannot reshape {} into {}", shape_text(input), shape_text(target))));
                }
                _ => prod.div_floor(divisor),
            };
        }
    }
    if let (Some(input), true) = (input, out.iter().all(|d| d.fixed().is_some()))
        && input.iter().all(|d| d.fixed().is_some())
    {
        let product = |s: &[Dim]| s.iter().filter_map(Dim::fixed).try_fold(1i64, i64::checked_mul);
        let (Some(a), Some(b)) = (product(input), product(&out)) else {
            return Err(InferError::Invalid(format!("cannot reshape {} into {}: element counts overflow", shape_text(input), shape_text(&out))));
        };
        if a != b {
            return Err(InferError::Invalid(format!("cannot reshape {} ({a} elements) into {}", shape_text(input), shape_text(&out))));
        }
    }
    Ok(vec![Inferred::new(x.dtype, out).with_value(x.sym_value.clone())])
}

fn axes_input_or_attr(ctx: &InferCtx, index: usize) -> Result<Option<Vec<i64>>, InferError> {
    if let Some(a) = ctx.opt_input(index) {
        return fixed_values(a).map(Some).ok_or(InferError::Invalid("axes must be a constant".into()));
    }
    ctx.attr_ints("axes")
}

pub(super) fn infer_squeeze(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "data")?;
    let Some(s) = known_shape(x) else { return Ok(vec![Inferred::rankless(x.dtype)]) };
    let axes = axes_input_or_attr(ctx, 1)?;
    let drop: Vec<usize> = match axes {
        Some(a) => a.iter().map(|ax| norm_axis(*ax, s.len(), "axes")).collect::<Result<_, _>>()?,
        None => s.iter().enumerate().filter(|(_, d)| d.fixed() == Some(1)).map(|(i, _)| i).collect(),
    };
    for &i in &drop {
        if let Some(k) = s[i].fixed().filter(|k| *k != 1) {
            return Err(InferError::Invalid(format!("cannot squeeze axis {i} of size {k}")));
        }
    }
    let out: Vec<Dim> = s.iter().enumerate().filter(|(i, _)| !drop.contains(i)).map(|(_, d)| d.clone()).collect();
    Ok(vec![Inferred::new(x.dtype, out).with_value(x.sym_value.clone())])
}

pub(super) fn infer_unsqueeze(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "data")?;
    let Some(s) = known_shape(x) else { return Ok(vec![Inferred::rankless(x.dtype)]) };
    let axes = axes_input_or_attr(ctx, 1)?.ok_or(InferError::MissingInput { index: 1, what: "axes" })?;
    let rank = s.len() + axes.len();
    let mut at: Vec<usize> = axes.iter().map(|a| norm_axis(*a, rank, "axes")).collect::<Result<_, _>>()?;
    at.sort_unstable();
    let mut out = Vec::with_capacity(rank);
    let mut src = s.iter();
    for i in 0..rank {
        if at.contains(&i) {
            out.push(Dim::Fixed(1));
        } else if let Some(d) = src.next() {
            out.push(d.clone());
        }
    }
    Ok(vec![Inferred::new(x.dtype, out).with_value(x.sym_value.clone())])
}

pub(super) fn infer_concat(ctx: &InferCtx) -> InferResult {
    let axis = ctx.attr_int("axis")?.ok_or(InferError::Attr { name: "axis".into(), message: "is required".into() })?;
    let first = ctx.input(0, "inputs")?;
    let mut shapes = Vec::new();
    for (i, inp) in ctx.inputs.iter().enumerate() {
        let v = inp.ok_or(InferError::MissingInput { index: i, what: "inputs" })?;
        super::want_same_dtype(first, v, i)?;
        match known_shape(v) {
            Some(s) => shapes.push(s),
            None => return Ok(vec![Inferred::rankless(first.dtype)]),
        }
    }
    let rank = shapes[0].len();
    let ax = norm_axis(axis, rank, "axis")?;
    let mut out = shapes[0].to_vec();
    for (i, s) in shapes.iter().enumerate().skip(1) {
        if s.len() != rank {
            return Err(InferError::Rank { index: i, expected: rank.to_string(), actual: s.len() });
        }
        for (j, d) in s.iter().enumerate() {
            if j == ax {
                out[j] = out[j].add(d);
            } else if let (Some(p), Some(q)) = (out[j].fixed(), d.fixed()) {
                if p != q {
                    return Err(InferError::Invalid(format!("inputs {} and {} differ at axis {j}", shape_text(shapes[0]), shape_text(s))));
                }
            } else if out[j] != *d && out[j].fixed().is_none() && d.fixed().is_some() {
                out[j] = d.clone();
            }
        }
    }
    let sym = if rank == 1 {
        let vals: Option<Vec<Vec<Dim>>> = ctx.inputs.iter().map(|i| i.and_then(|v| v.sym_value.clone())).collect();
        vals.map(|v| v.concat())
    } else {
        None
    };
    Ok(vec![Inferred::new(first.dtype, out).with_value(sym)])
}

/// Length of `x[start:end:step]` along a dimension of size `dim`.
fn slice_len(dim: &Dim, start: &Dim, end: &Dim, step: i64) -> Dim {
    if let (Some(d), Some(s), Some(e)) = (dim.fixed(), start.fixed(), end.fixed()) {
        if d < 0 {
            return Dim::Unknown;
        }
        // i128: no bound or step of a hostile model can overflow here.
        let (d, s, e, step) = (i128::from(d), i128::from(s), i128::from(e), i128::from(step));
        let norm = |v: i128, lo: i128, hi: i128| if v < 0 { (v + d).clamp(lo, hi) } else { v.clamp(lo, hi) };
        let len = if step > 0 {
            let (s, e) = (norm(s, 0, d), norm(e, 0, d));
            if e > s { (e - s - 1) / step + 1 } else { 0 }
        } else {
            let (s, e) = (norm(s, -1, d - 1), norm(e, -1, d - 1));
            if s > e { (s - e - 1) / (-step) + 1 } else { 0 }
        };
        return i64::try_from(len).map_or(Dim::Unknown, Dim::Fixed);
    }
    let resolve = |v: &Dim| -> Dim {
        match v.fixed() {
            Some(k) if k >= BIG => dim.clone(),
            Some(k) if k <= -BIG => Dim::Fixed(-1),
            Some(k) if k < 0 => dim.add(&Dim::Fixed(k)),
            Some(k) => match dim.fixed() {
                Some(d) => Dim::Fixed(k.min(d)),
                None => Dim::Fixed(k),
            },
            // a symbolic bound counts from the end when it cannot be positive (`-seq`);
            // otherwise it is taken as written (in range: `Nk - Nq` with Nk >= Nq)
            None => match v.sign() {
                Some(-1) => dim.add(v),
                _ => v.clone(),
            },
        }
    };
    let (s, e) = (resolve(start), resolve(end));
    match step.checked_neg() {
        _ if step > 0 => e.sub(&s).div_ceil(step),
        Some(neg) => s.sub(&e).div_ceil(neg),
        None => Dim::Unknown,
    }
}

pub(super) fn infer_slice(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "data")?;
    let starts = ctx.input(1, "starts")?;
    let ends = ctx.input(2, "ends")?;
    want_int(starts, 1)?;
    want_int(ends, 2)?;
    let Some(s) = known_shape(x) else { return Ok(vec![Inferred::rankless(x.dtype)]) };
    let (Some(st), Some(en)) = (&starts.sym_value, &ends.sym_value) else {
        let mut out = s.to_vec();
        match ctx.opt_input(3).and_then(fixed_values) {
            Some(axes) => {
                for a in axes {
                    out[norm_axis(a, s.len(), "axes")?] = Dim::Unknown;
                }
            }
            None => out.iter_mut().for_each(|d| *d = Dim::Unknown),
        }
        return Ok(vec![Inferred::new(x.dtype, out)]);
    };
    let axes: Vec<i64> = match ctx.opt_input(3) {
        Some(a) => fixed_values(a).ok_or(InferError::Invalid("axes must be a constant".into()))?,
        None => (0..st.len() as i64).collect(),
    };
    let steps: Vec<i64> = match ctx.opt_input(4) {
        Some(a) => fixed_values(a).ok_or(InferError::Invalid("steps must be a constant".into()))?,
        None => vec![1; st.len()],
    };
    if st.len() != en.len() || axes.len() != st.len() || steps.len() != st.len() {
        return Err(InferError::Invalid("starts, ends, axes and steps differ in length".into()));
    }
    let mut out = s.to_vec();
    for i in 0..axes.len() {
        let ax = norm_axis(axes[i], s.len(), "axes")?;
        if steps[i] == 0 {
            return Err(InferError::Invalid("slice step 0".into()));
        }
        out[ax] = slice_len(&s[ax], &st[i], &en[i], steps[i]);
    }
    // Slicing a 1-D shape tensor with fixed bounds keeps its symbolic value.
    let sym = match (&x.sym_value, st.first().and_then(Dim::fixed), en.first().and_then(Dim::fixed)) {
        (Some(v), Some(a), Some(b)) if s.len() == 1 && steps[0] == 1 => {
            let n = v.len() as i64;
            let a = (if a < 0 { a + n } else { a }).clamp(0, n) as usize;
            let b = (if b < 0 { b + n } else { b }).clamp(0, n) as usize;
            Some(if a < b { v[a..b].to_vec() } else { vec![] })
        }
        _ => None,
    };
    Ok(vec![Inferred::new(x.dtype, out).with_value(sym)])
}

pub(super) fn infer_gather(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "data")?;
    let idx = ctx.input(1, "indices")?;
    want_int(idx, 1)?;
    let (Some(s), Some(is)) = (known_shape(x), known_shape(idx)) else { return Ok(vec![Inferred::rankless(x.dtype)]) };
    let ax = norm_axis(ctx.attr_int("axis")?.unwrap_or(0), s.len(), "axis")?;
    if let (Some(n), Some(vals)) = (s[ax].fixed(), fixed_values(idx))
        && let Some(bad) = vals.iter().find(|v| **v >= n || **v < -n)
    {
        return Err(InferError::Invalid(format!("index {bad} out of range for axis {ax} of size {n}")));
    }
    let mut out = s[..ax].to_vec();
    out.extend_from_slice(is);
    out.extend_from_slice(&s[ax + 1..]);
    let sym = match (&x.sym_value, fixed_values(idx)) {
        (Some(v), Some(ix)) if s.len() == 1 => {
            let n = v.len() as i64;
            ix.iter().map(|i| v.get((if *i < 0 { i + n } else { *i }) as usize).cloned()).collect()
        }
        _ => None,
    };
    Ok(vec![Inferred::new(x.dtype, out).with_value(sym)])
}

pub(super) fn infer_transpose(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "data")?;
    let Some(s) = known_shape(x) else { return Ok(vec![Inferred::rankless(x.dtype)]) };
    let perm = ctx.attr_ints("perm")?.unwrap_or_else(|| (0..s.len() as i64).rev().collect());
    let mut sorted = perm.clone();
    sorted.sort_unstable();
    if sorted != (0..s.len() as i64).collect::<Vec<_>>() {
        return Err(InferError::Attr { name: "perm".into(), message: format!("{perm:?} is not a permutation of rank {}", s.len()) });
    }
    Ok(vec![Inferred::new(x.dtype, perm.iter().map(|p| s[*p as usize].clone()).collect())])
}

pub(super) fn infer_expand(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "input")?;
    let shape = ctx.input(1, "shape")?;
    want_int(shape, 1)?;
    let (Some(s), Some(t)) = (known_shape(x), &shape.sym_value) else {
        return Ok(vec![Inferred::rankless(x.dtype)]);
    };
    Ok(vec![Inferred::new(x.dtype, super::broadcast_shapes(&[s, t])?)])
}

pub(super) fn infer_range(ctx: &InferCtx) -> InferResult {
    let start = ctx.input(0, "start")?;
    let limit = ctx.input(1, "limit")?;
    let delta = ctx.input(2, "delta")?;
    for (i, v) in [start, limit, delta].iter().enumerate() {
        if v.rank().is_some_and(|r| r != 0) {
            return Err(InferError::Rank { index: i, expected: "0 (a scalar)".into(), actual: v.rank().unwrap_or(0) });
        }
        super::want_same_dtype(start, v, i)?;
    }
    let len = match (start.sym_value.as_deref(), limit.sym_value.as_deref(), delta.sym_value.as_deref().and_then(|d| d.first()?.fixed())) {
        (Some([s]), Some([l]), Some(d)) if d > 0 => l.sub(s).div_ceil(d),
        _ => Dim::Unknown,
    };
    Ok(vec![Inferred::new(start.dtype, vec![len])])
}

pub(super) fn infer_constant_of_shape(ctx: &InferCtx) -> InferResult {
    let shape = ctx.input(0, "input")?;
    want_int(shape, 0)?;
    let dtype = match ctx.attr("value") {
        Some(Attr::Tensor(t)) => t.dtype(),
        _ => DType::F32,
    };
    let out = match (&shape.sym_value, shape.shape.as_ref().and_then(|s| s.first()).and_then(Dim::fixed)) {
        (Some(v), _) => v.clone(),
        (None, Some(r)) if (0..=MAX_RANK).contains(&r) => vec![Dim::Unknown; r as usize],
        _ => return Ok(vec![Inferred::rankless(dtype)]),
    };
    Ok(vec![Inferred::new(dtype, out)])
}

pub(super) fn infer_constant(ctx: &InferCtx) -> InferResult {
    match ctx.attr("value") {
        Some(Attr::Tensor(t)) => {
            let sym = t.small_values();
            Ok(vec![Inferred::new(t.dtype(), t.dims().iter().map(|d| Dim::Fixed(*d)).collect()).with_value(sym)])
        }
        Some(Attr::Int(v)) => Ok(vec![Inferred::new(DType::I64, vec![]).with_value(Some(vec![Dim::Fixed(*v)]))]),
        Some(Attr::Ints(v)) => {
            Ok(vec![Inferred::new(DType::I64, vec![Dim::Fixed(v.len() as i64)]).with_value(Some(v.iter().map(|x| Dim::Fixed(*x)).collect()))])
        }
        Some(Attr::Float(f)) => {
            Ok(vec![Inferred::new(DType::F32, vec![]).with_value((f.fract() == 0.0 && f.abs() < 16_777_216.0).then(|| vec![Dim::Fixed(*f as i64)]))])
        }
        Some(Attr::Floats(v)) => Ok(vec![Inferred::new(DType::F32, vec![Dim::Fixed(v.len() as i64)])]),
        _ => Err(InferError::Attr { name: "value".into(), message: "Constant needs a value".into() }),
    }
}

pub(super) fn infer_pad(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "data")?;
    let pads = ctx.input(1, "pads")?;
    want_int(pads, 1)?;
    let Some(s) = known_shape(x) else { return Ok(vec![Inferred::rankless(x.dtype)]) };
    let axes: Vec<usize> = match ctx.opt_input(3) {
        Some(a) => fixed_values(a)
            .ok_or(InferError::Invalid("axes must be a constant".into()))?
            .iter()
            .map(|a| norm_axis(*a, s.len(), "axes"))
            .collect::<Result<_, _>>()?,
        None => (0..s.len()).collect(),
    };
    let mut out = s.to_vec();
    match &pads.sym_value {
        Some(p) if p.len() == 2 * axes.len() => {
            for (i, ax) in axes.iter().enumerate() {
                out[*ax] = s[*ax].add(&p[i]).add(&p[i + axes.len()]);
            }
        }
        Some(p) => return Err(InferError::Invalid(format!("pads has {} entries, expected {}", p.len(), 2 * axes.len()))),
        None => axes.iter().for_each(|ax| out[*ax] = Dim::Unknown),
    }
    Ok(vec![Inferred::new(x.dtype, out)])
}

pub(super) fn infer_split(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "input")?;
    let Some(s) = known_shape(x) else { return Ok(vec![Inferred::rankless(x.dtype); ctx.num_outputs]) };
    let ax = norm_axis(ctx.attr_int("axis")?.unwrap_or(0), s.len(), "axis")?;
    let n = ctx.num_outputs;
    if n == 0 {
        return Err(InferError::Invalid("Split declares no outputs".into()));
    }
    let sizes: Vec<Dim> = match (ctx.opt_input(1), ctx.attr_ints("split")?) {
        (Some(sp), _) => sp.sym_value.clone().ok_or(InferError::Invalid("split sizes must be constant".into()))?,
        (None, Some(sizes)) => sizes.into_iter().map(Dim::Fixed).collect(),
        (None, None) => match s[ax].fixed() {
            Some(d) if d < 0 => return Err(InferError::Invalid(format!("axis {ax} has negative size {d}"))),
            Some(d) => {
                let chunk = (d + n as i64 - 1) / n as i64;
                (0..n as i64).map(|i| Dim::Fixed((d - i * chunk).clamp(0, chunk))).collect()
            }
            None => vec![s[ax].div_floor(n as i64); n],
        },
    };
    if sizes.len() != n {
        return Err(InferError::Invalid(format!("{} split sizes for {n} outputs", sizes.len())));
    }
    Ok(sizes
        .into_iter()
        .map(|d| {
            let mut o = s.to_vec();
            o[ax] = d;
            Inferred::new(x.dtype, o)
        })
        .collect())
}

pub(super) fn infer_tile(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "input")?;
    let reps = ctx.input(1, "repeats")?;
    let Some(s) = known_shape(x) else { return Ok(vec![Inferred::rankless(x.dtype)]) };
    let out = match &reps.sym_value {
        Some(r) if r.len() == s.len() => s.iter().zip(r).map(|(d, k)| d.mul(k)).collect(),
        _ => vec![Dim::Unknown; s.len()],
    };
    Ok(vec![Inferred::new(x.dtype, out)])
}

/// `ScatterND(data, indices, updates)` / `ScatterElements(data, indices, updates)`: data's
/// type and shape; updates must share data's element type and indices be integers.
pub(super) fn infer_scatter(ctx: &InferCtx) -> InferResult {
    let data = ctx.input(0, "data")?;
    want_int(ctx.input(1, "indices")?, 1)?;
    super::want_same_dtype(data, ctx.input(2, "updates")?, 2)?;
    Ok(vec![Inferred { dtype: data.dtype, shape: data.shape.clone(), sym_value: None }])
}

/// Shape constructors.
impl Graph {
    /// `Shape(x)[start:end]` as a 1-D int64 tensor.
    pub fn shape_of(&mut self, name: &str, x: Value, start: i64, end: Option<i64>) -> Result<Value, BuildError> {
        let mut a = attrs![("start", start)];
        if let Some(e) = end {
            a.push(("end".into(), Attr::Int(e)));
        }
        self.add_node(name, "Shape", &[Some(x)], a)
    }

    /// `Reshape(x, shape)` with a constant target shape (0 copies the input dim, -1 infers one).
    pub fn reshape_const(&mut self, name: &str, x: Value, shape: &[i64]) -> Result<Value, BuildError> {
        let s = self.const_i64s(&format!("{name}_shape"), shape)?;
        self.reshape(name, x, s)
    }

    /// `Reshape(x, shape)`.
    pub fn reshape(&mut self, name: &str, x: Value, shape: Value) -> Result<Value, BuildError> {
        self.add_node(name, "Reshape", &[Some(x), Some(shape)], attrs![])
    }

    /// `Squeeze(x, axes)`.
    pub fn squeeze(&mut self, name: &str, x: Value, axes: &[i64]) -> Result<Value, BuildError> {
        let a = self.const_i64s(&format!("{name}_axes"), axes)?;
        self.add_node(name, "Squeeze", &[Some(x), Some(a)], attrs![])
    }

    /// `Unsqueeze(x, axes)`.
    pub fn unsqueeze(&mut self, name: &str, x: Value, axes: &[i64]) -> Result<Value, BuildError> {
        let a = self.const_i64s(&format!("{name}_axes"), axes)?;
        self.add_node(name, "Unsqueeze", &[Some(x), Some(a)], attrs![])
    }

    /// `Concat(inputs, axis)`.
    pub fn concat(&mut self, name: &str, inputs: &[Value], axis: i64) -> Result<Value, BuildError> {
        let ins: Vec<Option<Value>> = inputs.iter().map(|v| Some(*v)).collect();
        self.add_node(name, "Concat", &ins, attrs![("axis", axis)])
    }

    /// `Slice(x, starts, ends, axes, steps)` with value inputs.
    pub fn slice(&mut self, name: &str, x: Value, starts: Value, ends: Value, axes: Option<Value>, steps: Option<Value>) -> Result<Value, BuildError> {
        self.add_node(name, "Slice", &[Some(x), Some(starts), Some(ends), axes, steps], attrs![])
    }

    /// `Slice` along one axis with constant bounds (`end = i64::MAX` for "to the end").
    pub fn slice_const(&mut self, name: &str, x: Value, axis: i64, start: i64, end: i64, step: i64) -> Result<Value, BuildError> {
        let s = self.const_i64s(&format!("{name}_starts"), &[start])?;
        let e = self.const_i64s(&format!("{name}_ends"), &[end])?;
        let a = self.const_i64s(&format!("{name}_axes"), &[axis])?;
        let st = if step == 1 { None } else { Some(self.const_i64s(&format!("{name}_steps"), &[step])?) };
        self.slice(name, x, s, e, Some(a), st)
    }

    /// `Gather(x, indices, axis)`.
    pub fn gather(&mut self, name: &str, x: Value, indices: Value, axis: i64) -> Result<Value, BuildError> {
        self.add_node(name, "Gather", &[Some(x), Some(indices)], attrs![("axis", axis)])
    }

    /// `Transpose(x, perm)`.
    pub fn transpose(&mut self, name: &str, x: Value, perm: &[i64]) -> Result<Value, BuildError> {
        self.add_node(name, "Transpose", &[Some(x)], attrs![("perm", perm.to_vec())])
    }

    /// `Expand(x, shape)`.
    pub fn expand(&mut self, name: &str, x: Value, shape: Value) -> Result<Value, BuildError> {
        self.add_node(name, "Expand", &[Some(x), Some(shape)], attrs![])
    }

    /// `Range(start, limit, delta)` (scalars).
    pub fn range(&mut self, name: &str, start: Value, limit: Value, delta: Value) -> Result<Value, BuildError> {
        self.add_node(name, "Range", &[Some(start), Some(limit), Some(delta)], attrs![])
    }

    /// `ConstantOfShape(shape, value)`.
    pub fn constant_of_shape(&mut self, name: &str, shape: Value, value: Tensor) -> Result<Value, BuildError> {
        self.add_node(name, "ConstantOfShape", &[Some(shape)], attrs![("value", value)])
    }

    /// `Pad(x, pads, constant_value)` (constant mode).
    pub fn pad(&mut self, name: &str, x: Value, pads: Value, value: Option<Value>) -> Result<Value, BuildError> {
        self.add_node(name, "Pad", &[Some(x), Some(pads), value], attrs![])
    }

    /// `Split(x, sizes, axis)` into `sizes.len()` outputs.
    pub fn split(&mut self, name: &str, x: Value, axis: i64, sizes: &[i64]) -> Result<Vec<Value>, BuildError> {
        let s = self.const_i64s(&format!("{name}_sizes"), sizes)?;
        self.add_node_multi(name, "Split", &[Some(x), Some(s)], attrs![("axis", axis)], sizes.len())
    }

    /// `Tile(x, repeats)`.
    pub fn tile(&mut self, name: &str, x: Value, repeats: Value) -> Result<Value, BuildError> {
        self.add_node(name, "Tile", &[Some(x), Some(repeats)], attrs![])
    }
}
