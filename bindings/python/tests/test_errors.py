"""Bad input raises a Python exception naming the field, key or argument; nothing is written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import rotor
from rotary_embedding_torch import RotaryEmbedding


def test_config_errors_name_the_field(tmp_path: Path) -> None:
    out = tmp_path / "x.onnx"
    with pytest.raises(rotor.ConfigError, match="`dim`") as e:
        rotor.export({"kind": "rotary", "dim": 33}, out)
    assert isinstance(e.value, ValueError) and not out.exists()
    with pytest.raises(rotor.ConfigError, match="`mode`"):
        rotor.export({"kind": "rotary", "dim": 8, "mode": "sideways"})
    with pytest.raises(rotor.ConfigError, match="`kind`"):
        rotor.export({"kind": "rotary_embedding", "dim": 8})
    with pytest.raises(rotor.ConfigError, match="`dimm`"):
        rotor.export({"kind": "rotary", "dim": 8, "dimm": 8})
    with pytest.raises(rotor.ConfigError, match="`dtype`"):
        rotor.export(RotaryEmbedding(dim=8), dtype="float8")


def test_weight_errors_name_the_key() -> None:
    with pytest.raises(rotor.ConfigError, match="`freqs`"):
        rotor.export({"kind": "rotary", "dim": 8}, weights={"freqs": torch.ones(3)})
    with pytest.raises(rotor.ConfigError, match="freqs"):
        rotor.export({"kind": "rotary", "dim": 8}, weights={"other": torch.ones(4)})
    with pytest.raises(rotor.ConfigError, match="no such file"):
        rotor.export({"kind": "rotary", "dim": 8}, weights="missing.safetensors")
    with pytest.raises(rotor.ConfigError, match="only a config dict"):
        rotor.export(RotaryEmbedding(dim=8), weights={"freqs": torch.ones(4)})
    with pytest.raises(rotor.ConfigError, match="hierarchical_transformer needs the checkpoint"):
        rotor.export({"kind": "hierarchical_transformer", "num_tokens": 10, "dim": 8, "depth": 1})


def test_module_keys_cannot_be_overridden() -> None:
    with pytest.raises(rotor.ConfigError, match="`use_xpos`: is read from the RotaryEmbedding"):
        rotor.export(RotaryEmbedding(dim=8, use_xpos=True), use_xpos=False)
    # the same value is fine
    rotor.export(RotaryEmbedding(dim=8), use_xpos=False)


def test_wrong_types() -> None:
    with pytest.raises(TypeError, match="RotaryEmbedding"):
        rotor.export(torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="onnx.ModelProto"):
        rotor.graph_text(42)
    with pytest.raises(FileNotFoundError):
        rotor.optimize("no/such/model.onnx")


def test_model_and_argument_errors(tmp_path: Path) -> None:
    with pytest.raises(rotor.ModelError, match="not an ONNX model"):
        rotor.optimize(b"\x00garbage\xff")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not onnx")
    with pytest.raises(rotor.ModelError, match="bad.onnx"):
        rotor.graph_text(bad)
    model = rotor.export(RotaryEmbedding(dim=8))
    with pytest.raises(rotor.ConfigError, match='passes "fuse-rop": unknown pass'):
        rotor.optimize(model, passes=["fuse-rop"])
    with pytest.raises(rotor.ConfigError, match="rope_target"):
        rotor.optimize(model, rope_target="onnx")
    with pytest.raises(rotor.ConfigError, match='target "trt"'):
        rotor.optimize(model, target="trt")
    with pytest.raises(rotor.ConfigError, match="no symbolic input dim"):
        rotor.optimize(model, verify=True, dims={"Q": 3})
    with pytest.raises(rotor.ConfigError, match="integers >= 1"):
        rotor.optimize(model, verify=True, dims={"N": [0]})
    out = tmp_path / "never.onnx"
    with pytest.raises(rotor.ConfigError):
        rotor.optimize(model, out, passes=["nope"])
    assert not out.exists()


def test_lint_error_carries_the_report(tmp_path: Path) -> None:
    # a fused export is opset 23; `portable` loads up to 17, and dce alone does not lower it
    fused = rotor.export(RotaryEmbedding(dim=8), form="fused")
    with pytest.raises(rotor.LintError, match="opset 23") as e:
        rotor.optimize(fused, tmp_path / "t.onnx", target="portable", passes=["dce"])
    assert e.value.report["lint"] and (tmp_path / "t.onnx").is_file()


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env}, timeout=120)


def test_verify_without_onnxruntime() -> None:
    code = (
        "import rotor\n"
        "m = rotor.export({'kind': 'rotary', 'dim': 8})\n"
        "try:\n    rotor.optimize(m, verify=True)\nexcept rotor.RuntimeUnavailableError as e:\n    print('unavailable:', e)\n"
    )
    r = run_python(code, ORT_DYLIB_PATH="/nonexistent/libonnxruntime.so")
    assert "unavailable:" in r.stdout and "/nonexistent/libonnxruntime.so" in r.stdout, r.stdout + r.stderr


def test_import_needs_neither_torch_nor_onnxruntime() -> None:
    r = run_python("import sys, rotor\nrotor.export({'kind': 'rotary', 'dim': 8})\nprint(sorted(m for m in ('torch', 'onnxruntime') if m in sys.modules))")
    assert r.stdout.strip() == "[]", r.stdout + r.stderr
