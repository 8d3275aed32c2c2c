//! RoPE fusion: the rotary embeddings PyTorch exporters write, as one op per rotated tensor.
//!
//! Pattern (operands of `Add`/`Mul` in either order; `Mul` chains of up to three levels are
//! read as one product):
//! ```text
//! y = Add(Mul(x, C1, .., Cm), Mul(R, S1, .., Sn))      or Sub (the sine term negated)
//!     x : [B, H, S, D], [B, S, H, D] or [B, S, D], floating point, D static and even
//!     R : x with features moved and negated within each row, R[.., i] = sR(i) · x[.., p(i)]
//!         (Slice/Split/Gather/Concat/Neg/Unsqueeze/Squeeze/Reshape: rotate_half, or
//!         stack((-x2, x1), -1).flatten(-2), or rotor's Split+Concat swap)
//!     p : pairs halves (i ↔ i ± D/2) or neighbours (2j ↔ 2j+1)
//!     C = C1·…·Cm equal on both features of every pair (proved by `feat`: Concat(f, f),
//!         repeat_interleave, a constant's columns, ...)
//!     S = S1·…·Sn with sR(a)·S[a] = −sR(b)·S[b] for every pair (a first, b second)
//!     C, S broadcast over one of x's axes 1 and 2 (the heads axis)
//! or, the chunk form (GPT-OSS, DeepSeek-V3) over half-width tables, k < D/2:
//! y = Concat(x1·c − x2·s, x2·c + x1·s, axis=-1)      (either operand order of the Add and Muls)
//!     x1[.., k] = x[.., k], x2[.., k] = x[.., k + D/2]   (Split/Slice of x, signs tracked), or
//!     x1[.., k] = x[.., 2k], x2[.., k] = x[.., 2k + 1]   (DeepSeek's interleaved pairs, written out
//!                                                       in halves: the op rotates x de-interleaved)
//!     c, s : [.., D/2], equal class per feature in both halves (cos, sin directly)
//! partial rotation, when present:
//! x = Slice(X, 0, D, axis=-1);  z = Concat(y, Slice(X, D, end, axis=-1), axis=-1)
//! ```
//! Rewrite, by `--rope-target`:
//! ```text
//! ai.onnx        z|y = RotaryEmbedding(X, cos_cache, sin_cache) {interleaved, rotary_embedding_dim}
//!                cos_cache [B, S, D/2] = C at the first feature of each pair, sin_cache =
//!                sR(b)·S at the second, both broadcast to x's batch and sequence
//! com.microsoft  the contrib op over [b·s, D/2] caches and position_ids = row numbers
//! decomposed     y = x·C + swap(x)·(S·sR)     (swap = Split+Concat, one Mul per table)
//! ```
//! The caches are sliced from the model's own cos/sin values, so whatever produced them
//! (frequency scaling, attention scaling, an xPos scale, positions gathered from a cache) is
//! kept, and the result serves every length the original served. `ai.onnx` needs opset 23:
//! an older model is upgraded when [`crate::opset::check_upgrade`] proves every node keeps its
//! meaning, and refused otherwise.

use rotor_builder::emit::rotary::rope::{self, Swap};
use rotor_builder::ops::{self, v23::RotaryEmbeddingAttrs};
use rotor_builder::{BuildError, Builder, DType, Dim, Graph, Memo, NodeId, Tensor, Value};

use crate::patch::{Patch, live};
use crate::util::{attr_int, axis, const_ints, fresh_scope, input, is_op, is_rope_float, label, last_dim, only_output, producer, same_shape, shape};
use crate::{Cx, PassError, RopeTarget, Rule};
use rotor_ir::feat::{Analyzer, Feat, Mode};

pub const NAME: &str = "fuse_rope";
pub const SUMMARY: &str = "fuse x·cos + rotate(x)·sin (half, interleaved, partial, xPos, chunk) into RotaryEmbedding (--rope-target)";

/// The tables of a proven rotation and how they pair features: what its per-pair caches are
/// built from (and the memo key of those caches, shared by rotations over the same tables).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Tables {
    cos: Vec<Value>,
    sin: Vec<Value>,
    interleaved: bool,
    d: usize,
    /// sR(i), with the sign of a `Sub` folded in.
    signs: Vec<i8>,
    /// `x` as a `[B, S, H, D]` tensor (heads on axis 2), else heads on axis 1 (or rank 3).
    heads_axis: usize,
    /// The tables are already per pair (`[.., D/2]`, the chunk form): cos and the signed sin as
    /// they are, nothing sliced.
    half: bool,
    /// The chunk form rotates `x`'s interleaved pairs into halves: the op reads `x`
    /// de-interleaved (`x[.., 0::2]` then `x[.., 1::2]`).
    deinterleave: bool,
}

/// A proven rotation.
struct Match {
    root: NodeId,
    x: Value,
    y: Value,
    t: Tables,
    compact: bool,
}

/// Ways to read `v` as `x · rest`: `v` itself, and the factors of a `Mul` tree.
fn splits(g: &Graph, v: Value, depth: usize) -> Vec<(Value, Vec<Value>)> {
    let mut out = vec![(v, Vec::new())];
    if depth == 0 {
        return out;
    }
    let Some(n) = producer(g, v).filter(|n| is_op(n, "Mul") && n.inputs.len() == 2) else { return out };
    let (Some(a), Some(b)) = (input(n, 0), input(n, 1)) else { return out };
    for (x, other) in [(a, b), (b, a)] {
        for (inner, mut rest) in splits(g, x, depth - 1) {
            rest.push(other);
            out.push((inner, rest));
        }
    }
    out
}

