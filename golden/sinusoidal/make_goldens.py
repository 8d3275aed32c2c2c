#!/usr/bin/env python3
"""Reference tables for rotor's sinusoidal position encodings: an independent float64 numpy
computation of the Transformer encoding (Vaswani et al. 2017, §3.5):
    PE[pos, 2i] = sin(pos / base^(2i/d)),  PE[pos, 2i+1] = cos(pos / base^(2i/d))
("interleaved"), or all sines then all cosines ("concat"). `add` mode: y = x * emb_scale + PE.
Pinned environment: python/requirements.txt (numpy).
Usage: make_goldens.py [--check] | --random N --seed S --out DIR (held-out random cases)
Each file holds tensors SET/name and metadata: generated_by, case, config."""

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import golden_check  # noqa: E402  (golden/golden_check.py: the shared --check)
GENERATED_BY = "golden/sinusoidal/make_goldens.py (edit cases.json or this script, then rerun)"


def table(cfg: dict, pos: np.ndarray) -> np.ndarray:
    d = cfg["d_model"]
    inv = 1.0 / (cfg.get("base", 10000.0) ** (np.arange(0, d, 2, dtype=np.float64) / d))
    ang = pos.astype(np.float64)[..., None] * inv
    s, c = np.sin(ang), np.cos(ang)
    if cfg.get("layout", "interleaved") == "concat":
        return np.concatenate([s, c], axis=-1)
    out = np.empty(ang.shape[:-1] + (d,), dtype=np.float64)
    out[..., 0::2], out[..., 1::2] = s, c
    return out


def build_case(case: dict, out_dir: Path) -> Path:
    cfg = case["config"]
    rng = np.random.RandomState(case.get("seed", 0))
    out_dtype = np.float16 if cfg.get("dtype") == "float16" else np.float32
    tensors = {}
    for spec in case["sets"]:
        off = spec.get("offset", 0) if cfg.get("offset_input", False) else 0
        name = spec["name"]
        if cfg.get("mode", "add") == "add":
            b, n = spec["batch"], spec["n"]
            x = rng.standard_normal((b, n, cfg["d_model"])).astype(out_dtype)
            pe = table(cfg, np.arange(n) + off)
            scale = cfg.get("emb_scale")
            y = x.astype(np.float64) * (scale if scale is not None else 1.0) + pe[None]
            tensors[f"{name}/x"], tensors[f"{name}/y"] = x, y.astype(out_dtype)
        else:
            pos = np.array(spec["positions"], dtype=np.int64)
            tensors[f"{name}/positions"] = pos
            tensors[f"{name}/pe"] = table(cfg, pos + off).astype(out_dtype)
        if cfg.get("offset_input", False):
            tensors[f"{name}/offset"] = np.array(off, dtype=np.int64)
    path = out_dir / f"{case['name']}.safetensors"
    save_file(tensors, str(path), metadata={"generated_by": GENERATED_BY, "case": case["name"], "config": json.dumps(cfg, sort_keys=True), "versions": f"numpy {np.__version__} (float64)"})
    return path


def random_cases(n: int, seed: int) -> list[dict]:
    """Random configs: sizes, bases, layouts, scales, modes, offsets, far positions."""
    r = np.random.RandomState(seed + 11)
    cases = []
    for i in range(n):
        cfg: dict = {"kind": "sinusoidal", "d_model": int(r.choice([2, 8, 30, 64])), "layout": str(r.choice(["interleaved", "concat"]))}
        if r.rand() < 0.4:
            cfg["base"] = float(r.choice([100.0, 500.0, 1e5]))
        mode = str(r.choice(["add", "table"]))
        cfg["mode"] = mode
        offset = bool(r.rand() < 0.4)
        if offset:
            cfg["offset_input"] = True
        if mode == "add":
            if r.rand() < 0.5:
                cfg["emb_scale"] = float(round(r.uniform(0.5, 9.0), 3))
            sets = [{"name": f"s{j}", "batch": int(r.randint(1, 3)), "n": int(r.randint(1, 700)), "offset": int(r.randint(0, 70000))} for j in range(2)]
        else:
            rank = int(r.choice([1, 2]))
            cfg["positions_rank"] = rank
            shape = (int(r.randint(1, 40)),) if rank == 1 else (2, int(r.randint(1, 20)))
            sets = [{"name": f"s{j}", "positions": r.randint(0, 200000, size=shape).tolist(), "offset": int(r.randint(0, 1000))} for j in range(2)]
        cases.append({"name": f"random_sin_{seed}_{i:03d}", "config": cfg, "sets": sets, "seed": (seed * 1000 + i) % (2**32)})
    return cases


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--check", action="store_true", help="regenerate into a temp dir and compare with the committed files (golden/golden_check.py)")
    ap.add_argument("--keep", type=Path, help="with --check: keep the freshly computed files in this folder")
    ap.add_argument("--random", type=int, default=0, metavar="N", help="write N random cases to --out instead")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args()
    if args.random:
        args.out.mkdir(parents=True, exist_ok=True)
        for case in random_cases(args.random, args.seed):
            build_case(case, args.out)
        return 0
    cases = json.loads((HERE / "cases.json").read_text())["cases"]
    if not args.check:
        for case in cases:
            build_case(case, HERE)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            build_case(case, Path(tmp))
        bad = golden_check.check("sinusoidal", HERE, Path(tmp), [f"{c['name']}.safetensors" for c in cases], args.keep)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
