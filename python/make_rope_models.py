#!/usr/bin/env python3
"""Generate the RoPE pass test models: tiny random transformers exported by
torch.onnx.export(dynamo=True), with their eager logits, and the ONNX conformance tests of
RotaryEmbedding.

    python/make_rope_models.py --out target/rope-models

Layout: DIR/torch/<name>/model.onnx (+ model.onnx.data), data.safetensors holding the sets
`L<len>/input_ids` [2, len] (int64) and `L<len>/logits` (the eager model's output, float32) for
len in 1, 13 (a prime) and 71 (> 64), plus test_data_set_<k>/{input,output}_0.pb (the same
tensors, for python/roundtrip_check.py); DIR/conformance/<test>/model.onnx + data.safetensors
(set `0/<name>`) for the 8 `test_rotary_embedding*` node tests of the pinned onnx wheel, and
DIR/conformance_expanded/<test>_expanded/ the same for their twins with the op's ONNX function
body inlined.

Models (2 layers: 4 q/k rotations each; traced with batch 2 and seq 13 — torch specialises a
traced dim of size 1 — with dynamic batch and sequence):
  llama                LlamaForCausalLM, rotate_half, GQA (4 heads, 2 kv heads)
  gpt_neox             GPTNeoXForCausalLM, partial rotation (rotary_pct 0.25)
  gptj                 GPTJForCausalLM, interleaved pairs, partial (rotary_dim 8 of 16)
  phi                  PhiForCausalLM, partial rotation (partial_rotary_factor 0.5)
  x_transformers_rope  x-transformers Decoder(rotary_pos_emb=True): interleaved, partial
  x_transformers_xpos  x-transformers Decoder(rotary_xpos=True): xPos
  rotary_xpos          attention around rotary-embedding-torch RotaryEmbedding(16, use_xpos=True);
                       its export fixes the sequence length (get_scale's len(t) // 2 is a Python
                       int), so its tables are constants and it is tested at that length only
  rotary_cached_keys   the same with rotate_queries_with_cached_keys (3 memory keys, partial 8/16)
  rotary_cached_keys_cache
                       rotate_queries_with_cached_keys of a default RotaryEmbedding(16) (its
                       frequency cache on) on q and k of one length: the export writes the
                       queries' table into the cache buffer (ScatterND) and reads the keys'
                       table back from it
  deepseek_v3          DeepseekV3ForCausalLM, multi-head latent attention (q_lora_rank None,
                       kv_lora_rank 16, rope on the last 8 of each head's 24 q/k features, the
                       key's rope part one head shared by all), rope_interleave: the pairs
                       (2k, 2k+1) rotated and written in halves over half-width tables
  hf_matmul_tables     one attention layer whose tables are built as transformers 4.x's
                       LlamaRotaryEmbedding builds them (the one optimum exports):
                       (inv_freq[None, :, None].expand(B, -1, 1) @ position_ids[:, None, :])
                       .transpose(1, 2), then cat((f, f), -1).cos() · attention_scaling;
                       rotate_half, 4 heads of 16
  chunk_half_tables    one attention layer rotated as GPT-OSS does: half-width tables
                       (position_ids[..., None] · inv_freq, no cat) and
                       cat(x1·cos − x2·sin, x2·cos + x1·sin) over x.chunk(2, -1)
  rotary_xpos_ts, rotary_cached_keys_ts, rotary_cached_keys_cache_ts, hf_matmul_tables_ts,
  chunk_half_tables_ts
                       the modules above through the TorchScript exporter (dynamo=False,
                       opset 17: no value_info, shapes computed by Shape/Gather/Where chains)

Nothing is downloaded (HF_HUB_OFFLINE=1); weights come from fixed seeds. Re-running is instant
while DIR/.stamp matches this script and the package versions.
"""

import argparse
import contextlib
import hashlib
import importlib.metadata
import io
import logging
import os
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

STAMP_PACKAGES = ("onnx", "torch", "transformers", "x-transformers", "rotary-embedding-torch")
SEQ_LENS = (1, 13, 71)
TRACE_SEQ = 13
VOCAB = 128


def stamp_text() -> str:
    h = hashlib.sha256(Path(__file__).read_bytes())
    for pkg in STAMP_PACKAGES:
        h.update(f"\n{pkg}=={importlib.metadata.version(pkg)}".encode())
    return h.hexdigest()


