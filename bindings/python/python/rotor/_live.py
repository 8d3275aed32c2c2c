"""Read live PyTorch modules into rotor's config (the CLI's JSON keys) and tensors.

Nothing here imports torch unless a tensor must be read, and the module classes are
recognised by name (``rotary_embedding_torch.RotaryEmbedding`` and subclasses,
``simple_hierarchical_transformer.HierarchicalTransformer``), so importing rotor never imports
either package.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

from ._errors import ConfigError

#: (name, dtype name, shape, little-endian bytes), as the native module takes tensors.
RawTensor = tuple[str, str, list[int], bytes]


def _is(obj: Any, module: str, name: str) -> bool:
    return any(c.__name__ == name and c.__module__.split(".")[0] == module for c in type(obj).__mro__)


def describe(obj: Any, weights: Any, options: dict[str, Any]) -> tuple[dict[str, Any], list[RawTensor] | None, str | None, list[str]]:
    """``(config, tensors, weights_path, notes)`` for :func:`rotor.export`."""
    if isinstance(obj, Mapping):
        config = dict(obj)
        config.update(options)
        tensors, path = _weights(weights)
        return config, tensors, path, []
    if weights is not None:
        raise ConfigError("weights: only a config dict takes weights= (a live module's weights are read from the module)")
    if _is(obj, "rotary_embedding_torch", "RotaryEmbedding"):
        return _rotary(obj, options)
    if _is(obj, "simple_hierarchical_transformer", "HierarchicalTransformer"):
        return _hierarchical(obj, options)
    raise TypeError(
        f"export: expected a rotary_embedding_torch.RotaryEmbedding, a simple_hierarchical_transformer.HierarchicalTransformer "
        f"or a config dict, got {type(obj).__module__}.{type(obj).__qualname__}"
    )


def _merge(config: dict[str, Any], options: dict[str, Any], what: str, overridable: tuple[str, ...] = ()) -> dict[str, Any]:
    for k, v in options.items():
        if k in config and k not in overridable and config[k] != v:
            raise ConfigError(f"config field `{k}`: is read from the {what} ({config[k]!r}); it cannot be set to {v!r} here")
        config[k] = v
    return config


def raw_tensor(name: str, t: Any) -> RawTensor:
    """A torch tensor (or anything ``torch.as_tensor`` takes) as the native module takes it."""
    import torch

    t = torch.as_tensor(t).detach().to("cpu").contiguous()
    dtype = str(t.dtype).removeprefix("torch.")
    shape = [int(s) for s in t.shape]
    flat = t.reshape(-1)
    if flat.dtype == torch.bool:
        flat = flat.to(torch.uint8)
    try:
        data = flat.view(torch.uint8).numpy().tobytes()
    except RuntimeError:  # torch without numpy
        data = bytes(flat.view(torch.uint8).tolist())
    return (name, dtype, shape, data)


def _weights(weights: Any) -> tuple[list[RawTensor] | None, str | None]:
    if weights is None:
        return None, None
    if isinstance(weights, (str, os.PathLike)):
        p = os.fspath(weights)
        if not os.path.isfile(p):
            raise ConfigError(f"weights: no such file: {p}")
        return None, str(p)
    if isinstance(weights, Mapping):
        return [raw_tensor(str(k), v) for k, v in weights.items()], None
    raise ConfigError(f"weights: expected a safetensors path or a state_dict (a mapping of names to tensors), got {type(weights).__name__}")


def _rotary(m: Any, options: dict[str, Any]) -> tuple[dict[str, Any], list[RawTensor], None, list[str]]:
    options = dict(options)
    kind = options.pop("kind", "rotary")
    if kind not in ("rotary", "axial_rotary"):
        raise ConfigError(f"config field `kind`: a RotaryEmbedding exports as rotary or axial_rotary, not {kind!r}")
    freqs = m.freqs.detach()
    # the constructor's `dim` is not kept as an attribute; the cos/sin cache has that width
    dim = int(m.cached_freqs.shape[-1])
    config: dict[str, Any] = {"kind": kind, "dim": dim, "freqs_for": str(m.freqs_for)}
    n = int(freqs.numel())
    if m.freqs_for == "constant":
        config["num_freqs"] = n
    elif n != dim // 2:
        # custom_freqs of another count than dim // 2: they are used as given
        config["custom_freqs"] = [float(f) for f in freqs.reshape(-1).tolist()]
    tensors = [raw_tensor("freqs", freqs)]
    notes: list[str] = []
    if kind == "rotary":
        config["use_xpos"] = bool(m.use_xpos)
        config["interpolate_factor"] = float(m.interpolate_factor)
        config["seq_before_head_dim"] = bool(m.seq_before_head_dim)
        if m.use_xpos:
            config["xpos_scale_base"] = float(m.scale_base)
            tensors.append(raw_tensor("scale", m.scale))
            cached = int(getattr(m, "cached_scales_seq_len", 0))
            if cached > 0:
                notes.append(
                    f"this RotaryEmbedding holds xPos scales cached at length {cached}: the module serves shorter "
                    f"calls of rotate_queries_and_keys from that cache (centre {cached // 2}), the exported graph "
                    f"centres each call on its own length, as a fresh module does"
                )
    return _merge(config, options, "RotaryEmbedding"), tensors, None, notes


def _ff_mult(dim: int, inner: int) -> float:
    """A multiplier m with int(dim * m) == inner (the package's FeedForward width)."""
    m = inner / dim
    while int(dim * m) < inner:
        m = math.nextafter(m, math.inf)
    return m


def _hierarchical(m: Any, options: dict[str, Any]) -> tuple[dict[str, Any], list[RawTensor], None, list[str]]:
    hierarchies = [int(h) for h in m.hierarchies]
    dims = [int(d) for d in m.dims]
    window_sizes: list[int | None] = []
    dim_head: list[int] = []
    heads: list[int] = []
    ff_mult: list[float] = []
    first_layer = m.layers[0]
    for i, block in enumerate(first_layer):
        attn = block.attn
        if attn is None:
            window_sizes.append(0)
            dim_head.append(64)
            heads.append(8)
        else:
            h = int(attn.heads)
            inner = int(attn.to_qkv.weight.shape[0]) // 3
            heads.append(h)
            dim_head.append(inner // h)
            window_sizes.append(int(attn.window_size) if hasattr(attn, "window_size") else None)
        linears = [mod for mod in block.ff.net if hasattr(mod, "weight") and getattr(mod.weight, "ndim", 0) == 2]
        ff_mult.append(_ff_mult(dims[i], int(linears[0].weight.shape[0])))
    config: dict[str, Any] = {
        "kind": "hierarchical_transformer",
        "num_tokens": int(m.token_emb.num_embeddings),
        "dim": dims,
        "depth": len(m.layers),
        "seq_len": int(m.seq_len),
        "dim_head": dim_head,
        "heads": heads,
        "ff_mult": ff_mult,
        "hierarchies": hierarchies,
        "window_sizes": window_sizes,
        "hierarchical_stride": [int(s) for s in m.h_strides],
        "hierarchy_merge_all": bool(m.hierarchy_merge_all),
        "predict_hierarchy": hierarchies[int(m.predict_hierarchy_index)],
        "predict_use_all_hierarchy": bool(m.predict_use_all_hierarchy),
    }
    tensors = [raw_tensor(k, v) for k, v in m.state_dict().items()]
    return _merge(config, options, "HierarchicalTransformer"), tensors, None, []
