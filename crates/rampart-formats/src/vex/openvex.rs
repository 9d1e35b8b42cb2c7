//! OpenVEX 0.2.0 JSON (<https://github.com/openvex/spec>).
//!
//! Written: `@context` `https://openvex.dev/ns/v0.2.0`, `@id`, `author`, `role`, `timestamp`
//! (first release), `last_updated`, `version`, `tooling`, and per statement the
//! vulnerability (`name` = CVE where one exists, `aliases`), products (`@id` = purl, else CPE,
//! else the key; `identifiers`) with their `subcomponents`, `status`, `justification`,
//! `impact_statement` / `status_notes`, `action_statement`. OpenVEX carries no product names
//! or vendors; what its status and justification merge, and the responses, travel as the
//! exact analysis in the last paragraph of `status_notes` (see [`super::disposition`]).
//!
//! Read as well: v0.0.1 documents (vulnerability and products as plain strings, `version` as
//! a string, statement-level `subcomponents`), each quirk a warning.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::disposition::{ExactAnalysis, PlainFormat};
use super::json_walk::{self, Located, Node};
use super::{
    format_time, parse_time, Author, Disposition, DispositionState, DocumentMetadata,
    DocumentStatus, Justification, Notes, Statement, Subject, SubjectList, VexDocument, VexError,
    VexFormat, VexRead, Vulnerability,
};

pub const CONTEXT: &str = "https://openvex.dev/ns/v0.2.0";

/// Writes OpenVEX 0.2.0 JSON.
pub fn write(document: &VexDocument) -> Result<Vec<u8>, VexError> {
    document.check_writable()?;
    if document.statements.is_empty() {
        return Err(VexError::at_pointer(
            "/statements",
            "OpenVEX needs at least one statement",
        ));
    }
    let metadata = &document.metadata;
    let mut root = Map::new();
    root.insert("@context".into(), json!(CONTEXT));
    root.insert("@id".into(), json!(metadata.id));
    root.insert("author".into(), json!(metadata.author.name));
    if let Some(role) = &metadata.author.role {
        root.insert("role".into(), json!(role));
    }
    root.insert("timestamp".into(), json!(format_time(&metadata.created)));
    root.insert(
        "last_updated".into(),
        json!(format_time(&metadata.last_updated)),
    );
    root.insert("version".into(), json!(metadata.version));
    root.insert("tooling".into(), json!("Rampart"));
    let components: BTreeMap<&str, &Subject> = document
        .components
        .iter()
        .map(|c| (c.key.as_str(), c))
        .collect();
    let statements: Vec<Value> = document
        .statements
        .iter()
        .map(|statement| {
            let products = statement
                .products
                .iter()
                .map(|key| {
                    let product = document.product(key).expect("checked by check_writable");
                    let mut entry = identified(product);
                    if !statement.components.is_empty() {
                        let subcomponents: Vec<Value> = statement
                            .components
                            .iter()
                            .map(|key| Value::Object(identified(components[key.as_str()])))
                            .collect();
                        entry.insert("subcomponents".into(), Value::Array(subcomponents));
                    }
                    Value::Object(entry)
                })
                .collect();
            write_statement(statement, products)
        })
        .collect();
    root.insert("statements".into(), Value::Array(statements));
    Ok(json_walk::to_pretty_bytes(&Value::Object(root)))
}

/// `@id` plus `identifiers` of a product or subcomponent.
fn identified(subject: &Subject) -> Map<String, Value> {
    let mut entry = Map::new();
    entry.insert("@id".into(), json!(subject.identifier()));
    let mut identifiers = Map::new();
    if let Some(purl) = &subject.purl {
        identifiers.insert("purl".into(), json!(purl));
    }
    if let Some(cpe) = &subject.cpe {
        let field = if cpe.starts_with("cpe:/") {
            "cpe22"
        } else {
            "cpe23"
        };
        identifiers.insert(field.into(), json!(cpe));
    }
    if !identifiers.is_empty() {
        entry.insert("identifiers".into(), Value::Object(identifiers));
    }
    entry
}

