//! Per-row CPU prices that know the schema and the expressions: deforming a heap tuple up to
//! the last attribute the plan needs (execTuples.c:slot_deform_heap_tuple), projections,
//! quals priced per operator class with AND's early exit, aggregate transitions per function
//! and argument type, hash keys, and the MinimalTuple a worker forms for its tuple queue and
//! the leader deforms again.
//!
//! Everything here applies only where the scenario's tables have columns; without them the
//! callers keep the width-based generic prices (`tuple_ns`, `qual_ns` × operators,
//! `agg_transition_ns` × aggregates), and [`notes`] says so once.

use crate::model::expr::{
    aggregate_calls, classify, classify_aggregate, classify_aggregates, classify_qual, transition_key, AggClass,
    Classified, OpClass, Scope,
};
use crate::model::schema::{deform_counts, Column};
use crate::model::{AggMode, Hardware, Node, Table};

/// The prices of one plan on one machine.
pub struct CpuCost<'a> {
    tables: &'a [Table],
    hw: &'a Hardware,
    /// Highest attnum of each table any expression of the plan reads (0: none).
    needs: Vec<usize>,
}

/// Every expression text of a node, for the deform bound and the notes. A scan's own output
/// counts only when it projects (not a physical tlist).
fn node_texts<'n>(n: &'n Node, tables: &[Table]) -> Vec<&'n str> {
    let mut v: Vec<&str> = vec![];
    match n {
        Node::SeqScan { table, filter, output, .. } | Node::IndexScan { table, filter, output, .. } => {
            if let Some(f) = filter {
                v.push(&f.text);
            }
            if !is_physical_tlist(&tables[*table], output) {
                v.extend(output.iter().map(String::as_str));
            }
        }
        Node::Aggregate { output, .. } => v.extend(output.iter().map(String::as_str)),
        Node::Sort { keys, .. } => v.extend(keys.iter().map(String::as_str)),
        Node::HashJoin { cond, output, .. } | Node::NestedLoop { cond, output, .. } => {
            v.push(cond);
            v.extend(output.iter().map(String::as_str));
        }
        _ => {}
    }
    v
}

/// Whether a scan's VERBOSE `Output` is all its table's columns in order (no projection).
pub fn is_physical_tlist(t: &Table, output: &[String]) -> bool {
    !t.columns.is_empty()
        && output.len() == t.columns.len()
        && output.iter().zip(&t.columns).all(|(o, c)| o.rsplit('.').next() == Some(c.name.as_str()))
}

fn walk<'n>(n: &'n Node, f: &mut dyn FnMut(&'n Node)) {
    f(n);
    for c in n.children() {
        walk(c, f);
    }
}

