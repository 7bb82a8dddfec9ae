//! The `all` command: starts every system, creates their sessions, runs the
//! workloads in interleaved rounds and hands the medians to the report.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::ValueEnum;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::http::{self, Conn};
use crate::load::{self, Plan, Sample};

/// Error type of the orchestrator: a message is enough for a benchmark.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The API key between supertokens-python and `tessera serve`.
const CORE_API_KEY: &str = "bench-load-api-key-0123456789";

/// A system under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ValueEnum)]
pub enum System {
    /// axum with no authentication: the ceiling.
    Bare,
    /// axum with the least a cookie-session layer does (one extension per
    /// request, an extractor reading the cookie header and it; no crypto):
    /// the floor for any session layer on axum.
    AxumFloor,
    /// tessera-axum, cookie mode, SQLite store, default settings.
    Tessera,
    /// tessera-axum with the verified-token cache off (every request checks
    /// the RSA signature), same database as `tessera`. 10k-users only.
    TesseraNoCache,
    /// tessera-axum as `tessera`, access tokens signed with Ed25519
    /// (`SigningAlgorithm::EdDsa`), a database of its own. Create + refresh.
    TesseraEddsa,
    /// The same with ES256 (`SigningAlgorithm::Es256`). Create + refresh.
    TesseraEs256,
    /// tower-sessions with tower-sessions-sqlx-store's SQLite store.
    TsSqlite,
    /// tower-sessions with its memory store.
    TsMemory,
    /// supertokens-python + FastAPI under uvicorn, `tessera serve` as core.
    Python,
    /// FastAPI under uvicorn with no authentication: the Python ceiling.
    FastapiBare,
    /// Bare FastAPI with one no-op `Depends`: what FastAPI's dependency
    /// machinery alone costs (`verify_session()` is such a dependency).
    FastapiBareDepends,
    /// FastAPI under uvicorn with tessera.fastapi (bindings/python), SQLite.
    FastapiTessera,
    /// tessera-axum on PostgreSQL (the local server), one app process.
    TesseraPg,
    /// Two tessera-axum app processes on one PostgreSQL database, the
    /// connections split between them.
    #[value(name = "tessera-pg-2")]
    TesseraPg2,
}

impl System {
    /// Every system, in report order.
    pub const ALL: [System; 14] = [
        System::Bare,
        System::AxumFloor,
        System::Tessera,
        System::TesseraNoCache,
        System::TesseraEddsa,
        System::TesseraEs256,
        System::TsSqlite,
        System::TsMemory,
        System::Python,
        System::FastapiBare,
        System::FastapiBareDepends,
        System::FastapiTessera,
        System::TesseraPg,
        System::TesseraPg2,
    ];

    /// The name in the report.
    pub fn label(self) -> &'static str {
        match self {
            System::Bare => "bare axum (no auth)",
            System::AxumFloor => "axum + minimal session layer (no crypto)",
            System::Tessera => "tessera-axum (SQLite)",
            System::TesseraNoCache => "tessera-axum (SQLite), verified-token cache off",
            System::TesseraEddsa => "tessera-axum (SQLite), EdDSA signing",
            System::TesseraEs256 => "tessera-axum (SQLite), ES256 signing",
            System::TsSqlite => "tower-sessions (SQLite store)",
            System::TsMemory => "tower-sessions (memory store)",
            System::Python => "supertokens-python + FastAPI (uvicorn), core: tessera serve",
            System::FastapiBare => "bare FastAPI (uvicorn, no auth)",
            System::FastapiBareDepends => "bare FastAPI with a no-op Depends (uvicorn, no auth)",
            System::FastapiTessera => "FastAPI + tessera.fastapi (uvicorn, SQLite)",
            System::TesseraPg => "tessera-axum (PostgreSQL), 1 app process",
            System::TesseraPg2 => "tessera-axum (PostgreSQL), 2 app processes",
        }
    }

    /// The name on the command line and in the JSON results.
    pub fn key(self) -> &'static str {
        match self {
            System::Bare => "bare",
            System::AxumFloor => "axum-floor",
            System::Tessera => "tessera",
            System::TesseraNoCache => "tessera-no-cache",
            System::TesseraEddsa => "tessera-eddsa",
            System::TesseraEs256 => "tessera-es256",
            System::TsSqlite => "ts-sqlite",
            System::TsMemory => "ts-memory",
            System::Python => "python",
            System::FastapiBare => "fastapi-bare",
            System::FastapiBareDepends => "fastapi-bare-depends",
            System::FastapiTessera => "fastapi-tessera",
            System::TesseraPg => "tessera-pg",
            System::TesseraPg2 => "tessera-pg-2",
        }
    }

    /// Whether the system keeps its sessions in PostgreSQL.
    pub fn on_postgres(self) -> bool {
        matches!(self, System::TesseraPg | System::TesseraPg2)
    }
}

/// A workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ValueEnum)]
pub enum Workload {
    /// `GET /verify`, one session per connection, its token reused.
    Verify,
    /// `POST /data`: read the session data, write it back changed.
    Data,
    /// Create a session, then refresh it once; both requests count.
    CreateRefresh,
    /// `GET /verify` with a token drawn at random from 10,000 users' per
    /// request.
    Users,
    /// Not a load: the resident memory of a tessera-axum server with the
    /// verified-token cache empty and full, and the bytes per entry.
    Memory,
}

impl Workload {
    /// Every workload, in report order.
    pub const ALL: [Workload; 5] = [
        Workload::Verify,
        Workload::Data,
        Workload::CreateRefresh,
        Workload::Users,
        Workload::Memory,
    ];

