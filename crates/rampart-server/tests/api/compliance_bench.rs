//! Compliance posture at issue 19's scale (a benchmark, not a timed test: it prints figures
//! and asserts only correctness): a team with 1,000 releases (10 products of 100), 100,000
//! open findings (each release's SBOM has 100 components, each affected by one of 100
//! synthetic records: 10 critical, 20 high, 5 in CISA KEV) and 50 API keys, 40 days on so
//! the critical and high findings are past their deadlines. Times `GET
//! /api/v1/compliance/posture` (first call, which stores a snapshot, then repeats) and the
//! PDF report (and the other formats), on SQLite and PostgreSQL:
//! `cargo nextest run --workspace -E 'test(compliance_bench)' --run-ignored only --no-capture --test-threads 1`

use std::time::{Duration, Instant};

use rampart_formats::advisory::{parse_kev_json, parse_osv_json};
use rampart_test_support::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::findings::{osv, CRITICAL, MEDIUM};
use crate::products::json_of;

const PRODUCTS: usize = 10;
const RELEASES_PER_PRODUCT: usize = 100;
const COMPONENTS: usize = 100;
const KEYS: usize = 50;
const HIGH: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N";

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

async fn seed(app: &TestApp) {
    let store = crate::products::store_of(app).await;
    let records: Vec<Value> = (0..COMPONENTS)
        .map(|i| {
            let vector = match i % 10 {
                0 => CRITICAL,
                1 | 2 => HIGH,
                _ => MEDIUM,
            };
            osv(
                &format!("GHSA-cbench-{i:03}"),
                &[&format!("CVE-2097-{i:05}")],
                "2024-01-02T00:00:00Z",
                json!({"package": {"ecosystem": "npm", "name": format!("cbench-pkg-{i:03}")},
                    "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "2.0.0"}]}]}),
                vector,
            )
        })
        .collect();
    let parsed = parse_osv_json(Value::Array(records).to_string().as_bytes()).unwrap();
    store
        .ingest_advisories("osv", &parsed.records)
        .await
        .unwrap();
    let kev: Vec<Value> = (0..COMPONENTS)
        .step_by(20)
        .map(|i| {
            json!({"cveID": format!("CVE-2097-{i:05}"), "vendorProject": "bench", "product": "bench",
            "vulnerabilityName": "bench", "dateAdded": "2024-01-05", "shortDescription": "x",
            "requiredAction": "update", "dueDate": "2024-01-26", "knownRansomwareCampaignUse": "Unknown", "notes": ""})
        })
        .collect();
    let kev = json!({"title": "t", "catalogVersion": "1", "dateReleased": "2024-01-01T00:00:00.000Z",
        "count": kev.len(), "vulnerabilities": kev});
    let kev = parse_kev_json(kev.to_string().as_bytes()).unwrap();
    store.ingest_kev(&kev.entries.records).await.unwrap();
    app.wait_for_index().await;

    let components: Vec<Value> = (0..COMPONENTS)
        .map(|i| json!({"type": "library", "bom-ref": format!("c{i}"), "name": format!("cbench-pkg-{i:03}"),
            "version": "1.0.0", "supplier": {"name": "Bench Ltd"},
            "purl": format!("pkg:npm/cbench-pkg-{i:03}@1.0.0")}))
        .collect();
    let sbom = json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
        "metadata": {"timestamp": "2024-01-01T00:00:00Z", "authors": [{"name": "Bench"}]},
        "components": components})
    .to_string();

    let started = Instant::now();
    let mut releases = Vec::new();
    for p in 0..PRODUCTS {
        let product = crate::products::create_product(app, &format!("bench product {p}")).await;
        let product_id = product["id"].as_i64().unwrap();
        for r in 0..RELEASES_PER_PRODUCT {
            let release =
                crate::products::create_release(app, product_id, &format!("1.{r}.0")).await;
            releases.push(release["id"].as_i64().unwrap());
        }
    }
    eprintln!(
        "compliance_bench: {} releases created in {:.1} s",
        releases.len(),
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    for (n, batch) in releases.chunks(8).enumerate() {
        let mut uploads = tokio::task::JoinSet::new();
        for release_id in batch {
            let request = app
                .post(&format!("/api/v1/releases/{release_id}/sboms?wait=true"))
                .header("content-type", "application/vnd.cyclonedx+json")
                .body(sbom.clone());
            uploads.spawn(async move { request.send().await.unwrap() });
        }
        while let Some(response) = uploads.join_next().await {
            let body = json_of(response.unwrap(), StatusCode::CREATED).await;
            assert_eq!(
                body["analysis"]["findings_count"], COMPONENTS,
                "{}",
                body["analysis"]
            );
        }
        if n % 25 == 24 {
            eprintln!(
                "compliance_bench: {} SBOMs analysed in {:.1} s",
                (n + 1) * 8,
                started.elapsed().as_secs_f64()
            );
        }
    }
    eprintln!(
        "compliance_bench: {} SBOMs ({} findings) analysed in {:.1} s",
        releases.len(),
        releases.len() * COMPONENTS,
        started.elapsed().as_secs_f64()
    );
    let session = app.login("admin@localhost").await["token"]
        .as_str()
        .unwrap()
        .to_string();
    for k in 1..KEYS {
        let body = if k % 2 == 0 {
            json!({"name": format!("bench key {k}"), "expires_in_days": 90})
        } else {
            json!({"name": format!("bench key {k}")})
        };
        json_of(
            app.with_token(reqwest::Method::POST, "/api/v1/api-keys", &session)
                .json(&body)
                .send()
                .await
                .unwrap(),
            StatusCode::CREATED,
        )
        .await;
    }
}

async fn bench(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |config| {
        config.analysis_wait = Duration::from_secs(600);
        for plan in [
            &mut config.plans.free,
            &mut config.plans.pro,
            &mut config.plans.enterprise,
        ] {
            plan.rate_limit_per_minute = 1_000_000;
            plan.api_keys_per_user = 1_000;
        }
    })
    .await
    else {
        return;
    };
    let name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    seed(&app).await;
    // 40 days on: every critical (15 days) and high (30 days) finding is past its deadline.
    app.config.clock.advance(chrono::Duration::days(40));

    let mut times = Vec::new();
    let mut posture = Value::Null;
    for _ in 0..6 {
        let started = Instant::now();
        let response = app.get("/api/v1/compliance/posture").send().await.unwrap();
        posture = json_of(response, StatusCode::OK).await;
        times.push(started.elapsed());
    }
    let check = |id: &str| {
        posture["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == id)
            .unwrap()
            .clone()
    };
    let sla = check("findings_sla");
    assert_eq!(sla["status"], "gap", "{sla}");
    assert_eq!(
        sla["evidence"]["overdue_critical"],
        PRODUCTS * RELEASES_PER_PRODUCT * COMPONENTS / 10
    );
    assert_eq!(
        check("kev_findings")["items_total"],
        PRODUCTS * RELEASES_PER_PRODUCT * COMPONENTS / 20
    );
    assert_eq!(
        check("triage_coverage")["evidence"]["open_findings"],
        PRODUCTS * RELEASES_PER_PRODUCT * COMPONENTS
    );
    let keys = check("api_key_hygiene")["evidence"]["active_keys"]
        .as_u64()
        .unwrap();
    assert!(keys >= KEYS as u64, "{keys} keys");
    eprintln!(
        "compliance_bench {name}: posture of 1,000 releases, 100,000 findings, 50 keys: first \
         {} (stores the snapshot), then median {} of {} (min {})",
        ms(times[0]),
        ms(median(times[1..].to_vec())),
        times.len() - 1,
        ms(*times[1..].iter().min().unwrap())
    );

    for format in ["pdf", "html", "json", "oscal"] {
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..3 {
            let started = Instant::now();
            let response = app
                .get(&format!(
                    "/api/v1/compliance/reports?framework=iso27001&format={format}"
                ))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            size = response.bytes().await.unwrap().len();
            times.push(started.elapsed());
        }
        eprintln!(
            "compliance_bench {name}: {format} report (ISO 27001, {size} bytes): median {} of 3 (min {})",
            ms(median(times.clone())),
            ms(*times.iter().min().unwrap())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --run-ignored only"]
async fn compliance_bench_sqlite() {
    bench(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --run-ignored only"]
async fn compliance_bench_postgres() {
    bench(Backend::Postgres).await;
}
