//! Bulk triage at scale (a benchmark, not a timed test: it prints figures and asserts only
//! correctness): a release with 10,000 findings (10,000 synthetic records, one per package,
//! and an SBOM of those packages at an affected version), all triaged in one request, on
//! SQLite and PostgreSQL. Run in release mode:
//! `cargo test --release -p rampart-server --test api triage_bench -- --ignored --nocapture --test-threads=1`

use std::time::{Duration, Instant};

use rampart_formats::advisory::parse_osv_json;
use rampart_test_support::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::products::json_of;

const FINDINGS: usize = 10_000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// A release of a new product `name` with `count` findings: `count` synthetic records
/// (`GHSA-bench-NNNNN`, alias `CVE-2098-NNNNN`), one per npm package `bench-pkg-NNNNN`, and an
/// SBOM of those packages at 1.0.0, an affected version. Returns the store, product and release.
pub(crate) async fn release_with_findings(
    app: &TestApp,
    name: &str,
    count: usize,
) -> (rampart_store::Store, i64, i64) {
    let store = crate::products::store_of(app).await;
    let records: Vec<Value> = (0..count)
        .map(|i| {
            json!({"schema_version": "1.6.0", "id": format!("GHSA-bench-{i:05}"),
                "aliases": [format!("CVE-2098-{i:05}")], "modified": "2024-01-02T00:00:00Z",
                "affected": [{"package": {"ecosystem": "npm", "name": format!("bench-pkg-{i:05}")},
                    "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "2.0.0"}]}]}]})
        })
        .collect();
    for chunk in records.chunks(1000) {
        let parsed = parse_osv_json(Value::Array(chunk.to_vec()).to_string().as_bytes()).unwrap();
        store
            .ingest_advisories("osv", &parsed.records)
            .await
            .unwrap();
    }
    app.wait_for_index().await;
    let components: Vec<Value> = (0..count)
        .map(|i| json!({"type": "library", "bom-ref": format!("c{i}"), "name": format!("bench-pkg-{i:05}"),
            "version": "1.0.0", "purl": format!("pkg:npm/bench-pkg-{i:05}@1.0.0")}))
        .collect();
    let sbom = json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": components});
    let (product_id, release_id) = crate::findings::release(app, name).await;
    let uploaded =
        crate::findings::upload_and_wait(app, release_id, sbom.to_string().into_bytes()).await;
    assert_eq!(
        uploaded["analysis"]["findings_count"], count,
        "{}",
        uploaded["analysis"]
    );
    (store, product_id, release_id)
}

async fn bench(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |config| {
        config.analysis_wait = Duration::from_secs(600);
    })
    .await
    else {
        return;
    };
    let (store, product_id, release_id) =
        release_with_findings(&app, "triage bench", FINDINGS).await;
    let team = crate::products::team_id(&app).await;
    let ids: Vec<i64> = store
        .triage_findings(
            team,
            product_id,
            rampart_store::TriageWithin::Release(release_id),
        )
        .await
        .unwrap()
        .iter()
        .map(|f| f.finding_id)
        .collect();
    assert_eq!(ids.len(), FINDINGS);

    let page_path = format!(
        "/api/v1/releases/{release_id}/vulnerabilities?per_page=100&include_suppressed=true"
    );
    let mut untriaged = Vec::new();
    for _ in 0..10 {
        let start = Instant::now();
        let page = json_of(app.get(&page_path).send().await.unwrap(), StatusCode::OK).await;
        untriaged.push(start.elapsed());
        assert_eq!(page["total"], FINDINGS);
    }
    untriaged.sort();

    let path = format!("/api/v1/releases/{release_id}/dispositions");
    let mut times = Vec::new();
    for round in 0..3 {
        let state = if round % 2 == 0 {
            "not_affected"
        } else {
            "in_triage"
        };
        let body = json!({"findings": ids, "state": state, "justification":
            (state == "not_affected").then_some("code_not_present")});
        let start = Instant::now();
        let outcome = json_of(
            app.post(&path).json(&body).send().await.unwrap(),
            StatusCode::CREATED,
        )
        .await;
        times.push(start.elapsed());
        assert_eq!(outcome["findings"].as_array().unwrap().len(), FINDINGS);
        assert_eq!(outcome["decisions"].as_array().unwrap().len(), FINDINGS);
    }
    times.sort();
    let mut pages = Vec::new();
    for _ in 0..20 {
        let start = Instant::now();
        let page = json_of(app.get(&page_path).send().await.unwrap(), StatusCode::OK).await;
        pages.push(start.elapsed());
        assert_eq!(page["total"], FINDINGS);
        assert_eq!(page["items"][0]["disposition"]["state"], "not_affected");
    }
    pages.sort();
    println!(
        "{backend:?}: bulk triage of {FINDINGS} findings in one request: p50 {:.0} ms, max {:.0} ms; \
         a page of 100 findings: p50 {:.1} ms untriaged, {:.1} ms triaged",
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        times.last().unwrap().as_secs_f64() * 1e3,
        percentile(&untriaged, 0.5).as_secs_f64() * 1e3,
        percentile(&pages, 0.5).as_secs_f64() * 1e3,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly with --release --ignored --nocapture"]
async fn triage_bench_sqlite() {
    bench(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly with --release --ignored --nocapture"]
async fn triage_bench_postgres() {
    bench(Backend::Postgres).await;
}
