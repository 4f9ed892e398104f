#!/usr/bin/env bash
# compare.sh — pqsim against its SimPy peer model, side by side in one run.
#
# Usage: benches/peers/compare.sh [REPLICATIONS]   (default 20)
# For gather-heavy and tpch-lineitem-sum at 1, 2, 4, 8 workers on the laptop profile: the mean
# simulated wall time of each (their difference is the models' agreement) and the host seconds
# per replication of each (their ratio is the speed-up). pqsim's time is measured in-process
# (examples/peer-params, no process start-up); SimPy's likewise (time.perf_counter).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
REPS="${1:-20}"
PY="$(bash benches/peers/setup-simpy.sh)"
cargo build --release --quiet --example peer-params
TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)  replications: $REPS"
printf '%-20s %3s %12s %12s %8s %12s %12s %8s\n' scenario w pqsim_ms simpy_ms diff% pqsim_s/rep simpy_s/rep speedup
for sc in gather-heavy tpch-lineitem-sum; do
  for w in 1 2 4 8; do
    target/release/examples/peer-params "configs/scenarios/$sc.toml" "$w" "$REPS" > "$TMP/p"
    "$PY" benches/peers/simpy_model.py "$TMP/p" "$REPS" > "$TMP/s"
    cat "$TMP/p" "$TMP/s" | awk -v sc="$sc" -v w="$w" '
      {v[$1]=$2}
      END {
        d = 100 * (v["simpy_mean_wall_ms"] - v["pqsim_mean_wall_ms"]) / v["pqsim_mean_wall_ms"];
        printf "%-20s %3d %12.2f %12.2f %8.2f %12.6f %12.6f %8.1f\n", sc, w, v["pqsim_mean_wall_ms"],
          v["simpy_mean_wall_ms"], d, v["pqsim_seconds_per_replication"], v["simpy_seconds_per_replication"],
          v["simpy_seconds_per_replication"] / v["pqsim_seconds_per_replication"] }'
  done
done
