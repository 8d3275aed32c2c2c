//! Patches apply whole or not at all: every way a patch can be wrong leaves the graph exactly
//! as it was (structure, names, types, opset); a rule that errors has changed nothing; new
//! nodes are type-checked strictly, also in a lenient (loaded) graph; memo entries come back as
//! the rewritten graph's values.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed expectation panics, which is how a test fails")]

use rotor_builder::{Builder, DType, Dim, Graph, Memo, Tensor};
use rotor_passes::patch::Patch;
use rotor_passes::{Options, PassError, RopeTarget, run_passes};

/// x -> Neg -> Abs -> y
fn chain() -> Graph {
    let mut b = Builder::new("g", 17).unwrap();
    let x = b.input("x", DType::F32, [Dim::sym("N"), Dim::Fixed(4)]).unwrap();
    let a = b.neg("a", x).unwrap();
    let y = b.abs("y", a).unwrap();
    b.output("out", y).unwrap();
    b.finish().unwrap()
}

/// The graph as text plus its opset: what "exactly as it was" compares.
fn snapshot(g: &Graph) -> (String, i64, usize) {
    (rotor_ir::text::print(g), g.opset(), g.node_id_bound())
}

#[test]
fn a_patch_that_cannot_apply_changes_nothing() {
    let g0 = chain();
    let a = g0.value_by_name("a").unwrap();
    let x = g0.value_by_name("x").unwrap();
    // 1. a node name the graph already has
    let mut g = g0.clone();
    let mut p = Patch::new(&g);
    let tx = p.tap(&g, x).unwrap();
    let clash = p.builder().neg("a", tx).unwrap();
    p.shunt(a, clash);
    let before = snapshot(&g);
    assert!(p.apply(&mut g, &mut Memo::default()).is_err());
    assert_eq!(snapshot(&g), before);
    assert!(g == g0);
    // 2. a tapped value removed since the patch was built
    let mut g = g0.clone();
    let mut p = Patch::new(&g);
    let ta = p.tap(&g, a).unwrap();
    let z = p.builder().sqrt("z", ta).unwrap();
    p.shunt(g.value_by_name("out").unwrap(), z);
    let mut other = Patch::new(&g);
    let tx = other.tap(&g, x).unwrap();
    other.shunt(a, tx);
    other.remove_nodes(&[g.producer(a).unwrap()]);
    other.apply(&mut g, &mut Memo::default()).unwrap();
    let before = snapshot(&g);
    assert!(p.apply(&mut g, &mut Memo::default()).is_err(), "its tap is gone");
    assert_eq!(snapshot(&g), before);
    // 3. an opset move that would change a node's meaning (ReduceMax with an axes attribute
    //    across opset 18)
    let mut b = Builder::new("r", 17).unwrap();
    let x = b.input("x", DType::F32, [Dim::Fixed(2), Dim::Fixed(3)]).unwrap();
    let m = b.reduce("m", "ReduceMax", x, &[1], true).unwrap();
    b.output("out", m).unwrap();
    let mut g = b.finish().unwrap();
    let mut p = Patch::new(&g);
    p.set_opset(23);
    let before = snapshot(&g);
    let e = p.apply(&mut g, &mut Memo::default()).expect_err("refused");
    assert!(e.to_string().contains("ReduceMax"), "{e}");
    assert_eq!(snapshot(&g), before);
    // 4. removing a node something still reads
    let mut g = g0.clone();
    let mut p = Patch::new(&g);
    p.remove_nodes(&[g.producer(a).unwrap()]);
    let before = snapshot(&g);
    assert!(p.apply(&mut g, &mut Memo::default()).is_err());
    assert_eq!(snapshot(&g), before);
}

#[test]
fn new_nodes_are_checked_strictly_in_a_loaded_graph() {
    // a lenient graph (as loaded from a file) takes an op rotor cannot infer ...
    let mut g = Graph::new_lenient("loaded", 17);
    let x = g.input("x", DType::F32, [Dim::Fixed(2), Dim::Fixed(3)]).unwrap();
    let y = g.add_node_full("weird", "NoSuchOp", "", &[Some(x)], vec![], &["y".into()]).unwrap()[0];
    g.mark_output(y);
    // ... but a patch cannot add one: its builder is strict, and so is the copy into the graph
    let mut p = Patch::new(&g);
    let tx = p.tap(&g, x).unwrap();
    assert!(p.builder().add_node("bad", "NoSuchOp", &[Some(tx)], vec![]).is_err());
    let w = p.builder().constant("w", Tensor::f32(vec![3, 3], vec![0.5; 9]).unwrap()).unwrap();
    assert!(p.builder().matmul("mm", tx, w).is_ok());
    let c = p.builder().constant("c", Tensor::f32(vec![4], vec![1.0; 4]).unwrap()).unwrap();
    let err = p.builder().add("mismatch", tx, c).expect_err("[2, 3] + [4] does not broadcast");
    assert!(err.to_string().contains("mismatch"), "{err}");
}

#[test]
fn memo_entries_come_back_as_the_graphs_values() {
    #[derive(Hash, PartialEq, Eq)]
    struct Key(u8);
    let mut g = chain();
    let x = g.value_by_name("x").unwrap();
    let mut p = Patch::new(&g);
    let tx = p.tap(&g, x).unwrap();
    let s = p.builder().sigmoid("s", tx).unwrap();
    p.remember(Key(1), vec![s, tx]);
    let mut memo = Memo::default();
    let added = p.apply(&mut g, &mut memo).unwrap();
    assert_eq!(added.len(), 1);
    let got = memo.get(&Key(1)).unwrap();
    assert_eq!(got[1], x, "a tap is the graph's own value");
    assert_eq!(g.value_name(got[0]), "s");
    assert_eq!(g.producer(got[0]), Some(added[0]));
}

#[test]
fn a_rule_that_errors_leaves_the_graph_as_it_was() {
    // fuse-rope refuses a model it would have to raise past the target's opset: the graph,
    // mid-run, is what it was
    let cfg = serde_json::json!({"kind": "rotary", "dim": 16, "mode": "qk", "layout": "half"});
    let g0 = rotor_builder::emit::build_from_json(&cfg, None).unwrap();
    let mut g = g0.clone();
    let options = Options { rope_target: RopeTarget::Onnx, max_opset: 22, ..Options::default() };
    assert!(matches!(run_passes(&mut g, &["fuse_rope"], &options), Err(PassError::Refused { .. })));
    assert!(g == g0);
    assert_eq!(snapshot(&g), snapshot(&g0));
}
