//! Typed reading of a config JSON object, with errors that name the field.
//!
//! Every getter marks its key as used; [`Fields::finish`] rejects keys nobody asked for (typo
//! protection), except the documented training-only kwargs passed to [`Fields::ignore`].

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::error::ConfigError;

/// A config object being read.
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    used: BTreeSet<String>,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

impl<'a> Fields<'a> {
    /// Start reading `map`.
    pub fn new(map: &'a Map<String, Value>) -> Fields<'a> {
        Fields { map, used: BTreeSet::new() }
    }

    fn get(&mut self, key: &str) -> Option<&'a Value> {
        self.used.insert(key.to_string());
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// Accept these keys without reading them (training-only kwargs of the PyTorch class).
    pub fn ignore(&mut self, keys: &[&str]) {
        for k in keys {
            self.used.insert((*k).to_string());
        }
    }

    /// True when the key is present and not null.
    pub fn has(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(|v| !v.is_null())
    }

    /// True when the key holds a JSON list.
    pub fn is_list(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(Value::is_array)
    }

    /// A required non-negative integer.
    pub fn usize(&mut self, key: &str) -> Result<usize, ConfigError> {
        self.opt_usize(key)?.ok_or_else(|| ConfigError::new(key, "is required"))
    }

    /// An optional non-negative integer.
    pub fn opt_usize(&mut self, key: &str) -> Result<Option<usize>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => as_usize(v).map(Some).ok_or_else(|| ConfigError::new(key, size_message(v))),
        }
    }

    /// An optional non-negative integer of at most `max`.
    pub fn opt_usize_max(&mut self, key: &str, max: usize) -> Result<Option<usize>, ConfigError> {
        match self.opt_usize(key)? {
            Some(v) if v > max => Err(ConfigError::new(key, format!("must be at most {max}, got {v}"))),
            v => Ok(v),
        }
    }

    /// An optional integer (may be negative).
    pub fn opt_i64(&mut self, key: &str) -> Result<Option<i64>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| ConfigError::new(key, format!("must be an integer, got {}", show(v)))),
        }
    }

    /// A finite number with a default.
    pub fn f64_or(&mut self, key: &str, default: f64) -> Result<f64, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => finite(key, v),
        }
    }

    /// A boolean with a default.
    pub fn bool_or(&mut self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(ConfigError::new(key, format!("must be true or false, got {}", show(v)))),
        }
    }

    /// A string from a fixed set, with a default.
    pub fn choice_or(&mut self, key: &str, allowed: &[&'static str], default: &'static str) -> Result<&'static str, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::String(s)) => allowed
                .iter()
                .find(|a| **a == s.as_str())
                .copied()
                .ok_or_else(|| ConfigError::new(key, format!("must be one of {}, got {s:?}", quoted(allowed)))),
            Some(v) => Err(ConfigError::new(key, format!("must be one of {}, got {}", quoted(allowed), show(v)))),
        }
    }

    /// An optional list of finite numbers.
    pub fn opt_f64_list(&mut self, key: &str) -> Result<Option<Vec<f64>>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items.iter().enumerate().map(|(i, v)| finite(&format!("{key}[{i}]"), v)).collect::<Result<Vec<_>, _>>().map(Some),
            Some(v) => Err(ConfigError::new(key, format!("must be a list of numbers or null, got {}", show(v)))),
        }
    }

    /// An int or a list of ints (per-hierarchy values); `None` when absent.
    pub fn opt_usize_or_list(&mut self, key: &str) -> Result<Option<Vec<usize>>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| as_usize(v).ok_or_else(|| ConfigError::new(format!("{key}[{i}]"), size_message(v))))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(v) => {
                as_usize(v).map(|x| Some(vec![x])).ok_or_else(|| ConfigError::new(key, format!("must be an integer or a list of integers, got {}", show(v))))
            }
        }
    }

    /// The raw JSON value of a key (marks it used).
    pub fn raw(&mut self, key: &str) -> Option<&'a Value> {
        self.get(key)
    }

    /// Fail on keys that no getter read.
    pub fn finish(self, allowed_hint: &str) -> Result<(), ConfigError> {
        for k in self.map.keys() {
            if !self.used.contains(k) {
                let known: Vec<&str> = self.used.iter().map(String::as_str).collect();
                return Err(unknown_key_error(k, &known, allowed_hint));
            }
        }
        Ok(())
    }
}

/// The error for key `k`, unknown among `known` keys of `allowed_hint` (`kind "rotary"`), with a
/// did-you-mean when one is close.
pub(crate) fn unknown_key_error(k: &str, known: &[&str], allowed_hint: &str) -> ConfigError {
    let suggestion = known.iter().find(|c| close(c, k)).map(|c| format!(" (did you mean `{c}`?)")).unwrap_or_default();
    ConfigError::new(k, format!("unknown key for {allowed_hint}{suggestion}; known keys: {}", known.join(", ")))
}

/// Largest value of any size-like config key (lengths, vocabularies, axis sizes): 2^20. Keys
/// that size tables have tighter bounds (see [`MAX_FEATURES`]).
pub const MAX_SIZE: u64 = 1 << 20;

/// Largest feature size (`dim`, `head_dim`, `d_model`, `num_freqs`, `start_index`): 65,536.
pub const MAX_FEATURES: usize = 1 << 16;

fn as_usize(v: &Value) -> Option<usize> {
    v.as_u64().filter(|x| *x <= MAX_SIZE).map(|x| x as usize)
}

fn size_message(v: &Value) -> String {
    match v.as_u64() {
        Some(x) if x > MAX_SIZE => format!("must be at most {MAX_SIZE} (rotor's bound on config sizes), got {x}"),
        _ => format!("must be a non-negative integer, got {}", show(v)),
    }
}

fn finite(key: &str, v: &Value) -> Result<f64, ConfigError> {
    if let Some(token) = v.as_str().and_then(|s| s.strip_prefix(super::NON_FINITE)) {
        return Err(ConfigError::new(key, format!("must be a finite number, got {token}")));
    }
    match v.as_f64() {
        // Graph arithmetic is f32: a number past f32's range would become infinite there.
        Some(x) if x.is_finite() && x.abs() <= f64::from(f32::MAX) => Ok(x),
        Some(x) if x.is_finite() => Err(ConfigError::new(key, format!("must be within float32's range (|x| <= {:e}), got {x:e}", f32::MAX))),
        Some(x) => Err(ConfigError::new(key, format!("must be a finite number, got {x}"))),
        None => Err(ConfigError::new(key, format!("must be a number, got {}", show(v)))),
    }
}

fn show(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 40 { format!("{} {}…", type_name(v), text.chars().take(40).collect::<String>()) } else { format!("{} ({text})", type_name(v)) }
}

fn quoted(items: &[&str]) -> String {
    items.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", ")
}

/// Edit distance ≤ 2 or same letters: a likely typo.
fn close(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()] <= 2
}
