//! The FDI's error: every variant with SuperTokens' status and JSON body
//! (FDI §9), written once as a macro so that each adapter can have an error
//! type of its own (one its framework's response trait can be implemented
//! on) with exactly these variants and rules.
//!
//! | variant | status | body | tokens cleared |
//! |---|---|---|---|
//! | `Unauthorised` | 401 | `{"message":"unauthorised"}` | both transfer methods when `clear_tokens` |
//! | `TryRefreshToken` | 401 | `{"message":"try refresh token"}` | no |
//! | `TokenTheftDetected` | 401 | `{"message":"token theft detected"}` | both |
//! | `InvalidClaim` | 403 | `{"message":"invalid claim","claimValidationErrors":[…]}` | no |
//! | `InvalidInput` | 400 | `{"message":"<text>"}` | no |
//! | `DuplicateSessionCookies` | 500 | `{"message":"The request contains multiple session cookies. …"}` | no |
//! | everything else | 500 | `{"message":"internal error"}` | no |
//!
//! 401 and 403 are the defaults; the request's
//! [`RequestContext::finish`](crate::RequestContext::finish) replaces them
//! with the configured codes and does the clearing, from the
//! [`Rejection`] the error response carries. Every rejection emits a
//! tracing event on target `tessera::rejection`; the reasons in the
//! variants are for those logs and for tests, never for the wire. No token
//! is ever logged.

use std::fmt;

/// The message of the 500 a refresh answers when the request carries a
/// session cookie twice and no `older_cookie_domain` is configured. It
/// starts with SuperTokens' sentence (supertokens-website's tests look for
/// it) and says how to fix the cause.
pub const DUPLICATE_SESSION_COOKIES_MESSAGE: &str = "The request contains multiple session cookies. \
     Probably the cookie domain changed; set older_cookie_domain to clear the \
     cookies of the previous domain.";

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

/// What the request's end must do to an error response: put on the
/// configured status, clear tokens. An adapter carries it from the error
/// response to [`RequestContext::finish`](crate::RequestContext::finish)
/// (in the response's extensions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejection {
    /// Which configured status the response takes.
    pub kind: RejectionKind,
    /// Whether both transfer methods' tokens are cleared.
    pub clear_tokens: bool,
}

/// Which configured status a rejection takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    /// `session_expired_status` (default 401).
    SessionExpired,
    /// `invalid_claim_status` (default 403).
    InvalidClaim,
}

/// An error's HTTP form: the default status, the JSON body, and the
/// marker for the request's end.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorResponse {
    /// The default status (the configured one is put on at the end).
    pub status: u16,
    /// The JSON body, serialised.
    pub body: String,
    /// Status and clearing for [`RequestContext::finish`](crate::RequestContext::finish).
    pub rejection: Option<Rejection>,
}

