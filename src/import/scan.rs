//! Scans: Seq Scan, Index Scan, Index Only Scan (parallel or not), their filters and the
//! SubPlan a filter may reference.

use super::context::Cx;
use super::convert::Conv;
use super::fields::{f, fc, output_field, sig6, tnum, tstr, Field, TNode};
use super::text::{count_operators, output_list};
use super::TableStats;
use crate::error::Result;
use crate::model::{heap_pages, Filter, Node, SubPlan};
use crate::pg::ExplainNode;

/// A filter's SubPlan: its written fields, the model's SubPlan and the blocks it read.
struct SubConv {
    fields: Vec<Field>,
    subplan: SubPlan,
    pages: u64,
}

/// Rows a scan read, the filter's selectivity, and where both came from.
struct ScanInput {
    rows_in: f64,
    sel: f64,
    rows_note: &'static str,
    sel_note: &'static str,
}

impl Cx<'_> {
    pub fn scan(&mut self, n: &ExplainNode, divisor: f64, path: &[String]) -> Result<Conv> {
        let Some(table) = n.relation_name.clone().filter(|t| !t.is_empty()) else {
            return Err(self.unsupported(n, path, "scan without a relation name"));
        };
        let is_index = n.node_type != "Seq Scan";
        let div = if n.parallel_aware { divisor } else { 1.0 };
        let ops = n.filter.as_deref().map(count_operators).unwrap_or(0.0);
        let stats = self.stats(&table).cloned().unwrap_or_default();
        // SubPlans referenced by the filter.
        let subs: Vec<&ExplainNode> =
            n.plans.iter().filter(|c| c.parent_relationship.as_deref() == Some("SubPlan")).collect();
        if subs.len() > 1 {
            return Err(self.unsupported(n, path, "more than one SubPlan in a filter"));
        }
        let sub = match subs.first() {
            Some(sp) => Some(self.subplan(n, sp, path)?),
            None => match n.filter.as_deref().and_then(|t| self.attach_init_plan(t)) {
                Some((fields, subplan)) => Some(SubConv { fields, subplan, pages: 0 }),
                None => None,
            },
        };
        let input = self.scan_input(n, &table, div, ops, is_index, &stats);
        let pages = self.scan_pages(n, is_index, sub.as_ref().map_or(0, |s| s.pages), input.rows_in, ops, div);
        // Index scans: the fraction of the table read.
        let mut idx_fields = vec![];
        let mut table_rows = input.rows_in;
        let mut fraction = 1.0;
        if is_index {
            let rows_in = input.rows_in;
            fraction = match (n.index_cond.as_ref(), stats.rows) {
                (None, _) => 1.0,
                (Some(_), Some(r)) if r > 0.0 => (rows_in / r).min(1.0),
                (Some(_), _) => {
                    self.warnings.push(format!(
                        "table {table}: size unknown behind an index condition; modelled as a table of the {rows_in:.0} rows the scan reads"
                    ));
                    1.0
                }
            };
            if let Some(r) = stats.rows {
                table_rows = r;
            }
            idx_fields.push(fc("fraction", tnum(fraction), "index scan input rows / table rows"));
            idx_fields.push(fc("correlation", "1.0".into(), "not in EXPLAIN: heap assumed in index order"));
        }
        self.note_table(&table, table_rows, input.rows_note.into(), pages);
        let parallel = n.parallel_aware;
        let kind = match (is_index, parallel) {
            (false, true) => "Parallel Seq Scan",
            (false, false) => "Seq Scan",
            (true, true) => "Parallel Index Scan",
            (true, false) => "Index Scan",
        };
        let mut fields = vec![f("node", tstr(kind)), f("table", tstr(&table))];
        let sel = input.sel.clamp(0.0, 1.0);
        if let Some(text) = &n.filter {
            fields.push(f("filter", tstr(text)));
            fields.push(fc("selectivity", tnum(sel), input.sel_note));
            fields.push(fc("operators", tnum(ops), "operators counted in the filter text"));
        }
        let reach: Vec<f64> = n.filter.as_ref().and_then(|t| self.clause_reach(t)).unwrap_or_default();
        if !reach.is_empty() {
            let list: Vec<String> = reach.iter().map(|r| tnum(sig6(*r))).collect();
            fields.push(fc(
                "clause_reach",
                format!("[{}]", list.join(", ")),
                "share of the rows reaching each AND-ed clause (the planner's estimate of the clauses before it)",
            ));
        }
        fields.push(fc("width", tnum(n.plan_width as f64), "Plan Width"));
        fields.extend(idx_fields);
        fields.extend(output_field(&output_list(n).unwrap_or_default()));
        let (sub_fields, subplan) = match sub {
            Some(s) => (Some(s.fields), Some(s.subplan)),
            None => (None, None),
        };
        let filter = match (&n.filter, subplan) {
            (Some(text), subplan) => Some(Filter {
                text: text.clone(),
                selectivity: sig6(sel),
                operators: sig6(ops),
                subplan,
                reach: reach.clone(),
            }),
            (None, Some(sp)) => {
                Some(Filter { text: String::new(), selectivity: 1.0, operators: 1.0, subplan: Some(sp), reach: vec![] })
            }
            (None, None) => None,
        };
        if is_index {
            self.note_index(&table, n.index_name.as_ref());
        }
        let t = self.table_index(&table);
        let output = output_list(n).unwrap_or_default();
        let width = n.plan_width as f64;
        let node = if is_index {
            Node::IndexScan { table: t, parallel, filter, width, fraction: sig6(fraction), correlation: 1.0, output }
        } else {
            Node::SeqScan { table: t, parallel, filter, width, output }
        };
        Ok(Conv { node, toml: TNode { fields, subplan: sub_fields, children: vec![] } })
    }

    /// The share of the rows reaching each AND-ed clause of a filter, when the server was
    /// asked and the clauses are the ones the model will split the text into.
    fn clause_reach(&self, text: &str) -> Option<Vec<f64>> {
        let r = self.opts.clause_reach.get(text)?;
        (r.len() == crate::model::expr::split_and(text).len()).then(|| r.clone())
    }

    /// The SubPlan of a scan's filter: a serial Seq Scan of one table.
    fn subplan(&mut self, n: &ExplainNode, sp: &ExplainNode, path: &[String]) -> Result<SubConv> {
        let ctc = self.gucs.num("cpu_tuple_cost");
        let mut subplan_pages = 0u64;
        let mut sp_path = path.to_vec();
        sp_path.push(format!("{} {}", sp.subplan_name.as_deref().unwrap_or("SubPlan"), sp.display_name()));
        // A SubPlan PostgreSQL did not hash has a Materialize over its plan (rescanned per
        // outer row): the planner puts it back itself when it does not hash the SubPlan.
        let top = sp;
        let sp = if sp.node_type == "Materialize" && sp.plans.len() == 1 { &sp.plans[0] } else { sp };
        // A SubPlan with its own Gather over a Parallel Seq Scan: the planner models that Gather
        // itself (from the subquery table's size and the settings), as PostgreSQL plans it.
        let gather = sp;
        let sp = if matches!(sp.node_type.as_str(), "Gather" | "Gather Merge")
            && sp.plans.len() == 1
            && sp.plans[0].node_type == "Seq Scan"
            && sp.plans[0].plans.is_empty()
        {
            self.warnings.push(format!(
                "{}: a Gather inside the SubPlan (Workers Planned {}): pqsim's planner decides that Gather's workers itself",
                sp_path.join(" > "),
                sp.workers_planned.unwrap_or(0)
            ));
            &sp.plans[0]
        } else {
            sp
        };
        if sp.node_type != "Seq Scan" || !sp.plans.is_empty() {
            return Err(self.unsupported(
                sp,
                &sp_path,
                "a SubPlan must be a Seq Scan of one table (or a Gather over one, under a Materialize or not)",
            ));
        }
        let Some(sp_table) = sp.relation_name.clone().filter(|t| !t.is_empty()) else {
            return Err(self.unsupported(sp, &sp_path, "SubPlan scan without a relation name"));
        };
        // A hashed SubPlan runs once (loops = 1): its actual rows are the whole subquery.
        // A plain one is rescanned per outer row and may stop early: use the estimate.
        let once = self.loops(top).is_some_and(|l| l <= 1.0);
        let (sp_in, sp_out) = match (once, gather.actual_rows) {
            (true, Some(r)) if std::ptr::eq(gather, sp) => (r + sp.rows_removed_by_filter.unwrap_or(0.0), r),
            (true, Some(r)) => (r, r),
            _ => (gather.plan_rows, gather.plan_rows),
        };
        let sp_pages = sp.shared_hit_blocks.zip(sp.shared_read_blocks).map(|(h, r)| h + r);
        if let Some(p) = sp_pages {
            subplan_pages = p;
        }
        let sp_pages_note = match (sp_pages, once) {
            (Some(p), true) => Some((p as f64, "Shared Hit + Read Blocks of the SubPlan's scan".to_string())),
            _ => {
                // No filter: run cost = pages x seq_page_cost + rows x cpu_tuple_cost.
                let p = (sp.total_cost - sp.startup_cost - sp_in * ctc).max(1.0);
                if sp.filter.is_none() {
                    Some((p.round(), "from the SubPlan scan's cost: total - rows x cpu_tuple_cost".to_string()))
                } else {
                    None
                }
            }
        };
        let sp_rows_note =
            if once { "SubPlan scan: Actual Rows + Rows Removed by Filter" } else { "SubPlan scan: Plan Rows" };
        self.note_table(&sp_table, sp_in, sp_rows_note.into(), sp_pages_note);
        let name = sp.subplan_name.clone().unwrap_or_else(|| "SubPlan".into());
        let hashed = n.filter.as_deref().is_some_and(|t| t.contains(&format!("hashed {name}")));
        let keys = in_subquery_keys(&self.opts.sql, &sp_table);
        let mut fields = vec![
            f("table", tstr(&sp_table)),
            fc("width", tnum(sp.plan_width.max(1) as f64), "SubPlan Plan Width (at least 1)"),
            fc("rows", tnum(sp_out), if once { "SubPlan Actual Rows" } else { "SubPlan Plan Rows" }),
            fc(
                "text",
                tstr(&format!("{name}: Seq Scan on {sp_table}")),
                if hashed {
                    "PostgreSQL hashed it (the model decides from hash_mem)"
                } else {
                    "PostgreSQL did not hash it"
                },
            ),
        ];
        if let Some([outer, inner]) = &keys {
            fields.push(fc(
                "keys",
                format!("[{}, {}]", tstr(outer), tstr(inner)),
                "from the query's text: the outer column looked up, the subquery's column",
            ));
        }
        let subplan = SubPlan {
            table: self.table_index(&sp_table),
            width: sig6(sp.plan_width.max(1) as f64),
            rows: sig6(sp_out),
            text: format!("{name}: Seq Scan on {sp_table}"),
            hashed,
            gather_workers: None,
            keys,
        };
        Ok(SubConv { fields, subplan, pages: subplan_pages })
    }

    /// Rows the scan read and the filter's selectivity.
    fn scan_input(
        &mut self,
        n: &ExplainNode,
        table: &str,
        div: f64,
        ops: f64,
        is_index: bool,
        stats: &TableStats,
    ) -> ScanInput {
        let ctc = self.gucs.num("cpu_tuple_cost");
        let coc = self.gucs.num("cpu_operator_cost");
        let spc = self.gucs.num("seq_page_cost");
        let out_total = self.rows_out_total(n, div);
        let (rows_in, sel, rows_note, sel_note) = match (self.loops(n), n.actual_rows) {
            (Some(l), Some(r)) => {
                let removed = n.rows_removed_by_filter.unwrap_or(0.0);
                let rin = (r + removed) * l;
                let sel = if r + removed > 0.0 { r / (r + removed) } else { 1.0 };
                (
                    rin,
                    sel,
                    "scan input: (Actual Rows + Rows Removed by Filter) x Actual Loops",
                    "Actual Rows / input rows",
                )
            }
            _ => {
                if n.filter.is_none() {
                    let note = if div > 1.0 { "Plan Rows x parallel divisor" } else { "Plan Rows" };
                    (out_total, 1.0, note, "")
                } else if let Some(r) = stats.rows.filter(|_| !is_index || n.index_cond.is_none()) {
                    (r, (out_total / r.max(1.0)).min(1.0), "catalog statistics", "estimated rows out / table rows")
                } else if !is_index {
                    // Invert cost_seqscan: run = pages*spc + rows_in*(ctc + qual)/div, with pages
                    // following rows_in at an assumed row width.
                    let run = (n.total_cost - n.startup_cost).max(0.0);
                    let w = (n.plan_width as f64).max(36.0);
                    let per = |r: f64| heap_pages(r, w) * spc + r * (ctc + ops.max(1.0) * coc) / div;
                    let lo = out_total.max(1.0);
                    let hi = if per(lo) >= run { lo } else { lo * 1e6 + 1e6 };
                    let (_, hi) = crate::analysis::optimize::bisect(lo, hi, 200, |r| per(r) < run);
                    let rin = hi.round().max(out_total);
                    self.warnings.push(format!(
                        "table {table}: input rows of the filtered scan are not in a plan without ANALYZE; inferred {rin:.0} from its cost assuming {w:.0}-byte rows (give --table {table}.rows=N)"
                    ));
                    (
                        rin,
                        (out_total / rin.max(1.0)).min(1.0),
                        "inferred from the scan's cost (guess)",
                        "estimated rows out / inferred input rows",
                    )
                } else {
                    self.warnings.push(format!(
                        "table {table}: an index scan's input rows are not in a plan without ANALYZE; assumed the filter passes every row (give --table {table}.rows=N)"
                    ));
                    (out_total, 1.0, "Plan Rows (filter assumed to pass all rows)", "assumed")
                }
            }
        };
        ScanInput { rows_in, sel, rows_note, sel_note }
    }

    /// The scan's heap pages: BUFFERS, or inverted from its cost.
    fn scan_pages(
        &self,
        n: &ExplainNode,
        is_index: bool,
        subplan_pages: u64,
        rows_in: f64,
        ops: f64,
        div: f64,
    ) -> Option<(f64, String)> {
        let ctc = self.gucs.num("cpu_tuple_cost");
        let coc = self.gucs.num("cpu_operator_cost");
        let spc = self.gucs.num("seq_page_cost");
        let own_pages =
            n.shared_hit_blocks.zip(n.shared_read_blocks).map(|(h, r)| (h + r).saturating_sub(subplan_pages));
        if is_index {
            None
        } else if let Some(p) = own_pages.filter(|p| *p > 0) {
            Some((p as f64, "Shared Hit + Read Blocks of the scan (BUFFERS)".into()))
        } else {
            let run = (n.total_cost - n.startup_cost).max(0.0);
            let p = (run - rows_in * (ctc + ops * coc) / div) / spc.max(1e-9);
            if p >= 1.0 {
                Some((
                    p.round(),
                    "from the scan's cost: run cost - input rows x (cpu_tuple_cost + quals) / divisor".into(),
                ))
            } else {
                None
            }
        }
    }
}

