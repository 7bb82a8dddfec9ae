//! SuperTokens' JWT recipe: `POST /recipe/jwt` and `GET /recipe/jwt/jwks`.

use std::time::Duration;

use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::input::JsonInput;
use super::reply;

/// `POST /recipe/jwt`: signs a payload with the app's keys. Body:
/// `algorithm` (only `RS256`; anything else is answered
/// `UNSUPPORTED_ALGORITHM_ERROR`, as the core does), `jwksDomain` (the
/// `iss` unless the payload has one), `payload` (an object), `validity`
/// (seconds, positive), optional `useStaticSigningKey` (default true: the
/// static key; `false`: the current dynamic key). Answer: `OK` with `jwt`,
/// verifiable through `/.well-known/jwks.json`.
pub(crate) async fn create(
    State(state): State<AppState>,
    mut input: JsonInput,
) -> Result<Response, ApiError> {
    let algorithm = input.string("algorithm")?;
    let jwks_domain = input.string("jwksDomain")?;
    let Value::Object(payload) = input.object("payload")? else {
        return Err(ApiError::BadRequest(
            "Field name 'payload' is invalid in JSON input".into(),
        ));
    };
    let validity = input.integer("validity")?;
    let use_static = input.opt_bool("useStaticSigningKey")?.unwrap_or(true);
    let Some(validity) = u64::try_from(validity).ok().filter(|v| *v > 0) else {
        return Err(ApiError::BadRequest(
            "validity must be greater than or equal to 0".to_owned(),
        ));
    };
    if !algorithm.eq_ignore_ascii_case("RS256") {
        return Ok(reply::ok(json!({"status": "UNSUPPORTED_ALGORITHM_ERROR"})));
    }
    let jwt = state
        .manager()
        .sign_jwt(
            &payload,
            Duration::from_secs(validity),
            !use_static,
            Some(&jwks_domain),
        )
        .await?;
    Ok(reply::ok(json!({"status": "OK", "jwt": jwt})))
}
