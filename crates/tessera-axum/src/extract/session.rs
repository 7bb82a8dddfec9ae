//! [`Session`]: the verified session of a request, as an axum extractor.

use std::ops::Deref;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;

use super::options::SessionOptions;
use crate::error::Error;
use crate::headers::PartsView;
use crate::layer::context;

/// A verified session, as an axum extractor.
///
/// Extracting it verifies the request's access token through the engine
/// (no database call unless blacklisting or
/// [`SessionOptions::check_database`] is on). Without a usable token the
/// handler is not run and the client gets `401 {"message":"unauthorised"}`;
/// an expired token gives `401 {"message":"try refresh token"}`. Use
/// `Option<Session>` when a session is optional: no token gives `None`, but
/// an expired or otherwise bad token is still an error (the client should
/// refresh).
///
/// | method | database calls |
/// |---|---|
/// | [`get_user_id`](tessera_http::Session::get_user_id) | 0 |
/// | [`get_jwt_payload`](tessera_http::Session::get_jwt_payload) | 0 |
/// | [`update_jwt_payload`](tessera_http::Session::update_jwt_payload) | 1 (a new access token goes out on this response) |
/// | [`get_session_data`](tessera_http::Session::get_session_data) | 1 |
/// | [`update_session_data`](tessera_http::Session::update_session_data) | 1 |
/// | [`revoke_session`](tessera_http::Session::revoke_session) | 1 (the tokens are cleared on this response) |
///
/// The methods are the FDI core's [`tessera_http::Session`] (through
/// `Deref`), returning this crate's [`Error`]. Every method takes `&self`;
/// token changes are queued and [`SessionLayer`](crate::SessionLayer)
/// writes them on this request's response, in the transfer method (cookies
/// or headers) the session came in. Clones share the same state.
#[derive(Clone, Debug)]
pub struct Session(tessera_http::Session<Error>);

impl Deref for Session {
    type Target = tessera_http::Session<Error>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl From<Session> for tessera_http::Session<Error> {
    fn from(s: Session) -> Self {
        s.0
    }
}

/// The request's session, `None` without a token.
async fn verify(parts: &Parts) -> Result<Option<Session>, Error> {
    let ctx = context(&parts.extensions)?;
    let options = parts
        .extensions
        .get::<SessionOptions>()
        .map(|o| o.0)
        .unwrap_or_default();
    Ok(ctx.verify(&PartsView(parts), &options).await?.map(Session))
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        verify(parts)
            .await?
            .ok_or_else(|| tessera_http::Error::no_token().into())
    }
}

/// `Option<Session>`: no access token gives `None`; a token that is
/// expired, fails anti-CSRF or belongs to a revoked session is still an
/// error, as with SuperTokens' `session_required=False`.
impl<S: Send + Sync> OptionalFromRequestParts<S> for Session {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        verify(parts).await
    }
}