/// The columns of `x [NOT] IN (SELECT y FROM table ...)` in a query's text, for the subquery
/// over `table`: ["x", "y"] without qualifiers. None unless the text has that simple shape.
pub fn in_subquery_keys(sql: &str, table: &str) -> Option<[String; 2]> {
    let lower = sql.to_ascii_lowercase();
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '"';
    let bare = |s: &str| s.rsplit('.').next().unwrap_or(s).trim_matches('"').to_string();
    let mut from = 0;
    while let Some(i) = lower[from..].find("in") {
        let at = from + i;
        from = at + 2;
        // "in" as a word, followed by "(select".
        if at > 0 && lower[..at].chars().next_back().is_some_and(ident) {
            continue;
        }
        let rest = lower[at + 2..].trim_start();
        let Some(rest) = rest.strip_prefix('(') else { continue };
        let Some(rest) = rest.trim_start().strip_prefix("select") else { continue };
        let mut words = rest.split_whitespace();
        let (Some(inner), Some(kw), Some(t)) = (words.next(), words.next(), words.next()) else { continue };
        let t = t.trim_end_matches(')');
        if kw != "from" || bare(t) != table.to_ascii_lowercase() || !inner.chars().all(ident) {
            continue;
        }
        // The word before: the outer column, skipping NOT.
        let mut before = lower[..at].split_whitespace().rev();
        let mut outer = before.next()?;
        if outer == "not" {
            outer = before.next()?;
        }
        let starts_like_a_name = outer.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '"');
        // A column on its own: after WHERE, AND, OR, NOT or "(" (not the end of an expression).
        let alone = before
            .next()
            .is_none_or(|w| matches!(w, "where" | "and" | "or" | "not" | "on" | "having") || w.ends_with('('));
        if !outer.chars().all(ident) || !starts_like_a_name || !alone {
            continue;
        }
        return Some([bare(outer), bare(inner)]);
    }
    None
}

