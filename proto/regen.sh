#!/usr/bin/env bash
# Regenerate crates/export/src/proto/onnx.rs from proto/onnx.proto.
# proto/onnx.proto is copied verbatim from the onnx==1.23.2 wheel (onnx/onnx.proto).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cargo run --quiet --manifest-path "$root/proto/gen/Cargo.toml" --target-dir "$root/target/proto-gen" -- "$root"
