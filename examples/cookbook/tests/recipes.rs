//! Every cookbook recipe driven over a loopback socket, on real SQLite
//! files and (for the production setup) the real PostgreSQL at
//! `TESSERA_TEST_POSTGRES_URL`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera::ManualClock;
use tessera_axum::{RequestLimits, ServerLimits, SessionLayer};
use tessera_cookbook::mobile::MobileClient;
use tessera_cookbook::production::{self, Config};
use tessera_cookbook::roles::HasRole;
use tessera_cookbook::{UserStore, users};

const PASSWORD: &str = "correct horse battery";

struct App {
    base: String,
    http: reqwest::Client,
    users: Arc<UserStore>,
    clock: ManualClock,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The cookbook app on SQLite files, served the way the `app` example
/// serves it, with a clock the test moves.
async fn start() -> App {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let store = tessera::store::SqliteStore::open(dir.path().join("sessions.db"))
        .await
        .unwrap();
    let manager = tessera::SessionManager::builder()
        .store(store)
        .clock(clock.clone())
        .build()
        .await
        .unwrap();
    let users = Arc::new(UserStore::open(dir.path().join("users.db")).await.unwrap());
    let app = tessera_cookbook::hardened(
        tessera_cookbook::app(
            SessionLayer::new(manager).cookie_secure(false),
            users.clone(),
        ),
        RequestLimits::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(tessera_axum::serve(
        listener,
        app,
        ServerLimits::default(),
        async {
            let _ = stopped.await;
        },
    ));
    App {
        base,
        http: reqwest::Client::new(),
        users,
        clock,
        stop: Some(stop),
        _dir: dir,
    }
}

impl App {
    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header("st-auth-mode", "header")
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn get(&self, path: &str, access: Option<&str>) -> (StatusCode, Value) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(token) = access {
            req = req.bearer_auth(token);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Logs in (header mode) and returns the access token.
    async fn login(&self, email: &str, password: &str) -> String {
        let res = self
            .post("/login", json!({ "email": email, "password": password }))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        res.headers()["st-access-token"]
            .to_str()
            .unwrap()
            .to_owned()
    }
}

// ---- (a) login with a real password check -------------------------------

#[tokio::test]
async fn login_needs_the_right_password_and_answers_unknown_emails_the_same_way() {
    let app = start().await;
    let res = app
        .post(
            "/signup",
            json!({ "email": "Ada@Example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let user_id = res.json::<Value>().await.unwrap()["userId"]
        .as_str()
        .unwrap()
        .to_owned();

    for (email, password) in [
        ("ada@example.com", "wrong password!"),
        ("nobody@example.com", PASSWORD),
        ("ada@example.com", ""),
    ] {
        let res = app
            .post("/login", json!({ "email": email, "password": password }))
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{email}/{password}");
        assert!(res.headers().get("st-access-token").is_none());
        assert_eq!(
            res.json::<Value>().await.unwrap(),
            json!({ "message": "wrong email or password" })
        );
    }

    // Emails are case-insensitive; the session is the user's id, not the email.
    let access = app.login("ADA@example.com", PASSWORD).await;
    let (status, me) = app.get("/api/me", Some(&access)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["userId"], user_id.as_str());
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_phc_strings_with_their_own_salts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.db");
    let store = UserStore::open(&path).await.unwrap();
    store
        .create_user("a@example.com", PASSWORD, &[])
        .await
        .unwrap();
    store
        .create_user("b@example.com", PASSWORD, &[])
        .await
        .unwrap();
    store.close().await;

    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let hashes: Vec<(String,)> = sqlx::query_as("SELECT password_hash FROM users ORDER BY email")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(hashes.len(), 2);
    for (hash,) in &hashes {
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(!hash.contains(PASSWORD));
        assert!(users::verify_password(hash, PASSWORD).unwrap());
        assert!(!users::verify_password(hash, "correct horse battery.").unwrap());
    }
    assert_ne!(hashes[0].0, hashes[1].0, "each hash has its own salt");
    for bad in [
        "$md5$nonsense",
        "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ",
        "plain text",
    ] {
        assert!(users::verify_password(bad, PASSWORD).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn signup_refuses_a_taken_email_and_out_of_bounds_fields_with_json() {
    let app = start().await;
    let ok = json!({ "email": "ada@example.com", "password": PASSWORD });
    assert_eq!(
        app.post("/signup", ok.clone()).await.status(),
        StatusCode::CREATED
    );
    let res = app.post("/signup", ok).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(
        res.json::<Value>().await.unwrap()["message"],
        "email already registered"
    );

    for body in [
        json!({ "email": "ada2@example.com", "password": "short" }),
        json!({ "email": "no-at-sign", "password": PASSWORD }),
        json!({ "email": "ada3@example.com", "password": "x".repeat(2000) }),
    ] {
        let res = app.post("/signup", body).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert!(res.json::<Value>().await.unwrap()["message"].is_string());
    }
    // A malformed body is a short JSON refusal (RequestLimits), not axum's text.
    let res = app.post("/signup", json!({ "email": 5 })).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({ "message": "unprocessable request body" })
    );
}

// ---- (b) a route group that requires a session ---------------------------

#[tokio::test]
async fn the_api_group_requires_a_session_and_the_public_routes_do_not() {
    let app = start().await;
    app.users
        .create_user("ada@example.com", PASSWORD, &[])
        .await
        .unwrap();

    let (status, body) = app.get("/", None).await;
    assert_eq!(
        (status, body["signedIn"].clone()),
        (StatusCode::OK, json!(false))
    );
    assert_eq!(app.get("/health", None).await.0, StatusCode::OK);

    let (status, body) = app.get("/api/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, json!({ "message": "unauthorised" }));
    let (status, _) = app.get("/api/admin/stats", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // route_layer: an unknown path is still a 404, not a 401.
    assert_eq!(
        app.get("/api/nothing-here", None).await.0,
        StatusCode::NOT_FOUND
    );

    let access = app.login("ada@example.com", PASSWORD).await;
    let (status, body) = app.get("/", Some(&access)).await;
    assert_eq!(
        (status, body["signedIn"].clone()),
        (StatusCode::OK, json!(true))
    );
    assert_eq!(app.get("/api/me", Some(&access)).await.0, StatusCode::OK);

    // An expired access token gets "try refresh token" from the middleware.
    app.clock.advance(Duration::from_secs(2 * 3600));
    let (status, body) = app.get("/api/me", Some(&access)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, json!({ "message": "try refresh token" }));
}

// ---- (c) role checks on access-token claims --------------------------------

#[tokio::test]
async fn admin_routes_need_the_admin_role_in_the_access_token_payload() {
    let app = start().await;
    app.users
        .create_user("reader@example.com", PASSWORD, &["reader"])
        .await
        .unwrap();
    app.users
        .create_user("root@example.com", PASSWORD, &["admin"])
        .await
        .unwrap();

    let reader = app.login("reader@example.com", PASSWORD).await;
    let (status, body) = app.get("/api/admin/stats", Some(&reader)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body,
        json!({
            "message": "invalid claim",
            "claimValidationErrors": [{
                "id": "roles",
                "reason": { "message": "wrong value", "expectedToInclude": "admin" }
            }]
        })
    );
    // The same reader still reaches the session-only routes.
    assert_eq!(app.get("/api/me", Some(&reader)).await.0, StatusCode::OK);

    let admin = app.login("root@example.com", PASSWORD).await;
    let (status, me) = app.get("/api/me", Some(&admin)).await;
    assert_eq!(
        (status, me["roles"].clone()),
        (StatusCode::OK, json!(["admin"]))
    );
    assert_eq!(
        app.get("/api/admin/stats", Some(&admin)).await.0,
        StatusCode::OK
    );
}

#[test]
fn has_role_accepts_only_a_roles_array_holding_the_role() {
    use tessera_axum::ClaimValidator as _;
    let admin = HasRole("admin");
    assert!(
        admin
            .validate(&json!({ "roles": ["reader", "admin"] }))
            .is_ok()
    );
    for payload in [
        json!({ "roles": ["reader"] }),
        json!({ "roles": "admin" }),
        json!({ "role": "admin" }),
        json!({}),
    ] {
        assert!(admin.validate(&payload).is_err(), "{payload}");
    }
}

// ---- (e) a header-mode (mobile) client -------------------------------------

#[tokio::test]
async fn the_mobile_client_refreshes_on_try_refresh_token_and_retries() {
    let app = start().await;
    app.users
        .create_user("ada@example.com", PASSWORD, &[])
        .await
        .unwrap();
    let client = MobileClient::new(&app.base).unwrap();
    assert!(
        client.get_json("/api/me").await.is_err(),
        "not logged in yet"
    );

    let login = client.login("ada@example.com", PASSWORD).await.unwrap();
    let first = client.access_token();
    assert!(!first.is_empty());
    let me = client.get_json("/api/me").await.unwrap();
    assert_eq!(me["userId"], login["userId"]);
    assert_eq!(client.refreshes(), 0);

    // The access token expires; the next call refreshes once and succeeds.
    app.clock.advance(Duration::from_secs(2 * 3600));
    let me = client.get_json("/api/me").await.unwrap();
    assert_eq!(me["userId"], login["userId"]);
    assert_eq!(client.refreshes(), 1);
    assert_ne!(client.access_token(), first);

    client.sign_out().await.unwrap();
    assert!(client.access_token().is_empty());
    assert!(client.get_json("/api/me").await.is_err());
    assert!(
        client.refresh().await.is_err(),
        "no refresh token after sign-out"
    );
}

// ---- (d) the PostgreSQL production setup -----------------------------------

fn postgres_url() -> String {
    match std::env::var("TESSERA_TEST_POSTGRES_URL") {
        Ok(url) => url,
        Err(_) => panic!(
            "\n\n*** TESSERA_TEST_POSTGRES_URL is not set: the cookbook's production test \
             needs the real PostgreSQL (.ci/run sets \
             postgres://postgres@127.0.0.1:5432/test). Failing. ***\n"
        ),
    }
}

#[test]
fn production_config_needs_a_postgres_url_and_has_safe_defaults() {
    let none = Config::from_lookup(|_| None);
    assert!(none.is_err());
    let sqlite =
        Config::from_lookup(|k| (k == "TESSERA_DATABASE_URL").then(|| "sqlite://x.db".into()));
    assert!(sqlite.is_err());
    let config =
        Config::from_lookup(|k| (k == "TESSERA_DATABASE_URL").then(|| "postgres://u@h/db".into()))
            .unwrap();
    assert!(config.cookie_secure, "Secure cookies unless told otherwise");
    assert_eq!(config.addr.to_string(), "127.0.0.1:8080");
    assert_eq!(config.maintenance_interval, Duration::from_secs(300));
    let bad = Config::from_lookup(|k| match k {
        "TESSERA_DATABASE_URL" => Some("postgres://u@h/db".into()),
        "TESSERA_COOKIE_SECURE" => Some("yes please".into()),
        _ => None,
    });
    assert!(bad.is_err());
}

#[tokio::test]
async fn production_setup_on_postgres_serves_logins_refreshes_limits_and_maintenance() {
    let url = postgres_url();
    let schema = format!("tessera_cookbook_{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let users_db = dir.path().join("users.db");
    let vars = [
        ("TESSERA_DATABASE_URL", url.clone()),
        ("TESSERA_DATABASE_SCHEMA", schema.clone()),
        ("APP_USERS_DB", users_db.display().to_string()),
        ("TESSERA_COOKIE_SECURE", "false".into()),
        ("TESSERA_REFRESH_BURST", "2".into()),
        // No refill during the test: the third refresh is refused whatever the machine's speed.
        ("TESSERA_REFRESH_REPLENISH_SECS", "3600".into()),
        ("TESSERA_MAX_BODY_BYTES", "4096".into()),
    ];
    let config = Config::from_lookup(|k| {
        vars.iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| v.clone())
    })
    .unwrap();

    // One maintenance pass against the real database succeeds.
    let manager = production::session_manager(&config).await.unwrap();
    manager.run_maintenance().await.unwrap();
    manager.close().await;
    UserStore::open(&users_db)
        .await
        .unwrap()
        .create_user("ops@example.com", PASSWORD, &["admin"])
        .await
        .unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(production::run(config, listener, async {
        let _ = stopped.await;
    }));

    let http = reqwest::Client::new();
    let health = http.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    let client = MobileClient::new(&base).unwrap();
    client.login("ops@example.com", PASSWORD).await.unwrap();
    assert_eq!(
        client.get_json("/api/admin/stats").await.unwrap()["stats"]["users"],
        "many"
    );

    // Limits: a body over TESSERA_MAX_BODY_BYTES, a malformed body.
    let res = http
        .post(format!("{base}/login"))
        .header("content-type", "application/json")
        .body(vec![b' '; 8192])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({ "message": "request body too large" })
    );
    let res = http
        .post(format!("{base}/login"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["message"], "bad request");

    // Refresh rate limit: a burst of 2, then 429.
    client.refresh().await.unwrap();
    client.refresh().await.unwrap();
    let err = client.refresh().await.unwrap_err().to_string();
    assert!(err.contains("429"), "{err}");

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();

    // The sessions are in PostgreSQL, in the configured schema.
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1",
    )
    .bind(&schema)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(tables > 0, "tessera's tables live in {schema}");
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(&pool)
        .await
        .unwrap();
}
