//! Per-feature analysis: what a value holds along its trailing axes, up to equality. This is the
//! driver; what each op does to the features (its *transfer*) is declared with the op in the
//! registry ([`crate::ops::OpDef::feat`]).
//!
//! [`Analyzer::feat`] describes a value `v` of shape `[lead…, t1, …, tk]` by one entry per
//! trailing position: `(sign, class)`, meaning `v[r, i] = sign · K_class[r]` for every leading
//! index `r`, where equal classes name equal tensors. The analysis follows the ops that move
//! features around (Slice, Concat, Split, Gather, Reshape, Unsqueeze, Squeeze, Expand, Tile on
//! trailing axes), element-wise ops (a function of equal arguments is equal; odd and even
//! functions keep or drop signs), leading-axis ops that keep each row intact, and constants
//! (columns compared by value). Anything else is a source: its own features are distinct
//! classes.
//!
//! Two uses: in [`Mode::Rotation`] the analysis must end at a given value `x` and may only
//! move features within a row, so that `feat(R)` proves `R[r, i] = s_i · x[r, p(i)]`; in
//! [`Mode::Table`] (cos/sin tables) it proves `C[r, i] = C[r, j]` for feature pairs.
//!
//! Tables are often built with their feature axis elsewhere and moved last by a `Transpose`
//! (HF's `(inv_freq[None, :, None] @ position_ids[:, None, :]).transpose(1, 2)`). For those,
//! [`Analyzer::feat_moved`] describes a value as if one of its axes were moved last (the others
//! keeping their order): ops that can say what that view of their output is in terms of the
//! same view of their inputs (element-wise ops, `Cast`, `Expand`, `Unsqueeze`, `Transpose`, a
//! `MatMul` whose inner dim is 1) declare it in [`crate::ops::OpDef::feat_moved`]; anything else is
//! a source along that axis.
//!
//! Classes compare tensors over the leading axes of the value they describe; a transfer that
//! reorders leading axes (a `Transpose` of them) renames its classes, so that equal classes of
//! different values always mean equal tensors.

use std::collections::HashMap;

use crate::query::{constant, is_onnx, producer, shape};
use crate::{Graph, Value};

/// What an analysis may look through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Only feature moves within a row, ending at the stop value.
    Rotation,
    /// Anything that keeps per-feature equalities.
    Table,
}

/// A class of equal tensors.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    /// Feature `j` of an opaque value.
    Source(Value, usize),
    /// Feature `j` of an opaque value along its axis `axis` (moved last).
    Moved(Value, usize, usize),
    /// A value constant along the trailing axes.
    Uniform(Value),
    /// A value constant along the axis viewed as the feature axis: the value without that
    /// axis (`Some(axis)`, of size 1), or as it is (`None`: it lacks the axis and broadcasts).
    Whole(Value, Option<usize>),
    /// A constant column (normalised to a positive first non-zero element) over the leading
    /// dims it is stored with, by bits.
    Column(Vec<usize>, Vec<u64>),
    /// An op applied to classes (signs included where the op does not absorb them).
    Apply(String, Vec<(i8, u32)>),
}

/// The per-feature description of one value.
#[derive(Clone, Debug, PartialEq)]
pub struct Feat {
    /// Static sizes of the trailing axes described (row-major).
    pub dims: Vec<usize>,
    /// `(sign, class)` per trailing position.
    pub entries: Vec<(i8, u32)>,
}

impl Feat {
    /// Number of trailing positions described.
    pub fn total(&self) -> usize {
        self.entries.len()
    }
}

/// What an op's transfer concluded about its output.
#[derive(Clone, Debug, PartialEq)]
pub enum Transfer {
    /// The op is opaque to the analysis: its output is a source of its own.
    Opaque,
    /// The output, described.
    Feat(Feat),
    /// The transfer does not apply to this node: in [`Mode::Table`] the output is a source,
    /// in [`Mode::Rotation`] the analysis cannot tell.
    NotHere,
    /// An input could not be described, so neither can the output (in either mode).
    Unknown,
}

impl From<Option<Feat>> for Transfer {
    fn from(f: Option<Feat>) -> Transfer {
        match f {
            Some(f) => Transfer::Feat(f),
            None => Transfer::NotHere,
        }
    }
}

/// One analysis (classes are comparable within it).
pub struct Analyzer {
    mode: Mode,
    stop: Option<Value>,
    keys: HashMap<Key, u32>,
    memo: HashMap<Value, Option<Feat>>,
    moved: HashMap<(Value, usize), Option<Feat>>,
    sources: HashMap<u32, (Value, usize)>,
    depth: usize,
}

