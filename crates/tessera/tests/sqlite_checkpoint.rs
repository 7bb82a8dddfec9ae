//! The SQLite store's WAL checkpointer (`store/sqlite/checkpoint.rs`):
//!
//! - under sustained writes from many tasks the WAL file stays bounded (the
//!   request connections never checkpoint; without the checkpointer the WAL
//!   would grow by a page per write);
//! - dropping the last clone of a store, or closing it, stops the
//!   checkpointer's thread (`tessera-ckpt`): no thread is left behind.
//!
//! The tests of this file count that thread in `/proc/self/task`, so they
//! run one at a time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod sqlite_files;

use sqlite_files::{T0, session, test_dir};

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;
use tessera::store::{SessionStore, SqliteStore};
use tokio::sync::Mutex;

/// The checkpointer's thread name.
const THREAD: &str = "tessera-ckpt";

/// Writers wait for the checkpointer once this many writes went into the
/// WAL since its last cycle (`WAIT_AFTER` in `checkpoint.rs`).
const WAIT_AFTER: u64 = 8_000;

/// A WAL frame: a 24-byte header and a 4096-byte page (SQLite's default
/// page size, the store's).
const FRAME: u64 = 24 + 4096;

/// One test at a time: they count the checkpointer threads of this process.
static SERIAL: Mutex<()> = Mutex::const_new(());

fn wal_len(db: &Path) -> u64 {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(PathBuf::from(wal)).map_or(0, |m| m.len())
}

/// Threads of this process named like the checkpointer.
fn checkpointer_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim_end() == THREAD)
        .count()
}

/// Waits (up to 10 s, polling) until `n` checkpointer threads run; whether
/// that happened. A thread names itself once it runs, and leaves
/// `/proc/self/task` just after it is joined, so the count is polled.
fn threads_become(n: usize) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if checkpointer_threads() == n {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_stays_bounded_under_sustained_writes() {
    let _serial = SERIAL.lock().await;
    let dir = test_dir("sqlite-checkpoint", "bounded");
    let path = dir.join("tessera.db");
    let store = SqliteStore::open(&path).await.unwrap();
    const TASKS: u64 = 16;
    const WRITES_PER_TASK: u64 = 3 * WAIT_AFTER / TASKS;
    for t in 0..TASKS {
        store
            .insert_session(&session(&format!("h{t}")))
            .await
            .unwrap();
    }

    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let store = store.clone();
        let path = path.clone();
        tasks.push(tokio::spawn(async move {
            let handle = format!("h{t}");
            let mut longest = 0;
            for n in 0..WRITES_PER_TASK {
                let data = json!({ "n": n, "pad": "x".repeat(64) });
                assert!(store.update_session_data(&handle, &data, T0).await.unwrap());
                longest = longest.max(wal_len(&path));
            }
            longest
        }));
    }
    let mut longest = 0;
    for task in tasks {
        longest = longest.max(task.await.unwrap());
    }

    // Every write is one WAL frame: without checkpoints the WAL would hold
    // all of them (3 × WAIT_AFTER frames, ~99 MB). The bound: WAIT_AFTER
    // frames, plus the one-page restart write and a write per task counted
    // late, plus the 32-byte header.
    let writes = TASKS * WRITES_PER_TASK;
    let bound = (WAIT_AFTER + 2 * TASKS + 8) * FRAME + 32;
    assert!(
        writes * FRAME > 2 * bound,
        "the test writes too little to show a bound"
    );
    assert!(
        longest <= bound,
        "the WAL reached {longest} bytes after {writes} writes (bound {bound})"
    );
    // Every write is there.
    for t in 0..TASKS {
        let data = store
            .get_session_data(&format!("h{t}"), T0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(data["n"], json!(WRITES_PER_TASK - 1));
    }
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn dropping_or_closing_the_store_stops_the_checkpointer() {
    let _serial = SERIAL.lock().await;
    let dir = test_dir("sqlite-checkpoint", "stop");
    assert!(threads_become(0), "a checkpointer thread from elsewhere");

    // Dropped: the store, a clone and an app view, none closed.
    let store = SqliteStore::open(dir.join("dropped.db")).await.unwrap();
    let clone = store.clone();
    let view = store.for_app("other").unwrap();
    store.insert_session(&session("h")).await.unwrap();
    assert!(threads_become(1), "the checkpointer thread did not start");
    drop(store);
    drop(view);
    assert_eq!(checkpointer_threads(), 1, "stopped while a clone lives");
    assert!(
        clone
            .update_session_data("h", &json!({"n": 1}), T0)
            .await
            .unwrap()
    );
    drop(clone);
    assert!(
        threads_become(0),
        "the checkpointer thread outlived the store"
    );

    // Closed (and still held).
    let store = SqliteStore::open(dir.join("closed.db")).await.unwrap();
    assert!(threads_become(1), "the checkpointer thread did not start");
    store.close().await;
    assert!(
        threads_become(0),
        "the checkpointer thread outlived close()"
    );
    drop(store);

    // In memory there is no WAL and no thread.
    let memory = SqliteStore::connect("sqlite::memory:").await.unwrap();
    memory.insert_session(&session("h")).await.unwrap();
    assert_eq!(checkpointer_threads(), 0);
    drop(memory);
    let _ = std::fs::remove_dir_all(&dir);
}
