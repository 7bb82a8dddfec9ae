//! The access token: a JWT in SuperTokens' v5 shape.
//!
//! Header `{"alg":"RS256","typ":"JWT","version":"5","kid":"d-…"}`; payload:
//! the user's own claims at the top level beside the protected ones
//! ([`PROTECTED_CLAIMS`]): `sub`, `rsub`, `tId`, `sessionHandle`,
//! `refreshTokenHash1`, `parentRefreshTokenHash1` (null, except on a token
//! issued by a refresh under the child-token model of SuperTokens' CDI 5.4,
//! [`RefreshModel::ChildPromotion`](crate::RefreshModel), where it names the
//! refresh token the child waits to replace), `antiCsrfToken`
//! (null unless `ViaToken`), `iat`/`exp` in seconds, and `stt: 0`, the
//! session-token type marker, which tessera requires so that no other JWT
//! signed by the same keys passes as an access token — unless
//! [`Config::session_token_type_claim`](crate::Config) is off (as in
//! `tessera serve`, which issues SuperTokens core's claims exactly): then no
//! `stt` is added or required, and a user payload's `stt` is a user claim.

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Claims tessera sets itself; a user payload may not contain any of them.
pub const PROTECTED_CLAIMS: [&str; 10] = [
    "sub",
    "iat",
    "exp",
    "sessionHandle",
    "parentRefreshTokenHash1",
    "refreshTokenHash1",
    "antiCsrfToken",
    "rsub",
    "tId",
    "stt",
];

/// The SuperTokens access-token format a token is written in.
///
/// tessera issues [`TokenVersion::V5`]. SuperTokens core also issues the
/// older formats to SDKs that speak old CDI versions
/// (`AccessToken.getAccessTokenVersionForCDI`: v2 below CDI 2.21, v3 for
/// 2.21, v4 for 3.x); `tessera serve` does the same, and verifies them,
/// only when [`Config::core_token_versions`](crate::Config) is on.
///
/// | version | header | claims |
/// |---|---|---|
/// | v2 | the fixed standard-base64 header `{"alg":"RS256","typ":"JWT","version":"2"}`, no `kid` | `userId`, `expiryTime`/`timeCreated` (ms), `sessionHandle`, `refreshTokenHash1`, optional `parentRefreshTokenHash1`/`antiCsrfToken`, the user's payload nested under `userData` |
/// | v3 | `version` `"3"`, `kid` | v5's without `tId` and `rsub` (tenant `public`, recipe user = `sub`) |
/// | v4 | `version` `"4"`, `kid` | v5's without `rsub` |
/// | v5 | `version` `"5"`, `kid` | see [`AccessTokenClaims`] |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum TokenVersion {
    /// SuperTokens' v2 token (CDI below 2.21).
    V2,
    /// SuperTokens' v3 token (CDI 2.21).
    V3,
    /// SuperTokens' v4 token (CDI 3.x).
    V4,
    /// SuperTokens' v5 token (CDI 4.0 and later): what tessera issues.
    #[default]
    V5,
}

impl TokenVersion {
    /// The claims SuperTokens core sets itself in a token of this version,
    /// which a user payload may therefore not hold
    /// (`AccessTokenInfo.getRequiredAndProtectedProps`). Empty for v2, whose
    /// user payload is nested under `userData` and cannot collide.
    pub fn core_protected_claims(self) -> &'static [&'static str] {
        const V3: &[&str] = &[
            "sub",
            "exp",
            "iat",
            "sessionHandle",
            "refreshTokenHash1",
            "parentRefreshTokenHash1",
            "antiCsrfToken",
        ];
        const V4: &[&str] = &[
            "sub",
            "exp",
            "iat",
            "sessionHandle",
            "refreshTokenHash1",
            "parentRefreshTokenHash1",
            "antiCsrfToken",
            "tId",
        ];
        const V5: &[&str] = &[
            "sub",
            "exp",
            "iat",
            "sessionHandle",
            "refreshTokenHash1",
            "parentRefreshTokenHash1",
            "antiCsrfToken",
            "tId",
            "rsub",
        ];
        match self {
            Self::V2 => &[],
            Self::V3 => V3,
            Self::V4 => V4,
            Self::V5 => V5,
        }
    }

    /// The header's `version` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2 => "2",
            Self::V3 => "3",
            Self::V4 => "4",
            Self::V5 => "5",
        }
    }
}