/// Defines an FDI error type with the given name: the variants, their
/// statuses and bodies, `Display`, `std::error::Error`, `From` the engine's
/// error, and conversions to and from [`tessera_http::Error`](crate::Error).
/// An adapter calls it once for its own `Error` (so that its framework's
/// response trait can be implemented on it); nothing of the rules is
/// written in the adapter.
#[macro_export]
macro_rules! fdi_error {
    (@enum $(#[$meta:meta])* $vis:vis $name:ident) => {
        $(#[$meta])*
        #[derive(Debug)]
        $vis enum $name {
            /// No valid session: `401 {"message":"unauthorised"}`.
            Unauthorised {
                /// Why (for logs).
                cause: $crate::UnauthorisedCause,
                /// Whether the session tokens of both transfer methods are
                /// cleared on the response (`front-token: remove`).
                clear_tokens: bool,
            },
            /// The access token cannot be used as it is:
            /// `401 {"message":"try refresh token"}`, nothing cleared.
            TryRefreshToken {
                /// Why (for logs).
                cause: $crate::TryRefreshCause,
            },
            /// A retired refresh token was replayed; the engine revoked the
            /// session. `401 {"message":"token theft detected"}`, both
            /// methods cleared.
            TokenTheftDetected {
                /// The revoked session.
                session_handle: ::std::string::String,
                /// Its user.
                user_id: ::std::string::String,
            },
            /// Claim validation failed: `403 {"message":"invalid claim",
            /// "claimValidationErrors":[…]}`, nothing cleared.
            InvalidClaim(::std::vec::Vec<$crate::ClaimValidationError>),
            /// The caller passed something the engine refuses (a payload
            /// that is not an object, a protected claim, an id with control
            /// characters …): `400 {"message":"<text>"}`.
            InvalidInput(::std::string::String),
            /// The request carries the same session cookie more than once
            /// and no `older_cookie_domain` is configured to clear the stale
            /// one: `500 {"message":"The request contains multiple session
            /// cookies. …"}` (SuperTokens answers a 500 with that text too,
            /// and supertokens-website's tests look for it; it names no
            /// token, so it is safe to send).
            DuplicateSessionCookies,
            /// The session middleware (`SessionLayer`, `SessionMiddleware`)
            /// is not installed around this route: a programming error,
            /// answered with 500.
            MissingLayer,
            /// The store failed or another internal engine error: 500,
            /// details only in logs.
            Internal($crate::tessera::Error),
        }

        impl $name {
            /// The JSON body.
            pub fn body(&self) -> $crate::__private::serde_json::Value {
                use $crate::__private::serde_json::json;
                match self {
                    Self::Unauthorised { .. } => json!({ "message": "unauthorised" }),
                    Self::TryRefreshToken { .. } => json!({ "message": "try refresh token" }),
                    Self::TokenTheftDetected { .. } => json!({ "message": "token theft detected" }),
                    Self::InvalidClaim(errors) => json!({
                        "message": "invalid claim",
                        "claimValidationErrors": errors,
                    }),
                    Self::InvalidInput(msg) => json!({ "message": msg }),
                    Self::DuplicateSessionCookies => {
                        json!({ "message": $crate::DUPLICATE_SESSION_COOKIES_MESSAGE })
                    }
                    Self::MissingLayer | Self::Internal(_) => {
                        json!({ "message": "internal error" })
                    }
                }
            }

            /// The marker for the request's end: configured status and clearing.
            pub fn rejection(&self) -> ::core::option::Option<$crate::Rejection> {
                let (kind, clear_tokens) = match self {
                    Self::Unauthorised { clear_tokens, .. } => {
                        ($crate::RejectionKind::SessionExpired, *clear_tokens)
                    }
                    Self::TryRefreshToken { .. } => ($crate::RejectionKind::SessionExpired, false),
                    Self::TokenTheftDetected { .. } => ($crate::RejectionKind::SessionExpired, true),
                    Self::InvalidClaim(_) => ($crate::RejectionKind::InvalidClaim, false),
                    _ => return ::core::option::Option::None,
                };
                ::core::option::Option::Some($crate::Rejection { kind, clear_tokens })
            }

            /// The HTTP form of this error (emits the `tessera::rejection` event).
            pub fn respond(&self) -> $crate::ErrorResponse {
                self.trace();
                $crate::ErrorResponse {
                    status: self.status_code(),
                    body: self.body().to_string(),
                    rejection: self.rejection(),
                }
            }

            fn trace(&self) {
                match self {
                    Self::Unauthorised {
                        cause,
                        clear_tokens,
                    } => {
                        $crate::__private::tracing::debug!(target: "tessera::rejection", %cause, clear_tokens, "401 unauthorised")
                    }
                    Self::TryRefreshToken { cause } => {
                        $crate::__private::tracing::debug!(target: "tessera::rejection", %cause, "401 try refresh token");
                    }
                    Self::TokenTheftDetected {
                        session_handle,
                        user_id,
                    } => $crate::__private::tracing::warn!(
                        target: "tessera::rejection",
                        session_handle = ?session_handle,
                        user_id = ?user_id,
                        "401 token theft detected: session revoked, tokens cleared"
                    ),
                    Self::InvalidClaim(errors) => {
                        let ids: ::std::vec::Vec<&str> = errors.iter().map(|e| e.id.as_str()).collect();
                        $crate::__private::tracing::debug!(target: "tessera::rejection", claims = ?ids, "403 invalid claim");
                    }
                    Self::InvalidInput(msg) => {
                        $crate::__private::tracing::debug!(target: "tessera::rejection", message = ?msg, "400 invalid input");
                    }
                    Self::DuplicateSessionCookies | Self::MissingLayer => {
                        $crate::__private::tracing::error!(target: "tessera::rejection", error = %self, "500 internal error");
                    }
                    Self::Internal(e) => {
                        $crate::__private::tracing::error!(target: "tessera::rejection", error = ?e.to_string(), "500 internal error");
                    }
                }
            }

            /// The status this error answers with when no configuration
            /// replaces it.
            pub fn status_code(&self) -> u16 {
                match self {
                    Self::Unauthorised { .. }
                    | Self::TryRefreshToken { .. }
                    | Self::TokenTheftDetected { .. } => 401,
                    Self::InvalidClaim(_) => 403,
                    Self::InvalidInput(_) => 400,
                    Self::DuplicateSessionCookies | Self::MissingLayer | Self::Internal(_) => 500,
                }
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match self {
                    Self::Unauthorised { cause, .. } => write!(f, "unauthorised: {cause}"),
                    Self::TryRefreshToken { cause } => write!(f, "try refresh token: {cause}"),
                    Self::TokenTheftDetected { session_handle, .. } => {
                        write!(f, "token theft detected for session {session_handle}")
                    }
                    Self::InvalidClaim(errors) => write!(f, "invalid claim ({} failed)", errors.len()),
                    Self::InvalidInput(msg) => write!(f, "invalid input: {msg}"),
                    Self::DuplicateSessionCookies => f.write_str(
                        "the request carries duplicate session cookies and no older_cookie_domain is configured",
                    ),
                    Self::MissingLayer => f.write_str("the session middleware is not installed around this route"),
                    Self::Internal(e) => write!(f, "session engine error: {e}"),
                }
            }
        }

        impl ::std::error::Error for $name {
            fn source(&self) -> ::core::option::Option<&(dyn ::std::error::Error + 'static)> {
                match self {
                    Self::Internal(e) => ::core::option::Option::Some(e),
                    _ => ::core::option::Option::None,
                }
            }
        }

        impl ::core::convert::From<$crate::tessera::Error> for $name {
            /// Maps an engine outcome as verification does: an unauthorised
            /// verdict clears the tokens unless it only means "no token" or
            /// "not one of our tokens" (FDI §9: UNAUTHORISED without clear).
            fn from(e: $crate::tessera::Error) -> Self {
                use $crate::tessera::UnauthorisedReason as R;
                match e {
                    $crate::tessera::Error::Unauthorised { reason } => Self::Unauthorised {
                        cause: $crate::UnauthorisedCause::Engine(reason),
                        clear_tokens: !matches!(reason, R::NoToken | R::InvalidAccessToken),
                    },
                    $crate::tessera::Error::TryRefreshToken { reason } => Self::TryRefreshToken {
                        cause: $crate::TryRefreshCause::Engine(reason),
                    },
                    $crate::tessera::Error::TokenTheftDetected {
                        session_handle,
                        user_id,
                        ..
                    } => Self::TokenTheftDetected {
                        session_handle,
                        user_id,
                    },
                    $crate::tessera::Error::InvalidInput(msg) => Self::InvalidInput(msg),
                    other => Self::Internal(other),
                }
            }
        }
    };
    ($(#[$meta:meta])* $vis:vis $name:ident) => {
        $crate::fdi_error!(@enum $(#[$meta])* #[non_exhaustive] $vis $name);

        impl ::core::convert::From<$crate::Error> for $name {
            fn from(e: $crate::Error) -> Self {
                match e {
                    $crate::Error::Unauthorised { cause, clear_tokens } => Self::Unauthorised { cause, clear_tokens },
                    $crate::Error::TryRefreshToken { cause } => Self::TryRefreshToken { cause },
                    $crate::Error::TokenTheftDetected { session_handle, user_id } => Self::TokenTheftDetected { session_handle, user_id },
                    $crate::Error::InvalidClaim(errors) => Self::InvalidClaim(errors),
                    $crate::Error::InvalidInput(msg) => Self::InvalidInput(msg),
                    $crate::Error::DuplicateSessionCookies => Self::DuplicateSessionCookies,
                    $crate::Error::MissingLayer => Self::MissingLayer,
                    $crate::Error::Internal(e) => Self::Internal(e),
                }
            }
        }

        impl ::core::convert::From<$name> for $crate::Error {
            fn from(e: $name) -> Self {
                match e {
                    $name::Unauthorised { cause, clear_tokens } => Self::Unauthorised { cause, clear_tokens },
                    $name::TryRefreshToken { cause } => Self::TryRefreshToken { cause },
                    $name::TokenTheftDetected { session_handle, user_id } => Self::TokenTheftDetected { session_handle, user_id },
                    $name::InvalidClaim(errors) => Self::InvalidClaim(errors),
                    $name::InvalidInput(msg) => Self::InvalidInput(msg),
                    $name::DuplicateSessionCookies => Self::DuplicateSessionCookies,
                    $name::MissingLayer => Self::MissingLayer,
                    $name::Internal(e) => Self::Internal(e),
                }
            }
        }

    };

}

fdi_error!(
    @enum
    /// Everything that can go wrong in the FDI; adapters have an error type
    /// of their own with the same variants ([`fdi_error!`]).
    ///
    /// Engine errors convert with `?` (`From<tessera::Error>`). Exhaustive
    /// on purpose: the adapters' copies convert variant by variant.
    pub Error
);

impl Error {
    /// `Unauthorised` with the tokens cleared: the session is gone.
    pub fn session_gone() -> Self {
        Self::Unauthorised {
            cause: UnauthorisedCause::Engine(tessera::UnauthorisedReason::SessionRevoked),
            clear_tokens: true,
        }
    }

    /// `Unauthorised` without clearing: no token on the request.
    pub fn no_token() -> Self {
        Self::Unauthorised {
            cause: UnauthorisedCause::Engine(tessera::UnauthorisedReason::NoToken),
            clear_tokens: false,
        }
    }
}

/// An engine error as an adapter's error type.
pub(crate) fn engine_error<E: From<Error>>(e: tessera::Error) -> E {
    E::from(Error::from(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClaimValidationError;
    use serde_json::json;

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
        assert_eq!(e.status_code(), 500);
        assert_eq!(e.body(), json!({"message": "internal error"}));
        assert!(!e.body().to_string().contains("secret"));
    }

    #[test]
    fn rejections_carry_their_clearing() {
        let theft = Error::TokenTheftDetected {
            session_handle: "h".into(),
            user_id: "u".into(),
        };
        assert_eq!(
            theft.rejection(),
            Some(Rejection {
                kind: RejectionKind::SessionExpired,
                clear_tokens: true
            })
        );
        assert_eq!(
            Error::InvalidClaim(vec![]).rejection().map(|r| r.kind),
            Some(RejectionKind::InvalidClaim)
        );
        assert_eq!(Error::InvalidInput("x".into()).rejection(), None);
        assert_eq!(Error::InvalidInput("x".into()).status_code(), 400);
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

    fn captured(f: impl FnOnce()) -> String {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            // Another test thread may have met these callsites first, with
            // no subscriber: forget what it cached.
            tracing::callsite::rebuild_interest_cache();
            f()
        });
        let out = captured.0.lock().unwrap().clone();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn rejections_emit_a_trace_event_on_the_rejection_target() {
        let out = captured(|| {
            assert_eq!(Error::no_token().respond().status, 401);
            let internal = Error::Internal(tessera::Error::CorruptData("row 7".into()));
            assert_eq!(internal.respond().status, 500);
        });
        assert!(out.contains("tessera::rejection"), "{out}");
        assert!(out.contains("401 unauthorised"), "{out}");
        // Details of internal errors go to the log only.
        assert!(out.contains("row 7"), "{out}");
    }

    #[test]
    fn untrusted_strings_in_rejection_logs_are_escaped() {
        let evil = "evil\n2026-01-01T00:00:00Z  WARN tessera::theft: forged\x1b[31m";
        let out = captured(|| {
            let theft = Error::TokenTheftDetected {
                session_handle: evil.into(),
                user_id: evil.into(),
            };
            assert_eq!(theft.respond().status, 401);
            assert_eq!(Error::InvalidInput(evil.into()).respond().status, 400);
            let internal = Error::Internal(tessera::Error::CorruptData(evil.into()));
            assert_eq!(internal.respond().status, 500);
        });
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
