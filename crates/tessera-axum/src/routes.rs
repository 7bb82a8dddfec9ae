//! The two endpoints supertokens-website calls: `POST {base}/session/refresh`
//! (FDI §7) and `POST {base}/signout` (FDI §8).

use std::sync::atomic::{AtomicBool, Ordering};

use axum::Json;
use axum::Router;
use axum::extract::{OriginalUri, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::request::Parts;
use serde_json::{Value, json};
use tessera::{AntiCsrfMode, RefreshRequest, UnauthorisedReason};

use crate::config::{
    DEFAULT_API_BASE_PATH, TokenTransferMethod, TokenTransferPolicy, normalise_base_path,
    refresh_path, signout_path,
};
use crate::error::{Error, UnauthorisedCause};
use crate::extract::options::SessionOptions;
use crate::extract::verify::verify_request;
use crate::layer::{RequestContext, context};
use crate::rate_limit::RefreshRateLimit;
use crate::transport::names::{
    ACCESS_TOKEN_COOKIE, ANTI_CSRF_HEADER, LEGACY_ID_REFRESH_TOKEN_COOKIE, REFRESH_TOKEN_COOKIE,
};
use crate::transport::read::{
    bearer_token, cookie_value, cookie_values, has_cookie, has_rid, header_str,
};
use crate::transport::write::{Mutation, attach};

/// The body of the refresh answer that clears duplicated cookies.
const DUPLICATE_COOKIES_MESSAGE: &str = "The request contains multiple session cookies. We are clearing the cookie from older_cookie_domain. Session will be refreshed in the next refresh call.";

/// `POST /auth/session/refresh` and `POST /auth/signout`. Merge into the
/// app and put [`SessionLayer`](crate::SessionLayer) around it.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    routes_with(DEFAULT_API_BASE_PATH)
}

/// The refresh and signout routes under another base path. The layer must
/// use the same path ([`SessionLayer::api_base_path`](crate::SessionLayer::api_base_path)),
/// or the browser will not send the refresh cookie; [`SessionLayer::routes`](crate::SessionLayer::routes)
/// does both at once.
pub fn routes_with<S>(base_path: &str) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    routes_limited(base_path, None)
}

/// The routes, with an optional rate limit on the refresh route.
pub(crate) fn routes_limited<S>(base_path: &str, limit: Option<&RefreshRateLimit>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let base = normalise_base_path(base_path);
    let refresh_route = match limit {
        Some(limit) => limit.apply(post(refresh)),
        None => post(refresh),
    };
    Router::new()
        .route(&refresh_path(&base), refresh_route)
        .route(&signout_path(&base), post(signout))
}

