//! SBOM analysis at scale (a benchmark, not a timed test: it prints figures, it asserts only
//! correctness). The knowledge base is the real PyPA and RustSec corpora in ../shared/data;
//! SBOM components are real package names and versions taken from those advisories'
//! explicit version lists. Run in release mode:
//! `cargo test --release -p rampart-server --test api analysis_bench -- --ignored --nocapture --test-threads=1`

use std::path::Path;
use std::time::{Duration, Instant};

use rampart_formats::advisory::{parse_osv_json, parse_osv_yaml, Advisory, RangeEvent};
use rampart_store::ComponentIdentity;
use rampart_test_support::{Backend, TestApp};
use rampart_versions::{Ecosystem, Purl};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub(crate) fn corpus(root: &Path) -> Vec<Advisory> {
    let mut advisories = Vec::new();
    let mut stack = vec![
        root.join("osv-pypa/vulns"),
        root.join("rustsec-advisory-db/osv/crates"),
    ];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let bytes = || std::fs::read(&path).unwrap();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                advisories.extend(parse_osv_yaml(&bytes()).unwrap().records);
            } else if path.extension().is_some_and(|e| e == "json") {
                advisories.extend(parse_osv_json(&bytes()).unwrap().records);
            }
        }
    }
    advisories
}

/// Every (package, listed version) of the corpus as a purl, in a stable order.
pub(crate) fn real_purls(advisories: &[Advisory]) -> Vec<(String, String, String)> {
    let mut purls = std::collections::BTreeSet::new();
    for advisory in advisories {
        for affected in &advisory.affected {
            let Some(package) = &affected.package else {
                continue;
            };
            let Ok(ecosystem) = Ecosystem::parse(&package.ecosystem) else {
                continue;
            };
            for version in &affected.versions {
                if let Ok(Some(purl)) = Purl::from_osv(&ecosystem, &package.name, Some(version)) {
                    purls.insert((purl.to_string(), package.name.clone(), version.clone()));
                }
            }
        }
    }
    purls.into_iter().collect()
}

/// Every (package, version a range of the corpus names as fixed) as a purl that no record
/// affects: real releases of real packages, clean.
fn clean_purls(
    advisories: &[Advisory],
    index: &rampart_core::match_index::MatchIndex,
) -> Vec<(String, String, String)> {
    let mut purls = std::collections::BTreeSet::new();
    for affected in advisories.iter().flat_map(|a| &a.affected) {
        let Some(package) = &affected.package else {
            continue;
        };
        let Ok(ecosystem) = Ecosystem::parse(&package.ecosystem) else {
            continue;
        };
        for event in affected.ranges.iter().flat_map(|r| &r.events) {
            if let RangeEvent::Fixed(version) = event {
                let Ok(Some(purl)) = Purl::from_osv(&ecosystem, &package.name, Some(version))
                else {
                    continue;
                };
                let purl = purl.to_string();
                if index
                    .query_purl(&purl, None)
                    .is_none_or(|found| found.is_empty())
                {
                    purls.insert((purl, package.name.clone(), version.clone()));
                }
            }
        }
    }
    purls.into_iter().collect()
}

/// A portfolio-like mix: one component in a hundred at an affected version, the rest at
/// clean versions.
fn mixed_pool(
    affected: &[(String, String, String)],
    fixed: &[(String, String, String)],
) -> Vec<(String, String, String)> {
    (0..fixed.len().max(1) * 100)
        .map(|i| {
            if i % 100 == 0 {
                affected[(i / 100) % affected.len()].clone()
            } else {
                fixed[i % fixed.len()].clone()
            }
        })
        .collect()
}

fn components(pool: &[(String, String, String)], n: usize) -> Vec<ComponentIdentity> {
    (0..n)
        .map(|i| {
            let (purl, name, version) = &pool[i % pool.len()];
            ComponentIdentity {
                id: i as i64,
                name: name.clone(),
                version: Some(version.clone()),
                purl: Some(purl.clone()),
                cpe: None,
                package: None,
            }
        })
        .collect()
}

