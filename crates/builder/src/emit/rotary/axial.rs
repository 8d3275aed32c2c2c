//! # Axial rotary (`kind: "axial_rotary"`)
//!
//! Spec: rotary-embedding-torch 0.9.1 `RotaryEmbedding.get_axial_freqs(*dims, offsets)` +
//! `apply_rotary_emb(freqs, x)`. Opsets 17+; float32/float16/bfloat16 (angles and cos/sin in
//! f32). Input `x` `[leading..., d1..dk, head_dim]`; axis i rotates features
//! `[i·rot, (i+1)·rot)` (interleaved pairs) by positions `arange(d_i)` (`linspace(-1, 1, d_i)` for
//! `freqs_for="pixel"`) plus `offsets[i]`; features past `k·rot` pass through.
//!
//! Axis sizes given in the config become constant angle tables; `null` sizes are read from the
//! input shape at run time. The per-axis angles (zero outside the axis's block) broadcast-add to
//! the full `[d1..dk, head_dim]` angle table, then `Cos`/`Sin` and the rotation of
//! [`crate::emit::rotary::rope`].

use crate::DType;
use crate::Dim;
use crate::Tensor;
use crate::config::{AxialRotaryConfig, FreqsFor, Layout};
use crate::emit::rotary::rope::{self, RopeLayout, Tables, bad};
use crate::error::{BuildError, EmitError};
use crate::{Builder, Value};

/// Positions of one axis of size `n` as the package makes them (f32).
fn axis_positions(cfg: &AxialRotaryConfig, n: usize, offset: f64) -> Vec<f32> {
    match cfg.freqs.freqs_for {
        FreqsFor::Pixel => rope::linspace_f32(-1.0, 1.0, n).into_iter().map(|p| p + offset as f32).collect(),
        _ => (0..n).map(|i| (i as f64 + offset) as f32).collect(),
    }
}

/// torch's float32 `linspace(-1, 1, n)` in the graph, bit for bit: `step = f32(2 / (n - 1))`;
/// the first half is `-1 + step·i`, the second `1 - step·(n-1-i)`, each rounded once (torch uses a
/// fused multiply-add; the product of a float32 step and an integer index is exact in float64, so
/// forming the sum in f64 and casting rounds the same way).
fn linspace_minus1_1(g: &mut Builder, idx: Value, n: Value) -> Result<Value, BuildError> {
    let one_i = g.const_i64("one_i", 1)?;
    let gaps = g.sub("gaps", n, one_i)?;
    let gaps = g.max("gaps_at_least_1", gaps, one_i)?;
    let gaps = g.cast("gaps_f32", gaps, DType::F32)?;
    let two = g.const_scalar("two", 2.0, DType::F32)?;
    let step = g.div("step", two, gaps)?;
    let step = g.cast("step_f64", step, DType::F64)?;
    // from the start: -1 + step * i
    let i64f = g.cast("index_f64", idx, DType::F64)?;
    let fwd = g.mul("forward_offset", step, i64f)?;
    let minus_one = g.constant("minus_one", Tensor::f64(vec![], vec![-1.0]).map_err(bad("minus_one"))?)?;
    let fwd = g.add("forward", fwd, minus_one)?;
    // from the end: 1 - step * (n - 1 - i)
    let last = g.sub("last", n, one_i)?;
    let back_i = g.sub("back_index", last, idx)?;
    let back_i = g.cast("back_index_f64", back_i, DType::F64)?;
    let bwd = g.mul("backward_offset", step, back_i)?;
    let plus_one = g.constant("plus_one", Tensor::f64(vec![], vec![1.0]).map_err(bad("plus_one"))?)?;
    let bwd = g.sub("backward", plus_one, bwd)?;
    // i < max(n / 2, 1) takes the forward value (n = 1 gives [-1], as torch)
    let two_i = g.const_i64("two_i", 2)?;
    let half = g.div("half", n, two_i)?;
    let half = g.max("half_at_least_1", half, one_i)?;
    let first = g.less("first_half", idx, half)?;
    let both = g.where_("linspace_f64", first, fwd, bwd)?;
    g.cast("linspace", both, DType::F32)
}

