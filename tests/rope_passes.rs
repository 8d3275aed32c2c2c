//! The RoPE passes on foreign models: tiny random transformers exported by
//! `torch.onnx.export(dynamo=True)` (python/make_rope_models.py), and the ONNX conformance tests
//! of `RotaryEmbedding`. Every rotation is fused for every target with the count pinned, and
//! the logits ONNX Runtime computes afterwards equal the eager model's at 1e-4 + 1e-4·|b| at
//! lengths 1, 13 and 71; lowering gives the same logits and fusing again is stable.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed expectation panics, which is how a test fails")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rotor_builder::Graph;
use rotor_passes::{DEFAULT_PIPELINE, Options, RopeTarget, run_passes};

use rotor_runtime::{BackendKind, NamedTensors, Tolerance};
use rotor_tests::{assert_close, model_dir, ort_available, repo_root};

/// Rotations per model (2 layers x q and k, or one attention layer x q and k).
const MODELS: &[(&str, usize)] = &[
    ("llama", 4),
    ("gpt_neox", 4),
    ("gptj", 4),
    ("phi", 4),
    ("deepseek_v3", 4),
    ("x_transformers_rope", 4),
    ("x_transformers_xpos", 4),
    ("rotary_xpos", 2),
    ("rotary_cached_keys", 2),
    ("rotary_cached_keys_cache", 2),
    ("hf_matmul_tables", 2),
    ("chunk_half_tables", 2),
    ("rotary_xpos_ts", 2),
    ("rotary_cached_keys_ts", 2),
    ("rotary_cached_keys_cache_ts", 2),
    ("hf_matmul_tables_ts", 2),
    ("chunk_half_tables_ts", 2),
];

/// The generated models, or `None` (with a visible SKIPPED line) when they were not generated;
/// `ROTOR_REQUIRE_ROPE_MODELS=1` (scripts/test.sh) turns that into a failure.
fn models_dir(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("ROTOR_ROPE_MODELS").map(PathBuf::from).unwrap_or_else(|| repo_root().join("target/rope-models"));
    if dir.join(".stamp").is_file() {
        return Some(dir);
    }
    let msg = format!("{test}: no RoPE test models in {} (run python/make_rope_models.py --out {})", dir.display(), dir.display());
    if std::env::var("ROTOR_REQUIRE_ROPE_MODELS").as_deref() == Ok("1") {
        panic!("{msg}");
    }
    eprintln!("SKIPPED {msg}");
    None
}

/// Data sets `L<len>` (or `0`) -> (inputs, expected outputs) of a model folder; the outputs
/// are the tensors named like `g`'s outputs.
fn sets(dir: &Path, g: &Graph) -> BTreeMap<String, (NamedTensors, NamedTensors)> {
    let outputs: Vec<&str> = g.outputs().iter().map(|v| g.value_name(*v)).collect();
    let all = rotor_runtime::refs::read_tensors(&dir.join("data.safetensors")).unwrap();
    let mut out: BTreeMap<String, (NamedTensors, NamedTensors)> = BTreeMap::new();
    for (name, t) in all {
        let (set, local) = name.split_once('/').unwrap();
        let e = out.entry(set.to_string()).or_default();
        if outputs.contains(&local) {
            e.1.push((local.to_string(), t));
        } else {
            e.0.push((local.to_string(), t));
        }
    }
    out
}

fn count(g: &Graph, op: &str) -> usize {
    g.nodes().iter().filter(|n| n.op_type == op).count()
}

fn fuse(g: &mut Graph, target: RopeTarget) -> usize {
    let report = run_passes(g, DEFAULT_PIPELINE, &Options { rope_target: target, ..Options::default() }).unwrap();
    assert!(report.converged, "the pipeline did not reach a fixed point");
    report.passes.iter().filter(|p| p.name == "fuse_rope").map(|p| p.rewrites).sum()
}

/// Write `g` next to nothing else (external data into the temp dir) and run it in `kind` on
/// every set, comparing with the expected outputs.
fn run_sets(g: &Graph, dir: &Path, tmp: &Path, kind: BackendKind, what: &str) {
    let path = tmp.join("model.onnx");
    rotor_export::write_model(g, &path, &rotor_export::ExportOptions::default()).unwrap();
    let mut be = rotor_runtime::load_path(kind, &path).unwrap_or_else(|e| panic!("{what}: {e}"));
    let sets = sets(dir, g);
    assert!(!sets.is_empty(), "{what}: no data sets");
    for (set, (inputs, expected)) in &sets {
        let got = be.run(inputs).unwrap_or_else(|e| panic!("{what} {set}: {e}"));
        assert_close(&got, expected, Tolerance::PARITY_F32, &format!("{what} {set}"));
    }
}

