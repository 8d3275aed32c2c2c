//! # RoPE — rotary position embedding, decomposed
//!
//! Spec: Su et al., *RoFormer* (arXiv:2104.09864); semantics of rotary-embedding-torch 0.9.1
//! (`../shared/reference/rotary_embedding.md`). Opsets 17+; float32 / float16 / bfloat16 inputs
//! (positions, angles and cos/sin are always f32, cast after cos/sin).
//!
//! One formula serves every layout, partial rotation and start index:
//! `y = x * cos(t·F) + partner(x) * sin(t·F)`, where `F` is a per-feature *signed*
//! frequency row and `partner[j]` the feature paired with `j`. For a pair (a, b) with frequency
//! `f`: `F[a] = -f, F[b] = +f`, so `sin(t·F[a]) = -sin(t·f)` carries rotate_half's minus sign and
//! `cos` (even) is unchanged. Features outside the rotated range get `F = 0` (cos 1, sin 0), so
//! they pass through exactly (for finite inputs) whatever they are paired with. `partner(x)` is
//! a block move where the layout allows ([`Swap`]), a `Gather` otherwise.
//!
//! Frequencies reproduce the package's float32 evaluation, because at positions past ~1000 a
//! one-ulp difference in a frequency moves an angle by more than the parity tolerance:
//! `lang`: `1 / f32(pow(f32(theta), f32(2i)/f32(dim)))` with the power correctly rounded;
//! `pixel`: torch's f32 `linspace` (fused multiply-add from both ends) times `f32(pi)`.

use crate::DType;
use crate::Dim;
use crate::Tensor;
use crate::config::{FreqSpec, FreqsFor, Layout};
use crate::error::BuildError;
use crate::{Builder, Value};

/// `theta` after NTK-aware rescaling, as the package computes it (in f64).
pub fn rescaled_theta(theta: f64, theta_rescale_factor: f64, dim: usize) -> f64 {
    theta * theta_rescale_factor.powf(dim as f64 / (dim as f64 - 2.0))
}

/// `freqs_for='lang'`: `1 / theta ** (arange(0, dim, 2)[:dim//2].float() / dim)` in f32.
pub fn lang_freqs(dim: usize, theta: f64) -> Vec<f32> {
    let th = theta as f32 as f64;
    (0..dim / 2)
        .map(|i| {
            let e = (2 * i) as f32 / dim as f32;
            1.0f32 / (th.powf(e as f64) as f32)
        })
        .collect()
}

/// `torch.linspace(start, end, steps)` in float32, bit for bit (torch fills the first half
/// forwards and the second half backwards, each with one fused multiply-add).
pub fn linspace_f32(start: f32, end: f32, steps: usize) -> Vec<f32> {
    if steps == 1 {
        return vec![start];
    }
    let step = (end - start) / (steps - 1) as f32;
    let half = steps / 2;
    (0..steps).map(|i| if i < half { step.mul_add(i as f32, start) } else { (-step).mul_add((steps - i - 1) as f32, end) }).collect()
}

/// `freqs_for='pixel'`: `linspace(1, max_freq / 2, dim // 2) * pi` in f32.
pub fn pixel_freqs(dim: usize, max_freq: f64) -> Vec<f32> {
    let pi = std::f64::consts::PI as f32;
    linspace_f32(1.0, (max_freq / 2.0) as f32, dim / 2).into_iter().map(|v| v * pi).collect()
}

/// The frequencies `RotaryEmbedding(**cfg).freqs` holds.
pub fn package_freqs(cfg: &FreqSpec) -> Vec<f32> {
    if let Some(c) = &cfg.custom_freqs {
        return c.iter().map(|v| *v as f32).collect();
    }
    match cfg.freqs_for {
        FreqsFor::Lang => lang_freqs(cfg.dim, rescaled_theta(cfg.theta, cfg.theta_rescale_factor, cfg.dim)),
        FreqsFor::Pixel => pixel_freqs(cfg.dim, cfg.max_freq),
        FreqsFor::Constant => vec![1.0; cfg.num_freqs],
    }
}