/// First and second feature of each pair.
fn pairs(d: usize, interleaved: bool) -> impl Iterator<Item = (usize, usize)> {
    let h = d / 2;
    (0..h).map(move |k| if interleaved { (2 * k, 2 * k + 1) } else { (k, k + h) })
}

/// The table dimension aligned with axis `ax` of a rank-`r` tensor (1 where it broadcasts).
fn aligned(g: &Graph, t: Value, r: usize, ax: usize) -> Option<Dim> {
    let s = shape(g, t)?;
    let off = r.checked_sub(s.len())?;
    Some(if ax < off { Dim::Fixed(1) } else { s[ax - off].clone() })
}

/// True when `r` is already rotor's compact swap of `x` (Split + Concat, optionally viewed as pairs).
fn is_compact_swap(g: &Graph, r: Value, x: Value) -> bool {
    let swapped_split_of = |c: Value, src: Value| -> bool {
        let Some(cat) = producer(g, c).filter(|n| is_op(n, "Concat") && n.inputs.len() == 2) else { return false };
        let (Some(a), Some(b)) = (input(cat, 0), input(cat, 1)) else { return false };
        let (Some(pa), Some(pb)) = (g.producer(a), g.producer(b)) else { return false };
        let Some(split) = g.node(pa).filter(|n| pa == pb && is_op(n, "Split") && input(n, 0) == Some(src)) else { return false };
        split.outputs.get(1) == Some(&Some(a)) && split.outputs.first() == Some(&Some(b))
    };
    if swapped_split_of(r, x) {
        return true;
    }
    let Some(back) = producer(g, r).filter(|n| is_op(n, "Reshape")) else { return false };
    let Some(c) = input(back, 0) else { return false };
    let Some(cat) = producer(g, c) else { return false };
    let Some(a) = input(cat, 0) else { return false };
    let Some(split) = producer(g, a) else { return false };
    let Some(pairs_view) = input(split, 0) else { return false };
    producer(g, pairs_view).is_some_and(|n| is_op(n, "Reshape") && input(n, 0) == Some(x)) && swapped_split_of(c, pairs_view)
}

/// Try to prove the node `id` (an `Add`/`Sub`) is a rotation.
fn find(g: &Graph, id: NodeId, tables: &mut Analyzer) -> Result<Match, String> {
    let n = g.node(id).ok_or("node removed")?;
    let sub = is_op(n, "Sub");
    let y = only_output(n).ok_or("no single output")?;
    if !is_rope_float(g.dtype(y)) {
        return Err(format!("{} is {}, not float32/float16/bfloat16", g.value_name(y), g.dtype(y)));
    }
    let (Some(a), Some(b)) = (input(n, 0), input(n, 1)) else { return Err("missing operand".into()) };
    let orders: &[(Value, Value)] = if sub { &[(a, b)] } else { &[(a, b), (b, a)] };
    // the reason of the attempt that got furthest
    let mut why = (0, String::from("no operand is a product x·cos with x of rank 3 or 4 and a static even last axis"));
    let mut note = |w: (u8, String)| {
        if w.0 >= why.0 {
            why = w;
        }
    };
    for &(p, q) in orders {
        for (x, cos) in splits(g, p, 3) {
            if cos.is_empty() {
                continue;
            }
            let (Some(sx), Some(sy)) = (shape(g, x), shape(g, y)) else { continue };
            let r = sx.len();
            let Some(d) = last_dim(g, x).and_then(|d| usize::try_from(d).ok()).filter(|d| *d >= 2 && d % 2 == 0) else { continue };
            if !(3..=4).contains(&r) {
                continue;
            }
            if !same_shape(sx, sy) {
                note((1, format!("{}·cos does not have the shape of {}", g.value_name(x), g.value_name(x))));
                continue;
            }
            let mut rot = Analyzer::new(Mode::Rotation, Some(x));
            for (rv, sin) in splits(g, q, 3) {
                if sin.is_empty() {
                    continue;
                }
                match prove(g, x, rv, d, r, sub, &cos, &sin, &mut rot, tables) {
                    Ok((interleaved, signs, heads_axis)) => {
                        let compact = cos.len() == 1 && sin.len() == 1 && signs.iter().all(|s| *s == 1) && is_compact_swap(g, rv, x);
                        return Ok(Match {
                            root: id,
                            x,
                            y,
                            t: Tables { cos, sin, interleaved, d, signs, heads_axis, half: false, deinterleave: false },
                            compact,
                        });
                    }
                    Err(e) => note(e),
                }
            }
        }
    }
    Err(why.1)
}

