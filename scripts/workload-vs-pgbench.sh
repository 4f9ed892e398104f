#!/usr/bin/env bash
# Hold `pqsim workload` against a real PostgreSQL 15 driven by pgbench.
#
# A throwaway server (scripts/pg-throwaway.sh) gets the tutorial's testpar table at 1,200,000
# rows; pgbench runs `SELECT count(*) FROM testpar` (one custom script, -n, -c N -j N,
# per-transaction latency logs -l) at 1, 2, 4 and 8 clients with
# max_parallel_workers_per_gather 0 and 2, then a worker-pool-exhaustion run
# (max_parallel_workers = 2, per_gather 2, 4 clients) with auto_explain logging every
# query's Workers Planned / Launched. pqsim predicts each run with the same sessions, duration
# and settings on PROFILE (default reference-2vcpu, the profile calibrated on this machine kind).
#
# The machine's speed wanders (a VM shares its host: the same scan takes 1.7x as long some
# minutes later), so the measurements are taken in ROUNDS interleaved rounds (default 4) of
# SECONDS/ROUNDS each, every configuration once per round, and each pgbench run sits between two
# readings of the profile's speed reference (`SELECT sum(a) FROM speedref`, serial, EXPLAIN
# ANALYZE TIMING OFF, the query the calibration timed; a reading is the median of five runs in
# one backend): a configuration's latencies are rescaled by the profile's speed_reference_ms
# over the median of all its readings (2 x ROUNDS), and its throughput by the inverse. (One
# run's two readings do not tell the speed of a 5-s run on a host whose state lasts 0.2-0.4 s:
# rescaled that way, serial throughput at 4 and 8 clients came out above what two cores give at
# one client's latency, 2026-12-03.) Raw (not rescaled) figures are reported beside.
# Writes docs/workload-validation.md (predicted vs measured p50, p95, throughput, and the share
# of queries launched below planned). Beside every measured row: the highest 1-minute
# /proc/loadavg at the end of its runs and the CPU other programs used meanwhile (machine busy
# time from /proc/stat less our server's and pgbench's own), in cores.
#
# Usage: scripts/workload-vs-pgbench.sh [SECONDS_PER_CONFIGURATION (default 20)] [PROFILE]
#        ROUNDS=4 OUT=docs/workload-validation.md (environment)
set -euo pipefail
cd "$(dirname "$0")/.."
T="${1:-20}"
PROFILE="${2:-reference-2vcpu}"
ROWS=1200000
OUT="${OUT:-docs/workload-validation.md}"
ROUNDS="${ROUNDS:-4}"
S=$(awk -v t="$T" -v r="$ROUNDS" 'BEGIN{printf "%.0f", (t / r < 1 ? 1 : t / r)}')
cargo build --release --quiet
PQSIM="$PWD/target/release/pqsim"
PROFILE_FILE="$PROFILE"; [ -f "$PROFILE_FILE" ] || PROFILE_FILE="configs/hardware/$PROFILE.toml"
REF_MS=$(awk -F'=' '/^speed_reference_ms/ {sub(/^ */, "", $2); sub(/[ #].*/, "", $2); print $2}' "$PROFILE_FILE")
[ -n "$REF_MS" ] || { echo "$PROFILE_FILE has no speed_reference_ms (a calibrated profile has): cannot rescale" >&2; exit 2; }
DIR="$(mktemp -d /tmp/pqsim-wl-pg.XXXXXX)"
rmdir "$DIR"
WORK="$(mktemp -d /tmp/pqsim-wl-work.XXXXXX)"
chmod 755 "$WORK"
cleanup() { scripts/pg-throwaway.sh stop "$DIR" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
CONN="$(scripts/pg-throwaway.sh start "$DIR")"
HOST="$DIR"; PORT="$(cat "$DIR/port")"
psql_() { psql -X -q -v ON_ERROR_STOP=1 -h "$HOST" -p "$PORT" -U postgres -d postgres "$@"; }
# Commits flushed before VACUUM (so that it marks the pages all-visible), as calibration loads.
psql_ -c "SET synchronous_commit = on" -c "CREATE TABLE testpar (id int, str text)" \
      -c "INSERT INTO testpar SELECT i, repeat(chr(65 + mod(i, 26)), 64) FROM generate_series(1, $ROWS) i" \
      -c "VACUUM ANALYZE testpar" \
      -c "CREATE TABLE speedref (a int4, b int4) WITH (autovacuum_enabled = off)" \
      -c "INSERT INTO speedref SELECT g, g % 7 FROM generate_series(1, 300000) g" \
      -c "VACUUM ANALYZE speedref"
echo "SELECT count(*) FROM testpar;" > "$WORK/count.sql"
for _ in 1 2 3; do psql_ -c "SELECT count(*) FROM testpar" >/dev/null; done   # warm the caches
# The share of testpar's pages in shared buffers (pg_buffercache): the model takes it as the
# table's state (a table over shared_buffers/4 is scanned through a small ring, but the pages
# the load left in shared buffers stay there).
SHARE="$(psql_ -At -c "CREATE EXTENSION IF NOT EXISTS pg_buffercache" \
  -c "SELECT round((count(*)::float8 / greatest(1, pg_relation_size('testpar') / 8192))::numeric, 4) FROM pg_buffercache
      WHERE relfilenode = pg_relation_filenode('testpar') AND relforknumber = 0
        AND reldatabase = (SELECT oid FROM pg_database WHERE datname = current_database())")"
# And the order they lie in (of the resident blocks whose next block is resident too, the
# share whose next block is in the next buffer): a scan of a table scattered across shared
# memory loses the processor's prefetching (`buffers_in_order`, docs/cpu-costs.md).
ORDER="$(psql_ -At -c "SELECT coalesce(round(avg(CASE WHEN nblk = blk + 1 THEN (nbuf = bufferid + 1)::int END)::numeric, 4), 1)
  FROM (SELECT relblocknumber AS blk, bufferid, lead(relblocknumber) OVER w AS nblk, lead(bufferid) OVER w AS nbuf
        FROM pg_buffercache WHERE relfilenode = pg_relation_filenode('testpar') AND relforknumber = 0
          AND reldatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
        WINDOW w AS (ORDER BY relblocknumber)) b")"
echo "testpar: share of its pages in shared buffers $SHARE, $ORDER of them in block order" >&2
LOAD_BEFORE="$(cat /proc/loadavg)"

setting() { psql_ -c "ALTER SYSTEM SET $1 = '$2'" -c "SELECT pg_reload_conf()" >/dev/null; }

HZ=$(getconf CLK_TCK)
busy_jiffies() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
# CPU of our server: the postmaster and its reaped children (backends, parallel workers).
server_jiffies() { awk '{print $14+$15+$16+$17}' "/proc/$(head -1 "$DIR/data/postmaster.pid")/stat"; }

# Six runs in one backend, the median of the last five kept: the calibration times its
# reference on a connection that has run it before (a fresh backend's first scan also maps each
# of speedref's pages, a minor fault per page, about 1-2 ms here), and one run's time moves by up
# to 2x with the host's state.
speedref() {
  local a=(-c "SET max_parallel_workers_per_gather = 0")
  for _ in 1 2 3 4 5 6; do a+=(-c "EXPLAIN (ANALYZE, TIMING OFF) SELECT sum(a) FROM speedref"); done
  psql_ -At "${a[@]}" | sed -n 's/^Execution Time: \([0-9.]*\) ms$/\1/p' | tail -5 | sort -g | sed -n 3p
}

# One pgbench run of S seconds between two speed-reference readings. Appends its latencies (ms)
# to $prefix.raw; appends "queries seconds load1 others_cores ref_before ref_after" to
# $prefix.runs.
run_once() { # clients prefix round
  local c=$1 prefix=$2 r=$3
  local b0 s0 b1 s1 t0 t1 ref0 ref1
  ref0=$(speedref)
  b0=$(busy_jiffies); s0=$(server_jiffies); t0=$(date +%s.%N)
  (cd "$WORK" && /usr/bin/time -f "%U %S" -o "$prefix-$r.time" \
      pgbench -n -h "$HOST" -p "$PORT" -U postgres -f count.sql -c "$c" -j "$c" -T "$S" \
      -l --log-prefix="$prefix-$r" postgres > "$prefix-$r.out" 2>&1)
  sleep 0.2   # let the postmaster reap the run's backends
  b1=$(busy_jiffies); s1=$(server_jiffies); t1=$(date +%s.%N)
  ref1=$(speedref)
  local others f
  others=$(awk -v b="$((b1 - b0))" -v s="$((s1 - s0))" -v hz="$HZ" -v t0="$t0" -v t1="$t1" -v f="$WORK/$prefix-$r.time" \
      'BEGIN{getline l < f; split(l, u, " "); own = s / hz + u[1] + u[2]; o = (b / hz - own) / (t1 - t0 - 0.2); if (o < 0) o = 0; printf "%.2f", o}')
  cat "$WORK/$prefix-$r".[0-9]* 2>/dev/null | awk '{print $3/1000}' > "$WORK/$prefix-$r.ms"
  cat "$WORK/$prefix-$r.ms" >> "$WORK/$prefix.raw"
  echo "$(wc -l < "$WORK/$prefix-$r.ms") $S $(cut -d' ' -f1 /proc/loadavg) $others $ref0 $ref1" >> "$WORK/$prefix.runs"
}

pct() { sort -g "$1" | awk -v n="$(wc -l < "$1")" -v q="$2" 'NR==int((n-1)*q)+1'; }

# measured over every round: p50 p95 tps (rescaled), p50 p95 tps (raw), max load1, max others,
# reference ms min..max (median)
summarize() { # prefix
  local p=$WORK/$1 f
  awk '{print $5; print $6}' "$p.runs" > "$p.refs"
  f=$(awk -v ref="$REF_MS" -v m="$(pct "$p.refs" 0.50)" 'BEGIN{printf "%.6f", ref / m}')
  awk -v f="$f" '{print $1 * f}' "$p.raw" > "$p.lat"
  echo "$(pct "$p.lat" 0.50) $(pct "$p.lat" 0.95) $(awk -v f="$f" '{n+=$1; t+=$2} END{printf "%.3f", n/(t*f)}' "$p.runs")" \
       "$(pct "$p.raw" 0.50) $(pct "$p.raw" 0.95) $(awk '{n+=$1; t+=$2} END{printf "%.3f", n/t}' "$p.runs")" \
       "$(awk 'BEGIN{l=0; o=0} {if ($3>l) l=$3; if ($4>o) o=$4} END{printf "%.2f %.2f", l, o}' "$p.runs")" \
       "$(awk -v m="$(pct "$p.refs" 0.50)" 'NR==1{lo=$1; hi=$1} {if ($1<lo) lo=$1; if ($1>hi) hi=$1} END{printf "%.1f..%.1f (%.1f)", lo, hi, m}' "$p.refs")"
}

# predicted: p50_ms p95_ms tps launched_below_share launched_0 launched_1 launched_2 (shares)
predict() { # clients per_gather extra-settings-line
  cat > "$WORK/w.toml" <<TOML
name = "pgbench-count"
duration_s = $T
sessions = $1
[settings]
max_parallel_workers_per_gather = $2
$3
[[class]]
name = "count"
scenario = "$PWD/configs/scenarios/testpar-count.toml"
TOML
  "$PQSIM" workload "$WORK/w.toml" --hardware "$PROFILE" --table "testpar.rows=$ROWS" --table "testpar.in_shared_buffers=$SHARE" --table "testpar.buffers_in_order=$ORDER" \
      --replications 3 --format json --output "$WORK/pred" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); c=d["classes"][0]; l=c["latency_ms"]; print(l["p50"], l["p95"], d["throughput_qps"], c["launched_below_planned_share"])' |
    tr '\n' ' '
  awk -F, 'NR>1 && $NF=="false" {n++; k[$9]++} END{printf "%.3f %.3f %.3f\n", k[0]/n, k[1]/n, k[2]/n}' "$WORK/pred/queries.csv"
}

