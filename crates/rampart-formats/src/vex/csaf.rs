//! CSAF 2.0, VEX profile (`csaf_vex`; <https://docs.oasis-open.org/csaf/csaf/v2.0/>).
//!
//! Written: `document` (category `csaf_vex`, publisher with namespace, title, `tracking` with
//! id, version, status, initial and current release dates, the revision history and the
//! generator), a `product_tree` with branches vendor → product_name → product_version for
//! the products, the components as `full_product_names`, and one `default_component_of`
//! relationship per product × component a statement names; all with
//! `product_identification_helper` purl / CPE. One `vulnerabilities[]` entry per
//! vulnerability (CSAF forbids repeating a CVE): `cve` where one exists, other ids as `ids`,
//! a note, `product_status`, justifications as `flags`, the detail as an `impact` threat, and
//! responses / action statement as `remediations` (see the mapping table in
//! [`super::disposition`]), and where those merge values, the exact CycloneDX analysis as a
//! note of category `other`.
//!
//! Read: any CSAF 2.0 document (Red Hat's security advisories too, with a warning), product
//! ids resolved through branches, full product names and relationships (a relationship's
//! `product_reference` is the component, `relates_to_product_reference` the product).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{json, Map, Value};

use super::disposition::{
    ExactAnalysis, PlainFormat, CSAF_EXACT_ANALYSIS_TITLE, CSAF_REMEDIATION_WITHOUT_RESPONSE,
    DEFAULT_REMEDIATION_DETAILS,
};
use super::json_walk::{self, Located, Node};
use super::{
    format_time, parse_time, Author, Disposition, DispositionState, DocumentMetadata,
    DocumentStatus, Justification, Notes, Response, Revision, Statement, Subject, SubjectList,
    VexDocument, VexError, VexFormat, VexRead, Vulnerability,
};

/// Writes a CSAF 2.0 document of the VEX profile.
pub fn write(document: &VexDocument) -> Result<Vec<u8>, VexError> {
    document.check_writable()?;
    if document.statements.is_empty() {
        return Err(VexError::at_pointer(
            "/statements",
            "a CSAF VEX document needs at least one vulnerability",
        ));
    }
    let metadata = &document.metadata;
    let namespace = publisher_namespace(metadata)?;
    let product_ids: HashMap<&str, String> = document
        .products
        .iter()
        .enumerate()
        .map(|(index, p)| (p.key.as_str(), format!("PRODUCT-{}", index + 1)))
        .collect();
    let component_ids: HashMap<&str, String> = document
        .components
        .iter()
        .enumerate()
        .map(|(index, c)| (c.key.as_str(), format!("COMPONENT-{}", index + 1)))
        .collect();

    // Product ids a statement speaks about, and the relationships they need.
    let mut relationships: BTreeMap<String, (&Subject, &Subject)> = BTreeMap::new();
    let mut statement_ids: Vec<Vec<String>> = Vec::with_capacity(document.statements.len());
    let components_by_key: HashMap<&str, &Subject> = document
        .components
        .iter()
        .map(|c| (c.key.as_str(), c))
        .collect();
    for statement in &document.statements {
        let mut ids = Vec::new();
        for product in &statement.products {
            let product_id = &product_ids[product.as_str()];
            if statement.components.is_empty() {
                ids.push(product_id.clone());
            }
            for component in &statement.components {
                let id = format!("{}:{product_id}", component_ids[component.as_str()]);
                relationships.entry(id.clone()).or_insert_with(|| {
                    (
                        components_by_key[component.as_str()],
                        document.product(product).expect("checked"),
                    )
                });
                ids.push(id);
            }
        }
        statement_ids.push(ids);
    }

    let product_tree = product_tree(document, &product_ids, &component_ids, &relationships);

    // One vulnerability per id, in order of first appearance.
    let mut order: Vec<&Vulnerability> = Vec::new();
    let mut grouped: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, statement) in document.statements.iter().enumerate() {
        let entry = grouped
            .entry(statement.vulnerability.id.as_str())
            .or_default();
        if entry.is_empty() {
            order.push(&statement.vulnerability);
        }
        entry.push(index);
    }
    let vulnerabilities: Vec<Value> = order
        .into_iter()
        .map(|vulnerability| {
            let statements: Vec<(&Statement, &[String])> = grouped[vulnerability.id.as_str()]
                .iter()
                .map(|&index| (&document.statements[index], statement_ids[index].as_slice()))
                .collect();
            write_vulnerability(vulnerability, &statements)
        })
        .collect();

    let revisions = document.revisions();
    let revision_history: Vec<Value> = revisions
        .iter()
        .map(|revision| {
            json!({
                "date": format_time(&revision.date),
                "number": revision.version.to_string(),
                "summary": revision.summary,
            })
        })
        .collect();
    let title = metadata.title.clone().unwrap_or_else(|| {
        let names: BTreeSet<&str> = document.products.iter().map(|p| p.name.as_str()).collect();
        format!(
            "VEX for {}",
            names.into_iter().collect::<Vec<_>>().join(", ")
        )
    });
    let root = json!({
        "document": {
            "category": "csaf_vex",
            "csaf_version": "2.0",
            "lang": "en",
            "notes": [{
                "category": "summary",
                "title": "About this document",
                "text": "Vulnerability Exploitability eXchange (VEX): the status of the listed vulnerabilities in the listed products, as assessed by the publisher.",
            }],
            "publisher": {
                "category": "vendor",
                "name": metadata.author.name,
                "namespace": namespace,
            },
            "title": title,
            "tracking": {
                "current_release_date": format_time(&metadata.last_updated),
                "generator": {
                    "date": format_time(&metadata.last_updated),
                    "engine": { "name": "Rampart", "version": env!("CARGO_PKG_VERSION") },
                },
                "id": metadata.id,
                "initial_release_date": format_time(&metadata.created),
                "revision_history": revision_history,
                "status": metadata.status.as_str(),
                "version": metadata.version.to_string(),
            },
        },
        "product_tree": product_tree,
        "vulnerabilities": vulnerabilities,
    });
    Ok(json_walk::to_pretty_bytes(&root))
}

