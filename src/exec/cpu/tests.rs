use super::*;

/// Processes with their (vruntime, lag); with `Some(l)`, one query whose leader is `l`
/// (the others its workers), else each process its own query.
#[derive(Default)]
struct Plain(Vec<(f64, f64)>, Option<usize>);

impl Tasks<usize> for Plain {
    fn vruntime(&self, k: usize) -> f64 {
        self.0[k].0
    }
    fn set_vruntime(&mut self, k: usize, v: f64) {
        self.0[k].0 = v
    }
    fn lag(&self, k: usize) -> f64 {
        self.0[k].1
    }
    fn set_lag(&mut self, k: usize, lag: f64) {
        self.0[k].1 = lag
    }
    fn leader_of(&self, k: usize) -> usize {
        self.1.unwrap_or(k)
    }
}

fn hw(cores: &str) -> Hardware {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/hardware/reference-2vcpu.toml");
    crate::config::load_hardware(&path, &[("cores".into(), cores.into())]).expect("profile")
}

/// Run `turns` turns with `all` runnable throughout, each ending at the turn's end the queue
/// set (the machine's ticks at phase 0: every turn is `Scheduler::turn_ns` long), charging
/// each process the CPU time its cap gives it; returns what each had, and checks every core
/// is busy.
fn take_turns(rq: &mut RunQueue<usize>, t: &mut Plain, hw: &Hardware, all: &[usize], turns: usize) -> Vec<f64> {
    let mut caps = vec![0.0; all.len()];
    let mut had = vec![0.0; all.len()];
    let start = if rq.slice_end_at.is_finite() { rq.slice_end_at - rq.turn_len } else { 0.0 };
    rq.apply(start, all, t, hw, &mut caps);
    for _ in 0..turns {
        assert_eq!(caps.iter().sum::<f64>(), hw.cores, "every core busy every turn: {caps:?}");
        let turn = rq.turn_len;
        assert_eq!(turn, hw.scheduler.turn_ns(all.len() as f64 / hw.cores));
        for (i, c) in caps.iter().enumerate() {
            t.0[all[i]].0 += c * turn;
            had[i] += c * turn;
        }
        let now = rq.slice_end_at;
        rq.end_turn(now, t);
        assert!(rq.apply(now, all, t, hw, &mut caps).is_some(), "turns go on");
    }
    had
}

/// The same runnable set again answers from the last `apply`; a queue that recomputes
/// every time (its memory dropped before each call) must agree with it on every cap,
/// turn, line order, home CPU, virtual runtime and lag, over random runs of joins,
/// leaves, repeats and turn ends on 1-4 cores.
#[test]
fn the_same_runnable_set_again_changes_nothing() {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut repeats = 0;
    for (cores, at_tick) in (1..=4usize).flat_map(|c| [(c, false), (c, true)]) {
        let hw = hw(&cores.to_string());
        let (mut a, mut b) =
            (RunQueue::new(cores).pulling_at_tick(at_tick), RunQueue::new(cores).pulling_at_tick(at_tick));
        let (mut ta, mut tb) = (Plain(vec![(0.0, 0.0); 7], Some(0)), Plain(vec![(0.0, 0.0); 7], Some(0)));
        let mut set: Vec<usize> = vec![0, 1, 2];
        let mut now = 0.0;
        for _ in 0..3000 {
            match rng.random_range(0..6) {
                0 => {
                    let k = rng.random_range(0..7);
                    match set.binary_search(&k) {
                        Ok(i) => drop(set.remove(i)),
                        Err(i) => set.insert(i, k),
                    }
                }
                1 => {
                    now = a.event_at.min(now + 5e6);
                    a.end_turn(now, &mut ta);
                    b.end_turn(now, &mut tb);
                }
                2 => now = (now + 0.3e6).min(a.event_at),
                _ => repeats += 1,
            }
            let (mut ca, mut cb) = (vec![0.0; set.len()], vec![0.0; set.len()]);
            b.last_valid = false;
            let (ra, rb) = (a.apply(now, &set, &mut ta, &hw, &mut ca), b.apply(now, &set, &mut tb, &hw, &mut cb));
            assert_eq!((ra, &ca, a.order(), &a.home), (rb, &cb, b.order(), &b.home));
            assert_eq!((a.turn_pending, a.turn_gen, a.imbalanced_ns), (b.turn_pending, b.turn_gen, b.imbalanced_ns));
            assert_eq!((a.slice_end_at, a.event_at), (b.slice_end_at, b.event_at));
            // Time passes: each process on a core runs 1 ms.
            for (i, &k) in set.iter().enumerate() {
                ta.0[k].0 += ca[i] * 1e6;
                tb.0[k].0 += cb[i] * 1e6;
            }
            assert_eq!(ta.0, tb.0);
        }
    }
    assert!(repeats > 1000);
}