/// Where the rotated features sit among the `head_dim` features of an input.
#[derive(Clone, Debug, PartialEq)]
pub struct RopeLayout {
    /// Feature size of the input (last axis).
    pub head_dim: usize,
    /// First rotated feature.
    pub start: usize,
    /// Pairing of features.
    pub layout: Layout,
    /// One frequency per rotated pair (`rot_dim = 2 * freqs.len()`).
    pub freqs: Vec<f32>,
}

impl RopeLayout {
    /// Rotated width.
    pub fn rot_dim(&self) -> usize {
        2 * self.freqs.len()
    }

    /// For each pair i: (first feature, second feature).
    fn pairs(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let half = self.freqs.len();
        (0..half).map(move |i| match self.layout {
            Layout::Interleaved => (self.start + 2 * i, self.start + 2 * i + 1),
            Layout::Half => (self.start + i, self.start + i + half),
        })
    }

    /// Spread one value per pair over the features (`fill` outside the rotated range).
    pub fn per_feature(&self, per_pair: &[f32], fill: f32) -> Vec<f32> {
        let mut out = vec![fill; self.head_dim];
        for ((a, b), v) in self.pairs().zip(per_pair) {
            out[a] = *v;
            out[b] = *v;
        }
        out
    }

    /// Signed frequency per feature: `-f` on the first of a pair, `+f` on the second, 0 elsewhere.
    pub fn signed_freqs(&self) -> Vec<f32> {
        let mut out = vec![0.0f32; self.head_dim];
        for ((a, b), f) in self.pairs().zip(&self.freqs) {
            out[a] = -f;
            out[b] = *f;
        }
        out
    }

    /// Index of each feature's partner (itself outside the rotated range).
    pub fn partner(&self) -> Vec<i64> {
        let mut out: Vec<i64> = (0..self.head_dim as i64).collect();
        for (a, b) in self.pairs() {
            out[a] = b as i64;
            out[b] = a as i64;
        }
        out
    }
}

/// Run-time length of one axis: as a 1-element vector and as a scalar.
#[derive(Clone, Copy, Debug)]
pub struct SeqLen {
    /// `[1]` int64.
    pub vec: Value,
    /// `[]` int64.
    pub scalar: Value,
}

/// Read the length of axis `axis` (negative) of `x`.
pub fn seq_len(g: &mut Builder, local: &str, x: Value, axis: i64) -> Result<SeqLen, BuildError> {
    let end = if axis == -1 { None } else { Some(axis + 1) };
    let vec = g.shape_of(local, x, axis, end)?;
    let scalar = g.squeeze(&format!("{local}_scalar"), vec, &[0])?;
    Ok(SeqLen { vec, scalar })
}

/// Positions of a sequence: the integer range and its f32 value divided by the interpolation
/// factor.
#[derive(Clone, Copy, Debug)]
pub struct Positions {
    /// `start + arange(len)`, int64 `[len]`.
    pub int: Value,
    /// `(start + arange(len)) / interpolate_factor`, f32 `[len]` (as the package computes it).
    pub t: Value,
    /// The interpolation factor.
    pub interpolate_factor: f64,
}

/// `start + arange(len)` as int64 `[len]` (`start` 0 when `None`). The range always starts at
/// 0 and the start is added after, so every runtime sees the length `len` itself.
pub fn position_ints(g: &mut Builder, local: &str, start: Option<Value>, len: Value) -> Result<Value, BuildError> {
    let one = g.const_i64(&format!("{local}_one"), 1)?;
    let zero = g.const_i64(&format!("{local}_zero"), 0)?;
    match start {
        None => g.range(&format!("{local}_int"), zero, len, one),
        Some(s) => {
            let r = g.range(&format!("{local}_index"), zero, len, one)?;
            g.add(&format!("{local}_int"), r, s)
        }
    }
}

/// Positions `(start + arange(len)) / interpolate_factor`; `start` is an int64 scalar (0 when
/// `None`). Integer range, then one cast: exact up to 2^24.
pub fn positions(g: &mut Builder, local: &str, start: Option<Value>, len: Value, interpolate_factor: f64) -> Result<Positions, BuildError> {
    let int = position_ints(g, local, start, len)?;
    let t = g.cast(local, int, DType::F32)?;
    let t = if interpolate_factor == 1.0 {
        t
    } else {
        let f = g.const_scalar(&format!("{local}_interp"), interpolate_factor as f32, DType::F32)?;
        g.div(&format!("{local}_scaled"), t, f)?
    };
    Ok(Positions { int, t, interpolate_factor })
}

