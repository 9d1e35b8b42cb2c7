//! Every VEX document of the shared corpora is read: OpenVEX (go-vex test data, v0.0.1 and
//! v0.2.0), CSAF 2.0 (the VEX profile examples, Red Hat and Cisco advisories, the OASIS
//! validator conformance documents) and CycloneDX VEX (CISA's use cases). No panic; every
//! entry of a document becomes a statement or a skipped note with its reason.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

use super::{read, VexFormat, VexRead};
use crate::advisory::osv::tests::files_with_extension as files_under;

/// Entries a document lists (OpenVEX statements, CSAF and CycloneDX vulnerabilities).
fn source_entries(bytes: &[u8], format: VexFormat) -> usize {
    let value: Value = serde_json::from_slice(bytes).unwrap();
    let key = match format {
        VexFormat::OpenVex => "statements",
        _ => "vulnerabilities",
    };
    value[key].as_array().map_or(0, Vec::len)
}

/// Source entries accounted for: those that gave a statement plus those skipped.
fn accounted_entries(read: &VexRead) -> usize {
    let from_statements: BTreeSet<String> = match read.format {
        // A CSAF or CycloneDX entry is one vulnerability; its statements share the id.
        VexFormat::Csaf => read
            .document
            .statements
            .iter()
            .map(|s| s.vulnerability.id.clone())
            .collect(),
        _ => return usize::MAX,
    };
    from_statements.len() + read.skipped.len()
}

struct Tally {
    documents: usize,
    statements: usize,
    skipped: usize,
    warnings: usize,
}

fn read_all(paths: &[PathBuf], tally: &mut Tally) -> Vec<(PathBuf, VexRead)> {
    let mut reads = Vec::new();
    for path in paths {
        let bytes = std::fs::read(path).unwrap();
        let read = read(&bytes).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        for note in read.skipped.iter().chain(&read.warnings) {
            assert!(
                !note.message.is_empty(),
                "{}: a note without a reason",
                path.display()
            );
        }
        let entries = source_entries(&bytes, read.format);
        match read.format {
            VexFormat::Csaf => assert_eq!(
                accounted_entries(&read),
                entries,
                "{}: every vulnerability is read or skipped with a reason: {:?}",
                path.display(),
                read.skipped
            ),
            VexFormat::CycloneDxJson => assert_eq!(
                read.document.statements.len() + read.skipped.len(),
                entries,
                "{}: {:?}",
                path.display(),
                read.skipped
            ),
            _ => assert!(
                read.document.statements.len() + read.skipped.len() >= entries,
                "{}: {:?}",
                path.display(),
                read.skipped
            ),
        }
        println!(
            "{}: {} {} statements, {} skipped, {} warnings",
            path.display(),
            read.format,
            read.document.statements.len(),
            read.skipped.len(),
            read.warnings.len()
        );
        tally.documents += 1;
        tally.statements += read.document.statements.len();
        tally.skipped += read.skipped.len();
        tally.warnings += read.warnings.len();
        reads.push((path.clone(), read));
    }
    reads
}

fn statements_of(reads: &[(PathBuf, VexRead)], name: &str) -> usize {
    let (_, read) = reads
        .iter()
        .find(|(path, _)| path.ends_with(name))
        .unwrap_or_else(|| panic!("{name} was not read"));
    read.document.statements.len()
}

#[test]
fn every_vex_document_of_the_corpora_is_read() {
    let Some(data) = rampart_test_data::root() else {
        return;
    };
    let mut tally = Tally {
        documents: 0,
        statements: 0,
        skipped: 0,
        warnings: 0,
    };
    let openvex = files_under(&data.join("vex/openvex-go-vex"), "json");
    let csaf_examples = files_under(&data.join("vex/csaf-2.0/csaf_2.0/examples/csaf"), "json");
    let cyclonedx = files_under(&data.join("cyclonedx-bom-examples/VEX"), "json");
    let mut reads = read_all(&openvex, &mut tally);
    reads.extend(read_all(&csaf_examples, &mut tally));
    reads.extend(read_all(&cyclonedx, &mut tally));
    println!(
        "{} documents: {} statements, {} parts skipped, {} warnings",
        tally.documents, tally.statements, tally.skipped, tally.warnings
    );
    assert_eq!(
        tally.documents,
        openvex.len() + csaf_examples.len() + cyclonedx.len()
    );

    // Counts that a reader losing statements would change.
    assert_eq!(
        statements_of(&reads, "openvex-go-vex/pkg/vex/testdata/v0.2.0.json"),
        5
    );
    assert_eq!(
        statements_of(&reads, "openvex-go-vex/pkg/vex/testdata/v0.0.1.json"),
        1
    );
    assert_eq!(
        statements_of(&reads, "csaf_vex/2022-evd-uc-01-a-001.json"),
        1
    );
    assert_eq!(statements_of(&reads, "CISA-Use-Cases/Case-2/vex.json"), 19);
    assert!(statements_of(&reads, "examples/csaf/rhsa-2021_5217.json") > 0);
    for (path, read) in &reads {
        let in_vex_profile = path.to_string_lossy().contains("csaf_vex/");
        if in_vex_profile {
            assert!(!read.document.statements.is_empty(), "{}", path.display());
            assert!(
                read.skipped.is_empty(),
                "{}: {:?}",
                path.display(),
                read.skipped
            );
        }
    }
    // Red Hat's advisories are not of the VEX profile: read, with that said.
    let (_, rhsa) = reads
        .iter()
        .find(|(path, _)| path.ends_with("examples/csaf/rhsa-2021_5217.json"))
        .unwrap();
    assert!(
        rhsa.warnings
            .iter()
            .any(|w| w.message.contains("not the VEX profile")),
        "{:?}",
        rhsa.warnings
    );
}

