# Source me: environment for running rotor against the pinned Python env (.venv).
# Sets ROTOR_ROOT (the clone), ROTOR_PYTHON, ORT_DYLIB_PATH (the libonnxruntime.so of the
# onnxruntime wheel), the libtorch variables of the `torch` feature, and puts the clone's
# target/debug (where `cargo build -p rotor-cli` leaves `rotor`) on PATH, so the commands work
# from any folder.
_rotor_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROTOR_ROOT="$_rotor_root"
export ROTOR_VENV="${ROTOR_VENV:-$_rotor_root/.venv}"
export ROTOR_PYTHON="$ROTOR_VENV/bin/python"
_ort_capi="$("$ROTOR_PYTHON" -c 'import onnxruntime, os; print(os.path.join(os.path.dirname(onnxruntime.__file__), "capi"))')"
ORT_DYLIB_PATH="$(ls "$_ort_capi"/libonnxruntime.so.* 2>/dev/null | sort | tail -n 1)"
export ORT_DYLIB_PATH
if [ -z "$ORT_DYLIB_PATH" ]; then
  echo "scripts/env.sh: no libonnxruntime.so.* in $_ort_capi" >&2
  return 1 2>/dev/null || exit 1
fi
# libtorch from the pinned torch wheel, for the `torch` cargo feature (tch 0.26): build with
# LIBTORCH_USE_PYTORCH=1 and the venv's python first on PATH; run with torch/lib on the loader path.
_torch_lib="$("$ROTOR_PYTHON" -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
export LIBTORCH_USE_PYTORCH=1
export VIRTUAL_ENV="$ROTOR_VENV"
export PATH="$_rotor_root/target/debug:$ROTOR_VENV/bin:$PATH"
export LD_LIBRARY_PATH="$_torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
unset _rotor_root _ort_capi _torch_lib
