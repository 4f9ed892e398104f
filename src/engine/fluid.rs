//! Fair sharing of resources among concurrent activities ("flows").
//!
//! A flow needs `cpu` units of work on a multi-core resource (at most one core per flow) and
//! `io` units on a shared bandwidth resource, in fixed proportion: its progress rate is limited
//! by whichever share is scarcer. Shares are max-min fair (water-filling), and capacity one
//! flow cannot use (because the other resource limits it) goes to the others.

/// Water-filling: split `capacity` among claimants with individual caps, max-min fair.
/// Returns each claimant's allocation. Deterministic for equal inputs.
pub fn waterfill(capacity: f64, caps: &[f64]) -> Vec<f64> {
    let n = caps.len();
    let mut alloc = vec![0.0; n];
    if n == 0 || capacity <= 0.0 {
        return alloc;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| caps[a].partial_cmp(&caps[b]).unwrap_or(std::cmp::Ordering::Equal).then(a.cmp(&b)));
    let mut remaining = capacity;
    let mut left = n;
    for &i in &order {
        let fair = remaining / left as f64;
        let a = caps[i].max(0.0).min(fair);
        alloc[i] = a;
        remaining -= a;
        left -= 1;
    }
    alloc
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

/// Progress rates (units per nanosecond) of flows sharing `cores` of CPU and `bandwidth` of I/O.
pub fn solve(cores: f64, bandwidth: f64, flows: &[Demand]) -> Vec<f64> {
    let n = flows.len();
    let mut cpu_caps: Vec<f64> = flows.iter().map(|f| if f.cpu > 0.0 { f.cpu_cap } else { 0.0 }).collect();
    let mut io_caps: Vec<f64> = flows.iter().map(|f| if f.io > 0.0 { f64::INFINITY } else { 0.0 }).collect();
    let mut rates = vec![0.0; n];
    // A few rounds of alternating water-filling converge for these small systems.
    for _ in 0..6 {
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
        // Caps for the next round: what each flow could use given the other resource.
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
}
