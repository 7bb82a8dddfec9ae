//! Signing algorithms (`Config::signing_algorithm`): RS256, EdDSA and ES256
//! on every store; a switch from one to another; keys sealed under a KEK;
//! JWKS in each key type's RFC shape; and every algorithm-confusion case:
//! a token verifies only under its key's own algorithm, with the one
//! signature spelling tessera writes. PostgreSQL tests need
//! `TESSERA_TEST_POSTGRES_URL` (else each says SKIPPING and returns).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::PublicKeyComponents;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, ParsedPublicKey, VerificationAlgorithm,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tessera::keys::KeyEncryptionKey;
use tessera::store::{MemoryStore, SessionStore};
use tessera::{
    Error, Jwk, ManualClock, SessionManager, SigningAlgorithm, UnauthorisedReason, VerifyOptions,
};

use common::stores::{Fixture, MemoryFixture, PostgresFixture, SqliteFixture};

const ALGORITHMS: [SigningAlgorithm; 3] = [
    SigningAlgorithm::Rs256,
    SigningAlgorithm::EdDsa,
    SigningAlgorithm::Es256,
];

const NO_CHECKS: VerifyOptions = VerifyOptions {
    anti_csrf_check: false,
    enable_anti_csrf: None,
    check_database: false,
};

/// Order `n` of the P-256 group, big-endian.
const P256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// Order `L` of the Ed25519 group, little-endian (as `S` is encoded).
const ED25519_ORDER_LE: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];

// ---------------------------------------------------------------- helpers

async fn manager_with<S: SessionStore>(
    store: S,
    clock: &ManualClock,
    algorithm: SigningAlgorithm,
) -> SessionManager {
    SessionManager::builder()
        .store(store)
        .clock(clock.clone())
        .signing_algorithm(algorithm)
        .background_tasks(false)
        .build()
        .await
        .unwrap()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s).unwrap()
}

fn header_of(token: &str) -> Value {
    serde_json::from_slice(&unb64(token.split('.').next().unwrap())).unwrap()
}

/// `(signing input, signature bytes)` of a compact JWS.
fn signed_parts(token: &str) -> (&str, Vec<u8>) {
    let (input, sig) = token.rsplit_once('.').unwrap();
    (input, unb64(sig))
}

/// `token` with its signature replaced by `sig`.
fn with_signature(token: &str, sig: &[u8]) -> String {
    format!("{}.{}", signed_parts(token).0, b64(sig))
}

/// `token` with `header` in place of its own and `sig` as signature.
fn with_header(token: &str, header: &Value, sig: &[u8]) -> String {
    let payload = token.split('.').nth(1).unwrap();
    format!(
        "{}.{payload}.{}",
        b64(header.to_string().as_bytes()),
        b64(sig)
    )
}

/// The published key of `kid`.
fn jwk_of(m: &SessionManager, kid: &str) -> Jwk {
    m.jwks()
        .keys
        .iter()
        .find(|k| k.kid == kid)
        .cloned()
        .expect("kid in JWKS")
}

/// A verifier built from nothing but the published JWK, as a JWKS consumer
/// builds one.
fn verifier_from_jwk(jwk: &Jwk) -> ParsedPublicKey {
    match jwk.kty {
        "RSA" => {
            let der = PublicKeyComponents {
                n: unb64(jwk.n.as_deref().unwrap()),
                e: unb64(jwk.e.as_deref().unwrap()),
            }
            .as_der()
            .unwrap();
            ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, der.as_ref()).unwrap()
        }
        "OKP" => {
            ParsedPublicKey::new(&signature::ED25519, unb64(jwk.x.as_deref().unwrap())).unwrap()
        }
        "EC" => {
            let mut point = vec![4u8];
            point.extend(unb64(jwk.x.as_deref().unwrap()));
            point.extend(unb64(jwk.y.as_deref().unwrap()));
            ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).unwrap()
        }
        other => panic!("unexpected kty {other}"),
    }
}

