//! Turn a plan tree into what each process executes: the participant pipeline below the
//! Gather (builds, a chunked source, per-row work, pipeline breakers, a tuple bound) and the
//! leader's consumer above it (per-row work, a LIMIT, breakers). Costs come from the
//! hardware profile's unit costs; row counts from the plan's selectivities.

use super::cpu_cost::CpuCost;
pub use super::pages::{Access, PageCost};
use crate::model::guc::Settings;
use crate::model::hash_table::join_table;
use crate::model::measured::{MeasuredCosts, NodeCost};
use crate::model::*;

/// A hash table or hashed SubPlan every participant (or all together) builds before probing.
#[derive(Debug, Clone, PartialEq)]
pub struct Build {
    pub label: String,
    /// Parallel Hash: participants share the inner scan and wait at a barrier.
    pub shared: bool,
    pub pages: f64,
    pub tuples: f64,
    pub page: PageCost,
    /// CPU ns per inner tuple (scan + filter + hash insert).
    pub cpu_per_tuple: f64,
    /// Rows inserted per inner tuple (inner filter selectivity).
    pub rows_per_tuple: f64,
    /// Temp-file pages written and read back when the table spills into batches.
    pub temp_pages: f64,
    /// Of `cpu_per_tuple`, the hashed SubPlan's insert into its hash table (0 for others).
    pub insert_ns: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// Parallel Seq Scan / Parallel Index Scan: blocks handed out in chunks (tableam.c).
    Shared,
    /// Every process reads the whole relation.
    Private,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub kind: SourceKind,
    pub table: usize,
    /// Units the scan is divided into (heap pages; for index scans, pages visited).
    pub pages: f64,
    pub tuples: f64,
    pub page: PageCost,
    /// Random reads per tuple that cannot be read ahead (index scans on cold data).
    pub random_reads_per_tuple: f64,
    /// Pages of a Parallel Append's non-partial inputs (part of `pages`): each is run by one
    /// participant alone, workers taking them first (nodeAppend.c); the rest is shared.
    pub whole_pages: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Breaker {
    /// Aggregate: consumes everything, then returns `groups` rows.
    Agg { groups: f64 },
    /// Sort: consumes everything, sorts (bounded to `bound` rows if a LIMIT is known), returns rows.
    /// `key_ns`: CPU per comparison beyond `sort_compare_ns` for the first key's type (text
    /// and bpchar order through the collation; 0 for by-value keys or unknown columns).
    Sort { bound: Option<f64>, width: f64, key_ns: f64 },
    /// A streaming node above a breaker that returns `rows_per_row` rows per input row (a
    /// Merge Join over a sorted outer side): its work per input row and per row it returns
    /// (with the per-row input work of the node above) is its finishing flow.
    Join { rows_per_row: f64, in_row_ns: f64, out_row_ns: f64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    pub builds: Vec<Build>,
    pub source: Source,
    /// CPU ns per scanned tuple for everything streaming (scan, quals, probes, the first
    /// breaker's per-row input work), excluding page costs.
    pub cpu_per_tuple: f64,
    /// Rows reaching the first breaker (or the output) per scanned tuple.
    pub rows_per_tuple: f64,
    pub breakers: Vec<Breaker>,
    /// CPU ns per row passed from one breaker to the next (index i = into breaker i+1), and
    /// for the final output rows (last element).
    pub breaker_row_ns: Vec<f64>,
    /// The executor's tuple bound: stop after this many output rows.
    pub bound: Option<f64>,
    /// Width of the output rows (for tuple-queue framing).
    pub out_width: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Consumer {
    /// CPU ns per row the leader pulls from the Gather (operators above it, up to a breaker).
    pub per_row_ns: f64,
    /// Stop pulling after this many rows (LIMIT directly above the Gather).
    pub limit: Option<f64>,
    /// Breakers above the Gather (Sort, Finalize Aggregate with groups...).
    pub breakers: Vec<Breaker>,
    pub breaker_row_ns: Vec<f64>,
    /// Final LIMIT applied after the breakers.
    pub final_limit: Option<f64>,
    /// CPU ns per row returned to the client (0 under EXPLAIN ANALYZE).
    pub client_row_ns: f64,
    /// CPU ns for the leader to deform a row received from a worker's tuple queue (the
    /// leader's own rows skip it).
    pub receive_row_ns: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No Gather: the leader runs the plan alone.
    Serial,
    Gather {
        single_copy: bool,
    },
    GatherMerge,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    pub mode: Mode,
    pub workers_planned: u32,
    pub leader: Pipeline,
    pub worker: Pipeline,
    pub consumer: Consumer,
    pub queue_tuple_bytes: f64,
    pub leader_participates: bool,
    /// A serial plan the leader runs after the Gather, when the Gather is the one inside a
    /// hashed SubPlan's subquery (reference §7.4): the Gather builds the hash table in the
    /// leader, then the leader scans the outer relation alone.
    pub post: Option<Pipeline>,
    /// The query's fixed cost before any node runs, as the output mode times it
    /// (`costs.query_explain_us` / `costs.query_client_us`).
    pub query_ns: f64,
}

pub struct Env<'a> {
    pub tables: &'a [Table],
    pub settings: &'a Settings,
    pub hw: &'a Hardware,
    pub output: OutputMode,
    /// Workers Planned of the plan's Gather (sizes Parallel Hash memory).
    pub workers_planned: u32,
    /// The query's own per-node costs from a real EXPLAIN ANALYZE, used instead of the class
    /// costs for the nodes they name.
    pub measured: Option<&'a MeasuredCosts>,
}

impl Env<'_> {
    pub(crate) fn speed(&self, ns: f64) -> f64 {
        ns / self.hw.cpu_speed
    }

    /// The measured costs of `node` (ns on this machine: the factor applied), if any.
    pub fn measured(&self, node: &Node) -> Option<Measured> {
        let (nc, scale) = self.measured?.find(node, self.tables, self.hw.cpu_speed)?;
        let s = |v: Option<f64>| v.map(|x| x * scale);
        Some(Measured {
            row_ns: s(nc.row_ns),
            page_ns: s(nc.page_ns),
            build_row_ns: s(nc.build_row_ns),
            cmp_ns: s(nc.cmp_ns),
        })
    }

    /// CPU ns of one instrumented node call: EXPLAIN ANALYZE wraps every call of every node
    /// (execProcnode.c ExecProcNodeInstr: instrument.c InstrStartNode/InstrStopNode), with
    /// TIMING ON reading the clock twice in it; a bare query pays neither.
    pub fn instr(&self) -> f64 {
        let c = &self.hw.costs;
        match self.output {
            OutputMode::ExplainAnalyze => self.speed(c.instrument_ns + c.instrument_call_ns),
            OutputMode::ExplainAnalyzeTimingOff => self.speed(c.instrument_call_ns),
            OutputMode::Client => 0.0,
        }
    }

    /// The fixed cost of one query as the output mode times it: EXPLAIN ANALYZE's Execution
    /// Time (with or without TIMING) or the client's clock.
    pub fn query_fixed(&self, plan: &Node) -> f64 {
        match self.output {
            OutputMode::Client => {
                let c = &self.hw.costs;
                self.speed(c.query_client_ns + c.plan_join_ns * plan.planned_joins() as f64)
            }
            OutputMode::ExplainAnalyze | OutputMode::ExplainAnalyzeTimingOff => {
                self.speed(self.hw.costs.query_explain_ns)
            }
        }
    }

    fn client_row(&self) -> f64 {
        match self.output {
            OutputMode::Client => self.speed(self.hw.costs.client_row_ns),
            _ => 0.0,
        }
    }

    fn filter_cost(&self, cc: &CpuCost, table: usize, f: &Option<Filter>, is_worker: bool) -> (f64, f64, Vec<Build>) {
        let c = &self.hw.costs;
        match f {
            None => (0.0, 1.0, vec![]),
            Some(f) => {
                // Schema-aware: the qual's clauses priced by operator class; else the generic
                // price per operator.
                let schema = if cc.known(table) { cc.qual(&f.text, f.selectivity, &f.reach) } else { None };
                let mut cpu = schema.unwrap_or(self.speed(c.qual_ns) * f.operators);
                let mut builds = vec![];
                if let Some(sp) = &f.subplan {
                    let t = &self.tables[sp.table];
                    if sp.hashed {
                        // Priced as a lookup that finds its row, as a hash join's match.
                        cpu += self.speed(c.subplan_lookup(self.tables, table, sp) + c.hash_match_ns);
                        let insert_ns = self.speed(sp.store_ns(c));
                        builds.push(Build {
                            label: format!("hashed SubPlan on {}", t.name),
                            shared: false,
                            pages: t.pages,
                            tuples: t.rows,
                            page: self.page_cost_reading(t, is_worker),
                            cpu_per_tuple: self.speed(c.tuple_ns) + insert_ns + self.instr(),
                            rows_per_tuple: if t.rows > 0.0 { sp.rows / t.rows } else { 0.0 },
                            temp_pages: 0.0,
                            insert_ns,
                        });
                    } else if is_worker {
                        // Workers do not materialize non-hashed SubPlans: the subquery runs
                        // from scratch for every outer row (execParallel.c:ExecSerializePlan).
                        let pc = self.page_cost_reading(t, true);
                        let per_scan =
                            t.pages * (pc.cpu_ns + pc.os_read_ns) + t.rows * self.speed(c.tuple_ns + c.qual_ns);
                        cpu += per_scan;
                    } else {
                        // The leader scans its materialized tuplestore for every outer row.
                        cpu += sp.rows * self.speed(c.qual_ns + c.tuple_ns * 0.25);
                        builds.push(Build {
                            label: format!("Materialize SubPlan on {}", t.name),
                            shared: false,
                            pages: t.pages,
                            tuples: t.rows,
                            page: self.page_cost_reading(t, false),
                            cpu_per_tuple: self.speed(c.tuple_ns * 2.0),
                            rows_per_tuple: 1.0,
                            temp_pages: 0.0,
                            insert_ns: 0.0,
                        });
                    }
                }
                (cpu, f.selectivity, builds)
            }
        }
    }
}

/// A node's measured costs in ns on the running machine ([`NodeCost`] scaled by the
/// machines' cpu_speed ratio).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    pub row_ns: Option<f64>,
    pub page_ns: Option<f64>,
    pub build_row_ns: Option<f64>,
    pub cmp_ns: Option<f64>,
}

