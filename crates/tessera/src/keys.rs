//! Signing keys: generation, the parsed in-memory key set, rotation and JWKS.
//!
//! Keys live in the store so that every process on one database signs and
//! verifies with the same set. Each process holds the set *parsed*
//! (`KeySet`): an RSA private key is parsed once when it is loaded, never
//! per signature.
//!
//! Rotation (for the dynamic, `d-` keys) is by generation: generation `n+1`
//! is created `signing_key_publish_lead` before generation `n` stops signing,
//! so it is in JWKS before the first token it signs. `(purpose, generation)`
//! is unique in the store, so two processes that rotate at once end with one
//! new key. A key is kept for verification until every token it signed has
//! expired (`retire_after_ms`), then deleted by the cleanup.
//!
//! At rest, every secret is sealed under the operator's key-encryption key
//! when one is configured ([`kek`], `at_rest`). An emergency rotation
//! ([`EmergencyRotation`]) deletes compromised keys outright instead.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, ParsedPublicKey};
use serde::Serialize;

use crate::config::{Config, SigningAlgorithm, ms};
use crate::crypto::{b64url, random_bytes};
use crate::error::{Error, Result};
use crate::store::{KeyPurpose, StoredKey};

pub(crate) mod at_rest;
pub mod kek;

pub use kek::KeyEncryptionKey;

/// What [`SessionManager::emergency_rotate`](crate::SessionManager::emergency_rotate)
/// replaces. The replaced keys are deleted at once: nothing they signed or
/// authenticated is accepted afterwards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmergencyRotation {
    /// Replace every access-token signing key, dynamic (`d-`) and static
    /// (`s-`): access tokens they signed stop verifying; clients refresh
    /// (their refresh tokens still work) and get tokens under the new key.
    pub signing: bool,
    /// Replace the refresh MAC key: every refresh token and anti-CSRF token
    /// becomes void, so every user signs in again.
    pub refresh_mac: bool,
}

/// What an emergency rotation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmergencyRotationReport {
    /// Key ids deleted (no longer accepted anywhere).
    pub removed: Vec<String>,
    /// Key ids created in their place.
    pub added: Vec<String>,
}

/// What [`SessionManager::rewrap_keys`](crate::SessionManager::rewrap_keys) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewrapReport {
    /// Key rows re-encrypted.
    pub rows: usize,
    /// Id of the key-encryption key they are now sealed under.
    pub kek_id: String,
}

/// The algorithm of the refresh-token MAC key.
pub(crate) const HS256: &str = "HS256";

/// Length of an Ed25519 signature and of an ES256 (P-256, `r ‖ s`) one.
const SIGNATURE_LEN_64: usize = 64;

/// Order `n` of the P-256 group, big-endian.
const P256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// `floor(n / 2)` for the P-256 order: an `s` above it is "high".
const P256_HALF_ORDER: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
];

/// A parsed private key of one of the three algorithms.
enum PrivateKey {
    Rsa(KeyPair),
    Ed25519(Ed25519KeyPair),
    Es256(EcdsaKeyPair),
}

/// A parsed private key that signs access tokens.
pub(crate) struct SigningKey {
    pub(crate) kid: String,
    pub(crate) generation: i64,
    pub(crate) not_before_ms: i64,
    pub(crate) not_after_ms: Option<i64>,
    /// The one algorithm this key signs with.
    pub(crate) algorithm: SigningAlgorithm,
    /// base64url of this key's JWS header, computed once.
    pub(crate) header_b64: String,
    pair: PrivateKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("generation", &self.generation)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// The JWS signature of `message` under this key's algorithm: 256
    /// bytes for RS256, 64 for EdDSA, 64 (`r ‖ s`, low-S) for ES256.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        match &self.pair {
            PrivateKey::Rsa(pair) => {
                let mut sig = vec![0u8; pair.public_modulus_len()];
                pair.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &aws_lc_rs::rand::SystemRandom::new(),
                    message,
                    &mut sig,
                )
                .map_err(|_| Error::Crypto("RSA signing failed"))?;
                Ok(sig)
            }
            PrivateKey::Ed25519(pair) => pair
                .try_sign(message)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(|_| Error::Crypto("Ed25519 signing failed")),
            PrivateKey::Es256(pair) => {
                let sig = pair
                    .sign(&aws_lc_rs::rand::SystemRandom::new(), message)
                    .map_err(|_| Error::Crypto("ECDSA signing failed"))?;
                let mut sig = sig.as_ref().to_vec();
                if sig.len() != SIGNATURE_LEN_64 {
                    return Err(Error::Crypto("ECDSA signature of unexpected length"));
                }
                to_low_s(&mut sig[32..]);
                Ok(sig)
            }
        }
    }

    fn is_signing_at(&self, now_ms: i64) -> bool {
        self.not_before_ms <= now_ms && self.not_after_ms.is_none_or(|end| now_ms < end)
    }
}

