//! Statistics and fits: confidence intervals, Amdahl and USL fits, least squares, and one
//! optimiser (golden-section search).
//! Pure functions over numbers; knows nothing of PostgreSQL or files.

pub mod lsq;
pub mod optimize;
pub mod persistence;
pub mod robust;
pub mod stats;
