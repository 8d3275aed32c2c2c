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
//! `Add(x, 0)` is left alone: it turns -0.0 into +0.0.
//! Not rewritten when `y` is a graph output and `x` is a graph input or another output (the
//! model's interface would change).

use rotor_builder::{Graph, NodeId, Value};

use crate::util::{attr_ints, can_forward, const_f64s, const_ints, constant, input, is_onnx, label, only_output, producer, same_shape, shape};
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
        "Slice" if read_after_write(g, n).is_some() => return read_after_write(g, n),
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

/// True for a Slice's `starts` (input 1), `axes` (3) and `steps` (4) that select rows `0..` of
/// axis 0 (a single axis, step 1).
fn leading_rows(g: &Graph, n: &rotor_builder::Node) -> bool {
    let one_axis = |slot: usize, want: i64| match input(n, slot) {
        Some(v) => const_ints(g, v).is_some_and(|a| a == [want]),
        None => true,
    };
    input(n, 1).and_then(|v| const_ints(g, v)).is_some_and(|s| s == [0]) && one_axis(3, 0) && one_axis(4, 1)
}

/// True when `idx` (ScatterND indices `[n, 1]`) is rows 0, 1, .., n-1 in order: a constant, or
/// `Unsqueeze(Slice(C, 0, _), -1)` of a constant `C[k] = k` (what torch writes for
/// `buffer[:n] = x`).
fn rows_in_order(g: &Graph, idx: Value) -> bool {
    let counts_up = |v: &[i64]| v.iter().enumerate().all(|(k, e)| *e == k as i64);
    if shape(g, idx).is_none_or(|s| s.len() != 2 || s[1] != rotor_builder::Dim::Fixed(1)) {
        return false;
    }
    if let Some(v) = const_ints(g, idx) {
        return counts_up(&v);
    }
    let Some(unsq) = producer(g, idx).filter(|p| is_onnx(p) && p.op_type == "Unsqueeze") else { return false };
    if !input(unsq, 1).and_then(|v| const_ints(g, v)).is_some_and(|a| a == [-1] || a == [1]) {
        return false;
    }
    let Some(rows) = input(unsq, 0).and_then(|v| producer(g, v)).filter(|p| is_onnx(p) && p.op_type == "Slice" && leading_rows(g, p)) else {
        return false;
    };
    input(rows, 0).and_then(|c| const_ints(g, c)).is_some_and(|v| counts_up(&v))
}

/// `Slice(ScatterND(d, idx, x), 0, _)` reading exactly the rows the scatter wrote: `idx` is
/// `Unsqueeze(Slice(C, 0, _), -1)` with `C[k] = k` (rows 0, 1, .. in order), reduction none,
/// and the slice's shape provably `x`'s. Returns `x`.
fn read_after_write(g: &Graph, n: &rotor_builder::Node) -> Option<Value> {
    let scatter = producer(g, input(n, 0)?)?;
    if !is_onnx(scatter) || scatter.op_type != "ScatterND" || !leading_rows(g, n) {
        return None;
    }
    if scatter.attr("reduction").is_some_and(|a| !matches!(a, rotor_builder::Attr::Str(s) if s == "none")) {
        return None;
    }
    let (idx, x) = (input(scatter, 1)?, input(scatter, 2)?);
    if !rows_in_order(g, idx) {
        return None;
    }
    let y = only_output(n)?;
    same_shape(shape(g, y)?, shape(g, x)?).then_some(x)
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
