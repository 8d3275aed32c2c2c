#!/usr/bin/env bash
# Run every test of rotor, with all set-up done here (nothing pre-installed by hand):
#   0. house rules: `cargo fmt --check`; then (with the venv of step 1, for libtorch)
#      `cargo clippy --workspace --all-targets --locked -D warnings` with the `torch` feature
#      (the lints of [workspace.lints] in Cargo.toml: no unwrap/expect/panic in library code);
#   1. the pinned Python env (.venv) with the reference packages, onnx and onnxruntime;
#   2. the committed goldens must reproduce from the reference packages on this machine, under
#      each of torch's CPU kernels (ATEN_CPU_CAPABILITY=default, avx2, and avx512 where the CPU
#      has it) and numpy's matching dispatch (NPY_DISABLE_CPU_FEATURES), so a golden that only
#      one kind of CPU reproduces fails here (golden/golden_check.py: floats within a tenth of
#      the parity tolerance; metadata, names and integers exactly); the files computed with the
#      kernel this run's torch picks are kept for the bit-exact checks of step 4;
#   3. held-out random rotary/axial/sinusoidal configs and hierarchical checkpoints, with
#      outputs from the packages, for two seeds: the fixed one and one drawn per run (printed;
#      ROTOR_SEED=<n> reproduces a run's draw);
#   3b. the RoPE pass test models (python/make_rope_models.py: tiny random Llama, GPT-NeoX, GPT-J,
#      Phi, x-transformers and rotary-embedding-torch attention exported by torch.onnx.export,
#      with eager logits at lengths 1, 13, 71; the ONNX RotaryEmbedding conformance tests);
#   4. cargo test (with the libtorch backend): the RoPE passes on those models (fused for every
#      target and lowered, ORT logits == eager), ORT + tract parity against every golden (whole
#      models and each emitter, decomposed and fused), insta graph-text goldens, property tests
#      (ORT == tract == libtorch), export contracts, the IR, CLI behaviour; then the CLI tests
#      once more without the `torch` feature (the default build's export path);
#   4b. the checks that read committed floats through torch again under torch's other kernels:
#      libtorch's frequencies against the committed goldens (a kernel-independent bound) and bit
#      for bit against the package run with the same kernel in step 2;
#   5. onnx.checker.check_model(full_check=True) on every model the tests exported;
#   6. the foreign-model corpus (python/make_corpus.py: the ONNX backend node tests of the pinned
#      onnx wheel, the model folders it ships, torch.onnx.export models of HF transformers and
#      x-transformers): each round-trips through `rotor opt --passes none` with ONNX Runtime
#      outputs bitwise identical to the original's (python/roundtrip_check.py);
#   6b. the RoPE models after `rotor opt --target ort-1.22` run in onnxruntime 1.22.1 (a side
#      venv, target/venv-ort122) with the eager logits (python/ort_version_check.py);
#   7. the Python package: `pip install ./bindings/python` into the venv, then its pytest suite
#      (every rotary golden, committed and held-out, re-exported from a live RotaryEmbedding
#      equals the package in ONNX Runtime, also under torch's other kernels; learned and
#      perturbed frequencies and xPos bases; live HierarchicalTransformers at several lengths;
#      optimize; errors; a syrupy snapshot), and mypy --strict over its sources and over a
#      user's code against the installed package;
#   8. the IR example (examples/rotate_in_own_graph.rs) runs and checks in ORT and tract; the
#      README quick starts (Python, then CLI) run as written (scripts/readme_check.sh).
# ATEN_CPU_CAPABILITY exported for the whole run makes it the kernel of every other step.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

# A first run needs about 15 GiB: the venv (torch with its CUDA libraries, ~5 GB), the Rust
# builds (~9 GB) and the generated corpora. Say so up front rather than fail mid-install.
avail_kib="$(df -Pk "$root" | awk 'NR==2 {print $4}')"
if [ -n "$avail_kib" ] && [ "$avail_kib" -lt $((15 * 1024 * 1024)) ]; then
  echo "warning: $((avail_kib / 1024 / 1024)) GiB free under $root; a first run of this script needs about 15 GiB" >&2