def torch_models() -> dict:
    """name -> builder of a module whose forward(input_ids) returns the logits (eval mode)."""
    import torch
    from rotary_embedding_torch import RotaryEmbedding
    from transformers import (DeepseekV3Config, DeepseekV3ForCausalLM, GPTJConfig, GPTJForCausalLM, GPTNeoXConfig,
                              GPTNeoXForCausalLM, LlamaConfig, LlamaForCausalLM, PhiConfig, PhiForCausalLM)
    from x_transformers import Decoder, TransformerWrapper

    class Logits(torch.nn.Module):
        def __init__(self, model: torch.nn.Module, hf: bool):
            super().__init__()
            self.model, self.hf = model, hf

        def forward(self, input_ids):
            if self.hf:
                return self.model(input_ids=input_ids, attention_mask=None, use_cache=False).logits
            return self.model(input_ids)

    class RotaryAttention(torch.nn.Module):
        """Embedding -> one attention layer with rotary-embedding-torch -> logits."""

        def __init__(self, xpos: bool, cached: bool, freq_cache: bool = False):
            super().__init__()
            self.heads, self.dim_head, self.cached, self.memory = 4, 16, cached, cached and not freq_cache
            self.emb = torch.nn.Embedding(VOCAB, 64)
            self.qkv = torch.nn.Linear(64, 3 * 64)
            self.out = torch.nn.Linear(64, VOCAB)
            if freq_cache:
                self.rotary = RotaryEmbedding(dim=16, use_xpos=xpos)  # the package's defaults: cache on
            else:
                self.rotary = RotaryEmbedding(dim=8 if cached else 16, use_xpos=xpos, cache_if_possible=False)
            self.xpos = xpos
            if self.memory:
                self.mem_k = torch.nn.Parameter(torch.randn(1, 4, 3, 16))
                self.mem_v = torch.nn.Parameter(torch.randn(1, 4, 3, 16))

        def forward(self, input_ids):
            x = self.emb(input_ids)
            b, s, _ = x.shape
            q, k, v = self.qkv(x).view(b, s, 3, self.heads, self.dim_head).permute(2, 0, 3, 1, 4)
            if self.cached:
                if self.memory:
                    k = torch.cat((self.mem_k.expand(b, -1, -1, -1), k), dim=2)
                    v = torch.cat((self.mem_v.expand(b, -1, -1, -1), v), dim=2)
                q, k = self.rotary.rotate_queries_with_cached_keys(q, k)
            elif self.xpos:
                q, k = self.rotary.rotate_queries_and_keys(q, k)
            else:
                q, k = self.rotary.rotate_queries_or_keys(q), self.rotary.rotate_queries_or_keys(k)
            att = torch.softmax(q @ k.transpose(-1, -2) / 4.0, dim=-1)
            y = (att @ v).transpose(1, 2).reshape(b, s, 64)
            return self.out(y)

    class HfStyleAttention(torch.nn.Module):
        """Embedding -> one attention layer with transformers-style tables -> logits; `form`:
        "matmul" (transformers 4.x's LlamaRotaryEmbedding, rotate_half) or "chunk" (GPT-OSS's
        half-width tables and chunk/cat rotation)."""

        def __init__(self, form: str):
            super().__init__()
            self.form, self.heads, self.dim_head = form, 4, 16
            self.emb = torch.nn.Embedding(VOCAB, 64)
            self.qkv = torch.nn.Linear(64, 3 * 64)
            self.out = torch.nn.Linear(64, VOCAB)
            inv_freq = 1.0 / (10000 ** (torch.arange(0, 16, 2, dtype=torch.int64).float() / 16))
            self.register_buffer("inv_freq", inv_freq, persistent=False)
            self.attention_scaling = 1.0 if form == "matmul" else 1.25

        def tables(self, x, position_ids):
            if self.form == "matmul":
                inv = self.inv_freq[None, :, None].float().expand(position_ids.shape[0], -1, 1)
                pos = position_ids[:, None, :].float()
                freqs = (inv.float() @ pos.float()).transpose(1, 2)
                emb = torch.cat((freqs, freqs), dim=-1)
            else:
                emb = position_ids[..., None].float() * self.inv_freq
            return (emb.cos() * self.attention_scaling).to(x.dtype), (emb.sin() * self.attention_scaling).to(x.dtype)

        def rotate(self, x, cos, sin):
            if self.form == "matmul":
                x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
                return x * cos + torch.cat((-x2, x1), dim=-1) * sin
            first, second = torch.chunk(x, 2, dim=-1)
            return torch.cat((first * cos - second * sin, second * cos + first * sin), dim=-1)

        def forward(self, input_ids):
            x = self.emb(input_ids)
            b, s, _ = x.shape
            position_ids = torch.arange(s, device=x.device).unsqueeze(0).expand(b, -1)
            cos, sin = self.tables(x, position_ids)
            cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
            q, k, v = self.qkv(x).view(b, s, 3, self.heads, self.dim_head).permute(2, 0, 3, 1, 4)
            q, k = self.rotate(q, cos, sin), self.rotate(k, cos, sin)
            att = torch.softmax(q @ k.transpose(-1, -2) / 4.0, dim=-1)
            y = (att @ v).transpose(1, 2).reshape(b, s, 64)
            return self.out(y)

    def x_decoder(**kwargs):
        return Logits(TransformerWrapper(num_tokens=VOCAB, max_seq_len=256,
                                         attn_layers=Decoder(dim=64, depth=2, heads=4, **kwargs)), False)

    common = dict(vocab_size=VOCAB, bos_token_id=1, eos_token_id=2)
    return {
        "llama": lambda: Logits(LlamaForCausalLM(LlamaConfig(
            hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=256, **common)), True),
        "gpt_neox": lambda: Logits(GPTNeoXForCausalLM(GPTNeoXConfig(
            hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
            rotary_pct=0.25, partial_rotary_factor=0.25, max_position_embeddings=256, **common)), True),
        "gptj": lambda: Logits(GPTJForCausalLM(GPTJConfig(
            n_embd=64, n_layer=2, n_head=4, rotary_dim=8, n_positions=256, **common)), True),
        "phi": lambda: Logits(PhiForCausalLM(PhiConfig(
            hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
            partial_rotary_factor=0.5, max_position_embeddings=256, **common)), True),
        "deepseek_v3": lambda: Logits(DeepseekV3ForCausalLM(DeepseekV3Config(
            hidden_size=64, intermediate_size=128, moe_intermediate_size=32, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=4, n_shared_experts=1, n_routed_experts=4,
            num_experts_per_tok=2, n_group=1, topk_group=1, first_k_dense_replace=2, kv_lora_rank=16,
            q_lora_rank=None, qk_rope_head_dim=8, v_head_dim=16, qk_nope_head_dim=16,
            max_position_embeddings=256, rope_interleave=True, **common)), True),
        "x_transformers_rope": lambda: x_decoder(rotary_pos_emb=True),
        "x_transformers_xpos": lambda: x_decoder(rotary_xpos=True),
        "rotary_xpos": lambda: RotaryAttention(xpos=True, cached=False),
        "rotary_cached_keys": lambda: RotaryAttention(xpos=False, cached=True),
        "rotary_cached_keys_cache": lambda: RotaryAttention(xpos=False, cached=True, freq_cache=True),
        "hf_matmul_tables": lambda: HfStyleAttention("matmul"),
        "chunk_half_tables": lambda: HfStyleAttention("chunk"),
    }


