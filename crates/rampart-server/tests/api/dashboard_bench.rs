//! The dashboard's release page at scale (a benchmark, not a timed test: it prints figures and
//! asserts only correctness). The knowledge base is the real PyPA and RustSec corpora; the SBOM
//! is 10,000 real (package, listed version) pairs of those advisories, so each component is
//! affected (the SBOM analysis benchmark's pool). Run in release mode:
//! `RAMPART_TEST_DATA=../shared/data cargo test --release -p rampart-server --test api dashboard_bench -- --ignored --nocapture --test-threads=1`
//! With `npm ci --prefix scripts/lighthouse` done first, it also prints Lighthouse's
//! performance and accessibility scores of the portfolio and the release page (Chromium at
//! `/usr/bin/chromium`).

use std::time::{Duration, Instant};

use rampart_test_support::{Backend, TestApp};
use reqwest::header::COOKIE;
use reqwest::StatusCode;
use serde_json::Value;

use crate::analysis_bench::{corpus, cyclonedx, percentile, real_purls};
use crate::dashboard_browser::Driver;

const COMPONENTS: usize = 10_000;
const SAMPLES: usize = 50;

async fn timed_pages(app: &TestApp, session: &str, path: &str) -> (Vec<Duration>, usize) {
    let api = path.starts_with("/api/");
    let client = reqwest::Client::new();
    let mut times = Vec::with_capacity(SAMPLES);
    let mut size = 0;
    for _ in 0..SAMPLES {
        let start = Instant::now();
        let response = client
            .get(format!("{}{path}", app.url))
            .header(COOKIE, format!("rampart_session={session}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let body = response.text().await.unwrap();
        times.push(start.elapsed());
        assert!(api || body.contains("table class=\"findings\""), "{path}");
        size = body.len();
    }
    times.sort();
    (times, size)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly with --release --ignored --nocapture"]
async fn dashboard_bench() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.analysis_wait = Duration::from_secs(600);
    })
    .await
    .unwrap();
    let advisories = corpus(&root);
    let store = crate::products::store_of(&app).await;
    for chunk in advisories.chunks(1000) {
        store.ingest_advisories("osv", chunk).await.unwrap();
    }
    app.wait_for_index().await;
    let pool = real_purls(&advisories);
    let product = crate::products::create_product(&app, "bench").await;
    let release =
        crate::products::create_release(&app, product["id"].as_i64().unwrap(), "1.0").await;
    let release_id = release["id"].as_i64().unwrap();
    let uploaded: Value = app
        .post(&format!("/api/v1/releases/{release_id}/sboms?wait=true"))
        .header("content-type", "application/vnd.cyclonedx+json")
        .body(cyclonedx(&pool, COMPONENTS))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(uploaded["analysis"]["status"], "completed");
    let findings = uploaded["analysis"]["findings_count"].as_i64().unwrap();
    assert!(findings >= 10_000, "{findings} findings");
    // DASHBOARD_BENCH_SAVE_DB=FILE keeps a copy of the database, for trying queries on it.
    if let Some(out) = std::env::var_os("DASHBOARD_BENCH_SAVE_DB") {
        store
            .backup_sqlite(std::path::Path::new(&out))
            .await
            .unwrap();
    }
    let session = app.login("admin@localhost").await["token"]
        .as_str()
        .unwrap()
        .to_string();
    println!("release with {findings} findings ({COMPONENTS} components), 100 per page, {SAMPLES} requests each:");
    for (label, query) in [
        ("page 1, by severity", ""),
        ("page 1, by EPSS", "?sort=epss"),
        ("page 50, by newest", "?sort=newest&page=50"),
        (
            "page 1, high+critical, fixable",
            "?severity=high&severity=critical&fixable=1",
        ),
        // The same page of the API, for comparison: what the store's query costs.
        ("API JSON page 1, by severity", "API?per_page=100"),
        (
            "API JSON page 50, by newest",
            "API?per_page=100&sort=newest&page=50",
        ),
    ] {
        let path = match query.strip_prefix("API") {
            Some(query) => format!("/api/v1/releases/{release_id}/vulnerabilities{query}"),
            None => format!("/releases/{release_id}{query}"),
        };
        let (times, size) = timed_pages(&app, &session, &path).await;
        println!(
            "  GET {label}: p50 {:.1} ms, p90 {:.1} ms ({} KB of HTML)",
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.9).as_secs_f64() * 1e3,
            size / 1024
        );
    }

    // The first load in headless Chromium with a cold cache (HTML, stylesheet, scripts).
    if !std::path::Path::new("/usr/bin/chromedriver").exists() {
        println!("  (no chromedriver: the browser figure is skipped)");
        return;
    }
    let driver = Driver::start().await;
    let mut loads = Vec::new();
    for _ in 0..5 {
        let browser = driver.browser().await;
        // A page without assets to set the cookie on, so the measured load starts cold (set
        // from the page: WebDriver's add-cookie refuses a loopback IP as the cookie's domain).
        browser.goto(&format!("{}/healthz", app.url)).await.unwrap();
        browser
            .execute(
                "document.cookie = arguments[0]",
                vec![serde_json::json!(format!(
                    "rampart_session={session}; path=/"
                ))],
            )
            .await
            .unwrap();
        browser
            .goto(&format!("{}/releases/{release_id}", app.url))
            .await
            .unwrap();
        let timing = browser
            .execute(
                "const n = performance.getEntriesByType('navigation')[0];
                 return [n.responseEnd - n.startTime, n.domContentLoadedEventEnd - n.startTime, n.loadEventEnd - n.startTime];",
                vec![],
            )
            .await
            .unwrap();
        loads.push(timing);
        browser.close().await.unwrap();
    }
    let mut load_end: Vec<f64> = loads.iter().map(|t| t[2].as_f64().unwrap()).collect();
    load_end.sort_by(f64::total_cmp);
    println!(
        "  headless Chromium, cold cache, 5 loads: load event at {:?} ms (median {:.0} ms); [responseEnd, DOMContentLoaded, load] per run: {loads:?}",
        load_end.iter().map(|v| v.round()).collect::<Vec<_>>(),
        load_end[2]
    );

    for path in [
        "/".to_string(),
        format!("/releases/{release_id}"),
        format!("/releases/{release_id}?sort=newest&page=50"),
    ] {
        lighthouse(&app, &session, &path);
    }
}

