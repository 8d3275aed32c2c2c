//! The passes on small graphs built here: what each rewrites, what it must leave alone (with
//! the reason it gives), and determinism. Numerical equivalence of the rewrites on real
//! exported models is checked in ONNX Runtime by `tests/rope_passes.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed expectation panics, which is how a test fails")]

use rotor_builder::{Attr, Builder, DType, Dim, Graph, Tensor, Value};
use rotor_passes::{Options, PassError, Report, RopeTarget, run_passes};

fn run(g: &mut Builder, passes: &[&str]) -> Report {
    run_passes(g.graph_mut(), passes, &Options::default()).unwrap()
}

fn rewrites(r: &Report, pass: &str) -> usize {
    r.passes.iter().filter(|p| p.name == pass).map(|p| p.rewrites).sum()
}

fn count(g: &Graph, op: &str) -> usize {
    g.nodes().iter().filter(|n| n.op_type == op).count()
}

#[test]
fn dce_removes_what_nothing_reads() {
    let mut g = Builder::new("g", 17).unwrap();
    let x = g.input("x", DType::F32, [Dim::sym("N"), Dim::Fixed(4)]).unwrap();
    let dead = g.neg("dead", x).unwrap();
    let _dead2 = g.sqrt("dead2", dead).unwrap();
    let _unused = g.constant("unused", Tensor::scalar_f32(1.0)).unwrap();
    let y = g.neg("y", x).unwrap();
    g.output("y", y).unwrap();
    let r = run(&mut g, &["dce"]);
    assert_eq!(rewrites(&r, "dce"), 3);
    assert_eq!(g.nodes().len(), 1);
    assert!(g.initializers().is_empty());
}

#[test]
fn noops_go_and_real_ops_stay() {
    let mut g = Builder::new("g", 17).unwrap();
    let x = g.input("x", DType::F32, [Dim::sym("N"), Dim::Fixed(4)]).unwrap();
    let a = g.identity("id", x).unwrap();
    let b = g.cast("same_type", a, DType::F32).unwrap();
    let one = g.constant("one", Tensor::f32(vec![4], vec![1.0; 4]).unwrap()).unwrap();
    let c = g.mul("times_one", b, one).unwrap();
    let zero = g.constant("zero", Tensor::scalar_f32(0.0)).unwrap();
    let d = g.add("plus_zero", c, zero).unwrap(); // turns -0.0 into +0.0: kept
    let two = g.constant("two", Tensor::scalar_f32(2.0)).unwrap();
    let e = g.mul("times_two", d, two).unwrap();
    let f = g.cast("to_f16", e, DType::F16).unwrap();
    g.output("f", f).unwrap();
    let r = run(&mut g, &["eliminate_noops", "dce"]);
    assert_eq!(rewrites(&r, "eliminate_noops"), 3);
    let ops: Vec<&str> = g.nodes().iter().map(|n| n.op_type.as_str()).collect();
    assert_eq!(ops, ["Add", "Mul", "Cast"]);
    // x*1 where the 1s broadcast x to a larger shape is not a no-op
    let mut g = Builder::new("g", 17).unwrap();
    let x = g.input("x", DType::F32, [Dim::sym("N"), Dim::Fixed(1)]).unwrap();
    let ones = g.constant("ones", Tensor::f32(vec![4], vec![1.0; 4]).unwrap()).unwrap();
    let y = g.mul("y", x, ones).unwrap();
    g.output("y", y).unwrap();
    assert_eq!(rewrites(&run(&mut g, &["eliminate_noops"]), "eliminate_noops"), 0);
}

#[test]
fn a_noop_between_an_input_and_an_output_stays_and_says_why() {
    let mut g = Builder::new("g", 17).unwrap();
    let x = g.input("x", DType::F32, [Dim::Fixed(4)]).unwrap();
    let y = g.identity("y", x).unwrap();
    g.output("y", y).unwrap();
    let r = run(&mut g, &["eliminate_noops"]);
    assert_eq!(rewrites(&r, "eliminate_noops"), 0);
    assert_eq!(r.rejections.len(), 1);
    assert!(r.rejections[0].reason.contains("graph output"), "{:?}", r.rejections);
    assert_eq!(g.value_name(g.outputs()[0]), "y");
}

