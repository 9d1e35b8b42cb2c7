//! Our VEX output checked by each format's own tooling: the OpenVEX, CycloneDX 1.6 and CSAF
//! 2.0 JSON schemas, the CycloneDX 1.6 XSD (`xmllint`) and the BSI CSAF validator's
//! mandatory tests (`scripts/csaf-validator`, Node). Each check is also shown to reject a
//! broken document, so that a check that accepts everything cannot pass unnoticed.

use std::path::PathBuf;

use rampart_test_data::format_checks::{
    bsi_validator, csaf_schema, cyclonedx_schema, cyclonedx_xsd, openvex_schema, tool_missing,
    xmllint_available, xsd_check,
};
use serde_json::Value;

use super::test_documents::{all_dispositions, document_with, every_combination, small_document};
use super::{write, VexFormat};

fn data() -> Option<PathBuf> {
    rampart_test_data::root()
}

/// Edits a written JSON document, to show that a check rejects what it should.
fn broken(document: &[u8], edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut value: Value = serde_json::from_slice(document).unwrap();
    edit(&mut value);
    serde_json::to_vec(&value).unwrap()
}

#[test]
fn openvex_output_passes_the_openvex_schema() {
    let Some(data) = data() else { return };
    let schema = openvex_schema(&data);
    schema.assert_valid(
        "small document",
        &write(&small_document(), VexFormat::OpenVex).unwrap(),
    );
    let every = document_with(&all_dispositions(), 40, 3);
    let written = write(&every, VexFormat::OpenVex).unwrap();
    schema.assert_valid("every disposition", &written);
    schema.assert_valid(
        "every combination",
        &write(&combinations(), VexFormat::OpenVex).unwrap(),
    );

    // The schema rejects an `affected` statement without its action statement.
    let without_action = broken(&written, |value| {
        let statements = value["statements"].as_array_mut().unwrap();
        let affected = statements
            .iter_mut()
            .find(|s| s["status"] == "affected")
            .unwrap();
        affected.as_object_mut().unwrap().remove("action_statement");
    });
    let errors = schema.errors(&without_action);
    assert!(
        !errors.is_empty(),
        "the OpenVEX schema accepted a broken document"
    );
}

/// Every state × justification × response, said of products and of components.
fn combinations() -> super::VexDocument {
    let combinations = every_combination();
    document_with(&combinations, combinations.len() * 2, 2)
}

#[test]
fn cyclonedx_json_output_passes_the_cyclonedx_1_6_schema() {
    let Some(data) = data() else { return };
    let schema = cyclonedx_schema(&data);
    schema.assert_valid(
        "small document",
        &write(&small_document(), VexFormat::CycloneDxJson).unwrap(),
    );
    let written = write(
        &document_with(&all_dispositions(), 40, 3),
        VexFormat::CycloneDxJson,
    )
    .unwrap();
    schema.assert_valid("every disposition", &written);
    schema.assert_valid(
        "every combination",
        &write(&combinations(), VexFormat::CycloneDxJson).unwrap(),
    );
    let with_bom = super::cyclonedx::write_json(&small_document(), Some(&sample_sbom())).unwrap();
    schema.assert_valid("BOM and VEX in one document", &with_bom);

    let bad_state = broken(&written, |value| {
        value["vulnerabilities"][0]["analysis"]["state"] = "fixed".into();
    });
    assert!(
        !schema.errors(&bad_state).is_empty(),
        "the CycloneDX schema accepted a broken document"
    );
}

#[test]
fn csaf_output_passes_the_csaf_2_0_schema() {
    let Some(data) = data() else { return };
    let schema = csaf_schema(&data);
    schema.assert_valid(
        "small document",
        &write(&small_document(), VexFormat::Csaf).unwrap(),
    );
    let written = write(&document_with(&all_dispositions(), 40, 3), VexFormat::Csaf).unwrap();
    schema.assert_valid("every disposition", &written);
    schema.assert_valid(
        "every combination",
        &write(&combinations(), VexFormat::Csaf).unwrap(),
    );
    let bad_version = broken(&written, |value| {
        value["document"]["tracking"]["version"] = 3.into();
    });
    assert!(
        !schema.errors(&bad_version).is_empty(),
        "the CSAF schema accepted a broken document"
    );
}

