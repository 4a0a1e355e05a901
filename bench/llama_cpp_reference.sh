#!/usr/bin/env bash
# llama.cpp on the same machine and the same files, for the ratios of bench/RESULTS.md: builds
# llama.cpp's llama-bench once (from the llama.cpp source that the node-llama-cpp npm package
# ships as a git bundle: npm is reachable where GitHub is not), then runs `r1d bench` and
# `llama-bench` alternately on each model, and prints both with the ratio. Not part of the
# tests; the build takes ~10 minutes on 2 cores, each model a few minutes.
#
#   bench/llama_cpp_reference.sh [--threads N] [--reps N] [-p N] [-n N] MODEL.gguf...
#     --threads  threads for both engines (default 2)
#     --reps     repetitions per test (default 3)
#     -p / -n    prompt and generated tokens (default 512 / 128)
#   Environment: R1D (our binary, default build/r1d), LLAMA_CPP_DIR (where llama.cpp is built,
#   default ~/.cache/r1d/llama.cpp), NODE_LLAMA_CPP_VERSION (default 3.22.1).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
r1d="${R1D:-$here/build/r1d}"
dir="${LLAMA_CPP_DIR:-$HOME/.cache/r1d/llama.cpp}"
version="${NODE_LLAMA_CPP_VERSION:-3.22.1}"
threads=2 reps=3 prompt=512 gen=128
models=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads) threads="$2"; shift ;;
    --reps) reps="$2"; shift ;;
    -p) prompt="$2"; shift ;;
    -n) gen="$2"; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "llama_cpp_reference.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) models+=("$1") ;;
  esac
  shift
done
[[ ${#models[@]} -gt 0 ]] || { echo "llama_cpp_reference.sh: no model given (see --help)" >&2; exit 2; }
[[ -x "$r1d" ]] || { echo "llama_cpp_reference.sh: $r1d not built (run scripts/build.sh)" >&2; exit 1; }
for m in "${models[@]}"; do
  [[ -f "$m" ]] || { echo "llama_cpp_reference.sh: no such model file: $m" >&2; exit 1; }
done

bench_bin="$dir/build/bin/llama-bench"
if [[ ! -x "$bench_bin" ]]; then
  for tool in npm git cmake ninja python3; do
    command -v "$tool" >/dev/null || { echo "llama_cpp_reference.sh: needs $tool" >&2; exit 1; }
  done
  echo "building llama-bench in $dir (node-llama-cpp $version's llama.cpp source)..." >&2
  mkdir -p "$dir"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-llama-cpp@$version" >/dev/null)
  tar -xzf "$tmp"/node-llama-cpp-*.tgz -C "$tmp"
  rm -rf "$dir/src"
  git -c advice.detachedHead=false clone --quiet "$tmp/package/llama/gitRelease.bundle" "$dir/src"
  cp "$tmp/package/llama/llama.cpp.info.json" "$dir/" 2>/dev/null || true
  rm -rf "$tmp"
  cmake -S "$dir/src" -B "$dir/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
    -DLLAMA_CURL=OFF -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF \
    >"$dir/cmake.log"
  ninja -C "$dir/build" llama-bench >"$dir/build.log" || { tail -n 20 "$dir/build.log" >&2; exit 1; }
fi

echo "date:      $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "r1d:       $(git -C "$here" rev-parse --short HEAD)$(git -C "$here" diff --quiet || echo ' (dirty)')"
echo "llama.cpp: $(git -C "$dir/src" log -1 --format='%h %cs' 2>/dev/null) (node-llama-cpp $version)"
echo "cpu:       $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
echo "load:      $(cut -d' ' -f1-3 /proc/loadavg)"
echo

r1d_json="$(mktemp)" llama_json="$(mktemp)"
trap 'rm -f "$r1d_json" "$llama_json"' EXIT
printf '| model | test | r1d t/s | llama.cpp t/s | ratio |\n|---|---|---|---|---|\n'
for m in "${models[@]}"; do
  # Alternate: ours, theirs, ours, theirs... one repetition each, so drift in the machine's
  # state (page cache, other load) hits both alike.
  : >"$r1d_json"; : >"$llama_json"
  for ((i = 0; i < reps; ++i)); do
    "$r1d" bench -m "$m" -t "$threads" -p "$prompt" -n "$gen" -r 1 --json >>"$r1d_json"
    echo >>"$r1d_json"
    "$bench_bin" -m "$m" -t "$threads" -p "$prompt" -n "$gen" -r 1 -o json >>"$llama_json" 2>/dev/null
    echo >>"$llama_json"
  done
  python3 - "$m" "$r1d_json" "$llama_json" "$prompt" "$gen" <<'EOF'
import json, os, statistics, sys

model, ours_path, theirs_path, prompt, gen = sys.argv[1:6]

def arrays(path):
    # One JSON array per run, concatenated.
    text, decoder, at, out = open(path).read(), json.JSONDecoder(), 0, []
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            return out
        value, at = decoder.raw_decode(text, at)
        out.extend(value)

ours, theirs = {}, {}
for row in arrays(ours_path):
    ours.setdefault(row["test"], []).append(row["tokens_per_second"])
for row in arrays(theirs_path):
    test = f"pp{row['n_prompt']}" if row["n_gen"] == 0 else f"tg{row['n_gen']}"
    theirs.setdefault(test, []).append(row["avg_ts"])

def fmt(values):
    if len(values) < 2:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"

for test in (f"pp{prompt}", f"tg{gen}"):
    if test not in ours or test not in theirs:
        continue
    ratio = statistics.mean(ours[test]) / statistics.mean(theirs[test])
    print(f"| {os.path.basename(model)} | {test} | {fmt(ours[test])} | {fmt(theirs[test])} "
          f"| {ratio:.2f}x |")
EOF
done
