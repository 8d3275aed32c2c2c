//! # rotor-export
//!
//! Turns a rotor [`Graph`](rotor_ir::Graph) into an ONNX `ModelProto` (the only crate that
//! sees protobuf types), writes it atomically (with external data past 2 GiB), and loads ONNX
//! files back into the IR losslessly (external data mapped, read only when needed). The graph
//! text and diff are `rotor_ir::text`.

mod error;
mod load;
mod model;
pub mod paths;
pub mod proto;
mod write;

pub use error::ExportError;
pub use load::{from_model, load_bytes, load_file, metadata};
pub use model::{ExportOptions, to_bytes, to_bytes_with, to_model};
pub use rotor_ir::ir_version_for;
pub use write::{write_atomic, write_model};
