//! The routes of the upstream `test/server/index.js`, one handler each, in
//! its order. Session routes use tessera-axum's extractors; the answers
//! (bodies, statuses) are the upstream server's.

use std::path::{Component, Path as FsPath};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tessera::AccessTokenClaims;
use tessera_axum::{ClaimValidator, Session, Sessions};

use crate::apps::ISSUER;
use crate::error::Error;
use crate::port::Port;

type St = State<Arc<Port>>;

/// The refresh route's path (tessera-axum's default base path).
const REFRESH_PATH: &str = "/auth/session/refresh";

/// Claims supertokens-node never lets a payload update set
/// (`protectedProps`), plus the `iss` this server's engine sets itself.
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
    "iss",
];

/// Every route but the refresh and signout routes (which tessera-axum
/// serves) and the CORS layer.
pub(crate) fn router() -> Router<Arc<Port>> {
    Router::new()
        .route("/test/setup/app", post(setup_app))
        .route("/test/setup/st", post(setup_st))
        .route("/login", post(login))
        .route("/login-2.18", post(login_legacy))
        .route("/featureFlags", get(feature_flags))
        .route("/reinitialiseBackendConfig", post(reinitialise))
        .route("/beforeeach", post(before_each))
        .route("/after", post(empty))
        .route("/stopst", post(empty))
        .route("/testUserConfig", post(empty))
        .route("/multipleInterceptors", post(multiple_interceptors))
        .route("/", get(get_session))
        .route("/check-rid", get(check_rid))
        .route("/check-rid-no-session", get(check_rid_no_session))
        .route("/update-jwt", get(get_jwt).post(update_jwt))
        .route("/update-jwt-with-handle", post(update_jwt_with_handle))
        .route("/session-claims-error", post(session_claims_error))
        .route("/403-without-body", post(forbidden))
        .route("/testing", any(testing))
        .route("/testing/{*rest}", any(testing))
        .route("/logout", post(logout))
        .route("/revokeAll", post(revoke_all))
        .route("/refreshCalledTime", get(refresh_called))
        .route("/refreshAttemptedTime", get(refresh_attempted))
        .route("/getSessionCalledTime", get(get_session_called))
        .route("/getPackageVersion", get(package_version))
        .route("/ping", get(ping))
        .route("/testHeader", get(test_header))
        .route("/checkAllowCredentials", post(check_allow_credentials))
        .route("/index.html", get(index_html))
        .route("/angular/{*file}", get(angular))
        .route("/vendor/{file}", get(vendor))
        .route("/testError", get(test_error))
        .route("/auth/jwt/jwks.json", get(jwks))
        .route(
            "/auth/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .fallback(not_found)
}

/// A JSON request body as express' body parser gives it: `{}` when there
/// is none or it is not JSON.
fn body_json(body: &Bytes) -> Value {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}))
}

fn text(s: impl Into<String>) -> Response {
    ([(CONTENT_TYPE, "text/html; charset=utf-8")], s.into()).into_response()
}

async fn empty() -> Response {
    text("")
}

async fn setup_app(State(port): St, body: Bytes) -> Result<Response, Error> {
    let body = body_json(&body);
    let app_id = match body["appId"].as_str() {
        Some(id) => id.to_owned(),
        None => format!("{:x}", rand_id()),
    };
    let url = port.site.apps.create(&app_id, &body["coreConfig"]).await?;
    Ok(text(url))
}

