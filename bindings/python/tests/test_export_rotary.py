"""rotor.export of live rotary_embedding_torch.RotaryEmbedding modules, run in ONNX Runtime and
compared with the module's own outputs (the package's goldens, or the module called here)."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import REPO, Session, seed, worst
from safetensors import safe_open
from safetensors.numpy import load_file

import rotor
from rotary_embedding_torch import RotaryEmbedding


def golden_files() -> list[Path]:
    """The committed rotary goldens, and the held-out ones scripts/test.sh generates for this
    run (ROTOR_EXTRA_GOLDENS, colon-separated folders)."""
    dirs = [REPO / "golden/rotary"] + [Path(d) for d in os.environ.get("ROTOR_EXTRA_GOLDENS", "").split(":") if d]
    files = []
    for d in dirs:
        for p in sorted(d.glob("*.safetensors")):
            with safe_open(str(p), "np") as f:
                kind = json.loads((f.metadata() or {}).get("config", "{}")).get("kind")
            if kind in ("rotary", "axial_rotary"):  # the extra folders hold sinusoidal goldens too
                files.append(p)
    return files


def read_golden(path: Path) -> tuple[dict, bool, dict[str, dict[str, np.ndarray]], dict[str, np.ndarray]]:
    """(config, parity, sets, state_dict) of a golden file."""
    with safe_open(str(path), "np") as f:
        meta = f.metadata()
    tensors = load_file(str(path))
    sets: dict[str, dict[str, np.ndarray]] = {}
    state: dict[str, np.ndarray] = {}
    for k, v in tensors.items():
        s, name = k.split("/", 1)
        if s == "state_dict":
            state[name] = v
        else:
            sets.setdefault(s, {})[name] = v
    return json.loads(meta["config"]), meta.get("parity", "true") == "true", sets, state


FILES = golden_files()


def test_the_goldens_are_there() -> None:
    committed = [f for f in FILES if f.parent == REPO / "golden/rotary"]
    assert len(committed) >= 20, f"expected the committed rotary goldens, found {len(committed)}"
    if os.environ.get("ROTOR_REQUIRE_FRESH"):
        assert len(FILES) > len(committed), "scripts/test.sh passes held-out goldens in ROTOR_EXTRA_GOLDENS"


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_golden_case_from_a_live_module(path: Path, rotary_goldens) -> None:
    config, parity, sets, state = read_golden(path)
    # the module as the package's user builds it (the case's kwargs), holding the frequencies
    # the golden's outputs were computed with: torch computes them with whichever of its CPU
    # kernels runs (scripts/test.sh runs this under each), up to 2 ulps apart, which at long
    # positions moves outputs past the tolerance; the golden's own are the module that made it
    module = rotary_goldens.make_module(config)
    if "freqs" in state:
        with torch.no_grad():
            module.freqs.copy_(torch.from_numpy(state["freqs"]))
    options = {k: v for k, v in config.items() if k not in rotary_goldens.PACKAGE_KWARGS}
    with warnings.catch_warnings():
        warnings.simplefilter("error", rotor.RotorWarning)  # no note: the frequencies are the module's
        model = rotor.export(module, **options)
    s = Session(model)
    if not parity:
        # f16_positions_to_65536: rotor's float16 positions stay exact where the package's do
        # not (the golden's own note); the export must still run.
        feeds = next(iter(sets.values()))
        s.run(feeds)
        return
    for name, tensors in sets.items():
        got = s.run(tensors)
        for out in s.outputs:
            w = worst(got[out], tensors[out])
            assert w <= 1.0, f"{path.stem} {name} {out}: {w:.3f} of the tolerance"


LENGTHS = [1, 13, 71]


def reset(m: RotaryEmbedding) -> RotaryEmbedding:
    """Empty the module's caches: a fresh module's state (an xPos module holds a staticmethod
    and cannot be deep-copied)."""
    m.cached_freqs_seq_len = 0
    if m.use_xpos:
        m.cached_scales_seq_len = 0
    return m


def rotate(module: RotaryEmbedding, mode: str, q: torch.Tensor, k: torch.Tensor, offset: int = 0) -> list[np.ndarray]:
    """The module's own outputs, its caches emptied first."""
    m = reset(module)
    with torch.no_grad():
        if mode == "single":
            return [m.rotate_queries_or_keys(q, offset=offset).numpy()]
        if mode == "qk":
            return [t.numpy() for t in m.rotate_queries_and_keys(q, k)]
        return [t.numpy() for t in m.rotate_queries_with_cached_keys(q, k, offset=offset)]


def check_module(module: RotaryEmbedding, mode: str, head_dim: int, **options) -> float:
    reset(module)
    model = rotor.export(module, mode=mode, head_dim=head_dim, **options)
    s = Session(model)
    gen = torch.Generator().manual_seed(seed())
    worst_seen = 0.0
    for n in LENGTHS:
        q = torch.randn(2, 3, n, head_dim, generator=gen)
        k = torch.randn(2, 3, n + (5 if mode == "cached_qk" else 0), head_dim, generator=gen)
        offset = 3 if options.get("offset_input") else 0
        want = rotate(module, mode, q, k, offset)
        feeds = {"x": q.numpy(), "q": q.numpy(), "k": k.numpy(), "offset": np.array(offset, dtype=np.int64)}
        got = s.run(feeds)
        for out, w in zip(s.outputs, want):
            worst_seen = max(worst_seen, worst(got[out], w))
    return worst_seen


