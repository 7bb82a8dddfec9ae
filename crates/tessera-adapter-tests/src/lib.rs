//! The end-to-end harness of the adapters' behaviour table: the same app
//! (the seed handlers and a few probes) on tessera-axum ([`axum_app`]) or
//! tessera-actix ([`actix_app`]), served on 127.0.0.1:0 over a SQLite store
//! in a temp file (wrapped in a store that counts session-table calls),
//! driven by reqwest with a cookie jar. Time is a `ManualClock`: tests move
//! it, never sleep. [`both!`] runs one case against each adapter.
#![allow(
    missing_docs,
    missing_debug_implementations,
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

mod actix_app;
mod axum_app;

pub use actix_app::{app as actix_app, unlayered as unlayered_actix_app};
pub use axum_app::app as axum_app;

use base64::Engine as _;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::HeaderMap;
use serde_json::Value;
use tessera::store::{CallLog, CountingStore, SqliteStore};
use tessera::{AntiCsrfMode, ManualClock, SessionManager};
use tessera_http::Fdi;

/// Which adapter serves a test app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adapter {
    /// tessera-axum.
    Axum,
    /// tessera-actix.
    Actix,
}

/// Runs one behaviour case against both adapters: `both!(case);` beside
/// `async fn case(adapter: Adapter)` makes `case::axum` and `case::actix`.
#[macro_export]
macro_rules! both {
    ($case:ident) => {
        mod $case {
            #[tokio::test]
            async fn axum() {
                super::$case($crate::Adapter::Axum).await
            }
            #[tokio::test]
            async fn actix() {
                super::$case($crate::Adapter::Actix).await
            }
        }
    };
}

// ---------------------------------------------------------------- the app

/// Engine and FDI settings of one test app.
pub struct Setup {
    pub anti_csrf: AntiCsrfMode,
    pub blacklisting: bool,
    pub access_token_validity: Duration,
    pub refresh_grace_period: Duration,
    /// Algorithm of the signing keys (default RS256).
    pub signing_algorithm: tessera::SigningAlgorithm,
    pub layer: Box<dyn FnOnce(Fdi) -> Fdi + Send>,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            anti_csrf: AntiCsrfMode::None,
            blacklisting: false,
            access_token_validity: Duration::from_secs(3600),
            refresh_grace_period: Duration::from_secs(30),
            signing_algorithm: tessera::SigningAlgorithm::Rs256,
            layer: Box::new(|l| l),
        }
    }
}

/// A running app and a client with a cookie jar.
pub struct TestApp {
    pub addr: SocketAddr,
    /// A client with a cookie jar (like a browser).
    pub client: reqwest::Client,
    /// The jar.
    pub jar: Arc<Jar>,
    pub manager: SessionManager,
    pub clock: ManualClock,
    pub adapter: Adapter,
    calls: CallLog,
    server: Server,
    _dir: tempfile::TempDir,
}

/// A running server of either adapter.
enum Server {
    Axum(tokio::task::JoinHandle<()>),
    Actix(actix_web::dev::ServerHandle),
}

impl Drop for TestApp {
    fn drop(&mut self) {
        match &self.server {
            Server::Axum(task) => task.abort(),
            Server::Actix(handle) => {
                // Stopping returns a future; the server's own thread runs it.
                drop(handle.stop(false));
            }
        }
    }
}

/// Starts an app with default settings.
pub async fn start(adapter: Adapter) -> TestApp {
    start_with(adapter, Setup::default()).await
}