impl<'a> CpuCost<'a> {
    pub fn new(tables: &'a [Table], hw: &'a Hardware, plan: &Node) -> CpuCost<'a> {
        let mut needs = vec![0usize; tables.len()];
        let scope = Scope::new(tables.iter().collect());
        walk(plan, &mut |n| {
            for text in node_texts(n, tables) {
                for (t, a) in classify(text, &scope).columns {
                    needs[t] = needs[t].max(a);
                }
            }
        });
        CpuCost { tables, hw, needs }
    }

    fn scope(&self) -> Scope<'a> {
        Scope::new(self.tables.iter().collect())
    }

    fn ns(&self, v: f64) -> f64 {
        v / self.hw.cpu_speed
    }

    /// Whether the table's columns are known (the schema-aware prices apply).
    pub fn known(&self, table: usize) -> bool {
        self.tables.get(table).is_some_and(|t| !t.columns.is_empty())
    }

    /// Whether a scan of `table` with `filter` reads any of its rows' columns: the filter's
    /// or the plan's expressions name one (by the columns, when known; else a filter or a
    /// non-zero Plan Width says so).
    pub fn reads_columns(&self, table: usize, filter: Option<&str>, width: f64) -> bool {
        if !self.known(table) {
            return filter.is_some() || width > 0.0;
        }
        self.needs[table] > 0
            || filter.is_some_and(|f| classify(f, &self.scope()).columns.iter().any(|(ti, a)| *ti == table && *a > 0))
    }

    /// Whether every table of the scenario has columns.
    pub fn all_known(&self) -> bool {
        !self.tables.is_empty() && self.tables.iter().all(|t| !t.columns.is_empty())
    }

    /// Deforming `upto` attributes of a row laid out as `cols`.
    fn deform(&self, cols: &[Column], upto: usize) -> f64 {
        let (fast, slow) = deform_counts(cols, upto);
        let c = &self.hw.costs.cpu;
        self.ns(fast * c.deform_attr_ns + slow * c.deform_slow_attr_ns)
    }

    /// CPU per row a scan of `table` reads, split in two: (every row, rows that pass the
    /// filter). Every row is deformed as far as the filter's highest attribute before the
    /// first clause runs (execExpr.c: one FETCHSOME step per qual); a passing row further, up
    /// to the last attribute the plan needs, and projected if the scan's output is not its
    /// physical tlist.
    pub fn scan_row(&self, table: usize, filter: Option<&str>, output: &[String]) -> (f64, f64) {
        let t = &self.tables[table];
        let scope = self.scope();
        let qual_upto = filter.map_or(0, |f| {
            classify(f, &scope).columns.iter().filter(|(ti, _)| *ti == table).map(|(_, a)| *a).max().unwrap_or(0)
        });
        let upto = self.needs[table].max(qual_upto);
        let all = self.deform(&t.columns, qual_upto);
        let mut passing = self.deform(&t.columns, upto) - all;
        if !output.is_empty() && !is_physical_tlist(t, output) {
            passing += self.ns(self.hw.costs.cpu.project_attr_ns) * output.len() as f64;
            // Expressions computed in the projection (not plain columns).
            for o in output {
                passing += self.expr_ns(&classify(o, &scope));
            }
        }
        (all, passing.max(0.0))
    }

    /// The price of one evaluation of a classified expression.
    pub fn expr_ns(&self, e: &Classified) -> f64 {
        let c = &self.hw.costs.cpu;
        let price = |k: OpClass| match k {
            OpClass::Int => c.op_int_ns,
            OpClass::NumericCmp => c.op_numeric_cmp_ns,
            OpClass::NumericArith => c.op_numeric_arith_ns,
            OpClass::NumericCast => c.op_numeric_cast_ns,
            OpClass::DateTimestamp => c.op_date_timestamp_ns,
            OpClass::DateTimestampTz => c.op_date_timestamptz_ns,
            OpClass::TextEq => c.op_text_eq_ns,
            OpClass::BpcharEq => c.op_bpchar_eq_ns,
            OpClass::TextCmp => c.op_text_cmp_ns,
            OpClass::Like => c.op_like_ns,
            OpClass::HashedSaop => c.op_hashed_saop_ns,
            OpClass::NumericLong => c.op_numeric_long_ns,
            OpClass::Generic => c.op_generic_ns,
        };
        self.ns(e.ops.iter().map(|(k, n)| price(*k) * n).sum())
    }

    /// CPU per input row of a qual with overall `selectivity`: its AND-ed clauses run in order
    /// and stop at the first false one. `reach` gives the share of rows reaching each clause
    /// (the planner's estimates, from the server); without it (or when it does not match the
    /// clauses) each clause passes selectivity^(1/n). None: no text (use the generic price).
    pub fn qual(&self, text: &str, selectivity: f64, reach: &[f64]) -> Option<f64> {
        if text.trim().is_empty() {
            return None;
        }
        let clauses = classify_qual(text, &self.scope());
        if reach.len() == clauses.len() {
            return Some(clauses.iter().zip(reach).map(|(c, r)| r * self.expr_ns(c)).sum());
        }
        let n = clauses.len().max(1) as f64;
        let each = selectivity.clamp(0.0, 1.0).powf(1.0 / n);
        let mut reach = 1.0;
        let mut ns = 0.0;
        for c in &clauses {
            ns += reach * self.expr_ns(c);
            reach *= each;
        }
        Some(ns)
    }

    /// CPU per input row of an Aggregate's transitions (and their argument expressions), from
    /// its VERBOSE output, with the grouping keys' equality when `grouped`; None when the
    /// output names no aggregate call.
    pub fn agg_row(&self, output: &[String], mode: AggMode, grouped: bool) -> Option<f64> {
        let c = &self.hw.costs.cpu;
        let scope = self.scope();
        let mut ns = 0.0;
        let mut any = false;
        let mut transitions: Vec<String> = vec![];
        for o in output {
            let calls: Vec<_> = aggregate_calls(o)
                .into_iter()
                .filter_map(|call| classify_aggregate(call, &scope).map(|(k, arg)| (call, k, arg)))
                .collect();
            if calls.is_empty() {
                // A grouping key: compared for equality with the current group's (sorted
                // input) or with the hash entry's (hashed) once per input row.
                if grouped {
                    ns += self.expr_ns(&classify(&format!("({o} = {o})"), &scope));
                }
                continue;
            }
            for (call, class, arg) in calls {
                any = true;
                // A call that shares another's transition state costs nothing more a row.
                let key = transition_key(call, class);
                if transitions.contains(&key) {
                    continue;
                }
                transitions.push(key);
                let t = match class {
                    AggClass::CountStar => c.agg_count_star_ns,
                    AggClass::Count => c.agg_count_ns,
                    AggClass::SumInt => c.agg_sum_int_ns,
                    AggClass::SumInt8 => c.agg_sum_int8_ns,
                    AggClass::SumFloat => c.agg_sum_float_ns,
                    AggClass::SumNumeric => c.agg_sum_numeric_ns,
                    AggClass::MinMax => c.agg_minmax_ns,
                    AggClass::MinMaxVarlena => c.agg_minmax_varlena_ns,
                    AggClass::Generic => c.agg_generic_ns,
                };
                // Finalize: a combine function per partial state row, its argument is the state.
                ns += match mode {
                    AggMode::Finalize => self.ns(t) * 1.5,
                    _ => self.ns(t) + self.expr_ns(&arg),
                };
            }
        }
        any.then_some(ns)
    }

    /// CPU to hash the keys of one row (build or probe) and to evaluate the join clause on a
    /// bucket match, from the Hash Cond; None without a condition or without columns.
    pub fn hash_keys(&self, cond: &str) -> Option<f64> {
        if cond.trim().is_empty() || !self.all_known() {
            return None;
        }
        Some(self.expr_ns(&classify(cond, &self.scope())))
    }

    /// CPU per sort comparison beyond `sort_compare_ns` (calibrated on integer keys): the
    /// first key's ordering operator by type, less a by-value comparison. Ties on the first key
    /// that reach the next keys are not priced.
    pub fn sort_key_extra(&self, keys: &[String]) -> f64 {
        let Some(k) = keys.first() else { return 0.0 };
        if !self.all_known() {
            return 0.0;
        }
        let k = k.trim();
        let k = k.strip_suffix(" NULLS FIRST").or_else(|| k.strip_suffix(" NULLS LAST")).unwrap_or(k);
        let k = k.strip_suffix(" DESC").or_else(|| k.strip_suffix(" ASC")).unwrap_or(k);
        let e = classify(&format!("({k} < {k})"), &self.scope());
        (self.expr_ns(&e) - self.ns(self.hw.costs.cpu.op_int_ns)).max(0.0)
    }

    /// The columns of the rows `n` returns, when known: a scan's projection or its table's
    /// columns (physical tlist, up to what the plan needs); an Aggregate's partial states.
    fn out_columns(&self, n: &Node) -> Option<Vec<Column>> {
        match n {
            Node::SeqScan { table, output, .. } | Node::IndexScan { table, output, .. } => {
                let t = &self.tables[*table];
                if t.columns.is_empty() {
                    return None;
                }
                if output.is_empty() || is_physical_tlist(t, output) {
                    let upto = if output.is_empty() { self.needs[*table] } else { t.columns.len() };
                    return Some(t.columns[..upto.min(t.columns.len())].to_vec());
                }
                let scope = self.scope();
                Some(
                    output
                        .iter()
                        .map(|o| match classify(o, &scope).columns.first() {
                            Some((ti, a)) if classify(o, &scope).ops.is_empty() => {
                                scope.tables[*ti].columns[a - 1].clone()
                            }
                            // A computed value: numeric results are varlena, take the worst case.
                            _ => Column::new(o, "numeric", None, 0.0),
                        })
                        .collect(),
                )
            }
            Node::Aggregate { output, .. } if !output.is_empty() && self.all_known() => {
                // Partial states of sum/avg over numeric or int8 are serialized (bytea): varlena.
                Some(output.iter().map(|o| Column::new(o, "bytea", Some(16.0), 0.0)).collect())
            }
            Node::Sort { input, .. } | Node::Limit { input, .. } => self.out_columns(input),
            _ => None,
        }
    }

    /// CPU for a worker to form the MinimalTuple of one row of `n` for its tuple queue.
    pub fn form_row(&self, n: &Node) -> f64 {
        self.out_columns(n).map_or(0.0, |cols| self.ns(self.hw.costs.cpu.form_attr_ns) * cols.len() as f64)
    }

    /// CPU for the leader to deform one row received from a tuple queue (all of it: the
    /// Gather's target list is what the nodes above need).
    pub fn receive_row(&self, n: &Node) -> f64 {
        self.out_columns(n).map_or(0.0, |cols| self.deform(&cols, cols.len()))
    }
}

