#!/usr/bin/env bash
# Builds and runs every test: the unit, golden and end-to-end tests (Release), the same tests
# under AddressSanitizer + UndefinedBehaviorSanitizer, and the fuzz targets for a bounded time.
# Environment: R1D_SKIP_ASAN=1 / R1D_FUZZ_SECONDS=N (default 60, 0 skips fuzzing).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)

echo "== Release build and tests"
scripts/build.sh
ctest --test-dir build --output-on-failure -j "$jobs"

if [ "${R1D_SKIP_ASAN:-0}" != 1 ]; then
  echo "== AddressSanitizer + UndefinedBehaviorSanitizer build and tests"
  # bench/ is never run by the tests, so its programs are not built a second time here.
  # -O1 -g1 halves this build (18m52s -> 9m52s on 2 cores) and the tests take as long as at
  # -O2 (2m20s); line tables are all the sanitizer reports need.
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DR1D_SANITIZE=ON \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DR1D_BUILD_BENCH=OFF >/dev/null
  cmake --build build-asan -j "$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j "$jobs"
fi

fuzz_seconds=${R1D_FUZZ_SECONDS:-60}
if [ "$fuzz_seconds" != 0 ] && [ -x scripts/fuzz.sh ]; then
  echo "== Fuzzing ($fuzz_seconds s per target)"
  scripts/fuzz.sh "$fuzz_seconds"
fi
echo "== All tests passed"
