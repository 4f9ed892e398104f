//! Fair sharing of resources among concurrent activities ("flows").
//!
//! A flow needs `cpu` units of work on a multi-core resource (at most one core per flow) and
//! `io` units on a shared bandwidth resource, in fixed proportion: its progress rate is limited
//! by whichever share is scarcer. Shares are max-min fair (water-filling), and capacity one
//! flow cannot use (because the other resource limits it) goes to the others.
//!
//! `Solver` is the allocation-free form used by simulations: it keeps its scratch buffers
//! between calls, returns the previous answer when the demands have not changed (bit for bit),
//! takes a closed form when nothing contends (CPU-only flows, no more than the cores), and
//! stops the alternating rounds once the caps reach a fixed point. Every shortcut returns the
//! same bits as the full computation (`solve`), which the tests check.

/// Water-filling: split `capacity` among claimants with individual caps, max-min fair.
/// Returns each claimant's allocation. Deterministic for equal inputs.
pub fn waterfill(capacity: f64, caps: &[f64]) -> Vec<f64> {
    let mut alloc = Vec::new();
    let mut order = Vec::new();
    waterfill_into(capacity, caps, &mut order, &mut alloc);
    alloc
}

/// `waterfill` into reused buffers (`order` is scratch).
fn waterfill_into(capacity: f64, caps: &[f64], order: &mut Vec<usize>, alloc: &mut Vec<f64>) {
    let n = caps.len();
    alloc.clear();
    alloc.resize(n, 0.0);
    if n == 0 || capacity <= 0.0 {
        return;
    }
    order.clear();
    order.extend(0..n);
    // Insertion sort: n is the number of processes (a handful), and the order is total
    // (ties broken by index), so the result equals any other sort's.
    let less = |a: usize, b: usize| {
        caps[a].partial_cmp(&caps[b]).unwrap_or(std::cmp::Ordering::Equal).then(a.cmp(&b)) == std::cmp::Ordering::Less
    };
    for i in 1..n {
        let x = order[i];
        let mut j = i;
        while j > 0 && less(x, order[j - 1]) {
            order[j] = order[j - 1];
            j -= 1;
        }
        order[j] = x;
    }
    let mut remaining = capacity;
    let mut left = n;
    for &i in order.iter() {
        let fair = remaining / left as f64;
        let a = caps[i].max(0.0).min(fair);
        alloc[i] = a;
        remaining -= a;
        left -= 1;
    }
}

/// The demands of one flow per unit of progress.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Demand {
    /// CPU work (core-nanoseconds) per unit progress.
    pub cpu: f64,
    /// Shared-bandwidth work per unit progress (e.g. bytes).
    pub io: f64,
    /// Largest CPU share this flow can use (cores), normally 1.
    pub cpu_cap: f64,
}

impl Demand {
    fn same_bits(&self, o: &Demand) -> bool {
        self.cpu.to_bits() == o.cpu.to_bits()
            && self.io.to_bits() == o.io.to_bits()
            && self.cpu_cap.to_bits() == o.cpu_cap.to_bits()
    }
}

/// Rounds of alternating water-filling; they converge for these small systems.
const ROUNDS: usize = 6;

/// Progress rates (units per nanosecond) of flows sharing `cores` of CPU and `bandwidth` of I/O.
pub fn solve(cores: f64, bandwidth: f64, flows: &[Demand]) -> Vec<f64> {
    let mut s = Solver::default();
    s.solve(cores, bandwidth, flows).to_vec()
}

/// A reusable rate solver: the same answers as `solve`, without allocating once warm.
#[derive(Debug, Default, Clone)]
pub struct Solver {
    last_cores: u64,
    last_bandwidth: u64,
    last: Vec<Demand>,
    valid: bool,
    rates: Vec<f64>,
    cpu_caps: Vec<f64>,
    io_caps: Vec<f64>,
    cpu: Vec<f64>,
    io: Vec<f64>,
    order: Vec<usize>,
    /// Calls answered from the previous solution / by the closed form / in full.
    pub reused: u64,
    pub closed_form: u64,
    pub full: u64,
}

impl Solver {
    /// The rates of the last call to `solve`.
    pub fn rates(&self) -> &[f64] {
        &self.rates
    }

