//! # String ops of opset 20: `RegexFullMatch`, `StringConcat`, `StringSplit`

use super::{Entry, OpDef};

pub(super) const ENTRIES: &[Entry] = &[Entry { domain: "", ops: &["RegexFullMatch", "StringConcat", "StringSplit"], def: &Since20 }];

struct Since20;

impl OpDef for Since20 {
    fn since(&self, _op: &str) -> i64 {
        20
    }
}