#[test]
fn cse_merges_equal_nodes_and_constants_only() {
    let mut g = Builder::new("g", 17).unwrap();
    let x = g.input("x", DType::F32, [Dim::Fixed(4)]).unwrap();
    let z = g.input("z", DType::F32, [Dim::Fixed(4)]).unwrap();
    let a = g.neg("a", x).unwrap();
    let b = g.neg("b", x).unwrap();
    let c = g.neg("c", z).unwrap();
    let k1 = g.constant("k1", Tensor::f32(vec![4], vec![1.0, 2.0, 3.0, 4.0]).unwrap()).unwrap();
    let k2 = g.constant("k2", Tensor::f32(vec![4], vec![1.0, 2.0, 3.0, 4.0]).unwrap()).unwrap();
    let k3 = g.constant("k3", Tensor::f32(vec![4], vec![1.0, 2.0, 3.0, 5.0]).unwrap()).unwrap();
    let s1 = g.add("s1", a, k1).unwrap();
    let s2 = g.add("s2", b, k2).unwrap();
    let s3 = g.add("s3", c, k3).unwrap();
    let t = g.add("t", s1, s2).unwrap();
    let t = g.add("u", t, s3).unwrap();
    g.output("out", t).unwrap();
    let r = run(&mut g, &["cse", "dce"]);
    // k2 -> k1, then b -> a, then s2 -> s1
    assert_eq!(rewrites(&r, "cse"), 3);
    assert_eq!(count(&g, "Neg"), 2);
    assert_eq!(count(&g, "Add"), 4);
    assert_eq!(g.initializers().len(), 2);
}

/// Positions [S] -> angles [S, 1..] -> the rotary tables of a `[B, H, S, 8]` input.
struct Rope {
    g: Builder,
    x: Value,
    f: Value,
}

fn rope_start(opset: i64) -> Rope {
    let mut g = Builder::new("rope", opset).unwrap();
    let x = g.input("x", DType::F32, [Dim::sym("B"), Dim::Fixed(2), Dim::sym("S"), Dim::Fixed(8)]).unwrap();
    let s = g.shape_of("len", x, 2, Some(3)).unwrap();
    let s = g.squeeze("len_scalar", s, &[0]).unwrap();
    let zero = g.constant("zero", Tensor::scalar_i64(0)).unwrap();
    let one = g.constant("one", Tensor::scalar_i64(1)).unwrap();
    let pos = g.range("pos", zero, s, one).unwrap();
    let pos = g.cast("pos_f", pos, DType::F32).unwrap();
    let pos = g.unsqueeze("pos_col", pos, &[1]).unwrap();
    let inv = g.constant("inv_freq", Tensor::f32(vec![4], vec![1.0, 0.1, 0.01, 0.001]).unwrap()).unwrap();
    let f = g.mul("freqs", pos, inv).unwrap();
    Rope { g, x, f }
}

/// `x·cos + rot(x)·sin` with the given rotate and table builders.
fn rope_graph(
    opset: i64,
    rotate: impl Fn(&mut Builder, Value) -> Value,
    cos_src: impl Fn(&mut Builder, Value) -> Value,
    sin_src: impl Fn(&mut Builder, Value) -> Value,
) -> Builder {
    let Rope { mut g, x, f } = rope_start(opset);
    let ec = g.with_scope("c", |g| Ok::<_, ()>(cos_src(g, f))).unwrap();
    let es = g.with_scope("s", |g| Ok::<_, ()>(sin_src(g, f))).unwrap();
    rotation_output(&mut g, x, ec, es, rotate);
    g
}

/// The graph's output `y = x·cos(ec) + rotate(x)·sin(es)`.
fn rotation_output(g: &mut Builder, x: Value, ec: Value, es: Value, rotate: impl Fn(&mut Builder, Value) -> Value) {
    let cos = g.cos("cos", ec).unwrap();
    let sin = g.sin("sin", es).unwrap();
    let r = rotate(g, x);
    let a = g.mul("x_cos", x, cos).unwrap();
    let b = g.mul("r_sin", r, sin).unwrap();
    let y = g.add("y", a, b).unwrap();
    g.output("y", y).unwrap();
}

fn slice_last(g: &mut Builder, name: &str, x: Value, start: i64, end: i64) -> Value {
    let s = g.const_i64s(&format!("{name}_s"), &[start]).unwrap();
    let e = g.const_i64s(&format!("{name}_e"), &[end]).unwrap();
    let a = g.const_i64s(&format!("{name}_a"), &[-1]).unwrap();
    g.slice(name, x, s, e, Some(a), None).unwrap()
}

fn rotate_half(g: &mut Builder, x: Value) -> Value {
    let x1 = slice_last(g, "x1", x, 0, 4);
    let x2 = slice_last(g, "x2", x, 4, 8);
    let n = g.neg("neg", x2).unwrap();
    g.concat("rot", &[n, x1], -1).unwrap()
}

fn twice(g: &mut Builder, f: Value) -> Value {
    g.concat("emb", &[f, f], -1).unwrap()
}