const MAX_DEPTH: usize = 64;
/// The most features a source may have.
pub const MAX_FEATURES: usize = 1 << 16;
const MAX_CONST_ELEMENTS: usize = 1 << 20;

impl Analyzer {
    /// A new analysis; `stop` is the value a rotation must end at.
    pub fn new(mode: Mode, stop: Option<Value>) -> Analyzer {
        Analyzer { mode, stop, keys: HashMap::new(), memo: HashMap::new(), moved: HashMap::new(), sources: HashMap::new(), depth: 0 }
    }

    /// What the analysis may look through.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// True in [`Mode::Table`].
    pub fn table(&self) -> bool {
        self.mode == Mode::Table
    }

    fn intern(&mut self, k: Key) -> u32 {
        let n = self.keys.len() as u32;
        let id = *self.keys.entry(k.clone()).or_insert(n);
        if let Key::Source(v, j) = k {
            self.sources.insert(id, (v, j));
        }
        id
    }

    /// `(value, feature)` when `class` is a feature of an opaque source value.
    pub fn source_of(&self, class: u32) -> Option<(Value, usize)> {
        self.sources.get(&class).copied()
    }

    /// The description of the element-wise product of `vs` (broadcast), when the analysis can
    /// tell (`Mul`'s own transfer, one factor at a time).
    pub fn product(&mut self, g: &Graph, vs: &[Value]) -> Option<Feat> {
        let mut acc = self.feat(g, *vs.first()?)?;
        for v in &vs[1..] {
            let f = self.feat(g, *v)?;
            acc = crate::ops::arith_transfer(self, "Mul", &[acc, f])?;
        }
        Some(acc)
    }

    /// The description of `v` along its trailing axes, when the analysis can tell.
    pub fn feat(&mut self, g: &Graph, v: Value) -> Option<Feat> {
        if let Some(f) = self.memo.get(&v) {
            return f.clone();
        }
        if self.depth >= MAX_DEPTH {
            return None;
        }
        self.depth += 1;
        let f = self.compute(g, v);
        self.depth -= 1;
        self.memo.insert(v, f.clone());
        f
    }

    /// `v` as an opaque value: each of its features is a class of its own (a value constant
    /// along the trailing axis is one class).
    pub fn source(&mut self, g: &Graph, v: Value) -> Option<Feat> {
        let s = shape(g, v)?;
        let d = match s.last() {
            None => 1,
            Some(d) => usize::try_from(d.fixed()?).ok()?,
        };
        if d == 1 {
            let c = self.intern(Key::Uniform(v));
            return Some(Feat { dims: vec![1], entries: vec![(1, c)] });
        }
        if d > MAX_FEATURES {
            return None;
        }
        let entries = (0..d).map(|j| (1, self.intern(Key::Source(v, j)))).collect();
        Some(Feat { dims: vec![d], entries })
    }

    fn compute(&mut self, g: &Graph, v: Value) -> Option<Feat> {
        if Some(v) == self.stop {
            return self.source(g, v);
        }
        if self.mode == Mode::Table
            && let Some(t) = constant(g, v)
        {
            return self.constant(g, v, &t);
        }
        let Some(n) = producer(g, v) else { return self.source(g, v) };
        if !is_onnx(n) {
            return self.source(g, v);
        }
        let n = n.clone();
        // the op's transfer, from the registry; an op the analysis cannot see through is a
        // source in its own right
        let out = crate::ops::lookup(&n.domain, &n.op_type).map_or(Transfer::Opaque, |op| op.feat(self, g, &n, v));
        match out {
            Transfer::Feat(f) => Some(f),
            Transfer::Opaque => self.source(g, v),
            Transfer::NotHere if self.mode == Mode::Table => self.source(g, v),
            Transfer::NotHere | Transfer::Unknown => None,
        }
    }

    fn constant(&mut self, g: &Graph, v: Value, t: &crate::Tensor) -> Option<Feat> {
        if !t.dtype().is_computable() || t.len() > MAX_CONST_ELEMENTS {
            return self.source(g, v);
        }
        let dims: Vec<usize> = t.dims().iter().map(|d| usize::try_from(*d).ok()).collect::<Option<_>>()?;
        if dims.last().is_none_or(|d| *d == 1) {
            let c = self.intern(Key::Uniform(v));
            return Some(Feat { dims: vec![1], entries: vec![(1, c)] });
        }
        self.columns(&dims, &t.values_f64())
    }

