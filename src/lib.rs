pub mod plot;
pub mod stats;

pub fn _placeholder() {}