    /// The systems that take part, in the order they run within a round.
    pub fn systems(self) -> &'static [System] {
        match self {
            Workload::Verify => &[
                System::Bare,
                System::AxumFloor,
                System::Tessera,
                System::TsSqlite,
                System::TsMemory,
                System::Python,
                System::FastapiBare,
                System::FastapiBareDepends,
                System::FastapiTessera,
                System::TesseraPg,
                System::TesseraPg2,
            ],
            Workload::Data => &[
                System::Tessera,
                System::TsSqlite,
                System::TsMemory,
                System::Python,
                System::FastapiTessera,
                System::TesseraPg,
                System::TesseraPg2,
            ],
            Workload::CreateRefresh => &[
                System::Tessera,
                System::TesseraEddsa,
                System::TesseraEs256,
                System::Python,
                System::FastapiTessera,
                System::TesseraPg,
                System::TesseraPg2,
            ],
            Workload::Users => &[
                System::Tessera,
                System::TesseraNoCache,
                System::TsSqlite,
                System::TsMemory,
                System::Python,
                System::FastapiTessera,
            ],
            Workload::Memory => &[System::Tessera],
        }
    }

    /// The name on the command line and in the JSON results.
    pub fn key(self) -> &'static str {
        match self {
            Workload::Verify => "verify",
            Workload::Data => "data",
            Workload::CreateRefresh => "create-refresh",
            Workload::Users => "users",
            Workload::Memory => "memory",
        }
    }
}

/// Settings of one `all` run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Measured rounds per (workload, system).
    pub rounds: usize,
    /// Length of one measured run.
    pub duration: Duration,
    /// Length of the warm-up run before a workload's first round.
    pub warmup: Duration,
    /// Concurrent keep-alive connections.
    pub connections: usize,
    /// Distinct users of the `users` workload.
    pub users: usize,
    /// Workloads to run.
    pub workloads: Vec<Workload>,
    /// Systems to run (others are skipped everywhere).
    pub systems: Vec<System>,
    /// Pin the servers to CPU 0 and the generator to CPU 1.
    pub pin: bool,
    /// How many rounds of a workload may be repeated because a run in them
    /// was disturbed by other processes (after waiting up to 60 s for a
    /// quiet machine).
    pub max_repeats: usize,
    /// The `tessera` binary (for `tessera serve`).
    pub tessera_bin: PathBuf,
    /// The Python interpreter with `python/requirements.txt` installed.
    pub python: PathBuf,
    /// Directory of `app.py`.
    pub python_app_dir: PathBuf,
    /// PostgreSQL for the `tessera-pg` systems (each gets its own schema,
    /// dropped and re-created at the start of every run).
    pub postgres_url: String,
    /// A workload whose per-round ratios (tessera-axum ÷ peer) spread by
    /// more than this share (max ÷ min − 1) is flagged as unsteady.
    pub spread_threshold: f64,
}

/// One measured run, reduced.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Measurement {
    /// Requests per second.
    pub rps: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// Requests completed.
    pub requests: u64,
    /// Requests that failed.
    pub errors: u64,
    /// Server CPU time per request, µs (all of the system's processes).
    pub server_cpu_us_per_req: f64,
    /// Server CPU time over wall time (1.0 = one core fully busy).
    pub server_cpu_busy: f64,
    /// The generator's CPU time over wall time.
    pub client_cpu_busy: f64,
    /// CPU time of every other process on the machine over wall time
    /// (other work competing for the two cores).
    pub other_cpu_busy: f64,
    /// Busy time of the server's CPU (CPU 0) not spent by the system, over
    /// wall time (pinned runs only).
    pub others_on_server_cpu: f64,
    /// Busy time of the generator's CPU (CPU 1) not spent by the
    /// generator, over wall time (pinned runs only).
    pub others_on_client_cpu: f64,
    /// Steal time of the server's CPU (CPU 0) over wall time: the
    /// hypervisor ran something else while this virtual CPU wanted to run
    /// (included in `others_on_server_cpu`). Unpinned: the machine's steal
    /// over wall time, in CPUs.
    pub steal_server_cpu: f64,
    /// Steal time of the generator's CPU (CPU 1) over wall time.
    pub steal_client_cpu: f64,
    /// Involuntary context switches of the system's threads per second
    /// (the scheduler took the CPU away from the server).
    pub server_preempted_per_s: f64,
    /// Nanoseconds of the calibration loop on the server's CPU just before
    /// the run (fixed work; higher = that CPU ran slower).
    pub calib_server_ns: f64,
    /// The same on the generator's CPU.
    pub calib_client_ns: f64,
    /// PostgreSQL systems: CPU of the PostgreSQL backends serving the app
    /// processes, µs per request (included in `server_cpu_us_per_req`).
    pub db_cpu_us_per_req: f64,
    /// The system's processes are not confined to CPU 0 (PostgreSQL's
    /// backends, a second app process): disturbance is judged machine-wide.
    pub shared_cpus: bool,
    /// 0 for the first attempt of this round, n for its n-th repeat.
    pub attempt: usize,
}

impl Measurement {
    /// Whether other processes competed with this run: more than 5 % of
    /// the server's CPU (a share taken from one system and not from the
    /// next moves their ratio by as much), or more than 15 % of the
    /// generator's CPU while the generator itself needed more than 30 % of
    /// it. Unpinned: more than 30 % of one CPU anywhere. Systems spread
    /// over both CPUs (PostgreSQL): more than 10 % of one CPU anywhere.
    pub fn disturbed(&self, pinned: bool) -> bool {
        if self.shared_cpus {
            return self.other_cpu_busy > 0.10;
        }
        if pinned {
            self.others_on_server_cpu > 0.05
                || (self.others_on_client_cpu > 0.15 && self.client_cpu_busy > 0.30)
        } else {
            self.other_cpu_busy > 0.30
        }
    }
}