# the same modules through the TorchScript exporter (dynamo=False), which writes no value_info
# and computes shapes with Shape/Gather/Where chains; it cannot export the HF or x-transformers
# models of this torch/transformers (aten::diff, an alias-analysis assert)
TORCHSCRIPT = {"rotary_xpos_ts": "rotary_xpos", "rotary_cached_keys_ts": "rotary_cached_keys",
               "rotary_cached_keys_cache_ts": "rotary_cached_keys_cache", "hf_matmul_tables_ts": "hf_matmul_tables",
               "chunk_half_tables_ts": "chunk_half_tables"}


def export_torch(name: str, build, model_dir: Path) -> None:
    """Export one model with its data sets (see the module doc for the layout)."""
    import onnx
    import torch
    from onnx import numpy_helper
    from safetensors.numpy import save_file

    logging.getLogger("torch.onnx").setLevel(logging.ERROR)  # "torchvision is not installed" notes
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # the TorchScript exporter's notice
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    torch.manual_seed(0)
    model = build().eval()
    model_dir.mkdir(parents=True)
    path = model_dir / "model.onnx"
    trace_ids = torch.randint(0, VOCAB, (2, TRACE_SEQ))
    dims = {0: torch.export.Dim("batch"), 1: torch.export.Dim("seq")}
    log = io.StringIO()
    try:
        with contextlib.redirect_stdout(log):  # the exporter's progress lines
            if name in TORCHSCRIPT.keys():
                torch.onnx.export(model, (trace_ids,), str(path), dynamo=False, opset_version=17,
                                  input_names=["input_ids"], output_names=["logits"],
                                  dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}})
            else:
                torch.onnx.export(model, (trace_ids,), str(path), dynamo=True, external_data=True,
                                  input_names=["input_ids"], output_names=["logits"],
                                  dynamic_shapes={"input_ids": dims})
    except Exception:
        print(log.getvalue(), file=sys.stderr)
        raise
    graph = onnx.load(str(path), load_external_data=False).graph
    seq_dim = graph.input[0].type.tensor_type.shape.dim[1]
    lens = SEQ_LENS
    if seq_dim.HasField("dim_value"):
        # the exporter specialised the sequence length (rotary-embedding-torch's xPos computes
        # len(t) // 2 in Python): the model serves that length only, and is tested at it
        lens = (seq_dim.dim_value,)
        print(f"make_rope_models: NOTE: torch/{name}: the export fixed the sequence length to {lens[0]}")
    sets = {}
    for k, seq in enumerate(lens):
        ids = torch.randint(0, VOCAB, (2, seq), generator=torch.Generator().manual_seed(seq))
        with torch.no_grad():
            logits = model(ids)
        sets[f"L{seq}/input_ids"] = ids.numpy()
        sets[f"L{seq}/logits"] = logits.numpy()
        data_dir = model_dir / f"test_data_set_{k}"
        data_dir.mkdir()
        (data_dir / "input_0.pb").write_bytes(
            numpy_helper.from_array(ids.numpy(), graph.input[0].name).SerializeToString())
        (data_dir / "output_0.pb").write_bytes(
            numpy_helper.from_array(logits.numpy(), graph.output[0].name).SerializeToString())
    save_file(sets, str(model_dir / "data.safetensors"))


