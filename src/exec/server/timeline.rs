//! Time-weighted means of the server's state (busy cores, worker slots in use, runnable
//! processes, queries in flight): over the measured window, and per bucket for plots.

use crate::engine::Time;

/// One bucket of the over-time series (means over the bucket).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub t_ms: f64,
    pub cores_busy: f64,
    pub slots: f64,
    pub runnable: f64,
    pub active: f64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    pub cores_busy: f64,
    pub slots: f64,
    pub runnable: f64,
    pub active: f64,
    pub samples: Vec<Sample>,
}

/// At most this many buckets: past it, neighbours merge and the bucket width doubles, so
/// memory does not grow with simulated time.
const MAX_BUCKETS: usize = 2048;

pub struct Timeline {
    from: Time,
    bucket: Time,
    sums: [f64; 4],
    buckets: Vec<[f64; 4]>,
}

impl Timeline {
    pub fn new(from: Time, bucket: Time) -> Timeline {
        Timeline { from, bucket: bucket.max(1), sums: [0.0; 4], buckets: vec![] }
    }

    /// The state held constant over [t0, t1).
    pub fn add(&mut self, t0: Time, t1: Time, cores: f64, slots: f64, runnable: f64, active: f64) {
        let v = [cores, slots, runnable, active];
        let a = t0.max(self.from);
        if t1 > a {
            let dt = (t1 - a) as f64;
            for k in 0..4 {
                self.sums[k] += v[k] * dt;
            }
        }
        // Buckets cover the whole run, warm-up included.
        let mut t = t0;
        while t < t1 {
            while (t / self.bucket) as usize >= MAX_BUCKETS {
                self.coarsen();
            }
            let b = (t / self.bucket) as usize;
            let b_end = (b as Time + 1) * self.bucket;
            let seg = (t1.min(b_end) - t) as f64;
            if self.buckets.len() <= b {
                self.buckets.resize(b + 1, [0.0; 4]);
            }
            for k in 0..4 {
                self.buckets[b][k] += v[k] * seg;
            }
            t = t1.min(b_end);
        }
    }

    /// Merge neighbouring buckets (their integrals add) and double the width.
    fn coarsen(&mut self) {
        let merged = self
            .buckets
            .chunks(2)
            .map(|p| {
                let mut m = p[0];
                if let Some(q) = p.get(1) {
                    for k in 0..4 {
                        m[k] += q[k];
                    }
                }
                m
            })
            .collect();
        self.buckets = merged;
        self.bucket *= 2;
    }

    pub fn finish(self, end: Time) -> Totals {
        let window = end.saturating_sub(self.from) as f64;
        let mean = |k: usize| if window > 0.0 { self.sums[k] / window } else { 0.0 };
        let bucket = self.bucket as f64;
        let samples = self
            .buckets
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let start = i as f64 * bucket;
                let len = (end as f64 - start).clamp(1.0, bucket);
                Sample {
                    t_ms: (start + len / 2.0) / 1e6,
                    cores_busy: b[0] / len,
                    slots: b[1] / len,
                    runnable: b[2] / len,
                    active: b[3] / len,
                }
            })
            .collect();
        Totals { cores_busy: mean(0), slots: mean(1), runnable: mean(2), active: mean(3), samples }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_cover_the_window_and_buckets_stay_bounded() {
        let mut t = Timeline::new(10, 1);
        t.add(0, 10, 4.0, 0.0, 0.0, 0.0);
        t.add(10, 30, 2.0, 1.0, 3.0, 1.0);
        t.add(30, 10_000, 1.0, 0.0, 1.0, 1.0);
        let r = t.finish(10_000);
        // Window [10, 10000): 20 ns at 2 cores, 9970 ns at 1.
        assert!((r.cores_busy - (40.0 + 9970.0) / 9990.0).abs() < 1e-12);
        assert!(r.samples.len() <= MAX_BUCKETS);
        let total: f64 = r.samples.iter().map(|s| s.cores_busy).sum();
        assert!(total > 0.0);
    }
}