#[test]
fn every_rotation_is_fused_for_every_target_and_matches_eager() {
    let Some(root) = models_dir("every_rotation_is_fused_for_every_target_and_matches_eager") else { return };
    if !ort_available("every_rotation_is_fused_for_every_target_and_matches_eager") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for (name, rotations) in MODELS {
        let dir = root.join("torch").join(name);
        assert!(dir.join("model.onnx").is_file(), "{name}: not exported (see make_rope_models.py's output)");
        let original = rotor_export::load_file(&dir.join("model.onnx")).unwrap();
        run_sets(&original, &dir, tmp.path(), BackendKind::OrtCpu, &format!("{name} as exported"));
        for (tname, target) in RopeTarget::ALL {
            let what = format!("{name} --rope-target {tname}");
            let mut g = original.clone();
            assert_eq!(fuse(&mut g, target), *rotations, "{what}: fused count");
            let ops = match target {
                RopeTarget::Decomposed => 0,
                _ => count(&g, "RotaryEmbedding"),
            };
            assert_eq!(ops, if target == RopeTarget::Decomposed { 0 } else { *rotations }, "{what}: RotaryEmbedding nodes");
            if target == RopeTarget::Decomposed {
                // each rotation's Neg (where it had one) is gone: its sign moved into the sine table
                assert!(count(&g, "Neg") <= count(&original, "Neg").saturating_sub(*rotations), "{what}: Neg left behind");
            }
            run_sets(&g, &dir, tmp.path(), BackendKind::OrtCpu, &what);
            // kept for scripts/test.sh's onnx.checker step
            let keep = model_dir("rope_passes").join(format!("{name}.{tname}.onnx"));
            rotor_export::write_model(&g, &keep, &rotor_export::ExportOptions::default()).unwrap();
            // a second run finds nothing left to do
            let mut again = g.clone();
            assert_eq!(fuse(&mut again, target), 0, "{what}: fusing twice");
        }
    }
}

#[test]
fn lowering_gives_the_eager_logits_and_fusing_again_is_stable() {
    let Some(root) = models_dir("lowering_gives_the_eager_logits_and_fusing_again_is_stable") else { return };
    if !ort_available("lowering_gives_the_eager_logits_and_fusing_again_is_stable") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for (name, rotations) in MODELS {
        let dir = root.join("torch").join(name);
        for fused_as in [RopeTarget::Onnx, RopeTarget::Microsoft] {
            let what = format!("{name} fused as {} then lowered", fused_as.name());
            let mut g = rotor_export::load_file(&dir.join("model.onnx")).unwrap();
            fuse(&mut g, fused_as);
            let r = run_passes(&mut g, &["lower_rope", "dce"], &Options::default()).unwrap();
            assert_eq!(r.passes[0].rewrites, *rotations, "{what}: lowered count");
            assert_eq!(count(&g, "RotaryEmbedding"), 0, "{what}");
            run_sets(&g, &dir, tmp.path(), BackendKind::OrtCpu, &what);
            assert_eq!(fuse(&mut g, RopeTarget::Onnx), *rotations, "{what}: fused again");
            run_sets(&g, &dir, tmp.path(), BackendKind::OrtCpu, &format!("{what} and fused again"));
        }
    }
}

