//! # HierarchicalTransformer (`kind: "hierarchical_transformer"`)
//!
//! Spec: simple-hierarchical-transformer 0.4.0 `HierarchicalTransformer.forward(ids)` in eval
//! mode (`../shared/reference/hierarchical_transformer.md` §2). Opsets 17+, float32.
//! Input `ids` int64 `[B, N]`, 1 ≤ N ≤ seq_len, both symbolic; output `logits`
//! `[B, N_out, num_tokens]`. Every length-dependent quantity (padding, window counts, xPos
//! centres, stride repeats) is computed in the graph from N.
//!
//! Node names follow the PyTorch module paths (`layers.0.1.attn.to_qkv`), so graph text and ORT
//! errors point at the module a user knows.

pub mod axial;
pub mod compress;
pub mod feed_forward;
pub mod full_attention;
pub mod linear;
pub mod local_attention;
pub mod merge;
pub mod norm;
pub mod params;
pub mod token_shift;

use crate::DType;
use crate::Dim;
use crate::Tensor;
use crate::config::{HierarchicalConfig, Hierarchy, Window};
use crate::emit::hierarchical::axial::{fold, unfold};
use crate::emit::hierarchical::compress::compress;
use crate::emit::hierarchical::feed_forward::feed_forward;
use crate::emit::hierarchical::full_attention::{FullAttention, full_attention};
use crate::emit::hierarchical::linear::linear;
use crate::emit::hierarchical::local_attention::{LocalAttention, local_attention};
use crate::emit::hierarchical::merge::{Stream, hierarchical_cat, merge};
use crate::emit::hierarchical::norm::layer_norm;
use crate::emit::hierarchical::params::{ParamSource, Params};
use crate::emit::hierarchical::token_shift::token_shift;
use crate::error::EmitError;
use crate::weights::WeightMap;
use crate::{Builder, Value};

/// State-dict prefixes that only training reads (reconstruction and next-latent losses).
pub fn training_only_key(key: &str) -> bool {
    key.starts_with("latent_dynamics.") || key.starts_with("chunk_summarizers.") || (key.starts_with("compressors.") && key.contains(".to_recon."))
}

/// One `HierarchicalBlock` on `x` `[B, n_h, d]`: axial fold (when c ≠ 1), token-shifted
/// attention and feed-forward with residuals, unfold. Weights under `p` (`attn.*`, `ff.*`).
pub fn block(g: &mut Builder, p: &Params, x: Value, h: &Hierarchy) -> Result<Value, EmitError> {
    let a = h.axial();
    // 1. [B, n, d] -> [B, a, L, d] (zero rows to a multiple of a); a == 1 is a no-op
    let (mut y, n) = if a > 1 {
        let (f, n) = g.with_scope("fold", |g| fold(g, x, a, h.dim))?;
        (f, Some(n))
    } else {
        (x, None)
    };
    // 2. x = attn(token_shift(x)) + x
    let attn = match h.window {
        Window::NoAttention => None,
        Window::Local(w) => Some(AttnKind::Local(LocalAttention { dim: h.dim, heads: h.heads, dim_head: h.dim_head, window: w })),
        Window::Full => Some(AttnKind::Full(FullAttention { dim: h.dim, heads: h.heads, dim_head: h.dim_head })),
    };
    if let Some(kind) = attn {
        let shifted = g.with_scope("attn_shift", |g| token_shift(g, y))?;
        let out = g.with_scope("attn", |g| match kind {
            AttnKind::Local(la) => local_attention(g, &p.sub("attn"), shifted, la),
            AttnKind::Full(fa) => full_attention(g, &p.sub("attn"), shifted, fa),
        })?;
        y = g.add("attn_residual", out, y)?;
    }
    // 3. x = ff(token_shift(x)) + x
    let shifted = g.with_scope("ff_shift", |g| token_shift(g, y))?;
    let out = g.with_scope("ff", |g| feed_forward(g, &p.sub("ff"), shifted, h.dim, h.ff_inner()))?;
    y = g.add("ff_residual", out, y)?;
    // 4. [B, a, L, d] -> [B, n, d]
    match n {
        Some(n) => Ok(g.with_scope("unfold", |g| unfold(g, y, n, h.dim))?),
        None => Ok(y),
    }
}

#[derive(Clone, Copy)]
enum AttnKind {
    Local(LocalAttention),
    Full(FullAttention),
}

