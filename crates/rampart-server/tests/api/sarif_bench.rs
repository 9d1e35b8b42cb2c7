//! SARIF import over HTTP (a benchmark, not a timed test: it prints, it asserts only the
//! counts): a 25,000-result log built from the real Semgrep results of the shared corpus
//! (1,768 results cycled, each copy under its own directory so every result is distinct),
//! uploaded to a fresh integration, then uploaded again unchanged. Run with
//! `RAMPART_REQUIRE_TEST_DATA=1 cargo test --release -p rampart-server --test api sarif_bench -- --ignored --nocapture --test-threads=1`
//! (PostgreSQL too when `RAMPART_TEST_PG_URL` is set).

use std::time::Instant;

use rampart_test_support::{Backend, TestApp};
use serde_json::{json, Value};

const RESULTS: usize = 25_000;

fn semgrep_log_of(results: usize) -> Option<Vec<u8>> {
    let root = rampart_test_data::root()?;
    let path = root.join(
        "sarif/defectdojo-sarif-fixtures/unittests/scans/sarif/semgrepowasp-benchmark-sample.sarif",
    );
    let mut log: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let real = log["runs"][0]["results"].as_array().unwrap().clone();
    let generated: Vec<Value> = (0..results)
        .map(|i| {
            let mut result = real[i % real.len()].clone();
            let copy = i / real.len();
            if let Some(uri) =
                result.pointer_mut("/locations/0/physicalLocation/artifactLocation/uri")
            {
                *uri = json!(format!("copy{copy}/{}", uri.as_str().unwrap()));
            }
            result
        })
        .collect();
    log["runs"][0]["results"] = Value::Array(generated);
    Some(log.to_string().into_bytes())
}

async fn bench(backend: Backend) {
    let Some(body) = semgrep_log_of(RESULTS) else {
        return;
    };
    let Some(app) = TestApp::spawn_with(backend, |_| {}).await else {
        return;
    };
    let integration: Value = app
        .post("/api/v1/integrations")
        .json(&json!({"name": "bench", "type": "SEMGREP"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = integration["id"].as_i64().unwrap();
    let path = format!("/api/v1/integrations/{id}/sarif?repository=org/bench&ref=main");
    for (label, expect_new) in [("first import", RESULTS as i64), ("unchanged reimport", 0)] {
        let started = Instant::now();
        let response = app.post(&path).body(body.clone()).send().await.unwrap();
        let elapsed = started.elapsed();
        assert_eq!(response.status().as_u16(), 201);
        let import: Value = response.json().await.unwrap();
        assert_eq!(import["results"], RESULTS as i64);
        assert_eq!(import["new"], expect_new, "{import}");
        assert_eq!(
            import["new"].as_i64().unwrap() + import["unchanged"].as_i64().unwrap(),
            RESULTS as i64
        );
        println!(
            "{backend:?}: {label} of {RESULTS} results ({:.1} MB): {:.3} s",
            body.len() as f64 / 1e6,
            elapsed.as_secs_f64()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly with --release --ignored --nocapture"]
async fn sarif_bench_sqlite() {
    bench(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly with --release --ignored --nocapture"]
async fn sarif_bench_postgres() {
    bench(Backend::Postgres).await;
}