/// Checks the JWK's members against RFC 7518 §6 / RFC 8037 for `algorithm`.
fn assert_jwk_shape(jwk: &Jwk, algorithm: SigningAlgorithm) {
    let json = serde_json::to_value(jwk).unwrap();
    let members: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(jwk.alg, algorithm.jws_name());
    assert_eq!(json["use"], "sig");
    assert!(!jwk.kid.is_empty());
    match algorithm {
        SigningAlgorithm::Rs256 => {
            assert_eq!(jwk.kty, "RSA");
            assert_eq!(jwk.e.as_deref(), Some("AQAB"));
            assert_eq!(jwk.n.as_ref().map(String::len), Some(342));
            let mut want = vec!["alg", "e", "kid", "kty", "n", "use"];
            want.sort_unstable();
            let mut got = members.clone();
            got.sort_unstable();
            assert_eq!(got, want, "{json}");
        }
        SigningAlgorithm::EdDsa => {
            assert_eq!(jwk.kty, "OKP");
            assert_eq!(jwk.crv, Some("Ed25519"));
            assert_eq!(unb64(jwk.x.as_deref().unwrap()).len(), 32);
            let mut got = members.clone();
            got.sort_unstable();
            assert_eq!(got, ["alg", "crv", "kid", "kty", "use", "x"], "{json}");
        }
        SigningAlgorithm::Es256 => {
            assert_eq!(jwk.kty, "EC");
            assert_eq!(jwk.crv, Some("P-256"));
            // Full-length coordinates (RFC 7518 §6.2.1.2), leading zeros kept.
            assert_eq!(unb64(jwk.x.as_deref().unwrap()).len(), 32);
            assert_eq!(unb64(jwk.y.as_deref().unwrap()).len(), 32);
            let mut got = members.clone();
            got.sort_unstable();
            assert_eq!(got, ["alg", "crv", "kid", "kty", "use", "x", "y"], "{json}");
        }
    }
}

fn is_invalid_access_token(r: &tessera::Result<Arc<tessera::AccessTokenClaims>>) -> bool {
    matches!(
        r,
        Err(Error::Unauthorised {
            reason: UnauthorisedReason::InvalidAccessToken
        })
    )
}

/// `n - s` for a big-endian P-256 scalar.
fn p256_negate(s: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(P256_ORDER[i]) - i16::from(s[i]) - borrow;
        borrow = 0;
        if d < 0 {
            d += 256;
            borrow = 1;
        }
        out[i] = u8::try_from(d).unwrap();
    }
    out
}

/// `s + L` for a little-endian Ed25519 scalar (fits: `s < L < 2^253`).
fn ed25519_add_order(s: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(s[i]) + u16::from(ED25519_ORDER_LE[i]) + carry;
        out[i] = u8::try_from(sum & 0xff).unwrap();
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
    out
}

/// DER (`SEQUENCE { INTEGER r, INTEGER s }`) of a fixed `r ‖ s` signature.
fn ecdsa_der(fixed: &[u8]) -> Vec<u8> {
    fn integer(be: &[u8]) -> Vec<u8> {
        let first = be.iter().position(|&b| b != 0).unwrap_or(be.len() - 1);
        let mut v = be[first..].to_vec();
        if v[0] & 0x80 != 0 {
            v.insert(0, 0);
        }
        let mut out = vec![0x02, u8::try_from(v.len()).unwrap()];
        out.extend(v);
        out
    }
    let mut body = integer(&fixed[..32]);
    body.extend(integer(&fixed[32..]));
    let mut out = vec![0x30, u8::try_from(body.len()).unwrap()];
    out.extend(body);
    out
}

// ---------------------------------------------------------------- on every store

