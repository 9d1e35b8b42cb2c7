//! `rampart scan --vex` as a CI pipeline runs it: the real binary, a database loaded with the
//! RustSec advisories, and VEX documents in each format deciding the findings of a lockfile.

use serde_json::Value;

use crate::scan::{lockfile, rustsec_database, scan};

/// OpenVEX: smallvec's RUSTSEC-2021-0003 (named by its CVE alias) is not affected; the same
/// advisory said of chacha20 (which does not have it) and an absent CVE decide nothing.
const OPENVEX: &str = r#"{"@context": "https://openvex.dev/ns/v0.2.0",
  "@id": "https://vex.example.com/ci/1", "author": "Example", "timestamp": "2024-01-01T00:00:00Z",
  "version": 1,
  "statements": [
    {"vulnerability": {"name": "CVE-2021-25900"}, "products": [{"@id": "pkg:cargo/smallvec@1.6.0"}],
     "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"},
    {"vulnerability": {"name": "RUSTSEC-2021-0003"}, "products": [{"@id": "pkg:cargo/chacha20@0.2.2"}],
     "status": "not_affected", "justification": "vulnerable_code_not_present"},
    {"vulnerability": {"name": "CVE-1999-0001"}, "products": [{"@id": "pkg:cargo/chacha20@0.2.2"}],
     "status": "not_affected", "justification": "vulnerable_code_not_present"}
  ]}"#;

/// CSAF VEX: chacha20 0.2.2's CVE-2019-25005 is fixed (a backport, say).
const CSAF: &str = r#"{"document": {"category": "csaf_vex", "csaf_version": "2.0",
    "publisher": {"category": "vendor", "name": "Example", "namespace": "https://example.com"},
    "title": "chacha20", "tracking": {"id": "EX-1", "version": "1", "status": "final",
      "initial_release_date": "2024-01-01T00:00:00Z", "current_release_date": "2024-01-01T00:00:00Z",
      "revision_history": [{"date": "2024-01-01T00:00:00Z", "number": "1", "summary": "First."}]}},
  "product_tree": {"full_product_names": [{"name": "chacha20 0.2.2", "product_id": "CSAFPID-1",
      "product_identification_helper": {"purl": "pkg:cargo/chacha20@0.2.2"}}]},
  "vulnerabilities": [{"cve": "CVE-2019-25005", "product_status": {"fixed": ["CSAFPID-1"]}}]}"#;

/// CycloneDX XML: chacha20's advisory (by its GHSA alias) is exploitable after all.
const CYCLONEDX_XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1">
  <components>
    <component type="library" bom-ref="chacha20"><name>chacha20</name><version>0.2.2</version>
      <purl>pkg:cargo/chacha20@0.2.2</purl></component>
  </components>
  <vulnerabilities>
    <vulnerability><id>GHSA-j2r6-2m5c-vgh5</id><recommendation>Upgrade to 0.2.3.</recommendation>
      <analysis><state>exploitable</state><responses><response>update</response></responses></analysis>
      <affects><target><ref>chacha20</ref></target></affects></vulnerability>
  </vulnerabilities>
</bom>"#;