impl From<&NodeCost> for Measured {
    fn from(n: &NodeCost) -> Self {
        Measured { row_ns: n.row_ns, page_ns: n.page_ns, build_row_ns: n.build_row_ns, cmp_ns: n.cmp_ns }
    }
}

/// Bytes a tuple takes in a sort (SortTuple 24 B + MinimalTuple header + data, MAXALIGNed).
pub fn sort_tuple_bytes(width: f64) -> f64 {
    24.0 + maxalign(16.0 + width)
}

/// A Seq Scan's or Index Scan's pipeline: pages, rows, its filter (and SubPlan builds).
fn scan_pipeline(env: &Env, cc: &CpuCost, node: &Node, is_worker: bool, bound: Option<f64>) -> Pipeline {
    let c = &env.hw.costs;
    let (Node::SeqScan { table, parallel, filter, width, output }
    | Node::IndexScan { table, parallel, filter, width, output, .. }) = node
    else {
        unreachable!("scan_pipeline is called on scans");
    };
    let t = &env.tables[*table];
    let (fcpu, sel, builds) = env.filter_cost(cc, *table, filter, is_worker);
    // Deforming (and projecting) by the table's columns, when known; tuple_ns is then
    // the rest of fetching a row (the generic tuple_ns includes deforming).
    let (deform_all, deform_passing) = if cc.known(*table) {
        cc.scan_row(*table, filter.as_ref().map(|f| f.text.as_str()), output)
    } else {
        (0.0, 0.0)
    };
    let (pages, per_tuple, random) = match node {
        Node::IndexScan { fraction, correlation, .. } => {
            let idx_pages = t.index_pages.unwrap_or((t.rows / 300.0).ceil().max(1.0));
            let heap = t.pages * fraction * correlation + t.rows * fraction * (1.0 - correlation);
            let pages = (heap + idx_pages * fraction).max(1.0);
            let random = if env.hw.cache == CacheState::Cold { 1.0 - correlation } else { 0.0 };
            (pages, env.speed(c.index_tuple_ns + c.tuple_ns), random)
        }
        _ => (t.pages, env.speed(c.tuple_ns), 0.0),
    };
    let fraction = match node {
        Node::IndexScan { fraction, .. } => *fraction,
        _ => 1.0,
    };
    let access = if matches!(node, Node::IndexScan { .. }) { Access::Index } else { Access::Sequential };
    let reads_columns = cc.reads_columns(*table, filter.as_ref().map(|f| f.text.as_str()), *width);
    let mut page = env.scan_page_cost(t, pages, access, reads_columns, is_worker);
    if is_worker && access == Access::Sequential {
        // Its faults map the blocks around the ones it reads: its neighbours' where the
        // scan's chunks are smaller than the kernel's fault-around window, other data's where
        // the table's buffers share windows with it. Taken at Workers Planned; a worker's
        // plain Seq Scan (a single-copy Gather's plan, a private hash table's build) reads
        // every block itself.
        let sharing = if *parallel { env.planned_participants() } else { 1.0 };
        page.maps = super::scan::table_fault_maps(t, sharing);
        page.cpu_ns += env.speed(c.worker_page_fault_ns) * (page.maps - 1.0);
    }
    let mut row = per_tuple + deform_all + fcpu + sel * deform_passing;
    let mut builds = builds;
    if let Some(m) = env.measured(node) {
        // This query's measured costs: a row read (filter, deforming, projection) and
        // a page (buffer access, OS page-cache copy), instead of the class costs.
        if let Some(r) = m.row_ns {
            row = r;
        }
        if let Some(p) = m.page_ns {
            page.cpu_ns = p;
            page.os_read_ns = 0.0;
        }
        if let Some(b) = m.build_row_ns {
            for build in &mut builds {
                build.cpu_per_tuple = b + env.instr();
                build.page.cpu_ns = 0.0;
                build.page.os_read_ns = 0.0;
            }
        }
    }
    Pipeline {
        builds,
        source: Source {
            kind: if *parallel { SourceKind::Shared } else { SourceKind::Private },
            table: *table,
            pages,
            tuples: t.rows * fraction,
            page,
            random_reads_per_tuple: random,
            whole_pages: vec![],
        },
        cpu_per_tuple: row + sel * env.instr(),
        rows_per_tuple: sel,
        breakers: vec![],
        breaker_row_ns: vec![0.0],
        bound,
        out_width: *width,
    }
}

