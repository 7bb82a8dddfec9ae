//! SECURITY.md's checklist, the points the other suites do not already
//! cover: each test is named after the rule it checks, and `SECURITY.md`
//! lists them. Memory store and a clock the tests move (no sleeping), except
//! where a real SQLite file is the point.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tessera::store::{
    KeyPurpose, MemoryStore, Rotation, SessionRecord, SessionStore, SqliteStore, StoredKey,
    TenantFilter,
};
use tessera::token::access::is_well_formed_access_token;
use tessera::{
    Clock, Error, ManualClock, SessionManager, TryRefreshReason, UnauthorisedReason, VerifyOptions,
};

const NO_CHECKS: VerifyOptions = VerifyOptions {
    anti_csrf_check: false,
    enable_anti_csrf: None,
    check_database: false,
};

// ---------------------------------------------------------------- helpers

/// A memory store that counts `load_keys` calls (key-set reloads).
#[derive(Debug, Clone, Default)]
struct CountingKeys {
    inner: MemoryStore,
    loads: Arc<AtomicUsize>,
}

impl SessionStore for CountingKeys {
    async fn insert_session(&self, r: &SessionRecord) -> tessera::Result<()> {
        self.inner.insert_session(r).await
    }
    async fn get_session(&self, h: &str, now: i64) -> tessera::Result<Option<SessionRecord>> {
        self.inner.get_session(h, now).await
    }
    async fn session_exists(&self, h: &str, now: i64) -> tessera::Result<bool> {
        self.inner.session_exists(h, now).await
    }
    async fn get_session_data(&self, h: &str, now: i64) -> tessera::Result<Option<Value>> {
        self.inner.get_session_data(h, now).await
    }
    async fn rotate_refresh(
        &self,
        h: &str,
        expected: &[u8; 32],
        rotation: &Rotation,
        now: i64,
    ) -> tessera::Result<Option<SessionRecord>> {
        self.inner.rotate_refresh(h, expected, rotation, now).await
    }
    async fn update_session_data(&self, h: &str, d: &Value, now: i64) -> tessera::Result<bool> {
        self.inner.update_session_data(h, d, now).await
    }
    async fn update_jwt_payload(
        &self,
        h: &str,
        p: &Value,
        now: i64,
    ) -> tessera::Result<Option<SessionRecord>> {
        self.inner.update_jwt_payload(h, p, now).await
    }
    async fn delete_sessions(
        &self,
        hs: &[String],
        t: TenantFilter<'_>,
    ) -> tessera::Result<Vec<String>> {
        self.inner.delete_sessions(hs, t).await
    }
    async fn delete_sessions_for_user(
        &self,
        u: &str,
        t: TenantFilter<'_>,
    ) -> tessera::Result<Vec<String>> {
        self.inner.delete_sessions_for_user(u, t).await
    }
    async fn list_handles_for_user(
        &self,
        u: &str,
        t: TenantFilter<'_>,
        now: i64,
    ) -> tessera::Result<Vec<String>> {
        self.inner.list_handles_for_user(u, t, now).await
    }
    async fn delete_expired(&self, now: i64, limit: u32) -> tessera::Result<u64> {
        self.inner.delete_expired(now, limit).await
    }
    async fn load_keys(&self) -> tessera::Result<Vec<StoredKey>> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load_keys().await
    }
    async fn insert_key(&self, k: &StoredKey) -> tessera::Result<bool> {
        self.inner.insert_key(k).await
    }
    async fn delete_retired_keys(&self, now: i64) -> tessera::Result<u64> {
        self.inner.delete_retired_keys(now).await
    }
}

struct Fixture {
    manager: SessionManager,
    clock: ManualClock,
    store: CountingKeys,
}

