//! Tensor comparison with rotor's parity tolerance `|a − b| ≤ atol + rtol·|b|` (DESIGN §4).

use crate::tensor::HostTensor;

/// Absolute and relative tolerance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    pub atol: f64,
    pub rtol: f64,
}

impl Tolerance {
    /// The parity tolerance against PyTorch goldens in f32: `1e-4 + 1e-4·|b|`.
    pub const PARITY_F32: Tolerance = Tolerance { atol: 1e-4, rtol: 1e-4 };
    /// Parity for float16 graphs: a few half-precision ulps (2^-10 ≈ 1e-3 relative).
    pub const PARITY_F16: Tolerance = Tolerance { atol: 2e-3, rtol: 4e-3 };

    /// A tolerance from user input: both bounds must be finite and `>= 0` (a NaN or negative
    /// bound would make every comparison pass or be meaningless). Names the bad bound.
    pub fn new(atol: f64, rtol: f64) -> Result<Tolerance, String> {
        let t = Tolerance { atol, rtol };
        t.validate()?;
        Ok(t)
    }

    /// `Err` naming the bound that is NaN, infinite or negative.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [("atol", self.atol), ("rtol", self.rtol)] {
            check_bound(name, v)?;
        }
        Ok(())
    }

    /// The parity tolerance for outputs of this element type.
    pub fn parity_for(dtype: rotor_builder::DType) -> Tolerance {
        match dtype {
            rotor_builder::DType::F16 | rotor_builder::DType::BF16 => Tolerance::PARITY_F16,
            _ => Tolerance::PARITY_F32,
        }
    }
}

/// `Err` unless `v` is a finite number `>= 0`; `name` is the bound's name in the message.
pub fn check_bound(name: &str, v: f64) -> Result<f64, String> {
    if v.is_finite() && v >= 0.0 { Ok(v) } else { Err(format!("{name} must be a finite number >= 0, got {v}")) }
}

/// Result of comparing `actual` against `expected`.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// Largest `|a − b|`.
    pub max_abs: f64,
    /// Largest `|a − b| / |b|` over elements with `b ≠ 0`.
    pub max_rel: f64,
    /// Largest `|a − b| / (atol + rtol·|b|)`: ≤ 1 means within tolerance.
    pub worst_ratio: f64,
    /// Flat index of the worst element.
    pub worst_index: usize,
    /// Number of elements outside tolerance (NaN mismatches included).
    pub violations: usize,
    /// Elements compared.
    pub count: usize,
}

impl Comparison {
    /// True when every element is within tolerance.
    pub fn ok(&self) -> bool {
        self.violations == 0
    }

    /// `max_abs 1.2e-7, max_rel 3.4e-7, worst 0.02 of tolerance`.
    pub fn summary(&self) -> String {
        format!(
            "max_abs {:.3e}  max_rel {:.3e}  worst {:.3} of tolerance{}",
            self.max_abs,
            self.max_rel,
            self.worst_ratio,
            if self.ok() { String::new() } else { format!("  ({} of {} elements outside)", self.violations, self.count) }
        )
    }
}

/// Compare two tensors. Element types and shapes must match; NaN equals NaN only where both
/// are NaN. A tolerance that is NaN, infinite or negative is an error (it would pass anything).
pub fn compare(actual: &HostTensor, expected: &HostTensor, tol: Tolerance) -> Result<Comparison, String> {
    tol.validate()?;
    if actual.dtype() != expected.dtype() {
        return Err(format!("element type {} vs expected {}", actual.type_text(), expected.type_text()));
    }
    if actual.shape() != expected.shape() {
        return Err(format!("shape {} vs expected {}", actual.type_text(), expected.type_text()));
    }
    let (a, b) = (actual.to_f64(), expected.to_f64());
    let mut c = Comparison { max_abs: 0.0, max_rel: 0.0, worst_ratio: 0.0, worst_index: 0, violations: 0, count: a.len() };
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        if x.is_nan() || y.is_nan() {
            if x.is_nan() != y.is_nan() {
                c.violations += 1;
                c.worst_ratio = f64::INFINITY;
                c.worst_index = i;
            }
            continue;
        }
        let d = if x == y { 0.0 } else { (x - y).abs() };
        c.max_abs = c.max_abs.max(d);
        if *y != 0.0 {
            c.max_rel = c.max_rel.max(d / y.abs());
        }
        let ratio = d / (tol.atol + tol.rtol * y.abs());
        if ratio > c.worst_ratio {
            c.worst_ratio = ratio;
            c.worst_index = i;
        }
        if ratio > 1.0 || d.is_nan() {
            c.violations += 1;
        }
    }
    Ok(c)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed expectation panics, which is how a test fails")]
mod tests {
    use super::*;
    use ndarray::ArrayD;

    fn t(v: Vec<f32>) -> HostTensor {
        HostTensor::F32(ArrayD::from_shape_vec(vec![v.len()], v).unwrap_or_default())
    }

    #[test]
    fn tolerance_is_relative_to_expected() {
        let c = compare(&t(vec![1.0, 100.02]), &t(vec![1.0, 100.0]), Tolerance::PARITY_F32);
        assert!(c.as_ref().is_ok_and(|c| !c.ok()), "0.02 > 1e-4 + 1e-2: must fail, got {c:?}");
        let c = compare(&t(vec![1.0, 100.005]), &t(vec![1.0, 100.0]), Tolerance::PARITY_F32);
        assert!(c.as_ref().is_ok_and(|c| c.ok()), "0.005 <= 0.0101: must pass, got {c:?}");
    }

    #[test]
    fn nan_only_matches_nan_and_inf_differences_fail() {
        assert!(compare(&t(vec![f32::NAN]), &t(vec![f32::NAN]), Tolerance::PARITY_F32).is_ok_and(|c| c.ok()));
        assert!(compare(&t(vec![f32::NAN]), &t(vec![1.0]), Tolerance::PARITY_F32).is_ok_and(|c| !c.ok()));
        assert!(compare(&t(vec![f32::INFINITY]), &t(vec![1.0]), Tolerance::PARITY_F32).is_ok_and(|c| !c.ok()));
        assert!(compare(&t(vec![1.0, 2.0]), &t(vec![1.0]), Tolerance::PARITY_F32).is_err());
    }

    #[test]
    fn a_tolerance_that_would_pass_anything_is_refused() {
        let (a, b) = (t(vec![9.7]), t(vec![1.0]));
        for (atol, rtol) in [(f64::NAN, 1e-4), (1e-4, f64::NAN), (-1.0, 1e-4), (1e-4, -1.0), (f64::INFINITY, 0.0)] {
            let e = compare(&a, &b, Tolerance { atol, rtol }).expect_err("invalid tolerance");
            assert!(e.contains("finite number >= 0"), "{e}");
            assert!(Tolerance::new(atol, rtol).is_err());
        }
        // zero is a valid (exact) tolerance: equal passes, different fails
        assert!(compare(&b, &b, Tolerance::new(0.0, 0.0).expect("exact")).is_ok_and(|c| c.ok()));
        assert!(compare(&a, &b, Tolerance::new(0.0, 0.0).expect("exact")).is_ok_and(|c| !c.ok()));
    }

    #[test]
    fn element_types_must_match() {
        let h = HostTensor::F16(ArrayD::from_shape_vec(vec![1], vec![half::f16::from_f32(1.0)]).unwrap_or_default());
        let e = compare(&h, &t(vec![1.0]), Tolerance::PARITY_F16).expect_err("f16 vs f32");
        assert!(e.contains("element type"), "{e}");
    }
}
