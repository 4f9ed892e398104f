#!/usr/bin/env bash
# Records the outputs that the layout redesign must keep byte-identical (tests/golden.rs):
# run (json + text), plan (json) for every shipped scenario on every shipped profile, and one sweep.
# Usage: scripts/record-golden.sh PQSIM_BINARY OUTDIR
set -euo pipefail
bin=$1; out=$2
cd "$(dirname "$0")/.."
mkdir -p "$out"
for sc in configs/scenarios/*.toml; do
  s=$(basename "$sc" .toml)
  "$bin" plan "$sc" --format json > "$out/plan-$s.json"
  for hw in reference-2vcpu laptop aurora; do
    "$bin" run "$sc" --hardware "$hw" --replications 2 --format json > "$out/run-$s-$hw.json"
  done
  "$bin" run "$sc" --replications 2 > "$out/run-$s.txt"
done
rm -rf "$out/sweep"
"$bin" sweep configs/scenarios/gather-heavy.toml --vary max_parallel_workers_per_gather=0..3 \
  --hardware reference-2vcpu,laptop --replications 2 --seed 3 --output "$out/sweep" >/dev/null 2>&1
find "$out/sweep" -type f ! -name '*.csv' -delete
