//! Findings over real HTTP on both backends: a hand-built knowledge base and SBOM whose
//! components sit just inside and just outside known ranges get exactly the expected
//! findings with their evidence; filters and sorts; CPE matching only when the product
//! turns it on; and continuous re-analysis of only the SBOMs a knowledge-base change touches.

use std::time::Duration;

use rampart_formats::advisory::{parse_epss, parse_kev_json, parse_nvd_page, parse_osv_json};
use rampart_store::Store;
use rampart_test_support::{backend_tests, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::products::{create_product, create_release, expect_error, json_of, store_of, team_id};

pub(crate) const CRITICAL: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
pub(crate) const MEDIUM: &str = "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N";

pub(crate) fn osv(
    id: &str,
    aliases: &[&str],
    modified: &str,
    package: Value,
    vector: &str,
) -> Value {
    json!({
        "schema_version": "1.6.0",
        "id": id,
        "aliases": aliases,
        "modified": modified,
        "published": "2024-01-01T00:00:00Z",
        "summary": format!("{id} summary"),
        "severity": [{"type": "CVSS_V3", "score": vector}],
        "affected": [package],
    })
}

/// PYSEC and GHSA records of one vulnerability (one alias group) on Django 1.10 → 1.10.2; a
/// lodash record fixed in 4.17.21; a Maven record with `last_affected`.
pub(crate) fn knowledge_base() -> Vec<Value> {
    let django = json!({
        "package": {"ecosystem": "PyPI", "name": "django"},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "1.10"}, {"fixed": "1.10.2"}]}],
    });
    vec![
        osv(
            "PYSEC-2099-1",
            &["CVE-2099-0001"],
            "2024-01-02T00:00:00Z",
            django.clone(),
            CRITICAL,
        ),
        osv(
            "GHSA-aaaa-bbbb-cccc",
            &["CVE-2099-0001"],
            "2024-01-02T00:00:00Z",
            django,
            CRITICAL,
        ),
        osv(
            "GHSA-lodash-0001",
            &["CVE-2099-0002"],
            "2024-01-02T00:00:00Z",
            json!({
                "package": {"ecosystem": "npm", "name": "lodash"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}],
            }),
            MEDIUM,
        ),
        osv(
            "GHSA-maven-0001",
            &[],
            "2024-01-02T00:00:00Z",
            json!({
                "package": {"ecosystem": "Maven", "name": "org.example:lib"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.0"}, {"last_affected": "2.3.1"}]}],
            }),
            MEDIUM,
        ),
    ]
}

pub(crate) async fn ingest_osv(store: &Store, records: &[Value]) {
    for record in records {
        let parsed = parse_osv_json(record.to_string().as_bytes()).unwrap();
        assert_eq!(parsed.skipped.len(), 0, "{record}");
        store
            .ingest_advisories("osv", &parsed.records)
            .await
            .unwrap();
    }
}

pub(crate) async fn load_knowledge_base(app: &TestApp) -> Store {
    let store = store_of(app).await;
    ingest_osv(&store, &knowledge_base()).await;
    let kev = json!({"title": "t", "catalogVersion": "1", "dateReleased": "2024-01-01T00:00:00.000Z",
        "count": 1, "vulnerabilities": [{"cveID": "CVE-2099-0002", "vendorProject": "lodash",
        "product": "lodash", "vulnerabilityName": "lodash prototype pollution", "dateAdded": "2024-01-05",
        "shortDescription": "x", "requiredAction": "update", "dueDate": "2024-01-26",
        "knownRansomwareCampaignUse": "Unknown", "notes": ""}]});
    let kev = parse_kev_json(kev.to_string().as_bytes()).unwrap();
    store.ingest_kev(&kev.entries.records).await.unwrap();
    let epss = parse_epss(
        b"#model_version:v2023.03.01,score_date:2024-01-05T00:00:00+0000\ncve,epss,percentile\nCVE-2099-0001,0.10000,0.90000\nCVE-2099-0002,0.50000,0.99000\n",
    )
    .unwrap();
    store.ingest_epss(&epss).await.unwrap();
    app.wait_for_index().await;
    store
}