/// The publisher's namespace: given, or the origin of a document id that is an URL.
fn publisher_namespace(metadata: &DocumentMetadata) -> Result<String, VexError> {
    if let Some(namespace) = &metadata.author.namespace {
        return Ok(namespace.clone());
    }
    let origin = metadata.id.split_once("://").and_then(|(scheme, rest)| {
        let host = rest.split('/').next().filter(|h| !h.is_empty())?;
        matches!(scheme, "https" | "http").then(|| format!("{scheme}://{host}"))
    });
    origin.ok_or_else(|| {
        VexError::at_pointer(
            "/metadata/author/namespace",
            "CSAF needs the publisher's namespace (an URL), and the document id is not one",
        )
    })
}

fn identification_helper(subject: &Subject) -> Option<Value> {
    let mut helper = Map::new();
    if let Some(purl) = &subject.purl {
        helper.insert("purl".into(), json!(purl));
    }
    if let Some(cpe) = &subject.cpe {
        helper.insert("cpe".into(), json!(cpe));
    }
    (!helper.is_empty()).then_some(Value::Object(helper))
}

fn full_product_name(name: String, product_id: &str, subject: Option<&Subject>) -> Value {
    let mut entry = Map::new();
    entry.insert("name".into(), json!(name));
    entry.insert("product_id".into(), json!(product_id));
    if let Some(helper) = subject.and_then(identification_helper) {
        entry.insert("product_identification_helper".into(), helper);
    }
    Value::Object(entry)
}

fn display_name(subject: &Subject) -> String {
    let mut name = String::new();
    if let Some(vendor) = &subject.vendor {
        name.push_str(vendor);
        name.push(' ');
    }
    name.push_str(&subject.name);
    if let Some(version) = &subject.version {
        name.push(' ');
        name.push_str(version);
    }
    name
}

/// A product name and its releases.
type NamedProducts<'a> = (String, Vec<&'a Subject>);

