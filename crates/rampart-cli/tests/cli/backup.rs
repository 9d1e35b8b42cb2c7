//! `rampart backup` and `rampart restore` as an operator runs them (issue 21 item 6): a
//! backup taken while the real server serves and writes, restored into a new data directory
//! with the old server key, and the restored server answers with every row and opens the
//! stored secrets; and the refusals (an existing backup file, a directory that already holds
//! a database, a file that is not a Rampart database, PostgreSQL, a missing key).

use std::path::Path;
use std::process::{Command, Output};

use serde_json::json;

use crate::serve::{api, ServerProcess};

/// Webhooks to a local port are allowed (nothing is delivered in this test).
const LOOPBACK: [&str; 2] = ["--webhook-allowed-networks", "127.0.0.0/8"];

fn rampart(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .env_remove("RAMPART_DATABASE_URL")
        .env_remove("RAMPART_DATA_DIR")
        .output()
        .expect("run rampart")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The product names the server lists, sorted.
async fn product_names(server: &ServerProcess, key: &str) -> Vec<String> {
    let page = api(
        reqwest::Method::GET,
        server.url("/api/v1/products?per_page=100"),
        key,
        None,
    )
    .await;
    let mut names: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_serving_restores_every_row_and_secret() {
    let work = tempfile::tempdir().unwrap();
    let old_dir = work.path().join("old");
    let server = ServerProcess::start(
        &["--data-dir", path(&old_dir), LOOPBACK[0], LOOPBACK[1]],
        &[],
    );
    let key = server
        .printed_key()
        .expect("first start prints the admin key");
    for i in 0..20 {
        api(
            reqwest::Method::POST,
            server.url("/api/v1/products"),
            &key,
            Some(json!({"name": format!("product-{i:02}")})),
        )
        .await;
    }
    let hook = api(
        reqwest::Method::POST,
        server.url("/api/v1/webhooks"),
        &key,
        Some(json!({"url": "http://127.0.0.1:9/rampart"})),
    )
    .await;

    // The backup runs while another client keeps writing.
    let writer = {
        let url = server.url("/api/v1/products");
        let key = key.clone();
        tokio::spawn(async move {
            for i in 0..40 {
                api(
                    reqwest::Method::POST,
                    url.clone(),
                    &key,
                    Some(json!({"name": format!("during-{i:02}")})),
                )
                .await;
            }
        })
    };
    let backup_file = work.path().join("rampart-backup.db");
    let backup = tokio::task::spawn_blocking({
        let args = [
            "backup".to_string(),
            "--data-dir".into(),
            path(&old_dir).into(),
            "--out".into(),
            path(&backup_file).into(),
        ];
        move || rampart(&args.each_ref().map(String::as_str))
    })
    .await
    .unwrap();
    writer.await.unwrap();
    assert!(backup.status.success(), "{}", text(&backup));
    assert!(
        text(&backup).contains("schema version"),
        "{}",
        text(&backup)
    );
    assert!(
        text(&backup).contains("secret.key"),
        "says where the key is: {}",
        text(&backup)
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&backup_file)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, "the backup is private");
    assert!(!work.path().join("rampart-backup.db.partial").exists());

    // A second backup to the same file is refused and leaves the first intact.
    let again = rampart(&[
        "backup",
        "--data-dir",
        path(&old_dir),
        "--out",
        path(&backup_file),
    ]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(text(&again).contains("exists"), "{}", text(&again));
    let (exit, _) = server.stop("TERM");
    assert!(exit.success());

    // Restored into a new directory with the old key: the same rows, the secret opens.
    let new_dir = work.path().join("new");
    let old_key = old_dir.join("secret.key");
    let restore = rampart(&[
        "restore",
        "--data-dir",
        path(&new_dir),
        "--secret-key-file",
        path(&old_key),
        path(&backup_file),
    ]);
    assert!(restore.status.success(), "{}", text(&restore));
    assert!(!text(&restore).contains("warning"), "{}", text(&restore));
    assert_eq!(
        std::fs::read_to_string(new_dir.join("secret.key")).unwrap(),
        std::fs::read_to_string(&old_key).unwrap()
    );
    let restored = ServerProcess::start(
        &["--data-dir", path(&new_dir), LOOPBACK[0], LOOPBACK[1]],
        &[],
    );
    assert_eq!(
        restored.printed_key(),
        None,
        "no new bootstrap: the old admin key works"
    );
    let names = product_names(&restored, &key).await;
    let originals: Vec<String> = (0..20).map(|i| format!("product-{i:02}")).collect();
    assert!(
        originals.iter().all(|name| names.contains(name)),
        "{names:?}"
    );
    // A snapshot: the concurrent writes are in it up to some point, each whole.
    let during = names.iter().filter(|n| n.starts_with("during-")).count();
    let expected: Vec<String> = (0..during).map(|i| format!("during-{i:02}")).collect();
    assert!(
        expected.iter().all(|name| names.contains(name)),
        "a prefix of the concurrent writes: {names:?}"
    );
    // The webhook's sealed secret opens with the restored key: rotation reads it.
    let rotated = api(
        reqwest::Method::POST,
        restored.url(&format!("/api/v1/webhooks/{}/rotate-secret", hook["id"])),
        &key,
        Some(json!({"overlap_hours": 1})),
    )
    .await;
    assert!(
        rotated["secret"].as_str().unwrap().starts_with("whsec_"),
        "{rotated}"
    );
    let (exit, _) = restored.stop("TERM");
    assert!(exit.success());

    // Restoring over a directory that holds a database needs --force.
    let over = rampart(&["restore", "--data-dir", path(&new_dir), path(&backup_file)]);
    assert_eq!(over.status.code(), Some(2), "{}", text(&over));
    assert!(text(&over).contains("--force"), "{}", text(&over));

    // Without the key, the restore says the secrets cannot be opened.
    let keyless_dir = work.path().join("keyless");
    let keyless = rampart(&[
        "restore",
        "--data-dir",
        path(&keyless_dir),
        path(&backup_file),
    ]);
    assert!(keyless.status.success(), "{}", text(&keyless));
    assert!(
        text(&keyless).contains("warning") && text(&keyless).contains("--secret-key-file"),
        "{}",
        text(&keyless)
    );
}

#[test]
fn what_is_not_a_backup_is_refused_with_a_clear_error() {
    let work = tempfile::tempdir().unwrap();
    let junk = work.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all").unwrap();
    let dir = work.path().join("data");
    let refused = rampart(&["restore", "--data-dir", path(&dir), path(&junk)]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        text(&refused).contains("not a Rampart database"),
        "{}",
        text(&refused)
    );
    assert!(!dir.join("rampart.db").exists(), "nothing installed");

    let missing = rampart(&[
        "restore",
        "--data-dir",
        path(&dir),
        "/nonexistent/backup.db",
    ]);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));

    let no_database = rampart(&[
        "backup",
        "--data-dir",
        path(&dir),
        "--out",
        path(&work.path().join("b.db")),
    ]);
    assert_eq!(no_database.status.code(), Some(2), "{}", text(&no_database));

    let postgres = rampart(&[
        "backup",
        "--database-url",
        "postgres://nobody@127.0.0.1:1/none",
        "--out",
        path(&work.path().join("pg.db")),
    ]);
    assert_eq!(postgres.status.code(), Some(2), "{}", text(&postgres));
    assert!(text(&postgres).contains("pg_dump"), "{}", text(&postgres));
}
