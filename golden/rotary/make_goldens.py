#!/usr/bin/env python3
"""Reference tensors for rotor's rotary graphs, computed by rotary-embedding-torch itself.

Pinned environment: python/requirements.txt (rotary-embedding-torch==0.9.1, torch==2.13.0).
Every output is produced by the package's public methods on a fresh module:
  mode single    -> RotaryEmbedding.rotate_queries_or_keys(x, offset=offset)
  mode qk        -> rotate_queries_or_keys on q and k (or rotate_queries_and_keys with xPos)
  mode cached_qk -> rotate_queries_with_cached_keys(q, k, offset=offset)
  kind axial_rotary -> apply_rotary_emb(get_axial_freqs(*dims, offsets=offsets), x), with
                    cache_if_possible=False: with its freqs cache on, the package reuses the
                    first axis's (offset) positions for later axes that are no longer (a bug of
                    the same family as lucidrains/rotary-embedding-torch#11)
Inputs are float32 normals (float16 for float16 configs: the package then computes in float32
internally and casts its result once).
rotor's own keys that the package has no kwarg for are mapped onto it by a feature permutation,
which moves no arithmetic: `start_index` (rotated block elsewhere in the head) and
`layout: "half"` (pairs (i, i + rot/2) instead of (2i, 2i + 1)). The package computes on the
permuted features and the result is permuted back.

Usage:
  make_goldens.py                      write golden/rotary/<case>.safetensors for cases.json
  make_goldens.py --check              regenerate into a temp dir and compare with the committed files
  make_goldens.py --random N --seed S --out DIR
                                       N random rotary configs and N/3 axial ones (held-out
                                       style), for property tests
Each file holds tensors `SET/name` (SET = n<len>[_o<offset>] or q<Nq>_k<Nk>[_o<offset>]), the
module's `state_dict/freqs`, and metadata: generated_by, case, config (rotor config JSON), versions.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file, save_file

import rotary_embedding_torch
from rotary_embedding_torch import RotaryEmbedding, apply_rotary_emb

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import golden_check  # noqa: E402  (golden/golden_check.py: the shared --check)
GENERATED_BY = "golden/rotary/make_goldens.py (edit cases.json or this script, then rerun)"
PACKAGE_KWARGS = [
    "dim", "custom_freqs", "freqs_for", "theta", "max_freq", "num_freqs", "use_xpos", "xpos_scale_base",
    "interpolate_factor", "theta_rescale_factor", "seq_before_head_dim",
]


def num_freqs_of(cfg: dict) -> int:
    if cfg.get("custom_freqs") is not None:
        return len(cfg["custom_freqs"])
    if cfg.get("freqs_for", "lang") == "constant":
        return cfg.get("num_freqs", 1)
    return cfg["dim"] // 2


def make_module(cfg: dict) -> RotaryEmbedding:
    kwargs = {k: cfg[k] for k in PACKAGE_KWARGS if k in cfg and cfg[k] is not None}
    if "custom_freqs" in kwargs:
        kwargs["custom_freqs"] = torch.tensor(kwargs["custom_freqs"], dtype=torch.float32)
    if 2 * num_freqs_of(cfg) != cfg["dim"] or cfg["kind"] == "axial_rotary":
        # The freqs cache has width `dim` (it cannot hold a narrower rotation), and for axial
        # use it returns the wrong positions (module docstring).
        kwargs["cache_if_possible"] = False
    return RotaryEmbedding(**kwargs).eval()


def feature_perm(cfg: dict) -> np.ndarray:
    """perm[j] = rotor feature placed at package feature j (package rotates features 0..rot)."""
    head = cfg.get("head_dim", cfg["dim"])
    start = cfg.get("start_index", 0)
    rot = 2 * num_freqs_of(cfg)
    block = list(range(start, start + rot))
    if cfg.get("layout", "interleaved") == "half":
        half = rot // 2
        block = [start + (j // 2) + (half if j % 2 else 0) for j in range(rot)]
    rest = [j for j in range(head) if j not in set(block)]
    return np.array(block + rest, dtype=np.int64)


def input_shape(cfg: dict, n: int, batch: int, heads: int) -> list[int]:
    rank = cfg.get("rank", 4)
    head = cfg.get("head_dim", cfg["dim"])
    seq_axis = rank - 3 if cfg.get("seq_before_head_dim", False) else rank - 2
    others = [batch, heads, 2, 3, 2, 2][: rank - 2]
    shape = others[: seq_axis] + [n] + others[seq_axis:]
    return shape + [head]


TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def run_axial(cfg: dict, x: np.ndarray, dims: list[int]) -> dict[str, np.ndarray]:
    rot = make_module(cfg)
    with torch.no_grad():
        freqs = rot.get_axial_freqs(*dims, offsets=cfg.get("offsets"))
        y = apply_rotary_emb(freqs, torch.from_numpy(x).to(TORCH_DTYPES[cfg.get("dtype", "float32")]))
    return {"x_rot": to_numpy(y)}


def to_numpy(t: torch.Tensor) -> np.ndarray:
    if t.dtype == torch.bfloat16:
        return t.float().numpy()  # stored as float32 (numpy has no bfloat16); rotor compares values
    return t.numpy()


def run_case(cfg: dict, inputs: dict[str, np.ndarray], offset: int) -> dict[str, np.ndarray]:
    rot = make_module(cfg)
    perm = feature_perm(cfg)
    inv = np.argsort(perm)
    dtype = TORCH_DTYPES[cfg.get("dtype", "float32")]
    t = {k: torch.from_numpy(np.ascontiguousarray(v[..., perm])).to(dtype) for k, v in inputs.items()}
    mode = cfg.get("mode", "single")
    with torch.no_grad():
        if mode == "single":
            out = {"x_rot": rot.rotate_queries_or_keys(t["x"], offset=offset)}
        elif mode == "qk" and cfg.get("use_xpos", False):
            q, k = rot.rotate_queries_and_keys(t["q"], t["k"])
            out = {"q_rot": q, "k_rot": k}
        elif mode == "qk":
            out = {"q_rot": rot.rotate_queries_or_keys(t["q"], offset=offset), "k_rot": rot.rotate_queries_or_keys(t["k"], offset=offset)}
        else:
            q, k = rot.rotate_queries_with_cached_keys(t["q"], t["k"], offset=offset)
            out = {"q_rot": q, "k_rot": k}
    return {k: np.ascontiguousarray(to_numpy(v)[..., inv]) for k, v in out.items()}


def case_sets(case: dict) -> list[tuple[str, dict[str, list[int]], int]]:
    """(set name, {input: shape}, offset) for every length (and offset) of a case."""
    cfg = case["config"]
    b, h = case.get("batch", 2), case.get("heads", 2)
    if cfg["kind"] == "axial_rotary":
        lead = [b, h, 2, 2][: cfg.get("leading_rank", 1)]
        head = cfg.get("head_dim", len(case["lengths"][0]) * 2 * num_freqs_of(cfg))
        return [("d" + "x".join(map(str, dims)), {"x": lead + list(dims) + [head]}, 0) for dims in case["lengths"]]
    offsets = case.get("offsets", [0])
    sets = []
    for spec in case["lengths"]:
        for off in offsets:
            suffix = f"_o{off}" if cfg.get("offset_input", False) else ""
            if cfg.get("mode", "single") == "cached_qk":
                nq, nk = spec
                bb, hh = (1, 1) if nk > 512 else (b, h)
                shapes = {"q": input_shape(cfg, nq, bb, hh), "k": input_shape(cfg, nk, bb, hh)}
                name = f"q{nq}_k{nk}{suffix}"
            else:
                n = spec
                big = n > 512
                bb, hh = (1, 1) if big else (b, h)
                names = ["x"] if cfg.get("mode", "single") == "single" else ["q", "k"]
                shapes = {k: input_shape(cfg, n, bb, hh) for k in names}
                name = f"n{n}{suffix}"
            sets.append((name, shapes, off if cfg.get("offset_input", False) else 0))
    return sets


def build_case(case: dict) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    cfg = case["config"]
    rng = np.random.RandomState(case.get("seed", 0))
    tensors: dict[str, np.ndarray] = {}
    np_dtype = {"float16": np.float16}.get(cfg.get("dtype", "float32"), np.float32)
    for set_name, shapes, off in case_sets(case):
        if case.get("input") == "unit_pairs":
            # x = (1, 0, 1, 0, ...): the output pairs are (cos a, sin a) of each rotation angle
            inputs = {k: np.tile(np.array([1, 0], dtype=np.float32), s[-1] // 2) * np.ones(s, dtype=np.float32) for k, s in shapes.items()}
        else:
            inputs = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
        inputs = {k: v.astype(np_dtype) for k, v in inputs.items()}
        if cfg["kind"] == "axial_rotary":
            outputs = run_axial(cfg, inputs["x"], list(shapes["x"][cfg.get("leading_rank", 1):-1]))
        else:
            outputs = run_case(cfg, inputs, off)
        for k, v in {**inputs, **outputs}.items():
            tensors[f"{set_name}/{k}"] = v
        if cfg.get("offset_input", False):
            tensors[f"{set_name}/offset"] = np.array(off, dtype=np.int64)
    # The module's state_dict: `freqs` as torch computed it (for exports with --weights).
    tensors["state_dict/freqs"] = make_module(cfg).freqs.detach().numpy().astype(np.float32)
    meta = {
        "parity": "false" if case.get("parity") is False else "true",
        "generated_by": GENERATED_BY,
        "case": case["name"],
        "config": json.dumps(cfg, sort_keys=True),
        "versions": f"rotary-embedding-torch {rotary_embedding_torch.__version__ if hasattr(rotary_embedding_torch, '__version__') else '0.9.1'}, torch {torch.__version__}, numpy {np.__version__}",
    }
    return tensors, meta


def write_cases(cases: list[dict], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for case in cases:
        tensors, meta = build_case(case)
        path = out_dir / f"{case['name']}.safetensors"
        save_file(tensors, str(path), metadata=meta)
        paths.append(path)
        print(f"  {case['name']}: {len(tensors)} tensors, {path.stat().st_size / 1024:.0f} KiB", file=sys.stderr)
    return paths


def random_cases(n: int, seed: int) -> list[dict]:
    """Random valid configs across every option, with lengths the committed goldens do not use."""
    r = np.random.RandomState(seed)
    cases = []
    for i in range(n):
        dim = int(r.choice([4, 6, 8, 12, 16, 24, 32, 48, 64]))
        mode = str(r.choice(["single", "qk", "cached_qk"]))
        use_xpos = mode != "single" and r.rand() < 0.4
        freqs_for = "lang" if use_xpos else str(r.choice(["lang", "lang", "pixel", "constant"]))
        cfg: dict = {"kind": "rotary", "dim": dim, "mode": mode, "freqs_for": freqs_for}
        if r.rand() < 0.5:
            cfg["theta"] = float(r.choice([10.0, 500.0, 10000.0, 500000.0, 1234.5]))
        if freqs_for == "pixel":
            cfg["max_freq"] = float(r.choice([10.0, 7.0, 64.0]))
        if freqs_for == "constant":
            cfg["num_freqs"] = int(r.randint(1, dim // 2 + 1))
        if not use_xpos and freqs_for == "lang" and r.rand() < 0.2:
            cfg["custom_freqs"] = [float(round(v, 4)) for v in r.uniform(0.001, 2.0, size=int(r.randint(1, dim // 2 + 1)))]
        if use_xpos:
            cfg["use_xpos"] = True
            if r.rand() < 0.5:
                cfg["xpos_scale_base"] = float(r.choice([128, 256, 1024]))
        # Powers of two: tract rewrites `t / factor` as `t * (1 / factor)`, one f32 ulp off the
        # package's division for other factors, which past ~500 positions reaches the tolerance
        # in tract (ORT divides exactly; README, "tract").
        if r.rand() < 0.3:
            cfg["interpolate_factor"] = float(r.choice([2.0, 4.0, 8.0]))
        if r.rand() < 0.3:
            cfg["theta_rescale_factor"] = float(r.choice([2.0, 4.0, 0.5]))
        rot = 2 * num_freqs_of(cfg)
        extra = 0 if use_xpos and r.rand() < 0.5 else int(r.choice([0, 0, 2, 5]))
        cfg["head_dim"] = max(rot, dim if not use_xpos else rot) + extra
        if cfg["head_dim"] > rot and r.rand() < 0.5:
            cfg["start_index"] = int(r.randint(0, cfg["head_dim"] - rot + 1))
        if r.rand() < 0.4:
            cfg["layout"] = "half"
        # rotate_queries_with_cached_keys with xPos ignores seq_before_head_dim for its scale
        # (a shape error in the package), so that combination has no reference.
        if r.rand() < 0.3 and not (mode == "cached_qk" and use_xpos):
            cfg["seq_before_head_dim"] = True
        cfg["rank"] = int(r.choice([3, 4, 4, 5]))
        offset_ok = not (use_xpos and mode == "qk")
        if offset_ok and r.rand() < 0.4:
            cfg["offset_input"] = True
        if mode == "cached_qk":
            lengths = [[int(q), int(q + r.randint(0, 300))] for q in r.randint(1, 40, size=2)]
        else:
            lengths = [int(v) for v in r.choice([1, 3, 11, 23, 59, 101, 257, 641, 1201], size=2, replace=False)]
        offsets = [int(r.randint(0, 2000))]
        # Pixel frequencies (up to max_freq/2*pi rad per position) are meant for positions in
        # [-1, 1]; at long integer positions the angles pass 1e4 rad, where tract's f32 sin/cos
        # lose accuracy (seen: 1.8e-3). Keep their angles below 4000 rad.
        if freqs_for == "pixel":
            cap = max(1, int(2000 * cfg.get("interpolate_factor", 1.0) / (cfg.get("max_freq", 10.0) / 2 * math.pi)))
            offsets = [min(offsets[0], cap)]
            lengths = [[min(q, cap), max(min(k, cap), min(q, cap))] for q, k in lengths] if mode == "cached_qk" else [min(v, cap) for v in lengths]
        # float16 cases: the package computes positions in float16 too, exact only up to 2048,
        # so positions stay below that (rotor's float16 graphs are exact further: see the
        # f16_positions_to_65536 golden); and it forms angles t*f in float32, a few 1e-3 rad off
        # at pixel frequencies (up to max_freq/2*pi per position), where rotor's float16 graphs
        # form them in f64: lang frequencies without interpolation only, where both are exact
        # to well within the float16 tolerance.
        f16_ok = freqs_for == "lang" and "interpolate_factor" not in cfg
        if f16_ok and r.rand() < 0.25:
            cfg["dtype"] = "float16"
            offsets = [int(r.randint(0, 500))]
            lengths = [[min(q, 40), min(k, 300)] for q, k in lengths] if mode == "cached_qk" else [min(v, 641) for v in lengths]
        cases.append({"name": f"random_{seed}_{i:03d}", "config": cfg, "lengths": lengths, "offsets": offsets, "seed": (seed * 1000 + i) % (2**32)})
    return cases


def random_axial_cases(n: int, seed: int) -> list[dict]:
    """Random axial configs: 1-3 axes, fixed or run-time sizes, lang/pixel/constant freqs,
    integer or float offsets, partial rotation, leading ranks."""
    r = np.random.RandomState(seed + 7)
    cases = []
    for i in range(n):
        k = int(r.randint(1, 4))
        freqs_for = str(r.choice(["lang", "pixel", "constant"]))
        dim = int(r.choice([4, 8, 12, 16]))
        cfg: dict = {"kind": "axial_rotary", "dim": dim, "freqs_for": freqs_for}
        if freqs_for == "pixel":
            cfg["max_freq"] = float(r.choice([10.0, 64.0, 256.0]))
        if freqs_for == "constant":
            cfg["num_freqs"] = int(r.randint(1, dim // 2 + 1))
        if freqs_for == "lang" and r.rand() < 0.5:
            cfg["theta"] = float(r.choice([100.0, 10000.0]))
        sizes = [int(v) for v in r.randint(1, 12, size=k)]
        fixed = [bool(r.rand() < 0.5) for _ in range(k)]
        cfg["axial_dims"] = [s if f else None for s, f in zip(sizes, fixed)]
        if r.rand() < 0.5:
            cfg["offsets"] = [int(v) for v in r.randint(0, 20, size=k)] if r.rand() < 0.5 else [float(round(v, 2)) for v in r.uniform(-2, 5, size=k)]
        rot = 2 * num_freqs_of(cfg)
        cfg["head_dim"] = k * rot + int(r.choice([0, 0, 3]))
        cfg["leading_rank"] = int(r.choice([1, 1, 2]))
        lengths = []
        for _ in range(2):
            lengths.append([s if f else int(r.randint(1, 10)) for s, f in zip(sizes, fixed)])
        cases.append({"name": f"random_axial_{seed}_{i:03d}", "config": cfg, "lengths": lengths, "seed": (seed * 1000 + 500 + i) % (2**32)})
    return cases


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="regenerate into a temp dir and compare with the committed files (golden/golden_check.py)")
    ap.add_argument("--keep", type=Path, help="with --check: keep the freshly computed files in this folder")
    ap.add_argument("--random", type=int, default=0, metavar="N", help="write N random cases instead of cases.json")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.random:
        cases = random_cases(args.random, args.seed) + random_axial_cases(max(args.random // 3, 1), args.seed)
        write_cases(cases, args.out)
        (args.out / "cases.json").write_text(json.dumps(cases, indent=1))
        print(f"wrote {len(cases)} random cases to {args.out}", file=sys.stderr)
        return 0
    cases = json.loads((HERE / "cases.json").read_text())["cases"]
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            write_cases(cases, Path(tmp))
            bad = golden_check.check("rotary", HERE, Path(tmp), [f"{c['name']}.safetensors" for c in cases], args.keep)
        return 1 if bad else 0
    write_cases(cases, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
