//! Pictures and files made from results: plotters charts (PNG + SVG), trace outputs, CSV, and
//! atomic file writes (every output file appears whole or not at all).

pub mod atomic;
pub mod html;
pub mod plot;
pub mod trace;
pub mod workload;
