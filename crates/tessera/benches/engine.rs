//! Engine benchmarks (criterion): the cost of verification, cold and warm,
//! against the raw RS256 signature check it cannot beat, and of creating
//! and refreshing sessions on SQLite.
//!
//! Run: `cargo bench -p tessera --bench engine`. Figures go to BENCHMARKS.md.

#![allow(clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::PublicKeyComponents;
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use tessera::{SessionManager, VerifyOptions};

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

fn sqlite(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let manager = rt
        .block_on(SessionManager::connect(&url))
        .expect("sqlite manager");
    let mut g = c.benchmark_group("sqlite");
    g.measurement_time(Duration::from_secs(8));
    g.bench_function("create_new_session", |b| {
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
    g.bench_function("refresh_session", |b| {
        b.iter(|| {
            let r = rt
                .block_on(manager.refresh_session(&refresh_token, None))
                .expect("refreshed");
            refresh_token = r.refresh_token.token;
        })
    });
    g.finish();
}

criterion_group!(benches, verify, sqlite);
criterion_main!(benches);
