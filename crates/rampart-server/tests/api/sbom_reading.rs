//! What SBOM upload makes of identifiers and documents as real generators write them: a Go
//! SBOM in syft/Trivy style matched against real Go OSV records with literal expected
//! findings, components whose package cannot be determined counted with their reasons, and a
//! repeated `bom-ref` tolerated with a located warning.

use rampart_formats::advisory::parse_osv_json;
use rampart_store::Store;
use rampart_test_support::{backend_tests, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn upload_and_wait(
    app: &TestApp,
    release_id: i64,
    content_type: &str,
    body: String,
) -> Value {
    let response = app
        .post(&format!("/api/v1/releases/{release_id}/sboms?wait=true"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["analysis"]["status"], "completed", "{body}");
    body
}

/// A syft/Trivy-shaped CycloneDX SBOM of two Go binaries in one image: each binary's
/// toolchain as `stdlib` (Trivy writes `v1.19.0`; syft writes `1.22.4` without the `v`), a
/// vanity module path without a `/`, and ordinary modules.
const GO_SBOM: &str = r#"{
  "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
  "serialNumber": "urn:uuid:1b7c2a4e-9d55-4a8e-8f0e-6a3f0c2d9b11",
  "metadata": {
    "timestamp": "2024-07-10T09:00:00Z",
    "tools": {"components": [{"type": "application", "author": "anchore", "name": "syft", "version": "1.8.0"}]},
    "component": {"bom-ref": "image", "type": "container", "name": "registry.example/go-services", "version": "sha256:5d1b"}
  },
  "components": [
    {"bom-ref": "pkg:golang/stdlib@v1.19.0?package-id=1", "type": "library", "name": "stdlib", "version": "v1.19.0",
     "purl": "pkg:golang/stdlib@v1.19.0",
     "properties": [{"name": "syft:location:0:path", "value": "/usr/local/bin/api"}]},
    {"bom-ref": "pkg:golang/stdlib@1.22.4?package-id=2", "type": "library", "name": "stdlib", "version": "go1.22.4",
     "purl": "pkg:golang/stdlib@1.22.4",
     "properties": [{"name": "syft:location:0:path", "value": "/usr/local/bin/worker"}]},
    {"bom-ref": "pkg:golang/stdlib@1.22.5?package-id=3", "type": "library", "name": "stdlib", "version": "go1.22.5",
     "purl": "pkg:golang/stdlib@1.22.5"},
    {"bom-ref": "pkg:golang/aahframe.work@v0.12.0?package-id=4", "type": "library", "name": "aahframe.work", "version": "v0.12.0",
     "purl": "pkg:golang/aahframe.work@v0.12.0"},
    {"bom-ref": "pkg:golang/github.com/gin-gonic/gin@v1.5.0?package-id=5", "type": "library", "name": "github.com/gin-gonic/gin", "version": "v1.5.0",
     "purl": "pkg:golang/github.com/gin-gonic/gin@v1.5.0"},
    {"bom-ref": "pkg:golang/github.com/gin-gonic/gin@v1.6.0?package-id=6", "type": "library", "name": "github.com/gin-gonic/gin", "version": "v1.6.0",
     "purl": "pkg:golang/github.com/gin-gonic/gin@v1.6.0"},
    {"bom-ref": "pkg:golang/golang.org/x/net@v0.7.0?package-id=7", "type": "library", "name": "golang.org/x/net", "version": "v0.7.0",
     "purl": "pkg:golang/golang.org/x/net@v0.7.0"}
  ]
}"#;

backend_tests! {
    async fn a_go_sbom_with_stdlib_and_single_segment_modules_gets_its_findings(app) {
        let Some(root) = rampart_test_data::root() else { return };
        // The real Go records in the shared corpora (osv-schema's linter fixtures, copied from
        // the Go vulnerability database): GO-2024-2963, stdlib, affected [0, 1.21.12) and
        // [1.22.0-0, 1.22.5); GO-2020-0001, github.com/gin-gonic/gin, affected [0, 1.6.0).
        let dir = root.join("peer-tests/osv-schema/tools/osv-linter/testdata");
        let mut records = Vec::new();
        for file in ["GO-2024-2963.json", "GO-2020-0001.json"] {
            records.extend(parse_osv_json(&std::fs::read(dir.join(file)).unwrap()).unwrap().records);
        }
        let store = Store::connect(&app.config.database).await.unwrap();
        store.ingest_advisories("osv", &records).await.unwrap();
        store.close().await;
        app.wait_for_index().await;

        let release_id = app.create_release("go services").await;
        let uploaded = upload_and_wait(&app, release_id, "application/vnd.cyclonedx+json", GO_SBOM.into()).await;
        assert_eq!(uploaded["analysis"]["resolved_count"], 7, "{}", uploaded["analysis"]);
        assert_eq!(uploaded["analysis"]["ecosystems"], json!({"Go": 7}));
        assert_eq!(uploaded["sbom"]["unmatched_components"], json!({"count": 0, "reasons": []}));
        let mut found: Vec<(String, String, String)> = uploaded["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["component"]["purl"].as_str().unwrap().to_string(),
                    f["vulnerability"]["id"].as_str().unwrap().to_string(),
                    f["fixed_versions"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect::<Vec<_>>().join(","),
                )
            })
            .collect();
        found.sort();
        // Checked by hand against the two records: 1.19.0 < 1.21.12; 1.22.4 in [1.22.0-0,
        // 1.22.5); 1.22.5 is the fix; gin 1.5.0 < 1.6.0, 1.6.0 is the fix; aahframe.work and
        // x/net have no record here. A finding lists every fixed version of its range.
        let expected = [
            ("pkg:golang/github.com/gin-gonic/gin@v1.5.0", "GO-2020-0001", "1.6.0"),
            ("pkg:golang/stdlib@1.22.4", "GO-2024-2963", "1.21.12,1.22.5"),
            ("pkg:golang/stdlib@v1.19.0", "GO-2024-2963", "1.21.12,1.22.5"),
        ]
        .map(|(purl, id, fixed)| (purl.to_string(), id.to_string(), fixed.to_string()));
        assert_eq!(found, expected);

        // The single-segment module path resolves to its Go package although it has no record.
        let sbom_id = uploaded["sbom"]["id"].as_i64().unwrap();
        let components: Value = app
            .get(&format!("/api/v1/sboms/{sbom_id}/components?q=aahframe"))
            .send().await.unwrap().json().await.unwrap();
        assert_eq!(components["items"][0]["ecosystem"], "Go");
        assert_eq!(components["items"][0]["package_name"], "aahframe.work");

        // `/v1/query` reads the same purl the same way (it answered 400 before).
        let response = app.post("/v1/query").json(&json!({"package": {"purl": "pkg:golang/stdlib@v1.19.0"}})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["vulns"][0]["id"], "GO-2024-2963");
        assert_eq!(answer["vulns"].as_array().unwrap().len(), 1);
    }

    async fn components_without_a_package_are_counted_with_their_reason(app) {
        let release_id = app.create_release("unmatched").await;
        let sbom = r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": [
            {"type": "library", "name": "lodash", "version": "4.17.20", "purl": "pkg:npm/lodash@4.17.20"},
            {"type": "library", "name": "vendored-zlib", "version": "1.2.11"},
            {"type": "library", "name": "openssl", "version": "1.1.1k", "purl": "pkg:generic/openssl@1.1.1k"},
            {"type": "library", "name": "commons-io", "version": "2.6", "purl": "pkg:maven/commons-io@2.6"},
            {"type": "library", "name": "nginx", "version": "1.20.1", "cpe": "cpe:2.3:a:f5:nginx:1.20.1:*:*:*:*:*:*:*"},
            {"type": "library", "name": "left-pad", "version": "1.3.0"}
        ]}"#;
        let uploaded = upload_and_wait(&app, release_id, "application/vnd.cyclonedx+json", sbom.into()).await;
        let expected = json!({
            "count": 5,
            "reasons": [
                {"reason": "no_identifier", "description": "no package URL and no CPE", "count": 2,
                 "examples": ["vendored-zlib 1.2.11", "left-pad 1.3.0"]},
                {"reason": "cpe_only", "description": "no package URL, only a CPE (matched only when the product turns on CPE matching)", "count": 1,
                 "examples": ["nginx 1.20.1: cpe:2.3:a:f5:nginx:1.20.1:*:*:*:*:*:*:*"]},
                {"reason": "no_osv_ecosystem", "description": "the package URL's type or distribution has no OSV ecosystem", "count": 1,
                 "examples": ["openssl 1.1.1k: pkg:generic/openssl@1.1.1k: type generic"]},
                {"reason": "unreadable_purl", "description": "the package URL cannot be read", "count": 1,
                 "examples": ["commons-io 2.6: invalid purl input \"pkg:maven/commons-io@2.6\": type maven requires a namespace"]},
            ]
        });
        assert_eq!(uploaded["sbom"]["unmatched_components"], expected);
        let sbom_id = uploaded["sbom"]["id"].as_i64().unwrap();
        let fetched: Value = app.get(&format!("/api/v1/sboms/{sbom_id}")).send().await.unwrap().json().await.unwrap();
        assert_eq!(fetched["unmatched_components"], expected);
        assert_eq!(fetched["warnings"], json!([]));
    }

    async fn a_repeated_bom_ref_is_accepted_with_a_warning_on_the_sbom(app) {
        let release_id = app.create_release("repeats").await;
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<bom xmlns="http://cyclonedx.org/schema/bom/1.5" version="1">
  <components>
    <component type="library" bom-ref="pkg:maven/org.jdbi/jdbi3-core@3.45.1?type=jar">
      <group>org.jdbi</group><name>jdbi3-core</name><version>3.45.1</version>
      <purl>pkg:maven/org.jdbi/jdbi3-core@3.45.1?type=jar</purl>
    </component>
    <component type="library" bom-ref="pkg:maven/org.jdbi/jdbi3-core@3.45.1?type=jar">
      <group>org.jdbi</group><name>jdbi3-core</name><version>3.45.1</version>
      <purl>pkg:maven/org.jdbi/jdbi3-core@3.45.1?type=jar</purl>
    </component>
  </components>
</bom>
"#;
        let uploaded = upload_and_wait(&app, release_id, "application/vnd.cyclonedx+xml", xml.into()).await;
        let sbom = &uploaded["sbom"];
        assert_eq!(sbom["component_count"], 1);
        assert_eq!(
            sbom["warnings"],
            json!([{
                "message": "duplicate bom-ref \"pkg:maven/org.jdbi/jdbi3-core@3.45.1?type=jar\" (first used at line 4, column 5): merged into the identical first component",
                "line": 8, "column": 5,
            }])
        );
        let fetched: Value = app.get(&format!("/api/v1/sboms/{}", sbom["id"])).send().await.unwrap().json().await.unwrap();
        assert_eq!(fetched["warnings"], sbom["warnings"]);
    }
}