pub(crate) fn cyclonedx(components: &[(&str, &str, Option<&str>)]) -> Vec<u8> {
    let components: Vec<Value> = components
        .iter()
        .enumerate()
        .map(|(i, (name, version, purl))| {
            let mut component = json!({"type": "library", "bom-ref": format!("c{i}"), "name": name, "version": version});
            if let Some(purl) = purl {
                component["purl"] = json!(purl);
            }
            component
        })
        .collect();
    json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": components})
        .to_string()
        .into_bytes()
}

/// Components on both sides of every range edge.
fn edge_sbom() -> Vec<u8> {
    cyclonedx(&[
        ("django", "1.9.9", Some("pkg:pypi/django@1.9.9")),
        ("django", "1.10", Some("pkg:pypi/Django@1.10")),
        ("django", "1.10.2", Some("pkg:pypi/django@1.10.2")),
        ("lodash", "4.17.20", Some("pkg:npm/lodash@4.17.20")),
        ("lodash", "4.17.21", Some("pkg:npm/lodash@4.17.21")),
        ("lib", "2.3.1", Some("pkg:maven/org.example/lib@2.3.1")),
        ("lib", "2.3.2", Some("pkg:maven/org.example/lib@2.3.2")),
        ("lib", "1.9", Some("pkg:maven/org.example/lib@1.9")),
        ("no-purl", "1.0", None),
    ])
}

