//! The parallel probes: worker start-up, Gather's own rows, a worker's scan, tuple queues
//! and Parallel Hash. Each runs a parallel plan whose time (and, where PostgreSQL reports it,
//! the leader's share of the rows) the calibration's simulator fits are held against.

use super::{g, par, probe, serial, How, Probe, Stage};

/// Start-up: tiny tables, 3 runs per repetition.
pub(super) fn startup_probes() -> Vec<Probe> {
    let (e, s) = (How::Explain, Stage::Startup);
    let tiny = || "SELECT count(*) FROM tiny".to_string();
    let mut p = vec![
        probe("su_serial".into(), tiny(), serial(&[]), e, s, "tiny serial count(*)"),
        probe(
            "su_noworkers".into(),
            tiny(),
            par("2", &[("max_parallel_workers", "0")]),
            e,
            s,
            "parallel plan, no worker available",
        ),
    ];
    for w in 1..=4 {
        p.push(probe(format!("su_w{w}"), tiny(), par(&w.to_string(), &[]), e, s, "tiny parallel count(*)"));
    }
    p.push(probe(
        "su_single".into(),
        "SELECT count(*) FROM tiny_sc".into(),
        g(&[("force_parallel_mode", "on"), ("work_mem", "1GB")]),
        How::ExplainTiming,
        s,
        "single-copy Gather (force_parallel_mode)",
    ));
    // The same over n_l: its worker maps every page of n_l before it exits, and unmaps them
    // all at its exit while the leader waits (`shutdown_per_page_ns`).
    p.push(probe(
        "su_single_l".into(),
        "SELECT count(*) FROM n_l".into(),
        g(&[("force_parallel_mode", "on"), ("work_mem", "1GB")]),
        How::ExplainTiming,
        s,
        "single-copy Gather over n_l (its worker's exit after mapping every page)",
    ));
    p
}

/// Gather's price of a local row (`gather_row_ns`): every row of n_m returned by a serial
/// Seq Scan, and by the same scan as a Parallel Seq Scan under a Gather that gets no worker
/// (`max_parallel_workers = 0`: the leader runs the plan alone and returns every row through
/// ExecGather). Their difference, less the parallel plan's set-up (`su_noworkers` minus
/// `su_serial`), per row.
pub(super) fn gather_row_probes() -> Vec<Probe> {
    let (e, s) = (How::Explain, Stage::GatherRow);
    vec![
        probe("gr_serial".into(), "SELECT a FROM n_m".into(), serial(&[]), e, s, "every row of n_m, serial"),
        probe(
            "gr_noworkers".into(),
            "SELECT a FROM n_m".into(),
            par("1", &[("max_parallel_workers", "0")]),
            e,
            s,
            "every row of n_m through a Gather that gets no worker",
        ),
    ]
}

/// A worker's scanning against the leader's (`worker_page_fault_ns`): `count(*)` of n_l (in
/// shared buffers) with 1 and 2 workers and the leader participating. Each participant
/// returns one row, so the leader's share of the scanned rows (EXPLAIN VERBOSE) and the time
/// say how fast the workers scanned once started: a fresh process maps no shared buffer yet
/// and pays a minor fault on its first touch of each page, which the long-lived leader does
/// not.
pub(super) fn worker_scan_probes() -> Vec<Probe> {
    let (e, s) = (How::Explain, Stage::WorkerScan);
    // n_l, the largest table kept in shared buffers: on a fast machine the leader scanned all
    // of n_m before a worker had started, and the fit had nothing to go on. Beside the leader
    // (its share says how fast a worker scanned) and without it (the workers scan every
    // page). One worker without the leader is not planned: PostgreSQL's planner prices that
    // plan at the serial one's cost and keeps the serial.
    let mut p: Vec<Probe> = [("1", "on"), ("2", "on"), ("2", "off")]
        .iter()
        .map(|(w, leader)| {
            let gucs = par(w, &[("parallel_leader_participation", leader)]);
            probe(
                format!("ws_w{w}_{leader}"),
                "SELECT count(*) FROM n_l".into(),
                gucs,
                e,
                s,
                "parallel count(*) of n_l",
            )
        })
        .collect();
    // The single-copy Gather's worker of gq_single, counting n_m's rows instead of sending
    // them: the same scan in the same kind of process, one row sent. Its worker's CPU against
    // gq_single's is a row's forming and sending (`queues::SendFromCpu`).
    p.push(probe(
        "ws_single".into(),
        "SELECT count(*) FROM n_m".into(),
        single_copy(),
        e,
        s,
        "count(*) of n_m in a single-copy Gather's worker",
    ));
    p
}

