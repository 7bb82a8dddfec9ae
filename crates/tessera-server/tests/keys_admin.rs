//! The key admin commands of the `tessera` binary on a shared SQLite file:
//! the key-encryption key from the environment or a file, `keys rotate
//! --emergency [--mac]` (a running server stops accepting the old tokens by
//! itself), and `keys rewrap`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::temp_sqlite_url;
use serde_json::{Value, json};
use tessera::keys::KeyEncryptionKey;
use tessera::store::{SessionStore, SqliteStore};
use tessera::{SessionManager, VerifyOptions};

const BIN: &str = env!("CARGO_BIN_EXE_tessera");
const KEK_VAR: &str = "TESSERA_KEY_ENCRYPTION_KEY";
const KEK_FILE_VAR: &str = "TESSERA_KEY_ENCRYPTION_KEY_FILE";

/// A `tessera` command with a clean environment for its settings.
fn tessera(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for var in [
        "TESSERA_CONFIG",
        "TESSERA_BIND",
        "TESSERA_DATABASE_URL",
        "TESSERA_API_KEYS",
        "TESSERA_LOG_FORMAT",
        KEK_VAR,
        KEK_FILE_VAR,
    ] {
        cmd.env_remove(var);
    }
    cmd.env("RUST_LOG", "warn");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run tessera")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn kid_of(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    serde_json::from_slice::<Value>(&raw).unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn engine(url: &str, kek: &KeyEncryptionKey) -> SessionManager {
    SessionManager::builder()
        .database_url(url)
        .key_encryption_key(kek.clone())
        .background_tasks(false)
        .build()
        .await
        .unwrap()
}

async fn raw_secrets(path: &Path) -> Vec<Vec<u8>> {
    let store = SqliteStore::open(path).await.unwrap();
    let rows = store.load_keys().await.unwrap();
    store.close().await;
    rows.into_iter().map(|k| k.secret).collect()
}

/// A running `tessera serve` child, killed on drop.
struct Served {
    child: Child,
    base: String,
}

