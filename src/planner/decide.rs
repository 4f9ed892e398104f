//! The whole plan decision for one scenario: the plan to run, Workers Planned and Workers
//! Launched as the executor will see them, and the report `pqsim plan` prints.

use super::choose::plan;
use super::launch::workers_launched;
use super::report::PlanReport;
use super::shape;
use crate::model::{subplan_filter_text, Node, Scenario, SubPlan};

/// The planner's decision for a scenario: the plan to run and how many workers it gets.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The plan to execute, every Gather's worker count filled in.
    pub plan: Node,
    /// Workers Planned of the Gather that runs (the main plan's, or the Gather of a hashed
    /// SubPlan's subquery under a serial main plan).
    pub workers_planned: u32,
    /// Workers the executor launches for that Gather.
    pub workers_launched: u32,
    /// The main plan is serial, but its hashed SubPlan runs its subquery with its own
    /// Gather (§7.4): the simulation runs that Gather while the leader builds the hash table.
    pub subplan_gather: bool,
    /// The planner's report on the main plan.
    pub report: PlanReport,
}

impl Decision {
    /// Whether a Gather runs (the main plan's or a SubPlan's).
    pub fn parallel(&self) -> bool {
        self.report.parallel || self.subplan_gather
    }

    /// `pqsim plan --format text`.
    pub fn render_text(&self) -> String {
        let text = self.report.render_text();
        if self.subplan_gather {
            format!(
                "Workers Planned: {} (the Gather of SubPlan 1's subquery; the main plan is serial), Workers Launched: {}\n{text}",
                self.workers_planned, self.workers_launched
            )
        } else {
            text
        }
    }
}

/// Decide the plan for a scenario (see [`plan`]), then the Gather of a hashed SubPlan under a
/// serial main plan.
pub fn decide(sc: &Scenario) -> Decision {
    let report = plan(sc);
    let mut d = Decision {
        plan: report.plan.clone(),
        workers_planned: report.workers_planned,
        // The planner's count also knows the execution-time fallbacks (client max_rows, ...).
        workers_launched: report.workers_launched,
        subplan_gather: false,
        report,
    };
    // The plan says whether each SubPlan is hashed (EXPLAIN's filter text), as the planner
    // decided it, whatever the scenario wrote.
    let hashed = d.report.subplans_hashed.clone();
    let mut i = 0;
    d.plan.for_each_filter_mut(&mut |f| {
        if f.subplan.is_some() {
            if let Some(h) = hashed.get(i) {
                f.text = subplan_filter_text(&f.text, *h);
            }
            i += 1;
        }
    });
    if !d.report.parallel {
        let sub_workers = d.report.subplan_workers_planned.first().copied().unwrap_or(0);
        let hashed = d.report.subplans_hashed.first().copied().unwrap_or(false);
        if sub_workers > 0 && hashed {
            d.plan = shape::map_subplans(&d.plan, &|sp: &SubPlan| SubPlan {
                gather_workers: Some(sub_workers),
                ..sp.clone()
            });
            d.workers_launched = workers_launched(sub_workers, &sc.settings, sc.busy_worker_slots);
            // EXPLAIN prints this Gather's Workers Planned (under SubPlan 1).
            d.workers_planned = sub_workers;
            d.subplan_gather = true;
        }
    }
    d
}