#[test]
fn tract_runs_the_decomposed_form_wherever_it_runs_the_export() {
    let Some(root) = models_dir("tract_runs_the_decomposed_form_wherever_it_runs_the_export") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut ran = Vec::new();
    let tract = rotor_passes::targets::target("tract").unwrap();
    let mut needs_legalizing = Vec::new();
    for (name, _) in MODELS {
        let dir = root.join("torch").join(name);
        let original = rotor_export::load_file(&dir.join("model.onnx")).unwrap();
        let path = tmp.path().join("original.onnx");
        rotor_export::write_model(&original, &path, &rotor_export::ExportOptions::default()).unwrap();
        let runs = rotor_runtime::load_path(BackendKind::Tract, &path).and_then(|mut b| {
            let (_, (inputs, _)) = sets(&dir, &original).into_iter().next().unwrap();
            b.run(&inputs)
        });
        if runs.is_err() {
            continue; // tract cannot run the export itself (issue: --target tract)
        }
        let mut g = original.clone();
        fuse(&mut g, RopeTarget::Decomposed);
        if !rotor_passes::targets::lint(&g, tract).is_empty() {
            // what tract misreads is --target tract's to rewrite (the test below)
            needs_legalizing.push(*name);
            continue;
        }
        run_sets(&g, &dir, tmp.path(), BackendKind::Tract, &format!("{name} decomposed, tract"));
        ran.push(*name);
    }
    // measured: tract 0.23 runs these exports as written (the HF ones stop at CumSum over a
    // symbolic length, x-transformers xPos at a boolean Equal); the lists are pinned so a change
    // in either direction is seen
    assert_eq!(
        ran,
        [
            "x_transformers_rope",
            "rotary_xpos",
            "rotary_cached_keys",
            "rotary_cached_keys_cache",
            "chunk_half_tables",
            "rotary_xpos_ts",
            "rotary_cached_keys_ts",
            "rotary_cached_keys_cache_ts",
            "chunk_half_tables_ts"
        ],
        "models tract runs"
    );
    // tract runs these exports, but not once their tables feed a new node (a batched outer
    // product, see targets.rs): lint says so after the rewrite, and --target tract rewrites it
    assert_eq!(needs_legalizing, ["hf_matmul_tables", "hf_matmul_tables_ts"], "decomposed models tract needs rewritten");
}

/// The 8 `test_rotary_embedding*` cases of `group` (`conformance`, or `conformance_expanded`
/// for their function-body twins), sorted.
fn conformance_cases(root: &Path, group: &str) -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(root.join(group)).unwrap().map(|e| e.unwrap().path()).collect();
    cases.sort();
    assert_eq!(cases.len(), 8, "the 8 test_rotary_embedding cases in {group}");
    cases
}

#[test]
fn conformance_tests_pass_lowered_in_ort_and_tract_and_fuse_back() {
    let Some(root) = models_dir("conformance_tests_pass_lowered_in_ort_and_tract_and_fuse_back") else { return };
    let with_ort = ort_available("conformance_tests_pass_lowered_in_ort_and_tract_and_fuse_back");
    let tmp = tempfile::tempdir().unwrap();
    for case in &conformance_cases(&root, "conformance") {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let mut g = rotor_export::load_file(&case.join("model.onnx")).unwrap();
        let r = run_passes(&mut g, &["lower_rope", "dce"], &Options::default()).unwrap();
        assert_eq!(r.passes[0].rewrites, 1, "{name}: lowered");
        assert_eq!(count(&g, "RotaryEmbedding"), 0, "{name}");
        let mut kinds = vec![BackendKind::Tract];
        if with_ort {
            kinds.push(BackendKind::OrtCpu);
        }
        for kind in kinds {
            run_sets(&g, case, tmp.path(), kind, &format!("{name} lowered, {kind:?}"));
        }
        // fused back into one op (the 3-D and position-id forms come back as the cache form)
        assert_eq!(fuse(&mut g, RopeTarget::Onnx), 1, "{name}: fused again");
        if with_ort {
            run_sets(&g, case, tmp.path(), BackendKind::OrtCpu, &format!("{name} lowered and fused again"));
        }
    }
}

/// The op's own ONNX function body (the `_expanded` conformance twins: Split or strided Slices,
/// the chunk products, then Concat, or for interleaved pairs Unsqueeze/Concat/Reshape) fuses back
/// into the op for every target and gives the test's outputs.
#[test]
fn the_function_bodies_of_rotary_embedding_fuse_back() {
    let Some(root) = models_dir("the_function_bodies_of_rotary_embedding_fuse_back") else { return };
    let with_ort = ort_available("the_function_bodies_of_rotary_embedding_fuse_back");
    let tmp = tempfile::tempdir().unwrap();
    for case in &conformance_cases(&root, "conformance_expanded") {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let original = rotor_export::load_file(&case.join("model.onnx")).unwrap();
        for (tname, target) in RopeTarget::ALL {
            let mut g = original.clone();
            assert_eq!(fuse(&mut g, target), 1, "{name} --rope-target {tname}");
            let ops = if target == RopeTarget::Decomposed { 0 } else { 1 };
            assert_eq!(count(&g, "RotaryEmbedding"), ops, "{name} --rope-target {tname}");
            if with_ort {
                run_sets(&g, case, tmp.path(), BackendKind::OrtCpu, &format!("{name} --rope-target {tname}"));
            }
            assert_eq!(fuse(&mut g, target), 0, "{name} --rope-target {tname}: fusing twice");
        }
    }
}

