//! No-op elimination.
//!
//! Pattern (each `y` is then read as `x`):
//! ```text
//! y = Identity(x)
//! y = Dropout(x)                          inference form: no ratio/training_mode inputs, mask unread
//! y = Cast(x) {to: T}                     x already of type T
//! y = CastLike(x, t)                      x already of t's type
//! y = Reshape(x, s) | Expand(x, s)        y's shape provably equal to x's (no unknown dims)
//! y = Transpose(x) {perm: 0..r}           identity permutation
//! y = Slice(x, 0s, _, _, 1s)              starts all 0, steps all 1, shape of y provably x's
//! y = Concat(x)                           a single input
//! y = Mul(x, 1) | Div(x, 1) | Sub(x, 0)   a constant operand of x's type whose every element is
//!                                          1 (or 0) and that does not broadcast x to a new shape
//! y = Squeeze(x, []) | Unsqueeze(x, [])   empty constant axes
//! y = Slice(ScatterND(d, Unsqueeze(Slice(C, 0, _), -1), x), 0, _)
//!                                          a read of the rows just written: C = 0, 1, 2, ...
//!                                          (so x's rows land in rows 0..n), y provably x's
//!                                          shape (rotary-embedding-torch's frequency cache:
//!                                          `cached_freqs[:n] = freqs; ... cached_freqs[:n]`)
//! ```
//! `Add(x, 0)` is left alone: it turns -0.0 into +0.0. Each condition is declared by its op in
//! the registry (`rotor_ir::ops`, `OpDef::noop`); this pass is the driver.
//! Not rewritten when `y` is a graph output and `x` is a graph input or another output (the
//! model's interface would change).

use rotor_ir::{Graph, NodeId, Value};

use crate::patch::Patch;
use crate::util::{can_forward, is_onnx, label, only_output};
use crate::{Cx, PassError, Rule};

pub const NAME: &str = "eliminate_noops";
pub const SUMMARY: &str = "remove Identity, same-type Cast, same-shape Reshape/Expand, identity Transpose/Slice, x*1, ...";

/// The pass.
pub struct EliminateNoops;

/// The value a no-op node passes through, if `id` is one: an ai.onnx node with one output whose
/// op declares it a no-op here (the conditions live with each op in `rotor_ir::ops`).
fn passthrough(g: &Graph, id: NodeId) -> Option<Value> {
    let n = g.node(id)?;
    if !is_onnx(n) {
        return None;
    }
    only_output(n)?;
    rotor_ir::ops::lookup(&n.domain, &n.op_type)?.noop(g, n)
}

impl Rule for EliminateNoops {
    fn name(&self) -> &'static str {
        NAME
    }

    fn rewrite(&mut self, g: &Graph, at: Option<NodeId>, cx: &mut Cx) -> Result<Option<Patch>, PassError> {
        let Some(id) = at else { return Ok(None) };
        let Some(x) = passthrough(g, id) else { return Ok(None) };
        let Some(n) = g.node(id) else { return Ok(None) };
        let Some(y) = only_output(n) else { return Ok(None) };
        if !can_forward(g, y, x) {
            let name = label(g, n);
            cx.reject(&name, format!("{} is a no-op but its output is a graph output that {} cannot take over", n.op_type, g.value_name(x)));
            return Ok(None);
        }
        let mut p = Patch::new(g);
        let tx = p.tap(g, x).map_err(|e| cx.build_error(e))?;
        p.shunt(y, tx);
        p.remove_nodes(&[id]);
        Ok(Some(p))
    }
}
