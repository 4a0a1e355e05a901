#!/usr/bin/env bash
# Fuzzes the GGUF reader and the Jinja interpreter: builds gguf_fuzz with clang (libFuzzer + ASan + UBSan) in build-fuzz,
# seeds a corpus with small valid files, runs for SECONDS (default 60).
# Exits non-zero when the fuzzer finds a crash, leak, timeout or out-of-memory; the input that
# triggered it is left in build-fuzz/fuzz-artifacts/ (replay: build-fuzz/fuzz/gguf_fuzz FILE).
# Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
  echo "usage: $0 [SECONDS]" >&2
  exit 2
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build-fuzz"
cxx="${CXX:-clang++}"
if ! command -v "$cxx" >/dev/null; then
  echo "fuzz.sh: $cxx not found (install clang, which ships libFuzzer)" >&2
  exit 2
fi

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DR1D_FUZZ=ON -DR1D_BUILD_TESTS=OFF >/dev/null
ninja -C "$build" -j"${JOBS:-2}" gguf_fuzz gguf_fuzz_seeds jinja_fuzz

# The corpus lives in the build folder and grows from run to run.
corpus="$build/fuzz-corpus/gguf"
artifacts="$build/fuzz-artifacts"
mkdir -p "$corpus" "$artifacts"
"$build/fuzz/gguf_fuzz_seeds" "$corpus"

status=0
"$build/fuzz/gguf_fuzz" "$corpus" \
  -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=16384 \
  -dict="$root/fuzz/gguf.dict" -artifact_prefix="$artifacts/" -print_final_stats=1 || status=$?
if [ "$status" -ne 0 ]; then
  echo "fuzz.sh: gguf_fuzz found a problem (exit $status); inputs in $artifacts/" >&2
  exit 1
fi
# The Jinja interpreter, seeded with the real chat templates when the shared test data is there.
jcorpus="$build/fuzz-corpus/jinja"
mkdir -p "$jcorpus"
if [ -d "$root/../shared/testdata/templates" ]; then
  cp -n "$root/../shared/testdata/templates/"*.jinja "$jcorpus/" 2>/dev/null || true
fi
"$build/fuzz/jinja_fuzz" "$jcorpus" \
  -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=16384 \
  -artifact_prefix="$artifacts/jinja-" -print_final_stats=1 || status=$?
if [ "$status" -ne 0 ]; then
  echo "fuzz.sh: jinja_fuzz found a problem (exit $status); inputs in $artifacts/" >&2
  exit 1
fi
echo "fuzz.sh: no findings in ${seconds}s per target"