pub(crate) async fn upload_and_wait(app: &TestApp, release_id: i64, bytes: Vec<u8>) -> Value {
    json_of(
        app.post(&format!("/api/v1/releases/{release_id}/sboms?wait=true"))
            .header("content-type", "application/vnd.cyclonedx+json")
            .body(bytes)
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await
}

pub(crate) async fn release(app: &TestApp, product: &str) -> (i64, i64) {
    let product = create_product(app, product).await;
    let product_id = product["id"].as_i64().unwrap();
    let release = create_release(app, product_id, "1.0.0").await;
    (product_id, release["id"].as_i64().unwrap())
}

pub(crate) async fn vulnerabilities(app: &TestApp, release_id: i64, query: &str) -> Value {
    json_of(
        app.get(&format!(
            "/api/v1/releases/{release_id}/vulnerabilities{query}"
        ))
        .send()
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await
}

fn ids(page: &Value) -> Vec<(String, String)> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["vulnerability"]["id"].as_str().unwrap().to_string(),
                f["component"]["purl"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// Waits until the SBOM has a completed analysis queued by a knowledge-base change after
/// the first `seen` analyses; returns all its analyses.
async fn wait_for_reanalysis(
    store: &Store,
    team: i64,
    sbom_id: i64,
    seen: usize,
) -> Vec<rampart_store::Analysis> {
    for _ in 0..300 {
        let analyses = store.analyses_of_sbom(team, sbom_id).await.unwrap();
        if analyses.len() > seen && analyses.iter().skip(seen).all(|a| a.status.is_finished()) {
            return analyses;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no re-analysis of SBOM {sbom_id}");
}

backend_tests! {
    async fn findings_say_whether_they_are_vulnerabilities_or_informational(app) {
        let Some(root) = rampart_test_data::root() else { return };
        let store = store_of(&app).await;
        // Real RustSec records: bigint is unmaintained (its CVSS: 9.8), smallvec's is a
        // vulnerability, matrix-sdk-base's group holds RUSTSEC-2025-0065 and the OSV export's
        // stray copy RUSTSEC-2025-0000.
        let mut records = Vec::new();
        for id in ["RUSTSEC-2020-0025", "RUSTSEC-2021-0003", "RUSTSEC-2025-0000", "RUSTSEC-2025-0065"] {
            let path = root.join(format!("rustsec-advisory-db/osv/crates/{id}.json"));
            records.extend(parse_osv_json(&std::fs::read(path).unwrap()).unwrap().records);
        }
        store.ingest_advisories("osv", &records).await.unwrap();
        app.wait_for_index().await;
        let (_, release_id) = release(&app, "rusty").await;
        let sbom = cyclonedx(&[
            ("bigint", "4.4.3", Some("pkg:cargo/bigint@4.4.3")),
            ("smallvec", "1.6.0", Some("pkg:cargo/smallvec@1.6.0")),
            ("matrix-sdk-base", "0.14.0", Some("pkg:cargo/matrix-sdk-base@0.14.0")),
        ]);
        let uploaded = upload_and_wait(&app, release_id, sbom).await;
        assert_eq!(uploaded["analysis"]["findings_count"], 3, "{uploaded}");
        let page = vulnerabilities(&app, release_id, "").await;
        let of = |name: &str| page["items"].as_array().unwrap().iter()
            .find(|f| f["component"]["name"] == name).unwrap().clone();
        let bigint = of("bigint");
        assert_eq!(bigint["vulnerability"]["id"], "RUSTSEC-2020-0025");
        assert_eq!(bigint["kind"], "informational");
        assert_eq!(bigint["informational"], "unmaintained");
        assert_eq!(bigint["severity"], "critical");
        let smallvec = of("smallvec");
        assert_eq!(smallvec["kind"], "vulnerability");
        assert_eq!(smallvec["informational"], Value::Null);
        let matrix = of("matrix-sdk-base");
        assert_eq!(matrix["vulnerability"]["id"], "RUSTSEC-2025-0065", "{matrix}");
        assert_eq!(matrix["kind"], "vulnerability");
        assert!(matrix["vulnerability"]["aliases"].as_array().unwrap().contains(&json!("RUSTSEC-2025-0000")));
    }

    async fn components_at_range_edges_get_exactly_the_expected_findings(app) {
        let _store = load_knowledge_base(&app).await;
        let (_, release_id) = release(&app, "edges").await;
        let uploaded = upload_and_wait(&app, release_id, edge_sbom()).await;
        assert_eq!(uploaded["analysis"]["status"], "completed", "{uploaded}");
        assert_eq!(uploaded["analysis"]["findings_count"], 3);
        assert_eq!(uploaded["analysis"]["new_findings_count"], 3);
        let inline = uploaded["findings"].as_array().expect("findings inline with wait=true");
        assert_eq!(inline.len(), 3);

        let page = vulnerabilities(&app, release_id, "").await;
        assert_eq!(page["total"], 3);
        let mut found = ids(&page);
        found.sort();
        // Django 1.10 only (one finding for the PYSEC/GHSA group); lodash 4.17.20; lib 2.3.1.
        assert_eq!(found, vec![
            ("GHSA-aaaa-bbbb-cccc".to_string(), "pkg:pypi/Django@1.10".to_string()),
            ("GHSA-lodash-0001".to_string(), "pkg:npm/lodash@4.17.20".to_string()),
            ("GHSA-maven-0001".to_string(), "pkg:maven/org.example/lib@2.3.1".to_string()),
        ]);
        let django = page["items"].as_array().unwrap().iter()
            .find(|f| f["component"]["name"] == "django").unwrap();
        assert_eq!(django["vulnerability"]["aliases"], json!(["CVE-2099-0001", "GHSA-aaaa-bbbb-cccc", "PYSEC-2099-1"]));
        assert_eq!(django["evidence"]["matched_by"], "purl");
        assert_eq!(django["evidence"]["identifier"], "pkg:pypi/Django@1.10");
        assert_eq!(django["evidence"]["range_index"], 0);
        assert!(django["evidence"]["detail"].as_str().unwrap().contains("1.10"), "{django}");
        assert_eq!(django["fixed_versions"], json!(["1.10.2"]));
        assert_eq!(django["severity"], "critical");
        assert_eq!(django["cvss_score"], 9.8);
        assert_eq!(django["epss"], 0.1);
        assert_eq!(django["kev"], false);
        assert_eq!(django["new"], true);
        assert_eq!(django["vulnerability"]["source"], "osv");
        let maven = page["items"].as_array().unwrap().iter()
            .find(|f| f["component"]["name"] == "lib").unwrap();
        assert_eq!(maven["fixed_versions"], json!([]), "last_affected names no fix");
        assert!(maven["evidence"]["detail"].as_str().unwrap().contains("2.3.1"), "{maven}");
        // Most severe first by default.
        assert_eq!(page["items"][0]["severity"], "critical");
    }

    async fn filters_and_sorts(app) {
        let _store = load_knowledge_base(&app).await;
        let (product_id, release_id) = release(&app, "filters").await;
        upload_and_wait(&app, release_id, edge_sbom()).await;

        let critical = vulnerabilities(&app, release_id, "?severity=critical").await;
        assert_eq!(ids(&critical).len(), 1);
        assert_eq!(critical["items"][0]["component"]["name"], "django");
        assert_eq!(vulnerabilities(&app, release_id, "?severity=medium,critical").await["total"], 3);
        let kev = vulnerabilities(&app, release_id, "?kev=true").await;
        assert_eq!(ids(&kev), vec![("GHSA-lodash-0001".to_string(), "pkg:npm/lodash@4.17.20".to_string())]);
        assert_eq!(vulnerabilities(&app, release_id, "?kev=false").await["total"], 2);
        assert_eq!(vulnerabilities(&app, release_id, "?epss_min=0.2").await["total"], 1);
        assert_eq!(vulnerabilities(&app, release_id, "?fixable=false").await["total"], 1);
        assert_eq!(vulnerabilities(&app, release_id, "?fixable=true").await["total"], 2);
        assert_eq!(vulnerabilities(&app, release_id, "?new=true").await["total"], 3);
        assert_eq!(vulnerabilities(&app, release_id, "?new=false").await["total"], 0);
        let by_epss = vulnerabilities(&app, release_id, "?sort=epss").await;
        assert_eq!(by_epss["items"][0]["vulnerability"]["id"], "GHSA-lodash-0001");
        assert_eq!(by_epss["items"][2]["epss"], Value::Null);
        let paged = vulnerabilities(&app, release_id, "?per_page=2&page=2").await;
        assert_eq!(paged["total"], 3);
        assert_eq!(paged["items"].as_array().unwrap().len(), 1);
        for bad in ["?severity=urgent", "?epss_min=2", "?sort=random", "?kev=maybe", "?colour=red"] {
            expect_error(
                app.get(&format!("/api/v1/releases/{release_id}/vulnerabilities{bad}")).send().await.unwrap(),
                StatusCode::BAD_REQUEST,
                "bad_request",
            ).await;
        }
        expect_error(
            app.get("/api/v1/releases/999999/vulnerabilities").send().await.unwrap(),
            StatusCode::NOT_FOUND,
            "not_found",
        ).await;

        let summary = json_of(
            app.get(&format!("/api/v1/products/{product_id}/vulnerability-summary")).send().await.unwrap(),
            StatusCode::OK,
        ).await;
        assert_eq!(summary["vulnerabilities"], 3);
        assert_eq!(summary["findings"], 3);
        assert_eq!(summary["kev"], 1);
        assert_eq!(summary["by_severity"]["critical"], 1);
        assert_eq!(summary["by_severity"]["medium"], 2);
        assert!(summary["last_analysed_at"].is_string());
    }

    async fn cpe_matching_only_for_products_that_turn_it_on(app) {
        let store = store_of(&app).await;
        let page = json!({"resultsPerPage": 1, "startIndex": 0, "totalResults": 1, "format": "NVD_CVE",
            "version": "2.0", "timestamp": "2024-01-03T00:00:00.000",
            "vulnerabilities": [{"cve": {"id": "CVE-2099-0100", "sourceIdentifier": "cve@mitre.org",
                "published": "2024-01-01T00:00:00.000", "lastModified": "2024-01-02T00:00:00.000",
                "vulnStatus": "Analyzed", "descriptions": [{"lang": "en", "value": "Acme widget overflow"}],
                "metrics": {"cvssMetricV31": [{"source": "nvd@nist.gov", "type": "Primary",
                    "cvssData": {"version": "3.1", "vectorString": CRITICAL, "baseScore": 9.8, "baseSeverity": "CRITICAL"}}]},
                "configurations": [{"nodes": [{"operator": "OR", "negate": false, "cpeMatch": [
                    {"vulnerable": true, "criteria": "cpe:2.3:a:acme:widget:*:*:*:*:*:*:*:*",
                     "versionEndExcluding": "2.1", "matchCriteriaId": "00000000-0000-0000-0000-000000000001"}]}]}],
                "references": []}}]});
        let parsed = parse_nvd_page(page.to_string().as_bytes()).unwrap();
        assert_eq!(parsed.advisories.records.len(), 1);
        store.ingest_advisories("nvd", &parsed.advisories.records).await.unwrap();
        app.wait_for_index().await;
        let sbom = || {
            json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": [
                {"type": "application", "name": "widget", "version": "2.0", "cpe": "cpe:2.3:a:acme:widget:2.0:*:*:*:*:*:*:*"},
                {"type": "application", "name": "widget", "version": "2.1", "cpe": "cpe:2.3:a:acme:widget:2.1:*:*:*:*:*:*:*"}
            ]}).to_string().into_bytes()
        };
        let (product_id, release_id) = release(&app, "cpe").await;
        let off = upload_and_wait(&app, release_id, sbom()).await;
        assert_eq!(off["analysis"]["findings_count"], 0, "CPE matching is off by default");

        let updated = app.request(reqwest::Method::PATCH, &format!("/api/v1/products/{product_id}"))
            .json(&json!({"cpe_matching": true})).send().await.unwrap();
        assert_eq!(updated.status(), StatusCode::OK);
        let on = upload_and_wait(&app, release_id, sbom()).await;
        assert_eq!(on["analysis"]["findings_count"], 1, "{on}");
        let finding = &on["findings"][0];
        assert_eq!(finding["component"]["version"], "2.0");
        assert_eq!(finding["evidence"]["matched_by"], "cpe");
        assert_eq!(finding["evidence"]["identifier"], "cpe:2.3:a:acme:widget:*:*:*:*:*:*:*:*");
        assert!(finding["evidence"]["detail"].as_str().unwrap().contains("versionEndExcluding 2.1"), "{finding}");
        assert_eq!(finding["vulnerability"]["source"], "nvd");
    }

    async fn finding_ids_are_never_reused(app) {
        load_knowledge_base(&app).await;
        let (_, release_id) = release(&app, "ids").await;
        let finding_ids = |uploaded: &Value| -> Vec<i64> {
            let mut ids: Vec<i64> = uploaded["findings"].as_array().unwrap().iter()
                .map(|f| f["id"].as_i64().unwrap()).collect();
            ids.sort_unstable();
            ids
        };
        let first = upload_and_wait(&app, release_id, edge_sbom()).await;
        let first_ids = finding_ids(&first);
        assert_eq!(first_ids.len(), 3, "{first}");
        // The SBOM with the newest findings goes: a new id must not take a deleted one's place
        // (events and webhook receivers name findings by id).
        let sbom_id = first["sbom"]["id"].as_i64().unwrap();
        let response = app.request(reqwest::Method::DELETE, &format!("/api/v1/sboms/{sbom_id}"))
            .send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let second = upload_and_wait(&app, release_id, edge_sbom()).await;
        let second_ids = finding_ids(&second);
        assert_eq!(second_ids.len(), 3, "{second}");
        assert!(second_ids[0] > *first_ids.last().unwrap(), "{first_ids:?} then {second_ids:?}");
        let events: Value = json_of(
            app.get("/api/v1/finding-events").send().await.unwrap(), StatusCode::OK).await;
        let mut named: Vec<i64> = events.as_array().unwrap().iter()
            .map(|e| e["finding_id"].as_i64().unwrap()).collect();
        named.sort_unstable();
        assert_eq!(named, [first_ids, second_ids].concat(), "{events}");
    }

    async fn knowledge_base_changes_reanalyse_only_the_sboms_they_touch(app) {
        let store = load_knowledge_base(&app).await;
        let team = team_id(&app).await;
        let (_, touched_release) = release(&app, "touched").await;
        let (_, other_release) = release(&app, "untouched").await;
        let touched = upload_and_wait(&app, touched_release, edge_sbom()).await;
        let untouched = upload_and_wait(&app, other_release, cyclonedx(&[
            ("left-pad", "1.0.0", Some("pkg:npm/left-pad@1.0.0")),
        ])).await;
        let touched_sbom = touched["sbom"]["id"].as_i64().unwrap();
        let untouched_sbom = untouched["sbom"]["id"].as_i64().unwrap();
        let events_before: Vec<Value> = json_of(
            app.get("/api/v1/finding-events").send().await.unwrap(), StatusCode::OK).await
            .as_array().unwrap().clone();
        assert_eq!(events_before.len(), 3, "one finding.new per first finding");
        let last_event = events_before.last().unwrap()["id"].as_i64().unwrap();

        // A new record on lodash: only the SBOM with lodash is analysed again.
        let new_record = osv("GHSA-lodash-0002", &[], "2024-02-01T00:00:00Z", json!({
            "package": {"ecosystem": "npm", "name": "lodash"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "4.0.0"}, {"fixed": "4.17.21"}]}],
        }), MEDIUM);
        ingest_osv(&store, std::slice::from_ref(&new_record)).await;
        let analyses = wait_for_reanalysis(&store, team, touched_sbom, 1).await;
        let latest = analyses.last().unwrap();
        assert_eq!(latest.reason, "knowledge_base");
        assert_eq!(latest.findings_count, Some(4));
        assert_eq!(latest.new_findings_count, Some(1));
        let new_only = vulnerabilities(&app, touched_release, "?new=true").await;
        assert_eq!(ids(&new_only), vec![("GHSA-lodash-0002".to_string(), "pkg:npm/lodash@4.17.20".to_string())]);
        assert_eq!(vulnerabilities(&app, touched_release, "?new=false").await["total"], 3);
        let events: Value = json_of(
            app.get(&format!("/api/v1/finding-events?after={last_event}")).send().await.unwrap(),
            StatusCode::OK).await;
        assert_eq!(events.as_array().unwrap().len(), 1, "{events}");
        assert_eq!(events[0]["kind"], "finding.new");
        assert_eq!(events[0]["sbom_id"], touched_sbom);
        let untouched_analyses = store.analyses_of_sbom(team, untouched_sbom).await.unwrap();
        assert_eq!(untouched_analyses.len(), 1, "no change touched left-pad");

        // The record is withdrawn: the finding is resolved and says so in an event.
        let mut withdrawn = new_record.clone();
        withdrawn["modified"] = json!("2024-03-01T00:00:00Z");
        withdrawn["withdrawn"] = json!("2024-03-01T00:00:00Z");
        ingest_osv(&store, &[withdrawn]).await;
        let analyses = wait_for_reanalysis(&store, team, touched_sbom, 2).await;
        assert_eq!(analyses.last().unwrap().findings_count, Some(3));
        let page = vulnerabilities(&app, touched_release, "").await;
        assert!(!ids(&page).iter().any(|(id, _)| id == "GHSA-lodash-0002"));
        let events: Value = json_of(
            app.get(&format!("/api/v1/finding-events?after={last_event}")).send().await.unwrap(),
            StatusCode::OK).await;
        assert_eq!(events.as_array().unwrap().len(), 2, "{events}");
        assert_eq!(events[1]["kind"], "finding.resolved");
        assert_eq!(store.analyses_of_sbom(team, untouched_sbom).await.unwrap().len(), 1);

        // A record moves off lodash: no component names its new package, so only the open
        // finding of its alias group leads back to the SBOM, which resolves it.
        let moving = osv("GHSA-lodash-0003", &[], "2024-04-01T00:00:00Z", json!({
            "package": {"ecosystem": "npm", "name": "lodash"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "4.0.0"}, {"fixed": "4.17.21"}]}],
        }), MEDIUM);
        ingest_osv(&store, std::slice::from_ref(&moving)).await;
        let analyses = wait_for_reanalysis(&store, team, touched_sbom, 3).await;
        assert_eq!(analyses.last().unwrap().findings_count, Some(4));
        let mut moved = moving.clone();
        moved["modified"] = json!("2024-05-01T00:00:00Z");
        moved["affected"][0]["package"]["name"] = json!("lodash-renamed-elsewhere");
        ingest_osv(&store, &[moved]).await;
        let analyses = wait_for_reanalysis(&store, team, touched_sbom, 4).await;
        assert_eq!(analyses.last().unwrap().reason, "knowledge_base");
        assert_eq!(analyses.last().unwrap().findings_count, Some(3));
        let page = vulnerabilities(&app, touched_release, "").await;
        assert!(!ids(&page).iter().any(|(id, _)| id == "GHSA-lodash-0003"), "{page}");
        assert_eq!(store.analyses_of_sbom(team, untouched_sbom).await.unwrap().len(), 1);
    }
}