    /// A constant `vals` (row-major over `dims`, at least one feature) by its columns.
    fn columns(&mut self, dims: &[usize], vals: &[f64]) -> Option<Feat> {
        let (&d, lead) = dims.split_last()?;
        if d == 0 || !vals.len().is_multiple_of(d) {
            return None;
        }
        let rows = vals.len() / d;
        let mut entries = Vec::with_capacity(d);
        for j in 0..d {
            let col: Vec<f64> = (0..rows).map(|r| vals[r * d + j]).collect();
            let neg = col.iter().find(|x| **x != 0.0).is_some_and(|x| *x < 0.0);
            let bits = col.iter().map(|x| (if neg { -x } else { *x } + 0.0).to_bits()).collect();
            let c = self.intern(Key::Column(lead.to_vec(), bits));
            entries.push((if neg { -1 } else { 1 }, c));
        }
        Some(Feat { dims: vec![d], entries })
    }

    /// The description of `v` with its axis `axis` moved last (the other axes keeping their
    /// order), over that one axis, when the analysis can tell ([`Mode::Table`] only; the last
    /// axis is [`Analyzer::feat`]).
    pub fn feat_moved(&mut self, g: &Graph, v: Value, axis: usize) -> Option<Feat> {
        let r = shape(g, v)?.len();
        if axis + 1 == r {
            return self.feat(g, v);
        }
        if axis >= r || self.mode != Mode::Table {
            return None;
        }
        if let Some(f) = self.moved.get(&(v, axis)) {
            return f.clone();
        }
        if self.depth >= MAX_DEPTH {
            return None;
        }
        self.depth += 1;
        let f = self.compute_moved(g, v, axis);
        self.depth -= 1;
        self.moved.insert((v, axis), f.clone());
        f
    }

    /// A value constant along the viewed axis, as a one-entry description (`axis`: the unit
    /// axis dropped, or `None` when the value lacks the axis).
    pub fn whole(&mut self, v: Value, axis: Option<usize>) -> Feat {
        let c = self.intern(Key::Whole(v, axis));
        Feat { dims: vec![1], entries: vec![(1, c)] }
    }

    fn compute_moved(&mut self, g: &Graph, v: Value, axis: usize) -> Option<Feat> {
        let s = shape(g, v)?;
        let d = usize::try_from(s[axis].fixed()?).ok()?;
        if d == 1 {
            return Some(self.whole(v, Some(axis)));
        }
        if d > MAX_FEATURES {
            return None;
        }
        if let Some(t) = constant(g, v) {
            if !t.dtype().is_computable() || t.len() > MAX_CONST_ELEMENTS {
                return self.source_moved(v, axis, d);
            }
            let dims: Vec<usize> = t.dims().iter().map(|d| usize::try_from(*d).ok()).collect::<Option<_>>()?;
            let vals = t.values_f64();
            let order = moved_order(&dims, axis);
            let moved: Vec<f64> = order.iter().map(|i| vals[*i]).collect();
            let mut mdims: Vec<usize> = dims.iter().enumerate().filter(|(i, _)| *i != axis).map(|(_, d)| *d).collect();
            mdims.push(dims[axis]);
            return self.columns(&mdims, &moved);
        }
        let Some(n) = producer(g, v) else { return self.source_moved(v, axis, d) };
        if !is_onnx(n) {
            return self.source_moved(v, axis, d);
        }
        let n = n.clone();
        let out = crate::ops::lookup(&n.domain, &n.op_type).map_or(Transfer::Opaque, |op| op.feat_moved(self, g, &n, v, axis));
        match out {
            Transfer::Feat(f) => Some(f),
            Transfer::Opaque | Transfer::NotHere => self.source_moved(v, axis, d),
            Transfer::Unknown => None,
        }
    }

    fn source_moved(&mut self, v: Value, axis: usize, d: usize) -> Option<Feat> {
        let entries = (0..d).map(|j| (1, self.intern(Key::Moved(v, axis, j)))).collect();
        Some(Feat { dims: vec![d], entries })
    }

