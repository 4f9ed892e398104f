//! A costed plan node, shaped like an EXPLAIN node, and its EXPLAIN text rendering. The JSON
//! form lives in `report::plan` (only report/ and commands/ build JSON).

/// A plan node with PostgreSQL's cost estimates, shaped like an EXPLAIN node.
#[derive(Debug, Clone, PartialEq)]
pub struct Costed {
    /// EXPLAIN's "Node Type" ("Seq Scan", "Aggregate", "Gather", "Hash", ...).
    pub node_type: String,
    /// The name EXPLAIN's text format prints ("Parallel Seq Scan on t",
    /// "Finalize HashAggregate", "Gather").
    pub display: String,
    pub startup: f64,
    pub total: f64,
    /// EXPLAIN's "Plan Rows": per participant below a Gather for partial paths.
    pub rows: f64,
    pub width: f64,
    /// The path's `parallel_workers` (0 = not a partial path).
    pub parallel_workers: u32,
    pub parallel_aware: bool,
    /// Further EXPLAIN keys with text values, in EXPLAIN's order ("Relation Name",
    /// "Filter", "Strategy", "Partial Mode", "Join Type", "Hash Cond", ...).
    pub details: Vec<(&'static str, String)>,
    /// A Gather's or Gather Merge's "Workers Planned".
    pub workers_planned: Option<u32>,
    /// A single-copy Gather's "Single Copy".
    pub single_copy: bool,
    pub children: Vec<Costed>,
    /// The relation-level row estimate (`rel->rows`), for Gather's row count.
    pub rel_rows: f64,
    /// The top node of a SubPlan's plan, under the node whose qual holds it: its name
    /// (`SubPlan 1`), which EXPLAIN prints above it (and as "Subplan Name").
    pub subplan_name: Option<String>,
}

impl Costed {
    /// A node with no EXPLAIN details and no children yet.
    pub fn new(node_type: &str, display: impl Into<String>, startup: f64, total: f64, rows: f64, width: f64) -> Self {
        Costed {
            node_type: node_type.into(),
            display: display.into(),
            startup,
            total,
            rows,
            width,
            parallel_workers: 0,
            parallel_aware: false,
            details: vec![],
            workers_planned: None,
            single_copy: false,
            children: vec![],
            rel_rows: rows,
            subplan_name: None,
        }
    }

    /// Add an EXPLAIN key with a text value (replacing an earlier value of the same key).
    pub fn detail(&mut self, key: &'static str, value: impl Into<String>) {
        let value = value.into();
        match self.details.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.details.push((key, value)),
        }
    }

    /// The first Gather / Gather Merge node of this costed plan.
    pub fn find_gather(&self) -> Option<&Costed> {
        if self.node_type == "Gather" || self.node_type == "Gather Merge" {
            return Some(self);
        }
        self.children.iter().find_map(Costed::find_gather)
    }

    /// EXPLAIN-style text lines, indented like PostgreSQL's.
    pub fn explain_lines(&self, out: &mut Vec<String>, indent: usize, first: bool) {
        let pad = " ".repeat(indent);
        let arrow = if first { "" } else { "->  " };
        out.push(format!(
            "{pad}{arrow}{}  (cost={:.2}..{:.2} rows={:.0} width={:.0})",
            self.display, self.startup, self.total, self.rows, self.width
        ));
        let inner_pad = " ".repeat(indent + if first { 2 } else { 6 });
        for (k, text) in &self.details {
            if matches!(*k, "Partial Mode" | "Strategy" | "Relation Name") {
                continue;
            }
            if *k == "Join Type" && text == "Inner" {
                continue;
            }
            out.push(format!("{inner_pad}{k}: {text}"));
        }
        if let Some(w) = self.workers_planned {
            out.push(format!("{inner_pad}Workers Planned: {w}"));
        }
        if self.single_copy {
            out.push(format!("{inner_pad}Single Copy: true"));
        }
        // Children first, then each SubPlan under its name at the details' column, its plan's
        // arrow 2 further (explain.c's layout).
        let col = indent + if first { 2 } else { 6 };
        for c in self.children.iter().filter(|c| c.subplan_name.is_none()) {
            c.explain_lines(out, col, false);
        }
        for c in &self.children {
            if let Some(name) = &c.subplan_name {
                out.push(format!("{inner_pad}{name}"));
                c.explain_lines(out, col + 2, false);
            }
        }
    }
}

/// How one SubPlan (an uncorrelated `x [NOT] IN (SELECT ...)`) is planned.
#[derive(Debug, Clone, PartialEq)]
pub struct SubPlanCost {
    /// `useHashTable` (§7.1).
    pub hashed: bool,
    /// The subquery's own plan contains a Gather (then the SubPlan is not parallel-safe
    /// and the qual holding it is parallel-restricted, §7.4).
    pub parallel_inner: bool,
    /// Charged once (hash build, or the Material's startup).
    pub startup: f64,
    /// Charged per evaluation (outer row).
    pub per_call: f64,
    /// The subquery's plan (with Material on top when not hashed).
    pub plan: Costed,
}
