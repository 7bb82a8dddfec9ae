//! `tessera-bench-load`: `all` runs the whole benchmark and writes the
//! report; `serve` runs one of the Rust systems (the orchestrator starts
//! them this way); `hit` loads one URL (for profiling by hand).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use tessera_bench_load::run::{self, BoxError, Options, System, Workload};
use tessera_bench_load::{http, load, report, servers};

#[derive(Debug, Parser)]
#[command(
    name = "tessera-bench-load",
    about = "Load benchmark: tessera-axum and its peers on loopback"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run every workload on every system and write the report.
    All(AllArgs),
    /// Serve one Rust system (prints `listening on http://ADDR`).
    Serve(ServeArgs),
    /// Load one URL with a fixed request (for profiling by hand).
    Hit(HitArgs),
    /// Print the nanoseconds of a fixed piece of work on this CPU (the
    /// orchestrator runs it on the servers' CPU before every measured run).
    Calibrate,
}

#[derive(Debug, clap::Args)]
struct AllArgs {
    /// Smoke run: 1 round of 3 s, 1 s warm-up, report to
    /// target/bench-load/BENCHMARKS.quick.md unless --output is given.
    #[arg(long)]
    quick: bool,
    /// Measured rounds per system and workload [default: 3; quick: 1].
    #[arg(long)]
    rounds: Option<usize>,
    /// Seconds per measured run [default: 10; quick: 3].
    #[arg(long)]
    duration: Option<f64>,
    /// Seconds of warm-up per system before a workload's first round
    /// [default: 2; quick: 1].
    #[arg(long)]
    warmup: Option<f64>,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Distinct users (sessions) of the `users` workload.
    #[arg(long, default_value_t = 10_000)]
    users: usize,
    /// Workloads to run (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    workloads: Vec<Workload>,
    /// Systems to run (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    systems: Vec<System>,
    /// Do not pin servers and generator to separate CPUs.
    #[arg(long)]
    no_pin: bool,
    /// Repeat a round in which a run was disturbed by other processes
    /// (over 5 % of the server's CPU, or 15 % of the busy generator's), at
    /// most this many rounds per workload [default: 2; quick: 0].
    #[arg(long)]
    max_repeats: Option<usize>,
    /// Before starting, wait up to this many seconds for the machine to be
    /// quiet (under 15 % busy over 5 s) [default: 120; quick: 0].
    #[arg(long)]
    wait_quiet: Option<f64>,
    /// The `tessera` binary [default: <workspace>/target/release/tessera].
    #[arg(long)]
    tessera_bin: Option<PathBuf>,
    /// Python with bench/load/python/requirements.txt installed
    /// [default: <workspace>/target/bench-load/venv/bin/python].
    #[arg(long)]
    python: Option<PathBuf>,
    /// Markdown file whose "Load benchmarks" section is written
    /// [default: <workspace>/BENCHMARKS.md; quick: target/bench-load/BENCHMARKS.quick.md].
    #[arg(long)]
    output: Option<PathBuf>,
    /// The command line to print in the report [default: $BENCH_LOAD_COMMAND, else this one].
    #[arg(long, env = "BENCH_LOAD_COMMAND")]
    command: Option<String>,
    /// PostgreSQL for the tessera-pg systems (own schemas, dropped and
    /// re-created every run); unreachable: those systems are skipped and
    /// the report says why.
    #[arg(
        long,
        env = "TESSERA_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    postgres_url: String,
    /// Flag a workload whose per-round ratio (tessera-axum ÷ a peer)
    /// spreads by more than this share (max ÷ min − 1).
    #[arg(long, default_value_t = 0.05)]
    spread_threshold: f64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ServeSystem {
    Bare,
    /// axum with a minimal pass-through session layer and extractor.
    AxumFloor,
    Tessera,
    TesseraNoCache,
    /// tessera-axum signing with Ed25519.
    TesseraEddsa,
    /// tessera-axum signing with ES256.
    TesseraEs256,
    TsSqlite,
    TsMemory,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Which system.
    #[arg(value_enum)]
    system: ServeSystem,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// tessera: store URL; tower-sessions SQLite: file path.
    #[arg(long)]
    database: Option<String>,
    /// tessera: verified-token cache capacity (0 turns it off).
    #[arg(long, default_value_t = 10_000)]
    verified_cache: usize,
    /// tessera on PostgreSQL: keep the tables in this schema.
    #[arg(long)]
    schema: Option<String>,
}

#[derive(Debug, clap::Args)]
struct HitArgs {
    /// Address of the server.
    #[arg(long)]
    addr: SocketAddr,
    /// Path to request.
    #[arg(long, default_value = "/verify")]
    path: String,
    /// Use POST instead of GET.
    #[arg(long)]
    post: bool,
    /// Cookie header value; or, with --login, created per connection.
    #[arg(long)]
    cookie: Option<String>,
    /// Create one session per connection with `POST /login/hit-N` first.
    #[arg(long)]
    login: bool,
    /// Connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Seconds.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
}

fn main() -> Result<(), BoxError> {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Serve(a) => multi_thread()?.block_on(serve(a)),
        Cmd::Hit(a) => current_thread()?.block_on(hit(a)),
        Cmd::All(a) => all(a),
        Cmd::Calibrate => {
            println!("{:.4}", tessera_bench_load::sys::calibrate(5));
            Ok(())
        }
    }
}

