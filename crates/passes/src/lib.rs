//! # rotor-passes
//!
//! Passes that rewrite a loaded or built [`Graph`]: cleanup (dead code, no-ops, common
//! subexpressions, constant folding), RoPE fusion over the forms PyTorch exporters write, and
//! lowering of the fused ops back to standard ops. Every pass is one [`Rule`] in its own module,
//! which opens with the pattern it matches: it reads the graph immutably and returns a
//! [`patch::Patch`] (the replacement built with the builder the emitters use, and the readers to
//! redirect) or nothing; the driver applies patches atomically, type-checks the new nodes,
//! counts them and runs the rule inside `If`/`Loop`/`Scan` bodies too. Rules record why a
//! candidate was left alone ([`Rejection`], printed by `rotor opt --explain`), and only rewrite
//! what they prove equivalent.
//!
//! [`run_passes`] runs a list of passes to a fixed point (capped) and returns a [`Report`] of
//! rewrites and time per pass; [`optimize::optimize`] is the whole `rotor opt` flow (load,
//! passes, write, verify, lint) shared by the CLI and the Python package. The same input gives
//! the same output, byte for byte.
//!
//! ```
//! use rotor_builder::{Builder, DType, Dim};
//! use rotor_passes::{Options, run_passes};
//!
//! let mut b = Builder::new("g", 17)?;
//! let x = b.input("x", DType::F32, [Dim::sym("N"), Dim::Fixed(4)])?;
//! let y = b.identity("id", x)?;
//! let z = b.neg("neg", y)?;
//! b.output("z", z)?;
//! let mut g = b.finish()?;
//! let report = run_passes(&mut g, &["eliminate_noops", "dce"], &Options::default())?;
//! assert_eq!(report.nodes_after, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod cse;
pub mod dce;
pub mod fit_opset;
pub mod fold;
pub mod fuse_rope;
pub mod legalize_tract;
pub mod lower_rope;
pub mod noops;
pub mod optimize;
pub mod patch;
pub mod plan;
pub mod targets;
mod util;

use std::time::Instant;

use rotor_builder::Memo;
pub use rotor_ir::opset;
use rotor_ir::{BuildError, Graph, NodeId};
use serde::Serialize;

use crate::patch::Patch;

/// Why a pass pipeline could not run.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    /// A pass name no pass has.
    #[error("unknown pass {name:?} (known: {known})")]
    UnknownPass { name: String, known: String },
    /// An edit of the graph failed (a bug in a pass, or a graph the IR cannot hold).
    #[error("pass {pass}: {source}")]
    Build {
        pass: &'static str,
        #[source]
        source: BuildError,
    },
    /// A pass refused the whole model (e.g. an opset upgrade that would change an op).
    #[error("pass {pass}: {message}")]
    Refused { pass: &'static str, message: String },
}

/// Which op `fuse_rope` writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RopeTarget {
    /// ONNX `RotaryEmbedding` (opset 23): a standard op, run by ONNX Runtime >= 1.23 (CPU and
    /// CUDA kernels) and parsed by TensorRT >= 10.15. The default: it is the one form every
    /// runtime that implements the standard runs, and the model stays a pure ai.onnx model.
    #[default]
    Onnx,
    /// ONNX Runtime's contrib `com.microsoft.RotaryEmbedding` (ORT only, any opset).
    Microsoft,
    /// Rotor's compact decomposed form (standard ops, opset >= 13): for runtimes with neither op.
    Decomposed,
}

impl RopeTarget {
    /// Every target, by CLI name.
    pub const ALL: [(&'static str, RopeTarget); 3] =
        [("ai.onnx", RopeTarget::Onnx), ("com.microsoft", RopeTarget::Microsoft), ("decomposed", RopeTarget::Decomposed)];

    /// Parse a CLI name (`ai.onnx`, `com.microsoft`, `decomposed`).
    pub fn parse(s: &str) -> Option<RopeTarget> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, t)| *t)
    }

    /// The CLI name.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, t)| *t == self).map_or("ai.onnx", |(n, _)| n)
    }
}

/// Settings shared by the passes.
#[derive(Clone, Debug)]
pub struct Options {
    /// Op written by `fuse_rope`.
    pub rope_target: RopeTarget,
    /// Cap on pipeline rounds (the driver repeats the pipeline until nothing changes).
    pub max_rounds: usize,
    /// The highest ai.onnx opset a pass may raise the model to (a deployment target's limit).
    pub max_opset: i64,
    /// The fused op `lower_rope` leaves alone (a deployment target's own op); `None`: lower both.
    pub keep_fused: Option<RopeTarget>,
}

