//! # `Squeeze(data, axes)` and `Unsqueeze(data, axes)`
//!
//! Axes as an input (opset 13+) or, in older models, an attribute; `Squeeze` without axes drops
//! every unit axis. Symbolic values pass through. Exact evaluation; empty constant axes are a
//! no-op. Per-feature transfer: unit axes come and go around the described trailing axes (a
//! rotation may not squeeze a leading axis); an `Unsqueeze` keeps an axis viewed last.

use super::{Entry, InferCtx, InferResult, Inferred, OpDef, fixed_values, known_shape, norm_axis};
use crate::error::InferError;
use crate::eval::Arr;
use crate::feat::{Analyzer, Feat, Mode, Transfer};
use crate::query::{attr_ints, axis, const_ints, input, shape};
use crate::{DType, Dim, Graph, Node, Value};

pub(super) const ENTRIES: &[Entry] = &[Entry { domain: "", ops: &["Squeeze", "Unsqueeze"], def: &SqueezeOps }];

struct SqueezeOps;

fn axes_input_or_attr(ctx: &InferCtx, index: usize) -> Result<Option<Vec<i64>>, InferError> {
    if let Some(a) = ctx.opt_input(index) {
        return fixed_values(a).map(Some).ok_or(InferError::Invalid("axes must be a constant".into()));
    }
    ctx.attr_ints("axes")
}

fn infer_squeeze(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "data")?;
    let Some(s) = known_shape(x) else { return Ok(vec![Inferred::rankless(x.dtype)]) };
    let axes = axes_input_or_attr(ctx, 1)?;
    let drop: Vec<usize> = match axes {
        Some(a) => a.iter().map(|ax| norm_axis(*ax, s.len(), "axes")).collect::<Result<_, _>>()?,
        None => s.iter().enumerate().filter(|(_, d)| d.fixed() == Some(1)).map(|(i, _)| i).collect(),
    };
    for &i in &drop {
        if let Some(k) = s[i].fixed().filter(|k| *k != 1) {
            return Err(InferError::Invalid(format!("cannot squeeze axis {i} of size {k}")));
        }
    }
    let out: Vec<Dim> = s.iter().enumerate().filter(|(i, _)| !drop.contains(i)).map(|(_, d)| d.clone()).collect();
    Ok(vec![Inferred::new(x.dtype, out).with_value(x.sym_value.clone())])
}

fn infer_unsqueeze(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "data")?;
    let Some(s) = known_shape(x) else { return Ok(vec![Inferred::rankless(x.dtype)]) };
    let axes = axes_input_or_attr(ctx, 1)?.ok_or(InferError::MissingInput { index: 1, what: "axes" })?;
    let rank = s.len() + axes.len();
    let mut at: Vec<usize> = axes.iter().map(|a| norm_axis(*a, rank, "axes")).collect::<Result<_, _>>()?;
    at.sort_unstable();
    let mut out = Vec::with_capacity(rank);
    let mut src = s.iter();
    for i in 0..rank {
        if at.contains(&i) {
            out.push(Dim::Fixed(1));
        } else if let Some(d) = src.next() {
            out.push(d.clone());
        }
    }
    Ok(vec![Inferred::new(x.dtype, out).with_value(x.sym_value.clone())])
}

fn feat_unsqueeze(a: &mut Analyzer, g: &Graph, n: &Node, v: Value) -> Option<Feat> {
    let x = input(n, 0)?;
    let f = a.feat(g, x)?;
    let r = shape(g, x)?.len();
    let axes = match input(n, 1) {
        Some(a) => const_ints(g, a)?,
        None => attr_ints(n, "axes")?,
    };
    let ro = shape(g, v)?.len();
    let axes: Vec<usize> = axes.iter().map(|a| axis(*a, ro)).collect::<Option<_>>()?;
    if ro != r + axes.len() {
        return None;
    }
    let first = Analyzer::first_trailing(r, &f)?;
    // output position of the first trailing input axis
    let mut o = 0;
    let mut seen = 0;
    while seen <= first {
        if !axes.contains(&o) {
            seen += 1;
        }
        o += 1;
    }
    let start = o - 1;
    let mut dims = Vec::with_capacity(ro - start);
    let mut it = f.dims.iter();
    for p in start..ro {
        dims.push(if axes.contains(&p) { 1 } else { *it.next()? });
    }
    Some(Feat { dims, entries: f.entries })
}

