#!/usr/bin/env bash
# Run the README's quick-start blocks exactly as written: the CLI one from the repository root
# (where a user who just cloned stands), in a fresh shell, and it must leave the clone as it
# found it (its commands work in a folder of their own). Called by scripts/test.sh, so a README
# command that stops working fails the tests.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
block="$(awk '/^## CLI quick start/{q=1} q&&/^```sh/{f=1;next} f&&/^```/{exit} f{print}' README.md)"
[ -n "$block" ] || { echo "readme_check: no CLI quick-start block found" >&2; exit 1; }
pyblock="$(awk '/^## Python quick start/{q=1} q&&/^```python/{f=1;next} f&&/^```/{exit} f{print}' README.md)"
[ -n "$pyblock" ] || { echo "readme_check: no Python quick-start block found" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
untracked_before="$(git status --porcelain --untracked-files=all 2>/dev/null || true)"
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
# a new shell without what scripts/env.sh set (the block sets it up itself)
env -u ROTOR_ROOT -u ROTOR_PYTHON -u ROTOR_VENV -u ORT_DYLIB_PATH -u VIRTUAL_ENV -u LIBTORCH_USE_PYTORCH \
  bash "$work/quickstart.sh" > "$work/out.log" 2>&1 || { cat "$work/out.log" >&2; echo "readme_check: the README quick start FAILED" >&2; exit 1; }
untracked_after="$(git status --porcelain --untracked-files=all 2>/dev/null || true)"
if [ "$untracked_before" != "$untracked_after" ]; then
  diff <(printf '%s\n' "$untracked_before") <(printf '%s\n' "$untracked_after") >&2 || true
  echo "readme_check: the README quick start left files in the clone" >&2
  exit 1
fi
echo "readme_check: the README quick starts work as written" >&2
