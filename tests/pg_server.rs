//! Integration tests against a real PostgreSQL 15 (a throwaway server per test).
//!
//! Skipped, with a message, when the server binaries are not installed
//! (`scripts/pg-throwaway.sh install` installs them). Set `PQSIM_REQUIRE_PG=1` to make
//! a missing PostgreSQL a failure instead (CI).

mod common;

use pqsim::pg::{probe, PgError, ThrowawayServer};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Rows in the test table; the reference's table has 3,000,000 (28,038 pages).
const ROWS: u32 = 3_000_000;

/// Alive and not a zombie (orphans are reaped by PID 1 only now and then here).
fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
            !matches!(state, Some(Some('Z')) | Some(None) | None)
        }
        Err(_) => false,
    }
}

fn postmaster_pid(dir: &Path) -> u32 {
    let pidfile = std::fs::read_to_string(dir.join("data/postmaster.pid")).unwrap();
    pidfile.lines().next().unwrap().trim().parse().unwrap()
}

fn assert_gone(dir: &Path, pid: u32) {
    assert!(!dir.exists(), "{} still exists", dir.display());
    assert!(!pid_alive(pid), "postmaster {pid} still running");
}

#[test]
fn parallel_count_plan_on_reference_table() {
    if !common::pg_or_skip("parallel_count_plan_on_reference_table") {
        return;
    }
    let t0 = Instant::now();
    let server = ThrowawayServer::start().expect("start throwaway server");
    let started = t0.elapsed();
    let (dir, pid) = (server.dir().to_path_buf(), postmaster_pid(server.dir()));
    eprintln!("server up in {:.2} s: {}", started.as_secs_f64(), server.conninfo());

    let mut client = server.client().expect("connect");
    let t1 = Instant::now();
    client
        .batch_execute(&format!(
            "CREATE TABLE t (id int4, val int4, pad text);
             INSERT INTO t SELECT g, (hashint4(g)::int8 & 2147483647) % 1000000, md5(g::text)
               FROM generate_series(1, {ROWS}) g;"
        ))
        .expect("load t");
    client.batch_execute("VACUUM ANALYZE t").expect("vacuum");
    let pages: i64 = client.query_one("SELECT pg_relation_size('t') / 8192", &[]).unwrap().get(0);
    eprintln!("loaded {ROWS} rows ({pages} pages) in {:.1} s", t1.elapsed().as_secs_f64());

    probe::set_gucs(&mut client, &[("max_parallel_workers_per_gather", "2")]).unwrap();
    assert_eq!(probe::show(&mut client, "max_parallel_workers_per_gather").unwrap(), "2");
    assert_eq!(probe::show(&mut client, "jit").unwrap(), "off");

    let sql = "SELECT count(*) FROM t";
    let plan = probe::explain_with(&mut client, "ANALYZE", sql).expect("explain analyze");
    let names: Vec<String> = plan.nodes().map(|n| n.display_name()).collect();
    eprintln!("plan {names:?}, execution {:?} ms", plan.execution_time_ms);
    let gather = plan.root.find(|n| n.node_type == "Gather").expect("a Gather node");
    assert_eq!(gather.workers_planned, Some(2));
    let launched = gather.workers_launched.expect("Workers Launched with ANALYZE");
    assert!(launched <= 2);
    let scan =
        gather.find(|n| n.node_type == "Seq Scan" && n.parallel_aware).expect("a Parallel Seq Scan below the Gather");
    assert_eq!(scan.relation_name.as_deref(), Some("t"));
    assert_eq!(scan.actual_loops, Some(u64::from(launched) + 1));
    let rows = scan.actual_rows_total().unwrap();
    assert!((rows - f64::from(ROWS)).abs() <= 3.0, "scan rows {rows} (per-loop average x loops, rounded)");
    assert!(plan.execution_time_ms.unwrap() > 0.0);

    // The other probes against the same server.
    let plain = probe::explain(&mut client, sql).unwrap();
    assert!(plain.execution_time_ms.is_none());
    let buffers = probe::explain_analyze(&mut client, sql).unwrap();
    let scan = buffers.root.find(|n| n.parallel_aware).unwrap();
    assert_eq!(scan.shared_hit_blocks.unwrap() + scan.shared_read_blocks.unwrap(), pages as u64);
    let times = probe::timed(&mut client, sql, 3).unwrap();
    assert_eq!(times.len(), 3);
    assert!(times.iter().all(|&t| t > 0.0));
    eprintln!("client-side times {times:?} ms");
    assert!(matches!(probe::set_gucs(&mut client, &[("work_mem; DROP TABLE t", "1")]), Err(PgError::Invalid(_))));
    let err = probe::explain(&mut client, "SELECT * FROM no_such_table").unwrap_err();
    assert!(matches!(err, PgError::Query { .. }));
    // What the server said, not the client library's bare "db error".
    let msg = err.to_string();
    assert!(msg.contains("ERROR 42P01") && msg.contains("relation \"no_such_table\" does not exist"), "{msg}");
    eprintln!("{:?}", probe::load_snapshot().unwrap());

    drop(client);
    let t2 = Instant::now();
    server.stop().expect("stop");
    eprintln!("server stopped in {:.2} s", t2.elapsed().as_secs_f64());
    assert_gone(&dir, pid);
}

