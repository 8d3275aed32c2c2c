//! Reference tensors on disk: `.safetensors` (what rotor's golden scripts write) and `.npz`
//! (numpy's `np.savez`). Both map names to tensors.

use std::path::Path;

use half::{bf16, f16};
use ndarray::{ArrayD, IxDyn};

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

/// Parse safetensors bytes into host tensors, sorted by name.
pub fn read_safetensors(bytes: &[u8]) -> Result<NamedTensors, String> {
    let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| format!("not a safetensors file: {e}"))?;
    let mut out = Vec::new();
    for (name, view) in st.tensors() {
        let shape = IxDyn(view.shape());
        let d = view.data();
        fn conv<const W: usize, T>(d: &[u8], f: impl Fn([u8; W]) -> T) -> Vec<T> {
            d.chunks_exact(W)
                .map(|c| {
                    let mut a = [0u8; W];
                    a.copy_from_slice(c);
                    f(a)
                })
                .collect()
        }
        let bad = |e: ndarray::ShapeError| format!("{name}: {e}");
        let t = match view.dtype() {
            safetensors::Dtype::F32 => HostTensor::F32(ArrayD::from_shape_vec(shape, conv(d, f32::from_le_bytes)).map_err(bad)?),
            safetensors::Dtype::F16 => HostTensor::F16(ArrayD::from_shape_vec(shape, conv(d, |b| f16::from_bits(u16::from_le_bytes(b)))).map_err(bad)?),
            safetensors::Dtype::BF16 => HostTensor::BF16(ArrayD::from_shape_vec(shape, conv(d, |b| bf16::from_bits(u16::from_le_bytes(b)))).map_err(bad)?),
            safetensors::Dtype::I64 => HostTensor::I64(ArrayD::from_shape_vec(shape, conv(d, i64::from_le_bytes)).map_err(bad)?),
            safetensors::Dtype::BOOL => HostTensor::Bool(ArrayD::from_shape_vec(shape, d.iter().map(|b| *b != 0).collect()).map_err(bad)?),
            other => return Err(format!("{name}: dtype {other:?} is not supported")),
        };
        out.push((name, t));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
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
