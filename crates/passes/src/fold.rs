//! Constant folding and shape-chain folding.
//!
//! Pattern:
//! ```text
//! v = Op(...)             an integer value whose elements inference knows as numbers
//!                         (Shape of static dims, Gather/Concat/Slice/arithmetic of them)
//!                         -> an initializer
//! v = Op(...), w = Op'(...)  two integer values inference knows as the same symbolic
//!                         elements ([batch, seq] twice) -> w reads v
//! v = Op(c1, .., cn)      every input constant, Op exact (below) -> an initializer
//! ```
//! Exact ops only, so a folded value is bit for bit what any runtime computes. Which ops are
//! exact, and how they evaluate, each op declares in the registry (`rotor_ir::ops`,
//! `OpDef::eval`): shape and index ops (Shape, Size, Reshape, Unsqueeze, Squeeze, Concat,
//! Slice, Gather, Transpose, Expand, Tile, ConstantOfShape, Identity), integer Range, casts
//! between integer types and from integers or float64 to float32, comparisons and boolean ops,
//! Where, Neg/Abs, Add/Sub/Mul, Div of floats and of non-negative integers, Sqrt (correctly
//! rounded), Max/Min. Sin, Cos, Pow, Exp and friends are left to the runtime: their last bit
//! depends on the math library.
//! Size limit: a fold may add at most 64 KiB more than the constants it reads (a broadcast
//! table never blows the model up). float16/bfloat16 are not folded.

use std::collections::HashMap;

use rotor_ir::eval::{Arr, Data, evaluate};
use rotor_ir::{DType, Dim, Graph, NodeId, Value};

use crate::patch::Patch;
use crate::util::{can_forward, constant, fresh_scope, is_onnx, label};
use crate::{Cx, PassError, Rule};

pub const NAME: &str = "fold_constants";
pub const SUMMARY: &str = "fold constant subgraphs (exact ops only, size-limited) and shape chains over symbolic dims";

/// Bytes a single fold may add beyond the constants it reads.
pub const GROWTH_LIMIT: u64 = 64 << 10;

/// Integer values inference knows as the same symbolic elements (`[batch, seq]`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct SymKey {
    dtype: DType,
    shape: Vec<Dim>,
    values: Vec<Dim>,
}

/// The pass: the first value seen with each symbolic content (reset every round).
#[derive(Default)]
pub struct FoldConstants {
    seen_sym: HashMap<SymKey, Value>,
}

impl Rule for FoldConstants {
    fn name(&self) -> &'static str {
        NAME
    }

    fn candidates(&mut self, g: &Graph, _cx: &mut Cx) -> Result<Vec<Option<NodeId>>, PassError> {
        self.seen_sym.clear();
        Ok(g.nodes().iter().map(|n| Some(n.id)).collect())
    }

    fn rewrite(&mut self, g: &Graph, at: Option<NodeId>, cx: &mut Cx) -> Result<Option<Patch>, PassError> {
        let Some(n) = at.and_then(|id| g.node(id)) else { return Ok(None) };
        if !is_onnx(n) || !n.subgraphs().is_empty() || n.op_type == "Constant" {
            return Ok(None);
        }
        let name = label(g, n);
        let outs: Vec<Value> = n.output_values().collect();
        let mut patch: Option<Patch> = None;
        let mut done = 0;
        // 1. integer values inference knows: numbers -> constants; symbols -> shared
        let mut known = Vec::new();
        for v in &outs {
            let info = g.info(*v);
            let (Some(sym), Some(shape)) = (&info.sym_value, &info.shape) else { continue };
            if !info.dtype.is_int() || shape.len() > 1 || sym.len() != shape.first().and_then(Dim::fixed).map_or(1, |d| d as usize) {
                continue;
            }
            if let Some(vals) = sym.iter().map(Dim::fixed).collect::<Option<Vec<i64>>>() {
                let dims: Vec<i64> = shape.iter().map(|d| d.fixed().unwrap_or(1)).collect();
                let t = Arr { dtype: info.dtype, dims: dims.iter().map(|d| *d as usize).collect(), data: Data::I(vals) }.to_tensor();
                known.push((*v, t));
            } else if !sym.iter().any(|d| matches!(d, Dim::Unknown)) {
                let key = SymKey { dtype: info.dtype, shape: shape.clone(), values: sym.clone() };
                match self.seen_sym.get(&key) {
                    Some(first) if g.is_live(*first) && can_forward(g, *v, *first) => {
                        let p = patch.get_or_insert_with(|| Patch::new(g));
                        let t = p.tap(g, *first).map_err(|e| cx.build_error(e))?;
                        p.shunt(*v, t);
                        done += 1;
                    }
                    Some(_) => {}
                    None => {
                        self.seen_sym.insert(key, *v);
                    }
                }
            }
        }
        // 2. every input constant: evaluate exact ops (each op declares whether it is exact)
        if known.is_empty() && n.inputs.iter().flatten().all(|v| constant(g, *v).is_some_and(|t| t.len() <= 1 << 20)) {
            let ins: Vec<Option<Arr>> =
                n.inputs.iter().map(|i| i.and_then(|v| constant(g, v)).and_then(|t| if t.len() <= 1 << 20 { Arr::from_tensor(&t) } else { None })).collect();
            let all_const = !n.inputs.is_empty() && n.inputs.iter().zip(&ins).all(|(i, a)| i.is_none() || a.is_some());
            if all_const && outs.len() == 1 && !matches!(g.dtype(outs[0]), DType::F16 | DType::BF16) {
                let in_bytes: u64 = ins.iter().flatten().map(Arr::bytes).sum();
                if let Some(res) = evaluate(n, &ins, g.dtype(outs[0])) {
                    let out_bytes: u64 = res.iter().map(Arr::bytes).sum();
                    if out_bytes > in_bytes + GROWTH_LIMIT {
                        cx.reject(&name, format!("folding would add {out_bytes} bytes (limit: inputs + {GROWTH_LIMIT})"));
                    } else if let Some(t) = res.first().and_then(Arr::to_tensor) {
                        known.push((outs[0], Some(t)));
                    }
                }
            }
        }
        for (v, t) in known {
            let Some(t) = t else { continue };
            if g.is_output(v) || g.uses(v).is_empty() {
                continue; // an initializer cannot take over a graph output's name here
            }
            let scope = fresh_scope(g, &format!("{}_folded", g.value_name(v)));
            let p = patch.get_or_insert_with(|| Patch::new(g));
            let c = p.builder().graph_mut().constant_raw(&scope, t).map_err(|e| cx.build_error(e))?;
            p.shunt(v, c);
            done += 1;
        }
        Ok(patch.map(|mut p| {
            p.counts(done);
            p
        }))
    }
}