#[test]
fn server_is_stopped_and_removed_when_a_test_panics() {
    if !common::pg_or_skip("server_is_stopped_and_removed_when_a_test_panics") {
        return;
    }
    eprintln!("(the panic printed by this test is deliberate)");
    let mut seen: Option<(PathBuf, u32)> = None;
    let result = catch_unwind(AssertUnwindSafe(|| {
        let server = ThrowawayServer::start().expect("start");
        seen = Some((server.dir().to_path_buf(), postmaster_pid(server.dir())));
        let mut client = server.client().unwrap();
        let one: i32 = client.query_one("SELECT 1", &[]).unwrap().get(0);
        assert_eq!(one, 2, "deliberate failure while the server runs");
    }));
    assert!(result.is_err(), "the closure was meant to panic");
    let (dir, pid) = seen.expect("server had started");
    assert_gone(&dir, pid);
}

#[test]
fn two_servers_side_by_side() {
    if !common::pg_or_skip("two_servers_side_by_side") {
        return;
    }
    let a = ThrowawayServer::start().unwrap();
    let b = ThrowawayServer::start().unwrap();
    assert_ne!(a.conninfo(), b.conninfo());
    let mut ca = a.client().unwrap();
    let mut cb = b.client().unwrap();
    ca.batch_execute("CREATE TABLE only_in_a (x int)").unwrap();
    let n: i64 = cb.query_one("SELECT count(*) FROM pg_class WHERE relname = 'only_in_a'", &[]).unwrap().get(0);
    assert_eq!(n, 0);
    let pids = [postmaster_pid(a.dir()), postmaster_pid(b.dir())];
    let dirs = [a.dir().to_path_buf(), b.dir().to_path_buf()];
    drop((ca, cb));
    drop(a);
    drop(b);
    for (d, p) in dirs.iter().zip(pids) {
        assert_gone(d, p);
    }
}

/// Run in a child process by `killed_test_leaves_no_server_and_no_tcp`: starts a server,
/// prints where it is, and waits to be killed.
#[test]
#[ignore = "helper: run in a child process by killed_test_leaves_no_server_and_no_tcp"]
fn helper_start_server_and_wait_to_be_killed() {
    use std::io::Write as _;
    let server = ThrowawayServer::start().expect("start");
    println!("PQSIM_DIR={}", server.dir().display());
    println!("PQSIM_CONNINFO={}", server.conninfo());
    std::io::stdout().flush().unwrap();
    std::thread::sleep(std::time::Duration::from_secs(120));
}

