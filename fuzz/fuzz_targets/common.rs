//! What every target shares: a manager whose keys and clock are fixed, so
//! that the committed seeds (real tokens, real request bodies, made by this
//! same harness) verify in every run.
//!
//! - Signing key: `fixtures/fuzz-only-signing-key.pk8`, an RSA-2048 key made
//!   for fuzzing and used nowhere else. Refresh MAC key: 32 fixed bytes.
//! - Clock: a `ManualClock` fixed at [`NOW_MS`]; tokens made here never expire
//!   here.
//! - Store: memory. `ViaToken` anti-CSRF so that path is reached too.
//!
//! With `TESSERA_FUZZ_WRITE_SEEDS=<dir>` set, [`write_seed`] writes seed
//! files there (see `fuzz/run.sh seeds`).

#![allow(dead_code)]

use std::sync::OnceLock;

use aws_lc_rs::rsa::KeyPair;
use aws_lc_rs::signature::KeyPair as _;
use tessera::store::{KeyPurpose, MemoryStore, SessionStore, StoredKey};

/// The harness's "now": 2027-01-15T08:00:00Z.
pub const NOW_MS: u64 = 1_800_000_000_000;

const SIGNING_KEY: &[u8] = include_bytes!("../fixtures/fuzz-only-signing-key.pk8");
const MAC_KEY: [u8; 32] = *b"tessera fuzz-only refresh mac k.";

pub struct Harness {
    pub rt: tokio::runtime::Runtime,
    pub manager: tessera::SessionManager,
    pub store: MemoryStore,
}

/// The fixed keys, as a fresh store holds them.
pub async fn fixed_store() -> MemoryStore {
    let store = MemoryStore::new();
    let pair = KeyPair::from_pkcs8(SIGNING_KEY).expect("fixture key");
    let now = i64::try_from(NOW_MS).unwrap_or(0);
    for key in [
        StoredKey {
            kid: "d-fuzz-0".to_owned(),
            purpose: KeyPurpose::DynamicSigning,
            generation: 0,
            algorithm: "RS256".to_owned(),
            secret: SIGNING_KEY.to_vec(),
            public_der: pair.public_key().as_ref().to_vec(),
            created_at_ms: now - 1000,
            not_before_ms: now - 1000,
            not_after_ms: None,
            retire_after_ms: None,
        },
        StoredKey {
            kid: "mac-fuzz".to_owned(),
            purpose: KeyPurpose::RefreshMac,
            generation: 0,
            algorithm: "HS256".to_owned(),
            secret: MAC_KEY.to_vec(),
            public_der: Vec::new(),
            created_at_ms: now - 1000,
            not_before_ms: now - 1000,
            not_after_ms: None,
            retire_after_ms: None,
        },
    ] {
        store.insert_key(&key).await.expect("insert fixture key");
    }
    store
}

/// A manager on the fixed keys and clock.
pub async fn fixed_manager(store: MemoryStore) -> tessera::SessionManager {
    tessera::SessionManager::builder()
        .store(store)
        .clock(tessera::ManualClock::new(NOW_MS))
        .anti_csrf(tessera::AntiCsrfMode::ViaToken)
        .access_token_validity_jitter(0.0)
        .background_tasks(false)
        .build()
        .await
        .expect("manager")
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

pub fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let rt = runtime();
        let store = rt.block_on(fixed_store());
        let manager = rt.block_on(fixed_manager(store.clone()));
        Harness { rt, manager, store }
    })
}

/// Writes `bytes` as the seed `name` when `TESSERA_FUZZ_WRITE_SEEDS` names a
/// directory.
pub fn write_seed(name: &str, bytes: &[u8]) {
    if let Ok(dir) = std::env::var("TESSERA_FUZZ_WRITE_SEEDS") {
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(std::path::Path::new(&dir).join(name), bytes);
    }
}

/// Whether seeds are being written this run.
pub fn writing_seeds() -> bool {
    std::env::var_os("TESSERA_FUZZ_WRITE_SEEDS").is_some()
}
