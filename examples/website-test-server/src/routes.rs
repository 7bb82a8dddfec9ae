//! The routes of the upstream `test/server/index.js`, in its order, on
//! plain types: each adapter hands a request to [`answer`] as an
//! [`Exchange`] and turns the [`Reply`] into its response. The session
//! routes use the FDI core's `Session` and `Sessions` (through the
//! adapter's extractors); the answers (bodies, statuses) are the upstream
//! server's. The refresh and signout routes are the adapters' own.

use std::future::Future;
use std::ops::Deref;
use std::path::{Component, Path as FsPath};
use std::sync::atomic::Ordering;

use serde_json::{Map, Value, json};
use tessera::token::front::front_token;
use tessera::{AccessTokenClaims, NewSession, TokenVersion};
use tessera_http::ClaimValidator;

use crate::apps::ISSUER;
use crate::error::Error;
use crate::port::Port;
use crate::reply::Reply;

/// A request as the routes see it; each adapter implements it over its
/// request type and its extractors.
pub trait Exchange {
    /// The adapter's error type (the FDI core's, made with `fdi_error!`).
    type Error: From<tessera_http::Error> + Into<tessera_http::Error>;
    /// The adapter's `Session` extractor.
    type Session: Deref<Target = tessera_http::Session<Self::Error>>;
    /// The adapter's `Sessions` extractor.
    type Sessions: Deref<Target = tessera_http::Sessions<Self::Error>>;

    /// The method, upper case.
    fn method(&self) -> &str;
    /// The path, as sent (not percent-decoded).
    fn path(&self) -> &str;
    /// The query string, without `?`.
    fn query(&self) -> &str;
    /// A request header, if present and text.
    fn header(&self, name: &str) -> Option<&str>;
    /// The request body.
    fn body(&self) -> &[u8];
    /// The verified session (the adapter's `Session` extractor).
    fn session(&mut self) -> impl Future<Output = Result<Self::Session, Self::Error>>;
    /// Session management on this request (the adapter's `Sessions`).
    fn sessions(&mut self) -> impl Future<Output = Result<Self::Sessions, Self::Error>>;
}

/// Claims supertokens-node never lets a payload update set
/// (`protectedProps`). `iss` is not one: it is a user claim, which the
/// upstream `/update-jwt` clears with the others.
const NODE_PROTECTED: &[&str] = &[
    "sub",
    "iat",
    "exp",
    "sessionHandle",
    "parentRefreshTokenHash1",
    "refreshTokenHash1",
    "antiCsrfToken",
    "rsub",
    "tId",
    "stt",
];

/// An adapter error as this crate's.
fn fdi<E: Into<tessera_http::Error>>(e: E) -> Error {
    Error::Session(e.into())
}

