#!/usr/bin/env bash
# measure-buffer-runs.sh — does a scan pay per jump between runs of consecutive buffers, or for
# any break of the ascending walk? On a throwaway PostgreSQL 15 (scripts/pg-throwaway.sh,
# shared_buffers 512MB), serial count(*) and sum(a) of a 240k-row table (2,475 pages) whose
# blocks lie in shared buffers (A) in order, (B) in runs of 2 with a 2-buffer gap (what a
# parallel participant sees with chunks of 2 and one other participant), (C) in runs of 1 with
# gaps, (D) in a random order; then A again (LAYOUTS="A R4 R8 A": Rk = runs of k with k-buffer gaps). N runs each (default 15), EXPLAIN (ANALYZE,
# TIMING OFF), each between two runs of the speed reference. Prints one line per run:
# layout, reference before, count(*), sum(a), reference after (ms).
# What it found (2026-12-03 19:50 UTC, 2-vCPU Xeon VM; medians of the ratio to the speed
# reference): count(*) 0.706 / 0.721 in order (A, first and last), 0.788 in runs of 2, 0.787
# in runs of 1, 0.792 random; sum(a) 0.913 / 0.931, 1.038, 1.056, 1.016. Runs of two pages
# cost as much as a random order: about 0.7 us a page more for count(*), 1.2 us reading rows
# (docs/cpu-costs.md). LAYOUTS="A R4 R8 R16 B A" N=13 at 20:00: count(*) 0.722, 0.850, 0.856,
# 0.761, 0.788, 0.712; sum(a) 0.980, 1.044, 1.102, 0.979, 1.048, 0.950.
# PAR=1 LAYOUTS="A D A D" N=13 at 22:20 (one worker beside the leader, chunks of one block):
# count(*) 0.642 / 0.674 in order, 0.683 / 0.738 random; sum(a) 0.866 / 0.746, 0.779 / 0.813.
# Parallel participants keep the in-order saving: their runs are not a serial scan's gaps.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
D="$(mktemp -d /tmp/pqsim-buffer-runs.XXXXXX)"; rmdir "$D"
N=${N:-15}
trap 'bash "$ROOT/scripts/pg-throwaway.sh" stop "$D" >/dev/null 2>&1 || true' EXIT
bash "$ROOT/scripts/pg-throwaway.sh" start "$D" >/dev/null
export PGHOST=$D PGPORT=$(cat "$D/port") PGUSER=postgres PGDATABASE=postgres
P="psql -X -q -v ON_ERROR_STOP=1"
PGCTL=/usr/lib/postgresql/15/bin/pg_ctl
restart() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u postgres -- "$PGCTL" -D "$D/data" -w restart -m fast -l "$D/log/postgresql.log" >/dev/null)
  else
    "$PGCTL" -D "$D/data" -w restart -m fast -l "$D/log/postgresql.log" >/dev/null
  fi
}
$P -c "ALTER SYSTEM SET shared_buffers = '512MB'" -c "ALTER SYSTEM SET max_parallel_workers_per_gather = 0"
restart
$P <<'SQL'
SET synchronous_commit = on;
CREATE TABLE t (id int4, a int4, b int4, c int4, pad text) WITH (autovacuum_enabled = off);
INSERT INTO t SELECT g, (hashint4(g)::int8 & 2147483647) % 1000000, (hashint4(g + 7919)::int8 & 2147483647) % 1000000, (hashint4(g + 104729)::int8 & 2147483647) % 50000, md5(g::text) FROM generate_series(1, 240000) g;
CREATE TABLE f WITH (autovacuum_enabled = off) AS SELECT * FROM t;
CREATE TABLE speedref (a int4, b int4) WITH (autovacuum_enabled = off);
INSERT INTO speedref SELECT g, g % 7 FROM generate_series(1, 300000) g;
VACUUM ANALYZE t; VACUUM ANALYZE f; VACUUM ANALYZE speedref;
CREATE EXTENSION pg_prewarm; CREATE EXTENSION pg_buffercache;
SQL
NB=$($P -At -c "SELECT pg_relation_size('t')/8192")
echo "t: $NB pages"
layout() {
  restart
  $P -c "SELECT count(pg_prewarm('speedref'))" >/dev/null
  case $1 in
    A) $P -c "SELECT pg_prewarm('t'), pg_prewarm('f')" >/dev/null ;;
    B) $P -c "SELECT count(*) FROM (SELECT pg_prewarm('t','buffer','main',b,least(b+1,$NB-1)), pg_prewarm('f','buffer','main',b,least(b+1,$NB-1)) FROM generate_series(0,$NB-1,2) b) x" >/dev/null ;;
    C) $P -c "SELECT count(*) FROM (SELECT pg_prewarm('t','buffer','main',b,b), pg_prewarm('f','buffer','main',b,b) FROM generate_series(0,$NB-1) b) x" >/dev/null ;;
    D) $P -c "SELECT count(*) FROM (SELECT pg_prewarm('t','buffer','main',b,b) FROM generate_series(0,$NB-1) b ORDER BY hashint4(b)) x" >/dev/null ;;
    R*) k=${1#R}; $P -c "SELECT count(*) FROM (SELECT pg_prewarm('t','buffer','main',b,least(b+$k-1,$NB-1)), pg_prewarm('f','buffer','main',b,least(b+$k-1,$NB-1)) FROM generate_series(0,$NB-1,$k) b) x" >/dev/null ;;
  esac
  $P -At -c "SELECT round(avg(CASE WHEN nblk = blk + 1 THEN (nbuf = bufferid + 1)::int END)::numeric, 3), count(*)
    FROM (SELECT relblocknumber AS blk, bufferid, lead(relblocknumber) OVER w AS nblk, lead(bufferid) OVER w AS nbuf
          FROM pg_buffercache WHERE relfilenode = pg_relation_filenode('t') AND relforknumber = 0
          WINDOW w AS (ORDER BY relblocknumber)) b"
}
# PAR=W: the table's scans run with W workers beside the leader (chunks of 1 block for this
# table): does a parallel scan lose its prefetching on a table in block order, as a serial one
# does walking runs of one chunk with gaps?
PARSET=""
if [ -n "${PAR:-}" ]; then
  PARSET="SET max_parallel_workers_per_gather = $PAR; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;"
fi
t() {
  case "$1" in
    *speedref*) echo "EXPLAIN (ANALYZE, TIMING OFF) $1" ;;
    *) echo "$PARSET EXPLAIN (ANALYZE, TIMING OFF) $1" ;;
  esac | $P | awk '/Execution Time/{print $3}'
}
for L in ${LAYOUTS:-A B C D A}; do
  echo "layout $L: in-order share, resident pages: $(layout $L)"
  for i in $(seq 1 $N); do
    echo "$L $(t 'SELECT sum(a) FROM speedref') $(t 'SELECT count(*) FROM t') $(t 'SELECT sum(a) FROM t') $(t 'SELECT sum(a) FROM speedref')"
  done
done
