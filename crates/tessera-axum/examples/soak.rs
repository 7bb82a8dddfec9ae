//! The soak run of the hardening tests (`tests/hardening/soak.sh` drives it): an axum
//! app on tessera-axum, and a steady open-loop load against it that reports
//! every minute the latency percentiles and the app's resident memory.
//!
//! ```text
//! soak serve DATABASE_URL            # prints "soak app listening on ADDR"
//! soak load ADDR PID MINUTES RATE    # RATE requests/s; PID: the app, for its RSS
//! ```
//!
//! The load: 1,000 clients in header mode; per request 75 % verify
//! (`GET /me`), 10 % `update_session_data`, 5 % `get_session_data`, 8 %
//! refresh, 2 % a new login replacing the client's session.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::Path;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tessera_axum::{RequestLimits, ServerLimits, Session, SessionLayer, Sessions};
use tokio::sync::{Mutex, Semaphore};

const CLIENTS: usize = 1000;
const MAX_IN_FLIGHT: usize = 256;

// ---------------------------------------------------------------- the app

async fn login(
    sessions: Sessions,
    Path(user): Path<String>,
) -> Result<Json<Value>, tessera_axum::Error> {
    let s = sessions
        .create_new_session(&user, json!({ "role": "reader" }), json!({ "cart": [] }))
        .await?;
    Ok(Json(json!({ "handle": s.get_handle() })))
}

async fn me(session: Session) -> Json<Value> {
    Json(json!({ "user": session.get_user_id(), "payload": session.get_jwt_payload() }))
}

async fn read_data(session: Session) -> Result<Json<Value>, tessera_axum::Error> {
    Ok(Json(session.get_session_data().await?))
}

async fn write_data(
    session: Session,
    Json(v): Json<Value>,
) -> Result<Json<Value>, tessera_axum::Error> {
    session.update_session_data(v).await?;
    Ok(Json(json!({ "ok": true })))
}

async fn serve(database_url: &str) {
    let manager = tessera::SessionManager::connect(database_url)
        .await
        .expect("database");
    let layer = SessionLayer::new(manager);
    let app = Router::new()
        .route("/login/{user}", post(login))
        .route("/me", get(me))
        .route("/data", get(read_data).post(write_data))
        .merge(layer.routes())
        .layer(layer)
        .layer(RequestLimits::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("soak app listening on {}", listener.local_addr().unwrap());
    let _ = std::io::stdout().flush();
    // Runs until the soak script kills it.
    tessera_axum::serve(
        listener,
        app,
        ServerLimits::default(),
        std::future::pending(),
    )
    .await
    .unwrap();
}

// ---------------------------------------------------------------- the load

#[derive(Debug)]
struct Client {
    user: String,
    access: String,
    refresh: String,
}

fn header(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn rss_mb(pid: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1]) / 1000.0
}

/// Tiny xorshift: the mix need not be cryptographic.
fn next(state: &AtomicU64) -> u64 {
    let mut x = state.load(Ordering::Relaxed);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    state.store(x, Ordering::Relaxed);
    x
}

async fn login_client(http: &reqwest::Client, base: &str, user: &str) -> Option<Client> {
    let res = http
        .post(format!("{base}/login/{user}"))
        .send()
        .await
        .ok()?;
    Some(Client {
        user: user.to_owned(),
        access: header(&res, "st-access-token")?,
        refresh: header(&res, "st-refresh-token")?,
    })
}

/// One request for `client`; `true` when it got a 2xx.
async fn one(http: &reqwest::Client, base: &str, client: &mut Client, dice: u64) -> bool {
    let roll = dice % 100;
    let res = if roll < 75 {
        http.get(format!("{base}/me"))
            .bearer_auth(&client.access)
            .send()
            .await
    } else if roll < 85 {
        http.post(format!("{base}/data"))
            .bearer_auth(&client.access)
            .json(&json!({ "cart": [dice % 1000], "seen": dice }))
            .send()
            .await
    } else if roll < 90 {
        http.get(format!("{base}/data"))
            .bearer_auth(&client.access)
            .send()
            .await
    } else if roll < 98 {
        let res = http
            .post(format!("{base}/auth/session/refresh"))
            .bearer_auth(&client.refresh)
            .send()
            .await;
        if let Ok(r) = &res
            && r.status().is_success()
            && let (Some(a), Some(rt)) =
                (header(r, "st-access-token"), header(r, "st-refresh-token"))
        {
            client.access = a;
            client.refresh = rt;
        }
        res
    } else {
        let user = client.user.clone();
        return match login_client(http, base, &user).await {
            Some(fresh) => {
                *client = fresh;
                true
            }
            None => false,
        };
    };
    matches!(res, Ok(r) if r.status().is_success())
}