/// The verified contents of an access token.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessTokenClaims {
    /// The session handle.
    pub session_handle: String,
    /// The (primary) user id (`sub`).
    pub user_id: String,
    /// The recipe user id (`rsub`).
    pub recipe_user_id: String,
    /// The tenant (`tId`).
    pub tenant_id: String,
    /// Issued at, seconds since the epoch (`iat`).
    pub issued_at: u64,
    /// Expiry, seconds since the epoch (`exp`).
    pub expires_at: u64,
    /// Hex SHA-256 of the refresh token current when this token was issued.
    pub refresh_token_hash1: String,
    /// Hex SHA-256 of the parent refresh token, on a token issued with a
    /// child refresh token that is not yet promoted (CDI 5.4's model);
    /// `None` otherwise.
    pub parent_refresh_token_hash1: Option<String>,
    /// The anti-CSRF token, when the session has one.
    pub anti_csrf_token: Option<String>,
    /// The user's own payload: a JSON object without protected claims
    /// (with `iss` when it came from the application, not from tessera's
    /// configured issuer).
    pub user_payload: Value,
    /// Key id the token was signed with (for a v2 token, which names no
    /// key, the key that verified it).
    pub kid: String,
    /// The token's format: [`TokenVersion::V5`] unless an old CDI version
    /// asked for another (see [`TokenVersion`]).
    pub version: TokenVersion,
}

impl AccessTokenClaims {
    /// Expiry in milliseconds since the epoch.
    pub fn expiry_ms(&self) -> u64 {
        self.expires_at.saturating_mul(1000)
    }

    /// Issue time in milliseconds since the epoch.
    pub fn issued_at_ms(&self) -> u64 {
        self.issued_at.saturating_mul(1000)
    }

    /// The full payload as signed: the user payload plus protected claims
    /// (and `iss` when an issuer is configured), with `stt: 0`.
    pub fn full_payload(&self, issuer: Option<&str>) -> Map<String, Value> {
        self.payload(issuer, true)
    }

    /// The full payload, with `stt: 0` when `type_claim` (see
    /// [`Config::session_token_type_claim`](crate::Config)).
    pub(crate) fn payload(&self, issuer: Option<&str>, type_claim: bool) -> Map<String, Value> {
        if self.version == TokenVersion::V2 {
            return self.payload_v2();
        }
        let mut map = match &self.user_payload {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        };
        if let Some(iss) = issuer {
            map.insert("iss".into(), Value::from(iss));
        }
        map.insert("sub".into(), Value::from(self.user_id.as_str()));
        if self.version == TokenVersion::V5 {
            map.insert("rsub".into(), Value::from(self.recipe_user_id.as_str()));
        }
        if self.version != TokenVersion::V3 {
            map.insert("tId".into(), Value::from(self.tenant_id.as_str()));
        }
        map.insert(
            "sessionHandle".into(),
            Value::from(self.session_handle.as_str()),
        );
        map.insert(
            "refreshTokenHash1".into(),
            Value::from(self.refresh_token_hash1.as_str()),
        );
        map.insert(
            "parentRefreshTokenHash1".into(),
            self.parent_refresh_token_hash1
                .as_deref()
                .map_or(Value::Null, Value::from),
        );
        map.insert(
            "antiCsrfToken".into(),
            self.anti_csrf_token
                .as_deref()
                .map_or(Value::Null, Value::from),
        );
        map.insert("iat".into(), Value::from(self.issued_at));
        map.insert("exp".into(), Value::from(self.expires_at));
        if type_claim {
            map.insert("stt".into(), Value::from(0));
        }
        map
    }

