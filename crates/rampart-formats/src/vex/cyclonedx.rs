//! CycloneDX 1.6 VEX, JSON and XML (<https://cyclonedx.org/capabilities/vex/>).
//!
//! Written: `serialNumber` (stable across versions: [`DocumentMetadata::serial_number`] or a
//! name-based UUID of the document id), `version`, `metadata` (timestamp, the Rampart tool,
//! the issuer as `manufacturer`, the first product as `component`), `components` (the
//! statements' components; further products as `application` components marked with the
//! property `rampart:vex:role` = `product`; with [`write_json`]'s `bom`, every component of
//! the SBOM too, so that BOM and VEX travel as one document) and one `vulnerabilities[]`
//! entry per statement: `id` (the CVE where one exists), `source`, the other ids as
//! `references`, `analysis` (state, justification, responses, detail), the action statement
//! as `recommendation`, and `affects` naming the `bom-ref`s of the products and components.
//!
//! Read: the same, plus references to other BOMs (`urn:cdx:…#ref`, CISA's cases), which
//! become products known by that reference. A vulnerability without `analysis` is a
//! vulnerability report rather than a VEX statement and is listed as skipped.
//! CycloneDX has one timestamp: it is read as both creation and last update. The document id
//! is read as the serial number.
//!
//! [`DocumentMetadata::serial_number`]: super::DocumentMetadata::serial_number

use std::collections::{BTreeMap, HashMap, HashSet};

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, Writer};
use serde_json::{json, Map, Value};

use super::json_walk::{self, Located, Node};
use super::{
    format_time, parse_time, Author, Disposition, DispositionState, DocumentMetadata,
    DocumentStatus, ErrorLocation, Justification, Notes, Response, Statement, Subject, SubjectList,
    VexDocument, VexError, VexFormat, VexRead, Vulnerability,
};
use crate::sbom::Sbom;

pub const SPEC_VERSION: &str = "1.6";
const XML_NAMESPACE: &str = "http://cyclonedx.org/schema/bom/1.6";
const NAMESPACE_PREFIX: &str = "http://cyclonedx.org/schema/bom/";
/// Marks components that are products of the document rather than parts of one.
pub const ROLE_PROPERTY: &str = "rampart:vex:role";

/// The CycloneDX document, before it is spelled as JSON or XML.
struct Bom {
    serial_number: String,
    version: u32,
    timestamp: String,
    manufacturer: Option<(String, Option<String>)>,
    product: CdxComponent,
    components: Vec<CdxComponent>,
    vulnerabilities: Vec<CdxVulnerability>,
}

struct CdxComponent {
    kind: String,
    bom_ref: String,
    supplier: Option<String>,
    name: String,
    version: Option<String>,
    cpe: Option<String>,
    purl: Option<String>,
    is_product: bool,
}

struct CdxVulnerability {
    id: String,
    source: Option<(String, String)>,
    references: Vec<(String, String)>,
    recommendation: Option<String>,
    state: &'static str,
    justification: Option<&'static str>,
    responses: Vec<&'static str>,
    detail: Option<String>,
    affects: Vec<String>,
}

/// Where an id comes from, as CycloneDX `source` wants it (name and URL).
fn source_of(id: &str) -> (String, Option<String>) {
    if super::is_cve(id) {
        return (
            "NVD".into(),
            Some(format!("https://nvd.nist.gov/vuln/detail/{id}")),
        );
    }
    if id.starts_with("GHSA-") {
        return (
            "GitHub".into(),
            Some(format!("https://github.com/advisories/{id}")),
        );
    }
    let prefix = id.split(['-', ':']).next().unwrap_or(id);
    (prefix.to_string(), None)
}

/// The serial number: given, or a name-based (v5) UUID of the document id.
pub fn serial_number(metadata: &DocumentMetadata) -> String {
    metadata.serial_number.clone().unwrap_or_else(|| {
        let uuid = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, metadata.id.as_bytes());
        format!("urn:uuid:{uuid}")
    })
}

/// Hands out unique `bom-ref`s, preferring the purl.
#[derive(Default)]
struct RefNames {
    used: HashSet<String>,
}

impl RefNames {
    fn name(&mut self, preferred: &str) -> String {
        let mut name = preferred.to_string();
        let mut counter = 1;
        while !self.used.insert(name.clone()) {
            counter += 1;
            name = format!("{preferred}#{counter}");
        }
        name
    }
}