/// Build a pipeline for one role below the Gather (or the whole serial plan).
pub(crate) fn pipeline(env: &Env, cc: &CpuCost, node: &Node, is_worker: bool, bound: Option<f64>) -> Pipeline {
    let planned = env.workers_planned;
    let c = &env.hw.costs;
    match node {
        Node::SeqScan { .. } | Node::IndexScan { .. } => scan_pipeline(env, cc, node, is_worker, bound),
        Node::HashJoin { parallel, rows_per_outer, width, outer, inner, cond, .. } => {
            let mut p = pipeline(env, cc, outer, is_worker, None);
            // Hashing the key(s) of each built and probed row, by the keys' types.
            let keys = cc.hash_keys(cond).unwrap_or(0.0);
            let inner_p = pipeline(env, cc, inner, is_worker, None);
            let t = &env.tables[inner_p.source.table];
            let inner_rows = inner_p.source.tuples * inner_p.rows_per_tuple;
            let bytes = inner_rows * (32.0 + maxalign(inner.width()));
            // Parallel Hash first tries the combined budget of all planned participants.
            let participants = if *parallel { f64::from(planned) + 1.0 } else { 1.0 };
            let budget = env.settings.hash_mem_bytes() * participants;
            let temp_pages = if bytes > budget { 2.0 * bytes / BLCKSZ } else { 0.0 };
            let m = env.measured(node);
            // Random accesses into the table cost more as it outgrows the core's cache.
            let table = join_table(inner_rows, inner.width());
            let build_row =
                m.and_then(|m| m.build_row_ns).unwrap_or(env.speed(c.hash_insert_into(table, *parallel)) + keys);
            let mut builds = inner_p.builds.clone();
            builds.push(Build {
                label: format!("{}Hash on {}", if *parallel { "Parallel " } else { "" }, t.name),
                shared: *parallel,
                pages: inner_p.source.pages,
                tuples: inner_p.source.tuples,
                page: inner_p.source.page.clone(),
                cpu_per_tuple: inner_p.cpu_per_tuple + inner_p.rows_per_tuple * build_row,
                rows_per_tuple: inner_p.rows_per_tuple,
                temp_pages,
                insert_ns: 0.0,
            });
            builds.append(&mut p.builds);
            p.builds = builds;
            debug_assert!(p.breakers.is_empty());
            match m.and_then(|m| m.row_ns) {
                // Measured: per outer row, probing and forming the join rows.
                Some(r) => {
                    p.cpu_per_tuple += p.rows_per_tuple * r;
                    p.rows_per_tuple *= rows_per_outer;
                    p.cpu_per_tuple += p.rows_per_tuple * env.instr();
                }
                None => {
                    let lookup = c.join_lookup(env.tables, table, [outer, inner], cond, *parallel);
                    p.cpu_per_tuple += p.rows_per_tuple * (env.speed(lookup) + keys);
                    p.rows_per_tuple *= rows_per_outer;
                    p.cpu_per_tuple += p.rows_per_tuple * (env.speed(c.tuple_ns * 0.5 + c.hash_match_ns) + env.instr());
                }
            }
            p.out_width = *width;
            p.bound = bound;
            p
        }
        Node::NestedLoop { rows_per_outer, inner_table, width, outer, .. } => {
            let mut p = pipeline(env, cc, outer, is_worker, None);
            let t = &env.tables[*inner_table];
            let pc = env.page_cost_of(t.pages, Access::Index, t.in_shared_buffers);
            // Each inner row is deformed as far as the plan reads the inner table.
            let inner_deform = if cc.known(*inner_table) { cc.scan_row(*inner_table, None, &[]).1 } else { 0.0 };
            let work = env.measured(node).and_then(|m| m.row_ns).unwrap_or_else(|| {
                env.speed(c.index_descent_ns)
                    + rows_per_outer
                        * (env.speed(c.index_tuple_ns + c.tuple_ns) + inner_deform + pc.cpu_ns + pc.os_read_ns)
            });
            let per_outer = work + (rows_per_outer + 1.0) * env.instr() + rows_per_outer * env.instr();
            p.cpu_per_tuple += p.rows_per_tuple * per_outer;
            super::scan::worker_index_first_touches(env, t, is_worker, &mut p);
            if env.hw.cache == CacheState::Cold {
                p.source.random_reads_per_tuple += p.rows_per_tuple * rows_per_outer.max(1.0);
            }
            p.rows_per_tuple *= rows_per_outer;
            p.out_width = *width;
            p.bound = bound;
            p
        }
        Node::Aggregate { groups, width, input, .. } => {
            let mut p = pipeline(env, cc, input, is_worker, None);
            let per_row = env.measured(node).and_then(|m| m.row_ns).unwrap_or_else(|| agg_row_ns(env, cc, node));
            add_breaker(&mut p, Breaker::Agg { groups: *groups }, per_row, env.instr());
            p.out_width = *width;
            p.bound = bound;
            p
        }
        Node::Sort { input, keys } => {
            let mut p = pipeline(env, cc, input, is_worker, None);
            let w = p.out_width;
            let (per_row, key_ns) = sort_costs(env, cc, node, keys);
            add_breaker(&mut p, Breaker::Sort { bound, width: w, key_ns }, per_row, env.instr());
            p.bound = bound;
            p
        }
        Node::Limit { count, input } => {
            let b = Some(bound.map_or(*count, |x| x.min(*count)));
            pipeline(env, cc, input, is_worker, b)
        }
        Node::Gather { input, .. } | Node::GatherMerge { input, .. } => pipeline(env, cc, input, is_worker, bound),
        Node::MergeJoin { .. } => super::merge_append::merge_join(env, cc, node, is_worker, bound),
        Node::Append { .. } => super::merge_append::append(env, cc, node, is_worker, bound),
    }
}

