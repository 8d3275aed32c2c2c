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


def test_bad_arguments_leave_nothing_written(tmp_path: Path) -> None:
    # every argument is checked before anything is written: a dims entry naming no dim of the
    # model, a bad size, dims without verify
    src = tmp_path / "in.onnx"
    src.write_bytes(rotor.export(RotaryEmbedding(dim=8)))
    out = tmp_path / "out.onnx"
    for kwargs, match in [
        (dict(verify=True, dims={"Zz": [3]}), "no symbolic input dim"),
        (dict(verify=True, dims={"N": [0]}), "integers >= 1"),
        (dict(dims={"N": [3]}), "verify=True"),
    ]:
        with pytest.raises(rotor.ConfigError, match=match):
            rotor.optimize(src, out, **kwargs)  # type: ignore[arg-type]
        assert sorted(p.name for p in tmp_path.iterdir()) == ["in.onnx"], kwargs


def test_outputs_never_overwrite_inputs(tmp_path: Path) -> None:
    import onnx

    m = onnx.load_from_string(rotor.export(RotaryEmbedding(dim=64, use_xpos=True), mode="qk"))
    onnx.save_model(m, str(tmp_path / "a.onnx"), save_as_external_data=True, location="a.onnx.data", size_threshold=0)
    data = (tmp_path / "a.onnx.data").read_bytes()
    # the output model onto the input's external data
    with pytest.raises(rotor.ConfigError, match="external data"):
        rotor.optimize(tmp_path / "a.onnx", tmp_path / "a.onnx.data")
    assert (tmp_path / "a.onnx.data").read_bytes() == data
    # in place is the documented exception: the model and its data file are replaced together
    report = rotor.optimize(tmp_path / "a.onnx", tmp_path / "a.onnx")
    assert dict(report["ops_after"]).get("RotaryEmbedding") == 2
    assert "RotaryEmbedding" in rotor.graph_text(tmp_path / "a.onnx")
    # an export's output onto its own weights file
    w = tmp_path / "w.safetensors"
    from safetensors.torch import save_file

    save_file({"freqs": RotaryEmbedding(dim=8).freqs.detach()}, str(w))
    before = w.read_bytes()
    with pytest.raises(rotor.ConfigError, match="weights"):
        rotor.export({"kind": "rotary", "dim": 8}, w, weights=str(w))
    assert w.read_bytes() == before


def test_weights_of_other_types(tmp_path: Path) -> None:
    rot = RotaryEmbedding(dim=8)
    # integer frequencies are no weights rotor can read as floats
    with pytest.raises(rotor.ConfigError, match="`freqs`: holds int32 values"):
        rotor.export({"kind": "rotary", "dim": 8}, weights={"freqs": rot.freqs.detach().to(torch.int32)})
    # float64 ones are rounded to the graph's float32, and the export says so
    with pytest.warns(rotor.RotorWarning, match="float64 weight.*`freqs`"):
        rotor.export({"kind": "rotary", "dim": 8}, weights={"freqs": rot.freqs.detach().double()})


def test_config_keys_lists_the_keys() -> None:
    keys = rotor.config_keys("rotary")
    assert list(keys)[:4] == ["kind", "dtype", "form", "opset"]
    assert keys["theta"] == {"default": "10000.0", "derived": "", "doc": keys["theta"]["doc"]} and keys["theta"]["doc"]
    assert keys["dim"]["default"] is None and keys["dim"]["derived"] == "required"
    # every listed default is one export takes
    for key, info in keys.items():
        if info["default"] is not None and key != "fused_op":
            import json

            rotor.export({"kind": "rotary", "dim": 8, key: json.loads(info["default"])})
    assert "theta" in rotor.config_help("rotary")
    with pytest.raises(rotor.ConfigError, match="unknown"):
        rotor.config_keys("rope")


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
