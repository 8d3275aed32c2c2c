//! # `Concat(inputs...) {axis}`
//!
//! Same rank, same type, equal dims off the axis; the axis adds up. 1-D integer concatenations
//! keep their symbolic values (shape vectors built from parts). Exact evaluation; a single
//! input is a no-op. Per-feature transfer: along a trailing axis the features line up one
//! after another; along a leading axis (tables only) the rows combine.

use super::{Entry, InferCtx, InferResult, Inferred, OpDef, known_shape, norm_axis};
use crate::error::InferError;
use crate::eval::{Arr, Data, pick};
use crate::feat::{Analyzer, Feat, Mode, Transfer};
use crate::query::{attr_int, axis, input, shape};
use crate::{DType, Dim, Graph, Node, Value, shape_text};

pub(super) const ENTRIES: &[Entry] = &[Entry { domain: "", ops: &["Concat"], def: &ConcatOp }];

struct ConcatOp;

fn infer_concat(ctx: &InferCtx) -> InferResult {
    let axis = ctx.attr_int("axis")?.ok_or(InferError::Attr { name: "axis".into(), message: "is required".into() })?;
    let first = ctx.input(0, "inputs")?;
    let mut shapes = Vec::new();
    for (i, inp) in ctx.inputs.iter().enumerate() {
        let v = inp.ok_or(InferError::MissingInput { index: i, what: "inputs" })?;
        super::want_same_dtype(first, v, i)?;
        match known_shape(v) {
            Some(s) => shapes.push(s),
            None => return Ok(vec![Inferred::rankless(first.dtype)]),
        }
    }
    let rank = shapes[0].len();
    let ax = norm_axis(axis, rank, "axis")?;
    let mut out = shapes[0].to_vec();
    for (i, s) in shapes.iter().enumerate().skip(1) {
        if s.len() != rank {
            return Err(InferError::Rank { index: i, expected: rank.to_string(), actual: s.len() });
        }
        for (j, d) in s.iter().enumerate() {
            if j == ax {
                out[j] = out[j].add(d);
            } else if let (Some(p), Some(q)) = (out[j].fixed(), d.fixed()) {
                if p != q {
                    return Err(InferError::Invalid(format!("inputs {} and {} differ at axis {j}", shape_text(shapes[0]), shape_text(s))));
                }
            } else if out[j] != *d && out[j].fixed().is_none() && d.fixed().is_some() {
                out[j] = d.clone();
            }
        }
    }
    let sym = if rank == 1 {
        let vals: Option<Vec<Vec<Dim>>> = ctx.inputs.iter().map(|i| i.and_then(|v| v.sym_value.clone())).collect();
        vals.map(|v| v.concat())
    } else {
        None
    };
    Ok(vec![Inferred::new(first.dtype, out).with_value(sym)])
}

fn feat(a: &mut Analyzer, g: &Graph, n: &Node) -> Option<Feat> {
    let ins: Vec<Value> = n.inputs.iter().copied().collect::<Option<_>>()?;
    let r = shape(g, *ins.first()?)?.len();
    let ax = axis(attr_int(n, "axis", 0), r)?;
    let fs: Vec<Feat> = ins.iter().map(|v| a.feat(g, *v)).collect::<Option<_>>()?;
    let k = fs[0].dims.len();
    if fs.iter().any(|f| f.dims.len() != k) {
        return None;
    }
    let first = r.checked_sub(k)?;
    if ax < first {
        if a.mode() == Mode::Rotation {
            return None;
        }
        return a.combine("Concat", &fs);
    }
    let t = ax - first;
    let same_other = fs.iter().all(|f| f.dims.iter().enumerate().all(|(i, d)| i == t || *d == fs[0].dims[i]));
    if !same_other {
        return None;
    }
    let outer: usize = fs[0].dims[..t].iter().product();
    let mut entries = Vec::new();
    for o in 0..outer {
        for f in &fs {
            let inner: usize = f.dims[t..].iter().product();
            entries.extend_from_slice(&f.entries[o * inner..(o + 1) * inner]);
        }
    }
    let mut dims = fs[0].dims.clone();
    dims[t] = fs.iter().map(|f| f.dims[t]).sum();
    Some(Feat { dims, entries })
}

impl OpDef for ConcatOp {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some(infer_concat(ctx))
    }

    fn eval(&self, n: &Node, ins: &[Option<Arr>], _out: DType) -> Option<Vec<Arr>> {
        let parts: Vec<&Arr> = ins.iter().map(Option::as_ref).collect::<Option<_>>()?;
        let first = parts.first()?;
        let r = first.dims.len();
        let ax = axis(attr_int(n, "axis", 0), r)?;
        let outer: usize = first.dims[..ax].iter().product();
        let mut order_parts: Vec<Data> = Vec::new();
        let mut dims = first.dims.clone();
        dims[ax] = parts.iter().map(|p| p.dims.get(ax).copied()).sum::<Option<usize>>()?;
        let mut out: Option<Data> = None;
        for o in 0..outer {
            for p in &parts {
                if p.dims.len() != r || (0..r).any(|i| i != ax && p.dims[i] != first.dims[i]) {
                    return None;
                }
                let inner: usize = p.dims[ax..].iter().product();
                order_parts.push(pick(&p.data, &(o * inner..(o + 1) * inner).collect::<Vec<_>>()));
            }
        }
        for d in order_parts {
            out = Some(match (out, d) {
                (None, d) => d,
                (Some(Data::F(mut a)), Data::F(b)) => {
                    a.extend(b);
                    Data::F(a)
                }
                (Some(Data::I(mut a)), Data::I(b)) => {
                    a.extend(b);
                    Data::I(a)
                }
                (Some(Data::B(mut a)), Data::B(b)) => {
                    a.extend(b);
                    Data::B(a)
                }
                _ => return None,
            });
        }
        Some(vec![Arr { dtype: first.dtype, dims, data: out.unwrap_or(Data::I(Vec::new())) }])
    }

    fn feat(&self, a: &mut Analyzer, g: &Graph, n: &Node, _v: Value) -> Transfer {
        feat(a, g, n).into()
    }

    fn noop(&self, _g: &Graph, n: &Node) -> Option<Value> {
        (n.inputs.len() == 1).then(|| input(n, 0)).flatten()
    }
}
