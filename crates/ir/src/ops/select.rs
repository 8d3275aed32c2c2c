//! # `Where(condition, X, Y)`
//!
//! X's type over the broadcast of all three shapes; selecting between integer size values with
//! a decided condition keeps them symbolic. Exact evaluation on every element type.

use super::{Entry, InferCtx, InferResult, Inferred, OpDef, broadcast_shapes, known_shape, want_same_dtype};
use crate::error::InferError;
use crate::eval::{Arr, Data, broadcast, pick};
use crate::feat::{Analyzer, Feat, Transfer};
use crate::{DType, Dim, Graph, Node, Value};

pub(super) const ENTRIES: &[Entry] = &[Entry { domain: "", ops: &["Where"], def: &WhereOp }];

struct WhereOp;

impl OpDef for WhereOp {
    fn infer(&self, ctx: &InferCtx) -> Option<InferResult> {
        Some((|| {
            let c = ctx.input(0, "condition")?;
            let x = ctx.input(1, "X")?;
            let y = ctx.input(2, "Y")?;
            if c.dtype != DType::Bool && c.dtype != DType::Undefined {
                return Err(InferError::DType { index: 0, expected: "Bool".into(), actual: c.dtype });
            }
            want_same_dtype(x, y, 2)?;
            let (Some(sc), Some(sx), Some(sy)) = (known_shape(c), known_shape(x), known_shape(y)) else { return Ok(vec![Inferred::rankless(x.dtype)]) };
            // selecting between size values with a decided condition keeps them symbolic
            let sym = match (&c.sym_value, &x.sym_value, &y.sym_value) {
                (Some(cv), Some(xv), Some(yv)) if x.dtype.is_int() => {
                    let n = cv.len().max(xv.len()).max(yv.len());
                    let at = |v: &[Dim], i: usize| v.get(if v.len() == 1 { 0 } else { i }).cloned();
                    (0..n)
                        .map(|i| match at(cv, i)?.fixed()? {
                            0 => at(yv, i),
                            _ => at(xv, i),
                        })
                        .collect::<Option<Vec<Dim>>>()
                        .filter(|_| [cv.len(), xv.len(), yv.len()].iter().all(|l| *l == n || *l == 1))
                }
                _ => None,
            };
            Ok(vec![Inferred::new(x.dtype, broadcast_shapes(&[sc, sx, sy])?).with_value(sym)])
        })())
    }

    fn eval(&self, _n: &Node, ins: &[Option<Arr>], _out: DType) -> Option<Vec<Arr>> {
        let arg = |i: usize| ins.get(i).and_then(Option::as_ref);
        let (c, a, b) = (arg(0)?, arg(1)?, arg(2)?);
        let Data::B(cv) = &c.data else { return None };
        let dims = broadcast(&[&c.dims, &a.dims, &b.dims])?;
        let len: usize = dims.iter().product();
        let order_a: Vec<usize> = (0..len).map(|i| Arr::index_of(&a.dims, &dims, i)).collect();
        let order_b: Vec<usize> = (0..len).map(|i| Arr::index_of(&b.dims, &dims, i)).collect();
        let (pa, pb) = (pick(&a.data, &order_a), pick(&b.data, &order_b));
        let cond: Vec<bool> = (0..len).map(|i| cv[Arr::index_of(&c.dims, &dims, i)]).collect();
        let data = match (pa, pb) {
            (Data::F(p), Data::F(q)) => Data::F(cond.iter().zip(p.iter().zip(q)).map(|(c, (p, q))| if *c { *p } else { q }).collect()),
            (Data::I(p), Data::I(q)) => Data::I(cond.iter().zip(p.iter().zip(q)).map(|(c, (p, q))| if *c { *p } else { q }).collect()),
            (Data::B(p), Data::B(q)) => Data::B(cond.iter().zip(p.iter().zip(q)).map(|(c, (p, q))| if *c { *p } else { q }).collect()),
            _ => return None,
        };
        Some(vec![Arr { dtype: a.dtype, dims, data }])
    }

    fn feat(&self, a: &mut Analyzer, g: &Graph, n: &Node, _v: Value) -> Transfer {
        if !a.table() {
            return Transfer::Opaque;
        }
        let fs: Option<Vec<Feat>> = n.inputs.iter().map(|i| i.and_then(|i| a.feat(g, i))).collect();
        match fs {
            Some(fs) => a.combine("Where", &fs).into(),
            None => Transfer::Unknown,
        }
    }
}
