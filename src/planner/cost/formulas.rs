//! PostgreSQL 15's cost formulas that need no plan: row clamping, the parallel divisor, the
//! worker-count rule (`allpaths.c:compute_parallel_worker`), hash table sizing, sort costs and
//! Mackert-Lohman page fetches.

use crate::model::guc::Settings;
use crate::model::{maxalign, BLCKSZ};
use crate::planner::report::group;

/// `disable_cost` (costsize.c): added to the startup cost of a disabled node type.
pub const DISABLE_COST: f64 = 1.0e10;
/// `STD_FUZZ_FACTOR` (pathnode.c): `add_path` treats costs within 1 % as equal.
pub const STD_FUZZ_FACTOR: f64 = 1.01;

/// `clamp_row_est`: at least one row, whole rows (rint: ties to even).
pub fn clamp_row_est(nrows: f64) -> f64 {
    if nrows.is_nan() || nrows <= 1.0 {
        1.0
    } else {
        nrows.min(1e100).round_ties_even()
    }
}

/// `get_parallel_divisor`: workers, plus the leader's share `1 - 0.3 × workers` when
/// `parallel_leader_participation` is on and that share is positive.
pub fn parallel_divisor(workers: u32, leader_participation: bool) -> f64 {
    let mut divisor = f64::from(workers);
    if leader_participation {
        let leader_contribution = 1.0 - (0.3 * f64::from(workers));
        if leader_contribution > 0.0 {
            divisor += leader_contribution;
        }
    }
    divisor
}

/// `relation_byte_size`: bytes of `tuples` heap tuples of `width` data bytes.
pub fn relation_byte_size(tuples: f64, width: f64) -> f64 {
    tuples * (maxalign(width) + maxalign(23.0))
}

/// `page_size`: 8 kB pages for `tuples` heap tuples of `width` data bytes.
pub fn page_size(tuples: f64, width: f64) -> f64 {
    (relation_byte_size(tuples, width) / BLCKSZ).ceil()
}

/// One step of the worker-count rule, for explanations.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerCalc {
    pub workers: u32,
    /// Human-readable derivation, e.g. "heap 12,544 pages: 1,024 -> 1, 3,072 -> 2, ...".
    pub explanation: String,
}

/// `compute_parallel_worker` (allpaths.c, PostgreSQL 15) for a base relation.
/// `heap_pages`/`index_pages` < 0 mean "not scanned". `table_option` is the table's
/// `parallel_workers` storage option: it replaces the size rule (and its minimum-size
/// test) but is still capped by `max_parallel_workers_per_gather`.
pub fn compute_parallel_worker(
    heap_pages: f64,
    index_pages: f64,
    table_option: Option<u32>,
    settings: &Settings,
) -> u32 {
    explain_parallel_worker(heap_pages, index_pages, table_option, settings).workers
}

/// [`compute_parallel_worker`] with the derivation spelled out.
pub fn explain_parallel_worker(
    heap_pages: f64,
    index_pages: f64,
    table_option: Option<u32>,
    settings: &Settings,
) -> WorkerCalc {
    let max_workers = settings.int("max_parallel_workers_per_gather").max(0);
    let min_table = settings.int("min_parallel_table_scan_size");
    let min_index = settings.int("min_parallel_index_scan_size");
    let mut parts: Vec<String> = vec![];
    let mut workers: i64 = 0;
    if let Some(opt) = table_option {
        workers = i64::from(opt);
        parts.push(format!("table option parallel_workers = {opt} (replaces the size rule)"));
    } else {
        if heap_pages >= 0.0 && heap_pages < min_table as f64 {
            return WorkerCalc {
                workers: 0,
                explanation: format!(
                    "heap {} pages < min_parallel_table_scan_size {} pages: no parallel scan",
                    group(heap_pages),
                    group(min_table as f64)
                ),
            };
        }
        if index_pages >= 0.0 && index_pages < min_index as f64 {
            return WorkerCalc {
                workers: 0,
                explanation: format!(
                    "index {} pages < min_parallel_index_scan_size {} pages: no parallel scan",
                    group(index_pages),
                    group(min_index as f64)
                ),
            };
        }
        if heap_pages >= 0.0 {
            let (w, steps) = threshold_loop(heap_pages, min_table);
            parts.push(format!("heap {} pages: {steps}", group(heap_pages)));
            workers = w;
        }
        if index_pages >= 0.0 {
            let (w, steps) = threshold_loop(index_pages, min_index);
            parts.push(format!("index {} pages: {steps}", group(index_pages)));
            if workers > 0 {
                if w < workers {
                    parts.push(format!("min(heap, index) = {w}"));
                }
                workers = workers.min(w);
            } else {
                workers = w;
            }
        }
    }
    if workers > max_workers {
        parts.push(format!("capped by max_parallel_workers_per_gather = {max_workers}"));
        workers = max_workers;
    }
    WorkerCalc { workers: workers.max(0) as u32, explanation: parts.join("; ") }
}

