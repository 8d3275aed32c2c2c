"""rotor.optimize (the `rotor opt` pipeline) from Python: RoPE fused in a model rotor exported
decomposed and in torch.onnx.export models, verified in ONNX Runtime against the module."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import Session, worst

import rotor
from rotary_embedding_torch import RotaryEmbedding


@pytest.fixture()
def decomposed_qk() -> tuple[bytes, RotaryEmbedding]:
    m = RotaryEmbedding(dim=16)
    return rotor.export(m, mode="qk", head_dim=16, layout="half"), m


def test_fuses_an_exported_model(decomposed_qk, tmp_path: Path) -> None:
    model, m = decomposed_qk
    out = tmp_path / "fused.onnx"
    report = rotor.optimize(model, out, verify=True, dims={"N": [1, 9, 300]})
    fuse = next(p for p in report["passes"] if p["name"] == "fuse_rope")
    assert fuse["rewrites"] == 2, report["passes"]
    assert dict(report["ops_after"]).get("RotaryEmbedding") == 2
    assert "model" not in report and out.is_file()
    assert {v["binding"].split()[-1] for v in report["verify"]} == {"N=1", "N=9", "N=300"}
    assert all(v["ok"] for v in report["verify"])
    # and it still computes what the package does (layout half: pairs (i, i + 8))
    perm = np.array([j // 2 + (8 if j % 2 else 0) for j in range(16)])
    q = torch.randn(2, 3, 40, 16)
    with torch.no_grad():
        want = m.rotate_queries_or_keys(q[..., perm]).numpy()[..., np.argsort(perm)]
    got = Session(out.read_bytes()).run({"q": q.numpy(), "k": q.numpy()})
    assert worst(got["q_rot"], want) <= 1.0


def test_bytes_in_bytes_out_and_passes(decomposed_qk) -> None:
    model, _ = decomposed_qk
    same = rotor.optimize(model, passes=["none"])
    assert rotor.diff(same["model"], model) == "no differences\n"
    lowered = rotor.optimize(rotor.optimize(model)["model"], passes="lower-rope,dce", rope_target="decomposed")
    assert "RotaryEmbedding" not in dict(lowered["ops_after"])
    d = rotor.diff(model, rotor.optimize(model)["model"])
    assert d.endswith(" difference(s)\n") and "RotaryEmbedding" in d


def test_modelproto_input_and_targets(decomposed_qk) -> None:
    import onnx

    model, _ = decomposed_qk
    report = rotor.optimize(onnx.load_from_string(model), target="ort-1.22", verify=True)
    assert report["target"] == "ort-1.22" and report["lint"] == []
    assert report["rope_target"] == "com.microsoft"
    assert set(rotor.targets()) >= {"ort", "ort-1.22", "tract", "tensorrt-10.14", "tensorrt-10.15", "portable"}
    assert {"fuse-rope", "lower-rope", "dce", "default"} <= set(rotor.passes())


def rope_models() -> list[Path]:
    root = os.environ.get("ROTOR_ROPE_MODELS")
    return sorted(p for p in (Path(root) / "torch").iterdir() if (p / "model.onnx").is_file()) if root else []


@pytest.mark.parametrize("d", rope_models()[:3], ids=lambda p: p.name)
def test_torch_onnx_export_models(d: Path, tmp_path: Path) -> None:
    """The RoPE test models of scripts/test.sh (python/make_rope_models.py): fused and verified."""
    report = rotor.optimize(d / "model.onnx", tmp_path / "model.onnx", verify=True)
    assert report["passes"][0]["name"] == "eliminate_noops"
    assert dict(report["ops_after"]).get("RotaryEmbedding", 0) >= 1, report["rejections"][:5]
    assert (tmp_path / "model.onnx").is_file()


def test_the_rope_models_are_there() -> None:
    if os.environ.get("ROTOR_REQUIRE_ROPE_MODELS"):
        assert len(rope_models()) >= 3
