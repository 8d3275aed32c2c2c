//! Emitters without a module of their own in the reference packages: token shift and the axial
//! fold/unfold, checked bit for bit against plain-Rust references and against the package's own
//! functions (golden/functions), with their graph text kept as goldens.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed expectation panics, which is how a test fails")]

use rotor_builder::{Builder, DType, Dim, Graph, emit};
use rotor_runtime::{BackendKind, HostTensor, Tolerance};
use rotor_tests::{f32_tensor, ort_available, repo_root};

fn snapshot(name: &str, g: &Graph) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(repo_root().join("golden/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name.to_string(), rotor_ir::text::print(g)));
}

fn run(g: &Graph, kind: BackendKind, x: HostTensor) -> ndarray::ArrayD<f32> {
    let bytes = rotor_export::to_bytes(g).expect("bytes");
    let out = rotor_runtime::load(kind, &bytes).and_then(|mut b| b.run(&vec![("x".into(), x)])).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
    match out.into_iter().next().map(|(_, t)| t) {
        Some(HostTensor::F32(a)) => a,
        other => panic!("unexpected output {other:?}"),
    }
}

fn values(n: usize) -> Vec<f32> {
    let mut rng = rotor_runtime::inputs::Rng::new(n as u64);
    (0..n).map(|_| rng.normal() as f32).collect()
}

/// Reference `token_shift` on `[rows, L, d]`: second half (floor(d/2) features) moved one step later.
fn token_shift_ref(x: &[f32], rows: usize, l: usize, d: usize) -> Vec<f32> {
    let first = d.div_ceil(2);
    let mut y = vec![0.0f32; x.len()];
    for r in 0..rows {
        for t in 0..l {
            for j in 0..d {
                let at = (r * l + t) * d + j;
                y[at] = if j < first {
                    x[at]
                } else if t == 0 {
                    0.0
                } else {
                    x[(r * l + t - 1) * d + j]
                };
            }
        }
    }
    y
}

#[test]
fn token_shift_matches_reference() {
    let mut g = Builder::new("token_shift", 17).expect("graph");
    let x = g.input("x", DType::F32, [Dim::sym("B"), Dim::sym("L"), Dim::Fixed(5)]).expect("input");
    let y = g.with_scope("shift", |g| emit::hierarchical::token_shift::token_shift(g, x)).expect("emit");
    g.output("y", y).expect("output");
    snapshot("emitter__token_shift", &g);
    if !ort_available("token_shift") {
        return;
    }
    for l in [1usize, 2, 9] {
        let v = values(2 * l * 5);
        let want = f32_tensor(&[2, l, 5], token_shift_ref(&v, 2, l, 5));
        for kind in [BackendKind::OrtCpu, BackendKind::Tract] {
            let got = HostTensor::F32(run(&g, kind, f32_tensor(&[2, l, 5], v.clone())));
            let c = rotor_runtime::compare(&got, &want, Tolerance { atol: 0.0, rtol: 0.0 }).expect("shape");
            assert!(c.ok(), "{kind:?} L={l}: {}", c.summary());
        }
    }
}

#[test]
fn axial_fold_is_rearrange_with_zero_padding_and_unfold_inverts_it() {
    let a = 4;
    let d = 3;
    let mut g = Builder::new("axial", 17).expect("graph");
    let x = g.input("x", DType::F32, [Dim::sym("B"), Dim::sym("N"), Dim::Fixed(d as i64)]).expect("input");
    let (f, n) = g.with_scope("fold", |g| emit::hierarchical::axial::fold(g, x, a, d)).expect("fold");
    let back = g.with_scope("unfold", |g| emit::hierarchical::axial::unfold(g, f, n, d)).expect("unfold");
    g.output("folded", f).expect("output");
    g.output("back", back).expect("output");
    assert_eq!(g.info(f).type_text(), "F32[B, 4, ceil(N/4), 3]");
    assert_eq!(g.info(back).type_text(), "F32[B, N, 3]");
    snapshot("emitter__axial_fold_unfold", &g);
    if !ort_available("axial") {
        return;
    }
    for n in [1usize, 3, 4, 9] {
        let v = values(2 * n * d);
        let bytes = rotor_export::to_bytes(&g).expect("bytes");
        for kind in [BackendKind::OrtCpu, BackendKind::Tract] {
            let out = rotor_runtime::load(kind, &bytes).and_then(|mut b| b.run(&vec![("x".into(), f32_tensor(&[2, n, d], v.clone()))])).expect("run");
            let (HostTensor::F32(folded), HostTensor::F32(back)) = (&out[0].1, &out[1].1) else { panic!("f32 outputs") };
            // rearrange 'b (l a) d -> b a l d' of the zero-padded rows: row k*a + j -> [j, k]
            let l = n.div_ceil(a);
            assert_eq!(folded.shape(), &[2, a, l, d]);
            for b in 0..2 {
                for j in 0..a {
                    for k in 0..l {
                        for e in 0..d {
                            let row = k * a + j;
                            let want = if row < n { v[(b * n + row) * d + e] } else { 0.0 };
                            assert_eq!(folded[[b, j, k, e]], want, "{kind:?} n={n}");
                        }
                    }
                }
            }
            assert_eq!(back.iter().copied().collect::<Vec<_>>(), v, "{kind:?} n={n}: unfold(fold(x)) == x");
        }
    }
}

/// `emit::token_shift` and `emit::hierarchical::axial::fold`/`unfold` against the package's own functions
/// (`token_shift`, `pad_seq_to_multiple` + the block's `rearrange`), from
/// `golden/functions/make_goldens.py`, in every parity backend (the plain-Rust references above
/// check the same emitters bit for bit).
#[test]
fn token_shift_and_axial_fold_match_the_package_functions() {
    if !ort_available("functions") {
        return;
    }
    let dir = repo_root().join("golden/functions");
    // token_shift on [2, L, 5]
    let golden = rotor_tests::read_golden(&dir.join("token_shift.safetensors"));
    let mut g = Builder::new("token_shift", 17).expect("graph");
    let x = g.input("x", DType::F32, [Dim::sym("B"), Dim::sym("L"), Dim::Fixed(5)]).expect("input");
    let y = g.with_scope("shift", |g| emit::hierarchical::token_shift::token_shift(g, x)).expect("emit");
    g.output("y", y).expect("output");
    let (fails, _) = rotor_tests::check_against_golden(&rotor_export::to_bytes(&g).expect("bytes"), &golden, &["x".to_string()]);
    assert!(fails.is_empty(), "{}", fails.join("\n"));
    assert_eq!(golden.sets.len(), 3);
    // fold [2, n, 3] by 4: rotor keeps the sub-streams as an axis, [B, a, L, d]; the package merges
    // them into the batch, (b c) with b outer: the same memory order, so a reshape compares them.
    let golden = rotor_tests::read_golden(&dir.join("axial_fold.safetensors"));
    let (a, d) = (4usize, 3usize);
    let mut g = Builder::new("axial", 17).expect("graph");
    let x = g.input("x", DType::F32, [Dim::sym("B"), Dim::sym("N"), Dim::Fixed(d as i64)]).expect("input");
    let (f, n) = g.with_scope("fold", |g| emit::hierarchical::axial::fold(g, x, a, d)).expect("fold");
    let back = g.with_scope("unfold", |g| emit::hierarchical::axial::unfold(g, f, n, d)).expect("unfold");
    let tail = g.shape_of("tail", f, 2, None).expect("[L, d]");
    let lead = g.const_i64s("lead", &[-1]).expect("[-1]");
    let shape = g.concat("merged_shape", &[lead, tail], 0).expect("[-1, L, d]");
    let merged = g.reshape("folded", f, shape).expect("(b c) n d");
    g.output("folded", merged).expect("output");
    g.output("back", back).expect("output");
    let (fails, _) = rotor_tests::check_against_golden(&rotor_export::to_bytes(&g).expect("bytes"), &golden, &["x".to_string()]);
    assert!(fails.is_empty(), "{}", fails.join("\n"));
    assert_eq!(golden.sets.len(), 4);
}
