//! Merge Join and Append / Parallel Append: EXPLAIN nodes -> model nodes.

use super::context::Cx;
use super::convert::Conv;
use super::fields::{f, fc, output_field, sig6, tnum, tstr, TNode};
use super::text::output_list;
use crate::error::Result;
use crate::model::Node;
use crate::pg::ExplainNode;

impl Cx<'_> {
    /// `Merge Join`: an Outer input (partial under a Gather) and an Inner one read whole by
    /// every participant; a Materialize over the inner side is modelled as pass-through (the
    /// inner's rows are kept by its Sort or re-read from its index scan).
    pub(super) fn merge_join(
        &mut self,
        n: &ExplainNode,
        main: &[&ExplainNode],
        divisor: f64,
        path: &[String],
    ) -> Result<Conv> {
        let child = |rel: &str| main.iter().copied().find(|c| c.parent_relationship.as_deref() == Some(rel));
        let (Some(outer), Some(mut inner)) = (child("Outer"), child("Inner")) else {
            return Err(self.unsupported(n, path, "expected an Outer and an Inner input"));
        };
        if inner.node_type == "Materialize" && inner.plans.len() == 1 {
            self.warnings.push(format!(
                "{}: the Materialize over the merge join's inner side is modelled as pass-through",
                path.join(" > ")
            ));
            inner = &inner.plans[0];
        }
        if inner.parallel_aware {
            return Err(self.unsupported(n, path, "a parallel-aware inner side"));
        }
        let out = self.rows_out_total(n, divisor);
        // The merge stops when one side runs out: a Sort below it may return fewer rows than it
        // read (ANALYZE), while the model's Sort returns them all. Rows per outer row are
        // counted against what the outer Sort read.
        let outer_rows = match outer.plans.as_slice() {
            [only] if matches!(outer.node_type.as_str(), "Sort" | "Incremental Sort") => {
                self.rows_out_total(only, divisor).max(self.rows_out_total(outer, divisor))
            }
            _ => self.rows_out_total(outer, divisor),
        };
        let rpo = if outer_rows > 0.0 { out / outer_rows } else { 0.0 };
        let src = if self.loops(n).is_some() { "Actual Rows x Loops" } else { "Plan Rows" };
        if n.extra.contains_key("Join Filter") {
            self.warnings.push(format!("{}: Join Filter ignored", path.join(" > ")));
        }
        let cond = n.extra.get("Merge Cond").and_then(|v| v.as_str()).unwrap_or_default().to_string();
        let mut fields = vec![
            f("node", tstr("Merge Join")),
            f("join_type", tstr(n.join_type.as_deref().unwrap_or("Inner"))),
            fc("rows_per_outer", tnum(rpo), format!("join rows / rows of the outer input ({src})")),
            fc("width", tnum(n.plan_width as f64), "Plan Width"),
        ];
        if !cond.is_empty() {
            fields.push(f("cond", tstr(&cond)));
        }
        let output = output_list(n).unwrap_or_default();
        fields.extend(output_field(&output));
        let o = self.node(outer, divisor, path)?;
        // Every participant reads the whole inner side: its rows are not divided.
        let (gather, whole) = (self.in_gather, self.whole_per_loop);
        self.in_gather = false;
        self.whole_per_loop = true;
        let i = self.node(inner, 1.0, path);
        (self.in_gather, self.whole_per_loop) = (gather, whole);
        let i = i?;
        if i.node.has_parallel_aware() || i.node.find_gather().is_some() {
            return Err(self.unsupported(n, path, "a parallel-aware node or a Gather on the inner side"));
        }
        let node = Node::MergeJoin {
            join_type: self.join_type(n, path)?,
            rows_per_outer: sig6(rpo),
            width: n.plan_width as f64,
            outer: Box::new(o.node),
            inner: Box::new(i.node),
            cond,
            output,
        };
        Ok(Conv { node, toml: TNode { fields, subplan: None, children: vec![("outer", o.toml), ("inner", i.toml)] } })
    }

    /// `Append` / `Parallel Append` (EXPLAIN: "Append" with Parallel Aware): its member
    /// inputs in order. Without ANALYZE a Parallel Append's partial inputs carry row
    /// estimates per participant of their own worker count, which EXPLAIN does not print:
    /// their divisor is recovered from the Append's rows (cost_append rescales each partial
    /// input's rows by its divisor over the Append's).
    pub(super) fn append(
        &mut self,
        n: &ExplainNode,
        main: &[&ExplainNode],
        divisor: f64,
        path: &[String],
    ) -> Result<Conv> {
        if main.is_empty() {
            return Err(self.unsupported(n, path, "an Append without inputs"));
        }
        let parallel = n.parallel_aware;
        let child_div = if parallel { self.member_divisor(n, main, divisor) } else { divisor };
        let removed = n.extra.get("Subplans Removed").and_then(|v| v.as_u64()).unwrap_or(0);
        let kind = if parallel { "Parallel Append" } else { "Append" };
        let mut fields = vec![f("node", tstr(kind)), fc("width", tnum(n.plan_width as f64), "Plan Width")];
        if removed > 0 {
            fields.push(fc("subplans_removed", removed.to_string(), "Subplans Removed"));
        }
        let mut inputs = vec![];
        let mut children = vec![];
        for c in main {
            let d = if c.parallel_aware {
                child_div
            } else if parallel {
                1.0
            } else {
                divisor
            };
            let conv = self.node(c, d, path)?;
            if !conv.node.streams_from_scans() {
                return Err(self.unsupported(
                    n,
                    path,
                    &format!("an input that is not a scan or a join of scans ({})", c.display_name()),
                ));
            }
            inputs.push(conv.node);
            children.push(("inputs", conv.toml));
        }
        if parallel && !inputs.iter().any(Node::has_parallel_aware) {
            return Err(self.unsupported(n, path, "a Parallel Append without a parallel-aware input"));
        }
        let node = Node::Append { parallel, width: n.plan_width as f64, inputs, subplans_removed: removed as u32 };
        Ok(Conv { node, toml: TNode { fields, subplan: None, children } })
    }

    /// The parallel divisor of a Parallel Append's partial inputs (see [`Cx::append`]),
    /// snapped to PostgreSQL's divisor of a worker count up to the Append's.
    fn member_divisor(&self, n: &ExplainNode, main: &[&ExplainNode], divisor: f64) -> f64 {
        if self.loops(n).is_some() {
            return divisor; // actual rows x loops: totals, whatever the divisor
        }
        let partial: f64 = main.iter().filter(|c| c.parallel_aware).map(|c| c.plan_rows).sum();
        let whole: f64 = main.iter().filter(|c| !c.parallel_aware).map(|c| c.plan_rows).sum();
        if partial <= 0.0 {
            return divisor;
        }
        let d = ((divisor * n.plan_rows - whole) / partial).clamp(1.0, divisor.max(1.0));
        let leader = self.gucs.flag("parallel_leader_participation");
        (1..=64u32)
            .map(|w| {
                let mut x = w as f64;
                if leader {
                    x += (1.0 - 0.3 * w as f64).max(0.0);
                }
                x
            })
            .filter(|x| *x <= divisor + 1e-9)
            .min_by(|a, b| (a - d).abs().total_cmp(&(b - d).abs()))
            .unwrap_or(d)
    }
}
