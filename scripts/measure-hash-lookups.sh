#!/usr/bin/env bash
# Hash joins whose lookups mostly find nothing against one whose lookups find a row more
# often, timed by the client and predicted by pqsim on a profile: what `hash_probe_ns` (a
# lookup) and `hash_match_ns` (a row found) give on tables the calibration has not seen.
#
# A throwaway server (scripts/pg-throwaway.sh): big (1M rows of int4, int4, in id order),
# small2k (2,000 ids, every 500th) and small60k (60,000 ids, every 16th). P joins big to
# small2k by id (one lookup in 500 finds a row), B to small60k (one in 16, the lookups in the
# table's build order). Each serial, with one worker and a shared hash table (Parallel Hash),
# and with one worker and private tables (enable_parallel_hash = off), ROUNDS rounds of the
# six runs interleaved, client-timed (psql \timing); then each plan's EXPLAIN (VERBOSE,
# SETTINGS, FORMAT JSON) imported (`pqsim import --dsn --client`) and run on PROFILE.
# Prints the medians, the predictions and the errors. The scenarios stay in OUT.
#
# Usage: scripts/measure-hash-lookups.sh PROFILE   (ROUNDS=15 OUT=... in the environment)
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE="${1:?usage: scripts/measure-hash-lookups.sh PROFILE}"
ROUNDS="${ROUNDS:-15}"
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
cargo build --release --quiet
DIR="$(mktemp -u /tmp/pqsim-hashlookups-XXXXXX)"
trap 'scripts/pg-throwaway.sh stop "$DIR" >/dev/null 2>&1 || true' EXIT
CONN="$(scripts/pg-throwaway.sh start "$DIR" | tail -n 1)"
psql "$CONN" -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE TABLE big (id int4, v int4) WITH (autovacuum_enabled = off);
INSERT INTO big SELECT g, g % 1000 FROM generate_series(1, 1000000) g;
CREATE TABLE small2k (id int4, pad int4) WITH (autovacuum_enabled = off);
INSERT INTO small2k SELECT g * 500, g FROM generate_series(1, 2000) g;
CREATE TABLE small60k (id int4, pad int4) WITH (autovacuum_enabled = off);
INSERT INTO small60k SELECT g * 16, g FROM generate_series(1, 60000) g;
VACUUM ANALYZE;
CREATE EXTENSION pg_buffercache;
SQL
SET="SET jit = off; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;"
P="SELECT count(*) FROM big JOIN small2k s ON big.id = s.id"
B="SELECT count(*) FROM big JOIN small60k s ON big.id = s.id"
mode() {
  case $1 in
    serial) echo "SET max_parallel_workers_per_gather = 0;" ;;
    shared) echo "SET max_parallel_workers_per_gather = 1; SET enable_parallel_hash = on;" ;;
    private) echo "SET max_parallel_workers_per_gather = 1; SET enable_parallel_hash = off;" ;;
  esac
}
{
  echo "$SET"
  echo '\timing on'
  for _ in 1 2 3; do echo "SELECT count(*) FROM big; $P; $B;"; done
  for _ in $(seq "$ROUNDS"); do
    for q in P B; do
      sql="$P"; [ "$q" = B ] && sql="$B"
      for m in serial shared private; do echo "\\echo $q $m"; echo "$(mode $m) $sql;"; done
    done
  done
} > "$OUT/runs.sql"
psql "$CONN" -X -q -A -t -f "$OUT/runs.sql" > "$OUT/times.out" 2>&1
for q in P B; do
  sql="$P"; [ "$q" = B ] && sql="$B"
  for m in serial shared private; do
    psql "$CONN" -X -q -A -t -c "$SET $(mode $m) EXPLAIN (VERBOSE, SETTINGS, FORMAT JSON) $sql" | grep -v '^SET$' > "$OUT/$q-$m.json"
    target/release/pqsim import "$OUT/$q-$m.json" --dsn "$CONN" --client --name "$q-$m" --output "$OUT/$q-$m.toml" 2>/dev/null
  done
done
python3 - "$OUT" "$PROFILE" <<'PY'
import collections, json, re, statistics, subprocess, sys
out, profile = sys.argv[1], sys.argv[2]
times, cur, last = collections.defaultdict(list), None, None
for line in open(out + "/times.out"):
    line = line.strip()
    m = re.match(r"^([PB]) (serial|shared|private)$", line)
    if m:
        if cur and last is not None:
            times[cur].append(last)
        cur, last = m.groups(), None
        continue
    m = re.match(r"^Time: ([\d.]+) ms", line)
    if m and cur:
        last = float(m.group(1))
if cur and last is not None:
    times[cur].append(last)
for q in "PB":
    cells = []
    for m in ("serial", "shared", "private"):
        measured = statistics.median(times[(q, m)])
        run = subprocess.run(["target/release/pqsim", "run", f"{out}/{q}-{m}.toml", "--hardware", profile,
                              "--measure", "client", "--format", "json"], capture_output=True, text=True, check=True)
        predicted = json.loads(run.stdout)["wall_time_ms_median"]
        cells.append(f"{m} {measured:.2f} ms measured, {predicted:.2f} predicted ({100 * (predicted / measured - 1):+.1f}%)")
    print(q, "; ".join(cells))
print("scenarios and runs in", out)
PY
