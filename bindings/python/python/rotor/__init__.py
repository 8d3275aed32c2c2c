"""rotor: ONNX graphs of rotary embeddings and hierarchical transformers, straight from the
live PyTorch modules, and passes that fuse, lower and clean up the RoPE of any ONNX model.

    import rotor
    from rotary_embedding_torch import RotaryEmbedding

    rot = RotaryEmbedding(dim=32, use_xpos=True)
    model_bytes = rotor.export(rot, "xpos.onnx", mode="qk")   # frequencies read from the module
    report = rotor.optimize("llama.onnx", "llama_fused.onnx", verify=True)

Nothing here needs torch or ONNX Runtime to import: a live module brings its own torch, and
only ``optimize(..., verify=True)`` loads ONNX Runtime (the library of the ``onnxruntime``
package you have installed).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypedDict, Union

from . import _errors, _live
from ._errors import *  # noqa: F403  (the exception classes; listed in _errors.__all__)
from ._report import Check, Finding, OptimizeReport, PassStat, Rejection
from ._rotor import __version__
from ._rotor import config_help as _config_help
from ._rotor import config_key_table as _config_key_table
from ._rotor import default_pipeline as _default_pipeline
from ._rotor import diff as _diff
from ._rotor import export_config as _export_config
from ._rotor import graph_text as _graph_text
from ._rotor import optimize as _optimize
from ._rotor import pass_names as _pass_names
from ._rotor import target_names as _target_names

__all__ = [
    "export",
    "optimize",
    "graph_text",
    "diff",
    "passes",
    "targets",
    "config_keys",
    "config_help",
    "ConfigKey",
    "OptimizeReport",
    "PassStat",
    "Rejection",
    "Check",
    "Finding",
    "__version__",
    *_errors.__all__,
]

#: A model: a path (``str`` or ``os.PathLike``), its serialized bytes, or an
#: ``onnx.ModelProto`` (anything with ``SerializeToString()``).
ModelSource = Union[str, "os.PathLike[str]", bytes, Any]


def export(obj: Any, path: str | os.PathLike[str] | None = None, *, weights: Any = None, value_info: bool = True, **options: Any) -> bytes:
    """Export ``obj`` as an ONNX model; write it to ``path`` when given; return its bytes.

    ``obj`` is one of:

    - a live ``rotary_embedding_torch.RotaryEmbedding``: its frequencies (``freqs``, learned or
      edited ones included), the xPos base (its ``scale`` buffer), ``use_xpos``,
      ``xpos_scale_base``, ``interpolate_factor``, ``seq_before_head_dim`` and ``freqs_for``
      are read from the module, so the graph computes what the module computes (a fresh
      module: see the note on xPos caches below). ``kind="axial_rotary"`` exports
      ``get_axial_freqs`` + ``apply_rotary_emb`` instead of ``rotate_queries_or_keys``;
    - a live ``simple_hierarchical_transformer.HierarchicalTransformer``: its kwargs are read
      from the module's structure and attributes, its weights from ``state_dict()`` in memory
      (no file);
    - a config ``dict``, exactly as the CLI's config JSON (``{"kind": "rotary", "dim": 64}``),
      with ``weights=`` a safetensors path or a ``state_dict`` (a mapping of names to tensors).

    ``options`` are rotor's graph keys, merged into the config: ``mode`` (``single``, ``qk``,
    ``cached_qk``), ``offset_input``, ``head_dim``, ``layout``, ``rank``, ``dtype``, ``opset``,
    ``form`` (``decomposed`` or ``fused``), ``fused_op``, ``start_index``, ... (see
    :func:`config_keys`). Keys a live module determines cannot be overridden (``ConfigError``).
    ``value_info=False`` leaves out the intermediate values' shapes.

    Raises ``ConfigError`` (a ``ValueError``) naming the key or weight that is wrong, and
    ``TypeError`` for an ``obj`` of another type. Notes on what the export chose (a fused form
    that fell back to the decomposed one, frequencies computed from a config) are issued as
    ``RotorWarning``.

    xPos: a ``RotaryEmbedding`` caches its scales at the first length it is called with and
    serves shorter calls from that cache (centre ``L_first // 2``); the graph, like a fresh
    module, centres each call on its own length. A warning says when the module holds such a
    cache.
    """
    config, tensors, weights_path, notes = _live.describe(obj, weights, options)
    data, more = _export_config(
        json.dumps(config),
        tensors=tensors,
        weights_path=weights_path,
        path=None if path is None else os.fspath(path),
        value_info=value_info,
    )
    for note in [*notes, *more]:
        warnings.warn(note, RotorWarning, stacklevel=2)
    return bytes(data)


def optimize(
    src: ModelSource,
    path: str | os.PathLike[str] | None = None,
    *,
    passes: Sequence[str] | None = None,
    rope_target: str | None = None,
    target: str | None = None,
    verify: bool = False,
    dims: Mapping[str, int | Sequence[int]] | None = None,
) -> OptimizeReport:
    """Run rotor's passes over a model (what ``rotor opt`` does) and return the report.

    ``src`` is a path (external data is read beside it), the model's bytes or an
    ``onnx.ModelProto``. The result is written to ``path`` when given (atomically; external
    initializers stay external, in ``<path>.data``); otherwise its bytes are in
    ``report["model"]``.

    - ``passes``: pass names in order, repeated until nothing changes (default: the cleanup
      passes, then ``fuse-rope``, then ``dce``; ``["none"]`` writes the model back unchanged;
      :func:`passes` lists them).
    - ``rope_target``: what ``fuse-rope`` writes: ``"ai.onnx"`` (opset-23
      ``RotaryEmbedding``, the default), ``"com.microsoft"`` (ONNX Runtime's contrib op) or
      ``"decomposed"``.
    - ``target``: legalize for a deployment target (:func:`targets`: ``ort``, ``ort-1.22``,
      ``tract``, ``tensorrt-10.14``, ...): its pipeline and RoPE op, no opset beyond what it
      loads; the result is linted and ``LintError`` raised if it still cannot run something
      (``report["lint"]``; the model is written anyway). Overrides ``rope_target``.
    - ``verify``: run the original and the result in ONNX Runtime (the ``onnxruntime``
      package's library) on seeded inputs with every symbolic dim at 1, 7 and 67 (or the sizes
      in ``dims``, ``{"S": [5, 300]}``) and raise ``VerifyError`` when an output differs past
      1e-4 + 1e-4·|b| (float16: 2e-3 + 4e-3·|b|); ``report["verify"]`` has every comparison.

    The report has, per pass, its rewrites and seconds, the rounds, node counts before and
    after, the op histogram after (``ops_after``), the candidates a pass left alone with the
    reason (``rejections``), and ``load_ms``, ``passes_ms``, ``save_ms``.

    Raises ``ConfigError`` for an unknown pass, target or RoPE target (the message lists the
    known ones), ``ModelError`` for input that is not a readable ONNX model, and
    ``RuntimeUnavailableError`` when ``verify=True`` finds no ONNX Runtime.
    """
    source = _source(src, "src")
    sizes: dict[str, list[int]] | None = None
    if dims is not None:
        sizes = {}
        for k, v in dims.items():
            vs = [v] if isinstance(v, int) else list(v)
            if not vs or not all(isinstance(s, int) and s >= 1 for s in vs):
                raise ConfigError(f"dims[{k!r}]: sizes must be integers >= 1, got {v!r}")
            sizes[str(k)] = vs
    if isinstance(passes, str):
        passes = [p.strip() for p in passes.split(",")]
    ort_library = _ort_library() if verify else None
    text, data, ok = _optimize(
        source,
        path=None if path is None else os.fspath(path),
        passes=None if passes is None else list(passes),
        rope_target=rope_target,
        target=target,
        verify=verify,
        dims=sizes,
        ort_library=ort_library,
    )
    report: OptimizeReport = json.loads(text)
    if data is not None:
        report["model"] = bytes(data)
    if not ok:
        failed = [v for v in report.get("verify", []) if not v["ok"]]
        if failed:
            lines = "\n".join(f"  [{v['binding']}] {v['output']}: {v['summary']}" for v in failed)
            raise VerifyError(f"the optimized model's outputs differ from the original's past tolerance:\n{lines}", report)
        lint = report.get("lint", [])
        lines = "\n".join(f"  {f['node']} ({f['op']}): {f['why']}  [source: {f['source']}]" for f in lint)
        raise LintError(f"target {report.get('target')}: the result still has {len(lint)} node(s) it cannot run (written anyway):\n{lines}", report)
    return report


def graph_text(src: ModelSource) -> str:
    """The deterministic graph text of a model, as ``rotor print`` prints it: for snapshot
    tests (insta in Rust, syrupy in Python) and code review of graph changes."""
    return str(_graph_text(_source(src, "src")))


def diff(a: ModelSource, b: ModelSource) -> str:
    """The structural difference of two models in the graph-text vocabulary, as ``rotor diff``
    prints it: ``"no differences\\n"`` when equal, else the differing lines followed by
    ``"N difference(s)\\n"`` (with ``---``/``+++`` headers when both are paths)."""
    sa, sb = _source(a, "a"), _source(b, "b")
    text, count = _diff(sa, sb)
    if count == 0:
        return "no differences\n"
    head = f"--- {sa}\n+++ {sb}\n" if isinstance(sa, str) and isinstance(sb, str) else ""
    return f"{head}{text}{count} difference(s)\n"


def passes() -> dict[str, str]:
    """The passes ``optimize(passes=...)`` takes, name -> what it does; ``"default"`` maps to
    the default pipeline (comma-separated)."""
    out = {name: summary for name, summary in _pass_names()}
    out["default"] = ", ".join(_default_pipeline())
    return out


def targets() -> dict[str, str]:
    """The deployment targets ``optimize(target=...)`` takes, name -> runtime."""
    return {name: runtime for name, runtime in _target_names()}


class ConfigKey(TypedDict):
    """One config key of a kind (see :func:`config_keys`)."""

    #: The default as JSON text (``"10000.0"``, ``"\"lang\""``, ``"null"``); ``None`` when
    #: the key is required or its default is derived from other keys (see ``derived``).
    default: str | None
    #: ``"required"``, or how the default is derived (``"dim"``); ``""`` when ``default`` is set.
    derived: str
    #: What the key means.
    doc: str


def config_keys(kind: str) -> dict[str, ConfigKey]:
    """The config keys of a kind (``rotary``, ``axial_rotary``, ``sinusoidal``,
    ``hierarchical_transformer``), in documented order: the keys every kind reads, then the
    kind's own. ``list(rotor.config_keys("rotary"))`` gives the names; each maps to its default
    and meaning. Unknown kinds raise :class:`ConfigError`. :func:`config_help` gives the same
    table as text, with the training-only kwargs that are accepted and ignored."""
    return {key: ConfigKey(default=default, derived=derived, doc=doc) for key, default, derived, doc in _config_key_table(kind)}


def config_help(kind: str) -> str:
    """The config keys of a kind with their defaults and meanings, as text: what
    ``rotor export KIND --help`` prints."""
    return str(_config_help(kind))


def _source(src: Any, what: str) -> str | bytes:
    if isinstance(src, (bytes, bytearray, memoryview)):
        return bytes(src)
    if isinstance(src, (str, os.PathLike)):
        p = os.fspath(src)
        if not os.path.isfile(p):
            raise FileNotFoundError(f"{what}: no such file: {p}")
        return str(p)
    if hasattr(src, "SerializeToString"):
        return bytes(src.SerializeToString())
    raise TypeError(f"{what}: expected a path, bytes or an onnx.ModelProto, got {type(src).__name__}")


def _ort_library() -> str | None:
    """The ``capi`` folder of the installed ``onnxruntime`` package, where the native module
    finds its shared library (None: ``ORT_DYLIB_PATH`` decides). Found without importing the
    package."""
    if os.environ.get("ORT_DYLIB_PATH"):
        return None
    import importlib.util

    spec = importlib.util.find_spec("onnxruntime")
    if spec is None or spec.origin is None:
        raise RuntimeUnavailableError(
            "verify=True runs ONNX Runtime, and the onnxruntime package is not installed "
            "(pip install onnxruntime, or set ORT_DYLIB_PATH to libonnxruntime.so)"
        )
    return str(Path(spec.origin).parent / "capi")
