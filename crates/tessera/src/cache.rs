//! The verified-access-token cache.
//!
//! A browser sends the same access token on every request until it is
//! refreshed; checking its RSA signature each time is the largest cost of
//! verification. This cache maps a token *that has already passed every
//! signature and claim check* to its parsed claims, so the next request with
//! the same token skips the signature.
//!
//! - Keyed by the whole token string, compared in constant time: a lookup
//!   can only hit for the exact bytes that were verified, and its timing says
//!   nothing about cached tokens. Hashing uses a per-process random key and
//!   reads the token's length and its last [`HASHED_TAIL`] bytes (part of
//!   the signature, which no one can choose for a token that verifies)
//!   rather than all ~800 bytes: the hash only picks a bucket, the
//!   constant-time compare of the whole token decides.
//! - A hit returns the cached token text with its claims
//!   ([`VerifiedAccessToken`]), so a caller that keeps the token (the
//!   request's `Session`) shares it instead of copying it.
//! - Bounded in entries (`Config::verified_token_cache_capacity`); the
//!   token's own `exp` is re-checked on every hit, so an entry never outlives
//!   its token's validity in effect.
//! - Blacklisting and `check_database` still consult the store on a hit.
//! - When keys are deleted (emergency rotation, retirement) the cache is
//!   cleared and the deleted key ids are remembered: an entry for one of
//!   them, even one inserted by a verification that raced with the purge,
//!   is never returned.

use std::collections::{HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arc_swap::ArcSwap;
use quick_cache::Equivalent;
use quick_cache::sync::Cache;

use crate::crypto::ct_eq;
use crate::token::AccessTokenClaims;

/// How many bytes at the end of a token its cache hash reads.
pub(crate) const HASHED_TAIL: usize = 64;

/// An access token that passed every check of verification but expiry and
/// anti-CSRF (which are made on every use): its text, shared with the
/// verified-token cache, and its claims. Cheap to clone (two `Arc`s). Its
/// `Debug` leaves the token out.
#[derive(Clone)]
pub struct VerifiedAccessToken {
    /// The token as it was presented.
    pub token: Arc<str>,
    /// Its verified claims.
    pub claims: Arc<AccessTokenClaims>,
}

impl std::fmt::Debug for VerifiedAccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedAccessToken")
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

/// An owned cache key: a verified token.
#[derive(Debug, Clone)]
struct TokenKey(Arc<str>);

/// A borrowed lookup key: the bytes of a presented token (a request's
/// header bytes, not checked as text: only identical bytes, those of a
/// verified token, can match).
struct TokenRef<'a>(&'a [u8]);

/// The cache hash of a token: its length and its tail (see the module
/// documentation).
fn hash_token<H: Hasher>(bytes: &[u8], state: &mut H) {
    state.write_usize(bytes.len());
    state.write(&bytes[bytes.len().saturating_sub(HASHED_TAIL)..]);
}

impl Hash for TokenKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_token(self.0.as_bytes(), state);
    }
}

impl Hash for TokenRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_token(self.0, state);
    }
}

