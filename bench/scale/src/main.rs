//! Scale benchmark for the stores (issue: PostgreSQL store and scale).
//!
//! Fills a store with N synthetic sessions spread over 100,000 users (rows
//! written straight through `SessionStore::insert_session`, which is what a
//! creation costs minus the RSA signature), then measures per-operation
//! latency through `SessionManager`: create, refresh, get_session_data,
//! update_session_data, list a user's sessions, revoke all of a user's
//! sessions, and the cleanup of 100,000 expired sessions.
//!
//! ```sh
//! cargo run --release -p tessera-bench-scale -- --store sqlite --sizes 10000,1000000
//! cargo run --release -p tessera-bench-scale -- --store postgres --postgres-url postgres://postgres@127.0.0.1:5432/test
//! ```
//!
//! Prints one Markdown table row per (size, operation): median and p99 in µs.
//! The per-user operations (list, revoke all) run on probe users that hold
//! exactly five sessions at every size, so both sizes do the same work and
//! only the index depth differs.

use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use serde_json::json;
use tessera::store::{PostgresStore, RefreshState, SessionRecord, SessionStore, SqliteStore};
use tessera::{SessionManager, SessionMetadata};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StoreKind {
    Sqlite,
    Postgres,
}

#[derive(Debug, Parser)]
struct Args {
    /// Which store to measure.
    #[arg(long, value_enum)]
    store: StoreKind,
    /// Session counts to fill to, in increasing order.
    #[arg(long, value_delimiter = ',', default_value = "10000,1000000")]
    sizes: Vec<u64>,
    /// Samples per operation.
    #[arg(long, default_value_t = 500)]
    samples: usize,
    /// Distinct users the sessions are spread over.
    #[arg(long, default_value_t = 100_000)]
    users: u64,
    /// Expired sessions the cleanup measurement deletes.
    #[arg(long, default_value_t = 100_000)]
    expired: u64,
    /// PostgreSQL URL (a fresh schema is created in it).
    #[arg(long, env = "TESSERA_TEST_POSTGRES_URL")]
    postgres_url: Option<String>,
    /// Directory for the SQLite file.
    #[arg(long, default_value = "target/bench-scale")]
    dir: std::path::PathBuf,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    match args.store {
        StoreKind::Sqlite => {
            std::fs::create_dir_all(&args.dir)?;
            let path = args.dir.join("scale.db");
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            let store = SqliteStore::connect(&format!("sqlite://{}", path.display())).await?;
            run(&args, store, "SQLite").await
        }
        StoreKind::Postgres => {
            let url = args.postgres_url.clone().ok_or(
                "--postgres-url or TESSERA_TEST_POSTGRES_URL is required for --store postgres",
            )?;
            let schema = format!("tessera_scale_{}", std::process::id());
            let store = PostgresStore::connect_with_schema(&url, &schema).await?;
            let outcome = run(&args, store.clone(), "PostgreSQL").await;
            store.close().await;
            // The benchmark's rows (over a million) do not stay in the database.
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&url).await?;
            sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .execute(&mut conn)
                .await?;
            outcome
        }
    }
}

async fn run<S: SessionStore + Clone>(
    args: &Args,
    store: S,
    label: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let manager = SessionManager::builder()
        .store(store.clone())
        .background_tasks(false)
        .build()
        .await?;
    println!("| store | sessions | operation | median µs | p99 µs |");
    println!("|---|---|---|---|---|");
    let mut filled = 0u64;
    for &size in &args.sizes {
        let started = Instant::now();
        fill(
            &store,
            filled,
            size,
            args.users,
            now_ms() + 30 * 24 * 3600 * 1000,
        )
        .await?;
        filled = size;
        eprintln!(
            "{label}: filled to {size} sessions in {:.1?}",
            started.elapsed()
        );
        for (op, lat) in measure(args, &manager, &store).await? {
            let (median, p99) = percentiles(lat);
            println!("| {label} | {size} | {op} | {median:.0} | {p99:.0} |");
        }
    }
    // Cleanup of expired sessions, on top of the largest fill.
    let base = filled + 10_000_000;
    fill(
        &store,
        base,
        base + args.expired,
        args.users,
        now_ms() - 1000,
    )
    .await?;
    let started = Instant::now();
    let report = manager.run_cleanup().await?;
    let took = started.elapsed();
    println!(
        "| {label} | {filled} + {} expired | cleanup ({} batches) | total {:.0} ms | {:.0} µs per batch |",
        report.sessions_deleted,
        report.batches,
        took.as_secs_f64() * 1e3,
        took.as_secs_f64() * 1e6 / report.batches.max(1) as f64
    );
    Ok(())
}

