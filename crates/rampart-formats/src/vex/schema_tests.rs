//! Our VEX output checked by each format's own tooling: the OpenVEX, CycloneDX 1.6 and CSAF
//! 2.0 JSON schemas, the CycloneDX 1.6 XSD (`xmllint`) and the BSI CSAF validator's
//! mandatory tests (`scripts/csaf-validator`, Node). Each check is also shown to reject a
//! broken document, so that a check that accepts everything cannot pass unnoticed.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::test_documents::{all_dispositions, document_with, small_document};
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
