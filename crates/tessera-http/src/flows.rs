//! The two endpoints supertokens-website calls, as flows on a request:
//! refresh (FDI §7) and signout (FDI §8). An adapter mounts them at
//! `POST {base}/session/refresh` and `POST {base}/signout` and answers
//! `200` with the returned JSON body, or the error.

use std::sync::Arc;

use serde_json::{Value, json};
use tessera::{RefreshRequest, UnauthorisedReason};

use crate::config::{TokenTransferMethod, TokenTransferPolicy};
use crate::context::RequestContext;
use crate::error::{Error, UnauthorisedCause};
use crate::names::{
    ACCESS_TOKEN_COOKIE, ANTI_CSRF_HEADER, LEGACY_ID_REFRESH_TOKEN_COOKIE, REFRESH_TOKEN_COOKIE,
};
use crate::options::SessionOptions;
use crate::request::{RequestView, bearer_token, cookie_value, cookie_values, has_cookie, has_rid};
use crate::session::Session;
use crate::write::{Mutation, attach};

/// The body of the refresh answer that clears duplicated cookies.
const DUPLICATE_COOKIES_MESSAGE: &str = "The request contains multiple session cookies. We are clearing the cookie from older_cookie_domain. Session will be refreshed in the next refresh call.";

impl RequestContext {
    /// Refreshes the session (FDI §7); the `200` body on success. No
    /// request body needed.
    ///
    /// 1. Duplicated session cookies (unless only headers are allowed):
    ///    expire them on `older_cookie_domain` and answer
    ///    `200 {"message":…}` with no `front-token`; without that setting,
    ///    500.
    /// 2. The refresh token: `Authorization: Bearer` first, then the
    ///    `sRefreshToken` cookie. None: `401 unauthorised`, both methods
    ///    cleared (and the legacy `sIdRefreshToken` cookie).
    /// 3. `ViaCustomHeader` and a cookie token: a missing `rid` is
    ///    `401 unauthorised` + clear.
    /// 4. The engine rotates (checking the anti-CSRF token with `ViaToken`
    ///    in cookie mode). Theft: `401 token theft detected`, session
    ///    revoked, both cleared; any other refusal: `401 unauthorised`, both
    ///    cleared.
    /// 5. Success: clear the other method where it held a refresh token,
    ///    then attach the new tokens and `front-token` in the request's
    ///    method; `200 {}`.
    pub async fn refresh(&self, req: &impl RequestView) -> Result<Value, Error> {
        self.fdi().warn_if_refresh_path_differs(req.path());
        let config = self.config();
        let policy = config.transfer_policy;

        if policy != TokenTransferPolicy::Header {
            let duplicated: Vec<&'static str> = [ACCESS_TOKEN_COOKIE, REFRESH_TOKEN_COOKIE]
                .into_iter()
                .filter(|name| cookie_values(req, name).len() > 1)
                .collect();
            if !duplicated.is_empty() {
                let Some(domain) = &config.older_cookie_domain else {
                    return Err(Error::DuplicateSessionCookies);
                };
                self.queue(
                    duplicated
                        .into_iter()
                        .map(|name| Mutation::ClearOnOlderDomain {
                            name,
                            domain: domain.clone(),
                        }),
                );
                return Ok(json!({ "message": DUPLICATE_COOKIES_MESSAGE }));
            }
        }

        let in_header = bearer_token(req);
        let in_cookie = cookie_value(req, REFRESH_TOKEN_COOKIE);
        let legacy = has_cookie(req, LEGACY_ID_REFRESH_TOKEN_COOKIE);
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
                self.queue([Mutation::ClearLegacyIdRefreshToken]);
            }
            return Err(Error::Unauthorised {
                cause: UnauthorisedCause::Engine(UnauthorisedReason::NoToken),
                clear_tokens: true,
            });
        };

        if method == TokenTransferMethod::Cookie
            && self.fdi().anti_csrf_mode() == tessera::AntiCsrfMode::ViaCustomHeader
            && !has_rid(req)
        {
            return Err(Error::Unauthorised {
                cause: UnauthorisedCause::MissingRidHeader,
                clear_tokens: true,
            });
        }

        let refreshed = self
            .manager()
            .refresh_session_as(
                RefreshRequest {
                    refresh_token: token,
                    anti_csrf_token: req.header(ANTI_CSRF_HEADER),
                    enable_anti_csrf: Some(self.fdi().anti_csrf_tokens(method)),
                    use_dynamic_signing_key: None,
                },
                self.fdi().model(),
            )
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
                    self.queue([Mutation::ClearLegacyIdRefreshToken]);
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
        self.queue(mutations);
        tracing::debug!(target: "tessera::refresh", session_handle = ?created.handle(), method = method.as_str(), "session refreshed");
        Ok(json!({}))
    }

    /// Signs out (FDI §8): verifies the session (anti-CSRF yes, claims no),
    /// revokes it, clears the tokens of the method it came in; the `200`
    /// body is `{"status":"OK"}`. No session: `401 unauthorised`, nothing
    /// cleared; an expired one: `401 try refresh token`.
    pub async fn signout(self: &Arc<Self>, req: &impl RequestView) -> Result<Value, Error> {
        let options = SessionOptions::new().validate_claims(false);
        let session: Session<Error> = self
            .verify(req, &options)
            .await?
            .ok_or_else(Error::no_token)?;
        session.revoke_session().await?;
        Ok(json!({ "status": "OK" }))
    }
}