/// Starts an app.
pub async fn start_with(adapter: Adapter, setup: Setup) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("sessions.db"))
        .await
        .unwrap();
    let store = CountingStore::new(sqlite);
    let calls = store.log();
    let clock = ManualClock::starting_now();
    let manager = SessionManager::builder()
        .store(store)
        .clock(clock.clone())
        .background_tasks(false)
        .access_token_validity(setup.access_token_validity)
        .access_token_validity_jitter(0.0)
        .refresh_grace_period(setup.refresh_grace_period)
        .anti_csrf(setup.anti_csrf)
        .blacklisting(setup.blacklisting)
        .signing_algorithm(setup.signing_algorithm)
        .build()
        .await
        .unwrap();
    let fdi = (setup.layer)(Fdi::new(manager.clone()));
    let (addr, server) = match adapter {
        Adapter::Axum => {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let router = axum_app(tessera_axum::SessionLayer::from_fdi(fdi));
            let task = tokio::spawn(async move {
                axum::serve(listener, router).await.unwrap();
            });
            (addr, Server::Axum(task))
        }
        Adapter::Actix => {
            let (addr, handle) = actix_app::serve(tessera_actix::SessionMiddleware::from_fdi(fdi));
            (addr, Server::Actix(handle))
        }
    };
    let jar = Arc::new(Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .build()
        .unwrap();
    TestApp {
        addr,
        client,
        jar,
        manager,
        clock,
        adapter,
        calls,
        server,
        _dir: dir,
    }
}

/// Tokens handed out in header mode.
#[derive(Debug, Clone)]
pub struct HeaderTokens {
    pub access: String,
    pub refresh: String,
    pub front: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A client without a cookie jar (for header mode and hand-made cookies).
    pub fn bare_client(&self) -> reqwest::Client {
        reqwest::Client::new()
    }

    /// Session-table calls so far.
    pub fn session_calls(&self) -> usize {
        self.calls.session_calls()
    }

    /// Every session-data value written so far.
    pub fn data_writes(&self) -> Vec<Value> {
        self.calls.snapshot().data_writes
    }

    /// Every payload value written so far.
    pub fn payload_writes(&self) -> Vec<Value> {
        self.calls.snapshot().payload_writes
    }

    /// The `Cookie` header the jar would send to `path`.
    pub fn jar_cookies(&self, path: &str) -> String {
        let url = self.url(path).parse().unwrap();
        self.jar
            .cookies(&url)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    /// Logs in with the jar client in cookie mode (as supertokens-website
    /// does); returns the response.
    pub async fn login_cookie(&self, user: &str) -> reqwest::Response {
        let res = self
            .client
            .post(self.url(&format!("/login/{user}")))
            .header("st-auth-mode", "cookie")
            .header("rid", "anti-csrf")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res
    }

    /// Logs in in header mode (no `st-auth-mode`); returns the tokens.
    pub async fn login_header(&self, user: &str) -> HeaderTokens {
        let res = self
            .bare_client()
            .post(self.url(&format!("/login/{user}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        header_tokens(res.headers())
    }

    /// Refreshes in header mode with `refresh`.
    pub async fn refresh_header(&self, refresh: &str) -> reqwest::Response {
        self.bare_client()
            .post(self.url("/auth/session/refresh"))
            .header("authorization", format!("Bearer {refresh}"))
            .header("rid", "session")
            .send()
            .await
            .unwrap()
    }
}

/// The header-mode tokens of a response.
pub fn header_tokens(h: &HeaderMap) -> HeaderTokens {
    let get = |n: &str| {
        h.get(n)
            .unwrap_or_else(|| panic!("missing {n} header"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    HeaderTokens {
        access: get("st-access-token"),
        refresh: get("st-refresh-token"),
        front: get("front-token"),
    }
}

/// Every `Set-Cookie` of a response.
pub fn set_cookies(h: &HeaderMap) -> Vec<String> {
    h.get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The `Set-Cookie` for `name`, if any.
pub fn set_cookie(h: &HeaderMap, name: &str) -> Option<String> {
    set_cookies(h)
        .into_iter()
        .find(|c| c.starts_with(&format!("{name}=")))
}

/// The value a `Set-Cookie` line sets.
pub fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .and_then(|p| p.split_once('='))
        .map(|(_, v)| v.to_owned())
        .unwrap()
}

/// Whether a `Set-Cookie` line expires the cookie (1970).
pub fn is_clearing(set_cookie: &str) -> bool {
    set_cookie.contains("Expires=Thu, 01 Jan 1970 00:00:00 GMT")
}

/// A front token decoded: standard base64 of `{"ate","uid","up"}`.
pub fn decode_front_token(front: &str) -> Value {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(front)
        .expect("front-token is standard base64 with padding");
    serde_json::from_slice(&raw).unwrap()
}

/// The JSON body of a response.
pub async fn body(res: reqwest::Response) -> Value {
    res.json().await.unwrap()
}
