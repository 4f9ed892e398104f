//! EXPLAIN nodes -> model nodes (and the same nodes as the TOML writer shows them, with
//! where each number came from). Scans are in [`super::scan`].

use super::context::{written_width, Cx, TableAcc};
use super::fields::{f, fc, output_field, sig6, tnum, tstr, TNode};
use super::text::{count_aggregates, output_list};
use super::{TableStats, SUPPORTED};
use crate::error::{Error, Result};
use crate::model::schema::Column;
use crate::model::{heap_pages, AggMode, JoinType, Node, Table};
use crate::pg::ExplainNode;

/// A converted node: the model's node and its written form.
pub struct Conv {
    pub node: Node,
    pub toml: TNode,
}

impl Cx<'_> {
    pub fn stats(&self, table: &str) -> Option<&TableStats> {
        self.opts.table_stats.get(table)
    }

    pub fn loops(&self, n: &ExplainNode) -> Option<f64> {
        if !self.analyze {
            return None;
        }
        match n.actual_loops {
            Some(l) if l > 0 && self.whole_per_loop => Some(1.0),
            Some(l) if l > 0 => Some(l as f64),
            _ => None,
        }
    }

    /// Rows a node returned over all loops (ANALYZE), or the estimate for all participants.
    pub fn rows_out_total(&self, n: &ExplainNode, divisor: f64) -> f64 {
        match (self.loops(n), n.actual_rows) {
            (Some(l), Some(r)) => r * l,
            _ => n.plan_rows * divisor,
        }
    }

    pub fn unsupported(&self, n: &ExplainNode, path: &[String], why: &str) -> Error {
        Error::input(format!(
            "unsupported plan node \"{}\" at {}{}{} (pqsim's model supports: {SUPPORTED})",
            n.display_name(),
            path.join(" > "),
            if why.is_empty() { "" } else { ": " },
            why
        ))
    }

    pub fn note_table(&mut self, name: &str, rows: f64, rows_note: String, pages: Option<(f64, String)>) {
        let st = self.stats(name).cloned().unwrap_or_default();
        if let Some(t) = self.tables.iter_mut().find(|t| t.name == name) {
            // Seen twice (self-join, SubPlan on the same table): keep the larger row count,
            // the first measured page count.
            if rows > t.rows && st.rows.is_none() {
                t.rows = rows;
                t.rows_note = rows_note;
            }
            if t.pages.is_none() {
                if let Some((p, note)) = pages {
                    t.pages = Some(p);
                    t.pages_note = note;
                }
            }
            return;
        }
        let (rows, rows_note) = match st.rows {
            Some(r) => (r, "catalog statistics (pg_class.reltuples) given to the importer".to_string()),
            None => (rows, rows_note),
        };
        let (pages, pages_note) = match (st.pages, pages) {
            (Some(p), _) => (Some(p), "catalog statistics (pg_class.relpages) given to the importer".to_string()),
            (None, Some((p, note))) => (Some(p), note),
            (None, None) => (None, String::new()),
        };
        self.tables.push(TableAcc {
            name: name.to_string(),
            rows,
            rows_note,
            pages,
            pages_note,
            width: st.width,
            parallel_workers: st.parallel_workers,
            index_pages: st.index_pages,
            index: None,
            columns: st.columns.iter().map(exact_column).collect(),
            in_shared_buffers: st.in_shared_buffers.map(|s| (s * 1e4).round() / 1e4),
            row_length_sd: st.row_length_sd.map(|s| (s * 10.0).round() / 10.0),
            row_stride_changes: st.row_stride_changes.map(|s| (s * 1e3).round() / 1e3),
            buffers_in_order: st.buffers_in_order.map(|s| (s * 1e3).round() / 1e3),
            buffer_windows: st.buffer_windows,
        });
    }

    pub fn node(&mut self, n: &ExplainNode, divisor: f64, path: &[String]) -> Result<Conv> {
        let mut here = path.to_vec();
        here.push(n.display_name());
        for c in n.plans.iter().filter(|c| c.parent_relationship.as_deref() == Some("InitPlan")) {
            self.init_plan(c, &here)?;
        }
        let main: Vec<&ExplainNode> = n
            .plans
            .iter()
            .filter(|c| !matches!(c.parent_relationship.as_deref(), Some("SubPlan") | Some("InitPlan")))
            .collect();
        let has_subplans = n.plans.iter().any(|c| c.parent_relationship.as_deref() == Some("SubPlan"));
        if has_subplans && !matches!(n.node_type.as_str(), "Seq Scan" | "Index Scan" | "Index Only Scan") {
            return Err(self.unsupported(n, &here, "SubPlans are modelled only in a scan's filter"));
        }
        match n.node_type.as_str() {
            "Seq Scan" | "Index Scan" | "Index Only Scan" => self.scan(n, divisor, &here),
            "Aggregate" => self.aggregate(n, &main, divisor, &here),
            "Sort" => {
                let child = self.only_child(n, &main, &here)?;
                let keys: Vec<String> = n.sort_key.iter().map(|k| tstr(k)).collect();
                let fields = vec![f("node", tstr("Sort")), f("keys", format!("[{}]", keys.join(", ")))];
                let c = self.node(child, divisor, &here)?;
                let node = Node::Sort { keys: n.sort_key.clone(), input: Box::new(c.node) };
                Ok(Conv { node, toml: TNode { fields, subplan: None, children: vec![("input", c.toml)] } })
            }
            "Limit" => {
                let child = self.only_child(n, &main, &here)?;
                let count = n.plan_rows.max(1.0);
                let fields = vec![
                    f("node", tstr("Limit")),
                    fc(
                        "count",
                        tnum(count),
                        "Plan Rows of the Limit (EXPLAIN does not print the LIMIT value; this is min(limit, input estimate))",
                    ),
                ];
                let c = self.node(child, divisor, &here)?;
                let node = Node::Limit { count: sig6(count), input: Box::new(c.node) };
                Ok(Conv { node, toml: TNode { fields, subplan: None, children: vec![("input", c.toml)] } })
            }
            "Gather" | "Gather Merge" => self.gather(n, &main, &here),
            "Hash Join" => self.hash_join(n, &main, divisor, &here),
            "Nested Loop" => self.nested_loop(n, &main, divisor, &here),
            "Merge Join" => self.merge_join(n, &main, divisor, &here),
            "Append" => self.append(n, &main, divisor, &here),
            "Incremental Sort" => {
                self.warnings.push(format!(
                    "{}: modelled as a full Sort (its presorted groups are not modelled)",
                    here.join(" > ")
                ));
                let child = self.only_child(n, &main, &here)?;
                let keys: Vec<String> = n.sort_key.iter().map(|k| tstr(k)).collect();
                let fields = vec![f("node", tstr("Sort")), f("keys", format!("[{}]", keys.join(", ")))];
                let c = self.node(child, divisor, &here)?;
                let node = Node::Sort { keys: n.sort_key.clone(), input: Box::new(c.node) };
                Ok(Conv { node, toml: TNode { fields, subplan: None, children: vec![("input", c.toml)] } })
            }
            "Materialize" | "Memoize" if main.len() == 1 => {
                self.warnings.push(format!("{}: modelled as pass-through", here.join(" > ")));
                self.node(main[0], divisor, &here)
            }
            "Subquery Scan" | "Result" => {
                if main.len() != 1 {
                    return Err(self.unsupported(n, &here, "only a pass-through with one input is modelled"));
                }
                if n.filter.is_some() || n.extra.contains_key("One-Time Filter") {
                    self.warnings
                        .push(format!("{}: its filter is ignored (treated as pass-through)", here.join(" > ")));
                }
                self.node(main[0], divisor, &here)
            }
            _ => Err(self.unsupported(n, &here, "")),
        }
    }

    fn aggregate(&mut self, n: &ExplainNode, main: &[&ExplainNode], divisor: f64, here: &[String]) -> Result<Conv> {
        let child = self.only_child(n, main, here)?;
        let (mode, agg_mode) = match n.partial_mode.as_deref() {
            Some("Partial") => ("Partial", AggMode::Partial),
            Some("Finalize") => ("Finalize", AggMode::Finalize),
            _ => ("Simple", AggMode::Simple),
        };
        let mut fields = vec![f("node", tstr("Aggregate")), f("mode", tstr(mode))];
        let mut groups = 1.0;
        if n.strategy.as_deref() != Some("Plain") {
            let (g, note) = match (self.loops(n), n.actual_rows, self.in_gather) {
                (Some(_), Some(r), true) => (r.max(1.0), "Actual Rows (per participant)"),
                (Some(_), Some(r), false) => (r.max(1.0), "Actual Rows"),
                (_, _, true) => (n.plan_rows.max(1.0), "Plan Rows (per participant)"),
                _ => (n.plan_rows.max(1.0), "Plan Rows"),
            };
            fields.push(fc("groups", tnum(g), note));
            groups = sig6(g);
        }
        let out = output_list(n).unwrap_or_default();
        let aggregates = match output_list(n) {
            Some(out) => {
                let k = count_aggregates(&out).max(1);
                fields.push(fc("aggregates", tnum(k as f64), "aggregate calls in the VERBOSE Output list"));
                k as f64
            }
            None => {
                fields.push(fc("aggregates", "1".into(), "assumed: EXPLAIN VERBOSE would list them"));
                1.0
            }
        };
        fields.push(fc("width", tnum(n.plan_width as f64), "Plan Width"));
        if n.extra.contains_key("Filter") || n.filter.is_some() {
            self.warnings.push(format!("{}: HAVING filter ignored", here.join(" > ")));
        }
        let batches = n.extra.get("HashAgg Batches").and_then(|v| v.as_f64()).unwrap_or(0.0);
        let disk = n.extra.get("Disk Usage").and_then(|v| v.as_f64()).unwrap_or(0.0);
        if batches > 1.0 || disk > 0.0 {
            self.warnings.push(format!(
                "{}: the hash table spilled to disk ({batches} batches, {disk} kB): modelled in memory (spill not modelled)",
                here.join(" > ")
            ));
        }
        fields.extend(output_field(&out));
        let c = self.node(child, divisor, here)?;
        let node = Node::Aggregate {
            mode: agg_mode,
            groups,
            aggregates,
            width: n.plan_width as f64,
            input: Box::new(c.node),
            output: out,
        };
        Ok(Conv { node, toml: TNode { fields, subplan: None, children: vec![("input", c.toml)] } })
    }

    fn gather(&mut self, n: &ExplainNode, main: &[&ExplainNode], here: &[String]) -> Result<Conv> {
        self.gathers += 1;
        let child = self.only_child(n, main, here)?;
        let w = n.workers_planned.unwrap_or(0);
        if w > 1024 {
            return Err(self.unsupported(
                n,
                here,
                "Workers Planned above 1024 (max_parallel_workers_per_gather's limit)",
            ));
        }
        let single = n.single_copy.unwrap_or(false);
        let leader = self.gucs.flag("parallel_leader_participation");
        // costsize.c:get_parallel_divisor: per-participant estimates below the Gather.
        let div = if single {
            1.0
        } else {
            let mut d = w as f64;
            if leader {
                d += (1.0 - 0.3 * w as f64).max(0.0);
            }
            d.max(1.0)
        };
        let mut fields = vec![f("node", tstr(&n.node_type)), fc("workers", w.to_string(), "Workers Planned")];
        if single {
            fields.push(fc("single_copy", "true".into(), "Single Copy (force_parallel_mode / debug_parallel_query)"));
        }
        if let Some(l) = n.workers_launched {
            if l < w {
                self.warnings.push(format!(
                    "{}: {l} of {w} workers were launched in the measured run; the scenario plans {w} (use --set max_parallel_workers=... to reproduce)",
                    here.join(" > ")
                ));
            }
        }
        self.in_gather = true;
        let c = self.node(child, div, here);
        self.in_gather = false;
        let c = c?;
        // PostgreSQL puts a Gather only over a partial path (or a single-copy one): one with
        // a parallel-aware node. Anything else is not a PostgreSQL 15 plan (found by fuzzing).
        if !single && !c.node.has_parallel_aware() {
            return Err(self.unsupported(
                n,
                here,
                "a Gather that is not Single Copy needs a parallel-aware node below it (Parallel Aware: true)",
            ));
        }
        if n.node_type == "Gather Merge" && single {
            return Err(self.unsupported(n, here, "Gather Merge cannot be Single Copy"));
        }
        let input = Box::new(c.node);
        let node = if n.node_type == "Gather" {
            Node::Gather { workers: Some(w), single_copy: single, input }
        } else {
            Node::GatherMerge { workers: Some(w), input }
        };
        Ok(Conv { node, toml: TNode { fields, subplan: None, children: vec![("input", c.toml)] } })
    }

    fn only_child<'n>(&self, n: &ExplainNode, main: &[&'n ExplainNode], path: &[String]) -> Result<&'n ExplainNode> {
        match main {
            [one] => Ok(one),
            _ => Err(self.unsupported(n, path, &format!("expected one input, found {}", main.len()))),
        }
    }

    fn child_by<'n>(&self, main: &[&'n ExplainNode], rel: &str) -> Option<&'n ExplainNode> {
        main.iter().copied().find(|c| c.parent_relationship.as_deref() == Some(rel))
    }

    fn hash_join(&mut self, n: &ExplainNode, main: &[&ExplainNode], divisor: f64, path: &[String]) -> Result<Conv> {
        let (Some(outer), Some(hash)) = (self.child_by(main, "Outer"), self.child_by(main, "Inner")) else {
            return Err(self.unsupported(n, path, "expected an Outer input and an Inner Hash"));
        };
        if hash.node_type != "Hash" || hash.plans.len() != 1 {
            return Err(self.unsupported(n, path, "the inner side must be a Hash node with one input"));
        }
        let mut hpath = path.to_vec();
        hpath.push(hash.display_name());
        let parallel = hash.parallel_aware || n.parallel_aware;
        let out = self.rows_out_total(n, divisor);
        let outer_rows = self.rows_out_total(outer, divisor);
        let rpo = if outer_rows > 0.0 { out / outer_rows } else { 0.0 };
        let src = if self.loops(n).is_some() { "Actual Rows x Loops" } else { "Plan Rows" };
        if n.extra.contains_key("Join Filter") {
            self.warnings.push(format!("{}: Join Filter ignored", path.join(" > ")));
        }
        let mut fields = vec![
            f("node", tstr("Hash Join")),
            fc(
                "parallel",
                parallel.to_string(),
                if parallel { "Parallel Hash: one shared table" } else { "each participant builds its own hash table" },
            ),
            f("join_type", tstr(n.join_type.as_deref().unwrap_or("Inner"))),
            fc("rows_per_outer", tnum(rpo), format!("join rows / outer rows ({src})")),
            fc("width", tnum(n.plan_width as f64), "Plan Width"),
        ];
        if let Some(c) = &n.hash_cond {
            fields.push(f("cond", tstr(c)));
        }
        fields.extend(output_field(&output_list(n).unwrap_or_default()));
        let o = self.node(outer, divisor, path)?;
        let i = self.node(&hash.plans[0], divisor, &hpath)?;
        let node = Node::HashJoin {
            join_type: self.join_type(n, path)?,
            parallel,
            rows_per_outer: sig6(rpo),
            width: n.plan_width as f64,
            outer: Box::new(o.node),
            inner: Box::new(i.node),
            cond: n.hash_cond.clone().unwrap_or_default(),
            output: output_list(n).unwrap_or_default(),
        };
        Ok(Conv { node, toml: TNode { fields, subplan: None, children: vec![("outer", o.toml), ("inner", i.toml)] } })
    }

    fn nested_loop(&mut self, n: &ExplainNode, main: &[&ExplainNode], divisor: f64, path: &[String]) -> Result<Conv> {
        let (Some(outer), Some(inner)) = (self.child_by(main, "Outer"), self.child_by(main, "Inner")) else {
            return Err(self.unsupported(n, path, "expected an Outer and an Inner input"));
        };
        // Memoize (a cache of inner results per outer key) and Materialize (the inner rows kept
        // in memory for rescans) are not modelled: the inner scan runs on every outer row.
        let mut inner = inner;
        while matches!(inner.node_type.as_str(), "Memoize" | "Materialize") && inner.plans.len() == 1 {
            self.warnings.push(format!(
                "{}: {} modelled as its inner {} on every outer row (the cache / rescans in memory are not modelled)",
                path.join(" > "),
                inner.node_type,
                inner.plans[0].display_name()
            ));
            inner = &inner.plans[0];
        }
        if !matches!(inner.node_type.as_str(), "Index Scan" | "Index Only Scan" | "Seq Scan") || !inner.plans.is_empty()
        {
            return Err(self.unsupported(
                n,
                path,
                &format!(
                    "only a Nested Loop whose inner side is an Index Scan is modelled (inner: {})",
                    inner.display_name()
                ),
            ));
        }
        let Some(table) = inner.relation_name.clone().filter(|t| !t.is_empty()) else {
            return Err(self.unsupported(inner, path, "index scan without a relation name"));
        };
        let (rpo, src) = match (self.loops(inner), inner.actual_rows) {
            (Some(_), Some(r)) => (r, "inner Actual Rows per loop"),
            _ => (inner.plan_rows, "inner Plan Rows per loop"),
        };
        if inner.filter.is_some() || n.extra.contains_key("Join Filter") {
            self.warnings.push(format!("{}: filters on the inner side / Join Filter ignored", path.join(" > ")));
        }
        let o = self.node(outer, divisor, path)?;
        let outer_rows = self.rows_out_total(outer, divisor);
        let est_rows = (outer_rows * rpo).max(inner.plan_rows);
        if self.stats(&table).and_then(|s| s.rows).is_none() {
            self.warnings.push(format!(
                "table {table}: row count unknown (only probed through its index); assumed {est_rows:.0} (give --table {table}.rows=N)"
            ));
        }
        self.note_table(&table, est_rows, "unknown: outer rows x rows per lookup (lower bound)".into(), None);
        let mut fields = vec![
            f("node", tstr("Nested Loop")),
            f("join_type", tstr(n.join_type.as_deref().unwrap_or("Inner"))),
            f("inner_table", tstr(&table)),
            fc("rows_per_outer", tnum(rpo), src),
            fc("width", tnum(n.plan_width as f64), "Plan Width"),
        ];
        if let Some(c) = &inner.index_cond {
            fields.push(f("cond", tstr(c)));
        }
        fields.extend(output_field(&output_list(n).unwrap_or_default()));
        self.note_index(&table, inner.index_name.as_ref());
        let node = Node::NestedLoop {
            join_type: self.join_type(n, path)?,
            rows_per_outer: sig6(rpo),
            inner_table: self.table_index(&table),
            width: n.plan_width as f64,
            outer: Box::new(o.node),
            cond: inner.index_cond.clone().unwrap_or_default(),
            output: output_list(n).unwrap_or_default(),
        };
        Ok(Conv { node, toml: TNode { fields, subplan: None, children: vec![("outer", o.toml)] } })
    }

    /// The node's Join Type (Inner when absent).
    pub(super) fn join_type(&self, n: &ExplainNode, path: &[String]) -> Result<JoinType> {
        match n.join_type.as_deref() {
            None => Ok(JoinType::Inner),
            Some(j) => JoinType::parse(j).ok_or_else(|| self.unsupported(n, path, &format!("join type {j}"))),
        }
    }

    /// Index of a table already noted.
    /// Remembers the index a scan of `table` uses (the plan's `Index Name`).
    pub fn note_index(&mut self, table: &str, index: Option<&String>) {
        if let (Some(t), Some(i)) = (self.tables.iter_mut().find(|t| t.name == table), index) {
            t.index.get_or_insert_with(|| i.clone());
        }
    }

    pub fn table_index(&self, name: &str) -> usize {
        self.tables.iter().position(|t| t.name == name).unwrap_or(0)
    }

    /// The model's tables, with the values the writer writes (and the loader derives).
    pub fn model_tables(&self) -> Vec<Table> {
        self.tables.iter().map(model_table).collect()
    }
}

