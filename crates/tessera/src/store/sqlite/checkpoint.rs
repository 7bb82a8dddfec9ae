//! The SQLite store's WAL checkpointer: a thread of its own that moves the
//! WAL into the database file, so that no request thread ever waits for an
//! `fsync`.
//!
//! # Why
//!
//! With `synchronous=NORMAL` a commit appends its pages to the WAL and does
//! not sync. SQLite's automatic checkpoint (every 1000 WAL pages) runs inside
//! the commit that crosses the mark, on the connection that made it: it syncs
//! the WAL (about 4 MB of page cache written out), copies the pages into the
//! database file and syncs that; and the next commit after a complete
//! checkpoint restarts the WAL, writing and syncing its header. In this store
//! the committing connection is the writer, running on a tokio worker thread
//! with the writer mutex held, so every ~1000 writes the worker sat in
//! `fdatasync` for milliseconds.
//!
//! # How
//!
//! The request connections run with `wal_autocheckpoint=0`. One thread per
//! store (named `tessera-ckpt`) with its own connection checkpoints instead,
//! in cycles. A cycle starts when the writer has committed
//! [`CHECKPOINT_EVERY`] writes since the last one, or [`IDLE_CHECKPOINT`]
//! after the last write when fewer came:
//!
//! 1. `PRAGMA wal_checkpoint(PASSIVE)` on the checkpointer's connection,
//!    without the writer mutex: the bulk of the WAL (its sync, the copy, the
//!    database sync) while writes go on.
//! 2. With the writer mutex held (`blocking_lock`: writers queue on the async
//!    mutex, the worker threads keep serving everything else), on the writer
//!    connection: a second `PASSIVE` checkpoint, which copies only what was
//!    committed during step 1, and, if the WAL is now entirely in the
//!    database file, a one-page write (`user_version` set to its own value)
//!    that restarts the WAL from its beginning and syncs the new WAL header
//!    here rather than in the next request's commit. The WAL therefore stays
//!    about [`CHECKPOINT_EVERY`] pages long, as with SQLite's default.
//!
//! If the checkpointer falls behind (a slow disk), a writer that finds
//! [`WAIT_AFTER`] writes since the last cycle waits (asynchronously) for the
//! cycle to end: the WAL is bounded whatever the load.
//!
//! # Durability
//!
//! Unchanged: WAL mode and `synchronous=NORMAL`; a commit is in the WAL
//! before it returns, a checkpoint syncs the WAL before copying it and the
//! database file after, as SQLite's own checkpoint does (the checkpointer's
//! connection runs with `synchronous=NORMAL` too). Closing the last
//! connection still checkpoints the whole WAL.
//!
//! # Stopping
//!
//! [`Checkpointer::stop`] (called by `SqliteStore::close`, and when the last
//! clone of a store is dropped) wakes the thread, waits for a cycle in
//! progress to end, and joins it: no thread is left behind.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex as StdMutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::{Mutex as AsyncMutex, Notify};

use super::{flags, is_busy, lock};
use crate::error::Result;

/// Writes after which a checkpoint cycle starts (SQLite's default
/// auto-checkpoint is 1000 WAL pages; a session write is about one page).
pub(super) const CHECKPOINT_EVERY: u64 = 1000;

/// Writes since the last cycle after which writers wait for the
/// checkpointer: the bound on the WAL's length.
pub(super) const WAIT_AFTER: u64 = 8 * CHECKPOINT_EVERY;

/// How long after a write the checkpointer runs a cycle when fewer than
/// [`CHECKPOINT_EVERY`] writes came.
const IDLE_CHECKPOINT: Duration = Duration::from_secs(1);

/// The WAL file is cut back to this size when a restart finds it larger
/// (after a burst the checkpointer could not keep up with).
const JOURNAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// The writer connection, as the store holds it (`None` once closed).
pub(super) type Writer = Arc<AsyncMutex<Option<Connection>>>;

/// What the writers and the checkpointer thread share.
#[derive(Debug, Default)]
struct Signal {
    /// Writes since the last cycle's step 2 (reset there, under the writer
    /// mutex).
    writes: AtomicU64,
    /// Whether the thread runs (false once it has stopped): writers wait for
    /// it only while it does.
    running: AtomicBool,
    /// What the thread is asked to do.
    state: StdMutex<State>,
    /// Wakes the thread.
    wake: Condvar,
    /// Wakes writers waiting at [`WAIT_AFTER`] after each cycle.
    cycled: Notify,
}

#[derive(Debug, Default)]
struct State {
    /// A cycle was asked for.
    wanted: bool,
    /// The thread must end.
    stop: bool,
}

/// The checkpointer of one store: the handle the store keeps.
#[derive(Debug)]
pub(super) struct Checkpointer {
    signal: Arc<Signal>,
    thread: StdMutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    /// Opens the checkpointer's connection to `path` (a file in WAL mode)
    /// and starts its thread. Blocking. On failure the caller leaves
    /// SQLite's automatic checkpoint on.
    pub(super) fn start(path: &Path, writer: &Writer) -> Result<Self> {
        let conn = Connection::open_with_flags(path, flags(false))?;
        conn.busy_timeout(Duration::ZERO)?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        set_pragma(&conn, "wal_autocheckpoint", 0)?;
        let signal = Arc::new(Signal::default());
        signal.running.store(true, Ordering::Release);
        let thread = {
            let signal = Arc::clone(&signal);
            let writer = Arc::clone(writer);
            std::thread::Builder::new()
                .name("tessera-ckpt".to_owned())
                .spawn(move || run(&conn, &writer, &signal))
        };
        match thread {
            Ok(thread) => Ok(Self {
                signal,
                thread: StdMutex::new(Some(thread)),
            }),
            Err(e) => {
                signal.running.store(false, Ordering::Release);
                Err(crate::Error::Store(sqlx::Error::Io(e)))
            }
        }
    }

