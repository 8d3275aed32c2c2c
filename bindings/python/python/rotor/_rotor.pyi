"""Type stubs of rotor's native module (``rotor._rotor``); use the functions of ``rotor``."""

from collections.abc import Mapping, Sequence

__version__: str

def export_config(
    config_json: str,
    tensors: Sequence[tuple[str, str, Sequence[int], bytes]] | None = None,
    weights_path: str | None = None,
    path: str | None = None,
    value_info: bool = True,
) -> tuple[bytes, list[str]]: ...
def optimize(
    src: str | bytes,
    path: str | None = None,
    passes: Sequence[str] | None = None,
    rope_target: str | None = None,
    target: str | None = None,
    verify: bool = False,
    dims: Mapping[str, Sequence[int]] | None = None,
    ort_library: str | None = None,
) -> tuple[str, bytes | None, bool]: ...
def graph_text(src: str | bytes) -> str: ...
def diff(a: str | bytes, b: str | bytes) -> tuple[str, int]: ...
def pass_names() -> list[tuple[str, str]]: ...
def default_pipeline() -> list[str]: ...
def target_names() -> list[tuple[str, str]]: ...
def config_help(kind: str) -> str: ...
def config_key_table(kind: str) -> list[tuple[str, str | None, str, str]]: ...