/// A Sort's CPU per input row and its comparison's price beyond `sort_compare_ns`: the class
/// costs, or the query's measured ones (a measured comparison price is expressed as the
/// extra over `sort_compare_ns` that `breaker_finish` adds to it).
fn sort_costs(env: &Env, cc: &CpuCost, node: &Node, keys: &[String]) -> (f64, f64) {
    let m = env.measured(node);
    let per_row = m.and_then(|m| m.row_ns).unwrap_or(env.speed(env.hw.costs.sort_tuple_ns));
    let key_ns = match m.and_then(|m| m.cmp_ns) {
        Some(cmp) => cmp - env.speed(env.hw.costs.sort_compare_ns),
        None => cc.sort_key_extra(keys),
    };
    (per_row, key_ns)
}

/// CPU per input row of an Aggregate: its transitions by function and argument type when
/// the scenario's tables have columns and the node lists its calls; else the generic price
/// per aggregate (a Finalize's combine functions at 1.5 transitions). A hashed Aggregate's
/// row also finds its group in the groups' hash table ([`UnitCosts::group_lookup`]).
pub(crate) fn agg_row_ns(env: &Env, cc: &CpuCost, node: &Node) -> f64 {
    let Node::Aggregate { mode, aggregates, groups, output, .. } = node else { return 0.0 };
    let schema = if cc.all_known() { cc.agg_row(output, *mode, *groups > 1.0) } else { None };
    let transitions = schema.unwrap_or_else(|| {
        env.speed(env.hw.costs.agg_transition_ns)
            * aggregates.max(1.0)
            * if *mode == AggMode::Finalize { 1.5 } else { 1.0 }
    });
    transitions + node.group_hash_table().map_or(0.0, |t| env.speed(env.hw.costs.group_lookup(t)))
}

