#!/usr/bin/env python3
# What reading and sending a row costs by the row's shape, on a throwaway server:
#   python3 scripts/measure-row-shapes.py CONNINFO [ROUNDS] [PER_BATCH]
# (start one with `bash scripts/pg-throwaway.sh start DIR`; it must run on this machine: the
# workers' CPU is read from the postmaster's /proc entry). Creates tables whose rows stand 36 to
# 455 bytes apart, all of one length or with lengths spread (sd 8, 20, 47 bytes), loads them
# into shared buffers, then times in interleaved rounds, per table: a serial count(*) and
# sum(a) (EXPLAIN ANALYZE, TIMING OFF) and a single-copy Gather (force_parallel_mode) whose
# worker counts the rows or sends column a of every row, with the worker's CPU from fork to
# exit (the postmaster's reaped children, a trimmed mean over batches). Prints ns a row: reading a
# column (sum less count, serial) and sending it (the worker's CPU sending less counting).
# Also the validation's lineitem (sum of l_linenumber) when the server has it
# (`pqsim validate --print-load-sql --scale small | psql CONNINFO`).
import random, re, statistics as st, subprocess, sys

conn = sys.argv[1]
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
per = int(sys.argv[3]) if len(sys.argv) > 3 else 5

def psql(sql):
    return subprocess.run(["psql", conn, "-X", "-q", "-A", "-t", "-c", sql], check=True, capture_output=True, text=True).stdout

HASH = "(hashint4(g)::int8 & 2147483647) % 1000000"
def pad_fixed(n): return f"repeat('x', {n})"
def pad_spread(lo, width): return f"repeat('x', {lo} + ((hashint4(g + 13)::int8 & 2147483647) % {width})::int4)"
# name: (rows, pad); the rows' stride in bytes in the comment (header, four int4, the pad).
# About 8 MB each, 66 MB in all: they must stay in shared buffers (128 MB by default) beside
# lineitem (37 MB at the small scale).
SHAPES = {
    "rs_36": (150000, None),             # two int4 columns only
    "rs_84": (100000, "md5(g::text)"),   # the calibration's narrow rows
    "rs_164": (50000, pad_fixed(113)),
    "rs_250": (40000, pad_fixed(200)),
    "rs_455": (25000, "repeat(md5(g::text), 12)"),
    "rs_164_sd8": (50000, pad_spread(99, 29)),
    "rs_164_sd20": (50000, pad_spread(78, 71)),
    "rs_164_sd47": (50000, pad_spread(32, 164)),
}
for t, (rows, pad) in SHAPES.items():
    if psql(f"SELECT to_regclass('{t}') IS NOT NULL").strip() == "t":
        continue
    if pad is None:
        psql(f"CREATE TABLE {t} (id int4, a int4) WITH (autovacuum_enabled = off); "
             f"INSERT INTO {t} SELECT g, {HASH} FROM generate_series(1, {rows}) g")
    else:
        psql(f"CREATE TABLE {t} (id int4, a int4, b int4, c int4, pad text) WITH (autovacuum_enabled = off); "
             f"INSERT INTO {t} SELECT g, {HASH}, 1, 2, {pad} FROM generate_series(1, {rows}) g")
psql("CHECKPOINT")
tables = {t: "a" for t in SHAPES}
if psql("SELECT to_regclass('lineitem') IS NOT NULL").strip() == "t":
    tables["lineitem"] = "l_linenumber"
