//! What a run of passes does, from the user's three choices (an explicit pass list, the RoPE
//! target, a deployment target): the pass names in order and the [`Options`]. `rotor opt` and
//! the Python package's `rotor.optimize` both resolve their arguments here, so they run the
//! same pipeline for the same words.

use crate::targets::{self, Target};
use crate::{DEFAULT_PIPELINE, Options, PASSES, RopeTarget};

/// A resolved run: pass names (kebab or snake case, as given; `none` removed) and options.
#[derive(Clone)]
pub struct Plan {
    /// Pass names, in order.
    pub passes: Vec<String>,
    /// Options of the run.
    pub options: Options,
    /// The deployment target, when one was named (lint the result against it).
    pub target: Option<&'static Target>,
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan").field("passes", &self.passes).field("options", &self.options).field("target", &self.target.map(|t| t.name)).finish()
    }
}

/// An argument that names nothing rotor has; `field` is the argument (`passes`,
/// `rope_target`, `target`).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{field} {value:?}: {message}")]
pub struct PlanError {
    /// Which argument.
    pub field: &'static str,
    /// The value given.
    pub value: String,
    /// What is known instead.
    pub message: String,
}

/// The passes a help text lists, one per line, with the pseudo-pass `none` and the default
/// pipeline.
pub fn pass_list() -> String {
    let mut s = String::from("Passes:\n  none              no pass: the model is written back as it was read\n");
    for p in PASSES {
        s.push_str(&format!("  {:<17} {}\n", p.name.replace('_', "-"), p.summary));
    }
    s.push_str(&format!("Default pipeline: {}\n", DEFAULT_PIPELINE.iter().map(|p| p.replace('_', "-")).collect::<Vec<_>>().join(", ")));
    s
}

/// The deployment targets a help text lists, one per line.
pub fn target_list() -> String {
    targets::TARGETS
        .iter()
        .map(|t| format!("  {:<15} {} (opsets {}..={}; RoPE: {})", t.name, t.runtime, t.opsets.0, t.opsets.1, t.rope.name()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Resolve the arguments. `passes` empty: the target's pipeline, else [`DEFAULT_PIPELINE`];
/// a target overrides `rope_target` (`None`: `ai.onnx`) with the op it runs and caps the opset.
pub fn plan(passes: &[String], rope_target: Option<&str>, target: Option<&str>) -> Result<Plan, PlanError> {
    let mut rope = match rope_target {
        Some(r) => RopeTarget::parse(r).ok_or_else(|| PlanError {
            field: "rope_target",
            value: r.to_string(),
            message: format!("expected one of {}", RopeTarget::ALL.map(|(n, _)| n).join(", ")),
        })?,
        None => RopeTarget::default(),
    };
    let target = match target {
        Some(t) => Some(targets::target(t).ok_or_else(|| PlanError {
            field: "target",
            value: t.to_string(),
            message: format!("unknown target; known:\n{}", target_list()),
        })?),
        None => None,
    };
    let mut options = Options::default();
    let defaults: Vec<String> = match target {
        Some(t) => {
            let (p, r) = targets::pipeline(t);
            rope = r;
            options.max_opset = t.opsets.1;
            options.keep_fused = Some(r);
            p.iter().map(|s| s.to_string()).collect()
        }
        None => DEFAULT_PIPELINE.iter().map(|s| s.to_string()).collect(),
    };
    options.rope_target = rope;
    let names: Vec<String> = if passes.is_empty() { defaults } else { passes.iter().filter(|n| n.as_str() != "none").cloned().collect() };
    if let Some(n) = names.iter().find(|n| crate::pass_by_name(n).is_none()) {
        return Err(PlanError { field: "passes", value: n.clone(), message: format!("unknown pass\n{}", pass_list()) });
    }
    Ok(Plan { passes: names, options, target })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan's passes and (rope target, max opset), or the field an error names.
    fn resolve(passes: &[&str], rope: Option<&str>, target: Option<&str>) -> Result<(Vec<String>, RopeTarget, i64), &'static str> {
        let passes: Vec<String> = passes.iter().map(|s| s.to_string()).collect();
        plan(&passes, rope, target).map(|p| (p.passes, p.options.rope_target, p.options.max_opset)).map_err(|e| e.field)
    }

    #[test]
    fn defaults_targets_and_errors() {
        let default: Vec<String> = DEFAULT_PIPELINE.iter().map(|s| s.to_string()).collect();
        assert_eq!(resolve(&[], None, None), Ok((default, RopeTarget::Onnx, i64::MAX)));
        let ort122 = resolve(&[], Some("ai.onnx"), Some("ort-1.22"));
        assert!(matches!(ort122, Ok((_, RopeTarget::Microsoft, 22))), "ort-1.22 has only the contrib op, opsets up to 22: {ort122:?}");
        assert_eq!(resolve(&["none"], None, None), Ok((Vec::new(), RopeTarget::Onnx, i64::MAX)));
        assert_eq!(resolve(&["fuse-rop"], None, None), Err("passes"));
        assert_eq!(resolve(&[], Some("onnx"), None), Err("rope_target"));
        assert_eq!(resolve(&[], None, Some("trt")), Err("target"));
    }
}
