//! Documents the VEX tests write: every state, justification and response at least once,
//! with statement texts, several products and components, and aliases.

use chrono::{TimeZone, Utc};

use super::{
    Author, Disposition, DispositionState, DocumentMetadata, DocumentStatus, Justification,
    Response, Revision, Statement, Subject, VexDocument, Vulnerability,
};

pub(crate) fn metadata(statement_count: usize) -> DocumentMetadata {
    DocumentMetadata {
        id: "https://vex.example.com/acme/shop/2024-0001".into(),
        version: 2,
        title: Some(format!("Acme Shop VEX ({statement_count} statements)")),
        author: Author {
            name: "Acme Product Security".into(),
            namespace: Some("https://acme.example.com".into()),
            role: Some("Document Creator".into()),
        },
        created: Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap(),
        last_updated: Utc.with_ymd_and_hms(2024, 2, 3, 4, 5, 6).unwrap(),
        status: DocumentStatus::Final,
        revision_history: vec![Revision {
            version: 1,
            date: Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap(),
            summary: "Initial version.".into(),
        }],
        serial_number: None,
    }
}

pub(crate) fn product(index: usize) -> Subject {
    Subject {
        key: format!("release-{index}"),
        name: "Acme Shop".into(),
        vendor: Some("Acme".into()),
        version: Some(format!("2.{index}.0")),
        purl: Some(format!(
            "pkg:oci/acme-shop@sha256%3A{index:064x}?repository_url=registry.acme.example.com"
        )),
        cpe: Some(format!("cpe:2.3:a:acme:shop:2.{index}.0:*:*:*:*:*:*:*")),
    }
}

pub(crate) fn component(index: usize) -> Subject {
    Subject {
        key: format!("component-{index}"),
        name: format!("lib{index}"),
        vendor: None,
        version: Some(format!("1.{index}.0")),
        purl: Some(format!("pkg:npm/%40acme/lib{index}@1.{index}.0")),
        cpe: None,
    }
}

/// Dispositions that survive every format: what the mapping table marks as preserved.
pub(crate) fn lossless_dispositions() -> Vec<Disposition> {
    use DispositionState::*;
    vec![
        Disposition {
            justification: Some(Justification::CodeNotReachable),
            detail: Some("The vulnerable parser is never called.".into()),
            ..Disposition::new(NotAffected)
        },
        Disposition {
            justification: Some(Justification::RequiresDependency),
            ..Disposition::new(NotAffected)
        },
        Disposition {
            justification: Some(Justification::CodeNotPresent),
            ..Disposition::new(NotAffected)
        },
        Disposition {
            justification: Some(Justification::RequiresConfiguration),
            ..Disposition::new(NotAffected)
        },
        Disposition {
            justification: Some(Justification::ProtectedByMitigatingControl),
            detail: Some("Requests are filtered by the gateway.".into()),
            ..Disposition::new(NotAffected)
        },
        Disposition {
            detail: Some("Only the test build bundles this module.".into()),
            ..Disposition::new(NotAffected)
        },
        Disposition {
            action_statement: Some("Upgrade to 2.1.0 or later.".into()),
            detail: Some("Reachable through the upload form.".into()),
            ..Disposition::new(Exploitable)
        },
        Disposition::new(InTriage),
        Disposition {
            detail: Some("Fixed by upgrading the library.".into()),
            ..Disposition::new(Resolved)
        },
    ]
}

