//! Crash safety of an axum app on tessera-axum: the app runs in a child
//! process (this test binary re-run as [`child_process_for_the_crash_test`]),
//! is `kill -9`ed in the middle of a storm of refreshes across 200 sessions,
//! and restarted on the same database. Every session must refresh with the
//! token its client last received, none may be reported as theft or be
//! half-written, and the SQLite file must pass `PRAGMA integrity_check`.
//! PostgreSQL too, with `TESSERA_TEST_POSTGRES_URL` (a database of its own).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write as _};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::Path;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use sqlx::Connection as _;
use tessera_axum::{ServerLimits, Session, SessionLayer, Sessions};
use tokio::sync::Mutex;

const CHILD_ENV: &str = "TESSERA_AXUM_CRASH_CHILD_DB";
const READY: &str = "tessera-axum crash child listening on ";
const SESSIONS: usize = 200;
const WORKERS: usize = 16;
const REFRESHES_BEFORE_KILL: usize = 1500;

// ---------------------------------------------------------------- the child

async fn login(
    sessions: Sessions,
    Path(user): Path<String>,
) -> Result<Json<Value>, tessera_axum::Error> {
    let n: u64 = user.trim_start_matches("user-").parse().unwrap_or(0);
    let s = sessions
        .create_new_session(
            &user,
            json!({ "i": n }),
            json!({ "n": n, "pad": "x".repeat(200) }),
        )
        .await?;
    Ok(Json(json!({ "handle": s.get_handle() })))
}

async fn me(session: Session) -> Result<Json<Value>, tessera_axum::Error> {
    Ok(Json(json!({
        "user": session.get_user_id(),
        "payload": session.get_jwt_payload(),
        "data": session.get_session_data().await?,
    })))
}

/// Not a test of its own: the app the crash test runs and kills. Without
/// the environment variable it returns at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_process_for_the_crash_test() {
    let Ok(url) = std::env::var(CHILD_ENV) else {
        return;
    };
    let manager = tessera::SessionManager::connect(&url).await.unwrap();
    let layer = SessionLayer::new(manager);
    let app = Router::new()
        .route("/login/{user}", post(login))
        .route("/me", get(me))
        .merge(layer.routes())
        .layer(layer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let _ = writeln!(
        std::io::stdout(),
        "{READY}{}",
        listener.local_addr().unwrap()
    );
    let _ = std::io::stdout().flush();
    tessera_axum::serve(
        listener,
        app,
        ServerLimits::default(),
        std::future::pending::<()>(),
    )
    .await
    .unwrap();
}

struct Child9 {
    child: Child,
    base: String,
}

impl Child9 {
    fn start(database_url: &str) -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_process_for_the_crash_test",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, database_url)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let base = loop {
            line.clear();
            assert!(
                out.read_line(&mut line).unwrap() > 0,
                "child ended before listening"
            );
            // libtest prints "test … ... " without a newline first.
            if let Some(at) = line.find(READY) {
                break format!("http://{}", line[at + READY.len()..].trim());
            }
        };
        // Keep draining the child's stdout so it never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while out.read_line(&mut sink).unwrap_or(0) > 0 {
                sink.clear();
            }
        });
        Self { child, base }
    }

    fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Child9 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------- the storm

struct Client {
    user: String,
    refresh: String,
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn crash_and_recover(database_url: &str, label: &str) -> Child9 {
    let http = http();
    let app = Child9::start(database_url);
    let mut clients = Vec::new();
    for i in 0..SESSIONS {
        let res = http
            .post(format!("{}/login/user-{i}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        clients.push(Arc::new(Mutex::new(Client {
            user: format!("user-{i}"),
            refresh: header(&res, "st-refresh-token"),
        })));
    }
    let ok_before = Arc::new(AtomicUsize::new(0));
    let cut = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let mine: Vec<_> = clients.iter().skip(w).step_by(WORKERS).cloned().collect();
        let (http, base) = (http.clone(), app.base.clone());
        let (ok_before, cut, stop) = (ok_before.clone(), cut.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                for c in &mine {
                    let mut c = c.lock().await;
                    let sent = http
                        .post(format!("{base}/auth/session/refresh"))
                        .bearer_auth(&c.refresh)
                        .send()
                        .await;
                    match sent {
                        Ok(res) if res.status() == 200 => {
                            c.refresh = header(&res, "st-refresh-token");
                            ok_before.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(res) => panic!("before the crash, {}: {}", c.user, res.status()),
                        Err(_) => {
                            cut.fetch_add(1, Ordering::SeqCst);
                            return;
                        }
                    }
                }
            }
        }));
    }
    // (A worker that panicked has finished: stop waiting, its panic shows below.)
    while ok_before.load(Ordering::SeqCst) < REFRESHES_BEFORE_KILL
        && !workers.iter().any(|w| w.is_finished())
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    app.kill_9();
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.unwrap();
    }

    let app = Child9::start(database_url);
    let (mut ok, mut theft, mut other) = (0, 0, 0);
    for c in &clients {
        let c = c.lock().await;
        let res = http
            .post(format!("{}/auth/session/refresh", app.base))
            .bearer_auth(&c.refresh)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let access = header(&res, "st-access-token");
        let body: Value = res.json().await.unwrap();
        match status.as_u16() {
            200 => ok += 1,
            401 if body["message"] == "token theft detected" => theft += 1,
            _ => other += 1,
        }
        if status == 200 {
            // The row is whole: user, payload and data as created.
            let me: Value = http
                .get(format!("{}/me", app.base))
                .bearer_auth(&access)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let n: u64 = c.user.trim_start_matches("user-").parse().unwrap();
            assert_eq!(me["user"], c.user.as_str());
            assert_eq!(me["payload"], json!({ "i": n }));
            assert_eq!(me["data"], json!({ "n": n, "pad": "x".repeat(200) }));
        }
    }
    let _ = writeln!(
        std::io::stderr(),
        "{label}: {} refreshes before kill -9 ({} cut mid-flight); after restart {ok}/{SESSIONS} refreshed, {theft} theft, {other} other",
        ok_before.load(Ordering::SeqCst),
        cut.load(Ordering::SeqCst),
    );
    assert_eq!((ok, theft, other), (SESSIONS, 0, 0));
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_of_an_axum_app_during_a_refresh_storm_on_sqlite_loses_no_session() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions.db");
    let url = format!("sqlite://{}", path.display());
    let app = crash_and_recover(&url, "axum/sqlite").await;
    app.kill_9();
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path);
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    conn.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_of_an_axum_app_during_a_refresh_storm_on_postgres_loses_no_session() {
    let Ok(base_url) = std::env::var("TESSERA_TEST_POSTGRES_URL") else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPING postgres crash test: TESSERA_TEST_POSTGRES_URL not set"
        );
        return;
    };
    let db = format!(
        "tessera_axum_crash_{}_{}",
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
    let app = crash_and_recover(&format!("{prefix}/{db}"), "axum/postgres").await;
    app.kill_9();
    sqlx::raw_sql(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.ok();
}
