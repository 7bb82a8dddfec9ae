//! The Rust systems under test, each a small axum app with the same
//! trivial JSON handlers:
//!
//! | route | bare | tessera-axum | tower-sessions |
//! |---|---|---|---|
//! | `POST /login/{user}` | — | creates a session (cookies) | inserts `user` and `visits` (cookie) |
//! | `GET /verify` | `{"user":"anonymous"}` | `Session` → `{"user":…}` | reads `user` → `{"user":…}` |
//! | `POST /data` | — | `get_session_data` + `update_session_data` (`visits + 1`) | reads `visits`, inserts `visits + 1` |
//! | `POST /auth/session/refresh` | — | tessera-axum's refresh route | — (no refresh) |
//!
//! The supertokens-python system (`python/app.py`) has the same routes. The
//! `axum-floor` system ([`floor_app`]) has only `GET /verify`, as bare axum's.

use std::net::SocketAddr;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tessera::{AntiCsrfMode, SigningAlgorithm};
use tessera_axum::{Session, SessionLayer, Sessions, TokenTransferPolicy};
use tower_sessions::{MemoryStore, SessionManagerLayer, SessionStore};
use tower_sessions_sqlx_store::SqliteStore;
use tower_sessions_sqlx_store::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};

/// The bare axum app: no authentication, the ceiling.
pub fn bare_app() -> Router {
    async fn verify() -> Json<Value> {
        Json(json!({ "user": "anonymous" }))
    }
    Router::new().route("/verify", get(verify))
}

/// The floor for a session layer on axum: bare axum plus the least any
/// cookie-session middleware does per request, and no crypto. A
/// pass-through tower layer ([`floor::MinimalSessionLayer`]) inserts one
/// extension (a clone of an `Arc`), and an extractor
/// ([`floor::MinimalSession`]) reads the `Cookie` header (bytes, `memchr`)
/// for `sAccessToken` and that extension; no token is checked. What
/// tessera-axum costs over this is tessera's own; what this costs over
/// bare axum is axum's price of one more layer and extractor.
pub fn floor_app() -> Router {
    async fn verify(_session: floor::MinimalSession) -> Json<Value> {
        Json(json!({ "user": "anonymous" }))
    }
    Router::new()
        .route("/verify", get(verify))
        .layer(floor::MinimalSessionLayer::default())
}

/// The `floor` system's layer and extractor (see [`floor_app`]).
pub mod floor {
    use std::sync::Arc;
    use std::task::{Context, Poll};

    use axum::extract::FromRequestParts;
    use axum::http::{Request, StatusCode, header::COOKIE, request::Parts};
    use tower::{Layer, Service};

    /// What the layer hands to the extractor (shared, as a session layer's
    /// store and settings would be): the session cookie's name.
    #[derive(Debug, Clone)]
    pub struct Shared(Arc<str>);

    /// A pass-through layer that inserts one [`Shared`] per request.
    #[derive(Debug, Clone)]
    pub struct MinimalSessionLayer(Shared);

    impl Default for MinimalSessionLayer {
        fn default() -> Self {
            Self(Shared(Arc::from("sAccessToken")))
        }
    }

    impl<S> Layer<S> for MinimalSessionLayer {
        type Service = MinimalSessionService<S>;

        fn layer(&self, inner: S) -> Self::Service {
            MinimalSessionService {
                inner,
                shared: self.0.clone(),
            }
        }
    }

    /// The service of [`MinimalSessionLayer`]: the inner service's future,
    /// unchanged.
    #[derive(Debug, Clone)]
    pub struct MinimalSessionService<S> {
        inner: S,
        shared: Shared,
    }

    impl<S, B> Service<Request<B>> for MinimalSessionService<S>
    where
        S: Service<Request<B>>,
    {
        type Response = S::Response;
        type Error = S::Error;
        type Future = S::Future;

        fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            self.inner.poll_ready(cx)
        }

        fn call(&mut self, mut req: Request<B>) -> Self::Future {
            req.extensions_mut().insert(self.shared.clone());
            self.inner.call(req)
        }
    }

    /// The extractor: the layer's extension and the length of the
    /// `sAccessToken` cookie; `401` without either.
    #[derive(Debug)]
    pub struct MinimalSession {
        /// The layer's extension.
        pub shared: Shared,
        /// Bytes of the `sAccessToken` cookie's value.
        pub token_len: usize,
    }

    /// The value of the cookie `name` in one `Cookie` header, as bytes.
    fn cookie<'a>(header: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
        let mut rest = header;
        loop {
            let end = memchr::memchr(b';', rest).unwrap_or(rest.len());
            let pair = rest[..end].trim_ascii();
            if let Some(eq) = memchr::memchr(b'=', pair)
                && pair[..eq].trim_ascii() == name
            {
                return Some(pair[eq + 1..].trim_ascii());
            }
            rest = rest.get(end + 1..)?;
        }
    }

    impl<S: Send + Sync> FromRequestParts<S> for MinimalSession {
        type Rejection = StatusCode;

        async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
            let shared = parts
                .extensions
                .get::<Shared>()
                .cloned()
                .ok_or(StatusCode::INTERNAL_SERVER_ERROR)?;
            let token = parts
                .headers
                .get(COOKIE)
                .and_then(|v| cookie(v.as_bytes(), shared.0.as_bytes()))
                .filter(|t| !t.is_empty())
                .ok_or(StatusCode::UNAUTHORIZED)?;
            Ok(Self {
                shared,
                token_len: token.len(),
            })
        }
    }
}

