//! VEX import at scale (a benchmark, not a timed test: it prints figures and asserts only
//! correctness): a 10,000-statement OpenVEX document applied to a release with 10,000
//! findings, one statement per finding (named by the CVE alias, the component by purl), on
//! SQLite and PostgreSQL. Run in release mode:
//! `cargo test --release -p rampart-server --test api vex_import_bench -- --ignored --nocapture --test-threads=1`

use std::time::{Duration, Instant};

use rampart_test_support::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::products::json_of;
use crate::triage_bench::release_with_findings;

const STATEMENTS: usize = 10_000;

async fn bench(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |config| {
        config.analysis_wait = Duration::from_secs(600);
        config.max_sbom_bytes = 64 << 20;
    })
    .await
    else {
        return;
    };
    let (_store, _product_id, release_id) =
        release_with_findings(&app, "vex bench", STATEMENTS).await;
    let document = |status: &str| {
        let statements: Vec<Value> = (0..STATEMENTS)
            .map(|i| {
                let mut statement = json!({"vulnerability": {"name": format!("CVE-2098-{i:05}")},
                    "products": [{"@id": format!("pkg:npm/bench-pkg-{i:05}@1.0.0")}], "status": status});
                if status == "not_affected" {
                    statement["justification"] = "vulnerable_code_not_present".into();
                }
                statement
            })
            .collect();
        json!({"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://vex.example.com/bench",
            "author": "bench", "timestamp": "2024-01-01T00:00:00Z", "version": 1,
            "statements": statements})
        .to_string()
        .into_bytes()
    };
    let path = format!("/api/v1/releases/{release_id}/vex-imports?overwrite=true");
    let mut times = Vec::new();
    for round in 0..3 {
        let status = if round % 2 == 0 {
            "not_affected"
        } else {
            "under_investigation"
        };
        let body = document(status);
        let start = Instant::now();
        let outcome = json_of(
            app.post(&path)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap(),
            StatusCode::CREATED,
        )
        .await;
        times.push(start.elapsed());
        assert_eq!(
            outcome["import"]["applied"], STATEMENTS,
            "{}",
            outcome["import"]
        );
        assert_eq!(outcome["findings"].as_array().unwrap().len(), STATEMENTS);
    }
    times.sort();
    println!(
        "{backend:?}: import of a {STATEMENTS}-statement OpenVEX into a release with {STATEMENTS} findings: \
         p50 {:.0} ms, max {:.0} ms",
        times[1].as_secs_f64() * 1e3,
        times[2].as_secs_f64() * 1e3,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly with --release --ignored --nocapture"]
async fn vex_import_bench_sqlite() {
    bench(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly with --release --ignored --nocapture"]
async fn vex_import_bench_postgres() {
    bench(Backend::Postgres).await;
}
