//! libtorch backend (feature `torch`, `tch` 0.26 over PyPI torch 2.13.0): the reference math of
//! rotary-embedding-torch 0.9.1, written with libtorch ops in the package's own order (positions
//! in the input dtype, `einsum` in f32, interleaved repeat, `t·cos·scale + rotate_half(t)·sin·scale`,
//! one cast back). It is a third, independent implementation for property tests (ORT == tract
//! == libtorch) and the PyTorch-eager timing baseline. Frequencies come from libtorch too, so they
//! are torch's bit for bit (SLEEF rounding included).

use half::f16;
use ndarray::{ArrayD, IxDyn};
use rotor_builder::DType;
use rotor_builder::config::{FreqsFor, Layout, RotaryConfig, RotaryMode};
use tch::{Device, Kind, Tensor};

use crate::backend::Backend;
use crate::error::RuntimeError;
use crate::tensor::{HostTensor, NamedTensors};

fn err(e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Input { name: "torch".into(), message: e.to_string() }
}

/// The package's math for one rotary config, evaluated eagerly in libtorch.
pub struct TorchRotary {
    cfg: RotaryConfig,
    freqs: Tensor,
    xpos_base: Tensor,
}

impl TorchRotary {
    /// Build the module state (`freqs`, xPos `scale`) as `RotaryEmbedding.__init__` does, or take
    /// checkpoint `freqs`.
    pub fn new(cfg: &RotaryConfig, freqs: Option<Vec<f32>>) -> Result<TorchRotary, RuntimeError> {
        let opts = (Kind::Float, Device::Cpu);
        let spec = &cfg.freqs;
        let dim = spec.dim as i64;
        let freqs = match (freqs, &spec.custom_freqs, spec.freqs_for) {
            (Some(f), _, _) => Tensor::from_slice(&f),
            (None, Some(c), _) => Tensor::from_slice(&c.iter().map(|v| *v as f32).collect::<Vec<_>>()),
            (None, None, FreqsFor::Lang) => {
                let theta = spec.theta * spec.theta_rescale_factor.powf(spec.dim as f64 / (spec.dim as f64 - 2.0));
                let e = Tensor::arange_start_step(0, dim, 2, (Kind::Int64, Device::Cpu)).narrow(0, 0, dim / 2).to_kind(Kind::Float) / (dim as f64);
                // torch: 1. / (theta ** e), with theta a Python float
                let p = Tensor::from(theta).to_kind(Kind::Float).pow(&e);
                p.reciprocal()
            }
            (None, None, FreqsFor::Pixel) => Tensor::linspace(1.0, spec.max_freq / 2.0, dim / 2, opts) * std::f64::consts::PI,
            (None, None, FreqsFor::Constant) => Tensor::ones([spec.num_freqs as i64], opts),
        };
        // (arange(0, dim, 2) + 0.4 * dim) / (1.4 * dim)
        let xpos_base = (Tensor::arange_start_step(0, dim, 2, (Kind::Int64, Device::Cpu)) + 0.4 * spec.dim as f64) / (1.4 * spec.dim as f64);
        Ok(TorchRotary { cfg: cfg.clone(), freqs, xpos_base })
    }

    fn kind(&self) -> Kind {
        match self.cfg.common.dtype {
            DType::F16 => Kind::Half,
            DType::BF16 => Kind::BFloat16,
            _ => Kind::Float,
        }
    }

    fn seq_dim(&self) -> i64 {
        self.cfg.seq_axis()
    }

    /// `(arange(n, dtype) + offset) / interpolate_factor`.
    fn seq_pos(&self, n: i64, offset: i64) -> Tensor {
        (Tensor::arange(n, (self.kind(), Device::Cpu)) + offset) / self.cfg.interpolate_factor
    }

    /// Per-pair values `[n, rot/2]` spread over the rotated features in the layout's order.
    fn spread(&self, pairs: &Tensor) -> Tensor {
        match self.cfg.layout {
            Layout::Interleaved => pairs.repeat_interleave_self_int(2, -1, None),
            Layout::Half => Tensor::cat(&[pairs, pairs], -1),
        }
    }

