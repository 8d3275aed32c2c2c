//! Deployment targets: what each runtime can load and run, as data with the source of every
//! fact, and the pass pipeline that legalizes a model for it (`rotor opt --target`,
//! `rotor lint`).
//!
//! Sources: `../shared/facts/runtimes.md` of this project (compiled from the runtimes' source
//! and release notes, with the runs it calls VERIFIED), the onnx-tensorrt operator list, and
//! runs in this repository (`tests/rope_passes.rs`, `python/roundtrip_allowlist.txt`).

use rotor_builder::{Graph, Node};

use crate::RopeTarget;
use crate::util::{constant, input};

/// One fact about an op a target cannot run (or runs only in some forms).
#[derive(Clone, Copy)]
pub struct OpRule {
    /// Op type.
    pub op: &'static str,
    /// Domain (`""` = ai.onnx).
    pub domain: &'static str,
    /// Why it fails there.
    pub why: &'static str,
    /// Where the fact comes from.
    pub source: &'static str,
    /// Which nodes of the op it applies to (`None`: all).
    pub applies: Option<fn(&Graph, &Node) -> bool>,
}

/// A runtime and version a model is legalized for.
pub struct Target {
    /// CLI name.
    pub name: &'static str,
    /// What it is.
    pub runtime: &'static str,
    /// ai.onnx opsets it loads.
    pub opsets: (i64, i64),
    /// Source of the opset range.
    pub opset_source: &'static str,
    /// The newest ONNX IR version it reads.
    pub max_ir: i64,
    /// Op domains it runs besides ai.onnx.
    pub domains: &'static [&'static str],
    /// The op `fuse_rope` writes for it, and why.
    pub rope: RopeTarget,
    pub rope_why: &'static str,
    /// Ops (or forms of ops) it cannot run.
    pub rules: &'static [OpRule],
    /// Facts that are not about one node (shown by `rotor lint --target T --explain`... and
    /// in the closing notes): dynamic-shape profiles and the like.
    pub notes: &'static [&'static str],
}

fn bool_inputs(g: &Graph, n: &Node) -> bool {
    input(n, 0).is_some_and(|v| g.dtype(v) == rotor_builder::DType::Bool)
}

fn int64_output(g: &Graph, n: &Node) -> bool {
    n.output_values().next().is_some_and(|v| g.dtype(v) == rotor_builder::DType::I64)
}

fn offset_position_ids(g: &Graph, n: &Node) -> bool {
    input(n, 1).is_some_and(|v| g.info(v).shape.as_ref().is_some_and(|s| s.len() <= 1))
}

fn axes_not_constant(g: &Graph, n: &Node) -> bool {
    let slot = if n.op_type == "Slice" { 3 } else { 1 };
    input(n, slot).is_some_and(|v| constant(g, v).is_none())
}

const TRACT_RULES: &[OpRule] = &[
    OpRule {
        op: "Equal",
        domain: "",
        why: "tract 0.23 evaluates Equal on numbers only (\"Eq: Bool is not a number\")",
        source: "measured here: x-transformers xPos export in tract 0.23.9 (tests/rope_passes.rs)",
        applies: Some(bool_inputs),
    },
    OpRule {
        op: "CumSum",
        domain: "",
        why: "tract 0.23 types int64 values derived from shapes as symbolic dims and cannot sum them (\"CumSum: TDim is not a number\")",
        source: "measured here: HF Llama/GPT-NeoX/GPT-J/Phi exports in tract 0.23.9 (tests/rope_passes.rs)",
        applies: Some(int64_output),
    },
    OpRule {
        op: "ConstantOfShape",
        domain: "",
        why: "tract 0.23 takes a ConstantOfShape without `value` as float64 (ONNX: float32 0): \"Impossible to unify F32 with F64\"",
        source: "measured here: DeepSeek-V3 export in tract 0.23.9 (tests/rope_passes.rs)",
        applies: Some(crate::legalize_tract::default_constant_of_shape),
    },
    OpRule {
        op: "MatMul",
        domain: "",
        why: "tract 0.23 can drop the batch of a batched outer product ([.., M, 1] @ [.., 1, N]) when its operands are expanded (\"expected batch,seq,8, got 1,3,8\")",
        source: "measured here: transformers 4.x rotary tables (hf_matmul_tables) in tract 0.23.9 (tests/rope_passes.rs)",
        applies: Some(crate::legalize_tract::batched_outer_product),
    },
    OpRule {
        op: "RotaryEmbedding",
        domain: "com.microsoft",
        why: "tract 0.23 fails to type the contrib op's offset form (position_ids of shape [1])",
        source: "facts/runtimes.md §2 (VERIFIED with tract-onnx 0.23.9)",
        applies: Some(offset_position_ids),
    },
];

