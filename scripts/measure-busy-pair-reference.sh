#!/usr/bin/env bash
# Whether one serial speed reference can rescale parallel runs: how the serial reference, a
# busy-pair reference (the same scan by the leader and one worker) and serial and parallel
# queries move together across the host's fast and slow stretches.
#
# A throwaway server (scripts/pg-throwaway.sh) with the validation's small-scale tables
# (`pqsim validate --print-load-sql --scale small`). ROUNDS rounds, each running five queries
# once in a shuffled order: the leader-bound Gather (every lineitem row through the Gather,
# summed in the leader) serially, with two workers and the leader, with two workers without it,
# and a q1-like aggregate serially and with two workers; each query right after one serial
# reference and one busy-pair reference, all timed by psql. Then, splitting runs by the serial
# reference (fast < 16 ms, slow >= 20 ms): each query's slow/fast ratio, and its spread (sd of
# log time) raw, rescaled by the serial reference and by the busy-pair reference.
#
# Usage: scripts/measure-busy-pair-reference.sh   (ROUNDS=450, about 4 minutes; needs a quiet
# machine and target/release/pqsim)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-450}"
DIR="$(mktemp -u /tmp/pqsim-pair-XXXXXX)"; WORK="$(mktemp -d)"
trap 'scripts/pg-throwaway.sh stop "$DIR" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
CONN="$(scripts/pg-throwaway.sh start "$DIR" | tail -n 1)"
psql_() { psql "$CONN" -X -q -v ON_ERROR_STOP=1 "$@"; }
target/release/pqsim validate --print-load-sql --scale small > "$WORK/load.sql"
psql_ -f "$WORK/load.sql" >/dev/null
GB="SELECT sum(x) FROM (SELECT l_quantity AS x FROM lineitem OFFSET 0) s"
Q1="SELECT l_returnflag, l_linestatus, sum(l_quantity), sum(l_extendedprice*(1-l_discount)), avg(l_discount), count(*) FROM lineitem WHERE l_shipdate <= date '1998-09-01' GROUP BY 1,2"
declare -A P=([gather_bound_w0]="0 on|$GB" [gather_bound_w2_off]="2 off|$GB" [gather_bound_w2_on]="2 on|$GB"
              [q1_w0]="0 on|$Q1" [q1_w2_on]="2 on|$Q1")
{ echo "SET jit = off; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;"
  for k in "${!P[@]}"; do echo "${P[$k]#*|};"; done
  for _ in $(seq 1 "$ROUNDS"); do for k in $(echo "${!P[@]}" | tr ' ' '\n' | shuf); do
    set -- ${P[$k]%%|*}
    echo "SET max_parallel_workers_per_gather = 0;"; echo "\\timing on"; echo "\\echo R"; echo "SELECT sum(a) FROM speedref;"
    echo "SET max_parallel_workers_per_gather = 1; SET parallel_leader_participation = on; SET min_parallel_table_scan_size = 0;"
    echo "\\echo P"; echo "SELECT sum(a) FROM speedref;"; echo "\\timing off"
    echo "RESET min_parallel_table_scan_size; SET max_parallel_workers_per_gather = $1; SET parallel_leader_participation = $2;"
    echo "\\timing on"; echo "\\echo K $k"; echo "${P[$k]#*|};"; echo "\\timing off"
  done; done
} > "$WORK/b.sql"
psql_ -A -t -f "$WORK/b.sql" > "$WORK/raw.out" 2>&1
python3 - "$WORK/raw.out" <<'PY'
import sys, re, math, statistics as st, collections
mode = ref = pair = None; runs = []
for line in open(sys.argv[1]):
    line = line.strip()
    if line in ('R', 'P'): mode = line; continue
    if line.startswith('K '): mode = line[2:]; continue
    m = re.match(r'Time: ([\d.]+) ms', line)
    if not m: continue
    t = float(m.group(1))
    if mode == 'R': ref = t
    elif mode == 'P': pair = t
    elif mode: runs.append((mode, ref, pair, t))
    mode = None
R = st.median(r for _, r, _, _ in runs); P = st.median(p for _, _, p, _ in runs)
print(f"{len(runs)} runs; serial reference median {R:.2f} ms, busy-pair reference median {P:.2f} ms")
state = lambda r: 'fast' if r < 16 else ('slow' if r >= 20 else 'between')
by = collections.defaultdict(lambda: collections.defaultdict(list))
for k, r, p, t in runs:
    s = state(r); by[s][k].append(t); by[s]['serial reference'].append(r); by[s]['busy-pair reference'].append(p)
print("runs per state:", {s: len(by[s]['serial reference']) for s in ('fast', 'between', 'slow')})
sd = lambda xs: st.pstdev([math.log(x) for x in xs])
print(f"{'':22s} {'slow/fast':>9s} {'sd raw':>7s} {'by serial':>9s} {'by pair':>8s}")
for k in ['serial reference', 'busy-pair reference'] + sorted(set(q for q, *_ in runs)):
    ratio = st.median(by['slow'][k]) / st.median(by['fast'][k]) if by['slow'][k] and by['fast'][k] else float('nan')
    v = [x for x in runs if x[0] == k]
    cols = (f"{sd([t for *_, t in v]):7.3f} {sd([t * R / r for _, r, _, t in v]):9.3f} {sd([t * P / p for _, _, p, t in v]):8.3f}" if v else "")
    print(f"{k:22s} {ratio:9.3f} {cols}")
PY