fn product_tree(
    document: &VexDocument,
    product_ids: &HashMap<&str, String>,
    component_ids: &HashMap<&str, String>,
    relationships: &BTreeMap<String, (&Subject, &Subject)>,
) -> Value {
    // vendor → product name → [(version, product)], in first-seen order.
    let mut vendors: Vec<(String, Vec<NamedProducts<'_>>)> = Vec::new();
    for product in &document.products {
        let vendor = product
            .vendor
            .clone()
            .unwrap_or_else(|| document.metadata.author.name.clone());
        let position = match vendors.iter().position(|(v, _)| *v == vendor) {
            Some(position) => position,
            None => {
                vendors.push((vendor, Vec::new()));
                vendors.len() - 1
            }
        };
        let names = &mut vendors[position].1;
        match names.iter_mut().find(|(name, _)| *name == product.name) {
            Some((_, list)) => list.push(product),
            None => names.push((product.name.clone(), vec![product])),
        }
    }
    let branches: Vec<Value> = vendors
        .into_iter()
        .map(|(vendor, names)| {
            let names: Vec<Value> = names
                .into_iter()
                .map(|(name, products)| {
                    let leaf = |product: &Subject| {
                        full_product_name(
                            display_name(product),
                            &product_ids[product.key.as_str()],
                            Some(product),
                        )
                    };
                    // A product without a version hangs directly under its name.
                    let (versioned, plain): (Vec<&Subject>, Vec<&Subject>) =
                        products.into_iter().partition(|p| p.version.is_some());
                    let mut branch = json!({ "category": "product_name", "name": name });
                    if let (Some(product), true) = (plain.first(), versioned.is_empty()) {
                        branch["product"] = leaf(product);
                    } else {
                        let versions: Vec<Value> = versioned
                            .iter()
                            .map(|product| {
                                json!({
                                    "category": "product_version",
                                    "name": product.version.as_deref().unwrap_or_default(),
                                    "product": leaf(product),
                                })
                            })
                            .chain(plain.iter().map(|product| {
                                json!({
                                    "category": "product_version",
                                    "name": "unspecified",
                                    "product": leaf(product),
                                })
                            }))
                            .collect();
                        branch["branches"] = Value::Array(versions);
                    }
                    branch
                })
                .collect();
            json!({ "category": "vendor", "name": vendor, "branches": names })
        })
        .collect();
    let mut tree = Map::new();
    tree.insert("branches".into(), Value::Array(branches));
    if !document.components.is_empty() {
        let components: Vec<Value> = document
            .components
            .iter()
            .map(|component| {
                full_product_name(
                    display_name(component),
                    &component_ids[component.key.as_str()],
                    Some(component),
                )
            })
            .collect();
        tree.insert("full_product_names".into(), Value::Array(components));
    }
    if !relationships.is_empty() {
        let relations: Vec<Value> = relationships
            .iter()
            .map(|(id, (component, product))| {
                json!({
                    "category": "default_component_of",
                    "full_product_name": full_product_name(
                        format!("{} as a component of {}", display_name(component), display_name(product)),
                        id,
                        None,
                    ),
                    "product_reference": component_ids[component.key.as_str()],
                    "relates_to_product_reference": product_ids[product.key.as_str()],
                })
            })
            .collect();
        tree.insert("relationships".into(), Value::Array(relations));
    }
    Value::Object(tree)
}

fn write_vulnerability(
    vulnerability: &Vulnerability,
    statements: &[(&Statement, &[String])],
) -> Value {
    let mut status: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut flags: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut threats: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut remediations: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
    // What CSAF's own fields cannot say, per exact analysis text: the products it is about.
    let mut exact: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for (statement, ids) in statements {
        let disposition = &statement.disposition;
        let ids = ids.iter().map(String::as_str);
        if disposition.needs_exact_analysis(PlainFormat::Csaf) {
            exact
                .entry(ExactAnalysis::of(disposition).to_text())
                .or_default()
                .extend(ids.clone());
        }
        status
            .entry(disposition.state.csaf())
            .or_default()
            .extend(ids.clone());
        if let Some(justification) = disposition.justification {
            flags
                .entry(justification.openvex())
                .or_default()
                .extend(ids.clone());
        }
        if let Some(detail) = &disposition.detail {
            threats
                .entry(detail.as_str())
                .or_default()
                .extend(ids.clone());
        }
        let details = disposition
            .action_statement
            .as_deref()
            .unwrap_or(DEFAULT_REMEDIATION_DETAILS);
        for response in &disposition.responses {
            remediations
                .entry((response.csaf_remediation(), details))
                .or_default()
                .extend(ids.clone());
        }
        if disposition.responses.is_empty() && disposition.action_statement.is_some() {
            remediations
                .entry((CSAF_REMEDIATION_WITHOUT_RESPONSE, details))
                .or_default()
                .extend(ids.clone());
        }
    }
    let mut entry = Map::new();
    let cve = vulnerability.cve();
    if let Some(cve) = cve {
        entry.insert("cve".into(), json!(cve));
    }
    let ids: Vec<Value> = std::iter::once(&vulnerability.id)
        .chain(&vulnerability.aliases)
        .filter(|id| Some(id.as_str()) != cve)
        .map(|id| {
            let system = if id.starts_with("GHSA-") {
                "GitHub Security Advisories".to_string()
            } else {
                id.split(['-', ':']).next().unwrap_or(id).to_string()
            };
            json!({ "system_name": system, "text": id })
        })
        .collect();
    if !ids.is_empty() {
        entry.insert("ids".into(), Value::Array(ids));
    }
    let mut notes = vec![json!({
        "category": "summary",
        "title": "Status",
        "text": format!("The status of {} in the products listed.", vulnerability.id),
    })];
    for (text, ids) in exact {
        let ids: Vec<&str> = ids.into_iter().collect();
        notes.push(json!({
            "category": "other",
            "title": CSAF_EXACT_ANALYSIS_TITLE,
            "text": format!("{text}; product_ids={}", ids.join(" ")),
        }));
    }
    entry.insert("notes".into(), Value::Array(notes));
    let product_ids = |set: BTreeSet<&str>| json!(set.into_iter().collect::<Vec<_>>());
    let mut product_status = Map::new();
    for (group, set) in status {
        product_status.insert(group.into(), product_ids(set));
    }
    entry.insert("product_status".into(), Value::Object(product_status));
    if !flags.is_empty() {
        let flags: Vec<Value> = flags
            .into_iter()
            .map(|(label, set)| json!({ "label": label, "product_ids": product_ids(set) }))
            .collect();
        entry.insert("flags".into(), Value::Array(flags));
    }
    if !threats.is_empty() {
        let threats: Vec<Value> = threats
            .into_iter()
            .map(|(details, set)| json!({ "category": "impact", "details": details, "product_ids": product_ids(set) }))
            .collect();
        entry.insert("threats".into(), Value::Array(threats));
    }
    if !remediations.is_empty() {
        let remediations: Vec<Value> = remediations
            .into_iter()
            .map(|((category, details), set)| {
                json!({ "category": category, "details": details, "product_ids": product_ids(set) })
            })
            .collect();
        entry.insert("remediations".into(), Value::Array(remediations));
    }
    Value::Object(entry)
}

/// Reads a CSAF 2.0 document.
pub fn read(text: &str) -> Result<VexRead, VexError> {
    let value = json_walk::parse(text)?;
    let root = Located::root(&value);
    let root = root.node();
    root.object()?;
    let mut warnings = Notes::default();
    let mut skipped = Notes::default();
    let document = root
        .child("document")
        .ok_or_else(|| VexError::at_pointer("/document", "missing: not a CSAF document"))?;
    let document = document.node();
    document.object()?;
    match document.string("csaf_version")? {
        Some("2.0") => {}
        Some(other) => warnings.at(
            "/document/csaf_version",
            format!("CSAF {other} is read as 2.0"),
        ),
        None => warnings.at("/document/csaf_version", "no csaf_version; read as 2.0"),
    }
    match document.string("category")? {
        Some("csaf_vex") => {}
        Some(other) => warnings.at(
            "/document/category",
            format!("category `{other}` is not the VEX profile (`csaf_vex`); its product status is read all the same"),
        ),
        None => warnings.at("/document/category", "no category"),
    }
    let (author, namespace) = match document.child("publisher") {
        Some(publisher) => {
            let publisher = publisher.node();
            (
                publisher
                    .lenient_string("name", &mut warnings)
                    .unwrap_or_default()
                    .to_string(),
                publisher
                    .lenient_string("namespace", &mut warnings)
                    .map(str::to_string),
            )
        }
        None => {
            warnings.at("/document/publisher", "no publisher");
            (String::new(), None)
        }
    };
    let title = document
        .lenient_string("title", &mut warnings)
        .map(str::to_string);
    let tracking = document.child("tracking").ok_or_else(|| {
        VexError::at_pointer(
            "/document/tracking",
            "missing: a CSAF document has tracking",
        )
    })?;
    let tracking = tracking.node();
    tracking.object()?;
    let id = tracking
        .lenient_string("id", &mut warnings)
        .unwrap_or_default()
        .to_string();
    let status = match tracking.lenient_string("status", &mut warnings) {
        Some("draft") => DocumentStatus::Draft,
        Some("interim") => DocumentStatus::Interim,
        Some("final") => DocumentStatus::Final,
        other => {
            warnings.at(
                &tracking.pointer_to("status"),
                format!("unknown status {other:?}; read as final"),
            );
            DocumentStatus::Final
        }
    };
    let mut revision_history = Vec::new();
    for item in tracking.array("revision_history")? {
        let revision = item.node();
        let number = revision
            .lenient_string("number", &mut warnings)
            .unwrap_or_default();
        let date = revision
            .lenient_string("date", &mut warnings)
            .and_then(parse_time);
        match (integer_version(number), date) {
            (Some(version), Some(date)) => revision_history.push(Revision {
                version,
                date,
                summary: revision
                    .lenient_string("summary", &mut warnings)
                    .unwrap_or_default()
                    .to_string(),
            }),
            _ => warnings.at(
                revision.pointer(),
                format!("revision `{number}` has no integer number or no date; not kept"),
            ),
        }
    }
    let version_text = tracking
        .lenient_string("version", &mut warnings)
        .unwrap_or("1");
    let version = integer_version(version_text).unwrap_or_else(|| {
        let fallback = revision_history.len().max(1) as u32;
        warnings.at(
            &tracking.pointer_to("version"),
            format!("version `{version_text}` is not an integer; read as {fallback}"),
        );
        fallback
    });
    let time = |key: &str, warnings: &mut Notes| {
        tracking.lenient_string(key, warnings).and_then(|text| {
            let parsed = parse_time(text);
            if parsed.is_none() {
                warnings.at(
                    &tracking.pointer_to(key),
                    format!("`{text}` is not an RFC 3339 time"),
                );
            }
            parsed
        })
    };
    let initial = time("initial_release_date", &mut warnings);
    let current = time("current_release_date", &mut warnings);
    let created = initial.or(current).unwrap_or_else(|| {
        warnings.at(
            "/document/tracking",
            "no release dates; using the Unix epoch",
        );
        chrono::DateTime::UNIX_EPOCH
    });

    let tree = read_product_tree(&root, &mut warnings)?;
    let mut subjects = Subjects {
        tree: &tree,
        products: SubjectList::default(),
        components: SubjectList::default(),
    };

    let mut statements = Vec::new();
    for item in root.array("vulnerabilities")? {
        let node = item.node();
        match read_vulnerability(&node, &mut subjects, &mut warnings) {
            Ok(read) if read.is_empty() => {
                skipped.at(node.pointer(), "vulnerability skipped: no product status")
            }
            Ok(read) => statements.extend(read),
            Err(reason) => skipped.push(
                reason.location,
                format!("vulnerability skipped: {}", reason.message),
            ),
        }
    }
    Ok(VexRead {
        format: VexFormat::Csaf,
        document: VexDocument {
            metadata: DocumentMetadata {
                id,
                version,
                title,
                author: Author {
                    name: author,
                    namespace,
                    role: None,
                },
                created,
                last_updated: current.unwrap_or(created),
                status,
                revision_history,
                serial_number: None,
            },
            products: subjects.products.into_vec(),
            components: subjects.components.into_vec(),
            statements,
        },
        warnings: warnings.finish(),
        skipped: skipped.finish(),
    })
}

/// `"3"` → 3; semantic versions are not integers.
fn integer_version(text: &str) -> Option<u32> {
    text.trim().parse().ok().filter(|v| *v >= 1)
}

/// The product tree: what each product id stands for.
#[derive(Default)]
struct ProductTree {
    /// Products and components defined in branches and `full_product_names`.
    defined: HashMap<String, Subject>,
    /// Relationship ids → (component id, product id).
    relations: HashMap<String, (String, String)>,
}

/// Subjects added as statements name them, so that unused tree entries stay out.
struct Subjects<'t> {
    tree: &'t ProductTree,
    products: SubjectList,
    components: SubjectList,
}

