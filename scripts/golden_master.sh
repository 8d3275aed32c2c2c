#!/usr/bin/env bash
# Golden master for refactors that must not change what rotor writes: builds `rotor` at BASE
# (a commit; default: the one before the IR redesign) and from the working tree, runs both over
#   - every golden config (golden/*/*.safetensors carry their config; hierarchical ones their
#     weights) and examples/*.json: `rotor export`,
#   - the foreign-model corpus (python/make_corpus.py) and the RoPE test models
#     (python/make_rope_models.py): `rotor opt --passes none` and `rotor opt` (default pipeline),
# and compares the files written (model and external data) byte for byte, and the exit codes.
# Prints each difference; exits 1 when there is one.
#
#   scripts/golden_master.sh [BASE]        # default BASE: the commit before the IR redesign
#
# Set-up as scripts/test.sh does it (the pinned venv; the corpora are generated when missing).
# The base is built in a git worktree under target/golden-master, into its own target dir
# (target/golden-master-base: a cold build the first time, incremental after).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
base="${1:-f6090af3d8cd2688d940b6127e32647f3626b626}"
work="$root/target/golden-master"

scripts/setup_python.sh
# shellcheck source=scripts/env.sh
source scripts/env.sh

echo "golden-master: building rotor at $base and from the working tree" >&2
rm -rf "$work"
mkdir -p "$work/bin"
git worktree remove --force "$work/base" 2>/dev/null || true
git worktree prune
git worktree add --detach --quiet "$work/base" "$base"
trap 'git -C "$root" worktree remove --force "$work/base" 2>/dev/null || true' EXIT
# the base builds in its own target dir (kept between runs): cargo hashes a path package by its
# path relative to the workspace, so a worktree sharing target/ would overwrite the working
# tree's artifacts with the base's, and the "new" binary could link the base's crates
(cd "$work/base" && CARGO_TARGET_DIR="$root/target/golden-master-base" cargo build --locked --quiet -p rotor-cli)
cp "$root/target/golden-master-base/debug/rotor" "$work/bin/rotor-base"
cargo build --locked --quiet -p rotor-cli
cp target/debug/rotor "$work/bin/rotor-new"
if cmp -s "$work/bin/rotor-base" "$work/bin/rotor-new"; then
  echo "golden-master: the two builds are the same binary (is $base the working tree?)" >&2
fi

echo "golden-master: corpora (generated when missing)" >&2
"$ROTOR_PYTHON" python/make_corpus.py --out target/corpus >&2
"$ROTOR_PYTHON" python/make_rope_models.py --out target/rope-models >&2

# configs: one JSON per golden file (its metadata), with the weights file beside it if any
mkdir -p "$work/configs"
"$ROTOR_PYTHON" - "$work/configs" <<'EOF'
import json, shutil, sys
from pathlib import Path
from safetensors import safe_open
out = Path(sys.argv[1])
for f in sorted(Path("golden").glob("*/*.safetensors")):
    if f.name.endswith(".weights.safetensors"):
        continue
    with safe_open(str(f), "np") as s:
        meta = s.metadata() or {}
    if "config" not in meta:
        continue
    stem = f"{f.parent.name}__{f.stem}"
    (out / f"{stem}.json").write_text(meta["config"])
    weights = f.with_name(f.stem + ".weights.safetensors")
    if weights.exists():
        (out / f"{stem}.weights").write_text(str(weights.resolve()))
for f in sorted(Path("examples").glob("*.json")):
    shutil.copy(f, out / f"examples__{f.name}")
EOF

differences=0
compared=0
# compare what two runs wrote (exit codes, then every file under each output folder)
compare() {
  local what="$1" a="$2" b="$3"
  compared=$((compared + 1))
  if [ "$(cat "$a/rc")" != "$(cat "$b/rc")" ]; then
    echo "DIFF $what: exit $(cat "$a/rc") (base) vs $(cat "$b/rc") (new)"
    differences=$((differences + 1))
    return
  fi
  local fa fb
  fa="$(cd "$a" && find . -type f ! -name rc ! -name err | sort)"
  fb="$(cd "$b" && find . -type f ! -name rc ! -name err | sort)"
  if [ "$fa" != "$fb" ]; then
    echo "DIFF $what: files $(echo $fa) (base) vs $(echo $fb) (new)"
    differences=$((differences + 1))
    return
  fi
  local f
  for f in $fa; do
    if ! cmp -s "$a/$f" "$b/$f"; then
      echo "DIFF $what: $f differs"
      differences=$((differences + 1))
    fi
  done
}

# run BIN (base|new) with args, in its own output folder
run() {
  local which="$1" dir="$2"
  shift 2
  mkdir -p "$dir"
  set +e
  (cd "$dir" && "$work/bin/rotor-$which" "$@" > /dev/null 2> err)
  echo $? > "$dir/rc"
  set -e
}

echo "golden-master: rotor export of $(ls "$work/configs"/*.json | wc -l) configs" >&2
for cfg in "$work/configs"/*.json; do
  stem="$(basename "$cfg" .json)"
  weights=()
  if [ -f "$work/configs/$stem.weights" ]; then weights=(--weights "$(cat "$work/configs/$stem.weights")"); fi
  for which in base new; do
    run "$which" "$work/out/export/$stem/$which" export --config "$cfg" "${weights[@]}" -o model.onnx -q
  done
  compare "export $stem" "$work/out/export/$stem/base" "$work/out/export/$stem/new"
done

models=()
while IFS= read -r m; do models+=("$m"); done < <(find target/corpus target/rope-models -name '*.onnx' -type f | sort)
echo "golden-master: rotor opt (--passes none, default) on ${#models[@]} models" >&2
k=0
for m in "${models[@]}"; do
  k=$((k + 1))
  id="m$k"
  for mode in none default; do
    flags=()
    if [ "$mode" = none ]; then flags=(--passes none); fi
    for which in base new; do
      run "$which" "$work/out/opt/$id/$mode/$which" opt "$root/$m" -o out.onnx -q "${flags[@]}"
    done
    compare "opt $mode $m" "$work/out/opt/$id/$mode/base" "$work/out/opt/$id/$mode/new"
  done
  # keep the disk small: a model's outputs go once compared
  rm -rf "$work/out/opt/$id"
  if [ $((k % 500)) -eq 0 ]; then echo "  $k of ${#models[@]}" >&2; fi
done

echo "golden-master: $compared comparisons, $differences difference(s) (base $base)" >&2
[ "$differences" -eq 0 ]