/// Unsqueeze's output axis `axis` viewed last: the input's axis it comes from, viewed last
/// (an inserted axis has size 1 and never gets here).
fn feat_unsqueeze_moved(a: &mut Analyzer, g: &Graph, n: &Node, v: Value, at: usize) -> Option<Feat> {
    let x = input(n, 0)?;
    let axes = match input(n, 1) {
        Some(a) => const_ints(g, a)?,
        None => attr_ints(n, "axes")?,
    };
    let ro = shape(g, v)?.len();
    let axes: Vec<usize> = axes.iter().map(|a| axis(*a, ro)).collect::<Option<_>>()?;
    if axes.contains(&at) {
        return None;
    }
    let before = axes.iter().filter(|a| **a < at).count();
    a.feat_moved(g, x, at - before)
}

fn feat_squeeze(a: &mut Analyzer, g: &Graph, n: &Node) -> Option<Feat> {
    let x = input(n, 0)?;
    let f = a.feat(g, x)?;
    let s = shape(g, x)?;
    let r = s.len();
    let axes = match input(n, 1) {
        Some(a) => const_ints(g, a)?,
        None => attr_ints(n, "axes")?,
    };
    let axes: Vec<usize> = axes.iter().map(|a| axis(*a, r)).collect::<Option<_>>()?;
    let first = Analyzer::first_trailing(r, &f)?;
    if a.mode() == Mode::Rotation && axes.iter().any(|a| *a < first) {
        return None;
    }
    let mut dims = Vec::new();
    for (i, d) in f.dims.iter().enumerate() {
        if axes.contains(&(first + i)) {
            if *d != 1 {
                return None;
            }
        } else {
            dims.push(*d);
        }
    }
    if dims.is_empty() {
        dims.push(1);
        if f.total() != 1 {
            return None;
        }
    }
    Some(Feat { dims, entries: f.entries })
}

impl OpDef for SqueezeOps {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some(if ctx.op == "Squeeze" { infer_squeeze(ctx) } else { infer_unsqueeze(ctx) })
    }

    fn eval(&self, n: &Node, ins: &[Option<Arr>], _out: DType) -> Option<Vec<Arr>> {
        let a = ins.first()?.as_ref()?;
        let axes: Vec<i64> = match ins.get(1).and_then(Option::as_ref) {
            Some(v) => v.ints()?.to_vec(),
            None => attr_ints(n, "axes").unwrap_or_default(),
        };
        let mut dims = a.dims.clone();
        if n.op_type == "Unsqueeze" {
            let r = dims.len() + axes.len();
            let mut ax: Vec<usize> = axes.iter().map(|v| axis(*v, r)).collect::<Option<_>>()?;
            ax.sort_unstable();
            for v in ax {
                dims.insert(v, 1);
            }
        } else {
            let r = dims.len();
            let ax: Vec<usize> =
                if axes.is_empty() { (0..r).filter(|i| dims[*i] == 1).collect() } else { axes.iter().map(|v| axis(*v, r)).collect::<Option<_>>()? };
            if ax.iter().any(|i| dims[*i] != 1) {
                return None;
            }
            dims = dims.iter().enumerate().filter(|(i, _)| !ax.contains(i)).map(|(_, d)| *d).collect();
        }
        Some(vec![Arr { dims, ..a.clone() }])
    }

    fn feat(&self, a: &mut Analyzer, g: &Graph, n: &Node, v: Value) -> Transfer {
        if n.op_type == "Unsqueeze" { feat_unsqueeze(a, g, n, v) } else { feat_squeeze(a, g, n) }.into()
    }

    fn feat_moved(&self, a: &mut Analyzer, g: &Graph, n: &Node, v: Value, axis: usize) -> Transfer {
        if n.op_type != "Unsqueeze" {
            return Transfer::Opaque;
        }
        feat_unsqueeze_moved(a, g, n, v, axis).map_or(Transfer::Unknown, Transfer::Feat)
    }

    fn noop(&self, g: &Graph, n: &Node) -> Option<Value> {
        input(n, 1).and_then(|v| const_ints(g, v)).is_some_and(|a| a.is_empty()).then(|| input(n, 0)).flatten()
    }
}
