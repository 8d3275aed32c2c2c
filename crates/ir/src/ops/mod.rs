//! The op registry: the one home of each op's meaning. One module per op or op family
//! declares, as an [`OpDef`]:
//! - its type and shape inference ([`OpDef::infer`]; the builder and the ONNX loader both go
//!   through it, so a loaded graph prints with the types a built one has);
//! - its exact constant evaluation ([`OpDef::eval`], what `fold-constants` runs);
//! - its per-feature transfer ([`OpDef::feat`], what the RoPE proofs run);
//! - its no-op conditions ([`OpDef::noop`], what `eliminate-noops` runs);
//! - the opsets where it appears, disappears or changes meaning ([`OpDef::since`],
//!   [`OpDef::removed`], [`OpDef::changes`], [`OpDef::newer_form`]; what opset upgrades and
//!   downgrades check).
//!
//! [`REGISTRY`] lists every module's entries; adding an op is one module and one line there.

mod activation;
mod arith;
mod attention;
mod cast;
mod concat;
mod constant;
mod control;
mod conv;
mod cumulative;
mod einsum;
mod expand;
mod gather;
mod identity;
mod image;
mod legacy;
mod logic;
mod matmul;
mod norm;
mod pad;
mod range;
mod reduce;
mod reshape;
mod rotary;
mod scatter;
mod select;
mod shape_of;
mod signal;
mod slice;
mod split;
mod squeeze;
mod strings;
mod tile;
mod transpose;
mod unary;

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::dim::{Dim, shape_text};
use crate::dtype::DType;
use crate::error::InferError;
use crate::eval::Arr;
use crate::feat::{Analyzer, Transfer};
use crate::graph::{Attr, Graph, Node, Value, ValueInfo};

/// What one op (or op family) means to rotor. Every method has a default that claims nothing:
/// an op that only declares inference is opaque to evaluation and analysis.
pub trait OpDef: Sync {
    /// Output types from input types and attributes; `None` when rotor does not infer the op
    /// (a built graph refuses it; a loaded one gives its outputs unknown types).
    fn infer(&self, _cx: &InferCtx) -> Option<InferResult> {
        None
    }

    /// The node's outputs over constant inputs (`ins[i]` `None` for an omitted input), bit for
    /// bit what any conforming runtime computes; `None` when the op is not exact here (math
    /// library functions, half-precision types, an overflow).
    fn eval(&self, _n: &Node, _ins: &[Option<Arr>], _out_dtype: DType) -> Option<Vec<Arr>> {
        None
    }

    /// How the op moves or combines features (see [`crate::feat`]) for output `v` of `n`.
    fn feat(&self, _a: &mut Analyzer, _g: &Graph, _n: &Node, _v: Value) -> Transfer {
        Transfer::Opaque
    }

    /// How the op moves or combines features along axis `axis` of its output `v` viewed as the
    /// last axis ([`Analyzer::feat_moved`]); only called in table mode, for an axis that is not
    /// the last one. Ops that do not say are a source along that axis.
    fn feat_moved(&self, _a: &mut Analyzer, _g: &Graph, _n: &Node, _v: Value, _axis: usize) -> Transfer {
        Transfer::Opaque
    }

    /// When `n` (an ai.onnx node with one output) computes nothing new, the value its output
    /// equals.
    fn noop(&self, _g: &Graph, _n: &Node) -> Option<Value> {
        None
    }

    /// The first ai.onnx opset with op `op`.
    fn since(&self, _op: &str) -> i64 {
        1
    }

    /// True when op `op` is no longer an ai.onnx op (deprecated and dropped).
    fn removed(&self, _op: &str) -> bool {
        false
    }

    /// Why `n` means something else at opset `to` than at `from` (the versions in between are
    /// crossed; a downgrade passes them swapped), when it does.
    fn changes(&self, _n: &Node, _from: i64, _to: i64) -> Option<String> {
        None
    }

    /// Why `n` cannot be written at the lower opset `to`: an attribute, mode or input type that a
    /// later version added.
    fn newer_form(&self, _g: &Graph, _n: &Node, _to: i64) -> Option<String> {
        None
    }
}

