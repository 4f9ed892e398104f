//! The planner's parallel-query decisions, emulating PostgreSQL 15: whether a query may
//! use a parallel plan at all, how many workers its Gather asks for, whether the parallel
//! plan is cheaper than the serial one, and how many workers the executor can launch.
//! Pure functions of a validated [`Scenario`]: no I/O.
//!
//! * [`compute_parallel_worker`]: allpaths.c's worker-count rule (exact).
//! * [`workers_launched`]: the bgworker slot / `max_parallel_workers` limits at launch.
//! * [`query_blockers`], [`restricted_constructs`]: parallel safety (reference §11).
//! * [`cost`]: PostgreSQL 15's cost formulas for the modelled plan shapes.
//! * [`shape`]: [`serial_plan`], [`with_workers`], [`shape::parallelize`].
//! * [`plan`]: the whole decision, as a [`PlanReport`] (`pqsim plan`).
//!
//! Worker counts when several scans are parallel-aware: PostgreSQL gives every partial
//! scan path its own `parallel_workers` from its own table; a join's partial path takes
//! the **outer** (driving) path's count (`create_hashjoin_path`, `create_nestloop_path`),
//! and the Gather takes the count of the partial path below it. So Workers Planned is the
//! driving scan's count. A Parallel Hash needs a partial path on the inner side as well
//! (its table must pass the size rule itself, `hash_inner_and_outer`); the inner scan is
//! costed with its *own* worker count (its divisor), and the shared table is sized from
//! the inner rows times that divisor. When the inner side has no partial path (or
//! `enable_parallel_hash` is off), the join is parallel-oblivious: every participant reads
//! the whole inner side and builds its own hash table, charged in full. Like PostgreSQL,
//! the planner tries both orders of each inner hash join when the scenario is written as
//! a serial plan, so the cheaper side drives (and sets Workers Planned); a scenario's own
//! parallel shape is kept as given. Other join types, and the choice between join
//! methods, stay as the scenario has them.
//!
//! Checked against a real PostgreSQL 15 in `tests/planner_vs_postgres.rs`: Workers
//! Planned, Workers Launched and the chosen plan's total cost agree exactly (to the
//! cent) for count(*) over a 400-point settings grid, filters, Gather Merge with bounded
//! and external sorts, Limit, Parallel Hash Join (both orders) and hashed, non-hashed and
//! parallel-subquery SubPlans.

pub mod cost;
pub mod shape;

pub use cost::{
    clamp_row_est, compute_parallel_worker, explain_parallel_worker, parallel_divisor, subplan_is_hashable, CostCtx,
    Costed, WorkerCalc, STD_FUZZ_FACTOR,
};
pub use shape::{serial_plan, with_workers};

use crate::model::guc::Settings;
use crate::model::{Filter, Node, QueryProps, Scenario, SubPlan, Table};
use cost::{group, money};
use serde_json::{json, Value};
use shape::Eligibility;

/// Workers the executor launches for a Gather planned with `planned` workers (PG15
/// `LaunchParallelWorkers` / `RegisterDynamicBackgroundWorker`): limited by free
/// `max_worker_processes` slots (the logical replication launcher holds one whenever
/// `max_logical_replication_workers` > 0) and by the `max_parallel_workers` budget; other
/// sessions' parallel workers (`busy_worker_slots`) hold both. Never negative.
pub fn workers_launched(planned: u32, settings: &Settings, busy_worker_slots: u32) -> u32 {
    explain_launch(planned, settings, busy_worker_slots).0
}

/// [`workers_launched`] with the arithmetic spelled out.
pub fn explain_launch(planned: u32, settings: &Settings, busy: u32) -> (u32, String) {
    let mwp = settings.int("max_worker_processes");
    let launcher = i64::from(settings.int("max_logical_replication_workers") > 0);
    let busy = i64::from(busy);
    let slots = (mwp - launcher - busy).max(0);
    let budget = (settings.int("max_parallel_workers") - busy).max(0);
    let launched = i64::from(planned).min(slots).min(budget).max(0) as u32;
    let mut slot_text = format!("max_worker_processes {mwp}");
    if launcher > 0 {
        slot_text.push_str(" - 1 (logical replication launcher)");
    }
    if busy > 0 {
        slot_text.push_str(&format!(" - {busy} busy"));
    }
    let mut budget_text = format!("max_parallel_workers {}", settings.int("max_parallel_workers"));
    if busy > 0 {
        budget_text.push_str(&format!(" - {busy} busy"));
    }
    (
        launched,
        format!("min(planned {planned}, free slots {slot_text} = {slots}, {budget_text} = {budget}) = {launched}"),
    )
}

/// Commands whose query PostgreSQL 15 may plan in parallel (the SELECT part of them).
const PARALLEL_COMMANDS: &[&str] =
    &["select", "create_table_as", "select_into", "create_materialized_view", "refresh_materialized_view"];

/// Reasons the whole query gets no parallel plan (`standard_planner`: parallelModeOK is
/// false), reference §11.1. Empty when parallel plans are allowed.
pub fn query_blockers(q: &QueryProps, s: &Settings) -> Vec<String> {
    let mut out = vec![];
    let command = if q.command.is_empty() { "select" } else { q.command.as_str() };
    if !PARALLEL_COMMANDS.contains(&command) {
        out.push(format!(
            "command {} cannot use a parallel plan in PostgreSQL 15 (only SELECT, including CREATE TABLE AS, SELECT INTO and materialized views)",
            command.to_ascii_uppercase()
        ));
    }
    for (name, label) in &q.functions {
        if *label == 'u' {
            out.push(format!("function {name}() is PARALLEL UNSAFE: no parallel plan for the whole query"));
        }
    }
    if q.row_locks {
        out.push("SELECT ... FOR UPDATE/SHARE takes row locks (parallel unsafe): no parallel plan".into());
    }
    if q.cursor {
        out.push(
            "the query runs in a cursor (DECLARE CURSOR or a PL/pgSQL FOR loop), which does not allow parallel plans"
                .into(),
        );
    }
    if q.serializable && q.server_version > 0 && q.server_version < 12 {
        out.push(format!(
            "SERIALIZABLE isolation blocks parallel query before PostgreSQL 12 (server_version = {})",
            q.server_version
        ));
    }
    if s.int("max_parallel_workers_per_gather") == 0 {
        out.push("max_parallel_workers_per_gather = 0 disables parallel planning".into());
    }
    out
}

