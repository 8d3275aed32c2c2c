//! The `rotor opt` flow, once: check every argument, load, check the sizes and output paths,
//! run the passes, write, verify, lint — shared by the CLI and the Python package, so the same
//! words do the same thing and fail the same way. Reading and writing files, and running ONNX
//! Runtime for `verify`, are the caller's ([`Host`]); the order of the steps, which errors are
//! bad input (nothing written, or what was written removed) and which are a failed check (the
//! result kept for inspection), and the [`Outcome`] are here.

use std::collections::BTreeMap;
use std::time::Instant;

use rotor_ir::Graph;
use serde::Serialize;

use crate::plan::{Plan, plan};
use crate::targets::{Finding, lint};
use crate::{Report, run_passes};

/// What a run is asked to do (the CLI's flags, the Python function's arguments).
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// Pass names (empty: the default pipeline, or the target's).
    pub passes: Vec<String>,
    /// `ai.onnx`, `com.microsoft` or `decomposed` (`None`: `ai.onnx`).
    pub rope_target: Option<String>,
    /// A deployment target (`ort`, `tract`, ...).
    pub target: Option<String>,
    /// Run the original and the result on seeded inputs and compare.
    pub verify: bool,
    /// Sizes of symbolic input dims for `verify` (`{"S": [1, 300]}`).
    pub dims: BTreeMap<String, Vec<i64>>,
}

/// Why a run stopped.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum OptimizeError {
    /// Bad input (an argument, the model, a path): nothing was written, or what was written was
    /// removed. `field` names the argument when one is at fault (`passes`, `rope_target`,
    /// `target`, `dims`, or a dim's name for `dims`).
    #[error("{message}")]
    Usage { field: Option<String>, message: String },
    /// An argument names nothing rotor has (`passes`, `rope_target`, `target`).
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
    /// The input is not a readable ONNX model (the message names the file).
    #[error("{0}")]
    Model(String),
    /// A size given for `verify` does not fit the model: `name` is the dim.
    #[error("{name}: {message}")]
    Dim { name: String, message: String },
    /// A pass refused the model or failed (the message names the pass).
    #[error("{0}")]
    Pass(String),
    /// Something that should have worked did not (the runtime running a model).
    #[error("{0}")]
    Failed(String),
    /// `verify` needs ONNX Runtime and none could be loaded.
    #[error("{0}")]
    Unavailable(String),
}

impl OptimizeError {
    /// Bad input, naming the argument at fault.
    pub fn usage(field: impl Into<String>, message: impl Into<String>) -> OptimizeError {
        OptimizeError::Usage { field: Some(field.into()), message: message.into() }
    }
}

/// One comparison of `verify`: an output of the result against the original's at one set of
/// sizes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Check {
    /// The sizes, `NAME=SIZE` pairs joined by spaces.
    pub binding: String,
    /// The output's name.
    pub output: String,
    /// Within tolerance.
    pub ok: bool,
    /// Max abs/rel difference and the tolerance.
    pub summary: String,
}

/// What a run did: the pass report, timings, and the verification and lint results.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outcome {
    /// Per pass, rounds, node counts, op histogram, rejections.
    #[serde(flatten)]
    pub report: Report,
    /// The op `fuse-rope` wrote.
    pub rope_target: &'static str,
    /// Milliseconds reading, running the passes, writing.
    pub load_ms: f64,
    pub passes_ms: f64,
    pub save_ms: f64,
    /// Every comparison, when `verify` ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<Vec<Check>>,
    /// The deployment target, when one was named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<&'static str>,
    /// What the target still cannot run in the result (with a target).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lint: Option<Vec<Finding>>,
}

impl Outcome {
    /// True unless `verify` ran and an output differed past tolerance.
    pub fn verified(&self) -> bool {
        self.verify.as_ref().is_none_or(|v| v.iter().all(|c| c.ok))
    }

    /// True unless a target was named and the result still has nodes it cannot run.
    pub fn lint_clean(&self) -> bool {
        self.lint.as_ref().is_none_or(Vec::is_empty)
    }
}

/// What [`optimize`] needs from its caller.
pub trait Host {
    /// Read the model.
    fn load(&mut self) -> Result<Graph, OptimizeError>;
    /// Check `sizes` against the model before anything runs: every name a symbolic input dim,
    /// every size >= 1 (a bad one is [`OptimizeError::Usage`] naming the dim).
    fn check_sizes(&mut self, g: &Graph, sizes: &BTreeMap<String, Vec<i64>>) -> Result<(), OptimizeError>;
    /// Check the outputs before anything is written: none may be one of the inputs or another
    /// output (in place excepted).
    fn check_outputs(&mut self, g: &Graph) -> Result<(), OptimizeError>;
    /// Write the result (or keep its bytes).
    fn write(&mut self, g: &Graph) -> Result<(), OptimizeError>;
    /// Remove what [`Host::write`] wrote (after bad input found late; not when the input itself
    /// was replaced in place).
    fn undo_write(&mut self);
    /// Run the original and the written result on seeded inputs (`g` is the result, for its
    /// inputs) at `sizes` and compare every output.
    fn verify(&mut self, g: &Graph, sizes: &BTreeMap<String, Vec<i64>>) -> Result<Vec<Check>, OptimizeError>;
}

/// Resolve a request's pass list and targets (errors name the argument).
pub fn resolve(req: &Request) -> Result<Plan, OptimizeError> {
    Ok(plan(&req.passes, req.rope_target.as_deref(), req.target.as_deref())?)
}

/// Run the `rotor opt` flow; returns the result graph and the outcome. `Err` leaves no file
/// behind for bad input; a failed verification or lint is an `Ok` outcome that says so (the
/// result is written, for inspection).
pub fn optimize(req: &Request, host: &mut dyn Host) -> Result<(Graph, Outcome), OptimizeError> {
    // 1. every argument before anything is read or written
    let plan = resolve(req)?;
    if !req.dims.is_empty() && !req.verify {
        return Err(OptimizeError::usage("dims", "sets the sizes verify runs with; verify is off"));
    }
    let t0 = Instant::now();
    let mut g = host.load()?;
    let load_ms = t0.elapsed().as_secs_f64() * 1e3;
    host.check_sizes(&g, &req.dims)?;
    host.check_outputs(&g)?;
    // 2. the passes
    let t1 = Instant::now();
    let names: Vec<&str> = plan.passes.iter().map(String::as_str).collect();
    let report = run_passes(&mut g, &names, &plan.options).map_err(|e| OptimizeError::Pass(e.to_string()))?;
    let passes_ms = t1.elapsed().as_secs_f64() * 1e3;
    // 3. the result
    let t2 = Instant::now();
    host.write(&g)?;
    let save_ms = t2.elapsed().as_secs_f64() * 1e3;
    let mut outcome = Outcome { report, rope_target: plan.options.rope_target.name(), load_ms, passes_ms, save_ms, verify: None, target: None, lint: None };
    // 4. the proof and the target's lint
    if req.verify {
        match host.verify(&g, &req.dims) {
            Ok(checks) => outcome.verify = Some(checks),
            Err(e) => {
                if matches!(e, OptimizeError::Usage { .. } | OptimizeError::Dim { .. }) {
                    host.undo_write();
                }
                return Err(e);
            }
        }
    }
    if let Some(t) = plan.target {
        outcome.target = Some(t.name);
        outcome.lint = Some(lint(&g, t));
    }
    Ok((g, outcome))
}