psql("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
for t in tables:
    # Twice: the first may not mark every page all-visible (asynchronous commit).
    psql(f"VACUUM ANALYZE {t}")
    psql(f"VACUUM {t}")
    psql(f"SELECT pg_prewarm('{t}')")
nrows = {t: float(psql(f"SELECT reltuples FROM pg_class WHERE relname = '{t}'")) for t in tables}
# Every table must be in shared buffers as a whole, or the scans read from the OS page cache.
psql("CREATE EXTENSION IF NOT EXISTS pg_buffercache")
for t in tables:
    resident = float(psql(f"SELECT count(*)::float8 / greatest(relpages, 1) FROM pg_buffercache b, pg_class c "
                          f"WHERE c.relname = '{t}' AND b.relfilenode = pg_relation_filenode(c.oid) GROUP BY relpages") or 0)
    if resident < 0.99:
        raise SystemExit(f"measure-row-shapes: only {100 * resident:.0f}% of {t} is in shared buffers: "
                         "drop other tables or raise shared_buffers")

# The postmaster, whose reaped children are the single-copy Gathers' workers.
dd = psql("SHOW data_directory").strip()
pm = int(open(f"{dd}/postmaster.pid").readline())

p = subprocess.Popen(["psql", conn, "-X", "-q", "-A", "-t"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=subprocess.STDOUT, text=True, bufsize=1)
marks = [0]
def run(sql):
    marks[0] += 1
    mark = f"MARK{marks[0]}"
    p.stdin.write(sql + f"\n\\echo {mark}\n")
    p.stdin.flush()
    out = []
    while True:
        line = p.stdout.readline()
        if not line:
            raise SystemExit("psql died")
        if line.strip() == mark:
            return "".join(out)
        out.append(line)

def children_ticks():
    f = open(f"/proc/{pm}/stat").read().rsplit(")", 1)[1].split()
    return int(f[13]) + int(f[14])

SER = "SET max_parallel_workers_per_gather = 0; SET force_parallel_mode = off;"
SC = ("SET max_parallel_workers_per_gather = 1; SET parallel_leader_participation = off; "
      "SET force_parallel_mode = on; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;")
plans = {}
for t, c in tables.items():
    plans[(t, "s_count")] = (SER, f"SELECT count(*) FROM {t}")
    plans[(t, "s_sum")] = (SER, f"SELECT sum({c}) FROM {t}")
    plans[(t, "sc_count")] = (SC, f"SELECT count(*) FROM {t}")
    plans[(t, "sc_send")] = (SC, f"SELECT {c} FROM {t}")
run("SET jit = off; SET client_min_messages = warning;")
res = {k: {"t": [], "kids": []} for k in plans}
for _ in range(rounds):
    for t in tables:
        run(f"SELECT pg_prewarm('{t}');")
    keys = list(plans)
    random.shuffle(keys)
    for k in keys:
        gucs, q = plans[k]
        run(gucs)
        t0 = children_ticks()
        out = run("\n".join([f"EXPLAIN (ANALYZE, TIMING OFF) {q};"] * per))
        res[k]["kids"].append((children_ticks() - t0) * 10.0 / per)
        res[k]["t"] += [float(x) for x in re.findall(r"Execution Time: ([\d.]+)", out)]

def med(k, f):
    # Execution Times: the median. The workers' CPU comes in 10 ms ticks a batch: a mean
    # resolves finer, trimmed of the fifth at each end (an autovacuum worker reaped in a
    # batch, a stretch of the host's slow state).
    v = sorted(res[k][f])
    if f == "t":
        return st.median(v)
    cut = len(v) // 5
    return st.mean(v[cut:len(v) - cut] or v)
print(f"{'table':14s} {'rows':>8s} {'serial count':>13s} {'sum - count':>12s} {'sent - counted':>15s}   (ms; ns a row)")
for t in tables:
    n = nrows[t]
    read = (med((t, "s_sum"), "t") - med((t, "s_count"), "t")) * 1e6 / n
    # The worker's CPU, fork to exit, sending every row less counting them; its Execution Time
    # difference beside it.
    sent = (med((t, "sc_send"), "kids") - med((t, "sc_count"), "kids")) * 1e6 / n
    sent_t = (med((t, "sc_send"), "t") - med((t, "sc_count"), "t")) * 1e6 / n
    print(f"{t:14s} {n:8.0f} {med((t, 's_count'), 't'):10.2f} ms {read:9.1f} ns {sent:9.1f} ns ({sent_t:.1f} by time)")
