//! Checkpoint weights under a module path (`layers.0.1.attn`), read with shape checks and
//! recorded as used, so that a checkpoint that does not match its config is caught (a missing
//! key, a wrong shape, or a key the config never reads).

use std::cell::RefCell;
use std::collections::BTreeSet;

use crate::Tensor;
use crate::error::EmitError;
use crate::weights::WeightMap;

/// Weights of one module path.
#[derive(Clone)]
pub struct Params<'a> {
    weights: &'a WeightMap,
    used: &'a RefCell<BTreeSet<String>>,
    prefix: String,
}

/// Owner of the used-key record; hands out [`Params`].
pub struct ParamSource<'a> {
    weights: &'a WeightMap,
    used: RefCell<BTreeSet<String>>,
}

impl<'a> ParamSource<'a> {
    /// Start reading `weights`.
    pub fn new(weights: &'a WeightMap) -> ParamSource<'a> {
        ParamSource { weights, used: RefCell::new(BTreeSet::new()) }
    }

    /// Params at the root (`prefix` = "").
    pub fn root(&'a self) -> Params<'a> {
        Params { weights: self.weights, used: &self.used, prefix: String::new() }
    }

    /// Keys never read, minus those `ignore` accepts (training-only modules).
    pub fn unused(&self, ignore: impl Fn(&str) -> bool) -> Vec<String> {
        let used = self.used.borrow();
        self.weights.keys().filter(|k| !used.contains(*k) && !ignore(k)).map(str::to_string).collect()
    }
}

impl<'a> Params<'a> {
    /// The full key of a parameter of this module.
    pub fn key(&self, name: &str) -> String {
        if self.prefix.is_empty() { name.to_string() } else { format!("{}.{name}", self.prefix) }
    }

    /// A child module path.
    pub fn sub(&self, name: &str) -> Params<'a> {
        Params { weights: self.weights, used: self.used, prefix: self.key(name) }
    }

    /// The module path.
    pub fn path(&self) -> &str {
        &self.prefix
    }

    /// The tensor `name` as f32 values with exactly these dims.
    pub fn get(&self, name: &str, dims: &[i64]) -> Result<Vec<f32>, EmitError> {
        let key = self.key(name);
        let v = self.weights.f32_exact(&key, dims)?;
        self.used.borrow_mut().insert(key);
        Ok(v)
    }

    /// Like [`Params::get`], as a constant tensor.
    pub fn tensor(&self, name: &str, dims: &[i64]) -> Result<Tensor, EmitError> {
        let v = self.get(name, dims)?;
        Tensor::f32(dims.to_vec(), v).map_err(|message| EmitError::Weight { key: self.key(name), message })
    }

    /// True when the checkpoint has `name` under this path.
    pub fn has(&self, name: &str) -> bool {
        self.weights.get(&self.key(name)).is_some()
    }
}