/// The answer to every route but the refresh and signout routes (which
/// the adapters serve) and CORS preflights.
pub async fn answer<X: Exchange>(port: &Port, x: &mut X) -> Result<Reply, Error> {
    let method = x.method().to_owned();
    let path = x.path().to_owned();
    let get = method == "GET" || method == "HEAD";
    let post = method == "POST";
    match path.as_str() {
        "/test/setup/app" if post => setup_app(port, x.body()).await,
        "/test/setup/st" if post => Ok(setup_st(port, x.body())),
        "/login" if post => login(port, x).await,
        "/login-2.18" if post => login_2_18(port, x.body()).await,
        "/featureFlags" if get => Ok(Reply::json(&json!({
            "sessionJwt": port.setup().jwt,
            "sessionClaims": true,
            "v3AccessToken": true,
            "duplicateCookieHandling": true,
        }))),
        "/reinitialiseBackendConfig" if post => Ok(reinitialise(port, x.body())),
        "/beforeeach" if post => {
            port.counters.reset();
            Ok(Reply::text(""))
        }
        "/after" | "/stopst" | "/testUserConfig" if post => Ok(Reply::text("")),
        "/multipleInterceptors" if post => {
            let both = x.header("interceptorheader1").is_some()
                && x.header("interceptorheader2").is_some();
            Ok(Reply::text(if both { "success" } else { "failure" }))
        }
        "/" if get => {
            let session = x.session().await.map_err(fdi)?;
            port.counters
                .get_session_called
                .fetch_add(1, Ordering::SeqCst);
            Ok(Reply::text(session.get_user_id()))
        }
        "/check-rid" if get => {
            x.session().await.map_err(fdi)?;
            Ok(check_rid(x))
        }
        "/check-rid-no-session" if get => Ok(check_rid(x)),
        "/update-jwt" if get => {
            let session = x.session().await.map_err(fdi)?;
            Ok(Reply::json(&full_payload(session.claims())))
        }
        "/update-jwt" if post => {
            let session = x.session().await.map_err(fdi)?;
            session
                .update_jwt_payload(new_user_payload(body_json(x.body())))
                .await
                .map_err(fdi)?;
            Ok(Reply::json(&full_payload(session.claims())))
        }
        "/update-jwt-with-handle" if post => update_jwt_with_handle(x).await,
        "/session-claims-error" if post => {
            let session = x.session().await.map_err(fdi)?;
            session.assert_claims(&[&FailingClaim]).map_err(fdi)?;
            Ok(Reply::json(&json!({})))
        }
        "/403-without-body" if post => Ok(Reply::text("Forbidden").status(403)),
        "/testing" => Ok(testing(x)),
        p if p.starts_with("/testing/") => Ok(testing(x)),
        "/logout" if post => {
            let session = x.session().await.map_err(fdi)?;
            session.revoke_session().await.map_err(fdi)?;
            Ok(Reply::text("success"))
        }
        "/revokeAll" if post => {
            let session = x.session().await.map_err(fdi)?;
            let sessions = x.sessions().await.map_err(fdi)?;
            sessions
                .revoke_all_sessions_for_user(session.get_user_id())
                .await
                .map_err(fdi)?;
            Ok(Reply::text("success"))
        }
        "/refreshCalledTime" if get => Ok(count(&port.counters.refresh_called)),
        "/refreshAttemptedTime" if get => Ok(count(&port.counters.refresh_attempted)),
        "/getSessionCalledTime" if get => Ok(count(&port.counters.get_session_called)),
        "/getPackageVersion" if get => Ok(Reply::text(port.site.package_version.clone())),
        "/ping" if get => Ok(Reply::text("success")),
        "/testHeader" if get => {
            let success = x.header("st-custom-header").is_some();
            Ok(Reply::text(json!({ "success": success }).to_string()))
        }
        "/checkAllowCredentials" if post => {
            let present = x.header("allow-credentials").is_some();
            Ok(Reply::text(present.to_string()).content_type("application/json; charset=utf-8"))
        }
        "/index.html" if get => Ok(static_file(port, "index.html").await),
        p if get && p.starts_with("/angular/") => Ok(static_file(port, &p[1..]).await),
        p if get && p.starts_with("/vendor/") && !p["/vendor/".len()..].contains('/') => {
            Ok(static_file(port, &p[1..]).await)
        }
        "/testError" if get => Ok(test_error(x.query())),
        // JWKS, open to every origin (supertokens-node's JWT recipe route).
        "/auth/jwt/jwks.json" if get => {
            let jwks = port.setup().manager.jwks();
            Ok(Reply::json(&json!(*jwks)).header("access-control-allow-origin", "*"))
        }
        // OpenID discovery, open to every origin (supertokens-node's
        // OpenID recipe route): the issuer and where its JWKS is.
        "/auth/.well-known/openid-configuration" if get => Ok(Reply::json(&json!({
            "issuer": ISSUER,
            "jwks_uri": format!("{ISSUER}/jwt/jwks.json"),
        }))
        .header("access-control-allow-origin", "*")),
        _ => Ok(Reply::not_found()),
    }
}

/// A JSON request body as express' body parser gives it: `{}` when there
/// is none or it is not JSON.
fn body_json(body: &[u8]) -> Value {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}))
}

fn count(counter: &std::sync::atomic::AtomicU64) -> Reply {
    Reply::text(counter.load(Ordering::SeqCst).to_string())
}

