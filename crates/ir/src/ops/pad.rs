//! # `Pad(data, pads, constant_value, axes) {mode}`
//!
//! Each padded dim grows by its two pads (symbolic when the pads are). The `wrap` mode exists
//! from opset 19.

use super::{Entry, InferCtx, InferResult, Inferred, OpDef, fixed_values, known_shape, norm_axis, want_int};
use crate::error::InferError;
use crate::{Attr, Dim, Graph, Node};

pub(super) const ENTRIES: &[Entry] = &[Entry { domain: "", ops: &["Pad"], def: &PadOp }];

struct PadOp;

fn infer_pad(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "data")?;
    let pads = ctx.input(1, "pads")?;
    want_int(pads, 1)?;
    let Some(s) = known_shape(x) else { return Ok(vec![Inferred::rankless(x.dtype)]) };
    let axes: Vec<usize> = match ctx.opt_input(3) {
        Some(a) => fixed_values(a)
            .ok_or(InferError::Invalid("axes must be a constant".into()))?
            .iter()
            .map(|a| norm_axis(*a, s.len(), "axes"))
            .collect::<Result<_, _>>()?,
        None => (0..s.len()).collect(),
    };
    let mut out = s.to_vec();
    match &pads.sym_value {
        Some(p) if p.len() == 2 * axes.len() => {
            for (i, ax) in axes.iter().enumerate() {
                out[*ax] = s[*ax].add(&p[i]).add(&p[i + axes.len()]);
            }
        }
        Some(p) => return Err(InferError::Invalid(format!("pads has {} entries, expected {}", p.len(), 2 * axes.len()))),
        None => axes.iter().for_each(|ax| out[*ax] = Dim::Unknown),
    }
    Ok(vec![Inferred::new(x.dtype, out)])
}

impl OpDef for PadOp {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some(infer_pad(ctx))
    }

    fn newer_form(&self, _g: &Graph, n: &Node, to: i64) -> Option<String> {
        (matches!(n.attr("mode"), Some(Attr::Str(m)) if m == "wrap") && to < 19).then(|| "Pad uses an attribute or mode of opset 19".to_string())
    }
}