/// Inserts sessions numbered `from..to` with the given expiry.
async fn fill<S: SessionStore + Clone>(
    store: &S,
    from: u64,
    to: u64,
    users: u64,
    expires_at_ms: i64,
) -> tessera::Result<()> {
    const WRITERS: u64 = 8;
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut i = from + w;
            while i < to {
                store
                    .insert_session(&synthetic(i, users, expires_at_ms))
                    .await?;
                i += WRITERS;
            }
            Ok::<(), tessera::Error>(())
        }));
    }
    for t in tasks {
        t.await
            .map_err(|_| tessera::Error::Crypto("fill task panicked"))??;
    }
    Ok(())
}

fn synthetic(i: u64, users: u64, expires_at_ms: i64) -> SessionRecord {
    let mut hash = [0u8; 32];
    hash[..8].copy_from_slice(&i.to_be_bytes());
    let now = now_ms();
    SessionRecord {
        handle: format!(
            "{:08x}-0000-4000-8000-{:012x}",
            i >> 48,
            i & 0xffff_ffff_ffff
        ),
        tenant_id: "public".into(),
        user_id: format!("user-{}", i % users),
        recipe_user_id: format!("user-{}", i % users),
        jwt_payload: json!({"role": "reader"}),
        session_data: json!({"cart": [1, 2, 3], "theme": "dark"}),
        created_at_ms: now,
        expires_at_ms,
        absolute_expires_at_ms: None,
        refresh: RefreshState {
            current_hash: hash,
            previous_hash: None,
            current_sealed: None,
            generation: 0,
            rotated_at_ms: now,
        },
        metadata: SessionMetadata::default(),
    }
}

/// Sessions each probed user holds.
const SESSIONS_PER_USER: u64 = 5;

async fn measure<S: SessionStore>(
    args: &Args,
    manager: &SessionManager,
    store: &S,
) -> tessera::Result<Vec<(&'static str, Vec<Duration>)>> {
    let n = args.samples;
    let mut out = Vec::new();

    let mut created = Vec::with_capacity(n);
    let mut lat = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        let s = manager
            .create_new_session(
                &format!("bench-user-{i}"),
                json!({"role": "reader"}),
                json!({"cart": []}),
            )
            .await?;
        lat.push(t.elapsed());
        created.push(s);
    }
    out.push(("create_new_session", lat));

    let mut lat = Vec::with_capacity(n);
    for s in &created {
        let t = Instant::now();
        manager
            .refresh_session(&s.refresh_token.token, None)
            .await?;
        lat.push(t.elapsed());
    }
    out.push(("refresh_session", lat));

    let mut lat = Vec::with_capacity(n);
    for s in &created {
        let t = Instant::now();
        manager.get_session_data(s.handle()).await?;
        lat.push(t.elapsed());
    }
    out.push(("get_session_data", lat));

    let mut lat = Vec::with_capacity(n);
    for s in &created {
        let t = Instant::now();
        manager
            .update_session_data(s.handle(), json!({"cart": [7]}))
            .await?;
        lat.push(t.elapsed());
    }
    out.push(("update_session_data", lat));

    // Per-user operations run on users that hold exactly SESSIONS_PER_USER
    // sessions at every fill size, so both sizes do the same work and only
    // the index depth differs.
    let probe_users: Vec<String> = (0..n).map(|i| format!("probe-{i}")).collect();
    for (u, user) in probe_users.iter().enumerate() {
        for k in 0..SESSIONS_PER_USER {
            let mut rec = synthetic(k, 1, now_ms() + 3_600_000);
            rec.user_id = user.clone();
            rec.recipe_user_id = user.clone();
            rec.handle = format!("probe-{u}-{k}");
            store.insert_session(&rec).await?;
        }
    }

    let mut lat = Vec::with_capacity(n);
    for user in &probe_users {
        let t = Instant::now();
        let handles = manager.get_all_session_handles_for_user(user).await?;
        lat.push(t.elapsed());
        assert_eq!(handles.len() as u64, SESSIONS_PER_USER);
    }
    out.push(("list a user's sessions (5)", lat));

    let mut lat = Vec::with_capacity(n);
    for user in &probe_users {
        let t = Instant::now();
        let revoked = manager.revoke_all_sessions_for_user(user).await?;
        lat.push(t.elapsed());
        assert_eq!(revoked.len() as u64, SESSIONS_PER_USER);
    }
    out.push(("revoke all of a user's sessions (5)", lat));
    Ok(out)
}

fn percentiles(mut lat: Vec<Duration>) -> (f64, f64) {
    lat.sort();
    let at = |q: f64| {
        let idx = ((lat.len() as f64 - 1.0) * q).round() as usize;
        lat.get(idx).map_or(0.0, |d| d.as_secs_f64() * 1e6)
    };
    (at(0.5), at(0.99))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
