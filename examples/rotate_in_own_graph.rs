//! Rotate a value inside a graph of your own with rotor's IR: find the value, build RoPE after
//! it with the same emitter rotor's exports use, point its readers at the rotated value, sort,
//! save. Run: `cargo run -p rotor-export --example rotate_in_own_graph -- out.onnx`.

use rotor_builder::config::Layout;
use rotor_builder::emit::rope;
use rotor_builder::{DType, Dim, Graph, Tensor};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A graph of your own (or `rotor_export::load_file(path)?` for one on disk):
    // q = x · W_q, read by a Sigmoid.
    let mut g = Graph::new("mine", 17)?;
    let x = g.input("x", DType::F32, [Dim::sym("B"), Dim::sym("S"), Dim::Fixed(64)])?;
    let w = g.constant("w_q", Tensor::f32(vec![64, 64], (0..4096).map(|i| (i % 7) as f32 * 0.01).collect())?)?;
    let q = g.matmul("q", x, w)?;
    let y = g.sigmoid("gate", q)?;
    g.output("y", y)?;

    // 1. The value to rotate, and who reads it now.
    let q = g.value_by_name("q").ok_or("no value q")?;
    let readers = g.uses(q).to_vec();
    // 2. RoPE (half layout, theta 10000) over the sequence axis -2.
    let layout = rope::RopeLayout { head_dim: 64, start: 0, layout: Layout::Half, freqs: rope::lang_freqs(64, 10000.0) };
    let q_rot = g.with_scope("q_rope", |g| {
        let n = rope::seq_len(g, "len", q, -2)?;
        let t = rope::positions(g, "pos", None, n.scalar, 1.0)?;
        let col = rope::column(g, "pos_col", t.t, 1)?;
        let freqs = rope::freqs_const(g, &layout)?;
        let tables = rope::tables(g, col, freqs)?;
        let swap = rope::swap_plan(g, &layout)?;
        rope::apply(g, q, tables, &swap)
    })?;
    // 3. The old readers read the rotated value; the new nodes move before them.
    for u in readers {
        g.set_input(u.node, u.slot, Some(q_rot))?;
    }
    g.topo_sort()?;

    print!("{}", rotor_export::text::print(&g));
    let out = std::env::args().nth(1).unwrap_or_else(|| "rotated.onnx".into());
    rotor_export::write_model(&g, std::path::Path::new(&out), &rotor_export::ExportOptions::default())?;
    eprintln!("wrote {out}");
    Ok(())
}
