#!/usr/bin/env bash
# measure-cost-classes.sh — relative per-row CPU costs of PostgreSQL 15's expression, deforming
# and aggregate classes on a throwaway server, to set and check pqsim's [costs] defaults.
# Usage: scripts/measure-cost-classes.sh [ROWS] [ROUNDS]  (default 1000000 rows, 7 rounds)
# Serial plans, jit off, EXPLAIN (ANALYZE, TIMING OFF) execution time, queries interleaved in
# rounds, median per query; prints ns/row per probe and /proc/loadavg before and after.
set -euo pipefail
ROWS="${1:-1000000}"
ROUNDS="${2:-7}"
HERE="$(cd "$(dirname "$0")" && pwd)"
DIR="$(mktemp -d /tmp/pqsim-costs.XXXXXX)"
rmdir "$DIR"
CONN="$("$HERE/pg-throwaway.sh" start "$DIR")"
trap '"$HERE/pg-throwaway.sh" stop "$DIR" >/dev/null 2>&1 || true' EXIT
q() { psql "$CONN" -X -q -t -A -v ON_ERROR_STOP=1 -c "$1"; }
q "CREATE TABLE li (l_orderkey bigint NOT NULL, l_partkey int NOT NULL, l_suppkey int NOT NULL,
  l_linenumber int NOT NULL, l_quantity numeric(15,2) NOT NULL, l_extendedprice numeric(15,2) NOT NULL,
  l_discount numeric(15,2) NOT NULL, l_tax numeric(15,2) NOT NULL, l_returnflag char(1) NOT NULL,
  l_linestatus char(1) NOT NULL, l_shipdate date NOT NULL, l_commitdate date NOT NULL,
  l_receiptdate date NOT NULL, l_shipinstruct char(25) NOT NULL, l_shipmode char(10) NOT NULL,
  l_comment varchar(44) NOT NULL)"
q "INSERT INTO li SELECT i/4, (i::bigint*7919)%200000, (i*31)%10000, i%7+1, (i%50)+1, ((i%50)+1)*(900+(i%1000))/10.0,
  (i%11)/100.0, (i%9)/100.0, chr(65+i%3), chr(70+i%2), date '1992-01-01' + (i%2500),
  date '1992-01-31' + (i%2500), date '1992-01-15' + (i%2500), 'DELIVER IN PERSON',
  (ARRAY['MAIL','AIR','SHIP','TRUCK','RAIL','FOB','REG AIR'])[i%7+1],
  substr(md5(i::text) || md5((i+1)::text), 1, 10 + i%34) FROM generate_series(1,$ROWS) i"
q "VACUUM ANALYZE li"
declare -a NAMES SQLS
add() { NAMES+=("$1"); SQLS+=("$2"); }
add count_star        "SELECT count(*) FROM li"
add deform_c1         "SELECT count(*) FROM li WHERE l_orderkey IS NOT NULL"
add deform_c4         "SELECT count(*) FROM li WHERE l_linenumber IS NOT NULL"
add deform_c5         "SELECT count(*) FROM li WHERE l_quantity IS NOT NULL"
add deform_c11        "SELECT count(*) FROM li WHERE l_shipdate IS NOT NULL"
add deform_c15        "SELECT count(*) FROM li WHERE l_shipmode IS NOT NULL"
add deform_c16        "SELECT count(*) FROM li WHERE l_comment IS NOT NULL"
add int_cmp_c4        "SELECT count(*) FROM li WHERE l_linenumber >= 0"
add int_cast_num_c4   "SELECT count(*) FROM li WHERE l_linenumber < 100.5"
add num_cmp_c5        "SELECT count(*) FROM li WHERE l_quantity >= 0"
add date_date_c11     "SELECT count(*) FROM li WHERE l_shipdate <= date '1999-01-01'"
add date_ts_c11       "SELECT count(*) FROM li WHERE l_shipdate <= date '1999-01-01' - interval '1' day"
add date_tstz_c11     "SELECT count(*) FROM li WHERE l_shipdate <= timestamptz '1999-01-01 00:00:00+00'"
add bpchar_eq_c15     "SELECT count(*) FROM li WHERE l_shipmode <> 'x'"
add text_eq_c16       "SELECT count(*) FROM li WHERE l_comment <> 'x'"
add like_c16          "SELECT count(*) FROM li WHERE l_comment NOT LIKE '%zzz%'"
add text_cmp_c16      "SELECT count(*) FROM li WHERE l_comment > ''"
add saop8_c15         "SELECT count(*) FROM li WHERE NOT (l_shipmode = ANY ('{a,b,c,d,e,f,g,h}'::bpchar[]))"
add saop9_c15         "SELECT count(*) FROM li WHERE NOT (l_shipmode = ANY ('{a,b,c,d,e,f,g,h,i}'::bpchar[]))"
add count_c4          "SELECT count(l_linenumber) FROM li"
add sum_int4_c4       "SELECT sum(l_linenumber) FROM li"
add count_c1          "SELECT count(l_orderkey) FROM li"
add sum_int8_c1       "SELECT sum(l_orderkey) FROM li"
add count_c5          "SELECT count(l_quantity) FROM li"
add sum_num_c5        "SELECT sum(l_quantity) FROM li"
add count_c11         "SELECT count(l_shipdate) FROM li"
add max_date_c11      "SELECT max(l_shipdate) FROM li"
add count_c6          "SELECT count(l_extendedprice) FROM li WHERE l_discount IS NOT NULL"
add sum_num_c6        "SELECT sum(l_extendedprice) FROM li WHERE l_discount IS NOT NULL"
add sum_num_arith_c7  "SELECT sum(l_extendedprice*(1-l_discount)) FROM li"
add max_num_c5        "SELECT max(l_quantity) FROM li"
SET="SET max_parallel_workers_per_gather=0; SET jit=off;"
for s in "${SQLS[@]}"; do q "$SET $s" >/dev/null; done   # warm-up
echo "loadavg before: $(cat /proc/loadavg)"
RES="$(mktemp)"
for r in $(seq 1 "$ROUNDS"); do
  for i in "${!SQLS[@]}"; do
    ms="$(q "$SET EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ${SQLS[$i]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Execution Time"])')"
    echo "${NAMES[$i]} $ms" >> "$RES"
  done
done
echo "loadavg after: $(cat /proc/loadavg)"
python3 - "$RES" "$ROWS" <<'PY'
import sys, statistics, collections
d = collections.OrderedDict()
for line in open(sys.argv[1]):
    n, ms = line.split(); d.setdefault(n, []).append(float(ms))
rows = float(sys.argv[2])
for n, v in d.items():
    print(f"{n:18s} {statistics.median(v)*1e6/rows:8.1f} ns/row  (min {min(v)*1e6/rows:.1f}, max {max(v)*1e6/rows:.1f}, n={len(v)})")
PY
rm -f "$RES"
