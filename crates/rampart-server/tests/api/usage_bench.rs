//! Usage analytics at scale (a benchmark: it prints figures and checks only correctness):
//! 10,000,000 logged requests over 30 days, written through the request log's own batch
//! writer (log rows and rollups), then `GET /api/v1/usage` timed over HTTP: totals and each
//! `group_by`, over the whole 30 days, on SQLite (and PostgreSQL when configured).
//!
//! Traffic is shaped like an API's: a few keys and endpoints carry most requests (Zipf-like),
//! 90 % answer 200. `USAGE_BENCH_ROWS` changes the number of requests.
//!
//! `cargo test --release -p rampart-server --test api usage_bench -- --ignored --nocapture --test-threads=1`

use std::time::{Duration, Instant};

use rampart_store::{RequestLogEntry, Store};
use rampart_test_support::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::Value;

const ENDPOINTS: [&str; 12] = [
    "/v1/query",
    "/v1/querybatch",
    "/api/v1/products",
    "/api/v1/products/{id}",
    "/api/v1/releases/{id}",
    "/api/v1/releases/{id}/vulnerabilities",
    "/api/v1/releases/{id}/sboms",
    "/api/v1/vulnerabilities",
    "/api/v1/vulnerabilities/{id}",
    "/api/product-cves",
    "/api/v1/me",
    "/api/v1/findings",
];

/// xorshift64*: a fixed, seedable sequence (the same traffic on every run).
struct Sequence(u64);

impl Sequence {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// 0..n, index `i` about twice as likely as `i + 1`'s share in a halving scheme.
    fn skewed(&mut self, n: usize) -> usize {
        let r = self.next();
        (r.trailing_zeros() as usize).min(n - 1)
    }
}

async fn bench(backend: Backend, rows: usize) {
    let Some(app) = TestApp::spawn_with(backend, |config| {
        config.request_log.flush_interval = Duration::from_secs(3600);
    })
    .await
    else {
        return;
    };
    let store = Store::connect(&app.config.database).await.unwrap();
    let now = app.config.clock.now();
    // Inside the 30-day window the queries ask for (`since=30d`, measured when asked).
    let start = now - chrono::Duration::days(30) + chrono::Duration::minutes(10);
    let span_us = (now - start).num_microseconds().unwrap();
    let mut sequence = Sequence(0x9e37_79b9_7f4a_7c15);
    let batch = 20_000;
    let written = Instant::now();
    let mut done = 0;
    while done < rows {
        let n = batch.min(rows - done);
        let entries: Vec<RequestLogEntry> = (done..done + n)
            .map(|i| {
                let at = start + chrono::Duration::microseconds(span_us / rows as i64 * i as i64);
                let key = 1_000 + sequence.skewed(20) as i64;
                let roll = sequence.next() % 100;
                let status = match roll {
                    0..=89 => 200,
                    90..=94 => 404,
                    95..=97 => 422,
                    _ => 500,
                };
                RequestLogEntry {
                    at,
                    team_id: Some(1),
                    key_id: Some(key),
                    user_id: Some(1),
                    method: if roll.is_multiple_of(7) {
                        "POST"
                    } else {
                        "GET"
                    }
                    .into(),
                    endpoint: ENDPOINTS[sequence.skewed(ENDPOINTS.len())].into(),
                    status,
                    latency_us: 200 + (sequence.next() % 50_000) as i64,
                    request_bytes: 0,
                    response_bytes: 1_000 + (sequence.next() % 5_000) as i64,
                    client_ip: Some("10.1.2.3".to_string()),
                    user_agent: Some("bench/1.0".to_string()),
                    request_id: None,
                }
            })
            .collect();
        store.write_request_log(&entries).await.unwrap();
        done += n;
    }
    let write_seconds = written.elapsed().as_secs_f64();
    println!(
        "{backend:?}: wrote {rows} requests (log + rollups) in {write_seconds:.1} s ({:.0} rows/s)",
        rows as f64 / write_seconds
    );
    // Every grouping unfiltered, then filtered ones (a key's traffic by endpoint and by hour,
    // the errors by endpoint), which cannot use the dimension-free hourly totals.
    let queries = [
        "",
        "&group_by=endpoint",
        "&group_by=status",
        "&group_by=key",
        "&group_by=day",
        "&group_by=hour",
        "&key_id=1001&group_by=endpoint",
        "&key_id=1001&group_by=hour",
        "&status=error&group_by=endpoint",
    ];
    for query in queries {
        let path = format!("/api/v1/usage?since=30d{query}");
        let filtered = query.contains("key_id") || query.contains("status=");
        let mut times = Vec::new();
        let mut total = 0;
        for _ in 0..5 {
            let started = Instant::now();
            let response = app.get(&path).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let body: Value = response.json().await.unwrap();
            times.push(started.elapsed());
            total = body["totals"]["requests"].as_i64().unwrap();
        }
        times.sort();
        if !filtered {
            assert_eq!(total, rows as i64, "{path}");
        }
        println!(
            "{backend:?}: GET {path}: median {:.0} ms, max {:.0} ms over {} requests",
            times[times.len() / 2].as_secs_f64() * 1000.0,
            times[times.len() - 1].as_secs_f64() * 1000.0,
            total
        );
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly with --release --ignored --nocapture"]
async fn usage_bench() {
    let rows = std::env::var("USAGE_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    bench(Backend::Sqlite, rows).await;
    bench(Backend::Postgres, rows).await;
}
