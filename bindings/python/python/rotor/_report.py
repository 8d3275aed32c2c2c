"""The report :func:`rotor.optimize` returns, as typed dicts (``mypy --strict`` sees its
fields)."""

from __future__ import annotations

from typing import TypedDict

__all__ = ["PassStat", "Rejection", "Check", "Finding", "OptimizeReport"]


class PassStat(TypedDict):
    """What one pass did over a run (``OptimizeReport["passes"]``)."""

    name: str
    rewrites: int
    seconds: float


#: A candidate a pass looked at and left alone: ``{"pass", "node", "reason"}``.
Rejection = TypedDict("Rejection", {"pass": str, "node": str, "reason": str})


class Check(TypedDict):
    """One comparison of ``verify=True``: an output of the result against the original's at one
    set of sizes."""

    binding: str
    output: str
    ok: bool
    summary: str


class Finding(TypedDict):
    """Something a deployment target cannot run (``OptimizeReport["lint"]``)."""

    node: str
    op: str
    why: str
    source: str


class _ReportBase(TypedDict):
    passes: list[PassStat]
    rounds: int
    converged: bool
    nodes_before: int
    nodes_after: int
    ops_after: list[tuple[str, int]]
    rejections: list[Rejection]
    rope_target: str
    load_ms: float
    passes_ms: float
    save_ms: float


class OptimizeReport(_ReportBase, total=False):
    """What :func:`optimize` returns: per pass its rewrites and seconds, the rounds run, node
    counts before and after, the op histogram after (``ops_after``), the candidates left alone
    with the reason (``rejections``), the RoPE op written and timings; with ``verify=True`` every
    comparison (``verify``), with a ``target`` its name and what it still cannot run (``lint``),
    and without a ``path`` the result's bytes (``model``)."""

    verify: list[Check]
    target: str
    lint: list[Finding]
    model: bytes