const ORT_122_RULES: &[OpRule] = &[OpRule {
    op: "RotaryEmbedding",
    domain: "",
    why: "an opset-23 op; ONNX Runtime 1.22 refuses opset-23 models",
    source: "facts/runtimes.md §1b (VERIFIED with the onnxruntime 1.22.1 wheel)",
    applies: None,
}];

const TRT_COMMON: [OpRule; 3] = [
    OpRule {
        op: "Slice",
        domain: "",
        why: "TensorRT's parser wants Slice axes as an initializer",
        source: "onnx-tensorrt docs/operators.md (facts/runtimes.md §3)",
        applies: Some(axes_not_constant),
    },
    OpRule {
        op: "Unsqueeze",
        domain: "",
        why: "TensorRT's parser wants Unsqueeze axes constant",
        source: "onnx-tensorrt docs/operators.md (facts/runtimes.md §3)",
        applies: Some(axes_not_constant),
    },
    OpRule {
        op: "Squeeze",
        domain: "",
        why: "TensorRT's parser wants Squeeze axes as an initializer",
        source: "onnx-tensorrt docs/operators.md (facts/runtimes.md §3)",
        applies: Some(axes_not_constant),
    },
];

const TRT_1014_RULES: &[OpRule] = &[
    TRT_COMMON[0],
    TRT_COMMON[1],
    TRT_COMMON[2],
    OpRule {
        op: "RotaryEmbedding",
        domain: "",
        why: "TensorRT parses RotaryEmbedding from 10.15 GA",
        source: "NVIDIA/TensorRT CHANGELOG 10.15 (facts/runtimes.md §3)",
        applies: None,
    },
];

const TRT_1015_RULES: &[OpRule] = &[TRT_COMMON[0], TRT_COMMON[1], TRT_COMMON[2]];

const TRT_NOTES: &[&str] = &[
    "every input with a dynamic dim needs an optimization profile (min/opt/max) when the engine is built (TensorRT IOptimizationProfile docs; facts/runtimes.md §3)",
    "non-standard domains (com.microsoft) need plugins: not parsed natively (facts/runtimes.md §3, UNCONFIRMED for every op)",
];

/// Every target, by CLI name.
pub const TARGETS: &[Target] = &[
    Target {
        // max_ir: ORT 1.31.1 refuses IR version 14 (python/roundtrip_allowlist.txt, measured here)
        name: "ort",
        runtime: "ONNX Runtime 1.31 (the pinned onnxruntime wheel), CPU and CUDA",
        opsets: (7, 26),
        opset_source: "ORT 1.31.1 loads opsets up to 26 and reports 27 as under development (python/roundtrip_allowlist.txt, measured here)",
        max_ir: 13,
        domains: &["com.microsoft", "ai.onnx.ml"],
        rope: RopeTarget::Onnx,
        rope_why: "ORT >= 1.23 has CPU and CUDA kernels for the standard op (facts/runtimes.md §1b)",
        rules: &[],
        notes: &[],
    },
    Target {
        // max_ir: onnxruntime 1.22.1: "Unsupported model IR version: 11, max supported IR version: 10" (measured here)
        name: "ort-1.22",
        runtime: "ONNX Runtime 1.22",
        opsets: (7, 22),
        opset_source: "ORT 1.22.1 refuses opset 23 (\"Opset 23 is under development\"; facts/runtimes.md §1b, VERIFIED)",
        max_ir: 10,
        domains: &["com.microsoft", "ai.onnx.ml"],
        rope: RopeTarget::Microsoft,
        rope_why: "the contrib op runs in ORT 1.22.1 with (B, S) position ids and with an offset (facts/runtimes.md §1c, VERIFIED)",
        rules: ORT_122_RULES,
        notes: &[],
    },
    Target {
        // max_ir: tract-onnx 0.23 reads the protobuf fields of IR 13 models it was tested with (assumed: no IR check in its loader)
        name: "tract",
        runtime: "tract 0.23 (tract-onnx)",
        opsets: (9, 23),
        opset_source: "tract loads RotaryEmbedding (opset 23) since 0.23.0 and only warns outside 9..18, the range it is tested at (facts/runtimes.md §2)",
        max_ir: 13,
        domains: &["com.microsoft"],
        rope: RopeTarget::Decomposed,
        rope_why: "tract lowers RotaryEmbedding to the same core ops and detects rotate_half itself; the decomposed form keeps the model at its own opset (tract is tested at 9..18)",
        rules: TRACT_RULES,
        notes: &["graph inputs need declared shapes (\"Source node without a determined fact\"; facts/runtimes.md §2)"],
    },
    Target {
        // max_ir: IR 10 = opsets up to 22 (onnx VERSION_TABLE); TensorRT 10.14's own limit UNCONFIRMED
        name: "tensorrt-10.14",
        runtime: "TensorRT 10.14 (ONNX parser)",
        opsets: (9, 20),
        opset_source: "onnx-tensorrt operators.md: TensorRT 10.0 supports opsets 9 to 20; the maximum for 10.13-10.14 is UNCONFIRMED, 20 is the documented floor (facts/runtimes.md §3)",
        max_ir: 10,
        domains: &[],
        rope: RopeTarget::Decomposed,
        rope_why: "TensorRT parses RotaryEmbedding only from 10.15",
        rules: TRT_1014_RULES,
        notes: TRT_NOTES,
    },
    Target {
        // max_ir: IR 11 = opset 23 (onnx VERSION_TABLE); TensorRT 10.15's own limit UNCONFIRMED
        name: "tensorrt-10.15",
        runtime: "TensorRT 10.15 (ONNX parser)",
        opsets: (9, 23),
        opset_source: "TensorRT 10.15 parses RotaryEmbedding, an opset-23 op (CHANGELOG 10.15); its exact maximum opset is UNCONFIRMED (facts/runtimes.md §3)",
        max_ir: 11,
        domains: &[],
        rope: RopeTarget::Onnx,
        rope_why: "TensorRT 10.15 GA parses the standard RotaryEmbedding (CHANGELOG 10.15)",
        rules: TRT_1015_RULES,
        notes: TRT_NOTES,
    },
    Target {
        // max_ir: IR 8 = opset 17 (onnx VERSION_TABLE)
        name: "portable",
        runtime: "any ONNX runtime: opset 17, standard ops only",
        opsets: (13, 17),
        opset_source: "opset 17 (ONNX 1.12) is the newest opset every maintained runtime loads; rotor's own lower bound for rewriting is 13",
        max_ir: 8,
        domains: &[],
        rope: RopeTarget::Decomposed,
        rope_why: "standard ops only",
        rules: &[],
        notes: &[],
    },
];

