//! # Ops ai.onnx dropped: `Upsample`, `Scatter`, `ImageScaler`, `Crop`, `ATen`
//!
//! Deprecated before opset 13 and never brought back: a model holding one is not moved to
//! another opset.

use super::{Entry, OpDef};

pub(super) const ENTRIES: &[Entry] = &[Entry { domain: "", ops: &["Upsample", "Scatter", "ImageScaler", "Crop", "ATen"], def: &Dropped }];

struct Dropped;

impl OpDef for Dropped {
    fn removed(&self, _op: &str) -> bool {
        true
    }
}
