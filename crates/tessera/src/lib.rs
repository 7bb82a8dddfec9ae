#![doc = include_str!("../README.md")]

pub mod clock;
mod crypto;
pub mod error;
pub mod store;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, Result, TryRefreshReason, UnauthorisedReason};
