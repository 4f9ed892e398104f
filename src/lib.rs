pub fn _placeholder() {}

pub mod pg;