fn build(document: &VexDocument, bom: Option<&Sbom>) -> Result<Bom, VexError> {
    document.check_writable()?;
    let Some(first) = document.products.first() else {
        return Err(VexError::at_pointer(
            "/products",
            "a CycloneDX VEX document names at least one product",
        ));
    };
    let mut refs = RefNames::default();
    let mut ref_of: HashMap<(bool, &str), String> = HashMap::new();
    let subject_component = |subject: &Subject, bom_ref: String, is_product: bool| CdxComponent {
        kind: if is_product { "application" } else { "library" }.into(),
        bom_ref,
        supplier: subject.vendor.clone(),
        name: subject.name.clone(),
        version: subject.version.clone(),
        cpe: subject.cpe.clone(),
        purl: subject.purl.clone(),
        is_product,
    };
    let product_ref = refs.name(first.purl.as_deref().unwrap_or(&first.key));
    ref_of.insert((true, first.key.as_str()), product_ref.clone());
    let product = subject_component(first, product_ref, true);
    let mut components = Vec::new();
    for other in &document.products[1..] {
        let bom_ref = refs.name(other.purl.as_deref().unwrap_or(&other.key));
        ref_of.insert((true, other.key.as_str()), bom_ref.clone());
        components.push(subject_component(other, bom_ref, true));
    }
    // The SBOM's components first, so that VEX components can point at them.
    let mut by_purl: HashMap<&str, String> = HashMap::new();
    for (index, component) in bom
        .map(|b| b.components.as_slice())
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let preferred = component
            .bom_ref
            .clone()
            .or_else(|| component.purl.clone())
            .unwrap_or_else(|| format!("component-{index}"));
        let bom_ref = refs.name(&preferred);
        if let Some(purl) = &component.purl {
            by_purl
                .entry(purl.as_str())
                .or_insert_with(|| bom_ref.clone());
        }
        components.push(CdxComponent {
            kind: component
                .component_type
                .clone()
                .unwrap_or_else(|| "library".into()),
            bom_ref,
            supplier: component.supplier.clone(),
            name: component.name.clone(),
            version: component.version.clone(),
            cpe: component.cpe.clone(),
            purl: component.purl.clone(),
            is_product: false,
        });
    }
    for component in &document.components {
        let known = component.purl.as_deref().and_then(|purl| by_purl.get(purl));
        let bom_ref = match known {
            Some(bom_ref) => bom_ref.clone(),
            None => {
                let bom_ref = refs.name(component.purl.as_deref().unwrap_or(&component.key));
                components.push(subject_component(component, bom_ref.clone(), false));
                bom_ref
            }
        };
        ref_of.insert((false, component.key.as_str()), bom_ref);
    }
    let vulnerabilities = document
        .statements
        .iter()
        .map(|statement| {
            let disposition = &statement.disposition;
            let (source_name, source_url) = source_of(&statement.vulnerability.id);
            let affects = statement
                .products
                .iter()
                .map(|key| ref_of[&(true, key.as_str())].clone())
                .chain(
                    statement
                        .components
                        .iter()
                        .map(|key| ref_of[&(false, key.as_str())].clone()),
                )
                .collect();
            CdxVulnerability {
                id: statement.vulnerability.id.clone(),
                source: source_url.map(|url| (source_name, url)),
                references: statement
                    .vulnerability
                    .aliases
                    .iter()
                    .map(|alias| (alias.clone(), source_of(alias).0))
                    .collect(),
                recommendation: disposition.action_statement.clone(),
                state: disposition.state.as_str(),
                justification: disposition.justification.map(Justification::as_str),
                responses: disposition.responses.iter().map(|r| r.as_str()).collect(),
                detail: disposition.detail.clone(),
                affects,
            }
        })
        .collect();
    let author = &document.metadata.author;
    Ok(Bom {
        serial_number: serial_number(&document.metadata),
        version: document.metadata.version,
        timestamp: format_time(&document.metadata.last_updated),
        manufacturer: (!author.name.is_empty())
            .then(|| (author.name.clone(), author.namespace.clone())),
        product,
        components,
        vulnerabilities,
    })
}

