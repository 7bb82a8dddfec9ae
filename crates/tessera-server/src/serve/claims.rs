//! The access-token payload a backend SDK sends (`userDataInJWT` on create,
//! regenerate and `PUT /recipe/jwt/data`), read as SuperTokens core reads it.
//!
//! The core (12.x, `AccessToken.AccessTokenInfo.requiredAndProtectedPropsV5`,
//! checked in `Session.updateSession` and `AccessTokenInfo.toJSON`) refuses a
//! payload that holds any of its v5 protected claims (`TokenVersion::V5.core_protected_claims()`) with
//! `400 The user payload contains protected field`, and takes every other key
//! as a user claim. The SDKs remove those claims before they send a payload.
//!
//! `stt` is not among them: the core neither sets nor protects it, and the
//! SDKs read it as their own token-type marker. `tessera serve` builds its
//! engine without tessera's `stt` claim (`session_token_type_claim` off), so
//! `stt` is a user claim here too and every payload round-trips as in the
//! core. With an engine that keeps the claim, the claims it protects beyond
//! the core's list are dropped and it sets its own value. The engine's own
//! rule (a colliding user key is an error) stays for Rust callers: this
//! layer decides what reaches it.

use serde_json::Value;
use tessera::TokenVersion;
use tessera::token::PROTECTED_CLAIMS;

use super::error::ApiError;

/// Whether the engine behind `state` puts and requires its `stt` claim
/// (`tessera serve` builds it without, as SuperTokens core issues no `stt`).
pub(crate) fn type_claim(state: &super::AppState) -> bool {
    state.manager().config().session_token_type_claim
}

/// The core's answer to a payload holding one of its protected claims.
pub(crate) const PROTECTED_FIELD: &str = "The user payload contains protected field";

/// Turns an SDK's `userDataInJWT` into the user payload for the engine:
/// `400` as the core when it holds a claim the core protects. Every other
/// key is a user claim, as to the core — `stt` included when the engine
/// runs without its type claim (`type_claim` false, as `tessera serve`
/// does); with it, the claims only tessera protects (`stt`) are dropped and
/// the engine sets its own. A non-object is passed on for the engine to
/// refuse.
pub(crate) fn user_payload_from_sdk(payload: Value, type_claim: bool) -> Result<Value, ApiError> {
    user_payload_for_version(payload, type_claim, TokenVersion::V5)
}

/// [`user_payload_from_sdk`] for a token of `version`, whose protected
/// claims are the core's for that format (v2: none, its payload is nested).
pub(crate) fn user_payload_for_version(
    mut payload: Value,
    type_claim: bool,
    version: TokenVersion,
) -> Result<Value, ApiError> {
    if let Value::Object(map) = &mut payload {
        if version
            .core_protected_claims()
            .iter()
            .any(|k| map.contains_key(*k))
        {
            return Err(ApiError::BadRequest(PROTECTED_FIELD.to_owned()));
        }
        if type_claim {
            for claim in PROTECTED_CLAIMS {
                map.remove(claim);
            }
        }
    }
    Ok(payload)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claims_only_tessera_protects_are_dropped_and_user_claims_kept() {
        let out =
            user_payload_from_sdk(json!({"stt": 0, "role": "admin", "iss": "x"}), true).unwrap();
        assert_eq!(out, json!({"role": "admin", "iss": "x"}));
        // Without the engine's type claim, `stt` is a user claim, as to the core.
        let out = user_payload_from_sdk(json!({"stt": 1, "role": "admin"}), false).unwrap();
        assert_eq!(out, json!({"stt": 1, "role": "admin"}));
    }

    #[test]
    fn every_claim_the_core_protects_is_refused_as_the_core_refuses_it() {
        for &claim in TokenVersion::V5.core_protected_claims() {
            match user_payload_from_sdk(json!({ claim: "v", "role": 1 }), false) {
                Err(ApiError::BadRequest(m)) => assert_eq!(m, PROTECTED_FIELD, "{claim}"),
                other => panic!("{claim}: {other:?}"),
            }
        }
    }

    #[test]
    fn every_engine_protected_claim_is_either_refused_or_dropped() {
        for claim in PROTECTED_CLAIMS {
            let out = user_payload_from_sdk(json!({ claim: 0 }), true);
            if TokenVersion::V5.core_protected_claims().contains(&claim) {
                assert!(out.is_err(), "{claim}");
            } else {
                assert_eq!(out.unwrap(), json!({}), "{claim}");
            }
        }
    }
}