    /// `forward(seq)`: `einsum('..., f -> ... f', seq.float(), freqs)`, repeated.
    fn angles(&self, seq: &Tensor) -> Tensor {
        self.spread(&seq.to_kind(Kind::Float).outer(&self.freqs))
    }

    /// `get_scale(t)`: `base ** ((t - len(t) // 2) / scale_base)`, repeated.
    fn scale(&self, t: &Tensor) -> Tensor {
        let n = t.size()[0];
        let power = (t - (n / 2)) / self.cfg.xpos_scale_base;
        self.spread(&self.xpos_base.pow(&power.unsqueeze(-1)))
    }

    fn rotate_half(&self, x: &Tensor) -> Tensor {
        let d = *x.size().last().unwrap_or(&0);
        match self.cfg.layout {
            Layout::Interleaved => {
                let mut shape = x.size();
                shape.pop();
                shape.extend([d / 2, 2]);
                let pairs = x.reshape(&shape);
                let (x1, x2) = (pairs.select(-1, 0), pairs.select(-1, 1));
                Tensor::stack(&[-x2, x1], -1).reshape(x.size())
            }
            Layout::Half => Tensor::cat(&[-x.narrow(-1, d / 2, d / 2), x.narrow(-1, 0, d / 2)], -1),
        }
    }

    /// `apply_rotary_emb(freqs, t, start_index, scale, seq_dim)`.
    fn apply(&self, angles: &Tensor, t: &Tensor, scale: Option<&Tensor>) -> Tensor {
        let (angles, scale) = if self.seq_dim() == -3 {
            (angles.unsqueeze(1), scale.map(|s| s.unsqueeze(1)))
        } else {
            (angles.shallow_clone(), scale.map(Tensor::shallow_clone))
        };
        let rot = *angles.size().last().unwrap_or(&0);
        let d = *t.size().last().unwrap_or(&0);
        let s = self.cfg.start_index as i64;
        let left = t.narrow(-1, 0, s);
        let mid = t.narrow(-1, s, rot);
        let right = t.narrow(-1, s + rot, d - s - rot);
        let (cos, sin) = (angles.cos(), angles.sin());
        let (a, b) = (&mid * &cos, self.rotate_half(&mid) * &sin);
        let out = match &scale {
            Some(sc) => a * sc + b * sc,
            None => a + b,
        };
        Tensor::cat(&[left, out.to_kind(t.kind()), right], -1).to_kind(t.kind())
    }

    /// `rotate_queries_or_keys(t, offset, scale)`.
    fn rotate(&self, t: &Tensor, offset: i64, scale: Option<&Tensor>) -> Tensor {
        let n = t.size()[(t.dim() as i64 + self.seq_dim()) as usize];
        let seq = self.seq_pos(n, offset);
        self.apply(&self.angles(&seq), t, scale)
    }

