//! # Full causal attention with xPos rotary (`simple_hierarchical_transformer.Attention`)
//!
//! Spec: simple-hierarchical-transformer 0.4.0 `Attention` + `Attend(causal=True)` with
//! `RotaryEmbedding(dim_head, use_xpos=True)` (`../shared/reference/hierarchical_transformer.md`
//! §7). Opsets 17+, float32, input `[..., L, d]`, L symbolic.
//!
//! RMSNorm → qkv → heads → `rotate_queries_and_keys` (interleaved rotary and xPos, centre
//! `L // 2`, reusing [`crate::emit::rotary::rope`] and [`crate::emit::rotary::xpos`]) → `q·kᵀ·e^-½` (scale after
//! the product) → causal mask with `-FLT_MAX` → softmax → `·v` → merge heads → out.

use crate::DType;
use crate::config::Layout;
use crate::emit::hierarchical::linear::linear;
use crate::emit::hierarchical::norm::rms_norm;
use crate::emit::hierarchical::params::Params;
use crate::emit::rotary::rope::{self, RopeLayout, Tables};
use crate::emit::rotary::xpos;
use crate::error::EmitError;
use crate::{Builder, Value};

/// Shape of one full `Attention`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FullAttention {
    /// Model width `d`.
    pub dim: usize,
    /// Heads `H`.
    pub heads: usize,
    /// Head size `e` (even).
    pub dim_head: usize,
}

/// `Attention` on `x` `[..., L, d]` with weights under `p` (`norm.gamma`, `to_qkv`,
/// `rotary_emb.freqs`, `to_out`). Node names are scoped by the caller.
/// The rotary tables of one hierarchy: its length, rotary width and signed frequencies.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct RotaryTablesKey {
    len: crate::Dim,
    e: usize,
    freqs: Vec<u32>,
}

/// The permutation exchanging the sequence and heads axes of `[..., L, H, e]` (rank `rank`,
/// the lead axes before): its own inverse.
fn heads_perm(rank: usize) -> Vec<i64> {
    let lead = rank as i64 - 3;
    let mut perm: Vec<i64> = (0..lead).collect();
    perm.extend([lead + 1, lead, lead + 2]);
    perm
}

/// `[..., L, H·e]` -> `[..., H, L, e]`: the heads of one of q, k, v (`{name}_heads`, then
/// `{name}_t`).
pub fn to_heads(g: &mut Builder, name: &str, t: Value, h: usize, e: usize) -> Result<Value, crate::BuildError> {
    let rank = g.rank(t);
    let mut heads_shape = vec![0i64; rank - 1];
    heads_shape.extend([h as i64, e as i64]);
    let t = g.reshape_const(&format!("{name}_heads"), t, &heads_shape)?;
    g.transpose(&format!("{name}_t"), t, &heads_perm(rank + 1))
}

/// `[..., H, L, e]` -> `[..., L, H·e]`: the heads merged back (`out_t`, `out_merged`).
pub fn merge_heads(g: &mut Builder, out: Value, he: usize) -> Result<Value, crate::BuildError> {
    let rank = g.rank(out);
    let out = g.transpose("out_t", out, &heads_perm(rank))?;
    let mut merge_shape = vec![0i64; rank - 2];
    merge_shape.push(he as i64);
    g.reshape_const("out_merged", out, &merge_shape)
}