macro_rules! algorithms_on {
    ($name:ident, $fixture:ty) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn create_verify_refresh_with_every_algorithm() {
                for algorithm in ALGORITHMS {
                    let Some(fx) = <$fixture>::setup().await else { return };
                    let clock = ManualClock::starting_now();
                    let m = manager_with(fx.store().clone(), &clock, algorithm).await;
                    let s = m.create_new_session("u", json!({"role": "r"}), json!({})).await.unwrap();
                    let header = header_of(&s.access_token.token);
                    assert_eq!(header["alg"], algorithm.jws_name(), "{algorithm}");
                    let claims = m.get_session(&s.access_token.token, None, NO_CHECKS).await.unwrap();
                    assert_eq!(claims.user_id, "u");
                    let r = m.refresh_session(&s.refresh_token.token, None).await.unwrap();
                    assert_eq!(header_of(&r.access_token.token)["alg"], algorithm.jws_name());
                    let claims = m.get_session(&r.access_token.token, None, NO_CHECKS).await.unwrap();
                    assert_eq!(claims.session_handle, s.handle());

                    // Another process on the same database: no cache, keys from the store.
                    let other = SessionManager::builder()
                        .store(fx.reopen().await.unwrap())
                        .clock(clock.clone())
                        .signing_algorithm(algorithm)
                        .verified_token_cache_capacity(0)
                        .background_tasks(false)
                        .build()
                        .await
                        .unwrap();
                    other.get_session(&r.access_token.token, None, NO_CHECKS).await.unwrap();
                    let again = other.refresh_session(&r.refresh_token.token, None).await.unwrap();
                    m.get_session(&again.access_token.token, None, NO_CHECKS).await.unwrap();

                    // JWKS: the RFC shape, and the key alone verifies the token.
                    let kid = header["kid"].as_str().unwrap();
                    let jwk = jwk_of(&m, kid);
                    assert_jwk_shape(&jwk, algorithm);
                    assert_eq!(jwk, jwk_of(&other, kid));
                    let (input, sig) = signed_parts(&s.access_token.token);
                    verifier_from_jwk(&jwk).verify_sig(input.as_bytes(), &sig).unwrap();
                    for key in &m.jwks().keys {
                        assert_jwk_shape(key, algorithm);
                    }

                    // The JWT recipe signs with the same key and algorithm.
                    let jwt = m
                        .sign_jwt(json!({"sub": "svc"}).as_object().unwrap(), Duration::from_secs(60), true, None)
                        .await
                        .unwrap();
                    let jwt_header = header_of(&jwt);
                    assert_eq!(jwt_header["alg"], algorithm.jws_name());
                    let (input, sig) = signed_parts(&jwt);
                    verifier_from_jwk(&jwk_of(&m, jwt_header["kid"].as_str().unwrap()))
                        .verify_sig(input.as_bytes(), &sig)
                        .unwrap();

                    // The stored rows record the algorithm.
                    let rows = fx.store().load_keys().await.unwrap();
                    let row = rows.iter().find(|k| k.kid == kid).unwrap();
                    assert_eq!(row.algorithm, algorithm.jws_name());
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn switching_rs256_to_eddsa_keeps_old_tokens_until_their_key_retires() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let old = manager_with(fx.store().clone(), &clock, SigningAlgorithm::Rs256).await;
                let s = old.create_new_session("u", json!({}), json!({})).await.unwrap();
                let rsa_kid = header_of(&s.access_token.token)["kid"].as_str().unwrap().to_owned();

                // The same database, now configured for EdDSA.
                let new = manager_with(fx.reopen().await.unwrap(), &clock, SigningAlgorithm::EdDsa).await;
                let algs: Vec<&str> = new.jwks().keys.iter().map(|k| k.alg).collect();
                assert!(algs.contains(&"RS256") && algs.contains(&"EdDSA"), "{algs:?}");
                // Published before it signs: during the lead the RSA key still signs.
                let during_lead = new.create_new_session("v", json!({}), json!({})).await.unwrap();
                assert_eq!(header_of(&during_lead.access_token.token)["alg"], "RS256");

                clock.advance(Duration::from_secs(121));
                let after = new.create_new_session("w", json!({}), json!({})).await.unwrap();
                assert_eq!(header_of(&after.access_token.token)["alg"], "EdDSA");
                // The old RS256 token still verifies, and refreshes into an EdDSA one.
                new.get_session(&s.access_token.token, None, NO_CHECKS).await.unwrap();
                let r = new.refresh_session(&s.refresh_token.token, None).await.unwrap();
                assert_eq!(header_of(&r.access_token.token)["alg"], "EdDSA");
                // The RS256 process learns the EdDSA key and verifies its tokens.
                old.check_key_set().await.unwrap();
                old.get_session(&r.access_token.token, None, NO_CHECKS).await.unwrap();
                // A second maintenance pass adds nothing more.
                let before = fx.store().load_keys().await.unwrap().len();
                new.run_maintenance().await.unwrap();
                assert_eq!(fx.store().load_keys().await.unwrap().len(), before);

                // Past the RSA key's retirement (rotation interval + token
                // lifetime + margins), cleanup removes it and only EdDSA is left.
                clock.advance(Duration::from_secs(8 * 24 * 3600));
                new.run_maintenance().await.unwrap();
                let rows = fx.store().load_keys().await.unwrap();
                assert!(rows.iter().all(|k| k.kid != rsa_kid), "RSA key retired");
                assert!(rows.iter().all(|k| k.algorithm != "RS256"));
                assert!(new.jwks().keys.iter().all(|k| k.alg == "EdDSA"));
                let later = new.create_new_session("x", json!({}), json!({})).await.unwrap();
                assert_eq!(header_of(&later.access_token.token)["alg"], "EdDSA");
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn keys_of_every_algorithm_are_sealed_under_a_kek() {
                for algorithm in ALGORITHMS {
                    let Some(fx) = <$fixture>::setup().await else { return };
                    let kek = KeyEncryptionKey::generate().unwrap();
                    let build = |store, kek: KeyEncryptionKey| {
                        SessionManager::builder()
                            .store(store)
                            .signing_algorithm(algorithm)
                            .use_dynamic_signing_key(false)
                            .key_encryption_key(kek)
                            .background_tasks(false)
                            .build()
                    };
                    let m = build(fx.store().clone(), kek.clone()).await.unwrap();
                    let s = m.create_new_session("u", json!({}), json!({})).await.unwrap();
                    assert_eq!(header_of(&s.access_token.token)["alg"], algorithm.jws_name());
                    let rows = fx.store().load_keys().await.unwrap();
                    let signing: Vec<_> = rows.iter().filter(|k| !k.public_der.is_empty()).collect();
                    assert!(signing.len() >= 2, "a dynamic and the static key");
                    for row in signing {
                        assert_eq!(row.algorithm, algorithm.jws_name());
                        // Sealed: not a PKCS#8 key any parser accepts.
                        assert!(aws_lc_rs::rsa::KeyPair::from_pkcs8(&row.secret).is_err());
                        assert!(Ed25519KeyPair::from_pkcs8(&row.secret).is_err());
                        assert!(
                            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &row.secret)
                                .is_err()
                        );
                    }
                    // Another process with the same KEK opens them and signs.
                    let other = build(fx.reopen().await.unwrap(), kek).await.unwrap();
                    other.get_session(&s.access_token.token, None, NO_CHECKS).await.unwrap();
                    let r = other.refresh_session(&s.refresh_token.token, None).await.unwrap();
                    m.get_session(&r.access_token.token, None, NO_CHECKS).await.unwrap();
                    // With another KEK the rows do not open.
                    let wrong = build(fx.reopen().await.unwrap(), KeyEncryptionKey::generate().unwrap()).await;
                    assert!(wrong.is_err(), "{algorithm}: {wrong:?}");
                }
            }
        }
    };
}

