//! OSV ranges whose `fixed` equals the next `introduced`, answered by `/v1/query` on both
//! backends. Bitnami's apache record for CVE-2021-42013 describes [2.4.49, 2.4.50) and
//! [2.4.50, 2.4.51): 2.4.50 was the incomplete fix, so it is affected. The expected answers
//! are written down, not computed.

use rampart_formats::advisory::parse_osv_json;
use rampart_store::Store;
use rampart_test_support::backend_tests;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Bitnami's record (CVE-2021-42013) with `events`; no aliases, so that the two copies stay
/// two records.
fn bitnami_apache(id: &str, events: Value) -> Value {
    json!({
        "schema_version": "1.5.0",
        "id": id,
        "modified": "2024-03-06T10:54:39Z",
        "summary": "Path traversal and remote code execution in Apache HTTP Server 2.4.49 and 2.4.50",
        "affected": [{
            "package": {"ecosystem": "Bitnami", "name": "apache", "purl": "pkg:bitnami/apache"},
            "ranges": [{"type": "SEMVER", "events": events}],
        }],
    })
}

backend_tests! {
    async fn query_finds_the_version_shared_by_adjacent_intervals(app) {
        let records = [
            bitnami_apache("BIT-apache-2021-42013", json!([
                {"introduced": "2.4.49"}, {"fixed": "2.4.50"}, {"introduced": "2.4.50"}, {"fixed": "2.4.51"}
            ])),
            bitnami_apache("BIT-apache-2021-42013-unsorted", json!([
                {"fixed": "2.4.51"}, {"introduced": "2.4.50"}, {"fixed": "2.4.50"}, {"introduced": "2.4.49"}
            ])),
        ];
        let store = Store::connect(&app.config.database).await.unwrap();
        for record in &records {
            let parsed = parse_osv_json(record.to_string().as_bytes()).unwrap();
            store.ingest_advisories("osv", &parsed.records).await.unwrap();
        }
        store.close().await;
        app.wait_for_index().await;

        let both = ["BIT-apache-2021-42013", "BIT-apache-2021-42013-unsorted"];
        for (version, expected) in [("2.4.48", &[][..]), ("2.4.49", &both[..]), ("2.4.50", &both[..]), ("2.4.51", &[][..])] {
            for package in [json!({"ecosystem": "Bitnami", "name": "apache"}), json!({"purl": format!("pkg:bitnami/apache@{version}")})] {
                let mut query = json!({"package": package});
                if package.get("purl").is_none() {
                    query["version"] = json!(version);
                }
                let response = app.post("/v1/query").json(&query).send().await.unwrap();
                assert_eq!(response.status(), StatusCode::OK);
                let body: Value = response.json().await.unwrap();
                let mut ids: Vec<&str> = body["vulns"].as_array().into_iter().flatten()
                    .map(|vuln| vuln["id"].as_str().unwrap())
                    .collect();
                ids.sort_unstable();
                assert_eq!(ids, expected, "{query}: {body}");
            }
        }
    }
}
