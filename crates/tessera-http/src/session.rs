//! [`Session`]: the verified session of a request, and its six methods.

use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

use serde_json::Value;
use tessera::AccessTokenClaims;

use crate::claims::{ClaimValidator, validate_all};
use crate::config::TokenTransferMethod;
use crate::context::RequestContext;
use crate::error::{Error, engine_error};
use crate::write::Mutation;

/// A verified session. `E` is the error type its methods return (an
/// adapter's own error, or [`Error`]); adapters wrap it in their extractor.
///
/// Getting it verifies the request's access token through the engine
/// (no database call unless blacklisting or
/// [`SessionOptions::check_database`](crate::SessionOptions::check_database) is on). Without a usable token the
/// handler is not run and the client gets `401 {"message":"unauthorised"}`;
/// an expired token gives `401 {"message":"try refresh token"}`. Use
/// `Option<Session>` when a session is optional: no token gives `None`, but
/// an expired or otherwise bad token is still an error (the client should
/// refresh).
///
/// | method | database calls |
/// |---|---|
/// | [`get_user_id`](Self::get_user_id) | 0 |
/// | [`get_jwt_payload`](Self::get_jwt_payload) | 0 |
/// | [`update_jwt_payload`](Self::update_jwt_payload) | 1 (a new access token goes out on this response) |
/// | [`get_session_data`](Self::get_session_data) | 1 |
/// | [`update_session_data`](Self::update_session_data) | 1 |
/// | [`revoke_session`](Self::revoke_session) | 1 (the tokens are cleared on this response) |
///
/// Every method takes `&self`; token changes are queued on the request's
/// [`RequestContext`] and written on this request's response, in the
/// transfer method (cookies or headers) the session came in. Clones share
/// the same state.
pub struct Session<E = Error> {
    inner: Arc<Inner>,
    error: PhantomData<fn() -> E>,
}

impl<E> Clone for Session<E> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            error: PhantomData,
        }
    }
}

struct Inner {
    ctx: Arc<RequestContext>,
    method: TokenTransferMethod,
    first: Version,
}

/// One access token of the session. A payload update appends the next
/// version; earlier versions stay alive as long as the `Session`, which is
/// what lets [`Session::get_jwt_payload`] hand out a plain `&Value` while
/// updates take `&self`.
struct Version {
    claims: Arc<AccessTokenClaims>,
    /// Shared with the engine's verified-token cache when it came from
    /// there: a request's session does not copy its ~800-byte token.
    access_token: Arc<str>,
    next: OnceLock<Box<Version>>,
}

impl<E> fmt::Debug for Session<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.claims();
        f.debug_struct("Session")
            .field("handle", &c.session_handle)
            .field("user_id", &c.user_id)
            .field("tenant_id", &c.tenant_id)
            .field("transfer_method", &self.inner.method)
            .finish_non_exhaustive()
    }
}

