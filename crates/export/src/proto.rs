//! Prost types generated from `proto/onnx.proto` (ONNX 1.23.2) by `proto/regen.sh`.

#![allow(clippy::all, missing_docs, rustdoc::all)]

include!("proto/onnx.rs");
