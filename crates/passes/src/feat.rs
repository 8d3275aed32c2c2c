//! Per-feature analysis: what a value holds along its trailing axes, up to equality.
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

use rotor_builder::{DType, Dim, Graph, Value};

use crate::util::{attr_int, attr_ints, axis, const_ints, constant, input, is_onnx, producer, shape};

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
const MAX_FEATURES: usize = 1 << 16;
const MAX_CONST_ELEMENTS: usize = 1 << 20;

const ODD: &[&str] = &["Sin", "Tan", "Asin", "Atan", "Sinh", "Tanh", "Erf", "Reciprocal", "Identity"];
const EVEN: &[&str] = &["Cos", "Cosh", "Abs"];
const UNARY: &[&str] = &["Exp", "Log", "Sqrt", "Floor", "Ceil", "Round", "Sigmoid", "Relu", "Softplus", "Not", "Sign", "IsNaN", "IsInf", "Acos"];
const BINARY: &[&str] =
    &["Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Mod", "And", "Or", "Xor", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"];

impl Analyzer {
    /// A new analysis; `stop` is the value a rotation must end at.
    pub fn new(mode: Mode, stop: Option<Value>) -> Analyzer {
        Analyzer { mode, stop, keys: HashMap::new(), memo: HashMap::new(), sources: HashMap::new(), depth: 0 }
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
    /// tell.
    pub fn product(&mut self, g: &Graph, vs: &[Value]) -> Option<Feat> {
        let mut acc = self.feat(g, *vs.first()?)?;
        for v in &vs[1..] {
            let f = self.feat(g, *v)?;
            acc = self.combine("Mul", &[acc, f])?;
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

    fn source(&mut self, g: &Graph, v: Value) -> Option<Feat> {
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
        let table = self.mode == Mode::Table;
        let r = shape(g, v).map(<[Dim]>::len);
        let out = match n.op_type.as_str() {
            "Neg" => self.feat(g, input(&n, 0)?).map(|f| Feat { entries: f.entries.iter().map(|(s, c)| (-s, *c)).collect(), dims: f.dims }),
            "Identity" => self.feat(g, input(&n, 0)?),
            "Unsqueeze" => self.unsqueeze(g, &n, v),
            "Squeeze" => self.squeeze(g, &n),
            "Reshape" => self.reshape(g, &n, v),
            "Slice" => self.slice(g, &n),
            "Concat" => self.concat(g, &n),
            "Split" => self.split(g, &n, v),
            "Gather" => self.gather(g, &n),
            "Expand" if table => self.expand(g, &n, v),
            "Tile" if table => self.tile(g, &n),
            "Transpose" if table => {
                let x = input(&n, 0)?;
                let f = self.feat(g, x)?;
                let rank = r?;
                let perm = attr_ints(&n, "perm")?;
                let k = f.dims.len();
                perm.iter().enumerate().skip(rank.checked_sub(k)?).all(|(i, p)| *p == i as i64).then_some(f)
            }
            "GatherElements" if table => {
                let rank = shape(g, input(&n, 0)?)?.len();
                let a = axis(attr_int(&n, "axis", 0), rank)?;
                let fd = self.feat(g, input(&n, 0)?)?;
                let fi = self.feat(g, input(&n, 1)?)?;
                (a < rank.checked_sub(fd.dims.len().max(fi.dims.len()))?).then_some(())?;
                self.combine("GatherElements", &[fd, fi])
            }
            "Cast" | "CastLike" if table => {
                let x = input(&n, 0)?;
                let f = self.feat(g, x)?;
                let float = |d: DType| matches!(d, DType::F32 | DType::F16 | DType::BF16 | DType::F64);
                if float(g.dtype(x)) && float(g.dtype(v)) {
                    Some(self.unary(&format!("Cast{}", g.dtype(v)), f, true))
                } else {
                    Some(self.generic(&format!("Cast{}", g.dtype(v)), &[f]))
                }
            }
            op if table && ODD.contains(&op) => {
                let f = self.feat(g, input(&n, 0)?)?;
                Some(self.unary(op, f, true))
            }
            op if table && EVEN.contains(&op) => {
                let f = self.feat(g, input(&n, 0)?)?;
                let f = Feat { entries: f.entries.iter().map(|(_, c)| (1, *c)).collect(), dims: f.dims };
                Some(self.unary(op, f, true))
            }
            op if table && UNARY.contains(&op) => {
                let f = self.feat(g, input(&n, 0)?)?;
                Some(self.generic(op, &[f]))
            }
            op if table && (BINARY.contains(&op) || op == "Where") => {
                let fs: Option<Vec<Feat>> = n.inputs.iter().map(|i| i.and_then(|i| self.feat(g, i))).collect();
                self.combine(op, &fs?)
            }
            _ => return self.source(g, v),
        };
        match out {
            Some(f) => Some(f),
            // an op the analysis cannot see through is a source in its own right
            None if table => self.source(g, v),
            None => None,
        }
    }

    fn constant(&mut self, g: &Graph, v: Value, t: &rotor_builder::Tensor) -> Option<Feat> {
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
    fn unary(&mut self, op: &str, f: Feat, keep_sign: bool) -> Feat {
        let entries = f.entries.iter().map(|(s, c)| (if keep_sign { *s } else { 1 }, self.intern(Key::Apply(op.into(), vec![(1, *c)])))).collect();
        Feat { dims: f.dims, entries }
    }

    /// A function of the signed classes (the result carries sign +).
    fn generic(&mut self, op: &str, fs: &[Feat]) -> Feat {
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

    /// Element-wise op over broadcast feature descriptions.
    fn combine(&mut self, op: &str, fs: &[Feat]) -> Option<Feat> {
        let n = fs.iter().map(Feat::total).max()?;
        let dims = fs.iter().find(|f| f.total() == n)?.dims.clone();
        if fs.iter().any(|f| f.total() != 1 && f.dims != dims) {
            return None;
        }
        if fs.len() != 2 || !matches!(op, "Mul" | "Div" | "Add" | "Sub") {
            return Some(self.generic(op, fs));
        }
        let entries = (0..n)
            .map(|i| {
                let a = fs[0].entries[if fs[0].total() == 1 { 0 } else { i }];
                let b = fs[1].entries[if fs[1].total() == 1 { 0 } else { i }];
                match op {
                    // (sa·A)(sb·B) = sa·sb·(AB)
                    "Mul" | "Div" => (a.0 * b.0, self.intern(Key::Apply(op.into(), vec![(1, a.1), (1, b.1)]))),
                    // sa·A ± sb·B = sa·(A ± sa·sb·B)
                    _ => {
                        let same = a.0 * b.0 == 1;
                        let op2 = match (op, same) {
                            ("Add", true) | ("Sub", false) => "Add",
                            _ => "Sub",
                        };
                        (a.0, self.intern(Key::Apply(op2.into(), vec![(1, a.1), (1, b.1)])))
                    }
                }
            })
            .collect();
        Some(Feat { dims, entries })
    }

    /// Index of the first trailing axis for a value of rank `r` described by `f`.
    fn first_trailing(r: usize, f: &Feat) -> Option<usize> {
        r.checked_sub(f.dims.len())
    }

    fn unsqueeze(&mut self, g: &Graph, n: &rotor_builder::Node, v: Value) -> Option<Feat> {
        let x = input(n, 0)?;
        let f = self.feat(g, x)?;
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
        let first = Self::first_trailing(r, &f)?;
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

    fn squeeze(&mut self, g: &Graph, n: &rotor_builder::Node) -> Option<Feat> {
        let x = input(n, 0)?;
        let f = self.feat(g, x)?;
        let s = shape(g, x)?;
        let r = s.len();
        let axes = match input(n, 1) {
            Some(a) => const_ints(g, a)?,
            None => attr_ints(n, "axes")?,
        };
        let axes: Vec<usize> = axes.iter().map(|a| axis(*a, r)).collect::<Option<_>>()?;
        let first = Self::first_trailing(r, &f)?;
        if self.mode == Mode::Rotation && axes.iter().any(|a| *a < first) {
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

    fn reshape(&mut self, g: &Graph, n: &rotor_builder::Node, v: Value) -> Option<Feat> {
        let x = input(n, 0)?;
        let f = self.feat(g, x)?;
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
        if self.mode == Mode::Rotation {
            let lead =
                |s: &[Dim], k: usize| -> Option<Vec<Dim>> { Some(s[..s.len().checked_sub(k)?].iter().filter(|d| d.fixed() != Some(1)).cloned().collect()) };
            let (a, b) = (lead(si, f.dims.len())?, lead(so, k)?);
            if a != b || a.iter().any(|d| matches!(d, Dim::Unknown)) {
                return None;
            }
        }
        let dims = so[so.len() - k..].iter().map(|d| d.fixed().and_then(|d| usize::try_from(d).ok())).collect::<Option<Vec<_>>>()?;
        Some(Feat { dims, entries: f.entries })
    }

    /// Positions kept by a slice of one axis of size `d`.
    fn slice_positions(d: i64, start: i64, end: i64, step: i64) -> Option<Vec<usize>> {
        if step == 0 {
            return None;
        }
        let clamp = |i: i64, lo: i64, hi: i64| i.max(lo).min(hi);
        let norm = |i: i64| if i < 0 { i.saturating_add(d) } else { i };
        let mut out = Vec::new();
        if step > 0 {
            let (mut i, e) = (clamp(norm(start), 0, d), clamp(norm(end), 0, d));
            while i < e {
                out.push(i as usize);
                i += step;
            }
        } else {
            let (mut i, e) = (clamp(norm(start), -1, d - 1), clamp(norm(end), -1, d - 1));
            while i > e {
                out.push(i as usize);
                i += step;
            }
        }
        Some(out)
    }

    /// Select `keep` positions along trailing axis `t` (index into `f.dims`).
    fn select(f: &Feat, t: usize, keep: &[usize]) -> Option<Feat> {
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

    fn slice(&mut self, g: &Graph, n: &rotor_builder::Node) -> Option<Feat> {
        let x = input(n, 0)?;
        let f = self.feat(g, x)?;
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
        let first = Self::first_trailing(r, &f)?;
        let axes: Vec<usize> = axes.iter().map(|a| axis(*a, r)).collect::<Option<_>>()?;
        if axes.iter().all(|a| *a < first) {
            // rows only: every row keeps its features (bounds may be computed at run time)
            return (self.mode == Mode::Table).then_some(f);
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
        for (i, a) in axes.iter().enumerate() {
            if *a < first {
                if self.mode == Mode::Rotation {
                    return None;
                }
                continue;
            }
            let t = a - first;
            let keep = Self::slice_positions(f.dims[t] as i64, starts[i], ends[i], steps[i])?;
            f = Self::select(&f, t, &keep)?;
        }
        Some(f)
    }

    fn concat(&mut self, g: &Graph, n: &rotor_builder::Node) -> Option<Feat> {
        let ins: Vec<Value> = n.inputs.iter().copied().collect::<Option<_>>()?;
        let r = shape(g, *ins.first()?)?.len();
        let a = axis(attr_int(n, "axis", 0), r)?;
        let fs: Vec<Feat> = ins.iter().map(|v| self.feat(g, *v)).collect::<Option<_>>()?;
        let k = fs[0].dims.len();
        if fs.iter().any(|f| f.dims.len() != k) {
            return None;
        }
        let first = r.checked_sub(k)?;
        if a < first {
            if self.mode == Mode::Rotation {
                return None;
            }
            return self.combine("Concat", &fs);
        }
        let t = a - first;
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

    fn split(&mut self, g: &Graph, n: &rotor_builder::Node, v: Value) -> Option<Feat> {
        let x = input(n, 0)?;
        let f = self.feat(g, x)?;
        let r = shape(g, x)?.len();
        let a = axis(attr_int(n, "axis", 0), r)?;
        let slot = n.outputs.iter().position(|o| *o == Some(v))?;
        let first = Self::first_trailing(r, &f)?;
        if a < first {
            return (self.mode == Mode::Table).then_some(f);
        }
        let t = a - first;
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
        Self::select(&f, t, &keep)
    }

    fn gather(&mut self, g: &Graph, n: &rotor_builder::Node) -> Option<Feat> {
        let x = input(n, 0)?;
        let f = self.feat(g, x)?;
        let r = shape(g, x)?.len();
        let a = axis(attr_int(n, "axis", 0), r)?;
        let first = Self::first_trailing(r, &f)?;
        if a < first {
            return (self.mode == Mode::Table).then_some(f);
        }
        let t = a - first;
        let idx_v = input(n, 1)?;
        let idx = const_ints(g, idx_v)?;
        let idx_rank = constant(g, idx_v)?.dims().len();
        let d = f.dims[t] as i64;
        let keep: Vec<usize> = idx.iter().map(|i| usize::try_from(if *i < 0 { i + d } else { *i }).ok().filter(|i| (*i as i64) < d)).collect::<Option<_>>()?;
        let mut out = Self::select(&f, t, &keep)?;
        match idx_rank {
            0 => {
                out.dims.remove(t);
                if out.dims.is_empty() {
                    out.dims.push(1);
                }
                Some(out)
            }
            1 => Some(out),
            _ => None,
        }
    }

    fn expand(&mut self, g: &Graph, n: &rotor_builder::Node, v: Value) -> Option<Feat> {
        let x = input(n, 0)?;
        let f = self.feat(g, x)?;
        let so = shape(g, v)?;
        let k = f.dims.len();
        let out: Vec<usize> = so[so.len().checked_sub(k)?..].iter().map(|d| d.fixed().and_then(|d| usize::try_from(d).ok())).collect::<Option<_>>()?;
        let mut cur = f;
        for (t, want) in out.iter().enumerate() {
            if cur.dims[t] == *want {
                continue;
            }
            if cur.dims[t] != 1 {
                return None;
            }
            cur = Self::select(&cur, t, &vec![0; *want])?;
        }
        Some(cur)
    }

    fn tile(&mut self, g: &Graph, n: &rotor_builder::Node) -> Option<Feat> {
        let x = input(n, 0)?;
        let f = self.feat(g, x)?;
        let r = shape(g, x)?.len();
        let reps = const_ints(g, input(n, 1)?)?;
        if reps.len() != r {
            return None;
        }
        let first = Self::first_trailing(r, &f)?;
        let mut cur = f;
        for t in 0..cur.dims.len() {
            let rep = usize::try_from(reps[first + t]).ok()?;
            if rep == 1 {
                continue;
            }
            let d = cur.dims[t];
            let keep: Vec<usize> = (0..rep * d).map(|i| i % d).collect();
            cur = Self::select(&cur, t, &keep)?;
        }
        Some(cur)
    }
}
