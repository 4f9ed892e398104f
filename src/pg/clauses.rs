//! How many of a scan's rows reach each AND-ed clause of its filter, as the planner estimates
//! it: PostgreSQL evaluates the clauses in order and stops at the first false one, so a
//! clause's price counts only for the rows every clause before it passed. A plan gives only
//! the filter's overall selectivity; the planner, asked about each prefix of the clauses
//! (`EXPLAIN SELECT 1 FROM t WHERE c1 AND … AND ck`), gives the rest from its statistics,
//! range pairs such as `x >= a AND x < b` included (clausesel.c).

use super::{probe, ExplainNode, ExplainPlan};
use crate::model::expr::split_and;
use postgres::Client;
use std::collections::BTreeMap;

/// For every sequential scan of `plan` whose filter has two or more AND-ed clauses, keyed by
/// the filter's text: the share of the scan's rows that reach each clause (the first is 1;
/// never increasing). Filters the planner cannot be asked about alone (parameters, SubPlans)
/// or whose questions fail are left out: the model then splits the selectivity evenly.
/// Runs under the client's current settings and search path.
pub fn clause_reach(client: &mut Client, plan: &ExplainPlan) -> BTreeMap<String, Vec<f64>> {
    let mut out = BTreeMap::new();
    for n in plan.root.iter() {
        let Some((text, reach)) = scan_reach(client, n) else { continue };
        out.insert(text, reach);
    }
    out
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Whether a clause can be planned on its own against its table: no executor parameter,
/// SubPlan or InitPlan reference.
fn standalone(clause: &str) -> bool {
    let b = clause.as_bytes();
    let param = b.windows(2).any(|w| w[0] == b'$' && w[1].is_ascii_digit());
    !param && !clause.contains("SubPlan") && !clause.contains("InitPlan")
}

fn scan_reach(client: &mut Client, n: &ExplainNode) -> Option<(String, Vec<f64>)> {
    if n.node_type != "Seq Scan" {
        return None;
    }
    let text = n.filter.as_ref()?;
    let rel = n.relation_name.as_ref()?;
    let clauses = split_and(text);
    if clauses.len() < 2 || !clauses.iter().all(|c| standalone(c)) {
        return None;
    }
    // VERBOSE names the schema; otherwise the client's search path finds the table.
    let qualified = match n.extra.get("Schema").and_then(|v| v.as_str()) {
        Some(schema) => format!("{}.{}", quote_ident(schema), quote_ident(rel)),
        None => quote_ident(rel),
    };
    let from = format!("{qualified} AS {}", quote_ident(n.alias.as_deref().unwrap_or(rel)));
    let mut rows = |wher: &str| -> Option<f64> {
        let sql = format!("SELECT 1 FROM {from}{wher}");
        probe::explain_with(client, "", &sql).ok().map(|p| p.root.plan_rows)
    };
    let all = rows("")?;
    if all <= 0.0 {
        return None;
    }
    let mut reach = vec![1.0];
    for k in 1..clauses.len() {
        let r = (rows(&format!(" WHERE {}", clauses[..k].join(" AND ")))? / all).clamp(0.0, 1.0);
        reach.push(r.min(reach[k - 1]));
    }
    Some((text.clone(), reach))
}

#[cfg(test)]
mod tests {
    use super::standalone;

    #[test]
    fn clauses_with_parameters_or_subplans_are_not_asked_about() {
        assert!(standalone("(lineitem.l_shipdate >= '1994-01-01'::date)"));
        assert!(!standalone("(t.id = $0)"));
        assert!(!standalone("(NOT (hashed SubPlan 1))"));
        assert!(!standalone("(x > (InitPlan 1).col1)"));
    }
}
