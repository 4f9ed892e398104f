//! Merge Join and Append (Parallel Append) as pipelines of the executor model.
//!
//! **Merge Join** (nodeMergejoin.c) reads two inputs sorted on the join keys and advances the
//! side with the smaller key; every participant reads the whole inner side (a merge join's
//! inner path is never partial), the outer side is the pipeline's driving scan. In the model
//! the inner side (its scan and its Sort) is a private build that each participant runs
//! before its outer rows stream, priced per inner row with one key comparison and one node
//! call; each outer row costs `1 + rows_per_outer` key comparisons (the first against the
//! current inner key, then one per inner row of its group) and one mark or restore of the
//! inner position (ExecMarkPos / ExecRestrPos: a tuplestore or tuplesort read pointer, priced
//! as a quarter tuple like a Materialize rescan); each join row is formed like a hash join's.
//! When the outer side is sorted (a Sort breaker below), the merge runs as a
//! [`Breaker::Join`]: its work per sorted row is a finishing flow, not per tuple events.
//!
//! **Append** (nodeAppend.c) runs its inputs one after another; the model merges them into
//! one source whose pages and tuples are the inputs' sums and whose per-tuple work is the
//! inputs' average weighted by their tuples, which is the same total work in the same order
//! of magnitude of events. A Parallel Append spreads participants over its partial inputs
//! (their blocks are handed out as one shared scan) and gives each non-partial input to one
//! participant alone, workers first, as `choose_next_subplan_for_worker` does
//! ([`Source::whole_pages`]).

use super::compile::{breaker_finish, breaker_output, pipeline, Breaker, Build, Env, Pipeline};
use super::compile::{PageCost, Source, SourceKind};
use super::cpu_cost::CpuCost;
use crate::model::Node;

/// One key comparison of the merge clause(s): the clause priced by its operators' classes
/// when the tables' columns are known, else one by-value comparison (`qual_ns`).
fn key_compare_ns(env: &Env, cc: &CpuCost, cond: &str) -> f64 {
    cc.hash_keys(cond).unwrap_or(env.speed(env.hw.costs.qual_ns))
}

/// The inner side of a merge join as a private build: its scan, its breakers' finishing work
/// (the Sort) and, per row it returns, `per_row_out` (the merge's comparison and the call).
fn inner_build(env: &Env, inner: &Pipeline, per_row_out: f64, label: String) -> Build {
    let tuples = inner.source.tuples;
    let streamed = tuples * inner.rows_per_tuple;
    let mut extra = 0.0;
    let mut temp_pages = 0.0;
    for (i, b) in inner.breakers.iter().enumerate() {
        let n_in = breaker_output(&inner.breakers[..i], streamed);
        let (cpu, temp) = breaker_finish(env.hw, env.settings, b, n_in);
        extra += cpu;
        temp_pages += temp;
    }
    let rows = breaker_output(&inner.breakers, streamed);
    let out_row = if inner.breakers.is_empty() { 0.0 } else { *inner.breaker_row_ns.last().unwrap_or(&0.0) };
    extra += rows * (out_row + per_row_out);
    Build {
        label,
        shared: false,
        pages: inner.source.pages,
        tuples,
        page: inner.source.page.clone(),
        cpu_per_tuple: inner.cpu_per_tuple + if tuples > 0.0 { extra / tuples } else { 0.0 },
        rows_per_tuple: if tuples > 0.0 { rows / tuples } else { 0.0 },
        temp_pages,
        insert_ns: 0.0,
    }
}

/// A Merge Join's pipeline (see the module docs).
pub(crate) fn merge_join(env: &Env, cc: &CpuCost, node: &Node, is_worker: bool, bound: Option<f64>) -> Pipeline {
    let Node::MergeJoin { rows_per_outer, width, outer, inner, cond, .. } = node else {
        unreachable!("merge_join is called on a Merge Join");
    };
    let c = &env.hw.costs;
    let cmp = key_compare_ns(env, cc, cond);
    let mut p = pipeline(env, cc, outer, is_worker, None);
    let inner_p = pipeline(env, cc, inner, is_worker, None);
    let name = env.tables.get(inner_p.source.table).map_or(String::new(), |t| t.name.clone());
    let mut builds = inner_p.builds.clone();
    builds.push(inner_build(env, &inner_p, cmp + env.instr(), format!("Merge Join inner on {name}")));
    builds.append(&mut p.builds);
    p.builds = builds;
    let m = env.measured(node);
    let per_outer = m.and_then(|m| m.row_ns).unwrap_or((1.0 + rows_per_outer) * cmp + env.speed(c.tuple_ns * 0.25));
    let per_join_row = env.speed(c.tuple_ns * 0.5) + env.instr();
    if p.breakers.is_empty() {
        p.cpu_per_tuple += p.rows_per_tuple * per_outer;
        p.rows_per_tuple *= rows_per_outer;
        p.cpu_per_tuple += p.rows_per_tuple * per_join_row;
    } else {
        // The sorted outer rows' own call (the Sort's output row cost) and the merge, per row.
        let out_of_sort = std::mem::take(p.breaker_row_ns.last_mut().expect("row costs"));
        p.breakers.push(Breaker::Join {
            rows_per_row: *rows_per_outer,
            in_row_ns: out_of_sort + per_outer,
            out_row_ns: per_join_row,
        });
        p.breaker_row_ns.push(0.0);
    }
    p.out_width = *width;
    p.bound = bound;
    p
}