/// Run-time positions of an axis of length `len` (int64 `[1]`): f32 `[len]`.
fn dynamic_positions(g: &mut Builder, cfg: &AxialRotaryConfig, len: Value, offset: f64) -> Result<Value, BuildError> {
    let n = g.squeeze("len_scalar", len, &[0])?;
    let zero = g.const_i64("zero", 0)?;
    let one = g.const_i64("one", 1)?;
    let idx = g.range("index", zero, n, one)?;
    let mut pos = g.cast("index_f32", idx, DType::F32)?;
    if cfg.freqs.freqs_for == FreqsFor::Pixel {
        pos = linspace_minus1_1(g, idx, n)?;
    }
    if offset != 0.0 {
        let o = g.const_scalar("offset", offset as f32, DType::F32)?;
        pos = g.add("shifted", pos, o)?;
    }
    Ok(pos)
}

/// Build the graph of an axial rotary config (`freqs` from a checkpoint overrides the computed
/// frequencies).
pub fn build(cfg: &AxialRotaryConfig, freqs: Option<Vec<f32>>) -> Result<crate::Graph, EmitError> {
    let freqs = freqs.unwrap_or_else(|| rope::package_freqs(&cfg.freqs));
    let rot = 2 * freqs.len();
    let k = cfg.num_axes();
    let dt = cfg.common.dtype;
    let layout = RopeLayout { head_dim: cfg.head_dim, start: 0, layout: Layout::Interleaved, freqs: freqs.repeat(k) };
    let signed = layout.signed_freqs();
    let mut g = Builder::new("axial_rotary", cfg.common.opset)?;
    g.set_metadata(
        "rotor.form",
        match cfg.common.form {
            crate::config::Form::Decomposed => "decomposed",
            crate::config::Form::Fused => {
                "decomposed (fused not implemented for axial_rotary: it would need the axes flattened into one sequence with per-position caches)"
            }
        },
    );
    // x: [B, (B2, …), D1..Dk, head_dim]
    let mut dims: Vec<Dim> = (0..cfg.leading_rank).map(|i| Dim::sym(&if i == 0 { "B".to_string() } else { format!("B{}", i + 1) })).collect();
    for (i, d) in cfg.axial_dims.iter().enumerate() {
        dims.push(d.map(|d| Dim::Fixed(d as i64)).unwrap_or_else(|| Dim::sym(&format!("D{}", i + 1))));
    }
    dims.push(Dim::Fixed(cfg.head_dim as i64));
    let x = g.input("x", dt, dims)?;
    let y = g.with_scope("axial_rope", |g| -> Result<Value, BuildError> {
        // 1. per-axis angles [d_i, 1 (other later axes)…, head_dim], zero outside block i
        let mut total: Option<Value> = None;
        for i in 0..k {
            let mut block = vec![0.0f32; cfg.head_dim];
            block[i * rot..(i + 1) * rot].copy_from_slice(&signed[i * rot..(i + 1) * rot]);
            let later = k - 1 - i; // axes after i: this table broadcasts over them
            let angles = g.with_scope(&format!("axis{}", i + 1), |g| -> Result<Value, BuildError> {
                match cfg.axial_dims[i] {
                    Some(n) => {
                        let pos = axis_positions(cfg, n, cfg.offsets[i]);
                        let mut table = Vec::with_capacity(n * cfg.head_dim);
                        for p in &pos {
                            table.extend(block.iter().map(|f| p * f));
                        }
                        let mut shape = vec![n as i64];
                        shape.extend(std::iter::repeat_n(1, later));
                        shape.push(cfg.head_dim as i64);
                        g.constant("angles", Tensor::f32(shape, table).map_err(bad("angles"))?)
                    }
                    None => {
                        let axis = (cfg.leading_rank + i) as i64;
                        let len = g.shape_of("len", x, axis, Some(axis + 1))?;
                        let pos = dynamic_positions(g, cfg, len, cfg.offsets[i])?;
                        let col = rope::column(g, "pos_col", pos, later + 1)?;
                        let f = g.constant("freqs", Tensor::f32(vec![cfg.head_dim as i64], block.clone()).map_err(bad("freqs"))?)?;
                        g.mul("angles", col, f)
                    }
                }
            })?;
            total = Some(match total {
                None => angles,
                Some(t) => g.add(&format!("angles_to_axis{}", i + 1), t, angles)?,
            });
        }
        let angles = total.ok_or_else(|| BuildError::Graph { graph: "axial_rotary".into(), message: "no axes".into() })?;
        // 2. cos/sin [d1..dk, head_dim], rotate x
        let tabs = Tables { cos: g.cos("cos", angles)?, sin: g.sin("sin", angles)? };
        let tabs = rope::cast_tables(g, tabs, dt)?;
        let swap = rope::swap_plan(g, &layout)?;
        g.with_scope("x", |g| rope::apply(g, x, tabs, &swap))
    })?;
    g.output("x_rot", y)?;
    Ok(g.finish()?)
}
