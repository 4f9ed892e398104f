//! Statistics and fits: confidence intervals, Amdahl and USL fits, least squares.
//! Pure functions over numbers; knows nothing of PostgreSQL or files.

pub mod lsq;
pub mod robust;
pub mod stats;
