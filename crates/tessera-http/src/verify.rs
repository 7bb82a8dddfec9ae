//! Getting the session of a request (FDI §4, §5, §9; SuperTokens'
//! `get_session_from_request`).

use std::sync::Arc;

use tessera::{AntiCsrfMode, RefreshModel, VerifyOptions};

use crate::claims::validate_all;
use crate::config::TokenTransferMethod;
use crate::context::RequestContext;
use crate::error::{Error, TryRefreshCause};
use crate::names::ANTI_CSRF_HEADER;
use crate::options::SessionOptions;
use crate::request::{RequestView, bearer_token, has_rid, session_cookies};
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
        // One pass over the cookies for both names (the legacy check and the
        // access token).
        let cookies = session_cookies(req);
        if cookies.legacy_id_refresh_token {
            return Err(Error::TryRefreshToken {
                cause: TryRefreshCause::LegacyIdRefreshTokenCookie,
            });
        }
        let policy = self.config().transfer_policy;
        let manager = self.manager();

        // A candidate is a token structured like an access token (or already
        // in the verified-token cache, whose entry it carries on to the
        // verification: one lookup per request).
        let header_candidate = bearer_token(req)
            .filter(|_| policy.allows(TokenTransferMethod::Header))
            .and_then(|t| manager.access_token_candidate(t));
        let (transfer, candidate) = if let Some(c) = header_candidate {
            (TokenTransferMethod::Header, c)
        } else {
            let candidate = cookies
                .access_token
                .as_deref()
                .filter(|_| policy.allows(TokenTransferMethod::Cookie))
                .and_then(|t| manager.access_token_candidate_bytes(t));
            match candidate {
                Some(_) if cookies.access_token_count > 1 => {
                    return Err(Error::TryRefreshToken {
                        cause: TryRefreshCause::MultipleAccessTokenCookies,
                    });
                }
                Some(c) => (TokenTransferMethod::Cookie, c),
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
        // The engine reads the `anti-csrf` header only for this check.
        let anti_csrf_token = if verify_options.anti_csrf_check {
            req.header(ANTI_CSRF_HEADER)
        } else {
            None
        };
        let (claims, token): (_, Arc<str>) = match self.fdi().model() {
            RefreshModel::ChildPromotion => {
                // Boxed: the promotion's store calls would otherwise enlarge
                // every request's future, whatever the model.
                let (verified, token) = Box::pin(manager.get_session_candidate_as(
                    candidate,
                    anti_csrf_token,
                    verify_options,
                    RefreshModel::ChildPromotion,
                ))
                .await?;
                match verified.access_token {
                    // A promotion (or a newer stored payload): the client
                    // must use the new token from now on.
                    Some(issued) => {
                        let new_token = Arc::from(issued.token.as_str());
                        self.queue([Mutation::AccessToken {
                            method: transfer,
                            token: issued.token,
                            front_token: issued.front_token,
                        }]);
                        (verified.claims, new_token)
                    }
                    None => (verified.claims, token),
                }
            }
            _ => {
                let verified = manager
                    .get_session_candidate(candidate, anti_csrf_token, verify_options)
                    .await?;
                (verified.claims, verified.token)
            }
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
