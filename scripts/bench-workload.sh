#!/usr/bin/env bash
# Workload benchmark: 10,000 queries of the TPC-H-like reporting mix (16 closed sessions, one
# replication) on two machines; wall time, peak memory (max RSS) and engine steps. Simulation
# cost must grow with the number of queries, never with their rows: the same mix on tables
# 10 times larger must cost about the same. Scheduler turns are events (one per slice while the
# cores are oversubscribed), so steps per simulated second are printed too, and the same for one
# query under `run` (gather-heavy with 4 workers on 2 cores: five processes take turns).
# Builds the release binary first.
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
    sim_s=$(tr -d ' \n' < /tmp/bench-workload.$$.json | sed -E 's/.*"duration_s":([0-9.]+).*/\1/')
    per_s=$(awk -v a="$steps" -v b="$sim_s" 'BEGIN { printf "%.0f", a / b }')
    echo "hardware=$hw tables_x$scale queries=$done_q simulated_s=$sim_s steps=$steps steps_per_sim_s=$per_s $out"
  done
done
for rows in 3000000 30000000; do
  out=$( { /usr/bin/time -f "wall_s=%e cpu_user_s=%U max_rss_kb=%M" \
    target/release/pqsim run configs/scenarios/gather-heavy.toml --hardware reference-2vcpu \
    --table "t.rows=$rows" --replications 1 --no-fast-forward --format json > /tmp/bench-workload.$$.json; } 2>&1 )
  events=$(tr -d ' \n' < /tmp/bench-workload.$$.json | sed -E 's/.*"events":([0-9]+).*/\1/')
  ms=$(tr -d ' \n' < /tmp/bench-workload.$$.json | sed -E 's/.*"wall_time_ms":([0-9.]+).*/\1/')
  per_s=$(awk -v a="$events" -v b="$ms" 'BEGIN { printf "%.0f", a / (b / 1000) }')
  echo "run gather-heavy t.rows=$rows simulated_ms=$ms events=$events events_per_sim_s=$per_s $out"
done
rm -f /tmp/bench-workload.$$.json
echo "loadavg after: $(cat /proc/loadavg)"
