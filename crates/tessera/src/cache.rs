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
//!   nothing about cached tokens. Hashing uses a per-process random key.
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

/// An owned cache key: a verified token.
#[derive(Debug, Clone)]
struct TokenKey(Box<str>);

/// A borrowed lookup key.
struct TokenRef<'a>(&'a str);

impl Hash for TokenKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.0.as_bytes());
    }
}

impl Hash for TokenRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.0.as_bytes());
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
        ct_eq(self.0.as_bytes(), key.0.as_bytes())
    }
}

/// Bounded map from verified access token to its claims.
#[derive(Debug)]
pub(crate) struct VerifiedCache {
    cache: Cache<TokenKey, Arc<AccessTokenClaims>>,
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

    pub(crate) fn get(&self, token: &str) -> Option<Arc<AccessTokenClaims>> {
        let claims = self.cache.get(&TokenRef(token))?;
        let removed = self.removed_kids.load();
        if !removed.set.is_empty() && removed.set.contains(claims.kid.as_str()) {
            return None;
        }
        Some(claims)
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

    pub(crate) fn insert(&self, token: &str, claims: Arc<AccessTokenClaims>) {
        self.cache.insert(TokenKey(token.into()), claims);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purged_key_entries_are_never_returned_even_if_inserted_later() {
        let cache = VerifiedCache::new(16);
        let claims = |kid: &str| {
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
        };
        cache.insert("token-a", claims("d-a"));
        cache.insert("token-b", claims("d-b"));
        cache.purge_keys(&["d-a".to_owned()]);
        assert!(cache.get("token-a").is_none());
        assert!(
            cache.get("token-b").is_none(),
            "the purge clears everything"
        );
        // A verification that read the old key set and inserts after the purge.
        cache.insert("token-a", claims("d-a"));
        cache.insert("token-b", claims("d-b"));
        assert!(cache.get("token-a").is_none());
        assert!(cache.get("token-b").is_some());
    }
}