async fn fixture_with(
    configure: impl FnOnce(tessera::SessionManagerBuilder) -> tessera::SessionManagerBuilder,
) -> Fixture {
    let clock = ManualClock::starting_now();
    let store = CountingKeys::default();
    let builder = SessionManager::builder()
        .store(store.clone())
        .clock(clock.clone())
        .background_tasks(false)
        .access_token_validity_jitter(0.0);
    let manager = configure(builder).build().await.unwrap();
    Fixture {
        manager,
        clock,
        store,
    }
}

async fn fixture() -> Fixture {
    fixture_with(|b| b).await
}

fn b64(v: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(v)
}

fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn split3(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    (decode_part(parts[0]), decode_part(parts[1]))
}

/// A compact JWS of `header` and `payload` signed RS256 with `pair`.
fn sign_with(pair: &KeyPair, header: &Value, payload: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(payload.to_string().as_bytes())
    );
    let mut sig = vec![0u8; pair.public_modulus_len()];
    pair.sign(
        &RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    format!("{input}.{}", b64(&sig))
}

/// The private key the manager signs with (read back from its store, as
/// anyone holding the database could).
async fn our_key(store: &impl SessionStore, kid: &str) -> KeyPair {
    let keys = store.load_keys().await.unwrap();
    let key = keys.iter().find(|k| k.kid == kid).expect("signing key");
    KeyPair::from_pkcs8(&key.secret).unwrap()
}

fn is_invalid_access_token(r: &tessera::Result<Arc<tessera::AccessTokenClaims>>) -> bool {
    matches!(
        r,
        Err(Error::Unauthorised {
            reason: UnauthorisedReason::InvalidAccessToken
        })
    )
}

fn now_ms(clock: &ManualClock) -> u64 {
    clock.now_ms()
}

/// Captures what a `fmt` subscriber writes, for log assertions.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    /// A subscriber that writes every event (TRACE and up) here.
    fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + use<> {
        let writer = self.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish()
    }
}

// ---------------------------------------------------------------- CSPRNG secrets

#[tokio::test]
async fn refresh_mac_key_and_refresh_token_secrets_are_256_bits_from_the_csprng() {
    let a = fixture().await;
    let b = fixture().await;
    let mac = |keys: Vec<StoredKey>| {
        keys.into_iter()
            .find(|k| k.purpose == KeyPurpose::RefreshMac)
            .unwrap()
            .secret
    };
    let mac_a = mac(a.store.inner.load_keys().await.unwrap());
    let mac_b = mac(b.store.inner.load_keys().await.unwrap());
    assert!(
        mac_a.len() * 8 >= 256,
        "MAC key has {} bits",
        mac_a.len() * 8
    );
    assert_ne!(mac_a, mac_b, "every deployment draws its own MAC key");

    // The 32 random bytes of each refresh token (bytes 26..58 of its 90)
    // never repeat, across sessions and rotations.
    let mut secrets = HashSet::new();
    for i in 0..50 {
        let s = a
            .manager
            .create_new_session(&format!("u{i}"), json!({}), json!({}))
            .await
            .unwrap();
        let r = a
            .manager
            .refresh_session(&s.refresh_token.token, None)
            .await
            .unwrap();
        for token in [&s.refresh_token.token, &r.refresh_token.token] {
            let raw = URL_SAFE_NO_PAD.decode(token).unwrap();
            assert_eq!(raw.len(), 90);
            assert!(secrets.insert(raw[26..58].to_vec()));
        }
    }
    // Signing keys are RSA-2048 or larger: a 2048-bit modulus is 342 base64url characters.
    for jwk in &a.manager.jwks().keys {
        let n = jwk.n.as_deref().unwrap_or_default();
        assert!(n.len() >= 342, "modulus too short: {}", n.len());
    }
}

// ---------------------------------------------------------------- algorithm, kid, headers

