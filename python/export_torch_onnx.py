#!/usr/bin/env python3
"""The baseline of `rotor bench rotary`: the same RoPE and xPos q/k modules of
rotary-embedding-torch 0.9.1 exported by torch.onnx.export (pinned torch 2.13.0), with dynamic
batch and sequence axes, into OUT_DIR/torch_rope_qk.onnx and OUT_DIR/torch_xpos_qk.onnx.
Uses the dynamo exporter when onnxscript is installed, else the TorchScript exporter
(dynamo=False), and says which. Prints node counts and export times."""

import sys
import time
from pathlib import Path

import onnx
import torch
from torch import nn

from rotary_embedding_torch import RotaryEmbedding


class RopeQk(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.rot = RotaryEmbedding(dim)

    def forward(self, q, k):
        return self.rot.rotate_queries_or_keys(q), self.rot.rotate_queries_or_keys(k)


class XposQk(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.rot = RotaryEmbedding(dim, use_xpos=True)

    def forward(self, q, k):
        return self.rot.rotate_queries_and_keys(q, k)


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "target/bench")
    out.mkdir(parents=True, exist_ok=True)
    try:
        import onnxscript  # noqa: F401
        dynamo = True
    except ImportError:
        dynamo = False
    q = torch.randn(1, 8, 1024, 64)
    k = torch.randn(1, 8, 1024, 64)
    for name, module in [("torch_rope_qk", RopeQk(64)), ("torch_xpos_qk", XposQk(64))]:
        path = out / f"{name}.onnx"
        t = time.perf_counter()
        kwargs = {"dynamic_axes": {"q": {0: "B", 2: "N"}, "k": {0: "B", 2: "N"}, "q_rot": {0: "B", 2: "N"}, "k_rot": {0: "B", 2: "N"}}} if not dynamo else {"dynamic_shapes": ({0: torch.export.Dim("B"), 2: torch.export.Dim("N")}, {0: torch.export.Dim("B"), 2: torch.export.Dim("N")})}
        torch.onnx.export(module.eval(), (q, k), str(path), input_names=["q", "k"], output_names=["q_rot", "k_rot"], dynamo=dynamo, **kwargs)
        dt = time.perf_counter() - t
        nodes = len(onnx.load(str(path)).graph.node)
        print(f"{name}: torch.onnx.export ({'dynamo' if dynamo else 'TorchScript'}) {dt:.2f} s, {nodes} nodes -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