pub fn full_attention(g: &mut Builder, p: &Params, x: Value, a: FullAttention) -> Result<Value, EmitError> {
    let FullAttention { dim: d, heads: h, dim_head: e } = a;
    let rank = g.rank(x);
    let he = h * e;
    // 1. RMSNorm, qkv, heads: [..., L, d] -> 3 x [..., H, L, e]
    let xn = g.with_scope("norm", |g| rms_norm(g, &p.sub("norm"), x, d))?;
    let qkv = g.with_scope("to_qkv", |g| linear(g, &p.sub("to_qkv"), xn, d, 3 * he, false))?;
    let parts = g.split("qkv", qkv, -1, &[he as i64; 3])?;
    let mut qkv_heads = Vec::with_capacity(3);
    for (i, name) in ["q", "k", "v"].iter().enumerate() {
        qkv_heads.push(to_heads(g, name, parts[i], h, e)?);
    }
    // 2. rotate_queries_and_keys: interleaved rotary on positions 0..L-1, q·scale, k/scale
    let freqs = p.get("rotary_emb.freqs", &[(e / 2) as i64])?;
    let layout = RopeLayout { head_dim: e, start: 0, layout: Layout::Interleaved, freqs };
    // Layers of one hierarchy see the same length and (unless trained apart) the same
    // frequencies: their positions, cos/sin and xPos tables are built once and shared. Besides
    // saving nodes, this keeps tract 0.23 working: its declutter merges identical subgraphs of
    // different layers and, with one head, leaves a broken node ("eval() called on a Dummy op").
    let len_dim = g.shape(x).get(rank - 2).cloned().unwrap_or(crate::Dim::Unknown);
    let key = RotaryTablesKey { len: len_dim.clone(), e, freqs: layout.signed_freqs().iter().map(|f| f.to_bits()).collect() };
    let shared = match (len_dim, g.memo(&key)) {
        (crate::Dim::Unknown, _) | (_, None) => None,
        (_, Some(v)) => Some(v),
    };
    let (tq, tk, swap, t_col) = match shared {
        Some(v) => (Tables { cos: v[0], sin: v[1] }, Tables { cos: v[2], sin: v[3] }, rope::swap_plan(g, &layout)?, v[4]),
        None => g.with_scope("rotary", |g| -> Result<_, EmitError> {
            let n = rope::seq_len(g, "len", qkv_heads[0], -2)?;
            let t = rope::positions(g, "pos", None, n.scalar, 1.0)?.t;
            let t_col = rope::column(g, "pos_col", t, 1)?;
            let f = rope::freqs_const(g, &layout)?;
            let tabs = rope::tables(g, t_col, f)?;
            let swap = rope::swap_plan(g, &layout)?;
            let s = g.with_scope("xpos", |g| xpos::scale(g, t, n.scalar, &layout, &xpos::base(e), 512.0, 1))?;
            let tq = g.with_scope("q_xpos", |g| rope::scale_tables(g, tabs, s))?;
            let tk = g.with_scope("k_xpos", |g| {
                let inv = g.reciprocal("inv_scale", s)?;
                rope::scale_tables(g, tabs, inv)
            })?;
            g.set_memo(key, vec![tq.cos, tq.sin, tk.cos, tk.sin, t_col]);
            Ok((tq, tk, swap, t_col))
        })?,
    };
    let (q, k) = g.with_scope("rotary", |g| -> Result<_, EmitError> {
        let q = g.with_scope("q", |g| rope::apply(g, qkv_heads[0], tq, &swap))?;
        let k = g.with_scope("k", |g| rope::apply(g, qkv_heads[1], tk, &swap))?;
        Ok((q, k))
    })?;
    // 3. sim = (q · kᵀ) · e^-1/2: [..., H, L, L]
    let r = g.rank(k);
    let mut kt_perm: Vec<i64> = (0..r as i64).collect();
    kt_perm.swap(r - 1, r - 2);
    let kt = g.transpose("k_transposed", k, &kt_perm)?;
    let sim = g.matmul("qk", q, kt)?;
    let scale = g.const_scalar("scale", (e as f64).powf(-0.5) as f32, DType::F32)?;
    let sim = g.mul("sim", sim, scale)?;
    // 4. causal mask: key position > query position, from the rotary positions
    let t_row = g.transpose("pos_row", t_col, &[1, 0])?;
    let future = g.greater("causal_mask", t_row, t_col)?;
    let neg = g.const_scalar("neg_max", -f32::MAX, DType::F32)?;
    let sim = g.where_("sim_masked", future, neg, sim)?;
    // 5. softmax, values, merge heads: [..., H, L, e] -> [..., L, H, e] -> [..., L, He]
    let attn = g.softmax("attn", sim, -1)?;
    let out = g.matmul("out_heads", attn, qkv_heads[2])?;
    let out = merge_heads(g, out, he)?;
    g.with_scope("to_out", |g| linear(g, &p.sub("to_out"), out, he, d, false))
}