/// Writes CycloneDX 1.6 JSON; with `bom`, the SBOM's components are included (BOM and VEX
/// in one document).
pub fn write_json(document: &VexDocument, bom: Option<&Sbom>) -> Result<Vec<u8>, VexError> {
    let bom = build(document, bom)?;
    let component_json = |component: &CdxComponent| {
        let mut entry = Map::new();
        entry.insert("type".into(), json!(component.kind));
        entry.insert("bom-ref".into(), json!(component.bom_ref));
        if let Some(supplier) = &component.supplier {
            entry.insert("supplier".into(), json!({ "name": supplier }));
        }
        entry.insert("name".into(), json!(component.name));
        if let Some(version) = &component.version {
            entry.insert("version".into(), json!(version));
        }
        if let Some(cpe) = &component.cpe {
            entry.insert("cpe".into(), json!(cpe));
        }
        if let Some(purl) = &component.purl {
            entry.insert("purl".into(), json!(purl));
        }
        if component.is_product {
            entry.insert(
                "properties".into(),
                json!([{ "name": ROLE_PROPERTY, "value": "product" }]),
            );
        }
        Value::Object(entry)
    };
    let mut metadata = Map::new();
    metadata.insert("timestamp".into(), json!(bom.timestamp));
    metadata.insert(
        "tools".into(),
        json!({ "components": [{ "type": "application", "name": "Rampart" }] }),
    );
    if let Some((name, url)) = &bom.manufacturer {
        let mut manufacturer = Map::new();
        manufacturer.insert("name".into(), json!(name));
        if let Some(url) = url {
            manufacturer.insert("url".into(), json!([url]));
        }
        metadata.insert("manufacturer".into(), Value::Object(manufacturer));
    }
    let mut product = component_json(&bom.product);
    product.as_object_mut().unwrap().remove("properties");
    metadata.insert("component".into(), product);
    let vulnerabilities: Vec<Value> = bom
        .vulnerabilities
        .iter()
        .map(|vulnerability| {
            let mut entry = Map::new();
            entry.insert("id".into(), json!(vulnerability.id));
            if let Some((name, url)) = &vulnerability.source {
                entry.insert("source".into(), json!({ "name": name, "url": url }));
            }
            if !vulnerability.references.is_empty() {
                let references: Vec<Value> = vulnerability
                    .references
                    .iter()
                    .map(|(id, source)| json!({ "id": id, "source": { "name": source } }))
                    .collect();
                entry.insert("references".into(), Value::Array(references));
            }
            if let Some(recommendation) = &vulnerability.recommendation {
                entry.insert("recommendation".into(), json!(recommendation));
            }
            let mut analysis = Map::new();
            analysis.insert("state".into(), json!(vulnerability.state));
            if let Some(justification) = vulnerability.justification {
                analysis.insert("justification".into(), json!(justification));
            }
            if !vulnerability.responses.is_empty() {
                analysis.insert("response".into(), json!(vulnerability.responses));
            }
            if let Some(detail) = &vulnerability.detail {
                analysis.insert("detail".into(), json!(detail));
            }
            entry.insert("analysis".into(), Value::Object(analysis));
            let affects: Vec<Value> = vulnerability
                .affects
                .iter()
                .map(|bom_ref| json!({ "ref": bom_ref }))
                .collect();
            entry.insert("affects".into(), Value::Array(affects));
            Value::Object(entry)
        })
        .collect();
    let mut root = Map::new();
    root.insert(
        "$schema".into(),
        json!("http://cyclonedx.org/schema/bom-1.6.schema.json"),
    );
    root.insert("bomFormat".into(), json!("CycloneDX"));
    root.insert("specVersion".into(), json!(SPEC_VERSION));
    root.insert("serialNumber".into(), json!(bom.serial_number));
    root.insert("version".into(), json!(bom.version));
    root.insert("metadata".into(), Value::Object(metadata));
    if !bom.components.is_empty() {
        root.insert(
            "components".into(),
            Value::Array(bom.components.iter().map(component_json).collect()),
        );
    }
    root.insert("vulnerabilities".into(), Value::Array(vulnerabilities));
    Ok(json_walk::to_pretty_bytes(&Value::Object(root)))
}

