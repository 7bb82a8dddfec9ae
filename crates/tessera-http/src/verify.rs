//! Getting the session of a request (FDI §4, §5, §9; SuperTokens'
//! `get_session_from_request`).

use std::sync::Arc;

use tessera::{AntiCsrfMode, RefreshModel, VerifyOptions};

use crate::claims::validate_all;
use crate::config::TokenTransferMethod;
use crate::context::RequestContext;
use crate::error::{Error, TryRefreshCause};
use crate::names::{ACCESS_TOKEN_COOKIE, ANTI_CSRF_HEADER, LEGACY_ID_REFRESH_TOKEN_COOKIE};
use crate::options::SessionOptions;
use crate::request::{RequestView, bearer_token, cookie_values, has_cookie, has_rid};
use crate::session::Session;
use crate::write::Mutation;

impl RequestContext {
    /// Verifies the request's access token; `Ok(None)` when it carries none.
    ///
    /// The rule, in order:
    /// 1. OPTIONS and TRACE never have a session. A legacy `sIdRefreshToken`
    ///    cookie: try refresh (the refresh call removes it).
    /// 2. Candidate tokens: `Authorization: Bearer` and the `sAccessToken`
    ///    cookie, each only if it is structured like an access token (the
    ///    engine's signature-free check; others are ignored, not refused) and
    ///    its method is allowed. The header token wins.
    /// 3. None: no session.
    /// 4. The cookie was chosen but sent more than once: try refresh.
    /// 5. Anti-CSRF applies to every method but GET (or as the route's
    ///    [`SessionOptions`] say), never to header tokens. `ViaCustomHeader`
    ///    needs a `rid` header, else try refresh; `ViaToken` is the engine's
    ///    check of the `anti-csrf` header.
    /// 6. The engine verifies (signature, expiry, anti-CSRF token, and the
    ///    store with blacklisting or `check_database`). Under
    ///    [`RefreshModel::ChildPromotion`] it may promote the token's child
    ///    refresh token and issue a new access token, which is queued for
    ///    the response in the request's transfer method.
    /// 7. The configured claim validators, unless the route turned them off.
    pub async fn verify<E>(
        self: &Arc<Self>,
        req: &impl RequestView,
        options: &SessionOptions,
    ) -> Result<Option<Session<E>>, Error> {
        let method = req.method();
        if method == "OPTIONS" || method == "TRACE" {
            return Ok(None);
        }
        if has_cookie(req, LEGACY_ID_REFRESH_TOKEN_COOKIE) {
            return Err(Error::TryRefreshToken {
                cause: TryRefreshCause::LegacyIdRefreshTokenCookie,
            });
        }
        let policy = self.config().transfer_policy;
        let manager = self.manager();
        let is_well_formed_access_token = |t: &str| manager.is_well_formed_access_token(t);

        let header_token = bearer_token(req).filter(|t| {
            policy.allows(TokenTransferMethod::Header) && is_well_formed_access_token(t)
        });
        let (transfer, token) = if let Some(t) = header_token {
            (TokenTransferMethod::Header, t.to_owned())
        } else {
            let mut cookies = cookie_values(req, ACCESS_TOKEN_COOKIE);
            let count = cookies.len();
            match cookies.pop().filter(|t| {
                policy.allows(TokenTransferMethod::Cookie) && is_well_formed_access_token(t)
            }) {
                Some(_) if count > 1 => {
                    return Err(Error::TryRefreshToken {
                        cause: TryRefreshCause::MultipleAccessTokenCookies,
                    });
                }
                Some(t) => (TokenTransferMethod::Cookie, t),
                None => return Ok(None),
            }
        };

        let do_check = transfer == TokenTransferMethod::Cookie
            && options.anti_csrf_check.unwrap_or(method != "GET");
        let mode = self.fdi().anti_csrf_mode();
        if do_check && mode == AntiCsrfMode::ViaCustomHeader && !has_rid(req) {
            return Err(Error::TryRefreshToken {
                cause: TryRefreshCause::MissingRidHeader,
            });
        }
        let via_token = mode == AntiCsrfMode::ViaToken;
        let verify_options = VerifyOptions {
            anti_csrf_check: do_check && via_token,
            enable_anti_csrf: Some(via_token),
            check_database: options.check_database,
        };
        let anti_csrf_token = req.header(ANTI_CSRF_HEADER);
        let (claims, token) = match self.fdi().model() {
            RefreshModel::ChildPromotion => {
                let verified = manager
                    .get_session_as(
                        &token,
                        anti_csrf_token,
                        verify_options,
                        RefreshModel::ChildPromotion,
                    )
                    .await?;
                match verified.access_token {
                    // A promotion (or a newer stored payload): the client
                    // must use the new token from now on.
                    Some(issued) => {
                        self.queue([Mutation::AccessToken {
                            method: transfer,
                            token: issued.token.clone(),
                            front_token: issued.front_token,
                        }]);
                        (verified.claims, issued.token)
                    }
                    None => (verified.claims, token),
                }
            }
            _ => (
                manager
                    .get_session(&token, anti_csrf_token, verify_options)
                    .await?,
                token,
            ),
        };

        let validators = &self.config().claim_validators;
        if options.validate_claims && !validators.is_empty() {
            let errors = validate_all(validators.iter().map(|v| &**v), &claims.user_payload);
            if !errors.is_empty() {
                return Err(Error::InvalidClaim(errors));
            }
        }
        Ok(Some(Session::new(self.clone(), transfer, claims, token)))
    }
}
