//! Dimensions: fixed sizes and symbolic integer expressions (`B`, `N`, `Nk-Nq`, `ceil(N/8)`).
//!
//! A symbolic dimension is a linear combination of *atoms* plus a constant. An atom is a symbol
//! (`N`) or an opaque term that is not linear (`ceil(N/8)`, `B*H`). This is enough to keep the
//! shapes of RoPE and hierarchical graphs exact and readable in graph text, without a full
//! computer-algebra system: anything the rules below cannot express becomes [`Dim::Unknown`].

use std::collections::BTreeMap;
use std::fmt;

/// One dimension of a shape.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Dim {
    /// A size known when the graph is built.
    Fixed(i64),
    /// A size known only at run time, as an expression over named symbols.
    Sym(SymExpr),
    /// A size the builder cannot express (printed `?`).
    Unknown,
}

/// A linear combination of atoms plus a constant; never a plain constant (that is `Dim::Fixed`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SymExpr {
    terms: BTreeMap<String, i64>,
    constant: i64,
}

impl SymExpr {
    fn atom(name: &str) -> SymExpr {
        SymExpr { terms: BTreeMap::from([(name.to_string(), 1)]), constant: 0 }
    }

    /// True when the expression is a single symbol with coefficient 1 (like `N`).
    pub fn as_symbol(&self) -> Option<&str> {
        match (self.terms.len(), self.constant) {
            (1, 0) => self.terms.iter().next().filter(|(_, c)| **c == 1).map(|(a, _)| a.as_str()),
            _ => None,
        }
    }

    fn is_compound(&self) -> bool {
        self.terms.len() > 1 || self.constant != 0 || self.terms.values().any(|c| *c != 1)
    }
}

impl fmt::Display for SymExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (atom, coef) in &self.terms {
            let (sign, mag) = if *coef < 0 { ("-", -coef) } else { ("+", *coef) };
            if first {
                if sign == "-" {
                    f.write_str("-")?;
                }
            } else {
                f.write_str(sign)?;
            }
            if mag != 1 {
                write!(f, "{mag}*")?;
            }
            f.write_str(atom)?;
            first = false;
        }
        if self.constant != 0 {
            if self.constant > 0 {
                write!(f, "+{}", self.constant)?;
            } else {
                write!(f, "{}", self.constant)?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Fixed(v) => write!(f, "{v}"),
            Dim::Sym(e) => write!(f, "{e}"),
            Dim::Unknown => f.write_str("?"),
        }
    }
}

impl From<i64> for Dim {
    fn from(v: i64) -> Dim {
        Dim::Fixed(v)
    }
}

impl From<usize> for Dim {
    fn from(v: usize) -> Dim {
        Dim::Fixed(v as i64)
    }
}

impl From<i32> for Dim {
    fn from(v: i32) -> Dim {
        Dim::Fixed(v as i64)
    }
}

impl From<&str> for Dim {
    fn from(name: &str) -> Dim {
        Dim::sym(name)
    }
}

impl Dim {
    /// A named symbol such as `N`.
    pub fn sym(name: &str) -> Dim {
        Dim::Sym(SymExpr::atom(name))
    }

    /// A dimension as an ONNX `dim_param` spells it: a linear expression over symbols such as
    /// `seq + 3`, `2*seq - 1` or `s0` (what torch's exporter writes) becomes that expression, so
    /// it compares equal to the same size computed by inference; anything else (`floor(s/2)`,
    /// `s0*s1`) is one opaque symbol named by the whole text.
    pub fn parse_param(p: &str) -> Dim {
        Self::parse_linear(p).unwrap_or_else(|| Dim::sym(p))
    }