/// One registry entry: the ops of a domain that a definition covers.
pub struct Entry {
    /// `""` for ai.onnx, else the domain (`com.microsoft`).
    pub domain: &'static str,
    /// Op types.
    pub ops: &'static [&'static str],
    /// Their definition.
    pub def: &'static dyn OpDef,
}

/// Every op rotor knows, by module.
pub const REGISTRY: &[&[Entry]] = &[
    activation::ENTRIES,
    arith::ENTRIES,
    attention::ENTRIES,
    cast::ENTRIES,
    concat::ENTRIES,
    constant::ENTRIES,
    control::ENTRIES,
    conv::ENTRIES,
    cumulative::ENTRIES,
    einsum::ENTRIES,
    expand::ENTRIES,
    gather::ENTRIES,
    identity::ENTRIES,
    image::ENTRIES,
    legacy::ENTRIES,
    logic::ENTRIES,
    matmul::ENTRIES,
    norm::ENTRIES,
    pad::ENTRIES,
    range::ENTRIES,
    reduce::ENTRIES,
    reshape::ENTRIES,
    rotary::ENTRIES,
    scatter::ENTRIES,
    select::ENTRIES,
    shape_of::ENTRIES,
    signal::ENTRIES,
    slice::ENTRIES,
    split::ENTRIES,
    squeeze::ENTRIES,
    strings::ENTRIES,
    tile::ENTRIES,
    transpose::ENTRIES,
    unary::ENTRIES,
];

/// FNV-1a: the registry's keys are short op names, looked up for every node a pass or the
/// inference visits; this hashes them in a few nanoseconds (the default SipHash takes several
/// times longer, and the keys are ours, not an attacker's).
#[derive(Default)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// Op name -> (domain, definition) for each domain that has the op.
type Table = HashMap<&'static str, Vec<(&'static str, &'static dyn OpDef)>, std::hash::BuildHasherDefault<Fnv>>;

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t: Table = HashMap::default();
        for entries in REGISTRY {
            for e in *entries {
                for op in e.ops {
                    t.entry(op).or_default().push((e.domain, e.def));
                }
            }
        }
        t
    })
}

/// The definition of op `op` of `domain` (`""` or `ai.onnx` for the standard ops).
pub fn lookup(domain: &str, op: &str) -> Option<&'static dyn OpDef> {
    let domain = if domain == "ai.onnx" { "" } else { domain };
    table().get(op)?.iter().find(|(d, _)| *d == domain).map(|(_, def)| *def)
}

/// What an inference function sees.
pub struct InferCtx<'a> {
    /// Op type.
    pub op: &'a str,
    /// Op domain (`""` = ai.onnx).
    pub domain: &'a str,
    /// Input infos (`None` = omitted optional input).
    pub inputs: Vec<Option<&'a ValueInfo>>,
    /// Attributes.
    pub attrs: &'a [(String, Attr)],
    /// ai.onnx opset of the graph.
    pub opset: i64,
    /// Number of outputs the node declares.
    pub num_outputs: usize,
}

/// The inferred type of one output.
#[derive(Clone, Debug, PartialEq)]
pub struct Inferred {
    pub dtype: DType,
    pub shape: Option<Vec<Dim>>,
    pub sym_value: Option<Vec<Dim>>,
}

impl Inferred {
    /// Fully unknown type (lenient loading only).
    pub fn unknown() -> Inferred {
        Inferred { dtype: DType::Undefined, shape: None, sym_value: None }
    }
    /// A known type and shape.
    pub fn new(dtype: DType, shape: Vec<Dim>) -> Inferred {
        Inferred { dtype, shape: Some(shape), sym_value: None }
    }
    /// A known type with unknown rank.
    pub fn rankless(dtype: DType) -> Inferred {
        Inferred { dtype, shape: None, sym_value: None }
    }
    /// Attach a symbolic value.
    pub fn with_value(mut self, v: Option<Vec<Dim>>) -> Inferred {
        self.sym_value = v;
        self
    }
}

/// What an inference gives: one type per output, or why the node is invalid.
pub type InferResult = Result<Vec<Inferred>, InferError>;

/// Infer output types of a node; `None` when rotor does not know the op.
pub fn infer(ctx: &InferCtx) -> Option<InferResult> {
    lookup(ctx.domain, ctx.op)?.infer(ctx)
}

