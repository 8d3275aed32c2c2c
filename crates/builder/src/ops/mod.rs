//! Op constructors on [`crate::Builder`], shaped like the ONNX signatures: tensor inputs
//! positional, optional inputs as `Option<Value>`, attributes typed. The common ones are builder
//! methods (`b.mul(name, a, b)`, `b.slice(..)`); ops whose form depends on the opset or the
//! domain live in a module named after it ([`v23`], [`ms`]). Each node is type-checked by the
//! op registry of `rotor-ir` as it is added.

mod elementwise;
pub mod ms;
mod nn;
mod shape;
pub mod v23;
