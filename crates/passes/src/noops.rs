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
//! ```
//! `Add(x, 0)` is left alone: it turns -0.0 into +0.0.
//! Not rewritten when `y` is a graph output and `x` is a graph input or another output (the
//! model's interface would change).

use rotor_builder::{Graph, NodeId, Value};

use crate::util::{attr_ints, can_forward, const_f64s, const_ints, constant, input, is_onnx, label, only_output, same_shape, shape};
use crate::{Cx, Pass, PassError};

pub const NAME: &str = "eliminate_noops";
pub const SUMMARY: &str = "remove Identity, same-type Cast, same-shape Reshape/Expand, identity Transpose/Slice, x*1, ...";

/// The pass.
pub struct EliminateNoops;

/// The value a no-op node passes through, if `id` is one.
fn passthrough(g: &Graph, id: NodeId) -> Option<Value> {
    let n = g.node(id)?;
    if !is_onnx(n) {
        return None;
    }
    let y = only_output(n)?;
    let x = input(n, 0)?;
    let same = || match (shape(g, x), shape(g, y)) {
        (Some(a), Some(b)) => same_shape(a, b),
        _ => false,
    };
    let ok = match n.op_type.as_str() {
        "Identity" => n.outputs.len() == 1,
        "Dropout" => n.outputs.len() == 1 && n.inputs.len() == 1,
        "Cast" => g.dtype(x) == g.dtype(y) && g.dtype(x).is_computable(),
        "CastLike" => input(n, 1).is_some_and(|t| g.dtype(t) == g.dtype(x)) && g.dtype(x).is_computable(),
        "Reshape" | "Expand" => same(),
        "Transpose" => match attr_ints(n, "perm") {
            Some(p) => p.iter().enumerate().all(|(i, a)| *a == i as i64),
            None => shape(g, x).is_some_and(|s| s.len() <= 1),
        },
        "Slice" => {
            let starts = input(n, 1).and_then(|v| const_ints(g, v));
            let steps = match input(n, 4) {
                Some(v) => const_ints(g, v),
                None => starts.as_ref().map(|s| vec![1; s.len()]),
            };
            starts.is_some_and(|s| s.iter().all(|a| *a == 0)) && steps.is_some_and(|s| s.iter().all(|a| *a == 1)) && same()
        }
        "Concat" => n.inputs.len() == 1,
        "Squeeze" | "Unsqueeze" => input(n, 1).and_then(|v| const_ints(g, v)).is_some_and(|a| a.is_empty()),
        "Mul" | "Div" | "Sub" => {
            let want = if n.op_type == "Sub" { 0.0 } else { 1.0 };
            input(n, 1).is_some_and(|c| {
                constant(g, c).is_some_and(|t| t.dtype() == g.dtype(x)) && const_f64s(g, c).is_some_and(|v| !v.is_empty() && v.iter().all(|e| *e == want))
            }) && same()
        }
        _ => false,
    };
    ok.then_some(x)
}

impl Pass for EliminateNoops {
    fn name(&self) -> &'static str {
        NAME
    }

    fn run(&self, g: &mut Graph, cx: &mut Cx) -> Result<usize, PassError> {
        let ids: Vec<NodeId> = g.nodes().iter().map(|n| n.id).collect();
        let mut done = 0;
        for id in ids {
            let Some(x) = passthrough(g, id) else { continue };
            let Some(n) = g.node(id) else { continue };
            let Some(y) = only_output(n) else { continue };
            if !can_forward(g, y, x) {
                let name = label(g, n);
                cx.reject(&name, format!("{} is a no-op but its output is a graph output that {} cannot take over", n.op_type, g.value_name(x)));
                continue;
            }
            g.replace_all_uses(y, x).map_err(|e| cx.build_error(e))?;
            g.remove_node(id).map_err(|e| cx.build_error(e))?;
            done += 1;
        }
        Ok(done)
    }
}