/// A parsed public key and the one algorithm it may verify.
pub(crate) struct VerifyingKey {
    pub(crate) algorithm: SigningAlgorithm,
    key: ParsedPublicKey,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// Parses the public key of a stored row for `algorithm`.
    fn parse(algorithm: SigningAlgorithm, public: &[u8]) -> Option<Self> {
        let verification: &'static dyn signature::VerificationAlgorithm = match algorithm {
            SigningAlgorithm::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            SigningAlgorithm::EdDsa => &signature::ED25519,
            SigningAlgorithm::Es256 => &signature::ECDSA_P256_SHA256_FIXED,
        };
        // Raw keys only for the curves (32-byte Ed25519 key, 65-byte
        // uncompressed P-256 point): what tessera stores for them.
        let raw_len_ok = match algorithm {
            SigningAlgorithm::Rs256 => true,
            SigningAlgorithm::EdDsa => public.len() == 32,
            SigningAlgorithm::Es256 => public.len() == 65 && public[0] == 4,
        };
        if !raw_len_ok {
            return None;
        }
        let key = ParsedPublicKey::new(verification, public).ok()?;
        Some(Self { algorithm, key })
    }

    /// Verifies a signature made with this key's algorithm. Ed25519 and
    /// ES256 signatures must be exactly 64 bytes, and an ES256 signature
    /// must be in low-S form (the one tessera writes): `(r, n - s)` is as
    /// valid to ECDSA as `(r, s)`, and a second spelling of a token would be
    /// a second token.
    pub(crate) fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        match self.algorithm {
            SigningAlgorithm::Rs256 => {}
            SigningAlgorithm::EdDsa => {
                if sig.len() != SIGNATURE_LEN_64 {
                    return false;
                }
            }
            SigningAlgorithm::Es256 => {
                if sig.len() != SIGNATURE_LEN_64 || is_high_s(&sig[32..]) {
                    return false;
                }
            }
        }
        self.key.verify_sig(message, sig).is_ok()
    }
}

/// Whether the big-endian scalar `s` is above half the P-256 order.
fn is_high_s(s: &[u8]) -> bool {
    s > P256_HALF_ORDER.as_slice()
}

/// Replaces a high `s` (big-endian, 32 bytes) by `n - s`.
fn to_low_s(s: &mut [u8]) {
    if !is_high_s(s) {
        return;
    }
    let mut borrow = 0u16;
    for i in (0..32).rev() {
        let minuend = u16::from(P256_ORDER[i]);
        let subtrahend = u16::from(s[i]) + borrow;
        let (digit, next_borrow) = if minuend >= subtrahend {
            (minuend - subtrahend, 0)
        } else {
            (minuend + 256 - subtrahend, 1)
        };
        s[i] = u8::try_from(digit).unwrap_or(0);
        borrow = next_borrow;
    }
}

/// One public key in JWKS form (RFC 7517): `kty` `RSA` with `n` and `e`
/// (RFC 7518 §6.3), `OKP` with `crv` `Ed25519` and `x` (RFC 8037), or `EC`
/// with `crv` `P-256`, `x` and `y` (RFC 7518 §6.2). Members a key type does
/// not have are left out of the JSON.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Jwk {
    /// Key type: `RSA`, `OKP` or `EC`.
    pub kty: &'static str,
    /// Key id, as in the access token's header.
    pub kid: String,
    /// RSA modulus, base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent, base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// Curve: `Ed25519` or `P-256`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<&'static str>,
    /// Public key (Ed25519) or x coordinate (P-256), base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// y coordinate (P-256), base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// Algorithm: `RS256`, `EdDSA` or `ES256`.
    pub alg: &'static str,
    /// Use: `sig`.
    #[serde(rename = "use")]
    pub use_: &'static str,
}

