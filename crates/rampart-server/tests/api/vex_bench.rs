//! VEX generation at scale (a benchmark, not a timed test: it prints figures and asserts only
//! correctness): a release with 10,000 findings, all triaged, generated as a draft in each
//! format (`POST /api/v1/releases/{id}/vex-documents`: read the decisions, build the document,
//! write it, store it with its SHA-256), on SQLite and PostgreSQL. Run in release mode:
//! `cargo test --release -p rampart-server --test api vex_bench -- --ignored --nocapture --test-threads=1`

use std::time::{Duration, Instant};

use rampart_test_support::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::json;

use crate::products::json_of;
use crate::triage_bench::release_with_findings;

const FINDINGS: usize = 10_000;

async fn bench(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |config| {
        config.analysis_wait = Duration::from_secs(600);
    })
    .await
    else {
        return;
    };
    let (_store, _, release_id) = release_with_findings(&app, "vex bench", FINDINGS).await;
    // Every finding triaged: one bulk decision over all of them.
    let page_ids = |page: serde_json::Value| -> Vec<i64> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_i64().unwrap())
            .collect()
    };
    let mut ids = Vec::with_capacity(FINDINGS);
    for page in 1..=FINDINGS / 500 {
        let listed = json_of(
            app.get(&format!("/api/v1/releases/{release_id}/vulnerabilities?per_page=500&page={page}&sort=newest"))
                .send()
                .await
                .unwrap(),
            StatusCode::OK,
        )
        .await;
        ids.extend(page_ids(listed));
    }
    assert_eq!(ids.len(), FINDINGS);
    json_of(
        app.post(&format!("/api/v1/releases/{release_id}/dispositions"))
            .json(&json!({"findings": ids, "state": "not_affected", "justification": "code_not_reachable"}))
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    for format in ["openvex", "cyclonedx-json", "cyclonedx-xml", "csaf"] {
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..3 {
            let start = Instant::now();
            let document = json_of(
                app.post(&format!("/api/v1/releases/{release_id}/vex-documents"))
                    .json(&json!({"format": format}))
                    .send()
                    .await
                    .unwrap(),
                StatusCode::CREATED,
            )
            .await;
            times.push(start.elapsed());
            let id = document["id"].as_i64().unwrap();
            let content = app
                .get(&format!("/api/v1/vex-documents/{id}/content"))
                .send()
                .await
                .unwrap();
            assert_eq!(content.status(), StatusCode::OK);
            size = content.bytes().await.unwrap().len();
        }
        times.sort();
        println!(
            "{backend:?}: generate {format} for {FINDINGS} triaged findings: p50 {:.0} ms, max {:.0} ms ({:.1} MB)",
            times[1].as_secs_f64() * 1e3,
            times[2].as_secs_f64() * 1e3,
            size as f64 / 1e6
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly with --release --ignored --nocapture"]
async fn vex_bench_sqlite() {
    bench(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly with --release --ignored --nocapture"]
async fn vex_bench_postgres() {
    bench(Backend::Postgres).await;
}