/// Graph text without initializer lines (their printed values are exporter/CPU dependent
/// digits; the structure is what the snapshot pins).
fn structure(g: &Graph) -> String {
    rotor_ir::text::print(g).lines().filter(|l| !l.starts_with("init ")).collect::<Vec<_>>().join("\n")
}

#[test]
fn fused_graph_text_snapshots() {
    let Some(root) = models_dir("fused_graph_text_snapshots") else { return };
    for name in ["rotary_xpos", "llama"] {
        let mut g = rotor_export::load_file(&root.join("torch").join(name).join("model.onnx")).unwrap();
        insta::assert_snapshot!(format!("{name}_before"), structure(&g));
        fuse(&mut g, RopeTarget::Onnx);
        insta::assert_snapshot!(format!("{name}_after_ai_onnx"), structure(&g));
    }
}

/// `rotor opt --target tract`'s pipeline on every test model: the result lints clean for tract
/// and tract's logits equal the eager model's (the HF exports stop at CumSum and the
/// x-transformers xPos one at a boolean Equal before).
#[test]
fn target_tract_makes_every_model_run_in_tract() {
    let Some(root) = models_dir("target_tract_makes_every_model_run_in_tract") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let tract = rotor_passes::targets::target("tract").unwrap();
    let (passes, rope) = rotor_passes::targets::pipeline(tract);
    let mut dirty_before = Vec::new();
    for (name, rotations) in MODELS {
        let dir = root.join("torch").join(name);
        let mut g = rotor_export::load_file(&dir.join("model.onnx")).unwrap();
        if !rotor_passes::targets::lint(&g, tract).is_empty() {
            dirty_before.push(*name);
        }
        let options = Options { rope_target: rope, max_opset: tract.opsets.1, keep_fused: Some(rope), ..Options::default() };
        let r = run_passes(&mut g, &passes, &options).unwrap();
        assert!(r.converged, "{name}");
        assert_eq!(r.passes.iter().filter(|p| p.name == "fuse_rope").map(|p| p.rewrites).sum::<usize>(), *rotations, "{name}: rotations");
        let left = rotor_passes::targets::lint(&g, tract);
        assert!(left.is_empty(), "{name}: still not for tract: {left:?}");
        run_sets(&g, &dir, tmp.path(), BackendKind::Tract, &format!("{name} --target tract, in tract"));
    }
    assert_eq!(
        dirty_before,
        ["llama", "gpt_neox", "gptj", "phi", "deepseek_v3", "x_transformers_xpos", "hf_matmul_tables"],
        "models tract could not run as exported (as loaded: the TorchScript twin's shapes are not known yet)"
    );
}

/// What each target is told about the same fused model, and rotor's own exports lint clean for
/// the targets their form claims.
#[test]
fn lint_names_what_each_target_lacks() {
    use rotor_passes::targets::{TARGETS, lint, target};
    let cfg = serde_json::json!({"kind": "rotary", "dim": 16, "mode": "qk", "form": "fused"});
    let fused = rotor_builder::emit::build_from_json(&cfg, None).unwrap();
    let decomposed = rotor_builder::emit::build_from_json(&serde_json::json!({"kind": "rotary", "dim": 16, "mode": "qk", "opset": 17}), None).unwrap();
    // the contrib op at opset 17: rotor's decomposed export fused for ORT
    let mut fused_ms = decomposed.clone();
    run_passes(&mut fused_ms, DEFAULT_PIPELINE, &Options { rope_target: RopeTarget::Microsoft, ..Options::default() }).unwrap();
    assert_eq!(count(&fused_ms, "RotaryEmbedding"), 2);
    let ops = |g: &Graph, t: &str| lint(g, target(t).unwrap()).iter().map(|f| f.op.clone()).collect::<Vec<_>>();
    // the opset-23 op: fine for ORT 1.31, tract and TensorRT 10.15; not for ORT 1.22 or TensorRT 10.14
    assert!(ops(&fused, "ort").is_empty());
    assert!(ops(&fused, "tract").is_empty());
    assert!(ops(&fused, "tensorrt-10.15").is_empty());
    assert!(ops(&fused, "ort-1.22").contains(&"RotaryEmbedding".to_string()), "{:?}", ops(&fused, "ort-1.22"));
    assert!(ops(&fused, "ort-1.22").contains(&"opset 23".to_string()));
    assert!(ops(&fused, "tensorrt-10.14").contains(&"RotaryEmbedding".to_string()));
    // the contrib op: ORT only
    assert!(ops(&fused_ms, "ort-1.22").is_empty(), "{:?}", ops(&fused_ms, "ort-1.22"));
    assert!(ops(&fused_ms, "tensorrt-10.15").contains(&"com.microsoft.RotaryEmbedding".to_string()));
    assert!(ops(&fused_ms, "portable").contains(&"com.microsoft.RotaryEmbedding".to_string()));
    // the decomposed form at opset 17 runs everywhere
    for t in TARGETS {
        assert!(lint(&decomposed, t).is_empty(), "{}: {:?}", t.name, lint(&decomposed, t));
    }
}

