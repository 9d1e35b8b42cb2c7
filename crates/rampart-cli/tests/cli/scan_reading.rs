//! `rampart scan` reads an SBOM's identifiers as the server does: the Go toolchain's
//! namespace-less `pkg:golang/stdlib` purl is matched, and every component it cannot resolve
//! is counted in the summary line with its reason.

use std::process::Command;

/// A data directory holding GO-2024-2963 (stdlib before 1.21.12, and 1.22.0-0 to 1.22.5);
/// `None` without the test data.
fn go_stdlib_record() -> Option<tempfile::TempDir> {
    let root = rampart_test_data::root()?;
    let db = tempfile::tempdir().unwrap();
    let record = root.join("peer-tests/osv-schema/tools/osv-linter/testdata/GO-2024-2963.json");
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["import", "--quiet", "--type", "osv", "--data-dir"])
        .arg(db.path())
        .arg(record)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    Some(db)
}

/// `rampart scan --json` of `sbom` against the data directory `db`, which exits 0.
fn scan_json(db: &std::path::Path, sbom: &std::path::Path) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["scan", "--json", "--db"])
        .arg(db)
        .arg(sbom)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn go_stdlib_is_matched_and_unresolved_components_are_counted_with_reasons() {
    let Some(db) = go_stdlib_record() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let sbom = work.path().join("image.cdx.json");
    std::fs::write(
        &sbom,
        r#"{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": [
            {"type": "library", "name": "stdlib", "version": "v1.19.0", "purl": "pkg:golang/stdlib@v1.19.0"},
            {"type": "library", "name": "aahframe.work", "version": "v0.12.0", "purl": "pkg:golang/aahframe.work@v0.12.0"},
            {"type": "library", "name": "busybox", "version": "1.36.1"},
            {"type": "library", "name": "openssl", "version": "3.0.8", "purl": "pkg:generic/openssl@3.0.8"}
        ]}"#,
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .arg("scan")
        .arg("--db")
        .arg(db.path())
        .arg(&sbom)
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let finding = stdout
        .lines()
        .find(|line| line.contains("GO-2024-2963"))
        .unwrap_or_else(|| panic!("stdlib not matched:\n{stdout}"));
    assert!(
        finding.contains("stdlib") && finding.contains("v1.19.0"),
        "{finding}"
    );
    let summary = stdout.lines().last().unwrap();
    assert!(
        summary.ends_with("; 2 entries not matched (1 no_identifier, 1 no_osv_ecosystem)"),
        "{summary}"
    );
    assert!(
        summary.starts_with("1 finding in 4 packages of "),
        "{summary}"
    );

    let report = scan_json(db.path(), &sbom);
    assert_eq!(report["unmatched_components"]["count"], 2);
    assert_eq!(
        report["unmatched_components"]["reasons"][1]["examples"],
        serde_json::json!(["openssl 3.0.8: pkg:generic/openssl@3.0.8: type generic"])
    );
}

/// A scan large enough to be matched in parts (split by package name) reports what one
/// pass over the input would: the finding, and per reason the count and the first five
/// examples in the input's order, although several parts hold components without a package.
#[test]
fn a_scan_split_in_parts_reports_unmatched_components_in_the_input_order() {
    let Some(db) = go_stdlib_record() else {
        return;
    };

    let mut components = Vec::new();
    let (mut no_identifier, mut no_ecosystem) = (Vec::new(), Vec::new());
    for i in 0..400 {
        let name = format!("component-{i:03}");
        let component = if i % 7 == 3 {
            no_identifier.push(format!("{name} 1.0.{i}"));
            serde_json::json!({"type": "library", "name": name, "version": format!("1.0.{i}")})
        } else if i % 11 == 5 {
            let purl = format!("pkg:generic/{name}@1.0.{i}");
            no_ecosystem.push(format!("{name} 1.0.{i}: {purl}: type generic"));
            serde_json::json!({"type": "library", "name": name, "version": format!("1.0.{i}"), "purl": purl})
        } else if i == 250 {
            serde_json::json!({"type": "library", "name": "stdlib", "version": "v1.19.0", "purl": "pkg:golang/stdlib@v1.19.0"})
        } else {
            serde_json::json!({"type": "library", "name": name, "version": "1.0.0", "purl": format!("pkg:pypi/{name}@1.0.0")})
        };
        components.push(component);
    }
    let work = tempfile::tempdir().unwrap();
    let sbom = work.path().join("large.cdx.json");
    let document = serde_json::json!({
        "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": components
    });
    std::fs::write(&sbom, document.to_string()).unwrap();
    let report = scan_json(db.path(), &sbom);
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["id"], "GO-2024-2963");
    let unmatched = &report["unmatched_components"];
    assert_eq!(
        unmatched["count"],
        (no_identifier.len() + no_ecosystem.len()) as i64
    );
    let reasons = unmatched["reasons"].as_array().unwrap();
    let reason = |code: &str| {
        reasons
            .iter()
            .find(|r| r["reason"] == code)
            .unwrap_or_else(|| panic!("no {code} in {reasons:?}"))
    };
    for (code, expected) in [
        ("no_identifier", &no_identifier),
        ("no_osv_ecosystem", &no_ecosystem),
    ] {
        assert_eq!(reason(code)["count"], expected.len() as i64, "{code}");
        assert_eq!(
            reason(code)["examples"],
            serde_json::json!(expected[..5]),
            "{code}"
        );
    }
}
