//! Helpers shared by integration tests.

// Each test crate uses part of the shared helpers.
#[allow(dead_code)]
pub(crate) mod records;
#[allow(dead_code)]
pub(crate) mod stores;
