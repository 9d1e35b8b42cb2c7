//! Written logs validate against the OASIS SARIF 2.1.0 JSON schema from the shared test data.

use super::write::tests::{critical, NO_FIX};
use super::write::{write_package_findings, PackageFinding};
use rampart_test_data::format_checks::SchemaCheck;

fn validate(log: &serde_json::Value) -> Result<(), String> {
    let root = rampart_test_data::root().expect("test data");
    let schema = root.join("sarif/oasis-sarif-spec/sarif-2.1/schema/sarif-schema-2.1.0.json");
    let errors = SchemaCheck::load(&schema, &[]).errors(&serde_json::to_vec(log).unwrap());
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n"))
    }
}

#[test]
fn written_logs_validate_against_the_sarif_2_1_0_schema() {
    if rampart_test_data::root().is_none() {
        return;
    }
    let fixed = ["1.6.1".to_string(), "2.0.0".to_string()];
    let aliases = ["CVE-2021-25900".to_string()];
    let informational = PackageFinding {
        id: "RUSTSEC-2020-0025",
        informational: Some("unmaintained"),
        severity: None,
        cvss_score: None,
        package_purl: None,
        package_version: None,
        ..critical(NO_FIX, NO_FIX)
    };
    for findings in [
        vec![],
        vec![critical(&fixed, &aliases)],
        vec![critical(&fixed, &aliases), informational],
    ] {
        let log = serde_json::to_value(write_package_findings(
            "rampart",
            "0.1.0",
            "crates/app/Cargo.lock",
            &findings,
        ))
        .unwrap();
        if let Err(error) = validate(&log) {
            panic!("{error}\n{log:#}");
        }
    }
}

/// The validator is not vacuous: a log the schema rejects (a level SARIF does not define) is
/// refused.
#[test]
fn the_schema_check_refuses_an_invalid_log() {
    if rampart_test_data::root().is_none() {
        return;
    }
    let mut log = serde_json::to_value(write_package_findings(
        "rampart",
        "0.1.0",
        "Cargo.lock",
        &[critical(NO_FIX, NO_FIX)],
    ))
    .unwrap();
    log["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(validate(&log).is_err());
}
