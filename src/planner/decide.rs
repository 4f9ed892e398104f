//! The whole plan decision for one scenario: the plan to run, Workers Planned and Workers
//! Launched as the executor will see them, and the report `pqsim plan` prints.

use super::choose::plan;
use super::cost::CostCtx;
use super::launch::workers_launched;
use super::report::PlanReport;
use super::shape;
use crate::model::{subplan_filter_text, Node, Scenario};

/// The planner's decision for a scenario: the plan to run and how many workers it gets.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The plan to execute, every Gather's worker count filled in.
    pub plan: Node,
    /// Workers Planned of the Gather that runs (the main plan's, or the Gather of a
    /// SubPlan's subquery under a serial main plan).
    pub workers_planned: u32,
    /// Workers the executor launches for that Gather.
    pub workers_launched: u32,
    /// The main plan is serial, but a SubPlan runs its subquery with its own Gather (§7.4):
    /// the simulation runs that Gather while the leader fills the SubPlan's hash table (or,
    /// not hashed, the Materialize's tuplestore).
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

/// Decide the plan for a scenario (see [`plan`]), then each SubPlan of the chosen plan:
/// whether it is hashed and whether its subquery runs its own Gather (under a serial main
/// plan). This is the one place those are decided; the executor model, `run`'s EXPLAIN and
/// `plan` all read them from here.
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
    let ctx = CostCtx::new(&sc.tables, &sc.settings, &sc.plan);
    let main_serial = !d.report.parallel;
    let (mut hashed, mut workers) = (vec![], vec![]);
    d.plan.for_each_filter_mut(&mut |f| {
        let Some(sp) = f.subplan.as_mut() else { return };
        let c = ctx.subplan_cost(sp);
        let w = c.plan.find_gather().and_then(|g| g.workers_planned).unwrap_or(0);
        sp.hashed = c.hashed;
        // Under a parallel main plan the SubPlan's own Gather is not modelled.
        sp.gather_workers = (main_serial && w > 0).then_some(w);
        // EXPLAIN's filter text says whether the SubPlan is hashed, whatever the scenario wrote.
        f.text = subplan_filter_text(&f.text, c.hashed);
        hashed.push(c.hashed);
        workers.push(w);
    });
    // In the chosen plan's order (a join order the planner swapped moves its SubPlans).
    d.report.subplans_hashed = hashed;
    d.report.subplan_workers_planned = workers;
    if let Some(w) = gather_subplan_workers(&d.plan) {
        d.workers_launched = workers_launched(w, &sc.settings, sc.busy_worker_slots);
        // EXPLAIN prints this Gather's Workers Planned (under SubPlan 1).
        d.workers_planned = w;
        d.subplan_gather = true;
    }
    d
}

/// Workers Planned of the first SubPlan whose subquery runs its own Gather.
fn gather_subplan_workers(n: &Node) -> Option<u32> {
    shape::scans(n).into_iter().find_map(|(s, _)| match s {
        Node::SeqScan { filter, .. } | Node::IndexScan { filter, .. } => {
            filter.as_ref()?.subplan.as_ref()?.gather_workers
        }
        _ => None,
    })
}