/// Build the whole model from its config and checkpoint.
pub fn build(cfg: &HierarchicalConfig, weights: &WeightMap) -> Result<crate::Graph, EmitError> {
    let mut g = Builder::new("hierarchical_transformer", cfg.common.opset)?;
    let src = ParamSource::new(weights);
    let root = src.root();
    let big_d = cfg.token_dim();
    let nh = cfg.hierarchies.len();
    let ids = g.input("ids", DType::I64, [Dim::sym("B"), Dim::sym("N")])?;

    // 1. embedding, with a guard that fails at run time when N > seq_len (index out of range)
    let table = root.tensor("token_emb.weight", &[cfg.num_tokens as i64, big_d as i64])?;
    let x = g.with_scope("token_emb", |g| -> Result<Value, EmitError> {
        let t = g.constant("weight", table)?;
        let x = g.gather("lookup", t, ids, 0)?;
        let n = g.shape_of("len", ids, 1, Some(2))?;
        let one = g.const_i64s("one", &[1])?;
        let last = g.sub("last_index", n, one)?;
        let ones = g.constant(
            "seq_len_guard",
            Tensor::f32(vec![cfg.seq_len as i64], vec![1.0; cfg.seq_len]).map_err(crate::emit::rotary::rope::bad("seq_len_guard"))?,
        )?;
        let guard = g.gather("assert_len_le_seq_len", ones, last, 0)?;
        Ok(g.mul("", x, guard)?)
    })?;

    // 2. compress per hierarchy, post-embedding LayerNorm
    let mut tokens = Vec::with_capacity(nh);
    for (i, h) in cfg.hierarchies.iter().enumerate() {
        let p = root.sub(&format!("compressors.{i}"));
        let t = g.with_scope(&format!("compressors.{i}"), |g| compress(g, &p, x, h.compress, h.stride, big_d, h.dim))?;
        let t = g.with_scope(&format!("post_token_emb_norms.{i}"), |g| layer_norm(g, &root.sub(&format!("post_token_emb_norms.{i}")), t, h.dim))?;
        tokens.push(t);
    }

    // 3. layers: a block per hierarchy, then the merge into the predicting hierarchy (or all)
    let p_idx = cfg.predict_index;
    for l in 0..cfg.depth {
        for (i, h) in cfg.hierarchies.iter().enumerate() {
            let path = format!("layers.{l}.{i}");
            tokens[i] = g.with_scope(&path, |g| block(g, &root.sub(&path), tokens[i], h))?;
        }
        if nh > 1 {
            let path = format!("hierarchical_merges.{l}");
            let streams: Vec<Stream> = cfg.hierarchies.iter().zip(&tokens).map(|(h, t)| Stream { tokens: *t, stride: h.stride, dim: h.dim }).collect();
            let out_dim = if cfg.hierarchy_merge_all { cfg.total_dim() } else { cfg.hierarchies[p_idx].dim };
            let pooled = g.with_scope(&path, |g| merge(g, &root.sub(&path), &streams, out_dim))?;
            if cfg.hierarchy_merge_all {
                // split pooled features by dims; hierarchy h takes every s_h-th row
                let dims: Vec<i64> = cfg.hierarchies.iter().map(|h| h.dim as i64).collect();
                let chunks = g.with_scope(&path, |g| g.split("split", pooled, -1, &dims))?;
                for (i, h) in cfg.hierarchies.iter().enumerate() {
                    let part = g.with_scope(&path, |g| -> Result<Value, crate::BuildError> {
                        if h.stride == 1 {
                            return Ok(chunks[i]);
                        }
                        let n = g.shape_of(&format!("h{i}_len"), tokens[i], 1, Some(2))?;
                        let n = g.squeeze(&format!("h{i}_len_scalar"), n, &[0])?;
                        crate::emit::every_nth_row(g, &format!("h{i}_rows"), chunks[i], h.stride, n)
                    })?;
                    tokens[i] = g.with_scope(&path, |g| g.add(&format!("h{i}_residual"), tokens[i], part))?;
                }
            } else {
                tokens[p_idx] = g.with_scope(&path, |g| g.add("residual", tokens[p_idx], pooled))?;
            }
        }
    }

    // 4. final norms, prediction embedding, logits
    let mut embeds = Vec::with_capacity(nh);
    for (i, h) in cfg.hierarchies.iter().enumerate() {
        embeds.push(g.with_scope(&format!("norms.{i}"), |g| layer_norm(g, &root.sub(&format!("norms.{i}")), tokens[i], h.dim))?);
    }
    let (pe, pe_dim) = if cfg.predict_use_all_hierarchy {
        let streams: Vec<Stream> = cfg.hierarchies.iter().zip(&embeds).map(|(h, t)| Stream { tokens: *t, stride: h.stride, dim: h.dim }).collect();
        (g.with_scope("predict_cat", |g| hierarchical_cat(g, &streams))?, cfg.total_dim())
    } else {
        (embeds[p_idx], cfg.hierarchies[p_idx].dim)
    };
    let logits = g.with_scope("to_logits", |g| linear(g, &root.sub("to_logits"), pe, pe_dim, cfg.num_tokens, false))?;
    g.output("logits", logits)?;

    // 5. the checkpoint must not hold weights this config does not read (a mismatch)
    let unused = src.unused(training_only_key);
    if let Some(first) = unused.first() {
        return Err(EmitError::Weight {
            key: first.clone(),
            message: format!(
                "is in the checkpoint but not used by this config ({} such keys): does the config match the checkpoint (depth, hierarchies, window_sizes)?",
                unused.len()
            ),
        });
    }
    Ok(g.finish()?)
}
