//! # `Reshape(data, shape) {allowzero}`
//!
//! `0` copies the input dim (unless `allowzero`), `-1` is inferred: dims common to input and
//! output cancel, what is left is divided by the fixed output dims, so `[B, S, H·D] -> [0, 0,
//! H, -1]` infers `D` symbolically. Element counts that provably differ are an error. Exact
//! evaluation; a reshape to x's own (fully known) shape is a no-op. Per-feature transfer: the
//! trailing axes regroup when their sizes are static (in a rotation, only if the leading axes
//! keep their non-unit dims).

use super::{Entry, InferCtx, InferResult, Inferred, MAX_RANK, OpDef, known_shape, want_int};
use crate::error::InferError;
use crate::eval::Arr;
use crate::feat::{Analyzer, Feat, Mode, Transfer};
use crate::query::{attr_int, input, only_output, same_shape, shape};
use crate::{DType, Dim, Graph, Node, Value, shape_text};

pub(super) const ENTRIES: &[Entry] = &[Entry { domain: "", ops: &["Reshape"], def: &ReshapeOp }];

struct ReshapeOp;

fn infer_reshape(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "data")?;
    let shape = ctx.input(1, "shape")?;
    want_int(shape, 1)?;
    let allowzero = ctx.attr_int("allowzero")?.unwrap_or(0) != 0;
    let Some(target) = &shape.sym_value else {
        let rank = shape.shape.as_ref().and_then(|s| s.first()).and_then(Dim::fixed);
        return Ok(vec![match rank {
            Some(r) if (0..=MAX_RANK).contains(&r) => Inferred::new(x.dtype, vec![Dim::Unknown; r as usize]),
            _ => Inferred::rankless(x.dtype),
        }]);
    };
    let input = known_shape(x);
    let mut out: Vec<Dim> = Vec::with_capacity(target.len());
    let mut infer_at = None;
    for (i, d) in target.iter().enumerate() {
        match d.fixed() {
            Some(0) if !allowzero => out.push(input.and_then(|s| s.get(i).cloned()).unwrap_or(Dim::Unknown)),
            Some(-1) => {
                if infer_at.replace(i).is_some() {
                    return Err(InferError::Invalid("shape has more than one -1".into()));
                }
                out.push(Dim::Unknown);
            }
            Some(v) if v < -1 => return Err(InferError::Invalid(format!("shape entry {v} is invalid"))),
            _ => out.push(d.clone()),
        }
    }
    if let (Some(i), Some(input)) = (infer_at, input) {
        // Cancel dims common to input and output, divide what is left by fixed output dims.
        let mut rest: Vec<Dim> = input.to_vec();
        let mut divisor = 1i64;
        let mut ok = true;
        for (j, d) in out.iter().enumerate() {
            if j == i {
                continue;
            }
            if let Some(pos) = rest.iter().position(|r| r == d) {
                rest.remove(pos);
            } else if let Some(k) = d.fixed() {
                divisor = divisor.checked_mul(k).ok_or_else(|| InferError::Invalid(format!("shape {} overflows", shape_text(target))))?;
            } else {
                ok = false;
            }
        }
        if ok {
            let prod = rest.iter().fold(Dim::Fixed(1), |acc, d| acc.mul(d));
            out[i] = match prod.fixed() {
                Some(p) if divisor != 0 && p % divisor != 0 => {
                    return Err(InferError::Invalid(format!("cannot reshape {} into {}", shape_text(input), shape_text(target))));
                }
                _ => prod.div_floor(divisor),
            };
        }
    }
    if let (Some(input), true) = (input, out.iter().all(|d| d.fixed().is_some()))
        && input.iter().all(|d| d.fixed().is_some())
    {
        let product = |s: &[Dim]| s.iter().filter_map(Dim::fixed).try_fold(1i64, i64::checked_mul);
        let (Some(a), Some(b)) = (product(input), product(&out)) else {
            return Err(InferError::Invalid(format!("cannot reshape {} into {}: element counts overflow", shape_text(input), shape_text(&out))));
        };
        if a != b {
            return Err(InferError::Invalid(format!("cannot reshape {} ({a} elements) into {}", shape_text(input), shape_text(&out))));
        }
    }
    Ok(vec![Inferred::new(x.dtype, out).with_value(x.sym_value.clone())])
}

fn feat(a: &mut Analyzer, g: &Graph, n: &Node, v: Value) -> Option<Feat> {
    let x = input(n, 0)?;
    let f = a.feat(g, x)?;
    let si = shape(g, x)?;
    let so = shape(g, v)?;
    let total = f.total();
    let mut prod = 1usize;
    let mut k = 0;
    while prod < total {
        let d = usize::try_from(so.get(so.len().checked_sub(k + 1)?)?.fixed()?).ok()?;
        prod = prod.checked_mul(d)?;
        k += 1;
    }
    if prod != total {
        return None;
    }
    if k == 0 {
        k = 1;
        if so.last().and_then(Dim::fixed) != Some(1) {
            return None;
        }
    }
    if a.mode() == Mode::Rotation {
        let lead = |s: &[Dim], k: usize| -> Option<Vec<Dim>> { Some(s[..s.len().checked_sub(k)?].iter().filter(|d| d.fixed() != Some(1)).cloned().collect()) };
        let (p, q) = (lead(si, f.dims.len())?, lead(so, k)?);
        if p != q || p.iter().any(|d| matches!(d, Dim::Unknown)) {
            return None;
        }
    }
    let dims = so[so.len() - k..].iter().map(|d| d.fixed().and_then(|d| usize::try_from(d).ok())).collect::<Option<Vec<_>>>()?;
    Some(Feat { dims, entries: f.entries })
}

impl OpDef for ReshapeOp {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some(infer_reshape(ctx))
    }

    fn eval(&self, n: &Node, ins: &[Option<Arr>], _out: DType) -> Option<Vec<Arr>> {
        let a = ins.first()?.as_ref()?;
        let s = ins.get(1)?.as_ref()?.ints()?;
        let allowzero = attr_int(n, "allowzero", 0) != 0;
        let mut dims: Vec<i64> = s.iter().enumerate().map(|(i, d)| if *d == 0 && !allowzero { a.dims.get(i).map_or(-2, |x| *x as i64) } else { *d }).collect();
        let known: i64 = dims.iter().filter(|d| **d >= 0).product();
        let total = a.len() as i64;
        if let Some(p) = dims.iter().position(|d| *d == -1) {
            if known == 0 || total % known != 0 {
                return None;
            }
            dims[p] = total / known;
        }
        let dims: Vec<usize> = dims.iter().map(|d| usize::try_from(*d).ok()).collect::<Option<_>>()?;
        (dims.iter().product::<usize>() == a.len()).then_some(())?;
        Some(vec![Arr { dims, ..a.clone() }])
    }

    fn feat(&self, a: &mut Analyzer, g: &Graph, n: &Node, v: Value) -> Transfer {
        feat(a, g, n, v).into()
    }

    fn noop(&self, g: &Graph, n: &Node) -> Option<Value> {
        let (x, y) = (input(n, 0)?, only_output(n)?);
        matches!((shape(g, x), shape(g, y)), (Some(a), Some(b)) if same_shape(a, b)).then_some(x)
    }
}