impl Subjects<'_> {
    fn subject(&self, id: &str) -> Subject {
        self.tree
            .defined
            .get(id)
            .cloned()
            .unwrap_or_else(|| Subject::from_identifier(id, None, None))
    }

    /// The product key and component key (if any) a product id stands for; `None` for an id
    /// the tree does not define.
    fn resolve(&mut self, id: &str) -> Option<(String, Option<String>)> {
        if let Some((component, product)) = self.tree.relations.get(id) {
            let product = self.products.add(self.subject(product));
            let component = self.components.add(self.subject(component));
            return Some((product, Some(component)));
        }
        let subject = self.tree.defined.get(id)?.clone();
        Some((self.products.add(subject), None))
    }
}

/// Branch path context while walking the tree.
#[derive(Default, Clone)]
struct BranchContext {
    vendor: Option<String>,
    name: Option<String>,
    version: Option<String>,
}

fn read_product_tree(root: &Node<'_>, warnings: &mut Notes) -> Result<ProductTree, VexError> {
    let mut tree = ProductTree::default();
    let Some(node) = root.child("product_tree") else {
        warnings.at("/product_tree", "no product tree");
        return Ok(tree);
    };
    let node = node.node();
    node.object()?;
    for branch in node.array("branches")? {
        walk_branch(
            &branch.node(),
            &BranchContext::default(),
            &mut tree,
            warnings,
            0,
        )?;
    }
    for item in node.array("full_product_names")? {
        define(
            &mut tree,
            read_full_product_name(&item.node(), &BranchContext::default())?,
            item.pointer.as_str(),
            warnings,
        );
    }
    for item in node.array("relationships")? {
        let relation = item.node();
        let component = relation.string("product_reference")?;
        let product = relation.string("relates_to_product_reference")?;
        let id = match relation.child("full_product_name") {
            Some(full) => full.node().string("product_id")?,
            None => None,
        };
        match (component, product, id) {
            (Some(component), Some(product), Some(id)) => {
                tree.relations
                    .insert(id.to_string(), (component.to_string(), product.to_string()));
            }
            _ => warnings.at(
                relation.pointer(),
                "a relationship without product_reference, relates_to_product_reference or full_product_name.product_id; ignored",
            ),
        }
    }
    Ok(tree)
}

