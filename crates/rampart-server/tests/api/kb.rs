//! The knowledge base over real HTTP on both backends, loaded with the real corpora in
//! ../shared/data: lookups by any alias, version-aware queries at range edges, the OSV API
//! against osv.dev's recorded requests, and seed 003's product-cves and get-exploits.

use std::path::{Path, PathBuf};

use rampart_formats::advisory::{
    parse_epss, parse_exploitdb_csv, parse_kev_json, parse_nvd_page, parse_osv_json,
    parse_osv_yaml, Advisory, RangeEvent, RangeType,
};
use rampart_store::Store;
use rampart_test_support::{backend_tests, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn pypa(root: &Path) -> Vec<Advisory> {
    let mut advisories = Vec::new();
    let mut stack = vec![root.join("osv-pypa/vulns")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                advisories.extend(
                    parse_osv_yaml(&std::fs::read(&path).unwrap())
                        .unwrap()
                        .records,
                );
            }
        }
    }
    advisories.sort_by(|a, b| a.id.cmp(&b.id));
    advisories
}

fn nvd_page(root: &Path) -> Vec<Advisory> {
    parse_nvd_page(
        &std::fs::read(root.join("nvd-cve-api-2.0/pablotron-nvd-go/responses/cves-2023.json"))
            .unwrap(),
    )
    .unwrap()
    .advisories
    .records
}

/// Loads PyPA, the NVD page, KEV and one exploit straight through the store API, then waits
/// for the server's index to catch up (it never blocks requests; we poll its status).
async fn load(app: &TestApp, root: &Path) -> (Vec<Advisory>, Vec<Advisory>) {
    let store = Store::connect(&app.config.database).await.unwrap();
    let pypa = pypa(root);
    for chunk in pypa.chunks(1000) {
        store.ingest_advisories("osv", chunk).await.unwrap();
    }
    let nvd = nvd_page(root);
    store.ingest_advisories("nvd", &nvd).await.unwrap();
    let kev = parse_kev_json(
        &std::fs::read(root.join("cisa-kev/known_exploited_vulnerabilities.json")).unwrap(),
    )
    .unwrap();
    store.ingest_kev(&kev.entries.records).await.unwrap();
    // ExploitDB's layout (the real files_exploits.csv is not in the data set).
    let exploits = parse_exploitdb_csv(
        b"id,file,description,date_published,author,type,platform,port,date_added,date_updated,verified,codes,tags,aliases,screenshot_url,application_url,source_url\n\
          51234,exploits/windows/local/51234.txt,Example product - Privilege Escalation,2023-01-10,someone,local,windows,,2023-01-10,2023-01-10,1,CVE-2022-23748,,,,,\n",
    )
    .unwrap();
    store.ingest_exploits(&exploits.records).await.unwrap();
    store.close().await;
    app.wait_for_index().await;
    (pypa, nvd)
}

