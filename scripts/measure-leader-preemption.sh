#!/usr/bin/env bash
# How often a parallel query's leader loses its CPU, and how long it waits for it back: the
# leader backend's /proc/PID/schedstat (CPU time, run-queue wait, slices) and /proc/PID/sched
# (migrations, voluntary and involuntary switches) read around batches of back-to-back runs of
# one query at each plan, with the client's median time and the workers' CPU (the postmaster's
# reaped children).
#
# On Linux 6.18 a worker woken on its leader's CPU while it is owed CPU time preempts the
# leader at once (EEVDF), and a woken process looks for an idle CPU only while the machine has
# recently been little enough busy (SIS_UTIL): a leader-bound Gather's leader is switched out
# hundreds of times a query once a worker shares its CPU. The model does both
# (docs/cpu-costs.md, "A worker woken on its leader's CPU takes it").
#
# A throwaway server (scripts/pg-throwaway.sh) with the validation's tables at SCALE (default:
# the default scale, lineitem 1.2M rows). Output, per round and plan: client median ms, leader
# CPU ms, leader run-queue wait ms, leader slices, workers' CPU ms (all workers), then the
# leader's migrations, voluntary and involuntary switches, each per query.
#
# Usage: scripts/measure-leader-preemption.sh   (ROUNDS=3 BATCH=9 PLANS="serial on1 on2 on3"
#        SCALE=default QUERY=... in the environment)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-3}"; BATCH="${BATCH:-9}"; PLANS="${PLANS:-serial on1 on2 on3}"
QUERY="${QUERY:-SELECT sum(x) FROM (SELECT l_quantity AS x FROM lineitem OFFSET 0) s}"
BIN="${PQSIM:-target/release/pqsim}"
[ -x "$BIN" ] || { echo "no $BIN: cargo build --release first" >&2; exit 1; }
DIR="$(mktemp -u /tmp/pqsim-preempt-XXXXXX)"
WORK="$(mktemp -d)"
trap 'bash scripts/pg-throwaway.sh stop "$DIR" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
CONN="$(bash scripts/pg-throwaway.sh start "$DIR" | tail -n 1)"
psql_() { psql "$CONN" -X -q -v ON_ERROR_STOP=1 "$@"; }
"$BIN" validate --print-load-sql --scale "${SCALE:-default}" > "$WORK/load.sql"
psql_ -f "$WORK/load.sql" >/dev/null
for _ in 1 2 3; do psql_ -c "$QUERY" >/dev/null; done
PM="$(head -1 "$DIR/data/postmaster.pid")"
HZ="$(getconf CLK_TCK)"
BASE="SET jit = off; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;"
plan_sql() {
    case "$1" in
        serial) echo "SET max_parallel_workers_per_gather = 0;" ;;
        on[0-9]) echo "SET max_parallel_workers_per_gather = ${1#on}; SET parallel_leader_participation = on;" ;;
        off[0-9]) echo "SET max_parallel_workers_per_gather = ${1#off}; SET parallel_leader_participation = off;" ;;
        *) echo "unknown plan $1 (serial, onN, offN)" >&2; exit 2 ;;
    esac
}
snap() {
    printf '%s\n' "\\! awk '{print \"L$1\", \$1, \$2, \$3}' /proc/\$BP/schedstat; awk '{print \"C$1\", \$14 + \$15 + \$16 + \$17}' /proc/$PM/stat; awk '/nr_migrations|nr_voluntary|nr_involuntary/ {print \"S$1\", \$NF}' /proc/\$BP/sched"
}
batch() {
    { echo "$BASE $(plan_sql "$1")"; echo "$QUERY;"
      echo "SELECT pg_backend_pid() AS bp \\gset"; echo "\\setenv BP :bp"; snap 0
      echo "\\timing on"
      for _ in $(seq 1 "$BATCH"); do echo "$QUERY;"; done
      echo "\\timing off"
      snap 1; } > "$WORK/b.sql"
    psql_ -A -t -f "$WORK/b.sql" | awk -v n="$BATCH" -v hz="$HZ" '
        /^L0/ {l0 = $2; q0 = $3; s0 = $4} /^L1/ {l1 = $2; q1 = $3; s1 = $4}
        /^C0/ {c0 = $2} /^C1/ {c1 = $2}
        /^S0/ {a[++na] = $2} /^S1/ {b[++nb] = $2}
        /^Time:/ {t[++m] = $2}
        END {
            for (i = 2; i <= m; i++) { v = t[i]; j = i - 1; while (j > 0 && t[j] > v) { t[j+1] = t[j]; j-- } t[j+1] = v }
            printf "%.2f %.2f %.2f %.1f %.2f | mig %.1f vol %.1f invol %.1f\n", t[int((m + 1) / 2)],
                (l1 - l0) / 1e6 / n, (q1 - q0) / 1e6 / n, (s1 - s0) / n, (c1 - c0) * 1000 / hz / n,
                (b[1] - a[1]) / n, (b[2] - a[2]) / n, (b[3] - a[3]) / n }'
}
echo "loadavg before: $(cat /proc/loadavg)"
echo "round plan | client median ms, leader CPU ms, run-queue wait ms, slices, workers' CPU ms | leader migrations, voluntary, involuntary switches (per query)"
for r in $(seq 1 "$ROUNDS"); do
    for p in $PLANS; do echo "$r $p | $(batch "$p")"; done
done
echo "loadavg after: $(cat /proc/loadavg)"
