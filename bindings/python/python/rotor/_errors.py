"""Exceptions raised by rotor. Every failure of the native code arrives as one of these."""

from __future__ import annotations

from ._report import OptimizeReport

__all__ = [
    "RotorError",
    "ConfigError",
    "ModelError",
    "RuntimeUnavailableError",
    "VerifyError",
    "LintError",
    "RotorWarning",
]


class RotorError(Exception):
    """Base class of rotor's exceptions."""


class ConfigError(RotorError, ValueError):
    """A config key, option, weight or argument is invalid; the message names it
    (``config field `dim`: ...``, ``weight `freqs`: ...``, ``passes "x": unknown pass``)."""


class ModelError(RotorError, ValueError):
    """The input is not an ONNX model rotor can read (the message says what is wrong)."""


class RuntimeUnavailableError(RotorError, RuntimeError):
    """ONNX Runtime is needed (``verify=True``) but cannot be loaded: install the
    ``onnxruntime`` package, or point ``ORT_DYLIB_PATH`` at ``libonnxruntime.so``."""


class _WithReport(RotorError):
    def __init__(self, message: str, report: OptimizeReport) -> None:
        super().__init__(message)
        #: The full report of the run (as :func:`rotor.optimize` returns it).
        self.report = report


class VerifyError(_WithReport):
    """``verify=True`` found an output of the optimized model that differs from the
    original's past tolerance. ``report["verify"]`` lists every comparison."""


class LintError(_WithReport):
    """The result still has nodes the ``target=`` runtime cannot run (the model was written
    anyway). ``report["lint"]`` lists them with the reason and its source."""


class RotorWarning(UserWarning):
    """Something the export chose that the caller may not expect (a fused form that fell back
    to the decomposed one, frequencies computed from a config, a module's stale cache)."""