fn write_statement(statement: &Statement, products: Vec<Value>) -> Value {
    let disposition = &statement.disposition;
    let mut entry = Map::new();
    let mut vulnerability = Map::new();
    vulnerability.insert("name".into(), json!(statement.vulnerability.id));
    if !statement.vulnerability.aliases.is_empty() {
        vulnerability.insert("aliases".into(), json!(statement.vulnerability.aliases));
    }
    entry.insert("vulnerability".into(), Value::Object(vulnerability));
    if let Some(timestamp) = &statement.timestamp {
        entry.insert("timestamp".into(), json!(format_time(timestamp)));
    }
    entry.insert("products".into(), Value::Array(products));
    let status = disposition.state.openvex();
    entry.insert("status".into(), json!(status));
    if let Some(justification) = disposition.justification {
        entry.insert("justification".into(), json!(justification.openvex()));
    }
    let mut notes = Vec::new();
    if let Some(detail) = &disposition.detail {
        if status == "not_affected" {
            entry.insert("impact_statement".into(), json!(detail));
        } else {
            notes.push(detail.clone());
        }
    }
    // What OpenVEX's own fields cannot say (false_positive, requires_environment, responses,
    // ...) goes to the last paragraph of the notes, which the reader prefers.
    if disposition.needs_exact_analysis(PlainFormat::OpenVex) {
        notes.push(ExactAnalysis::of(disposition).to_text());
    }
    if !notes.is_empty() {
        entry.insert("status_notes".into(), json!(notes.join("\n\n")));
    }
    if let Some(action) = &disposition.action_statement {
        entry.insert("action_statement".into(), json!(action));
    }
    Value::Object(entry)
}

/// Reads OpenVEX JSON (0.2.0, and 0.0.1 with warnings).
pub fn read(text: &str) -> Result<VexRead, VexError> {
    let value = json_walk::parse(text)?;
    let root = Located::root(&value);
    let root = root.node();
    root.object()?;
    let mut warnings = Notes::default();
    let mut skipped = Notes::default();

    match root.string("@context")? {
        Some(context) if context == CONTEXT => {}
        Some(context) if context.starts_with("https://openvex.dev/ns") => warnings.at(
            "/@context",
            format!("OpenVEX context `{context}` is not v0.2.0; read as such"),
        ),
        Some(context) => warnings.at("/@context", format!("unexpected context `{context}`")),
        None => warnings.at("", "no `@context`; read as OpenVEX 0.2.0"),
    }
    let id = root.string("@id")?.unwrap_or_default().to_string();
    if id.is_empty() {
        warnings.at("/@id", "the document has no `@id`");
    }
    let author = match root.lenient_string("author", &mut warnings) {
        Some(author) => author.to_string(),
        None => {
            warnings.at("/author", "the document names no author");
            String::new()
        }
    };
    let version = read_version(&root, &mut warnings);
    let created = read_time(&root, "timestamp", &mut warnings);
    let last_updated = match root.child("last_updated") {
        Some(_) => read_time(&root, "last_updated", &mut warnings),
        None => None,
    };

    let mut products = SubjectList::default();
    let mut components = SubjectList::default();
    let mut statements = Vec::new();
    let items = root.array("statements")?;
    if root.child("statements").is_none() {
        return Err(VexError::at_pointer(
            "/statements",
            "missing: an OpenVEX document lists statements",
        ));
    }
    for item in &items {
        let node = item.node();
        match read_statement(node, &mut products, &mut components, &mut warnings) {
            Ok(read) => statements.extend(read),
            Err(reason) => skipped.push(
                reason.location,
                format!("statement skipped: {}", reason.message),
            ),
        }
    }
    let earliest = statements
        .iter()
        .filter_map(|s: &Statement| s.timestamp)
        .min();
    let created = created.or(earliest).unwrap_or_else(|| {
        warnings.at(
            "/timestamp",
            "no document or statement time; using the Unix epoch",
        );
        chrono::DateTime::UNIX_EPOCH
    });
    Ok(VexRead {
        format: VexFormat::OpenVex,
        document: VexDocument {
            metadata: DocumentMetadata {
                id,
                version,
                title: None,
                author: Author {
                    name: author,
                    namespace: None,
                    role: root
                        .lenient_string("role", &mut warnings)
                        .map(str::to_string),
                },
                created,
                last_updated: last_updated.unwrap_or(created),
                status: DocumentStatus::Final,
                revision_history: Vec::new(),
                serial_number: None,
            },
            products: products.into_vec(),
            components: components.into_vec(),
            statements,
        },
        warnings: warnings.finish(),
        skipped: skipped.finish(),
    })
}