/// cos/sin tables with the angle `t·F` formed in f64 and reduced modulo 2π before the f32
/// `Cos`/`Sin`: an f32 product loses up to 2e-3 rad at positions near 65 536, this keeps the
/// angle within 1e-6 rad. Used where no package's f32 rounding is to be reproduced (half-
/// precision graphs, the sinusoidal table).
pub fn precise_tables(g: &mut Builder, positions: Value, interpolate_factor: f64, ones: usize, freqs: &[f64]) -> Result<Tables, BuildError> {
    let f = g.constant("freqs_f64", Tensor::f64(vec![freqs.len() as i64], freqs.to_vec()).map_err(bad("freqs_f64"))?)?;
    // 1. exact positions in f64: [..., N] -> [..., N, 1…]
    let mut pos = g.cast("pos_f64", positions, DType::F64)?;
    if interpolate_factor != 1.0 {
        let k = g.constant("interp_f64", Tensor::f64(vec![], vec![interpolate_factor]).map_err(bad("interp_f64"))?)?;
        pos = g.div("pos_f64_scaled", pos, k)?;
    }
    let col = column(g, "pos_f64_col", pos, ones)?;
    // 2. angle = t·F in f64, minus whole turns: a - 2π·floor(a / 2π)
    let angles = g.mul("angles_f64", col, f)?;
    let tau = g.constant("two_pi", Tensor::f64(vec![], vec![std::f64::consts::TAU]).map_err(bad("two_pi"))?)?;
    let turns = g.div("turns", angles, tau)?;
    let whole = g.floor("whole_turns", turns)?;
    let whole = g.mul("whole_turns_rad", whole, tau)?;
    let reduced = g.sub("angles_reduced", angles, whole)?;
    // 3. f32 cos/sin of an angle in [0, 2π)
    let a = g.cast("angles", reduced, DType::F32)?;
    Ok(Tables { cos: g.cos("cos", a)?, sin: g.sin("sin", a)? })
}

/// `t` `[…]` → `[…, 1, …, 1]` with `ones` trailing unit axes (to broadcast against inputs).
pub fn column(g: &mut Builder, local: &str, t: Value, ones: usize) -> Result<Value, BuildError> {
    let r = g.rank(t) as i64;
    let axes: Vec<i64> = (r..r + ones as i64).collect();
    g.unsqueeze(local, t, &axes)
}

/// cos/sin tables `[N, 1…, head_dim]`, f32, for positions given as a column `[N, 1…]`.
#[derive(Clone, Copy, Debug)]
pub struct Tables {
    pub cos: Value,
    pub sin: Value,
}

/// The signed-frequency row `F` `[head_dim]` of a layout, as a constant named `freqs`.
pub fn freqs_const(g: &mut Builder, layout: &RopeLayout) -> Result<Value, BuildError> {
    g.constant("freqs", Tensor::f32(vec![layout.head_dim as i64], layout.signed_freqs()).map_err(bad("freqs"))?)
}

/// Build cos/sin tables: `angles = t_col * F` (`f` from [`freqs_const`]), then `Cos`, `Sin`.
pub fn tables(g: &mut Builder, t_col: Value, f: Value) -> Result<Tables, BuildError> {
    // [N, 1…] * [D] -> [N, 1…, D]
    let angles = g.mul("angles", t_col, f)?;
    let cos = g.cos("cos", angles)?;
    let sin = g.sin("sin", angles)?;
    Ok(Tables { cos, sin })
}

/// Multiply both tables by a scale table (xPos), keeping the names readable.
pub fn scale_tables(g: &mut Builder, t: Tables, scale: Value) -> Result<Tables, BuildError> {
    Ok(Tables { cos: g.mul("cos_scaled", t.cos, scale)?, sin: g.mul("sin_scaled", t.sin, scale)? })
}

/// Cast f32 tables to the input type (no-op for f32).
pub fn cast_tables(g: &mut Builder, t: Tables, dtype: DType) -> Result<Tables, BuildError> {
    if dtype == DType::F32 {
        return Ok(t);
    }
    Ok(Tables { cos: g.cast("cos_cast", t.cos, dtype)?, sin: g.cast("sin_cast", t.sin, dtype)? })
}

