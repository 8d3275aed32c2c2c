#!/usr/bin/env bash
# Run the README's quick-start block exactly as written (from the repository root), then remove
# the files it created. Called by scripts/test.sh, so a README command that stops working fails
# the tests.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
block="$(awk '/^## Quick start/{q=1} q&&/^```sh/{f=1;next} f&&/^```/{exit} f{print}' README.md)"
[ -n "$block" ] || { echo "readme_check: no quick-start block found" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"; rm -f xpos.json xpos.onnx kv.onnx kv_copy.onnx kv_fused.onnx' EXIT
printf 'set -euo pipefail\nshopt -s expand_aliases\n%s\n' "$block" > "$work/quickstart.sh"
echo "readme_check: running the README quick start ($(printf '%s\n' "$block" | grep -c .) lines)" >&2
bash "$work/quickstart.sh" > "$work/out.log" 2>&1 || { cat "$work/out.log" >&2; echo "readme_check: the README quick start FAILED" >&2; exit 1; }
echo "readme_check: the README quick start works as written" >&2