pub(crate) fn add_breaker(p: &mut Pipeline, b: Breaker, per_row: f64, instr: f64) {
    if super::merge_append::charge_join_rows(p, per_row) {
        // Charged to the Merge Join's rows.
    } else if p.breakers.is_empty() {
        p.cpu_per_tuple += p.rows_per_tuple * per_row;
    } else {
        *p.breaker_row_ns.last_mut().expect("row costs") += per_row;
    }
    p.breakers.push(b);
    // Each row the breaker returns is one instrumented call of it.
    p.breaker_row_ns.push(instr);
}

/// Rows a chain of breakers returns for `n` input rows.
pub fn breaker_output(breakers: &[Breaker], mut n: f64) -> f64 {
    for b in breakers {
        n = match b {
            Breaker::Agg { groups } => {
                if n > 0.0 {
                    groups.min(n.max(1.0))
                } else {
                    1.0_f64.min(*groups)
                }
            }
            Breaker::Sort { bound, .. } => bound.map_or(n, |b| n.min(b)),
            Breaker::Join { rows_per_row, .. } => n * rows_per_row,
        };
    }
    n
}

/// CPU ns to finish breaker `b` for `n` input rows, and the temp pages it writes and reads.
pub fn breaker_finish(env_hw: &Hardware, settings: &Settings, b: &Breaker, n: f64) -> (f64, f64) {
    let c = &env_hw.costs;
    let s = env_hw.cpu_speed;
    match b {
        Breaker::Agg { groups } => (groups.min(n.max(1.0)) * c.agg_transition_ns / s, 0.0),
        Breaker::Join { rows_per_row, in_row_ns, out_row_ns } => (n * (in_row_ns + rows_per_row * out_row_ns), 0.0),
        Breaker::Sort { bound, width, key_ns } => {
            if n <= 1.0 {
                return (0.0, 0.0);
            }
            let per_cmp = c.sort_compare_ns / s + key_ns;
            match bound {
                Some(k) if *k < n && 2.0 * k * sort_tuple_bytes(*width) <= settings.work_mem_bytes() => {
                    // top-N heapsort: heap of k entries; ~n·log2(2k) comparisons in the worst case,
                    // far fewer once the heap is full and most rows lose the first comparison.
                    let cmp = n + k * (2.0 * k).max(2.0).log2() * (n / k).max(1.0).ln().max(1.0);
                    (cmp * per_cmp, 0.0)
                }
                _ => {
                    let bytes = n * sort_tuple_bytes(*width);
                    let cmp = n * n.log2();
                    let mem = settings.work_mem_bytes();
                    if bytes <= mem {
                        (cmp * per_cmp, 0.0)
                    } else {
                        // External merge: runs of ~work_mem, merge order per tuplesort.c.
                        let runs = (bytes / mem).ceil();
                        let order = (mem / (2.0 * 8192.0 + 262144.0)).clamp(6.0, 500.0);
                        let passes = runs.log(order).ceil().max(1.0);
                        let pages = bytes / BLCKSZ * 2.0 * passes;
                        (cmp * per_cmp, pages)
                    }
                }
            }
        }
    }
}

