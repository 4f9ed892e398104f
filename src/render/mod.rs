//! Pictures and files made from results: plotters charts (PNG + SVG) and trace outputs.

pub mod plot;
pub mod trace;
