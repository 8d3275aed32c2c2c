//! # Image ops (opset facts only): `GridSample` (modes renamed in 20), `RoiAlign` (default
//! coordinate mode changed in 16), `Resize` (`half_pixel_symmetric` from 19), `AffineGrid` and
//! `ImageDecoder` (20)

use super::{Entry, OpDef};
use crate::{Attr, Graph, Node};

pub(super) const ENTRIES: &[Entry] = &[
    Entry { domain: "", ops: &["GridSample"], def: &GridSampleOp },
    Entry { domain: "", ops: &["RoiAlign"], def: &RoiAlignOp },
    Entry { domain: "", ops: &["Resize"], def: &ResizeOp },
    Entry { domain: "", ops: &["AffineGrid", "ImageDecoder"], def: &Since20 },
];

struct GridSampleOp;
struct RoiAlignOp;
struct ResizeOp;
struct Since20;

impl OpDef for GridSampleOp {
    fn changes(&self, _n: &Node, from: i64, to: i64) -> Option<String> {
        (from < 20 && 20 <= to).then(|| "GridSample renamed its interpolation modes in opset 20".to_string())
    }
}

impl OpDef for RoiAlignOp {
    fn changes(&self, n: &Node, from: i64, to: i64) -> Option<String> {
        (from < 16 && 16 <= to && n.attr("coordinate_transformation_mode").is_none())
            .then(|| "RoiAlign's default coordinate_transformation_mode changed in opset 16".to_string())
    }
}

impl OpDef for ResizeOp {
    fn newer_form(&self, _g: &Graph, n: &Node, to: i64) -> Option<String> {
        (matches!(n.attr("coordinate_transformation_mode"), Some(Attr::Str(m)) if m == "half_pixel_symmetric") && to < 19)
            .then(|| "Resize uses an attribute or mode of opset 19".to_string())
    }
}

impl OpDef for Since20 {
    fn since(&self, _op: &str) -> i64 {
        20
    }
}