/// Writes CycloneDX 1.6 XML (element order as the XSD requires); `bom` as for [`write_json`].
pub fn write_xml(document: &VexDocument, bom: Option<&Sbom>) -> Result<Vec<u8>, VexError> {
    let bom = build(document, bom)?;
    let mut xml = XmlOut {
        writer: Writer::new_with_indent(Vec::new(), b' ', 2),
    };
    xml.event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    let version = bom.version.to_string();
    xml.open(
        "bom",
        &[
            ("xmlns", XML_NAMESPACE),
            ("serialNumber", &bom.serial_number),
            ("version", &version),
        ],
    );
    xml.open("metadata", &[]);
    xml.leaf("timestamp", &bom.timestamp);
    xml.open("tools", &[]);
    xml.open("components", &[]);
    xml.open("component", &[("type", "application")]);
    xml.leaf("name", "Rampart");
    xml.close("component");
    xml.close("components");
    xml.close("tools");
    xml.component(&bom.product);
    if let Some((name, url)) = &bom.manufacturer {
        xml.open("manufacturer", &[]);
        xml.leaf("name", name);
        if let Some(url) = url {
            xml.leaf("url", url);
        }
        xml.close("manufacturer");
    }
    xml.close("metadata");
    if !bom.components.is_empty() {
        xml.open("components", &[]);
        for component in &bom.components {
            xml.component(component);
        }
        xml.close("components");
    }
    xml.open("vulnerabilities", &[]);
    for vulnerability in &bom.vulnerabilities {
        xml.open("vulnerability", &[]);
        xml.leaf("id", &vulnerability.id);
        if let Some((name, url)) = &vulnerability.source {
            xml.open("source", &[]);
            xml.leaf("name", name);
            xml.leaf("url", url);
            xml.close("source");
        }
        if !vulnerability.references.is_empty() {
            xml.open("references", &[]);
            for (id, source) in &vulnerability.references {
                xml.open("reference", &[]);
                xml.leaf("id", id);
                xml.open("source", &[]);
                xml.leaf("name", source);
                xml.close("source");
                xml.close("reference");
            }
            xml.close("references");
        }
        if let Some(recommendation) = &vulnerability.recommendation {
            xml.leaf("recommendation", recommendation);
        }
        xml.open("analysis", &[]);
        xml.leaf("state", vulnerability.state);
        if let Some(justification) = vulnerability.justification {
            xml.leaf("justification", justification);
        }
        if !vulnerability.responses.is_empty() {
            xml.open("responses", &[]);
            for response in &vulnerability.responses {
                xml.leaf("response", response);
            }
            xml.close("responses");
        }
        if let Some(detail) = &vulnerability.detail {
            xml.leaf("detail", detail);
        }
        xml.close("analysis");
        xml.open("affects", &[]);
        for bom_ref in &vulnerability.affects {
            xml.open("target", &[]);
            xml.leaf("ref", bom_ref);
            xml.close("target");
        }
        xml.close("affects");
        xml.close("vulnerability");
    }
    xml.close("vulnerabilities");
    xml.close("bom");
    let mut bytes = xml.writer.into_inner();
    bytes.push(b'\n');
    Ok(bytes)
}

struct XmlOut {
    writer: Writer<Vec<u8>>,
}

impl XmlOut {
    fn event(&mut self, event: Event<'_>) {
        self.writer
            .write_event(event)
            .expect("writing XML to memory cannot fail");
    }

    fn open(&mut self, name: &str, attributes: &[(&str, &str)]) {
        let mut start = BytesStart::new(name);
        for attribute in attributes {
            start.push_attribute(*attribute);
        }
        self.event(Event::Start(start));
    }

    fn close(&mut self, name: &str) {
        self.event(Event::End(BytesEnd::new(name)));
    }

    fn leaf(&mut self, name: &str, text: &str) {
        self.open(name, &[]);
        self.event(Event::Text(BytesText::new(text)));
        self.close(name);
    }

    /// A component in the XSD's order: supplier, name, version, cpe, purl, properties.
    fn component(&mut self, component: &CdxComponent) {
        self.open(
            "component",
            &[("type", &component.kind), ("bom-ref", &component.bom_ref)],
        );
        if let Some(supplier) = &component.supplier {
            self.open("supplier", &[]);
            self.leaf("name", supplier);
            self.close("supplier");
        }
        self.leaf("name", &component.name);
        for (name, value) in [
            ("version", &component.version),
            ("cpe", &component.cpe),
            ("purl", &component.purl),
        ] {
            if let Some(value) = value {
                self.leaf(name, value);
            }
        }
        if component.is_product {
            self.open("properties", &[]);
            self.open("property", &[("name", ROLE_PROPERTY)]);
            self.event(Event::Text(BytesText::new("product")));
            self.close("property");
            self.close("properties");
        }
        self.close("component");
    }
}

/// Reads CycloneDX JSON (1.4 to 1.6; other versions with a warning).
pub fn read_json(text: &str) -> Result<VexRead, VexError> {
    let value = json_walk::parse(text)?;
    let root = Located::root(&value);
    read_value(&root.node(), VexFormat::CycloneDxJson)
}

/// Reads CycloneDX XML. The document is first turned into the JSON shape (lists for the
/// repeated elements, attributes as fields), so both serialisations share one reader;
/// problems after that point are located by that shape's JSON pointer.
pub fn read_xml(text: &str) -> Result<VexRead, VexError> {
    let value = xml_to_json(text)?;
    let root = Located::root(&value);
    read_value(&root.node(), VexFormat::CycloneDxXml)
}