impl Served {
    fn start(cmd: &mut Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn tessera serve");
        let out = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(out).read_line(&mut line).unwrap();
        let base = line
            .trim()
            .strip_prefix("tessera listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Self { child, base }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kek_from_the_environment_seals_keys_and_is_required_to_open_them() {
    let (url, dir) = temp_sqlite_url("kek-env");
    let kek_bytes = [0x11u8; 32];
    let kek_b64 = STANDARD.encode(kek_bytes);
    let kek = KeyEncryptionKey::from_bytes(kek_bytes).unwrap();

    // No KEK: runs, says so once on stderr.
    let plain = run(&mut tessera(&["--database", &url, "cleanup", "--json"]));
    assert!(plain.status.success(), "{}", text(&plain.stderr));
    let warnings = text(&plain.stderr);
    assert_eq!(
        warnings.matches("no key-encryption key configured").count(),
        1,
        "{warnings}"
    );

    // With the KEK in the environment the plaintext rows are sealed in place.
    let sealed = run(tessera(&["--database", &url, "cleanup", "--json"]).env(KEK_VAR, &kek_b64));
    assert!(sealed.status.success(), "{}", text(&sealed.stderr));
    assert!(!text(&sealed.stderr).contains("no key-encryption key"));
    for secret in raw_secrets(&dir.join("tessera.db")).await {
        assert!(secret.starts_with(&[0xA5, b'T', b'K', 1]));
    }

    // Now no KEK, a wrong KEK, or a malformed one: a clear error, exit 1, no key bytes.
    let wrong_b64 = STANDARD.encode([0x22u8; 32]);
    for (var, value, expect) in [
        (None, "", "no key-encryption key is configured"),
        (
            Some(KEK_VAR),
            wrong_b64.as_str(),
            "wrong key-encryption key",
        ),
        (Some(KEK_VAR), "abc", "must be 32 random bytes"),
    ] {
        let mut cmd = tessera(&["--database", &url, "sessions", "list", "u"]);
        if let Some(var) = var {
            cmd.env(var, value);
        }
        let out = run(&mut cmd);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(expect), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            !err.contains(&kek_b64) && !err.contains(&wrong_b64),
            "{err}"
        );
    }

    // The KEK from a file works the same; both variables at once do not.
    let kek_file = dir.join("kek");
    std::fs::write(&kek_file, format!("{kek_b64}\n")).unwrap();
    let from_file =
        run(tessera(&["--database", &url, "sessions", "list", "u"]).env(KEK_FILE_VAR, &kek_file));
    assert!(from_file.status.success(), "{}", text(&from_file.stderr));
    let both = run(tessera(&["--database", &url, "sessions", "list", "u"])
        .env(KEK_FILE_VAR, &kek_file)
        .env(KEK_VAR, &kek_b64));
    assert_eq!(both.status.code(), Some(1));
    assert!(
        text(&both.stderr).contains("not both"),
        "{}",
        text(&both.stderr)
    );

    // The engine opens the file with the same KEK.
    engine(&url, &kek).await.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emergency_rotation_from_the_command_line_reaches_a_running_server() {
    let (url, dir) = temp_sqlite_url("emergency");
    let kek_b64 = STANDARD.encode([0x33u8; 32]);
    let kek = KeyEncryptionKey::parse(&kek_b64).unwrap();
    let server = Served::start(
        tessera(&["--database", &url, "serve", "--bind", "127.0.0.1:0"]).env(KEK_VAR, &kek_b64),
    );
    let app = engine(&url, &kek).await;
    let s = app
        .create_new_session("alice", json!({}), json!({}))
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let verify = || async {
        let reply: Value = client
            .post(format!("{}/recipe/session/verify", server.base))
            .header("cdi-version", "5.4")
            .header("rid", "session")
            .json(&json!({
                "accessToken": s.access_token.token,
                "doAntiCsrfCheck": false,
                "enableAntiCsrf": false,
                "checkDatabase": false,
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        reply["status"].as_str().unwrap().to_owned()
    };
    assert_eq!(verify().await, "OK");

    // `--mac` needs `--emergency`; `--now` and `--emergency` exclude each other.
    for args in [
        &["keys", "rotate", "--mac"][..],
        &["keys", "rotate", "--now", "--emergency"],
    ] {
        let out = run(tessera(&["--database", &url])
            .args(args)
            .env(KEK_VAR, &kek_b64));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }

    let out = run(tessera(&[
        "--database",
        &url,
        "keys",
        "rotate",
        "--emergency",
        "--json",
    ])
    .env(KEK_VAR, &kek_b64));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let old_kid = kid_of(&s.access_token.token);
    assert!(
        report["removed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == old_kid.as_str()),
        "{report}"
    );
    assert_eq!(report["refreshMacRotated"], false);

    // The running server drops the key by itself (its 2 s key-set check).
    // Liveness, not timing: the limit only stops a broken build hanging.
    let give_up = Instant::now() + Duration::from_secs(60);
    loop {
        let status = verify().await;
        if status == "TRY_REFRESH_TOKEN" {
            break;
        }
        assert_eq!(status, "OK");
        assert!(Instant::now() < give_up, "the server kept the deleted key");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The refresh token still works (the MAC key was kept).
    app.check_key_set().await.unwrap();
    let next = app
        .refresh_session(&s.refresh_token.token, None)
        .await
        .unwrap();
    app.get_session(&next.access_token.token, None, VerifyOptions::default())
        .await
        .unwrap();

    // --mac: every refresh token is void.
    let out = run(
        tessera(&["--database", &url, "keys", "rotate", "--emergency", "--mac"])
            .env(KEK_VAR, &kek_b64),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("users sign in again"),
        "{}",
        text(&out.stdout)
    );
    app.check_key_set().await.unwrap();
    assert!(
        app.refresh_session(&next.refresh_token.token, None)
            .await
            .is_err()
    );
    app.close().await;
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn rewrap_moves_the_keys_to_the_new_kek_file() {
    let (url, dir) = temp_sqlite_url("rewrap");
    let old_b64 = STANDARD.encode([0x44u8; 32]);
    let new_hex = "55".repeat(32);
    let old = KeyEncryptionKey::parse(&old_b64).unwrap();
    let new = KeyEncryptionKey::parse(&new_hex).unwrap();
    let app = engine(&url, &old).await;
    let s = app
        .create_new_session("alice", json!({}), json!({}))
        .await
        .unwrap();
    app.close().await;

    let new_file = dir.join("new-kek");
    std::fs::write(&new_file, &new_hex).unwrap();
    let out = run(tessera(&[
        "--database",
        &url,
        "keys",
        "rewrap",
        "--json",
        "--new-kek-file",
    ])
    .arg(&new_file)
    .env(KEK_VAR, &old_b64));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["rows"], 2, "{report}");
    assert_eq!(report["oldKekId"], old.id());
    assert_eq!(report["newKekId"], new.id());

    // The old KEK no longer opens the database; the new one does, same keys.
    let stale =
        run(tessera(&["--database", &url, "sessions", "list", "alice"]).env(KEK_VAR, &old_b64));
    assert_eq!(stale.status.code(), Some(1));
    assert!(text(&stale.stderr).contains("wrong key-encryption key"));
    let app = engine(&url, &new).await;
    app.get_session(&s.access_token.token, None, VerifyOptions::default())
        .await
        .unwrap();
    app.close().await;

    // A missing or malformed new KEK file: exit 1, nothing changed.
    let out = run(
        tessera(&["--database", &url, "keys", "rewrap", "--new-kek-file"])
            .arg(dir.join("absent"))
            .env(KEK_VAR, &new_hex),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot read the key-encryption key file"));
    let _ = std::fs::remove_dir_all(dir);
}
