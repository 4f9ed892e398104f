//! The whole plan choice for one scenario: the serial plan, the parallel candidate and its
//! worker count, the cost comparison, force_parallel_mode's single-copy Gather, Workers Launched.

use super::cost::{CostCtx, Costed, STD_FUZZ_FACTOR};
use super::launch::{client_max_rows_reason, explain_launch};
use super::notes::{candidate_notes, scan_table, subplan_notes, why_not_partial, Elig};
use super::report::{money, PlanReport};
use super::safety::{query_blockers, restricted_constructs};
use super::shape::{self, serial_plan, with_workers, Eligibility};
use crate::model::{Node, Scenario};

/// Clear the worker counts of every Gather (what PostgreSQL would choose itself).
fn unpin(n: &Node) -> Node {
    let n = shape::map_children(n, unpin);
    match n {
        Node::Gather { single_copy, input, .. } => Node::Gather { workers: None, single_copy, input },
        Node::GatherMerge { input, .. } => Node::GatherMerge { workers: None, input },
        other => other,
    }
}

/// Decide the plan for a scenario as PostgreSQL 15 would (see the module docs).
/// When the scenario pins the Gather's worker count, that count is used as Workers
/// Planned as given (not capped), and the reasons say what PostgreSQL would plan itself.
pub fn plan(sc: &Scenario) -> PlanReport {
    if sc.pinned_workers {
        plan_pinned(sc)
    } else {
        plan_free(sc)
    }
}

fn plan_pinned(sc: &Scenario) -> PlanReport {
    let mut free_sc = sc.clone();
    free_sc.pinned_workers = false;
    free_sc.plan = unpin(&sc.plan);
    let pg = plan_free(&free_sc);
    let (pinned_w, single_copy) = match sc.plan.find_gather() {
        Some(Node::Gather { workers, single_copy, .. }) => (workers.unwrap_or(0), *single_copy),
        Some(Node::GatherMerge { workers, .. }) => (workers.unwrap_or(0), false),
        _ => (0, false),
    };
    let mut ctx = CostCtx::new(&sc.tables, &sc.settings, &sc.plan);
    let serial_c = ctx.cost(&serial_plan(&sc.plan), None);
    ctx.pinned_workers = Some(pinned_w);
    let pc = ctx.cost(&sc.plan, None);
    let parallel = sc.plan.find_gather().is_some();
    let mut reasons = vec![format!(
        "Workers Planned pinned by the scenario at {pinned_w}: used as given, not capped or costed against the serial plan"
    )];
    let pg_choice = if pg.parallel {
        format!(
            "PostgreSQL 15 itself would plan {} worker{} ({})",
            pg.workers_planned,
            if pg.workers_planned == 1 { "" } else { "s" },
            pg.worker_calculation.clone().unwrap_or_default()
        )
    } else {
        format!("PostgreSQL 15 itself would choose a serial plan: {}", pg.reasons.join("; "))
    };
    reasons.push(pg_choice);
    let mut launched = 0;
    let mut launch_calc = None;
    if parallel {
        let (l, text) = explain_launch(pinned_w, &sc.settings, sc.busy_worker_slots);
        launched = l;
        launch_calc = Some(text.clone());
        if sc.query.client_max_rows > 0 {
            launched = 0;
            reasons.push(client_max_rows_reason(sc.query.client_max_rows));
        } else if l < pinned_w {
            reasons.push(format!("only {l} of {pinned_w} workers can be launched: {text}"));
        }
    }
    PlanReport {
        workers_planned: if parallel { pinned_w } else { 0 },
        workers_launched: launched,
        parallel,
        reasons,
        serial_total_cost: serial_c.total,
        parallel_total_cost: parallel.then_some(pc.total),
        single_copy,
        explain_hidden: single_copy && sc.settings.text("force_parallel_mode") == "regress",
        pinned: true,
        restricted_above_gather: pg.restricted_above_gather,
        subplans_hashed: pg.subplans_hashed,
        subplan_workers_planned: pg.subplan_workers_planned,
        worker_calculation: Some(format!("pinned by the scenario at {pinned_w}")),
        launch_calculation: launch_calc,
        plan: sc.plan.clone(),
        costed: pc.clone(),
        serial_costed: serial_c,
        parallel_costed: parallel.then_some(pc),
    }
}