impl Default for Options {
    fn default() -> Options {
        Options { rope_target: RopeTarget::default(), max_rounds: 8, max_opset: i64::MAX, keep_fused: None }
    }
}

/// A candidate a pass looked at and left alone, with the reason.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rejection {
    /// Pass name.
    pub pass: &'static str,
    /// The node the candidate is rooted at (its name, or `op#id` when unnamed).
    pub node: String,
    /// Why it was not rewritten.
    pub reason: String,
}

/// What one pass did over the whole run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PassStat {
    /// Pass name.
    pub name: &'static str,
    /// Rewrites made (summed over rounds).
    pub rewrites: usize,
    /// Time spent in the pass, seconds (summed over rounds).
    pub seconds: f64,
}

/// What [`run_passes`] did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// Per pass, in pipeline order.
    pub passes: Vec<PassStat>,
    /// Rounds run.
    pub rounds: usize,
    /// True when the last round changed nothing (false: stopped at the cap).
    pub converged: bool,
    /// Node count before and after (top-level graph).
    pub nodes_before: usize,
    pub nodes_after: usize,
    /// Op histogram after the run, `(op, count)` sorted by op.
    pub ops_after: Vec<(String, usize)>,
    /// Candidates left alone in the last round, with reasons.
    pub rejections: Vec<Rejection>,
}

/// The state a pass runs with: options, the rejection log, and the memo of values patches
/// built for later patches to reuse.
pub struct Cx<'a> {
    /// Options of the run.
    pub options: &'a Options,
    pass: &'static str,
    rejections: Vec<Rejection>,
    /// Values earlier patches of this pass built (typed keys; values of the rewritten graph).
    pub memo: Memo,
}

impl Cx<'_> {
    /// Record that a candidate rooted at `node` was left alone, and why.
    pub fn reject(&mut self, node: &str, reason: impl Into<String>) {
        self.rejections.push(Rejection { pass: self.pass, node: node.to_string(), reason: reason.into() });
    }

    fn build_error(&self, source: BuildError) -> PassError {
        PassError::Build { pass: self.pass, source }
    }

    fn refuse(&self, message: impl Into<String>) -> PassError {
        PassError::Refused { pass: self.pass, message: message.into() }
    }
}

/// A rewrite rule: one pass. It reads the graph and returns patches; it never edits.
pub trait Rule {
    /// snake_case name (kebab-case on the CLI).
    fn name(&self) -> &'static str;

    /// The candidates of one round, in order: nodes, and `None` for the graph as a whole
    /// (initializers, the opset). Called at the start of each round; a rule may reset its state
    /// here. Default: every node, in graph order.
    fn candidates(&mut self, g: &Graph, _cx: &mut Cx) -> Result<Vec<Option<NodeId>>, PassError> {
        Ok(g.nodes().iter().map(|n| Some(n.id)).collect())
    }

    /// A patch for one candidate (the graph as the patches before it left it), or `None` to
    /// leave it (recording why with [`Cx::reject`] when it looked like a match).
    fn rewrite(&mut self, g: &Graph, at: Option<NodeId>, cx: &mut Cx) -> Result<Option<Patch>, PassError>;

    /// Whether the rule also runs inside `If`/`Loop`/`Scan` bodies (default: yes).
    fn recurse(&self) -> bool {
        true
    }
}

/// Run one round of `rule` over `g` and, when it recurses, over every subgraph (depth first);
/// returns the rewrites made.
fn run_rule(rule: &mut dyn Rule, g: &mut Graph, cx: &mut Cx) -> Result<usize, PassError> {
    let mut done = 0;
    for at in rule.candidates(g, cx)? {
        if at.is_some_and(|id| g.node(id).is_none()) {
            continue; // removed by an earlier patch
        }
        let Some(p) = rule.rewrite(g, at, cx)? else { continue };
        if p.is_empty() {
            continue;
        }
        let n = p.count();
        p.apply(g, &mut cx.memo).map_err(|e| cx.build_error(e))?;
        done += n;
    }
    if rule.recurse() {
        let holders: Vec<NodeId> = g.nodes().iter().filter(|n| !n.subgraphs().is_empty()).map(|n| n.id).collect();
        for id in holders {
            let outer_memo = std::mem::take(&mut cx.memo);
            let r = g.edit_subgraphs(id, |_, body| run_rule(rule, body, cx).map(|k| done += k));
            cx.memo = outer_memo;
            r?;
        }
    }
    Ok(done)
}

