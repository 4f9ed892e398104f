//! Fast-forward's work per replication: for `reps` replications (seeds 1, 2, ...) of a
//! scenario at `launched` workers on the laptop profile, in-process as `peer-params` runs them,
//! each one's simulated wall time, events (steps and delivered events), steps jumped over, and
//! host microseconds; `off` as a fourth argument turns fast-forward off. `FF_SEED0=s` in the
//! environment starts at seed `s` instead of 1 (one replication's profile: `FF_SEED0=6 ... 4 1`).
//!
//! cargo run --release --example ff-steps -- configs/scenarios/gather-heavy.toml 4 60
use pqsim::exec::{compile_for, simulate_compiled, RunSpec};
use std::path::Path;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let hw = pqsim::config::load_hardware(&root.join("configs/hardware/laptop.toml"), &[]).expect("laptop");
    let launched: u32 = args[2].parse().unwrap();
    let reps: u64 = args[3].parse().unwrap();
    let off = args.get(4).is_some_and(|a| a == "off");
    let sc = pqsim::config::load_scenario(Path::new(&args[1]), &[], &[]).unwrap().with_hardware_settings(&hw);
    let d = pqsim::planner::decide(&sc);
    let spec = |seed| {
        let mut s = RunSpec::new(&sc, &hw, &d.plan, d.workers_planned, launched, seed);
        s.fast_forward = !off;
        s
    };
    let compiled = compile_for(&spec(1));
    let s0: u64 = std::env::var("FF_SEED0").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let mut tot = 0.0;
    for r in 0..reps {
        let t0 = Instant::now();
        let res = simulate_compiled(&spec(r + s0), &compiled).unwrap();
        let dt = t0.elapsed().as_secs_f64();
        tot += dt;
        println!(
            "seed {:3} wall_ms {:10.4} events {:7} ffsteps {:8} us {:8.1}",
            r + s0,
            res.wall as f64 / 1e6,
            res.events,
            res.fast_forward_steps,
            dt * 1e6
        );
    }
    println!("mean_us {:.1}", tot / reps as f64 * 1e6);
}