/// A process-unique id for an app the suite did not name.
fn rand_id() -> u64 {
    use std::sync::atomic::AtomicU64;
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// `POST /test/setup/st {coreUrl, enableAntiCsrf, enableJWT}`: like the
/// upstream server, a call without `enableAntiCsrf` changes nothing.
async fn setup_st(State(port): St, body: Bytes) -> Response {
    let body = body_json(&body);
    let Some(anti_csrf) = body["enableAntiCsrf"].as_bool() else {
        return text("");
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
    text("")
}

/// `POST /reinitialiseBackendConfig {coreUrl}`: the same settings again,
/// on the app named.
async fn reinitialise(State(port): St, body: Bytes) -> Response {
    let body = body_json(&body);
    let manager = body["coreUrl"]
        .as_str()
        .and_then(|url| port.site.apps.get(url));
    port.reconfigure(|s| {
        if let Some(m) = manager {
            s.manager = m;
        }
    });
    text("")
}

async fn login(State(port): St, sessions: Sessions, body: Bytes) -> Result<Response, Error> {
    let body = body_json(&body);
    let Some(user_id) = body["userId"].as_str() else {
        return Err(Error::BadRequest("userId missing"));
    };
    let payload = if port.setup().jwt {
        json!({ "customClaim": "customValue" })
    } else {
        json!({})
    };
    let session = sessions
        .create_new_session(user_id, payload, json!({}))
        .await?;
    Ok(text(session.get_user_id()))
}

/// `POST /login-2.18` makes a session through the core's CDI 2.18 (tokens
/// of an old format); tessera has no such format.
async fn login_legacy() -> Error {
    Error::Unsupported("CDI 2.18 sessions are not supported by tessera")
}

async fn feature_flags(State(port): St) -> Response {
    axum::Json(json!({
        "sessionJwt": port.setup().jwt,
        "sessionClaims": true,
        "v3AccessToken": true,
        "duplicateCookieHandling": true,
    }))
    .into_response()
}

async fn before_each(State(port): St) -> Response {
    port.counters.reset();
    text("")
}

async fn multiple_interceptors(headers: HeaderMap) -> Response {
    let both =
        headers.contains_key("interceptorheader1") && headers.contains_key("interceptorheader2");
    text(if both { "success" } else { "failure" })
}

async fn get_session(State(port): St, session: Session) -> Response {
    port.counters
        .get_session_called
        .fetch_add(1, Ordering::SeqCst);
    text(session.get_user_id())
}

fn rid_is_anti_csrf(headers: &HeaderMap) -> bool {
    headers
        .get("rid")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|rid| rid.starts_with("anti-csrf"))
}

async fn check_rid(_session: Session, headers: HeaderMap) -> Response {
    text(if rid_is_anti_csrf(&headers) {
        "success"
    } else {
        "fail"
    })
}

async fn check_rid_no_session(headers: HeaderMap) -> Response {
    text(if rid_is_anti_csrf(&headers) {
        "success"
    } else {
        "fail"
    })
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
    m.insert("iss".into(), json!(ISSUER));
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

async fn get_jwt(session: Session) -> Response {
    axum::Json(full_payload(session.claims())).into_response()
}

async fn update_jwt(session: Session, body: Bytes) -> Result<Response, Error> {
    session
        .update_jwt_payload(new_user_payload(body_json(&body)))
        .await?;
    Ok(axum::Json(full_payload(session.claims())).into_response())
}

/// Updates the payload by session handle (no new token on this response)
/// and answers with the payload of the request's own token.
async fn update_jwt_with_handle(
    session: Session,
    sessions: Sessions,
    body: Bytes,
) -> Result<Response, Error> {
    let payload = full_payload(session.claims());
    sessions
        .update_jwt_payload(session.get_handle(), new_user_payload(body_json(&body)))
        .await?;
    Ok(axum::Json(payload).into_response())
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

async fn session_claims_error(session: Session) -> Result<Response, Error> {
    session.assert_claims(&[&FailingClaim])?;
    Ok(axum::Json(json!({})).into_response())
}

async fn forbidden() -> Response {
    (StatusCode::FORBIDDEN, text("Forbidden")).into_response()
}

async fn testing(headers: HeaderMap) -> Response {
    let mut resp = text("success");
    if let Some(v) = headers.get("testing") {
        resp.headers_mut().insert("testing", v.clone());
    }
    resp
}

async fn logout(session: Session) -> Result<Response, Error> {
    session.revoke_session().await?;
    Ok(text("success"))
}

async fn revoke_all(session: Session, sessions: Sessions) -> Result<Response, Error> {
    sessions
        .revoke_all_sessions_for_user(session.get_user_id())
        .await?;
    Ok(text("success"))
}

/// Around tessera-axum's refresh route: counts every call, and a
/// successful one that carried `rid`; answers `refresh success`, or
/// `refresh failed` for a success without `rid` (the tokens are rotated
/// all the same, as upstream).
pub(crate) async fn count_refresh(State(port): St, req: Request, next: Next) -> Response {
    if req.uri().path() != REFRESH_PATH {
        return next.run(req).await;
    }
    port.counters
        .refresh_attempted
        .fetch_add(1, Ordering::SeqCst);
    let has_rid = req.headers().contains_key("rid");
    let resp = next.run(req).await;
    if resp.status() != StatusCode::OK {
        return resp;
    }
    if has_rid {
        port.counters.refresh_called.fetch_add(1, Ordering::SeqCst);
    }
    let (mut parts, _) = resp.into_parts();
    parts.headers.remove(CONTENT_LENGTH);
    parts.headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    let body = if has_rid {
        "refresh success"
    } else {
        "refresh failed"
    };
    Response::from_parts(parts, Body::from(body))
}

async fn refresh_called(State(port): St) -> Response {
    text(
        port.counters
            .refresh_called
            .load(Ordering::SeqCst)
            .to_string(),
    )
}

async fn refresh_attempted(State(port): St) -> Response {
    text(
        port.counters
            .refresh_attempted
            .load(Ordering::SeqCst)
            .to_string(),
    )
}

async fn get_session_called(State(port): St) -> Response {
    text(
        port.counters
            .get_session_called
            .load(Ordering::SeqCst)
            .to_string(),
    )
}

async fn package_version(State(port): St) -> Response {
    text(port.site.package_version.clone())
}

async fn ping() -> Response {
    text("success")
}

async fn test_header(headers: HeaderMap) -> Response {
    let success = headers.contains_key("st-custom-header");
    text(json!({ "success": success }).to_string())
}

async fn check_allow_credentials(headers: HeaderMap) -> Response {
    let present = headers.contains_key("allow-credentials");
    (
        [(CONTENT_TYPE, "application/json; charset=utf-8")],
        present.to_string(),
    )
        .into_response()
}

/// Reads `rel` (no `..`, no absolute path) under the static directory.
async fn static_file(port: &Port, rel: &str) -> Response {
    let rel_path = FsPath::new(rel);
    if rel.is_empty()
        || !rel_path
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
    {
        return not_found().await;
    }
    let path = port.site.static_dir.join(rel_path);
    let Ok(bytes) = tokio::fs::read(&path).await else {
        return not_found().await;
    };
    let mime = match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "application/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    };
    ([(CONTENT_TYPE, mime)], bytes).into_response()
}

async fn index_html(State(port): St) -> Response {
    static_file(&port, "index.html").await
}

async fn angular(State(port): St, Path(file): Path<String>) -> Response {
    static_file(&port, &format!("angular/{file}")).await
}

async fn vendor(State(port): St, Path(file): Path<String>) -> Response {
    static_file(&port, &format!("vendor/{file}")).await
}

#[derive(Debug, Deserialize)]
struct ErrorQuery {
    code: Option<String>,
}

async fn test_error(Query(q): Query<ErrorQuery>) -> Response {
    let code = q
        .code
        .and_then(|c| c.trim().parse::<u16>().ok())
        .and_then(|c| StatusCode::from_u16(c).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, text("test error message")).into_response()
}

/// JWKS, open to every origin (supertokens-node's JWT recipe route).
async fn jwks(State(port): St) -> Response {
    let jwks = port.setup().manager.jwks();
    (
        [(ACCESS_CONTROL_ALLOW_ORIGIN, "*")],
        axum::Json(json!(*jwks)),
    )
        .into_response()
}

/// OpenID discovery, open to every origin (supertokens-node's OpenID
/// recipe route): the issuer and where its JWKS is.
async fn openid_configuration() -> Response {
    (
        [(ACCESS_CONTROL_ALLOW_ORIGIN, "*")],
        axum::Json(json!({
            "issuer": ISSUER,
            "jwks_uri": format!("{ISSUER}/jwt/jwks.json"),
        })),
    )
        .into_response()
}

async fn not_found() -> Response {
    StatusCode::NOT_FOUND.into_response()
}
