//! The knowledge base exported in OSV's layout (issue 20 item 5), over real HTTP on both
//! backends, loaded with the real RustSec and PyPA corpora: the archive holds every OSV record
//! as it was ingested (read back, each is the same advisory), valid against the OSV schema,
//! filtered by ecosystem at the query and at osv.dev's bucket path, audited, refused without
//! `kb:export`; and a second server whose `OSV` sync source points at the first's export URL
//! mirrors it: `/v1/querybatch` answers both the same. The JSON downloads of query results
//! (vulnerability search, `/api/product-cves`, a release's findings) are the listing, whole.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use rampart_formats::advisory::{parse_nvd_page, parse_osv_json, parse_osv_yaml, Advisory};
use rampart_store::Store;
use rampart_test_support::{backend_tests, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const SYNC_SOURCES: &str = "/api/v1/security/cve/sync-sources";

fn files(root: &Path, extension: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == extension) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Every RustSec record (OSV JSON) and the first `pypa` PyPA records (OSV YAML).
fn corpus(root: &Path, pypa: usize) -> Vec<Advisory> {
    corpus_with_sources(root, pypa)
        .into_iter()
        .map(|(advisory, _)| advisory)
        .collect()
}

/// [`corpus`], each record with its source document as JSON (the feed's own text).
fn corpus_with_sources(root: &Path, pypa: usize) -> Vec<(Advisory, Value)> {
    let mut advisories = Vec::new();
    for path in files(&root.join("rustsec-advisory-db/osv"), "json") {
        let bytes = std::fs::read(&path).unwrap();
        let source: Value = serde_json::from_slice(&bytes).unwrap();
        for advisory in parse_osv_json(&bytes).unwrap().records {
            advisories.push((advisory, source.clone()));
        }
    }
    for path in files(&root.join("osv-pypa/vulns"), "yaml")
        .into_iter()
        .take(pypa)
    {
        let bytes = std::fs::read(&path).unwrap();
        let source: Value = yaml_serde::from_slice(&bytes).unwrap();
        for advisory in parse_osv_yaml(&bytes).unwrap().records {
            advisories.push((advisory, source.clone()));
        }
    }
    advisories
}

/// The OSV records, plus an NVD page (which the export leaves out), straight into the store.
async fn load(app: &TestApp, advisories: &[Advisory], root: &Path) {
    let store = Store::connect(&app.config.database).await.unwrap();
    for chunk in advisories.chunks(1000) {
        store.ingest_advisories("osv", chunk).await.unwrap();
    }
    let nvd = parse_nvd_page(
        &std::fs::read(root.join("nvd-cve-api-2.0/pablotron-nvd-go/responses/cves-2023.json"))
            .unwrap(),
    )
    .unwrap()
    .advisories
    .records;
    store.ingest_advisories("nvd", &nvd[..20]).await.unwrap();
    store.close().await;
    app.wait_for_index().await;
}

/// A download: its status, headers and bytes.
async fn download(
    app: &TestApp,
    path: &str,
    token: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let response = app
        .with_token(Method::GET, path, token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

/// A zip's entries: name → bytes.
fn entries(archive: Vec<u8>) -> BTreeMap<String, Vec<u8>> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).expect("a zip archive");
    let mut entries = BTreeMap::new();
    for i in 0..zip.len() {
        let mut file = zip.by_index(i).unwrap();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        assert!(
            entries.insert(file.name().to_string(), bytes).is_none(),
            "duplicate entry {}",
            file.name()
        );
    }
    entries
}

fn ids_of(advisories: &[&Advisory]) -> BTreeSet<String> {
    advisories
        .iter()
        .map(|a| format!("{}.json", a.id))
        .collect()
}

fn affects(advisory: &Advisory, ecosystem: &str) -> bool {
    advisory.affected.iter().any(|a| {
        a.package.as_ref().is_some_and(|p| {
            let e = p.ecosystem.to_lowercase();
            e == ecosystem || e.split(':').next() == Some(ecosystem)
        })
    })
}

/// One OSV query per affected package of each record (at a listed version, or the first
/// introduced one), and one without a version: what both servers are asked.
fn sample_queries(advisories: &[Advisory], limit: usize) -> Vec<Value> {
    let mut queries = Vec::new();
    for advisory in advisories {
        for affected in &advisory.affected {
            let Some(package) = &affected.package else {
                continue;
            };
            let version = affected.versions.first().cloned().or_else(|| {
                affected
                    .ranges
                    .iter()
                    .flat_map(|r| r.events.iter())
                    .find_map(|e| match e {
                        rampart_formats::advisory::RangeEvent::Introduced(v) if v != "0" => {
                            Some(v.clone())
                        }
                        _ => None,
                    })
            });
            let package = json!({"ecosystem": package.ecosystem, "name": package.name});
            if let Some(version) = version {
                queries.push(json!({"package": package, "version": version}));
            }
            queries.push(json!({"package": package}));
        }
        if queries.len() >= limit {
            break;
        }
    }
    queries.truncate(limit);
    queries
}

/// `/v1/querybatch` of `queries`: each result's ids, sorted.
async fn batch_ids(app: &TestApp, queries: &[Value]) -> Vec<Vec<String>> {
    let response = app
        .post("/v1/querybatch")
        .json(&json!({"queries": queries}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| {
            assert!(result.get("next_page_token").is_none(), "{result}");
            let mut ids: Vec<String> = result["vulns"]
                .as_array()
                .map(|v| {
                    v.iter()
                        .map(|v| v["id"].as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default();
            ids.sort();
            ids
        })
        .collect()
}

/// A session key of the admin with exactly `scopes`.
async fn key_with(app: &TestApp, scopes: &[&str]) -> String {
    let login = app.login("admin@localhost").await;
    let token = login["token"].as_str().unwrap();
    let created: Value = app
        .with_token(Method::POST, "/api/v1/api-keys", token)
        .json(&json!({"name": format!("export {}", scopes.join(" ")), "scopes": scopes}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    created["api_key"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_string()
}

/// The mirror reaches the primary on loopback.
fn mirror_settings(config: &mut rampart_server::ServerConfig) {
    config.sync.outbound.allow_private_targets = true;
    config.sync.poll_interval = Duration::from_millis(50);
}

async fn run_source(app: &TestApp, source_id: &str) -> Value {
    let response = app
        .post(&format!("{SYNC_SOURCES}/{source_id}/run"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let run_id = response.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    for _ in 0..2400 {
        let runs: Value = app
            .get(&format!("{SYNC_SOURCES}/{source_id}/runs"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(run) = runs["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == run_id)
        {
            if run["status"] == "succeeded" || run["status"] == "failed" {
                return run.clone();
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("run {run_id} of {source_id} did not finish");
}

backend_tests! {
    async fn the_export_is_every_osv_record_as_ingested_and_valid_against_the_osv_schema(app) {
        let Some(root) = rampart_test_data::root() else { return };
        let sourced = corpus_with_sources(&root, 400);
        let advisories: Vec<Advisory> = sourced.iter().map(|(a, _)| a.clone()).collect();
        load(&app, &advisories, &root).await;
        let all: Vec<&Advisory> = advisories.iter().collect();

        let (status, headers, body) = download(&app, "/api/v1/kb/export", &app.admin_key).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        assert_eq!(headers["content-type"], "application/zip");
        assert_eq!(headers["content-disposition"], "attachment; filename=\"all.zip\"");
        let exported = entries(body);
        // Every OSV record, and nothing of NVD's.
        assert_eq!(exported.keys().cloned().collect::<BTreeSet<_>>(), ids_of(&all));
        let schema = rampart_test_data::format_checks::osv_schema(&root);
        let mut invalid_upstream = Vec::new();
        for (advisory, source) in &sourced {
            let name = format!("{}.json", advisory.id);
            let bytes = &exported[&name];
            // Valid wherever the feed's record is; a record the feed itself wrote against the
            // schema (PYSEC-2021-371's GIT `fixed` is a `.patch` file name) keeps exactly its
            // own complaints: the export adds none and hides none.
            let errors = schema.errors(bytes);
            let upstream = schema.errors(source.to_string().as_bytes());
            assert_eq!(errors, upstream, "{name}: {}", String::from_utf8_lossy(bytes));
            if !errors.is_empty() {
                invalid_upstream.push(name.clone());
            }
            let again = parse_osv_json(bytes).unwrap().records;
            assert_eq!(again, std::slice::from_ref(advisory), "{name} reads back as another record");
        }
        assert!(invalid_upstream.len() < 5, "{invalid_upstream:?}");

        // One ecosystem, by the query and at osv.dev's bucket path: the same records.
        let crates: Vec<&Advisory> = advisories.iter().filter(|a| affects(a, "crates.io")).collect();
        let pypi: Vec<&Advisory> = advisories.iter().filter(|a| affects(a, "pypi")).collect();
        assert!(crates.len() > 500 && pypi.len() > 100, "{} {}", crates.len(), pypi.len());
        for (path, expected, file) in [
            ("/api/v1/kb/export?ecosystem=crates.io", &crates, "crates.io-all.zip"),
            ("/api/v1/kb/export/crates.io/all.zip", &crates, "crates.io-all.zip"),
            ("/api/v1/kb/export/PyPI/all.zip", &pypi, "PyPI-all.zip"),
            ("/api/v1/kb/export?ecosystem=pypi", &pypi, "pypi-all.zip"),
        ] {
            let (status, headers, body) = download(&app, path, &app.admin_key).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(headers["content-disposition"], format!("attachment; filename=\"{file}\""), "{path}");
            let names: BTreeSet<String> = entries(body).into_keys().collect();
            assert_eq!(names, ids_of(expected), "{path}");
        }
        let (status, _, body) = download(&app, "/api/v1/kb/export?ecosystem=Hackage", &app.admin_key).await;
        assert_eq!(status, StatusCode::OK);
        assert!(entries(body).is_empty());

        // Every download is in the audit log, with its ecosystem.
        let audit: Value = app.get("/api/v1/audit-log?action=kb.export").send().await.unwrap().json().await.unwrap();
        assert_eq!(audit["total"], 6, "{audit}");
        let entry = &audit["data"][0];
        assert_eq!(entry["target_type"], "knowledge_base", "{entry}");
        assert_eq!(entry["details"]["ecosystem"], "Hackage", "{entry}");
        assert_eq!(entry["details"]["format"], "osv", "{entry}");

        // Refusals: a bad ecosystem, an unknown parameter, a key without `kb:export`.
        for (path, field) in [
            ("/api/v1/kb/export?ecosystem=a%2Fb", "ecosystem"),
            ("/api/v1/kb/export?format=tar", "format"),
        ] {
            let response = app.get(path).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
            let error: Value = response.json().await.unwrap();
            assert!(error["error"]["message"].as_str().unwrap().contains(field), "{path}: {error}");
        }
        let reader = key_with(&app, &["kb:read"]).await;
        let (status, _, body) = download(&app, "/api/v1/kb/export", &reader).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let error: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(error["error"]["code"], "insufficient_scope");
        assert!(error["error"]["message"].as_str().unwrap().contains("kb:export"), "{error}");
        let audit: Value = app.get("/api/v1/audit-log?action=kb.export").send().await.unwrap().json().await.unwrap();
        assert_eq!(audit["total"], 6, "a refused export is not a download: {audit}");
    }

    #[configure(mirror_settings)]
    async fn an_osv_sync_source_pointed_at_another_servers_export_mirrors_it(app) {
        let Some(root) = rampart_test_data::root() else { return };
        // `app` is the (air-gapped) mirror; the primary is a second server on this backend.
        let primary = TestApp::spawn_with(app.backend, |_| {}).await.unwrap();
        let advisories = corpus(&root, 300);
        load(&primary, &advisories, &root).await;
        let exporter = key_with(&primary, &["kb:export"]).await;

        let configure = |key: &str| json!({"config": {"id": "primary", "type": "OSV",
            "url": format!("{}/api/v1/kb/export", primary.url), "ecosystems": ["crates.io", "PyPI"]},
            "apiKey": key});
        // A wrong key: the primary refuses, the run fails saying so, nothing is stored.
        let response = app.post(SYNC_SOURCES).json(&configure("rk_live_0000")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
        let run = run_source(&app, "primary").await;
        assert_eq!(run["status"], "failed", "{run}");
        assert!(run.to_string().contains("401"), "{run}");

        let response = app.post(SYNC_SOURCES).json(&configure(&exporter)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
        let run = run_source(&app, "primary").await;
        assert_eq!(run["status"], "succeeded", "{run}");
        app.wait_for_index().await;

        // The mirror holds every record, the same OSV, and answers every query the same.
        let queries = sample_queries(&advisories, 1000);
        assert_eq!(batch_ids(&app, &queries).await, batch_ids(&primary, &queries).await);
        let answered = batch_ids(&app, &queries).await.iter().filter(|ids| !ids.is_empty()).count();
        assert!(answered > 300, "only {answered} of {} queries matched", queries.len());
        for advisory in advisories.iter().step_by(37) {
            let path = format!("/v1/vulns/{}", advisory.id);
            let mirrored: Value = app.get(&path).send().await.unwrap().json().await.unwrap();
            let original: Value = primary.get(&path).send().await.unwrap().json().await.unwrap();
            assert_eq!(mirrored, original, "{path}");
        }
        // The primary's audit log names the mirror's downloads (one per ecosystem).
        let audit: Value = primary.get("/api/v1/audit-log?action=kb.export").send().await.unwrap().json().await.unwrap();
        assert_eq!(audit["total"], 2, "{audit}");
    }

    async fn query_results_download_whole_as_json_files(app) {
        let Some(root) = rampart_test_data::root() else { return };
        let advisories = corpus(&root, 0);
        load(&app, &advisories, &root).await;

        // The vulnerability search: every match of the filters, in the listing's order.
        let listed: Value = app.get("/api/v1/vulnerabilities?ecosystem=crates.io&per_page=500&sort=oldest")
            .send().await.unwrap().json().await.unwrap();
        let total = listed["total"].as_u64().unwrap();
        assert!(total > 500, "{total}");
        let response = app.get("/api/v1/vulnerabilities/export?ecosystem=crates.io&sort=oldest").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.headers()["content-disposition"], "attachment; filename=\"vulnerabilities.json\"");
        let exported: Vec<Value> = response.json().await.unwrap();
        assert_eq!(exported.len() as u64, total);
        assert_eq!(&exported[..500], listed["data"].as_array().unwrap().as_slice());
        let response = app.get("/api/v1/vulnerabilities/export?sort=sideways").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response.text().await.unwrap().contains("sort"));
        let response = app.get("/api/v1/vulnerabilities/export?page=2").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "an export has no pages");

        // Seed 003's product CVEs: the catalogue product of an NVD record.
        let catalog: Value = app.get("/api/v1/catalog/products?per_page=1").send().await.unwrap().json().await.unwrap();
        let product = catalog["data"][0]["id"].as_i64().unwrap_or_else(|| panic!("{catalog}"));
        let listed: Value = app.get(&format!("/api/product-cves?product_id={product}&per_page=500"))
            .send().await.unwrap().json().await.unwrap();
        let response = app.get(&format!("/api/product-cves/export?product_id={product}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-disposition"], format!("attachment; filename=\"product-{product}-cves.json\""));
        let exported: Value = response.json().await.unwrap();
        assert_eq!(exported, listed["cves"]);
        for (path, status) in [
            ("/api/product-cves/export".to_string(), StatusCode::BAD_REQUEST),
            ("/api/product-cves/export?product_id=x".to_string(), StatusCode::BAD_REQUEST),
            ("/api/product-cves/export?product_id=999999".to_string(), StatusCode::NOT_FOUND),
        ] {
            let response = app.get(&path).send().await.unwrap();
            assert_eq!(response.status(), status, "{path}");
            let error: Value = response.json().await.unwrap();
            assert!(error["error"]["code"].is_string(), "{path}: {error}");
        }

        // A release's findings, filters and sort as the listing's.
        let release = app.create_release("export").await;
        let sbom = json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": [
            {"type": "library", "name": "smallvec", "version": "0.6.0", "purl": "pkg:cargo/smallvec@0.6.0"},
            {"type": "library", "name": "hyper", "version": "0.10.0", "purl": "pkg:cargo/hyper@0.10.0"},
            {"type": "library", "name": "tokio", "version": "0.1.0", "purl": "pkg:cargo/tokio@0.1.0"}]});
        let uploaded = app.post(&format!("/api/v1/releases/{release}/sboms?wait=true"))
            .header("content-type", "application/vnd.cyclonedx+json")
            .body(sbom.to_string()).send().await.unwrap();
        assert!(uploaded.status().is_success());
        let listed: Value = app.get(&format!("/api/v1/releases/{release}/vulnerabilities?per_page=500&sort=newest"))
            .send().await.unwrap().json().await.unwrap();
        assert!(listed["total"].as_i64().unwrap() > 3, "{listed}");
        let response = app.get(&format!("/api/v1/releases/{release}/vulnerabilities/export?sort=newest")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-disposition"], format!("attachment; filename=\"release-{release}-findings.json\""));
        let exported: Value = response.json().await.unwrap();
        assert_eq!(exported, listed["items"]);
        let response = app.get(&format!("/api/v1/releases/{release}/vulnerabilities/export?severity=severe")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response.text().await.unwrap().contains("severity"));
        let response = app.get("/api/v1/releases/999999/vulnerabilities/export").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
}