pub(crate) use arith::transfer as arith_transfer;

/// Ranks above this are treated as unknown when they come from a (possibly hostile) declared
/// dimension, so that no inference allocates per declared rank.
pub(crate) const MAX_RANK: i64 = 64;

/// The output of an op that keeps its input's type and shape (`sym`: its symbolic value).
pub(crate) fn like_input(x: &ValueInfo, sym: Option<Vec<Dim>>) -> InferResult {
    Ok(vec![Inferred { dtype: x.dtype, shape: x.shape.clone(), sym_value: sym }])
}

// ----- helpers shared by the inference functions ------------------------------------------------

impl<'a> InferCtx<'a> {
    pub(crate) fn input(&self, i: usize, what: &'static str) -> Result<&'a ValueInfo, InferError> {
        self.inputs.get(i).copied().flatten().ok_or(InferError::MissingInput { index: i, what })
    }
    pub(crate) fn opt_input(&self, i: usize) -> Option<&'a ValueInfo> {
        self.inputs.get(i).copied().flatten()
    }
    pub(crate) fn attr(&self, name: &str) -> Option<&'a Attr> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
    pub(crate) fn attr_int(&self, name: &str) -> Result<Option<i64>, InferError> {
        match self.attr(name) {
            None => Ok(None),
            Some(Attr::Int(v)) => Ok(Some(*v)),
            Some(_) => Err(InferError::Attr { name: name.into(), message: "must be an int".into() }),
        }
    }
    pub(crate) fn attr_ints(&self, name: &str) -> Result<Option<Vec<i64>>, InferError> {
        match self.attr(name) {
            None => Ok(None),
            Some(Attr::Ints(v)) => Ok(Some(v.clone())),
            Some(_) => Err(InferError::Attr { name: name.into(), message: "must be a list of ints".into() }),
        }
    }
}

/// Normalise a possibly negative axis against a rank.
pub(crate) fn norm_axis(axis: i64, rank: usize, name: &str) -> Result<usize, InferError> {
    let r = rank as i64;
    if axis < -r || axis >= r {
        return Err(InferError::Attr { name: name.into(), message: format!("axis {axis} out of range for rank {rank}") });
    }
    Ok(if axis < 0 { (axis + r) as usize } else { axis as usize })
}

/// Numpy multidirectional broadcast of several shapes.
pub(crate) fn broadcast_shapes(shapes: &[&[Dim]]) -> Result<Vec<Dim>, InferError> {
    let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![Dim::Fixed(1); rank];
    for s in shapes {
        let off = rank - s.len();
        for (i, d) in s.iter().enumerate() {
            out[off + i] = out[off + i].broadcast(d).map_err(|_| InferError::Broadcast { lhs: shape_text(shapes[0]), rhs: shape_text(s) })?;
        }
    }
    Ok(out)
}

pub(crate) fn want_float(v: &ValueInfo, index: usize) -> Result<(), InferError> {
    if v.dtype.is_float() || v.dtype == DType::Undefined { Ok(()) } else { Err(InferError::DType { index, expected: "a float type".into(), actual: v.dtype }) }
}

pub(crate) fn want_int(v: &ValueInfo, index: usize) -> Result<(), InferError> {
    if v.dtype.is_int() || v.dtype == DType::Undefined { Ok(()) } else { Err(InferError::DType { index, expected: "int64 or int32".into(), actual: v.dtype }) }
}

pub(crate) fn want_same_dtype(a: &ValueInfo, b: &ValueInfo, index: usize) -> Result<(), InferError> {
    if a.dtype == b.dtype || a.dtype == DType::Undefined || b.dtype == DType::Undefined {
        Ok(())
    } else {
        Err(InferError::DType { index, expected: a.dtype.to_string(), actual: b.dtype })
    }
}

/// Shape of an input, or an `Ok(None)` early return marker when unknown.
pub(crate) fn known_shape(v: &ValueInfo) -> Option<&[Dim]> {
    v.shape.as_deref()
}

/// Symbolic value of an input as plain integers, when fully fixed.
pub(crate) fn fixed_values(v: &ValueInfo) -> Option<Vec<i64>> {
    v.sym_value.as_ref()?.iter().map(Dim::fixed).collect()
}
