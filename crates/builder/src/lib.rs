//! # rotor-builder
//!
//! Building ONNX graphs over rotor's IR (`rotor-ir`): a [`Builder`] (naming scope, insertion
//! cursor, typed memo), op constructors shaped like the ONNX signatures (`b.mul(..)`,
//! [`ops::v23::rotary_embedding`], [`ops::ms::rotary_embedding`]), config types that mirror the
//! PyTorch kwargs, and rotor's emitters (RoPE, xPos, hierarchical transformers, ...). No
//! protobuf type appears here: `rotor-export` turns a [`Graph`] into an ONNX model.
//!
//! ```
//! use rotor_builder::{Builder, DType, Dim, emit::rotary::rope};
//!
//! let mut b = Builder::new("rope", 17)?;
//! let x = b.input("x", DType::F32, [Dim::sym("B"), Dim::sym("N"), Dim::Fixed(8)])?;
//! let y = rope::apply_to(&mut b, x, &rope::RopeSpec::half(8))?;
//! b.output("y", y)?;
//! assert_eq!(b.info(y).type_text(), "F32[B, N, 8]");
//! # Ok::<(), rotor_builder::BuildError>(())
//! ```

mod builder;
pub mod config;
pub mod emit;
mod error;
pub mod ops;
mod weights;

pub use builder::{Builder, Memo};
pub use error::{BuildError, ConfigError, EmitError, InferError};
pub use rotor_ir::{
    Attr, Attrs, DType, Declared, Dim, ExternalData, ExternalSource, Function, Graph, ModelInfo, Node, NodeId, Origin, SparseTensor, SymExpr, Tensor,
    TensorData, TypeAttr, Use, Value, ValueInfo, ValueType, attrs, element_count, f16_bits_to_f32, f32_to_bf16_bits, f32_to_f16_bits, ir_version_for,
    shape_text, stable_topological_order,
};
pub use weights::WeightMap;