async fn get_json(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let response = app.get(path).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn post_json(app: &TestApp, path: &str, body: &Value) -> (StatusCode, Value) {
    let response = app.post(path).json(body).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// A real PYSEC record with one ECOSYSTEM range `introduced X (not 0), fixed Y`.
fn bounded_record(pypa: &[Advisory]) -> (&Advisory, String, String, String) {
    pypa.iter()
        .filter(|advisory| advisory.withdrawn.is_none())
        .find_map(|advisory| {
            let [affected] = advisory.affected.as_slice() else {
                return None;
            };
            let [range] = affected.ranges.as_slice() else {
                return None;
            };
            if range.kind != RangeType::Ecosystem {
                return None;
            }
            match range.events.as_slice() {
                [RangeEvent::Introduced(from), RangeEvent::Fixed(to)] if from != "0" => Some((
                    advisory,
                    affected.package.as_ref()?.name.clone(),
                    from.clone(),
                    to.clone(),
                )),
                _ => None,
            }
        })
        .expect("PyPA has bounded ranges")
}

fn ids(vulns: &Value) -> Vec<String> {
    vulns
        .as_array()
        .map(|list| {
            list.iter()
                .map(|v| v["id"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn cassette_bodies(file: &Path) -> Vec<(String, Value)> {
    let text = std::fs::read_to_string(file).unwrap();
    let document: Value = yaml_serde::from_str(&text).unwrap();
    document["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|interaction| {
            let request = &interaction["request"];
            (
                request["url"].as_str().unwrap().to_string(),
                serde_json::from_str(request["body"].as_str().unwrap()).unwrap(),
            )
        })
        .collect()
}

fn data_root() -> Option<PathBuf> {
    rampart_test_data::root()
}

backend_tests! {
    async fn any_alias_finds_the_group_with_its_enrichment(app) {
        let Some(root) = data_root() else { return };
        let (pypa, _) = load(&app, &root).await;
        let record = pypa
            .iter()
            .find(|a| a.aliases.iter().any(|x| x.starts_with("CVE-")) && a.aliases.iter().any(|x| x.starts_with("GHSA-")))
            .unwrap();
        for alias in &record.aliases {
            let (status, body) = get_json(&app, &format!("/api/v1/vulnerabilities/{alias}")).await;
            assert_eq!(status, StatusCode::OK, "{alias}: {body}");
            assert_eq!(body["id"], record.id.as_str(), "{alias}");
            let aliases: Vec<&str> = body["aliases"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
            assert!(aliases.contains(&alias.as_str()));
        }
        // An NVD record with its KEV entry and Exploit Database exploit.
        let (status, body) = get_json(&app, "/api/v1/vulnerabilities/cve-2022-23748").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["id"], "CVE-2022-23748");
        assert_eq!(body["source"], "nvd");
        assert_eq!(body["kev"]["cve_id"], "CVE-2022-23748");
        assert_eq!(body["exploits"][0]["edb_id"], 51234);
        assert!(body["severity"].as_array().unwrap().iter().any(|s| s["base_score"].is_number()));
        assert!(!body["cpe_configurations"].as_array().unwrap().is_empty());

        let (status, body) = get_json(&app, "/api/v1/vulnerabilities/CVE-1900-0001").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(body["error"]["code"], "not_found");
    }

    async fn version_aware_queries_at_the_edges_of_a_real_range(app) {
        let Some(root) = data_root() else { return };
        let (pypa, _) = load(&app, &root).await;
        let (record, name, introduced, fixed) = bounded_record(&pypa);
        let query = |version: &str| json!({"package": {"name": name, "ecosystem": "PyPI"}, "version": version});
        let (status, inside) = post_json(&app, "/v1/query", &query(&introduced)).await;
        assert_eq!(status, StatusCode::OK, "{inside}");
        assert!(ids(&inside["vulns"]).contains(&record.id), "{} at {introduced}: {inside}", record.id);
        let (_, outside) = post_json(&app, "/v1/query", &query(&fixed)).await;
        assert!(!ids(&outside["vulns"]).contains(&record.id), "{} at {fixed}: {outside}", record.id);

        // The same through a purl and through the KB list, with evidence.
        let purl = format!("pkg:pypi/{}@{introduced}", name.to_lowercase());
        let (_, by_purl) = post_json(&app, "/v1/query", &json!({"package": {"purl": purl}})).await;
        assert!(ids(&by_purl["vulns"]).contains(&record.id), "{by_purl}");
        let (status, listed) = get_json(
            &app,
            &format!("/api/v1/vulnerabilities?ecosystem=PyPI&package={name}&version={introduced}&per_page=500"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{listed}");
        let item = listed["data"].as_array().unwrap().iter().find(|v| v["id"] == record.id.as_str()).unwrap();
        assert_eq!(item["evidence"]["matched_by"], "package");
        // PyPA lists versions too: the listing (strongest evidence) or the range decided.
        let detail = item["evidence"]["detail"].as_str().unwrap();
        assert!(
            detail == format!("version {introduced} listed") || detail.contains(&format!("introduced {introduced}")),
            "{item}"
        );
        let (_, listed) = get_json(
            &app,
            &format!("/api/v1/vulnerabilities?ecosystem=PyPI&package={name}&version={fixed}&per_page=500"),
        )
        .await;
        assert!(!listed["data"].as_array().unwrap().iter().any(|v| v["id"] == record.id.as_str()));

        let (status, body) = get_json(&app, "/api/v1/vulnerabilities?per_page=501").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["error"]["message"].as_str().unwrap().contains("per_page"));
        let (status, body) = get_json(&app, "/api/v1/vulnerabilities?sort=loudest").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["error"]["message"].as_str().unwrap().contains("sort"));
        let (status, page) = get_json(&app, "/api/v1/vulnerabilities?kev=true&sort=epss&per_page=5").await;
        assert_eq!(status, StatusCode::OK);
        assert!(page["data"].as_array().unwrap().iter().all(|v| v["in_kev"] == true));
    }

    async fn every_listed_version_of_a_sample_finds_its_record(app) {
        let Some(root) = data_root() else { return };
        let (pypa, _) = load(&app, &root).await;
        // The oracle, on a sample (every 25th record) to keep the suite short.
        let mut queries = Vec::new();
        let mut expected = Vec::new();
        for advisory in pypa.iter().filter(|a| a.withdrawn.is_none()).step_by(25) {
            for affected in &advisory.affected {
                let Some(package) = &affected.package else { continue };
                for version in affected.versions.iter().take(3) {
                    queries.push(json!({"package": {"name": package.name, "ecosystem": package.ecosystem}, "version": version}));
                    expected.push(advisory.id.clone());
                }
            }
        }
        assert!(queries.len() > 50, "{}", queries.len());
        let (status, body) = post_json(&app, "/v1/querybatch", &json!({"queries": queries})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let results = body["results"].as_array().unwrap();
        assert_eq!(results.len(), expected.len());
        for (result, id) in results.iter().zip(&expected) {
            assert!(ids(&result["vulns"]).contains(id), "{id}: {result}");
            assert!(result["vulns"][0]["modified"].as_str().unwrap().ends_with('Z'));
        }
    }

    async fn the_osv_api_speaks_osv_dev_wire_format(app) {
        let Some(root) = data_root() else { return };
        let (pypa, _) = load(&app, &root).await;
        let cassettes = root.join("peer-tests/osv-dev/tools/apitester/testdata/cassettes");
        for file in ["single_query.yaml", "batch_query.yaml", "TestCommand.yaml"] {
            for (url, body) in cassette_bodies(&cassettes.join(file)) {
                let path = url.trim_start_matches("https://api.osv.dev");
                let (status, answer) = post_json(&app, path, &body).await;
                // osv.dev refuses a version both in the purl and beside it (InvalidArgument).
                let conflicting = body["package"]["purl"].as_str().is_some_and(|p| p.contains('@'))
                    && body.get("version").is_some();
                if conflicting {
                    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
                    continue;
                }
                assert_eq!(status, StatusCode::OK, "{path} {body}: {answer}");
                assert!(answer.is_object());
                if path == "/v1/querybatch" {
                    assert_eq!(
                        answer["results"].as_array().unwrap().len(),
                        body["queries"].as_array().unwrap().len()
                    );
                } else if let Some(vulns) = answer.get("vulns") {
                    assert!(vulns.as_array().is_some_and(|v| !v.is_empty()), "empty lists are left out");
                }
            }
        }
        // jinja2 3.1.4 (a cassette query) against the PyPA data: every record returned names
        // jinja2, and GET /v1/vulns returns each record as the feed published it.
        let (_, answer) = post_json(
            &app,
            "/v1/query",
            &json!({"package": {"name": "jinja2", "ecosystem": "PyPI"}, "version": "2.10"}),
        )
        .await;
        let found = ids(&answer["vulns"]);
        assert!(!found.is_empty(), "{answer}");
        for id in found {
            let (status, record) = get_json(&app, &format!("/v1/vulns/{id}")).await;
            assert_eq!(status, StatusCode::OK);
            let served = parse_osv_json(record.to_string().as_bytes()).unwrap().records.remove(0);
            let original = pypa.iter().find(|a| a.id == id).unwrap();
            assert_eq!(&served, original);
        }
        let (status, _) = get_json(&app, "/v1/vulns/PYSEC-0000-0").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, body) = post_json(&app, "/v1/query", &json!({"version": "1.0"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }

    async fn a_changed_record_is_answered_as_it_now_reads(app) {
        // `/v1/query` answers from rendered records kept in memory: a record changed by a
        // later ingest must be answered as it now reads, never as it was first rendered.
        let record = |summary: &str, modified: &str, fixed: &str| {
            json!({
                "schema_version": "1.6.0",
                "id": "PYSEC-2099-7",
                "modified": modified,
                "summary": summary,
                "affected": [{
                    "package": {"ecosystem": "PyPI", "name": "cachedpkg"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
                }],
            })
        };
        let ingest = |value: Value| {
            let config = app.config.database.clone();
            async move {
                let store = Store::connect(&config).await.unwrap();
                let parsed = parse_osv_json(value.to_string().as_bytes()).unwrap();
                store.ingest_advisories("osv", &parsed.records).await.unwrap();
                store.close().await;
            }
        };
        let query = json!({"package": {"name": "cachedpkg", "ecosystem": "PyPI"}, "version": "1.5"});
        ingest(record("first wording", "2024-01-01T00:00:00Z", "2.0")).await;
        app.wait_for_index().await;
        for _ in 0..2 {
            let (status, body) = post_json(&app, "/v1/query", &query).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["vulns"][0]["summary"], "first wording", "{body}");
        }
        ingest(record("second wording", "2024-02-01T00:00:00Z", "1.5")).await;
        app.wait_for_index().await;
        let (_, body) = post_json(&app, "/v1/query", &query).await;
        assert!(body.get("vulns").is_none(), "1.5 is fixed now: {body}");
        let (_, body) = post_json(&app, "/v1/query", &json!({"package": {"name": "cachedpkg", "ecosystem": "PyPI"}, "version": "1.4"})).await;
        assert_eq!(body["vulns"][0]["summary"], "second wording", "{body}");
        assert_eq!(body["vulns"][0]["affected"][0]["ranges"][0]["events"][1]["fixed"], "1.5", "{body}");
    }

    async fn seed_003_product_cves_and_get_exploits(app) {
        let Some(root) = data_root() else { return };
        let (_, nvd) = load(&app, &root).await;
        let (status, catalog) = get_json(&app, "/api/v1/catalog/products?q=tensorflow").await;
        assert_eq!(status, StatusCode::OK, "{catalog}");
        let product = catalog["data"].as_array().unwrap().iter().find(|p| p["product"] == "tensorflow").unwrap();
        let product_id = product["id"].as_i64().unwrap();
        let vulnerable: std::collections::BTreeSet<&str> = nvd
            .iter()
            .filter(|a| a.cpe_configurations.iter().flat_map(|c| &c.nodes).flat_map(|n| &n.cpe_match)
                .any(|m| m.vulnerable && m.criteria.starts_with("cpe:2.3:a:google:tensorflow:")))
            .map(|a| a.id.as_str())
            .collect();

        let (status, all) = get_json(&app, &format!("/api/product-cves?product_id={product_id}&page=1&per_page=500&sort=epss")).await;
        assert_eq!(status, StatusCode::OK, "{all}");
        assert_eq!(all["success"], true);
        assert_eq!(all["total"].as_u64().unwrap(), vulnerable.len() as u64);

        // CVE-2022-41880: versionEndExcluding 2.8.4, [2.9.0, 2.9.3), and 2.10.0.
        let at = |version: &str| format!("/api/product-cves?product_id={product_id}&version={version}&page=1&per_page=20&sort=epss");
        let (status, inside) = get_json(&app, &at("2.9.2")).await;
        assert_eq!(status, StatusCode::OK, "{inside}");
        assert!(ids(&inside["cves"]).contains(&"CVE-2022-41880".to_string()), "{inside}");
        assert_eq!(inside["version"], "2.9.2");
        let cve = inside["cves"].as_array().unwrap().iter().find(|c| c["id"] == "CVE-2022-41880").unwrap();
        assert_eq!(cve["evidence"]["matched_by"], "cpe");
        let (_, outside) = get_json(&app, &at("2.9.3")).await;
        assert!(!ids(&outside["cves"]).contains(&"CVE-2022-41880".to_string()), "{outside}");
        let (status, _) = get_json(&app, "/api/product-cves?product_id=99999999").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, body) = get_json(&app, "/api/product-cves?product_id=abc").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["error"]["message"].as_str().unwrap().contains("product_id"));

        // get-exploits by CVE id and by the numeric internal id.
        let (status, by_cve) = get_json(&app, "/api/get-exploits?cve_id=CVE-2022-23748").await;
        assert_eq!(status, StatusCode::OK, "{by_cve}");
        assert_eq!(by_cve["success"], true);
        assert_eq!(by_cve["exploits"][0]["edb_id"], 51234);
        assert_eq!(by_cve["exploits"][0]["url"], "https://www.exploit-db.com/exploits/51234");
        assert_eq!(by_cve["kev"]["cve_id"], "CVE-2022-23748");
        let internal = by_cve["vulnerability_id"].as_i64().unwrap();
        let (status, by_id) = get_json(&app, &format!("/api/get-exploits?cve_id={internal}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(by_id["cve_id"], "CVE-2022-23748");
        assert_eq!(by_id["exploits"], by_cve["exploits"]);
        // The seed's literal example: internal id 456 exists once PyPA and NVD are loaded.
        let (status, seed) = get_json(&app, "/api/get-exploits?cve_id=456").await;
        assert_eq!(status, StatusCode::OK, "{seed}");
        assert_eq!(seed["success"], true);
        assert_eq!(seed["vulnerability_id"], 456);
        let (status, _) = get_json(&app, "/api/get-exploits?cve_id=CVE-1900-0001").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = get_json(&app, "/api/get-exploits").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    async fn kev_epss_and_exploits_answer_for_a_cve_no_record_names(app) {
        let Some(root) = data_root() else { return };
        load(&app, &root).await;
        let store = Store::connect(&app.config.database).await.unwrap();
        let epss = parse_epss(&std::fs::read(root.join("epss/epss_scores-current.head60.csv")).unwrap()).unwrap();
        store.ingest_epss(&epss).await.unwrap();
        // An exploit of a KEV CVE (Apache Struts) no imported record names.
        let exploits = parse_exploitdb_csv(
            b"id,file,description,date_published,author,type,platform,port,date_added,date_updated,verified,codes,tags,aliases,screenshot_url,application_url,source_url\n\
              41570,exploits/linux/remote/41570.py,Apache Struts 2.3.5 < 2.3.31 / 2.5 < 2.5.10 - Remote Code Execution,2017-03-08,someone,remote,linux,,2017-03-08,2017-03-08,1,CVE-2017-5638,,,,,\n",
        )
        .unwrap();
        store.ingest_exploits(&exploits.records).await.unwrap();
        for cve in ["CVE-2021-44228", "CVE-2017-5638", "CVE-1999-0001"] {
            assert!(store.vulnerability_group(cve).await.unwrap().is_none(), "{cve} has a record");
        }
        store.close().await;

        let (status, log4shell) = get_json(&app, "/api/get-exploits?cve_id=CVE-2021-44228").await;
        assert_eq!(status, StatusCode::OK, "{log4shell}");
        assert_eq!(log4shell["cve_id"], "CVE-2021-44228");
        assert_eq!(log4shell["vulnerability_id"], Value::Null);
        assert_eq!(log4shell["kev"]["vendor_project"], "Apache");
        assert_eq!(log4shell["kev"]["known_ransomware_campaign_use"], true);
        assert_eq!(log4shell["total"], 0);

        let (status, struts) = get_json(&app, "/api/get-exploits?cve_id=cve-2017-5638").await;
        assert_eq!(status, StatusCode::OK, "{struts}");
        assert_eq!(struts["cve_id"], "CVE-2017-5638");
        assert_eq!(struts["exploits"][0]["edb_id"], 41570);
        assert_eq!(struts["kev"]["cve_id"], "CVE-2017-5638", "{struts}");

        let (status, scored) = get_json(&app, "/api/get-exploits?cve_id=CVE-1999-0001").await;
        assert_eq!(status, StatusCode::OK, "{scored}");
        assert_eq!(scored["epss"]["score"], 0.03351);
        assert_eq!(scored["epss"]["percentile"], 0.88255);
        assert_eq!(scored["kev"], Value::Null);

        let (status, detail) = get_json(&app, "/api/v1/vulnerabilities/CVE-2021-44228").await;
        assert_eq!(status, StatusCode::OK, "{detail}");
        assert_eq!(detail["id"], "CVE-2021-44228");
        assert_eq!(detail["internal_id"], Value::Null);
        assert_eq!(detail["kev"]["cve_id"], "CVE-2021-44228");
        let (status, detail) = get_json(&app, "/api/v1/vulnerabilities/cve-2017-5638").await;
        assert_eq!(status, StatusCode::OK, "{detail}");
        assert_eq!(detail["kev"]["cve_id"], "CVE-2017-5638");
        assert_eq!(detail["exploits"][0]["edb_id"], 41570);

        // Nothing knows it: still 404.
        for path in ["/api/get-exploits?cve_id=CVE-1900-0001", "/api/v1/vulnerabilities/CVE-1900-0001"] {
            let (status, body) = get_json(&app, path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        }
    }

    async fn nvd_and_configurations_survive_the_store_and_name_their_platform(app) {
        let Some(root) = data_root() else { return };
        let store = Store::connect(&app.config.database).await.unwrap();
        store.ingest_advisories("nvd", &nvd_page(&root)).await.unwrap();
        store.close().await;
        app.wait_for_index().await;
        // CVE-2022-23748: dante_application_library <= 1.2.0, AND running on windows:-.
        let windows = "cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*";
        let (status, catalog) = get_json(&app, "/api/v1/catalog/products?q=dante").await;
        assert_eq!(status, StatusCode::OK, "{catalog}");
        let product_id = catalog["data"].as_array().unwrap().iter()
            .find(|p| p["product"] == "dante_application_library").unwrap()["id"].as_i64().unwrap();
        let at = |version: &str| format!("/api/product-cves?product_id={product_id}&version={version}");
        let (status, inside) = get_json(&app, &at("1.2.0")).await;
        assert_eq!(status, StatusCode::OK, "{inside}");
        assert_eq!(ids(&inside["cves"]), ["CVE-2022-23748"], "{inside}");
        let evidence = &inside["cves"][0]["evidence"];
        assert_eq!(evidence["matched_by"], "cpe", "{evidence}");
        assert_eq!(evidence["detail"], "versionEndIncluding 1.2.0", "{evidence}");
        assert_eq!(evidence["unverified_platforms"], json!([windows]), "{evidence}");
        let (_, outside) = get_json(&app, &at("1.2.1")).await;
        assert!(ids(&outside["cves"]).is_empty(), "{outside}");
        // The same through the CPE filter of the vulnerability list.
        let (status, listed) = get_json(
            &app,
            "/api/v1/vulnerabilities?cpe=cpe:2.3:a:audinate:dante_application_library:1.1:*:*:*:*:*:*:*",
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{listed}");
        assert_eq!(ids(&listed["data"]), ["CVE-2022-23748"], "{listed}");
        assert_eq!(listed["data"][0]["evidence"]["unverified_platforms"], json!([windows]));
        // Strict: the platform is not shown, so the configuration does not hold.
        let (status, strict) = get_json(
            &app,
            "/api/v1/vulnerabilities?cpe=cpe:2.3:a:audinate:dante_application_library:1.1:*:*:*:*:*:*:*&strict_platforms=true",
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{strict}");
        assert!(ids(&strict["data"]).is_empty(), "{strict}");
        // Windows is only the platform of every configuration naming it: no CVE by itself.
        let (_, catalog) = get_json(&app, "/api/v1/catalog/products?q=microsoft%20windows").await;
        let windows_id = catalog["data"].as_array().unwrap().iter()
            .find(|p| p["vendor"] == "microsoft" && p["product"] == "windows").unwrap()["id"].as_i64().unwrap();
        let (_, on_windows) = get_json(&app, &format!("/api/product-cves?product_id={windows_id}")).await;
        assert_eq!(on_windows["total"], 0, "{on_windows}");
    }
}
