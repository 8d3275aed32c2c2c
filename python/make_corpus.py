#!/usr/bin/env python3
"""Generate rotor's foreign-model test corpus: ONNX models nobody on the team wrote, for the
round-trip check (python/roundtrip_check.py) and pass tests.

    python/make_corpus.py --out target/corpus

Layout: DIR/<group>/<name>/model.onnx (plus model.onnx.data where the exporter writes external
data) and test_data_set_<k>/{input,output}_<i>.pb (TensorProto / SequenceProto / OptionalProto
files, as in the ONNX backend tests). Groups:

  node               the ONNX backend node tests, generated from the pinned onnx wheel's cases
  simple, pytorch-converted, pytorch-operator
                     copies of the model folders the onnx wheel ships
  light              the wheel's light_<name>.onnx models; inputs made as onnx's backend runner
                     makes them (Runner.generate_dummy_data), with the shipped output_0.pb
  torch              the RoPE pass test models of python/make_rope_models.py (tiny random
                     transformers from torch.onnx.export(dynamo=True)) with their data sets

Pinned packages (python/requirements.txt): onnx (test cases, helpers), torch (export),
onnxscript (the dynamo exporter), transformers and x-transformers (the torch models).
Models are built from configs with fixed seeds; nothing is downloaded (HF_HUB_OFFLINE=1).
Re-running is instant while DIR/.stamp matches this script and the package versions.
"""

import argparse
import hashlib
import importlib.metadata
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

STAMP_PACKAGES = ("onnx", "torch", "transformers", "x-transformers", "rotary-embedding-torch")
SHIPPED_GROUPS = ("simple", "pytorch-converted", "pytorch-operator")


def stamp_text() -> str:
    """Hash of this script and the versions of the packages that shape the corpus."""
    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update((Path(__file__).parent / "make_rope_models.py").read_bytes())
    for pkg in STAMP_PACKAGES:
        h.update(f"\n{pkg}=={importlib.metadata.version(pkg)}".encode())
    return h.hexdigest()


def onnx_test_data_dir() -> Path:
    import onnx.backend.test

    return Path(onnx.backend.test.__file__).parent / "data"


def make_node(group_dir: Path) -> None:
    """The backend node tests: onnx's own generator (cmd_tools.generate_data), fed the node cases."""
    import onnx.backend.test.case.model as model_cases
    import onnx.backend.test.cmd_tools as cmd_tools
    from onnx.backend.test.case import node

    cases = node.collect_testcases(None)
    model_cases.collect_testcases = lambda *a, **k: cases  # generate_data writes every case it collects
    with tempfile.TemporaryDirectory(dir=group_dir.parent) as tmp:
        cmd_tools.generate_data(argparse.Namespace(output=tmp))
        written = Path(tmp) / "node"
        if not written.is_dir():
            raise RuntimeError(f"onnx generate_data wrote no node/ folder (found {os.listdir(tmp)})")
        written.rename(group_dir)


def copy_shipped(group: str, group_dir: Path) -> None:
    src = onnx_test_data_dir() / group
    if not src.is_dir():
        raise RuntimeError(f"the onnx wheel has no {src}")
    shutil.copytree(src, group_dir)


def make_light(group_dir: Path) -> None:
    """light_<name>.onnx (+ light_<name>_output_<i>.pb) -> light/<name>/model.onnx + test_data_set_0."""
    import onnx
    from onnx import numpy_helper
    from onnx.backend.test.runner import Runner

    for src in sorted((onnx_test_data_dir() / "light").glob("light_*.onnx")):
        name = src.stem.removeprefix("light_")
        model_dir = group_dir / name
        model_dir.mkdir(parents=True)
        shutil.copy(src, model_dir / "model.onnx")
        outputs = sorted(src.parent.glob(f"{src.stem}_output_*.pb"))
        model = onnx.load(src)
        inits = {t.name for t in model.graph.initializer}
        try:  # the inputs onnx's runner feeds these models; the shipped outputs belong to them
            inputs = [Runner.generate_dummy_data(x, seed=0, name=name, random=False)
                      for x in model.graph.input if x.name not in inits]
        except NotImplementedError as e:
            print(f"make_corpus: light/{name}: no test data set ({e})", file=sys.stderr)
            continue
        data_dir = model_dir / "test_data_set_0"
        data_dir.mkdir()
        for i, x in enumerate(inputs):
            (data_dir / f"input_{i}.pb").write_bytes(numpy_helper.from_array(x).SerializeToString())
        for out in outputs:
            shutil.copy(out, data_dir / out.name.removeprefix(f"{src.stem}_"))


def make_torch(group_dir: Path) -> list[str]:
    """The RoPE pass test models (python/make_rope_models.py), exported into the corpus."""
    sys.path.insert(0, str(Path(__file__).parent))
    import make_rope_models

    return make_rope_models.make_torch(group_dir)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="corpus folder (created)")
    args = ap.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"  # build from configs only; never reach a hub

    out: Path = args.out
    stamp_path, stamp = out / ".stamp", stamp_text()
    if stamp_path.is_file() and stamp_path.read_text().strip() == stamp:
        print(f"make_corpus: {out} is up to date")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    stamp_path.unlink(missing_ok=True)

    steps = [("node", make_node), *((g, lambda d, g=g: copy_shipped(g, d)) for g in SHIPPED_GROUPS),
             ("light", make_light), ("torch", make_torch)]
    failed_exports = []
    for group, make in steps:
        t = time.perf_counter()
        group_dir = out / group
        shutil.rmtree(group_dir, ignore_errors=True)
        failed_exports += make(group_dir) or []
        print(f"make_corpus: {group} done in {time.perf_counter() - t:.1f} s")

    print(f"make_corpus: corpus in {out}")
    for group, _ in steps:
        models = list((out / group).rglob("model.onnx"))
        with_data = sum(1 for m in models if any(m.parent.glob("test_data_set_*")))
        print(f"  {group:18} {len(models):5} models ({with_data} with test data)")
    if failed_exports:  # no stamp: the next run tries again
        print(f"make_corpus: WARNING: {len(failed_exports)} torch export(s) failed and were skipped: "
              f"{', '.join(failed_exports)}", file=sys.stderr)
    else:
        stamp_path.write_text(stamp + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
