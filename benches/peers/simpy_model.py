"""A SimPy model of pqsim's executor for a Gather over a Parallel Seq Scan, at pqsim's granularity:
one event per scan chunk (PostgreSQL's chunk sizes, ramp-down included) and one per 16 kB tuple-queue
batch (shm_mq publishes written bytes once a quarter of the 64 kB ring is pending, and the reader
publishes consumed bytes once a quarter is read). It is the peer pqsim is timed against
(benches/peers/compare.sh); it reads the compiled costs that pqsim prints (examples peer-params).

Modelled as pqsim does: leader set-up, serialized worker launch and log-normal start-up; a per-run
CPU work factor; read-ahead latency per chunk when pages come from disk; the worker's send cost per row; a
full queue blocks the worker until the leader publishes consumption (plus a wake-up); the leader reads
the queues round robin, drains 16 kB batches at its per-row receive cost, runs its own chunks when
every queue is empty and returns to the queues as soon as one has tuples (SimPy interrupt); shutdown
costs per worker. CPU sharing is recomputed at chunk and batch starts (pqsim re-solves continuously),
which is exact while runnable processes <= cores.

usage: simpy_model.py PARAMS_FILE REPLICATIONS  -> prints mean wall (ms) and seconds per replication
"""
import math
import random
import sys
import time

import simpy

NCHUNKS, RAMPDOWN, MAXCHUNK = 2048.0, 64.0, 8192.0


def next_pow2(x):
    p = 1.0
    while p < x:
        p *= 2.0
    return p


class Scan:
    def __init__(self, nblocks):
        self.nblocks = math.ceil(nblocks)
        self.nallocated = 0.0
        self.initial = min(next_pow2(max(math.floor(self.nblocks / NCHUNKS), 1.0)), MAXCHUNK)

    def next_chunk(self, st):
        if st.get("size") is None:
            st["size"], st["last"] = self.initial, 0.0
        if st["size"] > 1 and st["last"] > self.nblocks - st["size"] * RAMPDOWN:
            st["size"] = max(st["size"] / 2.0, 1.0)
        start = self.nallocated
        if start >= self.nblocks:
            return None
        self.nallocated += st["size"]
        st["last"] = start
        return min(st["size"], self.nblocks - start)


