//! Model → write → read gives the same statements, and conversion between formats keeps
//! exactly what the mapping table in `disposition` says it keeps.

use super::test_documents::{all_dispositions, document_with, small_document};
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
fn every_format_keeps_what_its_mapping_table_promises() {
    let document = document_with(&all_dispositions(), 36, 3);
    for format in FORMATS.into_iter().filter(|f| implemented(*f)) {
        let back = round_trip(&document, format);
        assert_eq!(
            meanings(&back),
            meanings(&mapped_document(&document, format)),
            "{format}"
        );
    }
}

#[test]
fn conversion_between_formats_keeps_the_common_ground() {
    let document = document_with(&all_dispositions(), 36, 3);
    for from in FORMATS.into_iter().filter(|f| implemented(*f)) {
        let first = round_trip(&document, from);
        for to in FORMATS.into_iter().filter(|f| implemented(*f)) {
            let second = round_trip(&first, to);
            let expected = mapped_document(&mapped_document(&document, from), to);
            assert_eq!(meanings(&second), meanings(&expected), "{from} → {to}");
        }
    }
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