fn multi_thread() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

fn current_thread() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

async fn serve(a: ServeArgs) -> Result<(), BoxError> {
    let app = match a.system {
        ServeSystem::Bare => servers::bare_app(),
        ServeSystem::AxumFloor => servers::floor_app(),
        ServeSystem::Tessera | ServeSystem::TesseraNoCache => {
            let url = a.database.as_deref().unwrap_or("memory:");
            let cache = match a.system {
                ServeSystem::TesseraNoCache => 0,
                _ => a.verified_cache,
            };
            servers::tessera_app(url, a.schema.as_deref(), cache).await?
        }
        ServeSystem::TesseraEddsa | ServeSystem::TesseraEs256 => {
            let url = a.database.as_deref().unwrap_or("memory:");
            let algorithm = match a.system {
                ServeSystem::TesseraEddsa => tessera::SigningAlgorithm::EdDsa,
                _ => tessera::SigningAlgorithm::Es256,
            };
            servers::tessera_app_signing(url, a.schema.as_deref(), a.verified_cache, algorithm)
                .await?
        }
        ServeSystem::TsSqlite => {
            let path = a.database.as_deref().ok_or("--database FILE is required")?;
            let store = servers::tower_sessions_sqlite_store(path)
                .await
                .map_err(|e| e.to_string())?;
            servers::tower_sessions_app(store)
        }
        ServeSystem::TsMemory => {
            servers::tower_sessions_app(servers::tower_sessions_memory_store())
        }
    };
    servers::serve(app, a.addr).await?;
    Ok(())
}

async fn hit(a: HitArgs) -> Result<(), BoxError> {
    let host = a.addr.to_string();
    let cookies: Vec<Option<String>> = if a.login {
        load::create_sessions(a.addr, &host, a.connections, 32, |n| {
            format!("/login/hit-{n}")
        })
        .await?
        .iter()
        .map(|r| Some(r.cookie_header(&["sRefreshToken"])))
        .collect()
    } else {
        vec![a.cookie.clone()]
    };
    let reqs = cookies
        .iter()
        .map(|c| {
            if a.post {
                http::post(&a.path, &host, c.as_deref())
            } else {
                http::get(&a.path, &host, c.as_deref())
            }
        })
        .collect();
    let plan = load::Plan::PerConnection(Arc::new(reqs));
    let s = load::run(
        a.addr,
        a.connections,
        Duration::from_secs_f64(a.duration),
        &plan,
    )
    .await?;
    println!(
        "{:.0} req/s  p50 {:.3} ms  p99 {:.3} ms  requests {}  errors {}{}",
        s.rps(),
        s.quantile_ms(0.5),
        s.quantile_ms(0.99),
        s.requests,
        s.errors,
        s.first_error
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default()
    );
    Ok(())
}