/// Prove `x·cos + rv·sin` (± for `sub`) is a rotation; returns (interleaved, sR, heads axis),
/// or how far the proof got (higher: closer) and why it stopped.
#[allow(clippy::too_many_arguments)]
fn prove(
    g: &Graph,
    x: Value,
    rv: Value,
    d: usize,
    r: usize,
    sub: bool,
    cos: &[Value],
    sin: &[Value],
    rot: &mut Analyzer,
    tables: &mut Analyzer,
) -> Result<(bool, Vec<i8>, usize), (u8, String)> {
    let xn = g.value_name(x);
    let rn = g.value_name(rv);
    let f = rot.feat(g, rv).ok_or_else(|| (2, format!("{rn} is not a movement of {xn}'s features within rows")))?;
    if f.total() != d || !shape(g, rv).zip(shape(g, x)).is_some_and(|(a, b)| same_shape(a, b)) {
        return Err((2, format!("{rn} does not have the shape of {xn}")));
    }
    let mut p = Vec::with_capacity(d);
    let mut signs = Vec::with_capacity(d);
    for (s, c) in &f.entries {
        match rot.source_of(*c) {
            Some((v, j)) if v == x => {
                p.push(j);
                signs.push(if sub { -s } else { *s });
            }
            _ => return Err((3, format!("{rn} mixes in values other than {xn}"))),
        }
    }
    let half = (0..d).all(|i| p[i] == (i + d / 2) % d);
    let inter = (0..d).all(|i| p[i] == i ^ 1);
    let interleaved = match (half, inter) {
        (true, _) => false,
        (_, true) => true,
        _ => return Err((4, format!("{rn} is a permutation of {xn}'s features, but not a half or interleaved pair swap"))),
    };
    // the tables
    let fc = tables.product(g, cos).ok_or((5, "cos: product of tables the analysis cannot read".to_string()))?;
    let fs = tables.product(g, sin).ok_or((5, "sin: product of tables the analysis cannot read".to_string()))?;
    let at = |f: &Feat, i: usize| f.entries[if f.total() == 1 { 0 } else { i }];
    if ![1, d].contains(&fc.total()) || ![1, d].contains(&fs.total()) {
        return Err((5, "cos/sin tables do not have one value per feature".into()));
    }
    for (a, b) in pairs(d, interleaved) {
        if at(&fc, a) != at(&fc, b) {
            return Err((6, format!("cos is not provably equal on features {a} and {b}")));
        }
        let (sa, sb) = (at(&fs, a), at(&fs, b));
        if sa.1 != sb.1 || signs[a] * sa.0 != -(signs[b] * sb.0) {
            return Err((6, format!("sin is not provably opposite on features {a} and {b} (after the rotation's signs)")));
        }
    }
    let heads_axis = heads_axis(g, r, cos, sin).ok_or((7, "cos/sin vary along both axes 1 and 2 of x: no heads axis to broadcast over".to_string()))?;
    Ok((interleaved, signs, heads_axis))
}

/// The axis of a rank-`r` rotated tensor that the tables broadcast over (the heads): 1 for rank
/// 3, else 1 or 2, whichever every table has at size 1.
fn heads_axis(g: &Graph, r: usize, cos: &[Value], sin: &[Value]) -> Option<usize> {
    if r == 3 {
        return Some(1);
    }
    let ones = |ax: usize| cos.iter().chain(sin).all(|t| aligned(g, *t, r, ax) == Some(Dim::Fixed(1)));
    [1, 2].into_iter().find(|ax| ones(*ax))
}

/// One signed product of a chunk-form half: `sign · u · factors` with `u` read as a movement of
/// `x`'s features.
struct Term {
    /// Per feature of `u`: the feature of `x` it holds and its sign (the term's sign folded in).
    moves: Vec<(usize, i8)>,
    factors: Vec<Value>,
}

/// The readings of `v` (a product) as a movement of `x`'s features times factors.
fn terms(g: &Graph, v: Value, sign: i8, rot: &mut Analyzer, x: Value) -> Vec<Term> {
    let mut out = Vec::new();
    for (u, factors) in splits(g, v, 3) {
        if factors.is_empty() {
            continue;
        }
        let Some(f) = rot.feat(g, u) else { continue };
        let moves: Option<Vec<(usize, i8)>> = f
            .entries
            .iter()
            .map(|(s, c)| match rot.source_of(*c) {
                Some((src, j)) if src == x => Some((j, s * sign)),
                _ => None,
            })
            .collect();
        if let Some(moves) = moves {
            out.push(Term { moves, factors });
        }
    }
    out
}

/// A chunk-form half `Add`/`Sub` of two products, as (cos term, sin term): the cos term holds
/// `x`'s features `cos_at[k]`, the sin term `sin_at[k]`, for k < h.
fn half_terms(g: &Graph, v: Value, cos_at: &[usize], sin_at: &[usize], rot: &mut Analyzer, x: Value) -> Option<(Term, Term)> {
    let n = producer(g, v).filter(|n| (is_op(n, "Add") || is_op(n, "Sub")) && n.inputs.len() == 2)?;
    let second = if is_op(n, "Sub") { -1 } else { 1 };
    let (a, b) = (input(n, 0)?, input(n, 1)?);
    let holds = |t: &Term, at: &[usize]| t.moves.len() == at.len() && t.moves.iter().zip(at).all(|((j, _), want)| j == want);
    for (p, q, sp, sq) in [(a, b, 1, second), (b, a, second, 1)] {
        let cos = terms(g, p, sp, rot, x).into_iter().find(|t| holds(t, cos_at));
        let sin = terms(g, q, sq, rot, x).into_iter().find(|t| holds(t, sin_at));
        if let (Some(c), Some(s)) = (cos, sin) {
            return Some((c, s));
        }
    }
    None
}

/// The `x` a chunk-form half may rotate: the input of a Split/Slice behind a factor.
fn chunk_sources(g: &Graph, v: Value) -> Vec<Value> {
    let Some(n) = producer(g, v).filter(|n| (is_op(n, "Add") || is_op(n, "Sub")) && n.inputs.len() == 2) else { return Vec::new() };
    let mut out = Vec::new();
    for operand in n.inputs.iter().flatten() {
        for (u, _) in splits(g, *operand, 3) {
            if let Some(src) = producer(g, u).filter(|p| is_op(p, "Split") || is_op(p, "Slice")).and_then(|p| input(p, 0))
                && !out.contains(&src)
            {
                out.push(src);
            }
        }
    }
    out
}