fn ids(report: &Value, list: &str) -> Vec<String> {
    report[list]
        .as_array()
        .map(|findings| {
            findings
                .iter()
                .map(|f| f["id"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn vex_documents_in_every_format_suppress_what_they_decide_and_nothing_else() {
    let Some((db, _root)) = rustsec_database() else {
        return;
    };
    let (work, lock) = lockfile(&[("smallvec", "1.6.0"), ("chacha20", "0.2.2")]);
    let lock = lock.to_str().unwrap().to_string();
    let file = |name: &str, text: &str| {
        let path = work.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let openvex = file("decisions.openvex.json", OPENVEX);
    let csaf = file("chacha20.csaf.json", CSAF);
    let cyclonedx = file("chacha20.cdx.xml", CYCLONEDX_XML);

    // Without VEX both findings fail the run.
    let (code, stdout, _) = scan(db.path(), &["--json", "--fail-on", "unknown", &lock]);
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        ids(&report, "findings"),
        ["RUSTSEC-2021-0003", "RUSTSEC-2019-0029"]
    );
    assert!(report.get("vex").is_none(), "no --vex, no vex section");

    // OpenVEX: smallvec's finding leaves; the statement about chacha20's (absent) copy of the
    // same advisory does not touch anything, and says why.
    let (code, stdout, stderr) = scan(
        db.path(),
        &["--json", "--fail-on", "unknown", "--vex", &openvex, &lock],
    );
    assert_eq!(code, 1, "chacha20's finding still fails the run");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(ids(&report, "findings"), ["RUSTSEC-2019-0029"]);
    let vex = &report["vex"];
    assert_eq!(vex["suppressed"], 1);
    assert_eq!(
        vex["suppressed_by_reason"],
        serde_json::json!({"not_affected (code_not_reachable)": 1})
    );
    let document = &vex["documents"][0];
    assert_eq!(document["format"], "openvex");
    assert_eq!(document["statements"], 3);
    assert_eq!(document["applied"], 1);
    assert_eq!(document["unmatched"][0]["statement"], 1);
    assert_eq!(document["skipped"][0]["reason"], "no_such_vulnerability");
    assert!(
        stderr.contains("vex: ") && stderr.contains("CVE-1999-0001"),
        "{stderr}"
    );
    assert!(report.get("suppressed_findings").is_none());

    // CSAF on top: nothing left to fail.
    let (code, table, stderr) = scan(
        db.path(),
        &[
            "--fail-on",
            "unknown",
            "--vex",
            &openvex,
            "--vex",
            &csaf,
            &lock,
        ],
    );
    assert_eq!(code, 0, "{table}\n{stderr}");
    assert!(table.starts_with("0 findings in 2 packages"), "{table}");
    assert!(
        table.contains(
            "VEX: 2 findings suppressed (1 not_affected (code_not_reachable), 1 resolved)"
        ),
        "{table}"
    );
    assert!(
        table.contains("(csaf): 1 of 1 statements applied"),
        "{table}"
    );

    // --include-suppressed lists them, with the decision, and still passes.
    let (code, stdout, _) = scan(
        db.path(),
        &[
            "--json",
            "--include-suppressed",
            "--fail-on",
            "unknown",
            "--vex",
            &openvex,
            "--vex",
            &csaf,
            &lock,
        ],
    );
    assert_eq!(code, 0);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert!(ids(&report, "findings").is_empty());
    let suppressed = report["suppressed_findings"].as_array().unwrap();
    assert_eq!(suppressed.len(), 2);
    let chacha20 = suppressed
        .iter()
        .find(|f| f["id"] == "RUSTSEC-2019-0029")
        .unwrap();
    assert_eq!(chacha20["vex"]["state"], "resolved");
    assert_eq!(chacha20["vex"]["document"], csaf.as_str());
    let (_, table, _) = scan(db.path(), &["--include-suppressed", "--vex", &csaf, &lock]);
    assert!(
        table.contains("Suppressed by VEX:") && table.contains("RUSTSEC-2019-0029"),
        "{table}"
    );

    // A later document wins: CycloneDX XML says exploitable, which does not suppress.
    let (code, stdout, _) = scan(
        db.path(),
        &[
            "--json",
            "--fail-on",
            "unknown",
            "--vex",
            &csaf,
            "--vex",
            &cyclonedx,
            &lock,
        ],
    );
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let chacha20 = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "RUSTSEC-2019-0029")
        .unwrap();
    assert_eq!(chacha20["vex"]["state"], "exploitable");
    assert_eq!(chacha20["vex"]["responses"], serde_json::json!(["update"]));
    assert_eq!(chacha20["vex"]["action_statement"], "Upgrade to 0.2.3.");
    assert_eq!(report["vex"]["suppressed"], 0);
}

#[test]
fn an_unreadable_vex_file_is_bad_input_that_names_the_problem() {
    let Some((db, _root)) = rustsec_database() else {
        return;
    };
    let (work, lock) = lockfile(&[("smallvec", "1.6.0")]);
    let lock = lock.to_str().unwrap();
    let not_vex = work.path().join("not-vex.json");
    std::fs::write(&not_vex, r#"{"hello": "world"}"#).unwrap();
    let (code, stdout, stderr) = scan(
        db.path(),
        &["--fail-on", "low", "--vex", not_vex.to_str().unwrap(), lock],
    );
    assert_eq!(code, 2, "{stdout}");
    assert!(
        stderr.contains("VEX file")
            && stderr.contains("not-vex.json")
            && stderr.contains("not a VEX document"),
        "{stderr}"
    );
    let broken = work.path().join("broken.openvex.json");
    std::fs::write(
        &broken,
        "{\"@context\": \"https://openvex.dev/ns/v0.2.0\",\n \"statements\": [}",
    )
    .unwrap();
    let (code, _, stderr) = scan(db.path(), &["--vex", broken.to_str().unwrap(), lock]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("broken.openvex.json") && stderr.contains("line 2"),
        "{stderr}"
    );
    let missing = work.path().join("missing.json");
    let (code, _, stderr) = scan(db.path(), &["--vex", missing.to_str().unwrap(), lock]);
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot read VEX file"), "{stderr}");
    // --include-suppressed means nothing without --vex.
    let (code, _, _) = scan(db.path(), &["--include-suppressed", lock]);
    assert_eq!(code, 2);
}
