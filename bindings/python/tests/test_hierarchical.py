"""rotor.export of live simple_hierarchical_transformer.HierarchicalTransformer modules: kwargs
read from the module, weights from its in-memory state_dict (trained-like: perturbed after
construction, so no config could rebuild them), logits compared with the module's at several
lengths in ONNX Runtime."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
import torch
from conftest import REPO, Session, seed, worst

import rotor
from rotary_embedding_torch import RotaryEmbedding
from simple_hierarchical_transformer import HierarchicalTransformer


def fresh_caches(model: torch.nn.Module) -> None:
    """Empty every RotaryEmbedding cache: the package's xPos cache makes a call's centre
    depend on the longest length seen before (the goldens use a fresh model per length)."""
    for m in model.modules():
        if isinstance(m, RotaryEmbedding):
            m.cached_freqs_seq_len = 0
            if m.use_xpos:
                m.cached_scales_seq_len = 0


def trained_like(model: torch.nn.Module, s: int) -> None:
    gen = torch.Generator().manual_seed(s)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=gen))


def check(model: HierarchicalTransformer, lengths: list[int], s: int) -> float:
    model.eval()
    data = rotor.export(model)
    sess = Session(data)
    gen = torch.Generator().manual_seed(s)
    num_tokens = model.token_emb.num_embeddings
    w = 0.0
    for n in lengths:
        ids = torch.randint(0, num_tokens, (2, n), generator=gen)
        fresh_caches(model)
        with torch.no_grad():
            want = model(ids).numpy()
        got = sess.run({sess.inputs[0]: ids.numpy()})[sess.outputs[0]]
        w = max(w, worst(got, want))
    return w


def build(kwargs: dict) -> HierarchicalTransformer:
    with contextlib.redirect_stdout(io.StringIO()):  # the package's window-reset notice
        return HierarchicalTransformer(**kwargs)


def kwargs_of(config: dict) -> dict:
    return {k: (tuple(v) if isinstance(v, list) else v) for k, v in config.items() if k not in ("kind", "dtype", "opset", "form")}


def test_the_readme_model() -> None:
    torch.manual_seed(0)
    model = build(dict(num_tokens=64, dim=(32, 48), depth=2, seq_len=64, dim_head=16, heads=2, hierarchies=(1, 4), window_sizes=(16, None)))
    trained_like(model, seed())
    assert check(model, [1, 5, 33, 64], seed()) <= 1.0


@pytest.mark.parametrize("i", range(4))
def test_random_configs(i: int, hier_goldens) -> None:
    # held-out style configs drawn per run (scripts/test.sh prints the seed)
    case = hier_goldens.random_cases(4, seed() + 17)[i]
    torch.manual_seed(case["seed"])
    model = build(kwargs_of(case["config"]))
    trained_like(model, case["seed"] + 1)
    n = case["config"]["seq_len"]
    assert check(model, sorted({1, 3, n // 2 + 1, n}), case["seed"]) <= 1.0, json.dumps(case["config"])


def test_committed_cases(hier_goldens) -> None:
    cases = json.loads((REPO / "golden/hierarchical/cases.json").read_text())["cases"]
    assert len(cases) >= 3
    for case in cases[:3]:
        torch.manual_seed(case.get("seed", 0))
        model = build(kwargs_of(case["config"]))
        trained_like(model, 5)
        assert check(model, case["lengths"][:3], 7) <= 1.0, case["name"]


def test_kwargs_are_read_from_the_module() -> None:
    model = build(dict(num_tokens=40, dim=24, depth=1, seq_len=32, dim_head=8, heads=3, ff_mult=1.5, hierarchies=(1, 2), window_sizes=(0, 8)))
    import onnx

    meta = {p.key: p.value for p in onnx.load_from_string(rotor.export(model)).metadata_props}
    config = json.loads(meta["rotor.config"])
    # hierarchy 0 has no attention (window 0): its heads and dim_head are not in the module
    assert config["heads"][1] == 3 and config["dim_head"][1] == 8
    assert config["window_sizes"] == [0, 8] and config["hierarchies"] == [1, 2]
    assert int(24 * config["ff_mult"][0]) == 36