#[test]
fn a_yaml_openvex_document_is_refused_with_its_reason() {
    let Some(data) = rampart_test_data::root() else {
        return;
    };
    let bytes = std::fs::read(data.join("vex/openvex-go-vex/pkg/vex/testdata/vex.yaml")).unwrap();
    let error = read(&bytes).unwrap_err();
    assert!(error.to_string().contains("not valid JSON"), "{error}");
}

#[test]
fn the_csaf_conformance_documents_are_read_tolerantly() {
    let Some(data) = rampart_test_data::root() else {
        return;
    };
    let folder = data.join("vex/csaf-2.0/csaf_2.0/test/validator/data");
    let paths = files_under(&folder, "json");
    let mut documents = 0;
    let mut refused = Vec::new();
    let mut statements = 0;
    for path in paths.iter().filter(|p| !p.ends_with("testcases.json")) {
        let bytes = std::fs::read(path).unwrap();
        match super::read_as(&bytes, VexFormat::Csaf) {
            Ok(read) => {
                documents += 1;
                statements += read.document.statements.len();
            }
            Err(error) => {
                assert!(!error.message.is_empty());
                refused.push(format!("{}: {error}", path.display()));
            }
        }
    }
    println!(
        "{documents} conformance documents read ({statements} statements); refused: {refused:#?}"
    );
    // These documents break CSAF's rules on purpose (6.1.x), but they are JSON of the
    // CSAF shape: a tolerant reader reads them all.
    assert!(refused.is_empty(), "{refused:#?}");
    assert!(documents > 200);
}

#[test]
fn malformed_documents_are_refused_with_the_place_of_the_problem() {
    let truncated = br#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": ["#;
    let error = read(truncated).unwrap_err();
    assert!(
        matches!(
            error.location,
            Some(super::ErrorLocation::LineColumn { .. })
        ),
        "{error}"
    );

    let wrong_type =
        br#"{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "statements": {}}"#;
    let error = read(wrong_type).unwrap_err();
    assert_eq!(
        error.to_string(),
        "/statements: expected an array, found an object"
    );

    let bad_product = br#"{"document": {"category": "csaf_vex", "tracking": {"id": "x"}},
        "product_tree": {"branches": [{"category": "vendor", "name": "A", "product": {"name": "n"}}]}}"#;
    let error = read(bad_product).unwrap_err();
    assert_eq!(
        error.to_string(),
        "/product_tree/branches/0/product/product_id: missing product_id"
    );

    let bad_xml = b"<?xml version=\"1.0\"?>\n<bom xmlns=\"http://cyclonedx.org/schema/bom/1.6\">\n<metadata></bom>";
    let error = read(bad_xml).unwrap_err();
    assert!(
        matches!(
            error.location,
            Some(super::ErrorLocation::LineColumn { line: 3, .. })
        ),
        "{error}"
    );

    let not_vex = br#"{"bomFormat": "SPDX"}"#;
    assert_eq!(
        read(not_vex).unwrap_err().to_string(),
        "/bomFormat: expected `CycloneDX`, found Some(\"SPDX\")"
    );
    let unknown = br#"{"hello": 1}"#;
    assert!(read(unknown)
        .unwrap_err()
        .to_string()
        .contains("not a VEX document"));
}

#[test]
fn unusable_statements_are_skipped_with_their_reason_and_the_rest_is_read() {
    let openvex = br#"{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://x.example/1",
      "author": "A", "timestamp": "2024-01-01T00:00:00Z", "version": 1, "statements": [
        {"vulnerability": {"name": "CVE-2024-0001"}, "products": [{"@id": "pkg:npm/a@1"}], "status": "maybe"},
        {"vulnerability": {"name": "CVE-2024-0002"}, "status": "fixed"},
        {"vulnerability": {"name": "CVE-2024-0003"}, "products": [{"@id": "pkg:npm/a@1"}], "status": "fixed"}]}"#;
    let read = read(openvex).unwrap();
    assert_eq!(read.document.statements.len(), 1);
    let reasons: Vec<String> = read.skipped.iter().map(ToString::to_string).collect();
    assert_eq!(
        reasons,
        [
            "/statements/0/status: statement skipped: unknown status `maybe`; expected not_affected, affected, fixed or under_investigation",
            "/statements/1/products: statement skipped: the statement names no product",
        ]
    );
}