    /// Rates for `flows`; the slice lives until the next call.
    pub fn solve(&mut self, cores: f64, bandwidth: f64, flows: &[Demand]) -> &[f64] {
        let unchanged = self.valid
            && self.last_cores == cores.to_bits()
            && self.last_bandwidth == bandwidth.to_bits()
            && self.last.len() == flows.len()
            && self.last.iter().zip(flows).all(|(a, b)| a.same_bits(b));
        if unchanged {
            self.reused += 1;
            return &self.rates;
        }
        self.last.clear();
        self.last.extend_from_slice(flows);
        self.last_cores = cores.to_bits();
        self.last_bandwidth = bandwidth.to_bits();
        self.valid = true;
        if !self.uncontended(cores, flows) {
            self.full += 1;
            self.rounds(cores, bandwidth, flows);
        } else {
            self.closed_form += 1;
        }
        &self.rates
    }

    /// No flow uses I/O, every CPU cap is one core, and there are no more flows than cores:
    /// each CPU flow runs on a core of its own (water-filling gives exactly 1.0 each, since
    /// every fair share (cores - k) / (n - k) is at least 1), so its rate is 1 / cpu.
    fn uncontended(&mut self, cores: f64, flows: &[Demand]) -> bool {
        let n = flows.len();
        if cores <= 0.0 || n as f64 > cores || flows.iter().any(|f| f.io > 0.0 || f.cpu_cap.to_bits() != 1f64.to_bits())
        {
            return false;
        }
        self.rates.clear();
        self.rates.extend(flows.iter().map(|f| {
            let r = if f.cpu > 0.0 { 1.0 / f.cpu } else { f64::INFINITY };
            if r.is_finite() {
                r
            } else {
                0.0
            }
        }));
        true
    }

    fn rounds(&mut self, cores: f64, bandwidth: f64, flows: &[Demand]) {
        let n = flows.len();
        self.cpu_caps.clear();
        self.cpu_caps.extend(flows.iter().map(|f| if f.cpu > 0.0 { f.cpu_cap } else { 0.0 }));
        self.io_caps.clear();
        self.io_caps.extend(flows.iter().map(|f| if f.io > 0.0 { f64::INFINITY } else { 0.0 }));
        self.rates.clear();
        self.rates.resize(n, 0.0);
        for _ in 0..ROUNDS {
            waterfill_into(cores, &self.cpu_caps, &mut self.order, &mut self.cpu);
            waterfill_into(bandwidth, &self.io_caps, &mut self.order, &mut self.io);
            for i in 0..n {
                let f = &flows[i];
                let by_cpu = if f.cpu > 0.0 { self.cpu[i] / f.cpu } else { f64::INFINITY };
                let by_io = if f.io > 0.0 { self.io[i] / f.io } else { f64::INFINITY };
                let r = by_cpu.min(by_io);
                self.rates[i] = if r.is_finite() { r } else { 0.0 };
            }
            // Caps for the next round: what each flow could use given the other resource.
            // When no cap moves, every later round repeats this one: stop.
            let mut moved = false;
            for i in 0..n {
                let f = &flows[i];
                if f.cpu > 0.0 {
                    let by_io = if f.io > 0.0 { self.io[i] / f.io } else { f64::INFINITY };
                    let c = f.cpu_cap.min(by_io * f.cpu);
                    moved |= c.to_bits() != self.cpu_caps[i].to_bits();
                    self.cpu_caps[i] = c;
                }
                if f.io > 0.0 {
                    let by_cpu = if f.cpu > 0.0 { f.cpu_cap / f.cpu } else { f64::INFINITY };
                    let c = by_cpu * f.io;
                    moved |= c.to_bits() != self.io_caps[i].to_bits();
                    self.io_caps[i] = c;
                }
            }
            if !moved {
                break;
            }
        }
    }
}

