#!/usr/bin/env python3
"""Reference tensors for the two hierarchical-block helpers that have no nn.Module of their own,
computed by simple-hierarchical-transformer 0.4.0's own functions (pinned in
python/requirements.txt):
  token_shift.safetensors  `token_shift(x)` on x [2, L, 5] for L in 1, 2, 9
  axial_fold.safetensors   `pad_seq_to_multiple(x, 4)` then `rearrange(x, 'b (n c) d -> (b c) n d',
                           c=4)`, as HierarchicalBlock.forward folds, on x [2, n, 3] for n in 1, 3, 4, 9;
                           and the unfold back, `rearrange(y, '(b c) n d -> b (n c) d')[:, :n]`
Each file holds tensors `SET/x`, `SET/y` (token shift) or `SET/folded`, `SET/back` (axial), and
metadata: generated_by, case, config.

Usage: make_goldens.py [--check [--keep DIR]]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from einops import rearrange
from safetensors.numpy import save_file
from simple_hierarchical_transformer.simple_hierarchical_transformer import pad_seq_to_multiple, token_shift

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import golden_check  # noqa: E402  (golden/golden_check.py: the shared --check)

CASES = ["token_shift", "axial_fold"]


def build(name: str, out: Path) -> None:
    rng = np.random.RandomState(7 if name == "token_shift" else 11)
    tensors: dict[str, np.ndarray] = {}
    if name == "token_shift":
        config = {"function": "token_shift", "d": 5}
        for n in (1, 2, 9):
            x = rng.standard_normal((2, n, 5)).astype(np.float32)
            tensors[f"L{n}/x"] = x
            tensors[f"L{n}/y"] = np.ascontiguousarray(token_shift(torch.from_numpy(x)).numpy())
    else:
        config = {"function": "axial_fold", "a": 4, "d": 3}
        for n in (1, 3, 4, 9):
            x = rng.standard_normal((2, n, 3)).astype(np.float32)
            padded, orig = pad_seq_to_multiple(torch.from_numpy(x), 4)
            folded = rearrange(padded, "b (n c) d -> (b c) n d", c=4)
            back = rearrange(folded, "(b c) n d -> b (n c) d", c=4)[:, :orig]
            tensors[f"n{n}/x"] = x
            # einops returns views: store their values, not the underlying buffers
            tensors[f"n{n}/folded"] = np.ascontiguousarray(folded.numpy())
            tensors[f"n{n}/back"] = np.ascontiguousarray(back.numpy())
    meta = {"generated_by": "golden/functions/make_goldens.py", "case": name, "config": json.dumps(config)}
    save_file(tensors, str(out / f"{name}.safetensors"), metadata=meta)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="regenerate into a temp dir and compare with the committed files (golden/golden_check.py)")
    ap.add_argument("--keep", type=Path, help="with --check: keep the freshly computed files in this folder")
    args = ap.parse_args()
    if not args.check:
        for name in CASES:
            build(name, HERE)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in CASES:
            build(name, Path(tmp))
        return 1 if golden_check.check("function", HERE, Path(tmp), [f"{n}.safetensors" for n in CASES], args.keep) else 0


if __name__ == "__main__":
    sys.exit(main())
