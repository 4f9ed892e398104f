#!/usr/bin/env bash
# Workload benchmark: 10,000 queries of the TPC-H-like reporting mix (16 closed sessions, one
# replication) on two machines; wall time, peak memory (max RSS) and engine steps. Simulation
# cost must grow with the number of queries, never with their rows: the same mix on tables
# 10 times larger must cost about the same. Builds the release binary first.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
echo "loadavg before: $(cat /proc/loadavg)"
for hw in reference-2vcpu aurora; do
  for scale in 1 10; do
    extra=()
    if [ "$scale" != 1 ]; then
      extra=(--table "lineitem.rows=599860520" --table "orders.rows=150000000")
    fi
    out=$( { /usr/bin/time -f "wall_s=%e cpu_user_s=%U max_rss_kb=%M" \
      target/release/pqsim workload benches/workloads/mix-10k.toml --hardware "$hw" \
      --replications 1 --format json "${extra[@]}" > /tmp/bench-workload.$$.json; } 2>&1 )
    steps=$(tr -d ' \n' < /tmp/bench-workload.$$.json | sed -E 's/.*"steps":\[([0-9]+)\].*/\1/')
    done_q=$(tr -d ' \n' < /tmp/bench-workload.$$.json | sed -E 's/.*"queries_completed":([0-9]+).*/\1/')
    echo "hardware=$hw tables_x$scale queries=$done_q steps=$steps $out"
  done
done
rm -f /tmp/bench-workload.$$.json
echo "loadavg after: $(cat /proc/loadavg)"