/// Parallel-restricted constructs of the query (§11.2): allowed only above the Gather,
/// in the leader. pqsim does not know where in the query they sit; it assumes the select
/// list / upper levels, so the parallel part of the plan stays possible (were one in a
/// scan's WHERE clause, PostgreSQL would not scan that table in parallel at all).
pub fn restricted_constructs(q: &QueryProps) -> Vec<String> {
    let mut out = vec![];
    for (name, label) in &q.functions {
        if *label == 'r' {
            out.push(format!("function {name}() is PARALLEL RESTRICTED: evaluated in the leader above the Gather"));
        }
    }
    if q.materialized_cte {
        out.push("CTE Scan of a materialized CTE: runs in the leader above the Gather (the CTE's own query may still use a Gather)".into());
    }
    if q.correlated_subplan {
        out.push("correlated SubPlan (uses the outer row's values as PARAM_EXEC params): evaluated in the leader above the Gather".into());
    }
    out
}

/// The planner's decision for one scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanReport {
    /// Workers Planned of the chosen plan's Gather / Gather Merge (0 without one).
    pub workers_planned: u32,
    /// Workers the executor would launch (0 when the plan is serial).
    pub workers_launched: u32,
    /// Whether the chosen plan has a Gather / Gather Merge.
    pub parallel: bool,
    /// Why the plan is (not) parallel, and why fewer workers may launch.
    pub reasons: Vec<String>,
    pub serial_total_cost: f64,
    /// Total cost of the parallel alternative, `None` when there is none.
    pub parallel_total_cost: Option<f64>,
    /// The Gather is a single-copy Gather (debug_parallel_query / force_parallel_mode).
    pub single_copy: bool,
    /// force_parallel_mode = regress: EXPLAIN hides the single-copy Gather.
    pub explain_hidden: bool,
    /// The scenario fixed the worker count.
    pub pinned: bool,
    /// Parts of the query that run in the leader above the Gather.
    pub restricted_above_gather: Vec<String>,
    /// For each SubPlan in plan order: whether it uses a hash table (§7.1).
    pub subplans_hashed: Vec<bool>,
    /// For each SubPlan in plan order: the Workers Planned of the Gather in the
    /// subquery's own plan (0 when it is serial). A SubPlan big enough for its own
    /// parallel plan makes the scan evaluating it serial (§7.4); EXPLAIN then shows this
    /// Gather under the SubPlan although `workers_planned` (the main plan's) is 0.
    pub subplan_workers_planned: Vec<u32>,
    /// How Workers Planned was derived.
    pub worker_calculation: Option<String>,
    /// How Workers Launched was derived.
    pub launch_calculation: Option<String>,
    /// The chosen plan.
    pub plan: Node,
    /// The chosen plan with costs.
    pub costed: Costed,
    /// The serial plan with costs.
    pub serial_costed: Costed,
    /// The parallel alternative with costs.
    pub parallel_costed: Option<Costed>,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

impl PlanReport {
    /// `pqsim plan --format json`: the contract's keys first, then extras.
    pub fn to_json(&self) -> Value {
        json!({
            "workers_planned": self.workers_planned,
            "parallel": self.parallel,
            "reasons": self.reasons,
            "serial_total_cost": round2(self.serial_total_cost),
            "parallel_total_cost": self.parallel_total_cost.map(round2),
            "workers_launched": self.workers_launched,
            "single_copy": self.single_copy,
            "explain_hidden": self.explain_hidden,
            "pinned": self.pinned,
            "chosen_total_cost": round2(self.costed.total),
            "worker_calculation": self.worker_calculation,
            "launch_calculation": self.launch_calculation,
            "restricted_above_gather": self.restricted_above_gather,
            "subplans_hashed": self.subplans_hashed,
            "subplan_workers_planned": self.subplan_workers_planned,
            "plan": self.costed.to_explain_json(),
            "serial_plan": self.serial_costed.to_explain_json(),
            "parallel_plan": self.parallel_costed.as_ref().map(|c| c.to_explain_json()),
        })
    }

    /// `pqsim plan --format text`: a readable explanation.
    pub fn render_text(&self) -> String {
        let mut out = vec![];
        let calc = self.worker_calculation.as_ref().map(|c| format!(" ({c})")).unwrap_or_default();
        if self.parallel {
            out.push(format!("Workers Planned: {}{calc}", self.workers_planned));
            if self.single_copy {
                out.push("Single Copy: true (the whole plan runs in one worker)".into());
            }
            out.push(format!(
                "Workers Launched: {}{}",
                self.workers_launched,
                self.launch_calculation.as_ref().map(|c| format!(" ({c})")).unwrap_or_default()
            ));
        } else {
            out.push(format!("Workers Planned: 0, serial plan{calc}"));
        }
        out.push(format!("Serial plan total cost:   {}", money(self.serial_total_cost)));
        match self.parallel_total_cost {
            Some(p) => out.push(format!("Parallel plan total cost: {}", money(p))),
            None => out.push("Parallel plan total cost: none (no parallel plan possible)".into()),
        }
        out.push(format!("Chosen: {}", if self.parallel { "parallel plan" } else { "serial plan" }));
        if !self.reasons.is_empty() {
            out.push(String::new());
            out.push("Reasons:".into());
            for r in &self.reasons {
                out.push(format!("  - {r}"));
            }
        }
        if !self.restricted_above_gather.is_empty() {
            out.push(String::new());
            out.push("Parallel restricted (runs in the leader, above any Gather):".into());
            for r in &self.restricted_above_gather {
                out.push(format!("  - {r}"));
            }
        }
        out.push(String::new());
        out.push("Chosen plan:".into());
        let mut lines = vec![];
        self.costed.explain_lines(&mut lines, 2, true);
        out.extend(lines);
        let other = if self.parallel {
            Some(("Serial alternative:", &self.serial_costed))
        } else {
            self.parallel_costed.as_ref().map(|c| ("Parallel alternative (not chosen):", c))
        };
        if let Some((title, c)) = other {
            out.push(String::new());
            out.push(title.into());
            let mut lines = vec![];
            c.explain_lines(&mut lines, 2, true);
            out.extend(lines);
        }
        out.join("\n") + "\n"
    }
}

