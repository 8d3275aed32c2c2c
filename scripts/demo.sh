#!/usr/bin/env bash
# rotor's main job, end to end: export an xPos model and a KV-cache RoPE model from their
# configs, then check both in ONNX Runtime and tract against outputs of rotary-embedding-torch;
# export a HierarchicalTransformer checkpoint (committed, made by simple-hierarchical-transformer)
# and check it at two lengths, including n = 100 where torch.onnx.export's dynamic graph fails.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/setup_python.sh
# shellcheck source=scripts/env.sh
source scripts/env.sh
cargo build --locked --quiet -p rotor-cli
rotor="$root/target/debug/rotor"
mkdir -p out

echo "== xPos (q, k) from examples/xpos_qk.json" >&2
"$rotor" export --config examples/xpos_qk.json -o out/xpos_qk.onnx
"$rotor" check out/xpos_qk.onnx --expect golden/rotary/xpos_qk.safetensors

echo "== KV-cache RoPE (cached keys, run-time offset) from examples/kv_cache_rope.json" >&2
"$rotor" export --config examples/kv_cache_rope.json -o out/kv_cache_rope.onnx
"$rotor" check out/kv_cache_rope.onnx --expect golden/rotary/cached_qk_offset.safetensors

echo "== HierarchicalTransformer checkpoint (examples/hierarchical_config_a.json + its state_dict)" >&2
"$rotor" export --config examples/hierarchical_config_a.json \
  --weights golden/hierarchical/demo_config_a.weights.safetensors -o out/hierarchical_a.onnx
"$rotor" check out/hierarchical_a.onnx --expect golden/hierarchical/demo_config_a.safetensors --set n37 --set n100

echo "demo done: models in out/, graph text via: $rotor print out/xpos_qk.onnx" >&2