    fn parse_linear(p: &str) -> Option<Dim> {
        let ident = |t: &str| {
            let mut c = t.chars();
            c.next().is_some_and(|f| f.is_ascii_alphabetic() || f == '_') && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || x == '.')
        };
        let compact: String = p.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.is_empty() || ident(&compact) {
            return None; // a plain name: keep it as written
        }
        let mut acc = Dim::Fixed(0);
        let mut rest = compact.as_str();
        let mut sign = 1i64;
        if let Some(r) = rest.strip_prefix('-') {
            sign = -1;
            rest = r;
        } else if let Some(r) = rest.strip_prefix('+') {
            rest = r;
        }
        loop {
            let end = rest.find(['+', '-']).unwrap_or(rest.len());
            let (term, tail) = rest.split_at(end);
            let value = match term.split_once('*') {
                Some((a, b)) => match (a.parse::<i64>(), b.parse::<i64>()) {
                    (Ok(k), Err(_)) if ident(b) => Dim::sym(b).scale(k),
                    (Err(_), Ok(k)) if ident(a) => Dim::sym(a).scale(k),
                    _ => return None,
                },
                None => match term.parse::<i64>() {
                    Ok(k) => Dim::Fixed(k),
                    Err(_) if ident(term) => Dim::sym(term),
                    Err(_) => return None,
                },
            };
            acc = if sign > 0 { acc.add(&value) } else { acc.sub(&value) };
            if tail.is_empty() {
                break;
            }
            sign = if tail.starts_with('-') { -1 } else { 1 };
            rest = &tail[1..];
        }
        Some(acc)
    }

    /// The sign of the value for every non-negative binding of its symbols: `Some(1)` when
    /// it cannot be negative (all coefficients and the constant >= 0), `Some(-1)` when it
    /// cannot be positive, `None` when it depends on the binding (or is unknown).
    pub fn sign(&self) -> Option<i8> {
        match self {
            Dim::Fixed(v) => Some(if *v < 0 { -1 } else { 1 }),
            Dim::Sym(e) => {
                let nonneg = e.terms.values().all(|c| *c >= 0) && e.constant >= 0;
                let nonpos = e.terms.values().all(|c| *c <= 0) && e.constant <= 0;
                match (nonneg, nonpos) {
                    (true, _) => Some(1),
                    (_, true) => Some(-1),
                    _ => None,
                }
            }
            Dim::Unknown => None,
        }
    }

    /// The fixed value, if any.
    pub fn fixed(&self) -> Option<i64> {
        match self {
            Dim::Fixed(v) => Some(*v),
            _ => None,
        }
    }

    /// The symbol name when the dimension is a bare symbol.
    pub fn symbol(&self) -> Option<&str> {
        match self {
            Dim::Sym(e) => e.as_symbol(),
            _ => None,
        }
    }

    fn linear(&self) -> Option<(BTreeMap<String, i64>, i64)> {
        match self {
            Dim::Fixed(v) => Some((BTreeMap::new(), *v)),
            Dim::Sym(e) => Some((e.terms.clone(), e.constant)),
            Dim::Unknown => None,
        }
    }

    fn from_linear(mut terms: BTreeMap<String, i64>, constant: i64) -> Dim {
        terms.retain(|_, c| *c != 0);
        if terms.is_empty() { Dim::Fixed(constant) } else { Dim::Sym(SymExpr { terms, constant }) }
    }

    fn as_atom_text(&self) -> String {
        match self {
            Dim::Sym(e) if e.is_compound() => format!("({e})"),
            other => other.to_string(),
        }
    }

    /// `self + other`.
    pub fn add(&self, other: &Dim) -> Dim {
        let (Some((mut t, c)), Some((u, d))) = (self.linear(), other.linear()) else { return Dim::Unknown };
        for (a, k) in u {
            let e = t.entry(a).or_insert(0);
            let Some(sum) = e.checked_add(k) else { return Dim::Unknown };
            *e = sum;
        }
        match c.checked_add(d) {
            Some(c) => Dim::from_linear(t, c),
            None => Dim::Unknown,
        }
    }

    /// `self - other`.
    pub fn sub(&self, other: &Dim) -> Dim {
        self.add(&other.scale(-1))
    }

    /// `self * k` for a constant `k`.
    pub fn scale(&self, k: i64) -> Dim {
        match self.linear() {
            Some((t, c)) => {
                let terms: Option<BTreeMap<String, i64>> = t.into_iter().map(|(a, v)| v.checked_mul(k).map(|v| (a, v))).collect();
                match (terms, c.checked_mul(k)) {
                    (Some(t), Some(c)) => Dim::from_linear(t, c),
                    _ => Dim::Unknown,
                }
            }
            None => Dim::Unknown,
        }
    }

    /// `self * other`.
    pub fn mul(&self, other: &Dim) -> Dim {
        match (self, other) {
            (Dim::Unknown, _) | (_, Dim::Unknown) => Dim::Unknown,
            (Dim::Fixed(a), b) | (b, Dim::Fixed(a)) => b.scale(*a),
            (a, b) => {
                let mut parts = [a.as_atom_text(), b.as_atom_text()];
                parts.sort();
                Dim::Sym(SymExpr::atom(&format!("{}*{}", parts[0], parts[1])))
            }
        }
    }

    fn div_by(&self, k: i64, ceil: bool) -> Dim {
        if k <= 0 {
            return Dim::Unknown;
        }
        if k == 1 {
            return self.clone();
        }
        match self {
            Dim::Unknown => Dim::Unknown,
            Dim::Fixed(v) => Dim::Fixed(if ceil { v.div_euclid(k) + i64::from(v.rem_euclid(k) != 0) } else { v.div_euclid(k) }),
            Dim::Sym(e) => {
                if e.terms.values().all(|c| c % k == 0) && e.constant % k == 0 {
                    Dim::from_linear(e.terms.iter().map(|(a, c)| (a.clone(), c / k)).collect(), e.constant / k)
                } else if e.terms.values().all(|c| c % k == 0) {
                    // (k*X + c) / k = X + c/k: split the constant part.
                    let base = Dim::from_linear(e.terms.iter().map(|(a, c)| (a.clone(), c / k)).collect(), 0);
                    base.add(&Dim::Fixed(e.constant).div_by(k, ceil))
                } else if !ceil && e.constant != 0 && (e.constant + 1).rem_euclid(k) == 0 {
                    // floor((E + c)/k) with c ≡ -1 (mod k) is ceil(E/k) + (c + 1)/k - 1.
                    let base = Dim::Sym(SymExpr { terms: e.terms.clone(), constant: 0 }).div_by(k, true);
                    base.add(&Dim::Fixed((e.constant + 1).div_euclid(k) - 1))
                } else {
                    let f = if ceil { "ceil" } else { "floor" };
                    Dim::Sym(SymExpr::atom(&format!("{f}({e}/{k})")))
                }
            }
        }
    }

    /// `floor(self / k)` for a positive constant `k`.
    pub fn div_floor(&self, k: i64) -> Dim {
        self.div_by(k, false)
    }

    /// `ceil(self / k)` for a positive constant `k`.
    pub fn div_ceil(&self, k: i64) -> Dim {
        self.div_by(k, true)
    }

    /// Integer division of two dims, exact only when `other` is fixed.
    pub fn div_dim(&self, other: &Dim, ceil: bool) -> Dim {
        match (self, other) {
            (_, Dim::Fixed(k)) => self.div_by(*k, ceil),
            (a, b) if a == b && *a != Dim::Unknown => Dim::Fixed(1),
            _ => Dim::Unknown,
        }
    }

    /// Numpy-style broadcast of two dims. `Err` when both are fixed, different and not 1.
    #[allow(clippy::result_unit_err)] // the caller builds the error with both shapes
    pub fn broadcast(&self, other: &Dim) -> Result<Dim, ()> {
        match (self, other) {
            (a, b) if a == b => Ok(a.clone()),
            (Dim::Fixed(1), b) => Ok(b.clone()),
            (a, Dim::Fixed(1)) => Ok(a.clone()),
            (Dim::Fixed(_), Dim::Fixed(_)) => Err(()),
            (Dim::Fixed(k), _) | (_, Dim::Fixed(k)) => Ok(Dim::Fixed(*k)),
            // An unknown size broadcast with a symbol is, in practice, that symbol.
            (Dim::Unknown, s) | (s, Dim::Unknown) => Ok(s.clone()),
            _ => Ok(Dim::Unknown),
        }
    }
}