/// All rounds of one (workload, system) cell.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Cell {
    /// The workload.
    pub workload: &'static str,
    /// The system.
    pub system: &'static str,
    /// Every round, in order.
    pub rounds: Vec<Measurement>,
    /// The first error seen in any round.
    pub first_error: Option<String>,
}

impl Cell {
    /// The median over the rounds of one metric.
    pub fn median(&self, f: impl Fn(&Measurement) -> f64) -> f64 {
        let mut v: Vec<f64> = self.rounds.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => 0.0,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
    }

    /// Smallest and largest value of a metric over the rounds.
    pub fn range(&self, f: impl Fn(&Measurement) -> f64) -> (f64, f64) {
        let v: Vec<f64> = self.rounds.iter().map(f).collect();
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lo, hi)
    }

    /// Errors over all rounds.
    pub fn errors(&self) -> u64 {
        self.rounds.iter().map(|m| m.errors).sum()
    }
}

/// What the run produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Results {
    /// Every cell, workload-major in report order.
    pub cells: Vec<Cell>,
    /// Seconds the whole run took.
    pub total_seconds: f64,
    /// How long creating the `users` sessions took per system, seconds.
    pub setup_seconds: Vec<(&'static str, f64)>,
    /// Measured runs repeated because other processes disturbed them.
    pub repeats: usize,
    /// The memory measurement, if it ran.
    pub memory: Option<MemoryReport>,
    /// Why the PostgreSQL systems did not run, if they were selected and
    /// did not.
    pub postgres_skipped: Option<String>,
    /// The PostgreSQL server measured (host:port and version).
    pub postgres_server: Option<String>,
}

/// Resident memory of a tessera-axum server before and after its
/// verified-token cache is filled, beside a control server with the cache
/// off that verifies the same tokens.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct MemoryReport {
    /// Distinct tokens verified (the cache capacity).
    pub entries: usize,
    /// Length of one access token, bytes.
    pub token_bytes: usize,
    /// RSS right after start, bytes.
    pub rss_start: u64,
    /// RSS after verifying one token as many times (cache holds 1 entry).
    pub rss_empty: u64,
    /// RSS after verifying every distinct token once (cache full).
    pub rss_full: u64,
    /// The control server (cache off): RSS after the same two steps.
    pub control_rss_empty: u64,
    /// The control server after the distinct tokens.
    pub control_rss_full: u64,
}

impl MemoryReport {
    /// (growth with the cache − growth without it) ÷ entries.
    pub fn bytes_per_entry(&self) -> f64 {
        let with = self.rss_full as f64 - self.rss_empty as f64;
        let without = self.control_rss_full as f64 - self.control_rss_empty as f64;
        (with - without) / self.entries.max(1) as f64
    }
}

impl Results {
    /// The cell of (workload, system), if it ran.
    pub fn cell(&self, w: Workload, s: System) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|c| c.workload == w.key() && c.system == s.key())
    }
}

/// A running system: its processes and the sessions made on it.
struct Running {
    system: System,
    addr: SocketAddr,
    /// Every app process's address (`addr` first); the load is spread
    /// over them.
    addrs: Vec<SocketAddr>,
    children: Vec<Child>,
    /// Cookie headers, one per connection, for `verify` and `data`.
    conn_cookies: Vec<String>,
    /// Cookie headers of the `users` workload.
    user_cookies: Vec<String>,
    /// The Python system's core (`tessera serve`).
    core: Option<SocketAddr>,
}

impl fmt::Debug for Running {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Running")
            .field("system", &self.system)
            .field("addrs", &self.addrs)
            .finish_non_exhaustive()
    }
}

impl Running {
    fn host(&self) -> String {
        self.addr.to_string()
    }

    fn pids(&self) -> Vec<u32> {
        self.children.iter().filter_map(Child::id).collect()
    }
}

/// Waits until the machine is quiet: the share of all CPUs busy over a
/// 5-second window below `threshold` (0–1), for at most `limit`. Returns
/// the last window's busy share.
pub async fn wait_quiet(limit: Duration, threshold: f64) -> f64 {
    let ticks = clock_ticks();
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get() as f64)
        .unwrap_or(1.0);
    let deadline = Instant::now() + limit;
    loop {
        let a0 = machine_busy_seconds(ticks);
        let t0 = Instant::now();
        tokio::time::sleep(Duration::from_secs(5)).await;
        let busy = (machine_busy_seconds(ticks) - a0) / t0.elapsed().as_secs_f64() / cpus;
        if busy < threshold || Instant::now() >= deadline {
            return busy;
        }
        eprintln!(
            "== machine {:.0} % busy; waiting for it to be quiet (below {:.0} %)",
            busy * 100.0,
            threshold * 100.0
        );
    }
}