/// A JSON Web Key Set: every key a live access token may be signed with,
/// including a published successor that does not sign yet.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

/// Every key of the store, parsed.
#[derive(Debug, Default)]
pub(crate) struct KeySet {
    dynamic: Vec<Arc<SigningKey>>,
    static_key: Option<Arc<SigningKey>>,
    verifying: HashMap<String, Arc<VerifyingKey>>,
    /// The same keys by the exact base64url header tessera writes for them,
    /// so that verifying one of our own tokens needs no header decoding.
    by_header: HashMap<String, (String, Arc<VerifyingKey>)>,
    /// Generation, kid and secret of the refresh MAC key.
    refresh_mac: Option<(i64, String, Arc<[u8]>)>,
    jwks: Arc<Jwks>,
    /// Every key id of the set (signing and MAC), sorted: what the periodic
    /// key-set check compares with the store.
    kids: Vec<String>,
}

impl KeySet {
    /// Parses stored keys, reusing already-parsed ones from `previous`.
    pub(crate) fn parse(stored: &[StoredKey], previous: &KeySet) -> Result<Self> {
        let mut set = KeySet::default();
        let mut jwks = Jwks::default();
        for key in stored {
            match key.purpose {
                KeyPurpose::RefreshMac => {
                    if key.algorithm != HS256 || key.secret.len() < 32 {
                        return Err(Error::CorruptData(format!(
                            "refresh MAC key {} is unusable",
                            key.kid
                        )));
                    }
                    // One MAC key at a time (an emergency rotation replaces it
                    // in one transaction); should there be several, the newest.
                    if set
                        .refresh_mac
                        .as_ref()
                        .is_none_or(|(g, _, _)| key.generation > *g)
                    {
                        set.refresh_mac = Some((
                            key.generation,
                            key.kid.clone(),
                            Arc::from(key.secret.as_slice()),
                        ));
                    }
                }
                KeyPurpose::DynamicSigning | KeyPurpose::StaticSigning => {
                    let Some(algorithm) = SigningAlgorithm::from_jws_name(&key.algorithm) else {
                        return Err(Error::CorruptData(format!(
                            "key {} has unknown algorithm",
                            key.kid
                        )));
                    };
                    let signing = match previous.find_signing(&key.kid) {
                        Some(k) if k.algorithm == algorithm => k,
                        _ => Arc::new(parse_signing_key(key, algorithm)?),
                    };
                    let verifying = match previous.verifying.get(&key.kid) {
                        Some(v) if v.algorithm == algorithm => v.clone(),
                        _ => Arc::new(VerifyingKey::parse(algorithm, &key.public_der).ok_or_else(
                            || Error::CorruptData(format!("public key {} unparsable", key.kid)),
                        )?),
                    };
                    let jwk = match previous.jwks.keys.iter().find(|j| j.kid == key.kid) {
                        Some(j) if j.alg == algorithm.jws_name() => j.clone(),
                        _ => jwk_of(key, algorithm)?,
                    };
                    jwks.keys.push(jwk);
                    set.by_header.insert(
                        signing.header_b64.clone(),
                        (key.kid.clone(), verifying.clone()),
                    );
                    set.verifying.insert(key.kid.clone(), verifying);
                    if key.purpose == KeyPurpose::StaticSigning {
                        set.static_key = Some(signing);
                    } else {
                        set.dynamic.push(signing);
                    }
                }
            }
        }
        set.dynamic.sort_by_key(|k| k.generation);
        set.jwks = Arc::new(jwks);
        set.kids = stored.iter().map(|k| k.kid.clone()).collect();
        set.kids.sort_unstable();
        Ok(set)
    }

    fn find_signing(&self, kid: &str) -> Option<Arc<SigningKey>> {
        self.dynamic
            .iter()
            .chain(self.static_key.iter())
            .find(|k| k.kid == kid)
            .cloned()
    }