pub(crate) fn cyclonedx(pool: &[(String, String, String)], n: usize) -> Vec<u8> {
    let components: Vec<Value> = (0..n)
        .map(|i| {
            let (purl, name, version) = &pool[i % pool.len()];
            json!({"type": "library", "bom-ref": format!("c{i}"), "name": name, "version": version, "purl": purl})
        })
        .collect();
    json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components})
        .to_string()
        .into_bytes()
}

/// A memory field of this process's `/proc/self/status` (`VmHWM:`, `VmRSS:`), in MiB; NaN
/// where it cannot be read.
pub(crate) fn process_memory_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn peak_rss_mib() -> f64 {
    process_memory_mib("VmHWM:")
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly with --release --ignored --nocapture"]
async fn analysis_bench() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.max_sbom_bytes = 512 * 1024 * 1024;
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
    println!(
        "knowledge base: {} records; component pool: {} real (package, version) pairs",
        advisories.len(),
        pool.len()
    );

    // Matching alone, as the worker runs it (purl parse, index lookup, range evaluation).
    let index = rampart_engine::kb_index::build_index(&store).await.unwrap();
    let ten_thousand = components(&pool, 10_000);
    let mut times = Vec::new();
    let mut matches = 0;
    for _ in 0..30 {
        let start = Instant::now();
        let matched = rampart_engine::analysis::match_components(&index, &ten_thousand, false);
        times.push(start.elapsed());
        matches = matched.matches.len();
    }
    times.sort();
    assert!(matches > 1_000, "listed versions are affected: {matches}");
    println!(
        "match 10k components: p50 {:.1} ms, p90 {:.1} ms ({matches} matches)",
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.9).as_secs_f64() * 1e3
    );

    let product = crate::products::create_product(&app, "bench").await;
    let product_id = product["id"].as_i64().unwrap();
    let clean = clean_purls(&advisories, &index);
    println!(
        "clean pool: {} real (package, fixed version) pairs no record affects",
        clean.len()
    );
    let mixed = mixed_pool(&pool, &clean);
    let runs = [
        ("every component affected", &pool, 10_000usize),
        ("every component affected", &pool, 300_000),
        ("1% affected, 99% clean", &mixed, 300_000),
    ];
    for (position, (kind, pool, n)) in runs.into_iter().enumerate() {
        let release =
            crate::products::create_release(&app, product_id, &format!("{position}")).await;
        let release_id = release["id"].as_i64().unwrap();
        let body = cyclonedx(pool, n);
        let size_mb = body.len() as f64 / 1e6;
        let start = Instant::now();
        let response = app
            .post(&format!("/api/v1/releases/{release_id}/sboms?wait=true"))
            .header("content-type", "application/vnd.cyclonedx+json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let uploaded: Value = response.json().await.unwrap();
        let elapsed = start.elapsed();
        assert_eq!(
            uploaded["analysis"]["status"], "completed",
            "{}",
            uploaded["analysis"]
        );
        let analysis_ms = {
            let started = chrono::DateTime::parse_from_rfc3339(
                uploaded["analysis"]["started_at"].as_str().unwrap(),
            )
            .unwrap();
            let finished = chrono::DateTime::parse_from_rfc3339(
                uploaded["analysis"]["finished_at"].as_str().unwrap(),
            )
            .unwrap();
            (finished - started).num_milliseconds()
        };
        println!(
            "upload {n} components ({kind}; {size_mb:.0} MB CycloneDX JSON) with ?wait=true: {:.2} s end to end \
             (analysis job started to matched {analysis_ms} ms, {} findings); process peak RSS so far {:.0} MiB",
            elapsed.as_secs_f64(),
            uploaded["analysis"]["findings_count"],
            peak_rss_mib()
        );
    }
}
