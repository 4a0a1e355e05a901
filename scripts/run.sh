#!/usr/bin/env bash
# The main job: install dependencies, build, fetch DeepSeek-R1 (the 1.5B distill) into the local
# store once, and open a chat with it. Without internet access (or with R1D_OFFLINE=1) it shows
# generation with the tiny trained model from ../shared/testdata instead.
# Usage: scripts/run.sh [MODEL]   (MODEL: a tag, hf:<owner>/<repo>/<file.gguf> or a path)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
model=${1:-deepseek-r1:1.5b}
if [ "${R1D_OFFLINE:-0}" != 1 ] && ./build/r1d pull "$model"; then
  exec ./build/r1d run -m "$model"
fi
echo "run.sh: could not pull $model (offline?); generating with the tiny stories260K model instead" >&2
./build/r1d generate -m ../shared/testdata/models/stories260K.gguf -n 200 --temp 0 --ctx 512
