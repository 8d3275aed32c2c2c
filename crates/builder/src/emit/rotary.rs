//! # Rotary model graphs (`kind: "rotary"`)
//!
//! Spec: rotary-embedding-torch 0.9.1 `RotaryEmbedding` public methods
//! (`../shared/reference/rotary_embedding.md`). Opsets 17+ (decomposed). Inputs float32,
//! float16 or bfloat16 of any rank ≥ 3; batch, heads and lengths symbolic.
//!
//! | mode | inputs | outputs | package call |
//! |---|---|---|---|
//! | `single` | `x` | `x_rot` | `rotate_queries_or_keys(x, offset=offset)` |
//! | `qk` | `q`, `k` (same length N) | `q_rot`, `k_rot` | each `rotate_queries_or_keys(·, offset)`; xPos: `rotate_queries_and_keys(q, k)` |
//! | `cached_qk` | `q` (Nq), `k` (Nk ≥ Nq) | `q_rot`, `k_rot` | `rotate_queries_with_cached_keys(q, k, offset)` |
//!
//! With `offset_input`, an int64 scalar input `offset` is added (0 otherwise).

use crate::config::{RotaryConfig, RotaryMode};
use crate::dim::Dim;
use crate::dtype::DType;
use crate::emit::rope::{self, RopeLayout, SeqLen, Tables};
use crate::emit::xpos;
use crate::error::{BuildError, ConfigError, EmitError};
use crate::graph::{Graph, Value};

/// The layout of a rotary config, with the frequencies to use (`freqs` from a checkpoint when
/// given, else as the package computes them).
pub fn layout_of(cfg: &RotaryConfig, freqs: Option<Vec<f32>>) -> RopeLayout {
    RopeLayout { head_dim: cfg.head_dim, start: cfg.start_index, layout: cfg.layout, freqs: freqs.unwrap_or_else(|| rope::package_freqs(&cfg.freq_spec())) }
}

/// Build the graph of a rotary config. `freqs` overrides the computed frequencies (learned
/// frequencies from a checkpoint); its length must equal the configured number of frequencies.
pub fn build(cfg: &RotaryConfig, freqs: Option<Vec<f32>>) -> Result<Graph, EmitError> {
    if cfg.common.form == crate::config::Form::Fused {
        return Err(ConfigError::new("form", "\"fused\" is not available for kind \"rotary\" yet; use \"decomposed\"").into());
    }
    if let Some(f) = &freqs {
        if f.len() != cfg.num_rotary_freqs() {
            return Err(EmitError::Weight { key: "freqs".into(), message: format!("has {} entries, the config needs {}", f.len(), cfg.num_rotary_freqs()) });
        }
    }
    let layout = layout_of(cfg, freqs);
    let name = match cfg.mode {
        RotaryMode::Single => "rotary",
        RotaryMode::Qk => "rotary_qk",
        RotaryMode::CachedQk => "rotary_cached_qk",
    };
    let mut g = Graph::new(name, cfg.common.opset)?;
    let dt = cfg.common.dtype;
    let ax = cfg.seq_axis();
    let seq_names: (&str, &str) = if cfg.mode == RotaryMode::CachedQk { ("Nq", "Nk") } else { ("N", "N") };
    let sig = |seq: &str| rope::dim_names(cfg.rank, ax, seq, cfg.head_dim);
    let (first, second) = match cfg.mode {
        RotaryMode::Single => (g.input("x", dt, sig(seq_names.0))?, None),
        _ => (g.input("q", dt, sig(seq_names.0))?, Some(g.input("k", dt, sig(seq_names.1))?)),
    };
    let offset = if cfg.offset_input { Some(g.input("offset", DType::I64, Vec::<Dim>::new())?) } else { None };
    let ones = (-ax - 1) as usize;

    let outs = g.with_scope("rope", |g| -> Result<Vec<(&'static str, Value)>, BuildError> {
        let partner = rope::partner_const(g, &layout)?;
        // f32 graphs reproduce the package's f32 angle t·f; half-precision graphs (where the
        // package itself loses positions) form the angle in f64.
        let freqs = if dt == DType::F32 { Freqs::F32(rope::freqs_const(g, &layout)?) } else { Freqs::Precise(layout.signed_freqs().iter().map(|f| *f as f64).collect()) };
        match (cfg.mode, second) {
            (RotaryMode::Single, _) | (_, None) => {
                // 1. positions (offset + arange(N)) / interpolate_factor, tables [N, 1…, D]
                let n = rope::seq_len(g, "len", first, ax)?;
                let t = rope::positions(g, "pos", offset, n.scalar, cfg.interpolate_factor)?;
                let tabs = table_set(g, &t, ones, &freqs)?;
                let tabs = rope::cast_tables(g, tabs, dt)?;
                // 2. rotate
                let y = g.with_scope("x", |g| rope::apply(g, first, tabs, partner))?;
                Ok(vec![("x_rot", y)])
            }
            (RotaryMode::Qk, Some(k)) => {
                // q and k share the length N: one set of tables.
                let n = rope::seq_len(g, "len", first, ax)?;
                let t = rope::positions(g, "pos", offset, n.scalar, cfg.interpolate_factor)?;
                let tabs = table_set(g, &t, ones, &freqs)?;
                let (tq, tk) = if cfg.use_xpos {
                    let s = g.with_scope("xpos", |g| xpos::scale(g, t.t, n.scalar, &layout, cfg.dim, cfg.xpos_scale_base, ones))?;
                    (xpos_q(g, tabs, s)?, xpos_k(g, tabs, s)?)
                } else {
                    (tabs, tabs)
                };
                rotate_pair(g, first, k, tq, tk, partner, dt)
            }
            (RotaryMode::CachedQk, Some(k)) => {
                // k: positions 0..Nk (no offset); q: (Nk - Nq + offset) + arange(Nq).
                let nk = rope::seq_len(g, "len_k", k, ax)?;
                let nq = rope::seq_len(g, "len_q", first, ax)?;
                let tk_pos = rope::positions(g, "pos", None, nk.scalar, cfg.interpolate_factor)?;
                let tabs_k = table_set(g, &tk_pos, ones, &freqs)?;
                let tabs_q = match offset {
                    None => g.with_scope("q_tables", |g| rope::tail_rows(g, tabs_k, nk.vec, nq.vec))?,
                    Some(off) => g.with_scope("q_tables", |g| {
                        let gap = g.sub("gap", nk.scalar, nq.scalar)?;
                        let start = g.add("start", gap, off)?;
                        let tq = rope::positions(g, "pos", Some(start), nq.scalar, cfg.interpolate_factor)?;
                        table_set(g, &tq, ones, &freqs)
                    })?,
                };
                let (tq, tk) = if cfg.use_xpos {
                    // xPos positions ignore the offset: seq = arange(Nk); q uses seq[-Nq:] with
                    // centre Nq // 2, k uses seq with centre Nk // 2.
                    let sk = g.with_scope("xpos_k", |g| xpos::scale(g, tk_pos.t, nk.scalar, &layout, cfg.dim, cfg.xpos_scale_base, ones))?;
                    let sq = g.with_scope("xpos_q", |g| {
                        let tail = tail_1d(g, tk_pos.t, nk, nq)?;
                        xpos::scale(g, tail, nq.scalar, &layout, cfg.dim, cfg.xpos_scale_base, ones)
                    })?;
                    (xpos_q(g, tabs_q, sq)?, xpos_k(g, tabs_k, sk)?)
                } else {
                    (tabs_q, tabs_k)
                };
                rotate_pair(g, first, k, tq, tk, partner, dt)
            }
        }
    })?;
    for (name, v) in outs {
        g.output(name, v)?;
    }
    g.validate()?;
    Ok(g)
}

