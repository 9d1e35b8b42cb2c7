//! Secrets at rest (issue 21 item 7): every secret a user hands the server or the server hands
//! out (API keys, webhook signing secrets, integration credentials, sync-source API keys) is
//! kept only as a hash or as ciphertext under the server key. The real binary on both
//! backends, logging at debug level: after creating, rotating and using each kind of secret,
//! none of them appears in the SQLite files (WAL included), in a `pg_dump` of the PostgreSQL
//! database, or anywhere in the server's log.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::process::Command;

use reqwest::StatusCode;
use serde_json::json;

use crate::serve::{api, ServerProcess};

/// `n` random hex digits (std's randomly keyed hasher: unique per run, no extra crate).
fn random_hex(n: usize) -> String {
    let mut text = String::new();
    while text.len() < n {
        text.push_str(&format!(
            "{:016x}",
            RandomState::new().build_hasher().finish()
        ));
    }
    text.truncate(n);
    text
}

/// Creates, rotates and uses one secret of each kind through the API; returns every secret
/// in plain text (the part that would betray it: a webhook secret's key without its prefix).
async fn create_secrets(server: &ServerProcess, admin_key: &str) -> Vec<(String, String)> {
    use reqwest::Method;
    let session = server.sign_in("admin@localhost").await;
    let mut secrets = vec![
        ("bootstrap admin key".to_string(), admin_key.to_string()),
        ("session token".to_string(), session.clone()),
    ];

    // API keys are managed from a signed-in session.
    let created = api(
        Method::POST,
        server.url("/api/v1/api-keys"),
        &session,
        Some(json!({"name": "ci", "scopes": ["kb:read"]})),
    )
    .await;
    let api_key = created["api_key"].as_str().unwrap().to_string();
    let rotated = api(
        Method::POST,
        server.url(&format!("/api/v1/api-keys/{}/rotate", created["id"])),
        &session,
        Some(json!({})),
    )
    .await;
    let rotated_key = rotated["api_key"].as_str().unwrap().to_string();
    // A key is used: it authenticates (and its usage is logged) without being written down.
    let me = reqwest::Client::new()
        .get(server.url("/api/v1/kb/status"))
        .bearer_auth(&rotated_key)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    secrets.push(("API key".into(), api_key));
    secrets.push(("rotated API key".into(), rotated_key));

    let supplied = format!("whsec_{}", random_hex(40));
    let hook = api(
        Method::POST,
        server.url("/api/v1/webhooks"),
        admin_key,
        Some(json!({"url": "http://127.0.0.1:9/rampart", "secret": supplied})),
    )
    .await;
    let rotated = api(
        Method::POST,
        server.url(&format!("/api/v1/webhooks/{}/rotate-secret", hook["id"])),
        admin_key,
        Some(json!({"overlap_hours": 2})),
    )
    .await;
    let generated = rotated["secret"].as_str().unwrap().to_string();
    for (what, secret) in [
        ("supplied webhook secret", supplied),
        ("generated webhook secret", generated),
    ] {
        let key = secret.strip_prefix("whsec_").unwrap().to_string();
        secrets.push((what.into(), key));
    }

    let token = format!("ghp_{}", random_hex(36));
    api(
        Method::POST,
        server.url("/api/v1/integrations"),
        admin_key,
        Some(
            json!({"name": "forge", "type": "GITHUB", "base_url": "https://github.example.com",
               "credentials": {"token": token}}),
        ),
    )
    .await;
    secrets.push(("integration token".into(), token));

    let nvd_key = format!("nvd-{}", random_hex(32));
    api(
        Method::POST,
        server.url("/api/v1/security/cve/sync-sources"),
        admin_key,
        Some(
            json!({"config": {"id": "nvd-at-rest", "type": "NVD", "syncIntervalHours": 24},
               "apiKey": nvd_key}),
        ),
    )
    .await;
    secrets.push(("sync-source API key".into(), nvd_key));
    secrets
}

/// Each secret that occurs in `haystack`, by name.
fn found_in(haystack: &[u8], secrets: &[(String, String)]) -> Vec<String> {
    secrets
        .iter()
        .filter(|(_, secret)| {
            haystack
                .windows(secret.len())
                .any(|window| window == secret.as_bytes())
        })
        .map(|(what, _)| what.clone())
        .collect()
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// The newest PostgreSQL installation's `pg_dump` (a newer one dumps older servers), else
/// the one on PATH.
fn pg_dump() -> std::path::PathBuf {
    let mut installed: Vec<(u32, std::path::PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let binary = entry.path().join("bin/pg_dump");
            binary.exists().then_some((version, binary))
        })
        .collect();
    installed.sort();
    installed
        .pop()
        .map(|(_, binary)| binary)
        .unwrap_or_else(|| "pg_dump".into())
}

const DEBUG_LOG: (&str, &str) = ("RUST_LOG", "debug");
/// Webhooks to a local port are allowed (deliveries fail: nothing listens on the discard port).
const LOOPBACK_WEBHOOKS: [&str; 2] = ["--webhook-allowed-networks", "127.0.0.0/8"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_is_readable_in_the_sqlite_files_or_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let server = ServerProcess::start(
        &[
            "--data-dir",
            data_dir,
            LOOPBACK_WEBHOOKS[0],
            LOOPBACK_WEBHOOKS[1],
        ],
        &[DEBUG_LOG],
    );
    let admin_key = server
        .printed_key()
        .expect("first start prints the admin key");
    let secrets = create_secrets(&server, &admin_key).await;
    let log = server.log.clone();
    let (exit, _) = server.stop("TERM");
    assert!(exit.success());

    let log = log.lock().unwrap().join("\n");
    assert!(log.contains("api-keys"), "the log records the requests");
    assert_eq!(
        found_in(log.as_bytes(), &secrets),
        Vec::<String>::new(),
        "in the server log"
    );
    let files = files_under(dir.path());
    assert!(files.iter().any(|f| f.ends_with("rampart.db")), "{files:?}");
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        assert_eq!(
            found_in(&bytes, &secrets),
            Vec::<String>::new(),
            "in {}",
            file.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_is_readable_in_a_postgres_dump_or_the_log() {
    let Some(database) = rampart_test_support::fresh_postgres_database(false).await else {
        return;
    };
    let url = database.url();
    let secret_key = random_hex(64);
    let server = ServerProcess::start(
        &[
            "--database-url",
            url,
            "--secret-key",
            &secret_key,
            LOOPBACK_WEBHOOKS[0],
            LOOPBACK_WEBHOOKS[1],
        ],
        &[DEBUG_LOG],
    );
    let admin_key = server
        .printed_key()
        .expect("first start prints the admin key");
    let mut secrets = create_secrets(&server, &admin_key).await;
    secrets.push(("server secret key".into(), secret_key));
    let log = server.log.clone();
    let (exit, _) = server.stop("TERM");
    assert!(exit.success());

    let log = log.lock().unwrap().join("\n");
    assert_eq!(
        found_in(log.as_bytes(), &secrets),
        Vec::<String>::new(),
        "in the server log"
    );
    let dump = Command::new(pg_dump())
        .args(["--no-owner", "--dbname", url])
        .output()
        .expect("pg_dump (PostgreSQL client) is installed where PostgreSQL is");
    assert!(
        dump.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&dump.stderr)
    );
    assert!(
        String::from_utf8_lossy(&dump.stdout).contains("webhook_endpoints"),
        "the dump holds the tables"
    );
    assert_eq!(
        found_in(&dump.stdout, &secrets),
        Vec::<String>::new(),
        "in the dump"
    );
}
