//! Engine benchmarks (criterion): the cost of verification, cold and warm,
//! against the raw RS256 signature check it cannot beat; raw signing and
//! verifying per signing algorithm (RS256, EdDSA, ES256); and creating and
//! refreshing sessions on SQLite with each algorithm.
//!
//! Run: `cargo bench -p tessera --bench engine`. Figures go to BENCHMARKS.md.

#![allow(clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::PublicKeyComponents;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use tessera::{SessionManager, SigningAlgorithm, VerifyOptions};

const ALGORITHMS: [SigningAlgorithm; 3] = [
    SigningAlgorithm::Rs256,
    SigningAlgorithm::EdDsa,
    SigningAlgorithm::Es256,
];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn verify(c: &mut Criterion) {
    let rt = runtime();
    let (cold, warm, token) = rt.block_on(async {
        let warm = SessionManager::builder().build().await.expect("manager");
        let cold = SessionManager::builder()
            .store(tessera::store::MemoryStore::new())
            .verified_token_cache_capacity(0)
            .build()
            .await
            .expect("manager");
        let s = warm
            .create_new_session(
                "bench-user",
                json!({"role": "reader", "plan": "pro"}),
                json!({}),
            )
            .await
            .expect("session");
        (cold, warm, s.access_token.token)
    });
    // The cold manager does not share the warm one's keys: verify a token of its own.
    let cold_token = rt.block_on(async {
        cold.create_new_session(
            "bench-user",
            json!({"role": "reader", "plan": "pro"}),
            json!({}),
        )
        .await
        .expect("session")
        .access_token
        .token
    });

    // The limit: one RS256 signature check with a pre-parsed key.
    let jwks = cold.jwks();
    let kid = {
        let header = token_part(&cold_token, 0);
        header["kid"].as_str().expect("kid").to_owned()
    };
    let jwk = jwks.keys.iter().find(|k| k.kid == kid).expect("jwk");
    let components = PublicKeyComponents {
        n: URL_SAFE_NO_PAD
            .decode(jwk.n.as_deref().expect("n"))
            .expect("n"),
        e: URL_SAFE_NO_PAD
            .decode(jwk.e.as_deref().expect("e"))
            .expect("e"),
    };
    let der = components.as_der().expect("der");
    let key = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der.as_ref()).expect("key");
    let (signing_input, sig_b64) = cold_token.rsplit_once('.').expect("jwt");
    let sig = URL_SAFE_NO_PAD.decode(sig_b64).expect("sig");

    let mut g = c.benchmark_group("verify");
    g.bench_function("raw_rs256_verify", |b| {
        b.iter(|| {
            key.verify_sig(black_box(signing_input.as_bytes()), black_box(&sig))
                .expect("valid")
        })
    });
    g.bench_function("get_session_cold", |b| {
        b.iter(|| {
            rt.block_on(cold.get_session(black_box(&cold_token), None, VerifyOptions::default()))
                .expect("valid")
        })
    });
    g.bench_function("get_session_warm", |b| {
        b.iter(|| {
            rt.block_on(warm.get_session(black_box(&token), None, VerifyOptions::default()))
                .expect("valid")
        })
    });
    g.finish();
}

