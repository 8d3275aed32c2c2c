//! Errors of graph edits and of op inference.

use crate::dtype::DType;

/// Why an op's inputs or attributes were rejected by its shape/type inference.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InferError {
    /// Two shapes that must broadcast do not.
    #[error("shapes {lhs} and {rhs} do not broadcast")]
    Broadcast { lhs: String, rhs: String },
    /// An input has the wrong element type.
    #[error("input {index} has element type {actual}, expected {expected}")]
    DType { index: usize, expected: String, actual: DType },
    /// An input has the wrong rank.
    #[error("input {index} has rank {actual}, expected {expected}")]
    Rank { index: usize, expected: String, actual: usize },
    /// An input that must be present is missing.
    #[error("input {index} ({what}) is required")]
    MissingInput { index: usize, what: &'static str },
    /// An attribute is missing or out of range.
    #[error("attribute {name}: {message}")]
    Attr { name: String, message: String },
    /// Anything else, described in words.
    #[error("{0}")]
    Invalid(String),
}

/// An error raised while adding something to a [`crate::Graph`]. Node errors name the node and
/// the op first, like `rope.q.cos_x (Mul): shapes [B, H, N, 64] and [N, 32] do not broadcast`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BuildError {
    /// An op's inference rejected its inputs or attributes.
    #[error("{node} ({op}): {source}")]
    Op { node: String, op: String, source: InferError },
    /// The op type is not known to rotor's builder.
    #[error("{node}: unsupported op {domain}{op}")]
    UnsupportedOp { node: String, op: String, domain: String },
    /// A node, value or initializer name is used twice.
    #[error("duplicate name {0:?}")]
    DuplicateName(String),
    /// A name refers to no value of the graph.
    #[error("no value named {0:?} in the graph")]
    UnknownValue(String),
    /// A constant tensor is malformed.
    #[error("constant {name}: {message}")]
    BadConstant { name: String, message: String },
    /// The graph as a whole is not valid (no outputs, bad opset, ...).
    #[error("graph {graph}: {message}")]
    Graph { graph: String, message: String },
}
