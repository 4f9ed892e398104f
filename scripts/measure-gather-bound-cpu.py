#!/usr/bin/env python3
# Per-process CPU of the leader-bound Gather and its neighbours on a throwaway server:
#   python3 scripts/measure-gather-bound-cpu.py CONNINFO ROUNDS PER_BATCH POSTMASTER_PID_FILE [explain]
# (the validation's small tables loaded: pqsim validate --print-load-sql --scale small). In
# interleaved rounds, per plan: Execution Time (EXPLAIN ANALYZE, VERBOSE, TIMING OFF), the
# workers' CPU from fork to exit (the postmaster's reaped children, median over batches: the
# ticks are 10 ms), their minor page faults (the postmaster's reaped children's cminflt: a
# fault maps a 64 kB window of shared buffers, so this counts the windows the workers touched),
# the leader backend's CPU (schedstat) and context switches, worker 0's rows. The runs of a plan
# go in batches of PER_BATCH back to back: a parallel query right after another parallel one
# starts its workers about 1 ms sooner than one after a heavy serial query (2026-12-07: a
# single-copy Gather of a one-row table 4.3-4.6 ms batched, 4.9-6.0 ms interleaved), so the
# fixed costs measured here are the low end of what calibration and validation see.
# With `explain`, writes each plan's EXPLAIN (VERBOSE, SETTINGS, FORMAT JSON) into
# gather_bound_plans/ for `pqsim import --dsn` instead. Results also in gather-bound-cpu.json.
import subprocess, sys, random, re, statistics as st, json, os
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
def pm_stat():
    return open(f"/proc/{pm}/stat").read().rsplit(")",1)[1].split()
def ticks():
    f = pm_stat()
    return int(f[13]) + int(f[14])
def faults():
    return int(pm_stat()[8])
GB = "SELECT sum(x) FROM (SELECT l_quantity AS x FROM lineitem OFFSET 0) s"
CN = "SELECT count(*) FROM lineitem"
base = "SET jit=off; SET parallel_setup_cost=0; SET parallel_tuple_cost=0; SET client_min_messages=warning;"
def g(w, lead="on", force="off"): return f"SET max_parallel_workers_per_gather={w}; SET parallel_leader_participation={lead}; SET force_parallel_mode={force};"
plans = {
 "gb_w0": (g(0), GB), "gb_w1_on": (g(1), GB), "gb_w2_on": (g(2), GB), "gb_w2_off": (g(2, "off"), GB),
 "cn_w0": (g(0), CN), "cn_w1_on": (g(1), CN), "cn_w2_off": (g(2, "off"), CN),
 "sc_send": (g(1, "off", "on"), "SELECT l_quantity FROM lineitem"), "sc_count": (g(1, "off", "on"), CN),
 "sc_one": (g(1, "off", "on"), "SELECT count(*) FROM one"),
 "ref": (g(0), "SELECT sum(a) FROM speedref"),
}
# The speed reference's table is calibration's; without it that plan is left out.
if not "".join(run("SELECT to_regclass('speedref') IS NOT NULL;")).strip().startswith("t"):
    del plans["ref"]
# A one-row table for the single-copy Gather that does next to nothing but start and end.
run("CREATE TABLE IF NOT EXISTS one (a int4); INSERT INTO one SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM one); VACUUM ANALYZE one;")
if len(sys.argv) > 5:
    os.makedirs("gather_bound_plans", exist_ok=True)
    for k, (gs, q) in plans.items():
        run(base + gs)
        open(f"gather_bound_plans/{k}.json", "w").write("".join(run("EXPLAIN (VERBOSE, SETTINGS, FORMAT JSON) " + q + ";")))
    raise SystemExit
run(base)
bpid = int([l for l in run("SELECT pg_backend_pid();") if l.strip()][0])
def lcpu():
    ns = int(open(f"/proc/{bpid}/schedstat").read().split()[0])
    s = {l.split(":")[0]: int(l.split()[1]) for l in open(f"/proc/{bpid}/status") if "ctxt_switches" in l}
    return ns, s["voluntary_ctxt_switches"], s["nonvoluntary_ctxt_switches"]
res = {k: {"t": [], "kids": [], "faults": [], "lead": [], "vol": [], "inv": [], "rows": []} for k in plans}
for r in range(rounds):
    ks = list(plans); random.shuffle(ks)
    for k in ks:
        gs, q = plans[k]; run(gs)
        t0 = ticks(); l0 = lcpu(); f0 = faults()
        outs = run("\n".join(["EXPLAIN (ANALYZE, VERBOSE, TIMING OFF, COSTS OFF) " + q + ";"] * per))
        t1 = ticks(); l1 = lcpu(); f1 = faults()
        d = res[k]
        d["lead"].append((l1[0]-l0[0])/1e6/per); d["vol"].append((l1[1]-l0[1])/per); d["inv"].append((l1[2]-l0[2])/per)
        d["kids"].append((t1 - t0) * 10.0 / per); d["faults"].append((f1 - f0) / per)
        txt = "".join(outs)
        d["t"] += [float(x) for x in re.findall(r"Execution Time: ([\d.]+)", txt)]
        d["rows"] += [float(x) for x in re.findall(r"Worker 0:\s+actual rows=(\d+)", txt)]
out = {}
for k, d in res.items():
    out[k] = {"exec": st.median(d["t"]), "kids": st.median(d["kids"]), "kids_mean": st.mean(d["kids"]), "faults": st.median(d["faults"]), "lead": st.median(d["lead"]), "vol": st.median(d["vol"]), "inv": st.median(d["inv"]), "w0rows": st.median(d["rows"]) if d["rows"] else None}
    print(f"{k:10s} exec {out[k]['exec']:7.2f}  workers CPU {out[k]['kids']:6.2f}  leader CPU {out[k]['lead']:6.2f}  sleeps {out[k]['vol']:4.0f} preempted {out[k]['inv']:4.0f}  w0 rows {out[k]['w0rows']}  workers' faults {out[k]['faults']:.0f}")
json.dump(out, open(os.environ.get("OUT", "gather-bound-cpu.json"), "w"), indent=1)