#[test]
fn rotate_half_fuses_into_one_op() {
    for (target, op) in [(RopeTarget::Onnx, "RotaryEmbedding"), (RopeTarget::Microsoft, "RotaryEmbedding"), (RopeTarget::Decomposed, "Split")] {
        let mut g = rope_graph(23, rotate_half, twice, twice);
        let r = run_passes(g.graph_mut(), rotor_passes::DEFAULT_PIPELINE, &Options { rope_target: target, ..Options::default() }).unwrap();
        assert_eq!(rewrites(&r, "fuse_rope"), 1, "{target:?}");
        assert_eq!(count(&g, op), 1, "{target:?}");
        assert_eq!(count(&g, "Neg"), 0, "{target:?}");
        if target != RopeTarget::Decomposed {
            let n = g.nodes().iter().find(|n| n.op_type == "RotaryEmbedding").unwrap();
            assert_eq!(n.attr("interleaved"), Some(&Attr::Int(0)));
            assert_eq!(n.domain, if target == RopeTarget::Onnx { "" } else { "com.microsoft" });
        }
    }
}

#[test]
fn a_sign_flipped_rotation_fuses_with_the_sine_negated() {
    // rot(x) = (x2, -x1): the rotation by -angle, i.e. sin negated
    let flipped = |g: &mut Builder, x: Value| {
        let x1 = slice_last(g, "x1", x, 0, 4);
        let x2 = slice_last(g, "x2", x, 4, 8);
        let n = g.neg("neg", x1).unwrap();
        g.concat("rot", &[x2, n], -1).unwrap()
    };
    let mut g = rope_graph(23, flipped, twice, twice);
    let r = run(&mut g, rotor_passes::DEFAULT_PIPELINE);
    assert_eq!(rewrites(&r, "fuse_rope"), 1);
    assert_eq!(count(&g, "Neg"), 1, "the sine cache is negated once");
}

fn rejection(g: &mut Builder) -> String {
    let r = run(g, &["fuse_rope"]);
    assert_eq!(rewrites(&r, "fuse_rope"), 0, "must not fuse");
    assert_eq!(count(g, "RotaryEmbedding"), 0);
    r.rejections.iter().map(|r| r.reason.clone()).collect::<Vec<_>>().join("; ")
}

#[test]
fn near_misses_are_left_alone_with_a_reason() {
    // (-x1, x2): not a pair swap
    let not_swap = |g: &mut Builder, x: Value| {
        let x1 = slice_last(g, "x1", x, 0, 4);
        let x2 = slice_last(g, "x2", x, 4, 8);
        let n = g.neg("neg", x1).unwrap();
        g.concat("rot", &[n, x2], -1).unwrap()
    };
    let why = rejection(&mut rope_graph(23, not_swap, twice, twice));
    assert!(why.contains("not a half or interleaved pair swap"), "{why}");
    // (x2, x1) without the minus: sin has the same sign on both features of a pair
    let no_neg = |g: &mut Builder, x: Value| {
        let x1 = slice_last(g, "x1", x, 0, 4);
        let x2 = slice_last(g, "x2", x, 4, 8);
        g.concat("rot", &[x2, x1], -1).unwrap()
    };
    let why = rejection(&mut rope_graph(23, no_neg, twice, twice));
    assert!(why.contains("sin is not provably opposite"), "{why}");
    // cos over (f, 2f): not equal on both features of a pair
    let skewed = |g: &mut Builder, f: Value| {
        let two = g.constant("two", Tensor::scalar_f32(2.0)).unwrap();
        let f2 = g.mul("f2", f, two).unwrap();
        g.concat("emb_c", &[f, f2], -1).unwrap()
    };
    let why = rejection(&mut rope_graph(23, rotate_half, skewed, twice));
    assert!(why.contains("cos is not provably equal"), "{why}");
    // half split, but the tables are interleaved (repeat_interleave-like constant order)
    let inter = |g: &mut Builder, f: Value| {
        let idx = g.const_i64s("idx", &[0, 0, 1, 1, 2, 2, 3, 3]).unwrap();
        g.gather("emb_i", f, idx, -1).unwrap()
    };
    let why = rejection(&mut rope_graph(23, rotate_half, inter, inter));
    assert!(why.contains("not provably"), "{why}");
}

