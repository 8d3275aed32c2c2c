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
  torch              tiny random LLaMA, GPT-J and x-transformers decoders (RoPE, xPos) from
                     torch.onnx.export(dynamo=True), dynamic batch and sequence; input_ids [2, S]
                     -> logits, data sets S = 13 and S = 70 with the eager logits

Pinned packages (python/requirements.txt): onnx (test cases, helpers), torch (export),
onnxscript (the dynamo exporter), transformers and x-transformers (the torch models).
Models are built from configs with fixed seeds; nothing is downloaded (HF_HUB_OFFLINE=1).
Re-running is instant while DIR/.stamp matches this script and the package versions.
"""

import argparse
import contextlib
import hashlib
import importlib.metadata
import io
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

STAMP_PACKAGES = ("onnx", "torch", "transformers", "x-transformers")
SHIPPED_GROUPS = ("simple", "pytorch-converted", "pytorch-operator")
TORCH_SEQ_LENS = (13, 70)  # test_data_set_0, test_data_set_1; traced with batch 2, seq 13
VOCAB = 128


def stamp_text() -> str:
    """Hash of this script and the versions of the packages that shape the corpus."""
    h = hashlib.sha256(Path(__file__).read_bytes())
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


def torch_models() -> dict:
    """name -> builder of a module whose forward(input_ids) returns the logits (seeded, eval mode)."""
    import torch
    from transformers import GPTJConfig, GPTJForCausalLM, LlamaConfig, LlamaForCausalLM
    from x_transformers import Decoder, TransformerWrapper

    class Logits(torch.nn.Module):
        def __init__(self, model: torch.nn.Module, hf: bool):
            super().__init__()
            self.model, self.hf = model, hf

        def forward(self, input_ids):
            if self.hf:
                return self.model(input_ids=input_ids, attention_mask=None, use_cache=False).logits
            return self.model(input_ids)

    def x_decoder(**kwargs):
        return Logits(TransformerWrapper(num_tokens=VOCAB, max_seq_len=256,
                                         attn_layers=Decoder(dim=64, depth=2, heads=4, **kwargs)), False)

    return {
        "llama": lambda: Logits(LlamaForCausalLM(LlamaConfig(
            vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
            bos_token_id=1, eos_token_id=2)), True),
        "gptj": lambda: Logits(GPTJForCausalLM(GPTJConfig(
            vocab_size=VOCAB, n_embd=64, n_layer=2, n_head=4, rotary_dim=8, n_positions=256,
            bos_token_id=1, eos_token_id=2)), True),
        "x_transformers_rope": lambda: x_decoder(rotary_pos_emb=True),
        "x_transformers_xpos": lambda: x_decoder(rotary_xpos=True),
    }


def export_torch(name: str, build, model_dir: Path) -> None:
    import onnx
    import torch
    from onnx import numpy_helper

    torch.manual_seed(0)
    model = build().eval()
    model_dir.mkdir(parents=True)
    path = model_dir / "model.onnx"
    trace_ids = torch.randint(0, VOCAB, (2, TORCH_SEQ_LENS[0]))
    dims = {0: torch.export.Dim("batch"), 1: torch.export.Dim("seq")}
    log = io.StringIO()
    try:
        with contextlib.redirect_stdout(log):  # the exporter's progress lines
            torch.onnx.export(model, (trace_ids,), str(path), dynamo=True, external_data=True,
                              input_names=["input_ids"], output_names=["logits"],
                              dynamic_shapes={"input_ids": dims})
    except Exception:
        print(log.getvalue(), file=sys.stderr)
        raise
    graph = onnx.load(str(path), load_external_data=False).graph
    for k, seq in enumerate(TORCH_SEQ_LENS):
        ids = torch.randint(0, VOCAB, (2, seq), generator=torch.Generator().manual_seed(seq))
        with torch.no_grad():
            logits = model(ids)
        data_dir = model_dir / f"test_data_set_{k}"
        data_dir.mkdir()
        (data_dir / "input_0.pb").write_bytes(
            numpy_helper.from_array(ids.numpy(), graph.input[0].name).SerializeToString())
        (data_dir / "output_0.pb").write_bytes(
            numpy_helper.from_array(logits.numpy(), graph.output[0].name).SerializeToString())


def make_torch(group_dir: Path) -> list[str]:
    """Export every torch model; a failed export is reported and skipped. Returns the failures."""
    group_dir.mkdir()
    failed = []
    for name, build in torch_models().items():
        t = time.perf_counter()
        try:
            export_torch(name, build, group_dir / name)
            print(f"make_corpus: torch/{name} exported in {time.perf_counter() - t:.1f} s")
        except Exception:
            shutil.rmtree(group_dir / name, ignore_errors=True)
            failed.append(name)
            print(f"\nmake_corpus: ERROR: torch/{name}: export failed, model SKIPPED:\n"
                  f"{traceback.format_exc()}", file=sys.stderr)
    return failed


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
