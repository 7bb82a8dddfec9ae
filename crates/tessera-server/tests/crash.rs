//! Crash safety of the `tessera` binary: `kill -9` in the middle of a storm
//! of refreshes across 200 sessions, then a restart on the same database.
//! Every session must refresh with the token its client last received (a
//! rotation whose answer was lost leaves the client one token behind, which
//! the grace window covers), none may be reported as theft or be
//! half-written, and the SQLite file must pass `PRAGMA integrity_check`.
//! On SQLite always; on PostgreSQL with `TESSERA_TEST_POSTGRES_URL` (a
//! database of its own, dropped afterwards).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Write as _};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::Connection as _;
use tokio::sync::Mutex;

const BIN: &str = env!("CARGO_BIN_EXE_tessera");
const SESSIONS: usize = 200;
const WORKERS: usize = 16;
/// Successful refreshes before the kill.
const REFRESHES_BEFORE_KILL: usize = 1500;

struct Served {
    child: Child,
    base: String,
}

impl Served {
    fn start(database_url: &str) -> Self {
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--bind", "127.0.0.1:0", "--database", database_url])
            .env_remove("TESSERA_CONFIG")
            .env_remove("TESSERA_API_KEYS")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("spawn tessera serve");
        let out = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(out).read_line(&mut line).unwrap();
        let base = line
            .trim()
            .strip_prefix("tessera listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Self { child, base }
    }

    /// SIGKILL: no shutdown, no WAL checkpoint, requests cut mid-flight.
    fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one client (one browser) knows of its session.
#[derive(Debug, Clone)]
struct Client {
    handle: String,
    user: String,
    current: String,
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

async fn post(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    body: &Value,
) -> reqwest::Result<Value> {
    client
        .post(format!("{base}{path}"))
        .header("cdi-version", "5.4")
        .header("rid", "session")
        .json(body)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await
}

fn refresh_body(token: &str) -> Value {
    json!({"refreshToken": token, "enableAntiCsrf": false, "useDynamicSigningKey": true})
}

#[derive(Debug, Default)]
struct Tally {
    ok_before: AtomicUsize,
    cut: AtomicUsize,
}

/// The storm, the kill, the restart and the checks; returns the new server.
async fn crash_and_recover(database_url: &str, label: &str) -> Served {
    let http = http();
    let server = Served::start(database_url);
    let mut clients = Vec::new();
    for i in 0..SESSIONS {
        let user = format!("user-{i}");
        let body = json!({
            "userId": user,
            "userDataInJWT": {"i": i},
            "userDataInDatabase": {"n": i, "pad": "x".repeat(200)},
            "enableAntiCsrf": false,
            "useDynamicSigningKey": true,
        });
        let created = post(&http, &server.base, "/recipe/session", &body)
            .await
            .unwrap();
        clients.push(Arc::new(Mutex::new(Client {
            handle: created["session"]["handle"].as_str().unwrap().to_owned(),
            user,
            current: created["refreshToken"]["token"]
                .as_str()
                .unwrap()
                .to_owned(),
        })));
    }
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let mine: Vec<_> = clients.iter().skip(w).step_by(WORKERS).cloned().collect();
        let (http, base, tally, stop) = (
            http.clone(),
            server.base.clone(),
            tally.clone(),
            stop.clone(),
        );
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                for c in &mine {
                    let mut c = c.lock().await;
                    match post(
                        &http,
                        &base,
                        "/recipe/session/refresh",
                        &refresh_body(&c.current),
                    )
                    .await
                    {
                        Ok(v) if v["status"] == "OK" => {
                            c.current = v["refreshToken"]["token"].as_str().unwrap().to_owned();
                            tally.ok_before.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(v) => panic!("before the crash, {}: {v}", c.handle),
                        // The server died under this request: the client
                        // keeps the token it has.
                        Err(_) => {
                            tally.cut.fetch_add(1, Ordering::SeqCst);
                            return;
                        }
                    }
                }
            }
        }));
    }
    // (A worker that panicked has finished: stop waiting, its panic shows below.)
    while tally.ok_before.load(Ordering::SeqCst) < REFRESHES_BEFORE_KILL
        && !workers.iter().any(|w| w.is_finished())
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill_9();
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.unwrap();
    }

    let server = Served::start(database_url);
    let (mut ok, mut theft, mut other) = (0, 0, 0);
    for c in &clients {
        let mut c = c.lock().await;
        let v = post(
            &http,
            &server.base,
            "/recipe/session/refresh",
            &refresh_body(&c.current),
        )
        .await
        .unwrap();
        match v["status"].as_str() {
            Some("OK") => {
                ok += 1;
                c.current = v["refreshToken"]["token"].as_str().unwrap().to_owned();
            }
            Some("TOKEN_THEFT_DETECTED") => theft += 1,
            _ => other += 1,
        }
        // The row is whole: its data and user as written at creation.
        let info: Value = http
            .get(format!("{}/recipe/session", server.base))
            .query(&[("sessionHandle", c.handle.as_str())])
            .header("cdi-version", "5.4")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(info["status"], "OK", "{}: {info}", c.handle);
        assert_eq!(info["userId"], c.user.as_str());
        let n: usize = c.user.trim_start_matches("user-").parse().unwrap();
        assert_eq!(
            info["userDataInDatabase"],
            json!({"n": n, "pad": "x".repeat(200)})
        );
        assert_eq!(info["userDataInJWT"], json!({"i": n}));
    }
    let _ = writeln!(
        std::io::stderr(),
        "{label}: {} refreshes before kill -9 ({} cut mid-flight); after restart {ok}/{SESSIONS} refreshed, {theft} theft, {other} other",
        tally.ok_before.load(Ordering::SeqCst),
        tally.cut.load(Ordering::SeqCst),
    );
    assert_eq!((ok, theft, other), (SESSIONS, 0, 0));
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_during_a_refresh_storm_on_sqlite_loses_no_session() {
    let (url, dir) = common::temp_sqlite_url("crash");
    let server = crash_and_recover(&url, "sqlite").await;
    server.kill_9();
    // The file (with its WAL, not checkpointed after the second kill) is sound.
    let path = url.trim_start_matches("sqlite://");
    let options =
        sqlx::sqlite::SqliteConnectOptions::from_str(&format!("sqlite://{path}")).unwrap();
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM tessera_sessions")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows, i64::try_from(SESSIONS).unwrap());
    conn.close().await.ok();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_during_a_refresh_storm_on_postgres_loses_no_session() {
    let Ok(base_url) = std::env::var("TESSERA_TEST_POSTGRES_URL") else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPING postgres crash test: TESSERA_TEST_POSTGRES_URL not set"
        );
        return;
    };
    let db = format!(
        "tessera_crash_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let admin_options = sqlx::postgres::PgConnectOptions::from_str(&base_url).unwrap();
    let mut admin = sqlx::PgConnection::connect_with(&admin_options)
        .await
        .unwrap();
    sqlx::raw_sql(&format!("CREATE DATABASE {db}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let (prefix, _) = base_url.rsplit_once('/').unwrap();
    let url = format!("{prefix}/{db}");
    let server = crash_and_recover(&url, "postgres").await;
    server.kill_9();
    // Every row whole: both hashes 32 bytes, generations non-negative.
    let mut conn = sqlx::PgConnection::connect_with(
        &sqlx::postgres::PgConnectOptions::from_str(&url).unwrap(),
    )
    .await
    .unwrap();
    let bad: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tessera_sessions WHERE length(current_hash) <> 32 \
         OR (previous_hash IS NOT NULL AND length(previous_hash) <> 32) OR generation < 0",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(bad, 0);
    conn.close().await.ok();
    sqlx::raw_sql(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.ok();
}
