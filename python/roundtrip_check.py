#!/usr/bin/env python3
"""Round-trip every model of a corpus (python/make_corpus.py) through rotor and prove nothing
changed: `BIN opt IN -o OUT --passes none` must write a model that passes onnx.checker
(full_check) whenever the original does, and gives bitwise-identical outputs in ONNX Runtime
(CPU, graph optimizations off) on every test_data_set of the model.

    python/roundtrip_check.py --corpus target/corpus --rotor target/debug/rotor --out target/roundtrip
    python/roundtrip_check.py --corpus target/corpus --make-allowlist   # rewrite the allowlist

Rotor's exit code: 0 written, 2 refused (message on stderr), anything else a crash (failure).
A refusal is fine only where ORT cannot run the original either. Models whose original ORT
cannot load or run must be in the allowlist (`relative/model_dir  # reason` per line);
--make-allowlist writes it from ORT's own errors. Prints a summary ending in `N passed, M failed`,
writes OUT/summary.json and exits 1 on any failure.

Pinned packages (python/requirements.txt): onnx (checker, .pb reading), onnxruntime, numpy.
"""

import argparse
import ctypes
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

DEFAULT_ALLOWLIST = Path(__file__).parent / "roundtrip_allowlist.txt"
# Element types numpy cannot carry to or from ORT: fed and read as raw (packed) bytes.
RAW_TYPES = {"BFLOAT16", "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2", "FLOAT8E5M2FNUZ",
             "FLOAT8E8M0", "FLOAT4E2M1", "UINT4", "INT4", "UINT2", "INT2"}


@dataclass
class Result:
    model: str  # model folder relative to the corpus
    data_sets: int = 0
    allowlisted: bool = False
    ort_original: str | None = None  # ORT's error on the original; None when it loads and runs
    rotor: str | None = None  # written | refused | crashed
    rotor_message: str = ""
    checker_original: bool | None = None
    checker_roundtrip: bool | None = None
    identical: bool | None = None  # every data set's outputs bitwise identical
    nondeterministic: bool = False  # the original differs from itself in ORT: values not compared
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def first_line(e: BaseException | str, path: Path | None = None, limit: int = 150) -> str:
    """One short line of an error message, without ORT's prefix and the model's own path."""
    msg = str(e).strip()
    if path is not None:
        msg = msg.replace(str(path), "<model>")
    msg = re.sub(r"^\[ONNXRuntimeError\] : \d+ : ", "", msg)
    # ORT's C++ source location and function signature say nothing about the model
    msg = re.sub(r"/onnxruntime_src/\S+:\d+ [^(]*\((?:[^()]|\([^()]*\))*\)(::\S+)?\s*", "", msg)
    msg = (msg.splitlines() or [type(e).__name__])[0]
    return msg if len(msg) <= limit else msg[: limit - 3] + "..."


def session(path: Path) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = 1  # the pool provides the parallelism
    so.log_severity_level = 4  # errors come back as exceptions
    ort.set_default_logger_severity(4)
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def read_value(path: Path, ort_type: str):
    """A test_data_set .pb as ORT takes it; the file's proto kind follows the input's type."""
    data = path.read_bytes()
    if ort_type.startswith("seq("):
        proto = onnx.SequenceProto()
        proto.ParseFromString(data)
        return numpy_helper.to_list(proto)
    if ort_type.startswith("optional("):
        proto = onnx.OptionalProto()
        proto.ParseFromString(data)
        return numpy_helper.to_optional(proto)
    if ort_type.startswith("map("):
        proto = onnx.MapProto()
        proto.ParseFromString(data)
        return numpy_helper.to_dict(proto)
    proto = onnx.TensorProto()
    proto.ParseFromString(data)
    if onnx.TensorProto.DataType.Name(proto.data_type) not in RAW_TYPES:
        return numpy_helper.to_array(proto)
    raw = proto.raw_data or numpy_helper.from_array(numpy_helper.to_array(proto)).raw_data  # packed
    value = ort.OrtValue.ortvalue_from_shape_and_type(list(proto.dims), proto.data_type)
    if raw:
        ctypes.memmove(value.data_ptr(), raw, len(raw))
    return value