#[tokio::test]
async fn the_keys_algorithm_decides_and_no_other_alg_header_is_accepted() {
    let f = fixture().await;
    let s = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    let (header, payload) = split3(&s.access_token.token);
    let ours = our_key(&f.store, header["kid"].as_str().unwrap()).await;
    // A genuine RS256 signature under a header naming another algorithm.
    for alg in [
        "RS512", "PS256", "ES256", "HS256", "none", "rs256", "", "RS256 ",
    ] {
        let mut h = header.clone();
        h["alg"] = json!(alg);
        let forged = sign_with(&ours, &h, &payload);
        let r = f.manager.get_session(&forged, None, NO_CHECKS).await;
        assert!(is_invalid_access_token(&r), "alg {alg:?}: {r:?}");
    }
    let mut h = header.clone();
    h.as_object_mut().unwrap().remove("alg");
    let r = f
        .manager
        .get_session(&sign_with(&ours, &h, &payload), None, NO_CHECKS)
        .await;
    assert!(is_invalid_access_token(&r), "{r:?}");
}

#[tokio::test]
async fn jku_x5u_and_jwk_headers_are_ignored_and_kid_only_picks_one_of_our_keys() {
    let f = fixture().await;
    let s = f
        .manager
        .create_new_session("u", json!({"role": "reader"}), json!({}))
        .await
        .unwrap();
    let (header, mut payload) = split3(&s.access_token.token);
    let our_kid = header["kid"].as_str().unwrap().to_owned();
    let ours = our_key(&f.store, &our_kid).await;

    // The attacker's own key, offered in every way a JWS header can offer one.
    let attacker = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let parts: PublicKeyComponents<Vec<u8>> = attacker.public_key().into();
    let attacker_jwk = json!({"kty": "RSA", "n": b64(&parts.n), "e": b64(&parts.e), "kid": "evil"});
    let mut offering = header.clone();
    offering["jku"] = json!("https://attacker.example/jwks.json");
    offering["x5u"] = json!("https://attacker.example/cert.pem");
    offering["jwk"] = attacker_jwk.clone();
    offering["x5c"] = json!(["MIIB"]);
    payload["role"] = json!("admin");

    // Our kid, the attacker's signature: refused.
    let forged = sign_with(&attacker, &offering, &payload);
    let r = f.manager.get_session(&forged, None, NO_CHECKS).await;
    assert!(is_invalid_access_token(&r), "{r:?}");

    // The attacker's kid: no key of ours, so never verified (at most a
    // refresh is asked for, which the attacker cannot do).
    for kid in [
        "evil",
        "../../../etc/passwd",
        "' OR '1'='1",
        &"k".repeat(4000),
        "",
    ] {
        let mut h = offering.clone();
        h["kid"] = json!(kid);
        let r = f
            .manager
            .get_session(&sign_with(&attacker, &h, &payload), None, NO_CHECKS)
            .await;
        assert!(
            matches!(
                r,
                Err(Error::TryRefreshToken {
                    reason: TryRefreshReason::UnknownSigningKey
                }) | Err(Error::Unauthorised {
                    reason: UnauthorisedReason::InvalidAccessToken
                })
            ),
            "kid {kid:?}: {r:?}"
        );
    }
    // A kid that is not a string is not a lookup key at all.
    let mut h = offering.clone();
    h["kid"] = json!({"$ne": null});
    let r = f
        .manager
        .get_session(&sign_with(&attacker, &h, &payload), None, NO_CHECKS)
        .await;
    assert!(is_invalid_access_token(&r), "{r:?}");

    // The same extra header fields on a token our key really signed change
    // nothing: they are ignored, not trusted and not refused.
    let genuine = sign_with(&ours, &offering, &payload);
    let claims = f
        .manager
        .get_session(&genuine, None, NO_CHECKS)
        .await
        .unwrap();
    assert_eq!(claims.kid, our_kid);
}