    /// Evaluate the config's mode on named inputs.
    pub fn forward(&self, inputs: &[(String, Tensor)]) -> Result<Vec<(String, Tensor)>, RuntimeError> {
        let get =
            |n: &str| inputs.iter().find(|(k, _)| k == n).map(|(_, t)| t).ok_or_else(|| RuntimeError::Input { name: n.into(), message: "not provided".into() });
        let offset = if self.cfg.offset_input { get("offset")?.int64_value(&[]) } else { 0 };
        let nd = |t: &Tensor| t.size()[(t.dim() as i64 + self.seq_dim()) as usize];
        Ok(match self.cfg.mode {
            RotaryMode::Single => vec![("x_rot".into(), self.rotate(get("x")?, offset, None))],
            RotaryMode::Qk if self.cfg.use_xpos => {
                let (q, k) = (get("q")?, get("k")?);
                let seq = self.seq_pos(nd(q), 0);
                let angles = self.angles(&seq);
                let scale = self.scale(&seq).to_kind(q.kind());
                let inv = scale.pow_tensor_scalar(-1);
                vec![("q_rot".into(), self.apply(&angles, q, Some(&scale))), ("k_rot".into(), self.apply(&angles, k, Some(&inv)))]
            }
            RotaryMode::Qk => vec![("q_rot".into(), self.rotate(get("q")?, offset, None)), ("k_rot".into(), self.rotate(get("k")?, offset, None))],
            RotaryMode::CachedQk => {
                let (q, k) = (get("q")?, get("k")?);
                let (nq, nk) = (nd(q), nd(k));
                let (q_scale, k_scale) = if self.cfg.use_xpos {
                    let seq = self.seq_pos(nk, 0);
                    (Some(self.scale(&seq.narrow(0, nk - nq, nq)).to_kind(q.kind())), Some(self.scale(&seq).to_kind(q.kind()).pow_tensor_scalar(-1)))
                } else {
                    (None, None)
                };
                vec![("q_rot".into(), self.rotate(q, nk - nq + offset, q_scale.as_ref())), ("k_rot".into(), self.rotate(k, 0, k_scale.as_ref()))]
            }
        })
    }
}

impl TorchRotary {
    /// Check user inputs against the config before libtorch sees them (its ops abort the
    /// process on shape errors): rank, feature size, element type, sequence lengths, offset.
    fn validate(&self, inputs: &NamedTensors) -> Result<(), RuntimeError> {
        let names: &[&str] = match self.cfg.mode {
            RotaryMode::Single => &["x"],
            _ => &["q", "k"],
        };
        let bad = |n: &str, m: String| RuntimeError::Input { name: n.into(), message: m };
        let mut lens = Vec::new();
        for n in names {
            let (_, t) = inputs.iter().find(|(k, _)| k == n).ok_or_else(|| bad(n, "not provided".into()))?;
            let shape = t.shape();
            if shape.len() != self.cfg.rank {
                return Err(bad(n, format!("has rank {}, the config says rank {}", shape.len(), self.cfg.rank)));
            }
            if shape.last() != Some(&self.cfg.head_dim) {
                return Err(bad(n, format!("has {} features, the config says head_dim {}", shape.last().copied().unwrap_or(0), self.cfg.head_dim)));
            }
            if !matches!(t, HostTensor::F32(_) | HostTensor::F16(_) | HostTensor::BF16(_)) {
                return Err(bad(n, format!("is {}, a float tensor is needed", t.type_text())));
            }
            let seq_axis = (shape.len() as i64 + self.seq_dim()) as usize;
            lens.push(shape[seq_axis]);
        }
        // rotate_queries_and_keys computes one set of angles and xPos scales from q's length
        // and applies it to k too (the graph gives q and k one length symbol, N).
        if self.cfg.mode == RotaryMode::Qk && self.cfg.use_xpos && lens[0] != lens[1] {
            return Err(bad("k", format!("has {} positions and q has {}: with xPos, q and k must have the same length", lens[1], lens[0])));
        }
        if self.cfg.mode == RotaryMode::CachedQk && lens[0] > lens[1] {
            return Err(bad("k", format!("has {} positions, fewer than the {} queries (cached keys need Nk >= Nq)", lens[1], lens[0])));
        }
        if self.cfg.offset_input {
            match inputs.iter().find(|(k, _)| k == "offset") {
                Some((_, HostTensor::I64(a))) if a.ndim() == 0 => {}
                Some((_, t)) => return Err(bad("offset", format!("is {}, an int64 scalar is needed", t.type_text()))),
                None => return Err(bad("offset", "not provided".into())),
            }
        }
        Ok(())
    }

    /// Wall-clock milliseconds of `iters` eager forwards on these inputs (converted once),
    /// after [`crate::WARMUP_RUNS`] warm-ups, on `threads` intra-op threads.
    pub fn time_forward(&self, inputs: &NamedTensors, iters: usize, threads: usize) -> Result<Vec<f64>, RuntimeError> {
        tch::set_num_threads(threads as i32);
        let ins: Vec<(String, Tensor)> = inputs.iter().map(|(n, t)| Ok((n.clone(), to_torch(n, t)?))).collect::<Result<_, RuntimeError>>()?;
        tch::no_grad(|| crate::time_ms(iters, || self.forward(&ins).map(drop)))
    }
}

