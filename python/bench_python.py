#!/usr/bin/env python3
"""Export time from Python: `rotor.export` of live modules (rotary-embedding-torch 0.9.1 RoPE
and xPos q/k, a simple-hierarchical-transformer 0.4.0 model), against torch.onnx.export of the
same rotary modules in the same run (the anchor: the exporter users have; the dynamo exporter
when onnxscript is installed). Prints medians and the ratio.

Usage (rotor installed in the venv: pip install ./bindings/python):
  python python/bench_python.py [--iters N] [--torch-iters M]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

import rotor
from rotary_embedding_torch import RotaryEmbedding
from simple_hierarchical_transformer import HierarchicalTransformer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export_torch_onnx import RopeQk, XposQk  # noqa: E402  (the anchor's modules)


def median_ms(f, iters: int) -> float:
    f()  # warm-up
    samples = []
    for _ in range(iters):
        t = time.perf_counter()
        f()
        samples.append((time.perf_counter() - t) * 1e3)
    return statistics.median(samples)


def torch_export(module: torch.nn.Module, path: Path) -> None:
    q = torch.randn(1, 8, 64, 64)
    dims = {0: torch.export.Dim("B"), 2: torch.export.Dim("N")}
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (q, q), str(path), input_names=["q", "k"], output_names=["q_rot", "k_rot"], dynamic_shapes=(dims, dims), dynamo=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--torch-iters", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(1)
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)  # "torchvision is not installed" notes
    rope, xpos = RotaryEmbedding(dim=64), RotaryEmbedding(dim=64, use_xpos=True)
    with contextlib.redirect_stdout(io.StringIO()):
        hier = HierarchicalTransformer(num_tokens=256, dim=(128, 256), depth=4, seq_len=1024, dim_head=32, heads=4, hierarchies=(1, 4), window_sizes=(32, None))
    params = sum(p.numel() for p in hier.parameters())
    rows = [
        ("rotor.export RoPE q/k (live module)", median_ms(lambda: rotor.export(rope, mode="qk"), a.iters)),
        ("rotor.export xPos q/k (live module)", median_ms(lambda: rotor.export(xpos, mode="qk"), a.iters)),
        ("rotor.export xPos q/k fused", median_ms(lambda: rotor.export(xpos, mode="qk", form="fused"), a.iters)),
        (f"rotor.export HierarchicalTransformer ({params / 1e6:.1f} M params)", median_ms(lambda: rotor.export(hier), max(3, a.iters // 10))),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        anchor = [
            ("torch.onnx.export RoPE q/k (dynamo)", median_ms(lambda: torch_export(RopeQk(64), Path(tmp) / "r.onnx"), a.torch_iters)),
            ("torch.onnx.export xPos q/k (dynamo)", median_ms(lambda: torch_export(XposQk(64), Path(tmp) / "x.onnx"), a.torch_iters)),
        ]
    print(f"rotor {rotor.__version__}, torch {torch.__version__}, 1 thread; medians")
    for name, ms in rows + anchor:
        print(f"  {name:<58} {ms:>10.2f} ms")
    print(f"  ratio torch.onnx.export / rotor.export, RoPE q/k: {anchor[0][1] / rows[0][1]:.0f}x; xPos q/k: {anchor[1][1] / rows[1][1]:.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
