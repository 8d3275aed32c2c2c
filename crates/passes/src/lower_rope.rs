//! RoPE lowering: the fused rotary ops as standard ops, for runtimes without them (TensorRT
//! before 10.15, ONNX Runtime before 1.23, tract).
//!
//! Pattern:
//! ```text
//! y = RotaryEmbedding(X, cos_cache, sin_cache[, position_ids]) {interleaved, rotary_embedding_dim, num_heads}
//! y = com.microsoft.RotaryEmbedding(X, position_ids, cos_cache, sin_cache) {interleaved, rotary_embedding_dim, num_heads}
//!     X: [B, H, S, D], or [B, S, H·D] with num_heads (or with the head size read from the caches)
//! ```
//! Rewrite (rotor's compact decomposed form, which `fuse_rope` reads back):
//! ```text
//! c, s = Gather(cache, position_ids)            [B, S, r/2]  (caches as given when no ids;
//!                                                the contrib op's scalar offset adds Range(S))
//! cos  = Gather(c, pair index)                   [B, S, r]    (each feature reads its pair's value)
//! sin  = Gather(s, pair index) · (−1 first, +1 second)
//! x    = X[..., :r]  (as [B, H, S, D]: a 3-D X is viewed as [B, S, H, D])
//! y    = Concat(x·cos + swap(x)·sin, X[..., r:])     (swap = Split+Concat)
//! ```
//! Left alone: the contrib op with `is_packed_batching` or a `scale` other than 1 (ORT's
//! kernels do not apply `scale`, so what it means is ambiguous), and shapes the rewrite needs
//! but the model does not give (a symbolic head size).

use rotor_builder::emit::rotary::rope::{self, Swap};
use rotor_builder::{Attr, BuildError, Builder, DType, Dim, Graph, NodeId, Tensor, Value};

use crate::patch::Patch;

use crate::util::{attr_int, fresh_scope, input, is_onnx, is_rope_float, label, only_output, shape};
use crate::{Cx, PassError, Rule};

pub const NAME: &str = "lower_rope";
pub const SUMMARY: &str = "rewrite ai.onnx and com.microsoft RotaryEmbedding as standard ops (rotor's compact decomposed form)";

/// The pass.
pub struct LowerRope;

#[derive(Clone)]
struct Op {
    id: NodeId,
    x: Value,
    y: Value,
    cos: Value,
    sin: Value,
    ids: Option<Value>,
    /// The contrib op's offset form (ids of shape [1] or []).
    offset: bool,
    interleaved: bool,
    heads3: Option<i64>,
    head: i64,
    rot: i64,
}

fn read(g: &Graph, id: NodeId) -> Result<Op, String> {
    let n = g.node(id).ok_or("node removed")?;
    let ms = n.domain == "com.microsoft";
    let y = only_output(n).ok_or("no single output")?;
    let (x, cos, sin, ids) = if ms { (input(n, 0), input(n, 2), input(n, 3), input(n, 1)) } else { (input(n, 0), input(n, 1), input(n, 2), input(n, 3)) };
    let (Some(x), Some(cos), Some(sin)) = (x, cos, sin) else { return Err("missing input".into()) };
    if !is_rope_float(g.dtype(x)) {
        return Err(format!("input is {}", g.dtype(x)));
    }
    if ms {
        if attr_int(n, "is_packed_batching", 0) != 0 {
            return Err("is_packed_batching is not lowered".into());
        }
        if let Some(Attr::Float(s)) = n.attr("scale")
            && *s != 1.0
        {
            return Err(format!("scale {s}: ORT's kernels do not apply it, so its meaning is ambiguous"));
        }
    }
    let sx = shape(g, x).ok_or("the input's rank is unknown")?;
    let half_cache = shape(g, cos).and_then(|s| s.last().and_then(Dim::fixed));
    let num_heads = attr_int(n, "num_heads", 0);
    let rot_attr = attr_int(n, "rotary_embedding_dim", 0);
    let (heads3, head) = match sx.len() {
        4 => (None, sx[3].fixed().ok_or("symbolic head size")?),
        3 => {
            let hidden = sx[2].fixed().ok_or("symbolic hidden size")?;
            let head = if num_heads > 0 {
                hidden / num_heads
            } else if rot_attr == 0 {
                2 * half_cache.ok_or("num_heads unset and the cache width is unknown")?
            } else {
                return Err("3-D input with rotary_embedding_dim needs num_heads".into());
            };
            if head <= 0 || hidden % head != 0 {
                return Err(format!("hidden size {hidden} is not a multiple of the head size {head}"));
            }
            (Some(hidden / head), head)
        }
        r => return Err(format!("input of rank {r}")),
    };
    let rot = if rot_attr > 0 { rot_attr } else { head };
    if rot % 2 != 0 || rot > head {
        return Err(format!("rotary_embedding_dim {rot} must be even and at most the head size {head}"));
    }
    if half_cache.is_some_and(|c| c != rot / 2) {
        return Err(format!("cache width {:?} is not rotary_embedding_dim/2 = {}", half_cache, rot / 2));
    }
    let offset = ms && ids.is_some_and(|v| shape(g, v).is_some_and(|s| s.len() <= 1));
    if ms && !offset && ids.is_none_or(|v| shape(g, v).is_none_or(|s| s.len() != 2)) {
        return Err("position_ids of unknown rank".into());
    }
    Ok(Op { id, x, y, cos, sin, ids, offset, interleaved: attr_int(n, "interleaved", 0) != 0, heads3, head, rot })
}

