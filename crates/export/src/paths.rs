//! Which files a command reads and which it writes, checked before anything is written: an
//! output that is one of the inputs (a model, its external data, a config or weights file) or
//! another output is refused, naming both. `rotor opt IN -o IN` (in place) is the one
//! documented exception: the model and its data file replace the input's.

use std::path::{Path, PathBuf};

use rotor_ir::Graph;

/// A file a command reads or writes, with what it is (`"input model"`, `"--report"`, ...).
#[derive(Clone, Debug)]
pub struct Role {
    /// What the file is, as the message names it.
    pub what: String,
    /// The path as given.
    pub path: PathBuf,
}

impl Role {
    /// A file and what it is.
    pub fn new(what: impl Into<String>, path: impl Into<PathBuf>) -> Role {
        Role { what: what.into(), path: path.into() }
    }
}

/// The files a loaded model is made of: the model file and the external data files its tensors
/// map.
pub fn model_files(model: &Path, g: &Graph) -> Vec<Role> {
    let mut v = vec![Role::new("the input model", model)];
    v.extend(g.model_info().data_files.iter().map(|p| Role::new("the input model's external data", p.clone())));
    v
}

/// The data file [`crate::write_model`] writes beside `model` when initializers go external
/// (`<model>.data`).
pub fn data_file_of(model: &Path) -> Option<PathBuf> {
    let name = model.file_name()?;
    let mut data = name.to_os_string();
    data.push(".data");
    Some(model.with_file_name(data))
}

/// The files writing a model to `model` may produce: the model and its data file.
pub fn model_outputs(model: &Path) -> Vec<Role> {
    let mut v = vec![Role::new("the output model", model)];
    v.extend(data_file_of(model).map(|d| Role::new("the output model's external data file", d)));
    v
}

/// True when `a` and `b` name the same file: the same inode when both exist (hard links and
/// symlinks included), else the same absolute path after resolving the existing folders.
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return ma.dev() == mb.dev() && ma.ino() == mb.ino();
        }
    }
    normalized(a) == normalized(b)
}

/// An absolute form of `p`: the longest existing ancestor canonicalized, the rest appended.
fn normalized(p: &Path) -> PathBuf {
    let abs = if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir().map(|d| d.join(p)).unwrap_or_else(|_| p.to_path_buf()) };
    let mut head = abs.clone();
    let mut tail: Vec<std::ffi::OsString> = Vec::new();
    loop {
        if let Ok(c) = std::fs::canonicalize(&head) {
            return tail.iter().rev().fold(c, |acc, part| acc.join(part));
        }
        match (head.file_name().map(|n| n.to_os_string()), head.parent().map(Path::to_path_buf)) {
            (Some(name), Some(parent)) => {
                tail.push(name);
                head = parent;
            }
            _ => return abs,
        }
    }
}

/// Refuse a command whose outputs would overwrite one of its inputs or another of its outputs,
/// naming both files. With `in_place`, the first `in_place_outputs` entries of `writes` (the
/// model and its data file) may replace the files of the input (`rotor opt IN -o IN`); every
/// other write is still checked against every read.
pub fn refuse_clobbering(reads: &[Role], writes: &[Role], in_place_outputs: usize) -> Result<(), String> {
    let in_place = writes.first().zip(reads.first()).is_some_and(|(w, r)| same_file(&w.path, &r.path));
    for (i, w) in writes.iter().enumerate() {
        if !(in_place && i < in_place_outputs) {
            for r in reads {
                if same_file(&w.path, &r.path) {
                    return Err(format!(
                        "{} {} is {} {}: writing it would destroy an input (choose another path)",
                        w.what,
                        w.path.display(),
                        r.what,
                        r.path.display()
                    ));
                }
            }
        }
        for o in &writes[..i] {
            if same_file(&w.path, &o.path) {
                return Err(format!("{} {} is also {} {}: choose another path for one of them", w.what, w.path.display(), o.what, o.path.display()));
            }
        }
        if w.path.is_dir() {
            return Err(format!("{} {} is a directory", w.what, w.path.display()));
        }
        let parent = w.path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        if !parent.is_dir() {
            return Err(format!("{} {}: the folder {} does not exist", w.what, w.path.display(), parent.display()));
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed expectation panics, which is how a test fails")]
mod tests {
    use super::*;

    #[test]
    fn outputs_that_are_inputs_or_each_other_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let model = dir.path().join("a.onnx");
        let data = dir.path().join("a.onnx.data");
        std::fs::write(&model, b"m").expect("write");
        std::fs::write(&data, b"d").expect("write");
        let reads = vec![Role::new("the input model", &model), Role::new("the input model's external data", &data)];
        // -o a.onnx.data would replace the input's weights
        let e = refuse_clobbering(&reads, &model_outputs(&data), 2).expect_err("clobbers data");
        assert!(e.contains("the output model") && e.contains("external data"), "{e}");
        // in place: allowed, and the data file may be replaced too
        assert!(refuse_clobbering(&reads, &model_outputs(&model), 2).is_ok());
        // a report onto the model it accompanies
        let out = dir.path().join("o.onnx");
        let mut writes = model_outputs(&out);
        writes.push(Role::new("--report", &out));
        let e = refuse_clobbering(&reads, &writes, 2).expect_err("report onto model");
        assert!(e.contains("--report") && e.contains("the output model"), "{e}");
        // a report onto the input, even in place
        let mut writes = model_outputs(&model);
        writes.push(Role::new("--report", &model));
        assert!(refuse_clobbering(&reads, &writes, 2).is_err());
        // the same file through another spelling of the path
        let other = dir.path().join(".").join("a.onnx");
        assert!(same_file(&other, &model));
        // a missing folder
        let e = refuse_clobbering(&reads, &model_outputs(&dir.path().join("nodir/x.onnx")), 2).expect_err("no folder");
        assert!(e.contains("does not exist"), "{e}");
        assert!(refuse_clobbering(&reads, &model_outputs(&out), 2).is_ok());
    }
}
