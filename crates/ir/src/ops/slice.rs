//! # `Slice(data, starts, ends, axes, steps)`
//!
//! Bounds clamp as ONNX says; symbolic bounds count from the end when they cannot be positive
//! (`-seq`), so lengths stay symbolic (`Nk - Nq`). A 1-D shape vector sliced with fixed bounds
//! keeps its symbolic value. Exact evaluation. No-ops: starts 0 with unit steps and a result
//! provably of x's shape; and a read of exactly the rows a `ScatterND` just wrote (`C = 0, 1,
//! 2, …` as indices, reduction none), which is the scattered updates — rotary-embedding-torch's
//! frequency cache (`cached_freqs[:n] = freqs; … cached_freqs[:n]`). Per-feature transfer:
//! constant slices of trailing axes select features; slices of rows only keep them (tables).

use super::{Entry, InferCtx, InferResult, Inferred, OpDef, fixed_values, known_shape, norm_axis, want_int};
use crate::error::InferError;
use crate::eval::{Arr, take};
use crate::feat::{Analyzer, Feat, Mode, Transfer};
use crate::query::{axis, const_ints, input, is_onnx, only_output, producer, same_shape, shape};
use crate::{Attr, DType, Dim, Graph, Node, Value};

pub(super) const ENTRIES: &[Entry] = &[Entry { domain: "", ops: &["Slice"], def: &SliceOp }];

struct SliceOp;

/// Slice ends at or beyond this magnitude mean "to the end" (ONNX uses INT64_MAX/MIN).
const BIG: i64 = i64::MAX / 2;

/// Length of `x[start:end:step]` along a dimension of size `dim`.
fn slice_len(dim: &Dim, start: &Dim, end: &Dim, step: i64) -> Dim {
    if let (Some(d), Some(s), Some(e)) = (dim.fixed(), start.fixed(), end.fixed()) {
        if d < 0 {
            return Dim::Unknown;
        }
        // i128: no bound or step of a hostile model can overflow here.
        let (d, s, e, step) = (i128::from(d), i128::from(s), i128::from(e), i128::from(step));
        let norm = |v: i128, lo: i128, hi: i128| if v < 0 { (v + d).clamp(lo, hi) } else { v.clamp(lo, hi) };
        let len = if step > 0 {
            let (s, e) = (norm(s, 0, d), norm(e, 0, d));
            if e > s { (e - s - 1) / step + 1 } else { 0 }
        } else {
            let (s, e) = (norm(s, -1, d - 1), norm(e, -1, d - 1));
            if s > e { (s - e - 1) / (-step) + 1 } else { 0 }
        };
        return i64::try_from(len).map_or(Dim::Unknown, Dim::Fixed);
    }
    let resolve = |v: &Dim| -> Dim {
        match v.fixed() {
            Some(k) if k >= BIG => dim.clone(),
            Some(k) if k <= -BIG => Dim::Fixed(-1),
            Some(k) if k < 0 => dim.add(&Dim::Fixed(k)),
            Some(k) => match dim.fixed() {
                Some(d) => Dim::Fixed(k.min(d)),
                None => Dim::Fixed(k),
            },
            // a symbolic bound counts from the end when it cannot be positive (`-seq`);
            // otherwise it is taken as written (in range: `Nk - Nq` with Nk >= Nq)
            None => match v.sign() {
                Some(-1) => dim.add(v),
                _ => v.clone(),
            },
        }
    };
    let (s, e) = (resolve(start), resolve(end));
    match step.checked_neg() {
        _ if step > 0 => e.sub(&s).div_ceil(step),
        Some(neg) => s.sub(&e).div_ceil(neg),
        None => Dim::Unknown,
    }
}