/// What the planner knows about the scans of one scenario.
struct Elig<'a> {
    ctx: &'a CostCtx<'a>,
}

impl Elig<'_> {
    fn subplan_parallel(&self, filter: &Option<Filter>) -> bool {
        filter.as_ref().and_then(|f| f.subplan.as_ref()).is_some_and(|sp| self.ctx.subplan_cost(sp).parallel_inner)
    }
}

impl Eligibility for Elig<'_> {
    fn partial_scan(&self, scan: &Node) -> bool {
        self.safe_scan(scan) && self.ctx.scan_workers(scan).workers > 0
    }
    fn safe_table(&self, table: usize) -> bool {
        !self.ctx.tables[table].temporary
    }
    fn safe_scan(&self, scan: &Node) -> bool {
        match scan {
            Node::SeqScan { table, filter, .. } | Node::IndexScan { table, filter, .. } => {
                self.safe_table(*table) && !self.subplan_parallel(filter)
            }
            _ => true,
        }
    }
    fn parallel_hash(&self) -> bool {
        self.ctx.settings.flag("enable_parallel_hash")
    }
}

fn scan_table(scan: &Node) -> Option<(usize, &Option<Filter>)> {
    match scan {
        Node::SeqScan { table, filter, .. } | Node::IndexScan { table, filter, .. } => Some((*table, filter)),
        _ => None,
    }
}

fn mb(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1_048_576.0)
}

/// Why a scan gets no partial path, in words.
fn why_not_partial(scan: &Node, e: &Elig) -> String {
    let Some((table, filter)) = scan_table(scan) else {
        return "no parallel form of this plan shape".into();
    };
    let t: &Table = &e.ctx.tables[table];
    if t.temporary {
        return format!(
            "table {} is temporary: only the leader can read it (parallel restricted), so it gets no parallel scan",
            t.name
        );
    }
    if e.subplan_parallel(filter) {
        return format!(
            "the filter on {} holds a SubPlan whose own plan uses a Gather (the subquery is big enough for its own parallel plan): the SubPlan is not parallel-safe, so {} is scanned serially (reference §7.4)",
            t.name, t.name
        );
    }
    let wc = e.ctx.scan_workers(scan);
    if wc.workers == 0 {
        if t.parallel_workers == Some(0) {
            return format!("table {} has the storage option parallel_workers = 0: no parallel scan", t.name);
        }
        return format!("table {}: {}", t.name, wc.explanation);
    }
    "pqsim has no parallel form for this plan shape".into()
}

/// SubPlans in plan order, with notes.
fn subplans(n: &Node) -> Vec<(&SubPlan, &Node)> {
    shape::scans(n)
        .into_iter()
        .filter_map(|(s, _)| {
            scan_table(s).and_then(|(_, f)| f.as_ref()).and_then(|f| f.subplan.as_ref()).map(|sp| (sp, s))
        })
        .collect()
}

/// Per SubPlan: (hashed, Workers Planned of its own Gather), and notes.
fn subplan_notes(ctx: &CostCtx, serial: &Node) -> (Vec<bool>, Vec<u32>, Vec<String>) {
    let mut hashed = vec![];
    let mut workers = vec![];
    let mut notes = vec![];
    for (i, (sp, _scan)) in subplans(serial).into_iter().enumerate() {
        let c = ctx.subplan_cost(sp);
        hashed.push(c.hashed);
        let w = costed_gather(&c.plan).and_then(|g| g.details["Workers Planned"].as_u64()).unwrap_or(0) as u32;
        workers.push(w);
        if w > 0 {
            notes.push(format!("SubPlan {} runs its subquery with its own Gather (Workers Planned: {w})", i + 1));
        }
        let bytes = c.plan.rows * (crate::model::maxalign(sp.width) + 24.0);
        let table = &ctx.tables[sp.table].name;
        let hash_mem = ctx.settings.hash_mem_bytes();
        if c.hashed {
            notes.push(format!(
                "SubPlan {} (subquery on {table}) is hashed: {} rows x {} B = {} <= hash_mem {}; every participant builds its own hash table",
                i + 1,
                group(c.plan.rows),
                crate::model::maxalign(sp.width) + 24.0,
                mb(bytes),
                mb(hash_mem)
            ));
        } else {
            notes.push(format!(
                "SubPlan {} (subquery on {table}) is not hashed: {} rows x {} B = {} > hash_mem {}; each outer row rescans the materialized result in the leader and re-runs the subquery in a worker (reference §7.3, §7.4)",
                i + 1,
                group(c.plan.rows),
                crate::model::maxalign(sp.width) + 24.0,
                mb(bytes),
                mb(hash_mem)
            ));
        }
    }
    (hashed, workers, notes)
}

/// Notes on the parallel candidate: parallel-oblivious hash joins and the tables that
/// run in the leader above a pushed-down Gather.
fn candidate_notes(cand: &Node, e: &Elig, out: &mut Vec<String>, restricted: &mut Vec<String>) {
    fn walk(n: &Node, below: bool, e: &Elig, out: &mut Vec<String>, restricted: &mut Vec<String>) {
        match n {
            Node::HashJoin { parallel: false, inner, .. } if below => {
                let scan = shape::driving_scan(inner);
                let why = if !e.parallel_hash() {
                    "enable_parallel_hash is off".to_string()
                } else {
                    why_not_partial(&shape::serial_plan(scan), e)
                };
                let name = scan_table(scan).map(|(t, _)| e.ctx.tables[t].name.clone()).unwrap_or_default();
                out.push(format!(
                    "Hash Join is parallel-oblivious: every participant reads all of {name} and builds its own hash table ({why})"
                ));
            }
            Node::HashJoin { .. } | Node::NestedLoop { .. } if !below => {
                let tables: Vec<usize> = match n {
                    Node::HashJoin { inner, .. } => {
                        shape::scans(inner).into_iter().filter_map(|(s, _)| scan_table(s).map(|x| x.0)).collect()
                    }
                    Node::NestedLoop { inner_table, .. } => vec![*inner_table],
                    _ => vec![],
                };
                for t in tables {
                    let tb = &e.ctx.tables[t];
                    if tb.temporary {
                        restricted.push(format!(
                            "scan of temporary table {}: runs in the leader, the join above it too",
                            tb.name
                        ));
                    }
                }
            }
            _ => {}
        }
        let b = below || n.is_gather();
        for c in n.children() {
            walk(c, b, e, out, restricted);
        }
    }
    walk(cand, false, e, out, restricted);
}

