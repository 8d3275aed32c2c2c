//! # Reductions: `ReduceSum`, `ReduceMean`, `ReduceMax`, `ReduceL2`, `ReduceSumSquare` (inferred);
//! `ReduceL1`, `ReduceLogSum`, `ReduceLogSumExp`, `ReduceMin`, `ReduceProd` (opset facts)
//!
//! Axes as an input or an attribute (all axes when neither); `keepdims` leaves unit axes. From
//! opset 18 every reduction but `ReduceSum` (13) takes its axes as an input: a node with an
//! `axes` attribute changes meaning across 18. `ReduceMax`/`ReduceMin` of booleans exist from 20.

use super::{Entry, InferCtx, InferResult, Inferred, OpDef, known_shape, norm_axis};
use crate::error::InferError;
use crate::query::input;
use crate::{DType, Dim, Graph, Node};

pub(super) const ENTRIES: &[Entry] = &[
    Entry { domain: "", ops: &["ReduceL2", "ReduceMean", "ReduceMax", "ReduceSumSquare"], def: &Reduce { infers: true, axes_input_from_18: true } },
    Entry { domain: "", ops: &["ReduceSum"], def: &Reduce { infers: true, axes_input_from_18: false } },
    Entry {
        domain: "",
        ops: &["ReduceL1", "ReduceLogSum", "ReduceLogSumExp", "ReduceMin", "ReduceProd"],
        def: &Reduce { infers: false, axes_input_from_18: true },
    },
];

struct Reduce {
    infers: bool,
    /// Axes moved from an attribute to an input in opset 18 (`ReduceSum` did in 13).
    axes_input_from_18: bool,
}

fn infer_reduce(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "data")?;
    let Some(s) = known_shape(x) else { return Ok(vec![Inferred::rankless(x.dtype)]) };
    let keep = ctx.attr_int("keepdims")?.unwrap_or(1) != 0;
    let axes = match ctx.opt_input(1) {
        Some(a) => Some(super::fixed_values(a).ok_or(InferError::Invalid("axes must be a constant".into()))?),
        None => ctx.attr_ints("axes")?,
    };
    let axes: Vec<usize> = match axes {
        Some(a) => a.iter().map(|ax| norm_axis(*ax, s.len(), "axes")).collect::<Result<_, _>>()?,
        None => (0..s.len()).collect(),
    };
    let out: Vec<Dim> = s
        .iter()
        .enumerate()
        .filter_map(|(i, d)| match (axes.contains(&i), keep) {
            (true, true) => Some(Dim::Fixed(1)),
            (true, false) => None,
            (false, _) => Some(d.clone()),
        })
        .collect();
    Ok(vec![Inferred::new(x.dtype, out)])
}

impl OpDef for Reduce {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        self.infers.then(|| infer_reduce(ctx))
    }

    fn changes(&self, n: &Node, from: i64, to: i64) -> Option<String> {
        (self.axes_input_from_18 && from < 18 && 18 <= to && n.attr("axes").is_some())
            .then(|| format!("{} takes axes as an input from opset 18 (this node has an axes attribute)", n.op_type))
    }

    fn newer_form(&self, g: &Graph, n: &Node, to: i64) -> Option<String> {
        let minmax = matches!(n.op_type.as_str(), "ReduceMax" | "ReduceMin");
        (minmax && to < 20 && input(n, 0).is_some_and(|x| g.dtype(x) == DType::Bool)).then(|| format!("{} of booleans exists from opset 20", n.op_type))
    }
}