fn read_value(root: &Node<'_>, format: VexFormat) -> Result<VexRead, VexError> {
    root.object()?;
    let mut warnings = Notes::default();
    let mut skipped = Notes::default();
    match root.string("bomFormat")? {
        Some("CycloneDX") => {}
        None if format == VexFormat::CycloneDxXml => {}
        other => {
            return Err(VexError::at_pointer(
                "/bomFormat",
                format!("expected `CycloneDX`, found {other:?}"),
            ))
        }
    }
    match root.string("specVersion")? {
        Some("1.4" | "1.5" | "1.6") => {}
        Some(version) => warnings.at(
            "/specVersion",
            format!("CycloneDX {version} is read as 1.6"),
        ),
        None if format == VexFormat::CycloneDxXml => {}
        None => warnings.at("/specVersion", "no specVersion; read as 1.6"),
    }
    let serial_number = root
        .lenient_string("serialNumber", &mut warnings)
        .map(str::to_string);
    let version = root.child("version").map_or(1, |field| {
        json_walk::document_version(&field, &mut warnings)
    });
    let metadata = root.child("metadata");
    let metadata = metadata.as_ref().map(Located::node);
    let mut timestamp = None;
    let mut author = String::new();
    let mut namespace = None;
    let mut products = SubjectList::default();
    let mut components = SubjectList::default();
    let mut product_refs: HashSet<String> = HashSet::new();
    let mut main_product = None;
    if let Some(metadata) = &metadata {
        if let Some(text) = metadata.lenient_string("timestamp", &mut warnings) {
            timestamp = parse_time(text);
            if timestamp.is_none() {
                warnings.at(
                    &metadata.pointer_to("timestamp"),
                    format!("`{text}` is not an RFC 3339 time; ignored"),
                );
            }
        }
        for field in ["manufacturer", "supplier"] {
            if let Some(entity) = metadata.child(field) {
                if author.is_empty() {
                    let entity = entity.node();
                    author = entity
                        .lenient_string("name", &mut warnings)
                        .unwrap_or_default()
                        .to_string();
                    namespace = match entity.child("url").map(|url| url.value.clone()) {
                        Some(Value::String(url)) => Some(url),
                        Some(Value::Array(urls)) => {
                            urls.first().and_then(|u| u.as_str()).map(str::to_string)
                        }
                        _ => None,
                    };
                }
            }
        }
        if author.is_empty() {
            if let Some(first) = metadata.array("authors")?.first() {
                author = first
                    .node()
                    .lenient_string("name", &mut warnings)
                    .unwrap_or_default()
                    .to_string();
            }
        }
        if let Some(component) = metadata.child("component") {
            let subject = read_component(&component.node(), &mut warnings)?;
            product_refs.insert(subject.key.clone());
            main_product = Some(products.add(subject));
        }
    }
    let mut component_list = Vec::new();
    collect_components(root, &mut component_list, 0)?;
    for component in &component_list {
        let node = component.node();
        let subject = read_component(&node, &mut warnings)?;
        if is_marked_product(&node) {
            product_refs.insert(subject.key.clone());
            products.add(subject);
        } else {
            components.add(subject);
        }
    }
    let known_components: HashSet<String> = components_keys(&component_list, &mut Notes::default());
    let mut statements = Vec::new();
    for item in root.array("vulnerabilities")? {
        let node = item.node();
        match read_vulnerability(&node, &mut warnings) {
            Ok(None) => skipped.at(
                node.pointer(),
                "vulnerability skipped: no `analysis` (a vulnerability report, not a VEX statement)",
            ),
            Ok(Some((vulnerability, disposition, refs))) => {
                let mut statement_products = Vec::new();
                let mut statement_components = Vec::new();
                for (pointer, bom_ref) in refs {
                    if product_refs.contains(&bom_ref) {
                        statement_products.push(bom_ref);
                    } else if known_components.contains(&bom_ref) {
                        statement_components.push(bom_ref);
                    } else {
                        // A BOM-link or a reference to a BOM not included: a product known by it.
                        let _ = pointer;
                        statement_products.push(products.add(external_subject(&bom_ref)));
                    }
                }
                if statement_products.is_empty() {
                    match &main_product {
                        Some(key) => statement_products.push(key.clone()),
                        None => warnings.at(node.pointer(), "the statement names no product"),
                    }
                }
                if statement_products.is_empty() && statement_components.is_empty() {
                    skipped.at(node.pointer(), "vulnerability skipped: `affects` names nothing");
                    continue;
                }
                dedup_in_order(&mut statement_products);
                dedup_in_order(&mut statement_components);
                statements.push(Statement {
                    vulnerability,
                    products: statement_products,
                    components: statement_components,
                    disposition,
                    timestamp: None,
                });
            }
            Err(reason) => skipped.push(
                reason.location,
                format!("vulnerability skipped: {}", reason.message),
            ),
        }
    }
    let time = timestamp.unwrap_or(chrono::DateTime::UNIX_EPOCH);
    if timestamp.is_none() {
        warnings.at(
            "/metadata/timestamp",
            "no document time; using the Unix epoch",
        );
    }
    Ok(VexRead {
        format,
        document: VexDocument {
            metadata: DocumentMetadata {
                id: serial_number.clone().unwrap_or_default(),
                version,
                title: None,
                author: Author {
                    name: author,
                    namespace,
                    role: None,
                },
                created: time,
                last_updated: time,
                status: DocumentStatus::Final,
                revision_history: Vec::new(),
                serial_number,
            },
            products: products.into_vec(),
            components: components.into_vec(),
            statements,
        },
        warnings: warnings.finish(),
        skipped: skipped.finish(),
    })
}

