//! [`SessionOptions`]: per-route verification settings, applied with
//! `route_layer` (SuperTokens' `verify_session(check_database=…,
//! anti_csrf_check=…)`).

use std::task::{Context, Poll};

use http::Request;
use tower::{Layer, Service};

/// How [`Session`](crate::Session) verifies on the routes this is layered
/// on.
///
/// The default verifies with no database call, checks anti-CSRF on every
/// non-GET cookie request, and runs the layer's claim validators. Put it on
/// a route with `route_layer`:
///
/// ```
/// use axum::{Router, routing::post};
/// use tessera_axum::{Session, SessionOptions};
///
/// async fn change_password(session: Session) -> &'static str {
///     // The session was also checked against the database (blacklisting
///     // for this route only): a revoked session is refused at once.
///     "ok"
/// }
///
/// let app: Router = Router::new()
///     .route("/account/password", post(change_password))
///     .route_layer(SessionOptions::new().check_database(true));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SessionOptions(pub(crate) tessera_http::SessionOptions);

impl SessionOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also check that the session still exists in the store (one database
    /// call per extraction; a revoked session is `401 unauthorised` with
    /// the tokens cleared). Blacklisting in the engine's config does this
    /// on every route.
    pub fn check_database(self, on: bool) -> Self {
        Self(self.0.check_database(on))
    }

    /// Force the anti-CSRF check on or off (default: on for every method
    /// but GET, and never for header-mode tokens).
    pub fn anti_csrf_check(self, check: bool) -> Self {
        Self(self.0.anti_csrf_check(check))
    }

    /// Run the layer's claim validators (default on).
    pub fn validate_claims(self, on: bool) -> Self {
        Self(self.0.validate_claims(on))
    }
}

impl<S> Layer<S> for SessionOptions {
    type Service = SessionOptionsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionOptionsService {
            inner,
            options: *self,
        }
    }
}

/// The service made by [`SessionOptions`]: inserts the options into the
/// request.
#[derive(Debug, Clone)]
pub struct SessionOptionsService<S> {
    inner: S,
    options: SessionOptions,
}

impl<S, B> Service<Request<B>> for SessionOptionsService<S>
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
        req.extensions_mut().insert(self.options);
        self.inner.call(req)
    }
}
