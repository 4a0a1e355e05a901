#!/usr/bin/env bash
# A/B of two r1d binaries on one model: runs `BIN bench` alternately (A, B, A, B, ...) so that
# drift in a noisy machine's state hits both alike, and prints each round's tokens/s and the
# B/A ratio per test, then the mean ratio. Not part of the tests.
#
#   bench/ab.sh [--rounds N] A_BINARY B_BINARY MODEL.gguf [r1d bench options...]
#     --rounds  alternations (default 3)
#   The bench options default to "-t 2 -p 512 -n 128 -r 2"; any given replace them
#   (--json is always added).
#   Example: cp build/r1d /tmp/r1d-old; (change, build); bench/ab.sh /tmp/r1d-old build/r1d \
#              model.gguf -t 2 -p 0 -n 128 -r 3
set -euo pipefail
rounds=3
if [[ "${1:-}" == "--rounds" ]]; then
  rounds="$2"
  shift 2
fi
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,12p' "$0"
  exit 0
fi
if [[ $# -lt 3 ]]; then
  echo "ab.sh: needs A_BINARY B_BINARY MODEL.gguf (see --help)" >&2
  exit 2
fi
a="$1" b="$2" model="$3"
shift 3
opts=("$@")
[[ ${#opts[@]} -gt 0 ]] || opts=(-t 2 -p 512 -n 128 -r 2)
for bin in "$a" "$b"; do
  [[ -x "$bin" ]] || { echo "ab.sh: $bin is not an executable" >&2; exit 1; }
done
[[ -f "$model" ]] || { echo "ab.sh: no such model file: $model" >&2; exit 1; }

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "A: $a"
echo "B: $b"
echo "model: $model, options: ${opts[*]}"
for ((i = 0; i < rounds; ++i)); do
  "$a" bench -m "$model" "${opts[@]}" --json >"$out/a$i.json" 2>/dev/null
  "$b" bench -m "$model" "${opts[@]}" --json >"$out/b$i.json" 2>/dev/null
done
python3 - "$out" "$rounds" <<'EOF'
import json, statistics, sys

out, rounds = sys.argv[1], int(sys.argv[2])

def load(path):
    return {row["test"]: row["tokens_per_second"] for row in json.load(open(path))}

tests = list(load(f"{out}/a0.json"))
print()
print("| test | round | A t/s | B t/s | B / A |")
print("|---|---|---|---|---|")
for test in tests:
    ratios = []
    for i in range(rounds):
        a, b = load(f"{out}/a{i}.json")[test], load(f"{out}/b{i}.json")[test]
        ratios.append(b / a)
        print(f"| {test} | {i + 1} | {a:.2f} | {b:.2f} | {b / a:.3f} |")
    spread = f" (min {min(ratios):.3f}, max {max(ratios):.3f})" if rounds > 1 else ""
    print(f"| {test} | mean | | | {statistics.mean(ratios):.3f}{spread} |")
EOF
