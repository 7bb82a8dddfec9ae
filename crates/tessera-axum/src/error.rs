//! [`Error`]: the crate's one error type, and its HTTP form.
//!
//! Every variant has a fixed status and SuperTokens' JSON body (FDI §9):
//!
//! | variant | status | body | tokens cleared |
//! |---|---|---|---|
//! | [`Error::Unauthorised`] | 401 | `{"message":"unauthorised"}` | both transfer methods when `clear_tokens` |
//! | [`Error::TryRefreshToken`] | 401 | `{"message":"try refresh token"}` | no |
//! | [`Error::TokenTheftDetected`] | 401 | `{"message":"token theft detected"}` | both |
//! | [`Error::InvalidClaim`] | 403 | `{"message":"invalid claim","claimValidationErrors":[…]}` | no |
//! | [`Error::InvalidInput`] | 400 | `{"message":"<text>"}` | no |
//! | everything else | 500 | `{"message":"internal error"}` | no |
//!
//! The 401 and 403 statuses are the defaults; [`SessionLayer`](crate::SessionLayer)
//! replaces them with its configured codes and does the clearing (an error
//! response carries a marker that the layer reads). Every rejection emits a
//! tracing event on target `tessera::rejection`; the reasons in the variants
//! are for those logs and for tests, never for the wire. No token is ever
//! logged.

use std::fmt;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{Value, json};

use crate::claims::ClaimValidationError;

/// Why a request was refused as unauthorised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnauthorisedCause {
    /// The engine's verdict (no token, invalid token, revoked session, bad
    /// refresh token, …).
    Engine(tessera::UnauthorisedReason),
    /// A cookie-mode refresh without the `rid` header while the anti-CSRF
    /// mode is `ViaCustomHeader`.
    MissingRidHeader,
}

impl fmt::Display for UnauthorisedCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Engine(r) => fmt::Display::fmt(r, f),
            Self::MissingRidHeader => f.write_str("rid header missing on a cookie refresh"),
        }
    }
}

/// Why the client should refresh its session and retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TryRefreshCause {
    /// The engine's verdict (expired token, unknown signing key, anti-CSRF
    /// token missing or wrong).
    Engine(tessera::TryRefreshReason),
    /// A non-GET cookie request without the `rid` header while the
    /// anti-CSRF mode is `ViaCustomHeader`.
    MissingRidHeader,
    /// More than one `sAccessToken` cookie: the refresh call clears the
    /// stale one (with `older_cookie_domain`).
    MultipleAccessTokenCookies,
    /// A legacy `sIdRefreshToken` cookie: the refresh call removes it.
    LegacyIdRefreshTokenCookie,
}

impl fmt::Display for TryRefreshCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Engine(r) => fmt::Display::fmt(r, f),
            Self::MissingRidHeader => {
                f.write_str("rid header missing (anti-csrf via custom header)")
            }
            Self::MultipleAccessTokenCookies => f.write_str("more than one sAccessToken cookie"),
            Self::LegacyIdRefreshTokenCookie => {
                f.write_str("legacy sIdRefreshToken cookie present")
            }
        }
    }
}

/// Everything that can go wrong in `tessera-axum`; implements
/// [`IntoResponse`] with SuperTokens' statuses and bodies.
///
/// Engine errors convert with `?` (`From<tessera::Error>`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No valid session: `401 {"message":"unauthorised"}`.
    #[error("unauthorised: {cause}")]
    Unauthorised {
        /// Why (for logs).
        cause: UnauthorisedCause,
        /// Whether the session tokens of both transfer methods are cleared
        /// on the response (`front-token: remove`).
        clear_tokens: bool,
    },
    /// The access token cannot be used as it is:
    /// `401 {"message":"try refresh token"}`, nothing cleared.
    #[error("try refresh token: {cause}")]
    TryRefreshToken {
        /// Why (for logs).
        cause: TryRefreshCause,
    },
    /// A retired refresh token was replayed; the engine revoked the session.
    /// `401 {"message":"token theft detected"}`, both methods cleared.
    #[error("token theft detected for session {session_handle}")]
    TokenTheftDetected {
        /// The revoked session.
        session_handle: String,
        /// Its user.
        user_id: String,
    },
    /// Claim validation failed: `403 {"message":"invalid claim",
    /// "claimValidationErrors":[…]}`, nothing cleared.
    #[error("invalid claim ({} failed)", .0.len())]
    InvalidClaim(Vec<ClaimValidationError>),
    /// The caller passed something the engine refuses (a payload that is not
    /// an object, a protected claim, an id with control characters …):
    /// `400 {"message":"<text>"}`.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The request carries the same session cookie more than once and no
    /// `older_cookie_domain` is configured to clear the stale one
    /// (SuperTokens answers this with a 500 too).
    #[error(
        "the request carries duplicate session cookies and no older_cookie_domain is configured"
    )]
    DuplicateSessionCookies,
    /// [`SessionLayer`](crate::SessionLayer) is not installed around this
    /// route: a programming error, answered with 500.
    #[error("SessionLayer is not installed around this route")]
    MissingLayer,
    /// The store failed or another internal engine error: 500, details only
    /// in logs.
    #[error("session engine error: {0}")]
    Internal(#[source] tessera::Error),
}

