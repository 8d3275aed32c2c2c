//! # rotor-ir
//!
//! Rotor's editable ONNX graph IR: values with element types and symbolic shapes, nodes with
//! use lists, subgraphs (`If`/`Loop`/`Scan` bodies), and the side table that lets a loaded model
//! be written back losslessly (declared types, doc strings, fields rotor does not interpret). No
//! protobuf type appears here: `rotor-export` reads and writes ONNX files.
//!
//! The op registry ([`ops`]) is the one home of each op's meaning: its type and shape
//! inference, its exact constant evaluation, its per-feature transfer, its no-op conditions and
//! the opsets where it changes. Graph text and diff ([`text`]) print any graph for goldens,
//! `rotor print` and `rotor diff`.
//!
//! Building graphs (naming scopes, an insertion cursor, typed op constructors) is
//! `rotor-builder`'s job; passes edit graphs through `rotor-passes`' patches.

mod dim;
mod dtype;
mod error;
pub mod eval;
pub mod feat;
mod graph;
pub mod ops;
pub mod opset;
pub mod query;
mod tensor;
pub mod text;

pub use dim::{Dim, SymExpr, shape_text};
pub use dtype::DType;
pub use error::{BuildError, InferError};
pub use graph::{
    Attr, Attrs, Declared, Function, Graph, ModelInfo, Node, NodeId, Origin, SparseTensor, TypeAttr, Use, Value, ValueInfo, ValueType, ir_version_for,
    stable_topological_order,
};
pub use tensor::{ExternalData, ExternalSource, Tensor, TensorData, element_count, f16_bits_to_f32, f32_to_bf16_bits, f32_to_f16_bits};
