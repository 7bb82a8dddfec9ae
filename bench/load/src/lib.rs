//! Load benchmark of tessera-axum side by side with the systems users would
//! pick instead: bare axum (the ceiling), tower-sessions with its
//! SQLite and memory stores, and supertokens-python + FastAPI with
//! `tessera serve` as its core, all on loopback in one run.
//!
//! `bench/load/run.sh` builds everything, prepares the Python environment
//! and runs `tessera-bench-load all`, which writes the section
//! "Load benchmarks" of `BENCHMARKS.md`. See `bench/load/README.md`.

pub mod http;
pub mod load;
pub mod report;
pub mod run;
pub mod servers;
pub mod sys;
