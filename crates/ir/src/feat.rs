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
    /// A value constant along the trailing axes.
    Uniform(Value),
    /// A constant column (normalised to a positive first non-zero element), by bits.
    Column(Vec<u64>),
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
        Analyzer { mode, stop, keys: HashMap::new(), memo: HashMap::new(), sources: HashMap::new(), depth: 0 }
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
        let d = match t.dims().last() {
            None => 1,
            Some(d) => usize::try_from(*d).ok()?,
        };
        let vals = t.values_f64();
        if d == 0 || !vals.len().is_multiple_of(d) {
            return None;
        }
        if d == 1 {
            let c = self.intern(Key::Uniform(v));
            return Some(Feat { dims: vec![1], entries: vec![(1, c)] });
        }
        let rows = vals.len() / d;
        let mut entries = Vec::with_capacity(d);
        for j in 0..d {
            let col: Vec<f64> = (0..rows).map(|r| vals[r * d + j]).collect();
            let neg = col.iter().find(|x| **x != 0.0).is_some_and(|x| *x < 0.0);
            let bits = col.iter().map(|x| (if neg { -x } else { *x } + 0.0).to_bits()).collect();
            let c = self.intern(Key::Column(bits));
            entries.push((if neg { -1 } else { 1 }, c));
        }
        Some(Feat { dims: vec![d], entries })
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
