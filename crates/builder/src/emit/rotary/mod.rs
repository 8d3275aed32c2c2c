//! # Rotary model graphs (`kind: "rotary"`)
//!
//! Spec: rotary-embedding-torch 0.9.1 `RotaryEmbedding` public methods
//! (`../shared/reference/rotary_embedding.md`). Opsets 17+ (decomposed), 23+ (fused). Inputs
//! float32, float16 or bfloat16 of any rank ≥ 3; batch, heads and lengths symbolic.
//!
//! | mode | inputs | outputs | package call |
//! |---|---|---|---|
//! | `single` | `x` | `x_rot` | `rotate_queries_or_keys(x, offset=offset)` |
//! | `qk` | `q`, `k` (same length N) | `q_rot`, `k_rot` | each `rotate_queries_or_keys(·, offset)`; xPos: `rotate_queries_and_keys(q, k)` |
//! | `cached_qk` | `q` (Nq), `k` (Nk ≥ Nq) | `q_rot`, `k_rot` | `rotate_queries_with_cached_keys(q, k, offset)` |
//!
//! With `offset_input`, an int64 scalar input `offset` is added (0 otherwise).
//!
//! `form: "fused"` emits ONNX `RotaryEmbedding` (opset 23; or ORT's `com.microsoft`
//! `RotaryEmbedding` with `fused_op: "com.microsoft"`) with cos/sin caches computed in the graph
//! from the same positions (offsets and interpolation included); xPos folds its per-pair scale
//! into separate q and k caches (the op's output is linear in cos and sin, and xPos scales both
//! features of a pair alike), so a fused xPos is one op per tensor. Where the op cannot express the
//! config, the graph falls back to the decomposed form and records why in the metadata
//! (`rotor.form`); [`fused_fallback_reason`] says it up front.

pub mod axial;
pub mod rope;
pub mod xpos;

use std::cell::RefCell;

use self::rope::{Positions, RopeLayout, SeqLen, Tables, bad};
use crate::DType;
use crate::Dim;
use crate::Tensor;
pub use crate::config::FusedOp;
use crate::config::{Form, Layout, RotaryConfig, RotaryMode};
use crate::error::{BuildError, EmitError};
use crate::ops::{self, v23::RotaryEmbeddingAttrs};
use crate::{Builder, Value};

/// The layout of a rotary config, with the frequencies to use (`freqs` from a checkpoint when
/// given, else as the package computes them).
pub fn layout_of(cfg: &RotaryConfig, freqs: Option<Vec<f32>>) -> RopeLayout {
    RopeLayout { head_dim: cfg.head_dim, start: cfg.start_index, layout: cfg.layout, freqs: freqs.unwrap_or_else(|| rope::package_freqs(&cfg.freqs)) }
}

/// Why `form: "fused"` cannot be honoured for this config (`None`: it can).
pub fn fused_fallback_reason(cfg: &RotaryConfig, op: FusedOp) -> Option<String> {
    if cfg.start_index != 0 {
        return Some(format!("start_index {} > 0: RotaryEmbedding rotates the first rotary_embedding_dim features", cfg.start_index));
    }
    match (cfg.rank, cfg.seq_before_head_dim) {
        (3, false) | (4, _) => {}
        (r, sbhd) => {
            return Some(format!(
                "inputs of rank {r}{}: RotaryEmbedding takes [B, heads, S, H] (rank 3 [B, S, H] and rank 4 map onto it)",
                if sbhd { " with seq_before_head_dim" } else { "" }
            ));
        }
    }
    if op == FusedOp::Microsoft {
        if cfg.rot_dim() != cfg.head_dim {
            return Some("partial rotation: com.microsoft.RotaryEmbedding needs a constant num_heads for rotary_embedding_dim, and heads are symbolic".into());
        }
        if cfg.common.dtype == DType::BF16 {
            return Some("bfloat16: ORT's CPU com.microsoft.RotaryEmbedding has no bfloat16 kernel".into());
        }
    }
    None
}