#[tokio::test]
async fn unknown_kids_reload_the_key_set_at_most_once_per_cooldown() {
    let f = fixture().await;
    let s = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    let (header, payload) = split3(&s.access_token.token);
    let attacker = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let before = f.store.loads.load(Ordering::SeqCst);
    for i in 0..200 {
        let mut h = header.clone();
        h["kid"] = json!(format!("d-unknown-{i}"));
        let r = f
            .manager
            .get_session(&sign_with(&attacker, &h, &payload), None, NO_CHECKS)
            .await;
        assert!(matches!(
            r,
            Err(Error::TryRefreshToken {
                reason: TryRefreshReason::UnknownSigningKey
            })
        ));
    }
    // The clock does not move: one reload for 200 unknown kids.
    assert!(f.store.loads.load(Ordering::SeqCst) - before <= 1);
    f.clock.advance(Duration::from_secs(1));
    let mut h = header.clone();
    h["kid"] = json!("d-unknown-again");
    let _ = f
        .manager
        .get_session(&sign_with(&attacker, &h, &payload), None, NO_CHECKS)
        .await;
    assert!(f.store.loads.load(Ordering::SeqCst) - before <= 2);
}

// ---------------------------------------------------------------- exp / iat

#[tokio::test]
async fn expiry_is_enforced_to_the_millisecond() {
    let f = fixture_with(|b| b.verified_token_cache_capacity(0)).await;
    let s = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    let exp_ms = s.access_token.expiry_ms;
    f.clock.set(exp_ms - 1);
    f.manager
        .get_session(&s.access_token.token, None, NO_CHECKS)
        .await
        .unwrap();
    f.clock.set(exp_ms);
    let r = f
        .manager
        .get_session(&s.access_token.token, None, NO_CHECKS)
        .await;
    assert!(
        matches!(
            r,
            Err(Error::TryRefreshToken {
                reason: TryRefreshReason::Expired
            })
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn issued_at_within_the_clock_leeway_is_accepted_and_beyond_it_refused() {
    // Two servers on one store; the issuing one's clock runs ahead.
    let store = MemoryStore::new();
    let verifier_clock = ManualClock::starting_now();
    let verifier = SessionManager::builder()
        .store(store.clone())
        .clock(verifier_clock.clone())
        .background_tasks(false)
        .build()
        .await
        .unwrap();
    assert_eq!(verifier.config().clock_leeway, Duration::from_secs(2));
    for (ahead_ms, accepted) in [(0, true), (1_500, true), (3_000, false), (60_000, false)] {
        let issuer_clock = ManualClock::new(now_ms(&verifier_clock) + ahead_ms);
        let issuer = SessionManager::builder()
            .store(store.clone())
            .clock(issuer_clock)
            .background_tasks(false)
            .build()
            .await
            .unwrap();
        let s = issuer
            .create_new_session("u", json!({}), json!({}))
            .await
            .unwrap();
        let r = verifier
            .get_session(&s.access_token.token, None, NO_CHECKS)
            .await;
        if accepted {
            assert!(r.is_ok(), "{ahead_ms} ms ahead: {r:?}");
        } else {
            assert!(is_invalid_access_token(&r), "{ahead_ms} ms ahead: {r:?}");
        }
    }
}

// ---------------------------------------------------------------- typed tokens

#[tokio::test]
async fn a_jwt_signed_by_our_key_without_the_session_claims_is_not_an_access_token() {
    let f = fixture().await;
    let s = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    let (header, payload) = split3(&s.access_token.token);
    let ours = our_key(&f.store, header["kid"].as_str().unwrap()).await;
    let now_s = now_ms(&f.clock) / 1000;

    let mut cases: Vec<(&str, Value, Value)> = Vec::new();
    // A JWT for another purpose, by the same keys (an ID token, an email link).
    cases.push((
        "another purpose",
        header.clone(),
        json!({"sub": "u", "iat": now_s, "exp": now_s + 600, "purpose": "email-verify"}),
    ));
    for claim in [
        "stt",
        "sessionHandle",
        "refreshTokenHash1",
        "sub",
        "tId",
        "rsub",
        "exp",
        "iat",
    ] {
        let mut p = payload.clone();
        p.as_object_mut().unwrap().remove(claim);
        cases.push(("claim missing", header.clone(), p));
    }
    for (claim, value) in [
        ("stt", json!(1)),
        ("stt", json!("0")),
        // A string parent is a child token of CDI 5.4's model, which the
        // engine now issues: get_session refuses it, regenerate keeps it
        // (tests/child_promotion.rs). Any other type is no token at all.
        ("parentRefreshTokenHash1", json!(5)),
        ("sessionHandle", json!(7)),
        ("exp", json!(-1)),
        ("exp", json!(1e30)),
    ] {
        let mut p = payload.clone();
        p[claim] = value;
        cases.push(("claim wrong", header.clone(), p));
    }
    for (field, value) in [
        ("typ", json!("at+jwt")),
        ("version", json!("4")),
        ("crit", json!(["exp"])),
    ] {
        let mut h = header.clone();
        h[field] = value;
        cases.push(("header wrong", h, payload.clone()));
    }
    for (what, h, p) in cases {
        let token = sign_with(&ours, &h, &p);
        let r = f.manager.get_session(&token, None, NO_CHECKS).await;
        assert!(is_invalid_access_token(&r), "{what}: {p} / {h}: {r:?}");
        // Refused for payload regeneration too.
        assert!(
            f.manager
                .regenerate_access_token(&token, json!({}))
                .await
                .is_err(),
            "{what}"
        );
        if what != "header wrong" && what != "claim wrong" {
            assert!(!is_well_formed_access_token(&token), "{what}");
        }
    }
}

/// Without the `stt` claim (`session_token_type_claim` off, as in `tessera
/// serve`, which issues SuperTokens core's claims) an access token is told
/// apart by its header and its session claims alone: our own key signing
/// anything else is still no access token.
#[tokio::test]
async fn without_the_type_claim_the_header_and_the_session_claims_still_decide() {
    let f = fixture_with(|b| b.session_token_type_claim(false)).await;
    let s = f
        .manager
        .create_new_session("u", json!({"stt": 1}), json!({}))
        .await
        .unwrap();
    let (header, payload) = split3(&s.access_token.token);
    // The user's `stt` is a user claim, and the token verifies.
    assert_eq!(payload["stt"], 1);
    let ok = f
        .manager
        .get_session(&s.access_token.token, None, NO_CHECKS)
        .await;
    assert_eq!(ok.unwrap().user_payload, json!({"stt": 1}));
    let ours = our_key(&f.store, header["kid"].as_str().unwrap()).await;
    let now_s = now_ms(&f.clock) / 1000;

    let mut cases: Vec<(&str, Value, Value)> = Vec::new();
    cases.push((
        "another purpose",
        header.clone(),
        json!({"sub": "u", "iat": now_s, "exp": now_s + 600, "purpose": "email-verify"}),
    ));
    for claim in [
        "sessionHandle",
        "refreshTokenHash1",
        "sub",
        "tId",
        "rsub",
        "exp",
        "iat",
        // Nullable, but present in every token, as the core requires.
        "parentRefreshTokenHash1",
        "antiCsrfToken",
    ] {
        let mut p = payload.clone();
        p.as_object_mut().unwrap().remove(claim);
        cases.push(("claim missing", header.clone(), p));
    }
    for (field, value) in [("version", json!("4")), ("typ", json!("at+jwt"))] {
        let mut h = header.clone();
        h[field] = value;
        cases.push(("header wrong", h, payload.clone()));
    }
    let mut h = header.clone();
    h.as_object_mut().unwrap().remove("version");
    // The header a JWT-recipe token carries: no `version`.
    cases.push(("header without version", h, payload.clone()));
    for (what, h, p) in cases {
        let token = sign_with(&ours, &h, &p);
        let r = f.manager.get_session(&token, None, NO_CHECKS).await;
        assert!(is_invalid_access_token(&r), "{what}: {p} / {h}: {r:?}");
    }
}

#[tokio::test]
async fn a_token_for_another_issuer_is_unauthorised() {
    // Two deployments sharing one database (so one key set), told apart by `iss`.
    let store = MemoryStore::new();
    let build = |iss: &str| {
        SessionManager::builder()
            .store(store.clone())
            .background_tasks(false)
            .issuer(iss)
            .build()
    };
    let a = build("https://a.example").await.unwrap();
    let b = build("https://b.example").await.unwrap();
    let s = a
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    a.get_session(&s.access_token.token, None, NO_CHECKS)
        .await
        .unwrap();
    let r = b.get_session(&s.access_token.token, None, NO_CHECKS).await;
    assert!(is_invalid_access_token(&r), "{r:?}");
    // And one without an issuer does not accept tokens that must carry one, or vice versa.
    let plain = SessionManager::builder()
        .store(store.clone())
        .background_tasks(false)
        .build()
        .await
        .unwrap();
    let p = plain
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    assert!(is_invalid_access_token(
        &a.get_session(&p.access_token.token, None, NO_CHECKS).await
    ));
}

#[tokio::test]
async fn a_token_from_another_deployment_is_never_accepted() {
    let ours = fixture().await;
    let theirs = fixture().await;
    let s = theirs
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    let r = ours
        .manager
        .get_session(&s.access_token.token, None, NO_CHECKS)
        .await;
    assert!(
        matches!(
            r,
            Err(Error::TryRefreshToken {
                reason: TryRefreshReason::UnknownSigningKey
            })
        ),
        "{r:?}"
    );
    // Their refresh token is refused without a revocation of anything of ours.
    let mine = ours
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    let r = ours
        .manager
        .refresh_session(&s.refresh_token.token, None)
        .await;
    assert!(
        matches!(
            r,
            Err(Error::Unauthorised {
                reason: UnauthorisedReason::InvalidRefreshToken
            })
        ),
        "{r:?}"
    );
    assert!(
        ours.manager
            .get_session_information(mine.handle())
            .await
            .unwrap()
            .is_some()
    );
}

// ---------------------------------------------------------------- resurrection

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revoked_session_is_not_resurrected_by_late_concurrent_writes() {
    let f = fixture().await;
    for round in 0..20 {
        let s = f
            .manager
            .create_new_session("u", json!({}), json!({"n": 0}))
            .await
            .unwrap();
        let handle = s.handle().to_owned();
        let mut tasks = Vec::new();
        for i in 0..8 {
            let m = f.manager.clone();
            let h = handle.clone();
            let refresh = s.refresh_token.token.clone();
            let access = s.access_token.token.clone();
            tasks.push(tokio::spawn(async move {
                match i % 4 {
                    0 => {
                        let _ = m.update_session_data(&h, json!({"n": i})).await;
                    }
                    1 => {
                        let _ = m.update_jwt_payload(&h, json!({"p": i})).await;
                    }
                    2 => {
                        let _ = m.regenerate_access_token(&access, json!({"r": i})).await;
                    }
                    _ => {
                        let _ = m.refresh_session(&refresh, None).await;
                    }
                }
            }));
        }
        let m = f.manager.clone();
        let h = handle.clone();
        let revoke = tokio::spawn(async move { m.revoke_session(&h).await });
        for t in tasks {
            t.await.unwrap();
        }
        assert!(revoke.await.unwrap().unwrap(), "round {round}");
        // Every write that came after the delete found nothing to write.
        assert!(
            f.manager
                .get_session_information(&handle)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            !f.manager
                .update_session_data(&handle, json!({}))
                .await
                .unwrap()
        );
        assert!(
            !f.manager
                .update_jwt_payload(&handle, json!({}))
                .await
                .unwrap()
        );
        assert!(
            f.manager
                .refresh_session(&s.refresh_token.token, None)
                .await
                .is_err()
        );
        assert!(
            f.manager
                .get_session(
                    &s.access_token.token,
                    None,
                    VerifyOptions {
                        check_database: true,
                        ..NO_CHECKS
                    }
                )
                .await
                .is_err()
        );
    }
}

// ---------------------------------------------------------------- logging

#[tokio::test]
async fn theft_is_logged_at_warn_with_the_session_and_without_any_token() {
    let f = fixture().await;
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(captured.subscriber());
    let s = f
        .manager
        .create_new_session("alice", json!({}), json!({}))
        .await
        .unwrap();
    let r = f
        .manager
        .refresh_session(&s.refresh_token.token, None)
        .await
        .unwrap();
    f.clock.advance(Duration::from_secs(31));
    let e = f
        .manager
        .refresh_session(&s.refresh_token.token, None)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::TokenTheftDetected { .. }), "{e}");
    let log = captured.text();
    let line = log
        .lines()
        .find(|l| l.contains("token theft detected"))
        .unwrap_or_else(|| panic!("no theft line in:\n{log}"));
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains("tessera::theft"), "{line}");
    assert!(line.contains(s.handle()), "{line}");
    assert!(line.contains("alice"), "{line}");
    for secret in [
        &s.refresh_token.token,
        &r.refresh_token.token,
        &s.access_token.token,
        &r.access_token.token,
    ] {
        assert!(!log.contains(secret.as_str()), "a token reached the log");
    }
}

