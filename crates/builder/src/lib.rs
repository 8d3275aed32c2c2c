//! # rotor-builder
//!
//! A typed ONNX graph IR (values with element types and symbolic shapes inferred as each node
//! is added), op constructors shaped like the ONNX signatures, config types that mirror the
//! PyTorch kwargs, and rotor's emitters (RoPE, xPos, ...). No protobuf type appears here:
//! `rotor-export` turns a [`Graph`] into an ONNX model (the protobuf types live there only).
//!
//! ```
//! use rotor_builder::{Graph, DType, Dim, emit::rope};
//! use rotor_builder::config::Layout;
//!
//! let mut g = Graph::new("rope", 17)?;
//! let x = g.input("x", DType::F32, [Dim::sym("B"), Dim::sym("N"), Dim::Fixed(8)])?;
//! let layout = rope::RopeLayout { head_dim: 8, start: 0, layout: Layout::Half, freqs: rope::lang_freqs(8, 10000.0) };
//! let y = g.with_scope("rope", |g| {
//!     let n = rope::seq_len(g, "len", x, -2)?;
//!     let t = rope::positions(g, "pos", None, n.scalar, 1.0)?;
//!     let col = rope::column(g, "pos_col", t.t, 1)?;
//!     let freqs = rope::freqs_const(g, &layout)?;
//!     let tables = rope::tables(g, col, freqs)?;
//!     let swap = rope::swap_plan(g, &layout)?;
//!     rope::apply(g, x, tables, &swap)
//! })?;
//! g.output("y", y)?;
//! assert_eq!(g.info(y).type_text(), "F32[B, N, 8]");
//! # Ok::<(), rotor_builder::BuildError>(())
//! ```

pub mod config;
mod dim;
mod dtype;
pub mod emit;
mod error;
mod graph;
pub mod ops;
mod tensor;
mod weights;

pub use dim::{Dim, SymExpr, shape_text};
pub use dtype::DType;
pub use error::{BuildError, ConfigError, EmitError, InferError};
pub use graph::{
    Attr, Attrs, Declared, Function, Graph, ModelInfo, Node, NodeId, Origin, SUPPORTED_OPSETS, SparseTensor, TypeAttr, Use, Value, ValueInfo, ValueType,
    ir_version_for, stable_topological_order,
};
pub use tensor::{ExternalData, ExternalSource, Tensor, TensorData, element_count, f16_bits_to_f32, f32_to_bf16_bits, f32_to_f16_bits};
pub use weights::WeightMap;
