//! Handlers that take or issue tokens: create, verify, refresh, regenerate.

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::json;
use tessera::{DEFAULT_TENANT, Error, NewSession, RefreshRequest, SessionMetadata, VerifyOptions};

use super::version::CdiVersion;

use super::AppState;
use super::claims::{PROTECTED_FIELD, type_claim, user_payload_for_version};
use super::error::ApiError;
use super::input::JsonInput;
use super::reply;

/// Tenant ids are matched lowercase, as SuperTokens core does.
pub(crate) fn tenant_id(segment: &str) -> String {
    segment.to_ascii_lowercase()
}

/// `POST /recipe/session`: creates a session in the `public` tenant.
pub(crate) async fn create(
    State(state): State<AppState>,
    version: CdiVersion,
    input: JsonInput,
) -> Result<Response, ApiError> {
    create_for(&state, DEFAULT_TENANT.to_owned(), version, input).await
}

/// `POST /{tenant}/recipe/session`: creates a session.
///
/// Body: `userId` (the recipe user id; tessera has no account linking, so
/// it is also the user id), `userDataInJWT`, `userDataInDatabase`,
/// `enableAntiCsrf`, optional `useDynamicSigningKey`. Answer: `OK` with
/// `session`, `accessToken`, `refreshToken` and, with anti-CSRF,
/// `antiCsrfToken`. The access token is in the format of the request's CDI
/// version, as the core issues it (v5 from 4.0; see `version.rs`).
pub(crate) async fn create_in_tenant(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    version: CdiVersion,
    input: JsonInput,
) -> Result<Response, ApiError> {
    create_for(&state, tenant_id(&tenant), version, input).await
}

async fn create_for(
    state: &AppState,
    tenant: String,
    version: CdiVersion,
    mut input: JsonInput,
) -> Result<Response, ApiError> {
    // Same order of checks as the core, so the same field is named first.
    let user_id = input.string("userId")?;
    let enable_anti_csrf = input.bool("enableAntiCsrf")?;
    let jwt_payload = input.object("userDataInJWT")?;
    let session_data = input.object("userDataInDatabase")?;
    let use_dynamic_signing_key = input.opt_bool("useDynamicSigningKey")?;
    // Checked after the fields are read, where the core checks it.
    let token_version = version.token_version();
    let jwt_payload = user_payload_for_version(jwt_payload, type_claim(state), token_version)?;
    let new = NewSession {
        recipe_user_id: Some(user_id.clone()),
        user_id,
        tenant_id: tenant,
        jwt_payload,
        session_data,
        metadata: SessionMetadata::default(),
        enable_anti_csrf: Some(enable_anti_csrf),
        use_dynamic_signing_key,
    };
    if token_version == tessera::TokenVersion::V2 {
        // A v2 token names no key: the SDKs verify it by trying each key of
        // a JWKS that has several, as the core's always does (it makes the
        // static key when it loads an app). Made once, before such a token
        // exists, so every JWKS a client can fetch for it lists both.
        state.manager().ensure_static_key().await?;
    }
    let created = state
        .manager()
        .create_session_versioned(new, token_version)
        .await?;
    state.metrics().session_created();
    Ok(reply::created_as(&created, version))
}