    /// The views of the inputs `ins` of a broadcasting op (numpy rules) with output `v` and its
    /// axis `axis` moved last: an input that lacks the axis or has it at size 1 is one entry.
    pub fn moved_inputs(&mut self, g: &Graph, ins: &[Value], v: Value, axis: usize) -> Option<Vec<Feat>> {
        let ro = shape(g, v)?.len();
        ins.iter()
            .map(|&i| {
                let si = shape(g, i)?;
                let Some(ai) = axis.checked_sub(ro.checked_sub(si.len())?) else { return Some(self.whole(i, None)) };
                if si[ai].fixed() == Some(1) { Some(self.whole(i, Some(ai))) } else { self.feat_moved(g, i, ai) }
            })
            .collect()
    }

    /// `f` as the description of a value whose leading axes are those of the described one
    /// reordered (`how` names the reordering): each class renamed, signs kept.
    pub fn reordered(&mut self, how: &str, f: Feat) -> Feat {
        self.unary(how, f, true)
    }

    /// An element-wise function applied to each class; `keep_sign`: the caller settled signs
    /// (odd functions keep them, even ones were made positive).
    pub fn unary(&mut self, op: &str, f: Feat, keep_sign: bool) -> Feat {
        let entries = f.entries.iter().map(|(s, c)| (if keep_sign { *s } else { 1 }, self.intern(Key::Apply(op.into(), vec![(1, *c)])))).collect();
        Feat { dims: f.dims, entries }
    }

    /// A function of the signed classes (the result carries sign +).
    pub fn generic(&mut self, op: &str, fs: &[Feat]) -> Feat {
        let n = fs.iter().map(Feat::total).max().unwrap_or(1);
        let dims = fs.iter().find(|f| f.total() == n).map(|f| f.dims.clone()).unwrap_or_default();
        let entries = (0..n)
            .map(|i| {
                let args = fs.iter().map(|f| f.entries[if f.total() == 1 { 0 } else { i }]).collect();
                (1, self.intern(Key::Apply(op.into(), args)))
            })
            .collect();
        Feat { dims, entries }
    }

    /// Element-wise op over broadcast feature descriptions: a function of the signed classes
    /// ([`Analyzer::generic`]), when the descriptions broadcast. (Ops that track signs through
    /// their operands, as `Mul` and `Add` do, say so in their own transfer.)
    pub fn combine(&mut self, op: &str, fs: &[Feat]) -> Option<Feat> {
        Self::broadcast_dims(fs)?;
        Some(self.generic(op, fs))
    }

    /// The dims of the broadcast of `fs` (`None` when two described shapes differ).
    pub fn broadcast_dims(fs: &[Feat]) -> Option<Vec<usize>> {
        let n = fs.iter().map(Feat::total).max()?;
        let dims = fs.iter().find(|f| f.total() == n)?.dims.clone();
        if fs.iter().any(|f| f.total() != 1 && f.dims != dims) {
            return None;
        }
        Some(dims)
    }

    /// The class of op `op` applied to the signed classes `args`.
    pub fn class(&mut self, op: &str, args: Vec<(i8, u32)>) -> u32 {
        self.intern(Key::Apply(op.into(), args))
    }

    /// Index of the first trailing axis for a value of rank `r` described by `f`.
    pub fn first_trailing(r: usize, f: &Feat) -> Option<usize> {
        r.checked_sub(f.dims.len())
    }

    /// Select `keep` positions along trailing axis `t` (index into `f.dims`).
    pub fn select(f: &Feat, t: usize, keep: &[usize]) -> Option<Feat> {
        let inner: usize = f.dims[t + 1..].iter().product();
        let outer: usize = f.dims[..t].iter().product();
        let d = f.dims[t];
        if keep.iter().any(|k| *k >= d) {
            return None;
        }
        let mut entries = Vec::with_capacity(outer * keep.len() * inner);
        for o in 0..outer {
            for k in keep {
                let base = (o * d + k) * inner;
                entries.extend_from_slice(&f.entries[base..base + inner]);
            }
        }
        let mut dims = f.dims.clone();
        dims[t] = keep.len();
        Some(Feat { dims, entries })
    }
}

/// Row-major source indices of a tensor of `dims` with axis `axis` moved last.
fn moved_order(dims: &[usize], axis: usize) -> Vec<usize> {
    let mut strides = vec![1usize; dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * dims[i + 1];
    }
    let mut perm: Vec<usize> = (0..dims.len()).filter(|i| *i != axis).collect();
    perm.push(axis);
    let total: usize = dims.iter().product();
    (0..total)
        .map(|flat| {
            let mut rem = flat;
            let mut src = 0;
            for &p in perm.iter().rev() {
                src += (rem % dims[p]) * strides[p];
                rem /= dims[p];
            }
            src
        })
        .collect()
}