fn define(tree: &mut ProductTree, subject: Subject, pointer: &str, warnings: &mut Notes) {
    if tree.defined.contains_key(&subject.key) {
        warnings.at(
            pointer,
            format!(
                "product id `{}` is defined twice; the first definition is kept",
                subject.key
            ),
        );
        return;
    }
    tree.defined.insert(subject.key.clone(), subject);
}

fn walk_branch(
    node: &Node<'_>,
    context: &BranchContext,
    tree: &mut ProductTree,
    warnings: &mut Notes,
    depth: usize,
) -> Result<(), VexError> {
    if depth > 30 {
        return Err(VexError::at_pointer(
            node.pointer(),
            "branches nested too deeply",
        ));
    }
    node.object()?;
    let mut context = context.clone();
    let name = node.lenient_string("name", warnings).map(str::to_string);
    match node.lenient_string("category", warnings) {
        Some("vendor") => context.vendor = name,
        Some("product_name") => context.name = name,
        Some("product_family") if context.name.is_none() => context.name = name,
        Some("product_version") => context.version = name,
        // A `vers:` range becomes the version, which matching reads as a range.
        Some("product_version_range")
            if name.as_deref().is_some_and(|n| n.starts_with("vers:")) =>
        {
            context.version = name
        }
        Some("product_version_range") => {
            warnings.at(
                node.pointer(),
                "a product_version_range branch that is not a `vers:` range is read as a product name, without the range",
            );
        }
        _ => {}
    }
    if let Some(product) = node.child("product") {
        let subject = read_full_product_name(&product.node(), &context)?;
        define(tree, subject, &product.pointer, warnings);
    }
    for branch in node.array("branches")? {
        walk_branch(&branch.node(), &context, tree, warnings, depth + 1)?;
    }
    Ok(())
}