/// EXPLAIN's Sort Method, Sort Space Used (kB) and Sort Space Type for `n` input rows.
pub fn sort_method(settings: &Settings, b: &Breaker, n: f64) -> (&'static str, f64, &'static str) {
    match b {
        Breaker::Sort { bound, width, .. } => {
            let per = sort_tuple_bytes(*width);
            let mem = settings.work_mem_bytes();
            match bound {
                Some(k) if *k < n && 2.0 * k * per <= mem => {
                    ("top-N heapsort", (k * per / 1024.0).ceil().max(25.0), "Memory")
                }
                _ if n * per <= mem => ("quicksort", (n * per / 1024.0).ceil().max(25.0), "Memory"),
                // On tape: a 4-byte length word + the MinimalTuple body (tuplesort.c:writetup_heap).
                _ => ("external merge", (n * (width + 12.0) / 1024.0).ceil(), "Disk"),
            }
        }
        Breaker::Agg { .. } | Breaker::Join { .. } => ("", 0.0, ""),
    }
}

fn consumer(env: &Env, cc: &CpuCost, node: &Node) -> Consumer {
    // Walk from the root down to the Gather, collecting the leader's work per row.
    let c = &env.hw.costs;
    let mut chain: Vec<&Node> = vec![];
    let mut n = node;
    while !n.is_gather() {
        chain.push(n);
        match n.children().first() {
            Some(child) => n = child,
            None => break,
        }
    }
    let mut cons = Consumer {
        // Every row the Gather returns is one instrumented call of the Gather.
        per_row_ns: env.instr(),
        limit: None,
        breakers: vec![],
        breaker_row_ns: vec![],
        final_limit: None,
        client_row_ns: env.client_row(),
        receive_row_ns: 0.0,
    };
    // Bottom-up: from just above the Gather to the root.
    for op in chain.iter().rev() {
        match op {
            Node::Limit { count, .. } => {
                if cons.breakers.is_empty() {
                    cons.per_row_ns += env.instr();
                } else if let Some(x) = cons.breaker_row_ns.last_mut() {
                    *x += env.instr();
                }
                if cons.breakers.is_empty() {
                    cons.limit = Some(cons.limit.map_or(*count, |l: f64| l.min(*count)));
                } else {
                    cons.final_limit = Some(cons.final_limit.map_or(*count, |l: f64| l.min(*count)));
                }
            }
            Node::Sort { keys, .. } => {
                let (per, key_ns) = sort_costs(env, cc, op, keys);
                if cons.breakers.is_empty() {
                    cons.per_row_ns += per;
                } else if let Some(x) = cons.breaker_row_ns.last_mut() {
                    *x += per;
                }
                cons.breakers.push(Breaker::Sort { bound: None, width: op.width(), key_ns });
                cons.breaker_row_ns.push(env.instr());
            }
            Node::Aggregate { groups, .. } => {
                let per = env.measured(op).and_then(|m| m.row_ns).unwrap_or_else(|| agg_row_ns(env, cc, op));
                if cons.breakers.is_empty() {
                    cons.per_row_ns += per;
                } else if let Some(x) = cons.breaker_row_ns.last_mut() {
                    *x += per;
                }
                cons.breakers.push(Breaker::Agg { groups: *groups });
                cons.breaker_row_ns.push(env.instr());
            }
            _ => {
                // Joins above a Gather are not modelled; treat them as per-row work.
                cons.per_row_ns += env.speed(c.tuple_ns);
            }
        }
    }
    // A sort bounded by a final LIMIT is a top-N sort.
    if let (Some(l), Some(Breaker::Sort { bound, .. })) = (cons.final_limit, cons.breakers.last_mut()) {
        *bound = Some(l);
    }
    cons
}