fi

echo "== 0. house rules: cargo fmt --check" >&2
cargo fmt --all --check

echo "== 1. python env" >&2
scripts/setup_python.sh
# shellcheck source=scripts/env.sh
source scripts/env.sh
echo "   ORT_DYLIB_PATH=$ORT_DYLIB_PATH" >&2

echo "== 0b. house rules: cargo clippy -D warnings (all targets, torch feature)" >&2
cargo clippy --workspace --all-targets --locked --features rotor-tests/torch,rotor-cli/torch -- -D warnings

echo "== 2. committed goldens reproduce from the reference packages, under each CPU kernel" >&2
# torch picks its vectorised kernels by ATEN_CPU_CAPABILITY (and the CPU); numpy dispatches by
# CPU feature, which NPY_DISABLE_CPU_FEATURES masks. Each kernel set is run: the committed files
# must hold on every CPU, not only on the one that made them.
native_cap="$("$ROTOR_PYTHON" -c 'import torch; print(torch.backends.cpu.get_cpu_capability().lower())')"
caps="default avx2"
if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then caps="$caps avx512"; fi
case " $caps " in *" $native_cap "*) ;; *) caps="$caps $native_cap" ;; esac
npy_avx512="AVX512F AVX512CD AVX512_KNL AVX512_KNM AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL AVX512_SPR"
npy_all="SSSE3 SSE41 POPCNT SSE42 AVX F16C FMA3 AVX2 $npy_avx512"
rm -rf target/fresh-goldens
for cap in $caps; do
  case "$cap" in
    default) npy="$npy_all" npy_note="numpy at its SSE3 baseline" ;;
    avx2) npy="$npy_avx512" npy_note="numpy without AVX-512" ;;
    *) npy="" npy_note="numpy as the CPU allows" ;;
  esac
  echo "   kernel $cap (ATEN_CPU_CAPABILITY=$cap, $npy_note)" >&2
  for kind in rotary hierarchical sinusoidal functions; do
    ATEN_CPU_CAPABILITY="$cap" NPY_DISABLE_CPU_FEATURES="$npy" \
      "$ROTOR_PYTHON" "golden/$kind/make_goldens.py" --check --keep "target/fresh-goldens/$cap/$kind"
  done
done
echo "   this run's kernel: $native_cap (its files serve the bit-exact checks)" >&2

fixed_seed=20261124
seed="${ROTOR_SEED:-$(( $(od -An -N4 -tu4 /dev/urandom) % 1000000000 ))}"
echo "== 3. held-out random configs and checkpoints (seeds $fixed_seed and $seed; ROTOR_SEED=$seed reproduces this run)" >&2
rm -rf target/held-out
extra=""
extra_hier=""
for s in "$fixed_seed" "$seed"; do
  "$ROTOR_PYTHON" golden/rotary/make_goldens.py --random "${ROTOR_HELD_OUT:-24}" --seed "$s" --out "target/held-out/$s/rotary"
  "$ROTOR_PYTHON" golden/sinusoidal/make_goldens.py --random 12 --seed "$s" --out "target/held-out/$s/sinusoidal"
  "$ROTOR_PYTHON" golden/hierarchical/make_goldens.py --random "${ROTOR_HELD_OUT_HIER:-12}" --seed "$s" --out "target/held-out/$s/hierarchical"
  extra="$extra${extra:+:}$root/target/held-out/$s/rotary:$root/target/held-out/$s/sinusoidal"
  extra_hier="$extra_hier${extra_hier:+:}$root/target/held-out/$s/hierarchical"
done

echo "== 3b. RoPE pass test models (torch.onnx.export, conformance tests)" >&2
"$ROTOR_PYTHON" python/make_rope_models.py --out target/rope-models