/// Whether `taskset` can be run.
pub fn have_taskset() -> bool {
    std::process::Command::new("taskset")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Pins the calling process (all its threads) to `cpus` with `taskset`.
pub fn pin_self(cpus: &str) -> Result<(), BoxError> {
    let status = std::process::Command::new("taskset")
        .args(["-a", "-p", "-c", cpus, &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        return Err(format!("taskset -a -p -c {cpus} failed: {status}").into());
    }
    Ok(())
}

/// A command, under `taskset -c 0` when pinning.
fn command(pin: bool, program: &Path) -> Command {
    command_on(pin.then_some("0"), program)
}

/// Starts one uvicorn worker (uvloop, httptools, no access log) serving
/// `module` from the Python app directory, with `env` and `APP_URL` set,
/// output in `<work>/<name>.out` and `.log`; returns once it answers
/// `/verify`.
async fn spawn_uvicorn(
    opts: &Options,
    module: &str,
    env: &[(&str, &str)],
    work: &Path,
    name: &str,
) -> Result<(Child, SocketAddr), BoxError> {
    let port = free_port()?;
    let mut app = command(opts.pin, &opts.python);
    app.args(["-m", "uvicorn", module, "--host", "127.0.0.1", "--port"])
        .arg(port.to_string())
        .args([
            "--workers",
            "1",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--log-level",
            "warning",
            "--no-access-log",
        ])
        .current_dir(&opts.python_app_dir)
        .env("APP_URL", format!("http://127.0.0.1:{port}"))
        .envs(env.iter().copied())
        .stdout(Stdio::from(std::fs::File::create(
            work.join(format!("{name}.out")),
        )?))
        .stderr(Stdio::from(std::fs::File::create(
            work.join(format!("{name}.log")),
        )?));
    let child = app.spawn()?;
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    wait_http(addr, "/verify", Duration::from_secs(60)).await?;
    Ok((child, addr))
}

/// A command, under `taskset -c CPUS` when given.
fn command_on(cpus: Option<&str>, program: &Path) -> Command {
    let mut c = if let Some(cpus) = cpus {
        let mut c = Command::new("taskset");
        c.arg("-c").arg(cpus).arg(program);
        c
    } else {
        Command::new(program)
    };
    c.kill_on_drop(true).stdin(Stdio::null());
    c
}

/// Spawns `cmd`, whose stdout will say `http://HOST:PORT` once it
/// listens; returns the child and that address. Stderr goes to `log`.
async fn spawn_listening(mut cmd: Command, log: &Path) -> Result<(Child, SocketAddr), BoxError> {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(log)?));
    let mut child = cmd.spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let found = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await? {
            if let Some(at) = line.find("http://") {
                let rest = &line[at + 7..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ':'))
                    .unwrap_or(rest.len());
                if let Ok(addr) = rest[..end].parse::<SocketAddr>() {
                    return Ok::<_, std::io::Error>(Some(addr));
                }
            }
        }
        Ok(None)
    })
    .await;
    let addr = match found {
        Ok(Ok(Some(addr))) => addr,
        _ => {
            let _ = child.kill().await;
            let tail = std::fs::read_to_string(log).unwrap_or_default();
            return Err(format!("server did not start; stderr:\n{tail}").into());
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, addr))
}

