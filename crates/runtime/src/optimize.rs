//! The [`Host`] of `rotor opt` and `rotor.optimize`: a model read from a file or bytes, the
//! result written to a file (external data beside it) or kept as bytes, output paths checked
//! against every input and output before anything is written, and `verify` run in ONNX Runtime.
//! The flow itself is [`rotor_passes::optimize::optimize`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use rotor_export::paths::{Role, model_files, model_outputs, refuse_clobbering, same_file};
use rotor_ir::Graph;
use rotor_passes::optimize::{Check, Host, OptimizeError};

use crate::RuntimeError;
use crate::verify::{ModelRef, check_sizes, verify_rewrite};

/// Where the model comes from.
#[derive(Clone, Debug)]
pub enum Source {
    /// An ONNX file (external data read beside it).
    Path(PathBuf),
    /// A serialized model (initializers inline).
    Bytes(Vec<u8>),
}

/// Where the result goes.
#[derive(Clone, Debug)]
pub enum Destination {
    /// An ONNX file (initializers that were external stay external, in `<path>.data`).
    Path(PathBuf),
    /// Kept as bytes ([`FileHost::into_bytes`]).
    Bytes,
}

/// Files in, file (or bytes) out; see the module docs.
#[derive(Debug)]
pub struct FileHost {
    source: Source,
    destination: Destination,
    /// What the result is called in messages (`the output model`, `path`).
    output_label: String,
    /// Other files the run writes (the CLI's `--report`), checked with the model's outputs.
    also_writes: Vec<Role>,
    /// `fsync` before the rename.
    pub fsync: bool,
    written: Vec<PathBuf>,
    bytes: Option<Vec<u8>>,
}

impl FileHost {
    /// A host reading `source` and writing `destination`; `output_label` names the result in
    /// messages.
    pub fn new(source: Source, destination: Destination, output_label: &str) -> FileHost {
        FileHost { source, destination, output_label: output_label.into(), also_writes: Vec::new(), fsync: false, written: Vec::new(), bytes: None }
    }

    /// Another file this run writes (checked against every input and output before anything is
    /// written).
    pub fn also_writes(&mut self, what: &str, path: PathBuf) {
        self.also_writes.push(Role::new(what, path));
    }

    /// The files written.
    pub fn written(&self) -> &[PathBuf] {
        &self.written
    }

    /// True when the result replaces the input file (`-o IN`).
    pub fn in_place(&self) -> bool {
        matches!((&self.source, &self.destination), (Source::Path(s), Destination::Path(d)) if same_file(s, d))
    }

    /// The result's bytes, with [`Destination::Bytes`].
    pub fn into_bytes(self) -> Option<Vec<u8>> {
        self.bytes
    }

    fn source_ref(&self) -> ModelRef<'_> {
        match &self.source {
            Source::Path(p) => ModelRef::Path(p),
            Source::Bytes(b) => ModelRef::Bytes(b),
        }
    }
}

fn failed(e: impl std::fmt::Display) -> OptimizeError {
    OptimizeError::Failed(e.to_string())
}

impl Host for FileHost {
    fn load(&mut self) -> Result<Graph, OptimizeError> {
        match &self.source {
            Source::Path(p) => rotor_export::load_file(p).map_err(|e| OptimizeError::Model(format!("{}: {e}", p.display()))),
            Source::Bytes(b) => rotor_export::load_bytes(b).map_err(|e| OptimizeError::Model(e.to_string())),
        }
    }

    fn check_sizes(&mut self, g: &Graph, sizes: &BTreeMap<String, Vec<i64>>) -> Result<(), OptimizeError> {
        check_sizes(g, sizes).map_err(|e| match e {
            RuntimeError::Input { name, message } => OptimizeError::Dim { name, message },
            other => OptimizeError::usage("dims", other.to_string()),
        })
    }

    fn check_outputs(&mut self, g: &Graph) -> Result<(), OptimizeError> {
        let Destination::Path(out) = &self.destination else { return Ok(()) };
        let reads = match &self.source {
            Source::Path(s) => model_files(s, g),
            Source::Bytes(_) => Vec::new(),
        };
        let mut writes: Vec<Role> = model_outputs(out).into_iter().map(|r| Role::new(r.what.replace("the output model", &self.output_label), r.path)).collect();
        let in_place_outputs = writes.len();
        writes.extend(self.also_writes.iter().cloned());
        refuse_clobbering(&reads, &writes, in_place_outputs).map_err(|m| OptimizeError::usage("path", m))
    }

    fn write(&mut self, g: &Graph) -> Result<(), OptimizeError> {
        match &self.destination {
            Destination::Path(p) => {
                self.written = rotor_export::write_model(g, p, &rotor_export::ExportOptions { sync: self.fsync, ..Default::default() })
                    .map_err(|e| OptimizeError::usage("path", e.to_string()))?;
            }
            Destination::Bytes => self.bytes = Some(rotor_export::to_bytes(g).map_err(failed)?),
        }
        Ok(())
    }

    fn undo_write(&mut self) {
        if self.in_place() {
            return;
        }
        for p in &self.written {
            let _ = std::fs::remove_file(p);
        }
    }

    fn verify(&mut self, g: &Graph, sizes: &BTreeMap<String, Vec<i64>>) -> Result<Vec<Check>, OptimizeError> {
        let result = match (&self.destination, &self.bytes) {
            (Destination::Path(p), _) => ModelRef::Path(p),
            (Destination::Bytes, Some(b)) => ModelRef::Bytes(b),
            (Destination::Bytes, None) => return Err(failed("no result to verify")),
        };
        let lines = verify_rewrite(self.source_ref(), result, g, sizes).map_err(|e| match e {
            RuntimeError::Input { name, message } if sizes.contains_key(&name) => OptimizeError::Dim { name, message },
            RuntimeError::Input { .. } => OptimizeError::usage("verify", e.to_string()),
            RuntimeError::OrtUnavailable(m) => OptimizeError::Unavailable(m),
            other => failed(other),
        })?;
        Ok(lines.into_iter().map(|l| Check { binding: l.binding, output: l.output, ok: l.ok, summary: l.summary }).collect())
    }
}