/// The tessera-axum app: cookie mode, anti-CSRF off (as for
/// supertokens-python's `anti_csrf="NONE"`; `SameSite=Lax` cookies), the
/// manager's default settings otherwise (RS256 signing keys). `schema`:
/// keep a PostgreSQL store's tables in this schema (ignored for other URLs).
pub async fn tessera_app(
    database_url: &str,
    schema: Option<&str>,
    verified_cache: usize,
) -> tessera::Result<Router> {
    tessera_app_signing(
        database_url,
        schema,
        verified_cache,
        SigningAlgorithm::Rs256,
    )
    .await
}

/// [`tessera_app`] with access tokens signed by `algorithm` (the
/// `tessera-eddsa` and `tessera-es256` systems: an app whose only token
/// readers are tessera and the browser SDK).
pub async fn tessera_app_signing(
    database_url: &str,
    schema: Option<&str>,
    verified_cache: usize,
    algorithm: SigningAlgorithm,
) -> tessera::Result<Router> {
    async fn login(
        sessions: Sessions,
        Path(user): Path<String>,
    ) -> Result<Json<Value>, tessera_axum::Error> {
        sessions
            .create_new_session(&user, json!({}), json!({ "visits": 0 }))
            .await?;
        Ok(Json(json!({ "user": user })))
    }
    async fn verify(session: Session) -> Json<Value> {
        Json(json!({ "user": session.get_user_id() }))
    }
    async fn data(session: Session) -> Result<Json<Value>, tessera_axum::Error> {
        let mut data = session.get_session_data().await?;
        let visits = data["visits"].as_u64().unwrap_or(0) + 1;
        data["visits"] = json!(visits);
        session.update_session_data(data).await?;
        Ok(Json(
            json!({ "user": session.get_user_id(), "visits": visits }),
        ))
    }

    let builder = match schema {
        Some(schema) if database_url.starts_with("postgres") => tessera::SessionManager::builder()
            .store(tessera::store::PostgresStore::connect_with_schema(database_url, schema).await?),
        _ => tessera::SessionManager::builder().database_url(database_url),
    };
    let manager = builder
        .anti_csrf(AntiCsrfMode::None)
        .verified_token_cache_capacity(verified_cache)
        .signing_algorithm(algorithm)
        .build()
        .await?;
    let layer = SessionLayer::new(manager)
        .cookie_secure(false)
        .token_transfer_policy(TokenTransferPolicy::Cookie);
    Ok(Router::new()
        .route("/login/{user}", post(login))
        .route("/verify", get(verify))
        .route("/data", post(data))
        .merge(layer.routes())
        .layer(layer))
}

/// The tower-sessions app on `store`.
pub fn tower_sessions_app<S: SessionStore + Clone>(store: S) -> Router {
    type Ts = tower_sessions::Session;
    fn internal<E>(_: E) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }
    async fn user(session: &Ts) -> Result<String, StatusCode> {
        session
            .get::<String>("user")
            .await
            .map_err(internal)?
            .ok_or(StatusCode::UNAUTHORIZED)
    }
    async fn login(session: Ts, Path(user): Path<String>) -> Result<Json<Value>, StatusCode> {
        session.insert("user", &user).await.map_err(internal)?;
        session.insert("visits", 0u64).await.map_err(internal)?;
        Ok(Json(json!({ "user": user })))
    }
    async fn verify(session: Ts) -> Result<Json<Value>, StatusCode> {
        Ok(Json(json!({ "user": user(&session).await? })))
    }
    async fn data(session: Ts) -> Result<Json<Value>, StatusCode> {
        let user = user(&session).await?;
        let visits = session
            .get::<u64>("visits")
            .await
            .map_err(internal)?
            .unwrap_or(0)
            + 1;
        session.insert("visits", visits).await.map_err(internal)?;
        Ok(Json(json!({ "user": user, "visits": visits })))
    }

    Router::new()
        .route("/login/{user}", post(login))
        .route("/verify", get(verify))
        .route("/data", post(data))
        .layer(SessionManagerLayer::new(store).with_secure(false))
}

/// tower-sessions' SQLite store (tower-sessions-sqlx-store) on the file
/// `path`, with the settings tessera's SQLite store uses (WAL,
/// `synchronous=NORMAL`, `busy_timeout` 5 s, no ping before each pool
/// acquire) so that the comparison is of the libraries, not of the SQLite
/// settings; sqlx's default pool size.
pub async fn tower_sessions_sqlite_store(
    path: &str,
) -> Result<SqliteStore, Box<dyn std::error::Error>> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(std::time::Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .test_before_acquire(false)
        .connect_with(options)
        .await?;
    let store = SqliteStore::new(pool);
    store.migrate().await?;
    Ok(store)
}

/// tower-sessions' memory store.
pub fn tower_sessions_memory_store() -> MemoryStore {
    MemoryStore::default()
}

/// Serves `app` on `addr` until the process is killed, after printing
/// `listening on http://ADDR` on stdout (the orchestrator waits for it).
pub async fn serve(app: Router, addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