    /// The key that signs now: the newest dynamic key whose window covers
    /// `now_ms`, or the static key.
    pub(crate) fn signing_key(&self, dynamic: bool, now_ms: i64) -> Option<&Arc<SigningKey>> {
        if dynamic {
            self.dynamic.iter().rev().find(|k| k.is_signing_at(now_ms))
        } else {
            self.static_key.as_ref()
        }
    }

    /// Whether a dynamic key is due: none signs now, or the newest one ends
    /// within `lead_ms` and has no successor yet.
    pub(crate) fn dynamic_key_due(&self, now_ms: i64, lead_ms: i64) -> bool {
        match self.dynamic.iter().max_by_key(|k| k.generation) {
            None => true,
            Some(newest) => newest
                .not_after_ms
                .is_some_and(|end| end.saturating_sub(now_ms) <= lead_ms),
        }
    }

    /// The verifying key for `kid`.
    pub(crate) fn verifying_key(&self, kid: &str) -> Option<(&str, &Arc<VerifyingKey>)> {
        self.verifying
            .get_key_value(kid)
            .map(|(k, v)| (k.as_str(), v))
    }

    /// Every verifying key with its `kid`.
    pub(crate) fn verifying_keys(&self) -> impl Iterator<Item = (&str, &Arc<VerifyingKey>)> {
        self.verifying.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The `kid` and key whose header tessera writes as exactly `header_b64`.
    pub(crate) fn key_by_exact_header(
        &self,
        header_b64: &str,
    ) -> Option<(&str, &Arc<VerifyingKey>)> {
        self.by_header
            .get(header_b64)
            .map(|(kid, key)| (kid.as_str(), key))
    }

    /// The refresh-token MAC secret.
    pub(crate) fn refresh_mac(&self) -> Option<&Arc<[u8]>> {
        self.refresh_mac.as_ref().map(|(_, _, k)| k)
    }

    /// This set without the keys `removed` names: what a process keeps when
    /// it learns that keys were deleted but cannot read the new rows.
    pub(crate) fn without(&self, removed: &[String]) -> KeySet {
        let keep = |kid: &str| !removed.iter().any(|r| r == kid);
        KeySet {
            dynamic: self
                .dynamic
                .iter()
                .filter(|k| keep(&k.kid))
                .cloned()
                .collect(),
            static_key: self.static_key.clone().filter(|k| keep(&k.kid)),
            verifying: self
                .verifying
                .iter()
                .filter(|(kid, _)| keep(kid))
                .map(|(kid, v)| (kid.clone(), v.clone()))
                .collect(),
            by_header: self
                .by_header
                .iter()
                .filter(|(_, (kid, _))| keep(kid))
                .map(|(h, v)| (h.clone(), v.clone()))
                .collect(),
            refresh_mac: self.refresh_mac.clone().filter(|(_, kid, _)| keep(kid)),
            jwks: Arc::new(Jwks {
                keys: self
                    .jwks
                    .keys
                    .iter()
                    .filter(|j| keep(&j.kid))
                    .cloned()
                    .collect(),
            }),
            kids: self.kids.iter().filter(|k| keep(k)).cloned().collect(),
        }
    }

    /// Every key id, sorted.
    pub(crate) fn kids(&self) -> &[String] {
        &self.kids
    }

    /// The public keys.
    pub(crate) fn jwks(&self) -> &Arc<Jwks> {
        &self.jwks
    }
}

fn parse_signing_key(key: &StoredKey, algorithm: SigningAlgorithm) -> Result<SigningKey> {
    let unparsable = || Error::CorruptData(format!("private key {} unparsable", key.kid));
    let pair = match algorithm {
        SigningAlgorithm::Rs256 => {
            PrivateKey::Rsa(KeyPair::from_pkcs8(&key.secret).map_err(|_| unparsable())?)
        }
        SigningAlgorithm::EdDsa => {
            PrivateKey::Ed25519(Ed25519KeyPair::from_pkcs8(&key.secret).map_err(|_| unparsable())?)
        }
        SigningAlgorithm::Es256 => PrivateKey::Es256(
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &key.secret)
                .map_err(|_| unparsable())?,
        ),
    };
    let header = serde_json::json!({
        "alg": algorithm.jws_name(), "typ": "JWT", "version": "5", "kid": key.kid
    });
    Ok(SigningKey {
        kid: key.kid.clone(),
        generation: key.generation,
        not_before_ms: key.not_before_ms,
        not_after_ms: key.not_after_ms,
        algorithm,
        header_b64: b64url(header.to_string().as_bytes()),
        pair,
    })
}