/// Build the graph of a rotary config. `freqs` overrides the computed frequencies (learned
/// frequencies from a checkpoint); its length must equal the configured number of frequencies.
/// `xpos_base` overrides the xPos base per pair (a live module's `scale` buffer; `dim / 2`
/// entries, only with `use_xpos`).
pub fn build(cfg: &RotaryConfig, freqs: Option<Vec<f32>>, xpos_base: Option<Vec<f32>>) -> Result<crate::Graph, EmitError> {
    let fused_op = cfg.fused_op;
    if let Some(f) = &freqs
        && f.len() != cfg.num_rotary_freqs()
    {
        return Err(EmitError::Weight { key: "freqs".into(), message: format!("has {} entries, the config needs {}", f.len(), cfg.num_rotary_freqs()) });
    }
    let pairs = cfg.freqs.dim.div_ceil(2);
    let xpos_base = match xpos_base {
        Some(_) if !cfg.use_xpos => {
            return Err(EmitError::Weight { key: "scale".into(), message: "is the xPos base, but the config has use_xpos false".into() });
        }
        Some(b) if b.len() != pairs => {
            return Err(EmitError::Weight {
                key: "scale".into(),
                message: format!("has {} entries, the xPos base of dim {} needs {pairs}", b.len(), cfg.freqs.dim),
            });
        }
        Some(b) => b,
        None => xpos::base(cfg.freqs.dim),
    };
    let layout = layout_of(cfg, freqs);
    let (fused, form_note) = match cfg.common.form {
        Form::Decomposed => (None, "decomposed".to_string()),
        Form::Fused => match fused_fallback_reason(cfg, fused_op) {
            None => {
                (Some(fused_op), format!("fused ({})", if fused_op == FusedOp::Onnx { "ai.onnx RotaryEmbedding" } else { "com.microsoft RotaryEmbedding" }))
            }
            Some(why) => (None, format!("decomposed (fused not possible: {why})")),
        },
    };
    let name = match cfg.mode {
        RotaryMode::Single => "rotary",
        RotaryMode::Qk => "rotary_qk",
        RotaryMode::CachedQk => "rotary_cached_qk",
    };
    let mut g = Builder::new(name, cfg.common.opset)?;
    g.set_metadata("rotor.form", &form_note);
    let dt = cfg.common.dtype;
    let ax = cfg.seq_axis();
    let seq_names: (&str, &str) = if cfg.mode == RotaryMode::CachedQk { ("Nq", "Nk") } else { ("N", "N") };
    let sig = |seq: &str| rope::dim_names(cfg.rank, ax, seq, cfg.head_dim);
    let (first, second) = match cfg.mode {
        RotaryMode::Single => (g.input("x", dt, sig(seq_names.0))?, None),
        _ => (g.input("q", dt, sig(seq_names.0))?, Some(g.input("k", dt, sig(seq_names.1))?)),
    };
    let offset = if cfg.offset_input { Some(g.input("offset", DType::I64, Vec::<Dim>::new())?) } else { None };

    let outs = g.with_scope("rope", |g| -> Result<Vec<(&'static str, Value)>, BuildError> {
        let r = Rotator::new(g, cfg, &layout, fused, xpos_base)?;
        match (cfg.mode, second) {
            (RotaryMode::Single, _) | (_, None) => {
                // 1. positions (offset + arange(N)) / interpolate_factor, tables
                let n = rope::seq_len(g, "len", first, ax)?;
                let t = rope::positions(g, "pos", offset, n.scalar, cfg.interpolate_factor)?;
                let tabs = r.tables(g, &t)?;
                // 2. rotate
                let y = g.with_scope("x", |g| r.rotate(g, first, tabs, None))?;
                Ok(vec![("x_rot", y)])
            }
            (RotaryMode::Qk, Some(k)) => {
                // q and k share the length N: one set of tables.
                let n = rope::seq_len(g, "len", first, ax)?;
                let t = rope::positions(g, "pos", offset, n.scalar, cfg.interpolate_factor)?;
                let tabs = r.tables(g, &t)?;
                let (sq, sk) = if cfg.use_xpos {
                    let s = g.with_scope("xpos", |g| r.xpos_scale(g, t.t, n.scalar, &layout, cfg))?;
                    let inv = g.reciprocal("xpos_inv", s)?;
                    (Some(s), Some(inv))
                } else {
                    (None, None)
                };
                let qy = g.with_scope("q", |g| r.rotate(g, first, tabs, sq))?;
                let ky = g.with_scope("k", |g| r.rotate(g, k, tabs, sk))?;
                Ok(vec![("q_rot", qy), ("k_rot", ky)])
            }
            (RotaryMode::CachedQk, Some(k)) => {
                // k: positions 0..Nk (no offset); q: (Nk - Nq + offset) + arange(Nq).
                let nk = rope::seq_len(g, "len_k", k, ax)?;
                let nq = rope::seq_len(g, "len_q", first, ax)?;
                let tk_pos = rope::positions(g, "pos", None, nk.scalar, cfg.interpolate_factor)?;
                let tabs_k = r.tables(g, &tk_pos)?;
                let tabs_q = match offset {
                    None => g.with_scope("q_tables", |g| rope::tail_rows(g, tabs_k, nk.vec, nq.vec))?,
                    Some(off) => g.with_scope("q_tables", |g| {
                        let gap = g.sub("gap", nk.scalar, nq.scalar)?;
                        let start = g.add("start", gap, off)?;
                        let tq = rope::positions(g, "pos", Some(start), nq.scalar, cfg.interpolate_factor)?;
                        r.tables(g, &tq)
                    })?,
                };
                let (sq, sk) = if cfg.use_xpos {
                    // xPos positions ignore the offset: seq = arange(Nk); q uses seq[-Nq:] with
                    // centre Nq // 2, k uses seq with centre Nk // 2.
                    let sk = g.with_scope("xpos_k", |g| r.xpos_scale(g, tk_pos.t, nk.scalar, &layout, cfg))?;
                    let sk = g.reciprocal("xpos_k_inv", sk)?;
                    let sq = g.with_scope("xpos_q", |g| {
                        let tail = tail_1d(g, tk_pos.t, nk, nq)?;
                        r.xpos_scale(g, tail, nq.scalar, &layout, cfg)
                    })?;
                    (Some(sq), Some(sk))
                } else {
                    (None, None)
                };
                let qy = g.with_scope("q", |g| r.rotate(g, first, tabs_q, sq))?;
                let ky = g.with_scope("k", |g| r.rotate(g, k, tabs_k, sk))?;
                Ok(vec![("q_rot", qy), ("k_rot", ky)])
            }
        }
    })?;
    for (name, v) in outs {
        g.output(name, v)?;
    }
    Ok(g.finish()?)
}

