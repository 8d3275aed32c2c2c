//! Prove a rewrite: run the original model and the rewritten one in ONNX Runtime on the same
//! seeded inputs, for several bindings of every symbolic input dim, and compare every output
//! with rotor's parity tolerance. What `rotor opt --verify` and the Python package's
//! `rotor.optimize(..., verify=True)` run.

use std::collections::BTreeMap;
use std::path::Path;

use rotor_builder::Graph;

use crate::error::RuntimeError;
use crate::{Backend, BackendKind, Tolerance};

/// Sizes every symbolic dim takes in turn when none are chosen.
pub const DEFAULT_SIZES: [i64; 3] = [1, 7, 67];

/// A model to run: a file (its external data beside it) or serialized bytes.
#[derive(Clone, Copy, Debug)]
pub enum ModelRef<'a> {
    /// An ONNX file.
    Path(&'a Path),
    /// A serialized ONNX model whose initializers are all inline.
    Bytes(&'a [u8]),
}

/// One output compared under one binding of the symbolic dims.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifyLine {
    /// The binding, `NAME=SIZE` pairs joined by spaces.
    pub binding: String,
    /// The output's name.
    pub output: String,
    /// Within tolerance.
    pub ok: bool,
    /// Max abs/rel difference and the tolerance, as [`crate::Comparison::summary`] prints them.
    pub summary: String,
}

/// The symbolic dims of the graph's inputs, in first-seen order.
pub fn input_symbols(g: &Graph) -> Vec<String> {
    let mut syms: Vec<String> = Vec::new();
    for v in g.inputs() {
        for d in g.info(*v).shape.iter().flatten() {
            if let Some(s) = d.symbol().filter(|s| !syms.iter().any(|x| x == s)) {
                syms.push(s.to_string());
            }
        }
    }
    syms
}

fn load(m: ModelRef<'_>) -> Result<Box<dyn Backend>, RuntimeError> {
    match m {
        ModelRef::Path(p) => crate::load_path(BackendKind::OrtCpu, p),
        ModelRef::Bytes(b) => crate::load(BackendKind::OrtCpu, b),
    }
}

/// Check chosen sizes against the graph before anything runs (or is written): every name must
/// be a symbolic input dim of `g`, every list non-empty with sizes >= 1. The error names the
/// dim ([`RuntimeError::Input`]).
pub fn check_sizes(g: &Graph, sizes: &BTreeMap<String, Vec<i64>>) -> Result<(), RuntimeError> {
    let symbols = input_symbols(g);
    for (k, v) in sizes {
        if !symbols.contains(k) {
            let known = if symbols.is_empty() { "it has none".to_string() } else { format!("its dims: {}", symbols.join(", ")) };
            return Err(RuntimeError::Input { name: k.clone(), message: format!("the model has no symbolic input dim {k:?} ({known})") });
        }
        if v.is_empty() || v.iter().any(|s| *s < 1) {
            return Err(RuntimeError::Input { name: k.clone(), message: "sizes must be integers >= 1".into() });
        }
    }
    Ok(())
}

/// Run `original` and `rewritten` (whose graph, for the inputs, is `g`) in ONNX Runtime (CPU)
/// on seeded inputs, `max(3, longest size list)` times; symbolic dim `s` takes
/// `sizes[s][k % len]` in run `k` ([`DEFAULT_SIZES`] when not chosen). Errors: a chosen dim
/// the model does not have, or a size < 1 ([`RuntimeError::Input`], see [`check_sizes`]); a
/// model that fails to load or run (named "original" / "rewritten").
pub fn verify_rewrite(original: ModelRef<'_>, rewritten: ModelRef<'_>, g: &Graph, sizes: &BTreeMap<String, Vec<i64>>) -> Result<Vec<VerifyLine>, RuntimeError> {
    check_sizes(g, sizes)?;
    let symbols = input_symbols(g);
    let runs = sizes.values().map(Vec::len).max().unwrap_or(3).max(3);
    let tag = |which: &str, e: RuntimeError| match e {
        RuntimeError::Ort(m) => RuntimeError::Ort(format!("the {which} model: {m}")),
        other => other,
    };
    let mut a = load(original).map_err(|e| tag("original", e))?;
    let mut b = load(rewritten).map_err(|e| tag("rewritten", e))?;
    let mut lines = Vec::new();
    for k in 0..runs {
        let binding: BTreeMap<String, i64> = symbols
            .iter()
            .map(|s| {
                let list = sizes.get(s).map_or(&DEFAULT_SIZES[..], Vec::as_slice);
                (s.clone(), list[k % list.len()])
            })
            .collect();
        let inputs = crate::inputs::random_inputs(g, &binding, &Default::default(), 1000 + k as u64)?;
        let want = a.run(&inputs).map_err(|e| tag("original", e))?;
        let got = b.run(&inputs).map_err(|e| tag("rewritten", e))?;
        let text: Vec<String> = binding.iter().map(|(k, v)| format!("{k}={v}")).collect();
        for ((name, w), (_, o)) in want.iter().zip(&got) {
            let c = crate::compare(o, w, Tolerance::parity_for(w.dtype()))
                .map_err(|e| RuntimeError::Input { name: name.clone(), message: format!("[{}] {e}", text.join(" ")) })?;
            lines.push(VerifyLine { binding: text.join(" "), output: name.clone(), ok: c.ok(), summary: c.summary() });
        }
    }
    Ok(lines)
}
