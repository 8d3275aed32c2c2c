"""A user's code, type-checked with `mypy --strict` against the installed package (its
py.typed and stubs) by scripts/test.sh; not a pytest module. A signature change that breaks
callers fails the check."""

from __future__ import annotations

import rotor


def export_and_fuse(path: str) -> rotor.OptimizeReport:
    model: bytes = rotor.export({"kind": "rotary", "dim": 8, "mode": "qk"}, value_info=False)
    report = rotor.optimize(model, path, passes=["dce", "fuse-rope"], rope_target="ai.onnx", verify=True, dims={"N": [1, 5]})
    text: str = rotor.graph_text(path) + rotor.diff(model, path)
    names: list[str] = sorted(rotor.passes()) + sorted(rotor.targets())
    keys: list[str] = [k for k, v in rotor.config_keys("rotary").items() if v["default"] is not None or v["derived"] != "required"]
    help_text: str = rotor.config_help("rotary")
    rewrites: int = sum(p["rewrites"] for p in report["passes"])
    reasons: list[str] = [r["reason"] for r in report["rejections"]]
    checks: list[bool] = [c["ok"] for c in report.get("verify", [])]
    print(text, names, keys, help_text, rotor.__version__, rewrites, reasons, checks)
    return report


def handle(e: Exception) -> str:
    if isinstance(e, (rotor.VerifyError, rotor.LintError)):
        return str(e.report)
    if isinstance(e, rotor.ConfigError):
        return f"bad value: {e}"
    return repr(e)