fn all(a: AllArgs) -> Result<(), BoxError> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()?;
    let python = a
        .python
        .clone()
        .unwrap_or_else(|| root.join("target/bench-load/venv/bin/python"));
    let tessera_bin = a
        .tessera_bin
        .clone()
        .unwrap_or_else(|| root.join("target/release/tessera"));
    for (what, p) in [("python", &python), ("tessera binary", &tessera_bin)] {
        if !p.exists() {
            return Err(format!(
                "{what} not found at {} (bench/load/run.sh prepares both)",
                p.display()
            )
            .into());
        }
    }
    let output = a.output.clone().unwrap_or_else(|| {
        if a.quick {
            root.join("target/bench-load/BENCHMARKS.quick.md")
        } else {
            root.join("BENCHMARKS.md")
        }
    });
    let secs = |v: Option<f64>, full: f64, quick: f64| {
        Duration::from_secs_f64(v.unwrap_or(if a.quick { quick } else { full }))
    };
    let opts = Options {
        rounds: a.rounds.unwrap_or(if a.quick { 1 } else { 3 }).max(1),
        duration: secs(a.duration, 10.0, 3.0),
        warmup: secs(a.warmup, 2.0, 1.0),
        connections: a.connections.max(1),
        users: a.users.max(1),
        workloads: if a.workloads.is_empty() {
            Workload::ALL.to_vec()
        } else {
            a.workloads.clone()
        },
        systems: if a.systems.is_empty() {
            System::ALL.to_vec()
        } else {
            a.systems.clone()
        },
        max_repeats: a.max_repeats.unwrap_or(if a.quick { 0 } else { 2 }),
        pin: !a.no_pin && report::environment_cpus() >= 2 && run::have_taskset(),
        tessera_bin,
        python: python.clone(),
        python_app_dir: root.join("bench/load/python"),
        postgres_url: a.postgres_url.clone(),
        spread_threshold: a.spread_threshold.max(0.0),
    };
    let command = a.command.clone().unwrap_or_else(|| {
        let args: Vec<String> = std::env::args().skip(1).collect();
        format!(
            "cargo run --release -p tessera-bench-load -- {}",
            args.join(" ")
        )
    });

    let mut env = report::environment(&root, &python);
    let wait = a.wait_quiet.unwrap_or(if a.quick { 0.0 } else { 120.0 });
    if wait > 0.0 {
        let busy = current_thread()?.block_on(run::wait_quiet(Duration::from_secs_f64(wait), 0.15));
        env.busy_before = format!("{:.0} %", busy * 100.0);
    }
    env.load_before = report::loadavg();
    eprintln!("== load average before: {}", env.load_before);
    if opts.pin {
        run::pin_self("1")?;
    }
    let work = tempfile::Builder::new()
        .prefix("tessera-bench-load.")
        .tempdir()?;
    let results = current_thread()?.block_on(run::run_all(&opts, work.path()));
    let results = match results {
        Ok(r) => r,
        Err(e) => {
            for log in std::fs::read_dir(work.path())?.flatten() {
                let p = log.path();
                if p.extension().is_some_and(|x| x == "log") {
                    let text = std::fs::read_to_string(&p).unwrap_or_default();
                    let tail: Vec<&str> = text.lines().rev().take(20).collect();
                    if !tail.is_empty() {
                        eprintln!("----- {} -----", p.display());
                        for l in tail.iter().rev() {
                            eprintln!("{l}");
                        }
                    }
                }
            }
            return Err(e);
        }
    };
    env.load_after = report::loadavg();

    let generated = report::markdown(&env, &opts, &results, &command);
    let json_dir = root.join("target/bench-load");
    std::fs::create_dir_all(&json_dir)?;
    let json = serde_json::json!({ "environment": env, "results": results, "command": command });
    std::fs::write(
        json_dir.join(if a.quick {
            "results.quick.json"
        } else {
            "results.json"
        }),
        serde_json::to_string_pretty(&json)?,
    )?;
    if let Some(dir) = output.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let doc = std::fs::read_to_string(&output).unwrap_or_default();
    std::fs::write(&output, report::update_document(&doc, &generated))?;
    println!("{generated}");
    eprintln!("== wrote {}", output.display());
    Ok(())
}