fn dedup_in_order(keys: &mut Vec<String>) {
    let mut seen = HashSet::new();
    keys.retain(|key| seen.insert(key.clone()));
}

/// Every component, nested ones included (depth-first, document order).
fn collect_components<'a>(
    node: &Node<'a>,
    into: &mut Vec<Located<'a>>,
    depth: usize,
) -> Result<(), VexError> {
    if depth > 64 {
        return Err(VexError::at_pointer(
            node.pointer(),
            "components nested too deeply",
        ));
    }
    for component in node.array("components")? {
        let nested = component.node();
        into.push(component);
        collect_components(&nested, into, depth + 1)?;
    }
    Ok(())
}

fn components_keys(components: &[Located<'_>], warnings: &mut Notes) -> HashSet<String> {
    components
        .iter()
        .filter(|c| !is_marked_product(&c.node()))
        .filter_map(|c| {
            c.node()
                .lenient_string("bom-ref", warnings)
                .map(str::to_string)
        })
        .collect()
}

fn is_marked_product(node: &Node<'_>) -> bool {
    node.array("properties")
        .unwrap_or_default()
        .iter()
        .any(|property| {
            property.value.get("name").and_then(Value::as_str) == Some(ROLE_PROPERTY)
                && property.value.get("value").and_then(Value::as_str) == Some("product")
        })
}

fn read_component(node: &Node<'_>, warnings: &mut Notes) -> Result<Subject, VexError> {
    node.object()?;
    let name = node.lenient_string("name", warnings).unwrap_or_default();
    let purl = node.lenient_string("purl", warnings);
    let cpe = node.lenient_string("cpe", warnings);
    let key = match node.lenient_string("bom-ref", warnings) {
        Some(bom_ref) => bom_ref.to_string(),
        None => purl
            .or(cpe)
            .map(str::to_string)
            .unwrap_or_else(|| format!("{name}@{}", node.pointer())),
    };
    let vendor = ["supplier", "manufacturer"]
        .into_iter()
        .find_map(|field| {
            node.child(field)?
                .node()
                .lenient_string("name", warnings)
                .map(str::to_string)
        })
        .or_else(|| {
            node.lenient_string("publisher", warnings)
                .map(str::to_string)
        });
    let mut subject = Subject::from_identifier(&key, purl, cpe);
    if !name.is_empty() {
        subject.name = match node.lenient_string("group", warnings) {
            Some(group) if !group.is_empty() && purl.is_none() => format!("{group}/{name}"),
            _ => name.to_string(),
        };
    }
    if let Some(version) = node.lenient_string("version", warnings) {
        subject.version = Some(version.to_string());
    }
    subject.vendor = vendor;
    Ok(subject)
}

/// A product known only by a reference into another BOM: `urn:cdx:serial/version#ref`.
fn external_subject(bom_ref: &str) -> Subject {
    let fragment = bom_ref
        .strip_prefix("urn:cdx:")
        .and_then(|rest| rest.split_once('#'))
        .map(|(_, fragment)| fragment)
        .unwrap_or(bom_ref);
    let decoded = percent_decode(fragment);
    let purl = decoded.starts_with("pkg:").then_some(decoded.as_str());
    let mut subject = Subject::from_identifier(bom_ref, purl, None);
    if purl.is_none() {
        subject.name = decoded.clone();
    }
    subject
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' && index + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).unwrap_or("");
            if let Ok(byte) = u8::from_str_radix(hex, 16) {
                out.push(byte);
                index += 3;
                continue;
            }
        }
        out.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

type ReadVulnerability = (Vulnerability, Disposition, Vec<(String, String)>);

fn read_vulnerability(
    node: &Node<'_>,
    warnings: &mut Notes,
) -> Result<Option<ReadVulnerability>, VexError> {
    node.object()?;
    let id = node
        .string("id")?
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| VexError::at_pointer(node.pointer_to("id"), "missing vulnerability id"))?;
    let mut aliases = Vec::new();
    for reference in node.array("references")? {
        match reference.node().string("id")? {
            Some(alias) if alias != id => aliases.push(alias.to_string()),
            _ => {}
        }
    }
    aliases.sort();
    aliases.dedup();
    let vulnerability = if super::is_cve(id) {
        Vulnerability {
            id: id.to_string(),
            aliases,
        }
    } else {
        Vulnerability::from_ids(std::iter::once(id.to_string()).chain(aliases)).expect("not empty")
    };
    let Some(analysis) = node.child("analysis") else {
        return Ok(None);
    };
    let analysis = analysis.node();
    analysis.object()?;
    let state_text = analysis.string("state")?.ok_or_else(|| {
        VexError::at_pointer(analysis.pointer_to("state"), "the analysis has no state")
    })?;
    let state: DispositionState = state_text.parse().map_err(|error: super::UnknownValue| {
        VexError::at_pointer(analysis.pointer_to("state"), error.to_string())
    })?;
    let justification = match analysis.lenient_string("justification", warnings) {
        None => None,
        Some(text) => match text.parse::<Justification>() {
            Ok(justification) if state.takes_justification() => Some(justification),
            Ok(_) => {
                warnings.at(
                    &analysis.pointer_to("justification"),
                    format!("a justification with state `{state}` is ignored"),
                );
                None
            }
            Err(error) => {
                warnings.at(
                    &analysis.pointer_to("justification"),
                    format!("{error}; ignored"),
                );
                None
            }
        },
    };
    let mut responses = Vec::new();
    // JSON names the list `response`; the XML shape names it `responses`.
    for key in ["response", "responses"] {
        for item in analysis.array(key)? {
            match item.value.as_str().map(str::parse::<Response>) {
                Some(Ok(response)) => responses.push(response),
                Some(Err(error)) => warnings.at(&item.pointer, format!("{error}; ignored")),
                None => warnings.at(&item.pointer, "a response that is not a string; ignored"),
            }
        }
    }
    let disposition = Disposition {
        state,
        justification,
        responses,
        detail: analysis
            .lenient_string("detail", warnings)
            .map(str::to_string),
        action_statement: node
            .lenient_string("recommendation", warnings)
            .map(str::to_string),
    }
    .normalized();
    if let Err(error) = disposition.validate() {
        warnings.at(node.pointer(), format!("read as is, but {error}"));
    }
    let mut refs = Vec::new();
    for target in node.array("affects")? {
        let target = target.node();
        match target.string("ref")? {
            Some(bom_ref) => refs.push((target.pointer().to_string(), bom_ref.to_string())),
            None => warnings.at(
                target.pointer(),
                "an `affects` entry without `ref`; ignored",
            ),
        }
        if target.child("versions").is_some() {
            warnings.at(&target.pointer_to("versions"), "version ranges in `affects` are not read; the statement applies to the referenced component");
        }
    }
    Ok(Some((vulnerability, disposition, refs)))
}

