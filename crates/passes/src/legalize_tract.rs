//! Rewrites for what tract 0.23 cannot evaluate, each exact.
//!
//! Pattern:
//! ```text
//! y = Equal(a, b)                   a, b Bool (tract: "Eq: Bool is not a number")
//!     -> y = Not(Xor(a, b))
//! y = CumSum(Cast<int64>(m), axis)  m Bool (tract types int64 values derived from shapes as
//!                                   symbolic dims: "CumSum: TDim is not a number")
//!     -> y = Cast<int64>(CumSum(Cast<int32>(m), axis))    exact: a sum of n flags is at most
//!                                   n, and a dimension is below 2^31
//! y = MatMul(a, b)                  a [.., M, 1], b [.., 1, N], a batched outer product (tract
//!                                   drops the batch of expanded operands: "expected
//!                                   batch,seq,8, got 1,3,8")
//!     -> y = Mul(a, b)              the one-term sum is the product (a −0 may read +0)
//! y = ConstantOfShape(s)            no `value` (ONNX: float32 0; tract takes float64: "Impossible
//!                                   to unify F32 with F64")
//!     -> y = ConstantOfShape(s) {value: float32 [0]}   the default, written out
//! ```
//! Found in torch.onnx.export models: HF transformers' position/mask code (CumSum over
//! `position_ids != previous + 1`), x-transformers' xPos (`floor_divide` on booleans),
//! transformers 4.x's rotary tables (`inv_freq[None, :, None].expand(B, -1, 1) @
//! position_ids[:, None, :]`).

use rotor_ir::{Attr, BuildError, DType, Dim, Graph, Node, NodeId, Tensor, Value};

use crate::patch::Patch;
use crate::util::{attr_int, fresh_scope, input, is_op, label, only_output, producer, shape};
use crate::{Cx, PassError, Rule};

pub const NAME: &str = "legalize_tract";
pub const SUMMARY: &str = "rewrite what tract 0.23 cannot evaluate: boolean Equal -> Not(Xor), CumSum of int64 flags -> int32 CumSum, batched outer-product MatMul -> Mul, ConstantOfShape's default value written out";

/// The pass.
pub struct LegalizeTract;

/// True for a `ConstantOfShape` that leaves its value to the default.
pub(crate) fn default_constant_of_shape(_g: &Graph, n: &Node) -> bool {
    is_op(n, "ConstantOfShape") && n.attr("value").is_none()
}

/// True for a `MatMul` of `[.., M, 1]` by `[.., 1, N]` with a batch axis.
pub(crate) fn batched_outer_product(g: &Graph, n: &Node) -> bool {
    let (Some(a), Some(b)) = (input(n, 0), input(n, 1)) else { return false };
    let (Some(sa), Some(sb)) = (shape(g, a), shape(g, b)) else { return false };
    is_op(n, "MatMul")
        && sa.len() >= 2
        && sb.len() >= 2
        && sa.len().max(sb.len()) >= 3
        && sa[sa.len() - 1] == Dim::Fixed(1)
        && sb[sb.len() - 2] == Dim::Fixed(1)
}

fn cast_from_bool(g: &Graph, v: Value) -> bool {
    producer(g, v).is_some_and(|n| is_op(n, "Cast") && input(n, 0).is_some_and(|x| g.dtype(x) == DType::Bool))
}

impl Rule for LegalizeTract {
    fn name(&self) -> &'static str {
        NAME
    }

    fn rewrite(&mut self, g: &Graph, at: Option<NodeId>, cx: &mut Cx) -> Result<Option<Patch>, PassError> {
        let Some(id) = at else { return Ok(None) };
        let Some(n) = g.node(id) else { return Ok(None) };
        let Some(y) = only_output(n) else { return Ok(None) };
        let (a, b) = (input(n, 0), input(n, 1));
        let name = label(g, n);
        let mut p = Patch::new(g);
        p.before(id);
        let scope = fresh_scope(g, "rotor_tract");
        let new = if is_op(n, "Equal") && a.is_some_and(|a| g.dtype(a) == DType::Bool) {
            let (Some(a), Some(b)) = (a, b) else { return Ok(None) };
            let (a, b) = (p.tap(g, a).map_err(|e| cx.build_error(e))?, p.tap(g, b).map_err(|e| cx.build_error(e))?);
            p.builder().with_scope(&scope, |g| {
                let x = g.add_node("xor", "Xor", &[Some(a), Some(b)], vec![])?;
                g.not("", x)
            })
        } else if is_op(n, "CumSum") && g.dtype(y) == DType::I64 {
            let (Some(a), Some(axis)) = (a, b) else { return Ok(None) };
            if !cast_from_bool(g, a) {
                cx.reject(&name, "int64 CumSum of values not known to be 0/1 flags: an int32 sum could overflow");
                return Ok(None);
            }
            let attrs: Vec<(String, Attr)> = ["exclusive", "reverse"].iter().map(|k| (k.to_string(), Attr::Int(attr_int(n, k, 0)))).collect();
            let (a, axis) = (p.tap(g, a).map_err(|e| cx.build_error(e))?, p.tap(g, axis).map_err(|e| cx.build_error(e))?);
            p.builder().with_scope(&scope, |g| {
                let small = g.cast("flags_i32", a, DType::I32)?;
                let s = g.add_node("cumsum_i32", "CumSum", &[Some(small), Some(axis)], attrs)?;
                g.cast("", s, DType::I64)
            })
        } else if default_constant_of_shape(g, n) {
            let Some(s) = a else { return Ok(None) };
            let s = p.tap(g, s).map_err(|e| cx.build_error(e))?;
            let zero = Tensor::f32(vec![1], vec![0.0]).map_err(|e| cx.build_error(BuildError::Graph { graph: g.name().into(), message: e }))?;
            p.builder().with_scope(&scope, |g| g.add_node("", "ConstantOfShape", &[Some(s)], vec![("value".into(), Attr::Tensor(zero))]))
        } else if batched_outer_product(g, n) {
            let (Some(a), Some(b)) = (a, b) else { return Ok(None) };
            let (a, b) = (p.tap(g, a).map_err(|e| cx.build_error(e))?, p.tap(g, b).map_err(|e| cx.build_error(e))?);
            p.builder().with_scope(&scope, |g| g.mul("", a, b))
        } else {
            return Ok(None);
        }
        .map_err(|e| cx.build_error(e))?;
        p.shunt(y, new);
        p.remove_nodes(&[id]);
        Ok(Some(p))
    }
}