#[test]
fn interleaved_tables_with_an_interleaved_rotation_fuse() {
    let inter = |g: &mut Builder, f: Value| {
        let idx = g.const_i64s("idx", &[0, 0, 1, 1, 2, 2, 3, 3]).unwrap();
        g.gather("emb_i", f, idx, -1).unwrap()
    };
    // stack((-x[1::2], x[0::2]), -1).flatten(-2)
    let pairs = |g: &mut Builder, x: Value| {
        let shape = g.const_i64s("pairs_shape", &[0, 0, 0, 4, 2]).unwrap();
        let p = g.reshape("pairs", x, shape).unwrap();
        let i0 = g.constant("i0", Tensor::scalar_i64(0)).unwrap();
        let i1 = g.constant("i1", Tensor::scalar_i64(1)).unwrap();
        let a = g.gather("even", p, i0, -1).unwrap();
        let b = g.gather("odd", p, i1, -1).unwrap();
        let nb = g.neg("neg", b).unwrap();
        let nb = g.unsqueeze("nb", nb, &[-1]).unwrap();
        let a = g.unsqueeze("a", a, &[-1]).unwrap();
        let st = g.concat("stack", &[nb, a], -1).unwrap();
        let back = g.const_i64s("back_shape", &[0, 0, 0, 8]).unwrap();
        g.reshape("rot", st, back).unwrap()
    };
    let mut g = rope_graph(23, pairs, inter, inter);
    let r = run(&mut g, rotor_passes::DEFAULT_PIPELINE);
    assert_eq!(rewrites(&r, "fuse_rope"), 1, "{:?}", r.rejections);
    let n = g.nodes().iter().find(|n| n.op_type == "RotaryEmbedding").unwrap();
    assert_eq!(n.attr("interleaved"), Some(&Attr::Int(1)));
}

/// GPT-OSS's chunk form over half-width tables: `cat(x1·c ∓ x2·s, x2·c' ± x1·s)`, with
/// `x1, x2` the halves of `x` or (`pairs`, DeepSeek-V3) its even and odd features.
fn chunk_graph(first_minus: bool, second_cos_twice: bool) -> Builder {
    chunk_graph_of(first_minus, second_cos_twice, false)
}

fn strided(g: &mut Builder, name: &str, x: Value, start: i64) -> Value {
    let s = g.const_i64s(&format!("{name}_s"), &[start]).unwrap();
    let e = g.const_i64s(&format!("{name}_e"), &[i64::MAX]).unwrap();
    let a = g.const_i64s(&format!("{name}_a"), &[-1]).unwrap();
    let st = g.const_i64s(&format!("{name}_st"), &[2]).unwrap();
    g.slice(name, x, s, e, Some(a), Some(st)).unwrap()
}

fn chunk_graph_of(first_minus: bool, second_cos_twice: bool, pairs: bool) -> Builder {
    chunk_graph_written(first_minus, second_cos_twice, pairs, false)
}

/// The chunk form; `stacked`: the halves written as pairs, `stack((lo, hi), -1).flatten(-2)`
/// (the ONNX function body of the interleaved op).
fn chunk_graph_written(first_minus: bool, second_cos_twice: bool, pairs: bool, stacked: bool) -> Builder {
    let Rope { mut g, x, f } = rope_start(23);
    let cos = g.cos("cos", f).unwrap();
    let sin = g.sin("sin", f).unwrap();
    let cos2 = if second_cos_twice {
        let two = g.constant("two", Tensor::scalar_f32(2.0)).unwrap();
        let f2 = g.mul("f2", f, two).unwrap();
        g.cos("cos2", f2).unwrap()
    } else {
        cos
    };
    let (x1, x2) =
        if pairs { (strided(&mut g, "x1", x, 0), strided(&mut g, "x2", x, 1)) } else { (slice_last(&mut g, "x1", x, 0, 4), slice_last(&mut g, "x2", x, 4, 8)) };
    let (a, b) = (g.mul("x1c", x1, cos).unwrap(), g.mul("x2s", x2, sin).unwrap());
    let lo = if first_minus { g.sub("lo", a, b).unwrap() } else { g.add("lo", a, b).unwrap() };
    let (c, d) = (g.mul("x2c", x2, cos2).unwrap(), g.mul("x1s", x1, sin).unwrap());
    let hi = g.add("hi", c, d).unwrap();
    let y = if stacked {
        let lo = g.unsqueeze("lo_pair", lo, &[-1]).unwrap();
        let hi = g.unsqueeze("hi_pair", hi, &[-1]).unwrap();
        let st = g.concat("stack", &[lo, hi], -1).unwrap();
        let back = g.shape_of("x_shape", x, 0, None).unwrap();
        g.reshape("y", st, back).unwrap()
    } else {
        g.concat("y", &[lo, hi], -1).unwrap()
    };
    g.output("y", y).unwrap();
    g
}