fn token_part(token: &str, i: usize) -> serde_json::Value {
    let part = token.split('.').nth(i).expect("part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("b64")).expect("json")
}

/// The signature primitives alone, with keys parsed once (as the engine
/// holds them): what each algorithm costs per access token signed and per
/// uncached verification.
fn algorithms(c: &mut Criterion) {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let message = [b'x'; 400]; // about an access token's header and payload
    let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("rsa");
    let ed = Ed25519KeyPair::generate().expect("ed25519");
    let ec = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).expect("p256");

    let mut g = c.benchmark_group("algorithm");
    g.bench_function("sign/RS256", |b| {
        let mut sig = vec![0u8; rsa.public_modulus_len()];
        b.iter(|| {
            rsa.sign(
                &signature::RSA_PKCS1_SHA256,
                &rng,
                black_box(&message),
                &mut sig,
            )
            .expect("signed")
        })
    });
    g.bench_function("sign/EdDSA", |b| b.iter(|| ed.sign(black_box(&message))));
    g.bench_function("sign/ES256", |b| {
        b.iter(|| ec.sign(&rng, black_box(&message)).expect("signed"))
    });

    let mut rsa_sig = vec![0u8; rsa.public_modulus_len()];
    rsa.sign(&signature::RSA_PKCS1_SHA256, &rng, &message, &mut rsa_sig)
        .expect("signed");
    let rsa_pub = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, rsa.public_key().as_ref())
        .expect("rsa public");
    let ed_sig = ed.sign(&message);
    let ed_pub = ParsedPublicKey::new(&signature::ED25519, ed.public_key().as_ref())
        .expect("ed25519 public");
    let ec_sig = ec.sign(&rng, &message).expect("signed");
    let ec_pub = ParsedPublicKey::new(
        &signature::ECDSA_P256_SHA256_FIXED,
        ec.public_key().as_ref(),
    )
    .expect("p256 public");
    for (name, key, sig) in [
        ("verify/RS256", &rsa_pub, rsa_sig.as_slice()),
        ("verify/EdDSA", &ed_pub, ed_sig.as_ref()),
        ("verify/ES256", &ec_pub, ec_sig.as_ref()),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                key.verify_sig(black_box(&message), black_box(sig))
                    .expect("valid")
            })
        });
    }
    g.finish();

    // The engine's cold verify (no cache) per algorithm, memory store.
    let rt = runtime();
    let mut g = c.benchmark_group("verify_cold");
    for algorithm in ALGORITHMS {
        let (manager, token) = rt.block_on(async {
            let m = SessionManager::builder()
                .store(tessera::store::MemoryStore::new())
                .signing_algorithm(algorithm)
                .verified_token_cache_capacity(0)
                .build()
                .await
                .expect("manager");
            let t = m
                .create_new_session(
                    "bench-user",
                    json!({"role": "reader", "plan": "pro"}),
                    json!({}),
                )
                .await
                .expect("session")
                .access_token
                .token;
            (m, t)
        });
        g.bench_function(algorithm.jws_name(), |b| {
            b.iter(|| {
                rt.block_on(manager.get_session(black_box(&token), None, VerifyOptions::default()))
                    .expect("valid")
            })
        });
    }
    g.finish();
}

fn sqlite(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut g = c.benchmark_group("sqlite");
    g.measurement_time(Duration::from_secs(8));
    for algorithm in ALGORITHMS {
        let url = format!(
            "sqlite://{}",
            dir.path()
                .join(format!("bench-{}.db", algorithm.jws_name()))
                .display()
        );
        let manager = rt
            .block_on(
                SessionManager::builder()
                    .database_url(&url)
                    .signing_algorithm(algorithm)
                    .build(),
            )
            .expect("sqlite manager");
        g.bench_function(format!("create_new_session/{algorithm}"), |b| {
            b.iter(|| {
                rt.block_on(manager.create_new_session(
                    "bench-user",
                    json!({"role": "reader"}),
                    json!({"cart": [1, 2]}),
                ))
                .expect("created")
            })
        });
        let mut refresh_token = rt
            .block_on(manager.create_new_session("bench-refresh", json!({}), json!({})))
            .expect("created")
            .refresh_token
            .token;
        g.bench_function(format!("refresh_session/{algorithm}"), |b| {
            b.iter(|| {
                let r = rt
                    .block_on(manager.refresh_session(&refresh_token, None))
                    .expect("refreshed");
                refresh_token = r.refresh_token.token;
            })
        });
    }
    g.finish();
}

criterion_group!(benches, verify, algorithms, sqlite);
criterion_main!(benches);
