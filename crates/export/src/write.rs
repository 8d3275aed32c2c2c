//! Writing models: atomically (temp file + rename), moving large weights to an external data
//! file beside the model when the total would approach protobuf's 2 GiB limit.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use prost::Message;
use rotor_ir::{Graph, Tensor, TensorData, Value};

use crate::error::ExportError;
use crate::model::{ExportOptions, Placement, to_model_with};

fn temp_path(path: &Path) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".tmp-{}-{nanos}", std::process::id()));
    path.with_file_name(name)
}

/// Write `bytes` to `path` atomically: a temp file in the same directory, fsync, rename. On any
/// error the temp file is removed and `path` is left as it was.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    write_atomic_with(path, true, &mut |f| f.write_all(bytes).map_err(ExportError::io("cannot write", path)))
}

/// Write a file atomically, its content streamed by `fill` into the temp file (fsynced before
/// the rename when `sync`).
fn write_atomic_with(path: &Path, sync: bool, fill: &mut dyn FnMut(&mut std::fs::File) -> Result<(), ExportError>) -> Result<(), ExportError> {
    let tmp = temp_path(path);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(ExportError::io("cannot create", path))?;
        fill(&mut f)?;
        if sync {
            f.sync_all().map_err(ExportError::io("cannot sync", &tmp))?;
        }
        std::fs::rename(&tmp, path).map_err(ExportError::io("cannot rename into", path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Alignment of tensors in external data files (as ONNX recommends, so runtimes can map them).
const ALIGN: u64 = 4096;

/// Write a graph as an ONNX file. Initializers that came from external data stay external,
/// copied file to file (never read into memory); when the initializers exceed
/// `opts.external_data_above` bytes, tensors of at least `opts.external_min_tensor` bytes go
/// external too. The data file is `<file>.data` beside the model, offsets aligned to 4096.
/// Returns the paths written. On error nothing is left at either path.
pub fn write_model(g: &Graph, path: &Path, opts: &ExportOptions) -> Result<Vec<PathBuf>, ExportError> {
    let total: u64 = g.initializers().iter().map(|(_, t)| t.byte_len()).sum();
    let spill = total > opts.external_data_above as u64;
    let goes_external =
        |t: &Tensor| t.is_external() || (spill && t.byte_len() >= opts.external_min_tensor as u64 && !matches!(t.data(), TensorData::Strings(_)));
    let file_name = path
        .file_name()
        .map(|n| format!("{}.data", n.to_string_lossy()))
        .ok_or_else(|| ExportError::Unsupported(format!("output path {} has no file name", path.display())))?;
    // 1. Lay out the data file.
    let mut layout: HashMap<Value, (u64, u64)> = HashMap::new();
    let mut end = 0u64;
    for (v, t) in g.initializers() {
        if goes_external(t) {
            let offset = end.div_ceil(ALIGN) * ALIGN;
            layout.insert(*v, (offset, t.byte_len()));
            end = offset + t.byte_len();
        }
    }
    let model = to_model_with(g, opts, &|v, _| match layout.get(&v) {
        Some((offset, length)) => Placement::External { location: file_name.clone(), offset: *offset, length: *length },
        None => Placement::Inline,
    })?;
    let bytes = model.encode_to_vec();
    if bytes.len() > i32::MAX as usize {
        return Err(ExportError::Unsupported(format!("the model graph alone is {} bytes, over protobuf's 2 GiB limit", bytes.len())));
    }
    // 2. The data file, streamed.
    let mut written = Vec::new();
    if !layout.is_empty() {
        let data_path = path.with_file_name(&file_name);
        write_atomic_with(&data_path, opts.sync, &mut |f| {
            let mut pos = 0u64;
            for (v, t) in g.initializers() {
                let Some((offset, length)) = layout.get(v) else { continue };
                if *offset > pos {
                    std::io::copy(&mut std::io::repeat(0).take(offset - pos), f).map_err(ExportError::io("cannot write", &data_path))?;
                }
                match t.data() {
                    TensorData::External(e) => {
                        // File to file: the kernel copies (copy_file_range), nothing is read into memory.
                        let src_path = e.source.path();
                        let mut src = std::fs::File::open(src_path).map_err(ExportError::io("cannot read", src_path))?;
                        src.seek(SeekFrom::Start(e.offset)).map_err(ExportError::io("cannot read", src_path))?;
                        let copied = std::io::copy(&mut src.take(e.length), f).map_err(ExportError::io("cannot copy external data to", &data_path))?;
                        if copied != e.length {
                            return Err(ExportError::Invalid(format!("{} ended after {copied} of {} bytes", src_path.display(), e.length)));
                        }
                    }
                    _ => f.write_all(&t.to_le_bytes()).map_err(ExportError::io("cannot write", &data_path))?,
                }
                pos = offset + length;
            }
            Ok(())
        })?;
        written.push(data_path);
    }
    if let Err(e) = write_atomic_with(path, opts.sync, &mut |f| f.write_all(&bytes).map_err(ExportError::io("cannot write", path))) {
        // Leave no partial output: drop the data file written for this model.
        for p in &written {
            let _ = std::fs::remove_file(p);
        }
        return Err(e);
    }
    written.insert(0, path.to_path_buf());
    Ok(written)
}
