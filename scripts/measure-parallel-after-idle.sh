#!/usr/bin/env bash
# How a short parallel query's time depends on what ran just before it: back to back with
# itself, or after the machine idled for a moment. On the 2-vCPU VMs here a worker's fork,
# start-up and exit, and the leader beside it, ran slower when the vCPUs had idled before the
# query (its caches taken by the host's other tenants, its wake-ups slower) than when the
# previous query's workers had just run there; a serial query was the same either way.
#
# A throwaway server (scripts/pg-throwaway.sh) with testpar (the tutorial's table) at ROWS
# rows, all in shared buffers. ROUNDS rounds; in each, for W = 0 and 1 and for a gap of 0,
# 1 ms and 30 ms (`pg_sleep` before every run, not timed), RUNS client-timed runs of
# `SELECT count(*) FROM testpar` (psql \timing); one line of medians per round. Then, with
# gaps of 0 and 30 ms, each process's CPU per query from the kernel's accounting: the
# leader's /proc/PID/schedstat, the workers' as their postmaster's reaped children's CPU
# (/proc/PID/stat cutime + cstime), the postmaster's own (its schedstat: the forks).
#
# Usage: scripts/measure-parallel-after-idle.sh   (ROUNDS=6 RUNS=30 ROWS=240000 CPU_RUNS=100)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-6}"; RUNS="${RUNS:-30}"; ROWS="${ROWS:-240000}"; CPU_RUNS="${CPU_RUNS:-100}"
DIR="$(mktemp -u /tmp/pqsim-after-idle-XXXXXX)"
trap 'scripts/pg-throwaway.sh stop "$DIR" >/dev/null 2>&1 || true' EXIT
CONN="$(scripts/pg-throwaway.sh start "$DIR" | tail -n 1)"
psql_() { psql "$CONN" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql_ -c "CREATE TABLE testpar (id int, str text) WITH (autovacuum_enabled = off)" \
      -c "INSERT INTO testpar SELECT i, repeat(chr(65 + mod(i, 26)), 64) FROM generate_series(1, $ROWS) i" \
      -c "VACUUM ANALYZE testpar"
for _ in 1 2 3; do psql_ -c "SELECT count(*) FROM testpar" >/dev/null; done
SET="SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET jit = off;"
Q="SELECT count(*) FROM testpar;"
SQL="$(mktemp)"; TIMES="$(mktemp)"
med() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
echo "loadavg before: $(cat /proc/loadavg)"
echo "client-timed medians (ms) of $RUNS runs each, W = workers per Gather, gap = idle before each run:"
for r in $(seq 1 "$ROUNDS"); do
  line="round $r:"
  for w in 0 1; do
    for gap in 0 0.001 0.03; do
      { echo "$SET SET max_parallel_workers_per_gather = $w;"; echo '\timing on'
        for _ in $(seq 1 "$RUNS"); do
          [ "$gap" != 0 ] && echo "SELECT pg_sleep($gap);"
          echo "$Q"
        done; } > "$SQL"
      psql_ -f "$SQL" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' > "$TIMES"
      if [ "$gap" != 0 ]; then v=$(awk 'NR % 2 == 0' "$TIMES" | med); else v=$(med < "$TIMES"); fi
      line="$line  W$w gap ${gap}s $v"
    done
  done
  echo "$line"
done
PM="$(head -1 "$DIR/data/postmaster.pid")"
snap() { printf '%s\n' "\\! awk '{print \"L$1\", \$1, \$2}' /proc/\$BP/schedstat; awk '{print \"C$1\", \$14 + \$15 + \$16 + \$17}' /proc/$PM/stat; awk '{print \"P$1\", \$1}' /proc/$PM/schedstat"; }
echo "CPU per query (ms) over $CPU_RUNS runs, W = 1 (leader on its core / waiting for one; workers; postmaster):"
for r in 1 2 3; do
  for gap in 0 0.03; do
    { echo "$SET SET max_parallel_workers_per_gather = 1;"; echo "$Q"
      echo "SELECT pg_backend_pid() AS bp \\gset"; echo "\\setenv BP :bp"; snap 0
      for _ in $(seq 1 "$CPU_RUNS"); do
        [ "$gap" != 0 ] && echo "SELECT pg_sleep($gap);"
        echo "$Q"
      done
      snap 1; } > "$SQL"
    psql_ -A -t -f "$SQL" | awk -v n="$CPU_RUNS" -v hz="$(getconf CLK_TCK)" -v gap="$gap" -v r="$r" '
      /^L0/ {l0 = $2; w0 = $3} /^L1/ {l1 = $2; w1 = $3} /^C0/ {c0 = $2} /^C1/ {c1 = $2} /^P0/ {p0 = $2} /^P1/ {p1 = $2}
      END {printf "round %d gap %ss: leader %.2f on core, %.2f waiting (the wake-ups after the gaps included); workers %.2f; postmaster %.2f\n",
           r, gap, (l1 - l0) / 1e6 / n, (w1 - w0) / 1e6 / n, (c1 - c0) * 1000 / hz / n, (p1 - p0) / 1e6 / n}'
  done
done
echo "loadavg after: $(cat /proc/loadavg)"
rm -f "$SQL" "$TIMES"
