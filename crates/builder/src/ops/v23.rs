//! Ops of ai.onnx opset 23 whose signature rotor writes by hand (spox's `v23.rotary_embedding`
//! is the model): tensor inputs positional, optional inputs `Option<Value>`, attributes in one
//! struct whose `Default` is the ONNX default. The graph's opset must be 23 or later.

use rotor_ir::{Attr, Attrs, BuildError, Value};

use crate::Builder;

/// Attributes of `RotaryEmbedding` (opset 23). `Default` is the ONNX default: half layout,
/// the whole head rotated, `num_heads` read from a 4-D input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RotaryEmbeddingAttrs {
    /// Pairs `(2i, 2i + 1)` instead of `(i, i + rot/2)`.
    pub interleaved: bool,
    /// Head count, required for a 3-D input `[B, S, H·D]`.
    pub num_heads: Option<i64>,
    /// The rotated width (the first features of each head); `None`: the whole head.
    pub rotary_embedding_dim: Option<i64>,
}

impl RotaryEmbeddingAttrs {
    /// The attribute list as the node carries it (`interleaved` always; the others when set).
    pub fn to_attrs(&self) -> Attrs {
        let mut a = vec![("interleaved".to_string(), Attr::Int(i64::from(self.interleaved)))];
        if let Some(r) = self.rotary_embedding_dim {
            a.push(("rotary_embedding_dim".into(), Attr::Int(r)));
        }
        if let Some(h) = self.num_heads {
            a.push(("num_heads".into(), Attr::Int(h)));
        }
        a
    }
}

/// `RotaryEmbedding(X, cos_cache, sin_cache[, position_ids])`, named `name` in the builder's
/// scope. X is `[B, H, S, D]` or `[B, S, H·D]` (with `num_heads`); the caches are
/// `[B, S, rot/2]`, or `[max_pos, rot/2]` indexed by `position_ids` `[B, S]`.
pub fn rotary_embedding(
    b: &mut Builder,
    name: &str,
    x: Value,
    cos_cache: Value,
    sin_cache: Value,
    position_ids: Option<Value>,
    attrs: &RotaryEmbeddingAttrs,
) -> Result<Value, BuildError> {
    if b.opset() < 23 {
        return Err(BuildError::Graph { graph: b.name().into(), message: format!("RotaryEmbedding needs ai.onnx opset 23, the graph is at {}", b.opset()) });
    }
    let mut inputs = vec![Some(x), Some(cos_cache), Some(sin_cache)];
    if position_ids.is_some() {
        inputs.push(position_ids);
    }
    b.add_node(name, "RotaryEmbedding", &inputs, attrs.to_attrs())
}
