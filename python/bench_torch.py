#!/usr/bin/env python3
"""PyTorch eager latency of a golden HierarchicalTransformer (the baseline of `rotor bench`).

Builds the model from a golden case's config, loads its committed state_dict, and times
`model(ids)` under torch.no_grad() in eval mode: median of --iters runs after 3 warm-ups.
Pinned environment: python/requirements.txt."""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file

from simple_hierarchical_transformer import HierarchicalTransformer

ROTOR_KEYS = {"kind", "dtype", "opset", "form"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("golden", type=Path, help="golden/hierarchical/<case>.safetensors")
    ap.add_argument("--n", type=int, default=128)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=50)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with safe_open(str(args.golden), "np") as f:
        cfg = json.loads(f.metadata()["config"])
    kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in cfg.items() if k not in ROTOR_KEYS}
    model = HierarchicalTransformer(**kwargs).eval()
    model.load_state_dict(load_file(str(args.golden).replace(".safetensors", ".weights.safetensors")))
    ids = torch.randint(0, cfg["num_tokens"], (args.batch, args.n), generator=torch.Generator().manual_seed(0))
    times = []
    with torch.no_grad():
        for i in range(args.iters + 3):
            t = time.perf_counter()
            model(ids)
            if i >= 3:
                times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    print(f"torch-eager median {statistics.median(times):.3f} ms  min {times[0]:.3f} ms  p90 {times[int(0.9 * (len(times) - 1))]:.3f} ms  ({args.iters} runs, {args.threads} thread(s), torch {torch.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