fn model_table(t: &TableAcc) -> Table {
    let rows = t.rows.round().max(0.0);
    let width = written_width(t).unwrap_or_else(|| {
        if t.columns.is_empty() {
            32.0
        } else {
            crate::model::schema::row_width(&t.columns).max(1.0)
        }
    });
    let pages = match t.pages {
        Some(p) => p.max(1.0).round(),
        None => heap_pages(rows, width),
    };
    Table {
        name: t.name.clone(),
        rows,
        width,
        pages,
        parallel_workers: t.parallel_workers,
        index_pages: t.index_pages.map(|ip| ip.max(1.0).round()),
        index: t.index.clone(),
        temporary: false,
        columns: t.columns.clone(),
        in_shared_buffers: t.in_shared_buffers,
        row_length_sd: t.row_length_sd,
        row_stride_changes: t.row_stride_changes,
        buffers_in_order: t.buffers_in_order,
        buffer_windows: t.buffer_windows,
    }
}

/// A column with its width, null fraction and statistics rounded as the writer writes them.
fn exact_column(c: &Column) -> Column {
    Column::new(&c.name, &c.type_name, Some(sig6(c.avg_width)), sig6(c.null_frac))
        .with_correlation(c.correlation.map(sig6))
        .with_n_distinct(c.n_distinct.map(sig6))
}