impl PartialEq for TokenKey {
    fn eq(&self, other: &Self) -> bool {
        ct_eq(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl Eq for TokenKey {}

impl Equivalent<TokenKey> for TokenRef<'_> {
    fn equivalent(&self, key: &TokenKey) -> bool {
        ct_eq(self.0, key.0.as_bytes())
    }
}

/// Bounded map from verified access token to its claims.
#[derive(Debug)]
pub(crate) struct VerifiedCache {
    cache: Cache<TokenKey, VerifiedAccessToken>,
    /// Key ids deleted while this process ran (the latest few hundred).
    removed_kids: ArcSwap<RemovedKids>,
}

/// A bounded set of deleted key ids, oldest first in `order`.
#[derive(Debug, Default, Clone)]
struct RemovedKids {
    set: HashSet<String>,
    order: VecDeque<String>,
}

/// How many deleted key ids the cache remembers; older ones belong to keys
/// whose tokens have long expired.
const REMOVED_KIDS_KEPT: usize = 256;

impl VerifiedCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            cache: Cache::new(capacity),
            removed_kids: ArcSwap::from_pointee(RemovedKids::default()),
        }
    }

    /// The cached entry for exactly `token`, unless its signing key was
    /// deleted since.
    pub(crate) fn get(&self, token: &[u8]) -> Option<VerifiedAccessToken> {
        let entry = self.cache.get(&TokenRef(token))?;
        let removed = self.removed_kids.load();
        if !removed.set.is_empty() && removed.set.contains(entry.claims.kid.as_str()) {
            return None;
        }
        Some(entry)
    }

    /// Forgets every entry and refuses, from now on, entries signed by the
    /// keys `removed` names.
    pub(crate) fn purge_keys(&self, removed: &[String]) {
        let mut kids = self.removed_kids.load().as_ref().clone();
        for kid in removed {
            if kids.set.insert(kid.clone()) {
                kids.order.push_back(kid.clone());
            }
        }
        while kids.order.len() > REMOVED_KIDS_KEPT {
            if let Some(old) = kids.order.pop_front() {
                kids.set.remove(&old);
            }
        }
        self.removed_kids.store(Arc::new(kids));
        self.cache.clear();
    }

    /// Caches a token this manager signed or verified.
    pub(crate) fn insert(&self, token: &str, claims: Arc<AccessTokenClaims>) {
        self.insert_shared(VerifiedAccessToken {
            token: token.into(),
            claims,
        });
    }

    /// Caches a verified token whose text the caller shares.
    pub(crate) fn insert_shared(&self, entry: VerifiedAccessToken) {
        self.cache.insert(TokenKey(entry.token.clone()), entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_claims(kid: &str) -> Arc<AccessTokenClaims> {
        let mut map = serde_json::Map::new();
        for (k, v) in [
            ("sub", serde_json::json!("u")),
            ("sessionHandle", serde_json::json!("h")),
            ("refreshTokenHash1", serde_json::json!("x")),
            ("exp", serde_json::json!(4_000_000_000u64)),
            ("iat", serde_json::json!(1u64)),
            ("tId", serde_json::json!("public")),
            ("rsub", serde_json::json!("u")),
            ("parentRefreshTokenHash1", serde_json::Value::Null),
            ("antiCsrfToken", serde_json::Value::Null),
            ("stt", serde_json::json!(0)),
        ] {
            map.insert(k.to_owned(), v);
        }
        Arc::new(AccessTokenClaims::from_payload(map, kid, None).unwrap())
    }

    #[test]
    fn tokens_with_the_same_tail_are_told_apart_by_the_whole_compare() {
        let cache = VerifiedCache::new(16);
        let tail = "s".repeat(HASHED_TAIL);
        let a = format!("a.{tail}");
        let b = format!("b.{tail}");
        cache.insert(&a, test_claims("k-a"));
        assert!(
            cache.get(b.as_bytes()).is_none(),
            "same hash, different token"
        );
        cache.insert(&b, test_claims("k-b"));
        let hit = cache.get(a.as_bytes()).expect("cached");
        assert_eq!(&*hit.token, a.as_str());
        assert_eq!(hit.claims.kid, "k-a");
        assert_eq!(cache.get(b.as_bytes()).expect("cached").claims.kid, "k-b");
    }

    #[test]
    fn purged_key_entries_are_never_returned_even_if_inserted_later() {
        let cache = VerifiedCache::new(16);
        let claims = test_claims;
        cache.insert("token-a", claims("d-a"));
        cache.insert("token-b", claims("d-b"));
        cache.purge_keys(&["d-a".to_owned()]);
        assert!(cache.get(b"token-a").is_none());
        assert!(
            cache.get(b"token-b").is_none(),
            "the purge clears everything"
        );
        // A verification that read the old key set and inserts after the purge.
        cache.insert("token-a", claims("d-a"));
        cache.insert("token-b", claims("d-b"));
        assert!(cache.get(b"token-a").is_none());
        assert!(cache.get(b"token-b").is_some());
    }
}
