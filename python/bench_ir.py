#!/usr/bin/env python3
"""Load+save of a model with >= 1 GB of external weights: rotor (`rotor opt --passes none`)
against onnx_ir (pinned onnx-ir: `onnx_ir.load` + `onnx_ir.save`, the IR under onnxscript's
rewriter) on the same file in the same run. Reports wall time and peak RSS of each (measured
with /usr/bin/time in separate processes), and checks both outputs load in onnx (the data files
are compared byte for byte: rotor re-aligns tensors to 4096, so it is the tensors' bytes that
are compared, through onnx).

    python/bench_ir.py --rotor target/release/rotor [--dir target/bench-ir] [--gb 1.0] [--runs 3]
"""

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def make_model(path: Path, gb: float) -> None:
    """A chain of MatMuls over 4096x4096 float32 weights (64 MiB each) stored externally."""
    n = max(1, round(gb * 1024 / 64))
    rng = np.random.default_rng(0)
    inits, nodes, prev = [], [], "x"
    for i in range(n):
        w = rng.standard_normal((4096, 4096), dtype=np.float32) * 0.01
        inits.append(numpy_helper.from_array(w, f"w{i}"))
        out = f"h{i}" if i < n - 1 else "y"
        nodes.append(helper.make_node("MatMul", [prev, f"w{i}"], [out], name=f"mm{i}"))
        prev = out
    graph = helper.make_graph(nodes, "big", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", 4096])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["B", 4096])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True, location=path.name + ".data")


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a command."""
    t0 = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"{cmd[0]} failed: {r.stderr[-2000:]}")
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1))
    return wall, rss_kb / 1024


ONNX_IR = "import onnx_ir as ir, sys; m = ir.load(sys.argv[1]); ir.save(m, sys.argv[2], external_data=sys.argv[3])"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rotor", required=True)
    ap.add_argument("--dir", type=Path, default=Path("target/bench-ir"))
    ap.add_argument("--gb", type=float, default=1.0)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    a.dir.mkdir(parents=True, exist_ok=True)
    src = a.dir / "big.onnx"
    if not src.exists():
        make_model(src, a.gb)
    size = (a.dir / "big.onnx.data").stat().st_size
    print(f"model: {src} with {size / 2**30:.2f} GiB of external weights")
    results = {"rotor": [], "onnx_ir": []}
    for _ in range(a.runs):
        results["rotor"].append(timed([a.rotor, "opt", str(src), "-o", str(a.dir / "rotor.onnx"), "--passes", "none", "-q"]))
        results["onnx_ir"].append(timed([sys.executable, "-c", ONNX_IR, str(src), str(a.dir / "onnx_ir.onnx"), "onnx_ir.onnx.data"]))
    for name, runs in results.items():
        walls = sorted(w for w, _ in runs)
        print(f"{name:<8} load+save: median {walls[len(walls) // 2]:.3f} s over {len(runs)} runs, peak RSS {max(r for _, r in runs):.0f} MiB")
    rw = sorted(w for w, _ in results["rotor"])[len(results["rotor"]) // 2]
    ow = sorted(w for w, _ in results["onnx_ir"])[len(results["onnx_ir"]) // 2]
    print(f"rotor / onnx_ir time: {rw / ow:.2f}; peak RSS: {max(r for _, r in results['rotor']) / max(r for _, r in results['onnx_ir']):.2f}")
    # Same tensors in both outputs and in the source.
    ref = {t.name: numpy_helper.to_array(t, base_dir=str(a.dir)).tobytes() for t in onnx.load(str(src), load_external_data=False).graph.initializer}
    got = {t.name: numpy_helper.to_array(t, base_dir=str(a.dir)).tobytes() for t in onnx.load(str(a.dir / "rotor.onnx"), load_external_data=False).graph.initializer}
    if ref != got:
        sys.exit("rotor's output holds different tensors")
    print("rotor's output holds the same tensors (byte for byte)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
