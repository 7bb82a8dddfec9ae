//! Placeholder until the seed example is written.
fn main() {}
