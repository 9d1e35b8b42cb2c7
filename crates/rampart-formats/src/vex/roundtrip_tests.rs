//! Model → write → read gives the same statements in every format — every state ×
//! justification × response, exactly, thanks to the exact-analysis notes — and a document
//! from another tool (without those notes) reads as the mapping table in `disposition` says.

use super::test_documents::{all_dispositions, document_with, every_combination, small_document};
use super::{
    read, write, Disposition, DispositionState, Justification, Response, VexDocument, VexFormat,
};

const FORMATS: [VexFormat; 4] = [
    VexFormat::OpenVex,
    VexFormat::CycloneDxJson,
    VexFormat::CycloneDxXml,
    VexFormat::Csaf,
];

/// A statement by what it means, independent of how a format keys its products.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Meaning {
    vulnerability: String,
    aliases: Vec<String>,
    products: Vec<String>,
    components: Vec<String>,
    state: DispositionState,
    justification: Option<Justification>,
    responses: Vec<Response>,
    detail: Option<String>,
    action_statement: Option<String>,
}

fn meanings(document: &VexDocument) -> Vec<Meaning> {
    let identify = |keys: &[String], list: &[super::Subject]| {
        let mut ids: Vec<String> = keys
            .iter()
            .map(|key| {
                list.iter()
                    .find(|s| &s.key == key)
                    .unwrap_or_else(|| panic!("statement names unknown `{key}`"))
                    .identifier()
                    .to_string()
            })
            .collect();
        ids.sort();
        ids
    };
    let mut meanings: Vec<Meaning> = document
        .statements
        .iter()
        .flat_map(|statement| {
            // One meaning per product: formats may group products differently.
            identify(&statement.products, &document.products)
                .into_iter()
                .map(|product| {
                    let d = statement.disposition.clone().normalized();
                    Meaning {
                        vulnerability: statement.vulnerability.id.clone(),
                        aliases: statement.vulnerability.aliases.clone(),
                        products: vec![product],
                        components: identify(&statement.components, &document.components),
                        state: d.state,
                        justification: d.justification,
                        responses: d.responses,
                        detail: d.detail,
                        action_statement: d.action_statement,
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect();
    meanings.sort();
    meanings
}

/// What the mapping table says reading `format` back gives for `disposition`.
fn as_mapped(disposition: &Disposition, format: VexFormat) -> Disposition {
    let mut mapped = disposition.clone();
    match format {
        VexFormat::CycloneDxJson | VexFormat::CycloneDxXml => {}
        VexFormat::OpenVex | VexFormat::Csaf => {
            mapped.state = DispositionState::from_openvex(disposition.state.openvex()).unwrap();
            mapped.justification = disposition
                .justification
                .map(|j| Justification::from_openvex(j.openvex()).unwrap());
            mapped.responses = if format == VexFormat::OpenVex {
                Vec::new()
            } else {
                disposition
                    .responses
                    .iter()
                    .map(|r| {
                        Response::from_csaf_remediation(r.csaf_remediation())
                            .unwrap()
                            .unwrap()
                    })
                    .collect()
            };
        }
    }
    mapped.normalized()
}

fn mapped_document(document: &VexDocument, format: VexFormat) -> VexDocument {
    let mut mapped = document.clone();
    for statement in &mut mapped.statements {
        statement.disposition = as_mapped(&statement.disposition, format);
    }
    mapped
}

fn round_trip(document: &VexDocument, format: VexFormat) -> VexDocument {
    let written = write(document, format).unwrap_or_else(|e| panic!("{format}: {e}"));
    let read = read(&written).unwrap_or_else(|e| panic!("{format}: {e}"));
    assert_eq!(read.format, format);
    assert!(read.skipped.is_empty(), "{format}: {:?}", read.skipped);
    assert!(read.warnings.is_empty(), "{format}: {:?}", read.warnings);
    read.document
}

#[test]
fn every_format_round_trips_the_lossless_dispositions() {
    let document = small_document();
    for format in FORMATS.into_iter().filter(|f| implemented(*f)) {
        let back = round_trip(&document, format);
        assert_eq!(meanings(&back), meanings(&document), "{format}");
        assert_eq!(back.metadata.version, document.metadata.version, "{format}");
    }
}

#[test]
fn every_format_round_trips_even_the_values_its_own_fields_merge() {
    let document = document_with(&all_dispositions(), 36, 3);
    for format in FORMATS.into_iter().filter(|f| implemented(*f)) {
        let back = round_trip(&document, format);
        assert_eq!(meanings(&back), meanings(&document), "{format}");
    }
}

#[test]
fn every_state_justification_and_response_round_trips_in_every_format() {
    let combinations = every_combination();
    assert_eq!(combinations.len(), (2 * 10 + 4) * 7);
    // Two components, so that every combination is said of a component and of a product.
    let document = document_with(&combinations, combinations.len() * 2, 2);
    for format in FORMATS {
        let back = round_trip(&document, format);
        assert_eq!(meanings(&back), meanings(&document), "{format}");
    }
    // And through every conversion.
    for from in FORMATS {
        let first = round_trip(&document, from);
        for to in FORMATS {
            let second = round_trip(&first, to);
            assert_eq!(meanings(&second), meanings(&document), "{from} → {to}");
        }
    }
}

/// `written` without Rampart's exact-analysis notes: what another tool would write.
fn without_exact_notes(written: &[u8], format: VexFormat) -> Vec<u8> {
    use super::disposition::{CSAF_EXACT_ANALYSIS_TITLE, EXACT_ANALYSIS_PREFIX};
    let mut value: serde_json::Value = serde_json::from_slice(written).unwrap();
    match format {
        VexFormat::OpenVex => {
            for statement in value["statements"].as_array_mut().unwrap() {
                let statement = statement.as_object_mut().unwrap();
                let Some(notes) = statement.get("status_notes").and_then(|n| n.as_str()) else {
                    continue;
                };
                let kept: Vec<&str> = notes
                    .split("\n\n")
                    .filter(|p| !p.starts_with(EXACT_ANALYSIS_PREFIX))
                    .collect();
                if kept.is_empty() {
                    statement.remove("status_notes");
                } else {
                    statement.insert("status_notes".into(), kept.join("\n\n").into());
                }
            }
        }
        VexFormat::Csaf => {
            for vulnerability in value["vulnerabilities"].as_array_mut().unwrap() {
                vulnerability["notes"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|note| note["title"] != CSAF_EXACT_ANALYSIS_TITLE);
            }
        }
        _ => unreachable!("CycloneDX needs no notes"),
    }
    serde_json::to_vec(&value).unwrap()
}

#[test]
fn without_rampart_notes_a_document_reads_as_the_mapping_table_says() {
    let document = document_with(&all_dispositions(), 36, 3);
    for format in [VexFormat::OpenVex, VexFormat::Csaf] {
        let written = write(&document, format).unwrap();
        let stripped = without_exact_notes(&written, format);
        assert_ne!(written, stripped, "{format}: the notes were there");
        let back = read(&stripped).unwrap();
        assert!(back.warnings.is_empty(), "{format}: {:?}", back.warnings);
        assert_eq!(
            meanings(&back.document),
            meanings(&mapped_document(&document, format)),
            "{format}"
        );
    }
}

#[test]
fn a_note_that_contradicts_the_status_is_ignored_with_a_warning() {
    let mut document = small_document();
    document.statements.truncate(1);
    document.statements[0].disposition = Disposition {
        detail: Some("The scanner matched the wrong package.".into()),
        ..Disposition::new(DispositionState::FalsePositive)
    };
    let written = String::from_utf8(write(&document, VexFormat::OpenVex).unwrap()).unwrap();
    assert!(
        written.contains("CycloneDX analysis: state=false_positive"),
        "{written}"
    );
    // Someone edits the status but not the note.
    let edited = written.replace("\"not_affected\"", "\"under_investigation\"");
    let back = read(edited.as_bytes()).unwrap();
    assert_eq!(
        back.document.statements[0].disposition.state,
        DispositionState::InTriage
    );
    assert!(
        back.warnings
            .iter()
            .any(|w| w.message.contains("does not agree")),
        "{:?}",
        back.warnings
    );
}

#[test]
fn the_mapping_check_would_notice_a_lost_value() {
    // `as_mapped` is what the tests compare against: it must not make everything equal.
    let rollback = Disposition {
        responses: vec![Response::Rollback],
        action_statement: Some("Roll back.".into()),
        ..Disposition::new(DispositionState::Exploitable)
    };
    assert_eq!(
        as_mapped(&rollback, VexFormat::Csaf).responses,
        [Response::Update]
    );
    assert_eq!(as_mapped(&rollback, VexFormat::CycloneDxJson), rollback);
    let mut document = small_document();
    let back = round_trip(&document, VexFormat::OpenVex);
    document.statements[0].disposition.detail = Some("changed".into());
    assert_ne!(meanings(&back), meanings(&document));
}

fn implemented(format: VexFormat) -> bool {
    let _ = format;
    true
}

#[test]
fn formats_are_told_apart_by_their_top_level_keys_and_sboms_by_their_vulnerabilities() {
    use super::{detect, embedded_vex_format};
    // Every written document is detected as what it is, and a CycloneDX one (its statements
    // are `vulnerabilities`) as an SBOM carrying VEX.
    for format in FORMATS {
        let written = write(&small_document(), format).unwrap();
        assert_eq!(detect(&written), Some(format));
        let embedded = embedded_vex_format(&written);
        match format {
            VexFormat::CycloneDxJson | VexFormat::CycloneDxXml => {
                assert_eq!(embedded, Some(format))
            }
            _ => assert_eq!(embedded, None, "{format}"),
        }
    }
    let sbom =
        br#"{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{"name": "a"}]}"#;
    assert_eq!(detect(sbom), Some(VexFormat::CycloneDxJson));
    assert_eq!(embedded_vex_format(sbom), None);
    for vulnerabilities in [r#"[]"#, r#"null"#, r#"{"a": [1]}"#, r#""x""#] {
        let text = format!(r#"{{"bomFormat": "CycloneDX", "vulnerabilities": {vulnerabilities}}}"#);
        assert_eq!(
            embedded_vex_format(text.as_bytes()),
            None,
            "{vulnerabilities}"
        );
    }
    let one = br#"{"vulnerabilities": [{"id": "CVE-1", "analysis": {"state": "not_affected"}}], "bomFormat": "CycloneDX"}"#;
    assert_eq!(embedded_vex_format(one), Some(VexFormat::CycloneDxJson));
    // Null-valued and repeated keys still count as present; a BOM mark and blanks are skipped.
    assert_eq!(
        detect(b"\xef\xbb\xbf  {\"document\": null}"),
        Some(VexFormat::Csaf)
    );
    assert_eq!(
        detect(br#"{"statements": 1, "statements": 2}"#),
        Some(VexFormat::OpenVex)
    );
    assert_eq!(
        detect(br#"{"@context": "https://openvex.dev/ns/v0.2.0"}"#),
        Some(VexFormat::OpenVex)
    );
    for neither in [
        &br#"{"name": "x"}"#[..],
        b"[1, 2]",
        b"{\"bomFormat\": ",
        b"plain text",
    ] {
        assert_eq!(detect(neither), None);
        assert_eq!(embedded_vex_format(neither), None);
    }
}