/// `POST /recipe/session/verify`: verifies an access token.
///
/// Body: `accessToken`, `doAntiCsrfCheck`, `enableAntiCsrf`,
/// `checkDatabase`, optional `antiCsrfToken`. Answer: `OK` with `session`;
/// `UNAUTHORISED` or `TRY_REFRESH_TOKEN` with a `message`. Below CDI 5.6
/// (the child-token model) a token carrying `parentRefreshTokenHash1` has
/// its child refresh token promoted, and the answer carries the
/// replacement `accessToken` (as it does when `checkDatabase` finds the
/// stored payload newer than the token's); from 5.6 on verify never writes
/// and never returns a token, and with `checkDatabase` answers
/// `UNAUTHORISED` for a token whose refresh token was rotated out twice and
/// reports `payloadUpdateAvailable`.
pub(crate) async fn verify(
    State(state): State<AppState>,
    version: CdiVersion,
    mut input: JsonInput,
) -> Result<Response, ApiError> {
    let access_token = input.string("accessToken")?;
    let anti_csrf_token = input.opt_string("antiCsrfToken")?;
    let do_anti_csrf_check = input.bool("doAntiCsrfCheck")?;
    let enable_anti_csrf = input.bool("enableAntiCsrf")?;
    let check_database = input.bool("checkDatabase")?;
    let options = VerifyOptions {
        anti_csrf_check: do_anti_csrf_check,
        enable_anti_csrf: Some(enable_anti_csrf),
        check_database,
    };
    match state
        .manager()
        .get_session_as(
            &access_token,
            anti_csrf_token.as_deref(),
            options,
            version.refresh_model(),
        )
        .await
    {
        Ok(verified) => {
            let mut body = json!({
                "status": "OK",
                "session": reply::session(&verified.claims),
            });
            version.shape_session(&mut body);
            if let (Some(available), Some(map)) =
                (verified.payload_update_available, body.as_object_mut())
            {
                map.insert("payloadUpdateAvailable".to_owned(), available.into());
            }
            match (&verified.access_token, body.as_object_mut()) {
                (Some(token), Some(map)) => {
                    map.insert("accessToken".to_owned(), reply::access_token(token));
                    Ok(reply::with_tokens(body))
                }
                _ => Ok(reply::ok(body)),
            }
        }
        Err(Error::Unauthorised { reason }) => {
            Ok(reply::unauthorised(reply::unauthorised_message(reason)))
        }
        Err(Error::TryRefreshToken { reason }) => {
            Ok(reply::try_refresh_token(reply::try_refresh_message(reason)))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /recipe/session/refresh`: a new refresh token and access token,
/// under the refresh model of the request's CDI version.
///
/// Body: `refreshToken`, `enableAntiCsrf`, `useDynamicSigningKey` (required
/// from CDI 5.0 on), optional `antiCsrfToken`. Answer: `OK` as for create;
/// `UNAUTHORISED` with a `message`; or `TOKEN_THEFT_DETECTED` with
/// `session{handle,userId,recipeUserId}` (the engine has revoked that
/// session) — from CDI 5.6 for a retired token presented after the grace
/// window, below 5.6 for a token that is neither the current one nor its
/// child (the parent of a promoted child, a sibling child that lost).
pub(crate) async fn refresh(
    State(state): State<AppState>,
    version: CdiVersion,
    mut input: JsonInput,
) -> Result<Response, ApiError> {
    let refresh_token = input.string("refreshToken")?;
    let anti_csrf_token = input.opt_string("antiCsrfToken")?;
    let enable_anti_csrf = input.bool("enableAntiCsrf")?;
    let use_dynamic_signing_key = input.bool("useDynamicSigningKey")?;
    let request = RefreshRequest {
        refresh_token: &refresh_token,
        anti_csrf_token: anti_csrf_token.as_deref(),
        enable_anti_csrf: Some(enable_anti_csrf),
        use_dynamic_signing_key: Some(use_dynamic_signing_key),
    };
    match state
        .manager()
        .refresh_session_as(request, version.refresh_model())
        .await
    {
        Ok(created) => {
            state.metrics().session_refreshed();
            Ok(reply::created(&created))
        }
        Err(Error::Unauthorised { reason }) => {
            Ok(reply::unauthorised(reply::unauthorised_message(reason)))
        }
        // The stored payload holds a claim a v5 token sets (only a payload
        // stored with a v2 token can): the core answers UNAUTHORISED
        // (`RefreshSessionAPI`, `AccessTokenPayloadError`).
        Err(Error::InvalidInput(_)) => Ok(reply::unauthorised(PROTECTED_FIELD)),
        Err(Error::TokenTheftDetected {
            session_handle,
            user_id,
            recipe_user_id,
            ..
        }) => {
            state.metrics().theft_detected();
            Ok(reply::ok(json!({
                "status": "TOKEN_THEFT_DETECTED",
                "session": {
                    "handle": session_handle,
                    "userId": user_id,
                    "recipeUserId": recipe_user_id,
                },
            })))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /recipe/session/regenerate`: stores a new access-token payload
/// and issues a token that carries it, with the old token's expiry.
///
/// Body: `accessToken` (validly signed, possibly expired), `userDataInJWT`
/// (the whole new payload; the core also accepts it absent, meaning "keep
/// the stored payload", which tessera refuses with `400` until the engine
/// can regenerate without a payload). Answer: `OK` with `session` and, unless the
/// token had expired, `accessToken`; `UNAUTHORISED` when the token is not
/// valid or its session is gone.
pub(crate) async fn regenerate(
    State(state): State<AppState>,
    version: CdiVersion,
    mut input: JsonInput,
) -> Result<Response, ApiError> {
    let access_token = input.string("accessToken")?;
    let payload = input.object("userDataInJWT")?;
    // The new token keeps the old one's format, and so its payload rule.
    let token_version = tessera::token::access::token_version_of(&access_token)
        .unwrap_or(tessera::TokenVersion::V5);
    let payload = user_payload_for_version(payload, type_claim(&state), token_version)?;
    match state
        .manager()
        .regenerate_access_token(&access_token, payload)
        .await
    {
        Ok(Some(regenerated)) => {
            let mut body = json!({
                "status": "OK",
                "session": reply::session(&regenerated.claims),
            });
            version.shape_session(&mut body);
            if let (Some(token), Some(map)) = (&regenerated.access_token, body.as_object_mut()) {
                map.insert("accessToken".to_owned(), reply::access_token(token));
            }
            Ok(reply::with_tokens(body))
        }
        Ok(None) => Ok(reply::unauthorised(reply::SESSION_DOES_NOT_EXIST)),
        Err(Error::Unauthorised { reason }) => {
            Ok(reply::unauthorised(reply::unauthorised_message(reason)))
        }
        // As in the core: regenerate answers an expired-key token UNAUTHORISED.
        Err(Error::TryRefreshToken { reason }) => {
            Ok(reply::unauthorised(reply::try_refresh_message(reason)))
        }
        Err(e) => Err(e.into()),
    }
}