#[test]
fn the_chunk_form_fuses_and_its_near_misses_say_why() {
    for target in [RopeTarget::Onnx, RopeTarget::Microsoft] {
        let mut g = chunk_graph(true, false);
        let r = run_passes(g.graph_mut(), rotor_passes::DEFAULT_PIPELINE, &Options { rope_target: target, ..Options::default() }).unwrap();
        assert_eq!(rewrites(&r, "fuse_rope"), 1, "{target:?}: {:?}", r.rejections);
        assert_eq!((count(&g, "RotaryEmbedding"), count(&g, "Sub"), count(&g, "Slice")), (1, 0, 0), "{target:?}");
        assert!(r.rejections.is_empty(), "the halves are not reported once the whole fused: {:?}", r.rejections);
    }
    // rotor's decomposed form: full-width tables, one Split and one Concat
    let mut g = chunk_graph(true, false);
    let r = run_passes(g.graph_mut(), rotor_passes::DEFAULT_PIPELINE, &Options { rope_target: RopeTarget::Decomposed, ..Options::default() }).unwrap();
    assert_eq!((rewrites(&r, "fuse_rope"), count(&g, "Sub"), count(&g, "Split")), (1, 0, 1));
    // DeepSeek-V3: the pairs (2k, 2k+1) rotated and written in halves; the op reads x
    // de-interleaved (one Gather)
    for target in [RopeTarget::Onnx, RopeTarget::Microsoft, RopeTarget::Decomposed] {
        let mut g = chunk_graph_of(true, false, true);
        let r = run_passes(g.graph_mut(), rotor_passes::DEFAULT_PIPELINE, &Options { rope_target: target, ..Options::default() }).unwrap();
        assert_eq!((rewrites(&r, "fuse_rope"), count(&g, "Sub")), (1, 0), "{target:?}: {:?}", r.rejections);
        let orders: Vec<Vec<f64>> =
            g.nodes().iter().filter(|n| n.op_type == "Gather").filter_map(|n| g.graph().constant_of(n.inputs[1]?).map(|t| t.values_f64())).collect();
        assert!(orders.contains(&vec![0.0, 2.0, 4.0, 6.0, 1.0, 3.0, 5.0, 7.0]), "{target:?}: {orders:?}");
    }
    // the interleaved op's function body: x's pairs rotated and written back as pairs
    for target in [RopeTarget::Onnx, RopeTarget::Microsoft, RopeTarget::Decomposed] {
        let mut g = chunk_graph_written(true, false, true, true);
        let r = run_passes(g.graph_mut(), rotor_passes::DEFAULT_PIPELINE, &Options { rope_target: target, ..Options::default() }).unwrap();
        assert_eq!((rewrites(&r, "fuse_rope"), count(&g, "Sub"), count(&g, "Unsqueeze") > 0), (1, 0, true), "{target:?}: {:?}", r.rejections);
        if target != RopeTarget::Decomposed {
            let n = g.nodes().iter().find(|n| n.op_type == "RotaryEmbedding").unwrap();
            assert_eq!(n.attr("interleaved"), Some(&Attr::Int(1)), "{target:?}");
        }
    }
    // halves rotated but written as pairs: not a rotation of x's features in place
    let why = rejection(&mut chunk_graph_written(true, false, false, true));
    assert!(why.contains("halves are not"), "{why}");
    // x1·c + x2·s: the sine has the same sign in both halves
    let why = rejection(&mut chunk_graph(false, false));
    assert!(why.contains("sin of the chunk rotation of x is not provably opposite"), "{why}");
    // cos(f) in one half, cos(2f) in the other
    let why = rejection(&mut chunk_graph(true, true));
    assert!(why.contains("cos of the chunk rotation of x is not provably equal"), "{why}");
}

/// transformers 4.x's tables for `x` `[B, H, S, D]`: `(inv[None, :, None] @ pos[None, None,
/// :]).transpose(1, 2)`, concatenated with the same product of `other` frequencies (with
/// itself when `None`).
fn outer_product_tables(g: &mut Builder, x: Value, inv: &[f32], other: Option<&[f32]>) -> Value {
    let s = g.shape_of("len", x, 2, Some(3)).unwrap();
    let s = g.squeeze("len_scalar", s, &[0]).unwrap();
    let zero = g.constant("zero", Tensor::scalar_i64(0)).unwrap();
    let one = g.constant("one", Tensor::scalar_i64(1)).unwrap();
    let pos = g.range("pos", zero, s, one).unwrap();
    let pos = g.cast("pos_f", pos, DType::F32).unwrap();
    let pos = g.unsqueeze("pos_row", pos, &[0, 1]).unwrap();
    let freqs = |g: &mut Builder, name: &str, inv: &[f32]| {
        let c = g.constant(&format!("{name}_inv"), Tensor::f32(vec![1, inv.len() as i64, 1], inv.to_vec()).unwrap()).unwrap();
        let m = g.matmul(&format!("{name}_outer"), c, pos).unwrap();
        g.transpose(&format!("{name}_t"), m, &[0, 2, 1]).unwrap()
    };
    let a = freqs(g, "f", inv);
    let b = match other {
        Some(o) => freqs(g, "g", o),
        None => a,
    };
    g.concat("emb", &[a, b], -1).unwrap()
}

