//! Upgrade (issue 21 item 6): a database made by the first release's migrations (0001–0008,
//! the 2026-11-23 build) is opened by the current binary, which migrates it, and every row is
//! still there. The old database holds realistic data: a current server is given real
//! advisories, a product, a release, an SBOM with findings, API keys, a sync source with a
//! sealed key and its audit trail through the API, and those rows, cut to the columns the
//! first release had, are copied into a database made by the first release's migrations
//! alone. After `rampart migrate`, every old row reads the same (every table, every old
//! column), and the upgraded server answers the API as the original did.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};

use crate::serve::{api, api_upload, ServerProcess};

/// The last migration of the first release; migrations never change once released.
const FIRST_RELEASE_LAST_MIGRATION: u32 = 8;

fn migrations_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../rampart-store/migrations/sqlite")
}

async fn open(file: &Path) -> SqlitePool {
    let options = SqliteConnectOptions::new()
        .filename(file)
        .create_if_missing(true)
        .foreign_keys(false);
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap()
}

/// Every row of every table, each row its columns' SQL literals (`quote()`), by table, in
/// rowid order; only `columns_of` the table when given (the old schema's columns).
async fn snapshot(
    pool: &SqlitePool,
    tables: &[(String, Vec<String>)],
) -> Vec<(String, Vec<String>)> {
    let mut rows = Vec::new();
    for (table, columns) in tables {
        let quoted: Vec<String> = columns.iter().map(|c| format!("quote(\"{c}\")")).collect();
        let sql = format!(
            "SELECT {} AS row FROM \"{table}\" ORDER BY rowid",
            quoted.join(" || '|' || ")
        );
        let table_rows: Vec<String> = sqlx::query_scalar(&sql).fetch_all(pool).await.unwrap();
        rows.push((table.clone(), table_rows));
    }
    rows
}

/// The tables of a database (without sqlx's and SQLite's own) and their columns.
async fn tables(pool: &SqlitePool) -> Vec<(String, Vec<String>)> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table'
         AND name NOT IN ('_sqlx_migrations', 'sqlite_sequence') ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut tables = Vec::new();
    for name in names {
        let columns: Vec<String> = sqlx::query(&format!("PRAGMA table_info(\"{name}\")"))
            .fetch_all(pool)
            .await
            .unwrap()
            .iter()
            .map(|row| row.get::<String, _>("name"))
            .collect();
        tables.push((name, columns));
    }
    tables
}