#[tokio::test]
async fn repeated_refresh_failures_are_logged_at_warn_once_per_window() {
    let f = fixture_with(|b| b.anti_csrf(tessera::AntiCsrfMode::ViaToken)).await;
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(captured.subscriber());
    let s = f
        .manager
        .create_new_session("bob", json!({}), json!({}))
        .await
        .unwrap();
    // One failure is not worth a warning.
    let _ = f
        .manager
        .refresh_session(&s.refresh_token.token, Some("wrong"))
        .await;
    assert!(!captured.text().contains("repeated refresh failures"));
    // Many are, once, with the session named.
    for _ in 0..20 {
        let _ = f
            .manager
            .refresh_session(&s.refresh_token.token, Some("wrong"))
            .await;
    }
    let log = captured.text();
    let warns: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("repeated refresh failures for one session"))
        .collect();
    assert_eq!(warns.len(), 1, "{log}");
    assert!(
        warns[0].contains("WARN") && warns[0].contains(s.handle()),
        "{}",
        warns[0]
    );

    // Forged or malformed tokens: one warning for a flood, not one per request.
    for i in 0..500 {
        let _ = f
            .manager
            .refresh_session(&format!("garbage-{i}"), None)
            .await;
    }
    let log = captured.text();
    let floods = log
        .lines()
        .filter(|l| l.contains("malformed or forged refresh tokens") && l.contains("WARN"))
        .count();
    assert_eq!(floods, 1, "{log}");
    // The next window reports the total of this one.
    f.clock.advance(Duration::from_secs(61));
    let _ = f.manager.refresh_session("garbage", None).await;
    let log = captured.text();
    assert!(log.contains("failures=500"), "{log}");
    assert!(!log.contains(&s.refresh_token.token));
}

