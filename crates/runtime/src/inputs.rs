//! Seeded random inputs for a model's declared inputs (used by `rotor check` and tests).

use std::collections::BTreeMap;

use half::{bf16, f16};
use ndarray::{ArrayD, IxDyn};
use rotor_builder::{DType, Dim, Graph};

use crate::error::RuntimeError;
use crate::tensor::{HostTensor, NamedTensors};

/// SplitMix64: small, seeded, reproducible.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.uniform().max(1e-300);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
    /// Uniform integer in [lo, hi).
    pub fn int_in(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo { lo } else { lo + (self.next_u64() % (hi - lo) as u64) as i64 }
    }
}

/// Default sizes for symbolic dims by name (cached keys longer than queries).
pub fn default_dim(name: &str) -> i64 {
    match name {
        "B" => 2,
        "H" => 3,
        "N" => 19,
        "Nq" => 5,
        "Nk" => 19,
        _ => 4,
    }
}

/// Largest random input (elements): 2^28, 1 GiB of float32.
pub const MAX_RANDOM_ELEMENTS: usize = 1 << 28;

/// How integer inputs are drawn: `name → [lo, hi)`; unnamed ints use [0, 16).
pub type IntRanges = BTreeMap<String, (i64, i64)>;

/// Random inputs for every graph input: floats standard normal, ints uniform in their range.
/// `dims` sets symbolic dims by name (missing ones use [`default_dim`]).
pub fn random_inputs(g: &Graph, dims: &BTreeMap<String, i64>, ints: &IntRanges, seed: u64) -> Result<NamedTensors, RuntimeError> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    for v in g.inputs() {
        let info = g.info(*v);
        let shape = info.shape.as_ref().ok_or_else(|| RuntimeError::Input { name: info.name.clone(), message: "the model declares no shape".into() })?;
        let concrete: Vec<usize> = shape
            .iter()
            .map(|d| match d {
                Dim::Fixed(k) => {
                    usize::try_from(*k).map_err(|_| RuntimeError::Input { name: info.name.clone(), message: format!("declares a negative size {k}") })
                }
                Dim::Sym(_) => {
                    let s = d.symbol().unwrap_or("?");
                    Ok(dims.get(s).copied().unwrap_or_else(|| default_dim(s)) as usize)
                }
                Dim::Unknown => Err(RuntimeError::Input { name: info.name.clone(), message: "has an unnamed dynamic dimension; pass --inputs".into() }),
            })
            .collect::<Result<_, _>>()?;
        let n = concrete.iter().try_fold(1usize, |acc, d| acc.checked_mul(*d)).filter(|n| *n <= MAX_RANDOM_ELEMENTS).ok_or_else(|| RuntimeError::Input {
            name: info.name.clone(),
            message: format!(
                "shape {concrete:?} is too large for random inputs (at most {MAX_RANDOM_ELEMENTS} elements): pass smaller --dim sizes or --inputs"
            ),
        })?;
        let shape = IxDyn(&concrete);
        let bad = |e: ndarray::ShapeError| RuntimeError::Input { name: info.name.clone(), message: e.to_string() };
        let t = match info.dtype {
            DType::F32 => HostTensor::F32(ArrayD::from_shape_vec(shape, (0..n).map(|_| rng.normal() as f32).collect()).map_err(bad)?),
            DType::F16 => HostTensor::F16(ArrayD::from_shape_vec(shape, (0..n).map(|_| f16::from_f64(rng.normal())).collect()).map_err(bad)?),
            DType::BF16 => HostTensor::BF16(ArrayD::from_shape_vec(shape, (0..n).map(|_| bf16::from_f64(rng.normal())).collect()).map_err(bad)?),
            DType::I64 => {
                let (lo, hi) = ints.get(&info.name).copied().unwrap_or((0, 16));
                HostTensor::I64(ArrayD::from_shape_vec(shape, (0..n).map(|_| rng.int_in(lo, hi)).collect()).map_err(bad)?)
            }
            DType::Bool => HostTensor::Bool(ArrayD::from_shape_vec(shape, (0..n).map(|_| rng.next_u64() & 1 == 1).collect()).map_err(bad)?),
            other => return Err(RuntimeError::Input { name: info.name.clone(), message: format!("element type {other} is not supported") }),
        };
        out.push((info.name.clone(), t));
    }
    Ok(out)
}