fn jwk_of(key: &StoredKey, algorithm: SigningAlgorithm) -> Result<Jwk> {
    let mut jwk = Jwk {
        kty: "RSA",
        kid: key.kid.clone(),
        n: None,
        e: None,
        crv: None,
        x: None,
        y: None,
        alg: algorithm.jws_name(),
        use_: "sig",
    };
    let unparsable = || Error::CorruptData(format!("public key {} unparsable", key.kid));
    match algorithm {
        SigningAlgorithm::Rs256 => {
            let pair = KeyPair::from_pkcs8(&key.secret)
                .map_err(|_| Error::CorruptData(format!("private key {} unparsable", key.kid)))?;
            let components: PublicKeyComponents<Vec<u8>> = pair.public_key().into();
            jwk.n = Some(b64url(strip_leading_zeros(&components.n)));
            jwk.e = Some(b64url(strip_leading_zeros(&components.e)));
        }
        SigningAlgorithm::EdDsa => {
            if key.public_der.len() != 32 {
                return Err(unparsable());
            }
            jwk.kty = "OKP";
            jwk.crv = Some("Ed25519");
            jwk.x = Some(b64url(&key.public_der));
        }
        SigningAlgorithm::Es256 => {
            // Uncompressed point: 0x04 ‖ x ‖ y, 32 bytes each (RFC 7518
            // §6.2.1: full-length coordinates, leading zeros kept).
            let point = key.public_der.as_slice();
            if point.len() != 65 || point[0] != 4 {
                return Err(unparsable());
            }
            jwk.kty = "EC";
            jwk.crv = Some("P-256");
            jwk.x = Some(b64url(&point[1..33]));
            jwk.y = Some(b64url(&point[33..]));
        }
    }
    Ok(jwk)
}

fn strip_leading_zeros(b: &[u8]) -> &[u8] {
    let first = b
        .iter()
        .position(|&x| x != 0)
        .unwrap_or(b.len().saturating_sub(1));
    &b[first..]
}

/// What a key-maintenance pass must add to the store.
pub(crate) fn missing_keys(
    stored: &[StoredKey],
    config: &Config,
    need_static: bool,
    now_ms: i64,
) -> Result<Vec<StoredKey>> {
    let mut out = Vec::new();
    if !stored.iter().any(|k| k.purpose == KeyPurpose::RefreshMac) {
        out.push(refresh_mac_key(0, now_ms)?);
    }
    if need_static
        && !stored
            .iter()
            .any(|k| k.purpose == KeyPurpose::StaticSigning)
    {
        out.push(generate_key(
            config.signing_algorithm,
            KeyPurpose::StaticSigning,
            0,
            now_ms,
            None,
            None,
        )?);
    }
    let interval = ms(config.signing_key_rotation_interval);
    let lead = ms(config.signing_key_publish_lead);
    let dynamic: Vec<&StoredKey> = stored
        .iter()
        .filter(|k| k.purpose == KeyPurpose::DynamicSigning)
        .collect();
    let newest = dynamic.iter().max_by_key(|k| k.generation);
    let current = dynamic
        .iter()
        .filter(|k| k.not_before_ms <= now_ms && k.not_after_ms.is_none_or(|e| now_ms < e))
        .max_by_key(|k| k.generation);
    match (current, newest) {
        (None, newest) => {
            // Nothing signs now (first start, or every key has lapsed): a key
            // that signs at once. It is stored, hence published, before use.
            let generation = newest.map_or(0, |k| k.generation + 1);
            out.push(dynamic_key(config, generation, now_ms, now_ms, interval)?);
        }
        (Some(cur), Some(newest)) if newest.generation == cur.generation => {
            let configured = config.signing_algorithm.jws_name();
            if cur.algorithm != configured {
                // The setting changed: a successor of the configured
                // algorithm, published a lead before it takes over. The old
                // key keeps verifying until its tokens have expired.
                tracing::warn!(
                    target: "tessera::keys",
                    kid = %cur.kid,
                    from = %cur.algorithm,
                    to = %config.signing_algorithm,
                    "signing algorithm changed: adding a key of the new algorithm (every process on this database must use the same setting)"
                );
                out.push(dynamic_key(
                    config,
                    cur.generation + 1,
                    now_ms,
                    now_ms.saturating_add(lead),
                    interval,
                )?);
            } else if let Some(end) = cur.not_after_ms
                && end - now_ms <= lead
            {
                out.push(dynamic_key(
                    config,
                    cur.generation + 1,
                    now_ms,
                    end,
                    interval,
                )?);
            }
        }
        _ => {}
    }
    Ok(out)
}

