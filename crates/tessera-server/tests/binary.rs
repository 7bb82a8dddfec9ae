//! The built `tessera` binary: `serve` with flags, environment and config
//! file, SIGTERM, and the admin commands on a shared SQLite database.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use common::{Options, TestServer, temp_sqlite_url};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_tessera");

/// A `tessera` command with a clean environment for its settings.
fn tessera(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for var in [
        "TESSERA_CONFIG",
        "TESSERA_BIND",
        "TESSERA_DATABASE_URL",
        "TESSERA_API_KEYS",
        "TESSERA_REFRESH_GRACE_PERIOD",
        "TESSERA_ACCESS_TOKEN_VALIDITY",
        "TESSERA_LOG_FORMAT",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("RUST_LOG", "warn");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run tessera")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A running `tessera serve` child and its base URL.
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

    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("tessera did not stop on SIGTERM");
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

#[tokio::test]
async fn serve_takes_flags_env_and_file_and_stops_on_sigterm() {
    let (_, dir) = temp_sqlite_url("serve");
    let config = dir.join("tessera.toml");
    std::fs::write(
        &config,
        "database_url = \"memory:\"\napi_keys = [\"file-key-aaaaaaaaaaaaaaaaaaaa\"]\naccess_token_validity = 120\n",
    )
    .unwrap();
    // The flag beats TESSERA_BIND; the environment's key beats the file's.
    let served = Served::start(
        tessera(&["serve", "--bind", "127.0.0.1:0", "--config"])
            .arg(&config)
            .env("TESSERA_BIND", "127.0.0.1:1")
            .env("TESSERA_API_KEYS", "env-key-bbbbbbbbbbbbbbbbbbbbb"),
    );
    let http = client();
    let hello = http
        .get(format!("{}/hello", served.base))
        .send()
        .await
        .unwrap();
    assert_eq!(hello.text().await.unwrap(), "Hello\n");
    let file_key = http
        .get(format!("{}/apiversion", served.base))
        .header("api-key", "file-key-aaaaaaaaaaaaaaaaaaaa")
        .send()
        .await
        .unwrap();
    assert_eq!(file_key.status(), StatusCode::UNAUTHORIZED);
    let env_key = http
        .post(format!("{}/public/recipe/session", served.base))
        .header("api-key", "env-key-bbbbbbbbbbbbbbbbbbbbb")
        .json(&json!({
            "userId": "u", "userDataInJWT": {}, "userDataInDatabase": {},
            "useDynamicSigningKey": true, "enableAntiCsrf": false,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(env_key.status(), StatusCode::OK);
    let created: Value = env_key.json().await.unwrap();
    // access_token_validity = 120 from the file (less up to 5 % jitter).
    let life = created["accessToken"]["expiry"].as_u64().unwrap()
        - created["accessToken"]["createdTime"].as_u64().unwrap();
    assert!((114_000..=120_000).contains(&life), "{life}");

    let status = served.terminate();
    assert!(status.success(), "{status:?}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bad_settings_are_refused_with_a_message() {
    let short = run(&mut tessera(&[
        "serve",
        "--database",
        "memory:",
        "--api-keys",
        "short",
    ]));
    assert_eq!(short.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&short.stderr).contains("too short"));

    let (_, dir) = temp_sqlite_url("badconfig");
    let config = dir.join("bad.toml");
    std::fs::write(&config, "bnid = \"x\"\n").unwrap();
    let typo = run(tessera(&["cleanup", "--config"]).arg(&config));
    assert_eq!(typo.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&typo.stderr).contains("unknown field"));

    let grace = run(&mut tessera(&[
        "serve",
        "--database",
        "memory:",
        "--bind",
        "127.0.0.1:0",
        "--refresh-grace-period",
        "301",
    ]));
    assert_eq!(grace.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&grace.stderr).contains("refresh_grace_period"));
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn admin_commands_work_on_the_servers_database() {
    let (url, dir) = temp_sqlite_url("admin");
    let server = TestServer::with(Options {
        database_url: Some(url.clone()),
        ..Options::default()
    })
    .await;
    let a = server.create("public", "user-1").await;
    let b = server.create("acme", "user-1").await;
    let c = server.create("public", "user-2").await;
    let handle = |v: &Value| v["session"]["handle"].as_str().unwrap().to_owned();
    let (a, b, c) = (handle(&a), handle(&b), handle(&c));

    // list: a table ...
    let list = run(&mut tessera(&[
        "--database",
        &url,
        "sessions",
        "list",
        "user-1",
    ]));
    assert!(list.status.success());
    let table = stdout(&list);
    assert!(table.starts_with("HANDLE"), "{table}");
    assert!(table.contains("TENANT") && table.contains("EXPIRES"));
    assert!(table.contains(&a) && table.contains(&b) && !table.contains(&c));
    assert!(table.contains("acme"));
    // ... or JSON.
    let list = run(&mut tessera(&[
        "--database",
        &url,
        "sessions",
        "list",
        "user-1",
        "--json",
    ]));
    let sessions: Value = serde_json::from_slice(&list.stdout).unwrap();
    let mut handles: Vec<&str> = sessions
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sessionHandle"].as_str().unwrap())
        .collect();
    handles.sort_unstable();
    let mut expected = vec![a.as_str(), b.as_str()];
    expected.sort_unstable();
    assert_eq!(handles, expected);
    assert!(sessions[0]["timeCreated"].as_i64().unwrap() > 1_577_836_800_000);

    // revoke one: the running server sees it at once (shared database).
    let revoke = run(&mut tessera(&[
        "--database",
        &url,
        "sessions",
        "revoke",
        &a,
    ]));
    assert!(revoke.status.success());
    assert!(stdout(&revoke).contains(&a));
    let info = server
        .get("/recipe/session", &[("sessionHandle", &a)])
        .await
        .ok_json();
    assert_eq!(info["status"], "UNAUTHORISED");
    let again = run(&mut tessera(&[
        "--database",
        &url,
        "sessions",
        "revoke",
        &a,
        "--json",
    ]));
    assert_eq!(again.status.code(), Some(1));
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again, json!({"sessionHandle": a, "revoked": false}));

    // revoke-user, through the environment this time.
    let revoke_user =
        run(tessera(&["sessions", "revoke-user", "user-1", "--json"])
            .env("TESSERA_DATABASE_URL", &url));
    assert!(revoke_user.status.success());
    let revoked: Value = serde_json::from_slice(&revoke_user.stdout).unwrap();
    assert_eq!(
        revoked,
        json!({"userId": "user-1", "sessionHandlesRevoked": [b]})
    );
    let empty = run(&mut tessera(&[
        "--database",
        &url,
        "sessions",
        "list",
        "user-1",
    ]));
    assert!(stdout(&empty).contains("no live sessions"));

    // keys rotate: a second server on the database publishes the new key.
    let rotate = run(&mut tessera(&[
        "--database",
        &url,
        "keys",
        "rotate",
        "--json",
    ]));
    assert!(rotate.status.success());
    let rotated: Value = serde_json::from_slice(&rotate.stdout).unwrap();
    let kid = rotated["kid"].as_str().unwrap().to_owned();
    assert!(kid.starts_with("d-"));
    assert_eq!(rotated["signsImmediately"], false);
    let now = run(&mut tessera(&[
        "--database",
        &url,
        "keys",
        "rotate",
        "--now",
    ]));
    assert!(now.status.success());
    assert!(stdout(&now).contains("signs from now on"));
    let second = TestServer::with(Options {
        database_url: Some(url.clone()),
        ..Options::default()
    })
    .await;
    let jwks = second.get_bare("/.well-known/jwks.json").await.json();
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == kid),
        "{jwks}"
    );

    // cleanup, via a config file.
    let config = dir.join("tessera.toml");
    std::fs::write(&config, format!("database_url = \"{url}\"\n")).unwrap();
    let cleanup = run(tessera(&["cleanup", "--config"]).arg(&config));
    assert!(cleanup.status.success());
    assert!(stdout(&cleanup).contains("EXPIRED SESSIONS DELETED"));
    let cleanup = run(tessera(&["cleanup", "--json", "--config"]).arg(&config));
    let report: Value = serde_json::from_slice(&cleanup.stdout).unwrap();
    assert!(report["sessionsDeleted"].is_u64() && report["keysDeleted"].is_u64());

    // user-2 was never touched.
    let list = run(&mut tessera(&[
        "--database",
        &url,
        "sessions",
        "list",
        "user-2",
    ]));
    assert!(stdout(&list).contains(&c));
    drop((server, second));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn default_database_is_an_sqlite_file_in_the_working_directory() {
    let (_, dir) = temp_sqlite_url("default");
    let out = run(tessera(&["keys", "rotate"]).current_dir(&dir));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.join("tessera.db").exists());
    std::fs::remove_dir_all(dir).ok();
}