/// An Append's (or Parallel Append's) pipeline: its inputs merged into one source.
pub(crate) fn append(env: &Env, cc: &CpuCost, node: &Node, is_worker: bool, bound: Option<f64>) -> Pipeline {
    let Node::Append { parallel, width, inputs, .. } = node else {
        unreachable!("append is called on an Append");
    };
    let mut parts: Vec<Pipeline> = inputs.iter().map(|i| pipeline(env, cc, i, is_worker, None)).collect();
    // An input with its own breakers (not produced by the importer or the loader) keeps its
    // work: the breakers' finishing is folded into its rows.
    for p in parts.iter_mut() {
        if !p.breakers.is_empty() {
            let b = inner_build(env, p, 0.0, String::new());
            p.cpu_per_tuple = b.cpu_per_tuple;
            p.rows_per_tuple = b.rows_per_tuple;
            p.breakers.clear();
            p.breaker_row_ns = vec![0.0];
        }
    }
    let tuples: f64 = parts.iter().map(|p| p.source.tuples).sum();
    let pages: f64 = parts.iter().map(|p| p.source.pages).sum();
    let n = parts.len().max(1) as f64;
    let by_tuples = |f: &dyn Fn(&Pipeline) -> f64| -> f64 {
        if tuples > 0.0 {
            parts.iter().map(|p| p.source.tuples * f(p)).sum::<f64>() / tuples
        } else {
            parts.iter().map(f).sum::<f64>() / n
        }
    };
    let by_pages = |f: &dyn Fn(&PageCost) -> f64| -> f64 {
        if pages > 0.0 {
            parts.iter().map(|p| p.source.pages * f(&p.source.page)).sum::<f64>() / pages
        } else {
            parts.iter().map(|p| f(&p.source.page)).sum::<f64>() / n
        }
    };
    let rows_per_tuple = by_tuples(&|p| p.rows_per_tuple);
    let shared = parts.iter().any(|p| p.source.kind == SourceKind::Shared);
    let whole_pages: Vec<f64> = if *parallel && shared {
        parts.iter().filter(|p| p.source.kind == SourceKind::Private).map(|p| p.source.pages).collect()
    } else {
        vec![]
    };
    let source = Source {
        kind: if shared || *parallel { SourceKind::Shared } else { SourceKind::Private },
        table: parts.first().map_or(0, |p| p.source.table),
        pages,
        tuples,
        page: PageCost {
            cpu_ns: by_pages(&|c| c.cpu_ns),
            os_read_ns: by_pages(&|c| c.os_read_ns),
            disk_bytes: by_pages(&|c| c.disk_bytes),
            maps: by_pages(&|c| c.maps),
        },
        random_reads_per_tuple: by_tuples(&|p| p.source.random_reads_per_tuple),
        whole_pages,
    };
    Pipeline {
        builds: parts.iter().flat_map(|p| p.builds.iter().cloned()).collect(),
        source,
        // Each row the Append returns is one call of it.
        cpu_per_tuple: by_tuples(&|p| p.cpu_per_tuple) + rows_per_tuple * env.instr(),
        rows_per_tuple,
        breakers: vec![],
        breaker_row_ns: vec![0.0],
        bound,
        out_width: *width,
    }
}

/// Whether [`add_breaker`] on top of this pipeline should charge the new breaker's per-row
/// input work to a [`Breaker::Join`] below it (whose output rows are costed in its finish).
pub(crate) fn charge_join_rows(p: &mut Pipeline, per_row: f64) -> bool {
    if let Some(Breaker::Join { out_row_ns, .. }) = p.breakers.last_mut() {
        *out_row_ns += per_row;
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Node, Table};

    fn seq(table: usize, parallel: bool) -> Node {
        Node::SeqScan { table, parallel, filter: None, width: 8.0, output: vec![] }
    }

    #[test]
    fn append_sums_its_inputs_and_keeps_non_partial_ones_whole() {
        let src = crate::config::hardware_source("reference-2vcpu").unwrap();
        let hw = crate::config::load_hardware_str(&src.label, &src.text, &[]).unwrap();
        let tables = vec![
            Table { name: "a".into(), rows: 1000.0, width: 8.0, pages: 10.0, ..Default::default() },
            Table { name: "b".into(), rows: 3000.0, width: 8.0, pages: 30.0, ..Default::default() },
        ];
        let settings = crate::model::guc::Settings::default();
        let env = Env {
            tables: &tables,
            settings: &settings,
            hw: &hw,
            output: crate::model::OutputMode::ExplainAnalyzeTimingOff,
            workers_planned: 2,
            measured: None,
        };
        let node =
            Node::Append { parallel: true, width: 8.0, inputs: vec![seq(0, false), seq(1, true)], subplans_removed: 0 };
        let cc = CpuCost::new(&tables, &hw, &node);
        let p = append(&env, &cc, &node, true, None);
        assert_eq!(p.source.kind, SourceKind::Shared);
        assert_eq!(p.source.pages, 40.0);
        assert_eq!(p.source.tuples, 4000.0);
        assert_eq!(p.source.whole_pages, vec![10.0], "the non-partial input is one participant's");
        let serial = Node::Append {
            parallel: false,
            width: 8.0,
            inputs: vec![seq(0, false), seq(1, false)],
            subplans_removed: 0,
        };
        let p = append(&env, &cc, &serial, false, None);
        assert_eq!(p.source.kind, SourceKind::Private);
        assert!(p.source.whole_pages.is_empty());
    }
}