impl<E> Session<E> {
    pub(crate) fn new(
        ctx: Arc<RequestContext>,
        method: TokenTransferMethod,
        claims: Arc<AccessTokenClaims>,
        access_token: impl Into<Arc<str>>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                ctx,
                method,
                first: Version {
                    claims,
                    access_token: access_token.into(),
                    next: OnceLock::new(),
                },
            }),
            error: PhantomData,
        }
    }

    fn current(&self) -> &Version {
        let mut v = &self.inner.first;
        while let Some(next) = v.next.get() {
            v = next;
        }
        v
    }

    fn push(&self, claims: Arc<AccessTokenClaims>, access_token: Arc<str>) {
        let mut new = Box::new(Version {
            claims,
            access_token,
            next: OnceLock::new(),
        });
        let mut v = &self.inner.first;
        loop {
            match v.next.get() {
                Some(next) => v = next,
                None => match v.next.set(new) {
                    Ok(()) => return,
                    // Another update got there first; append after it.
                    Err(back) => new = back,
                },
            }
        }
    }

    /// The verified claims of the current access token.
    pub fn claims(&self) -> &AccessTokenClaims {
        &self.current().claims
    }

    /// The user id. 0 database calls.
    pub fn get_user_id(&self) -> &str {
        &self.inner.first.claims.user_id
    }

    /// The recipe user id (equals the user id unless accounts are linked).
    pub fn get_recipe_user_id(&self) -> &str {
        &self.inner.first.claims.recipe_user_id
    }

    /// The user's own access-token payload (a JSON object, protected claims
    /// left out), as updated by [`update_jwt_payload`](Self::update_jwt_payload)
    /// during this request. 0 database calls.
    pub fn get_jwt_payload(&self) -> &Value {
        &self.current().claims.user_payload
    }

    /// Replaces the user's access-token payload: stores it and issues a new
    /// access token with the same expiry, sent on this response with a new
    /// `front-token`. 1 database call.
    ///
    /// Errors: `400` if the payload is not an object or names a protected
    /// claim; `401 unauthorised` (tokens cleared) if the session is gone.
    /// If the access token had already expired, the payload is stored and
    /// goes out with the next refresh.
    pub async fn update_jwt_payload(&self, new_payload: Value) -> Result<(), E>
    where
        E: From<Error>,
    {
        let current = self.current();
        let regenerated = self
            .inner
            .ctx
            .manager()
            .regenerate_access_token(&current.access_token, new_payload)
            .await
            .map_err(engine_error)?
            .ok_or_else(|| E::from(Error::session_gone()))?;
        let token = match regenerated.access_token {
            Some(issued) => {
                let token = Arc::from(issued.token.as_str());
                self.inner.ctx.queue([Mutation::AccessToken {
                    method: self.inner.method,
                    token: issued.token,
                    front_token: issued.front_token,
                }]);
                token
            }
            None => current.access_token.clone(),
        };
        self.push(regenerated.claims, token);
        Ok(())
    }

    /// The session data kept in the database (a JSON object). 1 database
    /// call; `401 unauthorised` (tokens cleared) if the session is gone.
    pub async fn get_session_data(&self) -> Result<Value, E>
    where
        E: From<Error>,
    {
        self.inner
            .ctx
            .manager()
            .get_session_data(self.get_handle())
            .await
            .map_err(engine_error)?
            .ok_or_else(|| E::from(Error::session_gone()))
    }

    /// Overwrites the session data (a JSON object). 1 database call;
    /// `401 unauthorised` (tokens cleared) if the session is gone.
    pub async fn update_session_data(&self, new_data: Value) -> Result<(), E>
    where
        E: From<Error>,
    {
        let updated = self
            .inner
            .ctx
            .manager()
            .update_session_data(self.get_handle(), new_data)
            .await
            .map_err(engine_error)?;
        if updated {
            Ok(())
        } else {
            Err(E::from(Error::session_gone()))
        }
    }

    /// Revokes the session in the database and clears its tokens (in the
    /// transfer method it came in) on this response. With blacklisting on,
    /// the access token stops working at once; otherwise it works until it
    /// expires. 1 database call.
    pub async fn revoke_session(&self) -> Result<(), E>
    where
        E: From<Error>,
    {
        self.inner
            .ctx
            .manager()
            .revoke_session(self.get_handle())
            .await
            .map_err(engine_error)?;
        self.inner.ctx.queue([Mutation::Clear(self.inner.method)]);
        Ok(())
    }

    /// The session handle. 0 database calls.
    pub fn get_handle(&self) -> &str {
        &self.inner.first.claims.session_handle
    }

    /// The current access token (the new one after a payload update).
    pub fn get_access_token(&self) -> &str {
        &self.current().access_token
    }

    /// The tenant. 0 database calls.
    pub fn get_tenant_id(&self) -> &str {
        &self.inner.first.claims.tenant_id
    }

    /// When the current access token expires, milliseconds since the epoch
    /// (the front token's `ate`). 0 database calls.
    pub fn get_access_token_expiry(&self) -> u64 {
        self.current().claims.expiry_ms()
    }

    /// When the session expires unless refreshed, milliseconds since the
    /// epoch (SuperTokens' `get_expiry`). 1 database call.
    pub async fn get_expiry(&self) -> Result<i64, E>
    where
        E: From<Error>,
    {
        Ok(self.information().await?.expiry_ms)
    }

    /// When the session was created, milliseconds since the epoch. 1
    /// database call.
    pub async fn get_time_created(&self) -> Result<i64, E>
    where
        E: From<Error>,
    {
        Ok(self.information().await?.time_created_ms)
    }

    /// Everything the database knows of this session. 1 database call;
    /// `401 unauthorised` (tokens cleared) if the session is gone.
    pub async fn get_session_information(&self) -> Result<tessera::SessionInformation, E>
    where
        E: From<Error>,
    {
        self.information().await
    }

    async fn information(&self) -> Result<tessera::SessionInformation, E>
    where
        E: From<Error>,
    {
        self.inner
            .ctx
            .manager()
            .get_session_information(self.get_handle())
            .await
            .map_err(engine_error)?
            .ok_or_else(|| E::from(Error::session_gone()))
    }

    /// The transfer method the session's tokens travel in on this request.
    pub fn token_transfer_method(&self) -> TokenTransferMethod {
        self.inner.method
    }

    /// Runs claim validators on the current payload; `403 invalid claim`
    /// with every failure if any fails. 0 database calls.
    pub fn assert_claims(&self, validators: &[&dyn ClaimValidator]) -> Result<(), E>
    where
        E: From<Error>,
    {
        let errors = validate_all(validators.iter().copied(), self.get_jwt_payload());
        if errors.is_empty() {
            Ok(())
        } else {
            Err(E::from(Error::InvalidClaim(errors)))
        }
    }

    /// The same session with another error type (adapters use it).
    pub fn with_error<F: From<Error>>(self) -> Session<F> {
        Session {
            inner: self.inner,
            error: PhantomData,
        }
    }
}