/// The tripling loop of `compute_parallel_worker`, in C `int` arithmetic.
fn threshold_loop(pages: f64, min_size: i64) -> (i64, String) {
    const INT_MAX: i64 = i32::MAX as i64;
    let mut threshold = min_size.max(1);
    let mut workers = 1;
    let mut steps = vec![format!("{} -> 1", group(threshold as f64))];
    while pages >= (threshold * 3) as f64 {
        workers += 1;
        threshold *= 3;
        steps.push(format!("{} -> {workers}", group(threshold as f64)));
        if threshold > INT_MAX / 3 {
            break;
        }
    }
    (workers, steps.join(", "))
}

/// `index_pages_fetched` (costsize.c): Mackert-Lohman estimate of distinct pages fetched
/// by `tuples_fetched` random accesses into a table of `pages` pages, given
/// `effective_cache_size` pro-rated over `total_table_pages` (all tables of the query)
/// plus `index_pages`.
pub fn index_pages_fetched(
    tuples_fetched: f64,
    pages: f64,
    index_pages: f64,
    total_table_pages: f64,
    settings: &Settings,
) -> f64 {
    let t = if pages > 1.0 { pages } else { 1.0 };
    let total_pages = (total_table_pages + index_pages).max(1.0).max(t);
    let b = settings.num("effective_cache_size") * t / total_pages;
    let b = if b <= 1.0 { 1.0 } else { b.ceil() };
    if t <= b {
        let pf = (2.0 * t * tuples_fetched) / (2.0 * t + tuples_fetched);
        if pf >= t {
            t
        } else {
            pf.ceil()
        }
    } else {
        let lim = (2.0 * t * b) / (2.0 * t - b);
        let pf = if tuples_fetched <= lim {
            (2.0 * t * tuples_fetched) / (2.0 * t + tuples_fetched)
        } else {
            b + (tuples_fetched - lim) * (t - b) / t
        };
        pf.ceil()
    }
}