/// One worker that runs the whole plan while the leader only receives: a single-copy Gather
/// (`force_parallel_mode`). With `parallel_leader_participation = off` and one worker
/// PostgreSQL 15's planner keeps the serial plan (the parallel path costs the same plus the
/// Gather), so that setting alone would time a serial plan.
pub(super) fn single_copy() -> Vec<(String, String)> {
    par("1", &[("parallel_leader_participation", "off"), ("force_parallel_mode", "on")])
}

/// Tuple queues: every row of n_m crosses a queue; then Gather Merge over full sorts.
///
/// One worker with the leader only receiving is a single-copy Gather ([`single_copy`]). The
/// leader-participating probes are timed with VERBOSE
/// too, for their `Worker N` rows: the leader's share of the scan says how fast it drains a
/// queue compared with a worker scanning and sending (it scans only when every queue is dry).
pub(super) fn queue_probes() -> Vec<Probe> {
    let (e, s) = (How::Explain, Stage::Queue);
    let mut p = vec![probe(
        "gq_single".into(),
        "SELECT a FROM n_m".into(),
        single_copy(),
        e,
        s,
        "every row through a single-copy Gather (the leader only receives)",
    )];
    for (id, w, leader) in [("gq_w2_off", "2", "off"), ("gq_w1_on", "1", "on"), ("gq_w2_on", "2", "on")] {
        let gucs = par(w, &[("parallel_leader_participation", leader)]);
        p.push(probe(id.into(), "SELECT a FROM n_m".into(), gucs, e, s, "every row through the Gather"));
    }
    for (id, w, leader) in [("gm_w2_on", "2", "on"), ("gm_w1_off", "1", "off")] {
        let gucs = par(w, &[("parallel_leader_participation", leader)]);
        p.push(probe(
            id.into(),
            "SELECT a FROM n_m ORDER BY b".into(),
            gucs,
            e,
            s,
            "Gather Merge over per-participant sorts",
        ));
    }
    p
}

/// What a wake-up from a latch wait costs (`scheduler.wake_cpu_ns`): `gq_single`'s rows of
/// n_m, each with 500 more bytes, through the same single-copy Gather. The leader receives the
/// same rows in both and sleeps whenever its queue runs dry, which its slower worker makes it
/// do at every publish, a quarter of the ring: about 220 times a run with n_m's 32-byte
/// messages, about 3,300 with these 536-byte ones. Its CPU against its wake-ups (both
/// measured on the server's machine) is the price of one, nothing else modelled in between.
pub(super) fn wake_probes() -> Vec<Probe> {
    vec![probe(
        "gq_single_wide".into(),
        "SELECT a, repeat('x', 500) AS pad FROM n_m".into(),
        single_copy(),
        How::Explain,
        Stage::Wake,
        "every row of n_m, 500 bytes wider, through a single-copy Gather (its leader wakes 15x as often)",
    )]
}

/// Parallel Hash against private hash tables (`parallel_hash_insert_ns`): every row of n_l
/// probing a hash table of n_s by id (both loaded in id order, as a fact table's foreign key
/// meets its dimension's primary key: the lookups follow the build order), with one worker
/// beside the leader, once with the table shared (the two processes insert half of n_s's
/// rows each into one table in shared memory) and once with `enable_parallel_hash = off`
/// (each builds the whole table for itself). The scans and the probes are the same; the two
/// plans differ by the build, and the model prices everything but the shared insert alike in
/// both, so their ratio pins that insert's price with little of the model's other errors in
/// it. (A first version joined n_l.c to dim_l's 200,000 ids: lookups in a random order, a
/// 20-25% spread from run to run, the fit 0 or 52 ns in two calibrations of one evening.)
pub(super) fn parallel_hash_probes() -> Vec<Probe> {
    let build = "SELECT count(*) FROM n_l JOIN n_s ON n_l.id = n_s.id";
    // `parallel_hash_probe_ns`: the same pair over a build of tiny's 1,000 ids, which costs
    // next to nothing either way, probed by every row of n_l (n_l.a, 0..1M: one lookup in
    // 1,000 finds its row): the two plans differ by their lookups, shared or private.
    let lookups = "SELECT count(*) FROM n_l JOIN tiny ON n_l.a = tiny.id";
    [
        ("ph_shared", build, "on", "hash join, one worker, Parallel Hash"),
        ("ph_private", build, "off", "hash join, one worker, private hash tables"),
        ("phl_shared", lookups, "on", "lookups into 1,000 ids, one worker, Parallel Hash"),
        ("phl_private", lookups, "off", "lookups into 1,000 ids, one worker, private hash tables"),
    ]
    .into_iter()
    .map(|(id, sql, on, what)| {
        let gucs = par("1", &[("enable_parallel_hash", on), ("parallel_leader_participation", "on")]);
        probe(id.into(), sql.into(), gucs, How::Explain, Stage::ParallelHash, what)
    })
    .collect()
}
