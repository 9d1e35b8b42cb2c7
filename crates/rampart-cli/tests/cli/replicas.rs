//! Three `rampart serve` processes on one PostgreSQL database (issue 21 item 1), as an operator
//! runs replicas: the real binary, started together on an empty database.
//! - exactly one bootstraps;
//! - an SBOM uploaded to one replica is analysed once (one attempt, one `finding.new` event per
//!   finding), and each event is delivered to a webhook endpoint exactly once although every
//!   replica runs a delivery worker;
//! - a key's per-minute limit is exact across replicas: requests spread over the three get
//!   exactly the limit's successes, then 429 with `X-RateLimit-*` on every replica;
//! - after a knowledge-base change (`rampart import` beside the running replicas) every
//!   replica's `/v1/query` answers with the new record within the index refresh bound (a
//!   one-second poll, then the rebuild);
//! - queued website scans, started on every replica, each run exactly once (one fetch of each
//!   target page) although every replica runs a scan worker.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::serve::{api, ServerProcess};
use crate::webhook_kill::{start_receiver, wait_for, Receiver};

const REPLICAS: usize = 3;
/// The plan limit the replicas are configured with (requests per key per minute).
const LIMIT: usize = 600;

fn import(database_url: &str, paths: &[std::path::PathBuf]) {
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args([
            "import",
            "--quiet",
            "--type",
            "osv",
            "--database-url",
            database_url,
        ])
        .args(paths)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn query(server: &ServerProcess, key: &str, name: &str, version: &str) -> Value {
    api(
        reqwest::Method::POST,
        server.url("/v1/query"),
        key,
        Some(json!({"package": {"name": name, "ecosystem": "PyPI"}, "version": version})),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_share_one_postgres_exactly() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let Some(database) = rampart_test_support::fresh_postgres_database(false).await else {
        return;
    };
    let url = database.url().to_string();
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("rampart.toml");
    std::fs::write(
        &config,
        format!("[plans.enterprise]\nrate_limit_per_minute = {LIMIT}\n"),
    )
    .unwrap();
    let vulns = root.join("osv-pypa/vulns");
    import(&url, &[vulns.join("requests"), vulns.join("jinja2")]);
    let secret_key = "3c".repeat(32);
    let args = [
        "--database-url",
        url.as_str(),
        "--secret-key",
        secret_key.as_str(),
        "--config",
        config.to_str().unwrap(),
        "--webhook-allowed-networks",
        "127.0.0.0/8",
        "--scan-allowed-targets",
        "127.0.0.0/8",
    ];
    let replicas: Vec<ServerProcess> = std::thread::scope(|scope| {
        let started: Vec<_> = (0..REPLICAS)
            .map(|_| scope.spawn(|| ServerProcess::start(&args, &[])))
            .collect();
        started.into_iter().map(|s| s.join().unwrap()).collect()
    });
    let keys: Vec<String> = replicas.iter().filter_map(|r| r.printed_key()).collect();
    assert_eq!(keys.len(), 1, "exactly one replica bootstraps");
    let admin = keys[0].clone();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();

    // A webhook endpoint (made on one replica) for every finding.new.
    let receiver = Arc::new(Receiver::default());
    receiver.open.send_replace(true);
    let hook_url = start_receiver(receiver.clone()).await;
    api(
        reqwest::Method::POST,
        replicas[2].url("/api/v1/webhooks"),
        &admin,
        Some(json!({"url": hook_url, "event_types": ["finding.new"]})),
    )
    .await;

    // An SBOM uploaded to one replica is analysed once, its events delivered once each.
    let product = api(
        reqwest::Method::POST,
        replicas[0].url("/api/v1/products"),
        &admin,
        Some(json!({"name": "shop"})),
    )
    .await;
    let release = api(
        reqwest::Method::POST,
        replicas[1].url(&format!("/api/v1/products/{}/releases", product["id"])),
        &admin,
        Some(json!({"version": "1.0"})),
    )
    .await;
    let sbom = json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": [
        {"type": "library", "name": "requests", "version": "2.2.0", "purl": "pkg:pypi/requests@2.2.0"},
        {"type": "library", "name": "jinja2", "version": "2.10", "purl": "pkg:pypi/jinja2@2.10"}]});
    let uploaded = reqwest::Client::new()
        .post(replicas[1].url(&format!(
            "/api/v1/releases/{}/sboms?wait=true",
            release["id"]
        )))
        .bearer_auth(&admin)
        .header("content-type", "application/vnd.cyclonedx+json")
        .body(sbom.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 201);
    let uploaded: Value = uploaded.json().await.unwrap();
    assert_eq!(uploaded["analysis"]["status"], "completed", "{uploaded}");
    let findings = uploaded["analysis"]["findings_count"].as_i64().unwrap();
    assert!(findings >= 5, "{uploaded}");
    let (attempts, events): (i64, i64) = sqlx::query_as(
        "SELECT a.attempts, (SELECT COUNT(*) FROM events WHERE type = 'finding.new')
         FROM analyses a WHERE a.id = $1",
    )
    .bind(uploaded["analysis"]["id"].as_i64().unwrap())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (attempts, events),
        (1, findings),
        "one analysis run, one event per finding"
    );
    wait_for(60, "every finding.new delivered", || async {
        let delivered = receiver.acknowledged.lock().unwrap().len();
        (delivered as i64 >= findings).then_some(())
    })
    .await;
    // Time for a duplicate to show up, then: each event once.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let deliveries = receiver.acknowledged.lock().unwrap().clone();
    assert_eq!(deliveries.len() as i64, findings);
    assert!(
        deliveries.values().all(|&times| times == 1),
        "{deliveries:?}"
    );

    // Queued scans run once each: three waves of one scan per replica (the per-team cap is
    // three queued or running), every target page fetched exactly once.
    let (site, fetches) = counting_site().await;
    for wave in 0..3 {
        let mut ids = Vec::new();
        for (index, replica) in replicas.iter().enumerate() {
            let target = format!("http://127.0.0.1:{site}/shop-{wave}-{index}/");
            let queued = api(
                reqwest::Method::POST,
                replica.url("/api/v1/scans"),
                &admin,
                Some(json!({"target": target})),
            )
            .await;
            ids.push(queued["id"].as_str().unwrap().to_string());
        }
        for id in &ids {
            let path = format!("/api/v1/scans/{id}");
            let status = wait_for(60, "the scan to finish", || async {
                let scan = api(reqwest::Method::GET, replicas[0].url(&path), &admin, None).await;
                let status = scan["status"].as_str().unwrap_or("").to_string();
                (status != "queued" && status != "running").then_some(status)
            })
            .await;
            assert_eq!(status, "completed", "scan {id}");
        }
    }
    let fetches = fetches.lock().unwrap().clone();
    for wave in 0..3 {
        for index in 0..REPLICAS {
            let page = format!("/shop-{wave}-{index}/");
            assert_eq!(fetches.get(&page), Some(&1), "{page}: {fetches:?}");
        }
    }

    // A knowledge-base change reaches every replica's /v1/query.
    for replica in &replicas {
        let before = query(replica, &admin, "django", "1.11.0").await;
        assert!(
            before.get("vulns").is_none(),
            "django is not known yet: {before}"
        );
    }
    let changed = Instant::now();
    import(&url, &[vulns.join("django")]);
    let mut delays = Vec::new();
    for replica in &replicas {
        let answer = wait_for(60, "the new records on every replica", || async {
            let answer = query(replica, &admin, "django", "1.11.0").await;
            answer.get("vulns").is_some().then_some(answer)
        })
        .await;
        delays.push(changed.elapsed());
        assert!(answer["vulns"].as_array().unwrap().len() > 3, "{answer}");
    }
    println!("knowledge-base change visible on all {REPLICAS} replicas after {delays:?} (import included)");

    // The per-key limit is exact across replicas: a fresh key, requests spread over the three
    // inside one minute window.
    let session = replicas[0].sign_in("admin@localhost").await;
    let created = api(
        reqwest::Method::POST,
        replicas[0].url("/api/v1/api-keys"),
        &session,
        Some(json!({"name": "limited", "scopes": ["kb:read"]})),
    )
    .await;
    let key = created["api_key"].as_str().unwrap().to_string();
    // Start early in a minute so the burst stays in one window.
    while chrono::Utc::now().timestamp() % 60 > 30 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let client = reqwest::Client::new();
    let requests = (0..LIMIT + 60).map(|i| {
        let url = replicas[i % REPLICAS].url("/api/v1/kb/status");
        let request = client.get(url).bearer_auth(&key).send();
        async move {
            let response = request.await.unwrap();
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .map(|v| v.to_str().unwrap().to_string())
            };
            (
                i % REPLICAS,
                response.status().as_u16(),
                header("x-ratelimit-limit"),
                header("x-ratelimit-remaining"),
                header("x-ratelimit-reset"),
            )
        }
    });
    let answers = futures_join_all(requests).await;
    let successes = answers.iter().filter(|a| a.1 == 200).count();
    let limited: Vec<_> = answers.iter().filter(|a| a.1 == 429).collect();
    assert_eq!(
        successes, LIMIT,
        "exactly the limit succeeds across replicas"
    );
    assert_eq!(limited.len(), 60, "{answers:?}");
    for (_, _, limit, remaining, reset) in &limited {
        assert_eq!(limit.as_deref(), Some(LIMIT.to_string().as_str()));
        assert_eq!(remaining.as_deref(), Some("0"));
        assert!(reset.is_some());
    }
    // Every replica now refuses the key, with the same headers.
    for replica in &replicas {
        let response = client
            .get(replica.url("/api/v1/kb/status"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 429);
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        };
        assert_eq!(header("x-ratelimit-limit"), Some(LIMIT.to_string()));
        assert_eq!(header("x-ratelimit-remaining").as_deref(), Some("0"));
        assert!(header("retry-after").is_some(), "{:?}", response.headers());
    }

    pool.close().await;
    for replica in replicas {
        let (exit, _) = replica.stop("TERM");
        assert!(exit.success());
    }
}

/// Runs the futures concurrently and collects their outputs in order.
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::with_capacity(handles.len());
    for handle in handles {
        outputs.push(handle.await.unwrap());
    }
    outputs
}

/// A web server on loopback that counts the requests for each path and answers a small page.
async fn counting_site() -> (u16, Arc<Mutex<BTreeMap<String, usize>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let counts = Arc::new(Mutex::new(BTreeMap::new()));
    let counted = Arc::clone(&counts);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counted = Arc::clone(&counted);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buffer = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buffer[..n]),
                    }
                }
                let request = String::from_utf8_lossy(&head);
                let path = request.split_whitespace().nth(1).unwrap_or("").to_string();
                *counted.lock().unwrap().entry(path).or_insert(0) += 1;
                let body = "<!DOCTYPE html><html><head><title>shop</title></head></html>";
                let response = format!(
                    "HTTP/1.1 200 OK\r\nServer: nginx/1.18.0\r\nContent-Type: text/html\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    (port, counts)
}
