//! pqsim: a discrete-event simulator of PostgreSQL parallel query execution.
//! See ARCHITECTURE.md for the map of modules and the data flow.

pub mod calibrate;
pub mod cli;
pub mod config;
pub mod engine;
pub mod error;
pub mod exec;
pub mod guc;
pub mod import;
pub mod lsq;
pub mod model;
pub mod pg;
pub mod planner;
pub mod plot;
pub mod report;
pub mod stats;
pub mod sweep;
pub mod trace_plots;
pub mod units;
pub mod validate;