fn infer_slice(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "data")?;
    let starts = ctx.input(1, "starts")?;
    let ends = ctx.input(2, "ends")?;
    want_int(starts, 1)?;
    want_int(ends, 2)?;
    let Some(s) = known_shape(x) else { return Ok(vec![Inferred::rankless(x.dtype)]) };
    let (Some(st), Some(en)) = (&starts.sym_value, &ends.sym_value) else {
        let mut out = s.to_vec();
        match ctx.opt_input(3).and_then(fixed_values) {
            Some(axes) => {
                for a in axes {
                    out[norm_axis(a, s.len(), "axes")?] = Dim::Unknown;
                }
            }
            None => out.iter_mut().for_each(|d| *d = Dim::Unknown),
        }
        return Ok(vec![Inferred::new(x.dtype, out)]);
    };
    let axes: Vec<i64> = match ctx.opt_input(3) {
        Some(a) => fixed_values(a).ok_or(InferError::Invalid("axes must be a constant".into()))?,
        None => (0..st.len() as i64).collect(),
    };
    let steps: Vec<i64> = match ctx.opt_input(4) {
        Some(a) => fixed_values(a).ok_or(InferError::Invalid("steps must be a constant".into()))?,
        None => vec![1; st.len()],
    };
    if st.len() != en.len() || axes.len() != st.len() || steps.len() != st.len() {
        return Err(InferError::Invalid("starts, ends, axes and steps differ in length".into()));
    }
    let mut out = s.to_vec();
    for i in 0..axes.len() {
        let ax = norm_axis(axes[i], s.len(), "axes")?;
        if steps[i] == 0 {
            return Err(InferError::Invalid("slice step 0".into()));
        }
        out[ax] = slice_len(&s[ax], &st[i], &en[i], steps[i]);
    }
    // Slicing a 1-D shape tensor with fixed bounds keeps its symbolic value.
    let sym = match (&x.sym_value, st.first().and_then(Dim::fixed), en.first().and_then(Dim::fixed)) {
        (Some(v), Some(a), Some(b)) if s.len() == 1 && steps[0] == 1 => {
            let n = v.len() as i64;
            let a = (if a < 0 { a + n } else { a }).clamp(0, n) as usize;
            let b = (if b < 0 { b + n } else { b }).clamp(0, n) as usize;
            Some(if a < b { v[a..b].to_vec() } else { vec![] })
        }
        _ => None,
    };
    Ok(vec![Inferred::new(x.dtype, out).with_value(sym)])
}

/// The positions a slice `start:end:step` keeps of an axis of size `d`, as ONNX clamps them
/// (what evaluation and the per-feature transfer both select).
pub(crate) fn positions(d: i64, start: i64, end: i64, step: i64) -> Option<Vec<usize>> {
    if step == 0 {
        return None;
    }
    let norm = |i: i64| if i < 0 { i.saturating_add(d) } else { i };
    let mut out = Vec::new();
    if step > 0 {
        let (mut i, e) = (norm(start).clamp(0, d), norm(end).clamp(0, d));
        while i < e {
            out.push(i as usize);
            i += step;
        }
    } else {
        let (mut i, e) = (norm(start).clamp(-1, d - 1), norm(end).clamp(-1, d - 1));
        while i > e {
            out.push(i as usize);
            i += step;
        }
    }
    Some(out)
}

fn feat(a: &mut Analyzer, g: &Graph, n: &Node) -> Option<Feat> {
    let x = input(n, 0)?;
    let f = a.feat(g, x)?;
    let r = shape(g, x)?.len();
    // how many axes are sliced: from the constant starts, or from their static shape
    let count = match const_ints(g, input(n, 1)?) {
        Some(s) => s.len(),
        None => usize::try_from(shape(g, input(n, 1)?)?.first()?.fixed()?).ok()?,
    };
    let axes = match input(n, 3) {
        Some(a) => const_ints(g, a)?,
        None => (0..count as i64).collect(),
    };
    if axes.len() != count {
        return None;
    }
    let first = Analyzer::first_trailing(r, &f)?;
    let axes: Vec<usize> = axes.iter().map(|a| axis(*a, r)).collect::<Option<_>>()?;
    if axes.iter().all(|a| *a < first) {
        // rows only: every row keeps its features (bounds may be computed at run time)
        return (a.mode() == Mode::Table).then_some(f);
    }
    let starts = const_ints(g, input(n, 1)?)?;
    let ends = const_ints(g, input(n, 2)?)?;
    let steps = match input(n, 4) {
        Some(s) => const_ints(g, s)?,
        None => vec![1; count],
    };
    if ends.len() != count || steps.len() != count {
        return None;
    }
    let mut f = f;
    for (i, ax) in axes.iter().enumerate() {
        if *ax < first {
            if a.mode() == Mode::Rotation {
                return None;
            }
            continue;
        }
        let t = ax - first;
        let keep = positions(f.dims[t] as i64, starts[i], ends[i], steps[i])?;
        f = Analyzer::select(&f, t, &keep)?;
    }
    Some(f)
}

