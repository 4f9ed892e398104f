//! What a conversion accumulates while it walks an EXPLAIN tree: the tables seen, the settings,
//! warnings, and InitPlans waiting for the scan that uses them.

use super::fields::sig6;
use super::ImportOptions;
use crate::model::guc::Settings;
use crate::model::schema::Column;
use crate::model::{maxalign, BLCKSZ};

pub struct TableAcc {
    pub name: String,
    pub rows: f64,
    pub rows_note: String,
    pub pages: Option<f64>,
    pub pages_note: String,
    pub width: Option<f64>,
    pub parallel_workers: Option<u32>,
    pub index_pages: Option<f64>,
    /// The index its index scans use (the plan's `Index Name`).
    pub index: Option<String>,
    /// In attnum order, dropped ones included; empty: unknown.
    pub columns: Vec<Column>,
    /// The share of its pages in shared buffers (pg_buffercache), if known.
    pub in_shared_buffers: Option<f64>,
    /// The standard deviation of its stored row lengths (bytes), if sampled.
    pub row_length_sd: Option<f64>,
    /// The share of consecutive rows whose aligned length changes, if sampled.
    pub row_stride_changes: Option<f64>,
    /// The share of its resident pages in block order in shared buffers (pg_buffercache).
    pub buffers_in_order: Option<f64>,
    /// Windows of 8 buffers holding its resident blocks, by the scan chunks each holds.
    pub buffer_windows: Option<[f64; 8]>,
}

pub struct Cx<'a> {
    pub analyze: bool,
    pub gucs: Settings,
    pub tables: Vec<TableAcc>,
    pub warnings: Vec<String>,
    pub opts: &'a ImportOptions,
    pub gathers: usize,
    /// Converting nodes below a Gather (estimates there are per participant).
    pub in_gather: bool,
    /// InitPlans seen, waiting for the scan that uses their result.
    pub init_plans: Vec<InitPlanInfo>,
    /// Converting a merge join's inner side, which every participant runs whole: ANALYZE's
    /// loops are participants, each with all the rows (one loop's rows are the table's).
    pub whole_per_loop: bool,
}

/// An InitPlan waiting for the scan whose filter uses one of its parameters.
pub struct InitPlanInfo {
    pub name: String,
    pub params: Vec<String>,
    pub table: String,
    pub width: f64,
    pub attached: bool,
}

/// The width a table's entry says: given, or derived from rows per page when its pages are
/// known; `None` when the scenario leaves it to the loader's default.
pub fn written_width(t: &TableAcc) -> Option<f64> {
    match t.pages {
        Some(p) => {
            let p = p.max(1.0).round();
            let w = t.width.unwrap_or_else(|| {
                let per_page = (t.rows / p).max(1.0);
                let per_tuple = (BLCKSZ - 24.0) / per_page - 4.0;
                (maxalign(per_tuple) - 24.0).clamp(1.0, 8000.0)
            });
            Some(w.round().max(1.0))
        }
        None => t.width.map(sig6),
    }
}
