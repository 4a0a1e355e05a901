#!/usr/bin/env bash
# The main job: install dependencies, build, and generate text with a real (tiny) trained model.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
model=${1:-../shared/testdata/models/stories260K.gguf}
./build/r1d generate -m "$model" -n 200 --temp 0 --ctx 512