/// The first SubPlan whose subquery has its own Gather.
pub fn gather_subplan(n: &Node) -> Option<&SubPlan> {
    match n {
        Node::SeqScan { filter, .. } | Node::IndexScan { filter, .. } => {
            filter.as_ref().and_then(|f| f.subplan.as_ref()).filter(|s| s.gather_workers.is_some())
        }
        _ => n.children().into_iter().find_map(gather_subplan),
    }
}

/// The subquery of a SubPlan run as `Gather > Parallel Seq Scan`, feeding the leader's hash
/// table (hashed) or its Materialize's tuplestore (not hashed, §7.3); then `post`, the main
/// plan, serially in the leader.
fn compile_subplan_gather(env: &Env, cc: &CpuCost, plan: &Node, sp: &SubPlan, workers: u32) -> Compiled {
    let c = &env.hw.costs;
    let t = &env.tables[sp.table];
    let scan = Pipeline {
        builds: vec![],
        source: Source {
            kind: SourceKind::Shared,
            table: sp.table,
            pages: t.pages,
            tuples: t.rows,
            page: env.page_cost_reading(t, false),
            random_reads_per_tuple: 0.0,
            whole_pages: vec![],
        },
        cpu_per_tuple: env.speed(c.tuple_ns) + if t.rows > 0.0 { sp.rows / t.rows } else { 0.0 } * env.instr(),
        rows_per_tuple: if t.rows > 0.0 { sp.rows / t.rows } else { 0.0 },
        breakers: vec![],
        breaker_row_ns: vec![0.0],
        bound: None,
        out_width: sp.width,
    };
    let mut post = pipeline(env, cc, plan, false, None);
    // The hash table (or tuplestore) is filled by the Gather's rows, not by a private scan.
    // A tuplestore put is the private build's second tuple_ns beside the scan's own.
    let label = if sp.hashed { "hashed SubPlan" } else { "Materialize SubPlan" };
    let store_ns = env.speed(sp.store_ns(c));
    post.builds.retain(|b| !b.label.starts_with(label));
    Compiled {
        mode: Mode::Gather { single_copy: false },
        workers_planned: workers,
        worker: Pipeline {
            source: Source { page: env.page_cost_reading(t, true), ..scan.source.clone() },
            ..scan.clone()
        },
        leader: scan,
        consumer: Consumer {
            // Each row: one Gather call (instrumented) and an insert into the hash table
            // or the tuplestore.
            per_row_ns: env.instr() + store_ns,
            limit: None,
            breakers: vec![],
            breaker_row_ns: vec![],
            final_limit: None,
            client_row_ns: 0.0,
            receive_row_ns: 0.0,
        },
        queue_tuple_bytes: queue_bytes_per_tuple(sp.width),
        leader_participates: env.settings.flag("parallel_leader_participation"),
        post: Some(post),
        query_ns: 0.0,
    }
}

