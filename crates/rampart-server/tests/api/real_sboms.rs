//! Real SBOMs of every input format (CycloneDX JSON and XML, SPDX JSON and tag-value) from
//! ../shared/data, analysed on both backends against real advisory corpora, get exactly the
//! findings written down in `tests/data/real_sbom_findings.tsv`: expectations computed
//! outside Rampart and checked by hand (see that file and `real_sbom_findings.py`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rampart_formats::advisory::parse_osv_json;
use rampart_store::Store;
use rampart_test_support::{backend_tests, TestApp};
use reqwest::StatusCode;
use serde_json::Value;

use crate::products::{create_product, create_release, json_of};

const EXPECTED: &str = include_str!("../data/real_sbom_findings.tsv");

/// Each SBOM with the document format the server must detect (sent as plain JSON, XML or
/// text, so that the format comes from the content).
const SBOMS: [(&str, &str); 5] = [
    (
        "cyclonedx-bom-examples/SBOM/proton-bridge/proton-bridge-v1.6.3.bom.json",
        "cyclonedx_json",
    ),
    (
        "cyclonedx-bom-examples/SBOM/juice-shop/v11.1.2/bom.json",
        "cyclonedx_json",
    ),
    (
        "cyclonedx-bom-examples/SBOM/proton-bridge/proton-bridge-v1.8.0.bom.xml",
        "cyclonedx_xml",
    ),
    (
        "spdx-examples/software/example11/spdx2.3/sbom.spdx.json",
        "spdx_json",
    ),
    (
        "spdx-examples/_spdx-spec-2.3.1/examples/SPDXTagExample-v2.3.spdx",
        "spdx_tag_value",
    ),
];

/// SBOM path → the (component purl, record id) findings written down for it.
fn expected() -> BTreeMap<&'static str, BTreeSet<(String, String)>> {
    let mut expected: BTreeMap<&str, BTreeSet<(String, String)>> = BTreeMap::new();
    for line in EXPECTED
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let [sbom, purl, record] = line.split('\t').collect::<Vec<_>>()[..] else {
            panic!("malformed line {line:?}");
        };
        let findings = expected.entry(sbom).or_default();
        if purl != "-" {
            findings.insert((purl.to_string(), record.to_string()));
        }
    }
    expected
}

/// RustSec's OSV export, the GHSA advisories of the OSV schema's converter tests and the Go
/// record among the OSV linter's samples (the others there are broken on purpose): every
/// file must parse.
async fn load_corpora(app: &TestApp, root: &Path) {
    let mut files = Vec::new();
    for (dir, suffix) in [
        ("rustsec-advisory-db/osv/crates", ".json"),
        ("peer-tests/osv-schema/tools/ghsa/testdata", ".osv.json"),
    ] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.to_string_lossy().ends_with(suffix) {
                files.push(path);
            }
        }
    }
    files.push(root.join("peer-tests/osv-schema/tools/osv-linter/testdata/GO-2020-0001.json"));
    assert!(files.len() > 1000, "only {} records", files.len());
    let mut records = Vec::new();
    for file in &files {
        let parsed = parse_osv_json(&std::fs::read(file).unwrap())
            .unwrap_or_else(|error| panic!("{}: {error}", file.display()));
        records.extend(parsed.records);
    }
    let store = Store::connect(&app.config.database).await.unwrap();
    for chunk in records.chunks(500) {
        store.ingest_advisories("osv", chunk).await.unwrap();
    }
    store.close().await;
    app.wait_for_index().await;
}

backend_tests! {
    async fn real_sboms_of_every_format_get_the_findings_written_down(app) {
        let Some(root) = rampart_test_data::root() else { return };
        load_corpora(&app, &root).await;
        let expected = expected();
        assert_eq!(
            expected.keys().copied().collect::<BTreeSet<_>>(),
            SBOMS.iter().map(|(path, _)| *path).collect::<BTreeSet<_>>(),
            "every SBOM has its expectation"
        );
        for (index, (path, document_format)) in SBOMS.iter().enumerate() {
            let product = create_product(&app, &format!("real-{index}")).await;
            let release = create_release(&app, product["id"].as_i64().unwrap(), "1.0.0").await;
            let release_id = release["id"].as_i64().unwrap();
            let content_type = match path.rsplit('.').next() {
                Some("json") => "application/json",
                Some("xml") => "application/xml",
                _ => "text/plain; charset=utf-8",
            };
            let uploaded = json_of(
                app.post(&format!("/api/v1/releases/{release_id}/sboms?wait=true"))
                    .header("content-type", content_type)
                    .body(std::fs::read(root.join(path)).unwrap())
                    .send()
                    .await
                    .unwrap(),
                StatusCode::CREATED,
            )
            .await;
            assert_eq!(uploaded["sbom"]["document_format"], *document_format, "{path}");
            assert_eq!(uploaded["analysis"]["status"], "completed", "{path}: {uploaded}");

            let page = json_of(
                app.get(&format!("/api/v1/releases/{release_id}/vulnerabilities?per_page=100"))
                    .send()
                    .await
                    .unwrap(),
                StatusCode::OK,
            )
            .await;
            let items = page["items"].as_array().unwrap();
            assert_eq!(page["total"], items.len(), "{path}: one page holds them all");
            let found: BTreeSet<(String, String)> = items
                .iter()
                .map(|finding: &Value| {
                    (
                        finding["component"]["purl"].as_str().unwrap_or("").to_string(),
                        finding["vulnerability"]["id"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            assert_eq!(found.len(), items.len(), "{path}: a finding repeated: {page}");
            assert_eq!(&found, &expected[path], "{path}");
        }
    }
}
