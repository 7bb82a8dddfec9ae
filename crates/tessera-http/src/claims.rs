//! A minimal claim-validation hook (SuperTokens' session claims, reduced
//! to what a backend needs to answer `403 invalid claim`).
//!
//! A [`ClaimValidator`] looks at the user's access-token payload and either
//! accepts it or names a reason. Validators given to
//! [`Fdi::claim_validator`](crate::Fdi::claim_validator)
//! run on every `Session` extraction (not on sign-out, as in SuperTokens);
//! [`Session::assert_claims`](crate::Session::assert_claims) runs others on
//! demand. Validation reads no database.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

/// One failed claim, as it appears in `claimValidationErrors`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClaimValidationError {
    /// The validator id (SuperTokens: the claim key, e.g. `st-role`).
    pub id: String,
    /// Why, if the validator says; left out of the body when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Value>,
}

impl ClaimValidationError {
    /// A failure of validator `id`.
    pub fn new(id: impl Into<String>, reason: Option<Value>) -> Self {
        Self {
            id: id.into(),
            reason,
        }
    }
}

/// Checks one claim of the user's access-token payload.
///
/// ```
/// use serde_json::{Value, json};
/// use tessera_http::ClaimValidator;
///
/// #[derive(Debug)]
/// struct IsAdmin;
///
/// impl ClaimValidator for IsAdmin {
///     fn id(&self) -> &str {
///         "role"
///     }
///     fn validate(&self, payload: &Value) -> Result<(), Option<Value>> {
///         if payload["role"] == "admin" {
///             Ok(())
///         } else {
///             Err(Some(json!({ "message": "wrong value", "expectedValue": "admin" })))
///         }
///     }
/// }
/// ```
pub trait ClaimValidator: Send + Sync + fmt::Debug + 'static {
    /// The id reported in `claimValidationErrors`.
    fn id(&self) -> &str;

    /// `Ok(())` if the payload passes, else the reason (or `None`).
    /// `payload` is the user payload (protected claims left out).
    fn validate(&self, payload: &Value) -> Result<(), Option<Value>>;
}

/// Runs validators in order and collects every failure.
pub(crate) fn validate_all<'a>(
    validators: impl IntoIterator<Item = &'a dyn ClaimValidator>,
    payload: &Value,
) -> Vec<ClaimValidationError> {
    validators
        .into_iter()
        .filter_map(|v| {
            v.validate(payload)
                .err()
                .map(|reason| ClaimValidationError::new(v.id(), reason))
        })
        .collect()
}
