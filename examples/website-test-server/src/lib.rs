//! supertokens-website's browser test server, rebuilt on tessera-axum and
//! on tessera-actix.
//!
//! supertokens-website v20.1.7 tests itself (mocha + puppeteer, about a
//! thousand cases over fetch, XHR, axios and angular, cookie and header
//! mode) against an express app on supertokens-node (`test/server/index.js`)
//! on ports 8080 and 8082, which a SuperTokens core backs. This crate is
//! that app with tessera in place of supertokens-node and the core, so the
//! suite runs against tessera with no change to its test files, on either
//! adapter: [`Adapter::Axum`] or [`Adapter::Actix`].
//! `tests/website-suite/run.sh --adapter axum|actix` prepares a checkout
//! and runs it.
//!
//! Everything but the framework glue is written once: the routes
//! ([`routes::answer`] over the [`Exchange`] trait, answering a [`Reply`]),
//! the apps, each port's counters and settings and the FDI they make, the
//! CORS settings. [`axum_app`] and [`actix_app`] translate requests and
//! responses, mount the adapter's refresh and signout routes, and run the
//! adapter's session middleware on the FDI in force.
//!
//! One process serves both ports; they share the apps ("the core":
//! sessions made on one port are valid on the other) and keep their own
//! counters and settings, as the two upstream servers do.
//!
//! | route | what |
//! |---|---|
//! | `POST /test/setup/app` `{appId, coreConfig}` | a new app (memory store) with that `access_token_validity` (s) and `access_token_signing_key_update_interval` (h); answers its "core URL" |
//! | `POST /test/setup/st` `{coreUrl, enableAntiCsrf, enableJWT}` | this port now serves that app with anti-CSRF `VIA_TOKEN`/`NONE`, and with `enableJWT` a `customClaim` in new payloads and the access token exposed in cookie mode |
//! | `POST /reinitialiseBackendConfig` `{coreUrl}` | the same settings on that app |
//! | `GET /featureFlags` | `{sessionJwt, sessionClaims, v3AccessToken, duplicateCookieHandling}` |
//! | `POST /beforeeach`, `/after`, `/stopst`, `/testUserConfig` | counters reset / nothing |
//! | `POST /login` `{userId}` | creates a session with `iss` (and with `enableJWT` `customClaim`) in its payload, as supertokens-node does; body: the user id |
//! | `POST /login-2.18` `{userId, payload}` | a session as the core made it for CDI 2.18: a v2 access token (`TokenVersion::V2`, no anti-CSRF), sent in `st-access-token`, `st-refresh-token` and a hand-made `front-token` (`up`: the payload), no cookies; its refresh issues v5 |
//! | `GET /` | verifies; counts; body: the user id |
//! | `GET /check-rid`, `/check-rid-no-session` | `success` if `rid` starts with `anti-csrf` |
//! | `GET`/`POST /update-jwt` | the whole payload / replaces the user payload (new token on the response) |
//! | `POST /update-jwt-with-handle` | replaces the payload by handle; answers the request token's payload |
//! | `POST /session-claims-error` | `403 invalid claim` from a validator that always fails |
//! | `POST /logout`, `/revokeAll` | revokes this session / all of the user's; `success` |
//! | `POST /auth/session/refresh` | the adapter's refresh, counted; `refresh success` (`refresh failed` without `rid`) |
//! | `POST /auth/signout` | the adapter's signout |
//! | `GET /auth/jwt/jwks.json`, `/auth/.well-known/openid-configuration` | JWKS and discovery, `Access-Control-Allow-Origin: *` |
//! | `GET /refreshCalledTime`, `/refreshAttemptedTime`, `/getSessionCalledTime`, `/getPackageVersion` | counters and the SDK version, as text |
//! | `/testing`, `/multipleInterceptors`, `/ping`, `/testHeader`, `/checkAllowCredentials`, `/testError?code=`, `/403-without-body` | small helpers |
//! | `GET /index.html`, `/angular/*`, `/vendor/*` | the static directory |
//!
//! The static directory holds the suite's `index.html` (with its CDN
//! scripts pointed at `/vendor/`), the checkout's `angular/` build and the
//! vendored scripts; `run.sh` lays it out.

pub mod actix_app;
mod apps;
pub mod axum_app;
pub mod cors;
mod error;
mod port;
mod reply;
pub mod routes;

pub use apps::{Apps, ISSUER};
pub use error::Error;
pub use port::{Port, REFRESH_PATH, Setup, Site};
pub use reply::Reply;
pub use routes::Exchange;

/// The web framework the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adapter {
    /// axum, with tessera-axum.
    Axum,
    /// actix-web, with tessera-actix.
    Actix,
}
