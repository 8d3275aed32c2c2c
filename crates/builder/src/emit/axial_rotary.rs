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
//! [`crate::emit::rope`].

use crate::config::{AxialRotaryConfig, FreqsFor, Layout};
use crate::dim::Dim;
use crate::dtype::DType;
use crate::emit::rope::{self, RopeLayout, Tables, bad};
use crate::error::{BuildError, EmitError};
use crate::graph::{Graph, Value};
use crate::tensor::Tensor;

/// Positions of one axis of size `n` as the package makes them (f32).
fn axis_positions(cfg: &AxialRotaryConfig, n: usize, offset: f64) -> Vec<f32> {
    match cfg.freqs.freqs_for {
        FreqsFor::Pixel => rope::linspace_f32(-1.0, 1.0, n).into_iter().map(|p| p + offset as f32).collect(),
        _ => (0..n).map(|i| (i as f64 + offset) as f32).collect(),
    }
}

/// Run-time positions of an axis of length `len` (int64 `[1]`): f32 `[len]`.
fn dynamic_positions(g: &mut Graph, cfg: &AxialRotaryConfig, len: Value, offset: f64) -> Result<Value, BuildError> {
    let n = g.squeeze("len_scalar", len, &[0])?;
    let zero = g.const_i64("zero", 0)?;
    let one = g.const_i64("one", 1)?;
    let idx = g.range("index", zero, n, one)?;
    let mut pos = g.cast("index_f32", idx, DType::F32)?;
    if cfg.freqs.freqs_for == FreqsFor::Pixel {
        // linspace(-1, 1, n) = -1 + i * 2 / max(n - 1, 1)
        let nf = g.cast("len_f32", n, DType::F32)?;
        let onef = g.const_scalar("one_f32", 1.0, DType::F32)?;
        let gaps = g.sub("gaps", nf, onef)?;
        let gaps = g.max("gaps_at_least_1", gaps, onef)?;
        let two = g.const_scalar("two", 2.0, DType::F32)?;
        let step = g.div("step", two, gaps)?;
        let scaled = g.mul("scaled", pos, step)?;
        let minus_one = g.const_scalar("minus_one", -1.0, DType::F32)?;
        pos = g.add("linspace", scaled, minus_one)?;
    }
    if offset != 0.0 {
        let o = g.const_scalar("offset", offset as f32, DType::F32)?;
        pos = g.add("shifted", pos, o)?;
    }
    Ok(pos)
}

/// Build the graph of an axial rotary config (`freqs` from a checkpoint overrides the computed
/// frequencies).
pub fn build(cfg: &AxialRotaryConfig, freqs: Option<Vec<f32>>) -> Result<Graph, EmitError> {
    let freqs = freqs.unwrap_or_else(|| rope::package_freqs(&cfg.freqs));
    let rot = 2 * freqs.len();
    let k = cfg.num_axes();
    let dt = cfg.common.dtype;
    let layout = RopeLayout { head_dim: cfg.head_dim, start: 0, layout: Layout::Interleaved, freqs: freqs.repeat(k) };
    let signed = layout.signed_freqs();
    let mut g = Graph::new("axial_rotary", cfg.common.opset)?;
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
    g.validate()?;
    Ok(g)
}