/// The frequencies the reference uses (torch's values for the config, or the given ones).
pub fn freqs_of(t: &TorchRotary) -> Vec<f32> {
    Vec::<f32>::try_from(&t.freqs.to_kind(Kind::Float).contiguous()).unwrap_or_default()
}

fn to_torch(name: &str, t: &HostTensor) -> Result<Tensor, RuntimeError> {
    let shape: Vec<i64> = t.shape().iter().map(|d| *d as i64).collect();
    let bad = |m: &str| RuntimeError::Input { name: name.into(), message: m.into() };
    Ok(match t {
        HostTensor::F32(a) => Tensor::from_slice(a.as_slice().ok_or_else(|| bad("not contiguous"))?).reshape(&shape),
        HostTensor::F16(_) | HostTensor::BF16(_) => {
            let v: Vec<f32> = t.to_f64().into_iter().map(|x| x as f32).collect();
            let kind = if matches!(t, HostTensor::F16(_)) { Kind::Half } else { Kind::BFloat16 };
            Tensor::from_slice(&v).reshape(&shape).to_kind(kind)
        }
        HostTensor::I64(a) => Tensor::from_slice(a.as_slice().ok_or_else(|| bad("not contiguous"))?).reshape(&shape),
        HostTensor::Bool(_) => return Err(bad("bool inputs are not supported by the torch backend")),
    })
}

fn from_torch(t: &Tensor) -> Result<HostTensor, RuntimeError> {
    let shape: Vec<usize> = t.size().iter().map(|d| *d as usize).collect();
    let v: Vec<f32> = Vec::<f32>::try_from(&t.to_kind(Kind::Float).contiguous().flatten(0, -1)).map_err(err)?;
    Ok(match t.kind() {
        Kind::Half => HostTensor::F16(ArrayD::from_shape_vec(IxDyn(&shape), v.into_iter().map(f16::from_f32).collect()).map_err(err)?),
        Kind::BFloat16 => HostTensor::BF16(ArrayD::from_shape_vec(IxDyn(&shape), v.into_iter().map(half::bf16::from_f32).collect()).map_err(err)?),
        _ => HostTensor::F32(ArrayD::from_shape_vec(IxDyn(&shape), v).map_err(err)?),
    })
}

impl Backend for TorchRotary {
    fn name(&self) -> String {
        "torch".into()
    }

    fn run(&mut self, inputs: &NamedTensors) -> Result<NamedTensors, RuntimeError> {
        self.validate(inputs)?;
        let ins: Vec<(String, Tensor)> = inputs.iter().map(|(n, t)| Ok((n.clone(), to_torch(n, t)?))).collect::<Result<_, RuntimeError>>()?;
        let outs = tch::no_grad(|| self.forward(&ins))?;
        outs.iter().map(|(n, t)| Ok((n.clone(), from_torch(t)?))).collect()
    }
}

/// The libtorch backend for a model exported by rotor, from the config in its metadata
/// (`rotor.config`): rotary configs only.
pub fn from_metadata(metadata: &[(String, String)]) -> Result<TorchRotary, RuntimeError> {
    let text = metadata
        .iter()
        .find(|(k, _)| k == "rotor.config")
        .map(|(_, v)| v.as_str())
        .ok_or_else(|| RuntimeError::DeviceUnavailable("the model has no rotor.config metadata; the torch backend evaluates rotor configs".into()))?;
    match rotor_builder::config::ModelConfig::from_json_str(text).map_err(err)? {
        rotor_builder::config::ModelConfig::Rotary(c) => TorchRotary::new(&c, None),
        other => Err(RuntimeError::DeviceUnavailable(format!("the torch backend covers kind \"rotary\", not {:?}", other.kind()))),
    }
}
