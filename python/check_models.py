#!/usr/bin/env python3
"""Run onnx.checker.check_model(full_check=True) (pinned onnx==1.23.2) on every .onnx under the
given directories. Fails when a model fails or when no model is found (so a test run that
exported nothing cannot pass)."""

import sys
from pathlib import Path

import onnx


def main() -> int:
    models = sorted(p for d in sys.argv[1:] for p in Path(d).rglob("*.onnx"))
    if not models:
        print(f"check_models: no .onnx files under {sys.argv[1:]}", file=sys.stderr)
        return 1
    bad = 0
    for m in models:
        try:
            onnx.checker.check_model(str(m), full_check=True)
        except Exception as e:  # noqa: BLE001 - report every failure, then fail
            bad += 1
            print(f"FAIL {m}: {e}", file=sys.stderr)
    print(f"onnx.checker (onnx {onnx.__version__}, full_check): {len(models) - bad}/{len(models)} models pass", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