/// A leader alone on one CPU, its two workers sharing the other: when the leader blocks,
/// its CPU takes the waiting worker only when the turn ends (the busy CPU's tick), not at
/// once; a process that wakes takes an idle CPU at once. With the pull at once (older
/// model, `idle_pull = "at_once"`) both workers run as soon as the leader blocks.
#[test]
fn a_cpu_gone_idle_takes_a_waiting_process_at_the_turns_end_a_woken_one_at_once() {
    let hw = hw("2");
    for at_tick in [true, false] {
        let mut rq = RunQueue::new(2).pulling_at_tick(at_tick);
        let mut t = Plain(vec![(0.0, 0.0); 3], Some(0));
        let mut caps = [0.0; 3];
        rq.apply(0.0, &[0], &mut t, &hw, &mut caps[..1]);
        assert!(rq.apply(0.0, &[0, 1, 2], &mut t, &hw, &mut caps).is_some(), "three on two CPUs take turns");
        let leaders = rq.cpu_of(0);
        assert!(rq.cpu_of(1) != leaders && rq.cpu_of(2) != leaders, "forked workers leave the leader alone");
        // The leader blocks on its latch.
        let mut two = [0.0; 2];
        rq.apply(0.0, &[1, 2], &mut t, &hw, &mut two);
        if at_tick {
            assert_eq!(two.iter().sum::<f64>(), 1.0, "one worker waits while the leader's CPU idles: {two:?}");
            assert!(rq.turn_pending(), "the turn whose end pulls it is still pending");
            rq.end_turn(rq.slice_end_at, &mut t);
            rq.apply(0.0, &[1, 2], &mut t, &hw, &mut two);
        }
        assert_eq!(two, [1.0, 1.0], "at_tick {at_tick}: each worker on a CPU of its own");
        assert_ne!(rq.cpu_of(1), rq.cpu_of(2));
    }
    // A woken process is placed on the idle CPU at once: worker 2 blocks, then the leader;
    // worker 2 wakes while the leader's CPU is idle.
    let mut rq = RunQueue::new(2).pulling_at_tick(true);
    let mut t = Plain(vec![(0.0, 0.0); 3], Some(0));
    let mut caps = [0.0; 3];
    rq.apply(0.0, &[0], &mut t, &hw, &mut caps[..1]);
    rq.apply(0.0, &[0, 1, 2], &mut t, &hw, &mut caps);
    rq.apply(0.0, &[0, 1], &mut t, &hw, &mut caps[..2]);
    rq.apply(0.0, &[1], &mut t, &hw, &mut caps[..1]);
    let mut two = [0.0; 2];
    rq.apply(0.0, &[1, 2], &mut t, &hw, &mut two);
    assert_eq!(two, [1.0, 1.0], "a woken worker takes the idle CPU at once");
}

/// Two CPUs, a leader (0) and two workers, worker 2 moved onto the leader's CPU (returned);
/// `busy_before` run, then 100 ms on every process has had 50 ms, the workers have blocked and
/// the leader runs on alone.
fn worker_homed_on_leaders_cpu(hw: &Hardware, busy_before: &[usize]) -> (RunQueue<usize>, Plain, usize) {
    let mut rq = RunQueue::new(2).pulling_at_tick(true);
    let mut t = Plain(vec![(0.0, 0.0); 3], Some(0));
    let mut caps = [0.0; 3];
    rq.apply(0.0, &[0, 1, 2], &mut t, hw, &mut caps);
    let leaders = rq.cpu_of(0).unwrap();
    rq.set_home(2, leaders);
    let mut some = vec![0.0; busy_before.len()];
    rq.apply(0.0, busy_before, &mut t, hw, &mut some);
    t.0.iter_mut().for_each(|x| x.0 = 50e6);
    rq.apply(100e6, &[0], &mut t, hw, &mut caps[..1]);
    (rq, t, leaders)
}