impl From<tessera::Error> for Error {
    /// Maps an engine outcome as verification does: an unauthorised verdict
    /// clears the tokens unless it only means "no token" or "not one of our
    /// tokens" (FDI §9: UNAUTHORISED without clear).
    fn from(e: tessera::Error) -> Self {
        use tessera::UnauthorisedReason as R;
        match e {
            tessera::Error::Unauthorised { reason } => Self::Unauthorised {
                cause: UnauthorisedCause::Engine(reason),
                clear_tokens: !matches!(reason, R::NoToken | R::InvalidAccessToken),
            },
            tessera::Error::TryRefreshToken { reason } => Self::TryRefreshToken {
                cause: TryRefreshCause::Engine(reason),
            },
            tessera::Error::TokenTheftDetected {
                session_handle,
                user_id,
                ..
            } => Self::TokenTheftDetected {
                session_handle,
                user_id,
            },
            tessera::Error::InvalidInput(msg) => Self::InvalidInput(msg),
            other => Self::Internal(other),
        }
    }
}

impl Error {
    /// `Unauthorised` with the tokens cleared: the session is gone.
    pub(crate) fn session_gone() -> Self {
        Self::Unauthorised {
            cause: UnauthorisedCause::Engine(tessera::UnauthorisedReason::SessionRevoked),
            clear_tokens: true,
        }
    }

    /// `Unauthorised` without clearing: no token on the request.
    pub(crate) fn no_token() -> Self {
        Self::Unauthorised {
            cause: UnauthorisedCause::Engine(tessera::UnauthorisedReason::NoToken),
            clear_tokens: false,
        }
    }

    /// The status this error answers with when no layer reconfigures it.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorised { .. }
            | Self::TryRefreshToken { .. }
            | Self::TokenTheftDetected { .. } => StatusCode::UNAUTHORIZED,
            Self::InvalidClaim(_) => StatusCode::FORBIDDEN,
            Self::InvalidInput(_) => StatusCode::BAD_REQUEST,
            Self::DuplicateSessionCookies | Self::MissingLayer | Self::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn body(&self) -> Value {
        match self {
            Self::Unauthorised { .. } => json!({ "message": "unauthorised" }),
            Self::TryRefreshToken { .. } => json!({ "message": "try refresh token" }),
            Self::TokenTheftDetected { .. } => json!({ "message": "token theft detected" }),
            Self::InvalidClaim(errors) => json!({
                "message": "invalid claim",
                "claimValidationErrors": errors,
            }),
            Self::InvalidInput(msg) => json!({ "message": msg }),
            Self::DuplicateSessionCookies | Self::MissingLayer | Self::Internal(_) => {
                json!({ "message": "internal error" })
            }
        }
    }

    fn marker(&self) -> Option<Rejection> {
        match self {
            Self::Unauthorised { clear_tokens, .. } => Some(Rejection {
                kind: RejectionKind::SessionExpired,
                clear_tokens: *clear_tokens,
            }),
            Self::TryRefreshToken { .. } => Some(Rejection {
                kind: RejectionKind::SessionExpired,
                clear_tokens: false,
            }),
            Self::TokenTheftDetected { .. } => Some(Rejection {
                kind: RejectionKind::SessionExpired,
                clear_tokens: true,
            }),
            Self::InvalidClaim(_) => Some(Rejection {
                kind: RejectionKind::InvalidClaim,
                clear_tokens: false,
            }),
            _ => None,
        }
    }

