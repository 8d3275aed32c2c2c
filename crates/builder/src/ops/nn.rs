//! Neural-network constructors: `MatMul`, `Conv`, `LayerNormalization`, reductions.

use rotor_ir::{BuildError, Dim, Value, attrs};

use crate::Builder;

/// Neural-network constructors.
impl Builder {
    /// `MatMul(a, b)`.
    pub fn matmul(&mut self, name: &str, a: Value, b: Value) -> Result<Value, BuildError> {
        self.add_node(name, "MatMul", &[Some(a), Some(b)], attrs![])
    }

    /// 1-D `Conv(x, w, bias)` with explicit pads `[begin, end]` and stride.
    pub fn conv1d(&mut self, name: &str, x: Value, w: Value, bias: Option<Value>, pads: [i64; 2], stride: i64) -> Result<Value, BuildError> {
        let k = self.shape(w).get(2).and_then(Dim::fixed).unwrap_or(1);
        self.add_node(name, "Conv", &[Some(x), Some(w), bias], attrs![("kernel_shape", vec![k]), ("pads", pads.to_vec()), ("strides", vec![stride])])
    }

    /// `LayerNormalization(x, scale, bias, axis=-1, epsilon)`.
    pub fn layer_norm(&mut self, name: &str, x: Value, scale: Value, bias: Option<Value>, epsilon: f32) -> Result<Value, BuildError> {
        self.add_node(name, "LayerNormalization", &[Some(x), Some(scale), bias], attrs![("axis", -1i64), ("epsilon", epsilon)])
    }

    /// A reduction (`ReduceL2`, `ReduceSum`, ...) over `axes`, written for the graph's opset
    /// (axes as an attribute before opset 18, as an input from 18 on; `ReduceSum` since 13).
    pub fn reduce(&mut self, name: &str, op: &str, x: Value, axes: &[i64], keepdims: bool) -> Result<Value, BuildError> {
        if self.opset() >= 18 || op == "ReduceSum" {
            let a = self.const_i64s(&format!("{name}_axes"), axes)?;
            self.add_node(name, op, &[Some(x), Some(a)], attrs![("keepdims", i64::from(keepdims))])
        } else {
            self.add_node(name, op, &[Some(x)], attrs![("axes", axes.to_vec()), ("keepdims", i64::from(keepdims))])
        }
    }
}