#[test]
fn killed_test_leaves_no_server_and_no_tcp() {
    use std::io::BufRead as _;
    use std::os::unix::fs::PermissionsExt as _;
    if !common::pg_or_skip("killed_test_leaves_no_server_and_no_tcp") {
        return;
    }
    // The embedded script must not need the source tree: run the child from elsewhere.
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "helper_start_server_and_wait_to_be_killed", "--nocapture", "--test-threads=1"])
        .current_dir("/")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut dir, mut conninfo) = (None, None);
    while dir.is_none() || conninfo.is_none() {
        let line = lines.next().expect("the child printed where its server is").unwrap();
        // libtest prints "test NAME ... " before the first line, without a newline.
        if let Some(i) = line.find("PQSIM_DIR=") {
            dir = Some(PathBuf::from(&line[i + "PQSIM_DIR=".len()..]));
        } else if let Some(i) = line.find("PQSIM_CONNINFO=") {
            conninfo = Some(line[i + "PQSIM_CONNINFO=".len()..].to_string());
        }
    }
    let (dir, conninfo) = (dir.unwrap(), conninfo.unwrap());
    let pid = postmaster_pid(&dir);
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "the server directory (and its unix socket) must be private");
    let mut client = postgres::Client::connect(&conninfo, postgres::NoTls).unwrap();
    let listen: String = client.query_one("SHOW listen_addresses", &[]).unwrap().get(0);
    assert_eq!(listen, "", "a throwaway server listens on no TCP address");
    let sockdir: String = client.query_one("SHOW unix_socket_directories", &[]).unwrap().get(0);
    assert_eq!(Path::new(&sockdir), dir);
    drop(client);
    child.kill().unwrap(); // SIGKILL: no unwinding, no Drop
    child.wait().unwrap();
    let t = Instant::now();
    while (dir.exists() || pid_alive(pid)) && t.elapsed().as_secs() < 30 {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    eprintln!("killed child's server removed after {:.1} s", t.elapsed().as_secs_f64());
    assert_gone(&dir, pid);
}

#[test]
fn buffer_order_is_read_from_pg_buffercache_as_the_blocks_went_in() {
    // A table read into shared buffers in block order lies in order; one whose blocks were
    // put there in a hashed order (`scatter_into_buffers`, what calibration does to its
    // shuffled probe table) does not; unknown without pg_buffercache.
    if !common::pg_or_skip("buffer_order_is_read_from_pg_buffercache_as_the_blocks_went_in") {
        return;
    }
    use pqsim::pg::buffers::{buffer_state, ensure_extension, scatter_into_buffers};
    let server = ThrowawayServer::start().expect("start throwaway server");
    let mut client = server.client().expect("connect");
    client
        .batch_execute(
            // Commits flushed, so that VACUUM can set the visibility map.
            "SET synchronous_commit = on;
             CREATE TABLE o (id int4, pad text) WITH (autovacuum_enabled = off);
             INSERT INTO o SELECT g, md5(g::text) FROM generate_series(1, 100000) g;
             CREATE TABLE s (id int4, pad text) WITH (autovacuum_enabled = off);
             INSERT INTO s SELECT g, md5(g::text) FROM generate_series(1, 100000) g;",
        )
        .expect("load");
    assert_eq!(buffer_state(&mut client, "o").expect("query"), None, "no pg_buffercache yet");
    let bc = ensure_extension(&mut client, "pg_buffercache", "public", "test").expect("query");
    let pw = ensure_extension(&mut client, "pg_prewarm", "public", "test").expect("query");
    assert_eq!((bc.as_deref(), pw.as_deref()), (Some("public"), Some("public")));
    scatter_into_buffers(&mut client, "public.s", "public").expect("scatter");
    let o = buffer_state(&mut client, "o").expect("query").expect("pg_buffercache");
    let s = buffer_state(&mut client, "s").expect("query").expect("pg_buffercache");
    // Loaded by INSERT: every block went into the next free buffer.
    assert!(o.share > 0.99 && o.in_order.unwrap() > 0.95, "{o:?}");
    // All of it back in shared buffers, scattered.
    assert!(s.share > 0.99 && s.in_order.unwrap() < 0.05, "{s:?}");
    // Scattered, not merely reversed: VACUUM FULL drops the old file's buffers onto the
    // free list, which hands them out last-freed first, so blocks read in block order would
    // lie in descending buffers.
    let adjacent: f64 = client
        .query_one(
            "SELECT avg((abs(nbuf - bufferid) = 1)::int)::float8 FROM (
               SELECT bufferid, lead(bufferid) OVER (ORDER BY relblocknumber) AS nbuf FROM pg_buffercache
                WHERE relfilenode = pg_relation_filenode('s') AND relforknumber = 0) b WHERE nbuf IS NOT NULL",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(adjacent < 0.05, "{adjacent} of the blocks lie next to the one before");
    let all_visible: f64 = client
        .query_one("SELECT relallvisible::float8 / relpages FROM pg_class WHERE relname = 's'", &[])
        .unwrap()
        .get(0);
    assert!(all_visible > 0.99, "VACUUM after the scatter sets the visibility map: {all_visible}");
}