fn lower(g: &mut Builder, o: &Op) -> Result<Value, BuildError> {
    let (h, r) = (o.rot / 2, o.rot);
    let dtype = g.dtype(o.x);
    // 1. caches per row: [B, S, r/2] (or [S, r/2] -> [1, S, r/2] for an offset)
    let (c, s) = match (o.ids, o.offset) {
        (Some(ids), false) => (g.gather("cos_rows", o.cos, ids, 0)?, g.gather("sin_rows", o.sin, ids, 0)?),
        (Some(off), true) => {
            let seq_axis = if o.heads3.is_some() { 1 } else { 2 };
            let n = g.shape_of("seq", o.x, seq_axis, Some(seq_axis + 1))?;
            let n = g.squeeze("seq_scalar", n, &[0])?;
            let zero = g.constant("zero", Tensor::scalar_i64(0))?;
            let one = g.constant("one", Tensor::scalar_i64(1))?;
            let steps = g.range("steps", zero, n, one)?;
            let off = g.reshape_const("offset", off, &[])?;
            let pos = g.add("positions", steps, off)?;
            let c = g.gather("cos_rows_s", o.cos, pos, 0)?;
            let s = g.gather("sin_rows_s", o.sin, pos, 0)?;
            (g.unsqueeze("cos_rows", c, &[0])?, g.unsqueeze("sin_rows", s, &[0])?)
        }
        (None, _) => (o.cos, o.sin),
    };
    // 2. one value per feature, signed sine
    let idx: Vec<i64> = (0..r).map(|i| if o.interleaved { i / 2 } else { i % h }).collect();
    let idx = g.const_i64s("pair_index", &idx)?;
    let signs: Vec<f32> = (0..r).map(|i| if (o.interleaved && i % 2 == 0) || (!o.interleaved && i < h) { -1.0 } else { 1.0 }).collect();
    let signs = Tensor::f32(vec![r], signs).map_err(|e| BuildError::Graph { graph: g.name().into(), message: e })?;
    let signs = if dtype == DType::F32 {
        signs
    } else {
        signs.cast_f32_to(dtype).ok_or_else(|| BuildError::Graph { graph: g.name().into(), message: format!("no {dtype} constant") })?
    };
    let signs = g.constant("signs", signs)?;
    let cos = g.gather("cos_features", c, idx, -1)?;
    let sin = g.gather("sin_features", s, idx, -1)?;
    let sin = g.mul("sin_signed", sin, signs)?;
    // 3. x as [B, H, S, D] (heads on axis 1) or [B, S, H, D] (heads on axis 2)
    let (x4, heads_axis) = match o.heads3 {
        Some(nh) => (g.reshape_const("x4", o.x, &[0, 0, nh, o.head])?, 2),
        None => (o.x, 1),
    };
    let cos = g.unsqueeze("cos", cos, &[heads_axis])?;
    let sin = g.unsqueeze("sin", sin, &[heads_axis])?;
    let last = g.const_i64s("last_axis", &[-1])?;
    let (xr, rest) = if r < o.head {
        let z = g.const_i64s("zero_start", &[0])?;
        let e = g.const_i64s("rot_end", &[r])?;
        let end = g.const_i64s("end", &[o.head])?;
        (g.slice("x_rot", x4, z, e, Some(last), None)?, Some(g.slice("x_pass", x4, e, end, Some(last), None)?))
    } else {
        (x4, None)
    };
    let plan = if o.interleaved { Swap::Pairs { head_dim: r } } else { Swap::Halves { sizes: vec![h, h], order: vec![1, 0] } };
    let rotated = g.with_scope("rotate", |g| rope::apply(g, xr, rope::Tables { cos, sin }, &plan))?;
    let y4 = match rest {
        Some(rest) => g.concat("joined", &[rotated, rest], -1)?,
        None => rotated,
    };
    if o.heads3.is_some() {
        return g.reshape_const("", y4, &[0, 0, -1]);
    }
    Ok(y4)
}

impl Rule for LowerRope {
    fn name(&self) -> &'static str {
        NAME
    }

    fn candidates(&mut self, g: &Graph, cx: &mut Cx) -> Result<Vec<Option<NodeId>>, PassError> {
        let keep = cx.options.keep_fused;
        Ok(g.nodes()
            .iter()
            .filter(|n| n.op_type == "RotaryEmbedding")
            .filter(|n| match (is_onnx(n), n.domain == "com.microsoft") {
                (true, _) => keep != Some(crate::RopeTarget::Onnx),
                (_, true) => keep != Some(crate::RopeTarget::Microsoft),
                _ => false,
            })
            .map(|n| Some(n.id))
            .collect())
    }

    fn rewrite(&mut self, g: &Graph, at: Option<NodeId>, cx: &mut Cx) -> Result<Option<Patch>, PassError> {
        let Some(id) = at else { return Ok(None) };
        let Some(n) = g.node(id) else { return Ok(None) };
        let name = label(g, n);
        let o = match read(g, id) {
            Ok(o) => o,
            Err(why) => {
                cx.reject(&name, why);
                return Ok(None);
            }
        };
        let scope = fresh_scope(g, "rotor_rope_lowered");
        let mut p = Patch::new(g);
        p.before(o.id);
        let build = |p: &mut Patch| -> Result<Value, BuildError> {
            // the op's inputs, as the patch sees them
            let mut t = o.clone();
            t.x = p.tap(g, o.x)?;
            t.cos = p.tap(g, o.cos)?;
            t.sin = p.tap(g, o.sin)?;
            t.ids = o.ids.map(|v| p.tap(g, v)).transpose()?;
            p.builder().with_scope(&scope, |b| lower(b, &t))
        };
        let new = build(&mut p).map_err(|e| cx.build_error(e))?;
        p.shunt(o.y, new);
        p.remove_nodes(&[o.id]);
        Ok(Some(p))
    }
}