/// Try to prove the node `id` is a chunk-form rotation: a two-input `Concat` on the last axis
/// (the rotated pairs written in halves), or a `Reshape` of the two halves stacked on a new last
/// axis (`stack((lo, hi), -1).flatten(-2)`: written as pairs, the ONNX function body's
/// interleaved form).
fn find_chunk(g: &Graph, id: NodeId, tables: &mut Analyzer) -> Result<Match, String> {
    let n = g.node(id).ok_or("node removed")?;
    let y = only_output(n).ok_or("no single output")?;
    let r = shape(g, y).map_or(0, <[Dim]>::len);
    if !(3..=4).contains(&r) || !is_rope_float(g.dtype(y)) {
        return Err("not a float tensor of rank 3 or 4".into());
    }
    let (lo, hi, pairs_out) = if is_op(n, "Concat") {
        let (Some(lo), Some(hi)) = (input(n, 0), input(n, 1)) else { return Err("missing operand".into()) };
        if axis(attr_int(n, "axis", 0), r) != Some(r - 1) {
            return Err("not a concatenation on the last axis".into());
        }
        (lo, hi, false)
    } else {
        let (lo, hi) = input(n, 0).and_then(|v| stacked_halves(g, v, y)).ok_or("not two halves stacked on a new last axis")?;
        (lo, hi, true)
    };
    let mut why = String::from("its halves are not x1·cos − x2·sin and x2·cos + x1·sin over the halves of one tensor");
    for x in chunk_sources(g, lo) {
        let Some(d) = last_dim(g, x).and_then(|d| usize::try_from(d).ok()).filter(|d| *d >= 2 && d % 2 == 0) else { continue };
        if !shape(g, x).zip(shape(g, y)).is_some_and(|(a, b)| same_shape(a, b)) {
            continue;
        }
        let h = d / 2;
        let mut rot = Analyzer::new(Mode::Rotation, Some(x));
        // lo[k] = x[a]·c − x[b]·s ; hi[k] = x[b]·c + x[a]·s with (a, b) = (k, k+h) or (2k, 2k+1);
        // written in halves, pairs (2k, 2k+1) are read de-interleaved; written as pairs, they
        // must be x's own pairs
        let halves = (false, (0..h).collect::<Vec<_>>(), (h..d).collect::<Vec<_>>());
        let pairs_in = (!pairs_out, (0..h).map(|k| 2 * k).collect(), (0..h).map(|k| 2 * k + 1).collect());
        let layouts = if pairs_out { vec![pairs_in] } else { vec![halves, pairs_in] };
        let found = layouts.iter().find_map(|(deinterleave, a, b)| {
            let lo_terms = half_terms(g, lo, a, b, &mut rot, x)?;
            let hi_terms = half_terms(g, hi, b, a, &mut rot, x)?;
            Some((*deinterleave, lo_terms, hi_terms))
        });
        let Some((deinterleave, (ca, sa), (cb, sb))) = found else { continue };
        let xn = g.value_name(x);
        let (Some(fca), Some(fcb), Some(fsa), Some(fsb)) =
            (tables.product(g, &ca.factors), tables.product(g, &cb.factors), tables.product(g, &sa.factors), tables.product(g, &sb.factors))
        else {
            why = format!("the tables rotating {xn} are products the analysis cannot read");
            continue;
        };
        if [&fca, &fcb, &fsa, &fsb].iter().any(|f| ![1, h].contains(&f.total())) {
            why = format!("the tables rotating {xn} do not have one value per pair");
            continue;
        }
        let at = |f: &Feat, k: usize| f.entries[if f.total() == 1 { 0 } else { k }];
        // sR at the second feature of each pair, in the op's layout (halves, or x's pairs)
        let mut signs = vec![1i8; d];
        let mut ok = true;
        for (k, (_, second)) in pairs(d, pairs_out).enumerate() {
            // cos: the same class, coefficient +1 in both halves (the cache is hi's product)
            let (xa, xb) = (at(&fca, k), at(&fcb, k));
            if xa != xb || ca.moves[k].1 != 1 || cb.moves[k].1 != 1 {
                why = format!("cos of the chunk rotation of {xn} is not provably equal in both halves at pair {k}");
                ok = false;
                break;
            }
            // sin: the coefficient of x[b] in lo[k] is −(the coefficient of x[a] in hi[k])
            let (ya, yb) = (at(&fsa, k), at(&fsb, k));
            if ya.1 != yb.1 || sa.moves[k].1 * ya.0 != -(sb.moves[k].1 * yb.0) {
                why = format!("sin of the chunk rotation of {xn} is not provably opposite in both halves at pair {k}");
                ok = false;
                break;
            }
            signs[second] = sb.moves[k].1;
        }
        if !ok {
            continue;
        }
        let Some(heads_axis) = heads_axis(g, r, &cb.factors, &sb.factors) else {
            why = "cos/sin vary along both axes 1 and 2 of x: no heads axis to broadcast over".into();
            continue;
        };
        let t = Tables { cos: cb.factors, sin: sb.factors, interleaved: pairs_out, d, signs, heads_axis, half: true, deinterleave };
        return Ok(Match { root: id, x, y, t, compact: false });
    }
    Err(why)
}

