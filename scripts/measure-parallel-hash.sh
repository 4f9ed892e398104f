#!/usr/bin/env bash
# What a Parallel Hash costs beyond a private hash table: the CPU of a hash join's processes,
# serial, with one worker sharing one hash table (Parallel Hash), and with one worker each
# building its own (enable_parallel_hash = off), from the kernel's accounting.
#
# A throwaway server (scripts/pg-throwaway.sh) with the validation's TPC-H-like orders and
# lineitem at the small scale (60,000 orders, 240,000 lines; `pqsim validate`'s own SQL, printed
# by `pqsim validate --print-load-sql`: the seed tables and the speed reference too), QUERY (default: every lineitem row joined to all of
# orders, counted). ROUNDS rounds; in each, a batch of BATCH runs of each of the three plans
# (in turn, so that the host's speed moves all three alike), every run after IDLE seconds of
# sleep as `validate` leaves the machine between runs. Per batch: the leader's CPU
# (/proc/PID/schedstat), the workers' (the postmaster's reaped children's CPU,
# /proc/PID/stat cutime + cstime), the postmaster's own; per round each parallel plan's CPU
# over the serial plan's; the medians over the rounds.
#
# Usage: scripts/measure-parallel-hash.sh   (ROUNDS=8 BATCH=20 IDLE=0.015 QUERY=... in the environment)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-8}"; BATCH="${BATCH:-20}"; IDLE="${IDLE:-0.015}"
QUERY="${QUERY:-SELECT count(*) FROM orders o JOIN lineitem l ON o_orderkey = l_orderkey}"
cargo build --release --quiet
DIR="$(mktemp -u /tmp/pqsim-phash-XXXXXX)"
WORK="$(mktemp -d)"
trap 'scripts/pg-throwaway.sh stop "$DIR" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
CONN="$(scripts/pg-throwaway.sh start "$DIR" | tail -n 1)"
psql_() { psql "$CONN" -X -q -v ON_ERROR_STOP=1 "$@"; }
target/release/pqsim validate --print-load-sql > "$WORK/load.sql"
psql_ -f "$WORK/load.sql" >/dev/null
for _ in 1 2 3; do psql_ -c "$QUERY" >/dev/null; done
PM="$(head -1 "$DIR/data/postmaster.pid")"
HZ="$(getconf CLK_TCK)"
BASE="SET jit = off; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;"
declare -A PLAN=(
  [serial]="SET max_parallel_workers_per_gather = 0;"
  [parallel_hash]="SET max_parallel_workers_per_gather = 1; SET enable_parallel_hash = on;"
  [private_hash]="SET max_parallel_workers_per_gather = 1; SET enable_parallel_hash = off;"
)
for p in serial parallel_hash private_hash; do
  echo "$p: $(psql_ -A -t -c "$BASE ${PLAN[$p]}" -c "EXPLAIN $QUERY" | grep -E 'Hash|Gather' | sed 's/(cost.*//; s/^ *//; s/->  //' | paste -sd '>' -)"
done
snap() { printf '%s\n' "\\! awk '{print \"L$1\", \$1}' /proc/\$BP/schedstat; awk '{print \"C$1\", \$14 + \$15 + \$16 + \$17}' /proc/$PM/stat; awk '{print \"P$1\", \$1}' /proc/$PM/schedstat"; }
batch() { # plan -> "leader_ms workers_ms postmaster_ms" per query
  { echo "$BASE ${PLAN[$1]}"; echo "$QUERY;"
    echo "SELECT pg_backend_pid() AS bp \\gset"; echo "\\setenv BP :bp"; snap 0
    for _ in $(seq 1 "$BATCH"); do echo "SELECT pg_sleep($IDLE);"; echo "$QUERY;"; done
    snap 1; } > "$WORK/b.sql"
  psql_ -A -t -f "$WORK/b.sql" | awk -v n="$BATCH" -v hz="$HZ" '
    /^L0/ {l0 = $2} /^L1/ {l1 = $2} /^C0/ {c0 = $2} /^C1/ {c1 = $2} /^P0/ {p0 = $2} /^P1/ {p1 = $2}
    END {printf "%.3f %.3f %.3f\n", (l1 - l0) / 1e6 / n, (c1 - c0) * 1000 / hz / n, (p1 - p0) / 1e6 / n}'
}
echo "loadavg before: $(cat /proc/loadavg)"
echo "round | serial leader | parallel hash: leader, worker, postmaster, total / serial | private hashes: leader, worker, postmaster, total / serial"
: > "$WORK/ratios"
for r in $(seq 1 "$ROUNDS"); do
  read -r sl _ _ <<< "$(batch serial)"
  read -r pl pw pp <<< "$(batch parallel_hash)"
  read -r ql qw qp <<< "$(batch private_hash)"
  line=$(awk -v r="$r" -v sl="$sl" -v pl="$pl" -v pw="$pw" -v pp="$pp" -v ql="$ql" -v qw="$qw" -v qp="$qp" 'BEGIN {
    a = (pl + pw + pp) / sl; b = (ql + qw + qp) / sl
    printf "%d | %.2f | %.2f %.2f %.2f %.3f | %.2f %.2f %.2f %.3f", r, sl, pl, pw, pp, a, ql, qw, qp, b
    printf "%.4f %.4f\n", a, b > "/dev/stderr" }' 2>> "$WORK/ratios")
  echo "$line"
done
med() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
echo "median CPU over serial: parallel hash $(cut -d' ' -f1 "$WORK/ratios" | med), private hashes $(cut -d' ' -f2 "$WORK/ratios" | med)"
echo "loadavg after: $(cat /proc/loadavg)"
