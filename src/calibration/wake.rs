//! What a wake-up from a latch wait costs (`scheduler.wake_cpu_ns`), from the leader's own
//! CPU and wake-ups in two single-copy Gathers of the same rows: `gq_single` (n_m's rows, 32
//! bytes a message) and `gq_single_wide` (the same rows 500 bytes wider). The leader receives
//! as many rows in both and sleeps at each of its worker's publishes (a quarter of the ring),
//! about 15 times as often with the wide rows; the kernel counts both its CPU and its sleeps,
//! so the price is their ratio of differences, with nothing modelled in between.

use super::{median, ProbeResult};

/// The measured price of a wake-up.
#[derive(Debug, Clone, Copy)]
pub struct WakeFit {
    /// ns of CPU per wake-up.
    pub ns: f64,
    /// The leader's CPU (ms, medians of the runs), narrow rows then wide.
    pub cpu_ms: [f64; 2],
    /// Its wake-ups per run (medians), narrow then wide.
    pub wakes: [f64; 2],
}

impl WakeFit {
    /// What the price rests on, for the calibration's log and the profile's comment.
    pub fn evidence(&self) -> String {
        format!(
            "the single-copy leader's CPU {:.2} against {:.2} ms a run, woken {:.0} against {:.0} times (gq_single_wide vs gq_single)",
            self.cpu_ms[1], self.cpu_ms[0], self.wakes[1], self.wakes[0]
        )
    }
}

/// Fewer extra wake-ups than this and the difference says little (about 3,300 are expected).
const MIN_EXTRA_WAKES: f64 = 500.0;

/// None unless both probes ran with the leader's CPU and sleeps readable (a server on this
/// machine) and the wide rows woke the leader clearly more often at no less CPU.
pub fn wake_cpu(results: &[ProbeResult]) -> Option<WakeFit> {
    let of = |id: &str| -> Option<(f64, f64)> {
        let r = results.iter().find(|r| r.probe.id == id)?;
        let wakes: Vec<f64> = r.runs.iter().filter_map(|m| m.leader_wakes).collect();
        Some((r.leader_cpu_median()?, (!wakes.is_empty()).then(|| median(&wakes))?))
    };
    let (narrow, wide) = (of("gq_single")?, of("gq_single_wide")?);
    let extra = wide.1 - narrow.1;
    let ns = (wide.0 - narrow.0) * 1e6 / extra;
    (extra >= MIN_EXTRA_WAKES && ns.is_finite() && ns >= 0.0).then_some(WakeFit {
        ns,
        cpu_ms: [narrow.0, wide.0],
        wakes: [narrow.1, wide.1],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibration::tests::probe_result;
    use crate::pg::probes::{probes, Probe};
    use crate::pg::protocol::Measured;

    fn probe(id: &str) -> Probe {
        probes().into_iter().find(|p| p.id == id).expect("a shipped probe")
    }

    /// Runs of a leader that spends `row_ms` on its rows and `wake_us` per wake-up, `wakes`
    /// times a run, give or take a few.
    fn runs(row_ms: f64, wake_us: f64, wakes: f64) -> Vec<Measured> {
        (0..9)
            .map(|k| {
                let w = wakes + (k as f64 - 4.0) * 3.0;
                let jitter = 1.0 + 0.01 * ((k * 7 % 5) as f64 - 2.0);
                Measured {
                    leader_cpu_ms: Some((row_ms + w * wake_us / 1e3) * jitter),
                    leader_wakes: Some(w),
                    ..Measured::timed(20.0)
                }
            })
            .collect()
    }

    #[test]
    fn a_wake_up_is_priced_by_the_leaders_cpu_against_its_sleeps() {
        let pair = || {
            vec![
                probe_result(probe("gq_single"), runs(4.0, 6.5, 220.0), None),
                probe_result(probe("gq_single_wide"), runs(4.0, 6.5, 3300.0), None),
            ]
        };
        let w = wake_cpu(&pair()).expect("measured");
        assert!((w.ns - 6500.0).abs() < 400.0, "{w:?}");
        assert_eq!(w.wakes, [220.0, 3300.0]);
        // Without the leader's sleeps (a remote server), or when the wide rows did not make it
        // sleep more often, nothing is claimed.
        let mut blind = pair();
        for r in &mut blind {
            r.runs.iter_mut().for_each(|m| m.leader_wakes = None);
        }
        assert!(wake_cpu(&blind).is_none());
        let same = vec![
            probe_result(probe("gq_single"), runs(4.0, 6.5, 220.0), None),
            probe_result(probe("gq_single_wide"), runs(4.0, 6.5, 400.0), None),
        ];
        assert!(wake_cpu(&same).is_none());
    }
}