def perturb_(t: torch.Tensor, gen: torch.Generator, amount: float = 0.2) -> None:
    with torch.no_grad():
        t.mul_(1 + amount * torch.randn(t.shape, generator=gen))


@pytest.mark.parametrize("mode", ["single", "cached_qk"])
def test_learned_frequencies(mode: str) -> None:
    # learned_freq=True: the frequencies are a trained parameter, only the live module has them
    m = RotaryEmbedding(dim=16, learned_freq=True)
    perturb_(m.freqs, torch.Generator().manual_seed(seed()))
    assert worst(m.freqs.detach().numpy(), RotaryEmbedding(dim=16).freqs.detach().numpy()) > 1.0, "the perturbation must matter"
    assert check_module(m, mode, 16, offset_input=True) <= 1.0


def test_perturbed_frequencies_and_xpos_base() -> None:
    m = RotaryEmbedding(dim=24, use_xpos=True, xpos_scale_base=64)
    gen = torch.Generator().manual_seed(seed() + 1)
    perturb_(m.freqs, gen)
    perturb_(m.scale, gen, 0.05)  # the xPos base buffer
    assert check_module(m, "qk", 24) <= 1.0
    assert check_module(m, "cached_qk", 24) <= 1.0
    # the same module exported with the package's default base must differ: the buffer is read
    fresh = RotaryEmbedding(dim=24, use_xpos=True, xpos_scale_base=64)
    with torch.no_grad():
        fresh.freqs.copy_(m.freqs)
    model = rotor.export(fresh, mode="qk")
    q = torch.randn(1, 1, 71, 24, generator=gen)
    got = Session(model).run({"q": q.numpy(), "k": q.numpy()})
    assert worst(got["q_rot"], rotate(m, "qk", q, q)[0]) > 1.0


def test_partial_rotation_interpolation_and_fused_form() -> None:
    m = RotaryEmbedding(dim=8, interpolate_factor=4.0, theta_rescale_factor=2.0)
    assert check_module(m, "single", 20, offset_input=True) <= 1.0
    assert check_module(m, "single", 20, form="fused") <= 1.0
    assert check_module(m, "cached_qk", 8, form="fused") <= 1.0


def test_custom_frequencies_of_another_count() -> None:
    # (the package's cos/sin cache has width dim and cannot hold 5 pairs: cache off)
    m = RotaryEmbedding(dim=32, custom_freqs=torch.tensor([1.0, 0.5, 0.25, 0.01, 0.003]), cache_if_possible=False)
    assert check_module(m, "single", 32) <= 1.0


def test_xpos_cache_warning() -> None:
    m = RotaryEmbedding(dim=8, use_xpos=True)
    q = torch.randn(1, 1, 40, 8)
    m.rotate_queries_and_keys(q, q)  # caches the scales at length 40
    with pytest.warns(rotor.RotorWarning, match="cached at length 40"):
        rotor.export(m, mode="qk")


def test_axial_from_a_module() -> None:
    m = RotaryEmbedding(dim=8, freqs_for="pixel", max_freq=32)
    model = rotor.export(m, kind="axial_rotary", axial_dims=[5, None], head_dim=32)
    x = torch.randn(2, 5, 7, 32)
    from rotary_embedding_torch import apply_rotary_emb

    with torch.no_grad():
        want = apply_rotary_emb(m.get_axial_freqs(5, 7), x).numpy()
    assert worst(Session(model).run({"x": x.numpy()})["x_rot"], want) <= 1.0


def test_config_dicts_with_weights(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    m = RotaryEmbedding(dim=16, learned_freq=True)
    perturb_(m.freqs, torch.Generator().manual_seed(3))
    from_module = rotor.export(m, mode="qk")
    config = {"kind": "rotary", "dim": 16, "mode": "qk"}
    from_state_dict = rotor.export(config, weights=m.state_dict())
    save_file({k: v.contiguous() for k, v in m.state_dict().items()}, str(tmp_path / "w.safetensors"))
    out = tmp_path / "rot.onnx"
    from_file = rotor.export(config, out, weights=tmp_path / "w.safetensors")
    assert out.read_bytes() == from_file
    # the same frequencies and the same graph keys give the same graph
    assert rotor.diff(from_state_dict, from_file) == "no differences\n"
    assert rotor.graph_text(from_module).count("RotaryEmbedding") == rotor.graph_text(from_file).count("RotaryEmbedding")
    q = np.random.RandomState(0).standard_normal((1, 2, 9, 16)).astype(np.float32)
    a, b = Session(from_module).run({"q": q, "k": q}), Session(from_file).run({"q": q, "k": q})
    assert worst(a["q_rot"], b["q_rot"]) == 0.0


def test_config_only_notes_the_precision() -> None:
    with pytest.warns(rotor.RotorWarning, match="SLEEF"):
        rotor.export({"kind": "rotary", "dim": 64})