class Model:
    def __init__(self, p, seed):
        self.p, self.env, self.rng = p, simpy.Environment(), random.Random(seed)
        self.n = int(p["workers"])
        self.scan = Scan(p["pages"])
        self.qcap = max(p["tuple_queue_size"] - 56.0, 64.0)
        self.s = p["queue_tuple_bytes"]
        self.written = [0.0] * self.n  # published by the worker
        self.read = [0.0] * self.n  # published by the leader
        self.done = [False] * self.n
        self.send_wait = [None] * self.n  # event a blocked sender waits on
        self.running = 0  # processes on CPU
        self.leader_wait = None
        self.leader_local = None  # the leader's local-work process, to interrupt
        self.wake = p["wakeup_ns"] / p["cpu_speed"]
        self.emits = p["worker_breakers"] == 0
        # The machine's run-to-run variation: one CPU work factor per run for every chunk.
        self.speed = min(max(1.0 + p["cpu_noise_cv"] * self.rng.gauss(0, 1), 0.5), 1.5)

    def share(self):
        return min(1.0, self.p["cores"] / max(self.running, 1))

    def chunk_cost(self, pages, per_tuple):
        p = self.p
        tuples = pages * p["tuples"] / max(p["pages"], 1.0)
        per_page = p["page_cpu_ns"] + p["page_os_read_ns"]  # already scaled by cpu_speed
        return tuples, (tuples * per_tuple + pages * per_page) * self.speed

    def cpu(self, ns):
        """Run ns of CPU work at the current share (counts this process as running)."""
        self.running += 1
        try:
            yield self.env.timeout(ns / self.share())
        finally:
            self.running -= 1

    def publish(self, j, nbytes):
        self.written[j] += nbytes
        if self.leader_wait is not None and not self.leader_wait.triggered:
            self.leader_wait.succeed()
        if self.leader_local is not None and self.leader_local.is_alive:
            self.leader_local.interrupt()

    def worker(self, j):
        p, env = self.p, self.env
        setup = p["leader_setup_ns"] + p["launch_per_worker_ns"] * self.n
        fork = setup + p["launch_per_worker_ns"] * (j + 1)
        init = self.rng.lognormvariate(math.log(p["worker_startup_ns"]), p["worker_startup_sigma"])
        yield env.timeout(fork + init)
        send = p["tuple_send_ns"] / p["cpu_speed"] * p["rows_per_tuple"] if self.emits else 0.0
        st = {}
        while (pages := self.scan.next_chunk(st)) is not None:
            if p["page_disk_bytes"] > 0:
                yield env.timeout(p["request_latency_ns"])
            tuples, work = self.chunk_cost(pages, p["worker_cpu_per_tuple"] + send)
            if not self.emits:
                yield from self.cpu(work)
                continue
            # Emit in 16 kB batches: each publishes, and may find the ring full.
            rows = tuples * p["rows_per_tuple"]
            per_row = work / max(rows, 1e-9)
            batch = (self.qcap / 4.0) / self.s
            while rows > 1e-9:
                free_rows = (self.qcap - (self.written[j] - self.read[j])) / self.s
                if free_rows < 0.5:
                    ev = self.send_wait[j] = env.event()
                    yield ev
                    yield env.timeout(self.wake)
                    continue
                k = min(rows, batch, free_rows)
                yield from self.cpu(k * per_row)
                rows -= k
                self.publish(j, k * self.s)
        self.done[j] = True
        self.publish(j, 0.0)

    def leader_scan(self, st, state):
        """The leader's own chunk; an interrupt (a queue has tuples) sets it aside."""
        p = self.p
        per_tuple = p["leader_cpu_per_tuple"] + (p["consumer_per_row_ns"] * p["rows_per_tuple"] if self.emits else 0)
        if state.get("left") is None:
            pages = self.scan.next_chunk(st)
            if pages is None:
                state["scan_done"] = True
                return
            if p["page_disk_bytes"] > 0:
                yield self.env.timeout(p["request_latency_ns"])
            state["left"] = self.chunk_cost(pages, per_tuple)[1]
        start, share = self.env.now, self.share()
        self.running += 1
        try:
            yield self.env.timeout(state["left"] / share)
            state["left"] = None
        except simpy.Interrupt:
            state["left"] -= (self.env.now - start) * share
        finally:
            self.running -= 1

    def leader(self):
        p, env = self.p, self.env
        yield env.timeout(p["leader_setup_ns"] + p["launch_per_worker_ns"] * self.n if self.n else 0)
        recv = p["tuple_receive_ns"] / p["cpu_speed"] + p["consumer_receive_row_ns"] + p["consumer_per_row_ns"]
        st, state, nxt = {}, {}, 0
        local = p["leader_participates"] > 0 or self.n == 0
        while True:
            ready = [j for j in range((nxt), nxt + self.n) if self.written[j % self.n] - self.read[j % self.n] > self.s * 0.5]
            if ready:
                j = ready[0] % self.n
                avail = (self.written[j] - self.read[j]) / self.s
                k = min(avail, (self.qcap / 4.0) / self.s)
                yield from self.cpu(k * recv)
                self.read[j] += k * self.s
                ev = self.send_wait[j]
                if ev is not None and not ev.triggered:
                    ev.succeed()
                if (self.written[j] - self.read[j]) <= self.s * 0.5:
                    nxt = (j + 1) % self.n
                continue
            if local and not state.get("scan_done"):
                self.leader_local = env.process(self.leader_scan(st, state))
                yield self.leader_local
                self.leader_local = None
                continue
            if all(self.done):
                break
            self.leader_wait = env.event()
            yield self.leader_wait
            yield env.timeout(self.wake)
        yield env.timeout(p["shutdown_per_worker_ns"] * self.n)

    def run(self):
        for j in range(self.n):
            self.env.process(self.worker(j))
        done = self.env.process(self.leader())
        self.env.run(until=done)
        return self.env.now


def main():
    params = {}
    for line in open(sys.argv[1]):
        k, v = line.split()
        params[k] = float(v)
    reps = int(sys.argv[2])
    t0 = time.perf_counter()
    walls = [Model(params, seed).run() / 1e6 for seed in range(1, reps + 1)]
    secs = time.perf_counter() - t0
    print(f"simpy_mean_wall_ms {sum(walls) / len(walls)}")
    print(f"simpy_seconds_per_replication {secs / reps}")


if __name__ == "__main__":
    main()
