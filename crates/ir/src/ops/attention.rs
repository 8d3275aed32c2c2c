//! # `Attention` (opset 23)
//!
//! Only its opset is known to rotor so far.

use super::{Entry, OpDef};

pub(super) const ENTRIES: &[Entry] = &[Entry { domain: "", ops: &["Attention"], def: &AttentionOp }];

struct AttentionOp;

impl OpDef for AttentionOp {
    fn since(&self, _op: &str) -> i64 {
        23
    }
}