/// Dispositions with values that CycloneDX keeps but OpenVEX or CSAF merge.
pub(crate) fn all_dispositions() -> Vec<Disposition> {
    use DispositionState::*;
    let mut dispositions = lossless_dispositions();
    dispositions.extend([
        Disposition {
            detail: Some("The scanner matched the wrong package.".into()),
            ..Disposition::new(FalsePositive)
        },
        Disposition::new(ResolvedWithPedigree),
        Disposition {
            justification: Some(Justification::RequiresEnvironment),
            ..Disposition::new(NotAffected)
        },
        Disposition {
            justification: Some(Justification::ProtectedByCompiler),
            ..Disposition::new(NotAffected)
        },
        Disposition {
            justification: Some(Justification::ProtectedAtRuntime),
            ..Disposition::new(NotAffected)
        },
        Disposition {
            justification: Some(Justification::ProtectedAtPerimeter),
            ..Disposition::new(NotAffected)
        },
        Disposition {
            responses: vec![Response::CanNotFix, Response::WillNotFix],
            action_statement: Some("Disable the upload form.".into()),
            ..Disposition::new(Exploitable)
        },
        Disposition {
            responses: vec![Response::Update, Response::WorkaroundAvailable],
            action_statement: Some("Upgrade, or set strict_mode.".into()),
            ..Disposition::new(Exploitable)
        },
        Disposition {
            responses: vec![Response::Rollback],
            action_statement: Some("Roll back to 1.9.".into()),
            ..Disposition::new(Exploitable)
        },
    ]);
    dispositions
}

/// A document with `statement_count` statements cycling through `dispositions`, over two
/// releases of one product and `component_count` components.
pub(crate) fn document_with(
    dispositions: &[Disposition],
    statement_count: usize,
    component_count: usize,
) -> VexDocument {
    let products = vec![product(1), product(2)];
    let components: Vec<Subject> = (0..component_count).map(component).collect();
    let statements = (0..statement_count)
        .map(|index| {
            let disposition = dispositions[index % dispositions.len()]
                .clone()
                .normalized();
            let vulnerability = if index % 3 == 0 {
                Vulnerability {
                    id: format!("GHSA-{:04x}-abcd-wxyz", index),
                    aliases: Vec::new(),
                }
            } else {
                Vulnerability {
                    id: format!("CVE-2024-{:05}", 10000 + index),
                    aliases: vec![format!("GHSA-{:04x}-efgh-wxyz", index)],
                }
            };
            Statement {
                vulnerability,
                products: if index % 2 == 0 {
                    vec![products[0].key.clone()]
                } else {
                    vec![products[0].key.clone(), products[1].key.clone()]
                },
                components: if component_count == 0 || index % 5 == 4 {
                    Vec::new()
                } else {
                    vec![components[index % component_count].key.clone()]
                },
                disposition,
                timestamp: None,
            }
        })
        .collect();
    VexDocument {
        metadata: metadata(statement_count),
        products,
        components,
        statements,
    }
}

/// The lossless dispositions in a small document.
pub(crate) fn small_document() -> VexDocument {
    let dispositions = lossless_dispositions();
    document_with(&dispositions, dispositions.len() * 2, 4)
}

/// Every state × justification × response (none, each one, all), with the texts the rules
/// require, each valid.
pub(crate) fn every_combination() -> Vec<Disposition> {
    let mut response_sets: Vec<Vec<Response>> = vec![Vec::new()];
    response_sets.extend(Response::ALL.iter().map(|r| vec![*r]));
    response_sets.push(Response::ALL.to_vec());
    let mut dispositions = Vec::new();
    for state in DispositionState::ALL {
        let justifications: Vec<Option<Justification>> = if state.takes_justification() {
            std::iter::once(None)
                .chain(Justification::ALL.into_iter().map(Some))
                .collect()
        } else {
            vec![None]
        };
        for justification in justifications {
            for responses in &response_sets {
                let disposition = Disposition {
                    state,
                    justification,
                    responses: responses.clone(),
                    detail: justification
                        .is_none()
                        .then(|| format!("Why {state} holds.")),
                    action_statement: (state == DispositionState::Exploitable
                        || responses.len() == 1)
                        .then(|| "Upgrade.".to_string()),
                }
                .normalized();
                disposition.validate().expect("a valid combination");
                dispositions.push(disposition);
            }
        }
    }
    dispositions
}