/// Waits until `addr` answers HTTP at all.
async fn wait_http(addr: SocketAddr, path: &str, limit: Duration) -> Result<(), BoxError> {
    let req = http::get(path, &addr.to_string(), None);
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(mut c) = Conn::open(addr).await
            && c.send(&req, false).await.is_ok()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{addr} did not answer {path}").into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn free_port() -> Result<u16, BoxError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// CPU time (user + system) of the processes, in seconds, from /proc.
fn cpu_seconds(pids: &[u32], ticks_per_second: f64) -> f64 {
    pids.iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .filter_map(|stat| {
            let rest = &stat[stat.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = f.get(11)?.parse().ok()?;
            let stime: f64 = f.get(12)?.parse().ok()?;
            Some((utime + stime) / ticks_per_second)
        })
        .sum()
}

/// CPU time used by the whole machine (every CPU, every process), in
/// seconds, from the first line of /proc/stat.
pub fn machine_busy_seconds(ticks_per_second: f64) -> f64 {
    crate::sys::cpu_times("cpu", ticks_per_second).busy
}

/// One measured run of `plan` on `r`, with the CPU accounting.
async fn measure_once(
    r: &Running,
    plan: &Plan,
    opts: &Options,
    ticks: f64,
) -> Result<(Measurement, Sample), BoxError> {
    let pids = r.pids();
    let db_pids = if r.system.on_postgres() {
        crate::sys::tcp_peers(&pids, postgres_port(&opts.postgres_url))
    } else {
        Vec::new()
    };
    let me = [std::process::id()];
    let calib_server_ns = calibrate_cpu0(opts).await;
    let calib_client_ns = crate::sys::calibrate(5);
    let s0 = cpu_seconds(&pids, ticks);
    let d0 = cpu_seconds(&db_pids, ticks);
    let c0 = cpu_seconds(&me, ticks);
    let v0 = crate::sys::involuntary_switches(&pids);
    let a0 = crate::sys::cpu_times("cpu", ticks);
    let (p0, q0) = (
        crate::sys::cpu_times("cpu0", ticks),
        crate::sys::cpu_times("cpu1", ticks),
    );
    let t0 = Instant::now();
    let sample = load::run_on(&r.addrs, opts.connections, opts.duration, plan).await?;
    // The CPU counters cover opening the connections and collecting the
    // results too: shares of CPU are over this interval, not the load's.
    let interval = t0.elapsed().as_secs_f64().max(1e-9);
    let s1 = cpu_seconds(&pids, ticks);
    let d1 = cpu_seconds(&db_pids, ticks);
    let c1 = cpu_seconds(&me, ticks);
    let v1 = crate::sys::involuntary_switches(&pids);
    let a1 = crate::sys::cpu_times("cpu", ticks);
    let (p1, q1) = (
        crate::sys::cpu_times("cpu0", ticks),
        crate::sys::cpu_times("cpu1", ticks),
    );
    let (app, db) = (s1 - s0, d1 - d0);
    let mut m = measure(&sample, app + db, c1 - c0);
    let wall = interval;
    m.server_cpu_busy = (app + db) / wall;
    m.client_cpu_busy = (c1 - c0) / wall;
    m.other_cpu_busy = ((a1.busy - a0.busy) - app - db - (c1 - c0)).max(0.0) / wall;
    m.server_preempted_per_s = v1.saturating_sub(v0) as f64 / wall;
    m.calib_server_ns = calib_server_ns;
    m.calib_client_ns = calib_client_ns;
    if sample.requests > 0 {
        m.db_cpu_us_per_req = db * 1e6 / sample.requests as f64;
    }
    m.shared_cpus = r.system.on_postgres();
    if opts.pin && !m.shared_cpus {
        m.others_on_server_cpu = ((p1.busy - p0.busy) - app).max(0.0) / wall;
        m.others_on_client_cpu = ((q1.busy - q0.busy) - (c1 - c0)).max(0.0) / wall;
        m.steal_server_cpu = (p1.steal - p0.steal).max(0.0) / wall;
        m.steal_client_cpu = (q1.steal - q0.steal).max(0.0) / wall;
    } else {
        m.steal_server_cpu = (a1.steal - a0.steal).max(0.0) / wall;
    }
    Ok((m, sample))
}

/// The calibration loop on the servers' CPU (CPU 0 when pinning; else
/// wherever the scheduler puts it), in a child process, ns per unit.
async fn calibrate_cpu0(opts: &Options) -> f64 {
    let Ok(exe) = std::env::current_exe() else {
        return 0.0;
    };
    let out = command_on(opts.pin.then_some("0"), &exe)
        .arg("calibrate")
        .stdout(Stdio::piped())
        .output()
        .await;
    out.ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0.0)
}

/// The port of a PostgreSQL URL (5432 unless it names one).
pub fn postgres_port(url: &str) -> u16 {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    host_port
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(5432)
}

/// The ticks of /proc times per second (`getconf CLK_TCK`, else 100).
pub fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Runs every selected workload on every selected system.
pub async fn run_all(opts: &Options, work: &Path) -> Result<Results, BoxError> {
    let started = Instant::now();
    let exe = std::env::current_exe()?;
    let wanted = |s: System| opts.systems.contains(&s);
    let mut needed: Vec<System> = System::ALL
        .into_iter()
        .filter(|s| wanted(*s) && opts.workloads.iter().any(|w| w.systems().contains(s)))
        .collect();
    let needs_users = opts.workloads.contains(&Workload::Users);
    let tessera_db = format!("sqlite://{}/tessera.db", work.display());

    // PostgreSQL: reachable, and each system's schema reset for this run.
    let mut postgres_skipped = None;
    let mut postgres_server = None;
    if needed.iter().any(|s| s.on_postgres()) {
        match reset_postgres(&opts.postgres_url).await {
            Ok(version) => postgres_server = Some(version),
            Err(e) => {
                eprintln!("== PostgreSQL systems skipped: {e}");
                postgres_skipped = Some(e.to_string());
                needed.retain(|s| !s.on_postgres());
            }
        }
    }

    // Start the systems.
    let mut running: Vec<Running> = Vec::new();
    for &system in &needed {
        eprintln!("== starting {}", system.label());
        let mut children = Vec::new();
        let mut core_at = None;
        let mut addrs = Vec::new();
        let addr = match system {
            System::Python => {
                let mut core = command(opts.pin, &opts.tessera_bin);
                core.args(["serve", "--bind", "127.0.0.1:0", "--database"])
                    .arg(format!("sqlite://{}/core.db", work.display()))
                    .env("TESSERA_API_KEYS", CORE_API_KEY)
                    .env("RUST_LOG", "warn");
                let (core, core_addr) = spawn_listening(core, &work.join("core.log")).await?;
                children.push(core);
                core_at = Some(core_addr);
                let core_url = format!("http://{core_addr}");
                let env = [
                    ("TESSERA_URL", core_url.as_str()),
                    ("TESSERA_API_KEY", CORE_API_KEY),
                ];
                let (app, addr) = spawn_uvicorn(opts, "app:app", &env, work, "app").await?;
                children.push(app);
                addr
            }
            System::FastapiBare | System::FastapiBareDepends | System::FastapiTessera => {
                let module = match system {
                    System::FastapiBare => "app_bare:app",
                    System::FastapiBareDepends => "app_bare:app_depends",
                    _ => "app_tessera:app",
                };
                let database = format!("sqlite://{}/fastapi-tessera.db", work.display());
                let env = [("TESSERA_DATABASE_URL", database.as_str())];
                let (app, addr) = spawn_uvicorn(opts, module, &env, work, system.key()).await?;
                children.push(app);
                addr
            }
            System::TesseraPg | System::TesseraPg2 => {
                // One app process on CPU 0 (as every other system); the
                // second on CPU 1, beside the generator. PostgreSQL's own
                // processes are not pinned.
                let n = if system == System::TesseraPg2 { 2 } else { 1 };
                for i in 0..n {
                    let cpu = ["0", "1"][i % 2];
                    let mut cmd = command_on(opts.pin.then_some(cpu), &exe);
                    cmd.args(["serve", "tessera", "--addr", "127.0.0.1:0", "--database"])
                        .arg(&opts.postgres_url)
                        .args(["--schema", postgres_schema(system)]);
                    let (child, addr) =
                        spawn_listening(cmd, &work.join(format!("{}-{i}.log", system.key())))
                            .await?;
                    children.push(child);
                    addrs.push(addr);
                }
                addrs[0]
            }
            _ => {
                let mut cmd = command(opts.pin, &exe);
                cmd.args(["serve", system.key(), "--addr", "127.0.0.1:0"]);
                match system {
                    System::Tessera => {
                        cmd.args(["--database", &tessera_db]);
                    }
                    System::TesseraNoCache => {
                        cmd.args(["--database", &tessera_db, "--verified-cache", "0"]);
                    }
                    System::TesseraEddsa | System::TesseraEs256 => {
                        let db = format!("sqlite://{}/{}.db", work.display(), system.key());
                        cmd.args(["--database", &db]);
                    }
                    System::TsSqlite => {
                        cmd.arg("--database").arg(work.join("tower-sessions.db"));
                    }
                    _ => {}
                }
                let (child, addr) =
                    spawn_listening(cmd, &work.join(format!("{}.log", system.key()))).await?;
                children.push(child);
                addr
            }
        };
        if addrs.is_empty() {
            addrs.push(addr);
        }
        running.push(Running {
            system,
            addr,
            addrs,
            children,
            conn_cookies: Vec::new(),
            user_cookies: Vec::new(),
            core: core_at,
        });
    }

    // Create the sessions: one per connection, and the 10,000 users.
    let mut setup_seconds = Vec::new();
    let tessera_sessions = |r: &[Running]| {
        r.iter()
            .find(|x| x.system == System::Tessera)
            .map(|x| (x.conn_cookies.clone(), x.user_cookies.clone()))
    };
    for r in running.iter_mut() {
        let system = r.system;
        match system {
            System::Bare
            | System::AxumFloor
            | System::TesseraNoCache
            | System::FastapiBare
            | System::FastapiBareDepends => continue,
            _ => {}
        }
        let addr = r.addr;
        let host = r.host();
        eprintln!("== sessions on {}", system.label());
        let made = load::create_sessions(addr, &host, opts.connections, 32, |n| {
            format!("/login/conn-{n}")
        })
        .await?;
        r.conn_cookies = made
            .iter()
            .map(|r| r.cookie_header(&["sRefreshToken"]))
            .collect();
        if needs_users && Workload::Users.systems().contains(&system) {
            let t = Instant::now();
            r.user_cookies = match (system, r.core) {
                (System::Python, Some(core)) => {
                    python_sessions_via_core(core, addr, opts.users).await?
                }
                _ => load::create_sessions(addr, &host, opts.users, 32, |n| {
                    format!("/login/user-{n}")
                })
                .await?
                .iter()
                .map(|r| r.cookie_header(&["sRefreshToken"]))
                .collect(),
            };
            setup_seconds.push((system.key(), t.elapsed().as_secs_f64()));
        }
    }
    // The bare and floor apps are sent tessera's cookies (same request sizes); the
    // cache-off tessera shares tessera's database, so its tokens too.
    let from_tessera = tessera_sessions(&running);
    for r in &mut running {
        if matches!(
            r.system,
            System::Bare
                | System::AxumFloor
                | System::TesseraNoCache
                | System::FastapiBare
                | System::FastapiBareDepends
        ) {
            match &from_tessera {
                Some((conn, users)) => {
                    r.conn_cookies = conn.clone();
                    r.user_cookies = users.clone();
                }
                None => {
                    r.conn_cookies = vec!["sAccessToken=none".to_owned()];
                    if r.system == System::TesseraNoCache {
                        return Err("tessera-no-cache needs the tessera system".into());
                    }
                }
            }
        }
    }

    // Every system answers its verify route with 200 before we measure.
    for r in &running {
        let cookie = r.conn_cookies.first().map(String::as_str);
        let mut c = Conn::open(r.addr).await?;
        let resp = c
            .send(&http::get("/verify", &r.host(), cookie), true)
            .await?;
        if resp.status != 200 {
            return Err(format!(
                "{}: GET /verify answered {}: {}",
                r.system.label(),
                resp.status,
                String::from_utf8_lossy(&resp.body)
            )
            .into());
        }
    }

    let ticks = clock_ticks();
    let mut repeats = 0;
    let mut cells = Vec::new();
    let mut memory = None;
    for &workload in &opts.workloads {
        if workload == Workload::Memory {
            if let Some(t) = running.iter().find(|r| r.system == System::Tessera) {
                eprintln!("== memory: the verified-token cache");
                memory = Some(measure_memory(opts, &exe, &tessera_db, t, work).await?);
            }
            continue;
        }
        let systems: Vec<&Running> = workload
            .systems()
            .iter()
            .filter_map(|s| running.iter().find(|r| r.system == *s))
            .collect();
        if systems.is_empty() {
            continue;
        }
        let plans: Vec<Plan> = systems
            .iter()
            .map(|r| plan_for(workload, r))
            .collect::<Result<_, _>>()?;
        eprintln!("== {}: warm-up", workload.key());
        for (r, plan) in systems.iter().zip(&plans) {
            load::run_on(&r.addrs, opts.connections, opts.warmup, plan).await?;
        }
        let mut rows: Vec<Cell> = systems
            .iter()
            .map(|r| Cell {
                workload: workload.key(),
                system: r.system.key(),
                rounds: Vec::new(),
                first_error: None,
            })
            .collect();
        let n = systems.len();
        let mut workload_repeats = 0;
        for round in 0..opts.rounds {
            // Round r starts with system r (A B C, B C A, C A B, …), so
            // that no system always runs first after a pause or right
            // after the same neighbour. A round in which any run was
            // disturbed is run again whole, so that every round's ratios
            // come from runs made minutes apart at most, under the same
            // conditions.
            let order: Vec<usize> = (0..n).map(|i| (i + round) % n).collect();
            let mut attempt = 0;
            let kept = loop {
                // At most `max_repeats` repeated rounds per workload, so
                // that a busy machine cannot stretch the run without end.
                let mut got: Vec<Option<(Measurement, Sample)>> = vec![None; n];
                for &i in &order {
                    let r = systems[i];
                    let (mut m, sample) = measure_once(r, &plans[i], opts, ticks).await?;
                    m.attempt = attempt;
                    log_run(r.system, round, attempt, &m);
                    got[i] = Some((m, sample));
                }
                let disturbed = got.iter().flatten().any(|(m, _)| m.disturbed(opts.pin));
                if !disturbed || workload_repeats >= opts.max_repeats {
                    break got;
                }
                attempt += 1;
                repeats += 1;
                workload_repeats += 1;
                eprintln!(
                    "   round {} disturbed: waiting for a quiet machine, then again",
                    round + 1
                );
                wait_quiet(Duration::from_secs(60), 0.15).await;
            };
            for (cell, got) in rows.iter_mut().zip(kept) {
                let Some((m, sample)) = got else { continue };
                if cell.first_error.is_none() {
                    cell.first_error = sample.first_error.clone();
                }
                cell.rounds.push(m);
            }
        }
        cells.extend(rows);
    }

    for r in &mut running {
        for c in &mut r.children {
            let _ = c.kill().await;
        }
    }
    Ok(Results {
        repeats,
        cells,
        total_seconds: started.elapsed().as_secs_f64(),
        setup_seconds,
        memory,
        postgres_skipped,
        postgres_server,
    })
}

fn log_run(system: System, round: usize, attempt: usize, m: &Measurement) {
    eprintln!(
        "   {} round {}{}: {:>9.0} req/s  p50 {:.2} ms  p99 {:.2} ms  server {:.0}% {:.1} µs/req{}  client {:.0}%  others: {:.0}% on the server's CPU, {:.0}% on the generator's, {:.0}% machine-wide; steal {:.1}%/{:.1}%; preempted {:.0}/s; calibration {:.2}/{:.2} ns{}",
        system.key(),
        round + 1,
        if attempt > 0 {
            format!(" (repeat {attempt})")
        } else {
            String::new()
        },
        m.rps,
        m.p50_ms,
        m.p99_ms,
        m.server_cpu_busy * 100.0,
        m.server_cpu_us_per_req,
        if m.db_cpu_us_per_req > 0.0 {
            format!(" (PostgreSQL {:.1})", m.db_cpu_us_per_req)
        } else {
            String::new()
        },
        m.client_cpu_busy * 100.0,
        m.others_on_server_cpu * 100.0,
        m.others_on_client_cpu * 100.0,
        m.other_cpu_busy * 100.0,
        m.steal_server_cpu * 100.0,
        m.steal_client_cpu * 100.0,
        m.server_preempted_per_s,
        m.calib_server_ns,
        m.calib_client_ns,
        if m.errors > 0 {
            format!("  errors {}", m.errors)
        } else {
            String::new()
        }
    );
}

/// The schema of a PostgreSQL system (its own, reset every run).
fn postgres_schema(system: System) -> &'static str {
    match system {
        System::TesseraPg2 => "tessera_bench_load_pg2",
        _ => "tessera_bench_load_pg1",
    }
}