/// Elements that hold a list of one kind of child, and that child's name.
const LISTS: &[(&str, &str)] = &[
    ("components", "component"),
    ("vulnerabilities", "vulnerability"),
    ("responses", "response"),
    ("affects", "target"),
    ("references", "reference"),
    ("properties", "property"),
    ("authors", "author"),
    ("hashes", "hash"),
    ("ratings", "rating"),
    ("advisories", "advisory"),
    ("cwes", "cwe"),
    ("versions", "version"),
    ("services", "service"),
    ("dependencies", "dependency"),
    ("externalReferences", "reference"),
];

/// One XML element being built.
struct XmlElement {
    name: String,
    attributes: Vec<(String, String)>,
    children: Vec<(String, Value)>,
    text: String,
    foreign: bool,
}

/// Turns a CycloneDX XML document into its JSON shape.
fn xml_to_json(text: &str) -> Result<Value, VexError> {
    let mut reader = NsReader::from_str(text);
    reader.config_mut().expand_empty_elements = true;
    let located = |offset: u64, message: String| {
        let (line, column) = crate::sbom::text::line_column(text, offset as usize);
        VexError {
            location: Some(ErrorLocation::LineColumn { line, column }),
            message,
        }
    };
    let mut stack: Vec<XmlElement> = Vec::new();
    loop {
        let offset = reader.buffer_position();
        let (namespace, event) = match reader.read_resolved_event() {
            Ok(read) => read,
            Err(error) => {
                return Err(located(
                    reader.error_position(),
                    format!("not well-formed XML: {error}"),
                ))
            }
        };
        match event {
            Event::Start(start) => {
                if stack.len() > 256 {
                    return Err(located(offset, "elements nested too deeply".into()));
                }
                let in_cyclonedx = match &namespace {
                    ResolveResult::Bound(ns) => std::str::from_utf8(ns.as_ref())
                        .unwrap_or("")
                        .starts_with(NAMESPACE_PREFIX),
                    _ => false,
                };
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                if stack.is_empty() && (name != "bom" || !in_cyclonedx) {
                    return Err(located(
                        offset,
                        format!("expected a CycloneDX <bom> in namespace {NAMESPACE_PREFIX}1.x, found <{name}>"),
                    ));
                }
                let mut attributes = Vec::new();
                for attribute in start.attributes() {
                    let attribute = attribute
                        .map_err(|error| located(offset, format!("bad attribute: {error}")))?;
                    let key =
                        String::from_utf8_lossy(attribute.key.local_name().as_ref()).into_owned();
                    if attribute.key.as_ref().starts_with(b"xmlns") {
                        continue;
                    }
                    let value = attribute
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|error| located(offset, format!("bad attribute value: {error}")))?
                        .into_owned();
                    attributes.push((key, value));
                }
                let foreign = !in_cyclonedx || stack.last().is_some_and(|parent| parent.foreign);
                stack.push(XmlElement {
                    name,
                    attributes,
                    children: Vec::new(),
                    text: String::new(),
                    foreign,
                });
            }
            Event::Text(content) => {
                if let Some(element) = stack.last_mut() {
                    let content = content
                        .decode()
                        .map_err(|error| located(offset, format!("bad text: {error}")))?;
                    element.text.push_str(&content);
                }
            }
            Event::CData(content) => {
                if let Some(element) = stack.last_mut() {
                    let content = content
                        .decode()
                        .map_err(|error| located(offset, format!("bad text: {error}")))?;
                    element.text.push_str(&content);
                }
            }
            Event::GeneralRef(reference) => {
                if let Some(element) = stack.last_mut() {
                    let name = String::from_utf8_lossy(&reference).into_owned();
                    let resolved = if reference.is_char_ref() {
                        reference.resolve_char_ref().ok().flatten()
                    } else {
                        match name.as_str() {
                            "amp" => Some('&'),
                            "lt" => Some('<'),
                            "gt" => Some('>'),
                            "quot" => Some('"'),
                            "apos" => Some('\''),
                            _ => None,
                        }
                    };
                    match resolved {
                        Some(c) => element.text.push(c),
                        None => return Err(located(offset, format!("unknown entity `&{name};`"))),
                    }
                }
            }
            Event::End(_) => {
                let element = stack.pop().expect("the parser checks nesting");
                let (name, value, foreign) = (
                    element.name.clone(),
                    element_value(
                        element.name.as_str(),
                        element.attributes,
                        element.children,
                        element.text,
                    ),
                    element.foreign,
                );
                match stack.last_mut() {
                    Some(parent) => {
                        if !foreign {
                            parent.children.push((name, value));
                        }
                    }
                    None => return Ok(value),
                }
            }
            Event::Eof => {
                return Err(located(
                    text.len() as u64,
                    "the document ends before </bom>".into(),
                ))
            }
            _ => {}
        }
    }
}