    /// The v2 payload: the core's claims, times in milliseconds, the user
    /// payload under `userData`, the two optional hashes only when set.
    fn payload_v2(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("userId".into(), Value::from(self.user_id.as_str()));
        map.insert("expiryTime".into(), Value::from(self.expiry_ms()));
        map.insert("timeCreated".into(), Value::from(self.issued_at_ms()));
        map.insert(
            "sessionHandle".into(),
            Value::from(self.session_handle.as_str()),
        );
        map.insert(
            "refreshTokenHash1".into(),
            Value::from(self.refresh_token_hash1.as_str()),
        );
        if let Some(parent) = &self.parent_refresh_token_hash1 {
            map.insert(
                "parentRefreshTokenHash1".into(),
                Value::from(parent.as_str()),
            );
        }
        if let Some(anti_csrf) = &self.anti_csrf_token {
            map.insert("antiCsrfToken".into(), Value::from(anti_csrf.as_str()));
        }
        let user = match &self.user_payload {
            Value::Object(m) => Value::Object(m.clone()),
            _ => Value::Object(Map::new()),
        };
        map.insert("userData".into(), user);
        map
    }

    /// `from_payload_with(…, true)`: the rule with `stt: 0` required.
    #[cfg(test)]
    pub(crate) fn from_payload(
        map: Map<String, Value>,
        kid: &str,
        issuer: Option<&str>,
    ) -> Option<Self> {
        Self::from_payload_with(map, kid, issuer, true, TokenVersion::V5)
    }

    /// Decodes a verified payload. `None` when a protected claim is missing
    /// or has the wrong type, the token type is not a session token, or the
    /// issuer does not match. `stt: 0` is required (and taken out) only
    /// when `type_claim`; otherwise `stt` is a user claim like any other.
    pub(crate) fn from_payload_with(
        mut map: Map<String, Value>,
        kid: &str,
        issuer: Option<&str>,
        type_claim: bool,
        version: TokenVersion,
    ) -> Option<Self> {
        if version == TokenVersion::V2 {
            return Self::from_payload_v2(map, kid);
        }
        if version != TokenVersion::V5 && (type_claim || issuer.is_some()) {
            // Old formats exist only for the core's SDKs, which have neither.
            return None;
        }
        if type_claim && map.remove("stt")?.as_u64() != Some(0) {
            return None;
        }
        // Both are always present (null when unset), as the core requires
        // (`checkRequiredPropsExist`).
        let parent_refresh_token_hash1 = match map.remove("parentRefreshTokenHash1")? {
            Value::Null => None,
            Value::String(s) => Some(s),
            _ => return None,
        };
        let issued_at = map.remove("iat")?.as_u64()?;
        let expires_at = map.remove("exp")?.as_u64()?;
        let user_id = take_string(&mut map, "sub")?;
        // v3 has no tenant and v4 no recipe user id: a user claim of that
        // name stays a user claim, as in the core.
        let recipe_user_id = match version {
            TokenVersion::V5 => take_string(&mut map, "rsub")?,
            _ => user_id.clone(),
        };
        let tenant_id = match version {
            TokenVersion::V3 => crate::DEFAULT_TENANT.to_owned(),
            _ => take_string(&mut map, "tId")?,
        };
        let session_handle = take_string(&mut map, "sessionHandle")?;
        let refresh_token_hash1 = take_string(&mut map, "refreshTokenHash1")?;
        let anti_csrf_token = match map.remove("antiCsrfToken")? {
            Value::Null => None,
            Value::String(s) => Some(s),
            _ => return None,
        };
        if let Some(expected) = issuer {
            match map.remove("iss") {
                Some(Value::String(iss)) if iss == expected => {}
                _ => return None,
            }
        }
        Some(Self {
            session_handle,
            user_id,
            recipe_user_id,
            tenant_id,
            issued_at,
            expires_at,
            refresh_token_hash1,
            parent_refresh_token_hash1,
            anti_csrf_token,
            user_payload: Value::Object(map),
            kid: kid.to_owned(),
            version,
        })
    }

