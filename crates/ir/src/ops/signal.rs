//! # Signal ops: `DFT` (its axis became an input in opset 20)

use super::{Entry, OpDef};
use crate::Node;

pub(super) const ENTRIES: &[Entry] = &[Entry { domain: "", ops: &["DFT"], def: &DftOp }];

struct DftOp;

impl OpDef for DftOp {
    fn changes(&self, _n: &Node, from: i64, to: i64) -> Option<String> {
        (from < 20 && 20 <= to).then(|| "DFT takes its axis as an input from opset 20".to_string())
    }
}
