//! supertokens-website's browser test server, rebuilt on tessera-axum.
//!
//! supertokens-website v20.1.7 tests itself (mocha + puppeteer, about a
//! thousand cases over fetch, XHR, axios and angular, cookie and header
//! mode) against an express app on supertokens-node (`test/server/index.js`)
//! on ports 8080 and 8082, which a SuperTokens core backs. This crate is
//! that app with tessera-axum in place of supertokens-node and the core, so
//! the suite runs against tessera with no change to its test files.
//! `tests/website-suite/run.sh` prepares a checkout and runs it.
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
//! | `POST /login` `{userId}` | creates a session; body: the user id |
//! | `POST /login-2.18` | `501`: legacy CDI 2.18 tokens do not exist in tessera |
//! | `GET /` | verifies; counts; body: the user id |
//! | `GET /check-rid`, `/check-rid-no-session` | `success` if `rid` starts with `anti-csrf` |
//! | `GET`/`POST /update-jwt` | the whole payload / replaces the user payload (new token on the response) |
//! | `POST /update-jwt-with-handle` | replaces the payload by handle; answers the request token's payload |
//! | `POST /session-claims-error` | `403 invalid claim` from a validator that always fails |
//! | `POST /logout`, `/revokeAll` | revokes this session / all of the user's; `success` |
//! | `POST /auth/session/refresh` | tessera-axum's refresh, counted; `refresh success` (`refresh failed` without `rid`) |
//! | `POST /auth/signout` | tessera-axum's signout |
//! | `GET /auth/jwt/jwks.json`, `/auth/.well-known/openid-configuration` | JWKS and discovery, `Access-Control-Allow-Origin: *` |
//! | `GET /refreshCalledTime`, `/refreshAttemptedTime`, `/getSessionCalledTime`, `/getPackageVersion` | counters and the SDK version, as text |
//! | `/testing`, `/multipleInterceptors`, `/ping`, `/testHeader`, `/checkAllowCredentials`, `/testError?code=`, `/403-without-body` | small helpers |
//! | `GET /index.html`, `/angular/*`, `/vendor/*` | the static directory |
//!
//! The static directory holds the suite's `index.html` (with its CDN
//! scripts pointed at `/vendor/`), the checkout's `angular/` build and the
//! vendored scripts; `run.sh` lays it out.

mod apps;
mod cors;
mod error;
mod port;
mod routes;

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use tower::ServiceExt;

pub use apps::{Apps, ISSUER};
pub use error::Error;
pub use port::{Port, Site};

/// The app of one port: CORS around whichever router the last setup call
/// built.
pub fn app(port: Arc<Port>) -> Router {
    Router::new()
        .fallback_service(tower::service_fn(move |req: Request| {
            let router = port.router();
            router.oneshot(req)
        }))
        .layer(axum::middleware::from_fn(cors::cors))
}
