//! Each VEX format's own tooling, for tests that check what Rampart writes: the OpenVEX,
//! CycloneDX 1.6, CSAF 2.0 and CSAF provider-metadata JSON schemas (references resolved to
//! the local copies in the test data, never the network), the CycloneDX 1.6 XSD through
//! `xmllint`, and the BSI CSAF validator's mandatory tests (`scripts/csaf-validator`, Node).
//! A missing external tool skips with a printed reason, unless `RAMPART_REQUIRE_<TOOL>=1`
//! (CI), where the test fails instead.

use std::path::{Path, PathBuf};

use serde_json::Value;

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

/// A compiled JSON schema (formats validated).
pub struct SchemaCheck {
    validator: jsonschema::Validator,
}

impl SchemaCheck {
    pub fn load(schema: &Path, folders: &[PathBuf]) -> SchemaCheck {
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
    pub fn errors(&self, document: &[u8]) -> Vec<String> {
        let value: Value = serde_json::from_slice(document).expect("writers emit JSON");
        self.validator
            .iter_errors(&value)
            .map(|error| format!("{}: {error}", error.instance_path()))
            .collect()
    }

    pub fn assert_valid(&self, what: &str, document: &[u8]) {
        let errors = self.errors(document);
        assert!(
            errors.is_empty(),
            "{what} fails its schema:\n{}\n{}",
            errors.join("\n"),
            String::from_utf8_lossy(document)
        );
    }
}

/// The OpenVEX 0.2.0 schema in the test data at `data`.
pub fn openvex_schema(data: &Path) -> SchemaCheck {
    SchemaCheck::load(&data.join("vex/openvex-spec/openvex_json_schema.json"), &[])
}

/// The CycloneDX 1.6 JSON schema.
pub fn cyclonedx_schema(data: &Path) -> SchemaCheck {
    let folder = data.join("cyclonedx-spec-tests/schema");
    SchemaCheck::load(
        &folder.join("bom-1.6.schema.json"),
        std::slice::from_ref(&folder),
    )
}

/// The CSAF 2.0 JSON schema.
pub fn csaf_schema(data: &Path) -> SchemaCheck {
    let folder = data.join("vex/csaf-2.0/csaf_2.0");
    SchemaCheck::load(
        &folder.join("json_schema/csaf_json_schema.json"),
        &[folder.join("referenced_schema/first")],
    )
}

/// The CSAF 2.0 provider-metadata JSON schema (it refers to the CSAF schema's publisher).
pub fn csaf_provider_schema(data: &Path) -> SchemaCheck {
    let folder = data.join("vex/csaf-2.0/csaf_2.0");
    SchemaCheck::load(
        &folder.join("json_schema/provider_json_schema.json"),
        &[
            folder.join("json_schema"),
            folder.join("referenced_schema/first"),
        ],
    )
}

/// The OSV JSON schema (ossf/osv-schema `validation/schema.json`).
pub fn osv_schema(data: &Path) -> SchemaCheck {
    SchemaCheck::load(
        &data.join("peer-tests/osv-schema/validation/schema.json"),
        &[],
    )
}

/// The CycloneDX 1.6 XSD.
pub fn cyclonedx_xsd(data: &Path) -> PathBuf {
    data.join("cyclonedx-spec-tests/schema/bom-1.6.xsd")
}

/// Whether an external tool may be missing: only when `RAMPART_REQUIRE_<name>` is not `1`
/// (CI sets it, so that a missing tool fails there instead of skipping).
pub fn tool_missing(variable: &str, what: &str) -> bool {
    if std::env::var(variable).as_deref() == Ok("1") {
        panic!("{what} is not available but {variable}=1");
    }
    eprintln!("skipping: {what} is not available (CI installs it and sets {variable}=1)");
    true
}

pub fn xmllint_available() -> bool {
    std::process::Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
}

/// `xmllint --schema` over `document`: `Ok` when valid, else its complaints.
pub fn xsd_check(xsd: &Path, document: &[u8]) -> Result<(), String> {
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

/// Runs `scripts/csaf-validator/validate.mjs` (the BSI csaf-validator-lib's schema and
/// mandatory tests) over the files: one result object per file (`isValid`, `tests`, ...);
/// `None` when node or the library is not installed.
pub fn bsi_validator(paths: &[PathBuf]) -> Option<Vec<Value>> {
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