/// The full six rounds, kept as the reference the shortcuts are tested against.
#[cfg(test)]
fn solve_reference(cores: f64, bandwidth: f64, flows: &[Demand]) -> Vec<f64> {
    let n = flows.len();
    let mut cpu_caps: Vec<f64> = flows.iter().map(|f| if f.cpu > 0.0 { f.cpu_cap } else { 0.0 }).collect();
    let mut io_caps: Vec<f64> = flows.iter().map(|f| if f.io > 0.0 { f64::INFINITY } else { 0.0 }).collect();
    let mut rates = vec![0.0; n];
    for _ in 0..ROUNDS {
        let cpu = waterfill(cores, &cpu_caps);
        let io = waterfill(bandwidth, &io_caps);
        for i in 0..n {
            let f = &flows[i];
            let by_cpu = if f.cpu > 0.0 { cpu[i] / f.cpu } else { f64::INFINITY };
            let by_io = if f.io > 0.0 { io[i] / f.io } else { f64::INFINITY };
            rates[i] = by_cpu.min(by_io);
            if !rates[i].is_finite() {
                rates[i] = 0.0;
            }
        }
        for i in 0..n {
            let f = &flows[i];
            if f.cpu > 0.0 {
                let by_io = if f.io > 0.0 { io[i] / f.io } else { f64::INFINITY };
                cpu_caps[i] = f.cpu_cap.min(by_io * f.cpu);
            }
            if f.io > 0.0 {
                let by_cpu = if f.cpu > 0.0 { f.cpu_cap / f.cpu } else { f64::INFINITY };
                io_caps[i] = by_cpu * f.io;
            }
        }
    }
    rates
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waterfill_is_max_min_fair() {
        let a = waterfill(2.0, &[1.0, 1.0, 1.0]);
        for x in &a {
            assert!((x - 2.0 / 3.0).abs() < 1e-12);
        }
        let b = waterfill(2.0, &[0.2, 1.0, 1.0]);
        assert!((b[0] - 0.2).abs() < 1e-12 && (b[1] - 0.9).abs() < 1e-12);
        let c = waterfill(8.0, &[1.0, 1.0]);
        assert_eq!(c, vec![1.0, 1.0]);
    }

    #[test]
    fn three_cpu_flows_on_two_cores_slow_down() {
        let d = Demand { cpu: 1.0, io: 0.0, cpu_cap: 1.0 };
        let r = solve(2.0, 1.0, &[d, d, d]);
        for x in r {
            assert!((x - 2.0 / 3.0).abs() < 1e-9);
        }
    }

    #[test]
    fn io_bound_flow_leaves_cpu_to_others() {
        // Flow 0 needs lots of I/O per unit; flow 1 is pure CPU. One core.
        let r =
            solve(1.0, 1.0, &[Demand { cpu: 1.0, io: 10.0, cpu_cap: 1.0 }, Demand { cpu: 1.0, io: 0.0, cpu_cap: 1.0 }]);
        assert!((r[0] - 0.1).abs() < 1e-9, "{r:?}");
        assert!((r[1] - 0.9).abs() < 1e-9, "{r:?}");
    }

    #[test]
    fn bandwidth_is_shared_by_io_bound_flows() {
        let d = Demand { cpu: 0.0, io: 1.0, cpu_cap: 1.0 };
        let r = solve(4.0, 1.0, &[d, d]);
        assert!((r[0] - 0.5).abs() < 1e-12 && (r[1] - 0.5).abs() < 1e-12);
    }

    /// A small deterministic generator for the equivalence test.
    fn next(x: &mut u64) -> f64 {
        *x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (*x >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn solver_shortcuts_give_the_reference_bits() {
        let mut x = 42u64;
        let mut s = Solver::default();
        for case in 0..20_000 {
            let n = 1 + (next(&mut x) * 12.0) as usize;
            let cores = [1.0, 2.0, 4.0, 8.0, 3.5][case % 5];
            let bw = 0.05 + next(&mut x);
            let flows: Vec<Demand> = (0..n)
                .map(|_| {
                    let kind = next(&mut x);
                    let cpu = if kind < 0.1 { 0.0 } else { 0.5 + 20.0 * next(&mut x) };
                    let io = if kind < 0.6 { 0.0 } else { 10.0 * next(&mut x) };
                    let cpu_cap = if next(&mut x) < 0.9 { 1.0 } else { next(&mut x) };
                    Demand { cpu, io, cpu_cap }
                })
                .collect();
            let want = solve_reference(cores, bw, &flows);
            let got: Vec<u64> = s.solve(cores, bw, &flows).iter().map(|r| r.to_bits()).collect();
            assert_eq!(got, want.iter().map(|r| r.to_bits()).collect::<Vec<_>>(), "case {case}: {flows:?}");
            // Asking again answers from the previous solution, with the same bits.
            let again: Vec<u64> = s.solve(cores, bw, &flows).iter().map(|r| r.to_bits()).collect();
            assert_eq!(again, got);
        }
        assert!(s.reused >= 20_000 && s.closed_form > 0 && s.full > 0, "{s:?}");
    }
}