/// Wake-ups as Linux 6.18 places them and preempts: a worker woken on its leader's CPU (where
/// a balancer's move left it) stays there when the CPUs have recently been busy (SIS_UTIL
/// scans no CPU above 60% on two), though the other CPU idles, and while it is owed CPU time
/// (the leader past the line's average once it is back: no longer eligible) it takes the
/// CPU from the leader at once; not owed, it waits for the turn. After a quiet stretch it
/// takes the idle CPU instead.
#[test]
fn a_woken_worker_on_busy_cpus_stays_on_its_leaders_and_preempts_it_while_owed() {
    let hw = hw("2");
    let woken = |busy_before: &[usize], lag: f64| {
        let (mut rq, mut t, leaders) = worker_homed_on_leaders_cpu(&hw, busy_before);
        t.0[2].1 = lag;
        let mut two = [0.0; 2];
        rq.apply(100.1e6, &[0, 2], &mut t, &hw, &mut two);
        (two, rq.cpu_of(2) == Some(leaders), rq.util())
    };
    let (caps, shared, util) = woken(&[0, 1, 2], 0.5e6);
    assert!(util > 0.85, "both CPUs busy for 100 ms: {util}");
    assert!(shared, "it stays on the leader's CPU");
    assert_eq!(caps, [0.0, 1.0], "owed 0.5 ms, it preempts the leader");
    let (caps, shared, _) = woken(&[0, 1, 2], 0.0);
    assert!(shared);
    assert_eq!(caps, [1.0, 0.0], "owed nothing, it waits behind the leader");
    let (caps, shared, util) = woken(&[0], 0.5e6);
    assert!(util < 0.6, "one CPU busy for 100 ms: {util}");
    assert!(!shared, "after a quiet stretch it takes the idle CPU");
    assert_eq!(caps, [1.0, 1.0]);
}

/// A worker that blocks while owed CPU time comes back owed as much (EEVDF's `place_entity`
/// inflates its lag by (n + 1) / n before placing it), so a worker sharing its leader's CPU
/// preempts the leader at each of its wake-ups until its lag is spent: each round it runs
/// 0.15 ms to fill its queue while the leader, preempted, does not run, and leaves owed 0.075
/// ms less (half the time it ran, the leader counted in the average). Owed 1 ms, that is 14
/// rounds (Linux shows 10-20 between two of the leader's slice ends, `perf sched timehist`,
/// docs/cpu-costs.md); placed at the bare lag it came back owed half of it, and preempted 3.
#[test]
fn a_worker_that_blocks_while_owed_preempts_its_leader_until_its_lag_is_spent() {
    let hw = hw("2");
    let (mut rq, mut t, leaders) = worker_homed_on_leaders_cpu(&hw, &[0, 1, 2]);
    let mut caps = [0.0; 3];
    let mut now = 100e6;
    t.0[2].1 = 1e6;
    let (run, read) = (0.15e6, 0.07e6);
    let mut preempted = 0;
    for _ in 0..40 {
        let mut two = [0.0; 2];
        rq.apply(now, &[0, 2], &mut t, &hw, &mut two);
        assert_eq!(rq.cpu_of(2), Some(leaders), "it stays on the leader's CPU");
        if two != [0.0, 1.0] {
            break;
        }
        preempted += 1;
        // The worker runs until its queue is full, and blocks; the leader reads a quarter.
        t.0[2].0 += run;
        now += run;
        rq.apply(now, &[0], &mut t, &hw, &mut caps[..1]);
        t.0[0].0 += read;
        now += read;
    }
    assert_eq!(preempted, 14, "owed 1 ms, spending 0.075 ms a round");
}

/// A turn ends at the first of the machine's ticks after its slice: the ticks are the
/// machine's clock (a phase of their own), not the query's, so the same events give a first
/// turn of 2.5 ms with ticks at 3, 7, 11 ms and 4.5 ms with ticks at 1, 5, 9 ms. A CPU gone
/// idle beside a waiting process takes it at the next tick even when that tick does not end
/// the turn (the busy CPU's tick kicks the idle balancer), and the turn goes on.
#[test]
fn turns_end_at_the_machines_ticks_and_an_idle_cpu_pulls_at_the_next_one() {
    let hw = hw("2");
    let s = &hw.scheduler;
    assert_eq!((s.tick_ns, s.slice_ns(1.5)), (4e6, 1.4e6), "the reference profile's tick and slice");
    let start = |phase: f64| {
        let mut rq = RunQueue::new(2).pulling_at_tick(true).ticking_at(phase);
        let mut t = Plain(vec![(0.0, 0.0); 3], Some(0));
        let mut caps = [0.0; 3];
        rq.apply(0.0, &[0], &mut t, &hw, &mut caps[..1]);
        // The workers start at 0.5 ms: three runnable on two CPUs.
        let turn = rq.apply(0.5e6, &[0, 1, 2], &mut t, &hw, &mut caps).expect("turns begin");
        (rq, t, turn)
    };
    assert_eq!(start(3e6).2, 2.5e6, "ticks at 3, 7 ms: the slice (to 1.9 ms) is seen at 3 ms");
    let (mut rq, mut t, turn) = start(1e6);
    assert_eq!(turn, 4.5e6, "ticks at 1, 5 ms: at 1 ms the slice is not used up; seen at 5 ms");
    // At 0.8 ms the leader blocks: its CPU idles while a worker waits on the other, until the
    // tick at 1 ms, well before the turn's end at 5 ms.
    let mut two = [0.0; 2];
    let tick = rq.apply(0.8e6, &[1, 2], &mut t, &hw, &mut two);
    assert_eq!(two.iter().sum::<f64>(), 1.0, "one worker waits: {two:?}");
    assert_eq!(tick, Some(0.2e6), "an event at the next tick");
    let running = if two[0] == 1.0 { 1 } else { 2 };
    rq.turn_ended(1e6, rq.turn_gen(), &mut t);
    assert_eq!(rq.apply(1e6, &[1, 2], &mut t, &hw, &mut two), None, "nobody waits: no turn to end");
    assert_eq!(two, [1.0, 1.0], "each worker on a CPU of its own");
    assert_ne!(rq.cpu_of(1), rq.cpu_of(2));
    assert_eq!(rq.cpu_of(running), Some(1), "the one that ran keeps its CPU: the turn went on");
}

