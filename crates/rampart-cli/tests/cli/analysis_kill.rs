//! `kill -9` of `rampart serve` in the middle of a large SBOM analysis (issue 21 item 2), on
//! the real binary: the analysis's lease is short and renewed while it runs, so the restarted
//! server takes the dead analysis over once the lease runs out and finishes it with the same
//! findings as an uninterrupted analysis of the same SBOM. Nothing half-written is left: the
//! killed analysis wrote no finding before the takeover.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::SqlitePool;

use crate::serve::{api, ServerProcess};

/// Short, so the takeover is quick; renewed every third of it.
const LEASE_SECONDS: &str = "3";
const COMPONENTS: usize = 40_000;

/// A CycloneDX SBOM of `count` components cycling through every (package, listed version)
/// of the PyPA advisories of `root` (each component affected), each with its own purl
/// qualifier so they are distinct components.
fn large_sbom(root: &Path, count: usize) -> Vec<u8> {
    let mut pairs = BTreeSet::new();
    for package in std::fs::read_dir(root.join("osv-pypa/vulns")).unwrap() {
        let package = package.unwrap().path();
        if !package.is_dir() {
            continue;
        }
        for record in std::fs::read_dir(package).unwrap() {
            let bytes = std::fs::read(record.unwrap().path()).unwrap();
            let Ok(report) = rampart_formats::advisory::parse_osv_yaml(&bytes) else {
                continue;
            };
            for affected in report.records.iter().flat_map(|r| &r.affected) {
                let Some(package) = &affected.package else {
                    continue;
                };
                for version in affected.versions.iter().take(3) {
                    pairs.insert((package.name.to_lowercase(), version.clone()));
                }
            }
        }
    }
    assert!(pairs.len() > 1_000, "{} pairs", pairs.len());
    let pairs: Vec<_> = pairs.into_iter().collect();
    let components: Vec<Value> = (0..count)
        .map(|i| {
            let (name, version) = &pairs[i % pairs.len()];
            json!({"type": "library", "bom-ref": format!("c{i}"), "name": name, "version": version,
                   "purl": format!("pkg:pypi/{name}@{version}?copy={}", i / pairs.len())})
        })
        .collect();
    json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": components})
        .to_string()
        .into_bytes()
}

async fn upload(server: &ServerProcess, key: &str, release: i64, sbom: &[u8], wait: bool) -> Value {
    let response = reqwest::Client::new()
        .post(server.url(&format!("/api/v1/releases/{release}/sboms?wait={wait}")))
        .bearer_auth(key)
        .header("content-type", "application/vnd.cyclonedx+json")
        .body(sbom.to_vec())
        .timeout(Duration::from_secs(600))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body
}

/// (component purl, record id) of a release's open findings, read from the database.
async fn findings_of(pool: &SqlitePool, release: i64) -> BTreeSet<(String, String)> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.purl, v.vuln_id FROM findings f
         JOIN sbom_components c ON c.id = f.component_id
         JOIN vulnerabilities v ON v.id = f.vulnerability_id
         WHERE f.release_id = ? AND f.resolved_at IS NULL",
    )
    .bind(release)
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter().collect()
}

async fn analysis_status(pool: &SqlitePool, id: i64) -> (String, i64) {
    sqlx::query_as("SELECT status, attempts FROM analyses WHERE id = ?")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_an_analysis_then_the_restarted_server_finishes_it_with_the_same_findings() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap().to_string();
    let import = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args([
            "import",
            "--quiet",
            "--type",
            "osv",
            "--data-dir",
            &data_dir,
        ])
        .arg(root.join("osv-pypa"))
        .env_remove("RAMPART_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let args = [
        "--data-dir",
        data_dir.as_str(),
        "--analysis-lease-seconds",
        LEASE_SECONDS,
    ];
    let server = ServerProcess::start(&args, &[]);
    let key = server.printed_key().expect("the admin key");
    let product = api(
        reqwest::Method::POST,
        server.url("/api/v1/products"),
        &key,
        Some(json!({"name": "big"})),
    )
    .await;
    let mut releases = Vec::new();
    for version in ["killed", "uninterrupted"] {
        let release = api(
            reqwest::Method::POST,
            server.url(&format!("/api/v1/products/{}/releases", product["id"])),
            &key,
            Some(json!({"version": version})),
        )
        .await;
        releases.push(release["id"].as_i64().unwrap());
    }
    let sbom = large_sbom(&root, COMPONENTS);
    let options = SqliteConnectOptions::new()
        .filename(dir.path().join("rampart.db"))
        .read_only(true);
    let pool = SqlitePool::connect_with(options).await.unwrap();

    // Killed while the analysis runs (seen running in the database).
    let queued = upload(&server, &key, releases[0], &sbom, false).await;
    let analysis = queued["analysis"]["id"].as_i64().expect("an analysis");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (status, _) = analysis_status(&pool, analysis).await;
        if status == "running" {
            break;
        }
        assert_eq!(
            status, "queued",
            "the analysis finished before it could be killed"
        );
        assert!(Instant::now() < deadline, "the analysis never started");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let (exit, _) = server.stop("KILL");
    assert!(!exit.success());
    let (status, attempts) = analysis_status(&pool, analysis).await;
    assert_eq!(
        (status.as_str(), attempts),
        ("running", 1),
        "killed mid-analysis"
    );
    assert!(
        findings_of(&pool, releases[0]).await.is_empty(),
        "nothing half-written"
    );

    // The restarted server takes it over once the lease ran out and completes it.
    let restarted = ServerProcess::start(&args, &[]);
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let (status, attempts) = analysis_status(&pool, analysis).await;
        if status == "completed" {
            assert_eq!(attempts, 2, "taken over once");
            break;
        }
        assert_eq!(status, "running");
        assert!(
            Instant::now() < deadline,
            "the dead analysis was never taken over"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let uninterrupted = upload(&restarted, &key, releases[1], &sbom, true).await;
    assert_eq!(
        uninterrupted["analysis"]["status"], "completed",
        "{uninterrupted}"
    );
    let taken_over = findings_of(&pool, releases[0]).await;
    let reference = findings_of(&pool, releases[1]).await;
    assert!(
        reference.len() > COMPONENTS / 2,
        "{} findings",
        reference.len()
    );
    assert_eq!(
        taken_over, reference,
        "the same findings as an uninterrupted analysis"
    );
    pool.close().await;
    let (exit, _) = restarted.stop("TERM");
    assert!(exit.success());
}
