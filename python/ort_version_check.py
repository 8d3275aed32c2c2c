#!/usr/bin/env python3
"""Run models in the ONNX Runtime of *this* interpreter and compare with expected outputs.

    target/venv-ort122/bin/python python/ort_version_check.py --rotor target/debug/rotor \
        --models target/rope-models/torch --target ort-1.22 --expect-version 1.22.1

For each model folder (model.onnx + data.safetensors with sets `SET/input_ids`, `SET/logits`):
`rotor opt --target T` legalizes it into a temp folder, this interpreter's onnxruntime loads
the result and runs every set; the logits must equal the expected ones within
1e-4 + 1e-4*|b|, and the result must hold one fused RotaryEmbedding per rotation (the count
`rotor opt --report` gives must equal the RotaryEmbedding nodes in the file). Rotor's own fused
exports (opset 23), legalized the same way, must equal rotor's decomposed export of the same
config run in the same onnxruntime. Also checks that
this onnxruntime refuses the unlegalized opset-23 form (`--rope-target ai.onnx`), so the check
cannot pass by running on the wrong runtime.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
from safetensors.numpy import load_file


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rotor", required=True)
    ap.add_argument("--models", type=Path, required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--expect-version", required=True, help="the onnxruntime version this interpreter must have")
    args = ap.parse_args()
    if ort.__version__ != args.expect_version:
        print(f"ort_version_check: onnxruntime {ort.__version__}, expected {args.expect_version}", file=sys.stderr)
        return 1
    failures, checked = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for d in sorted(p for p in args.models.iterdir() if (p / "model.onnx").is_file()):
            out, report = Path(tmp) / f"{d.name}.onnx", Path(tmp) / f"{d.name}.json"
            r = subprocess.run([args.rotor, "opt", str(d / "model.onnx"), "-o", str(out), "--target", args.target,
                                "--report", str(report), "-q"], capture_output=True, text=True)
            if r.returncode != 0:
                failures.append(f"{d.name}: rotor opt --target {args.target} exited {r.returncode}: {r.stderr.strip()}")
                continue
            rep = json.loads(report.read_text())
            fused = sum(p["rewrites"] for p in rep["passes"] if p["name"] == "fuse_rope")
            ops = dict(rep["ops_after"])
            if fused == 0 or ops.get("RotaryEmbedding", 0) != fused:
                failures.append(f"{d.name}: {fused} rotations fused, {ops.get('RotaryEmbedding', 0)} RotaryEmbedding nodes")
            try:
                s = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
            except Exception as e:  # noqa: BLE001 - report and go on
                failures.append(f"{d.name}: onnxruntime {ort.__version__} cannot load the result: {e}")
                continue
            data = load_file(str(d / "data.safetensors"))
            for key in sorted(k for k in data if k.endswith("/input_ids")):
                prefix = key.rsplit("/", 1)[0]
                got = s.run(None, {s.get_inputs()[0].name: data[key]})[0]
                want = data[f"{prefix}/logits"]
                bad = np.abs(got - want) > 1e-4 + 1e-4 * np.abs(want)
                checked += 1
                if got.shape != want.shape or bad.any():
                    failures.append(f"{d.name} {prefix}: max |diff| {float(np.max(np.abs(got - want))):.3e}, {int(bad.sum())} elements past tolerance")
            print(f"ort_version_check: {d.name}: {fused} RotaryEmbedding, onnxruntime {ort.__version__} logits == eager")
        # rotor's own fused exports (opset 23) legalized for the target, against rotor's
        # decomposed export of the same config, both run here
        rng = np.random.default_rng(0)
        for cfg in (["--dim", "16", "--mode", "qk"], ["--dim", "16", "--mode", "qk", "--use-xpos"],
                    ["--dim", "32", "--mode", "cached_qk", "--offset-input"]):
            tag = "_".join(a.strip("-") for a in cfg)
            fused, legal, plain = (Path(tmp) / f"own_{tag}_{k}.onnx" for k in ("fused", "legal", "plain"))
            subprocess.run([args.rotor, "export", "rotary", *cfg, "--form", "fused", "-o", str(fused)], check=True, capture_output=True)
            subprocess.run([args.rotor, "export", "rotary", *cfg, "--opset", "17", "-o", str(plain)], check=True, capture_output=True)
            r = subprocess.run([args.rotor, "opt", str(fused), "-o", str(legal), "--target", args.target, "-q"], capture_output=True, text=True)
            if r.returncode != 0:
                failures.append(f"rotor export {' '.join(cfg)} --form fused: rotor opt --target {args.target}: {r.stderr.strip()}")
                continue
            a = ort.InferenceSession(str(legal), providers=["CPUExecutionProvider"])
            b = ort.InferenceSession(str(plain), providers=["CPUExecutionProvider"])
            for n in (1, 9, 70):
                feed = {}
                for i in a.get_inputs():
                    if i.name == "offset":
                        feed[i.name] = np.array(3, dtype=np.int64)
                    else:
                        feed[i.name] = rng.standard_normal((2, 4, n, int(i.shape[-1]))).astype(np.float32)
                for got, want in zip(a.run(None, feed), b.run(None, feed)):
                    checked += 1
                    if (np.abs(got - want) > 1e-4 + 1e-4 * np.abs(want)).any():
                        failures.append(f"rotor export {' '.join(cfg)}: legalized fused != decomposed at N={n}")
            print(f"ort_version_check: rotor export rotary {' '.join(cfg)} --form fused, legalized: onnxruntime {ort.__version__} == decomposed")
        # the opset-23 form must be refused here, or this check proves nothing
        probe = Path(tmp) / "opset23.onnx"
        first = next(p for p in sorted(args.models.iterdir()) if (p / "model.onnx").is_file())
        subprocess.run([args.rotor, "opt", str(first / "model.onnx"), "-o", str(probe), "--rope-target", "ai.onnx", "-q"], check=True)
        try:
            ort.InferenceSession(str(probe), providers=["CPUExecutionProvider"])
            if args.target == "ort-1.22":
                failures.append(f"onnxruntime {ort.__version__} loaded an opset-23 model: the side environment is not the runtime the target describes")
        except Exception:  # noqa: BLE001 - the refusal is the point
            print(f"ort_version_check: onnxruntime {ort.__version__} refuses the opset-23 form, as the target table says")
    for f in failures:
        print(f"FAIL {f}", file=sys.stderr)
    print(f"ort_version_check: {checked} data sets compared, {len(failures)} failure(s)", file=sys.stderr)
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