fn read_version(root: &Node<'_>, warnings: &mut Notes) -> u32 {
    match root.child("version") {
        Some(field) => json_walk::document_version(&field, warnings),
        None => {
            warnings.at("/version", "no `version`; read as 1");
            1
        }
    }
}

fn read_time(
    node: &Node<'_>,
    key: &str,
    warnings: &mut Notes,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let text = node.lenient_string(key, warnings)?;
    let time = parse_time(text);
    if time.is_none() {
        warnings.at(
            &node.pointer_to(key),
            format!("`{text}` is not an RFC 3339 time; ignored"),
        );
    }
    time
}

/// One OpenVEX statement, split into one [`Statement`] per distinct subcomponent list.
fn read_statement(
    node: Node<'_>,
    products: &mut SubjectList,
    components: &mut SubjectList,
    warnings: &mut Notes,
) -> Result<Vec<Statement>, VexError> {
    node.object()?;
    let vulnerability = read_vulnerability(&node, warnings)?;
    let status = node
        .string("status")?
        .ok_or_else(|| VexError::at_pointer(node.pointer_to("status"), "missing status"))?;
    let state = DispositionState::from_openvex(status).ok_or_else(|| {
        VexError::at_pointer(
            node.pointer_to("status"),
            format!("unknown status `{status}`; expected not_affected, affected, fixed or under_investigation"),
        )
    })?;
    let justification = match node.lenient_string("justification", warnings) {
        None | Some("") => None,
        Some(label) => {
            let justification = Justification::from_openvex(label);
            if justification.is_none() {
                warnings.at(
                    &node.pointer_to("justification"),
                    format!("unknown justification `{label}`; ignored"),
                );
            }
            justification
        }
    };
    let (status_notes, exact) = split_exact_analysis(node.lenient_string("status_notes", warnings));
    let texts: Vec<&str> = [
        node.lenient_string("impact_statement", warnings),
        status_notes,
    ]
    .into_iter()
    .flatten()
    .filter(|text| !text.trim().is_empty())
    .collect();
    let mut disposition = Disposition {
        state,
        justification: justification.filter(|_| state.takes_justification()),
        responses: Vec::new(),
        detail: (!texts.is_empty()).then(|| texts.join("\n\n")),
        action_statement: node
            .lenient_string("action_statement", warnings)
            .map(str::to_string),
    }
    .normalized();
    if justification.is_some() && !state.takes_justification() {
        warnings.at(
            &node.pointer_to("justification"),
            format!("a justification with status `{status}` is ignored"),
        );
    }
    if let Some(exact) = exact {
        match exact.apply_to(&disposition, PlainFormat::OpenVex) {
            Ok(exact) => disposition = exact,
            Err(message) => warnings.at(&node.pointer_to("status_notes"), message),
        }
    }
    if let Err(error) = disposition.validate() {
        warnings.push(
            Some(super::ErrorLocation::JsonPointer(
                node.pointer().to_string(),
            )),
            format!("read as is, but {error}"),
        );
    }
    let timestamp = match node.child("timestamp") {
        Some(_) => read_time(&node, "timestamp", warnings),
        None => None,
    };

    // Statement-level subcomponents (OpenVEX 0.0.1) apply to every product.
    let shared_components = read_subjects(&node, "subcomponents", components, warnings)?;
    let mut groups: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    for item in node.array("products")? {
        let product = item.node();
        let (key, subcomponents) = match product.value {
            Value::String(id) => {
                warnings.at(
                    product.pointer(),
                    "product given as a plain string (OpenVEX 0.0.1)",
                );
                (
                    products.add(Subject::from_identifier(id, None, None)),
                    Vec::new(),
                )
            }
            Value::Object(_) => {
                let subject = read_subject(&product)?;
                let subcomponents = read_subjects(&product, "subcomponents", components, warnings)?;
                (products.add(subject), subcomponents)
            }
            other => {
                return Err(VexError::at_pointer(
                    product.pointer(),
                    format!(
                        "expected a product object, found {}",
                        json_walk::kind(other)
                    ),
                ))
            }
        };
        let mut all = shared_components.clone();
        all.extend(subcomponents);
        all.dedup();
        groups.entry(all).or_default().push(key);
    }
    if groups.is_empty() {
        return Err(VexError::at_pointer(
            node.pointer_to("products"),
            "the statement names no product",
        ));
    }
    Ok(groups
        .into_iter()
        .map(|(components, products)| Statement {
            vulnerability: vulnerability.clone(),
            products,
            components,
            disposition: disposition.clone(),
            timestamp,
        })
        .collect())
}

