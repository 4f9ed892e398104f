#!/usr/bin/env bash
# How long a CPU that goes idle leaves a process waiting on another CPU (`[scheduler]
# idle_pull`): the kernel's scheduler events (tracefs) around RUNS runs of one parallel query,
# each after the serial speed reference as `pqsim validate` runs it; per run, the time a CPU
# sat idle while another had a process waiting to run (scripts/idle-pull.py).
#
# On Linux 6.18 a CPU going idle skips the newly-idle balance when its idle periods have been
# short (a backend's CPU, idle a client round trip at a time), and takes the waiting process
# when the busy CPU's next tick kicks the idle balancer: up to one tick (4 ms at CONFIG_HZ=250).
# `idle_pull = "next_tick"` models that; a machine where this script finds almost no such idle
# time takes `idle_pull = "at_once"`.
#
# A throwaway server (scripts/pg-throwaway.sh) with the validation's tables at the small scale
# (`pqsim validate --print-load-sql`). Needs root (tracefs at /sys/kernel/tracing).
#
# Usage: scripts/measure-idle-pull.sh   (RUNS=30 WORKERS=2 LEADER=on QUERY=... in the environment)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-30}"; WORKERS="${WORKERS:-2}"; LEADER="${LEADER:-on}"
QUERY="${QUERY:-SELECT count(*) FROM lineitem}"
T=/sys/kernel/tracing
if ! [ -w "$T/trace_marker" ]; then
  echo "measure-idle-pull.sh: needs a writable tracefs at $T (run as root)" >&2
  exit 2
fi
cargo build --release --quiet
DIR="$(mktemp -u /tmp/pqsim-idlepull-XXXXXX)"
WORK="$(mktemp -d)"
trap 'echo 0 > $T/tracing_on; echo > $T/set_event; scripts/pg-throwaway.sh stop "$DIR" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
CONN="$(scripts/pg-throwaway.sh start "$DIR" | tail -n 1)"
target/release/pqsim validate --print-load-sql > "$WORK/load.sql"
psql "$CONN" -X -q -v ON_ERROR_STOP=1 -f "$WORK/load.sql" >/dev/null
echo 0 > $T/tracing_on
echo > $T/trace
echo 16384 > $T/buffer_size_kb
printf '%s\n' sched:sched_switch sched:sched_wakeup sched:sched_wakeup_new sched:sched_migrate_task \
  sched:sched_process_fork sched:sched_process_exit > $T/set_event
{
  echo "SET jit = off; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET parallel_leader_participation = $LEADER;"
  echo "SET max_parallel_workers_per_gather = $WORKERS; $QUERY; $QUERY;"
  echo "SELECT pg_backend_pid() AS leader \\gset"
  echo "\\! echo 1 > $T/tracing_on"
  for _ in $(seq "$RUNS"); do
    echo "SET max_parallel_workers_per_gather = 0; SELECT count(*) FROM speedref; SET max_parallel_workers_per_gather = $WORKERS;"
    echo "$QUERY;"
  done
  echo "\\! echo 0 > $T/tracing_on"
  echo "SELECT :leader;"
} > "$WORK/runs.sql"
LEADER_PID="$(psql "$CONN" -X -q -A -t -f "$WORK/runs.sql" | tail -n 1)"
cp $T/trace "$WORK/trace"
echo "$QUERY (max_parallel_workers_per_gather = $WORKERS, parallel_leader_participation = $LEADER), $(nproc) CPUs, Linux $(uname -r):"
python3 scripts/idle-pull.py "$WORK/trace" "$LEADER_PID"
