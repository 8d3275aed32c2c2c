#!/usr/bin/env bash
# Create (or reuse) the pinned Python environment in .venv: the reference packages that make the
# goldens (rotary-embedding-torch, simple-hierarchical-transformer, torch), onnx (checker) and
# onnxruntime (its wheel ships the libonnxruntime.so that rotor's `ort` loads).
# Re-installs only when python/requirements.txt or python/constraints.txt change.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${ROTOR_VENV:-$root/.venv}"
python="${PYTHON:-python3}"
stamp="$venv/.rotor-requirements"
want="$(cat "$root/python/requirements.txt" "$root/python/constraints.txt" | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ]; then
  echo "python env: $venv is up to date" >&2
  exit 0
fi
echo "python env: installing pinned packages into $venv (about a minute; torch is large)..." >&2
rm -rf "$venv"
"$python" -m venv "$venv"
# --no-cache-dir: the wheels are not kept a second time in ~/.cache/pip (torch's CUDA
# dependencies are about 3.5 GB; a clean CI machine gains nothing from the cache)
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir \
  -r "$root/python/requirements.txt" -c "$root/python/constraints.txt" >&2
"$venv/bin/python" -c "import torch, onnx, onnxruntime, rotary_embedding_torch, simple_hierarchical_transformer" >&2
echo "$want" > "$stamp"
echo "python env: ready" >&2