/// What the schema-aware model could not price, for one note each on stderr: tables without
/// columns, and expressions priced generically.
pub fn notes(tables: &[Table], plan: &Node) -> Vec<String> {
    let mut out = vec![];
    let missing: Vec<&str> = tables.iter().filter(|t| t.columns.is_empty()).map(|t| t.name.as_str()).collect();
    if !missing.is_empty() {
        out.push(format!(
            "table{} {} ha{} no columns: per-row CPU is the width-based generic cost (tuple_ns, qual_ns x operators, agg_transition_ns x aggregates)",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", "),
            if missing.len() > 1 { "ve" } else { "s" }
        ));
        return out;
    }
    let scope = Scope::new(tables.iter().collect());
    let mut seen: Vec<String> = vec![];
    walk(plan, &mut |n| {
        for text in node_texts(n, tables) {
            let mut c = classify(text, &scope);
            if let Node::Aggregate { .. } = n {
                let calls = classify_aggregates(text, &scope);
                if !calls.is_empty() {
                    c.unclassified.clear();
                    for (k, arg) in calls {
                        c.unclassified.extend(arg.unclassified);
                        if k == AggClass::Generic {
                            c.unclassified.push(text.to_string());
                        }
                    }
                }
            }
            for u in c.unclassified {
                if !seen.contains(&u) {
                    seen.push(u);
                }
            }
        }
    });
    for u in seen {
        out.push(format!("cannot classify `{u}`: priced as a generic operator (op_generic_ns)"));
    }
    out
}
