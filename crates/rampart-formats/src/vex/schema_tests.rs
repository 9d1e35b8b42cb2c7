//! Our VEX output checked by each format's own tooling: the OpenVEX, CycloneDX 1.6 and CSAF
//! 2.0 JSON schemas, the CycloneDX 1.6 XSD (`xmllint`) and the BSI CSAF validator's
//! mandatory tests (`scripts/csaf-validator`, Node). Each check is also shown to reject a
//! broken document, so that a check that accepts everything cannot pass unnoticed.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::test_documents::{all_dispositions, document_with, every_combination, small_document};
use super::{write, VexFormat};

/// Resolves schema references (`https://www.first.org/cvss/cvss-v3.1.json`,
/// `spdx.schema.json`, ...) to files of the same name in the given folders; never the network.
struct LocalSchemas {
    folders: Vec<PathBuf>,
}

impl jsonschema::Retrieve for LocalSchemas {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri
            .path()
            .as_str()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        for folder in &self.folders {
            let path = folder.join(&name);
            if path.is_file() {
                return Ok(serde_json::from_slice(&std::fs::read(path)?)?);
            }
        }
        Err(format!("schema {uri} is not available locally").into())
    }
}

pub(crate) struct SchemaCheck {
    validator: jsonschema::Validator,
}

impl SchemaCheck {
    pub(crate) fn load(schema: &Path, folders: &[PathBuf]) -> SchemaCheck {
        let schema: Value = serde_json::from_slice(&std::fs::read(schema).unwrap()).unwrap();
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .with_retriever(LocalSchemas {
                folders: folders.to_vec(),
            })
            .build(&schema)
            .expect("the schema compiles");
        SchemaCheck { validator }
    }

    /// The schema's complaints about `document`, as `pointer: message` lines.
    pub(crate) fn errors(&self, document: &[u8]) -> Vec<String> {
        let value: Value = serde_json::from_slice(document).expect("writers emit JSON");
        self.validator
            .iter_errors(&value)
            .map(|error| format!("{}: {error}", error.instance_path()))
            .collect()
    }

    pub(crate) fn assert_valid(&self, what: &str, document: &[u8]) {
        let errors = self.errors(document);
        assert!(
            errors.is_empty(),
            "{what} fails its schema:\n{}\n{}",
            errors.join("\n"),
            String::from_utf8_lossy(document)
        );
    }
}

fn data() -> Option<PathBuf> {
    rampart_test_data::root()
}

pub(crate) fn openvex_schema(data: &Path) -> SchemaCheck {
    SchemaCheck::load(&data.join("vex/openvex-spec/openvex_json_schema.json"), &[])
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

fn cyclonedx_schema(data: &Path) -> SchemaCheck {
    let folder = data.join("cyclonedx-spec-tests/schema");
    SchemaCheck::load(
        &folder.join("bom-1.6.schema.json"),
        std::slice::from_ref(&folder),
    )
}

fn csaf_schema(data: &Path) -> SchemaCheck {
    let folder = data.join("vex/csaf-2.0/csaf_2.0");
    SchemaCheck::load(
        &folder.join("json_schema/csaf_json_schema.json"),
        &[folder.join("referenced_schema/first")],
    )
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

/// Whether an external tool may be missing: only when `RAMPART_REQUIRE_<name>` is not `1`
/// (CI sets it, so that a missing tool fails there instead of skipping).
fn tool_missing(variable: &str, what: &str) -> bool {
    if std::env::var(variable).as_deref() == Ok("1") {
        panic!("{what} is not available but {variable}=1");
    }
    eprintln!("skipping: {what} is not available (CI installs it and sets {variable}=1)");
    true
}

fn xmllint_available() -> bool {
    std::process::Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
}

/// `xmllint --schema` over `document`: `Ok` when valid, else its complaints.
fn xsd_check(xsd: &Path, document: &[u8]) -> Result<(), String> {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("vex.xml");
    std::fs::write(&path, document).unwrap();
    // The XSD imports SPDX by URL; the schema folder's catalog maps it to the local file.
    let catalog = xsd.with_file_name("xmlcatalog.xml");
    let output = std::process::Command::new("xmllint")
        .env("XML_CATALOG_FILES", catalog)
        .arg("--noout")
        .arg("--nonet")
        .arg("--schema")
        .arg(xsd)
        .arg(&path)
        .output()
        .unwrap();
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[test]
fn cyclonedx_xml_output_passes_the_cyclonedx_1_6_xsd() {
    let Some(data) = data() else { return };
    if !xmllint_available() && tool_missing("RAMPART_REQUIRE_XMLLINT", "xmllint") {
        return;
    }
    let xsd = data.join("cyclonedx-spec-tests/schema/bom-1.6.xsd");
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

/// Runs `scripts/csaf-validator/validate.mjs` (the BSI csaf-validator-lib's schema and
/// mandatory tests) over the files; `None` when node or the library is not installed.
fn bsi_validator(paths: &[PathBuf]) -> Option<Vec<Value>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/csaf-validator");
    if !script
        .join("node_modules/@secvisogram/csaf-validator-lib")
        .is_dir()
    {
        return None;
    }
    let output = std::process::Command::new("node")
        .arg(script.join("validate.mjs"))
        .args(paths)
        .output()
        .ok()?;
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "the validator could not run: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect(),
    )
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