def run_session(sess: ort.InferenceSession, feeds: dict) -> list:
    """sess.run, except that outputs of RAW_TYPES come back as (onnx type, shape, bytes)."""
    if all(o.type.removeprefix("tensor(").rstrip(")").upper() not in RAW_TYPES for o in sess.get_outputs()):
        return sess.run(None, feeds)
    feeds = {k: v if isinstance(v, ort.OrtValue) else ort.OrtValue.ortvalue_from_numpy(v) for k, v in feeds.items()}
    outputs = []
    for v in sess.run_with_ort_values(None, feeds):
        if v.data_type().removeprefix("tensor(").rstrip(")").upper() in RAW_TYPES:
            outputs.append((v.data_type(), tuple(v.shape()), ctypes.string_at(v.data_ptr(), v.tensor_size_in_bytes())))
        else:
            outputs.append(v.numpy())
    return outputs


def run_ort(path: Path, data_sets: list[Path]) -> tuple[list | None, str | None, list]:
    """Load the model and run every data set (input i binds to session.get_inputs()[i], as
    onnxruntime's backend does). Returns (outputs per data set, error, the session's
    [(in|out, name, type)]); outputs is None when there is an error."""
    try:
        sess = session(path)
    except Exception as e:  # noqa: BLE001 - ORT raises several types; its message is the point
        return None, f"load: {first_line(e, path)}", []
    sig = [(kind, v.name, v.type) for kind, vs in (("in", sess.get_inputs()), ("out", sess.get_outputs()))
           for v in vs]
    outputs = []
    for ds in data_sets:
        files = sorted(ds.glob("input_*.pb"), key=lambda p: int(p.stem.split("_")[1]))
        inputs = sess.get_inputs()
        if len(files) > len(inputs):
            return None, f"{ds.name}: {len(files)} input files, model takes {len(inputs)}", sig
        try:
            feeds = {i.name: read_value(f, i.type) for i, f in zip(inputs, files)}
            outputs.append(run_session(sess, feeds))
        except Exception as e:  # noqa: BLE001
            return None, f"run {ds.name}: {first_line(e, path)}", sig
    return outputs, None, sig


