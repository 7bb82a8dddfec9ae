//! A `tessera serve` on 127.0.0.1:0 in this process, driven over real HTTP
//! with reqwest, as the SuperTokens SDKs drive the core.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera::ManualClock;
use tessera_server::serve::{AppState, HostPolicy, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// An API key that passes the core's rules (20+ characters).
pub const API_KEY: &str = "test-api-key-0123456789";

/// How to start a server.
#[derive(Debug, Clone)]
pub struct Options {
    /// Store URL (`None`: a fresh SQLite file, removed when the server is
    /// dropped).
    pub database_url: Option<String>,
    /// API keys to require.
    pub api_keys: Vec<String>,
    /// Refresh grace window.
    pub refresh_grace_period: Duration,
    /// Access-token lifetime.
    pub access_token_validity: Duration,
    /// The `Host` rule when there are no API keys.
    pub host_policy: HostPolicy,
    /// `tessera serve --test-mode`.
    pub test_mode: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            database_url: None,
            api_keys: Vec::new(),
            refresh_grace_period: Duration::from_secs(30),
            access_token_validity: Duration::from_secs(3600),
            host_policy: HostPolicy::Loopback,
            test_mode: false,
        }
    }
}

/// A running server and a client for it.
#[derive(Debug)]
pub struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The engine's clock: tests move time instead of sleeping.
    pub clock: ManualClock,
    /// The server's state (for its metrics).
    pub state: AppState,
    /// A client that sends the headers the SDKs send.
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    temp_dir: Option<PathBuf>,
}

/// A reply: status, headers and body text.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body text.
    pub text: String,
}

impl Reply {
    /// The body as JSON (panics if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }

    /// Asserts `200` and returns the JSON body.
    pub fn ok_json(&self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "body: {}", self.text);
        self.json()
    }
}

/// A fresh SQLite database file name in the temp directory.
pub fn temp_sqlite_url(name: &str) -> (String, PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "tessera-server-test-{}-{}-{}",
        name,
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tessera.db");
    (format!("sqlite://{}", file.display()), dir)
}

impl TestServer {
    /// A server with default options on a fresh SQLite database.
    pub async fn start() -> Self {
        Self::with(Options::default()).await
    }

