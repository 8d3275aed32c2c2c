//! Neural-network ops: `MatMul`, `Conv`, `LayerNormalization`, reductions, and the fused rotary
//! ops (`RotaryEmbedding` of ai.onnx opset 23 and ORT's `com.microsoft.RotaryEmbedding`).

use super::{InferCtx, InferResult, Inferred, broadcast_shapes, known_shape, norm_axis, want_float, want_same_dtype};
use crate::attrs;
use crate::dim::{Dim, shape_text};
use crate::dtype::DType;
use crate::error::{BuildError, InferError};
use crate::graph::{Graph, Value};

pub(super) fn infer_matmul(ctx: &InferCtx) -> InferResult {
    let a = ctx.input(0, "A")?;
    let b = ctx.input(1, "B")?;
    want_same_dtype(a, b, 1)?;
    let (Some(sa), Some(sb)) = (known_shape(a), known_shape(b)) else { return Ok(vec![Inferred::rankless(a.dtype)]) };
    if sa.is_empty() || sb.is_empty() {
        return Err(InferError::Invalid("MatMul inputs must have rank >= 1".into()));
    }
    let mut la = sa.to_vec();
    let mut lb = sb.to_vec();
    let (pa, pb) = (la.len() == 1, lb.len() == 1);
    if pa {
        la.insert(0, Dim::Fixed(1));
    }
    if pb {
        lb.push(Dim::Fixed(1));
    }
    let (k1, k2) = (&la[la.len() - 1], &lb[lb.len() - 2]);
    if let (Some(x), Some(y)) = (k1.fixed(), k2.fixed())
        && x != y
    {
        return Err(InferError::Invalid(format!("inner dims differ: {} @ {}", shape_text(sa), shape_text(sb))));
    }
    let batch = broadcast_shapes(&[&la[..la.len() - 2], &lb[..lb.len() - 2]])?;
    let mut out = batch;
    if !pa {
        out.push(la[la.len() - 2].clone());
    }
    if !pb {
        out.push(lb[lb.len() - 1].clone());
    }
    Ok(vec![Inferred::new(a.dtype, out)])
}

pub(super) fn infer_conv(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "X")?;
    let w = ctx.input(1, "W")?;
    want_float(x, 0)?;
    want_same_dtype(x, w, 1)?;
    let (Some(sx), Some(sw)) = (known_shape(x), known_shape(w)) else { return Ok(vec![Inferred::rankless(x.dtype)]) };
    if sx.len() < 3 || sw.len() != sx.len() {
        return Err(InferError::Invalid(format!("Conv needs X [N, C, ...] and W of the same rank, got {} and {}", shape_text(sx), shape_text(sw))));
    }
    let group = ctx.attr_int("group")?.unwrap_or(1);
    if let (Some(c), Some(wc)) = (sx[1].fixed(), sw[1].fixed())
        && Some(c) != wc.checked_mul(group)
    {
        return Err(InferError::Invalid(format!("X has {c} channels, W expects {wc} x group {group}")));
    }
    if let Some(bias) = ctx.opt_input(2)
        && let (Some([bd]), Some(m)) = (bias.shape.as_deref(), sw[0].fixed())
        && bd.fixed().is_some_and(|b| b != m)
    {
        return Err(InferError::Invalid(format!("bias has {bd} entries, W has {m} output channels")));
    }
    let sp = sx.len() - 2;
    let kernel: Vec<i64> = match ctx.attr_ints("kernel_shape")? {
        Some(k) => k,
        None => sw[2..].iter().map(|d| d.fixed().unwrap_or(1)).collect(),
    };
    let strides = ctx.attr_ints("strides")?.unwrap_or_else(|| vec![1; sp]);
    let dil = ctx.attr_ints("dilations")?.unwrap_or_else(|| vec![1; sp]);
    let pads = ctx.attr_ints("pads")?.unwrap_or_else(|| vec![0; 2 * sp]);
    if kernel.len() != sp || strides.len() != sp || dil.len() != sp || pads.len() != 2 * sp {
        return Err(InferError::Invalid("kernel_shape/strides/dilations/pads do not match the spatial rank".into()));
    }
    let mut out = vec![sx[0].clone(), sw[0].clone()];
    for i in 0..sp {
        let overflow = || InferError::Invalid("kernel_shape/dilations/pads overflow".into());
        let span = kernel[i].checked_sub(1).and_then(|k| dil[i].checked_mul(k)).and_then(|s| s.checked_add(1)).ok_or_else(overflow)?;
        let pad = pads[i].checked_add(pads[i + sp]).and_then(|p| p.checked_sub(span)).ok_or_else(overflow)?;
        let padded = sx[2 + i].add(&Dim::Fixed(pad));
        out.push(padded.div_floor(strides[i]).add(&Dim::Fixed(1)));
    }
    Ok(vec![Inferred::new(x.dtype, out)])
}

