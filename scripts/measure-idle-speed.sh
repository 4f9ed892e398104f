#!/usr/bin/env bash
# How fast this machine runs a query right after being idle, against right after sustained
# load: on a VM the vCPU's speed can depend on whether it was just busy (the host's power
# states and scheduling), which moves every timing that follows a pause -- a parallel worker
# starting on an idle vCPU, a speed reference taken after a sleep.
#
# A throwaway server (scripts/pg-throwaway.sh); the speed reference of calibration and
# validate (`SELECT sum(a) FROM speedref`, 300,000 rows, serial, EXPLAIN ANALYZE TIMING OFF)
# timed ROUNDS times after IDLE seconds of sleep and right after LOAD_QUERIES back-to-back
# count(*) scans of a 600,000-row table (about 5 s). Prints the medians and every time.
#
# Usage: scripts/measure-idle-speed.sh   (ROUNDS=8 IDLE=2 LOAD_QUERIES=120 in the environment)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-8}"; IDLE="${IDLE:-2}"; LOAD_QUERIES="${LOAD_QUERIES:-120}"
DIR="$(mktemp -u /tmp/pqsim-idle-XXXXXX)"
trap 'scripts/pg-throwaway.sh stop "$DIR" >/dev/null 2>&1 || true' EXIT
CONN="$(scripts/pg-throwaway.sh start "$DIR" | tail -n 1)"
psql_() { psql "$CONN" -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
psql_ -c "SET synchronous_commit = on" \
      -c "CREATE TABLE speedref (a int4, b int4) WITH (autovacuum_enabled = off)" \
      -c "INSERT INTO speedref SELECT g, g % 7 FROM generate_series(1, 300000) g" \
      -c "CREATE TABLE big (id int, str text) WITH (autovacuum_enabled = off)" \
      -c "INSERT INTO big SELECT i, repeat(chr(65 + mod(i, 26)), 64) FROM generate_series(1, 600000) i" \
      -c "VACUUM ANALYZE"
SQL="$(mktemp)"
{ echo "SET max_parallel_workers_per_gather = 0; SET jit = off;"
  for _ in $(seq 1 "$ROUNDS"); do
    echo "SELECT pg_sleep($IDLE);"
    echo "EXPLAIN (ANALYZE, TIMING OFF) SELECT sum(a) FROM speedref;"
    for _ in $(seq 1 "$LOAD_QUERIES"); do echo "SELECT count(*) FROM big;"; done
    echo "EXPLAIN (ANALYZE, TIMING OFF) SELECT sum(a) FROM speedref;"
  done; } > "$SQL"
psql_ -f "$SQL" | python3 -c '
import re, statistics, sys
ex = [float(m.group(1)) for m in re.finditer(r"Execution Time: ([0-9.]+) ms", sys.stdin.read())]
idle, busy = ex[0::2], ex[1::2]
fmt = lambda v: ", ".join(f"{x:.1f}" for x in sorted(v))
print(f"speed reference after {sys.argv[1]} s idle: median {statistics.median(idle):.2f} ms ({fmt(idle)})")
print(f"speed reference right after {sys.argv[2]} scans: median {statistics.median(busy):.2f} ms ({fmt(busy)})")
' "$IDLE" "$LOAD_QUERIES"
rm -f "$SQL"