#[test]
fn turns_rotate_through_each_cpus_line_and_are_fair_on_each_cpu() {
    let hw = hw("2");
    let mut rq = RunQueue::new(2);
    let mut t = Plain(vec![(0.0, 0.0); 5], None);
    let all = [0, 1, 2, 3, 4];
    let mut caps = [0.0; 5];
    let turn = rq.apply(0.0, &all, &mut t, &hw, &mut caps).expect("a turn to schedule");
    assert_eq!(turn, hw.scheduler.turn_ns(2.5));
    assert_eq!(caps, [1.0, 1.0, 0.0, 0.0, 0.0]);
    // Five processes of five queries: spread three and two over the CPUs (an imbalance
    // of one, which no balancer corrects).
    let on = |rq: &RunQueue<usize>, c| all.iter().filter(|&&k| rq.cpu_of(k) == Some(c)).count();
    let mut counts = [on(&rq, 0), on(&rq, 1)];
    counts.sort();
    assert_eq!(counts, [2, 3]);
    // Six turns (the two lines' common rotation): each process had its CPU's share, the
    // same as the others of its CPU.
    let had = take_turns(&mut rq, &mut t, &hw, &all, 6);
    for k in all {
        let share = 6.0 * turn / on(&rq, rq.cpu_of(k).expect("placed")) as f64;
        assert_eq!(had[k], share, "process {k}: {had:?}");
    }
}

#[test]
fn a_leader_keeps_its_cpu_while_its_workers_share_the_other() {
    let hw = hw("2");
    let mut rq = RunQueue::new(2);
    // A leader and two workers forked at once (a Gather's start): the leader takes a
    // CPU, the first worker the idle one, the second joins it rather than the leader.
    let mut t = Plain(vec![(0.0, 0.0); 3], Some(0));
    let had = take_turns(&mut rq, &mut t, &hw, &[0, 1, 2], 6);
    let turn = hw.scheduler.turn_ns(1.5);
    assert_eq!(had, vec![6.0 * turn, 3.0 * turn, 3.0 * turn], "a whole core for the leader");
    // The same when the leader ran first and the workers come later.
    let mut rq = RunQueue::new(2);
    let mut t = Plain(vec![(0.0, 0.0); 3], Some(0));
    rq.apply(0.0, &[0], &mut t, &hw, &mut [0.0]);
    t.0[0].0 = 5e6;
    let had = take_turns(&mut rq, &mut t, &hw, &[0, 1, 2], 6);
    assert_eq!(had, vec![6.0 * turn, 3.0 * turn, 3.0 * turn], "a whole core for the leader");
}

