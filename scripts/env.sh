# Source me: environment for running rotor against the pinned Python env (.venv).
# Sets ROTOR_PYTHON and ORT_DYLIB_PATH (the libonnxruntime.so of the onnxruntime wheel).
_rotor_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROTOR_VENV="${ROTOR_VENV:-$_rotor_root/.venv}"
export ROTOR_PYTHON="$ROTOR_VENV/bin/python"
_ort_capi="$("$ROTOR_PYTHON" -c 'import onnxruntime, os; print(os.path.join(os.path.dirname(onnxruntime.__file__), "capi"))')"
ORT_DYLIB_PATH="$(ls "$_ort_capi"/libonnxruntime.so.* 2>/dev/null | sort | tail -n 1)"
export ORT_DYLIB_PATH
if [ -z "$ORT_DYLIB_PATH" ]; then
  echo "scripts/env.sh: no libonnxruntime.so.* in $_ort_capi" >&2
  return 1 2>/dev/null || exit 1
fi
unset _rotor_root _ort_capi