/// A small SBOM whose components the VEX names in part.
fn sample_sbom() -> crate::sbom::Sbom {
    let bom = br#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": [
        {"type": "library", "bom-ref": "lib1", "name": "lib1", "version": "1.1.0", "purl": "pkg:npm/%40acme/lib1@1.1.0"},
        {"type": "library", "bom-ref": "other", "name": "other", "version": "3.0.0", "purl": "pkg:npm/other@3.0.0"}]}"#;
    crate::sbom::parse(bom).unwrap()
}

#[test]
fn cyclonedx_xml_output_passes_the_cyclonedx_1_6_xsd() {
    let Some(data) = data() else { return };
    if !xmllint_available() && tool_missing("RAMPART_REQUIRE_XMLLINT", "xmllint") {
        return;
    }
    let xsd = cyclonedx_xsd(&data);
    for (what, document) in [
        ("small document", small_document()),
        (
            "every disposition",
            document_with(&all_dispositions(), 40, 3),
        ),
    ] {
        let written = write(&document, VexFormat::CycloneDxXml).unwrap();
        if let Err(errors) = xsd_check(&xsd, &written) {
            panic!(
                "{what} fails the XSD:\n{errors}\n{}",
                String::from_utf8_lossy(&written)
            );
        }
    }
    let with_bom = super::cyclonedx::write_xml(&small_document(), Some(&sample_sbom())).unwrap();
    xsd_check(&xsd, &with_bom).unwrap();

    // The check can fail: a state outside the schema's enumeration is refused.
    let written =
        String::from_utf8(write(&small_document(), VexFormat::CycloneDxXml).unwrap()).unwrap();
    let broken = written.replacen("<state>not_affected</state>", "<state>fixed</state>", 1);
    assert_ne!(broken, written);
    assert!(
        xsd_check(&xsd, broken.as_bytes()).is_err(),
        "the XSD accepted a broken document"
    );
}

#[test]
fn csaf_output_passes_the_bsi_validators_mandatory_tests() {
    let folder = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    let mut drafts = small_document();
    drafts.metadata.status = super::DocumentStatus::Draft;
    drafts.metadata.id = "ACME-VEX-2024-0001".into();
    drafts.metadata.revision_history.clear();
    drafts.metadata.version = 1;
    for (name, document) in [
        ("small.json", small_document()),
        ("every.json", document_with(&all_dispositions(), 40, 3)),
        ("draft.json", drafts),
        ("combinations.json", combinations()),
    ] {
        let path = folder.path().join(name);
        std::fs::write(&path, write(&document, VexFormat::Csaf).unwrap()).unwrap();
        paths.push(path);
    }
    // A product both fixed and affected contradicts itself (mandatory test 6.1.6).
    let written = std::fs::read(&paths[0]).unwrap();
    let contradicting = broken(&written, |value| {
        let status = &mut value["vulnerabilities"][0]["product_status"];
        let fixed = status.as_object().unwrap().values().next().unwrap()[0].clone();
        let other = if status.get("fixed").is_some() {
            "known_affected"
        } else {
            "fixed"
        };
        status[other] = serde_json::json!([fixed]);
    });
    let broken_path = folder.path().join("broken.json");
    std::fs::write(&broken_path, contradicting).unwrap();
    paths.push(broken_path);

    let Some(results) = bsi_validator(&paths) else {
        tool_missing(
            "RAMPART_REQUIRE_CSAF_VALIDATOR",
            "the BSI CSAF validator (node + `npm ci` in scripts/csaf-validator)",
        );
        return;
    };
    assert_eq!(results.len(), 5);
    for result in &results[..4] {
        assert_eq!(result["isValid"], true, "{result:#}");
        assert!(result["tests"].as_u64().unwrap() > 20, "{result:#}");
    }
    assert_eq!(
        results[4]["isValid"], false,
        "the validator accepted a contradiction"
    );
}
