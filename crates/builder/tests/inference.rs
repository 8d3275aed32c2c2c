//! Shape inference added for graphs other exporters write: Einsum, symbolic Slice bounds that
//! count from the end, size values through Equal/Where and int -> float casts, and
//! `refresh_types` after a pass rewires an input.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed expectation panics, which is how a test fails")]

use rotor_builder::{Attr, Builder, DType, Dim, Graph, Tensor};

fn seq() -> Dim {
    Dim::sym("seq")
}

#[test]
fn einsum_outer_product_and_explicit_equations() {
    let mut g = Builder::new("g", 17).unwrap();
    let t = g.input("t", DType::F32, [seq()]).unwrap();
    let f = g.input("f", DType::F32, [Dim::Fixed(8)]).unwrap();
    let eq = |e: &str| vec![("equation".to_string(), Attr::Str(e.into()))];
    let o = g.add_node("outer", "Einsum", &[Some(t), Some(f)], eq("..., f -> ... f")).unwrap();
    assert_eq!(g.shape(o), [seq(), Dim::Fixed(8)]);
    let a = g.input("a", DType::F32, [Dim::sym("B"), Dim::Fixed(4), seq(), Dim::Fixed(16)]).unwrap();
    let b = g.input("b", DType::F32, [Dim::sym("B"), Dim::Fixed(4), Dim::sym("K"), Dim::Fixed(16)]).unwrap();
    let s = g.add_node("scores", "Einsum", &[Some(a), Some(b)], eq("b h i d, b h j d -> b h i j")).unwrap();
    assert_eq!(g.shape(s), [Dim::sym("B"), Dim::Fixed(4), seq(), Dim::sym("K")]);
    // implicit output: letters seen once, sorted
    let m = g.add_node("implicit", "Einsum", &[Some(a), Some(b)], eq("bhid,bhjd")).unwrap();
    assert_eq!(g.shape(m), [seq(), Dim::sym("K")]);
    // a letter the inputs do not have is an error, not a guess
    let bad = g.add_node("bad", "Einsum", &[Some(t), Some(f)], eq("i,f->z"));
    assert!(bad.is_err());
}

#[test]
fn a_non_positive_symbolic_start_counts_from_the_end() {
    // t[-seq:] of a [seq, 16] table: all of it (TorchScript writes this for a cached length)
    let mut g = Builder::new("g", 17).unwrap();
    let x = g.input("x", DType::F32, [seq(), Dim::Fixed(16)]).unwrap();
    let n = g.shape_of("n", x, 0, Some(1)).unwrap();
    let start = g.neg("start", n).unwrap();
    let end = g.const_i64s("end", &[i64::MAX]).unwrap();
    let axes = g.const_i64s("axes", &[0]).unwrap();
    let y = g.slice("tail", x, start, end, Some(axes), None).unwrap();
    assert_eq!(g.shape(y), [seq(), Dim::Fixed(16)]);
}

#[test]
fn expand_minus_one_chains_keep_their_sizes() {
    // TorchScript's x.expand(batch, -1): Where(Equal(shape, -1), ones, shape)
    let mut g = Builder::new("g", 17).unwrap();
    let x = g.input("x", DType::F32, [Dim::sym("B"), Dim::Fixed(3)]).unwrap();
    let b = g.shape_of("b", x, 0, Some(1)).unwrap();
    let minus = g.const_i64s("minus", &[-1]).unwrap();
    let shape = g.concat("shape", &[b, minus], 0).unwrap();
    let all_minus = g.const_i64s("all_minus", &[-1, -1]).unwrap();
    let eq = g.equal("eq", shape, all_minus).unwrap();
    assert_eq!(g.info(eq).sym_value, Some(vec![Dim::Fixed(0), Dim::Fixed(1)]), "a size is never -1");
    let ones = g.const_i64s("ones", &[1, 1]).unwrap();
    let w = g.where_("w", eq, ones, shape).unwrap();
    assert_eq!(g.info(w).sym_value, Some(vec![Dim::sym("B"), Dim::Fixed(1)]));
    let m = g.input("m", DType::F32, [Dim::Fixed(1), Dim::Fixed(3)]).unwrap();
    let e = g.expand("e", m, w).unwrap();
    assert_eq!(g.shape(e), [Dim::sym("B"), Dim::Fixed(3)]);
}

#[test]
fn a_float_arange_of_a_size_keeps_its_length() {
    let mut g = Builder::new("g", 17).unwrap();
    let x = g.input("x", DType::F32, [seq(), Dim::Fixed(4)]).unwrap();
    let n = g.shape_of("n", x, 0, Some(1)).unwrap();
    let n = g.squeeze("n_scalar", n, &[0]).unwrap();
    let nf = g.cast("nf", n, DType::F32).unwrap();
    let zero = g.constant("zero", Tensor::scalar_f32(0.0)).unwrap();
    let one = g.constant("one", Tensor::scalar_f32(1.0)).unwrap();
    let r = g.range("r", zero, nf, one).unwrap();
    assert_eq!(g.shape(r), [seq()]);
    // float arithmetic on sizes is not integer arithmetic: no symbolic value (Div would floor)
    let two = g.constant("two", Tensor::scalar_f32(2.0)).unwrap();
    let h = g.div("h", nf, two).unwrap();
    assert_eq!(g.info(h).sym_value, None);
    // a step of 0.5 is not a whole number: the length is not guessed
    let half = g.constant("half", Tensor::scalar_f32(0.5)).unwrap();
    let r2 = g.range("r2", zero, nf, half).unwrap();
    assert_eq!(g.shape(r2), [Dim::Unknown]);
}

#[test]
fn refresh_types_learns_from_a_rewired_input() {
    let mut b = Builder::over(Graph::new_lenient("g", 17));
    let x = b.input("x", DType::F32, [Dim::sym("B"), Dim::Fixed(3)]).unwrap();
    let s = b.input("s", DType::I64, [Dim::Fixed(2)]).unwrap();
    let y = b.add_node("y", "Reshape", &[Some(x), Some(s)], vec![]).unwrap();
    let z = b.add_node("z", "Neg", &[Some(y)], vec![]).unwrap();
    b.output("out", z).unwrap();
    assert_eq!(b.shape(z), [Dim::Unknown, Dim::Unknown]);
    let known = b.const_i64s("known", &[3, -1]).unwrap();
    let mut g = b.into_graph();
    let id = g.producer(y).unwrap();
    g.set_input(id, 1, Some(known)).unwrap();
    assert!(g.refresh_types() >= 2);
    assert_eq!(g.shape(y), [Dim::Fixed(3), Dim::sym("B")]);
    assert_eq!(g.shape(z), [Dim::Fixed(3), Dim::sym("B")]);
    assert_eq!(g.refresh_types(), 0, "nothing more to learn");
}