ROWS_MD=()
for r in $(seq 1 "$ROUNDS"); do
  for pg in 0 2; do
    setting max_parallel_workers_per_gather "$pg"
    for c in 1 2 4 8; do
      run_once "$c" "pg$pg-c$c" "$r"
    done
  done
  echo "round $r of $ROUNDS done" >&2
done
for pg in 0 2; do
  for c in 1 2 4 8; do
    read -r mp50 mp95 mtps rp50 rp95 rtps mload mothers mref <<< "$(summarize "pg$pg-c$c")"
    read -r pp50 pp95 ptps _ <<< "$(predict "$c" "$pg" "")"
    ROWS_MD+=("| $pg | $c | $pp50 | $mp50 | $rp50 | $pp95 | $mp95 | $rp95 | $ptps | $mtps | $rtps | $mref | $mload | $mothers |")
    echo "per_gather=$pg clients=$c predicted p50/p95/tps $pp50 $pp95 $ptps measured $mp50 $mp95 $mtps raw $rp50 $rp95 $rtps ref $mref load $mload others $mothers" >&2
  done
done

# Worker pool exhaustion: 4 clients asking 2 workers each from max_parallel_workers = 2.
setting max_parallel_workers 2
setting max_parallel_workers_per_gather 2
psql_ -c "LOAD 'auto_explain'" -c "ALTER SYSTEM SET session_preload_libraries = 'auto_explain'" \
      -c "ALTER SYSTEM SET auto_explain.log_min_duration = 0" \
      -c "ALTER SYSTEM SET auto_explain.log_analyze = on" \
      -c "ALTER SYSTEM SET auto_explain.log_timing = off" -c "SELECT pg_reload_conf()" >/dev/null
