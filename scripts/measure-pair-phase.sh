#!/usr/bin/env bash
# measure-pair-phase.sh — do two serial scans side by side slow each other because they walk
# the same buffers in step? On a throwaway PostgreSQL 15 (scripts/pg-throwaway.sh,
# shared_buffers 512MB), two twin tables t and f (ROWS rows each, default 1.2M, in shared
# buffers in block order); N rounds (default 11) of: count(*) of t alone; t and t on two
# connections started together ("same"); t and f together ("twins"); t alone again. Every
# figure is the backend's own EXPLAIN (ANALYZE, TIMING OFF) execution time. Prints one line
# per round: alone before, same (two), twins (two), alone after (ms); then the medians of
# capacity = 2 x alone / side by side for "same" and "twins".
# What it found (2026-12-04 02:05 UTC, 2-vCPU Xeon VM, nothing else running, N=15): same table
# in step 1.960, twin tables 1.909: two scans walking the same buffers together do not slow
# each other more than two scans of different tables (calibration's pair probe, which runs the
# same table on both connections, is not biased by it). Single runs moved between about 70 and
# 115 ms within seconds, alone and side by side, and within one pair one backend took 68 ms
# while the other took 128: the host's speed is not one state for the whole machine.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
D="$(mktemp -d /tmp/pqsim-pair-phase.XXXXXX)"; rmdir "$D"
N=${N:-11}
ROWS=${ROWS:-1200000}
trap 'bash "$ROOT/scripts/pg-throwaway.sh" stop "$D" >/dev/null 2>&1 || true' EXIT
bash "$ROOT/scripts/pg-throwaway.sh" start "$D" >/dev/null
export PGHOST=$D PGPORT=$(cat "$D/port") PGUSER=postgres PGDATABASE=postgres
P="psql -X -q -v ON_ERROR_STOP=1"
PGCTL=/usr/lib/postgresql/15/bin/pg_ctl
$P -c "ALTER SYSTEM SET shared_buffers = '512MB'" -c "ALTER SYSTEM SET max_parallel_workers_per_gather = 0"
if [ "$(id -u)" -eq 0 ]; then
  (cd / && runuser -u postgres -- "$PGCTL" -D "$D/data" -w restart -m fast -l "$D/log/postgresql.log" >/dev/null)
else
  "$PGCTL" -D "$D/data" -w restart -m fast -l "$D/log/postgresql.log" >/dev/null
fi
$P <<SQL
CREATE TABLE t (id int4, a int4, b int4, c int4, pad text) WITH (autovacuum_enabled = off);
INSERT INTO t SELECT g, (hashint4(g)::int8 & 2147483647) % 1000000, (hashint4(g + 7919)::int8 & 2147483647) % 1000000, (hashint4(g + 104729)::int8 & 2147483647) % 50000, md5(g::text) FROM generate_series(1, $ROWS) g;
CREATE TABLE f WITH (autovacuum_enabled = off) AS SELECT * FROM t;
VACUUM ANALYZE t; VACUUM ANALYZE f;
CREATE EXTENSION pg_prewarm;
SELECT pg_prewarm('t'), pg_prewarm('f');
CHECKPOINT;
SQL
q() { $P -c "EXPLAIN (ANALYZE, TIMING OFF) SELECT count(*) FROM $1" | awk '/Execution Time/{print $3}'; }
two() {
  local a b
  a=$(mktemp); b=$(mktemp)
  q "$1" > "$a" & q "$2" > "$b" & wait
  echo "$(cat "$a") $(cat "$b")"; rm -f "$a" "$b"
}
q t >/dev/null; q f >/dev/null
echo "round alone same_1 same_2 twins_1 twins_2 alone_after"
for i in $(seq 1 "$N"); do
  if [ $((i % 2)) -eq 1 ]; then
    echo "$i $(q t) $(two t t) $(two t f) $(q t)"
  else
    l0=$(q t); tw=$(two t f); sm=$(two t t); echo "$i $l0 $sm $tw $(q t)"
  fi
done > "$D.rows"
cat "$D.rows"
python3 - "$D.rows" <<'PY'
import statistics, sys
same, twins = [], []
for line in open(sys.argv[1]):
    f = line.split()
    if not f or not f[0].isdigit():
        continue
    _, a, s1, s2, t1, t2, a2 = map(float, f)
    alone = (a + a2) / 2
    same.append(2 * alone / ((s1 + s2) / 2))
    twins.append(2 * alone / ((t1 + t2) / 2))
print(f"capacity (2 = two full cores), median of {len(same)}: same table in step {statistics.median(same):.3f}, twin tables {statistics.median(twins):.3f}")
PY
rm -f "$D.rows"