/// Connects to PostgreSQL, drops the PostgreSQL systems' schemas (the
/// servers re-create them) and returns the server's address and version.
async fn reset_postgres(url: &str) -> Result<String, BoxError> {
    use sqlx::Connection as _;
    let connect = sqlx::PgConnection::connect(url);
    let mut conn = tokio::time::timeout(Duration::from_secs(10), connect)
        .await
        .map_err(|_| format!("PostgreSQL at {} did not answer in 10 s", redact(url)))?
        .map_err(|e| format!("PostgreSQL at {}: {e}", redact(url)))?;
    for system in [System::TesseraPg, System::TesseraPg2] {
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", postgres_schema(system));
        sqlx::query(&sql).execute(&mut conn).await?;
    }
    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&mut conn)
        .await?;
    let _ = conn.close().await;
    Ok(format!("PostgreSQL {version} at {}", redact(url)))
}

/// A database URL without its password.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Starts a tessera-axum server with verified-token cache `capacity` on
/// the SQLite database `db` and returns its RSS after start, after
/// verifying one token `tokens.len()` times, and after verifying every
/// token once.
async fn rss_steps(
    opts: &Options,
    exe: &Path,
    db: &str,
    capacity: usize,
    tokens: &[String],
    log: &Path,
) -> Result<(u64, u64, u64), BoxError> {
    let mut cmd = command(opts.pin, exe);
    cmd.args([
        "serve",
        "tessera",
        "--addr",
        "127.0.0.1:0",
        "--database",
        db,
    ])
    .args(["--verified-cache", &capacity.to_string()]);
    let (mut child, addr) = spawn_listening(cmd, log).await?;
    let pid = child.id().ok_or("memory server exited")?;
    let host = addr.to_string();
    let rss = || crate::sys::rss_bytes(pid).ok_or("no RSS for the memory server");
    // Let the runtime and the first connections settle before the first
    // reading.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let start = rss()?;
    let first = tokens.first().ok_or("no tokens")?;
    let same: Vec<Vec<u8>> = tokens
        .iter()
        .map(|_| http::get("/verify", &host, Some(first)))
        .collect();
    load::send_all(addr, same, 32).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let empty = rss()?;
    let distinct: Vec<Vec<u8>> = tokens
        .iter()
        .map(|t| http::get("/verify", &host, Some(t)))
        .collect();
    load::send_all(addr, distinct, 32).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let full = rss()?;
    let _ = child.kill().await;
    Ok((start, empty, full))
}