/// `(lo, hi)` when `v` = `Concat(Unsqueeze(lo, -1), Unsqueeze(hi, -1), axis=-1)` and `y` is
/// `v` with its last two axes flattened (`v` `[.., h, 2]`, `y` `[.., 2h]`, the same leading dims):
/// `y[.., 2k] = lo[.., k]`, `y[.., 2k+1] = hi[.., k]`.
fn stacked_halves(g: &Graph, v: Value, y: Value) -> Option<(Value, Value)> {
    let cat = producer(g, v).filter(|n| is_op(n, "Concat") && n.inputs.len() == 2)?;
    let (s, sy) = (shape(g, v)?, shape(g, y)?);
    let r = sy.len();
    let flat = r >= 1 && s.len() == r + 1 && same_shape(&s[..r - 1], &sy[..r - 1]) && s[r - 1].mul(&s[r]) == sy[r - 1];
    if !flat || axis(attr_int(cat, "axis", 0), r + 1) != Some(r) || s[r] != Dim::Fixed(2) {
        return None;
    }
    let un = |v: Value| -> Option<Value> {
        let n = producer(g, v).filter(|n| is_op(n, "Unsqueeze"))?;
        let axes = input(n, 1).and_then(|a| const_ints(g, a))?;
        if axes.len() == 1 && axis(axes[0], r + 1) == Some(r) { input(n, 0) } else { None }
    };
    Some((un(input(cat, 0)?)?, un(input(cat, 1)?)?))
}

/// `(X, z)` when `m.x = X[..., :D]` and `m.y` is only read by `z = Concat(y, X[..., D:])`.
fn partial(g: &Graph, m: &Match) -> Option<(Value, Value, NodeId)> {
    let sl = producer(g, m.x).filter(|n| is_op(n, "Slice"))?;
    let big = input(sl, 0)?;
    let r = shape(g, big)?.len();
    let full = last_dim(g, big)?;
    let is_last = |v: Option<Value>| v.and_then(|v| const_ints(g, v)).is_some_and(|a| a.len() == 1 && axis(a[0], r) == Some(r - 1));
    let unit = |n: &rotor_builder::Node| input(n, 4).is_none_or(|s| const_ints(g, s).is_some_and(|s| s == [1]));
    let ints = |n: &rotor_builder::Node, i: usize| input(n, i).and_then(|v| const_ints(g, v));
    if !(ints(sl, 1)? == [0] && ints(sl, 2)? == [m.t.d as i64] && is_last(input(sl, 3)) && unit(sl)) || full <= m.t.d as i64 {
        return None;
    }
    if g.is_output(m.y) || g.uses(m.y).len() != 1 {
        return None;
    }
    let cat = g.node(g.uses(m.y)[0].node).filter(|n| is_op(n, "Concat") && n.inputs.len() == 2 && input(n, 0) == Some(m.y))?;
    if axis(attr_int(cat, "axis", 0), r) != Some(r - 1) {
        return None;
    }
    let rest = producer(g, input(cat, 1)?).filter(|n| is_op(n, "Slice") && input(n, 0) == Some(big))?;
    if !(ints(rest, 1)? == [m.t.d as i64] && ints(rest, 2)?[0] >= full && is_last(input(rest, 3)) && unit(rest)) {
        return None;
    }
    let z = only_output(cat)?;
    same_shape(shape(g, z)?, shape(g, big)?).then_some((big, z, cat.id))
}

/// The ai.onnx op's caches broadcast to a (symbolic) batch and sequence size.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct BroadcastKey {
    cos: Value,
    sin: Value,
    batch: Dim,
    seq: Dim,
}

/// The contrib op's 2-D tables and row ids.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct IdsKey {
    cos: Value,
    sin: Value,
}

/// Product of tables (one `Mul` per extra factor).
fn product(g: &mut Builder, name: &str, vs: &[Value]) -> Result<Value, rotor_builder::BuildError> {
    let mut acc = vs[0];
    for v in &vs[1..] {
        acc = g.mul(name, acc, *v)?;
    }
    Ok(acc)
}

/// A constant sign vector in `dtype`.
fn sign_const(g: &mut Builder, name: &str, signs: &[i8], dtype: DType) -> Result<Value, rotor_builder::BuildError> {
    let t = Tensor::f32(vec![signs.len() as i64], signs.iter().map(|s| f32::from(*s)).collect())
        .map_err(|e| rotor_builder::BuildError::Graph { graph: g.name().into(), message: e })?;
    let t = if dtype == DType::F32 {
        t
    } else {
        t.cast_f32_to(dtype).ok_or_else(|| rotor_builder::BuildError::Graph { graph: g.name().into(), message: format!("no {dtype} constant") })?
    };
    g.constant(name, t)
}

/// Per-pair caches `[b, s, D/2]` (cos at first features, signed sin at second) from the
/// tables `cos`/`sin` (patch values of the match's factors).
fn caches(g: &mut Builder, m: &Match, cos: &[Value], sin: &[Value], r: usize) -> Result<(Value, Value), BuildError> {
    let (d, h) = (m.t.d as i64, m.t.d as i64 / 2);
    let cos = product(g, "cos", cos)?;
    let sin = product(g, "sin", sin)?;
    let last = g.const_i64s("last_axis", &[-1])?;
    let take = |g: &mut Builder, name: &str, t: Value, first: bool| -> Result<Value, BuildError> {
        if m.t.half || shape(g, t).and_then(|s| s.last().cloned()) == Some(Dim::Fixed(1)) {
            return Ok(t);
        }
        let (start, end, step) = match (m.t.interleaved, first) {
            (false, true) => (0, h, 1),
            (false, false) => (h, d, 1),
            (true, true) => (0, d, 2),
            (true, false) => (1, d, 2),
        };
        let s = g.const_i64s(&format!("{name}_start"), &[start])?;
        let e = g.const_i64s(&format!("{name}_end"), &[end])?;
        let st = g.const_i64s(&format!("{name}_step"), &[step])?;
        g.slice(name, t, s, e, Some(last), Some(st))
    };
    let cos_h = take(g, "cos_pairs", cos, true)?;
    let mut sin_h = take(g, "sin_pairs", sin, false)?;
    let second: Vec<i8> = pairs(m.t.d, m.t.interleaved).map(|(_, b)| m.t.signs[b]).collect();
    if second.iter().all(|s| *s == -1) {
        sin_h = g.add_node("sin_signed", "Neg", &[Some(sin_h)], vec![])?;
    } else if second.contains(&-1) {
        let c = sign_const(g, "sin_signs", &second, g.dtype(sin_h))?;
        sin_h = g.mul("sin_signed", sin_h, c)?;
    }
    // to [b, s, D/2]: leading unit axes up to x's rank, then drop the heads axis
    let to3 = |g: &mut Builder, name: &str, t: Value| -> Result<Value, BuildError> {
        let rc = g.rank(t);
        let t = if rc < r { g.unsqueeze(&format!("{name}_rank"), t, &(0..(r - rc) as i64).collect::<Vec<_>>())? } else { t };
        if r == 4 { g.squeeze(name, t, &[m.t.heads_axis as i64]) } else { Ok(t) }
    };
    let c3 = to3(g, "cos_rows", cos_h)?;
    let s3 = to3(g, "sin_rows", sin_h)?;
    Ok((c3, s3))
}