fn outer_product_graph(other: Option<&[f32]>) -> Builder {
    let mut g = Builder::new("rope", 23).unwrap();
    let x = g.input("x", DType::F32, [Dim::sym("B"), Dim::Fixed(2), Dim::sym("S"), Dim::Fixed(8)]).unwrap();
    let emb = outer_product_tables(&mut g, x, &[1.0, 0.1, 0.01, 0.001], other);
    rotation_output(&mut g, x, emb, emb, rotate_half);
    g
}

#[test]
fn tables_from_a_transposed_outer_product_fuse() {
    let mut g = outer_product_graph(None);
    let r = run(&mut g, rotor_passes::DEFAULT_PIPELINE);
    assert_eq!(rewrites(&r, "fuse_rope"), 1, "{:?}", r.rejections);
    assert_eq!(count(&g, "RotaryEmbedding"), 1);
    // the second half from other frequencies: not a rotation
    let why = rejection(&mut outer_product_graph(Some(&[1.0, 0.1, 0.01, 0.002])));
    assert!(why.contains("cos is not provably equal on features 3 and 7"), "{why}");
}

/// Classes compare tensors over the leading axes of the value they describe: a transpose of
/// leading axes, or constants broadcast along different axes, must not read as equal features.
#[test]
fn the_table_analysis_does_not_mistake_reordered_rows_for_equal_ones() {
    use rotor_ir::feat::{Analyzer, Mode};
    let vals: Vec<f32> = (0..16).map(|i| i as f32).collect();
    let mut g = Builder::new("t", 17).unwrap();
    // C [2, 2, 4] with C[i, j] != C[j, i]; Concat(Cᵀ, C) on the last axis
    let c = g.constant("c", Tensor::f32(vec![2, 2, 4], vals.clone()).unwrap()).unwrap();
    let ct = g.transpose("ct", c, &[1, 0, 2]).unwrap();
    let both = g.concat("both", &[ct, c], -1).unwrap();
    // the same 8 numbers as [1, 2, 4] and [2, 1, 4], expanded to [2, 2, 4]
    let p = g.constant("p", Tensor::f32(vec![1, 2, 4], vals[..8].to_vec()).unwrap()).unwrap();
    let q = g.constant("q", Tensor::f32(vec![2, 1, 4], vals[..8].to_vec()).unwrap()).unwrap();
    let shape = g.const_i64s("shape", &[2, 2, 4]).unwrap();
    let pe = g.expand("pe", p, shape).unwrap();
    let qe = g.expand("qe", q, shape).unwrap();
    let crossed = g.concat("crossed", &[pe, qe], -1).unwrap();
    // a transpose that moves the middle axis last, twice: rows kept, so equal
    let t1 = g.transpose("t1", c, &[0, 2, 1]).unwrap();
    let t2 = g.transpose("t2", c, &[0, 2, 1]).unwrap();
    let moved = g.concat("moved", &[t1, t2], -1).unwrap();
    for v in [both, crossed, moved] {
        let name = g.value_name(v).to_string();
        g.output(&name, v).unwrap();
    }
    let g = g.finish().unwrap();
    let mut a = Analyzer::new(Mode::Table, None);
    for (v, want_equal) in [(both, false), (crossed, false), (moved, true)] {
        let f = a.feat(&g, v).unwrap();
        let h = f.total() / 2;
        let equal = (0..h).all(|k| f.entries[k] == f.entries[k + h]);
        assert_eq!(equal, want_equal, "{}", g.value_name(v));
    }
}