// ---------------------------------------------------------------- at rest

#[tokio::test]
async fn the_sqlite_file_never_holds_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tessera.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let manager = SessionManager::builder()
        .store(store)
        .background_tasks(false)
        .anti_csrf(tessera::AntiCsrfMode::ViaToken)
        .build()
        .await
        .unwrap();
    let mut secrets: Vec<String> = Vec::new();
    for i in 0..20 {
        let s = manager
            .create_new_session(&format!("u{i}"), json!({}), json!({}))
            .await
            .unwrap();
        let r = manager
            .refresh_session(&s.refresh_token.token, s.anti_csrf_token.as_deref())
            .await
            .unwrap();
        secrets.push(s.refresh_token.token.clone());
        secrets.push(r.refresh_token.token.clone());
        secrets.push(s.anti_csrf_token.clone().unwrap());
        // refreshTokenHash1 (in the access token) is not stored either.
        secrets.push(r.claims.refresh_token_hash1.clone());
    }
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(bytes.len() > 4096);
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    for secret in &secrets {
        assert!(
            !contains(secret.as_bytes()),
            "a token is stored in the clear"
        );
    }
    for secret in secrets.iter().filter(|s| s.len() == 120) {
        let raw = URL_SAFE_NO_PAD.decode(secret).unwrap();
        assert!(!contains(&raw[26..58]), "a refresh secret is stored raw");
    }
    manager.close().await;
}