    /// Counts a committed write; every [`CHECKPOINT_EVERY`] writes, wakes
    /// the thread. Called just after the writer mutex is released (a write
    /// counted after a cycle began only makes the next cycle one write
    /// earlier).
    pub(super) fn wrote(&self) {
        let n = self.signal.writes.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(CHECKPOINT_EVERY) {
            self.signal.ask(|s| s.wanted = true);
        }
    }

    /// Whether a writer must wait for a cycle before writing: the thread
    /// runs and [`WAIT_AFTER`] writes went into the WAL since its last
    /// cycle. Called with the writer mutex held.
    pub(super) fn must_wait(&self) -> bool {
        self.signal.running.load(Ordering::Acquire)
            && self.signal.writes.load(Ordering::Relaxed) >= WAIT_AFTER
    }

    /// Waits for the end of the next cycle. Call [`Self::cycle_ended`]
    /// first, with the writer mutex held, then release the mutex and await
    /// the future it returned: a cycle ends under that mutex, so the wake-up
    /// cannot be missed.
    pub(super) fn cycle_ended(&self) -> tokio::sync::futures::Notified<'_> {
        let ended = self.signal.cycled.notified();
        self.signal.ask(|s| s.wanted = true);
        ended
    }

    /// Stops the thread and waits for it to end (at most one cycle).
    /// Blocking; idempotent.
    pub(super) fn stop(&self) {
        self.signal.ask(|s| s.stop = true);
        let thread = lock(&self.thread).take();
        if let Some(thread) = thread
            && thread.join().is_err()
        {
            tracing::error!("tessera: the SQLite checkpointer thread panicked");
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Signal {
    /// Changes the state and wakes the thread.
    fn ask(&self, change: impl FnOnce(&mut State)) {
        change(&mut lock(&self.state));
        self.wake.notify_one();
    }

    /// Waits until a cycle is due; `false` when the thread must end.
    fn wait_for_work(&self) -> bool {
        let mut state = lock(&self.state);
        loop {
            if state.stop {
                return false;
            }
            if state.wanted {
                state.wanted = false;
                return true;
            }
            let (next, timeout) = self
                .wake
                .wait_timeout(state, IDLE_CHECKPOINT)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            state = next;
            if timeout.timed_out() && !state.stop && self.writes.load(Ordering::Relaxed) > 0 {
                return true;
            }
        }
    }
}

/// The thread: a cycle whenever one is due, until stopped.
fn run(conn: &Connection, writer: &Writer, signal: &Signal) {
    while signal.wait_for_work() {
        if let Err(e) = cycle(conn, writer, signal) {
            if is_busy(&e) {
                tracing::debug!(error = %e, "tessera: SQLite checkpoint deferred: the database is busy");
            } else {
                tracing::warn!(error = %e, "tessera: SQLite checkpoint failed");
            }
        }
        // Writers waiting at the bound go on even if the cycle failed: the
        // bound must not stop the store.
        signal.cycled.notify_waiters();
    }
    signal.running.store(false, Ordering::Release);
    signal.cycled.notify_waiters();
}

/// One cycle: step 1 on the checkpointer's connection, step 2 on the writer
/// under its mutex (see the module documentation).
fn cycle(conn: &Connection, writer: &Writer, signal: &Signal) -> Result<()> {
    checkpoint_passive(conn)?;
    let mut guard = writer.blocking_lock();
    // Counted from here: the writes that follow are in the next cycle.
    signal.writes.store(0, Ordering::Relaxed);
    let Some(writer) = guard.as_mut() else {
        return Ok(()); // closed
    };
    let (busy, log, done) = checkpoint_passive(writer)?;
    if !busy && log > 0 && log == done {
        restart_wal(writer)?;
    }
    Ok(())
}

/// `PRAGMA wal_checkpoint(PASSIVE)`: whether it was blocked, the WAL's
/// length and how much of it is now in the database file, in pages.
fn checkpoint_passive(conn: &Connection) -> Result<(bool, i64, i64)> {
    Ok(conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok((row.get::<_, i64>(0)? != 0, row.get(1)?, row.get(2)?))
    })?)
}

/// A one-page write that changes nothing (`user_version` set to its own
/// value, in one `BEGIN IMMEDIATE` transaction): the first write after a
/// complete checkpoint starts the WAL again from its beginning and syncs the
/// new WAL header, which is why it is made here and not by a request.
fn restart_wal(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    tx.pragma_update(None, "user_version", version)?;
    tx.commit()?;
    Ok(())
}

/// The writer's settings under a checkpointer: no automatic checkpoint, and
/// the WAL file cut back after a burst. Blocking.
pub(super) fn configure_writer(conn: &Connection) -> Result<()> {
    set_pragma(conn, "wal_autocheckpoint", 0)?;
    set_pragma(conn, "journal_size_limit", JOURNAL_SIZE_LIMIT)?;
    Ok(())
}

/// Back to SQLite's automatic checkpoint (when the thread cannot start).
/// Blocking.
pub(super) fn configure_writer_without(conn: &Connection) -> Result<()> {
    set_pragma(conn, "wal_autocheckpoint", 1000)?;
    Ok(())
}

/// Sets a pragma that answers with its new value (read and dropped).
fn set_pragma(conn: &Connection, name: &str, value: i64) -> Result<()> {
    conn.pragma_update_and_check(None, name, value, |_| Ok(()))?;
    Ok(())
}