/// A target by CLI name.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// Something a target cannot run.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Finding {
    /// The node (or `model` for model-level findings).
    pub node: String,
    /// Its op (`domain.op` outside ai.onnx).
    pub op: String,
    /// Why.
    pub why: String,
    /// Source of the fact.
    pub source: String,
}

/// What `t` cannot run in `g` (empty: the model lints clean). Subgraph nodes included.
pub fn lint(g: &Graph, t: &Target) -> Vec<Finding> {
    let mut out = Vec::new();
    let (lo, hi) = t.opsets;
    if g.opset() < lo || g.opset() > hi {
        out.push(Finding {
            node: "model".into(),
            op: format!("opset {}", g.opset()),
            why: format!("{} loads ai.onnx opsets {lo}..={hi}", t.name),
            source: t.opset_source.into(),
        });
    }
    let ir = g.model_info().ir_version.unwrap_or_else(|| rotor_builder::ir_version_for(g.opset()));
    if ir > t.max_ir {
        out.push(Finding {
            node: "model".into(),
            op: format!("IR version {ir}"),
            why: format!("{} reads IR versions up to {}", t.name, t.max_ir),
            source: "the max_ir entry of the target table (crates/passes/src/targets.rs)".into(),
        });
    }
    g.visit_nodes(&mut |n| {
        let standard = n.domain.is_empty() || n.domain == "ai.onnx";
        if !standard && !t.domains.contains(&n.domain.as_str()) {
            out.push(Finding {
                node: n.name.clone(),
                op: n.qualified_op(),
                why: format!("{} runs no {} ops", t.name, n.domain),
                source: if t.domains.is_empty() { "standard ops only (target definition)".into() } else { t.opset_source.into() },
            });
            return;
        }
        for r in t.rules {
            let domain_matches = if r.domain.is_empty() { standard } else { n.domain == r.domain };
            if n.op_type == r.op && domain_matches && r.applies.is_none_or(|f| f(g, n)) {
                out.push(Finding { node: n.name.clone(), op: n.qualified_op(), why: r.why.into(), source: r.source.into() });
            }
        }
    });
    out
}

/// The passes `rotor opt --target` runs for `t`, and the op RoPE is fused into.
pub fn pipeline(t: &Target) -> (Vec<&'static str>, RopeTarget) {
    let mut p: Vec<&'static str> = vec![crate::noops::NAME, crate::fold::NAME, crate::cse::NAME, crate::dce::NAME];
    // lower what the target lacks first (a fused op of another runtime), then fuse into the
    // op it has
    let fused_ok = |op: RopeTarget| match op {
        RopeTarget::Onnx => t.opsets.1 >= 23,
        RopeTarget::Microsoft => t.domains.contains(&"com.microsoft"),
        RopeTarget::Decomposed => true,
    };
    let rope = if fused_ok(t.rope) { t.rope } else { RopeTarget::Decomposed };
    if rope != RopeTarget::Onnx || t.opsets.1 < 23 {
        p.push(crate::lower_rope::NAME);
    }
    p.push(crate::fuse_rope::NAME);
    if t.name == "tract" {
        p.push(crate::legalize_tract::NAME);
    }
    p.push(crate::dce::NAME);
    p.push(crate::fit_opset::NAME);
    (p, rope)
}
