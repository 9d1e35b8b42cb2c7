//! Webhook delivery at scale (a benchmark, not a timed test: it prints figures and asserts
//! only correctness): 10,000 events to a local receiver on 127.0.0.1, on SQLite (and
//! PostgreSQL when configured):
//! - burst: 10,000 events recorded at once; deliveries per second until the last arrives;
//! - paced: 10,000 events recorded at a steady rate; p50/p99 enqueue → delivered (the
//!   receiver's arrival time minus the time the event was recorded);
//! - SBOM analysis of the same 2,000-component SBOM (thousands of `finding.new` events)
//!   without and with an enabled endpoint receiving every event.
//!
//! `cargo test -p rampart-server --test api webhooks_bench -- --ignored --nocapture --test-threads=1`

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rampart_core::EventType;
use rampart_store::{NewEvent, Store, Tenant};
use rampart_test_support::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::analysis_bench::percentile;
use crate::webhooks::Receiver;

const EVENTS: usize = 10_000;

fn micros_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

async fn team_of(app: &TestApp) -> i64 {
    let me: Value = app
        .get("/api/v1/me")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    me["team"]["id"].as_i64().unwrap()
}

async fn endpoint(app: &TestApp, url: &str, types: &[&str]) -> i64 {
    let response = app
        .post("/api/v1/webhooks")
        .json(&json!({"url": url, "event_types": types}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap()
}

fn events(team: i64, from: usize, n: usize) -> Vec<NewEvent> {
    let at = micros_now();
    (from..from + n)
        .map(|i| {
            NewEvent::team(
                Tenant::live(team),
                EventType::FindingNew,
                json!({"bench": i, "enqueued_at_us": at}),
            )
        })
        .collect()
}

/// Enqueue → arrival of every event the receiver got, in order.
fn latencies(receiver: &Receiver, origin_us: i64, origin: Instant) -> Vec<Duration> {
    let mut out: Vec<Duration> = receiver
        .all()
        .iter()
        .map(|r| {
            let enqueued = r.json()["data"]["enqueued_at_us"].as_i64().unwrap();
            let arrived_us = origin_us + (r.at - origin).as_micros() as i64;
            Duration::from_micros((arrived_us - enqueued).max(0) as u64)
        })
        .collect();
    out.sort();
    out
}

async fn delivery_bench(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, crate::webhooks::fast_webhooks).await else {
        return;
    };
    let store = Store::connect(&app.config.database).await.unwrap();
    let team = team_of(&app).await;

    // Burst: everything recorded in one transaction, then delivered.
    let (receiver, url) = Receiver::start().await;
    let burst_endpoint = endpoint(&app, &url, &["finding.new"]).await;
    let start = Instant::now();
    store.record_events(&events(team, 0, EVENTS)).await.unwrap();
    receiver.wait_for(EVENTS, 600).await;
    let elapsed = start.elapsed();
    println!(
        "{backend:?} burst: {EVENTS} events delivered in {:.2} s = {:.0} deliveries/s",
        elapsed.as_secs_f64(),
        EVENTS as f64 / elapsed.as_secs_f64()
    );
    let ids: std::collections::BTreeSet<String> = receiver
        .all()
        .iter()
        .map(|r| r.header("webhook-id").unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), EVENTS, "each event once");
    let response = app
        .request(
            reqwest::Method::PATCH,
            &format!("/api/v1/webhooks/{burst_endpoint}"),
        )
        .json(&json!({"enabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // Paced: batches of 25 every 50 ms (500 events/s) and every 100 ms (250 events/s).
    for (batch, every_ms) in [(25usize, 100u64), (25, 50)] {
        let (receiver, url) = Receiver::start().await;
        let paced_endpoint = endpoint(&app, &url, &["finding.new"]).await;
        let origin = Instant::now();
        let origin_us = micros_now();
        let mut ticker = tokio::time::interval(Duration::from_millis(every_ms));
        for from in (0..EVENTS).step_by(batch) {
            ticker.tick().await;
            store
                .record_events(&events(team, from, batch))
                .await
                .unwrap();
        }
        receiver.wait_for(EVENTS, 600).await;
        let sorted = latencies(&receiver, origin_us, origin);
        println!(
            "{backend:?} paced {} events/s: enqueue -> delivered p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
            batch as u64 * 1000 / every_ms,
            percentile(&sorted, 0.5).as_secs_f64() * 1e3,
            percentile(&sorted, 0.99).as_secs_f64() * 1e3,
            sorted.last().unwrap().as_secs_f64() * 1e3
        );
        let response = app
            .request(
                reqwest::Method::PATCH,
                &format!("/api/v1/webhooks/{paced_endpoint}"),
            )
            .json(&json!({"enabled": false}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly with --ignored --nocapture"]
async fn webhooks_bench() {
    delivery_bench(Backend::Sqlite).await;
    delivery_bench(Backend::Postgres).await;
}

/// The analysis of one SBOM (`?wait=true`), its job time in ms and findings.
/// Uploads the SBOM and waits for its analysis: (the whole request in ms, the analysis's
/// own started → finished in ms, findings). The request includes the findings' and events'
/// write transaction, which the analysis's `finished_at` (taken before it) does not.
async fn analyse(app: &TestApp, release_id: i64, body: &[u8]) -> (f64, i64, i64) {
    let started = std::time::Instant::now();
    let response = app
        .post(&format!("/api/v1/releases/{release_id}/sboms?wait=true"))
        .header("content-type", "application/vnd.cyclonedx+json")
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let uploaded: Value = response.json().await.unwrap();
    let request_ms = started.elapsed().as_secs_f64() * 1e3;
    let analysis = &uploaded["analysis"];
    assert_eq!(analysis["status"], "completed", "{analysis}");
    let time = |field: &str| {
        chrono::DateTime::parse_from_rfc3339(analysis[field].as_str().unwrap()).unwrap()
    };
    (
        request_ms,
        (time("finished_at") - time("started_at")).num_milliseconds(),
        analysis["findings_count"].as_i64().unwrap(),
    )
}

/// Waits until every event is fanned out and no delivery is pending (SQLite).
async fn wait_until_quiet(app: &TestApp) {
    let rampart_store::DatabaseLocation::SqliteDir(dir) = &app.config.database else {
        panic!("the overhead bench runs on SQLite");
    };
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.join("rampart.db").display()))
        .await
        .unwrap();
    for _ in 0..6_000 {
        let (undispatched, pending): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM events WHERE NOT dispatched),
                    (SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending')",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if undispatched == 0 && pending == 0 {
            pool.close().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the outbox never emptied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly with --ignored --nocapture"]
async fn webhooks_analysis_overhead_bench() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    // A failed analysis says why on stderr.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("error"))
        .try_init();
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        crate::webhooks::fast_webhooks(config);
        config.analysis_wait = Duration::from_secs(600);
    })
    .await
    .unwrap();
    let advisories = crate::analysis_bench::corpus(&root);
    let store = crate::products::store_of(&app).await;
    for chunk in advisories.chunks(1000) {
        store.ingest_advisories("osv", chunk).await.unwrap();
    }
    app.wait_for_index().await;
    let pool = crate::analysis_bench::real_purls(&advisories);
    let body = crate::analysis_bench::cyclonedx(&pool, 2_000);
    let product = crate::products::create_product(&app, "hooks-bench").await;
    let product_id = product["id"].as_i64().unwrap();
    const RUNS: usize = 9;
    let mut without = Vec::new();
    let mut with = Vec::new();
    let mut analysis_without = Vec::new();
    let mut analysis_with = Vec::new();
    let (receiver, url) = Receiver::start().await;
    let hook = endpoint(&app, &url, &[]).await;
    let toggle = |enabled: bool| {
        let request = app
            .request(reqwest::Method::PATCH, &format!("/api/v1/webhooks/{hook}"))
            .json(&json!({ "enabled": enabled }));
        async move {
            assert_eq!(request.send().await.unwrap().status(), StatusCode::OK);
        }
    };
    for round in 0..2 * RUNS {
        // Alternate, so drift hits both sides alike; each run starts with the outbox fanned
        // out and nothing pending, so it measures its own events only.
        let enabled = round % 2 == 1;
        toggle(enabled).await;
        wait_until_quiet(&app).await;
        let before = receiver.count();
        let release = crate::products::create_release(&app, product_id, &format!("r{round}")).await;
        let (ms, analysis_ms, findings) =
            analyse(&app, release["id"].as_i64().unwrap(), &body).await;
        assert!(findings > 1_000, "{findings}");
        if enabled {
            with.push(ms);
            analysis_with.push(analysis_ms);
            // Every finding.new delivered before the next measurement.
            receiver.wait_for(before + findings as usize, 600).await;
        } else {
            without.push(ms);
            analysis_without.push(analysis_ms);
        }
    }
    with.sort_by(f64::total_cmp);
    without.sort_by(f64::total_cmp);
    analysis_with.sort();
    analysis_without.sort();
    let median = |v: &[f64]| v[v.len() / 2];
    println!(
        "SBOM upload with its analysis, 2,000 components (every one affected), whole request: median {:.1} ms without an endpoint, {:.1} ms with one receiving every event ({:+.1} %); runs without {without:.1?}, with {with:.1?}; the analysis's own started -> finished (before the write): without {analysis_without:?}, with {analysis_with:?} ms; {} deliveries",
        median(&without),
        median(&with),
        (median(&with) / median(&without) - 1.0) * 100.0,
        receiver.count()
    );
}