/// The partner-index constant of a layout.
pub fn partner_const(g: &mut Builder, layout: &RopeLayout) -> Result<Value, BuildError> {
    g.const_i64s("partner", &layout.partner())
}

/// How `partner(x)` (each feature replaced by its pair partner) is computed. A `Gather` on the
/// last axis is one node but slow in runtimes (an element-wise copy: 4–6 ms for [1, 8, 1024, 64]
/// in ORT CPU); block moves are 5–8x faster, so they are used whenever the layout allows.
#[derive(Clone, Debug)]
pub enum Swap {
    /// Half layout: the rotated block `[start, start+rot)` has its halves exchanged
    /// (`Split` + `Concat`).
    Halves { sizes: Vec<i64>, order: Vec<usize> },
    /// Interleaved pairs aligned on even features: view as `[..., D/2, 2]`, exchange the two
    /// columns (`Split` + `Concat`), view back.
    Pairs { head_dim: i64 },
    /// Anything else (an odd start or head size): `Gather` with the partner indices.
    Gather(Value),
}

/// Choose the cheapest exact [`Swap`] for a layout (pass-through features pair among
/// themselves; their sine is 0, so they are unaffected).
pub fn swap_plan(g: &mut Builder, layout: &RopeLayout) -> Result<Swap, BuildError> {
    let (start, half, d) = (layout.start as i64, layout.freqs.len() as i64, layout.head_dim as i64);
    match layout.layout {
        Layout::Half => {
            let rest = d - start - 2 * half;
            let mut sizes = Vec::new();
            let mut order = Vec::new();
            if start > 0 {
                sizes.push(start);
            }
            let a = sizes.len();
            sizes.extend([half, half]);
            if rest > 0 {
                sizes.push(rest);
            }
            if start > 0 {
                order.push(0);
            }
            order.extend([a + 1, a]);
            if rest > 0 {
                order.push(a + 2);
            }
            Ok(Swap::Halves { sizes, order })
        }
        Layout::Interleaved if start % 2 == 0 && d % 2 == 0 => Ok(Swap::Pairs { head_dim: d }),
        Layout::Interleaved => Ok(Swap::Gather(partner_const(g, layout)?)),
    }
}

/// `partner(x)` along the last axis.
pub fn swap(g: &mut Builder, x: Value, plan: &Swap) -> Result<Value, BuildError> {
    match plan {
        Swap::Gather(partner) => g.gather("partner_x", x, *partner, -1),
        Swap::Halves { sizes, order } => {
            let parts = g.split("halves", x, -1, sizes)?;
            let reordered: Vec<Value> = order.iter().map(|i| parts[*i]).collect();
            g.concat("partner_x", &reordered, -1)
        }
        Swap::Pairs { head_dim } => {
            // [..., D] -> [..., D/2, 2] -> columns (odd, even) -> [..., D/2, 2] -> [..., D]
            let r = g.rank(x);
            let mut pairs = vec![0i64; r - 1];
            pairs.extend([-1, 2]);
            let p = g.reshape_const("pairs", x, &pairs)?;
            let cols = g.split("columns", p, -1, &[1, 1])?;
            let sw = g.concat("swapped", &[cols[1], cols[0]], -1)?;
            let mut back = vec![0i64; r - 1];
            back.push(*head_dim);
            g.reshape_const("partner_x", sw, &back)
        }
    }
}

/// `x * cos + partner(x) * sin`; the result node is named by the scope.
pub fn apply(g: &mut Builder, x: Value, t: Tables, plan: &Swap) -> Result<Value, BuildError> {
    // x: [..., N, (1…,) D]; tables: [N, (1…,) D]
    let swapped = swap(g, x, plan)?;
    let a = g.mul("x_cos", x, t.cos)?;
    let b = g.mul("partner_sin", swapped, t.sin)?;
    g.add("", a, b)
}