/// `[B, S, k]` for the op input `xin` (sequence on `s_ax`).
fn batch_seq(g: &mut Builder, xin: Value, s_ax: i64, k: i64) -> Result<Value, BuildError> {
    let b = g.shape_of("batch", xin, 0, Some(1))?;
    let s = g.shape_of("seq", xin, s_ax, Some(s_ax + 1))?;
    let tail = g.const_i64s("tail", &[k])?;
    g.concat("batch_seq", &[b, s, tail], 0)
}

/// Values earlier patches of this pass built that this rotation can reuse (patch taps), keyed
/// by the rewritten graph's values.
#[derive(Default)]
struct Reuse {
    /// The per-pair caches `[b, s, D/2]`.
    caches: Option<(Value, Value)>,
    /// The ai.onnx op's caches broadcast to this batch and sequence.
    broadcast: Option<(Value, Value)>,
    /// The contrib op's 2-D tables and row ids.
    ids: Option<(Value, Value, Value)>,
}

/// What the replacement built that later rotations may reuse.
#[derive(Default)]
struct Built {
    caches: Option<(Value, Value)>,
    broadcast: Option<(Value, Value)>,
    ids: Option<(Value, Value, Value)>,
}

/// The batch and sequence dims the op's input will have (`xin` below), when known, for the
/// memo of broadcast caches.
fn batch_seq_dims(g: &Graph, big: Value, r: usize, heads_axis: usize) -> Option<(Dim, Dim)> {
    let s = shape(g, big)?;
    let seq_axis = if r == 4 && heads_axis == 1 { 2 } else { 1 };
    let (b, q) = (s.first()?.clone(), s.get(seq_axis)?.clone());
    (b != Dim::Unknown && q != Dim::Unknown).then_some((b, q))
}

