//! Shape constructors: `Shape`, `Reshape`, `(Un)Squeeze`, `Concat`, `Slice`, `Gather`,
//! `Transpose`, `Expand`, `Range`, `ConstantOfShape`, `Pad`, `Split`, `Tile`.

use rotor_ir::{Attr, BuildError, Tensor, Value, attrs};

use crate::Builder;

/// Shape constructors.
impl Builder {
    /// `Shape(x)[start:end]` as a 1-D int64 tensor.
    pub fn shape_of(&mut self, name: &str, x: Value, start: i64, end: Option<i64>) -> Result<Value, BuildError> {
        let mut a = attrs![("start", start)];
        if let Some(e) = end {
            a.push(("end".into(), Attr::Int(e)));
        }
        self.add_node(name, "Shape", &[Some(x)], a)
    }

    /// `Reshape(x, shape)` with a constant target shape (0 copies the input dim, -1 infers one).
    pub fn reshape_const(&mut self, name: &str, x: Value, shape: &[i64]) -> Result<Value, BuildError> {
        let s = self.const_i64s(&format!("{name}_shape"), shape)?;
        self.reshape(name, x, s)
    }

    /// `Reshape(x, shape)`.
    pub fn reshape(&mut self, name: &str, x: Value, shape: Value) -> Result<Value, BuildError> {
        self.add_node(name, "Reshape", &[Some(x), Some(shape)], attrs![])
    }

    /// `Squeeze(x, axes)`.
    pub fn squeeze(&mut self, name: &str, x: Value, axes: &[i64]) -> Result<Value, BuildError> {
        let a = self.const_i64s(&format!("{name}_axes"), axes)?;
        self.add_node(name, "Squeeze", &[Some(x), Some(a)], attrs![])
    }

    /// `Unsqueeze(x, axes)`.
    pub fn unsqueeze(&mut self, name: &str, x: Value, axes: &[i64]) -> Result<Value, BuildError> {
        let a = self.const_i64s(&format!("{name}_axes"), axes)?;
        self.add_node(name, "Unsqueeze", &[Some(x), Some(a)], attrs![])
    }

    /// `Concat(inputs, axis)`.
    pub fn concat(&mut self, name: &str, inputs: &[Value], axis: i64) -> Result<Value, BuildError> {
        let ins: Vec<Option<Value>> = inputs.iter().map(|v| Some(*v)).collect();
        self.add_node(name, "Concat", &ins, attrs![("axis", axis)])
    }

    /// `Slice(x, starts, ends, axes, steps)` with value inputs.
    pub fn slice(&mut self, name: &str, x: Value, starts: Value, ends: Value, axes: Option<Value>, steps: Option<Value>) -> Result<Value, BuildError> {
        self.add_node(name, "Slice", &[Some(x), Some(starts), Some(ends), axes, steps], attrs![])
    }

    /// `Slice` along one axis with constant bounds (`end = i64::MAX` for "to the end").
    pub fn slice_const(&mut self, name: &str, x: Value, axis: i64, start: i64, end: i64, step: i64) -> Result<Value, BuildError> {
        let s = self.const_i64s(&format!("{name}_starts"), &[start])?;
        let e = self.const_i64s(&format!("{name}_ends"), &[end])?;
        let a = self.const_i64s(&format!("{name}_axes"), &[axis])?;
        let st = if step == 1 { None } else { Some(self.const_i64s(&format!("{name}_steps"), &[step])?) };
        self.slice(name, x, s, e, Some(a), st)
    }

    /// `Gather(x, indices, axis)`.
    pub fn gather(&mut self, name: &str, x: Value, indices: Value, axis: i64) -> Result<Value, BuildError> {
        self.add_node(name, "Gather", &[Some(x), Some(indices)], attrs![("axis", axis)])
    }

    /// `Transpose(x, perm)`.
    pub fn transpose(&mut self, name: &str, x: Value, perm: &[i64]) -> Result<Value, BuildError> {
        self.add_node(name, "Transpose", &[Some(x)], attrs![("perm", perm.to_vec())])
    }

    /// `Expand(x, shape)`.
    pub fn expand(&mut self, name: &str, x: Value, shape: Value) -> Result<Value, BuildError> {
        self.add_node(name, "Expand", &[Some(x), Some(shape)], attrs![])
    }

    /// `Range(start, limit, delta)` (scalars).
    pub fn range(&mut self, name: &str, start: Value, limit: Value, delta: Value) -> Result<Value, BuildError> {
        self.add_node(name, "Range", &[Some(start), Some(limit), Some(delta)], attrs![])
    }

    /// `ConstantOfShape(shape, value)`.
    pub fn constant_of_shape(&mut self, name: &str, shape: Value, value: Tensor) -> Result<Value, BuildError> {
        self.add_node(name, "ConstantOfShape", &[Some(shape)], attrs![("value", value)])
    }

    /// `Pad(x, pads, constant_value)` (constant mode).
    pub fn pad(&mut self, name: &str, x: Value, pads: Value, value: Option<Value>) -> Result<Value, BuildError> {
        self.add_node(name, "Pad", &[Some(x), Some(pads), value], attrs![])
    }

    /// `Split(x, sizes, axis)` into `sizes.len()` outputs.
    pub fn split(&mut self, name: &str, x: Value, axis: i64, sizes: &[i64]) -> Result<Vec<Value>, BuildError> {
        let s = self.const_i64s(&format!("{name}_sizes"), sizes)?;
        self.add_node_multi(name, "Split", &[Some(x), Some(s)], attrs![("axis", axis)], sizes.len())
    }

    /// `Tile(x, repeats)`.
    pub fn tile(&mut self, name: &str, x: Value, repeats: Value) -> Result<Value, BuildError> {
        self.add_node(name, "Tile", &[Some(x), Some(repeats)], attrs![])
    }
}
