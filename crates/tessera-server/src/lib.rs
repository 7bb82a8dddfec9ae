#![doc = include_str!("../docs/crate.md")]

pub mod admin;
pub mod cli;
pub mod config;
pub mod metrics;
pub mod serve;
