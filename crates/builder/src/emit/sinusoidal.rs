//! # Sinusoidal absolute position encoding (`kind: "sinusoidal"`)
//!
//! Spec: Vaswani et al., *Attention Is All You Need* §3.5:
//! `PE[pos, 2i] = sin(pos / base^(2i/d))`, `PE[pos, 2i+1] = cos(pos / base^(2i/d))`
//! (`layout: "interleaved"`), or all sines then all cosines (`layout: "concat"`).
//! Opsets 17+; output float32/float16/bfloat16. The angle is formed in f64 and reduced modulo
//! 2π before the f32 `Sin`/`Cos` (within 1e-6 rad of the exact angle at any position up to
//! 2^24), then cast.
//!
//! `mode: "add"`: `x` `[B, N, d]` → `y = x · emb_scale + PE[offset .. offset+N]`;
//! `mode: "table"`: int64 `positions` `[N]` or `[B, N]` → `pe` = `PE[positions + offset]`.

use crate::DType;
use crate::Dim;
use crate::config::{SinusoidalConfig, SinusoidalLayout, SinusoidalMode};
use crate::emit::rotary::rope;
use crate::error::{BuildError, EmitError};
use crate::{Builder, Value};

/// The encoding rows for int64 positions `pos` (`[N]` or `[B, N]`): f32 `[..., d]`.
pub fn encode(g: &mut Builder, pos: Value, cfg: &SinusoidalConfig) -> Result<Value, BuildError> {
    let d = cfg.d_model;
    // 1. sin/cos of pos · inv_freq: [..., d/2]
    let tabs = rope::precise_tables(g, pos, 1.0, 1, &cfg.inv_freq())?;
    // 2. lay out: interleaved [..., d/2, 2] -> [..., d], or concat [..., d]
    match cfg.layout {
        SinusoidalLayout::Concat => g.concat("pe", &[tabs.sin, tabs.cos], -1),
        SinusoidalLayout::Interleaved => {
            let r = g.rank(tabs.sin);
            let s = g.unsqueeze("sin_pair", tabs.sin, &[r as i64])?;
            let c = g.unsqueeze("cos_pair", tabs.cos, &[r as i64])?;
            let pairs = g.concat("pairs", &[s, c], -1)?;
            let mut shape = vec![0i64; r - 1];
            shape.push(d as i64);
            g.reshape_const("pe", pairs, &shape)
        }
    }
}

/// Build the graph of a sinusoidal config.
pub fn build(cfg: &SinusoidalConfig) -> Result<crate::Graph, EmitError> {
    let dt = cfg.common.dtype;
    let mut g = Builder::new("sinusoidal", cfg.common.opset)?;
    let (main, out_name) = match cfg.mode {
        SinusoidalMode::Add => (g.input("x", dt, [Dim::sym("B"), Dim::sym("N"), Dim::Fixed(cfg.d_model as i64)])?, "y"),
        SinusoidalMode::Table => {
            let shape: Vec<Dim> = if cfg.positions_rank == 2 { vec![Dim::sym("B"), Dim::sym("N")] } else { vec![Dim::sym("N")] };
            (g.input("positions", DType::I64, shape)?, "pe")
        }
    };
    let offset = if cfg.offset_input { Some(g.input("offset", DType::I64, Vec::<Dim>::new())?) } else { None };
    let y = g.with_scope("sinusoidal", |g| -> Result<Value, BuildError> {
        // 1. positions
        let pos = match cfg.mode {
            SinusoidalMode::Add => {
                let n = g.shape_of("len", main, 1, Some(2))?;
                let n = g.squeeze("len_scalar", n, &[0])?;
                rope::position_ints(g, "pos", offset, n)?
            }
            SinusoidalMode::Table => match offset {
                Some(o) => g.add("pos", main, o)?,
                None => main,
            },
        };
        // 2. table rows, in the output type
        let pe = encode(g, pos, cfg)?;
        let pe = if dt == DType::F32 { pe } else { g.cast("pe_cast", pe, dt)? };
        // 3. add mode: x * emb_scale + pe
        match cfg.mode {
            SinusoidalMode::Table => Ok(pe),
            SinusoidalMode::Add => {
                let x = match cfg.emb_scale {
                    Some(s) => {
                        let s = g.const_scalar("emb_scale", s as f32, dt)?;
                        g.mul("scaled", main, s)?
                    }
                    None => main,
                };
                g.add("", x, pe)
            }
        }
    })?;
    g.output(out_name, y)?;
    Ok(g.finish()?)
}
