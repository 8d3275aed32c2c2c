#!/usr/bin/env python3
"""`rotor opt` against onnxscript's optimize_for_ort and onnxslim on the RoPE test models, and
on a large random Llama: node counts, fused rotations, pass time, peak memory and ONNX Runtime
latency before and after, all measured in the same run.

    python/bench_opt.py --rotor target/release/rotor --models target/rope-models/torch
    python/bench_opt.py --rotor target/release/rotor --large target/bench/llama-large

Per model: nodes before / after `rotor opt` for each --rope-target, fused count, rotor's pass
time (its --report) and whole-process time; onnxscript 0.7.2 optimize_for_ort's time, fusion
counts and nodes; onnxslim's node count (cleanup only, for comparison with rotor's cleanup
passes run with --passes eliminate-noops,fold-constants,cse,dce); ORT CPU latency (1 thread,
batch 2 x 128 tokens, median) of the export, of rotor's result and of onnxscript's.

--large exports (once, cached) a random LlamaForCausalLM (hidden 1024, 12 layers, 16 heads,
vocab 32000: ~800 MB of external weights) and measures rotor opt, onnxscript's fusion and
onnx_ir's load+save, each in its own process for peak RSS.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

TARGETS = ("ai.onnx", "com.microsoft", "decomposed")


def nodes(path: Path) -> int:
    return len(onnx.load(str(path), load_external_data=False).graph.node)


def count_op(path: Path, op: str) -> int:
    return sum(1 for n in onnx.load(str(path), load_external_data=False).graph.node if n.op_type == op)


def child(code: str, *args: str) -> dict:
    """Run a Python snippet in a fresh process; it prints one JSON line. Adds peak RSS (MiB)."""
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    return res


ONNXSCRIPT = r"""
import json, sys, time, resource
import onnx_ir as ir
from onnxscript.rewriter.ort_fusions import optimize_for_ort
src, dst = sys.argv[1], sys.argv[2]
m = ir.load(src)
t = time.perf_counter()
m, counts = optimize_for_ort(m)
dt = time.perf_counter() - t
ir.save(m, dst, external_data=dst.split('/')[-1] + '.data')
print(json.dumps({"seconds": dt, "counts": {k: v for k, v in counts.items() if v},
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

ONNX_IR_ROUNDTRIP = r"""
import json, sys, time, resource
import onnx_ir as ir
src, dst = sys.argv[1], sys.argv[2]
t = time.perf_counter()
m = ir.load(src)
ir.save(m, dst, external_data=dst.split('/')[-1] + '.data')
print(json.dumps({"seconds": time.perf_counter() - t, "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

ONNXSLIM = r"""
import json, sys, time
import onnx, onnxslim
src = sys.argv[1]
t = time.perf_counter()
m = onnxslim.slim(onnx.load(src))
print(json.dumps({"seconds": time.perf_counter() - t, "nodes": len(m.graph.node)}))
"""


def rotor(rotor_bin: str, src: Path, dst: Path, *extra: str) -> dict:
    report = dst.with_suffix(".json")
    t = time.perf_counter()
    out = subprocess.run(["/usr/bin/time", "-f", "%M", rotor_bin, "opt", str(src), "-o", str(dst), "--report", str(report), "-q", *extra],
                         check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t
    r = json.loads(report.read_text())
    fused = sum(p["rewrites"] for p in r["passes"] if p["name"] == "fuse_rope")
    rss = int(out.stderr.strip().splitlines()[-1]) / 1024
    return {"wall_s": wall, "passes_ms": r["passes_ms"], "load_ms": r["load_ms"], "save_ms": r["save_ms"],
            "nodes": r["nodes_after"], "fused": fused, "rss_mib": rss}


def ort_latency(path: Path, seq: int, runs: int) -> float:
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    s = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    name = s.get_inputs()[0].name
    ids = np.random.default_rng(0).integers(0, 128, size=(2, seq), dtype=np.int64)
    for _ in range(3):
        s.run(None, {name: ids})
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        s.run(None, {name: ids})
        ts.append(time.perf_counter() - t)
    return float(np.median(ts)) * 1e3


def bench_model(rotor_bin: str, src: Path, work: Path, runs: int) -> dict:
    seq_fixed = onnx.load(str(src), load_external_data=False).graph.input[0].type.tensor_type.shape.dim[1]
    seq = seq_fixed.dim_value if seq_fixed.HasField("dim_value") else 128
    res = {"nodes_before": nodes(src), "targets": {}}
    for t in TARGETS:
        res["targets"][t] = rotor(rotor_bin, src, work / f"rotor_{t}.onnx", "--rope-target", t)
    res["rotor_cleanup"] = rotor(rotor_bin, src, work / "rotor_cleanup.onnx", "--passes", "eliminate-noops,fold-constants,cse,dce")
    osr = child(ONNXSCRIPT, str(src), str(work / "onnxscript.onnx"))
    osr["nodes"] = nodes(work / "onnxscript.onnx")
    osr["rotary"] = count_op(work / "onnxscript.onnx", "RotaryEmbedding")
    res["onnxscript"] = osr
    res["onnxslim"] = child(ONNXSLIM, str(src))
    res["ort_ms"] = {
        "export": ort_latency(src, seq, runs),
        "rotor ai.onnx": ort_latency(work / "rotor_ai.onnx.onnx", seq, runs),
        "rotor com.microsoft": ort_latency(work / "rotor_com.microsoft.onnx", seq, runs),
        "onnxscript": ort_latency(work / "onnxscript.onnx", seq, runs),
    }
    res["seq"] = seq
    return res


def export_large(out: Path) -> Path:
    path = out / "model.onnx"
    if path.is_file():
        return path
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=32000, hidden_size=1024, intermediate_size=2816, num_hidden_layers=12,
                      num_attention_heads=16, num_key_value_heads=16, max_position_embeddings=2048)
    model = LlamaForCausalLM(cfg).eval()  # (eval: no dropout)

    class Logits(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids):
            return self.m(input_ids=input_ids, attention_mask=None, use_cache=False).logits

    dims = {0: torch.export.Dim("batch"), 1: torch.export.Dim("seq")}
    t = time.perf_counter()
    torch.onnx.export(Logits(model).eval(), (torch.randint(0, 32000, (2, 13)),), str(path), dynamo=True, external_data=True,
                      input_names=["input_ids"], output_names=["logits"], dynamic_shapes={"input_ids": dims})
    print(f"bench_opt: exported the large Llama in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rotor", required=True, help="the rotor binary (a release build for timings)")
    ap.add_argument("--models", type=Path, help="folder of model folders (make_rope_models.py's torch/)")
    ap.add_argument("--large", type=Path, help="folder for the large Llama (exported once)")
    ap.add_argument("--runs", type=int, default=20, help="ORT runs per latency (median)")
    ap.add_argument("--json", type=Path, help="write every figure here")
    args = ap.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.models:
            for d in sorted(p for p in args.models.iterdir() if (p / "model.onnx").is_file()):
                work = Path(tmp) / d.name
                work.mkdir()
                r = bench_model(args.rotor, d / "model.onnx", work, args.runs)
                results[d.name] = r
                tg = r["targets"]
                print(f"{d.name}: {r['nodes_before']} nodes; rotor " + ", ".join(f"{t} {tg[t]['nodes']} ({tg[t]['fused']} fused)" for t in TARGETS)
                      + f"; rotor cleanup {r['rotor_cleanup']['nodes']} vs onnxslim {r['onnxslim']['nodes']}")
                o = r["onnxscript"]
                ratio = tg["ai.onnx"]["passes_ms"] / 1e3 / o["seconds"]
                print(f"  time: rotor passes {tg['ai.onnx']['passes_ms']:.1f} ms (process {tg['ai.onnx']['wall_s'] * 1e3:.0f} ms) vs onnxscript "
                      f"optimize_for_ort {o['seconds'] * 1e3:.0f} ms -> {ratio:.3f}x; onnxscript fused {o['counts']} -> {o['nodes']} nodes, "
                      f"{o['rotary']} RotaryEmbedding")
                print("  ORT CPU latency (1 thread, 2 x %d): " % r["seq"] + ", ".join(f"{k} {v:.2f} ms" for k, v in r["ort_ms"].items()))
        if args.large:
            src = export_large(args.large)
            work = Path(tmp) / "large"
            work.mkdir()
            ro = rotor(args.rotor, src, work / "rotor.onnx")
            ir = child(ONNX_IR_ROUNDTRIP, str(src), str(work / "ir.onnx"))
            osr = child(ONNXSCRIPT, str(src), str(work / "onnxscript.onnx"))
            results["large"] = {"rotor": ro, "onnx_ir_roundtrip": ir, "onnxscript": osr, "nodes_before": nodes(src)}
            print(f"large Llama ({nodes(src)} nodes): rotor opt fused {ro['fused']}: passes {ro['passes_ms']:.0f} ms, load {ro['load_ms']:.0f} ms, "
                  f"save {ro['save_ms']:.0f} ms, process {ro['wall_s']:.2f} s, peak {ro['rss_mib']:.0f} MiB")
            print(f"  onnxscript optimize_for_ort: {osr['seconds']:.2f} s ({osr['counts']}), peak {osr['rss_mib']:.0f} MiB "
                  f"-> rotor passes / onnxscript = {ro['passes_ms'] / 1e3 / osr['seconds']:.3f}")
            print(f"  onnx_ir load+save: {ir['seconds']:.2f} s, peak {ir['rss_mib']:.0f} MiB; rotor load+save "
                  f"{(ro['load_ms'] + ro['save_ms']) / 1e3:.2f} s -> {(ro['load_ms'] + ro['save_ms']) / 1e3 / ir['seconds']:.2f}x")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