pub(super) fn infer_layer_norm(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "X")?;
    let scale = ctx.input(1, "Scale")?;
    want_float(x, 0)?;
    want_same_dtype(x, scale, 1)?;
    let mut outs = vec![Inferred { dtype: x.dtype, shape: x.shape.clone(), sym_value: None }];
    for _ in 1..ctx.num_outputs {
        outs.push(Inferred::rankless(DType::F32));
    }
    Ok(outs)
}

pub(super) fn infer_reduce(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "data")?;
    let Some(s) = known_shape(x) else { return Ok(vec![Inferred::rankless(x.dtype)]) };
    let keep = ctx.attr_int("keepdims")?.unwrap_or(1) != 0;
    let axes = match ctx.opt_input(1) {
        Some(a) => Some(super::fixed_values(a).ok_or(InferError::Invalid("axes must be a constant".into()))?),
        None => ctx.attr_ints("axes")?,
    };
    let axes: Vec<usize> = match axes {
        Some(a) => a.iter().map(|ax| norm_axis(*ax, s.len(), "axes")).collect::<Result<_, _>>()?,
        None => (0..s.len()).collect(),
    };
    let out: Vec<Dim> = s
        .iter()
        .enumerate()
        .filter_map(|(i, d)| match (axes.contains(&i), keep) {
            (true, true) => Some(Dim::Fixed(1)),
            (true, false) => None,
            (false, _) => Some(d.clone()),
        })
        .collect();
    Ok(vec![Inferred::new(x.dtype, out)])
}

fn check_cache(cache: &super::ValueInfo, x: &super::ValueInfo, index: usize, rot_half: Option<i64>) -> Result<(), InferError> {
    want_same_dtype(x, cache, index)?;
    if let (Some(cs), Some(h)) = (cache.shape.as_deref(), rot_half)
        && let Some(last) = cs.last().and_then(Dim::fixed)
        && last != h
    {
        return Err(InferError::Invalid(format!("cache last dim {last} != rotary_dim/2 ({h})")));
    }
    Ok(())
}

/// ai.onnx `RotaryEmbedding` (opset 23): X [B, heads, S, H] or [B, S, heads*H] (+ num_heads).
pub(super) fn infer_rotary_embedding(ctx: &InferCtx) -> InferResult {
    if ctx.opset < 23 {
        return Err(InferError::Invalid(format!("RotaryEmbedding needs opset >= 23, the graph has {}", ctx.opset)));
    }
    let x = ctx.input(0, "X")?;
    want_float(x, 0)?;
    let Some(s) = known_shape(x) else { return Ok(vec![Inferred::rankless(x.dtype)]) };
    let num_heads = ctx.attr_int("num_heads")?;
    let head = match s.len() {
        4 => s[3].fixed(),
        3 => match num_heads {
            Some(h) if h > 0 => s[2].fixed().map(|w| w / h),
            _ => return Err(InferError::Attr { name: "num_heads".into(), message: "is required for 3-D input".into() }),
        },
        r => return Err(InferError::Rank { index: 0, expected: "3 or 4".into(), actual: r }),
    };
    let rot = ctx.attr_int("rotary_embedding_dim")?.filter(|r| *r > 0).or(head);
    if let (Some(r), Some(h)) = (rot, head)
        && (r % 2 != 0 || r > h)
    {
        return Err(InferError::Attr { name: "rotary_embedding_dim".into(), message: format!("{r} must be even and <= head size {h}") });
    }
    check_cache(ctx.input(1, "cos_cache")?, x, 1, rot.map(|r| r / 2))?;
    check_cache(ctx.input(2, "sin_cache")?, x, 2, rot.map(|r| r / 2))?;
    if let Some(p) = ctx.opt_input(3) {
        super::want_int(p, 3)?;
    }
    Ok(vec![Inferred::new(x.dtype, s.to_vec())])
}