LOG="$DIR/log/postgresql.log"
START_LINE=$(wc -l < "$LOG")
for r in $(seq 1 "$ROUNDS"); do run_once 4 exhaust "$r"; done
read -r mp50 mp95 mtps rp50 rp95 rtps mload mothers mref <<< "$(summarize exhaust)"
planned=$(tail -n +"$START_LINE" "$LOG" | grep -c "Workers Planned: 2" || true)
launched_below=$(tail -n +"$START_LINE" "$LOG" | grep -Ec "Workers Launched: [01]\b" || true)
mshare=$(awk -v a="$launched_below" -v b="$planned" 'BEGIN{ if (b>0) printf "%.3f", a/b; else print "n/a"}')
mdist=""
for k in 0 1 2; do
  n=$(tail -n +"$START_LINE" "$LOG" | grep -Ec "Workers Launched: $k\b" || true)
  mdist+="$(awk -v a="$n" -v b="$planned" 'BEGIN{ if (b>0) printf "%.3f", a/b; else print "n/a"}') "
done
mdist="${mdist% }"
read -r pp50 pp95 ptps pshare p0 p1 p2 <<< "$(predict 4 2 "max_parallel_workers = 2")"
LOAD_AFTER="$(cat /proc/loadavg)"

{
  echo "# Workload mode against PostgreSQL 15 (pgbench)"
  echo
  echo "Generated by \`ROUNDS=$ROUNDS scripts/workload-vs-pgbench.sh $T $PROFILE\` on $(date -u +%Y-%m-%d): \`SELECT count(*) FROM testpar\`"
  echo "($ROWS rows, ~98 MB, $(awk -v s="$SHARE" 'BEGIN{printf "%.0f%%", 100*s}') of its pages in shared buffers by pg_buffercache after the warm-up, $(awk -v s="$ORDER" 'BEGIN{printf "%.0f%%", 100*s}') of them in block order, the model told both), pgbench \`-n -c N -j N -T $S -l\` in $ROUNDS interleaved rounds"
  echo "($T s per configuration), no think time; every run between two readings of the speed reference (each the median of"
  echo "five runs), a configuration's latencies rescaled by the profile's speed_reference_ms ($REF_MS) / the median of its"
  echo "readings, throughput by the inverse (\"rescaled\"); \"raw\" as timed; the reference column: the readings' range (median);"
  echo "pqsim \`workload\` with the same sessions, duration and settings on \`$PROFILE\`, 3 replications."
  echo
  echo "Machine load: before \`$LOAD_BEFORE\`, after \`$LOAD_AFTER\` (/proc/loadavg). On a busy machine the"
  echo "measured latencies include waiting for other programs' CPU use: rerun on a quiet machine before"
  echo "judging the model."
  echo
  echo "| per_gather | clients | p50 predicted (ms) | p50 rescaled | p50 raw | p95 predicted | p95 rescaled | p95 raw | q/s predicted | q/s rescaled | q/s raw | reference (ms) | load (1 min) | others' CPU (cores) |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${ROWS_MD[@]}"
  echo
  echo "## Worker pool exhaustion"
  echo
  echo "4 clients, max_parallel_workers_per_gather = 2, max_parallel_workers = 2; Workers Launched from"
  echo "auto_explain in the server log ($planned Gathers logged, $launched_below below planned)."
  echo
  echo "| | p50 (ms) | p95 (ms) | q/s | share launched below planned | launched 0 / 1 / 2 | reference (ms) | load (1 min) | others' CPU (cores) |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  echo "| predicted | $pp50 | $pp95 | $ptps | $pshare | $p0 / $p1 / $p2 | | | |"
  echo "| measured, rescaled | $mp50 | $mp95 | $mtps | $mshare | ${mdist// / \/ } | $mref | $mload | $mothers |"
  echo "| measured, raw | $rp50 | $rp95 | $rtps | | | | | |"
} > "$OUT"
echo "wrote $OUT" >&2