/// A new static (`s-`) signing key of `generation` for `algorithm`.
pub(crate) fn static_key(
    algorithm: SigningAlgorithm,
    generation: i64,
    now_ms: i64,
) -> Result<StoredKey> {
    generate_key(
        algorithm,
        KeyPurpose::StaticSigning,
        generation,
        now_ms,
        None,
        None,
    )
}

/// A new refresh MAC key of `generation`.
pub(crate) fn refresh_mac_key(generation: i64, now_ms: i64) -> Result<StoredKey> {
    Ok(StoredKey {
        kid: format!("mac-{}", b64url(&random_bytes::<9>()?)),
        purpose: KeyPurpose::RefreshMac,
        generation,
        algorithm: HS256.to_owned(),
        secret: random_bytes::<32>()?.to_vec(),
        public_der: Vec::new(),
        created_at_ms: now_ms,
        not_before_ms: now_ms,
        not_after_ms: None,
        retire_after_ms: None,
    })
}

/// A dynamic key that signs from `not_before_ms` for one rotation interval.
pub(crate) fn dynamic_key(
    config: &Config,
    generation: i64,
    now_ms: i64,
    not_before_ms: i64,
    interval_ms: i64,
) -> Result<StoredKey> {
    let not_after = not_before_ms.saturating_add(interval_ms);
    // Tokens signed at the last moment live one access-token validity, plus
    // the leeway and a minute of margin for clock differences between servers.
    let retire = not_after
        .saturating_add(ms(config.access_token_validity))
        .saturating_add(ms(config.clock_leeway))
        .saturating_add(60_000);
    generate_key(
        config.signing_algorithm,
        KeyPurpose::DynamicSigning,
        generation,
        now_ms,
        Some((not_before_ms, not_after)),
        Some(retire),
    )
}

/// A new key pair for `algorithm`: the private key as PKCS#8 DER and the
/// public key as the store keeps it — PKCS#1 `RSAPublicKey` DER for RSA,
/// the raw 32 bytes for Ed25519, the 65-byte uncompressed point for P-256.
fn generate_pair(algorithm: SigningAlgorithm) -> Result<(Vec<u8>, Vec<u8>)> {
    match algorithm {
        SigningAlgorithm::Rs256 => {
            let pair = KeyPair::generate(KeySize::Rsa2048)
                .map_err(|_| Error::Crypto("RSA key generation failed"))?;
            let pkcs8 = pair
                .as_der()
                .map_err(|_| Error::Crypto("RSA key encoding failed"))?;
            Ok((pkcs8.as_ref().to_vec(), pair.public_key().as_ref().to_vec()))
        }
        SigningAlgorithm::EdDsa => {
            let pair = Ed25519KeyPair::generate()
                .map_err(|_| Error::Crypto("Ed25519 key generation failed"))?;
            let pkcs8 = pair
                .to_pkcs8()
                .map_err(|_| Error::Crypto("Ed25519 key encoding failed"))?;
            Ok((pkcs8.as_ref().to_vec(), pair.public_key().as_ref().to_vec()))
        }
        SigningAlgorithm::Es256 => {
            let pair = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
                .map_err(|_| Error::Crypto("P-256 key generation failed"))?;
            let pkcs8 = pair
                .to_pkcs8v1()
                .map_err(|_| Error::Crypto("P-256 key encoding failed"))?;
            Ok((pkcs8.as_ref().to_vec(), pair.public_key().as_ref().to_vec()))
        }
    }
}