/// What the upgraded server must answer as the original did.
async fn answers(server: &ServerProcess, key: &str, release: i64) -> Vec<Value> {
    use reqwest::Method;
    let query = json!({"package": {"name": "requests", "ecosystem": "PyPI"}, "version": "2.2.0"});
    vec![
        api(Method::GET, server.url("/api/v1/products"), key, None).await,
        api(
            Method::GET,
            server.url(&format!("/api/v1/releases/{release}")),
            key,
            None,
        )
        .await,
        api(
            Method::GET,
            server.url(&format!(
                "/api/v1/releases/{release}/vulnerabilities?per_page=100"
            )),
            key,
            None,
        )
        .await,
        api(Method::POST, server.url("/v1/query"), key, Some(query)).await,
        api(
            Method::GET,
            server.url("/api/v1/security/cve/sync-sources"),
            key,
            None,
        )
        .await,
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_release_database_opens_with_every_row() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    use reqwest::Method;
    let work = tempfile::tempdir().unwrap();

    // Realistic data, written by the server through its API.
    let current = work.path().join("current");
    let import = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["import", "--quiet", "--type", "osv", "--data-dir"])
        .arg(&current)
        .args(["requests", "django", "jinja2"].map(|p| root.join("osv-pypa/vulns").join(p)))
        .env_remove("RAMPART_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let server = ServerProcess::start(&["--data-dir", current.to_str().unwrap()], &[]);
    let key = server.printed_key().expect("the admin key");
    let product = api(
        Method::POST,
        server.url("/api/v1/products"),
        &key,
        Some(json!({"name": "shop", "description": "the web shop", "tags": ["web"]})),
    )
    .await;
    let release = api(
        Method::POST,
        server.url(&format!("/api/v1/products/{}/releases", product["id"])),
        &key,
        Some(json!({"version": "1.0.0"})),
    )
    .await;
    let release_id = release["id"].as_i64().unwrap();
    let sbom = json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": [
        {"type": "library", "name": "requests", "version": "2.2.0", "purl": "pkg:pypi/requests@2.2.0"},
        {"type": "library", "name": "django", "version": "1.11.0", "purl": "pkg:pypi/django@1.11.0"},
        {"type": "library", "name": "jinja2", "version": "2.10", "purl": "pkg:pypi/jinja2@2.10"},
        {"type": "library", "name": "left-pad", "version": "1.3.0", "purl": "pkg:npm/left-pad@1.3.0"}]});
    let uploaded = api_upload(
        server.url(&format!("/api/v1/releases/{release_id}/sboms?wait=true")),
        &key,
        "application/vnd.cyclonedx+json",
        sbom.to_string().into_bytes(),
    )
    .await;
    assert_eq!(uploaded["analysis"]["status"], "completed", "{uploaded}");
    assert!(
        uploaded["analysis"]["findings_count"].as_i64().unwrap() > 10,
        "{uploaded}"
    );
    let session = server.sign_in("admin@localhost").await;
    let created = api(
        Method::POST,
        server.url("/api/v1/api-keys"),
        &session,
        Some(json!({"name": "ci", "scopes": ["kb:read"]})),
    )
    .await;
    let read_key = created["api_key"].as_str().unwrap().to_string();
    api(Method::POST, server.url("/api/v1/security/cve/sync-sources"), &key,
        Some(json!({"config": {"id": "nvd", "type": "NVD", "syncIntervalHours": 12}, "apiKey": "nvd-key-0123456789"}))).await;
    let before = answers(&server, &key, release_id).await;
    let (exit, _) = server.stop("TERM");
    assert!(exit.success());

    // A database made by the first release's migrations alone.
    let old_migrations = work.path().join("migrations");
    std::fs::create_dir(&old_migrations).unwrap();
    for entry in std::fs::read_dir(migrations_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let number: u32 = name[..4].parse().unwrap();
        if number <= FIRST_RELEASE_LAST_MIGRATION {
            std::fs::copy(&path, old_migrations.join(&name)).unwrap();
        }
    }
    let old_dir = work.path().join("old");
    std::fs::create_dir(&old_dir).unwrap();
    let old_file = old_dir.join("rampart.db");
    let old = open(&old_file).await;
    sqlx::migrate::Migrator::new(old_migrations.as_path())
        .await
        .unwrap()
        .run(&old)
        .await
        .unwrap();
    let old_tables = tables(&old).await;
    assert!(old_tables.len() >= 30, "{old_tables:?}");
    // The rows, cut to the first release's columns.
    sqlx::query(&format!(
        "ATTACH DATABASE '{}' AS src",
        current.join("rampart.db").display()
    ))
    .execute(&old)
    .await
    .unwrap();
    for (table, columns) in &old_tables {
        let list = columns
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let source = match table.as_str() {
            // Tables later migrations replaced, filled as the first release filled them:
            // finding events (now `finding.new` events), and a copy of each record's references.
            "finding_events" => {
                assert_eq!(list, "\"id\", \"team_id\", \"kind\", \"release_id\", \"sbom_id\", \"finding_id\", \"analysis_id\", \"created_at\"");
                "SELECT id, team_id, type, json_extract(data, '$.release_id'),
                    json_extract(data, '$.sbom_id'), json_extract(data, '$.finding_id'),
                    json_extract(data, '$.analysis_id'), created_at
                 FROM src.events WHERE type = 'finding.new' ORDER BY id"
                    .to_string()
            }
            "vuln_references" => {
                assert_eq!(
                    list,
                    "\"vulnerability_id\", \"kind\", \"url\", \"tags\", \"is_exploit\""
                );
                "SELECT v.id, json_extract(r.value, '$.kind'), json_extract(r.value, '$.url'),
                    json_extract(r.value, '$.tags'), json_extract(r.value, '$.is_exploit')
                 FROM src.vulnerabilities v, json_each(v.record, '$.references') r"
                    .to_string()
            }
            _ => format!("SELECT {list} FROM src.\"{table}\""),
        };
        sqlx::query(&format!(
            "INSERT OR REPLACE INTO main.\"{table}\" ({list}) {source}"
        ))
        .execute(&old)
        .await
        .unwrap();
    }
    sqlx::query("DETACH DATABASE src")
        .execute(&old)
        .await
        .unwrap();
    let old_rows = snapshot(&old, &old_tables).await;
    let total: usize = old_rows.iter().map(|(_, rows)| rows.len()).sum();
    for table in [
        "finding_events",
        "vuln_references",
        "findings",
        "vulnerabilities",
        "affected_packages",
        "sbom_components",
        "api_keys",
        "audit_log",
        "sync_sources",
    ] {
        let rows = &old_rows.iter().find(|(t, _)| t == table).unwrap().1;
        assert!(!rows.is_empty(), "the old database has {table} rows");
    }
    old.close().await;
    std::fs::copy(current.join("secret.key"), old_dir.join("secret.key")).unwrap();
    let before_file = work.path().join("before-upgrade.db");
    std::fs::copy(&old_file, &before_file).unwrap();

    // The current binary migrates it; every old row reads the same.
    let migrate = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["migrate", "--data-dir"])
        .arg(&old_dir)
        .env_remove("RAMPART_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    let upgraded = open(&old_file).await;
    let applied: i64 =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&upgraded)
            .await
            .unwrap();
    assert!(applied > i64::from(FIRST_RELEASE_LAST_MIGRATION));
    // Two tables were replaced on purpose; their rows must be found where they went.
    let now_tables: Vec<String> = tables(&upgraded)
        .await
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    let dropped: Vec<&str> = old_tables
        .iter()
        .map(|(t, _)| t.as_str())
        .filter(|t| !now_tables.iter().any(|n| n == t))
        .collect();
    assert_eq!(
        dropped,
        ["finding_events", "vuln_references"],
        "a table no migration should drop is gone"
    );
    sqlx::query(&format!(
        "ATTACH DATABASE '{}' AS before",
        before_file.display()
    ))
    .execute(&upgraded)
    .await
    .unwrap();
    let lost_events: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM before.finding_events e
         WHERE NOT EXISTS (SELECT 1 FROM main.events n WHERE n.id = e.id AND n.type = e.kind
            AND n.team_id = e.team_id AND n.created_at = e.created_at
            AND json_extract(n.data, '$.finding_id') = e.finding_id
            AND json_extract(n.data, '$.release_id') = e.release_id
            AND json_extract(n.data, '$.sbom_id') = e.sbom_id
            AND json_extract(n.data, '$.analysis_id') = e.analysis_id)",
    )
    .fetch_one(&upgraded)
    .await
    .unwrap();
    assert_eq!(
        lost_events, 0,
        "every finding event is an event with its id and facts"
    );
    let lost_references: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM before.vuln_references r
         WHERE NOT EXISTS (SELECT 1 FROM main.vulnerabilities v,
                json_each(v.record, '$.references') x
            WHERE v.id = r.vulnerability_id AND json_extract(x.value, '$.url') = r.url)",
    )
    .fetch_one(&upgraded)
    .await
    .unwrap();
    assert_eq!(lost_references, 0, "every reference is in its record");
    sqlx::query("DETACH DATABASE before")
        .execute(&upgraded)
        .await
        .unwrap();
    let kept: Vec<(String, Vec<String>)> = old_tables
        .iter()
        .filter(|(t, _)| !dropped.contains(&t.as_str()))
        .cloned()
        .collect();
    let after = snapshot(&upgraded, &kept).await;
    upgraded.close().await;
    let kept_rows = old_rows
        .iter()
        .filter(|(t, _)| !dropped.contains(&t.as_str()));
    for ((table, rows_before), (_, rows_after)) in kept_rows.zip(&after) {
        assert_eq!(rows_before, rows_after, "table {table} after the upgrade");
    }
    println!(
        "{total} rows in {} tables of the first release's schema read the same after the upgrade",
        old_tables.len()
    );

    // The upgraded server: the same keys work, the same answers.
    let server = ServerProcess::start(&["--data-dir", old_dir.to_str().unwrap()], &[]);
    assert_eq!(server.printed_key(), None, "no second bootstrap");
    let after_answers = answers(&server, &key, release_id).await;
    assert_eq!(before, after_answers);
    let status = reqwest::Client::new()
        .get(server.url("/api/v1/kb/status"))
        .bearer_auth(&read_key)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(
        status, 200,
        "the key created before the upgrade still works"
    );
    let (exit, _) = server.stop("TERM");
    assert!(exit.success());
}