/// The patch of one proven rotation: the replacement (built in the patch over taps of the
/// match's values), the readers of the rotated value shunted to it, and the old chain dropped.
fn rewrite(g: &Graph, m: &Match, target: RopeTarget, upgrade: bool, memo: &Memo) -> Result<Patch, BuildError> {
    // the decomposed form rotates the slice and keeps the model's Concat
    let part = if target == RopeTarget::Decomposed || m.t.deinterleave { None } else { partial(g, m) };
    let (big, out, anchor) = match part {
        Some((big, z, cat)) => (big, z, cat),
        None => (m.x, m.y, m.root),
    };
    let r = g.rank(m.x);
    let scope = fresh_scope(g, "rotor_rope");
    let mut p = Patch::new(g);
    if upgrade {
        p.set_opset(23);
    }
    p.before(anchor);
    let (x, big_t) = (p.tap(g, m.x)?, p.tap(g, big)?);
    let (cos_t, sin_t) = (p.tap_all(g, &m.t.cos)?, p.tap_all(g, &m.t.sin)?);
    // 1. what earlier rotations built over the same tables
    // the per-pair caches of these tables
    let caches_key = m.t.clone();
    let outer_caches = live(g, memo.get(&caches_key));
    let bs = batch_seq_dims(g, big, r, m.t.heads_axis);
    let mut reuse = Reuse::default();
    if let Some(c) = &outer_caches {
        reuse.caches = Some((p.tap(g, c[0])?, p.tap(g, c[1])?));
        if let Some((b, s)) = &bs
            && let Some(v) = live(g, memo.get(&BroadcastKey { cos: c[0], sin: c[1], batch: b.clone(), seq: s.clone() }))
        {
            reuse.broadcast = Some((p.tap(g, v[0])?, p.tap(g, v[1])?));
        }
        if let Some(v) = live(g, memo.get(&IdsKey { cos: c[0], sin: c[1] })) {
            reuse.ids = Some((p.tap(g, v[0])?, p.tap(g, v[1])?, p.tap(g, v[2])?));
        }
    }
    // 2. the replacement
    let mut built = Built::default();
    let new = p.builder().with_scope(&scope, |g| -> Result<Value, BuildError> {
        // DeepSeek's pairs: the rotation of x's pairs written in halves is the half rotation of
        // x de-interleaved
        let (x, big_t) = if m.t.deinterleave {
            let order: Vec<i64> = (0..m.t.d as i64).step_by(2).chain((1..m.t.d as i64).step_by(2)).collect();
            let idx = g.const_i64s("deinterleave_order", &order)?;
            let xd = g.gather("deinterleaved", x, idx, -1)?;
            (xd, xd)
        } else {
            (x, big_t)
        };
        if target == RopeTarget::Decomposed {
            let mut cos = product(g, "cos", &cos_t)?;
            let mut sin = product(g, "sin", &sin_t)?;
            let mut signs = m.t.signs.clone();
            if m.t.half {
                // per-pair tables to full width (each pair's value on both its features), the
                // sine (signed σ) minus on the first: y[a] = x[a]·c − x[b]·σs, y[b] = x[b]·c + x[a]·σs
                let h = m.t.d as i64 / 2;
                let order: Vec<i64> = if m.t.interleaved { (0..h).flat_map(|k| [k, k]).collect() } else { (0..h).chain(0..h).collect() };
                let idx = g.const_i64s("pair_of_feature", &order)?;
                let widen = |g: &mut Builder, name: &str, t: Value| -> Result<Value, BuildError> {
                    if shape(g, t).and_then(|s| s.last().cloned()) == Some(Dim::Fixed(1)) { Ok(t) } else { g.gather(name, t, idx, -1) }
                };
                cos = widen(g, "cos_full", cos)?;
                sin = widen(g, "sin_full", sin)?;
                for (a, b) in pairs(m.t.d, m.t.interleaved) {
                    signs[a] = -m.t.signs[b];
                }
            }
            if signs.contains(&-1) {
                let c = sign_const(g, "signs", &signs, g.dtype(sin))?;
                sin = g.mul("sin_signed", sin, c)?;
            }
            let plan =
                if m.t.interleaved { Swap::Pairs { head_dim: m.t.d as i64 } } else { Swap::Halves { sizes: vec![m.t.d as i64 / 2; 2], order: vec![1, 0] } };
            return rope::apply(g, x, rope::Tables { cos, sin }, &plan);
        }
        let (c3, s3) = match reuse.caches {
            Some(c) => c,
            None => {
                let c = caches(g, m, &cos_t, &sin_t, r)?;
                built.caches = Some(c);
                c
            }
        };
        let h = m.t.d as i64 / 2;
        let dims = shape(g, big_t).map(<[Dim]>::to_vec).unwrap_or_default();
        let heads = if r == 4 { dims.get(m.t.heads_axis).and_then(Dim::fixed) } else { Some(1) };
        // the op's input: [B, H, S, D] as is; [B, S, H, D] viewed as [B, S, H·D] with
        // num_heads (or transposed when H is symbolic); [B, S, D] with one head
        let transposed = r == 4 && m.t.heads_axis == 2 && heads.is_none();
        let (xin, s_ax) = if r == 4 && m.t.heads_axis == 1 {
            (big_t, 2)
        } else if transposed {
            (g.transpose("heads_first", big_t, &[0, 2, 1, 3])?, 2)
        } else if r == 4 {
            (g.reshape_const("x3", big_t, &[0, 0, -1])?, 1)
        } else {
            (big_t, 1)
        };
        let three = g.rank(xin) == 3;
        let rot = (part.is_some()).then_some(m.t.d as i64);
        let y = match target {
            RopeTarget::Onnx => {
                // rotations of inputs with the same (symbolic) batch and sequence sizes share
                // the broadcast caches
                let (cos, sin) = match reuse.broadcast {
                    Some(v) => v,
                    None => {
                        let shp = batch_seq(g, xin, s_ax, h)?;
                        let cos = g.expand("cos_cache", c3, shp)?;
                        let sin = g.expand("sin_cache", s3, shp)?;
                        built.broadcast = Some((cos, sin));
                        (cos, sin)
                    }
                };
                let attrs = RotaryEmbeddingAttrs { interleaved: m.t.interleaved, rotary_embedding_dim: rot, num_heads: three.then(|| heads.unwrap_or(1)) };
                ops::v23::rotary_embedding(g, "rotary_embedding", xin, cos, sin, None, &attrs)?
            }
            _ => {
                let (cos2, sin2, ids_bs) = match reuse.ids {
                    Some(v) => v,
                    None => {
                        let cos2 = g.reshape_const("cos_table", c3, &[-1, h])?;
                        let sin2 = g.reshape_const("sin_table", s3, &[-1, h])?;
                        let bs = g.shape_of("rows", c3, 0, Some(2))?;
                        let b = g.shape_of("rows_b", c3, 0, Some(1))?;
                        let s = g.shape_of("rows_s", c3, 1, Some(2))?;
                        let n = g.mul("row_count", b, s)?;
                        let n = g.squeeze("row_count_scalar", n, &[0])?;
                        let zero = g.constant("zero", Tensor::scalar_i64(0))?;
                        let one = g.constant("one", Tensor::scalar_i64(1))?;
                        let ids = g.range("row_ids", zero, n, one)?;
                        let ids = g.reshape("row_ids_bs", ids, bs)?;
                        built.ids = Some((cos2, sin2, ids));
                        (cos2, sin2, ids)
                    }
                };
                let b = g.shape_of("batch", xin, 0, Some(1))?;
                let s = g.shape_of("seq", xin, s_ax, Some(s_ax + 1))?;
                let bs = g.concat("batch_seq", &[b, s], 0)?;
                let ids = g.expand("position_ids", ids_bs, bs)?;
                let num_heads =
                    (three || rot.is_some()).then(|| if three { heads.unwrap_or(1) } else { shape(g, xin).and_then(|s| s[1].fixed()).unwrap_or(0) });
                let attrs = RotaryEmbeddingAttrs { interleaved: m.t.interleaved, rotary_embedding_dim: rot, num_heads };
                ops::ms::rotary_embedding(g, "rotary_embedding", xin, Some(ids), cos2, sin2, &attrs)?
            }
        };
        if transposed {
            return g.transpose("heads_back", y, &[0, 2, 1, 3]);
        }
        if xin != big_t {
            let back = g.shape_of("x_shape", big_t, 0, None)?;
            return g.reshape("", y, back);
        }
        Ok(y)
    })?;
    // 3. readers of the rotation read the replacement; the old chain goes
    p.shunt(out, new);
    p.drop_if_dead(m.root);
    // 4. what later rotations over the same tables reuse, keyed by the rewritten graph's values
    if let Some((c3, s3)) = built.caches {
        p.remember(caches_key, vec![c3, s3]);
    }
    let (c3, s3) = built.caches.or(reuse.caches).unwrap_or((x, x));
    if let Some((cos, sin)) = built.broadcast
        && let Some((b, s)) = bs
    {
        p.remember_with(move |map| Some((BroadcastKey { cos: map(c3)?, sin: map(s3)?, batch: b, seq: s }, vec![map(cos)?, map(sin)?])));
    }
    if let Some((cos2, sin2, ids)) = built.ids {
        p.remember_with(move |map| Some((IdsKey { cos: map(c3)?, sin: map(s3)? }, vec![map(cos2)?, map(sin2)?, map(ids)?])));
    }
    Ok(p)
}

