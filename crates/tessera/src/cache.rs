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
    removed_kids: ArcSwap<Vec<String>>,
}

/// How many deleted key ids the cache remembers; older ones belong to keys
/// whose tokens have long expired.
const REMOVED_KIDS_KEPT: usize = 256;

impl VerifiedCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            cache: Cache::new(capacity),
            removed_kids: ArcSwap::from_pointee(Vec::new()),
        }
    }

    pub(crate) fn get(&self, token: &str) -> Option<Arc<AccessTokenClaims>> {
        let claims = self.cache.get(&TokenRef(token))?;
        let removed = self.removed_kids.load();
        if !removed.is_empty() && removed.iter().any(|k| *k == claims.kid) {
            return None;
        }
        Some(claims)
    }

    /// Forgets every entry and refuses, from now on, entries signed by the
    /// keys `removed` names.
    pub(crate) fn purge_keys(&self, removed: &[String]) {
        let mut kids = self.removed_kids.load().as_ref().clone();
        kids.extend(removed.iter().cloned());
        let excess = kids.len().saturating_sub(REMOVED_KIDS_KEPT);
        kids.drain(..excess);
        self.removed_kids.store(Arc::new(kids));
        self.cache.clear();
    }

    pub(crate) fn insert(&self, token: &str, claims: Arc<AccessTokenClaims>) {
        self.cache.insert(TokenKey(token.into()), claims);
    }
}
