//! Reference tensors on disk: `.safetensors` (what rotor's golden scripts write) and `.npz`
//! (numpy's `np.savez`). Both map names to tensors.

use std::path::Path;

use ndarray::IxDyn;
use rotor_builder::WeightMap;

use crate::error::RuntimeError;
use crate::tensor::{HostTensor, NamedTensors};

fn io(path: &Path, message: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Io { path: path.display().to_string(), message: message.to_string() }
}

/// Read all tensors of a `.safetensors` or `.npz` file, sorted by name.
pub fn read_tensors(path: &Path) -> Result<NamedTensors, RuntimeError> {
    let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
    match path.extension().and_then(|e| e.to_str()) {
        Some("npz") => read_npz(path),
        _ => read_safetensors(&bytes).map_err(|m| io(path, m)),
    }
}

/// Parse safetensors bytes into host tensors, sorted by name (the checkpoint parser of
/// [`WeightMap`], so weights and goldens read the same way).
pub fn read_safetensors(bytes: &[u8]) -> Result<NamedTensors, String> {
    let map = WeightMap::from_safetensors(bytes).map_err(|e| e.to_string())?;
    map.iter().map(|(name, t)| HostTensor::try_from(t).map(|h| (name.to_string(), h)).map_err(|m| format!("{name}: {m}"))).collect()
}

fn read_npz(path: &Path) -> Result<NamedTensors, RuntimeError> {
    let file = std::fs::File::open(path).map_err(|e| io(path, e))?;
    let mut npz = ndarray_npy::NpzReader::new(file).map_err(|e| io(path, e))?;
    let names = npz.names().map_err(|e| io(path, e))?;
    let mut out = Vec::new();
    for raw in names {
        let name = raw.trim_end_matches(".npy").to_string();
        let t = if let Ok(a) = npz.by_name::<ndarray::OwnedRepr<f32>, IxDyn>(&raw) {
            HostTensor::F32(a)
        } else if let Ok(a) = npz.by_name::<ndarray::OwnedRepr<i64>, IxDyn>(&raw) {
            HostTensor::I64(a)
        } else if let Ok(a) = npz.by_name::<ndarray::OwnedRepr<bool>, IxDyn>(&raw) {
            HostTensor::Bool(a)
        } else {
            return Err(io(path, format!("{name}: only float32, int64 and bool arrays are supported in .npz (use .safetensors for float16/bfloat16)")));
        };
        out.push((name, t));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}