/// The cheapest of `plans` by total cost (the first of equals).
fn cheapest(ctx: &CostCtx, plans: Vec<Node>) -> Option<(Node, Costed)> {
    let mut best: Option<(Node, Costed)> = None;
    for p in plans {
        let c = ctx.cost(&p, None);
        if best.as_ref().is_none_or(|(_, b)| c.total < b.total) {
            best = Some((p, c));
        }
    }
    best
}

fn plan_free(sc: &Scenario) -> PlanReport {
    let s = &sc.settings;
    let ctx = CostCtx::new(&sc.tables, s, &sc.plan);
    let e = Elig { ctx: &ctx };
    let given_serial = serial_plan(&sc.plan);
    // A scenario written as a serial plan: try both orders of its inner hash joins, for
    // the serial plan and for the parallel one, as PostgreSQL does. A scenario's own
    // parallel shape is kept as given, and so is an order the scenario keeps (a plan
    // PostgreSQL chose from its estimates, where pqsim's costs see actual rows).
    let variants = if sc.plan.find_gather().is_none() && !sc.query.keep_join_order {
        shape::join_order_variants(&given_serial, &|n| ctx.cost(n, None).rel_rows)
    } else {
        vec![given_serial.clone()]
    };
    let (serial, serial_c) = cheapest(&ctx, variants.clone()).expect("at least the plan itself");
    let (subplans_hashed, subplan_workers_planned, sp_notes) = subplan_notes(&ctx, &serial);
    let mut reasons: Vec<String> = vec![];
    let mut restricted: Vec<String> = vec![];
    let mut report = PlanReport {
        workers_planned: 0,
        workers_launched: 0,
        parallel: false,
        reasons: vec![],
        serial_total_cost: serial_c.total,
        parallel_total_cost: None,
        single_copy: false,
        explain_hidden: false,
        pinned: false,
        restricted_above_gather: vec![],
        subplans_hashed,
        subplan_workers_planned,
        worker_calculation: None,
        launch_calculation: None,
        plan: serial.clone(),
        costed: serial_c.clone(),
        serial_costed: serial_c,
        parallel_costed: None,
    };
    let blockers = query_blockers(&sc.query, s);
    if !blockers.is_empty() {
        reasons.extend(blockers);
        reasons.extend(sp_notes);
        report.reasons = reasons;
        return report;
    }
    restricted.extend(restricted_constructs(&sc.query));

    // The parallel candidate: the scenario's own parallel shape when PostgreSQL could
    // build it, else the usual parallel shape of the serial plan.
    let own = if sc.plan.find_gather().is_some() { shape::check_parallel(&sc.plan, &e) } else { None };
    let candidate = match own {
        Some(c) => Some(c),
        None => {
            let usual = variants.iter().filter_map(|v| shape::parallelize(v, &e)).collect();
            let u = cheapest(&ctx, usual).map(|(p, _)| p);
            if u.is_some() && sc.plan.find_gather().is_some() {
                reasons.push("the scenario's parallel shape is not one PostgreSQL could build here; using the usual parallel shape instead".into());
            }
            u
        }
    };
    match candidate {
        None => {
            let driving = shape::driving_scan(&serial);
            reasons.push(format!("no parallel plan: {}", why_not_partial(driving, &e)));
        }
        Some(cand) => compare_parallel(&e, cand, &mut report, &mut reasons, &mut restricted),
    }
    if s.text("force_parallel_mode") != "off" && !report.parallel {
        force_single_copy(&e, &serial, &restricted, &mut report, &mut reasons);
    }
    if report.parallel {
        launch(sc, &mut report, &mut reasons);
    }
    if serial_plan(&report.plan) != given_serial {
        reasons.push(if given_serial.has_inner_hash_join() {
            "join order differs from the scenario's: the cheaper plan hashes the other side of a hash join (PostgreSQL tries both orders)".to_string()
        } else {
            "join order differs from the scenario's: the cheaper plan swaps a merge join's sides (PostgreSQL tries both orders)".to_string()
        });
    }
    reasons.extend(sp_notes);
    report.reasons = reasons;
    report.restricted_above_gather = restricted;
    report
}

/// The number of inputs of the first Parallel Append in a subtree.
fn parallel_append_inputs(n: &Node) -> Option<usize> {
    match n {
        Node::Append { parallel: true, inputs, .. } => Some(inputs.len()),
        _ => n.children().into_iter().find_map(parallel_append_inputs),
    }
}