    /// A server with these options.
    pub async fn with(options: Options) -> Self {
        let (database_url, temp_dir) = match options.database_url {
            Some(url) => (url, None),
            None => {
                let (url, dir) = temp_sqlite_url("server");
                (url, Some(dir))
            }
        };
        let clock = ManualClock::starting_now();
        let manager = tessera::SessionManager::builder()
            .database_url(&database_url)
            .refresh_grace_period(options.refresh_grace_period)
            .access_token_validity(options.access_token_validity)
            .clock(clock.clone())
            .background_tasks(false)
            // As `tessera serve` builds it (`Settings::session_manager`).
            .session_token_type_claim(false)
            .core_token_versions(true)
            .test_mode(options.test_mode)
            .build()
            .await
            .expect("session manager");
        let state = AppState::with_host_policy(manager, options.api_keys, options.host_policy);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, state.clone(), async move {
            let _ = rx.await;
        }));
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        Self {
            base,
            clock,
            state,
            client,
            shutdown: Some(tx),
            task: Some(task),
            temp_dir,
        }
    }

    /// Full URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends a request with the SDK's headers (`cdi-version: 5.4`, `rid:
    /// session`, the API key if the server has one) and reads the reply.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        Reply {
            status,
            headers,
            text,
        }
    }

    fn sdk(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        builder
            .header("cdi-version", "5.4")
            .header("rid", "session")
            .header("api-key", API_KEY)
    }

    /// POST with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(self.sdk(self.client.post(self.url(path))).json(body))
            .await
    }

    /// POST with a JSON body, speaking CDI `cdi_version` instead of 5.4.
    pub async fn post_as(&self, cdi_version: &str, path: &str, body: &Value) -> Reply {
        let builder = self
            .client
            .post(self.url(path))
            .header("cdi-version", cdi_version)
            .header("rid", "session")
            .header("api-key", API_KEY);
        self.send(builder.json(body)).await
    }

    /// Refreshes as the SDK does, speaking CDI `cdi_version`.
    pub async fn refresh_as(&self, cdi_version: &str, refresh_token: &str) -> Value {
        let body = json!({
            "refreshToken": refresh_token,
            "enableAntiCsrf": false,
            "useDynamicSigningKey": true,
        });
        self.post_as(cdi_version, "/recipe/session/refresh", &body)
            .await
            .ok_json()
    }

    /// Verifies as the SDK does, speaking CDI `cdi_version`.
    pub async fn verify_as(
        &self,
        cdi_version: &str,
        access_token: &str,
        check_database: bool,
    ) -> Value {
        let body = json!({
            "accessToken": access_token,
            "doAntiCsrfCheck": false,
            "enableAntiCsrf": false,
            "checkDatabase": check_database,
        });
        self.post_as(cdi_version, "/recipe/session/verify", &body)
            .await
            .ok_json()
    }

    /// POST with a raw body.
    pub async fn post_raw(&self, path: &str, body: &str) -> Reply {
        self.send(
            self.sdk(self.client.post(self.url(path)))
                .header("content-type", "application/json; charset=utf-8")
                .body(body.to_owned()),
        )
        .await
    }

    /// PUT with a JSON body.
    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        self.send(self.sdk(self.client.put(self.url(path))).json(body))
            .await
    }

    /// PUT with a raw body.
    pub async fn put_raw(&self, path: &str, body: &str) -> Reply {
        self.send(
            self.sdk(self.client.put(self.url(path)))
                .header("content-type", "application/json; charset=utf-8")
                .body(body.to_owned()),
        )
        .await
    }

    /// GET with query parameters.
    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> Reply {
        self.send(self.sdk(self.client.get(self.url(path))).query(query))
            .await
    }

    /// GET with no header at all, as the SDKs fetch JWKS.
    pub async fn get_bare(&self, path: &str) -> Reply {
        self.send(self.client.get(self.url(path))).await
    }

    /// Creates a session as the SDK does; returns the `OK` body.
    pub async fn create(&self, tenant: &str, user: &str) -> Value {
        self.create_with(
            tenant,
            user,
            json!({"iss": "http://api.test/auth"}),
            json!({}),
            false,
        )
        .await
    }

    /// Creates a session with this payload, data and anti-CSRF choice.
    pub async fn create_with(
        &self,
        tenant: &str,
        user: &str,
        payload: Value,
        data: Value,
        anti_csrf: bool,
    ) -> Value {
        let body = json!({
            "userId": user,
            "userDataInJWT": payload,
            "userDataInDatabase": data,
            "useDynamicSigningKey": true,
            "enableAntiCsrf": anti_csrf,
        });
        let reply = self.post(&format!("/{tenant}/recipe/session"), &body).await;
        let json = reply.ok_json();
        assert_eq!(json["status"], "OK", "{json}");
        json
    }

    /// Refreshes as the SDK does.
    pub async fn refresh(&self, refresh_token: &str) -> Value {
        let body = json!({
            "refreshToken": refresh_token,
            "enableAntiCsrf": false,
            "useDynamicSigningKey": true,
        });
        self.post("/recipe/session/refresh", &body).await.ok_json()
    }

    /// Verifies as the SDK does.
    pub async fn verify(&self, access_token: &str, check_database: bool) -> Value {
        let body = json!({
            "accessToken": access_token,
            "doAntiCsrfCheck": false,
            "enableAntiCsrf": false,
            "checkDatabase": check_database,
        });
        self.post("/recipe/session/verify", &body).await.ok_json()
    }

    /// The metrics text.
    pub async fn metrics(&self) -> String {
        let reply = self.get("/metrics", &[]).await;
        assert_eq!(reply.status, StatusCode::OK);
        reply.text
    }

    /// Signals shutdown and waits for the server to stop.
    pub async fn stop(mut self) -> std::io::Result<()> {
        // (The temp database goes when `self` is dropped at the end.)
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(task) => task.await.expect("server task"),
            None => Ok(()),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        if let Some(dir) = self.temp_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The value of a counter line in the metrics text (0 when absent).
pub fn counter(metrics: &str, line_prefix: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(line_prefix))
        .and_then(|rest| rest.trim().parse().ok())
        .unwrap_or(0)
}