/// How angles are formed.
enum Angles {
    /// `t·F` in f32, as the package (F: a frequency-row constant).
    F32(Value),
    /// `t·F` in f64, reduced modulo 2π (F: the frequencies, widened from f32).
    Precise(Vec<f64>),
}

/// The rotation of one config: decomposed (`x·cos + partner(x)·sin` over full-width signed
/// tables `[N, 1…, D]`) or fused (the op over per-pair tables `[N, rot/2]`).
struct Rotator {
    angles: Angles,
    dtype: DType,
    /// Trailing unit axes of the decomposed tables (between the sequence and feature axes).
    ones: usize,
    swap: Option<rope::Swap>,
    fused: Option<(FusedOp, bool, usize)>,
    rank: usize,
    seq_before_head_dim: bool,
    /// The xPos base per rotated pair.
    xpos_base: Vec<f32>,
    /// Tables made ready for the rotation, keyed by the source tables' cos value, so q and k
    /// rotated with one set of tables share them: (key, cast tables or fused caches, position ids).
    ready: RefCell<Vec<(Value, Tables, Option<Value>)>>,
}

impl Rotator {
    fn new(g: &mut Builder, cfg: &RotaryConfig, layout: &RopeLayout, fused: Option<FusedOp>, xpos_base: Vec<f32>) -> Result<Rotator, BuildError> {
        let dtype = cfg.common.dtype;
        let ax = cfg.seq_axis();
        // f32 graphs reproduce the package's f32 angle t·f; half-precision graphs (where the
        // package itself loses positions) form the angle in f64.
        let row: Vec<f32> = if fused.is_some() { layout.freqs.clone() } else { layout.signed_freqs() };
        let angles = if dtype == DType::F32 {
            Angles::F32(g.constant("freqs", Tensor::f32(vec![row.len() as i64], row).map_err(bad("freqs"))?)?)
        } else {
            Angles::Precise(row.iter().map(|f| *f as f64).collect())
        };
        let swap = if fused.is_none() { Some(rope::swap_plan(g, layout)?) } else { None };
        Ok(Rotator {
            angles,
            dtype,
            ones: (-ax - 1) as usize,
            swap,
            fused: fused.map(|op| (op, layout.layout == Layout::Interleaved, layout.rot_dim())),
            rank: cfg.rank,
            seq_before_head_dim: cfg.seq_before_head_dim,
            xpos_base,
            ready: RefCell::new(Vec::new()),
        })
    }

