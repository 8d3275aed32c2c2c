//! # Axial fold / unfold
//!
//! The hierarchical block's `pad_seq_to_multiple` + `rearrange('b (n c) d -> (b c) n d')` and
//! back. Rotor keeps the `c` sub-streams as an extra axis instead of merging them into the batch
//! (`[B, n, d]` → `[B, a, L, d]`, `L = ceil(n/a)`): attention and feed-forward act on the last two
//! axes, so this is the same computation without a dynamic batch reshape. Zero padding rows
//! sit at the end of each sub-stream (causal, so they never reach real rows) and are sliced off.
//! Opsets 17+.

use crate::emit::{first_rows, pad_to_multiple};
use crate::error::BuildError;
use crate::{Builder, Value};

/// `[B, n, d]` → `[B, a, L, d]` with zero padding to `L·a` rows; also returns `n` as `[1]`.
pub fn fold(g: &mut Builder, x: Value, a: usize, d: usize) -> Result<(Value, Value), BuildError> {
    // 1. pad rows to a multiple of a: [B, n, d] -> [B, a*ceil(n/a), d]
    let n = g.shape_of("len", x, 1, Some(2))?;
    let padded = pad_to_multiple(g, "pad", x, n, a, 1)?;
    // 2. row k*a + j -> sub-stream j, time k: [B, L*a, d] -> [B, L, a, d] -> [B, a, L, d]
    let grouped = g.reshape_const("grouped", padded, &[0, -1, a as i64, d as i64])?;
    Ok((g.transpose("", grouped, &[0, 2, 1, 3])?, n))
}

/// `[B, a, L, d]` → `[B, n, d]` (inverse of [`fold`], dropping the padding rows).
pub fn unfold(g: &mut Builder, x: Value, n: Value, d: usize) -> Result<Value, BuildError> {
    // [B, a, L, d] -> [B, L, a, d] -> [B, L*a, d]
    let t = g.transpose("interleave", x, &[0, 2, 1, 3])?;
    let rows = g.reshape_const("rows", t, &[0, -1, d as i64])?;
    first_rows(g, "", rows, n, 1)
}