/// Prints Lighthouse's performance and accessibility scores of a dashboard page, signed in
/// with the session cookie (skipped when `scripts/lighthouse` has not been installed).
fn lighthouse(app: &TestApp, session: &str, path: &str) {
    let bin = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts/lighthouse/node_modules/.bin/lighthouse");
    if !bin.exists() {
        println!("  (no scripts/lighthouse/node_modules: Lighthouse skipped)");
        return;
    }
    let headers = serde_json::json!({ "Cookie": format!("rampart_session={session}") });
    let output = std::process::Command::new(bin)
        .arg(format!("{}{path}", app.url))
        .args([
            "--quiet",
            "--output=json",
            "--output-path=stdout",
            "--only-categories=performance,accessibility",
            "--chrome-flags=--headless=new --no-sandbox",
        ])
        .arg(format!("--extra-headers={headers}"))
        .env("CHROME_PATH", "/usr/bin/chromium")
        .output()
        .expect("lighthouse runs");
    assert!(
        output.status.success(),
        "lighthouse: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let score = |category: &str| {
        report["categories"][category]["score"]
            .as_f64()
            .map(|s| s * 100.0)
    };
    let metric = |audit: &str| {
        report["audits"][audit]["displayValue"]
            .as_str()
            .unwrap_or("-")
            .to_string()
    };
    println!(
        "  Lighthouse {path}: performance {:?}, accessibility {:?} (FCP {}, LCP {}, TBT {}, CLS {})",
        score("performance"),
        score("accessibility"),
        metric("first-contentful-paint"),
        metric("largest-contentful-paint"),
        metric("total-blocking-time"),
        metric("cumulative-layout-shift"),
    );
}
