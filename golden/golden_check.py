"""Shared `--check` logic of the golden scripts (golden/*/make_goldens.py): the committed golden
files must reproduce from the reference packages on the running machine.

What must match, and how closely:
- the set of files: every case of cases.json has its file(s), and no file lacks a case (stale);
- the metadata of each file (case, config, parity, generated_by, versions): exactly, so a hand
  edit such as `"parity": "false"` or a config that no longer matches cases.json is caught;
- tensor names, shapes, dtypes, and integer/bool tensors: exactly;
- float tensors: |committed - fresh| <= CROSS_CPU * (atol + rtol * |fresh|), where (atol, rtol)
  is the parity tolerance of the tensor's type (float32/float64: 1e-4, 1e-4; float16/bfloat16:
  2e-3, 4e-3) and CROSS_CPU = 0.1. Torch's and numpy's vectorised pow/sin/cos/exp differ by an
  ulp between CPUs (AVX-512 vs AVX2); at positions up to 65k and through a few transformer
  layers that moves outputs by up to ~1e-5 relative — far below a tenth of the tolerance rotor
  is held to, while any change of a package's arithmetic (a different frequency formula, a
  changed default) moves them by much more. Bit-exact comparisons belong to values computed on
  the running machine (`--keep DIR` keeps the freshly computed files for such tests).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
from safetensors import safe_open

CROSS_CPU = 0.1
PARITY = {np.dtype("float32"): (1e-4, 1e-4), np.dtype("float64"): (1e-4, 1e-4), np.dtype("float16"): (2e-3, 4e-3)}


def _read(path: Path) -> tuple[dict, dict]:
    with safe_open(str(path), framework="numpy") as f:
        return (f.metadata() or {}), {k: f.get_tensor(k) for k in f.keys()}


WORST = [0.0]  # largest float difference seen, as a fraction of the cross-CPU bound


def compare_file(committed: Path, fresh: Path) -> list[str]:
    """Differences between a committed golden file and a freshly generated one."""
    if not committed.exists():
        return [f"{committed.name}: missing (cases.json has its case)"]
    (ma, a), (mb, b) = _read(committed), _read(fresh)
    bad = []
    if ma != mb:
        keys = sorted(k for k in set(ma) | set(mb) if ma.get(k) != mb.get(k))
        bad.append(f"{committed.name}: metadata differs in {keys}: committed {[ma.get(k) for k in keys]} vs fresh {[mb.get(k) for k in keys]}")
    if sorted(a) != sorted(b):
        bad.append(f"{committed.name}: tensor names differ: {sorted(set(a) ^ set(b))[:6]}")
        return bad
    for k in sorted(a):
        x, y = a[k], b[k]
        if x.shape != y.shape or x.dtype != y.dtype:
            bad.append(f"{committed.name}/{k}: shape or dtype differs ({x.shape} {x.dtype} vs {y.shape} {y.dtype})")
        elif x.dtype.kind == "f":
            atol, rtol = PARITY.get(x.dtype, (1e-4, 1e-4))
            x64, y64 = x.astype(np.float64), y.astype(np.float64)
            same = (x64 == y64) | (np.isnan(x64) & np.isnan(y64))  # equal infinities and NaN count as equal
            with np.errstate(invalid="ignore"):
                err = np.where(same, 0.0, np.abs(x64 - y64))
            allowed = CROSS_CPU * (atol + rtol * np.abs(y64))
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = np.where(same, 0.0, np.nan_to_num(err / allowed, nan=np.inf)) if err.size else np.zeros(0)
            if ratio.size:
                WORST[0] = max(WORST[0], float(ratio.max()))
            if ratio.size and ratio.max() > 1.0:
                bad.append(f"{committed.name}/{k}: max diff {np.nanmax(err):.3e}, {ratio.max():.2f}x the cross-CPU bound {CROSS_CPU} x ({atol} + {rtol}|b|)")
        elif not np.array_equal(x, y):
            bad.append(f"{committed.name}/{k}: differs")
    return bad


def check(kind: str, here: Path, fresh_dir: Path, expected_files: list[str], keep: Path | None = None) -> int:
    """Compare every expected file of `here` with `fresh_dir`, report stale files, print a
    verdict; optionally copy the fresh files to `keep`. Returns the number of problems."""
    problems = []
    for name in expected_files:
        problems += compare_file(here / name, fresh_dir / name)
    stale = sorted(p.name for p in here.glob("*.safetensors") if p.name not in set(expected_files))
    problems += [f"{s}: stale (no case in cases.json)" for s in stale]
    for p in problems:
        print(p, file=sys.stderr)
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        for name in expected_files:
            shutil.copy2(fresh_dir / name, keep / name)
    verdict = "reproduce" if not problems else "DO NOT reproduce"
    print(f"{kind} goldens {verdict} from the reference packages ({len(expected_files)} files; floats within {CROSS_CPU} of the parity tolerance, everything else exact; worst float difference {WORST[0]:.3f} of that bound)", file=sys.stderr)
    return len(problems)