/// The memory workload: a fresh tessera-axum server (same database as the
/// `tessera` system, whose keys signed the tokens) with the cache of
/// `opts.users` entries, filled by verifying that many distinct tokens,
/// beside a control server with the cache off that verifies the same
/// tokens. Sessions are made on the `tessera` system's server, not on the
/// measured one (creating a session puts its token in the creator's
/// cache).
async fn measure_memory(
    opts: &Options,
    exe: &Path,
    db: &str,
    tessera: &Running,
    work: &Path,
) -> Result<MemoryReport, BoxError> {
    let tokens: Vec<String> = if tessera.user_cookies.len() >= opts.users {
        tessera.user_cookies[..opts.users].to_vec()
    } else {
        let host = tessera.host();
        load::create_sessions(tessera.addr, &host, opts.users, 32, |n| {
            format!("/login/memory-{n}")
        })
        .await?
        .iter()
        .map(|r| r.cookie_header(&["sRefreshToken"]))
        .collect()
    };
    let token_bytes = tokens
        .first()
        .map(|c| c.trim_start_matches("sAccessToken=").len())
        .unwrap_or(0);
    let (rss_start, rss_empty, rss_full) =
        rss_steps(opts, exe, db, opts.users, &tokens, &work.join("memory.log")).await?;
    let (_, control_rss_empty, control_rss_full) =
        rss_steps(opts, exe, db, 0, &tokens, &work.join("memory-control.log")).await?;
    let report = MemoryReport {
        entries: opts.users,
        token_bytes,
        rss_start,
        rss_empty,
        rss_full,
        control_rss_empty,
        control_rss_full,
    };
    eprintln!(
        "   RSS {:.1} MiB at start, {:.1} MiB with 1 entry, {:.1} MiB with {} entries; cache off: {:.1} → {:.1} MiB; {:.0} bytes per entry",
        rss_start as f64 / 1048576.0,
        rss_empty as f64 / 1048576.0,
        rss_full as f64 / 1048576.0,
        opts.users,
        control_rss_empty as f64 / 1048576.0,
        control_rss_full as f64 / 1048576.0,
        report.bytes_per_entry()
    );
    Ok(report)
}