def make_torch(group_dir: Path, names=None) -> list[str]:
    """Export every torch model (or those in `names`); a failed export is reported and skipped.
    Returns the failures."""
    group_dir.mkdir(parents=True)
    failed = []
    models = torch_models()
    models.update({ts: models[src] for ts, src in TORCHSCRIPT.items()})
    for name, build in models.items():
        if names is not None and name not in names:
            continue
        t = time.perf_counter()
        try:
            export_torch(name, build, group_dir / name)
            print(f"make_rope_models: torch/{name} exported in {time.perf_counter() - t:.1f} s")
        except Exception:
            shutil.rmtree(group_dir / name, ignore_errors=True)
            failed.append(name)
            print(f"\nmake_rope_models: ERROR: torch/{name}: export failed, model SKIPPED:\n"
                  f"{traceback.format_exc()}", file=sys.stderr)
    return failed


def make_conformance(group_dir: Path, expanded_dir: Path) -> None:
    """The 8 RotaryEmbedding node tests into `group_dir` and their _expanded twins (the op's
    ONNX function body inlined) into `expanded_dir`, from onnx's own generator."""
    import onnx
    import onnx.backend.test.case.model as model_cases
    import onnx.backend.test.cmd_tools as cmd_tools
    from onnx import numpy_helper
    from onnx.backend.test.case import node
    from safetensors.numpy import save_file

    cases = [c for c in node.collect_testcases(None) if c.name.startswith("test_rotary_embedding")]
    if len(cases) != 16:
        raise RuntimeError(f"expected 8 test_rotary_embedding cases and their _expanded twins in onnx {onnx.__version__}, "
                           f"found {len(cases)}")
    model_cases.collect_testcases = lambda *a, **k: cases
    with tempfile.TemporaryDirectory(dir=group_dir.parent) as tmp:
        cmd_tools.generate_data(argparse.Namespace(output=tmp))
        shutil.move(str(Path(tmp) / "node"), group_dir)
    expanded_dir.mkdir()
    for case in sorted(group_dir.iterdir()):
        if case.name.endswith("_expanded"):
            shutil.move(str(case), expanded_dir / case.name)
    for case in sorted([*group_dir.iterdir(), *expanded_dir.iterdir()]):
        m = onnx.load(str(case / "model.onnx"))
        sets = {}
        data = case / "test_data_set_0"
        for kind, vis in (("input", m.graph.input), ("output", m.graph.output)):
            for i, vi in enumerate(vis):
                sets[f"0/{vi.name}"] = numpy_helper.to_array(onnx.load_tensor(str(data / f"{kind}_{i}.pb")))
        save_file(sets, str(case / "data.safetensors"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="output folder (created)")
    args = ap.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"  # build from configs only; never reach a hub

    out: Path = args.out
    stamp_path, stamp = out / ".stamp", stamp_text()
    if stamp_path.is_file() and stamp_path.read_text().strip() == stamp:
        print(f"make_rope_models: {out} is up to date")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    stamp_path.unlink(missing_ok=True)
    for d in ("torch", "conformance", "conformance_expanded"):
        shutil.rmtree(out / d, ignore_errors=True)
    t = time.perf_counter()
    make_conformance(out / "conformance", out / "conformance_expanded")
    failed = make_torch(out / "torch")
    print(f"make_rope_models: {out} in {time.perf_counter() - t:.1f} s")
    if failed:  # no stamp: the next run tries again; the tests then fail naming the missing models
        print(f"make_rope_models: ERROR: {len(failed)} export(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    stamp_path.write_text(stamp + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