async fn load(addr: &str, pid: &str, minutes: u64, rate: u64) {
    let base = format!("http://{addr}");
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(MAX_IN_FLIGHT)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        let c = login_client(&http, &base, &format!("soak-user-{i}"))
            .await
            .expect("login");
        clients.push(Arc::new(Mutex::new(c)));
    }
    let clients = Arc::new(clients);
    let rss_start = rss_mb(pid);
    println!(
        "start: {CLIENTS} clients logged in, {rate} req/s for {minutes} min, app RSS {rss_start:.1} MiB"
    );
    println!("minute,requests,errors,skipped,p50_ms,p99_ms,max_ms,rss_mib");
    let latencies = Arc::new(std::sync::Mutex::new(Vec::<u32>::new()));
    let errors = Arc::new(AtomicU64::new(0));
    let skipped = Arc::new(AtomicU64::new(0));
    let dice = Arc::new(AtomicU64::new(0x9e37_79b9_7f4a_7c15));
    let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let tick = Duration::from_millis(10);
    let per_tick = (rate / 100).max(1);
    let mut ticker = tokio::time::interval(tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let started = Instant::now();
    let mut minute = 0u64;
    let mut p99s = Vec::new();
    let mut rss = Vec::new();
    while minute < minutes {
        ticker.tick().await;
        for _ in 0..per_tick {
            let Ok(permit) = permits.clone().try_acquire_owned() else {
                skipped.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            let d = next(&dice);
            let client = clients[(d as usize) % CLIENTS].clone();
            let (http, base) = (http.clone(), base.clone());
            let (latencies, errors) = (latencies.clone(), errors.clone());
            tokio::spawn(async move {
                let Ok(mut c) = client.try_lock() else {
                    drop(permit);
                    return;
                };
                let t0 = Instant::now();
                let ok = one(&http, &base, &mut c, d >> 8).await;
                let micros = u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX);
                if !ok {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                latencies.lock().unwrap().push(micros);
                drop(permit);
            });
        }
        if started.elapsed() >= Duration::from_secs(60 * (minute + 1)) {
            minute += 1;
            let mut lat = std::mem::take(&mut *latencies.lock().unwrap());
            lat.sort_unstable();
            let (p50, p99) = (percentile(&lat, 0.50), percentile(&lat, 0.99));
            let max = lat.last().map_or(0.0, |m| f64::from(*m) / 1000.0);
            let r = rss_mb(pid);
            println!(
                "{minute},{},{},{},{p50:.2},{p99:.2},{max:.1},{r:.1}",
                lat.len(),
                errors.swap(0, Ordering::Relaxed),
                skipped.swap(0, Ordering::Relaxed),
            );
            let _ = std::io::stdout().flush();
            p99s.push(p99);
            rss.push(r);
        }
    }
    let avg = |v: &[f64]| v.iter().sum::<f64>() / (v.len().max(1) as f64);
    let n = p99s.len().min(5);
    let rss_end = rss.last().copied().unwrap_or(0.0);
    let peak = rss.iter().copied().fold(0.0, f64::max);
    println!(
        "summary: app RSS start {rss_start:.1} MiB, end {rss_end:.1} MiB, peak {peak:.1} MiB; \
         p99 first {n} min {:.2} ms, last {n} min {:.2} ms",
        avg(&p99s[..n]),
        avg(&p99s[p99s.len() - n..]),
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("serve") => serve(args.get(2).map_or("sqlite://soak.db", String::as_str)).await,
        Some("load") if args.len() == 6 => {
            load(
                &args[2],
                &args[3],
                args[4].parse().expect("minutes"),
                args[5].parse().expect("rate"),
            )
            .await;
        }
        _ => {
            eprintln!("usage: soak serve DATABASE_URL | soak load ADDR PID MINUTES RATE");
            std::process::exit(2);
        }
    }
}