/// The first Gather / Gather Merge node of a costed plan.
fn costed_gather(c: &Costed) -> Option<&Costed> {
    if c.node_type == "Gather" || c.node_type == "Gather Merge" {
        return Some(c);
    }
    c.children.iter().find_map(costed_gather)
}

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

fn client_max_rows_reason(n: u64) -> String {
    format!(
        "the client fetches with a row limit (Execute max_rows = {n}): the executor does not enter parallel mode, so the Gather runs with 0 workers and the leader does everything (reference §11.3)"
    )
}

fn plan_free(sc: &Scenario) -> PlanReport {
    let s = &sc.settings;
    let ctx = CostCtx::new(&sc.tables, s, &sc.plan);
    let e = Elig { ctx: &ctx };
    let given_serial = serial_plan(&sc.plan);
    // A scenario written as a serial plan: try both orders of its inner hash joins, for
    // the serial plan and for the parallel one, as PostgreSQL does. A scenario's own
    // parallel shape is kept as given.
    let variants = if sc.plan.find_gather().is_none() {
        shape::join_order_variants(&given_serial, &|n| ctx.cost(n, None).rel_rows)
    } else {
        vec![given_serial.clone()]
    };
    let cheapest = |plans: Vec<Node>| -> Option<(Node, Costed)> {
        let mut best: Option<(Node, Costed)> = None;
        for p in plans {
            let c = ctx.cost(&p, None);
            if best.as_ref().is_none_or(|(_, b)| c.total < b.total) {
                best = Some((p, c));
            }
        }
        best
    };
    let (serial, serial_c) = cheapest(variants.clone()).expect("at least the plan itself");
    let swapped_note = |chosen: &Node| -> Option<String> {
        (serial_plan(chosen) != given_serial).then(|| {
            "join order differs from the scenario's: the cheaper plan hashes the other side of a hash join (PostgreSQL tries both orders)".to_string()
        })
    };
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
        serial_costed: serial_c.clone(),
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
    let usual = || cheapest(variants.iter().filter_map(|v| shape::parallelize(v, &e)).collect()).map(|(p, _)| p);
    let candidate = match own {
        Some(c) => Some(c),
        None => {
            let u = usual();
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
        Some(cand) => {
            let c = ctx.cost(&cand, None);
            let g = costed_gather(&c).expect("a parallel candidate has a Gather");
            let w = g.details["Workers Planned"].as_u64().unwrap_or(0) as u32;
            let cand = with_workers(&cand, w, false);
            let gather_node = cand.find_gather().expect("gather");
            let driving = shape::driving_scan(gather_node);
            let name = scan_table(driving).map(|(t, _)| ctx.tables[t].name.clone()).unwrap_or_default();
            report.worker_calculation = Some(format!("table {name}, {}", ctx.scan_workers(driving).explanation));
            candidate_notes(&cand, &e, &mut reasons, &mut restricted);
            report.parallel_total_cost = Some(c.total);
            report.parallel_costed = Some(c.clone());
            if serial_c.total > c.total * STD_FUZZ_FACTOR {
                reasons.insert(
                    0,
                    format!(
                        "parallel plan with {w} worker{} is cheaper: total cost {} vs serial {}",
                        if w == 1 { "" } else { "s" },
                        money(c.total),
                        money(serial_c.total)
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
                        money(serial_c.total),
                        money(c.total),
                        if w == 1 { "" } else { "s" }
                    ),
                );
            }
        }
    }

    // debug_parallel_query / force_parallel_mode: a single-copy Gather on top of a
    // parallel-safe serial plan.
    let force = s.text("force_parallel_mode");
    if force != "off" && !report.parallel {
        let unsafe_scan =
            shape::scans(&serial).into_iter().any(|(scan, _)| !e.safe_scan(scan)) || !shape::safe_subtree(&serial, &e);
        if restricted.is_empty() && !unsafe_scan {
            let top = Node::Gather { workers: Some(1), single_copy: true, input: Box::new(serial.clone()) };
            let c = ctx.cost(&top, None);
            reasons.push(format!(
                "force_parallel_mode = {force}: a single-copy Gather with 1 worker runs the whole serial plan (cost {} = {} + parallel_setup_cost + parallel_tuple_cost x rows){}",
                money(c.total),
                money(serial_c.total),
                if force == "regress" {
                    "; EXPLAIN hides it (regress)"
                } else {
                    ""
                }
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
        } else {
            reasons.push(format!(
                "force_parallel_mode = {force} adds no single-copy Gather: the plan's top node is not parallel-safe (it holds a parallel-restricted part)"
            ));
        }
    }

    if report.parallel {
        let (l, text) = explain_launch(report.workers_planned, s, sc.busy_worker_slots);
        report.workers_launched = l;
        report.launch_calculation = Some(text.clone());
        if sc.query.client_max_rows > 0 {
            report.workers_launched = 0;
            reasons.push(client_max_rows_reason(sc.query.client_max_rows));
        } else if l < report.workers_planned {
            reasons.push(format!("only {l} of {} workers can be launched: {text}", report.workers_planned));
        }
    }
    reasons.extend(swapped_note(&report.plan));
    reasons.extend(sp_notes);
    report.reasons = reasons;
    report.restricted_above_gather = restricted;
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AggMode;

    fn table(name: &str, rows: f64, pages: f64) -> Table {
        Table {
            name: name.into(),
            rows,
            width: 36.0,
            pages,
            parallel_workers: None,
            index_pages: None,
            temporary: false,
            columns: vec![],
        }
    }

    fn seq(table: usize, filter: Option<Filter>) -> Node {
        Node::SeqScan { table, parallel: false, filter, width: 36.0, output: vec![] }
    }

    fn count(input: Node) -> Node {
        Node::Aggregate {
            mode: AggMode::Simple,
            groups: 1.0,
            aggregates: 1.0,
            width: 8.0,
            input: Box::new(input),
            output: vec![],
        }
    }

    fn scenario(tables: Vec<Table>, plan: Node, sets: &[(&str, &str)]) -> Scenario {
        Scenario::build("test", tables, plan, sets).unwrap()
    }

    /// The tutorial's testpar at a given size: ~98 rows per page (id int, 64-char text).
    fn testpar(mb: f64) -> Table {
        let pages = (mb * 128.0).round();
        table("testpar", pages * 98.0, pages)
    }

    #[test]
    fn tutorial_size_table() {
        let raised = {
            let mut s = Settings::default();
            s.set("max_parallel_workers_per_gather", "8").unwrap();
            s
        };
        let dflt = Settings::default();
        for (mb, w) in [(8.0, 1), (24.0, 2), (72.0, 3), (216.0, 4), (648.0, 5), (1944.0, 6)] {
            let pages = mb * 128.0;
            assert_eq!(compute_parallel_worker(pages, -1.0, None, &raised), w, "{mb} MB");
            assert_eq!(compute_parallel_worker(pages - 1.0, -1.0, None, &raised), w - 1, "just under {mb} MB");
            assert_eq!(compute_parallel_worker(pages, -1.0, None, &dflt), w.min(2), "{mb} MB default cap");
        }
        // The same through plan(): count(*) on testpar.
        for (mb, cap, w) in [(20.0, "2", 1), (98.0, "2", 2), (98.0, "4", 3), (1944.0, "8", 6)] {
            let sc = scenario(vec![testpar(mb)], count(seq(0, None)), &[("max_parallel_workers_per_gather", cap)]);
            let r = plan(&sc);
            assert!(r.parallel, "{mb} MB: {:?}", r.reasons);
            assert_eq!(r.workers_planned, w, "{mb} MB cap {cap}: {:?}", r.worker_calculation);
            assert_eq!(r.workers_launched, w);
        }
        let r = plan(&scenario(vec![testpar(98.0)], count(seq(0, None)), &[]));
        assert_eq!(
            r.worker_calculation.as_deref(),
            Some("table testpar, heap 12,544 pages: 1,024 -> 1, 3,072 -> 2, 9,216 -> 3; capped by max_parallel_workers_per_gather = 2")
        );
    }

    #[test]
    fn below_threshold_is_serial_with_reason() {
        let r = plan(&scenario(vec![testpar(4.0)], count(seq(0, None)), &[]));
        assert!(!r.parallel);
        assert_eq!(r.workers_planned, 0);
        assert_eq!(r.parallel_total_cost, None);
        assert!(r.reasons[0].contains("min_parallel_table_scan_size"), "{:?}", r.reasons);
        assert!(r.reasons[0].contains("table testpar"), "{:?}", r.reasons);
        let j = r.to_json();
        assert_eq!(j["workers_planned"], 0);
        assert_eq!(j["parallel"], false);
        assert!(j["parallel_total_cost"].is_null());
    }

    #[test]
    fn table_option_bypasses_size_but_not_cap() {
        let mut t = testpar(4.0);
        t.parallel_workers = Some(4);
        let mut r = plan(&scenario(vec![t.clone()], count(seq(0, None)), &[("parallel_setup_cost", "0")]));
        assert!(r.parallel, "{:?}", r.reasons);
        assert_eq!(r.workers_planned, 2, "capped by max_parallel_workers_per_gather");
        assert!(r.worker_calculation.as_ref().unwrap().contains("table option parallel_workers = 4"));
        r = plan(&scenario(
            vec![t.clone()],
            count(seq(0, None)),
            &[("parallel_setup_cost", "0"), ("max_parallel_workers_per_gather", "8")],
        ));
        assert_eq!(r.workers_planned, 4);
        assert_eq!(compute_parallel_worker(10.0, -1.0, Some(3), &Settings::default()), 2);
        // parallel_workers = 0 disables parallel scans of the table.
        let mut big = testpar(500.0);
        big.parallel_workers = Some(0);
        let r = plan(&scenario(vec![big], count(seq(0, None)), &[]));
        assert!(!r.parallel);
        assert!(r.reasons[0].contains("parallel_workers = 0"), "{:?}", r.reasons);
    }

    /// Reference §2.4: t has 28,038 pages and 3,000,000 tuples; `val < 500000` is estimated
    /// at 1,511,482 rows, which EXPLAIN shows as `rows=629784` on the Parallel Seq Scan
    /// (the per-participant estimate, 1,511,482 / 2.4).
    #[test]
    fn reference_cost_example() {
        let filter = Filter {
            text: "(val < 500000)".into(),
            selectivity: 1_511_482.0 / 3_000_000.0,
            operators: 1.0,
            subplan: None,
        };
        let sc = scenario(vec![table("t", 3_000_000.0, 28_038.0)], count(seq(0, Some(filter))), &[]);
        let r = plan(&sc);
        assert!(r.parallel);
        assert_eq!(r.workers_planned, 2);
        let finalize = &r.costed;
        let gather = &finalize.children[0];
        let partial = &gather.children[0];
        let scan = &partial.children[0];
        assert_eq!(scan.display, "Parallel Seq Scan on t");
        assert!((scan.total - 43_663.00).abs() < 1e-6, "{}", scan.total);
        assert_eq!(scan.rows, 629_784.0);
        assert!((partial.total - 45_237.47).abs() < 1e-6, "{}", partial.total);
        assert_eq!(gather.rows, 2.0);
        assert!((gather.startup - 46_237.46).abs() < 1e-6, "{}", gather.startup);
        assert!((gather.total - 46_237.67).abs() < 1e-6, "{}", gather.total);
        assert!((finalize.total - 46_237.685).abs() < 1e-6, "{}", finalize.total);
        // Serial: 28,038 + 0.0125 x 3,000,000 = 65,538; + 0.0025 x 1,511,482 + 0.01.
        assert!((r.serial_total_cost - 69_316.715).abs() < 1e-6, "{}", r.serial_total_cost);
        assert_eq!(r.to_json()["parallel_total_cost"], 46_237.69);

        // Taking 629,784 as the *total* estimate (selectivity 629784/3000000) gives
        // 262,410 rows per participant and a cheaper Partial Aggregate.
        let lit = Filter { text: String::new(), selectivity: 629_784.0 / 3_000_000.0, operators: 1.0, subplan: None };
        let r = plan(&scenario(vec![table("t", 3_000_000.0, 28_038.0)], count(seq(0, Some(lit))), &[]));
        let scan = &r.costed.children[0].children[0].children[0];
        assert!((scan.total - 43_663.00).abs() < 1e-6);
        assert_eq!(scan.rows, 262_410.0);
        assert!((r.costed.children[0].total - 45_319.235).abs() < 1e-6);
    }

    #[test]
    fn serial_wins_when_parallel_is_not_cheaper() {
        // SELECT * of 3M rows: Gather pays 0.1 per row and loses (reference §2.7).
        let sc = scenario(vec![table("t", 3_000_000.0, 28_038.0)], seq(0, None), &[]);
        let r = plan(&sc);
        assert!(!r.parallel);
        assert!(r.parallel_total_cost.unwrap() > r.serial_total_cost);
        assert!(r.reasons[0].starts_with("serial plan is cheaper"), "{:?}", r.reasons);
        // 1 worker with leader participation off: divisor 1, no gain: serial.
        let sc = scenario(vec![testpar(20.0)], count(seq(0, None)), &[("parallel_leader_participation", "off")]);
        let r = plan(&sc);
        assert!(!r.parallel, "{:?}", r.reasons);
    }

    #[test]
    fn fuzz_factor_serial_wins_within_one_percent() {
        // Choose parallel_setup_cost so the parallel plan is 0.5 % cheaper: serial wins.
        let base = scenario(vec![testpar(98.0)], count(seq(0, None)), &[("parallel_setup_cost", "0")]);
        let r0 = plan(&base);
        let gap = r0.serial_total_cost - r0.parallel_total_cost.unwrap();
        let setup_for = |frac: f64| gap - r0.serial_total_cost * frac;
        let sc = scenario(
            vec![testpar(98.0)],
            count(seq(0, None)),
            &[("parallel_setup_cost", &format!("{}", setup_for(0.005)))],
        );
        let r = plan(&sc);
        assert!(r.parallel_total_cost.unwrap() < r.serial_total_cost);
        assert!(!r.parallel, "within 1 %: serial wins");
        let sc = scenario(
            vec![testpar(98.0)],
            count(seq(0, None)),
            &[("parallel_setup_cost", &format!("{}", setup_for(0.02)))],
        );
        assert!(plan(&sc).parallel, "2 % cheaper: parallel wins");
    }

    fn query_variant(f: impl Fn(&mut QueryProps)) -> PlanReport {
        let mut sc = scenario(vec![testpar(98.0)], count(seq(0, None)), &[]);
        f(&mut sc.query);
        plan(&sc)
    }

    type QueryEdit = Box<dyn Fn(&mut QueryProps)>;

    #[test]
    fn query_level_reasons_make_it_serial() {
        let cases: Vec<(QueryEdit, &str)> = vec![
            (Box::new(|q| q.command = "update".into()), "command UPDATE cannot use a parallel plan"),
            (Box::new(|q| q.command = "insert".into()), "command INSERT"),
            (Box::new(|q| q.functions = vec![("nextval".into(), 'u')]), "nextval() is PARALLEL UNSAFE"),
            (Box::new(|q| q.row_locks = true), "FOR UPDATE/SHARE"),
            (Box::new(|q| q.cursor = true), "cursor"),
            (
                Box::new(|q| {
                    q.serializable = true;
                    q.server_version = 11;
                }),
                "SERIALIZABLE",
            ),
        ];
        for (f, text) in cases {
            let r = query_variant(f);
            assert!(!r.parallel, "{text}");
            assert_eq!(r.workers_planned, 0);
            assert_eq!(r.parallel_total_cost, None);
            assert!(r.reasons.iter().any(|x| x.contains(text)), "{text}: {:?}", r.reasons);
        }
        // Allowed: CREATE TABLE AS, SERIALIZABLE on 12+.
        assert!(query_variant(|q| q.command = "create_table_as".into()).parallel);
        assert!(query_variant(|q| q.serializable = true).parallel);
        // max_parallel_workers_per_gather = 0, even with force_parallel_mode.
        let r = plan(&scenario(
            vec![testpar(98.0)],
            count(seq(0, None)),
            &[("max_parallel_workers_per_gather", "0"), ("force_parallel_mode", "on")],
        ));
        assert!(!r.parallel);
        assert!(r.reasons[0].contains("max_parallel_workers_per_gather = 0"));
        // Unsafe + force mode: still serial.
        let mut sc = scenario(vec![testpar(98.0)], count(seq(0, None)), &[("force_parallel_mode", "on")]);
        sc.query.cursor = true;
        assert!(!plan(&sc).parallel);
    }

    #[test]
    fn restricted_constructs_stay_above_gather() {
        let r = query_variant(|q| q.functions = vec![("random".into(), 'r')]);
        assert!(r.parallel);
        assert!(r.restricted_above_gather[0].contains("random() is PARALLEL RESTRICTED"));
        let r = query_variant(|q| q.materialized_cte = true);
        assert!(r.parallel);
        assert!(r.restricted_above_gather[0].contains("materialized CTE"));
        let r = query_variant(|q| q.correlated_subplan = true);
        assert!(r.restricted_above_gather[0].contains("correlated SubPlan"));
    }

    #[test]
    fn temporary_tables() {
        let mut t = testpar(98.0);
        t.temporary = true;
        let r = plan(&scenario(vec![t.clone()], count(seq(0, None)), &[]));
        assert!(!r.parallel);
        assert!(r.reasons[0].contains("temporary"), "{:?}", r.reasons);
        // force_parallel_mode adds no single-copy Gather over a temp table scan.
        let r = plan(&scenario(vec![t.clone()], count(seq(0, None)), &[("force_parallel_mode", "on")]));
        assert!(!r.parallel, "{:?}", r.reasons);
        // A temporary table on the inner side of a join: the Gather goes below the join.
        let big = table("big", 10_000_000.0, 100_000.0);
        let join = Node::HashJoin {
            join_type: "Inner".into(),
            parallel: false,
            rows_per_outer: 0.001,
            width: 16.0,
            outer: Box::new(seq(
                0,
                Some(Filter { text: String::new(), selectivity: 0.01, operators: 1.0, subplan: None }),
            )),
            inner: Box::new(seq(1, None)),
            cond: String::new(),
            output: vec![],
        };
        let mut tmp = table("tmp", 1000.0, 10.0);
        tmp.temporary = true;
        let r = plan(&scenario(vec![big, tmp], count(join), &[]));
        assert!(r.parallel, "{:?}", r.reasons);
        match &r.plan {
            Node::Aggregate { mode: AggMode::Simple, input, .. } => match &**input {
                Node::HashJoin { outer, .. } => assert!(matches!(**outer, Node::Gather { .. })),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
        assert!(r.restricted_above_gather.iter().any(|x| x.contains("temporary table tmp")));
    }

    #[test]
    fn force_parallel_mode_single_copy() {
        // The tutorial: 50,000 rows in 521 pages; Seq Scan 1021.00, Gather 1000.00..7021.00.
        let t = table("testpar", 50_000.0, 521.0);
        let r = plan(&scenario(vec![t.clone()], seq(0, None), &[]));
        assert!(!r.parallel);
        assert!((r.serial_total_cost - 1021.0).abs() < 1e-9);
        let r = plan(&scenario(vec![t.clone()], seq(0, None), &[("force_parallel_mode", "on")]));
        assert!(r.parallel && r.single_copy);
        assert_eq!(r.workers_planned, 1);
        assert!((r.costed.startup - 1000.0).abs() < 1e-9);
        assert!((r.costed.total - 7021.0).abs() < 1e-9);
        assert!(matches!(r.plan, Node::Gather { single_copy: true, workers: Some(1), .. }));
        assert!(!r.explain_hidden);
        let r = plan(&scenario(vec![t.clone()], seq(0, None), &[("debug_parallel_query", "regress")]));
        assert!(r.single_copy && r.explain_hidden);
        // A restricted function makes the top node unsafe: no single-copy Gather.
        let mut sc = scenario(vec![t], seq(0, None), &[("force_parallel_mode", "on")]);
        sc.query.functions = vec![("random".into(), 'r')];
        assert!(!plan(&sc).parallel);
        // When the real parallel plan wins, force mode adds nothing.
        let r = plan(&scenario(vec![testpar(98.0)], count(seq(0, None)), &[("force_parallel_mode", "on")]));
        assert!(r.parallel && !r.single_copy);
        assert_eq!(r.workers_planned, 2);
    }

    #[test]
    fn launched_below_planned() {
        let s = Settings::default();
        assert_eq!(workers_launched(8, &s, 0), 7, "launcher holds a slot");
        let mut s2 = s.clone();
        s2.set("max_logical_replication_workers", "0").unwrap();
        assert_eq!(workers_launched(8, &s2, 0), 8);
        let mut s3 = s.clone();
        s3.set("max_parallel_workers", "3").unwrap();
        assert_eq!(workers_launched(8, &s3, 0), 3);
        assert_eq!(workers_launched(2, &s, 6), 1);
        assert_eq!(workers_launched(2, &s, 7), 0);
        assert_eq!(workers_launched(2, &s, 100), 0, "never negative");
        assert_eq!(workers_launched(2, &s3, 2), 1);
        // Through plan(): max_parallel_workers lowered, busy slots.
        let mut sc = scenario(vec![testpar(98.0)], count(seq(0, None)), &[("max_parallel_workers", "1")]);
        let r = plan(&sc);
        assert_eq!((r.workers_planned, r.workers_launched), (2, 1));
        assert!(r.reasons.iter().any(|x| x.contains("only 1 of 2 workers")));
        sc.settings.set("max_parallel_workers", "8").unwrap();
        sc.busy_worker_slots = 6;
        let r = plan(&sc);
        assert_eq!((r.workers_planned, r.workers_launched), (2, 1));
        // Execution-time fallback: client row limit.
        sc.busy_worker_slots = 0;
        sc.query.client_max_rows = 100;
        let r = plan(&sc);
        assert!(r.parallel);
        assert_eq!((r.workers_planned, r.workers_launched), (2, 0));
        assert!(r.reasons.iter().any(|x| x.contains("max_rows = 100")));
    }

    #[test]
    fn pinned_workers_are_used_as_given() {
        let given = Node::Aggregate {
            mode: AggMode::Finalize,
            groups: 1.0,
            aggregates: 1.0,
            width: 8.0,
            output: vec![],
            input: Box::new(Node::Gather {
                workers: Some(6),
                single_copy: false,
                input: Box::new(Node::Aggregate {
                    mode: AggMode::Partial,
                    groups: 1.0,
                    aggregates: 1.0,
                    width: 8.0,
                    output: vec![],
                    input: Box::new(Node::SeqScan {
                        table: 0,
                        parallel: true,
                        filter: None,
                        width: 36.0,
                        output: vec![],
                    }),
                }),
            }),
        };
        let mut sc = scenario(vec![testpar(98.0)], given, &[]);
        sc.pinned_workers = true;
        let r = plan(&sc);
        assert!(r.pinned && r.parallel);
        assert_eq!(r.workers_planned, 6, "not capped by max_parallel_workers_per_gather");
        assert_eq!(r.workers_launched, 6);
        assert!(r.reasons[0].contains("pinned by the scenario at 6"));
        assert!(r.reasons[1].contains("would plan 2 workers"), "{:?}", r.reasons);
    }

    #[test]
    fn scenario_parallel_shape_is_kept_and_workers_filled() {
        let given = Node::Aggregate {
            mode: AggMode::Finalize,
            groups: 1.0,
            aggregates: 1.0,
            width: 8.0,
            output: vec![],
            input: Box::new(Node::Gather {
                workers: None,
                single_copy: false,
                input: Box::new(Node::Aggregate {
                    mode: AggMode::Partial,
                    groups: 1.0,
                    aggregates: 1.0,
                    width: 8.0,
                    output: vec![],
                    input: Box::new(Node::SeqScan {
                        table: 0,
                        parallel: true,
                        filter: None,
                        width: 36.0,
                        output: vec![],
                    }),
                }),
            }),
        };
        let sc = scenario(vec![testpar(98.0)], given.clone(), &[]);
        let r = plan(&sc);
        assert_eq!(r.plan, with_workers(&given, 2, false));
        assert_eq!(serial_plan(&given), count(seq(0, None)));
    }

    #[test]
    fn parallel_hash_needs_a_partial_inner() {
        let outer = table("o", 15_000_000.0, 100_000.0);
        let join = |inner_pages: f64| {
            let inner = table("i", inner_pages * 100.0, inner_pages);
            let j = Node::HashJoin {
                join_type: "Inner".into(),
                parallel: false,
                rows_per_outer: 0.1,
                width: 16.0,
                outer: Box::new(seq(
                    0,
                    Some(Filter { text: String::new(), selectivity: 0.01, operators: 1.0, subplan: None }),
                )),
                inner: Box::new(seq(1, None)),
                cond: String::new(),
                output: vec![],
            };
            plan(&scenario(vec![outer.clone(), inner], count(j), &[("max_parallel_workers_per_gather", "4")]))
        };
        let r = join(50_000.0);
        assert!(r.parallel);
        assert_eq!(r.workers_planned, 4, "the outer (driving) scan's count");
        let hj = &r.costed.children[0].children[0].children[0];
        assert_eq!(hj.display, "Parallel Hash Join");
        // The inner Parallel Seq Scan is costed with its own count (50,000 pages -> 4).
        let inner_scan = &hj.children[1].children[0];
        assert_eq!(inner_scan.parallel_workers, 4);
        let r = join(500.0);
        assert!(r.parallel);
        let hj = &r.costed.children[0].children[0].children[0];
        assert_eq!(hj.display, "Hash Join");
        assert!(r.reasons.iter().any(|x| x.contains("parallel-oblivious")), "{:?}", r.reasons);
    }

    #[test]
    fn subplan_hashing_and_parallel_subquery_trap() {
        let sp = |rows: f64| Filter {
            text: "(NOT (hashed SubPlan 1))".into(),
            selectivity: 0.5,
            operators: 1.0,
            subplan: Some(SubPlan { gather_workers: None, table: 1, width: 8.0, rows, text: String::new() }),
        };
        let outer = table("o", 8_000_000.0, 60_000.0);
        let inner = table("s", 15_000_000.0, 90_000.0);
        let r = plan(&scenario(vec![outer.clone(), inner.clone()], count(seq(0, Some(sp(200_000.0)))), &[]));
        assert_eq!(r.subplans_hashed, vec![true]);
        let r = plan(&scenario(vec![outer.clone(), inner.clone()], count(seq(0, Some(sp(15_000_000.0)))), &[]));
        assert_eq!(r.subplans_hashed, vec![false]);
        // A selective subquery on a big table gets its own Gather: the outer scan is serial.
        let r = plan(&scenario(vec![outer, inner], count(seq(0, Some(sp(20_000.0)))), &[]));
        assert!(!r.parallel, "{:?}", r.reasons);
        assert!(r.reasons[0].contains("SubPlan whose own plan uses a Gather"), "{:?}", r.reasons);
        assert_eq!(r.subplan_workers_planned, vec![2]);
    }

    #[test]
    fn text_and_json_render() {
        let r = plan(&scenario(vec![testpar(98.0)], count(seq(0, None)), &[]));
        let text = r.render_text();
        assert!(text.contains("Workers Planned: 2 (table testpar, heap 12,544 pages"), "{text}");
        assert!(text.contains("->  Gather"), "{text}");
        assert!(text.contains("Parallel Seq Scan on testpar"), "{text}");
        let j = r.to_json();
        let keys: Vec<&String> = j.as_object().unwrap().keys().collect();
        assert_eq!(&keys[..5], ["workers_planned", "parallel", "reasons", "serial_total_cost", "parallel_total_cost"]);
        assert_eq!(j["plan"]["Node Type"], "Aggregate");
        assert_eq!(j["plan"]["Plans"][0]["Workers Planned"], 2);
    }
}

/// The planner's decision for a scenario: the plan to run and how many workers it gets.
pub struct Decision {
    pub plan: Node,
    pub workers_planned: u32,
    pub workers_launched: u32,
    pub json: Value,
    pub text: String,
}

pub fn decide(sc: &Scenario) -> Decision {
    let rep = plan(sc);
    // The planner's count also knows the execution-time fallbacks (client max_rows, ...).
    let mut launched = rep.workers_launched;
    let mut planned = rep.workers_planned;
    let mut json = rep.to_json();
    let mut text = rep.render_text();
    let mut plan = rep.plan.clone();
    // A serial plan whose hashed SubPlan runs its subquery with its own Gather (§7.4): the
    // simulation runs that Gather while the leader builds the hash table.
    if !rep.parallel {
        let sub_workers = rep.subplan_workers_planned.first().copied().unwrap_or(0);
        let hashed = rep.subplans_hashed.first().copied().unwrap_or(false);
        if sub_workers > 0 && hashed {
            plan = shape::map_subplans(&plan, &|sp: &crate::model::SubPlan| crate::model::SubPlan {
                gather_workers: Some(sub_workers),
                ..sp.clone()
            });
            launched = workers_launched(sub_workers, &sc.settings, sc.busy_worker_slots);
            // EXPLAIN prints this Gather's Workers Planned (under SubPlan 1).
            planned = sub_workers;
            json["workers_planned"] = json!(sub_workers);
            json["parallel"] = json!(true);
            text = format!(
                "Workers Planned: {sub_workers} (the Gather of SubPlan 1's subquery; the main plan is serial), Workers Launched: {launched}\n{text}"
            );
        }
    }
    Decision { plan, workers_planned: planned, workers_launched: launched, json, text }
}