algorithms_on!(memory, MemoryFixture);
algorithms_on!(sqlite, SqliteFixture);
algorithms_on!(postgres, PostgresFixture);

// ---------------------------------------------------------------- confusion

/// A manager signing with `algorithm` on a fresh memory store, and one of
/// its access tokens.
async fn signer(algorithm: SigningAlgorithm) -> (SessionManager, String) {
    let m = manager_with(MemoryStore::new(), &ManualClock::starting_now(), algorithm).await;
    let s = m
        .create_new_session("u", json!({"role": "reader"}), json!({}))
        .await
        .unwrap();
    (m, s.access_token.token)
}

/// A genuine signature of `input` by a fresh key of the JWS algorithm
/// `alg` (what an attacker with their own key can make), or nothing.
fn attacker_signature(alg: &str, input: &[u8]) -> Vec<u8> {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    match alg {
        "RS256" => {
            let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
            let mut sig = vec![0u8; pair.public_modulus_len()];
            pair.sign(&signature::RSA_PKCS1_SHA256, &rng, input, &mut sig)
                .unwrap();
            sig
        }
        "EdDSA" => Ed25519KeyPair::generate()
            .unwrap()
            .sign(input)
            .as_ref()
            .to_vec(),
        "ES256" => EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
            .unwrap()
            .sign(&rng, input)
            .unwrap()
            .as_ref()
            .to_vec(),
        _ => Vec::new(),
    }
}