    /// The xPos scale for positions `t` of a sequence of length `len`: per feature
    /// `[N, 1…, D]` (decomposed) or per pair `[N, rot/2]` (fused: it folds into the caches).
    fn xpos_scale(&self, g: &mut Builder, t: Value, len: Value, layout: &RopeLayout, cfg: &RotaryConfig) -> Result<Value, BuildError> {
        match self.fused {
            Some(_) => xpos::scale_per_pair(g, t, len, &self.xpos_base, cfg.xpos_scale_base),
            None => xpos::scale(g, t, len, layout, &self.xpos_base, cfg.xpos_scale_base, self.ones),
        }
    }

    /// cos/sin tables for positions: `[N, 1…, D]` (decomposed) or `[N, rot/2]` (fused), f32.
    fn tables(&self, g: &mut Builder, p: &Positions) -> Result<Tables, BuildError> {
        let ones = if self.fused.is_some() { 1 } else { self.ones };
        match &self.angles {
            Angles::F32(f) => {
                let col = rope::column(g, "pos_col", p.t, ones)?;
                rope::tables(g, col, *f)
            }
            Angles::Precise(f) => rope::precise_tables(g, p.int, p.interpolate_factor, ones, f),
        }
    }

    /// `tabs` in the input type; for the fused ops, the op's cache inputs (`[B, N, rot/2]`
    /// caches, or the tables with `position_ids` `[B, N]`) for `x4` `[B, heads, N, H]`. Built
    /// once per set of tables.
    fn ready(&self, g: &mut Builder, x4: Value, tabs: Tables) -> Result<(Tables, Option<Value>), BuildError> {
        if let Some(&(_, t, ids)) = self.ready.borrow().iter().find(|(key, ..)| *key == tabs.cos) {
            return Ok((t, ids));
        }
        let cast = rope::cast_tables(g, tabs, self.dtype)?;
        let out = match self.fused {
            None => (cast, None),
            Some((FusedOp::Onnx, _, rot)) => {
                // [S, rot/2] -> [1, S, rot/2] -> [B, S, rot/2]
                let b = g.shape_of("batch", x4, 0, Some(1))?;
                let tail = g.const_i64s("cache_tail", &[1, rot as i64 / 2])?;
                let shape = g.concat("cache_shape", &[b, tail], 0)?;
                let cos = g.unsqueeze("cos_batch", cast.cos, &[0])?;
                let sin = g.unsqueeze("sin_batch", cast.sin, &[0])?;
                (Tables { cos: g.expand("cos_cache", cos, shape)?, sin: g.expand("sin_cache", sin, shape)? }, None)
            }
            Some((FusedOp::Microsoft, ..)) => {
                // caches indexed by position_ids [B, S] = row numbers 0..S of the tables
                let b = g.shape_of("batch", x4, 0, Some(1))?;
                let s = g.shape_of("seq", x4, 2, Some(3))?;
                let shape = g.concat("ids_shape", &[b, s], 0)?;
                let s = g.squeeze("seq_scalar", s, &[0])?;
                let ids = rope::position_ints(g, "ids", None, s)?;
                let ids = g.unsqueeze("ids_row", ids, &[0])?;
                (cast, Some(g.expand("position_ids", ids, shape)?))
            }
        };
        self.ready.borrow_mut().push((tabs.cos, out.0, out.1));
        Ok(out)
    }