/// `Einsum`: output dims from the letters of the equation (explicit `->` form, or the implicit
/// one: letters seen once, sorted), `...` broadcast across the inputs.
pub(super) fn infer_einsum(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "Inputs")?;
    let eq = match ctx.attr("equation") {
        Some(crate::Attr::Str(s)) => s.replace(' ', ""),
        _ => return Err(InferError::Attr { name: "equation".into(), message: "is required".into() }),
    };
    let (lhs, rhs) = match eq.split_once("->") {
        Some((l, r)) => (l.to_string(), Some(r.to_string())),
        None => (eq.clone(), None),
    };
    let terms: Vec<&str> = lhs.split(',').collect();
    if terms.len() != ctx.inputs.len() {
        return Err(InferError::Invalid(format!("equation {eq:?} has {} operands, the node {}", terms.len(), ctx.inputs.len())));
    }
    let mut letters: Vec<(char, Dim)> = Vec::new();
    let mut ellipsis: Vec<&[Dim]> = Vec::new();
    for (i, term) in terms.iter().enumerate() {
        let Some(shape) = ctx.input(i, "Inputs").ok().and_then(known_shape) else { return Ok(vec![Inferred::rankless(x.dtype)]) };
        let named: Vec<char> = term.replace("...", "").chars().collect();
        let (before, after) = match term.split_once("...") {
            Some((b, a)) => (b.chars().count(), a.chars().count()),
            None => (named.len(), 0),
        };
        if named.len() > shape.len() || (!term.contains("...") && named.len() != shape.len()) {
            return Err(InferError::Rank { index: i, expected: format!("{} (equation {eq:?})", named.len()), actual: shape.len() });
        }
        if term.contains("...") {
            ellipsis.push(&shape[before..shape.len() - after]);
        }
        let dims = shape[..before].iter().chain(&shape[shape.len() - after..]);
        for (c, d) in named.iter().zip(dims) {
            match letters.iter_mut().find(|(l, _)| l == c) {
                Some((_, known)) if known.fixed() == Some(1) => *known = d.clone(),
                Some(_) => {}
                None => letters.push((*c, d.clone())),
            }
        }
    }
    let ell = broadcast_shapes(&ellipsis)?;
    let rhs = rhs.unwrap_or_else(|| {
        let mut once: Vec<char> = letters.iter().map(|(c, _)| *c).filter(|c| lhs.matches(*c).count() == 1).collect();
        once.sort_unstable();
        let mut r = if ellipsis.is_empty() { String::new() } else { "...".to_string() };
        r.extend(once);
        r
    });
    let mut out = Vec::new();
    let (b, a) = match rhs.split_once("...") {
        Some((b, a)) => (b.to_string(), Some(a.to_string())),
        None => (rhs.clone(), None),
    };
    let dim = |c: char| {
        letters.iter().find(|(l, _)| *l == c).map(|(_, d)| d.clone()).ok_or(InferError::Invalid(format!("output letter {c:?} is not an input letter")))
    };
    for c in b.chars() {
        out.push(dim(c)?);
    }
    if let Some(a) = a {
        out.extend(ell);
        for c in a.chars() {
            out.push(dim(c)?);
        }
    }
    Ok(vec![Inferred::new(x.dtype, out)])
}

/// ORT contrib `com.microsoft.RotaryEmbedding`: (input, position_ids, cos_cache, sin_cache).
pub(super) fn infer_ms_rotary_embedding(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "input")?;
    want_float(x, 0)?;
    super::want_int(ctx.input(1, "position_ids")?, 1)?;
    check_cache(ctx.input(2, "cos_cache")?, x, 2, None)?;
    check_cache(ctx.input(3, "sin_cache")?, x, 3, None)?;
    Ok(vec![Inferred { dtype: x.dtype, shape: x.shape.clone(), sym_value: None }])
}

/// Neural-network constructors.
impl Graph {
    /// `MatMul(a, b)`.
    pub fn matmul(&mut self, name: &str, a: Value, b: Value) -> Result<Value, BuildError> {
        self.add_node(name, "MatMul", &[Some(a), Some(b)], attrs![])
    }

    /// 1-D `Conv(x, w, bias)` with explicit pads `[begin, end]` and stride.
    pub fn conv1d(&mut self, name: &str, x: Value, w: Value, bias: Option<Value>, pads: [i64; 2], stride: i64) -> Result<Value, BuildError> {
        let k = self.shape(w).get(2).and_then(Dim::fixed).unwrap_or(1);
        self.add_node(name, "Conv", &[Some(x), Some(w), bias], attrs![("kernel_shape", vec![k]), ("pads", pads.to_vec()), ("strides", vec![stride])])
    }

    /// `LayerNormalization(x, scale, bias, axis=-1, epsilon)`.
    pub fn layer_norm(&mut self, name: &str, x: Value, scale: Value, bias: Option<Value>, epsilon: f32) -> Result<Value, BuildError> {
        self.add_node(name, "LayerNormalization", &[Some(x), Some(scale), bias], attrs![("axis", -1i64), ("epsilon", epsilon)])
    }

    /// A reduction (`ReduceL2`, `ReduceSum`, ...) over `axes`, written for the graph's opset
    /// (axes as an attribute before opset 18, as an input from 18 on; `ReduceSum` since 13).
    pub fn reduce(&mut self, name: &str, op: &str, x: Value, axes: &[i64], keepdims: bool) -> Result<Value, BuildError> {
        if self.opset() >= 18 || op == "ReduceSum" {
            let a = self.const_i64s(&format!("{name}_axes"), axes)?;
            self.add_node(name, op, &[Some(x), Some(a)], attrs![("keepdims", i64::from(keepdims))])
        } else {
            self.add_node(name, op, &[Some(x)], attrs![("axes", axes.to_vec()), ("keepdims", i64::from(keepdims))])
        }
    }
}
