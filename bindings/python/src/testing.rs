//! `Engine(testing=True)`: a manual clock and a SQLite store that counts
//! its session-table calls (the engine's `tessera::store::CountingStore`,
//! as in the Rust adapters' harness), for the Python tests' behaviour
//! table. Built only with the `testing` feature.

use pyo3::prelude::*;
use tessera::ManualClock;
use tessera::store::{CallLog, CountingStore, SqliteStore};

use crate::claims::PyValidator;
use crate::engine::{Engine, Settings, block_on};
use crate::errors;

/// The test hooks of an engine.
#[derive(Debug, Clone)]
pub(crate) struct Probe {
    pub(crate) clock: ManualClock,
    calls: CallLog,
}

impl Probe {
    pub(crate) fn session_calls(&self) -> usize {
        self.calls.session_calls()
    }

    /// Every session-data and payload value written so far, as JSON text
    /// `{"data": [...], "payload": [...]}`.
    pub(crate) fn writes(&self) -> String {
        let calls = self.calls.snapshot();
        serde_json::json!({ "data": calls.data_writes, "payload": calls.payload_writes })
            .to_string()
    }
}

/// A SQLite engine on a manual clock with a counting store.
pub(crate) fn engine(
    py: Python<'_>,
    url: &str,
    settings: &Settings,
    validators: Vec<PyValidator>,
) -> PyResult<Engine> {
    let clock = ManualClock::starting_now();
    let inner = block_on(py, SqliteStore::connect(url)).map_err(errors::engine)?;
    let store = CountingStore::new(inner);
    let calls = store.log();
    let builder = settings
        .builder()?
        .store(store)
        .clock(clock.clone())
        .background_tasks(false);
    let manager = block_on(py, builder.build()).map_err(errors::engine)?;
    Ok(Engine {
        fdi: settings.fdi(manager, &validators)?,
        validators,
        probe: Some(Probe { clock, calls }),
    })
}