#[test]
fn buffer_windows_are_read_from_pg_buffercache_as_the_blocks_went_in() {
    // Two tables whose blocks went into shared buffers turn about (a0 b0 a1 b1 ...) lie four
    // to a 64 kB window each; a table loaded by INSERT, eight. What a worker's faults map
    // (`exec::scan::table_fault_maps`) follows.
    if !common::pg_or_skip("buffer_windows_are_read_from_pg_buffercache_as_the_blocks_went_in") {
        return;
    }
    use pqsim::pg::buffers::{buffer_state, ensure_extension};
    let server = ThrowawayServer::start().expect("start throwaway server");
    let mut client = server.client().expect("connect");
    client
        .batch_execute(
            "CREATE TABLE o (id int4, pad text) WITH (autovacuum_enabled = off);
             INSERT INTO o SELECT g, md5(g::text) FROM generate_series(1, 100000) g;
             CREATE TABLE a (id int4, pad text) WITH (autovacuum_enabled = off);
             INSERT INTO a SELECT g, md5(g::text) FROM generate_series(1, 50000) g;
             CREATE TABLE b (LIKE a) WITH (autovacuum_enabled = off);
             INSERT INTO b SELECT * FROM a;",
        )
        .expect("load");
    ensure_extension(&mut client, "pg_buffercache", "public", "test").expect("query").expect("pg_buffercache");
    ensure_extension(&mut client, "pg_prewarm", "public", "test").expect("query").expect("pg_prewarm");
    // VACUUM FULL writes each anew outside shared buffers; then block by block, turn about.
    client.batch_execute("VACUUM FULL a").unwrap();
    client.batch_execute("VACUUM FULL b").unwrap();
    let blocks: i64 = client.query_one("SELECT pg_relation_size('a') / 8192", &[]).unwrap().get(0);
    client
        .batch_execute(&format!(
            "SELECT count(pg_prewarm(CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END::regclass, 'buffer', 'main', i / 2, i / 2))
               FROM generate_series(0, {}) i",
            2 * blocks - 1
        ))
        .unwrap();
    let blocks = blocks as f64;
    let o = buffer_state(&mut client, "o").expect("query").expect("pg_buffercache");
    let o_blocks: f64 = client.query_one("SELECT (pg_relation_size('o') / 8192)::float8", &[]).unwrap().get(0);
    let ow = o.windows.expect("o is resident");
    // Chunks of one block under 4,096 blocks: a window of o holds 8 of them (the first and
    // last window may hold fewer: shared memory's windows need not start at o's first block).
    assert!(o_blocks < 4096.0);
    let o_windows: f64 = ow.iter().sum();
    assert!((o_windows - (o_blocks / 8.0).ceil()).abs() <= 1.0, "{o_windows} windows for {o_blocks} blocks: {ow:?}");
    assert!(ow[7] >= o_windows - 2.0, "{ow:?}");
    for t in ["a", "b"] {
        let w = buffer_state(&mut client, t).expect("query").expect("pg_buffercache").windows.expect("resident");
        let n: f64 = w.iter().sum();
        assert!((n - blocks / 4.0).abs() <= 2.0, "{t}: {n} windows for {blocks} blocks: {w:?}");
        assert!(w[3] >= 0.95 * n, "{t}: {w:?}");
        // A worker alone maps two blocks for each it reads.
        let table = pqsim::model::Table {
            name: t.into(),
            rows: 50_000.0,
            pages: blocks,
            buffer_windows: Some(w),
            ..Default::default()
        };
        let maps = pqsim::exec::scan::table_fault_maps(&table, 1.0);
        assert!((maps - 2.0).abs() < 0.05, "{t}: {maps}");
    }
}

