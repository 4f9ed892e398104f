#!/usr/bin/env python3
# Per-process CPU of the leader-bound Gather on a throwaway server (scratch, 2026-12-06):
# python3 scripts/measure-gather-bound-cpu.py CONNINFO ROUNDS PER_BATCH POSTMASTER_PID_FILE
# (the validation small tables loaded: pqsim validate --print-load-sql --scale small).
# Reads the postmaster reaped children CPU (the workers, fork to exit) and the leader backend
# schedstat and context switches around each batch.
import subprocess, sys, random, re, statistics as st
conn = sys.argv[1]; rounds = int(sys.argv[2]); per = int(sys.argv[3])
pm = int(open(sys.argv[4]).readline().strip())
p = subprocess.Popen(["psql", conn, "-X", "-q", "-A", "-t"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
n = [0]
def run(sql):
    n[0] += 1; mark = f"MARK{n[0]}"
    p.stdin.write(sql + f"\n\\echo {mark}\n"); p.stdin.flush()
    out = []
    while True:
        l = p.stdout.readline()
        if not l: raise SystemExit("psql died")
        if l.strip() == mark: return out
        out.append(l)
def ticks():
    f = open(f"/proc/{pm}/stat").read().rsplit(")",1)[1].split()
    return int(f[13]) + int(f[14])
GB = "SELECT sum(x) FROM (SELECT l_quantity AS x FROM lineitem OFFSET 0) s"
base = "SET jit=off; SET parallel_setup_cost=0; SET parallel_tuple_cost=0; SET client_min_messages=warning;"
plans = {
 "w0": ("SET max_parallel_workers_per_gather=0; SET force_parallel_mode=off;", GB),
 "w1_on": ("SET max_parallel_workers_per_gather=1; SET parallel_leader_participation=on; SET force_parallel_mode=off;", GB),
 "w2_off": ("SET max_parallel_workers_per_gather=2; SET parallel_leader_participation=off; SET force_parallel_mode=off;", GB),
 "li_send": ("SET max_parallel_workers_per_gather=1; SET parallel_leader_participation=off; SET force_parallel_mode=on;", "SELECT l_quantity FROM lineitem"),
 "li_count": ("SET max_parallel_workers_per_gather=1; SET parallel_leader_participation=off; SET force_parallel_mode=on;", "SELECT count(*) FROM lineitem"),
 "ref": ("SET max_parallel_workers_per_gather=0; SET force_parallel_mode=off;", "SELECT sum(a) FROM speedref"),
}
run(base)
bpid = int([l for l in run("SELECT pg_backend_pid();") if l.strip()][0])
def lcpu():
    ns = int(open(f"/proc/{bpid}/schedstat").read().split()[0])
    st_ = {l.split(":")[0]: int(l.split()[1]) for l in open(f"/proc/{bpid}/status") if "ctxt_switches" in l}
    return ns, st_["voluntary_ctxt_switches"], st_["nonvoluntary_ctxt_switches"]
res = {k: {"t": [], "life": [], "rows": [], "lead": [], "vol": [], "inv": []} for k in plans}
for r in range(rounds):
    ks = list(plans); random.shuffle(ks)
    for k in ks:
        g, q = plans[k]; run(g)
        t0 = ticks(); l0 = lcpu()
        outs = run("\n".join(["EXPLAIN (ANALYZE, VERBOSE, TIMING OFF, COSTS OFF) " + q + ";"] * per))
        t1 = ticks(); l1 = lcpu()
        res[k]["lead"].append((l1[0]-l0[0])/1e6/per); res[k]["vol"].append((l1[1]-l0[1])/per); res[k]["inv"].append((l1[2]-l0[2])/per)
        res[k]["life"].append((t1 - t0) * 10.0 / per)
        txt = "".join(outs)
        res[k]["t"] += [float(x) for x in re.findall(r"Execution Time: ([\d.]+)", txt)]
        res[k]["rows"] += [float(x) for x in re.findall(r"Worker 0:\s+actual rows=(\d+)", txt)]
for k in plans:
    d = res[k]
    print(f"{k}: exec median {st.median(d['t']):.2f} ms (p10 {st.quantiles(d['t'],n=10)[0]:.2f}), children CPU per query {st.mean(d['life']):.2f} ms, worker0 rows median {st.median(d['rows']) if d['rows'] else '-'}; leader CPU {st.median(d['lead']):.2f} ms, sleeps {st.median(d['vol']):.0f}, preempted {st.median(d['inv']):.0f}")