/// Creates `n` sessions for the Python system straight through its core,
/// with the request supertokens-python's `create_new_session` sends
/// (same payload, `iss` included), and returns `sAccessToken` cookie
/// headers. Going through the app would take minutes: supertokens-python
/// 0.31 opens a new `httpx.AsyncClient` (and TLS context) for every core
/// call. The tokens are the same either way: the core signs them and
/// `verify_session()` checks them against the core's JWKS.
async fn python_sessions_via_core(
    core: SocketAddr,
    app: SocketAddr,
    n: usize,
) -> Result<Vec<String>, BoxError> {
    let host = core.to_string();
    let headers = [
        ("api-key", CORE_API_KEY),
        ("cdi-version", "5.4"),
        ("rid", "session"),
    ];
    let reqs = (0..n)
        .map(|i| {
            let body = serde_json::json!({
                "userId": format!("user-{i}"),
                "userDataInJWT": { "iss": format!("http://{app}/auth") },
                "userDataInDatabase": { "visits": 0 },
                "useDynamicSigningKey": true,
                "enableAntiCsrf": false,
            });
            http::post_json("/public/recipe/session", &host, &headers, &body.to_string())
        })
        .collect();
    load::send_all(core, reqs, 32)
        .await?
        .into_iter()
        .map(|r| {
            let v: serde_json::Value = serde_json::from_slice(&r.body)?;
            let token = v["accessToken"]["token"]
                .as_str()
                .ok_or_else(|| format!("core answered without an access token: {v}"))?;
            Ok(format!("sAccessToken={token}"))
        })
        .collect()
}

fn measure(sample: &Sample, server_cpu: f64, client_cpu: f64) -> Measurement {
    let wall = sample.elapsed.as_secs_f64().max(1e-9);
    Measurement {
        rps: sample.rps(),
        p50_ms: sample.quantile_ms(0.5),
        p99_ms: sample.quantile_ms(0.99),
        requests: sample.requests,
        errors: sample.errors,
        server_cpu_us_per_req: if sample.requests > 0 {
            server_cpu * 1e6 / sample.requests as f64
        } else {
            0.0
        },
        server_cpu_busy: server_cpu / wall,
        client_cpu_busy: client_cpu / wall,
        ..Measurement::default()
    }
}

fn plan_for(workload: Workload, r: &Running) -> Result<Plan, BoxError> {
    let host = r.host();
    let reqs = |cookies: &[String], make: fn(&str, &str, Option<&str>) -> Vec<u8>, path: &str| {
        Arc::new(
            cookies
                .iter()
                .map(|c| make(path, &host, Some(c)))
                .collect::<Vec<_>>(),
        )
    };
    Ok(match workload {
        Workload::Verify => Plan::PerConnection(reqs(&r.conn_cookies, http::get, "/verify")),
        Workload::Data => Plan::PerConnection(reqs(&r.conn_cookies, http::post, "/data")),
        Workload::Users => {
            if r.user_cookies.is_empty() {
                return Err(format!("{}: no users' sessions", r.system.key()).into());
            }
            Plan::Random(reqs(&r.user_cookies, http::get, "/verify"))
        }
        Workload::Memory => return Err("the memory workload has no load plan".into()),
        Workload::CreateRefresh => Plan::CreateRefresh {
            host: host.clone(),
            login_prefix: "/login/".to_owned(),
            refresh_path: "/auth/session/refresh".to_owned(),
            run_tag: format!(
                "{}",
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis())
                    .unwrap_or(0)
            ),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_ports_and_redaction() {
        assert_eq!(
            postgres_port("postgres://postgres@127.0.0.1:5432/test"),
            5432
        );
        assert_eq!(
            postgres_port("postgres://u:p@db:6543/x?sslmode=disable"),
            6543
        );
        assert_eq!(postgres_port("postgresql://localhost/x"), 5432);
        assert_eq!(
            redact("postgres://u:secret@h:1/d"),
            "postgres://u:***@h:1/d"
        );
        assert_eq!(redact("postgres://u@h/d"), "postgres://u@h/d");
    }

    #[test]
    fn a_run_on_postgres_is_judged_machine_wide() {
        let m = Measurement {
            shared_cpus: true,
            others_on_server_cpu: 0.9,
            other_cpu_busy: 0.1,
            ..Default::default()
        };
        assert!(!m.disturbed(true));
        let m = Measurement {
            other_cpu_busy: 0.2,
            ..m
        };
        assert!(m.disturbed(true));
        let pinned = Measurement {
            others_on_server_cpu: 0.2,
            ..Default::default()
        };
        assert!(pinned.disturbed(true));
    }
}