async fn setup_app(port: &Port, body: &[u8]) -> Result<Reply, Error> {
    let body = body_json(body);
    let app_id = match body["appId"].as_str() {
        Some(id) => id.to_owned(),
        None => format!("{:x}", next_app_id()),
    };
    let url = port.site.apps.create(&app_id, &body["coreConfig"]).await?;
    Ok(Reply::text(url))
}

/// A process-unique id for an app the suite did not name.
fn next_app_id() -> u64 {
    use std::sync::atomic::AtomicU64;
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// `POST /test/setup/st {coreUrl, enableAntiCsrf, enableJWT}`: like the
/// upstream server, a call without `enableAntiCsrf` changes nothing.
fn setup_st(port: &Port, body: &[u8]) -> Reply {
    let body = body_json(body);
    let Some(anti_csrf) = body["enableAntiCsrf"].as_bool() else {
        return Reply::text("");
    };
    let jwt = body["enableJWT"].as_bool() == Some(true);
    let manager = body["coreUrl"]
        .as_str()
        .and_then(|url| port.site.apps.get(url));
    port.reconfigure(|s| {
        if let Some(m) = manager {
            s.manager = m;
        }
        s.anti_csrf = anti_csrf;
        s.jwt = jwt;
    });
    Reply::text("")
}

/// `POST /reinitialiseBackendConfig {coreUrl}`: the same settings again,
/// on the app named.
fn reinitialise(port: &Port, body: &[u8]) -> Reply {
    let body = body_json(body);
    let manager = body["coreUrl"]
        .as_str()
        .and_then(|url| port.site.apps.get(url));
    port.reconfigure(|s| {
        if let Some(m) = manager {
            s.manager = m;
        }
    });
    Reply::text("")
}

async fn login<X: Exchange>(port: &Port, x: &mut X) -> Result<Reply, Error> {
    let body = body_json(x.body());
    let Some(user_id) = body["userId"].as_str() else {
        return Err(Error::BadRequest("userId missing"));
    };
    // supertokens-node's `createNewSession` adds `iss` to the payload it
    // hands the core, so it is a user claim of the session.
    let payload = if port.setup().jwt {
        json!({ "customClaim": "customValue", "iss": ISSUER })
    } else {
        json!({ "iss": ISSUER })
    };
    let sessions = x.sessions().await.map_err(fdi)?;
    let session = sessions
        .create_new_session(user_id, payload, json!({}))
        .await
        .map_err(fdi)?;
    Ok(Reply::text(session.get_user_id()))
}

/// How long the front token of a CDI 2.18 session says its access token
/// lives: the upstream route writes `Date.now() + 3600000`, whatever the
/// app's lifetime.
const LEGACY_FRONT_TOKEN_LIFETIME_MS: u64 = 3_600_000;

/// `POST /login-2.18 {userId, payload}`: a session as the core made it for
/// an SDK of CDI 2.18 — its first access token in the v2 format
/// (`TokenVersion::V2`: the payload nested under `userData`), no anti-CSRF
/// token — sent as the upstream route sends it: `st-access-token` and
/// `st-refresh-token` headers and a front token it writes itself
/// (`{uid, ate: now + 1 h, up: payload}`), no cookies. Its refresh, through
/// the adapter's refresh route, issues the current (v5) format.
async fn login_2_18(port: &Port, body: &[u8]) -> Result<Reply, Error> {
    let body = body_json(body);
    let Some(user_id) = body["userId"].as_str() else {
        return Err(Error::BadRequest("userId missing"));
    };
    let payload = match &body["payload"] {
        Value::Null => Map::new(),
        Value::Object(m) => m.clone(),
        _ => return Err(Error::BadRequest("payload must be a JSON object")),
    };
    let mut new = NewSession::new(user_id).jwt_payload(Value::Object(payload.clone()));
    new.enable_anti_csrf = Some(false);
    let created = port
        .setup()
        .manager
        .create_session_versioned(new, TokenVersion::V2)
        .await?;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let front = front_token(
        user_id,
        now_ms.saturating_add(LEGACY_FRONT_TOKEN_LIFETIME_MS),
        &payload,
    );
    Ok(Reply::text("")
        .header("st-access-token", created.access_token.token)
        .header("st-refresh-token", created.refresh_token.token)
        .header("front-token", front))
}

/// `success` if the `rid` header starts with `anti-csrf`.
fn check_rid<X: Exchange>(x: &X) -> Reply {
    let ok = x
        .header("rid")
        .is_some_and(|rid| rid.starts_with("anti-csrf"));
    Reply::text(if ok { "success" } else { "fail" })
}

/// The whole access-token payload, as supertokens-node's
/// `getAccessTokenPayload()` gives it: protected claims and the user's.
fn full_payload(claims: &AccessTokenClaims) -> Value {
    let mut m: Map<String, Value> = claims.user_payload.as_object().cloned().unwrap_or_default();
    m.insert("sub".into(), json!(claims.user_id));
    m.insert("rsub".into(), json!(claims.recipe_user_id));
    m.insert("tId".into(), json!(claims.tenant_id));
    m.insert("sessionHandle".into(), json!(claims.session_handle));
    m.insert(
        "refreshTokenHash1".into(),
        json!(claims.refresh_token_hash1),
    );
    m.insert("parentRefreshTokenHash1".into(), Value::Null);
    m.insert("antiCsrfToken".into(), json!(claims.anti_csrf_token));
    m.insert("iat".into(), json!(claims.issued_at));
    m.insert("exp".into(), json!(claims.expires_at));
    Value::Object(m)
}

/// The new user payload of an update: what supertokens-node's
/// `mergeIntoAccessTokenPayload` keeps of the body after the route has
/// cleared every custom claim (its protected claims dropped, `null`
/// meaning "remove").
fn new_user_payload(body: Value) -> Value {
    let mut m = match body {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    m.retain(|k, v| !v.is_null() && !NODE_PROTECTED.contains(&k.as_str()));
    Value::Object(m)
}

/// Updates the payload by session handle (no new token on this response)
/// and answers with the payload of the request's own token.
async fn update_jwt_with_handle<X: Exchange>(x: &mut X) -> Result<Reply, Error> {
    let session = x.session().await.map_err(fdi)?;
    let payload = full_payload(session.claims());
    let sessions = x.sessions().await.map_err(fdi)?;
    sessions
        .update_jwt_payload(session.get_handle(), new_user_payload(body_json(x.body())))
        .await
        .map_err(fdi)?;
    Ok(Reply::json(&payload))
}

/// The claim validator of `/session-claims-error`, which always fails.
#[derive(Debug)]
struct FailingClaim;

impl ClaimValidator for FailingClaim {
    fn id(&self) -> &str {
        "test-claim-failing"
    }
    fn validate(&self, _payload: &Value) -> Result<(), Option<Value>> {
        Err(Some(json!({ "message": "testReason" })))
    }
}

/// `success`, echoing the `testing` header.
fn testing<X: Exchange>(x: &X) -> Reply {
    let reply = Reply::text("success");
    match x.header("testing") {
        Some(v) => reply.header("testing", v),
        None => reply,
    }
}

/// Reads `rel` (no `..`, no absolute path) under the static directory.
async fn static_file(port: &Port, rel: &str) -> Reply {
    let rel_path = FsPath::new(rel);
    if rel.is_empty()
        || !rel_path
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
    {
        return Reply::not_found();
    }
    let path = port.site.static_dir.join(rel_path);
    let Ok(bytes) = tokio::fs::read(&path).await else {
        return Reply::not_found();
    };
    let mime = match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "application/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    };
    Reply {
        status: 200,
        content_type: Some(mime),
        headers: Vec::new(),
        body: bytes,
    }
}

/// `GET /testError?code=N`: that status (500 without one), `test error
/// message`.
fn test_error(query: &str) -> Reply {
    let code = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("code="))
        .and_then(|c| c.trim().parse::<u16>().ok())
        .filter(|c| (100..=999).contains(c))
        .unwrap_or(500);
    Reply::text("test error message").status(code)
}
