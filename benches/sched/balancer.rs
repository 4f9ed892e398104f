//! How long Linux leaves an imbalance of one runnable process between CPUs before its load
//! balancer moves one: the profile's `[scheduler] rotate_us`.
//!
//! Starts one CPU-bound child process more than the machine has CPUs (three on two), each
//! in a session of its own (as PostgreSQL's processes are) spinning for `--ms` (default 2000), and samples every child's CPU time
//! (`/proc/PID/schedstat`) every 10 ms. In each 10 ms window the child that ran more than 90%
//! of it had a CPU to itself; the lengths of the stretches during which the same child had
//! one are the balancer's period. Prints them and their median. Run it on a quiet machine:
//!
//! ```text
//! cargo run --release --example balancer -- --runs 5
//! ```
//!
//! Linux only (reads /proc). A 2-vCPU VM with Linux 6.18 gave a median of 133 ms (66
//! stretches over 5 runs): who is alone changes about every 4 of the balancer's busy
//! intervals (16 x 2 ms x CPUs).

use std::time::{Duration, Instant};

fn cpu_ms(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).ok()?;
    s.split_whitespace().next()?.parse::<f64>().ok().map(|ns| ns / 1e6)
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn spin(ms: u64) {
    let end = Instant::now() + Duration::from_millis(ms);
    let mut x = 0u64;
    while Instant::now() < end {
        for _ in 0..1000 {
            x = std::hint::black_box(x.wrapping_add(1));
        }
    }
}

/// One run: the stretches (ms) during which one child kept a CPU to itself, the first and
/// last (cut by the run's ends) left out.
fn run(exe: &std::path::Path, children: usize, ms: u64) -> Vec<f64> {
    // Each child in a session of its own, as every PostgreSQL backend and worker is (it calls
    // setsid at start): with autogroups on, each is then its own scheduling group.
    let kids: Vec<_> = (0..children)
        .map(|_| {
            let mut c = std::process::Command::new("setsid");
            c.arg(exe).args(["--spin", &ms.to_string()]);
            c.spawn()
                .or_else(|_| std::process::Command::new(exe).args(["--spin", &ms.to_string()]).spawn())
                .expect("spawn a child")
        })
        .collect();
    let pids: Vec<u32> = kids.iter().map(|k| k.id()).collect();
    let t0 = Instant::now();
    let mut last: Vec<f64> = pids.iter().map(|&p| cpu_ms(p).unwrap_or(0.0)).collect();
    let mut tl = t0;
    let mut alone: Vec<(f64, Option<usize>)> = vec![];
    while t0.elapsed() < Duration::from_millis(ms.saturating_sub(20)) {
        std::thread::sleep(Duration::from_millis(10));
        let now = Instant::now();
        let dt = (now - tl).as_secs_f64() * 1e3;
        let mut who = None;
        for (i, &p) in pids.iter().enumerate() {
            let c = cpu_ms(p).unwrap_or(last[i]);
            if (c - last[i]) / dt > 0.9 {
                who = Some(i);
            }
            last[i] = c;
        }
        alone.push(((now - t0).as_secs_f64() * 1e3, who));
        tl = now;
    }
    for mut k in kids {
        let _ = k.wait();
    }
    let mut stretches = vec![];
    let (mut cur, mut start, mut end) = (None, 0.0, 0.0);
    for (t, who) in alone {
        let Some(w) = who else { continue };
        if Some(w) != cur {
            if cur.is_some() {
                stretches.push(end - start + 10.0);
            }
            cur = Some(w);
            start = t;
        }
        end = t;
    }
    if !stretches.is_empty() {
        stretches.remove(0);
    }
    stretches
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--spin") {
        spin(args[i + 1].parse().expect("--spin MS"));
        return;
    }
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let ms = arg("--ms", 2000);
    let runs = arg("--runs", 3) as usize;
    let exe = std::env::current_exe().expect("own path");
    let mut all = vec![];
    for r in 0..runs {
        let s = run(&exe, cpus + 1, ms);
        println!(
            "run {}: {} children on {cpus} CPUs, stretches alone (ms): {:?}",
            r + 1,
            cpus + 1,
            s.iter().map(|x| x.round() as i64).collect::<Vec<_>>()
        );
        all.extend(s.into_iter().filter(|&x| x >= 30.0));
    }
    all.sort_by(f64::total_cmp);
    if all.is_empty() {
        println!("no stretch alone was seen: is the machine busy, or does it have one CPU?");
        return;
    }
    println!(
        "median stretch {:.0} ms over {} (rotate_us = {:.0})",
        all[all.len() / 2],
        all.len(),
        all[all.len() / 2] * 1e3
    );
}