    fn trace(&self) {
        match self {
            Self::Unauthorised {
                cause,
                clear_tokens,
            } => {
                tracing::debug!(target: "tessera::rejection", %cause, clear_tokens, "401 unauthorised")
            }
            Self::TryRefreshToken { cause } => {
                tracing::debug!(target: "tessera::rejection", %cause, "401 try refresh token");
            }
            Self::TokenTheftDetected {
                session_handle,
                user_id,
            } => tracing::warn!(
                target: "tessera::rejection",
                session_handle = ?session_handle,
                user_id = ?user_id,
                "401 token theft detected: session revoked, tokens cleared"
            ),
            Self::InvalidClaim(errors) => {
                let ids: Vec<&str> = errors.iter().map(|e| e.id.as_str()).collect();
                tracing::debug!(target: "tessera::rejection", claims = ?ids, "403 invalid claim");
            }
            Self::InvalidInput(msg) => {
                tracing::debug!(target: "tessera::rejection", message = ?msg, "400 invalid input");
            }
            Self::DuplicateSessionCookies | Self::MissingLayer => {
                tracing::error!(target: "tessera::rejection", error = %self, "500 internal error");
            }
            Self::Internal(e) => {
                tracing::error!(target: "tessera::rejection", error = ?e.to_string(), "500 internal error");
            }
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        self.trace();
        let mut res = (self.status(), Json(self.body())).into_response();
        if let Some(marker) = self.marker() {
            res.extensions_mut().insert(marker);
        }
        res
    }
}

/// What [`SessionLayer`](crate::SessionLayer) must do to an error response:
/// put on the configured status, clear tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rejection {
    pub(crate) kind: RejectionKind,
    pub(crate) clear_tokens: bool,
}

/// Which configured status a rejection takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RejectionKind {
    /// `session_expired_status` (default 401).
    SessionExpired,
    /// `invalid_claim_status` (default 403).
    InvalidClaim,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_no_token_maps_to_unauthorised_without_clearing() {
        let e = Error::from(tessera::Error::Unauthorised {
            reason: tessera::UnauthorisedReason::NoToken,
        });
        assert!(matches!(
            e,
            Error::Unauthorised {
                clear_tokens: false,
                ..
            }
        ));
    }

    #[test]
    fn engine_revoked_session_maps_to_unauthorised_with_clearing() {
        let e = Error::from(tessera::Error::Unauthorised {
            reason: tessera::UnauthorisedReason::SessionRevoked,
        });
        assert!(matches!(
            e,
            Error::Unauthorised {
                clear_tokens: true,
                ..
            }
        ));
    }

    #[test]
    fn store_failures_answer_500_with_a_generic_body() {
        let e = Error::Internal(tessera::Error::CorruptData("secret detail".into()));
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(e.body(), json!({"message": "internal error"}));
    }

    /// Captures what a `fmt` subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn rejections_emit_a_trace_event_on_the_rejection_target() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let res = Error::no_token().into_response();
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
            let res = Error::Internal(tessera::Error::CorruptData("row 7".into())).into_response();
            assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        });
        let out = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(out.contains("tessera::rejection"), "{out}");
        assert!(out.contains("401 unauthorised"), "{out}");
        // Details of internal errors go to the log only.
        assert!(out.contains("row 7"), "{out}");
    }

    #[test]
    fn untrusted_strings_in_rejection_logs_are_escaped() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let evil = "evil\n2026-01-01T00:00:00Z  WARN tessera::theft: forged\x1b[31m";
        tracing::subscriber::with_default(subscriber, || {
            let theft = Error::TokenTheftDetected {
                session_handle: evil.into(),
                user_id: evil.into(),
            };
            assert_eq!(theft.into_response().status(), StatusCode::UNAUTHORIZED);
            let bad = Error::InvalidInput(evil.into());
            assert_eq!(bad.into_response().status(), StatusCode::BAD_REQUEST);
            let internal = Error::Internal(tessera::Error::CorruptData(evil.into()));
            assert_eq!(
                internal.into_response().status(),
                StatusCode::INTERNAL_SERVER_ERROR
            );
        });
        let out = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(out.contains("token theft detected"), "{out}");
        assert!(!out.contains('\x1b'), "{out}");
        assert!(!out.lines().any(|l| l.starts_with("2026-01-01")), "{out}");
    }

    #[test]
    fn invalid_claim_body_leaves_out_null_reasons() {
        let e = Error::InvalidClaim(vec![
            ClaimValidationError::new("st-role", None),
            ClaimValidationError::new("st-perm", Some(json!({"message": "wrong"}))),
        ]);
        assert_eq!(
            e.body().to_string(),
            r#"{"claimValidationErrors":[{"id":"st-role"},{"id":"st-perm","reason":{"message":"wrong"}}],"message":"invalid claim"}"#
        );
    }
}