def differ(a, b, where: str) -> str | None:
    """Why two ORT values are not bitwise identical, or None."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        if a.dtype != b.dtype or a.shape != b.shape:
            return f"{where}: {a.dtype}{list(a.shape)} vs {b.dtype}{list(b.shape)}"
        if a.dtype.hasobject or a.dtype.kind in "US":
            return None if a.tolist() == b.tolist() else f"{where}: values differ"
        bits_a = np.ascontiguousarray(a).reshape(-1).view(np.uint8).reshape(a.size, a.itemsize)
        bits_b = np.ascontiguousarray(b).reshape(-1).view(np.uint8).reshape(b.size, b.itemsize)
        bad = int((bits_a != bits_b).any(axis=1).sum())
        return f"{where}: {bad}/{a.size} elements differ bitwise" if bad else None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{where}: sequence length {len(a)} vs {len(b)}"
        return next((d for i, (x, y) in enumerate(zip(a, b)) if (d := differ(x, y, f"{where}[{i}]"))), None)
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return f"{where}: map keys differ"
        return next((d for k in a if (d := differ(a[k], b[k], f"{where}[{k!r}]"))), None)
    if type(a) is not type(b):
        return f"{where}: {type(a).__name__} vs {type(b).__name__}"
    return None if a == b else f"{where}: {a!r} vs {b!r}"


def compare_runs(orig: list, rt: list) -> str | None:
    for k, (outs_a, outs_b) in enumerate(zip(orig, rt)):
        if len(outs_a) != len(outs_b):
            return f"test_data_set_{k}: {len(outs_a)} outputs vs {len(outs_b)}"
        for i, (a, b) in enumerate(zip(outs_a, outs_b)):
            if d := differ(a, b, f"test_data_set_{k} output {i}"):
                return d
    return None


def checker_ok(path: Path) -> bool:
    try:
        onnx.checker.check_model(str(path), full_check=True)
        return True
    except Exception:  # noqa: BLE001 - any checker complaint means "does not pass"
        return False


def run_rotor(rotor: str, src: Path, dst: Path, timeout: float) -> tuple[str, str]:
    """(written|refused|crashed, message)."""
    if dst.parent.exists():
        shutil.rmtree(dst.parent)  # no stale output can pass for rotor's
    dst.parent.mkdir(parents=True)
    cmd = [rotor, "opt", str(src), "-o", str(dst), "--passes", "none"]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "crashed", f"timed out after {timeout:.0f} s"
    err = p.stderr.strip()
    if p.returncode == 0:
        return ("written", "") if dst.is_file() else ("crashed", "exit 0 but no output file")
    if p.returncode == 2:
        return "refused", err.splitlines()[-1] if err else "(no message)"
    how = f"signal {-p.returncode}" if p.returncode < 0 else f"exit {p.returncode}"
    return "crashed", f"{how}: {err.splitlines()[-1] if err else '(no stderr)'}"


def check_model(job: dict) -> Result:
    src, rel = Path(job["src"]), job["rel"]
    r = Result(rel, allowlisted=job["allowlisted"])
    data_sets = sorted((d for d in src.parent.glob("test_data_set_*") if d.is_dir()),
                       key=lambda d: int(d.name.rsplit("_", 1)[1]))
    r.data_sets = len(data_sets)
    orig_out, r.ort_original, orig_sig = run_ort(src, data_sets)
    if job["rotor"] is None:  # --make-allowlist: the original in ORT is all we need
        return r
    if r.ort_original and not r.allowlisted:
        r.failures.append(f"ORT cannot run the original and it is not allowlisted: {r.ort_original}")
    if not r.ort_original and r.allowlisted:
        r.notes.append("allowlisted, but ORT now runs the original")

    dst = Path(job["out"]) / rel / "model.onnx"
    r.rotor, r.rotor_message = run_rotor(job["rotor"], src, dst, job["timeout"])
    if r.rotor == "crashed":
        r.failures.append(f"rotor crashed: {r.rotor_message}")
    if r.rotor == "refused" and not r.ort_original:
        r.failures.append(f"rotor refused a model ORT runs: {r.rotor_message}")
    if r.rotor != "written":
        return r

    r.checker_original = checker_ok(src)
    r.checker_roundtrip = checker_ok(dst)
    if r.checker_original and not r.checker_roundtrip:
        r.failures.append("onnx.checker passes the original but not the round-tripped model")
    if r.ort_original:  # allowlisted: nothing to compare
        return r
    rt_out, rt_err, rt_sig = run_ort(dst, data_sets)
    if rt_err:
        r.failures.append(f"ORT cannot run the round-tripped model: {rt_err}")
        return r
    if orig_sig != rt_sig:
        r.failures.append(f"inputs/outputs differ: {orig_sig} vs {rt_sig}")
    if (diff := compare_runs(orig_out, rt_out)) and compare_runs(orig_out, run_ort(src, data_sets)[0] or []):
        r.nondeterministic = True  # ORT gives the original different values run to run
        r.notes.append(f"nondeterministic in ORT, outputs not compared ({diff})")
    elif diff:
        r.failures.append(f"outputs differ: {diff}")
    r.identical = not diff and bool(data_sets)
    return r


def read_allowlist(path: Path) -> dict[str, str]:
    entries = {}
    for line in path.read_text().splitlines():
        model, _, reason = line.partition("#")
        if model.strip():
            entries[model.strip()] = reason.strip()
    return entries


def write_allowlist(path: Path, results: list[Result]) -> None:
    bad = sorted((r for r in results if r.ort_original), key=lambda r: r.model)
    lines = [f"# Corpus models (python/make_corpus.py) whose ORIGINAL ONNX Runtime {ort.__version__} (CPU,",
             "# optimizations off) cannot load or run; python/roundtrip_check.py does not fail them.",
             "# Written by `python/roundtrip_check.py --make-allowlist`; reason = ORT's error.",
             *(f"{r.model}  # {r.ort_original}" for r in bad)]
    path.write_text("\n".join(lines) + "\n")
    print(f"roundtrip_check: wrote {len(bad)} entries to {path}")


def summarize(results: list[Result], out: Path, seconds: float) -> int:
    failed = [r for r in results if r.failures]
    written = [r for r in results if r.rotor == "written"]
    refused = [r for r in results if r.rotor == "refused"]
    count = lambda pred: sum(1 for r in results if pred(r))  # noqa: E731
    print(f"models:              {len(results)} ({seconds:.0f} s)")
    print(f"written:             {len(written)}")
    print(f"refused:             {len(refused)} ({count(lambda r: r.rotor == 'refused' and r.ort_original)} also refused by ORT)")
    print(f"crashed:             {count(lambda r: r.rotor == 'crashed')}")
    print(f"identical outputs:   {count(lambda r: r.identical)} "
          f"(no test data: {count(lambda r: r.rotor == 'written' and not r.data_sets)}, "
          f"nondeterministic in ORT: {count(lambda r: r.nondeterministic)})")
    print(f"checker passes:      {count(lambda r: r.checker_roundtrip)} round-tripped, "
          f"{count(lambda r: r.checker_original)} originals (of {len(written)} written)")
    print(f"allowlisted:         {count(lambda r: r.allowlisted)}")
    for r in results:
        for note in r.notes:
            print(f"note {r.model}: {note}")
    for r in failed:
        print(f"FAIL {r.model}: {'; '.join(r.failures)}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(
        {"passed": len(results) - len(failed), "failed": len(failed), "seconds": round(seconds, 1),
         "models": [asdict(r) for r in results]}, indent=1) + "\n")
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, required=True, help="folder of <...>/model.onnx models")
    ap.add_argument("--rotor", help="rotor CLI binary (required unless --make-allowlist)")
    ap.add_argument("--out", type=Path, help="round-tripped models and summary.json go here")
    ap.add_argument("--allowlist", type=Path, default=DEFAULT_ALLOWLIST, help="default: %(default)s")
    ap.add_argument("--make-allowlist", action="store_true",
                    help="run only the originals in ORT and write --allowlist from their errors")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (default: %(default)s)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per rotor run (default: %(default)s)")
    args = ap.parse_args()
    if not args.make_allowlist and (args.rotor is None or args.out is None):
        ap.error("--rotor and --out are required (unless --make-allowlist)")
    if args.rotor and not shutil.which(args.rotor):
        ap.error(f"--rotor {args.rotor}: not an executable")
    models = sorted(args.corpus.rglob("model.onnx"))
    if not models:
        ap.error(f"no model.onnx under {args.corpus}")
    allow = {} if args.make_allowlist else read_allowlist(args.allowlist) if args.allowlist.is_file() else None
    if allow is None:
        ap.error(f"no allowlist {args.allowlist} (make one with --make-allowlist)")

    rels = [m.parent.relative_to(args.corpus).as_posix() for m in models]
    if stale := sorted(set(allow) - set(rels)):
        print(f"roundtrip_check: {len(stale)} allowlist entries name no corpus model, e.g. {stale[0]}", file=sys.stderr)
    rotor = None if args.make_allowlist else str(Path(shutil.which(args.rotor)).resolve())
    jobs = [{"src": str(m), "rel": rel, "rotor": rotor, "out": str(args.out), "timeout": args.timeout,
             "allowlisted": rel in allow} for m, rel in zip(models, rels)]
    t = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = []
        for r in pool.map(check_model, jobs, chunksize=8):
            results.append(r)
            if len(results) % 250 == 0:
                print(f"roundtrip_check: {len(results)}/{len(jobs)} models", file=sys.stderr)
    seconds = time.perf_counter() - t
    if args.make_allowlist:
        write_allowlist(args.allowlist, results)
        print(f"roundtrip_check: {len(results)} originals run in ORT in {seconds:.0f} s")
        return 0
    return summarize(results, args.out, seconds)


if __name__ == "__main__":
    sys.exit(main())