echo "== 4. cargo test" >&2
rm -rf target/rotor-models
export ROTOR_MODEL_DIR="$root/target/rotor-models"
export ROTOR_EXTRA_GOLDENS="$extra"
export ROTOR_EXTRA_HIER_GOLDENS="$extra_hier"
export ROTOR_FRESH_GOLDENS="$root/target/fresh-goldens/$native_cap"
export ROTOR_REQUIRE_FRESH=1
export ROTOR_REQUIRE_ORT=1
export ROTOR_ROPE_MODELS="$root/target/rope-models"
export ROTOR_REQUIRE_ROPE_MODELS=1
export INSTA_UPDATE=no
# the libtorch reference backend is part of every run (feature `torch`)
# (rotor-python, the extension module, is tested from Python in step 7)
cargo test --workspace --exclude rotor-python --locked --features rotor-tests/torch,rotor-cli/torch
# the CLI once more as users without torch build it (config-only frequencies)
cargo test --locked -p rotor-cli

echo "== 4b. libtorch against the committed goldens under torch's other kernels" >&2
for cap in $caps; do
  [ "$cap" = "$native_cap" ] && continue
  echo "   kernel $cap" >&2
  ATEN_CPU_CAPABILITY="$cap" ROTOR_FRESH_GOLDENS="$root/target/fresh-goldens/$cap" \
    cargo test --locked --quiet -p rotor-tests --features rotor-tests/torch --test torch_properties libtorch_reference
done

echo "== 5. onnx.checker on every exported model" >&2
"$ROTOR_PYTHON" python/check_models.py "$ROTOR_MODEL_DIR"

echo "== 6. foreign-model corpus: lossless round trips" >&2
"$ROTOR_PYTHON" python/make_corpus.py --out target/corpus
cargo build --locked -p rotor-cli
"$ROTOR_PYTHON" python/roundtrip_check.py --corpus target/corpus --rotor target/debug/rotor --out target/roundtrip

echo "== 6b. ONNX Runtime 1.22.1 (side venv): the RoPE models after rotor opt --target ort-1.22" >&2
side="$root/target/venv-ort122"
want="$(sha256sum python/requirements-ort122.txt | cut -d' ' -f1)"
if [ ! -x "$side/bin/python" ] || [ "$(cat "$side/.rotor-requirements" 2>/dev/null)" != "$want" ]; then
  rm -rf "$side"
  "${PYTHON:-python3}" -m venv "$side"
  "$side/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir -r python/requirements-ort122.txt >&2
  echo "$want" > "$side/.rotor-requirements"
fi
"$side/bin/python" python/ort_version_check.py --rotor target/debug/rotor --models target/rope-models/torch \
  --target ort-1.22 --expect-version 1.22.1

echo "== 7. the Python package: pip install ./bindings/python into the venv, pytest" >&2
# builds the abi3 wheel with maturin (fetched by pip's build isolation) in release mode
"$ROTOR_PYTHON" -m pip install --quiet --disable-pip-version-check --no-cache-dir --force-reinstall --no-deps ./bindings/python >&2
(cd bindings/python/tests && ROTOR_SEED="$seed" "$ROTOR_PYTHON" -m pytest -q -p no:cacheprovider)
# the committed goldens against live modules built under torch's other kernels
for cap in $caps; do
  [ "$cap" = "$native_cap" ] && continue
  echo "   goldens from live modules, kernel $cap" >&2
  (cd bindings/python/tests && ATEN_CPU_CAPABILITY="$cap" ROTOR_SEED="$seed" "$ROTOR_PYTHON" -m pytest -q -p no:cacheprovider \
    test_export_rotary.py -k golden_case)
done
# the package's sources, and a user's code against the installed package (py.typed, stubs)
"$ROTOR_PYTHON" -m mypy --strict --cache-dir target/mypy-cache bindings/python/python/rotor
(cd bindings/python/tests && "$ROTOR_PYTHON" -m mypy --strict --cache-dir ../../../target/mypy-cache typing_usage.py)

echo "== 8. the IR example and the README's commands (Python and CLI quick starts), as written" >&2
cargo run --locked --quiet -p rotor-export --example rotate_in_own_graph -- target/rotate_in_own_graph.onnx > /dev/null
target/debug/rotor check target/rotate_in_own_graph.onnx --dim S=37
scripts/readme_check.sh
echo "all tests passed" >&2