fn generate_key(
    algorithm: SigningAlgorithm,
    purpose: KeyPurpose,
    generation: i64,
    now_ms: i64,
    window: Option<(i64, i64)>,
    retire_after_ms: Option<i64>,
) -> Result<StoredKey> {
    let (pkcs8, public) = generate_pair(algorithm)?;
    let prefix = if purpose == KeyPurpose::StaticSigning {
        "s"
    } else {
        "d"
    };
    let (not_before_ms, not_after_ms) = match window {
        Some((b, a)) => (b, Some(a)),
        None => (now_ms, None),
    };
    Ok(StoredKey {
        kid: format!("{prefix}-{}", b64url(&random_bytes::<12>()?)),
        purpose,
        generation,
        algorithm: algorithm.jws_name().to_owned(),
        secret: pkcs8,
        public_der: public,
        created_at_ms: now_ms,
        not_before_ms,
        not_after_ms,
        retire_after_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_pass_creates_mac_and_a_signing_key_that_signs_now() {
        let config = Config::default();
        let keys = missing_keys(&[], &config, false, 1_000).unwrap();
        assert_eq!(keys.len(), 2);
        let set = KeySet::parse(&keys, &KeySet::default()).unwrap();
        assert!(set.signing_key(true, 1_000).unwrap().kid.starts_with("d-"));
        assert_eq!(set.jwks().keys.len(), 1);
        assert!(
            missing_keys(&keys, &config, false, 2_000)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn successor_is_published_a_lead_before_it_signs() {
        let config = Config::default();
        let mut keys = missing_keys(&[], &config, false, 0).unwrap();
        let interval = ms(config.signing_key_rotation_interval);
        let lead = ms(config.signing_key_publish_lead);
        let just_before_lead = interval - lead - 1;
        assert!(
            missing_keys(&keys, &config, false, just_before_lead)
                .unwrap()
                .is_empty()
        );
        let added = missing_keys(&keys, &config, false, interval - lead).unwrap();
        assert_eq!(added.len(), 1);
        assert_eq!(added[0].generation, 1);
        assert_eq!(added[0].not_before_ms, interval);
        keys.extend(added);
        let set = KeySet::parse(&keys, &KeySet::default()).unwrap();
        // Published (in JWKS) but the old key still signs until the interval ends.
        assert_eq!(set.jwks().keys.len(), 2);
        assert_eq!(set.signing_key(true, interval - 1).unwrap().generation, 0);
        assert_eq!(set.signing_key(true, interval).unwrap().generation, 1);
    }

    #[test]
    fn newest_refresh_mac_key_wins_and_removed_keys_leave_the_set() {
        let mut keys = missing_keys(&[], &Config::default(), true, 0).unwrap();
        let newer = refresh_mac_key(1, 5).unwrap();
        keys.push(newer.clone());
        let set = KeySet::parse(&keys, &KeySet::default()).unwrap();
        assert_eq!(set.refresh_mac().unwrap().as_ref(), newer.secret.as_slice());
        assert_eq!(set.kids().len(), 4);
        let dynamic = set.signing_key(true, 0).unwrap().kid.clone();
        let pruned = set.without(&[dynamic.clone(), newer.kid.clone()]);
        assert!(pruned.verifying_key(&dynamic).is_none());
        assert!(pruned.signing_key(true, 0).is_none());
        assert!(pruned.jwks().keys.iter().all(|j| j.kid != dynamic));
        assert!(pruned.refresh_mac().is_none());
        assert_eq!(pruned.kids().len(), 2);
    }

    #[test]
    fn jwk_has_rsa_fields_without_leading_zero_bytes() {
        let config = Config::default();
        let keys = missing_keys(&[], &config, true, 0).unwrap();
        let set = KeySet::parse(&keys, &KeySet::default()).unwrap();
        assert_eq!(set.jwks().keys.len(), 2);
        for jwk in &set.jwks().keys {
            assert_eq!(jwk.kty, "RSA");
            assert_eq!(jwk.alg, "RS256");
            assert_eq!(jwk.e.as_deref(), Some("AQAB"));
            // 2048-bit modulus: 256 bytes -> 342 base64url characters.
            assert_eq!(jwk.n.as_ref().map(String::len), Some(342));
            assert!(jwk.crv.is_none() && jwk.x.is_none() && jwk.y.is_none());
        }
        assert!(set.signing_key(false, 0).unwrap().kid.starts_with("s-"));
    }
}