    /// Decodes a verified v2 payload: exactly the claims the core writes,
    /// each with its type, and `userData` an object; anything else is no
    /// v2 access token. Times are read in milliseconds and kept in whole
    /// seconds (rounded down, so never a later expiry).
    fn from_payload_v2(mut map: Map<String, Value>, kid: &str) -> Option<Self> {
        let user_id = take_string(&mut map, "userId")?;
        let expires_at = map.remove("expiryTime")?.as_u64()? / 1000;
        let issued_at = map.remove("timeCreated")?.as_u64()? / 1000;
        let session_handle = take_string(&mut map, "sessionHandle")?;
        let refresh_token_hash1 = take_string(&mut map, "refreshTokenHash1")?;
        let parent_refresh_token_hash1 = match map.remove("parentRefreshTokenHash1") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return None,
        };
        let anti_csrf_token = match map.remove("antiCsrfToken") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return None,
        };
        let user_payload = match map.remove("userData")? {
            Value::Object(m) => Value::Object(m),
            _ => return None,
        };
        if !map.is_empty() {
            return None;
        }
        Some(Self {
            session_handle,
            recipe_user_id: user_id.clone(),
            user_id,
            tenant_id: crate::DEFAULT_TENANT.to_owned(),
            issued_at,
            expires_at,
            refresh_token_hash1,
            parent_refresh_token_hash1,
            anti_csrf_token,
            user_payload,
            kid: kid.to_owned(),
            version: TokenVersion::V2,
        })
    }
}

fn take_string(map: &mut Map<String, Value>, k: &str) -> Option<String> {
    match map.remove(k)? {
        Value::String(s) => Some(s),
        _ => None,
    }
}

/// Checks that a user payload is a JSON object with no protected claim (and
/// no `iss` when tessera sets the issuer itself).
pub fn validate_user_payload(payload: &Value, issuer_configured: bool) -> Result<()> {
    validate_user_payload_with(payload, issuer_configured, true)
}

/// [`validate_user_payload`], with `stt` protected only when `type_claim`.
pub(crate) fn validate_user_payload_with(
    payload: &Value,
    issuer_configured: bool,
    type_claim: bool,
) -> Result<()> {
    validate_user_payload_for(payload, issuer_configured, type_claim, TokenVersion::V5)
}

/// [`validate_user_payload_with`] for a token of `version`: a v5 payload
/// may hold none of tessera's protected claims, an older one none of the
/// core's claims of that version (v2: any object).
pub(crate) fn validate_user_payload_for(
    payload: &Value,
    issuer_configured: bool,
    type_claim: bool,
    version: TokenVersion,
) -> Result<()> {
    let Value::Object(map) = payload else {
        return Err(Error::InvalidInput(
            "the access-token payload must be a JSON object".into(),
        ));
    };
    if version != TokenVersion::V5 {
        if let Some(key) = version
            .core_protected_claims()
            .iter()
            .find(|k| map.contains_key(**k))
        {
            return Err(Error::InvalidInput(format!(
                "the access-token payload may not contain the protected claim `{key}`"
            )));
        }
        return Ok(());
    }
    if let Some(key) = PROTECTED_CLAIMS
        .iter()
        .filter(|k| type_claim || **k != "stt")
        .find(|k| map.contains_key(**k))
    {
        return Err(Error::InvalidInput(format!(
            "the access-token payload may not contain the protected claim `{key}`"
        )));
    }
    if issuer_configured && map.contains_key("iss") {
        return Err(Error::InvalidInput(
            "the access-token payload may not contain `iss`: tessera sets it from the configured issuer".into(),
        ));
    }
    Ok(())
}

/// Removes the protected claims from a payload (used where SuperTokens'
/// SDKs send a full payload back, e.g. a merge of the current payload).
pub fn strip_protected_claims(payload: &mut Map<String, Value>) {
    for k in PROTECTED_CLAIMS {
        payload.remove(k);
    }
}

/// The format a token's header names, read without verifying anything:
/// v2 for the core's fixed v2 header, v3 or v4 for a header saying so,
/// `None` for anything that is not a JWT header (v5 otherwise). For
/// choosing a rule before the engine verifies the token; the engine
/// applies the verified token's own format again.
pub fn token_version_of(token: &str) -> Option<TokenVersion> {
    if token.starts_with(super::jwt::V2_HEADER) {
        return Some(TokenVersion::V2);
    }
    let header_b64 = token.split('.').next()?;
    let json = crate::crypto::b64url_decode(header_b64)?;
    super::jwt::parse_header_as(&json, true).map(|(_, v)| v)
}