fn read_full_product_name(node: &Node<'_>, context: &BranchContext) -> Result<Subject, VexError> {
    node.object()?;
    let id = node
        .string("product_id")?
        .ok_or_else(|| VexError::at_pointer(node.pointer_to("product_id"), "missing product_id"))?;
    let name = node.string("name")?.unwrap_or(id);
    let (purl, cpe) = match node.child("product_identification_helper") {
        Some(helper) => {
            let helper = helper.node();
            (helper.string("purl")?, helper.string("cpe")?)
        }
        None => (None, None),
    };
    let mut subject = Subject::from_identifier(id, purl, cpe);
    subject.key = id.to_string();
    subject.name = context.name.clone().unwrap_or_else(|| name.to_string());
    subject.vendor = context.vendor.clone();
    if context.version.is_some() {
        subject.version = context.version.clone();
    }
    Ok(subject)
}

/// The product ids of a flag, threat or remediation, each with the element's index.
fn product_ids<'a>(node: &Node<'a>) -> Result<Vec<&'a str>, VexError> {
    let mut ids = Vec::new();
    for id in node.array("product_ids")? {
        if let Some(id) = id.value.as_str() {
            ids.push(id);
        }
    }
    Ok(ids)
}

fn read_vulnerability(
    node: &Node<'_>,
    subjects: &mut Subjects<'_>,
    warnings: &mut Notes,
) -> Result<Vec<Statement>, VexError> {
    node.object()?;
    let mut names = Vec::new();
    if let Some(cve) = node.string("cve")? {
        names.push(cve.to_string());
    }
    for id in node.array("ids")? {
        if let Some(text) = id.node().string("text")? {
            names.push(text.to_string());
        }
    }
    let vulnerability = Vulnerability::from_ids(names).ok_or_else(|| {
        VexError::at_pointer(
            node.pointer(),
            "neither `cve` nor `ids` name the vulnerability",
        )
    })?;

    // Per product id: its justification, impact details and remediations.
    let mut justification_of: HashMap<&str, Justification> = HashMap::new();
    for flag in node.array("flags")? {
        let flag = flag.node();
        let label = flag.lenient_string("label", warnings).unwrap_or_default();
        let Some(justification) = Justification::from_openvex(label) else {
            warnings.at(
                &flag.pointer_to("label"),
                format!("unknown flag label `{label}`; ignored"),
            );
            continue;
        };
        if flag.child("group_ids").is_some() {
            warnings.at(
                &flag.pointer_to("group_ids"),
                "product groups are not resolved; only product_ids are read",
            );
        }
        for id in product_ids(&flag)? {
            justification_of.insert(id, justification);
        }
    }
    let mut details_of: HashMap<&str, Vec<&str>> = HashMap::new();
    for threat in node.array("threats")? {
        let threat = threat.node();
        if threat.lenient_string("category", warnings) != Some("impact") {
            continue;
        }
        let Some(details) = threat.lenient_string("details", warnings) else {
            continue;
        };
        for id in product_ids(&threat)? {
            details_of.entry(id).or_default().push(details);
        }
    }
    let mut remediation_of: HashMap<&str, (Vec<Response>, Vec<&str>)> = HashMap::new();
    for remediation in node.array("remediations")? {
        let remediation = remediation.node();
        let category = remediation
            .lenient_string("category", warnings)
            .unwrap_or_default();
        let response = match Response::from_csaf_remediation(category) {
            Some(response) => response,
            None => {
                warnings.at(
                    &remediation.pointer_to("category"),
                    format!("unknown remediation category `{category}`; ignored"),
                );
                continue;
            }
        };
        let details = remediation
            .lenient_string("details", warnings)
            .filter(|d| *d != DEFAULT_REMEDIATION_DETAILS);
        for id in product_ids(&remediation)? {
            let entry = remediation_of.entry(id).or_default();
            entry.0.extend(response);
            if let Some(details) = details {
                if !entry.1.contains(&details) {
                    entry.1.push(details);
                }
            }
        }
    }

    // Rampart's notes with the exact CycloneDX values, per product id.
    let mut exact_of: HashMap<String, (ExactAnalysis, String)> = HashMap::new();
    for note in node.array("notes")? {
        let note = note.node();
        if note.lenient_string("category", warnings) != Some("other")
            || note.lenient_string("title", warnings) != Some(CSAF_EXACT_ANALYSIS_TITLE)
        {
            continue;
        }
        let text = note.lenient_string("text", warnings).unwrap_or_default();
        match ExactAnalysis::parse(text) {
            Some(exact) => {
                for id in &exact.product_ids {
                    exact_of.insert(id.clone(), (exact.clone(), note.pointer().to_string()));
                }
            }
            None => warnings.at(
                &note.pointer_to("text"),
                format!("a `{CSAF_EXACT_ANALYSIS_TITLE}` note that cannot be read; ignored"),
            ),
        }
    }

    // Statements group the product ids that share a state, a disposition and components.
    let mut groups: BTreeMap<(Vec<String>, usize), Vec<String>> = BTreeMap::new();
    let mut dispositions: Vec<Disposition> = Vec::new();
    let Some(status) = node.child("product_status") else {
        return Ok(Vec::new());
    };
    let status = status.node();
    let groups_object = status.object()?;
    for group in groups_object.keys() {
        let Some((state, merged)) = DispositionState::from_csaf(group) else {
            warnings.at(
                &status.pointer_to(group),
                format!("unknown product status `{group}`; ignored"),
            );
            continue;
        };
        if merged {
            warnings.at(
                &status.pointer_to(group),
                format!("product status `{group}` is read as {state}"),
            );
        }
        for item in status.array(group)? {
            let Some(id) = item.value.as_str() else {
                warnings.at(&item.pointer, "a product id that is not a string; ignored");
                continue;
            };
            let Some((product, component)) = subjects.resolve(id) else {
                warnings.at(
                    &item.pointer,
                    format!("product id `{id}` is not defined in the product tree; ignored"),
                );
                continue;
            };
            let (responses, actions) = remediation_of.get(id).cloned().unwrap_or_default();
            let details = details_of.get(id).cloned().unwrap_or_default();
            let mut disposition = Disposition {
                state,
                justification: justification_of
                    .get(id)
                    .copied()
                    .filter(|_| state.takes_justification()),
                responses,
                detail: (!details.is_empty()).then(|| details.join("\n\n")),
                action_statement: (!actions.is_empty()).then(|| actions.join("\n\n")),
            }
            .normalized();
            if let Some((exact, pointer)) = exact_of.get(id) {
                match exact.apply_to(&disposition, PlainFormat::Csaf) {
                    Ok(exact) => disposition = exact,
                    Err(message) => warnings.at(pointer, format!("product `{id}`: {message}")),
                }
            }
            let index = match dispositions.iter().position(|d| *d == disposition) {
                Some(index) => index,
                None => {
                    dispositions.push(disposition);
                    dispositions.len() - 1
                }
            };
            groups
                .entry((component.into_iter().collect(), index))
                .or_default()
                .push(product);
        }
    }
    // Then components that share the products and the decision make one statement.
    let mut merged: BTreeMap<(usize, Vec<String>, bool), Vec<String>> = BTreeMap::new();
    for ((components, index), mut products) in groups {
        products.sort();
        products.dedup();
        let entry = merged
            .entry((index, products, components.is_empty()))
            .or_default();
        entry.extend(components);
    }
    let statements = merged
        .into_iter()
        .map(|((index, products, _), components)| Statement {
            vulnerability: vulnerability.clone(),
            products,
            components,
            disposition: dispositions[index].clone(),
            timestamp: None,
        })
        .collect();
    Ok(statements)
}
