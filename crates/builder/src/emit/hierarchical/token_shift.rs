//! # Token shift
//!
//! simple-hierarchical-transformer `token_shift` (from RWKV): split the features in two
//! (`ceil(d/2)`, `floor(d/2)`), shift the second half one step along the sequence (axis -2:
//! prepend a zero row, drop the last), concatenate. Opsets 17+, any rank ≥ 2.

use crate::Dim;
use crate::error::BuildError;
use crate::{Builder, Value};

/// `cat(a, shift_right(b))` along the last axis.
pub fn token_shift(g: &mut Builder, x: Value) -> Result<Value, BuildError> {
    let shape = g.shape(x).to_vec();
    let rank = shape.len();
    let d = shape
        .last()
        .and_then(Dim::fixed)
        .ok_or_else(|| BuildError::Graph { graph: g.name().into(), message: "token_shift needs a fixed feature size".into() })?;
    let first = (d + 1) / 2;
    // [..., L, d] -> [..., L, ceil(d/2)], [..., L, floor(d/2)]
    let parts = g.split("split", x, -1, &[first, d - first])?;
    // drop the last row, prepend a zero row: [..., L, d/2] -> [..., L, d/2]
    let dropped = g.slice_const("drop_last", parts[1], -2, 0, -1, 1)?;
    let mut pads = vec![0i64; 2 * rank];
    pads[rank - 2] = 1;
    let pads = g.const_i64s("pads", &pads)?;
    let shifted = g.pad("shifted", dropped, pads, None)?;
    g.concat("", &[parts[0], shifted], -1)
}