    /// Rotate `x` with `tabs`, times `scale` (xPos) when given; the result is named by the scope.
    fn rotate(&self, g: &mut Builder, x: Value, tabs: Tables, scale: Option<Value>) -> Result<Value, BuildError> {
        let Some((op, interleaved, rot)) = self.fused else {
            let swap =
                self.swap.as_ref().ok_or_else(|| BuildError::Graph { graph: g.name().into(), message: "decomposed rotation without a swap plan".into() })?;
            let tabs = match scale {
                Some(s) => g.with_scope("xpos", |g| rope::scale_tables(g, tabs, s))?,
                None => tabs,
            };
            if self.dtype != DType::F32 {
                // float16/bfloat16: rotate in f32 and cast once, as the package does. Rounding
                // each product and the sum in half precision instead loses several half ulps
                // where the two terms cancel (xPos with large scales: seen in tract).
                let xf = g.cast("x_f32", x, DType::F32)?;
                let y = g.with_scope("f32", |g| rope::apply(g, xf, tabs, swap))?;
                return g.cast("", y, self.dtype);
            }
            let (tabs, _) = self.ready(g, x, tabs)?;
            return rope::apply(g, x, tabs, swap);
        };
        // 1. x as [B, heads, S, H]: rank 3 [B, S, H] gains a heads axis, [B, S, heads, H] is transposed
        let x4 = match (self.rank, self.seq_before_head_dim) {
            (3, _) => g.unsqueeze("heads_axis", x, &[1])?,
            (_, true) => g.transpose("heads_first", x, &[0, 2, 1, 3])?,
            _ => x,
        };
        // 2. caches in the input type; xPos scales both features of a pair alike, so its scale
        //    (per pair, [N, rot/2], see `xpos_scale`) multiplies the f32 tables before the cast
        let tabs = match scale {
            Some(s) => g.with_scope("xpos", |g| rope::scale_tables(g, tabs, s))?,
            None => tabs,
        };
        let (caches, ids) = self.ready(g, x4, tabs)?;
        let head = g.shape(x4).get(3).and_then(Dim::fixed).unwrap_or(rot as i64);
        let attrs = RotaryEmbeddingAttrs { interleaved, num_heads: None, rotary_embedding_dim: ((rot as i64) < head).then_some(rot as i64) };
        let y4 = match op {
            FusedOp::Onnx => ops::v23::rotary_embedding(g, "rotary_embedding", x4, caches.cos, caches.sin, None, &attrs)?,
            FusedOp::Microsoft => ops::ms::rotary_embedding(g, "rotary_embedding", x4, ids, caches.cos, caches.sin, &attrs)?,
        };
        // 3. back to the input layout
        match (self.rank, self.seq_before_head_dim) {
            (3, _) => g.squeeze("drop_heads_axis", y4, &[1]),
            (_, true) => g.transpose("heads_back", y4, &[0, 2, 1, 3]),
            _ => Ok(y4),
        }
    }
}

/// `t[len - n:]` of a 1-D tensor.
fn tail_1d(g: &mut Builder, t: Value, len: SeqLen, n: SeqLen) -> Result<Value, BuildError> {
    let start = g.sub("tail_start", len.vec, n.vec)?;
    let end = g.const_i64s("tail_end", &[i64::MAX])?;
    g.slice("pos_tail", t, start, end, None, None)
}
