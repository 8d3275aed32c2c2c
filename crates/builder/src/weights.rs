//! Checkpoint weights (a PyTorch `state_dict()` saved with safetensors, PyTorch key names).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use crate::DType;
use crate::error::EmitError;
use crate::{Tensor, TensorData};

/// Named weight tensors.
///
/// Rotor's graphs hold float32 weights. Float tensors of other widths are read as float32:
/// float16 and bfloat16 exactly (every value is a float32), float64 rounded, each rounded key
/// recorded ([`WeightMap::rounded`]) for the export's notes. Integer and boolean tensors are not
/// weights rotor can read as floats: reading one is an error naming the key.
#[derive(Clone, Debug, Default)]
pub struct WeightMap {
    tensors: BTreeMap<String, Tensor>,
    rounded: RefCell<BTreeSet<String>>,
}

impl PartialEq for WeightMap {
    /// The same tensors under the same keys (what was read so far does not count).
    fn eq(&self, other: &WeightMap) -> bool {
        self.tensors == other.tensors
    }
}

impl WeightMap {
    /// An empty map.
    pub fn new() -> WeightMap {
        WeightMap::default()
    }

    /// Parse a `.safetensors` file's bytes.
    pub fn from_safetensors(bytes: &[u8]) -> Result<WeightMap, EmitError> {
        let st = safetensors::SafeTensors::deserialize(bytes)
            .map_err(|e| EmitError::Weight { key: "<file>".into(), message: format!("not a valid safetensors file: {e}") })?;
        let mut tensors = BTreeMap::new();
        for (name, view) in st.tensors() {
            let dtype = match view.dtype() {
                safetensors::Dtype::F32 => DType::F32,
                safetensors::Dtype::F16 => DType::F16,
                safetensors::Dtype::BF16 => DType::BF16,
                safetensors::Dtype::F64 => DType::F64,
                safetensors::Dtype::I64 => DType::I64,
                safetensors::Dtype::I32 => DType::I32,
                safetensors::Dtype::BOOL => DType::Bool,
                other => return Err(EmitError::Weight { key: name, message: format!("unsupported dtype {other:?}") }),
            };
            let dims: Vec<i64> = view.shape().iter().map(|d| *d as i64).collect();
            let t = Tensor::from_le_bytes(dtype, dims, view.data()).map_err(|message| EmitError::Weight { key: name.clone(), message })?;
            tensors.insert(name, t);
        }
        Ok(WeightMap { tensors, rounded: RefCell::default() })
    }

    /// Insert a tensor.
    pub fn insert(&mut self, key: &str, t: Tensor) {
        self.tensors.insert(key.to_string(), t);
    }

    /// All keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// All (key, tensor) entries, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.tensors.iter().map(|(k, t)| (k.as_str(), t))
    }

    /// The tensor under `key`, if present.
    pub fn get(&self, key: &str) -> Option<&Tensor> {
        self.tensors.get(key)
    }

    /// The tensor under `key` as f32 values with the expected dims; errors name the key and
    /// give expected and actual shapes, or the element type when it is not a float type.
    /// float16/bfloat16 widen exactly; float64 is rounded and the key recorded
    /// ([`WeightMap::rounded`]).
    pub fn f32_exact(&self, key: &str, dims: &[i64]) -> Result<Vec<f32>, EmitError> {
        let t = self.get(key).ok_or_else(|| EmitError::Weight { key: key.into(), message: "missing from the checkpoint".into() })?;
        if t.dims() != dims {
            return Err(EmitError::Weight { key: key.into(), message: format!("has shape {:?}, expected {:?}", t.dims(), dims) });
        }
        match t.dtype() {
            DType::F32 | DType::F16 | DType::BF16 => {}
            DType::F64 => {
                self.rounded.borrow_mut().insert(key.to_string());
            }
            other => {
                return Err(EmitError::Weight {
                    key: key.into(),
                    message: format!("holds {} values; a float tensor (float32, float16, bfloat16 or float64) is expected", other.config_name()),
                });
            }
        }
        match t.data() {
            TensorData::F32(v) => Ok(v.clone()),
            _ => Ok(t.values_f64().into_iter().map(|v| v as f32).collect()),
        }
    }

    /// The float64 weights read so far, rounded to float32 (the precision of rotor's graphs).
    pub fn rounded(&self) -> Vec<String> {
        self.rounded.borrow().iter().cloned().collect()
    }

    /// The unique key equal to `suffix` or ending in `.{suffix}`.
    pub fn find_suffix(&self, suffix: &str) -> Result<Option<&str>, EmitError> {
        let dotted = format!(".{suffix}");
        let hits: Vec<&str> = self.keys().filter(|k| *k == suffix || k.ends_with(&dotted)).collect();
        match hits.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one)),
            many => Err(EmitError::Weight { key: suffix.into(), message: format!("ambiguous: {} keys match ({})", many.len(), many.join(", ")) }),
        }
    }
}