/// Whether `token` has the structure of a tessera access token — a compact
/// JWS with tessera's header (`typ` JWT, `version` 5, a `kid`) and the
/// protected claims with the right types — *without* checking its signature.
///
/// Web layers use it the way SuperTokens does: a token that is not even
/// shaped like an access token (say, a foreign OAuth bearer token in
/// `Authorization`) is ignored rather than refused, so another transport's
/// token can be used. It proves nothing: only
/// [`SessionManager::get_session`](crate::SessionManager::get_session) verifies.
pub fn is_well_formed_access_token(token: &str) -> bool {
    is_well_formed_access_token_with(token, true)
}

/// [`is_well_formed_access_token`], requiring `stt: 0` only when
/// `type_claim` (see [`Config::session_token_type_claim`](crate::Config)).
pub(crate) fn is_well_formed_access_token_with(token: &str, type_claim: bool) -> bool {
    let Some(parts) = super::jwt::split(token) else {
        return false;
    };
    let Some(header_json) = crate::crypto::b64url_decode(parts.header_b64) else {
        return false;
    };
    let Some(header) = super::jwt::parse_header(&header_json) else {
        return false;
    };
    let Some(payload) = crate::crypto::b64url_decode(parts.payload_b64) else {
        return false;
    };
    let Ok(map) = serde_json::from_slice::<Map<String, Value>>(&payload) else {
        return false;
    };
    AccessTokenClaims::from_payload_with(
        map,
        header.kid.as_deref().unwrap_or_default(),
        None,
        type_claim,
        TokenVersion::V5,
    )
    .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims() -> AccessTokenClaims {
        AccessTokenClaims {
            session_handle: "h".into(),
            user_id: "u".into(),
            recipe_user_id: "u".into(),
            tenant_id: "public".into(),
            issued_at: 10,
            expires_at: 20,
            refresh_token_hash1: "ab".into(),
            parent_refresh_token_hash1: None,
            anti_csrf_token: None,
            user_payload: json!({"role": "reader", "iss": "app"}),
            kid: "d-1".into(),
            version: TokenVersion::V5,
        }
    }

    #[test]
    fn full_payload_round_trips_through_from_payload() {
        let c = claims();
        let back = AccessTokenClaims::from_payload(c.full_payload(None), "d-1", None).unwrap();
        assert_eq!(back, c);
        let p = c.full_payload(None);
        assert_eq!(p["stt"], json!(0));
        assert_eq!(p["parentRefreshTokenHash1"], Value::Null);
        assert_eq!(p["antiCsrfToken"], Value::Null);
    }

    #[test]
    fn a_child_token_carries_its_parent_hash_and_round_trips() {
        let c = AccessTokenClaims {
            parent_refresh_token_hash1: Some("cd".into()),
            ..claims()
        };
        let p = c.full_payload(None);
        assert_eq!(p["parentRefreshTokenHash1"], json!("cd"));
        assert_eq!(AccessTokenClaims::from_payload(p, "d-1", None).unwrap(), c);
    }

    #[test]
    fn without_the_type_claim_stt_is_absent_and_an_ordinary_user_claim() {
        let c = claims();
        let p = c.payload(None, false);
        assert!(!p.contains_key("stt"));
        assert_eq!(
            AccessTokenClaims::from_payload_with(p.clone(), "d-1", None, false, TokenVersion::V5)
                .unwrap(),
            c
        );
        // A token without `stt` is no access token where the claim is on.
        assert!(
            AccessTokenClaims::from_payload_with(p, "d-1", None, true, TokenVersion::V5).is_none()
        );
        let with_user_stt = AccessTokenClaims {
            user_payload: json!({"stt": 1, "role": "x"}),
            ..claims()
        };
        let back = AccessTokenClaims::from_payload_with(
            with_user_stt.payload(None, false),
            "d-1",
            None,
            false,
            TokenVersion::V5,
        )
        .unwrap();
        assert_eq!(back.user_payload, json!({"stt": 1, "role": "x"}));
        assert!(validate_user_payload_with(&json!({"stt": 1}), false, false).is_ok());
        assert!(validate_user_payload_with(&json!({"stt": 1}), false, true).is_err());
        assert!(validate_user_payload_with(&json!({"sub": 1}), false, false).is_err());
    }

    #[test]
    fn payload_without_session_token_type_is_not_an_access_token() {
        let mut p = claims().full_payload(None);
        p.remove("stt");
        assert!(AccessTokenClaims::from_payload(p, "d-1", None).is_none());
        let mut p = claims().full_payload(None);
        p.insert("stt".into(), json!(1));
        assert!(AccessTokenClaims::from_payload(p, "d-1", None).is_none());
    }

    #[test]
    fn the_nullable_claims_must_still_be_present() {
        for k in ["parentRefreshTokenHash1", "antiCsrfToken"] {
            let mut p = claims().full_payload(None);
            p.remove(k);
            assert!(
                AccessTokenClaims::from_payload(p, "d-1", None).is_none(),
                "{k}"
            );
        }
    }

    #[test]
    fn old_formats_round_trip_with_their_own_claims() {
        for version in [TokenVersion::V2, TokenVersion::V3, TokenVersion::V4] {
            let c = AccessTokenClaims {
                version,
                user_payload: json!({"role": "reader"}),
                ..claims()
            };
            let p = c.payload(None, false);
            assert!(!p.contains_key("rsub"), "{version:?}");
            assert_eq!(
                p.contains_key("tId"),
                version == TokenVersion::V4,
                "{version:?}"
            );
            assert_eq!(p.contains_key("userData"), version == TokenVersion::V2);
            let back =
                AccessTokenClaims::from_payload_with(p, "d-1", None, false, version).unwrap();
            assert_eq!(back, c, "{version:?}");
            // Never with tessera's type claim or an issuer.
            let p = c.payload(None, false);
            if version != TokenVersion::V2 {
                assert!(
                    AccessTokenClaims::from_payload_with(p, "d-1", None, true, version).is_none()
                );
            }
        }
        // A v2 payload with anything beside the core's claims is refused.
        let c = AccessTokenClaims {
            version: TokenVersion::V2,
            ..claims()
        };
        let mut p = c.payload(None, false);
        p.insert("extra".into(), json!(1));
        assert!(
            AccessTokenClaims::from_payload_with(p, "d-1", None, false, TokenVersion::V2).is_none()
        );
        // v2 collides with nothing; v3 protects `sub` but not `tId`.
        assert!(
            validate_user_payload_for(&json!({"sub": 1}), false, false, TokenVersion::V2).is_ok()
        );
        assert!(
            validate_user_payload_for(&json!({"sub": 1}), false, false, TokenVersion::V3).is_err()
        );
        assert!(
            validate_user_payload_for(&json!({"tId": 1}), false, false, TokenVersion::V3).is_ok()
        );
        assert!(
            validate_user_payload_for(&json!({"tId": 1}), false, false, TokenVersion::V4).is_err()
        );
    }

    #[test]
    fn wrong_claim_types_are_rejected() {
        for (k, v) in [
            ("exp", json!("20")),
            ("sub", json!(5)),
            ("antiCsrfToken", json!(1)),
            ("parentRefreshTokenHash1", json!(1)),
            ("iat", json!(-1)),
        ] {
            let mut p = claims().full_payload(None);
            p.insert(k.into(), v);
            assert!(
                AccessTokenClaims::from_payload(p, "d-1", None).is_none(),
                "{k}"
            );
        }
    }

    #[test]
    fn issuer_must_match_when_configured() {
        let mut c = claims();
        c.user_payload = json!({"role": "reader"});
        let p = c.full_payload(Some("https://api.example"));
        assert!(
            AccessTokenClaims::from_payload(p.clone(), "d-1", Some("https://api.example"))
                .is_some()
        );
        assert!(AccessTokenClaims::from_payload(p, "d-1", Some("https://other.example")).is_none());
    }

    #[test]
    fn user_payload_colliding_with_a_protected_claim_is_an_error() {
        assert!(validate_user_payload(&json!({"role": 1}), false).is_ok());
        for k in PROTECTED_CLAIMS {
            let err = validate_user_payload(&json!({ k: 1 }), false).unwrap_err();
            assert!(err.to_string().contains(k));
        }
        assert!(validate_user_payload(&json!([1]), false).is_err());
        assert!(validate_user_payload(&json!({"iss": "x"}), true).is_err());
        assert!(validate_user_payload(&json!({"iss": "x"}), false).is_ok());
    }
}
