//! pqsim: a discrete-event simulator of PostgreSQL parallel query execution.
//! See ARCHITECTURE.md for the map of modules and the data flow.

pub mod analysis;
pub mod calibration;
pub mod commands;
pub mod config;
pub mod engine;
pub mod error;
pub mod exec;
pub mod import;
pub mod model;
pub mod pg;
pub mod planner;
pub mod predict;
pub mod render;
pub mod report;
pub mod validation;
pub mod workload;