/// Refreshes the session (FDI §7). No body needed.
///
/// 1. Duplicated session cookies (unless only headers are allowed): expire
///    them on `older_cookie_domain` and answer `200 {"message":…}` with no
///    `front-token`; without that setting, 500.
/// 2. The refresh token: `Authorization: Bearer` first, then the
///    `sRefreshToken` cookie. None: `401 unauthorised`, both methods
///    cleared (and the legacy `sIdRefreshToken` cookie).
/// 3. `ViaCustomHeader` and a cookie token: a missing `rid` is
///    `401 unauthorised` + clear.
/// 4. The engine rotates (checking the anti-CSRF token with `ViaToken` in
///    cookie mode). Theft: `401 token theft detected`, session revoked,
///    both cleared; any other refusal: `401 unauthorised`, both cleared.
/// 5. Success: clear the other method where it held a refresh token, then
///    attach the new tokens and `front-token` in the request's method;
///    `200 {}`.
async fn refresh(req: Request) -> Result<Response, Error> {
    let (parts, _body) = req.into_parts();
    let ctx = context(&parts.extensions)?;
    warn_if_path_differs(&ctx, &parts);
    let headers = &parts.headers;
    let config = ctx.config();

    if config.transfer_policy != TokenTransferPolicy::Header {
        let duplicated: Vec<&'static str> = [ACCESS_TOKEN_COOKIE, REFRESH_TOKEN_COOKIE]
            .into_iter()
            .filter(|name| cookie_values(headers, name).len() > 1)
            .collect();
        if !duplicated.is_empty() {
            let Some(domain) = &config.older_cookie_domain else {
                return Err(Error::DuplicateSessionCookies);
            };
            ctx.queue(
                duplicated
                    .into_iter()
                    .map(|name| Mutation::ClearOnOlderDomain {
                        name,
                        domain: domain.clone(),
                    }),
            );
            return Ok(Json(json!({ "message": DUPLICATE_COOKIES_MESSAGE })).into_response());
        }
    }

    let in_header = bearer_token(headers);
    let in_cookie = cookie_value(headers, REFRESH_TOKEN_COOKIE);
    let legacy = has_cookie(headers, LEGACY_ID_REFRESH_TOKEN_COOKIE);
    let policy = config.transfer_policy;
    let chosen = match (
        in_header.filter(|_| policy.allows(TokenTransferMethod::Header)),
        in_cookie
            .as_deref()
            .filter(|_| policy.allows(TokenTransferMethod::Cookie)),
    ) {
        (Some(t), _) => Some((TokenTransferMethod::Header, t)),
        (None, Some(t)) => Some((TokenTransferMethod::Cookie, t)),
        (None, None) => None,
    };
    let Some((method, token)) = chosen else {
        if legacy {
            ctx.queue([Mutation::ClearLegacyIdRefreshToken]);
        }
        return Err(Error::Unauthorised {
            cause: UnauthorisedCause::Engine(UnauthorisedReason::NoToken),
            clear_tokens: true,
        });
    };

    if method == TokenTransferMethod::Cookie
        && ctx.shared.anti_csrf() == AntiCsrfMode::ViaCustomHeader
        && !has_rid(headers)
    {
        return Err(Error::Unauthorised {
            cause: UnauthorisedCause::MissingRidHeader,
            clear_tokens: true,
        });
    }

    let refreshed = ctx
        .manager()
        .refresh_session_with(RefreshRequest {
            refresh_token: token,
            anti_csrf_token: header_str(headers, ANTI_CSRF_HEADER),
            enable_anti_csrf: Some(ctx.shared.anti_csrf_tokens(method)),
            use_dynamic_signing_key: None,
        })
        .await;
    let created = match refreshed {
        Ok(created) => created,
        Err(e) => {
            let err = match Error::from(e) {
                // Every refusal at refresh clears (FDI §7).
                Error::Unauthorised { cause, .. } => Error::Unauthorised {
                    cause,
                    clear_tokens: true,
                },
                other => other,
            };
            let clears = matches!(
                err,
                Error::Unauthorised { .. } | Error::TokenTheftDetected { .. }
            );
            if legacy && clears {
                ctx.queue([Mutation::ClearLegacyIdRefreshToken]);
            }
            return Err(err);
        }
    };

    let mut mutations = Vec::new();
    let other_had_token = match method.other() {
        TokenTransferMethod::Cookie => in_cookie.is_some(),
        TokenTransferMethod::Header => in_header.is_some(),
    };
    if other_had_token {
        mutations.push(Mutation::Clear(method.other()));
    }
    mutations.extend(attach(method, &created));
    if legacy {
        mutations.push(Mutation::ClearLegacyIdRefreshToken);
    }
    ctx.queue(mutations);
    tracing::debug!(target: "tessera::refresh", session_handle = ?created.handle(), method = method.as_str(), "session refreshed");
    Ok(Json(json!({})).into_response())
}

/// Signs out (FDI §8): verifies the session (anti-CSRF yes, claims no),
/// revokes it, clears the tokens of the method it came in, and answers
/// `200 {"status":"OK"}`. No session: `401 unauthorised`, nothing cleared;
/// an expired one: `401 try refresh token`.
async fn signout(req: Request) -> Result<Json<Value>, Error> {
    let (parts, _body) = req.into_parts();
    let ctx = context(&parts.extensions)?;
    let options = SessionOptions::new().validate_claims(false);
    let session = verify_request(&ctx, &parts, &options)
        .await?
        .ok_or_else(Error::no_token)?;
    session.revoke_session().await?;
    Ok(Json(json!({ "status": "OK" })))
}

/// Logs once when the refresh route is mounted at another path than the
/// layer's refresh-cookie path (the browser would not send the cookie).
fn warn_if_path_differs(ctx: &RequestContext, parts: &Parts) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    let path = parts
        .extensions
        .get::<OriginalUri>()
        .map_or_else(|| parts.uri.path(), |u| u.0.path());
    if path != ctx.config().refresh_path && !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            target: "tessera::config",
            route = path,
            cookie_path = %ctx.config().refresh_path,
            "the refresh route is not at the refresh cookie's path; use SessionLayer::routes() or the same api_base_path"
        );
    }
}