/// True for a Slice's `starts` (input 1), `axes` (3) and `steps` (4) that select rows `0..` of
/// axis 0 (a single axis, step 1).
fn leading_rows(g: &Graph, n: &Node) -> bool {
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
    if shape(g, idx).is_none_or(|s| s.len() != 2 || s[1] != Dim::Fixed(1)) {
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

/// `Slice(ScatterND(d, idx, x), 0, _)` reading exactly the rows the scatter wrote: `idx` rows
/// 0, 1, .. in order ([`rows_in_order`]), reduction none, and the slice's shape provably `x`'s.
/// Returns `x`.
fn read_after_write(g: &Graph, n: &Node) -> Option<Value> {
    let scatter = producer(g, input(n, 0)?)?;
    if !is_onnx(scatter) || scatter.op_type != "ScatterND" || !leading_rows(g, n) {
        return None;
    }
    if scatter.attr("reduction").is_some_and(|a| !matches!(a, Attr::Str(s) if s == "none")) {
        return None;
    }
    let (idx, x) = (input(scatter, 1)?, input(scatter, 2)?);
    if !rows_in_order(g, idx) {
        return None;
    }
    let y = only_output(n)?;
    same_shape(shape(g, y)?, shape(g, x)?).then_some(x)
}

impl OpDef for SliceOp {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some(infer_slice(ctx))
    }

    fn eval(&self, _n: &Node, ins: &[Option<Arr>], _out: DType) -> Option<Vec<Arr>> {
        let arg = |i: usize| ins.get(i).and_then(Option::as_ref);
        let a = arg(0)?;
        let starts = arg(1)?.ints()?;
        let ends = arg(2)?.ints()?;
        let r = a.dims.len();
        let axes: Vec<i64> = match arg(3) {
            Some(v) => v.ints()?.to_vec(),
            None => (0..starts.len() as i64).collect(),
        };
        let steps: Vec<i64> = match arg(4) {
            Some(v) => v.ints()?.to_vec(),
            None => vec![1; starts.len()],
        };
        let mut cur = a.clone();
        for (i, start) in starts.iter().enumerate() {
            let ax = axis(*axes.get(i)?, r)?;
            let keep = positions(cur.dims[ax] as i64, *start, *ends.get(i)?, *steps.get(i)?)?;
            let len = keep.len();
            cur = take(&cur, ax, &keep, &[len])?;
        }
        Some(vec![cur])
    }

    fn feat(&self, a: &mut Analyzer, g: &Graph, n: &Node, _v: Value) -> Transfer {
        feat(a, g, n).into()
    }

    fn noop(&self, g: &Graph, n: &Node) -> Option<Value> {
        if let Some(x) = read_after_write(g, n) {
            return Some(x);
        }
        let (x, y) = (input(n, 0)?, only_output(n)?);
        let starts = input(n, 1).and_then(|v| const_ints(g, v));
        let steps = match input(n, 4) {
            Some(v) => const_ints(g, v),
            None => starts.as_ref().map(|s| vec![1; s.len()]),
        };
        let same = matches!((shape(g, x), shape(g, y)), (Some(a), Some(b)) if same_shape(a, b));
        (starts.is_some_and(|s| s.iter().all(|a| *a == 0)) && steps.is_some_and(|s| s.iter().all(|a| *a == 1)) && same).then_some(x)
    }
}