#[tokio::test]
async fn a_header_naming_another_algorithm_than_the_keys_is_refused() {
    for key_algorithm in ALGORITHMS {
        let (m, token) = signer(key_algorithm).await;
        m.get_session(&token, None, NO_CHECKS).await.unwrap();
        let header = header_of(&token);
        let jwk = jwk_of(&m, header["kid"].as_str().unwrap());
        for alg in [
            "RS256", "EdDSA", "ES256", "HS256", "none", "None", "PS256", "ES384", "Ed25519",
            "eddsa", "es256", "",
        ] {
            if alg == key_algorithm.jws_name() {
                continue;
            }
            let mut h = header.clone();
            h["alg"] = json!(alg);
            let payload = token.split('.').nth(1).unwrap();
            let input = format!("{}.{payload}", b64(h.to_string().as_bytes()));
            let genuine = signed_parts(&token).1;
            // Our key's genuine signature (of the original header), an
            // attacker's key of the named algorithm, an empty signature,
            // and an HMAC keyed with the published key material.
            let public_material = jwk.n.clone().or(jwk.x.clone()).unwrap();
            let hmac_key =
                aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, public_material.as_bytes());
            let hmac = aws_lc_rs::hmac::sign(&hmac_key, input.as_bytes());
            for sig in [
                genuine,
                attacker_signature(alg, input.as_bytes()),
                Vec::new(),
                hmac.as_ref().to_vec(),
            ] {
                let forged = with_header(&token, &h, &sig);
                let r = m.get_session(&forged, None, NO_CHECKS).await;
                assert!(
                    is_invalid_access_token(&r),
                    "{alg} header on a {key_algorithm} key: {r:?}"
                );
            }
        }
        // The unmodified token still verifies: the refusals were the header's doing.
        m.get_session(&token, None, NO_CHECKS).await.unwrap();
    }
}

#[tokio::test]
async fn a_signature_by_a_key_of_another_algorithm_is_refused_under_the_right_header() {
    // The header is exactly ours (alg and kid right); only the signature
    // comes from a key of another type — or another key of the same type.
    for key_algorithm in ALGORITHMS {
        let (m, token) = signer(key_algorithm).await;
        let input = signed_parts(&token).0.to_owned();
        for other in ["RS256", "EdDSA", "ES256"] {
            let forged = with_signature(&token, &attacker_signature(other, input.as_bytes()));
            let r = m.get_session(&forged, None, NO_CHECKS).await;
            assert!(
                is_invalid_access_token(&r),
                "{other} signature on {key_algorithm}: {r:?}"
            );
        }
    }
}

#[tokio::test]
async fn es256_tokens_are_low_s_and_a_high_s_twin_is_refused_though_ecdsa_accepts_it() {
    let (m, _) = signer(SigningAlgorithm::Es256).await;
    let half: Vec<u8> = {
        // floor(n / 2), big-endian.
        let mut h = P256_ORDER.to_vec();
        let mut carry = 0u8;
        for b in &mut h {
            let next = *b & 1;
            *b = (*b >> 1) | (carry << 7);
            carry = next;
        }
        h
    };
    // Without normalisation about half of all signatures would be high-S.
    for i in 0..40 {
        let token = m
            .create_new_session(&format!("u{i}"), json!({}), json!({}))
            .await
            .unwrap()
            .access_token
            .token;
        let (input, sig) = signed_parts(&token);
        assert_eq!(sig.len(), 64);
        assert!(sig[32..] <= half[..], "high S written");
        // Verified (and cached) first, so the twin cannot ride on the cache.
        m.get_session(&token, None, NO_CHECKS).await.unwrap();
        let mut twin = sig.clone();
        twin[32..].copy_from_slice(&p256_negate(&sig[32..]));
        let jwk = jwk_of(&m, header_of(&token)["kid"].as_str().unwrap());
        verifier_from_jwk(&jwk)
            .verify_sig(input.as_bytes(), &twin)
            .expect("(r, n - s) is a valid ECDSA signature");
        let r = m
            .get_session(&with_signature(&token, &twin), None, NO_CHECKS)
            .await;
        assert!(is_invalid_access_token(&r), "high-S twin accepted: {r:?}");
    }
}