/// What [`apply_to`] rotates with: the package's `RotaryEmbedding(dim, theta=..)` applied by
/// `rotate_queries_or_keys` at positions `0..S` of the sequence axis.
#[derive(Clone, Debug, PartialEq)]
pub struct RopeSpec {
    /// Rotated features (`dim`; even). The input's last axis may be wider (partial rotation).
    pub dim: usize,
    /// Pairing: `Half` (i, i + dim/2) as GPT-NeoX and Llama, `Interleaved` (2i, 2i+1) as
    /// rotary-embedding-torch and GPT-J.
    pub layout: Layout,
    /// Base of the frequencies `1 / theta^(2i/dim)`.
    pub theta: f64,
    /// First rotated feature.
    pub start: usize,
    /// The sequence axis (negative, counted from the end).
    pub seq_axis: i64,
    /// Positions are divided by this (position interpolation; 1 = none).
    pub interpolate_factor: f64,
}

impl RopeSpec {
    /// Half-layout RoPE of `dim` features, theta 10000, sequence axis -2.
    pub fn half(dim: usize) -> RopeSpec {
        RopeSpec { dim, layout: Layout::Half, theta: 10000.0, start: 0, seq_axis: -2, interpolate_factor: 1.0 }
    }

    /// Interleaved-pairs RoPE of `dim` features, theta 10000, sequence axis -2.
    pub fn interleaved(dim: usize) -> RopeSpec {
        RopeSpec { layout: Layout::Interleaved, ..RopeSpec::half(dim) }
    }
}

/// Rotate `x` in place: build RoPE of `x` (as rotor's exports do: one formula, the cheapest
/// exact swap) just before its first reader, and make every reader of `x` — nodes, subgraphs and
/// graph outputs (which keep their names) — read the rotated value instead. Returns it.
/// `x` needs a static last axis of at least `start + dim` features; float16/bfloat16 inputs get
/// f32 angles and tables cast after cos/sin.
pub fn apply_to(b: &mut Builder, x: Value, spec: &RopeSpec) -> Result<Value, BuildError> {
    let name = b.value_name(x).to_string();
    let fail = |message: String| BuildError::Graph { graph: b.name().into(), message: format!("rope::apply_to({name}): {message}") };
    let head_dim = b.info(x).shape.as_ref().and_then(|s| s.last()).and_then(Dim::fixed).ok_or_else(|| fail("the last axis needs a static size".into()))?;
    let head_dim = usize::try_from(head_dim).map_err(|_| fail(format!("last axis of size {head_dim}")))?;
    if spec.dim < 2 || !spec.dim.is_multiple_of(2) || spec.start + spec.dim > head_dim {
        return Err(fail(format!("dim {} from feature {} must be even and fit the {head_dim} features", spec.dim, spec.start)));
    }
    let rank = b.rank(x) as i64;
    if spec.seq_axis >= -1 || spec.seq_axis < -rank {
        return Err(fail(format!("seq_axis {} must name an axis before the features (-{rank}..=-2)", spec.seq_axis)));
    }
    let layout = RopeLayout { head_dim, start: spec.start, layout: spec.layout, freqs: lang_freqs(spec.dim, spec.theta) };
    let first_reader = b.uses(x).iter().filter_map(|u| b.position(u.node).map(|p| (p, u.node))).min().map(|(_, id)| id);
    let scope = b.fresh_name(&format!("{name}_rope"));
    let from = b.node_id_bound();
    let build = |b: &mut Builder| {
        b.with_scope(&scope, |b| {
            let n = seq_len(b, "len", x, spec.seq_axis)?;
            let t = positions(b, "pos", None, n.scalar, spec.interpolate_factor)?;
            let col = column(b, "pos_col", t.t, (-spec.seq_axis - 1) as usize)?;
            let f = freqs_const(b, &layout)?;
            let tabs = tables(b, col, f)?;
            let tabs = cast_tables(b, tabs, b.dtype(x))?;
            let plan = swap_plan(b, &layout)?;
            apply(b, x, tabs, &plan)
        })
    };
    let y = match first_reader {
        Some(at) => b.insert_before(at, build)?,
        None => build(b)?,
    };
    // every reader of x reads y: the new nodes (ids from `from` on) keep reading x
    let g = b.graph_mut();
    g.replace_all_uses(x, y)?;
    let ours: Vec<(crate::NodeId, usize)> =
        g.uses(y).iter().filter(|u| u.node.index() >= from && u.slot != crate::Use::IMPLICIT).map(|u| (u.node, u.slot)).collect();
    for (node, slot) in ours {
        g.set_input(node, slot, Some(x))?;
    }
    Ok(y)
}

