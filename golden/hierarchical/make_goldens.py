#!/usr/bin/env python3
"""Reference checkpoints and logits for rotor's hierarchical_transformer graphs, computed by
simple-hierarchical-transformer itself.

Pinned environment: python/requirements.txt (simple-hierarchical-transformer==0.4.0,
local-attention==1.11.2, rotary-embedding-torch==0.9.1, torch==2.13.0).

For each case of cases.json: a seeded `HierarchicalTransformer(**kwargs)` with its norm weights
and biases perturbed (so they matter), in eval mode. Saved:
  <case>.weights.safetensors   model.state_dict() (PyTorch key names; training-only keys included)
  <case>.safetensors           n<len>/ids, n<len>/logits for every length (a fresh copy of the
                               model per length: the package's xPos scale cache makes the centre
                               depend on the longest length seen, rotor uses the current one),
                               and module/<path>/<len>/in.<i>, .../out: inputs and outputs of the
                               submodules (compressors, blocks, attention, feed-forward, merges)
                               captured with forward hooks, for per-emitter tests.
Usage: make_goldens.py [--check] [--out DIR] [--cases FILE]
       make_goldens.py --random N --seed S --out DIR   (held-out random configs)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file, save_file
from safetensors.torch import save_file as save_torch

from simple_hierarchical_transformer import HierarchicalTransformer

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import golden_check  # noqa: E402  (golden/golden_check.py: the shared --check)
GENERATED_BY = "golden/hierarchical/make_goldens.py (edit cases.json or this script, then rerun)"
ROTOR_KEYS = {"kind", "dtype", "opset", "form"}


def build_model(case: dict) -> HierarchicalTransformer:
    kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in case["config"].items() if k not in ROTOR_KEYS}
    torch.manual_seed(case.get("seed", 0))
    with contextlib.redirect_stdout(io.StringIO()):  # the window-reset notice
        model = HierarchicalTransformer(**kwargs).eval()
    gen = torch.Generator().manual_seed(case.get("seed", 0) + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            # LayerNorm weight/bias and RMSNorm gamma start at 1/0: perturb so they matter.
            if name.endswith(("gamma", "norm.weight", "norm.bias")) or ".norms." in f".{name}" or "post_token_emb_norms" in name or name.startswith("norms."):
                p.add_(0.1 * torch.randn(p.shape, generator=gen))
    return model


def module_paths(model: HierarchicalTransformer) -> dict[str, torch.nn.Module]:
    paths = {}
    for i, c in enumerate(model.compressors):
        paths[f"compressors.{i}"] = c
    for l, layer in enumerate(model.layers):
        if l > 0:
            break  # the first layer's modules are enough per emitter; the model covers the rest
        for i, blk in enumerate(layer):
            paths[f"layers.{l}.{i}"] = blk
            if blk.attn is not None:
                paths[f"layers.{l}.{i}.attn"] = blk.attn
            paths[f"layers.{l}.{i}.ff"] = blk.ff
    if len(model.hierarchical_merges) > 0:
        paths["hierarchical_merges.0"] = model.hierarchical_merges[0]
    return paths


def capture(model: HierarchicalTransformer, ids: torch.Tensor) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    hooks = []
    n = ids.shape[-1]
    for path, mod in module_paths(model).items():
        def hook(_m, inputs, output, path=path):
            flat = list(inputs[0]) if isinstance(inputs[0], (list, tuple)) else [inputs[0]]
            for i, t in enumerate(flat):
                out[f"module/{path}/n{n}/in.{i}"] = t.detach().numpy().copy()
            out[f"module/{path}/n{n}/out"] = output.detach().numpy().copy()
        hooks.append(mod.register_forward_hook(hook))
    with torch.no_grad():
        model(ids)
    for h in hooks:
        h.remove()
    return out


def build_case(case: dict, out_dir: Path) -> Path:
    model = build_model(case)
    weights_path = out_dir / f"{case['name']}.weights.safetensors"
    save_torch({k: v.contiguous() for k, v in model.state_dict().items()}, str(weights_path), metadata={"generated_by": GENERATED_BY, "case": case["name"]})
    gen = torch.Generator().manual_seed(case.get("seed", 0) + 2)
    tensors: dict[str, np.ndarray] = {}
    num_tokens = case["config"]["num_tokens"]
    for n in case["lengths"]:
        b = 2 if n <= 64 else 1
        ids = torch.randint(0, num_tokens, (b, n), generator=gen)
        fresh = build_model(case)  # same seed: identical weights, empty caches
        with torch.no_grad():
            logits = fresh(ids)
        tensors[f"n{n}/ids"] = ids.numpy().astype(np.int64)
        tensors[f"n{n}/logits"] = logits.numpy().astype(np.float32)
    for n in case.get("module_lengths", []):
        ids = torch.randint(0, num_tokens, (2, n), generator=gen)
        tensors.update(capture(build_model(case), ids))
    meta = {
        "generated_by": GENERATED_BY,
        "case": case["name"],
        "config": json.dumps(case["config"], sort_keys=True),
        "weights": weights_path.name,
        "versions": f"simple-hierarchical-transformer 0.4.0, local-attention 1.11.2, torch {torch.__version__}, numpy {np.__version__}",
    }
    path = out_dir / f"{case['name']}.safetensors"
    save_file(tensors, str(path), metadata=meta)
    size = (path.stat().st_size + weights_path.stat().st_size) / 1024
    print(f"  {case['name']}: {len(tensors)} tensors, {size:.0f} KiB with weights", file=sys.stderr)
    return path


def random_cases(n: int, seed: int) -> list[dict]:
    """Random valid configs (held-out style): hierarchy sets and orders, per-hierarchy widths,
    heads, windows (None, 0, local, reset), strides, merge/predict options, lengths."""
    r = np.random.RandomState(seed)
    cases = []
    for i in range(n):
        nh = int(r.randint(1, 4))
        hier = [int(h) for h in r.choice([1, 2, 4, 8], size=nh, replace=False)]
        seq_len = int(r.choice([32, 48, 64]))
        merge_all = bool(nh > 1 and r.rand() < 0.3)
        strides = [int(r.choice([s for s in (1, 2, 4, 8) if s <= h])) if r.rand() < 0.4 else 1 for h in hier]
        predict = min(hier)
        if r.rand() < 0.3:
            predict = int(r.choice(hier))
        if not merge_all:
            strides[hier.index(predict)] = 1
        def pick(options):
            v = [options[int(r.randint(len(options)))] for _ in hier]
            return v if r.rand() < 0.6 else v[0]
        cfg = {
            "kind": "hierarchical_transformer",
            "num_tokens": int(r.choice([32, 50])),
            "dim": pick([16, 24, 32]),
            "depth": int(r.randint(1, 3)),
            "seq_len": seq_len,
            "dim_head": pick([8, 16]),
            "heads": pick([1, 2, 3]),
            "ff_mult": pick([1, 2, 1.5]),
            "hierarchies": hier,
            "window_sizes": [None if w == -1 else int(w) for w in (r.choice([-1, 0, 4, 8, 16, 64]) for _ in hier)],
            "hierarchical_stride": strides,
            "hierarchy_merge_all": merge_all,
            "predict_hierarchy": predict,
            "predict_use_all_hierarchy": bool(r.rand() < 0.3),
        }
        lengths = sorted({int(v) for v in r.randint(1, seq_len + 1, size=3)} | {seq_len})
        cases.append({"name": f"random_{seed}_{i:03d}", "config": cfg, "lengths": lengths, "module_lengths": [], "seed": (seed * 1000 + i) % (2**31)})
    return cases


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="regenerate into a temp dir and compare with the committed files (golden/golden_check.py)")
    ap.add_argument("--keep", type=Path, help="with --check: keep the freshly computed files in this folder")
    ap.add_argument("--out", type=Path, default=HERE)
    ap.add_argument("--cases", type=Path, default=HERE / "cases.json")
    ap.add_argument("--random", type=int, default=0, metavar="N", help="write N random cases instead of cases.json")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.random:
        cases = random_cases(args.random, args.seed)
        args.out.mkdir(parents=True, exist_ok=True)
        for case in cases:
            build_case(case, args.out)
        (args.out / "cases.json").write_text(json.dumps({"cases": cases}, indent=1))
        return 0
    cases = json.loads(args.cases.read_text())["cases"]
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            for case in cases:
                build_case(case, Path(tmp))
            files = [f"{case['name']}{suffix}" for case in cases for suffix in (".safetensors", ".weights.safetensors")]
            bad = golden_check.check("hierarchical", args.out, Path(tmp), files, args.keep)
        return 1 if bad else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for case in cases:
        build_case(case, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