/// `host:port` of a server's base URL.
pub fn addr_of(base: &str) -> String {
    base.trim_start_matches("http://")
        .replace("0.0.0.0:", "127.0.0.1:")
}

/// One raw HTTP exchange (the request should say `Connection: close`):
/// the status (0 if the server closed without answering) and the body,
/// reading at most `cap` bytes of the answer (`true` when cut there).
pub async fn raw_http_capped(addr: &str, request: &[u8], cap: usize) -> (u16, String, bool) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(request).await;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut cut = false;
    loop {
        match tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {
                out.extend_from_slice(&buf[..n]);
                if out.len() > cap {
                    cut = true;
                    break;
                }
            }
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body, cut)
}

/// [`raw_http_capped`] with a 16 MiB cap.
pub async fn raw_http(addr: &str, request: &[u8]) -> (u16, String) {
    let (status, body, _) = raw_http_capped(addr, request, 16 << 20).await;
    (status, body)
}

/// A small deterministic generator for test inputs (xorshift64*), seeded
/// from the clock; the seed is printed so a failure can be replayed.
#[derive(Debug)]
pub struct TestRng(u64);

impl TestRng {
    /// Seeded from the clock (printed).
    pub fn from_clock() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            | 1;
        println!("TestRng seed {seed}");
        Self(seed)
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// `len` characters drawn from `alphabet`.
    pub fn string(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| alphabet[self.below(alphabet.len())] as char)
            .collect()
    }
}

/// Characters allowed in an HTTP method (RFC 9110 `tchar`).
pub const TCHARS: &[u8] =
    b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The built `tessera` binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_tessera");

/// A `tessera` command with none of its settings in the environment.
pub fn tessera_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for var in [
        "TESSERA_CONFIG",
        "TESSERA_BIND",
        "TESSERA_DATABASE_URL",
        "TESSERA_API_KEYS",
        "TESSERA_REFRESH_GRACE_PERIOD",
        "TESSERA_ACCESS_TOKEN_VALIDITY",
        "TESSERA_INSECURE_NO_API_KEY",
        "TESSERA_LOG_FORMAT",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("RUST_LOG", "warn");
    cmd
}

/// A `tessera serve` child process, its address and its standard error.
#[derive(Debug)]
pub struct ServeProcess {
    child: Child,
    /// `http://<bound address>` as printed by the server.
    pub base: String,
    /// `host:port` to connect to (`0.0.0.0` replaced by `127.0.0.1`).
    pub addr: String,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl ServeProcess {
    /// Spawns the command and waits for its readiness line.
    pub fn start(cmd: &mut Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tessera serve");
        let mut err = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(base) = line.trim().strip_prefix("tessera listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "tessera did not start: {line:?}; stderr: {}",
                stderr.join().unwrap_or_default()
            );
        };
        let base = base.to_owned();
        Self {
            child,
            addr: addr_of(&base),
            base,
            stderr: Some(stderr),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The resident set size of the process, in bytes (`VmRSS`).
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status");
        kib * 1024
    }

    /// SIGTERM, then the exit status and everything written to stderr.
    pub fn stop(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        let status = self.child.wait().unwrap();
        let stderr = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        (status, stderr)
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
