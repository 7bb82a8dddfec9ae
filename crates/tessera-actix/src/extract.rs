//! Extractors: [`Session`], [`OptionalSession`], [`Sessions`].

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use tessera_http::{RequestContext, SessionOptions};

use crate::error::Error;
use crate::middleware::ContextHandle;
use crate::view::View;

/// The request's context, or [`Error::MissingLayer`].
pub(crate) fn context(req: &HttpRequest) -> Result<Arc<RequestContext>, Error> {
    req.extensions()
        .get::<ContextHandle>()
        .map(|h| h.0.clone())
        .ok_or(Error::MissingLayer)
}

/// The request's session, `None` without a token. Per-route options come
/// from `app_data::<SessionOptions>()` (e.g. on a `web::scope`).
async fn verify(req: HttpRequest) -> Result<Option<Session>, Error> {
    let ctx = context(&req)?;
    let options = req
        .app_data::<SessionOptions>()
        .copied()
        .unwrap_or_default();
    Ok(ctx.verify(&View(&req), &options).await?.map(Session))
}

/// A verified session, as an actix-web extractor: the FDI core's
/// [`tessera_http::Session`] (through `Deref`) with this crate's [`Error`].
///
/// | method | database calls |
/// |---|---|
/// | `get_user_id` | 0 |
/// | `get_jwt_payload` | 0 |
/// | `update_jwt_payload` | 1 (a new access token goes out on this response) |
/// | `get_session_data` | 1 |
/// | `update_session_data` | 1 |
/// | `revoke_session` | 1 (the tokens are cleared on this response) |
///
/// Without a usable token the handler is not run and the client gets
/// `401 {"message":"unauthorised"}`; an expired token gives
/// `401 {"message":"try refresh token"}`. Verification options for a
/// route: `web::scope(..).app_data(SessionOptions::new().check_database(true))`.
#[derive(Clone, Debug)]
pub struct Session(tessera_http::Session<Error>);

impl Deref for Session {
    type Target = tessera_http::Session<Error>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl FromRequest for Session {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            verify(req)
                .await?
                .ok_or_else(|| tessera_http::Error::no_token().into())
        })
    }
}

/// An optional session: no access token gives `None`; a token that is
/// expired, fails anti-CSRF or belongs to a revoked session is still an
/// error (SuperTokens' `session_required=False`). Plain `Option<Session>`
/// is actix-web's and turns every failure into `None`.
#[derive(Clone, Debug)]
pub struct OptionalSession(pub Option<Session>);

impl FromRequest for OptionalSession {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(Self(verify(req).await?)) })
    }
}

/// Session management on a request, as an actix-web extractor: create a
/// session (its tokens go out on this response), and list, read, update or
/// revoke sessions by handle or by user. The FDI core's
/// [`tessera_http::Sessions`] (through `Deref`) with this crate's
/// [`Error`]; the request metadata has the peer address.
#[derive(Debug)]
pub struct Sessions(tessera_http::Sessions<Error>);

impl Deref for Sessions {
    type Target = tessera_http::Sessions<Error>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl FromRequest for Sessions {
    type Error = Error;
    type Future = std::future::Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(context(req).map(|ctx| {
            let ip = req.peer_addr().map(|a| a.ip().to_string());
            Self(ctx.sessions(&View(req), ip))
        }))
    }
}