#[test]
fn the_planner_says_how_many_rows_reach_each_clause_and_import_writes_it() {
    if !common::pg_or_skip("the_planner_says_how_many_rows_reach_each_clause_and_import_writes_it") {
        return;
    }
    let server = ThrowawayServer::start().expect("start throwaway server");
    let mut client = server.client().expect("connect");
    // Ship dates spread evenly over 1992-1998, as TPC-H's: about 70% on or after 1994-01-01,
    // 14% in 1994.
    client
        .batch_execute(
            "CREATE TABLE li (k int8, q numeric(15,2), d date);
             INSERT INTO li SELECT g, g % 50, date '1992-01-01' + (g % 2520)
               FROM generate_series(1, 100000) g;",
        )
        .expect("load li");
    client.batch_execute("VACUUM ANALYZE li").expect("vacuum");
    let sql =
        "SELECT sum(q) FROM li WHERE d >= date '1994-01-01' AND d < date '1994-01-01' + interval '1' year AND q < 24";
    let plan = probe::explain_with(&mut client, "VERBOSE", sql).expect("explain");
    let reach = pqsim::pg::clauses::clause_reach(&mut client, &plan);
    let mut true_share = |w: &str| -> f64 {
        let n: i64 = client.query_one(&format!("SELECT count(*) FROM li WHERE {w}"), &[]).unwrap().get(0);
        n as f64 / 100_000.0
    };
    let (after, in_1994) =
        (true_share("d >= date '1994-01-01'"), true_share("d >= date '1994-01-01' AND d < date '1995-01-01'"));
    assert_eq!(reach.len(), 1, "{reach:?}");
    let r = reach.values().next().unwrap();
    assert_eq!(r.len(), 3, "{r:?}");
    assert_eq!(r[0], 1.0);
    assert!((r[1] - after).abs() < 0.05, "second clause reached by {} of the rows, really {after}", r[1]);
    assert!((r[2] - in_1994).abs() < 0.05, "third clause reached by {} of the rows, really {in_1994}", r[2]);
    // `pqsim import --dsn` asks the same and writes it into the scenario.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("clause_reach");
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("plan.json");
    let text: String = client
        .simple_query(&format!("EXPLAIN (VERBOSE, FORMAT JSON) {sql}"))
        .unwrap()
        .into_iter()
        .filter_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
        .collect();
    std::fs::write(&json, text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pqsim"))
        .args(["import", json.to_str().unwrap(), "--dsn", server.conninfo()])
        .output()
        .unwrap();
    let toml = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = toml.lines().find(|l| l.starts_with("clause_reach")).unwrap_or_else(|| panic!("{toml}"));
    assert!(line.starts_with("clause_reach = [1, 0."), "{line}");
    // And each column's pg_stats correlation and n_distinct: k was inserted in order, one
    // value a row; q cycles through 0-49.
    let stat = |name: &str, key: &str| -> f64 {
        let l = toml.lines().find(|l| l.contains(&format!("name = \"{name}\""))).unwrap_or_else(|| panic!("{toml}"));
        let v = l.split(&format!("{key} = ")).nth(1).unwrap_or_else(|| panic!("no {key}: {l}"));
        v.split([' ', ',', '}']).next().unwrap().parse().unwrap()
    };
    assert!(stat("k", "correlation") > 0.99, "{toml}");
    assert!(stat("q", "correlation").abs() < 0.2, "{toml}");
    assert_eq!(stat("k", "n_distinct"), -1.0, "{toml}");
    assert_eq!(stat("q", "n_distinct"), 50.0, "{toml}");
    server.stop().unwrap();
}
