//! # Along-an-axis ops: `CumSum`, `Trilu`, `CumProd` (opset 26)
//!
//! The input's type and shape (`Trilu` needs rank 2 or more).

use super::{Entry, InferCtx, InferResult, OpDef, like_input};
use crate::error::InferError;

pub(super) const ENTRIES: &[Entry] = &[
    Entry { domain: "", ops: &["CumSum"], def: &Along { since: 1, min_rank: 0, infers: true } },
    Entry { domain: "", ops: &["Trilu"], def: &Along { since: 1, min_rank: 2, infers: true } },
    Entry { domain: "", ops: &["CumProd"], def: &Along { since: 26, min_rank: 0, infers: false } },
];

struct Along {
    since: i64,
    min_rank: usize,
    infers: bool,
}

impl OpDef for Along {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        self.infers.then(|| {
            let x = ctx.input(0, "X")?;
            if x.rank().is_some_and(|r| r < self.min_rank) {
                return Err(InferError::Rank { index: 0, expected: format!(">= {}", self.min_rank), actual: x.rank().unwrap_or(0) });
            }
            like_input(x, None)
        })
    }

    fn since(&self, _op: &str) -> i64 {
        self.since
    }
}
