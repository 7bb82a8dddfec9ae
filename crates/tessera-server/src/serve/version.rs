//! The CDI version a request speaks (its `cdi-version` header) and the
//! behaviour that version decides, as SuperTokens core 12.x decides it.
//!
//! | CDI | refresh model | verify |
//! |---|---|---|
//! | 5.0–5.5 | child token + promotion ([`RefreshModel::ChildPromotion`]) | may promote and return a new `accessToken` |
//! | 5.6 (and no header) | rotation at refresh with the grace window ([`RefreshModel::RotateAtRefresh`]) | never writes, never returns a token |
//!
//! The core keeps the child-token model for every version below 5.6
//! (`Session.getSession` and `Session.refreshSessionHelper` branch only on
//! `>= 5.6`); 5.5 changed nothing in the session recipe.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tessera::{RefreshModel, TokenVersion};

/// The CDI versions tessera speaks, oldest first; the last is what a
/// request without a `cdi-version` header gets. Each is served the session
/// behaviour the core gives it and is tested in `tests/cdi_versions.rs`.
pub const SUPPORTED_CDI_VERSIONS: &[&str] = &["5.0", "5.1", "5.2", "5.3", "5.4", "5.5", "5.6"];

/// Older CDI versions SuperTokens core still serves (2.7–4.0), accepted
/// only on create, verify and regenerate, where tessera serves them as the
/// core does: create issues the access-token format of the version
/// (`CdiVersion::token_version`: v2 below 2.21, v3 for 2.21, v4 for 3.x,
/// v5 from 4.0) and leaves out of `session` the fields the version lacks;
/// verify and regenerate take every format (regenerate keeps it). Not in
/// `/apiversion`, since the rest of those versions (refresh issuing old
/// formats, their older response shapes) is not implemented: an SDK never
/// negotiates them, and the SDKs' own suites send them only to make
/// legacy tokens (supertokens-node's `accessTokenVersions.test.js`,
/// supertokens-python's v2 test).
pub const LEGACY_CDI_VERSIONS: &[&str] = &[
    "2.7", "2.8", "2.9", "2.10", "2.11", "2.12", "2.13", "2.14", "2.15", "2.16", "2.17", "2.18",
    "2.19", "2.20", "2.21", "3.0", "3.1", "4.0",
];

/// A CDI version `major.minor`, ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct CdiVersion {
    major: u16,
    minor: u16,
}

impl CdiVersion {
    /// The first version whose refresh rotates (core 12.1.0).
    pub(crate) const ROTATION: Self = Self { major: 5, minor: 6 };

    /// Parses `major.minor`; `None` for anything else.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (major, minor) = text.trim().split_once('.')?;
        Some(Self {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }

    /// The newest version tessera speaks.
    pub(crate) fn latest() -> Self {
        SUPPORTED_CDI_VERSIONS
            .last()
            .and_then(|v| Self::parse(v))
            .unwrap_or(Self::ROTATION)
    }

    const V2_21: Self = Self {
        major: 2,
        minor: 21,
    };
    const V3_0: Self = Self { major: 3, minor: 0 };
    const V4_0: Self = Self { major: 4, minor: 0 };

    /// The access-token format the core issues for this version
    /// (`AccessToken.getAccessTokenVersionForCDI`).
    pub(crate) fn token_version(self) -> TokenVersion {
        if self >= Self::V4_0 {
            TokenVersion::V5
        } else if self >= Self::V3_0 {
            TokenVersion::V4
        } else if self >= Self::V2_21 {
            TokenVersion::V3
        } else {
            TokenVersion::V2
        }
    }

    /// Removes from a `session` answer object what this version's answers
    /// lack: `tenantId` below 3.0, `recipeUserId` below 4.0 (the core's
    /// `SessionAPI`).
    pub(crate) fn shape_session(self, body: &mut serde_json::Value) {
        if let Some(session) = body.get_mut("session").and_then(|s| s.as_object_mut()) {
            if self < Self::V3_0 {
                session.remove("tenantId");
            }
            if self < Self::V4_0 {
                session.remove("recipeUserId");
            }
        }
    }

    /// The refresh model this version's SDKs expect.
    pub(crate) fn refresh_model(self) -> RefreshModel {
        if self >= Self::ROTATION {
            RefreshModel::RotateAtRefresh
        } else {
            RefreshModel::ChildPromotion
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CdiVersion {
    type Rejection = std::convert::Infallible;

    /// The request's version. The `check_cdi_version` layer has already
    /// refused a version tessera does not speak, so what is left is a
    /// supported version or no header (the latest).
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .headers
            .get("cdi-version")
            .and_then(|v| v.to_str().ok())
            .and_then(Self::parse)
            .unwrap_or_else(Self::latest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_version_parses_and_they_are_in_order() {
        let parsed: Vec<CdiVersion> = SUPPORTED_CDI_VERSIONS
            .iter()
            .map(|v| CdiVersion::parse(v).unwrap())
            .collect();
        assert!(parsed.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(CdiVersion::latest(), *parsed.last().unwrap());
    }

    #[test]
    fn each_version_gets_the_cores_token_format() {
        for (v, want) in [
            ("2.7", TokenVersion::V2),
            ("2.18", TokenVersion::V2),
            ("2.20", TokenVersion::V2),
            ("2.21", TokenVersion::V3),
            ("3.0", TokenVersion::V4),
            ("3.1", TokenVersion::V4),
            ("4.0", TokenVersion::V5),
            ("5.4", TokenVersion::V5),
        ] {
            assert_eq!(CdiVersion::parse(v).unwrap().token_version(), want, "{v}");
        }
        assert!(
            LEGACY_CDI_VERSIONS
                .iter()
                .all(|v| CdiVersion::parse(v).is_some())
        );
        assert!(
            LEGACY_CDI_VERSIONS
                .iter()
                .all(|v| !SUPPORTED_CDI_VERSIONS.contains(v))
        );
    }

    #[test]
    fn versions_below_5_6_promote_and_5_6_rotates() {
        for (v, model) in [
            ("5.0", RefreshModel::ChildPromotion),
            ("5.4", RefreshModel::ChildPromotion),
            ("5.5", RefreshModel::ChildPromotion),
            ("5.6", RefreshModel::RotateAtRefresh),
            ("5.10", RefreshModel::RotateAtRefresh),
        ] {
            assert_eq!(CdiVersion::parse(v).unwrap().refresh_model(), model, "{v}");
        }
        assert!(CdiVersion::parse("5").is_none());
        assert!(CdiVersion::parse("x.y").is_none());
    }
}
