//! InitPlans (a scalar subquery run once, its result a parameter `$N`). pqsim's executor has
//! no InitPlan; the closest modelled behaviour is a hashed SubPlan of one row on the scan whose
//! filter uses `$N`: the InitPlan's scan of its table is charged once per participant that runs
//! the filter, its aggregate is not. The import says so in its warnings.

use super::context::{Cx, InitPlanInfo};
use super::fields::{f, fc, tnum, tstr, Field};
use crate::error::Result;
use crate::model::{written_hashed, SubPlan};
use crate::pg::ExplainNode;

/// `$1`, `$2` of "InitPlan 1 (returns $1,$2)".
fn params(name: &str) -> Vec<String> {
    name.split("returns")
        .nth(1)
        .unwrap_or("")
        .split(|c: char| !(c == '$' || c.is_ascii_digit()))
        .filter(|p| p.starts_with('$') && p.len() > 1)
        .map(str::to_string)
        .collect()
}

/// Whether `text` mentions `$N` (not `$N0`).
fn mentions(text: &str, p: &str) -> bool {
    text.match_indices(p).any(|(i, _)| !text[i + p.len()..].starts_with(|c: char| c.is_ascii_digit()))
}

impl Cx<'_> {
    /// Notes an InitPlan: the table its (possibly parallel) scan reads.
    pub fn init_plan(&mut self, ip: &ExplainNode, path: &[String]) -> Result<()> {
        let name = ip.subplan_name.clone().unwrap_or_else(|| "InitPlan".into());
        let mut n = ip;
        let mut div = 1.0;
        loop {
            match n.node_type.as_str() {
                "Seq Scan" | "Index Scan" | "Index Only Scan" if n.plans.is_empty() => break,
                "Gather" | "Gather Merge" if n.plans.len() == 1 => {
                    let w = n.workers_planned.unwrap_or(0) as f64;
                    let leader = self.gucs.flag("parallel_leader_participation");
                    div = (w + if leader { (1.0 - 0.3 * w).max(0.0) } else { 0.0 }).max(1.0);
                    n = &n.plans[0];
                }
                _ if n.plans.len() == 1 => n = &n.plans[0],
                _ => {
                    let mut here = path.to_vec();
                    here.push(name.clone());
                    return Err(self.unsupported(ip, &here, "an InitPlan is modelled when it reads one table"));
                }
            }
        }
        let table = n.relation_name.clone().unwrap_or_default();
        let rows_in = match (self.loops(n), n.actual_rows) {
            (Some(l), Some(r)) => (r + n.rows_removed_by_filter.unwrap_or(0.0)) * l,
            _ if n.filter.is_none() => n.plan_rows * div,
            _ => n.plan_rows * div,
        };
        self.note_table(&table, rows_in, "InitPlan scan: rows it reads".into(), None);
        self.warnings.push(format!(
            "{} > {name}: modelled as a hashed SubPlan of one row on the scan that uses its result: its scan of {table} is charged, its aggregate is not",
            path.join(" > ")
        ));
        self.init_plans.push(InitPlanInfo {
            params: params(&name),
            name,
            table,
            width: ip.plan_width as f64,
            attached: false,
        });
        Ok(())
    }

    /// The InitPlan a scan's filter uses, as a SubPlan (its written fields and the model's).
    pub fn attach_init_plan(&mut self, filter: &str) -> Option<(Vec<Field>, SubPlan)> {
        let i = self.init_plans.iter().position(|p| !p.attached && p.params.iter().any(|x| mentions(filter, x)))?;
        self.init_plans[i].attached = true;
        if self.in_gather {
            let name = self.init_plans[i].name.clone();
            self.warnings.push(format!(
                "{name}: below a Gather every participant builds the SubPlan standing for it (PostgreSQL runs an InitPlan once): over-predicts"
            ));
        }
        let ip = &self.init_plans[i];
        let text = format!("{}: Seq Scan on {}", ip.name, ip.table);
        let fields = vec![
            f("table", tstr(&ip.table)),
            fc("width", tnum(ip.width), "InitPlan Plan Width"),
            fc("rows", "1".into(), "an InitPlan returns one row"),
            fc("text", tstr(&text), "an InitPlan, modelled as a hashed SubPlan of one row"),
        ];
        let table = self.table_index(&ip.table);
        Some((
            fields,
            SubPlan {
                table,
                width: ip.width,
                rows: 1.0,
                hashed: written_hashed("", &text),
                text,
                gather_workers: None,
                keys: None,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_of_an_init_plan() {
        assert_eq!(params("InitPlan 1 (returns $1)"), ["$1"]);
        assert_eq!(params("InitPlan 2 (returns $0,$1)"), ["$0", "$1"]);
        assert!(mentions("(l_quantity > $1)", "$1"));
        assert!(!mentions("(l_quantity > $10)", "$1"));
    }
}
