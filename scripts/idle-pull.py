#!/usr/bin/env python3
"""Reads a tracefs trace of sched events (sched_switch, sched_wakeup, sched_wakeup_new,
sched_migrate_task, sched_process_fork, sched_process_exit) around runs of one parallel query
and reports, per run, the time a CPU sat idle while another CPU had a process waiting to run
(the cost of a CPU that goes idle taking a waiting process only at the busy CPU's next tick,
`[scheduler] idle_pull`), with the run's length as the trace sees it.

A run is the stretch between two of psql's sleeps (it sends a statement, then waits) that
contains a fork by the postmaster (the query's workers). Its length runs from psql's sleep to
the leader's last sleep in it.

Usage: scripts/idle-pull.py TRACE LEADER_PID
"""
import re
import statistics
import sys

LINE = re.compile(r"^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+): (\w+): (.*)$")


def events(path):
    for line in open(path):
        m = LINE.match(line)
        if m:
            comm, pid, cpu, ts, ev, rest = m.groups()
            yield float(ts) * 1000.0, int(cpu), int(pid), comm, ev, dict(re.findall(r"(\w+)=(\S+)", rest))


def main():
    path, leader = sys.argv[1], int(sys.argv[2])
    evs = list(events(path))
    cpus = sorted({e[1] for e in evs}) or [0]
    current = {c: 0 for c in cpus}  # pid running on each CPU (0: idle)
    waiting = {c: set() for c in cpus}  # runnable, not running, per CPU

    def step(ts, cpu, pid, comm, ev, d):
        if ev == "sched_switch":
            prev, nxt = int(d["prev_pid"]), int(d["next_pid"])
            if prev and d["prev_state"].startswith("R"):
                waiting[cpu].add(prev)
            waiting[cpu].discard(nxt)
            current[cpu] = nxt
        elif ev in ("sched_wakeup", "sched_wakeup_new"):
            p, c = int(d["pid"]), int(d["target_cpu"])
            if c in current and current[c] != p:
                for w in waiting.values():
                    w.discard(p)
                waiting[c].add(p)
        elif ev == "sched_migrate_task":
            p, o, t = int(d["pid"]), int(d["orig_cpu"]), int(d["dest_cpu"])
            if o in waiting and p in waiting[o]:
                waiting[o].discard(p)
                waiting.setdefault(t, set()).add(p)

    cuts = [i for i, e in enumerate(evs) if e[4] == "sched_switch" and e[5]["prev_comm"] == "psql" and e[5]["prev_state"].startswith("S")]
    runs = []
    done = 0
    for a, b in zip(cuts, cuts[1:]):
        for e in evs[done:a]:
            step(*e)
        seg, done = evs[a:b], b
        forks = [e[0] for e in seg if e[4] == "sched_process_fork" and e[3] == "postgres"]
        lost, last = 0.0, None
        for e in seg:
            if last is not None and forks and e[0] > forks[0]:
                # A CPU idle while another has a process waiting.
                if any(current[c] == 0 for c in cpus) and any(waiting[c] for c in cpus if current[c] != 0):
                    lost += e[0] - last
            step(*e)
            last = e[0]
        if forks:
            sleeps = [e[0] for e in seg if e[4] == "sched_switch" and int(e[5]["prev_pid"]) == leader and e[5]["prev_state"].startswith("S")]
            if sleeps:
                runs.append((lost, sleeps[-1] - seg[0][0]))
    if not runs:
        sys.exit("idle-pull.py: no parallel run found in the trace")
    idle = sorted(r[0] for r in runs)
    quick = [r[1] for r in runs if r[0] <= 0.3]
    slow = [r[1] for r in runs if r[0] > 0.3]
    print(f"runs {len(runs)}: a CPU idle while another had a process waiting, per run: median {statistics.median(idle):.2f} ms, "
          f"mean {statistics.mean(idle):.2f} ms, over 0.3 ms in {len(slow)} of {len(runs)}")
    if quick and slow:
        print(f"run length (psql's send to the leader's last sleep): median {statistics.median(quick):.2f} ms without, "
              f"{statistics.median(slow):.2f} ms with")


if __name__ == "__main__":
    main()
