#!/usr/bin/env bash
# Run the README's quick-start block exactly as written (from the repository root), then remove
# the files it created. Called by scripts/test.sh, so a README command that stops working fails
# the tests.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
block="$(awk '/^## CLI quick start/{q=1} q&&/^```sh/{f=1;next} f&&/^```/{exit} f{print}' README.md)"
[ -n "$block" ] || { echo "readme_check: no CLI quick-start block found" >&2; exit 1; }
pyblock="$(awk '/^## Python quick start/{q=1} q&&/^```python/{f=1;next} f&&/^```/{exit} f{print}' README.md)"
[ -n "$pyblock" ] || { echo "readme_check: no Python quick-start block found" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"; rm -f xpos.json xpos.onnx kv.onnx kv_copy.onnx kv_fused.onnx' EXIT
# the Python quick start, in a folder of its own, with the venv's python (rotor installed by
# scripts/test.sh step 7)
mkdir "$work/py"
printf '%s\n' "$pyblock" > "$work/py/quickstart.py"
echo "readme_check: running the README Python quick start ($(printf '%s\n' "$pyblock" | grep -c .) lines)" >&2
(cd "$work/py" && "${ROTOR_PYTHON:-python3}" -W error::DeprecationWarning quickstart.py > "$work/py.log" 2>&1) \
  || { cat "$work/py.log" >&2; echo "readme_check: the README Python quick start FAILED" >&2; exit 1; }
for f in xpos.onnx xpos_fused.onnx hier.onnx kv_fused.onnx; do
  [ -s "$work/py/$f" ] || { echo "readme_check: the Python quick start wrote no $f" >&2; exit 1; }
done
printf 'set -euo pipefail\nshopt -s expand_aliases\n%s\n' "$block" > "$work/quickstart.sh"
echo "readme_check: running the README quick start ($(printf '%s\n' "$block" | grep -c .) lines)" >&2
bash "$work/quickstart.sh" > "$work/out.log" 2>&1 || { cat "$work/out.log" >&2; echo "readme_check: the README quick start FAILED" >&2; exit 1; }
echo "readme_check: the README quick starts work as written" >&2