#[tokio::test]
async fn es256_signatures_of_the_wrong_length_or_in_der_form_are_refused() {
    let (m, token) = signer(SigningAlgorithm::Es256).await;
    let (input, sig) = signed_parts(&token);
    let der = ecdsa_der(&sig);
    // The DER form is the same signature, valid to an ASN.1 verifier.
    let jwk = jwk_of(&m, header_of(&token)["kid"].as_str().unwrap());
    let mut point = vec![4u8];
    point.extend(unb64(jwk.x.as_deref().unwrap()));
    point.extend(unb64(jwk.y.as_deref().unwrap()));
    signature::ECDSA_P256_SHA256_ASN1
        .verify_sig(&point, input.as_bytes(), &der)
        .expect("DER form verifies under ASN.1 ECDSA");
    let mut padded = vec![0u8];
    padded.extend(&sig);
    let mut trailing = sig.clone();
    trailing.push(0);
    for bad in [
        der,
        sig[..63].to_vec(),
        padded,
        trailing,
        sig[..32].to_vec(),
        vec![0u8; 64],
        Vec::new(),
    ] {
        let r = m
            .get_session(&with_signature(&token, &bad), None, NO_CHECKS)
            .await;
        assert!(is_invalid_access_token(&r), "{} bytes: {r:?}", bad.len());
    }
    m.get_session(&token, None, NO_CHECKS).await.unwrap();
}

#[tokio::test]
async fn ed25519_signatures_non_canonical_or_of_the_wrong_length_are_refused() {
    let (m, token) = signer(SigningAlgorithm::EdDsa).await;
    let sig = signed_parts(&token).1;
    assert_eq!(sig.len(), 64);
    let mut non_canonical = sig.clone();
    non_canonical[32..].copy_from_slice(&ed25519_add_order(&sig[32..]));
    let mut trailing = sig.clone();
    trailing.push(0);
    for bad in [
        non_canonical,
        sig[..63].to_vec(),
        trailing,
        vec![0u8; 64],
        Vec::new(),
    ] {
        let r = m
            .get_session(&with_signature(&token, &bad), None, NO_CHECKS)
            .await;
        assert!(is_invalid_access_token(&r), "{} bytes: {r:?}", bad.len());
    }
    m.get_session(&token, None, NO_CHECKS).await.unwrap();
}

#[tokio::test]
async fn a_stored_key_whose_algorithm_does_not_match_its_material_is_refused() {
    // An Ed25519 row relabelled RS256 (and the reverse): the set does not
    // load, rather than verify with the wrong algorithm.
    for (made, label) in [("EdDSA", "RS256"), ("RS256", "ES256"), ("ES256", "EdDSA")] {
        let store = MemoryStore::new();
        let algorithm = SigningAlgorithm::from_jws_name(made).unwrap();
        let m = manager_with(store.clone(), &ManualClock::starting_now(), algorithm).await;
        drop(m);
        let rows = store.load_keys().await.unwrap();
        let victim = rows.iter().find(|k| k.algorithm == made).unwrap().clone();
        let mut changed = victim.clone();
        changed.algorithm = label.to_owned();
        changed.kid = format!("{}-relabelled", victim.kid);
        changed.generation += 1000;
        assert!(store.insert_key(&changed).await.unwrap());
        let r = SessionManager::builder()
            .store(store.clone())
            .signing_algorithm(algorithm)
            .background_tasks(false)
            .build()
            .await;
        assert!(
            matches!(r, Err(Error::CorruptData(_))),
            "{made} key labelled {label}: {r:?}"
        );
    }
}

#[test]
fn jws_names_round_trip_and_nothing_else_is_an_algorithm() {
    for a in ALGORITHMS {
        assert_eq!(SigningAlgorithm::from_jws_name(a.jws_name()), Some(a));
        assert_eq!(a.to_string(), a.jws_name());
    }
    for other in ["none", "HS256", "rs256", "EDDSA", "Ed25519", "ES384", ""] {
        assert_eq!(SigningAlgorithm::from_jws_name(other), None, "{other}");
    }
    assert_eq!(SigningAlgorithm::default(), SigningAlgorithm::Rs256);
    assert_eq!(
        tessera::Config::default().signing_algorithm,
        SigningAlgorithm::Rs256
    );
}
