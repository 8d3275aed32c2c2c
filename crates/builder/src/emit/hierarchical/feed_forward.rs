//! # FeedForward (`simple_hierarchical_transformer.FeedForward`)
//!
//! `RMSNorm → Linear(d, int(d·mult), no bias) → GELU (exact erf) → Linear(·, d, no bias)`, weights
//! `net.0.gamma`, `net.1.weight`, `net.3.weight`. Opsets 17+ (`Gelu` op from opset 20, its erf
//! form before). Float32, any leading axes.

use crate::emit::hierarchical::linear::linear;
use crate::emit::hierarchical::norm::rms_norm;
use crate::emit::hierarchical::params::Params;
use crate::error::EmitError;
use crate::{Builder, Value};

/// `FeedForward` on `x` `[..., d]`; node names are scoped by the caller.
pub fn feed_forward(g: &mut Builder, p: &Params, x: Value, d: usize, inner: usize) -> Result<Value, EmitError> {
    let xn = g.with_scope("norm", |g| rms_norm(g, &p.sub("net.0"), x, d))?;
    let hdn = g.with_scope("proj_in", |g| linear(g, &p.sub("net.1"), xn, d, inner, false))?;
    let act = g.gelu("gelu", hdn)?;
    g.with_scope("proj_out", |g| linear(g, &p.sub("net.3"), act, inner, d, false))
}
