"""Shared helpers of rotor's Python tests: the reference packages' goldens, ONNX Runtime
sessions (the onnxruntime package's Python API, not rotor's), and rotor's parity tolerance."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[3]


def load_script(path: Path, name: str) -> ModuleType:
    """Import one of the repository's golden scripts (golden/*/make_goldens.py) as a module."""
    sys.path.insert(0, str(path.parent.parent))  # golden/golden_check.py
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def rotary_goldens() -> ModuleType:
    return load_script(REPO / "golden/rotary/make_goldens.py", "rotary_make_goldens")


@pytest.fixture(scope="session")
def hier_goldens() -> ModuleType:
    return load_script(REPO / "golden/hierarchical/make_goldens.py", "hier_make_goldens")


def tolerance(dtype: np.dtype) -> tuple[float, float]:
    """rotor's parity tolerance (atol, rtol): |a - b| <= atol + rtol * |b|."""
    return (2e-3, 4e-3) if dtype == np.float16 else (1e-4, 1e-4)


def worst(actual: np.ndarray, expected: np.ndarray) -> float:
    """The largest |a - b| / (atol + rtol * |b|): <= 1 is within tolerance."""
    assert actual.shape == expected.shape, f"shape {actual.shape} vs expected {expected.shape}"
    atol, rtol = tolerance(expected.dtype)
    a, b = actual.astype(np.float64), expected.astype(np.float64)
    assert np.isfinite(a).all(), "non-finite output"
    return float((np.abs(a - b) / (atol + rtol * np.abs(b))).max(initial=0.0))


class Session:
    """An ONNX Runtime CPU session of model bytes, run with numpy inputs by name."""

    def __init__(self, model: bytes) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        self.s = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.s.get_inputs()]
        self.outputs = [o.name for o in self.s.get_outputs()]

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return dict(zip(self.outputs, self.s.run(None, {k: feeds[k] for k in self.inputs})))


def seed() -> int:
    """The run's seed (scripts/test.sh draws one per run and prints it; ROTOR_SEED reproduces)."""
    return int(os.environ.get("ROTOR_SEED", "20261124"))