#[test]
fn opset_upgrades_only_when_every_op_keeps_its_meaning() {
    // opset 17 with nothing that changes: raised to 23, IR version follows
    let mut g = rope_graph(17, rotate_half, twice, twice);
    run(&mut g, &["fuse_rope"]);
    assert_eq!(g.opset(), 23);
    assert_eq!(count(&g, "RotaryEmbedding"), 1);
    // a ReduceMean with an axes attribute means something else from opset 18: refused, named
    let mut g = rope_graph(17, rotate_half, twice, twice);
    let y = g.outputs()[0];
    let m = g.add_node("mean", "ReduceMean", &[Some(y)], vec![("axes".to_string(), Attr::Ints(vec![-1]))]).unwrap();
    g.output("m", m).unwrap();
    match run_passes(g.graph_mut(), &["fuse_rope"], &Options::default()) {
        Err(PassError::Refused { message, .. }) => assert!(message.contains("\"mean\"") && message.contains("ReduceMean"), "{message}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // the contrib op needs no upgrade
    let mut g = rope_graph(17, rotate_half, twice, twice);
    let r = run_passes(g.graph_mut(), &["fuse_rope"], &Options { rope_target: RopeTarget::Microsoft, ..Options::default() }).unwrap();
    assert_eq!(rewrites(&r, "fuse_rope"), 1);
    assert_eq!(g.opset(), 17);
}

#[test]
fn same_input_same_bytes() {
    let bytes = || {
        let mut g = rope_graph(23, rotate_half, twice, twice);
        run(&mut g, rotor_passes::DEFAULT_PIPELINE);
        rotor_export::to_bytes(&g).unwrap()
    };
    assert_eq!(bytes(), bytes());
}

#[test]
fn lowering_then_fusing_gives_the_op_back() {
    let mut g = rope_graph(23, rotate_half, twice, twice);
    run(&mut g, rotor_passes::DEFAULT_PIPELINE);
    let r = run(&mut g, &["lower_rope", "dce"]);
    assert_eq!(rewrites(&r, "lower_rope"), 1);
    assert_eq!(count(&g, "RotaryEmbedding"), 0);
    let r = run(&mut g, rotor_passes::DEFAULT_PIPELINE);
    assert_eq!(rewrites(&r, "fuse_rope"), 1);
    assert_eq!(count(&g, "RotaryEmbedding"), 1);
}

#[test]
fn unknown_pass_names_are_refused_before_anything_runs() {
    let mut g = rope_graph(23, rotate_half, twice, twice);
    let before = rotor_export::to_bytes(&g).unwrap();
    match run_passes(g.graph_mut(), &["dce", "fuse-ropes"], &Options::default()) {
        Err(PassError::UnknownPass { name, known }) => {
            assert_eq!(name, "fuse-ropes");
            assert!(known.contains("fuse-rope"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(rotor_export::to_bytes(&g).unwrap(), before);
}

#[test]
fn fold_constants_folds_exact_ops_and_shape_chains_only() {
    let mut g = Builder::new("g", 17).unwrap();
    let x = g.input("x", DType::F32, [Dim::sym("N"), Dim::Fixed(4)]).unwrap();
    // static dim of a symbolic shape -> a constant; the symbolic one twice -> one value
    let d = g.shape_of("d", x, 1, Some(2)).unwrap();
    let n1 = g.shape_of("n1", x, 0, Some(1)).unwrap();
    let n2 = g.shape_of("n2", x, 0, Some(1)).unwrap();
    let s = g.concat("s", &[n1, d], 0).unwrap();
    let s2 = g.concat("s2", &[n2, d], 0).unwrap();
    let y = g.reshape("y", x, s).unwrap();
    let z = g.reshape("z", x, s2).unwrap();
    // exact arithmetic on constants folds; cos of a constant does not
    let a = g.constant("a", Tensor::f32(vec![4], vec![1.0, 2.0, 3.0, 4.0]).unwrap()).unwrap();
    let b = g.constant("b", Tensor::f32(vec![4], vec![0.5, 0.25, 3.0, 7.0]).unwrap()).unwrap();
    let ab = g.div("ab", a, b).unwrap();
    let c = g.cos("c", ab).unwrap();
    let y = g.mul("ym", y, c).unwrap();
    let y = g.add("yz", y, z).unwrap();
    g.output("out", y).unwrap();
    let r = run(&mut g, &["fold_constants", "dce"]);
    assert!(rewrites(&r, "fold_constants") >= 3, "{r:?}");
    assert_eq!(count(&g, "Div"), 0, "1/0.5 ... folded");
    assert_eq!(count(&g, "Cos"), 1, "cos is left to the runtime");
    let folded = g.initializers().iter().find(|(v, _)| g.value_name(*v).starts_with("ab")).map(|(_, t)| t.clone()).unwrap();
    assert_eq!(folded, Tensor::f32(vec![4], vec![2.0, 8.0, 1.0, 4.0 / 7.0]).unwrap(), "each element correctly rounded to f32");
    assert_eq!(count(&g, "Shape"), 1, "N is read once; the static 4 is a constant");
}

#[test]
fn fold_constants_will_not_blow_a_model_up() {
    let mut g = Builder::new("g", 17).unwrap();
    let x = g.input("x", DType::F32, [Dim::Fixed(512), Dim::Fixed(512)]).unwrap();
    let one = g.constant("one", Tensor::scalar_f32(1.5)).unwrap();
    let shape = g.const_i64s("shape", &[512, 512]).unwrap();
    let big = g.expand("big", one, shape).unwrap(); // 1 MiB from 4 bytes
    let y = g.mul("y", x, big).unwrap();
    g.output("y", y).unwrap();
    let r = run(&mut g, &["fold_constants"]);
    assert_eq!(count(&g, "Expand"), 1);
    assert!(r.rejections.iter().any(|r| r.reason.contains("would add")), "{:?}", r.rejections);
}

#[test]
fn legalize_tract_rewrites_what_tract_misreads_only() {
    let mut g = Builder::new("g", 17).unwrap();
    let a = g.input("a", DType::Bool, [Dim::sym("N")]).unwrap();
    let b = g.input("b", DType::Bool, [Dim::sym("N")]).unwrap();
    let e = g.equal("e", a, b).unwrap();
    let flags = g.cast("flags", e, DType::I64).unwrap();
    let zero = g.constant("axis", Tensor::scalar_i64(0)).unwrap();
    let c = g.cumsum("c", flags, zero).unwrap();
    let n = g.input("n", DType::I64, [Dim::sym("N")]).unwrap();
    let c2 = g.cumsum("c2", n, zero).unwrap(); // arbitrary int64: an int32 sum could overflow
    let y = g.add("y", c, c2).unwrap();
    g.output("y", y).unwrap();
    let r = run(&mut g, &["legalize_tract", "dce"]);
    assert_eq!(rewrites(&r, "legalize_tract"), 2);
    assert_eq!(count(&g, "Equal"), 0);
    assert_eq!(count(&g, "Xor"), 1);
    assert_eq!(count(&g, "CumSum"), 2, "one rewritten to int32, one left");
    assert!(r.rejections.iter().any(|x| x.reason.contains("could overflow")), "{:?}", r.rejections);
    // [B, 4, 1] @ [B, 1, S] is a product; [B, 4, 2] @ [B, 2, S] is not
    let mut g = Builder::new("g", 17).unwrap();
    let u = g.input("u", DType::F32, [Dim::sym("B"), Dim::Fixed(4), Dim::Fixed(1)]).unwrap();
    let v = g.input("v", DType::F32, [Dim::sym("B"), Dim::Fixed(1), Dim::sym("S")]).unwrap();
    let w = g.input("w", DType::F32, [Dim::sym("B"), Dim::Fixed(4), Dim::Fixed(2)]).unwrap();
    let z = g.input("z", DType::F32, [Dim::sym("B"), Dim::Fixed(2), Dim::sym("S")]).unwrap();
    let outer = g.matmul("outer", u, v).unwrap();
    let inner = g.matmul("inner", w, z).unwrap();
    let y = g.add("y", outer, inner).unwrap();
    g.output("y", y).unwrap();
    let r = run(&mut g, &["legalize_tract", "dce"]);
    assert_eq!(rewrites(&r, "legalize_tract"), 1);
    assert_eq!((count(&g, "MatMul"), count(&g, "Mul")), (1, 1));
    assert_eq!(g.graph().shape(g.graph().outputs()[0]), &[Dim::sym("B"), Dim::Fixed(4), Dim::sym("S")][..]);
    // ConstantOfShape: the default value written out; an explicit one left alone
    let mut g = Builder::new("g", 17).unwrap();
    let s = g.input("s", DType::I64, [Dim::Fixed(2)]).unwrap();
    let zeros = g.add_node("zeros", "ConstantOfShape", &[Some(s)], vec![]).unwrap();
    let ones = g.add_node("ones", "ConstantOfShape", &[Some(s)], vec![("value".into(), Attr::Tensor(Tensor::f32(vec![1], vec![1.0]).unwrap()))]).unwrap();
    let y = g.add("y", zeros, ones).unwrap();
    g.output("y", y).unwrap();
    let r = run(&mut g, &["legalize_tract", "dce"]);
    assert_eq!(rewrites(&r, "legalize_tract"), 1);
    let values: Vec<Vec<f64>> = g
        .nodes()
        .iter()
        .filter(|n| n.op_type == "ConstantOfShape")
        .map(|n| match n.attr("value") {
            Some(Attr::Tensor(t)) => t.values_f64(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(values.len(), 2);
    assert!(values.contains(&vec![0.0]) && values.contains(&vec![1.0]), "{values:?}");
    assert_eq!(g.graph().dtype(g.graph().outputs()[0]), DType::F32);
}

#[test]
fn a_target_keeps_its_own_fused_op_and_converges() {
    let t = rotor_passes::targets::target("ort-1.22").unwrap();
    let (passes, rope) = rotor_passes::targets::pipeline(t);
    let mut g = rope_graph(17, rotate_half, twice, twice);
    let opts = Options { rope_target: rope, max_opset: t.opsets.1, keep_fused: Some(rope), ..Options::default() };
    let r = run_passes(g.graph_mut(), &passes, &opts).unwrap();
    assert!(r.converged);
    assert_eq!(rewrites(&r, "fuse_rope"), 1);
    assert_eq!(rewrites(&r, "lower_rope"), 0);
    assert_eq!(g.opset(), 17, "the contrib op needs no upgrade");
    assert!(rotor_passes::targets::lint(&g, t).is_empty());
    // asking for the standard op under a target that stops at opset 22 is refused
    let mut g = rope_graph(17, rotate_half, twice, twice);
    let opts = Options { rope_target: RopeTarget::Onnx, max_opset: 22, ..Options::default() };
    assert!(matches!(run_passes(g.graph_mut(), &["fuse_rope"], &opts), Err(PassError::Refused { .. })));
}
