//! ONNX Runtime's contrib ops (domain `com.microsoft`) that rotor writes, shaped like their
//! signatures in ORT's `ContribOperators.md`. Any ai.onnx opset; ORT only.

use rotor_ir::{BuildError, Value};

use crate::Builder;

pub use super::v23::RotaryEmbeddingAttrs;

/// `com.microsoft.RotaryEmbedding(input, position_ids, cos_cache, sin_cache)`, named `name` in
/// the builder's scope. `input` is `[B, S, H·D]` (`num_heads` needed with
/// `rotary_embedding_dim`) or `[B, H, S, D]`; `position_ids` `[B, S]` (or a scalar offset);
/// caches `[max_pos, rot/2]`. The attributes are the ai.onnx op's (the contrib op's `scale` and
/// `is_packed_batching` are not written: ORT's kernels ignore `scale`).
pub fn rotary_embedding(
    b: &mut Builder,
    name: &str,
    input: Value,
    position_ids: Option<Value>,
    cos_cache: Value,
    sin_cache: Value,
    attrs: &RotaryEmbeddingAttrs,
) -> Result<Value, BuildError> {
    b.add_node_in(name, "com.microsoft", "RotaryEmbedding", &[Some(input), position_ids, Some(cos_cache), Some(sin_cache)], attrs.to_attrs())
}