/// Passes run inside `If` bodies too: a rotation in each branch fuses (and the output the
/// branch computes is the same, in ONNX Runtime, whichever branch runs).
#[test]
fn rotations_inside_if_branches_fuse() {
    use rotor_builder::emit::rotary::rope::{RopeSpec, apply_to};
    use rotor_builder::{Builder, DType, Dim};
    if !ort_available("rotations_inside_if_branches_fuse") {
        return;
    }
    let branch = |name: &str, spec: &RopeSpec| {
        let mut body = Builder::over(Graph::new_subgraph(name, 23, false));
        let x = body.graph_mut().capture("x", DType::F32, Some(vec![Dim::sym("B"), Dim::Fixed(2), Dim::sym("S"), Dim::Fixed(8)])).unwrap();
        let y = body.identity(&format!("{name}_copy"), x).unwrap();
        body.output(&format!("{name}_out"), y).unwrap();
        apply_to(&mut body, y, spec).unwrap();
        body.finish().unwrap()
    };
    let mut b = Builder::new("branches", 23).unwrap();
    let c = b.input("c", DType::Bool, Vec::<Dim>::new()).unwrap();
    let _x = b.input("x", DType::F32, [Dim::sym("B"), Dim::Fixed(2), Dim::sym("S"), Dim::Fixed(8)]).unwrap();
    let then_branch = branch("then", &RopeSpec::half(8));
    let else_branch = branch("else", &RopeSpec::interleaved(8));
    let y = b.add_node("if", "If", &[Some(c)], vec![("then_branch".into(), then_branch.into()), ("else_branch".into(), else_branch.into())]).unwrap();
    b.output("y", y).unwrap();
    let original = b.finish().unwrap();
    let mut g = original.clone();
    let report = run_passes(&mut g, DEFAULT_PIPELINE, &Options::default()).unwrap();
    let fused: usize = report.passes.iter().filter(|p| p.name == "fuse_rope").map(|p| p.rewrites).sum();
    assert_eq!(fused, 2, "one rotation per branch");
    let mut inside = Vec::new();
    g.visit_nodes(&mut |n| inside.push(n.op_type.clone()));
    assert_eq!(inside.iter().filter(|o| *o == "RotaryEmbedding").count(), 2, "{inside:?}");
    assert!(!inside.iter().any(|o| o == "Identity"), "the branches' no-op copies are gone: {inside:?}");
    let x = rotor_tests::f32_tensor(&[3, 2, 5, 8], (0..240).map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0).collect());
    let (a, f) = (rotor_export::to_bytes(&original).unwrap(), rotor_export::to_bytes(&g).unwrap());
    for cond in [true, false] {
        let c = rotor_runtime::HostTensor::Bool(ndarray::ArrayD::from_elem(vec![], cond));
        let ins: NamedTensors = vec![("c".into(), c), ("x".into(), x.clone())];
        let want = rotor_runtime::load(BackendKind::OrtCpuNoOpt, &a).and_then(|mut s| s.run(&ins)).unwrap();
        let got = rotor_runtime::load(BackendKind::OrtCpuNoOpt, &f).and_then(|mut s| s.run(&ins)).unwrap();
        assert_close(&got, &want, Tolerance::PARITY_F32, &format!("branch {cond}"));
    }
}
