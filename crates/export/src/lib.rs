//! # rotor-export
//!
//! Turns a rotor [`Graph`](rotor_builder::Graph) into an ONNX `ModelProto` (the only crate that
//! sees protobuf types), writes it atomically (with external data past 2 GiB), loads ONNX files
//! back into the IR, and prints the deterministic graph text used by goldens and `rotor print`.

mod error;
mod load;
mod model;
pub mod paths;
pub mod proto;
pub mod text;
mod write;

pub use error::ExportError;
pub use load::{from_model, load_bytes, load_file, metadata};
pub use model::{ExportOptions, to_bytes, to_bytes_with, to_model};
pub use rotor_builder::ir_version_for;
pub use write::{write_atomic, write_model};