#[test]
fn a_lasting_imbalance_is_balanced_after_the_balance_interval() {
    let hw = hw("2");
    let mut rq = RunQueue::new(2);
    // A leader and three workers on two CPUs: 1 + 3 at first (fork placement), then the
    // periodic balancer moves a worker to the leader's CPU: 2 + 2.
    let mut t = Plain(vec![(0.0, 0.0); 4], Some(0));
    let all = [0, 1, 2, 3];
    let turn = hw.scheduler.turn_ns(2.0);
    let before = (balance_after_ns(2) / turn).ceil() as usize;
    let had = take_turns(&mut rq, &mut t, &hw, &all, before - 1);
    assert_eq!(had[0], (before - 1) as f64 * turn, "the leader alone on its CPU until the balance");
    let leader_cpu = rq.cpu_of(0);
    let mates = |rq: &RunQueue<usize>| all.iter().filter(|&&k| rq.cpu_of(k) == leader_cpu).count();
    assert_eq!(mates(&rq), 1);
    let had = take_turns(&mut rq, &mut t, &hw, &all, 1);
    assert_eq!(mates(&rq), 2, "a worker moved to the leader's CPU");
    assert_eq!(had[0], turn);
    // From then on the leader shares its CPU: the moved worker, which had less CPU time
    // on the crowded CPU, runs until it has caught up, then they alternate. Each CPU's
    // line is fair: its two processes end within a turn of each other in CPU time.
    let had = take_turns(&mut rq, &mut t, &hw, &all, 16);
    assert!(had[0] < 12.0 * turn, "the leader shares its CPU: {had:?}");
    for c in 0..2 {
        let v: Vec<f64> = all.iter().filter(|&&k| rq.cpu_of(k) == Some(c)).map(|&k| t.0[k].0).collect();
        assert_eq!(v.len(), 2, "two on CPU {c}");
        assert!((v[0] - v[1]).abs() <= turn, "CPU {c}: CPU time had {v:?}");
    }
}

#[test]
fn an_imbalance_of_one_is_evened_out_over_time_by_moving_who_waits() {
    let hw = hw("2");
    let rotate = hw.scheduler.rotate_ns;
    assert!(rotate > 50e6 && rotate < 500e6, "{rotate}");
    let turn = hw.scheduler.turn_ns(1.5);
    let before = (rotate / turn).floor() as usize - 1;
    let run = |rotating: bool| {
        let mut rq = RunQueue::new(2);
        if rotating {
            rq = rq.rotating_after(rotate);
        }
        let mut t = Plain(vec![(0.0, 0.0); 3], Some(0));
        let first = take_turns(&mut rq, &mut t, &hw, &[0, 1, 2], before);
        // A second in all: eight rotations.
        let rest = take_turns(&mut rq, &mut t, &hw, &[0, 1, 2], (8.0 * rotate / turn) as usize);
        (first, rest)
    };
    // Until the first rotation the leader is alone on its CPU, rotating or not.
    let (first, rest) = run(true);
    assert_eq!(first[0], before as f64 * turn, "{first:?}");
    // Then who is alone changes: over the rest each process had close to two thirds of
    // a core, none a whole one.
    let span: f64 = rest.iter().sum::<f64>() / 2.0;
    for (k, had) in rest.iter().enumerate() {
        let share = had / span;
        assert!((0.55..0.8).contains(&share), "process {k}: {share} of a core ({rest:?})");
    }
    // Without it the leader keeps its core for good.
    let (_, still) = run(false);
    assert_eq!(still[0], still.iter().sum::<f64>() / 2.0, "{still:?}");
}

#[test]
fn a_sleeper_rejoins_ahead_of_those_that_had_more_cpu() {
    let hw = hw("1");
    let mut rq = RunQueue::new(1);
    let mut t = Plain(vec![(0.0, 0.0); 3], None);
    let mut caps = [0.0; 3];
    rq.apply(0.0, &[0, 1, 2], &mut t, &hw, &mut caps);
    // Then 0 ran 5 ms, 1 only 0.2 ms before it blocked, 2 ran 2 ms.
    t.0 = vec![(5e6, 0.0), (0.2e6, 0.0), (2e6, 0.0)];
    // 1 blocks: it leaves owed what it had less than the average, clamped.
    let mut caps2 = [0.0; 2];
    rq.apply(0.0, &[0, 2], &mut t, &hw, &mut caps2);
    let lag = t.lag(1);
    assert!(lag > 0.0 && lag <= hw.scheduler.max_lag_ns(), "lag {lag}");
    // It wakes: placed at the average minus its lag, ahead of 0 and 2 when the turn ends
    // (a first-come line would run 2, then 0, then 1).
    rq.apply(0.0, &[0, 1, 2], &mut t, &hw, &mut caps);
    rq.end_turn(rq.slice_end_at, &mut t);
    rq.apply(0.0, &[0, 1, 2], &mut t, &hw, &mut caps);
    assert_eq!(caps, [0.0, 1.0, 0.0], "line {:?}", rq.order());
}

#[test]
fn no_more_runnable_than_cores_is_exact_sharing() {
    let hw = hw("4");
    let mut rq = RunQueue::new(4);
    let mut t = Plain(vec![(0.0, 0.0); 4], None);
    let mut caps = [0.0; 4];
    assert_eq!(rq.apply(0.0, &[0, 1, 2, 3], &mut t, &hw, &mut caps), None);
    assert_eq!(caps, [1.0; 4]);
    assert!(!rq.turn_pending());
}
