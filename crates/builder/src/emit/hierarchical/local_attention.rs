//! # Local windowed causal attention (`local_attention.LocalMHA`)
//!
//! Spec: local-attention 1.11.2 `LocalMHA(causal=True, prenorm=True)` as built by
//! simple-hierarchical-transformer 0.4.0 (`../shared/reference/hierarchical_transformer.md` §6).
//! Opsets 17+, float32, input `[..., L, d]` (any leading axes), L symbolic.
//!
//! LayerNorm → qkv → heads → autopad to a multiple of W → windows → `q·e^-½` → look-back of one
//! window for keys/values → half-layout rotary on look-around positions 0..2W-1 (queries use
//! W..2W-1, constant tables) → `q·kᵀ` → mask (causal, exact window of W+1 keys, the missing
//! look-back of window 0) with `-FLT_MAX` → softmax → `·v` → unpad → merge heads → out.

use crate::DType;
use crate::config::Layout;
use crate::emit::hierarchical::linear::linear;
use crate::emit::hierarchical::norm::layer_norm;
use crate::emit::hierarchical::params::Params;
use crate::emit::rotary::rope::{self, RopeLayout, Tables};
use crate::emit::{first_rows, pad_to_multiple};
use crate::error::EmitError;
use crate::{Builder, Value};
use crate::{Tensor, TensorData};

/// Shape of one `LocalMHA`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalAttention {
    /// Model width `d`.
    pub dim: usize,
    /// Heads `H`.
    pub heads: usize,
    /// Head size `e` (even).
    pub dim_head: usize,
    /// Window `W`.
    pub window: usize,
}

/// cos/sin tables `[rows, e]` of the half-layout rotary at positions `first..first+rows`, from
/// f32 angles `p · inv_freq` as the package computes them (cos/sin rounded from f64).
fn rotary_table(layout: &RopeLayout, first: usize, rows: usize) -> (Vec<f32>, Vec<f32>) {
    let f = layout.signed_freqs();
    let mut cos = Vec::with_capacity(rows * f.len());
    let mut sin = Vec::with_capacity(rows * f.len());
    for p in first..first + rows {
        for fj in &f {
            let angle = (p as f32 * fj) as f64;
            cos.push(angle.cos() as f32);
            sin.push(angle.sin() as f32);
        }
    }
    (cos, sin)
}

fn bool_const(g: &mut Builder, name: &str, dims: Vec<i64>, v: Vec<bool>) -> Result<Value, EmitError> {
    let t = Tensor::new(dims, TensorData::Bool(v)).map_err(|message| crate::BuildError::BadConstant { name: name.into(), message })?;
    Ok(g.constant(name, t)?)
}

