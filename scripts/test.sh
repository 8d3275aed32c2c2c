#!/usr/bin/env bash
# Run every test of rotor, with all set-up done here (nothing pre-installed by hand):
#   1. the pinned Python env (.venv) with the reference packages, onnx and onnxruntime;
#   2. the committed goldens must reproduce from the reference packages;
#   3. held-out random rotary configs and hierarchical checkpoints, with outputs from the
#      packages (seed: ROTOR_SEED);
#   4. cargo test (with the libtorch backend): ORT + tract parity against every golden (whole
#      models and each emitter, decomposed and fused), insta graph-text goldens, property tests
#      (ORT == tract == libtorch), export contracts, CLI behaviour;
#   5. onnx.checker.check_model(full_check=True) on every model the tests exported.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

echo "== 1. python env" >&2
scripts/setup_python.sh
# shellcheck source=scripts/env.sh
source scripts/env.sh
echo "   ORT_DYLIB_PATH=$ORT_DYLIB_PATH" >&2

echo "== 2. committed goldens reproduce from the reference packages" >&2
"$ROTOR_PYTHON" golden/rotary/make_goldens.py --check
"$ROTOR_PYTHON" golden/hierarchical/make_goldens.py --check
"$ROTOR_PYTHON" golden/sinusoidal/make_goldens.py --check

seed="${ROTOR_SEED:-20261124}"
echo "== 3. held-out random configs and checkpoints (ROTOR_SEED=$seed; any seed may be given)" >&2
rm -rf target/held-out
"$ROTOR_PYTHON" golden/rotary/make_goldens.py --random "${ROTOR_HELD_OUT:-24}" --seed "$seed" --out target/held-out/rotary
"$ROTOR_PYTHON" golden/sinusoidal/make_goldens.py --random 12 --seed "$seed" --out target/held-out/sinusoidal
"$ROTOR_PYTHON" golden/hierarchical/make_goldens.py --random "${ROTOR_HELD_OUT_HIER:-12}" --seed "$seed" --out target/held-out/hierarchical

echo "== 4. cargo test" >&2
rm -rf target/rotor-models
export ROTOR_MODEL_DIR="$root/target/rotor-models"
export ROTOR_EXTRA_GOLDENS="$root/target/held-out/rotary:$root/target/held-out/sinusoidal"
export ROTOR_EXTRA_HIER_GOLDENS="$root/target/held-out/hierarchical"
export ROTOR_REQUIRE_ORT=1
export INSTA_UPDATE=no
# the libtorch reference backend is part of every run (feature `torch`)
cargo test --workspace --locked --features rotor-tests/torch,rotor-cli/torch

echo "== 5. onnx.checker on every exported model" >&2
"$ROTOR_PYTHON" python/check_models.py "$ROTOR_MODEL_DIR"
echo "all tests passed" >&2
