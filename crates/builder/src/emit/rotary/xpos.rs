//! # xPos — length-extrapolatable rotary scaling
//!
//! Spec: Sun et al., *A Length-Extrapolatable Transformer* (arXiv:2212.10554); semantics of
//! rotary-embedding-torch 0.9.1 `get_scale`. Opsets 17+; the scale is computed in f32.
//!
//! `scale[t, j] = base[j] ** ((t - len(t) // 2) / scale_base)` with
//! `base[i] = (2i + 0.4·dim) / (1.4·dim)` per pair. Queries are multiplied by `scale`, keys by
//! `scale ** -1`. The centre is `len // 2` of the *current* position vector, computed in-graph.

use crate::DType;
use crate::Tensor;
use crate::emit::rotary::rope::{RopeLayout, bad, column};
use crate::error::BuildError;
use crate::{Builder, Value};

/// `(arange(0, dim, 2) + 0.4 * dim) / (1.4 * dim)`, evaluated in float32 as the package does
/// (the module's non-persistent `scale` buffer; a live module may carry other values, which the
/// emitters take instead when given).
pub fn base(dim: usize) -> Vec<f32> {
    let add = (0.4 * dim as f64) as f32;
    let div = (1.4 * dim as f64) as f32;
    (0..dim / 2).map(|i| ((2 * i) as f32 + add) / div).collect()
}

/// `power = (t - len // 2) / scale_base` as a column `[N, 1…]` with `ones` unit axes, in f32;
/// floor(len / 2) is taken in f32 (exact below 2^24), which also keeps an integer Div of a
/// symbolic length away from tract's optimiser.
fn power_column(g: &mut Builder, t: Value, len: Value, scale_base: f64, ones: usize) -> Result<Value, BuildError> {
    let two = g.const_scalar("two", 2.0, DType::F32)?;
    let len_f = g.cast("len_f32", len, DType::F32)?;
    let half = g.div("half", len_f, two)?;
    let centre = g.floor("centre", half)?;
    let shifted = g.sub("shifted", t, centre)?;
    let sb = g.const_scalar("scale_base", scale_base as f32, DType::F32)?;
    let power = g.div("power", shifted, sb)?;
    column(g, "power_col", power, ones)
}

/// The scale table `[N, 1…, head_dim]` for positions `t` (f32 `[N]`, already divided by the
/// interpolation factor) and a centre `len // 2` (int64 scalar). Features outside the rotated
/// range get base 1, hence scale 1. `pairs` is the base per rotated pair ([`base`] of the
/// rotary dim, or a module's own `scale` buffer).
pub fn scale(g: &mut Builder, t: Value, len: Value, layout: &RopeLayout, pairs: &[f32], scale_base: f64, ones: usize) -> Result<Value, BuildError> {
    let power_col = power_column(g, t, len, scale_base, ones)?;
    // base ** power: [D] ** [N, 1…] -> [N, 1…, D]
    let per_feature = layout.per_feature(pairs, 1.0);
    let b = g.constant("base", Tensor::f32(vec![layout.head_dim as i64], per_feature).map_err(bad("base"))?)?;
    g.pow("", b, power_col)
}

/// The scale per rotated pair `[N, dim/2]` (the fused ops' cache layout): [`scale`] without
/// the expansion to features.
pub fn scale_per_pair(g: &mut Builder, t: Value, len: Value, pairs: &[f32], scale_base: f64) -> Result<Value, BuildError> {
    let power_col = power_column(g, t, len, scale_base, 1)?;
    let b = g.constant("base", Tensor::f32(vec![pairs.len() as i64], pairs.to_vec()).map_err(bad("base"))?)?;
    g.pow("", b, power_col)
}

#[cfg(test)]
mod tests {
    #[test]
    fn base_matches_package_values() {
        // RotaryEmbedding(16, use_xpos=True).scale, rotary-embedding-torch 0.9.1 (reference doc §7).
        let want = [0.2857143f32, 0.375, 0.4642857, 0.5535714, 0.6428571, 0.7321429, 0.8214286, 0.9107143];
        let got = super::base(16);
        for (a, b) in got.iter().zip(want) {
            assert!((a - b).abs() <= 1e-7, "{a} vs {b}");
        }
    }
}