/// Cost the parallel candidate with its worker count and keep it when `add_path` would:
/// more than 1 % cheaper than the serial plan.
fn compare_parallel(
    e: &Elig,
    cand: Node,
    report: &mut PlanReport,
    reasons: &mut Vec<String>,
    restricted: &mut Vec<String>,
) {
    let ctx = e.ctx;
    let serial_total = report.serial_total_cost;
    let c = ctx.cost(&cand, None);
    let g = c.find_gather().expect("a parallel candidate has a Gather");
    let w = g.workers_planned.unwrap_or(0);
    let cand = with_workers(&cand, w, false);
    let gather_node = cand.find_gather().expect("gather");
    let driving = shape::driving_scan(gather_node);
    let name = scan_table(driving).map(|(t, _)| ctx.tables[t].name.clone()).unwrap_or_default();
    report.worker_calculation = Some(match parallel_append_inputs(gather_node) {
        Some(k) => format!(
            "Parallel Append of {k} inputs: the most any input gets, at least fls({k}) = {}, capped by max_parallel_workers_per_gather",
            usize::BITS - k.leading_zeros()
        ),
        None => format!("table {name}, {}", ctx.scan_workers(driving).explanation),
    });
    candidate_notes(&cand, e, reasons, restricted);
    report.parallel_total_cost = Some(c.total);
    report.parallel_costed = Some(c.clone());
    if serial_total > c.total * STD_FUZZ_FACTOR {
        reasons.insert(
            0,
            format!(
                "parallel plan with {w} worker{} is cheaper: total cost {} vs serial {}",
                if w == 1 { "" } else { "s" },
                money(c.total),
                money(serial_total)
            ),
        );
        report.parallel = true;
        report.workers_planned = w;
        report.plan = cand;
        report.costed = c;
    } else {
        reasons.insert(
            0,
            format!(
                "serial plan is cheaper: total cost {} vs {} for the parallel plan with {w} worker{} (add_path keeps the serial plan unless the parallel one is more than 1% cheaper)",
                money(serial_total),
                money(c.total),
                if w == 1 { "" } else { "s" }
            ),
        );
    }
}

/// debug_parallel_query / force_parallel_mode: a single-copy Gather on top of a
/// parallel-safe serial plan.
fn force_single_copy(
    e: &Elig,
    serial: &Node,
    restricted: &[String],
    report: &mut PlanReport,
    reasons: &mut Vec<String>,
) {
    let force = e.ctx.settings.text("force_parallel_mode");
    let unsafe_scan =
        shape::scans(serial).into_iter().any(|(scan, _)| !e.safe_scan(scan)) || !shape::safe_subtree(serial, e);
    if !restricted.is_empty() || unsafe_scan {
        reasons.push(format!(
            "force_parallel_mode = {force} adds no single-copy Gather: the plan's top node is not parallel-safe (it holds a parallel-restricted part)"
        ));
        return;
    }
    let top = Node::Gather { workers: Some(1), single_copy: true, input: Box::new(serial.clone()) };
    let c = e.ctx.cost(&top, None);
    reasons.push(format!(
        "force_parallel_mode = {force}: a single-copy Gather with 1 worker runs the whole serial plan (cost {} = {} + parallel_setup_cost + parallel_tuple_cost x rows){}",
        money(c.total),
        money(report.serial_total_cost),
        if force == "regress" { "; EXPLAIN hides it (regress)" } else { "" }
    ));
    report.parallel = true;
    report.single_copy = true;
    report.explain_hidden = force == "regress";
    report.workers_planned = 1;
    report.parallel_total_cost = Some(c.total);
    report.parallel_costed = Some(c.clone());
    report.costed = c;
    report.plan = top;
    report.worker_calculation = Some(format!("force_parallel_mode = {force}: single copy"));
}

/// Workers Launched for the chosen parallel plan, with the reasons fewer may launch.
fn launch(sc: &Scenario, report: &mut PlanReport, reasons: &mut Vec<String>) {
    let (l, text) = explain_launch(report.workers_planned, &sc.settings, sc.busy_worker_slots);
    report.workers_launched = l;
    report.launch_calculation = Some(text.clone());
    if sc.query.client_max_rows > 0 {
        report.workers_launched = 0;
        reasons.push(client_max_rows_reason(sc.query.client_max_rows));
    } else if l < report.workers_planned {
        reasons.push(format!("only {l} of {} workers can be launched: {text}", report.workers_planned));
    }
}