/// A pass by name, with a one-line summary.
pub struct PassInfo {
    /// snake_case name.
    pub name: &'static str,
    /// What it does.
    pub summary: &'static str,
    make: fn() -> Box<dyn Rule>,
}

/// Every pass, in the order `--help` lists them.
pub const PASSES: &[PassInfo] = &[
    PassInfo { name: dce::NAME, summary: dce::SUMMARY, make: || Box::new(dce::Dce) },
    PassInfo { name: noops::NAME, summary: noops::SUMMARY, make: || Box::new(noops::EliminateNoops) },
    PassInfo { name: cse::NAME, summary: cse::SUMMARY, make: || Box::new(cse::Cse::default()) },
    PassInfo { name: fold::NAME, summary: fold::SUMMARY, make: || Box::new(fold::FoldConstants::default()) },
    PassInfo { name: fuse_rope::NAME, summary: fuse_rope::SUMMARY, make: || Box::new(fuse_rope::FuseRope::default()) },
    PassInfo { name: lower_rope::NAME, summary: lower_rope::SUMMARY, make: || Box::new(lower_rope::LowerRope) },
    PassInfo { name: fit_opset::NAME, summary: fit_opset::SUMMARY, make: || Box::new(fit_opset::FitOpset) },
    PassInfo { name: legalize_tract::NAME, summary: legalize_tract::SUMMARY, make: || Box::new(legalize_tract::LegalizeTract) },
];

/// The pipeline `rotor opt` runs when no passes are named: cleanup (no-ops, constant and
/// shape-chain folding, CSE, DCE), then RoPE fusion, then cleanup of what fusion left dead;
/// repeated until nothing changes.
pub const DEFAULT_PIPELINE: &[&str] = &[noops::NAME, fold::NAME, cse::NAME, dce::NAME, fuse_rope::NAME, dce::NAME];

/// Look a pass up by its snake_case or kebab-case name.
pub fn pass_by_name(name: &str) -> Option<&'static PassInfo> {
    let snake = name.replace('-', "_");
    PASSES.iter().find(|p| p.name == snake)
}

/// Run `names` in order, repeating the list until a round changes nothing or
/// `options.max_rounds` rounds ran. Unknown names are refused before anything runs.
pub fn run_passes(g: &mut Graph, names: &[&str], options: &Options) -> Result<Report, PassError> {
    let mut passes = Vec::with_capacity(names.len());
    for n in names {
        let info = pass_by_name(n).ok_or_else(|| PassError::UnknownPass {
            name: (*n).to_string(),
            known: PASSES.iter().map(|p| p.name.replace('_', "-")).collect::<Vec<_>>().join(", "),
        })?;
        passes.push((info.name, (info.make)()));
    }
    let nodes_before = g.nodes().len();
    let mut stats: Vec<PassStat> = passes.iter().map(|(n, _)| PassStat { name: n, rewrites: 0, seconds: 0.0 }).collect();
    let mut cx = Cx { options, pass: "", rejections: Vec::new(), memo: Memo::default() };
    let (mut rounds, mut converged) = (0, passes.is_empty());
    while rounds < options.max_rounds.max(1) && !passes.is_empty() {
        rounds += 1;
        cx.rejections.clear();
        let mut changed = 0;
        for ((name, pass), stat) in passes.iter_mut().zip(stats.iter_mut()) {
            cx.pass = name;
            cx.memo = Memo::default();
            let t = Instant::now();
            let n = run_rule(pass.as_mut(), g, &mut cx)?;
            if n > 0 {
                // rewired inputs (a folded shape, say) may now tell inference what it could not
                g.refresh_types();
            }
            stat.seconds += t.elapsed().as_secs_f64();
            stat.rewrites += n;
            changed += n;
        }
        if changed == 0 {
            converged = true;
            break;
        }
    }
    g.topo_sort().map_err(|source| PassError::Build { pass: "driver", source })?;
    Ok(Report { passes: stats, rounds, converged, nodes_before, nodes_after: g.nodes().len(), ops_after: g.op_counts(), rejections: cx.rejections })
}
