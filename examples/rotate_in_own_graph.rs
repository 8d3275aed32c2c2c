//! Rotate a value inside a graph of your own: build or load the graph, name the value, rotate it
//! in place with the same emitter rotor's exports use (its readers then read the rotated value),
//! save. Run: `cargo run -p rotor-export --example rotate_in_own_graph -- out.onnx`.

use rotor_builder::emit::rotary::rope::{self, RopeSpec};
use rotor_builder::{Builder, DType, Dim, Tensor};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A graph of your own (or `Builder::over(rotor_export::load_file(path)?)` for one on disk):
    // q = x · W_q, read by a Sigmoid.
    let mut b = Builder::new("mine", 17)?;
    let x = b.input("x", DType::F32, [Dim::sym("B"), Dim::sym("S"), Dim::Fixed(64)])?;
    let w = b.constant("w_q", Tensor::f32(vec![64, 64], (0..4096).map(|i| (i % 7) as f32 * 0.01).collect())?)?;
    let q = b.matmul("q", x, w)?;
    let y = b.sigmoid("gate", q)?;
    b.output("y", y)?;

    // RoPE on q (half layout, theta 10000, sequence axis -2): the Sigmoid now reads q rotated.
    let q = b.value_by_name("q").ok_or("no value q")?;
    rope::apply_to(&mut b, q, &RopeSpec::half(64))?;
    let g = b.finish()?;

    print!("{}", rotor_ir::text::print(&g));
    let out = std::env::args().nth(1).unwrap_or_else(|| "rotated.onnx".into());
    rotor_export::write_model(&g, std::path::Path::new(&out), &rotor_export::ExportOptions::default())?;
    eprintln!("wrote {out}");
    Ok(())
}
