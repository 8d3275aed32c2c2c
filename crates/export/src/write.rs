//! Writing models: atomically (temp file + rename), moving large weights to an external data
//! file beside the model when the total would approach protobuf's 2 GiB limit.

use std::io::Write;
use std::path::{Path, PathBuf};

use prost::Message;
use rotor_builder::Graph;

use crate::error::ExportError;
use crate::model::{ExportOptions, to_model};
use crate::proto::{StringStringEntryProto, tensor_proto::DataLocation};

fn temp_path(path: &Path) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".tmp-{}-{nanos}", std::process::id()));
    path.with_file_name(name)
}

/// Write `bytes` to `path` atomically: a temp file in the same directory, fsync, rename. On any
/// error the temp file is removed and `path` is left as it was.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    let tmp = temp_path(path);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(ExportError::io("cannot create", path))?;
        f.write_all(bytes).map_err(ExportError::io("cannot write", &tmp))?;
        f.sync_all().map_err(ExportError::io("cannot sync", &tmp))?;
        std::fs::rename(&tmp, path).map_err(ExportError::io("cannot rename into", path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Write a graph as an ONNX file. When its initializers exceed `opts.external_data_above`
/// bytes, tensors of at least `opts.external_min_tensor` bytes go to `<file>.data` beside it
/// (offsets aligned to 4096, as ONNX recommends). Returns the paths written.
pub fn write_model(g: &Graph, path: &Path, opts: &ExportOptions) -> Result<Vec<PathBuf>, ExportError> {
    let mut model = to_model(g)?;
    let total: usize = g.initializers().iter().map(|(_, t)| t.len() * t.dtype().size_of()).sum();
    let mut written = Vec::new();
    if total > opts.external_data_above {
        let file_name = path
            .file_name()
            .map(|n| format!("{}.data", n.to_string_lossy()))
            .ok_or_else(|| ExportError::Unsupported(format!("output path {} has no file name", path.display())))?;
        let data_path = path.with_file_name(&file_name);
        let mut data: Vec<u8> = Vec::new();
        if let Some(graph) = model.graph.as_mut() {
            for t in graph.initializer.iter_mut() {
                let Some(raw) = t.raw_data.take_if(|r| r.len() >= opts.external_min_tensor) else { continue };
                let offset = data.len().div_ceil(4096) * 4096;
                data.resize(offset, 0);
                data.extend_from_slice(&raw);
                let entry = |k: &str, v: String| StringStringEntryProto { key: Some(k.into()), value: Some(v) };
                t.external_data = vec![entry("location", file_name.clone()), entry("offset", offset.to_string()), entry("length", raw.len().to_string())];
                t.data_location = Some(DataLocation::External as i32);
            }
        }
        write_atomic(&data_path, &data)?;
        written.push(data_path);
    }
    let bytes = model.encode_to_vec();
    if bytes.len() > i32::MAX as usize {
        return Err(ExportError::Unsupported(format!("the model graph alone is {} bytes, over protobuf's 2 GiB limit", bytes.len())));
    }
    if let Err(e) = write_atomic(path, &bytes) {
        // Leave no partial output: drop the data file written for this model.
        for p in &written {
            let _ = std::fs::remove_file(p);
        }
        return Err(e);
    }
    written.insert(0, path.to_path_buf());
    Ok(written)
}