/// Slice the last `n` rows of both tables (`rows[len - n:]`), `len` and `n` as `[1]` vectors.
pub fn tail_rows(g: &mut Builder, t: Tables, len: Value, n: Value) -> Result<Tables, BuildError> {
    let start = g.sub("tail_start", len, n)?;
    let end = g.const_i64s("tail_end", &[i64::MAX])?;
    let axes = g.const_i64s("tail_axes", &[0])?;
    let cos = g.slice("cos_tail", t.cos, start, end, Some(axes), None)?;
    let sin = g.slice("sin_tail", t.sin, start, end, Some(axes), None)?;
    Ok(Tables { cos, sin })
}

/// Symbolic name of an input axis for graph signatures.
pub fn dim_names(rank: usize, seq_axis: i64, seq: &str, head_dim: usize) -> Vec<Dim> {
    let mut dims: Vec<Dim> = Vec::with_capacity(rank);
    let seq_pos = (rank as i64 + seq_axis) as usize;
    let mut others = ["B", "H", "A", "C", "E", "G", "J"].into_iter();
    for i in 0..rank - 1 {
        if i == seq_pos {
            dims.push(Dim::sym(seq));
        } else {
            dims.push(Dim::sym(others.next().unwrap_or("X")));
        }
    }
    dims.push(Dim::Fixed(head_dim as i64));
    dims
}

pub(crate) fn bad(name: &'static str) -> impl Fn(String) -> BuildError {
    move |message| BuildError::BadConstant { name: name.to_string(), message }
}

#[cfg(test)]
pub(crate) mod reference {
    //! Plain-Rust reference of the decomposed formula, used by the emitter tests.

    use super::RopeLayout;

    /// Rotate one feature vector at position `t` (f64 maths).
    pub fn rotate(x: &[f32], t: f64, layout: &RopeLayout) -> Vec<f64> {
        let f = layout.signed_freqs();
        let p = layout.partner();
        (0..x.len()).map(|j| x[j] as f64 * (t * f[j] as f64).cos() + x[p[j] as usize] as f64 * (t * f[j] as f64).sin()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linspace_matches_torch_bits() {
        // torch.linspace(1., 5., 7) in float32 (printed by the pinned torch 2.13.0).
        let want = [1.0f32, 1.6666667, 2.3333335, 3.0, 3.6666665, 4.3333335, 5.0];
        assert_eq!(linspace_f32(1.0, 5.0, 7), want);
    }

    #[test]
    fn lang_freqs_match_package_values() {
        // RotaryEmbedding(16).freqs from rotary-embedding-torch 0.9.1 (reference doc §11).
        let want = [1.0f32, 0.31622776, 0.1, 0.031_622_78, 0.01, 0.0031622779, 0.001, 0.000_316_227_8];
        assert_eq!(lang_freqs(16, 10000.0), want);
    }

    #[test]
    fn interleaved_rotation_matches_rotate_half() {
        let l = RopeLayout { head_dim: 6, start: 1, layout: Layout::Interleaved, freqs: vec![1.0, 0.5] };
        assert_eq!(l.partner(), vec![0, 2, 1, 4, 3, 5]);
        let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let y = reference::rotate(&x, 0.7, &l);
        // rotate_half: (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin) on pairs (1,2), (3,4).
        let (c, s) = (0.7f64.cos(), 0.7f64.sin());
        assert!((y[1] - (2.0 * c - 3.0 * s)).abs() < 1e-6);
        assert!((y[2] - (3.0 * c + 2.0 * s)).abs() < 1e-6);
        assert_eq!(y[0], 1.0);
        assert_eq!(y[5], 6.0);
    }

    #[test]
    fn half_layout_pairs_i_with_i_plus_half() {
        let l = RopeLayout { head_dim: 4, start: 0, layout: Layout::Half, freqs: vec![1.0, 0.5] };
        assert_eq!(l.partner(), vec![2, 3, 0, 1]);
        assert_eq!(l.signed_freqs(), vec![-1.0, -0.5, 1.0, 0.5]);
    }
}