/// Compile a plan (with its Gather's worker count decided) for simulation.
pub fn compile(env: &Env, plan: &Node) -> Compiled {
    let mut c = compile_plan(env, plan);
    c.query_ns = env.query_fixed(plan);
    c
}

fn compile_plan(env: &Env, plan: &Node) -> Compiled {
    let cc = &CpuCost::new(env.tables, env.hw, plan);
    let leader_participates = env.settings.flag("parallel_leader_participation");
    if plan.find_gather().is_none() {
        if let Some(sp) = gather_subplan(plan) {
            return compile_subplan_gather(env, cc, plan, sp, sp.gather_workers.unwrap_or(0));
        }
    }
    match plan.find_gather() {
        None => {
            let leader = pipeline(env, cc, plan, false, None);
            let worker = leader.clone();
            let out_width = leader.out_width;
            Compiled {
                mode: Mode::Serial,
                workers_planned: 0,
                leader,
                worker,
                consumer: Consumer {
                    per_row_ns: 0.0,
                    limit: None,
                    breakers: vec![],
                    breaker_row_ns: vec![],
                    final_limit: None,
                    client_row_ns: env.client_row(),
                    receive_row_ns: 0.0,
                },
                queue_tuple_bytes: queue_bytes_per_tuple(out_width),
                leader_participates: true,
                post: None,
                query_ns: 0.0,
            }
        }
        Some(g) => {
            let mut cons = consumer(env, cc, plan);
            let (mode, workers, input) = match g {
                Node::Gather { workers, single_copy, input } => {
                    (Mode::Gather { single_copy: *single_copy }, *workers, input)
                }
                Node::GatherMerge { workers, input } => (Mode::GatherMerge, *workers, input),
                _ => unreachable!("find_gather returns a Gather"),
            };
            // PostgreSQL passes a LIMIT's bound through Gather / Gather Merge to the workers.
            let bound = cons.limit;
            let leader = pipeline(env, cc, input, false, bound);
            let mut worker = pipeline(env, cc, input, true, bound);
            // A worker forms a MinimalTuple of each row it sends; the leader deforms it again
            // (tqueue.c: tqueueReceiveSlot, TupleQueueReaderNext). Local rows skip both.
            let form = cc.form_row(input);
            if worker.breakers.is_empty() {
                worker.cpu_per_tuple += worker.rows_per_tuple * form;
            } else if let Some(x) = worker.breaker_row_ns.last_mut() {
                *x += form;
            }
            cons.receive_row_ns = cc.receive_row(input);
            let single_copy = matches!(mode, Mode::Gather { single_copy: true });
            Compiled {
                mode,
                workers_planned: workers.unwrap_or(0),
                queue_tuple_bytes: queue_bytes_per_tuple(worker.out_width),
                leader,
                worker,
                consumer: cons,
                leader_participates: leader_participates && !single_copy,
                post: None,
                query_ns: 0.0,
            }
        }
    }
}
