//! # `Einsum(inputs...) {equation}`
//!
//! Output dims from the letters of the equation (explicit `->` form, or the implicit one:
//! letters seen once, sorted), `...` broadcast across the inputs.

use super::{Entry, InferCtx, InferResult, Inferred, OpDef, broadcast_shapes, known_shape};
use crate::Dim;
use crate::error::InferError;

pub(super) const ENTRIES: &[Entry] = &[Entry { domain: "", ops: &["Einsum"], def: &EinsumOp }];

struct EinsumOp;

/// `Einsum`: output dims from the letters of the equation (explicit `->` form, or the implicit
/// one: letters seen once, sorted), `...` broadcast across the inputs.
fn infer_einsum(ctx: &InferCtx) -> InferResult {
    let x = ctx.input(0, "Inputs")?;
    let eq = match ctx.attr("equation") {
        Some(crate::Attr::Str(s)) => s.replace(' ', ""),
        _ => return Err(InferError::Attr { name: "equation".into(), message: "is required".into() }),
    };
    let (lhs, rhs) = match eq.split_once("->") {
        Some((l, r)) => (l.to_string(), Some(r.to_string())),
        None => (eq.clone(), None),
    };
    let terms: Vec<&str> = lhs.split(',').collect();
    if terms.len() != ctx.inputs.len() {
        return Err(InferError::Invalid(format!("equation {eq:?} has {} operands, the node {}", terms.len(), ctx.inputs.len())));
    }
    let mut letters: Vec<(char, Dim)> = Vec::new();
    let mut ellipsis: Vec<&[Dim]> = Vec::new();
    for (i, term) in terms.iter().enumerate() {
        let Some(shape) = ctx.input(i, "Inputs").ok().and_then(known_shape) else { return Ok(vec![Inferred::rankless(x.dtype)]) };
        let named: Vec<char> = term.replace("...", "").chars().collect();
        let (before, after) = match term.split_once("...") {
            Some((b, a)) => (b.chars().count(), a.chars().count()),
            None => (named.len(), 0),
        };
        if named.len() > shape.len() || (!term.contains("...") && named.len() != shape.len()) {
            return Err(InferError::Rank { index: i, expected: format!("{} (equation {eq:?})", named.len()), actual: shape.len() });
        }
        if term.contains("...") {
            ellipsis.push(&shape[before..shape.len() - after]);
        }
        let dims = shape[..before].iter().chain(&shape[shape.len() - after..]);
        for (c, d) in named.iter().zip(dims) {
            match letters.iter_mut().find(|(l, _)| l == c) {
                Some((_, known)) if known.fixed() == Some(1) => *known = d.clone(),
                Some(_) => {}
                None => letters.push((*c, d.clone())),
            }
        }
    }
    let ell = broadcast_shapes(&ellipsis)?;
    let rhs = rhs.unwrap_or_else(|| {
        let mut once: Vec<char> = letters.iter().map(|(c, _)| *c).filter(|c| lhs.matches(*c).count() == 1).collect();
        once.sort_unstable();
        let mut r = if ellipsis.is_empty() { String::new() } else { "...".to_string() };
        r.extend(once);
        r
    });
    let mut out = Vec::new();
    let (b, a) = match rhs.split_once("...") {
        Some((b, a)) => (b.to_string(), Some(a.to_string())),
        None => (rhs.clone(), None),
    };
    let dim = |c: char| {
        letters.iter().find(|(l, _)| *l == c).map(|(_, d)| d.clone()).ok_or(InferError::Invalid(format!("output letter {c:?} is not an input letter")))
    };
    for c in b.chars() {
        out.push(dim(c)?);
    }
    if let Some(a) = a {
        out.extend(ell);
        for c in a.chars() {
            out.push(dim(c)?);
        }
    }
    Ok(vec![Inferred::new(x.dtype, out)])
}

impl OpDef for EinsumOp {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some(infer_einsum(ctx))
    }
}