/// `ExecChooseHashTableSize` (nodeHash.c, PostgreSQL 15) as the planner calls it from
/// `initial_cost_hashjoin` (skew optimisation on). Returns (nbatch, nbuckets,
/// space_allowed bytes).
pub fn choose_hash_table_size(
    ntuples: f64,
    width: f64,
    try_combined_hash_mem: bool,
    parallel_workers: u32,
    settings: &Settings,
) -> (u32, u64, f64) {
    let ntuples = if ntuples <= 0.0 { 1000.0 } else { ntuples };
    let tupsize = 16.0 + 16.0 + maxalign(width);
    let inner_rel_bytes = ntuples * tupsize;
    let mut hash_table_bytes = settings.hash_mem_bytes().floor();
    if try_combined_hash_mem {
        hash_table_bytes *= f64::from(parallel_workers) + 1.0;
    }
    let space_allowed = hash_table_bytes;
    // Skew buckets: 2 % of memory (SKEW_HASH_MEM_PERCENT).
    let bytes_per_mcv = tupsize + 8.0 * 8.0 + 4.0 + 16.0;
    let skew_mcvs = ((hash_table_bytes / bytes_per_mcv).floor() * 2.0 / 100.0).floor();
    if skew_mcvs > 0.0 {
        hash_table_bytes -= skew_mcvs * bytes_per_mcv;
    }
    let max_alloc = 1_073_741_823.0_f64;
    let mut max_pointers = (hash_table_bytes / 8.0).floor().min((max_alloc / 8.0).floor());
    max_pointers = prev_power2(max_pointers).min(f64::from(i32::MAX / 2 + 1));
    let dbuckets = ntuples.ceil().min(max_pointers);
    let mut nbuckets = next_power2(dbuckets.max(1024.0));
    let bucket_bytes = 8.0 * nbuckets;
    let mut nbatch = 1.0;
    if inner_rel_bytes + bucket_bytes > hash_table_bytes {
        if try_combined_hash_mem {
            return choose_hash_table_size(ntuples, width, false, parallel_workers, settings);
        }
        let bucket_size = tupsize + 8.0;
        let sbuckets =
            if hash_table_bytes <= bucket_size { 1.0 } else { next_power2((hash_table_bytes / bucket_size).floor()) };
        nbuckets = next_power2(sbuckets.min(max_pointers));
        let bucket_bytes = nbuckets * 8.0;
        let dbatch = (inner_rel_bytes / (hash_table_bytes - bucket_bytes)).ceil().min(max_pointers);
        nbatch = next_power2(dbatch.max(2.0));
    }
    (nbatch as u32, nbuckets as u64, space_allowed)
}

fn next_power2(x: f64) -> f64 {
    if x <= 1.0 {
        return 1.0;
    }
    2f64.powf(x.log2().ceil())
}

fn prev_power2(x: f64) -> f64 {
    if x < 1.0 {
        return 1.0;
    }
    2f64.powf(x.log2().floor())
}

/// `tuplesort_merge_order`: how many runs one merge pass can read.
pub fn tuplesort_merge_order(sort_mem_bytes: f64) -> f64 {
    let order = (sort_mem_bytes / (2.0 * BLCKSZ + 32.0 * BLCKSZ)).floor();
    order.clamp(6.0, 500.0)
}

/// `cost_tuplesort`: (startup cost, run cost) of sorting `tuples` rows of `width` bytes in
/// `sort_mem_bytes`, with an optional bound (top-N) from a LIMIT above.
pub fn cost_tuplesort(tuples: f64, width: f64, sort_mem_bytes: f64, bound: Option<f64>, s: &Settings) -> (f64, f64) {
    let cpu_op = s.num("cpu_operator_cost");
    let tuples = tuples.max(2.0);
    let comparison_cost = 2.0 * cpu_op;
    let input_bytes = relation_byte_size(tuples, width);
    let (output_tuples, output_bytes) = match bound {
        Some(b) if b > 0.0 && b < tuples => (b, relation_byte_size(b, width)),
        _ => (tuples, input_bytes),
    };
    let mut startup = 0.0;
    if output_bytes > sort_mem_bytes {
        let npages = (input_bytes / BLCKSZ).ceil();
        let nruns = input_bytes / sort_mem_bytes;
        let mergeorder = tuplesort_merge_order(sort_mem_bytes);
        startup += comparison_cost * tuples * tuples.log2();
        let log_runs = if nruns > mergeorder { (nruns.ln() / mergeorder.ln()).ceil() } else { 1.0 };
        let npageaccesses = 2.0 * npages * log_runs;
        startup += npageaccesses * (s.num("seq_page_cost") * 0.75 + s.num("random_page_cost") * 0.25);
    } else if tuples > 2.0 * output_tuples || input_bytes > sort_mem_bytes {
        startup += comparison_cost * tuples * (2.0 * output_tuples).log2();
    } else {
        startup += comparison_cost * tuples * tuples.log2();
    }
    (startup, cpu_op * tuples)
}