/// Format a shape as `[B, H, N, 64]`.
pub fn shape_text(shape: &[Dim]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dim_params_parse_as_linear_expressions() {
        let seq = Dim::sym("seq");
        assert_eq!(Dim::parse_param("seq + 3"), seq.add(&Dim::Fixed(3)));
        assert_eq!(Dim::parse_param("seq+3"), Dim::parse_param("3 + seq"));
        assert_eq!(Dim::parse_param("2*seq - 1"), seq.scale(2).sub(&Dim::Fixed(1)));
        assert_eq!(Dim::parse_param("-seq + 8"), Dim::Fixed(8).sub(&seq));
        assert_eq!(Dim::parse_param("seq - seq + 4"), Dim::Fixed(4));
        assert_eq!(Dim::parse_param("batch"), Dim::sym("batch"));
        assert_eq!(Dim::parse_param("s0.5"), Dim::sym("s0.5"));
        // not linear: one opaque symbol named by the text
        assert_eq!(Dim::parse_param("floor(seq/2)"), Dim::sym("floor(seq/2)"));
        assert_eq!(Dim::parse_param("s0*s1"), Dim::sym("s0*s1"));
        assert_eq!(Dim::parse_param("seq +"), Dim::sym("seq +"));
    }

    #[test]
    fn linear_arithmetic_prints_canonically() {
        let n = Dim::sym("N");
        let nq = Dim::sym("Nq");
        assert_eq!(n.sub(&nq).to_string(), "N-Nq");
        assert_eq!(n.add(&Dim::Fixed(1)).to_string(), "N+1");
        assert_eq!(n.sub(&n), Dim::Fixed(0));
        assert_eq!(n.scale(2).div_floor(2), n);
        assert_eq!(n.div_ceil(8).to_string(), "ceil(N/8)");
        assert_eq!(n.div_ceil(8).scale(8).to_string(), "8*ceil(N/8)");
        assert_eq!(n.add(&Dim::Fixed(7)).div_floor(8), n.div_ceil(8));
        assert_eq!(Dim::sym("B").mul(&Dim::sym("H")).to_string(), "B*H");
        assert_eq!(Dim::sym("H").mul(&Dim::sym("B")), Dim::sym("B").mul(&Dim::sym("H")));
        assert_eq!(Dim::Fixed(7).div_ceil(2), Dim::Fixed(4));
        assert_eq!(Dim::Fixed(-7).div_floor(2), Dim::Fixed(-4));
    }

    #[test]
    fn broadcast_rules() {
        let n = Dim::sym("N");
        assert_eq!(n.broadcast(&Dim::Fixed(1)), Ok(n.clone()));
        assert_eq!(Dim::Fixed(3).broadcast(&Dim::Fixed(4)), Err(()));
        assert_eq!(n.broadcast(&Dim::Fixed(4)), Ok(Dim::Fixed(4)));
        assert_eq!(n.broadcast(&Dim::sym("M")), Ok(Dim::Unknown));
        assert_eq!(n.broadcast(&Dim::Unknown), Ok(n.clone()));
    }
}
