//! The SQLite store's promises that need a real second process or a real
//! second connection:
//!
//! - an acknowledged write survives the process being killed with SIGKILL
//!   right after (WAL, `synchronous=NORMAL`: the commit is in the WAL file
//!   before `update_session_data` returns);
//! - a write that finds the file locked by another connection waits for it
//!   off the async workers (a current-thread runtime keeps running other
//!   tasks meanwhile), then succeeds.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod sqlite_files;

use sqlite_files::{T0, session, test_dir};

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tessera::store::{SessionStore, SqliteStore};

const CHILD_DB: &str = "TESSERA_DURABILITY_CHILD_DB";

/// The child process of `an_acknowledged_write_survives_sigkill`: writes
/// `{"n": i}` for i = 1, 2, ... and prints `ack i` after each write returns,
/// until it is killed. Not a test on its own (ignored; the parent runs it).
#[tokio::test]
#[ignore = "the child process of an_acknowledged_write_survives_sigkill"]
async fn durability_child_writes_until_killed() {
    let path = std::env::var(CHILD_DB).expect("run by an_acknowledged_write_survives_sigkill");
    let store = SqliteStore::open(&path).await.unwrap();
    let mut out = std::io::stdout().lock();
    for n in 1_u64.. {
        assert!(
            store
                .update_session_data("h", &json!({ "n": n }), T0)
                .await
                .unwrap()
        );
        writeln!(out, "ack {n}").unwrap();
        out.flush().unwrap();
    }
}

#[tokio::test]
async fn an_acknowledged_write_survives_sigkill() {
    let dir = test_dir("sqlite-durability", "sigkill");
    let path = dir.join("tessera.db");
    let store = SqliteStore::open(&path).await.unwrap();
    store.insert_session(&session("h")).await.unwrap();
    store.close().await;

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "durability_child_writes_until_killed",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DB, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut last_ack = 0_u64;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("ack ") {
            last_ack = n.parse().unwrap();
            if last_ack >= 300 {
                break;
            }
        }
    }
    assert_eq!(last_ack, 300, "the child stopped before 300 writes");
    // `Child::kill` is SIGKILL on Unix: no destructor, no checkpoint, no
    // close; the writes since the last checkpoint exist only in the WAL.
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success());

    assert!(wal_has_frames(&path), "expected the last writes in the WAL");
    let store = SqliteStore::open(&path).await.unwrap();
    let data = store.get_session_data("h", T0).await.unwrap().unwrap();
    let n = data["n"].as_u64().unwrap();
    assert!(n >= last_ack, "acknowledged {last_ack}, found {n}");
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The WAL file is there and not empty (the child died without
/// checkpointing it away).
fn wal_has_frames(db: &Path) -> bool {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(PathBuf::from(wal)).is_ok_and(|m| m.len() > 0)
}

#[test]
fn a_write_waits_for_another_connections_lock_without_stalling_the_runtime() {
    let dir = test_dir("sqlite-durability", "busy");
    let path = dir.join("tessera.db");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = runtime.block_on(async {
        let store = SqliteStore::open(&path).await.unwrap();
        store.insert_session(&session("h")).await.unwrap();
        store
    });

    // Another connection (as another process would) takes the write lock
    // and keeps it until a task of the runtime has run while the store's
    // write was waiting, or 10 s have passed.
    let locked = Arc::new(AtomicBool::new(false));
    let ticked = Arc::new(AtomicBool::new(false));
    let holder = {
        let (path, locked, ticked) = (path.clone(), Arc::clone(&locked), Arc::clone(&ticked));
        std::thread::spawn(move || {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch("BEGIN IMMEDIATE").unwrap();
            locked.store(true, Ordering::SeqCst);
            let deadline = Instant::now() + Duration::from_secs(10);
            while !ticked.load(Ordering::SeqCst) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            let saw_tick = ticked.load(Ordering::SeqCst);
            conn.execute_batch("COMMIT").unwrap();
            saw_tick
        })
    };
    while !locked.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(1));
    }

    let updated = runtime.block_on(async {
        let write = {
            let store = store.clone();
            tokio::spawn(async move { store.update_session_data("h", &json!({"n": 1}), T0).await })
        };
        // Runs only if the write above does not hold the one worker thread.
        let ticker = {
            let ticked = Arc::clone(&ticked);
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                ticked.store(true, Ordering::SeqCst);
            })
        };
        let updated = write.await.unwrap();
        ticker.await.unwrap();
        updated
    });
    assert!(
        holder.join().unwrap(),
        "the runtime ran no other task while the write waited for the lock"
    );
    assert!(updated.unwrap(), "the write failed instead of waiting");
    let data = runtime.block_on(async {
        let data = store.get_session_data("h", T0).await.unwrap().unwrap();
        store.close().await;
        data
    });
    assert_eq!(data, json!({"n": 1}));
    let _ = std::fs::remove_dir_all(&dir);
}
