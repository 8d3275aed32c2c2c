//! # `Split(input, split) {axis}`
//!
//! Sizes from the `split` input (opset 13+), the attribute, or equal chunks. Per-feature
//! transfer: a split of a trailing axis selects each output's features; of a leading axis
//! (tables) each output keeps them.

use super::{Entry, InferCtx, InferResult, Inferred, OpDef, known_shape, norm_axis};
use crate::error::InferError;
use crate::feat::{Analyzer, Feat, Mode, Transfer};
use crate::query::{attr_int, attr_ints, axis, const_ints, input, shape};
use crate::{Dim, Graph, Node, Value};

pub(super) const ENTRIES: &[Entry] = &[Entry { domain: "", ops: &["Split"], def: &SplitOp }];

struct SplitOp;

fn infer_split(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "input")?;
    let Some(s) = known_shape(x) else { return Ok(vec![Inferred::rankless(x.dtype); ctx.num_outputs]) };
    let ax = norm_axis(ctx.attr_int("axis")?.unwrap_or(0), s.len(), "axis")?;
    let n = ctx.num_outputs;
    if n == 0 {
        return Err(InferError::Invalid("Split declares no outputs".into()));
    }
    let sizes: Vec<Dim> = match (ctx.opt_input(1), ctx.attr_ints("split")?) {
        (Some(sp), _) => sp.sym_value.clone().ok_or(InferError::Invalid("split sizes must be constant".into()))?,
        (None, Some(sizes)) => sizes.into_iter().map(Dim::Fixed).collect(),
        (None, None) => match s[ax].fixed() {
            Some(d) if d < 0 => return Err(InferError::Invalid(format!("axis {ax} has negative size {d}"))),
            Some(d) => {
                let chunk = (d + n as i64 - 1) / n as i64;
                (0..n as i64).map(|i| Dim::Fixed((d - i * chunk).clamp(0, chunk))).collect()
            }
            None => vec![s[ax].div_floor(n as i64); n],
        },
    };
    if sizes.len() != n {
        return Err(InferError::Invalid(format!("{} split sizes for {n} outputs", sizes.len())));
    }
    Ok(sizes
        .into_iter()
        .map(|d| {
            let mut o = s.to_vec();
            o[ax] = d;
            Inferred::new(x.dtype, o)
        })
        .collect())
}

fn feat(a: &mut Analyzer, g: &Graph, n: &Node, v: Value) -> Option<Feat> {
    let x = input(n, 0)?;
    let f = a.feat(g, x)?;
    let r = shape(g, x)?.len();
    let ax = axis(attr_int(n, "axis", 0), r)?;
    let slot = n.outputs.iter().position(|o| *o == Some(v))?;
    let first = Analyzer::first_trailing(r, &f)?;
    if ax < first {
        return (a.mode() == Mode::Table).then_some(f);
    }
    let t = ax - first;
    let d = f.dims[t];
    let sizes: Vec<usize> = match input(n, 1).map(|s| const_ints(g, s)) {
        Some(s) => s?.iter().map(|x| usize::try_from(*x).ok()).collect::<Option<_>>()?,
        None => match attr_ints(n, "split") {
            Some(s) => s.iter().map(|x| usize::try_from(*x).ok()).collect::<Option<_>>()?,
            None => {
                let parts = n.outputs.len();
                let each = d.div_ceil(parts);
                (0..parts).map(|i| each.min(d.saturating_sub(i * each))).collect()
            }
        },
    };
    if sizes.iter().sum::<usize>() != d || slot >= sizes.len() {
        return None;
    }
    let start: usize = sizes[..slot].iter().sum();
    let keep: Vec<usize> = (start..start + sizes[slot]).collect();
    Analyzer::select(&f, t, &keep)
}

impl OpDef for SplitOp {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some(infer_split(ctx))
    }

    fn feat(&self, a: &mut Analyzer, g: &Graph, n: &Node, v: Value) -> Transfer {
        feat(a, g, n, v).into()
    }
}
