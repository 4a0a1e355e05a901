#!/usr/bin/env bash
# The CPU-speed measurements of bench/RESULTS.md, reproducibly: synthesizes the benchmark models
# (R1-Distill-Qwen shapes, random weights) where missing, prints the machine and the commit, then
# runs `r1d bench` on each. Not part of the tests; takes several minutes.
#
#   bench/cpu_speed.sh [--quick] [--threads N] [--models DIR]
#     --quick   pp64 / tg16, one repetition (a smoke run, not for RESULTS.md)
#     --threads threads for every run (default 2, the reference machine's core count)
#     --models  where the synthetic GGUF files live (default /tmp/r1d-bench-models)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
r1d="${R1D:-$here/build/r1d}"
threads=2
models=/tmp/r1d-bench-models
prompt=512
gen=128
reps=3
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) prompt=64 gen=16 reps=1 ;;
    --threads) threads="$2"; shift ;;
    --models) models="$2"; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "cpu_speed.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ -x "$r1d" ]] || { echo "cpu_speed.sh: $r1d not built (run scripts/build.sh)" >&2; exit 1; }
mkdir -p "$models"

synth() {  # shape type file
  [[ -f "$models/$3" ]] || "$r1d" synth --arch qwen2 --shape "$1" --type "$2" -o "$models/$3" \
    2>&1 | tail -n 1
}
synth r1-distill-qwen-1.5b q4_k_m qwen-1.5b-q4_k_m.gguf
synth r1-distill-qwen-1.5b q8_0 qwen-1.5b-q8_0.gguf
synth r1-distill-qwen-7b q4_k_m qwen-7b-q4_k_m.gguf

echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "commit:  $(git -C "$here" rev-parse --short HEAD)$(git -C "$here" diff --quiet || echo ' (dirty)')"
echo "cpu:     $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
echo "flags:   $(lscpu | sed -n 's/^Flags: *//p' | tr ' ' '\n' | grep -E '^(avx2|avx512[a-z_0-9]*|avx_vnni|amx[a-z_]*)$' | tr '\n' ' ')"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg)"
echo

for f in qwen-1.5b-q4_k_m qwen-1.5b-q8_0; do
  echo "\$ r1d bench -m $f.gguf -t $threads -p $prompt -n $gen -r $reps --batch 1,4,16"
  "$r1d" bench -m "$models/$f.gguf" -t "$threads" -p "$prompt" -n "$gen" -r "$reps" \
    --batch 1,4,16
  echo
done
echo "\$ r1d bench -m qwen-7b-q4_k_m.gguf -t $threads -p $prompt -n $gen -r $reps"
"$r1d" bench -m "$models/qwen-7b-q4_k_m.gguf" -t "$threads" -p "$prompt" -n "$gen" -r "$reps"