#[cfg(test)]
mod in_subquery_tests {
    use super::in_subquery_keys;

    #[test]
    fn the_columns_of_a_simple_in_subquery_are_read_from_the_text() {
        let k = |sql: &str, t: &str| in_subquery_keys(sql, t).map(|[a, b]| (a, b));
        let seed =
            "SELECT count(*) FROM user_session_history WHERE session_id NOT IN (SELECT id FROM session_product_list)";
        assert_eq!(k(seed, "session_product_list"), Some(("session_id".into(), "id".into())));
        assert_eq!(k("select 1 from t where t.a in ( select s.b from s )", "s"), Some(("a".into(), "b".into())));
        // Another table's subquery, an expression, or no subquery: nothing.
        assert_eq!(k(seed, "user_session_history"), None);
        assert_eq!(k("SELECT 1 FROM t WHERE a + 1 IN (SELECT id FROM s)", "s"), None);
        assert_eq!(k("SELECT 1 FROM t WHERE a + b IN (SELECT id FROM s)", "s"), None);
        assert_eq!(
            k("SELECT 1 FROM t WHERE x > 0 AND b NOT IN (SELECT id FROM s)", "s"),
            Some(("b".into(), "id".into()))
        );
        assert_eq!(k("SELECT min(a) FROM t", "t"), None);
    }
}