fn element_value(
    name: &str,
    attributes: Vec<(String, String)>,
    children: Vec<(String, Value)>,
    text: String,
) -> Value {
    if let Some((_, item)) = LISTS.iter().find(|(list, _)| *list == name) {
        if attributes.is_empty() && children.iter().all(|(child, _)| child == item) {
            return Value::Array(children.into_iter().map(|(_, value)| value).collect());
        }
    }
    if name == "tools" && !children.is_empty() && children.iter().all(|(child, _)| child == "tool")
    {
        return Value::Array(children.into_iter().map(|(_, value)| value).collect());
    }
    if attributes.is_empty() && children.is_empty() {
        return Value::String(text.trim().to_string());
    }
    let mut object = Map::new();
    for (key, value) in attributes {
        let value = match (name, key.as_str()) {
            ("bom", "version") => value
                .parse::<u64>()
                .map(Value::from)
                .unwrap_or(Value::String(value)),
            _ => Value::String(value),
        };
        object.insert(key, value);
    }
    let mut grouped: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut order = Vec::new();
    for (child, value) in children {
        if !grouped.contains_key(&child) {
            order.push(child.clone());
        }
        grouped.entry(child).or_default().push(value);
    }
    for child in order {
        let mut values = grouped.remove(&child).unwrap_or_default();
        let value = if values.len() == 1 {
            values.pop().unwrap()
        } else {
            Value::Array(values)
        };
        object.insert(child, value);
    }
    if !text.trim().is_empty() {
        object.insert("value".into(), Value::String(text.trim().to_string()));
    }
    Value::Object(object)
}