/// `LocalMHA` on `x` `[..., L, d]` with weights under `p` (`norm`, `to_qkv`,
/// `attn_fn.rel_pos.inv_freq`, `to_out`). Node names are scoped by the caller.
pub fn local_attention(g: &mut Builder, p: &Params, x: Value, a: LocalAttention) -> Result<Value, EmitError> {
    let LocalAttention { dim: d, heads: h, dim_head: e, window: w } = a;
    let rank = g.rank(x);
    let he = h * e;
    // 1. prenorm, qkv: [..., L, d] -> [..., L, 3He]
    let xn = g.with_scope("norm", |g| layer_norm(g, &p.sub("norm"), x, d))?;
    let qkv = g.with_scope("to_qkv", |g| linear(g, &p.sub("to_qkv"), xn, d, 3 * he, false))?;
    // 2. autopad L to Np = ceil(L/W)*W (zeros at the end): [..., Np, 3He]
    let len = g.shape_of("len", x, rank as i64 - 2, Some(rank as i64 - 1))?;
    let qkv = pad_to_multiple(g, "autopad", qkv, len, w, rank - 2)?;
    // 3. split, heads, windows: [..., Np, He] -> [..., Np, H, e] -> [..., H, Np, e] -> [..., H, nw, W, e]
    let parts = g.split("qkv", qkv, -1, &[he as i64; 3])?;
    let mut win_shape = vec![0i64; rank - 1];
    win_shape.extend([-1, w as i64, e as i64]);
    let mut windows = Vec::with_capacity(3);
    for (i, name) in ["q", "k", "v"].iter().enumerate() {
        let t = crate::emit::hierarchical::full_attention::to_heads(g, name, parts[i], h, e)?;
        windows.push(g.reshape_const(&format!("{name}_windows"), t, &win_shape)?);
    }
    // 4. queries scaled by e^-1/2 before rotary
    let scale = g.const_scalar("q_scale", (e as f64).powf(-0.5) as f32, DType::F32)?;
    let q = g.mul("q_scaled", windows[0], scale)?;
    // 5. look-back: window w sees [block w-1, block w]; block -1 is filled with -1 (masked)
    let win_axis = rank as i64 - 1; // [lead (rank-2), H, nw, W, e]: nw is axis rank-1
    let look = |g: &mut Builder, name: &str, t: Value| -> Result<Value, EmitError> {
        let r = g.rank(t);
        let mut pads = vec![0i64; 2 * r];
        pads[win_axis as usize] = 1;
        let pads = g.const_i64s(&format!("{name}_prev_pads"), &pads)?;
        let fill = g.const_scalar(&format!("{name}_fill"), -1.0, DType::F32)?;
        let shifted = g.pad(&format!("{name}_shifted"), t, pads, Some(fill))?;
        let prev = g.slice_const(&format!("{name}_prev"), shifted, win_axis, 0, -1, 1)?;
        Ok(g.concat(&format!("{name}_around"), &[prev, t], -2)?)
    };
    let k = look(g, "k", windows[1])?;
    let v = look(g, "v", windows[2])?;
    // 6. half-layout rotary, positions 0..2W-1 of the look-around axis (queries: W..2W-1)
    let inv_freq = p.get("attn_fn.rel_pos.inv_freq", &[(e / 2) as i64])?;
    let layout = RopeLayout { head_dim: e, start: 0, layout: Layout::Half, freqs: inv_freq };
    let swap = rope::swap_plan(g, &layout)?;
    let (qc, qs) = rotary_table(&layout, w, w);
    let (kc, ks) = rotary_table(&layout, 0, 2 * w);
    let tq = Tables {
        cos: g.constant("q_cos", Tensor::f32(vec![w as i64, e as i64], qc).map_err(rope::bad("q_cos"))?)?,
        sin: g.constant("q_sin", Tensor::f32(vec![w as i64, e as i64], qs).map_err(rope::bad("q_sin"))?)?,
    };
    let tk = Tables {
        cos: g.constant("k_cos", Tensor::f32(vec![2 * w as i64, e as i64], kc).map_err(rope::bad("k_cos"))?)?,
        sin: g.constant("k_sin", Tensor::f32(vec![2 * w as i64, e as i64], ks).map_err(rope::bad("k_sin"))?)?,
    };
    let q = g.with_scope("q_rot", |g| rope::apply(g, q, tq, &swap))?;
    let k = g.with_scope("k_rot", |g| rope::apply(g, k, tk, &swap))?;
    // 7. sim = q · kᵀ: [..., nw, W, e] x [..., nw, e, 2W] -> [..., nw, W, 2W]
    let r = g.rank(k);
    let mut kt_perm: Vec<i64> = (0..r as i64).collect();
    kt_perm.swap(r - 1, r - 2);
    let kt = g.transpose("k_transposed", k, &kt_perm)?;
    let sim = g.matmul("sim", q, kt)?;
    // 8. mask: query i may see look-around key j iff i <= j <= i + W; in window 0 the
    //    look-back half (j < W) does not exist.
    let band: Vec<bool> = (0..w).flat_map(|i| (0..2 * w).map(move |j| j < i || j > i + w)).collect();
    let band = bool_const(g, "band_mask", vec![w as i64, 2 * w as i64], band)?;
    let low: Vec<bool> = (0..2 * w).map(|j| j < w).collect();
    let low = bool_const(g, "lookback_slots", vec![2 * w as i64], low)?;
    let nw = g.shape_of("windows", sim, -3, Some(-2))?;
    let nw = g.squeeze("windows_scalar", nw, &[0])?;
    let zero = g.const_i64("zero", 0)?;
    let one = g.const_i64("one", 1)?;
    let widx = g.range("window_index", zero, nw, one)?;
    let first = g.equal("first_window", widx, zero)?;
    let first = g.unsqueeze("first_window_col", first, &[1, 2])?;
    let missing = g.and("missing_lookback", first, low)?;
    let masked = g.or("mask", band, missing)?;
    let neg = g.const_scalar("neg_max", -f32::MAX, DType::F32)?;
    let sim = g.where_("sim_masked", masked, neg, sim)?;
    // 9. softmax, weighted values: [..., nw, W, 2W] x [..., nw, 2W, e] -> [..., nw, W, e]
    let attn = g.softmax("attn", sim, -1)?;
    let out = g.matmul("out_windows", attn, v)?;
    // 10. un-window, drop padding, merge heads: -> [..., H, Np, e] -> [..., H, L, e] -> [..., L, He]
    let mut seq_shape = vec![0i64; rank - 1];
    seq_shape.extend([-1, e as i64]);
    let out = g.reshape_const("out_seq", out, &seq_shape)?;
    let out = first_rows(g, "out_unpad", out, len, rank as i64 - 1)?;
    let out = crate::emit::hierarchical::full_attention::merge_heads(g, out, he)?;
    let y = g.with_scope("to_out", |g| linear(g, &p.sub("to_out"), out, he, d, false))?;
    Ok(y)
}
