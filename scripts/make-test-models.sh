#!/usr/bin/env bash
# Regenerates the test models that ../shared/testdata/models leaves out to stay small (their
# oracle files are there), with the reference generator, and checks their published sha256.
# Usage: scripts/make-test-models.sh OUT_DIR
set -euo pipefail
out=${1:?usage: make-test-models.sh OUT_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
td=${R1D_TESTDATA:-$root/../shared/testdata}
if [ ! -d "$td" ]; then
  echo "make-test-models: $td not found; skipping" >&2
  exit 0
fi
py=/usr/bin/python3
mkdir -p "$out"
gen() {  # name sha256 args...
  local name=$1 sha=$2
  shift 2
  if [ -f "$out/$name" ] && echo "$sha  $out/$name" | sha256sum -c --status; then return; fi
  (cd "$td" && $py tools/mkgguf.py gen "$@" --out "$out/$name.tmp" >/dev/null)
  mv "$out/$name.tmp" "$out/$name"
  echo "$sha  $out/$name" | sha256sum -c --quiet || { echo "make-test-models: $name: checksum differs" >&2; exit 1; }
  echo "make-test-models: wrote $out/$name"
}
V=vocab/ggml-vocab-deepseek-coder.gguf
gen llama-tiny-f32.gguf b95108fe4b94ab1ba86df02c486550c353749394fd70307442e58197068889c1 \
  --arch llama --vocab-from $V --n-embd 256 --n-layer 4 --n-head 4 --n-head-kv 2 --n-ff 768 \
  --dtype f32 --seed 2 --name llama-tiny
gen deepseek2-tiny-f16.gguf 43bbf8649c302a191baff409e80683b311c992bfe049e7695f183988644f356c \
  --arch deepseek2 --vocab-from $V --n-embd 256 --n-layer 3 --n-head 4 --n-ff 512 \
  --n-dense-lead 1 --n-expert 8 --n-expert-used 2 --n-expert-shared 1 --n-ff-exp 128 \
  --q-lora-rank 64 --kv-lora-rank 32 --qk-rope-dim 16 --qk-nope-dim 32 --v-head-dim 32 \
  --dtype f16 --seed 3 --name deepseek2-tiny