/// `status_notes` without a last paragraph that is an [`ExactAnalysis`], and that analysis.
fn split_exact_analysis(notes: Option<&str>) -> (Option<&str>, Option<ExactAnalysis>) {
    let Some(notes) = notes else {
        return (None, None);
    };
    let (before, last) = match notes.rfind("\n\n") {
        Some(at) => (Some(&notes[..at]), &notes[at + 2..]),
        None => (None, notes),
    };
    match ExactAnalysis::parse(last) {
        Some(exact) => (before, Some(exact)),
        None => (Some(notes), None),
    }
}

fn read_vulnerability(node: &Node<'_>, warnings: &mut Notes) -> Result<Vulnerability, VexError> {
    let field = node.child("vulnerability").ok_or_else(|| {
        VexError::at_pointer(node.pointer_to("vulnerability"), "missing vulnerability")
    })?;
    let ids: Vec<String> = match field.value {
        Value::String(name) => {
            warnings.at(
                &field.pointer,
                "vulnerability given as a plain string (OpenVEX 0.0.1)",
            );
            vec![name.clone()]
        }
        Value::Object(_) => {
            let vulnerability = field.node();
            let mut ids: Vec<String> = vulnerability
                .string("name")?
                .or(vulnerability.string("@id")?)
                .map(str::to_string)
                .into_iter()
                .collect();
            for alias in vulnerability.array("aliases")? {
                match alias.value.as_str() {
                    Some(alias) => ids.push(alias.to_string()),
                    None => warnings.at(&alias.pointer, "an alias that is not a string; ignored"),
                }
            }
            ids
        }
        other => {
            return Err(VexError::at_pointer(
                field.pointer,
                format!(
                    "expected a vulnerability object, found {}",
                    json_walk::kind(other)
                ),
            ))
        }
    };
    // The `name` stays the primary id as the author chose it; aliases follow.
    let mut ids = ids.into_iter().filter(|id| !id.trim().is_empty());
    let primary = ids.next().ok_or_else(|| {
        VexError::at_pointer(field.pointer.clone(), "the vulnerability has no name")
    })?;
    let mut aliases: Vec<String> = ids.filter(|alias| *alias != primary).collect();
    aliases.sort();
    aliases.dedup();
    let named =
        Vulnerability::from_ids(std::iter::once(primary.clone()).chain(aliases.iter().cloned()))
            .expect("not empty");
    // Name it by its CVE where one exists (a vendor id may come first in `name`).
    Ok(if super::is_cve(&primary) {
        Vulnerability {
            id: primary,
            aliases,
        }
    } else {
        named
    })
}

fn read_subject(node: &Node<'_>) -> Result<Subject, VexError> {
    let id = node.string("@id")?;
    let (purl, cpe) = match node.child("identifiers") {
        Some(identifiers) => {
            let identifiers = identifiers.node();
            identifiers.object()?;
            let purl = identifiers.string("purl")?;
            let cpe = identifiers
                .string("cpe23")?
                .or(identifiers.string("cpe22")?);
            (purl, cpe)
        }
        None => (None, None),
    };
    let key = id.or(purl).or(cpe).ok_or_else(|| {
        VexError::at_pointer(
            node.pointer(),
            "neither `@id` nor identifiers name this product",
        )
    })?;
    Ok(Subject::from_identifier(key, purl, cpe))
}

fn read_subjects(
    node: &Node<'_>,
    key: &str,
    list: &mut SubjectList,
    warnings: &mut Notes,
) -> Result<Vec<String>, VexError> {
    let mut keys = Vec::new();
    for item in node.array(key)? {
        let subject = item.node();
        let read = match subject.value {
            Value::String(id) => {
                warnings.at(
                    subject.pointer(),
                    "subcomponent given as a plain string (OpenVEX 0.0.1)",
                );
                Subject::from_identifier(id, None, None)
            }
            _ => read_subject(&subject)?,
        };
        keys.push(list.add(read));
    }
    Ok(keys)
}