/// How angles are formed.
enum Freqs {
    /// `t·F` in f32, as the package (F: the signed-frequency constant).
    F32(Value),
    /// `t·F` in f64, reduced modulo 2π (F: the signed frequencies, widened from f32).
    Precise(Vec<f64>),
}

/// positions `[N]` → column → cos/sin tables.
fn table_set(g: &mut Graph, p: &rope::Positions, ones: usize, freqs: &Freqs) -> Result<Tables, BuildError> {
    match freqs {
        Freqs::F32(f) => {
            let col = rope::column(g, "pos_col", p.t, ones)?;
            rope::tables(g, col, *f)
        }
        Freqs::Precise(f) => rope::precise_tables(g, p.int, p.interpolate_factor, ones, f),
    }
}

/// Query tables scaled by xPos `scale`.
fn xpos_q(g: &mut Graph, tabs: Tables, scale: Value) -> Result<Tables, BuildError> {
    g.with_scope("q_xpos", |g| rope::scale_tables(g, tabs, scale))
}

/// Key tables scaled by xPos `scale ** -1`.
fn xpos_k(g: &mut Graph, tabs: Tables, scale: Value) -> Result<Tables, BuildError> {
    g.with_scope("k_xpos", |g| {
        let inv = g.reciprocal("inv_scale", scale)?;
        rope::scale_tables(g, tabs, inv)
    })
}

fn rotate_pair(g: &mut Graph, q: Value, k: Value, tq: Tables, tk: Tables, partner: Value, dt: DType) -> Result<Vec<(&'static str, Value)>, BuildError> {
    let qy = g.with_scope("q", |g| {
        let t = rope::cast_tables(g, tq, dt)?;
        rope::apply(g, q, t, partner)
    })?;
    let ky = g.with_scope("k", |g| {
        let t = rope::cast_tables(g, tk, dt)?;
        rope::apply(g, k, t, partner)
    })?;
    Ok(vec![("q_rot", qy), ("k_rot", ky)])
}

/// `t[len - n:]` of a 1-D tensor.
fn tail_1d(g: &mut Graph, t: Value, len: SeqLen, n: SeqLen) -> Result<Value, BuildError> {
    let start = g.sub("tail_start", len.vec, n.vec)?;
    let end = g.const_i64s("tail_end", &[i64::MAX])?;
    g.slice("pos_tail", t, start, end, None, None)
}