// ---------------------------------------------------------------- constant time

/// Secret or hash comparisons in the engine go through `ct_eq` (AWS-LC's
/// constant-time compare, see `crypto.rs`): no `==`/`!=` with a secret-ish
/// name on either side. A guard against regressions; timing itself is not
/// measured (no timing assertions in tests).
#[test]
fn secret_comparisons_in_the_engine_use_constant_time_equality() {
    const SECRET_WORDS: [&str; 6] = ["hash", "mac", "csrf", "secret", "token", "sig"];
    const OPS: [&str; 2] = ["==", "!="];
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offenders = Vec::new();
    let mut stack = vec![src];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // Unit tests may compare freely.
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for (no, line) in code.lines().enumerate() {
                let line = line.split("//").next().unwrap_or_default();
                for op in OPS {
                    for (at, _) in line.match_indices(op) {
                        let before = operand(line[..at].chars().rev().collect::<String>().as_str());
                        let before: String = before.chars().rev().collect();
                        let after = operand(&line[at + 2..]);
                        let secretish = |s: &str| {
                            let s = s.to_ascii_lowercase();
                            SECRET_WORDS.iter().any(|w| s.contains(w))
                                && !s.contains("len")
                                && !s.contains("is_")
                                && !s.contains("generation")
                                && !s.contains("token_len")
                        };
                        // A constant, a literal or an enum variant on one
                        // side (a mode, a version, a flag bit) is no secret.
                        let constant = |s: &str| {
                            let last = s.rsplit(['.', ':']).next().unwrap_or_default();
                            s.contains("::")
                                || last.chars().next().is_some_and(|c| c.is_ascii_digit())
                                || (!last.is_empty()
                                    && last.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
                        };
                        if constant(&before) || constant(&after) {
                            continue;
                        }
                        if secretish(&before) || secretish(&after) {
                            offenders.push(format!(
                                "{}:{}: {}",
                                path.display(),
                                no + 1,
                                line.trim()
                            ));
                        }
                    }
                }
            }
        }
    }
    let _ = writeln!(
        std::io::stderr(),
        "checked engine sources for secret comparisons"
    );
    assert!(offenders.is_empty(), "use ct_eq:\n{}", offenders.join("\n"));
}

/// The operand next to a comparison: the run of identifier characters,
/// dots and `()` after skipping spaces.
fn operand(s: &str) -> String {
    s.trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | ':' | '(' | ')' | '&' | '*'))
        .collect()
}

// ---------------------------------------------------------------- grace window bound

#[tokio::test]
async fn the_refresh_grace_window_is_bounded_to_300_seconds() {
    for (secs, ok) in [
        (0, true),
        (30, true),
        (300, true),
        (301, false),
        (86_400, false),
    ] {
        let built = SessionManager::builder()
            .background_tasks(false)
            .refresh_grace_period(Duration::from_secs(secs))
            .build()
            .await;
        assert_eq!(built.is_ok(), ok, "{secs} s");
        if let Err(e) = built {
            assert!(matches!(e, Error::InvalidInput(_)), "{e}");
        }
    }
}
