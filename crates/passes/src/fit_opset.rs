//! Lowering a model's opset to what a deployment target loads.
//!
//! Pattern:
//! ```text
//! model at ai.onnx opset N > the target's maximum M (Options::max_opset)
//! ```
//! Rewrite: opset M, when [`crate::opset::check_downgrade`] proves every node means the same
//! there (no op or element type of a later opset, no attribute form a later version added,
//! no semantic change crossed; M >= 18). Typical case: a model at 23 only for its fused RoPE,
//! after `lower-rope`/`fuse-rope` gave it the target's op. Otherwise the model is left as is
//! with the reason (and `rotor lint` reports the opset).

use rotor_ir::{Graph, NodeId};

use crate::patch::Patch;
use crate::{Cx, PassError, Rule};

pub const NAME: &str = "fit_opset";
pub const SUMMARY: &str = "lower the opset to the target's maximum when every node provably means the same there";

/// The pass.
pub struct FitOpset;

impl Rule for FitOpset {
    fn name(&self) -> &'static str {
        NAME
    }

    /// The model as a whole.
    fn candidates(&mut self, _g: &Graph, _cx: &mut Cx) -> Result<Vec<Option<NodeId>>, PassError> {
        Ok(vec![None])
    }

    fn rewrite(&mut self, g: &Graph, _at: Option<NodeId>, cx: &mut Cx) -> Result<Option<Patch>, PassError> {
        let to = cx.options.max_opset;
        if g.opset() <= to {
            return Ok(None);
        }
        match crate::opset::check_downgrade(g, to) {
            Ok(()) => {
                let mut p = Patch::new(g);
                p.set_opset(to);
                Ok(Some(p))
            }
            Err(why) => {
                cx.reject("model", format!("opset {} cannot be lowered to {to}: {why}", g.opset()));
                Ok(None)
            }
        }
    }

    /// A body's opset is the model's.
    fn recurse(&self) -> bool {
        false
    }
}