/// The pass: the table analysis of the round (its memo spans the round's rotations).
pub struct FuseRope {
    tables: Analyzer,
}

impl Default for FuseRope {
    fn default() -> FuseRope {
        FuseRope { tables: Analyzer::new(Mode::Table, None) }
    }
}

impl Rule for FuseRope {
    fn name(&self) -> &'static str {
        NAME
    }

    /// Every two-input `Concat` and `Reshape` (the chunk form, whose halves are `Add`/`Sub`s
    /// themselves: tried first), then every two-operand `Add`/`Sub` of the graph.
    fn candidates(&mut self, g: &Graph, _cx: &mut Cx) -> Result<Vec<Option<NodeId>>, PassError> {
        self.tables = Analyzer::new(Mode::Table, None);
        let two = |n: &&rotor_builder::Node, ops: &[&str]| ops.iter().any(|op| is_op(n, op)) && n.inputs.len() == 2;
        let cats = g.nodes().iter().filter(|n| two(n, &["Concat", "Reshape"]));
        let sums = g.nodes().iter().filter(|n| two(n, &["Add", "Sub"]));
        Ok(cats.chain(sums).map(|n| Some(n.id)).collect())
    }

    fn rewrite(&mut self, g: &Graph, at: Option<NodeId>, cx: &mut Cx) -> Result<Option<Patch>, PassError> {
        let target = cx.options.rope_target;
        let Some(id) = at else { return Ok(None) };
        let Some(n) = g.node(id) else { return Ok(None) };
        let name = label(g, n);
        let chunk = is_op(n, "Concat") || is_op(n, "Reshape");
        let found = if chunk { find_chunk(g, id, &mut self.tables) } else { find(g, id, &mut self.tables) };
        let m = match found {
            Ok(m) => m,
            Err(why) => {
                // an Add of two products (two such sums, concatenated or stacked) is worth
                // explaining; other Adds, Concats and Reshapes are not candidates
                let of = |v: &Value, ops: &[&str]| producer(g, *v).is_some_and(|p| ops.iter().any(|op| is_op(p, op)));
                let products = |n: &rotor_builder::Node| n.inputs.iter().flatten().all(|v| of(v, &["Mul"]));
                let sum_of_products = |v: Value| of(&v, &["Add", "Sub"]) && producer(g, v).is_some_and(products);
                let worth = if is_op(n, "Reshape") {
                    let stacked = input(n, 0).zip(only_output(n)).and_then(|(v, y)| stacked_halves(g, v, y));
                    stacked.is_some_and(|(lo, hi)| sum_of_products(lo) && sum_of_products(hi))
                } else if chunk {
                    n.inputs.iter().flatten().all(|v| sum_of_products(*v))
                } else {
                    products(n)
                };
                if worth {
                    cx.reject(&name, why);
                }
                return Ok(None);
            }
        };
        // rotor's compact swap is the decomposed form already
        if m.compact && target == RopeTarget::Decomposed {
            return Ok(None);
        }
        let heads_known = g.rank(m.x) == 3 || shape(g, m.x).is_some_and(|s| s[m.t.heads_axis].fixed().is_some());
        if target == RopeTarget::Microsoft && !heads_known && partial(g, &m).is_some() {
            cx.reject(&name, "partial rotation: com.microsoft.RotaryEmbedding needs num_heads with rotary_embedding_dim, and the head count is symbolic");
            return Ok(None);
        }
        let upgrade = target == RopeTarget::Onnx && g.opset() < 23;
        if target == RopeTarget::Onnx && cx.options.max_opset < 23 {
            return Err(cx.refuse(format!("{name}: the ai.onnx RotaryEmbedding needs opset 23, above the target's {}", cx.options.max_opset)));
        }
        if upgrade && g.is_subgraph() {
            cx.reject(&name, format!("fusing into ai.onnx RotaryEmbedding inside a body needs the model at opset 23 (it is at {})", g.opset()));
            return Ok(None);
        }
        if upgrade {
            crate::opset::check_upgrade(g, 23).map_err(|e| {
                cx.refuse(format!("{name}: fusing into ai.onnx RotaryEmbedding needs opset 23, and this model cannot be raised to it: {e} (use --rope-target com.microsoft or decomposed)"))
            })?;
        }
        rewrite(g, &m, target, upgrade, &cx.memo).map(Some).map_err(|e| cx.build_error(e))
    }
}
