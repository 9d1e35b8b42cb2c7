//! VEX documents per release or per product (all its releases), generated from the current
//! triage decisions in OpenVEX 0.2.0, CycloneDX 1.6 (JSON, XML; optionally BOM and VEX in
//! one document) or CSAF 2.0 (VEX profile), and taken through the approval workflow of
//! [`rampart_core::vex_workflow`] (`vex:read` views, `vex:write` acts).
//!
//! What a document says: one statement per open finding (vulnerability alias group ×
//! component) of each release, merged across releases where vulnerability, component and
//! decision are the same. **A finding without a decision is `in_triage`** (OpenVEX
//! `under_investigation`, CSAF `under_investigation`): a customer sees every known
//! vulnerability, and "not yet assessed" is itself a statement. Vulnerabilities are named by
//! their CVE where one exists, other aliases listed.
//!
//! Versions: documents of one *series* (the same release or product, format and BOM option)
//! share their CSAF `tracking.id` / OpenVEX `@id` and CycloneDX `serialNumber`. A new draft
//! gets version = published versions + 1 and supersedes every unpublished document of the
//! series; its revision history lists the published versions and itself. What a draft says
//! is kept as a snapshot, so publishing renders the same statements again with CSAF status
//! `final` and the publication date; its bytes and SHA-256 are stored with it.

use chrono::{DateTime, Utc};
use rampart_core::vex_workflow::{check_approver, VexAction, VexStatus};
use rampart_core::{PageRequest, Scope};
use rampart_formats::sbom::Sbom;
use rampart_formats::vex::{
    self, Author, Disposition, DispositionState, DocumentMetadata, DocumentStatus, Revision,
    Statement, Subject, VexDocument, VexFormat, Vulnerability,
};
use rampart_store::{
    NewVexDocument, Page, Product, PublishedVersion, Release, VexActor, VexDocumentEvent,
    VexDocumentFilter, VexDocumentRecord, VexRendering, VexTransition,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::actor::{Actor, RequestOrigin};
use crate::error::{ErrorCode, ServiceError};
use crate::services::dispositions::ReleaseDecision;
use crate::{fields, Engine};

const MAX_TITLE: usize = 300;
const MAX_SUMMARY: usize = 2000;
const MAX_REASON: usize = 4000;

/// The formats documents are generated in, by their API names.
pub const FORMATS: [&str; 4] = ["openvex", "cyclonedx-json", "cyclonedx-xml", "csaf"];

/// `openvex`, `cyclonedx-json`, `cyclonedx-xml` or `csaf`.
pub fn parse_format(text: &str) -> Option<VexFormat> {
    match text {
        "openvex" => Some(VexFormat::OpenVex),
        "cyclonedx-json" => Some(VexFormat::CycloneDxJson),
        "cyclonedx-xml" => Some(VexFormat::CycloneDxXml),
        "csaf" => Some(VexFormat::Csaf),
        _ => None,
    }
}

/// The content type a document in `format` is served with.
pub fn content_type(format: VexFormat) -> &'static str {
    match format {
        VexFormat::OpenVex | VexFormat::Csaf => "application/json",
        VexFormat::CycloneDxJson => "application/vnd.cyclonedx+json; version=1.6",
        VexFormat::CycloneDxXml => "application/vnd.cyclonedx+xml; version=1.6",
    }
}

/// The file name a document is downloaded as: CSAF's own rule for `tracking.id` (lower
/// case, runs of other characters than `+`, `-`, `a-z`, `0-9` as `_`, §5.1), a
/// format-specific extension and the version.
pub fn file_name(tracking_id: &str, format: &str, version: i64) -> String {
    let base = csaf_file_stem(tracking_id);
    match format {
        "openvex" => format!("{base}-v{version}.openvex.json"),
        "cyclonedx-json" => format!("{base}-v{version}.cdx.json"),
        "cyclonedx-xml" => format!("{base}-v{version}.cdx.xml"),
        _ => format!("{base}-v{version}.json"),
    }
}

/// CSAF 2.0 §5.1: the file name of a document is its `tracking.id` in lower case with every
/// run of characters other than `+`, `-`, `a-z` and `0-9` replaced by one `_`.
pub fn csaf_file_stem(tracking_id: &str) -> String {
    let mut stem = String::with_capacity(tracking_id.len());
    let mut in_run = false;
    for ch in tracking_id.to_lowercase().chars() {
        if ch == '+' || ch == '-' || ch.is_ascii_lowercase() || ch.is_ascii_digit() {
            stem.push(ch);
            in_run = false;
        } else if !in_run {
            stem.push('_');
            in_run = true;
        }
    }
    stem
}

/// What to generate.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateVex {
    /// `openvex`, `cyclonedx-json`, `cyclonedx-xml` or `csaf`.
    #[schema(pattern = "^(openvex|cyclonedx-json|cyclonedx-xml|csaf)$")]
    pub format: String,
    /// CycloneDX of a release only: the release's latest SBOM and the VEX in one document.
    /// [default: false]
    #[serde(default)]
    pub include_bom: bool,
    /// At most 300 characters [default: "VEX for <product> <release>"].
    #[schema(
        min_length = 1,
        max_length = 300,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub title: Option<String>,
    /// What changed in this version (the revision history's summary), at most 2000
    /// characters [default: "Initial version." / "Updated triage decisions."].
    #[schema(
        max_length = 2000,
        pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
    )]
    pub summary: Option<String>,
}

/// A draft's changes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateVex {
    /// At most 300 characters.
    #[schema(
        min_length = 1,
        max_length = 300,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub title: String,
}

/// A rejection.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectVex {
    /// Why the document is rejected (required, at most 4000 characters; line breaks and tabs
    /// are the only control characters allowed).
    #[schema(
        value_type = String,
        required = true,
        min_length = 1,
        max_length = 4000,
        pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
    )]
    pub reason: Option<String>,
}

/// The team's VEX settings.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VexSettings {
    /// The submitter of a document may approve it too (four-eyes off) [default: false].
    pub allow_self_approval: bool,
}

/// Generation's input, one open finding of a release: its component, its vulnerability (the
/// id the finding shows first, then the alias group's other ids) and the current decision.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingDecision {
    pub release_id: i64,
    pub component: ComponentRef,
    pub vulnerability_ids: Vec<String>,
    /// `None`: not triaged yet (written as `in_triage`).
    pub disposition: Option<Disposition>,
    pub decided_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ComponentRef {
    pub name: String,
    pub version: Option<String>,
    pub purl: Option<String>,
    pub cpe: Option<String>,
}

/// What a document is about: a product and the releases it covers.
#[derive(Debug, Clone)]
pub struct VexSubject {
    pub vendor: String,
    pub product: Product,
    pub releases: Vec<Release>,
}

/// The statements of a document for `subject` from `decisions` (pure). Statements that
/// agree on vulnerability, component and decision are merged across releases; statements
/// are ordered by vulnerability id, then component.
pub fn statements_for(subject: &VexSubject, decisions: &[FindingDecision]) -> Snapshot {
    let products: Vec<SubjectSnapshot> = subject
        .releases
        .iter()
        .map(|release| SubjectSnapshot {
            key: release_key(release.id),
            name: subject.product.name.clone(),
            vendor: Some(subject.vendor.clone()),
            version: Some(release.version.clone()),
            purl: None,
            cpe: None,
        })
        .collect();
    let covered: std::collections::HashSet<i64> = subject.releases.iter().map(|r| r.id).collect();
    let mut components: Vec<SubjectSnapshot> = Vec::new();
    let mut component_keys: std::collections::HashMap<&ComponentRef, String> = Default::default();
    // (vulnerability, component key, decision) → statement index
    let mut merged: std::collections::HashMap<(String, String, String), usize> = Default::default();
    let mut statements: Vec<StatementSnapshot> = Vec::new();
    for decision in decisions {
        if !covered.contains(&decision.release_id) {
            continue;
        }
        let Some(vulnerability) =
            Vulnerability::from_ids(decision.vulnerability_ids.iter().cloned())
        else {
            continue;
        };
        let component_key = component_keys
            .entry(&decision.component)
            .or_insert_with(|| {
                let key = format!("component-{}", components.len() + 1);
                let c = &decision.component;
                components.push(SubjectSnapshot {
                    key: key.clone(),
                    name: c.name.clone(),
                    vendor: None,
                    version: c.version.clone(),
                    purl: c.purl.clone(),
                    cpe: c.cpe.clone(),
                });
                key
            })
            .clone();
        let disposition = decision
            .disposition
            .clone()
            .unwrap_or_else(|| Disposition::new(DispositionState::InTriage));
        let merge_key = (
            vulnerability.id.clone(),
            component_key.clone(),
            serde_json::to_string(&disposition).expect("dispositions serialise"),
        );
        let product = release_key(decision.release_id);
        match merged.get(&merge_key) {
            Some(&index) => {
                let statement = &mut statements[index];
                if !statement.products.contains(&product) {
                    statement.products.push(product);
                }
                statement.timestamp = statement.timestamp.max(decision.decided_at);
                for alias in vulnerability.aliases {
                    if !statement.aliases.contains(&alias) {
                        statement.aliases.push(alias);
                    }
                }
            }
            None => {
                merged.insert(merge_key, statements.len());
                statements.push(StatementSnapshot {
                    vulnerability: vulnerability.id,
                    aliases: vulnerability.aliases,
                    products: vec![product],
                    components: vec![component_key],
                    disposition,
                    timestamp: decision.decided_at,
                });
            }
        }
    }
    statements.sort_by(|a, b| {
        (&a.vulnerability, &a.components, &a.products).cmp(&(
            &b.vulnerability,
            &b.components,
            &b.products,
        ))
    });
    Snapshot {
        products,
        components,
        statements,
    }
}

/// A release's key: also its OpenVEX `@id` (an IRI) when it has no purl or CPE.
fn release_key(release_id: i64) -> String {
    format!("urn:rampart:release:{release_id}")
}

/// What a document says, kept with it so that publishing renders the same statements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub products: Vec<SubjectSnapshot>,
    pub components: Vec<SubjectSnapshot>,
    pub statements: Vec<StatementSnapshot>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubjectSnapshot {
    pub key: String,
    pub name: String,
    pub vendor: Option<String>,
    pub version: Option<String>,
    pub purl: Option<String>,
    pub cpe: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatementSnapshot {
    pub vulnerability: String,
    pub aliases: Vec<String>,
    pub products: Vec<String>,
    pub components: Vec<String>,
    pub disposition: Disposition,
    pub timestamp: Option<DateTime<Utc>>,
}

impl SubjectSnapshot {
    fn subject(&self) -> Subject {
        Subject {
            key: self.key.clone(),
            name: self.name.clone(),
            vendor: self.vendor.clone(),
            version: self.version.clone(),
            purl: self.purl.clone(),
            cpe: self.cpe.clone(),
        }
    }
}

/// The identity and history a rendering carries.
#[derive(Debug, Clone)]
pub struct DocumentPlan {
    pub tracking_id: String,
    pub serial_number: String,
    pub version: i64,
    pub title: String,
    pub summary: String,
    pub author: Author,
    /// The series' first publication (or this draft's creation when none).
    pub initial_release_date: DateTime<Utc>,
    /// This version's date: its creation while a draft, its publication once published.
    pub date: DateTime<Utc>,
    pub final_status: bool,
    pub published: Vec<PublishedVersion>,
}

/// The neutral document for a snapshot and plan (pure).
pub fn vex_document_for(
    snapshot: &Snapshot,
    plan: &DocumentPlan,
    format: VexFormat,
) -> VexDocument {
    let mut revision_history: Vec<Revision> = plan
        .published
        .iter()
        .filter(|p| p.version < plan.version)
        .map(|p| Revision {
            version: p.version as u32,
            date: p.published_at,
            summary: p.summary.clone(),
        })
        .collect();
    revision_history.push(Revision {
        version: plan.version as u32,
        date: plan.date,
        summary: plan.summary.clone(),
    });
    // OpenVEX wants an IRI as `@id`; CSAF's tracking id is any text.
    let id = match format {
        VexFormat::OpenVex => match &plan.author.namespace {
            Some(namespace) if namespace.starts_with("http") => {
                format!(
                    "{}/vex/{}",
                    namespace.trim_end_matches('/'),
                    plan.tracking_id
                )
            }
            _ => format!("urn:rampart:vex:{}", plan.tracking_id),
        },
        _ => plan.tracking_id.clone(),
    };
    VexDocument {
        metadata: DocumentMetadata {
            id,
            version: plan.version as u32,
            title: Some(plan.title.clone()),
            author: plan.author.clone(),
            created: plan.initial_release_date,
            last_updated: plan.date,
            status: if plan.final_status {
                DocumentStatus::Final
            } else {
                DocumentStatus::Draft
            },
            revision_history,
            serial_number: Some(plan.serial_number.clone()),
        },
        products: snapshot
            .products
            .iter()
            .map(SubjectSnapshot::subject)
            .collect(),
        components: snapshot
            .components
            .iter()
            .map(SubjectSnapshot::subject)
            .collect(),
        statements: snapshot
            .statements
            .iter()
            .map(|s| Statement {
                vulnerability: Vulnerability {
                    id: s.vulnerability.clone(),
                    aliases: s.aliases.clone(),
                },
                products: s.products.clone(),
                components: s.components.clone(),
                disposition: s.disposition.clone(),
                timestamp: s.timestamp,
            })
            .collect(),
    }
}

/// Writes `document` in `format` (with `bom`'s components for CycloneDX) and hashes it. A
/// document a format cannot carry (OpenVEX and CSAF need a statement) is 422 naming why.
pub fn render(
    document: &VexDocument,
    format: VexFormat,
    bom: Option<&Sbom>,
) -> Result<VexRendering, ServiceError> {
    let content = match format {
        VexFormat::CycloneDxJson => vex::cyclonedx::write_json(document, bom),
        VexFormat::CycloneDxXml => vex::cyclonedx::write_xml(document, bom),
        other => vex::write(document, other),
    }
    .map_err(|error| {
        ServiceError::invalid(format!("cannot write the document as {format}: {error}"))
    })?;
    Ok(VexRendering {
        sha256: hex::encode(Sha256::digest(&content)),
        content_type: content_type(format).to_string(),
        statement_count: document.statements.len() as i64,
        content,
    })
}

/// Where a document is generated from.
#[derive(Debug, Clone, Copy)]
pub enum VexTarget {
    Release(i64),
    Product(i64),
}

/// Reads the open findings and current decisions of a release (the dispositions service).
async fn release_decisions(
    engine: &Engine,
    actor: &Actor,
    release_id: i64,
) -> Result<Vec<FindingDecision>, ServiceError> {
    let decisions =
        crate::services::dispositions::release_decisions(engine, actor.team_id, release_id).await?;
    Ok(decisions.into_iter().map(FindingDecision::from).collect())
}

impl From<ReleaseDecision> for FindingDecision {
    fn from(decision: ReleaseDecision) -> Self {
        let finding = decision.finding;
        let current = decision.decision.map(|current| current.decision);
        FindingDecision {
            release_id: finding.release_id,
            component: ComponentRef {
                name: finding.component_name,
                version: finding.component_version,
                purl: finding.component_purl,
                cpe: finding.component_cpe,
            },
            vulnerability_ids: std::iter::once(finding.vuln_id)
                .chain(decision.aliases)
                .collect(),
            decided_at: current.as_ref().map(|d| d.created_at),
            disposition: current.map(|d| d.disposition),
        }
    }
}

fn actor_of(actor: &Actor) -> VexActor {
    VexActor {
        user_id: Some(actor.user_id),
        label: actor.user_email.clone(),
    }
}

/// The publisher: the team, under the server's public URL (or an URN naming the team).
async fn author(engine: &Engine, actor: &Actor) -> Result<Author, ServiceError> {
    let team = engine
        .store
        .team(actor.team_id)
        .await?
        .ok_or_else(|| ServiceError::not_found("team"))?;
    let namespace = publisher_namespace(engine, team.id);
    Ok(Author {
        name: team.name,
        namespace: Some(namespace),
        role: Some("Document Creator".into()),
    })
}

/// The namespace a team publishes under (CSAF `publisher.namespace`): the server's public
/// URL, else an URN naming the team.
pub fn publisher_namespace(engine: &Engine, team_id: i64) -> String {
    engine
        .config
        .public_url
        .as_deref()
        .map(|url| url.trim_end_matches('/').to_string())
        .unwrap_or_else(|| format!("urn:rampart:team:{team_id}"))
}

/// Every release of a product, newest first.
async fn all_releases(
    engine: &Engine,
    actor: &Actor,
    product_id: i64,
) -> Result<Vec<Release>, ServiceError> {
    let mut releases = Vec::new();
    for page in 1.. {
        let request = PageRequest::new(page, 500).expect("a valid page");
        let found = engine
            .store
            .list_releases(actor.tenant(), product_id, request)
            .await?
            .ok_or_else(|| ServiceError::not_found("product"))?;
        let done = found.items.len() < 500;
        releases.extend(found.items);
        if done {
            break;
        }
    }
    Ok(releases)
}

/// The release's latest SBOM, parsed, for BOM and VEX in one document.
async fn latest_sbom(
    engine: &Engine,
    actor: &Actor,
    release_id: i64,
) -> Result<(i64, Sbom), ServiceError> {
    let first = PageRequest::new(1, 1).expect("a valid page");
    let page = engine
        .store
        .list_sboms(actor.tenant(), release_id, first)
        .await?
        .ok_or_else(|| ServiceError::not_found("release"))?;
    let record = page.items.into_iter().next().ok_or_else(|| {
        ServiceError::invalid("`include_bom`: the release has no SBOM to combine with the VEX")
    })?;
    sbom_by_id(engine, actor, record.id)
        .await
        .map(|sbom| (record.id, sbom))
}

async fn sbom_by_id(engine: &Engine, actor: &Actor, sbom_id: i64) -> Result<Sbom, ServiceError> {
    let (_, bytes) = engine
        .store
        .sbom_document(actor.team_id, sbom_id)
        .await?
        .ok_or_else(|| {
            ServiceError::new(
                ErrorCode::Conflict,
                "the SBOM this document combines was deleted; generate a new version",
            )
        })?;
    rampart_formats::sbom::parse(&bytes).map_err(ServiceError::internal)
}

fn valid_title(title: &str) -> Result<String, ServiceError> {
    fields::name("title", title, MAX_TITLE)
}

/// Generates a draft from the current decisions (`vex:write`); audited as `vex.generate`.
pub async fn generate(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    target: VexTarget,
    input: GenerateVex,
) -> Result<VexDocumentRecord, ServiceError> {
    actor.require(Scope::VexWrite)?;
    let format = parse_format(&input.format).ok_or_else(|| {
        ServiceError::invalid(format!("`format` must be one of {}", FORMATS.join(", ")))
    })?;
    let title = input.title.as_deref().map(valid_title).transpose()?;
    let summary = input
        .summary
        .as_deref()
        .map(|s| fields::text("summary", s, MAX_SUMMARY))
        .transpose()?;
    let (product, releases) = match target {
        VexTarget::Release(id) => {
            let release = engine
                .store
                .release(actor.tenant(), id)
                .await?
                .ok_or_else(|| ServiceError::not_found("release"))?;
            let product = engine
                .store
                .product(actor.tenant(), release.product_id)
                .await?
                .ok_or_else(|| ServiceError::not_found("release"))?;
            (product, vec![release])
        }
        VexTarget::Product(id) => {
            let product = engine
                .store
                .product(actor.tenant(), id)
                .await?
                .ok_or_else(|| ServiceError::not_found("product"))?;
            let mut releases = all_releases(engine, actor, id).await?;
            releases.reverse();
            (product, releases)
        }
    };
    let bom = match (input.include_bom, target, format) {
        (false, _, _) => None,
        (true, VexTarget::Release(id), VexFormat::CycloneDxJson | VexFormat::CycloneDxXml) => {
            Some(latest_sbom(engine, actor, id).await?)
        }
        (true, VexTarget::Product(_), _) => {
            return Err(ServiceError::invalid(
                "`include_bom` needs a release: a product's releases have several SBOMs",
            ))
        }
        (true, _, _) => {
            return Err(ServiceError::invalid(
                "`include_bom` is for the CycloneDX formats only",
            ))
        }
    };
    let mut decisions = Vec::new();
    for release in &releases {
        decisions.extend(release_decisions(engine, actor, release.id).await?);
    }
    let author = author(engine, actor).await?;
    let subject = VexSubject {
        vendor: author.name.clone(),
        product,
        releases,
    };
    let snapshot = statements_for(&subject, &decisions);

    let release_id = match target {
        VexTarget::Release(id) => Some(id),
        VexTarget::Product(_) => None,
    };
    let series_key = format!(
        "{}:{}:{}{}",
        subject.product.id,
        release_id.map_or("all".to_string(), |id| id.to_string()),
        format,
        if bom.is_some() { ":bom" } else { "" }
    );
    let series = engine.store.vex_series(actor.tenant(), &series_key).await?;
    let (tracking_id, serial_number) = series.identity.clone().unwrap_or_else(|| {
        (
            format!(
                "rampart-vex-{}-{}-{}",
                actor.team_id,
                series_key.replace(':', "-"),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
            format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        )
    });
    let version = series.published.len() as i64 + 1;
    let now = engine.now();
    let title = title.unwrap_or_else(|| match subject.releases.as_slice() {
        [release] if release_id.is_some() => {
            format!("VEX for {} {}", subject.product.name, release.version)
        }
        _ => format!("VEX for {} (all releases)", subject.product.name),
    });
    let summary = summary.unwrap_or_else(|| {
        if version == 1 {
            "Initial version.".to_string()
        } else {
            "Updated triage decisions.".to_string()
        }
    });
    let plan = DocumentPlan {
        tracking_id,
        serial_number,
        version,
        title,
        summary,
        author,
        initial_release_date: series
            .published
            .first()
            .map_or(now, |first| first.initial_release_date),
        date: now,
        final_status: false,
        published: series.published,
    };
    let document = vex_document_for(&snapshot, &plan, format);
    let rendering = render(&document, format, bom.as_ref().map(|(_, sbom)| sbom))?;
    let new = NewVexDocument {
        product_id: subject.product.id,
        release_id,
        format: format.as_str().to_string(),
        include_bom: bom.is_some(),
        sbom_id: bom.as_ref().map(|(id, _)| *id),
        series_key,
        tracking_id: plan.tracking_id,
        serial_number: plan.serial_number,
        version,
        title: plan.title,
        summary: plan.summary,
        initial_release_date: plan.initial_release_date,
        snapshot: serde_json::to_string(&snapshot).expect("snapshots serialise"),
        rendering,
        created_at: now,
    };
    let audit = actor
        .audit(origin, "vex.generate")
        .details(serde_json::json!({
            "product_id": new.product_id, "release_id": new.release_id,
            "format": new.format, "version": new.version,
        }));
    let (record, _superseded) = engine
        .store
        .create_vex_document(actor.tenant(), &new, &actor_of(actor), &audit)
        .await?;
    Ok(record)
}

/// One document's metadata (`vex:read`).
pub async fn get(
    engine: &Engine,
    actor: &Actor,
    id: i64,
) -> Result<VexDocumentRecord, ServiceError> {
    actor.require(Scope::VexRead)?;
    engine
        .store
        .vex_document(actor.tenant(), id)
        .await?
        .ok_or_else(|| ServiceError::not_found("VEX document"))
}

/// Filters of the listing, as the API takes them.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub product_id: Option<i64>,
    pub release_id: Option<i64>,
    pub format: Option<String>,
    pub status: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl ListFilter {
    pub(crate) fn into_store(self) -> Result<VexDocumentFilter, ServiceError> {
        if let Some(format) = &self.format {
            if parse_format(format).is_none() {
                return Err(ServiceError::invalid(format!(
                    "`format` must be one of {}",
                    FORMATS.join(", ")
                )));
            }
        }
        if let Some(status) = &self.status {
            if VexStatus::parse(status).is_none() {
                let names: Vec<&str> = VexStatus::ALL.iter().map(|s| s.as_str()).collect();
                return Err(ServiceError::invalid(format!(
                    "`status` must be one of {}",
                    names.join(", ")
                )));
            }
        }
        Ok(VexDocumentFilter {
            product_id: self.product_id,
            release_id: self.release_id,
            format: self.format,
            status: self.status,
            since: self.since,
            until: self.until,
        })
    }
}

/// The team's documents, newest first (`vex:read`).
pub async fn list(
    engine: &Engine,
    actor: &Actor,
    filter: ListFilter,
    page: PageRequest,
) -> Result<Page<VexDocumentRecord>, ServiceError> {
    actor.require(Scope::VexRead)?;
    let filter = filter.into_store()?;
    Ok(engine
        .store
        .list_vex_documents(actor.tenant(), &filter, page)
        .await?)
}

/// A document's bytes (`vex:read`): any status, for reviewers.
pub async fn content(
    engine: &Engine,
    actor: &Actor,
    id: i64,
) -> Result<(VexDocumentRecord, Vec<u8>), ServiceError> {
    let record = get(engine, actor, id).await?;
    let (_, bytes) = engine
        .store
        .vex_document_content(actor.tenant(), id)
        .await?
        .ok_or_else(|| ServiceError::not_found("VEX document"))?;
    Ok((record, bytes))
}

/// A document's workflow events, oldest first (`vex:read`).
pub async fn events(
    engine: &Engine,
    actor: &Actor,
    id: i64,
) -> Result<Vec<VexDocumentEvent>, ServiceError> {
    actor.require(Scope::VexRead)?;
    engine
        .store
        .vex_document_events(actor.tenant(), id)
        .await?
        .ok_or_else(|| ServiceError::not_found("VEX document"))
}

/// Renders a stored document again from its snapshot with `title`, as a draft or as final.
async fn rerender(
    engine: &Engine,
    actor: &Actor,
    record: &VexDocumentRecord,
    title: &str,
    final_at: Option<DateTime<Utc>>,
) -> Result<(VexRendering, DateTime<Utc>), ServiceError> {
    let format = parse_format(&record.format)
        .ok_or_else(|| ServiceError::internal(format!("stored format {:?}", record.format)))?;
    let (snapshot, _) = engine
        .store
        .vex_document_content(actor.tenant(), record.id)
        .await?
        .ok_or_else(|| ServiceError::not_found("VEX document"))?;
    let snapshot: Snapshot = serde_json::from_str(&snapshot).map_err(ServiceError::internal)?;
    let series = engine
        .store
        .vex_series(actor.tenant(), &record.series_key)
        .await?;
    let date = final_at.unwrap_or(record.created_at);
    // The first version's publication starts the series.
    let initial_release_date = match (series.published.first(), final_at) {
        (Some(first), _) => first.initial_release_date,
        (None, Some(at)) => at,
        (None, None) => record.initial_release_date,
    };
    let plan = DocumentPlan {
        tracking_id: record.tracking_id.clone(),
        serial_number: record.serial_number.clone(),
        version: record.version,
        title: title.to_string(),
        summary: record.summary.clone(),
        author: author(engine, actor).await?,
        initial_release_date,
        date,
        final_status: final_at.is_some(),
        published: series.published,
    };
    let bom = match record.sbom_id {
        Some(sbom_id) if record.include_bom => Some(sbom_by_id(engine, actor, sbom_id).await?),
        _ => None,
    };
    let document = vex_document_for(&snapshot, &plan, format);
    Ok((
        render(&document, format, bom.as_ref())?,
        initial_release_date,
    ))
}

/// Changes a draft's title (`vex:write`); audited as `vex.update`. Anything but a draft is
/// 409 (a published document is immutable).
pub async fn update(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    id: i64,
    input: UpdateVex,
) -> Result<VexDocumentRecord, ServiceError> {
    actor.require(Scope::VexWrite)?;
    let record = get_for_write(engine, actor, id).await?;
    if record.status != VexStatus::Draft.as_str() {
        return Err(not_a_draft(&record, "changed"));
    }
    let title = valid_title(&input.title)?;
    let (rendering, _) = rerender(engine, actor, &record, &title, None).await?;
    let audit = actor.audit(origin, "vex.update");
    Ok(engine
        .store
        .update_vex_draft(
            actor.tenant(),
            id,
            &title,
            &rendering,
            &actor_of(actor),
            &audit,
        )
        .await?)
}

async fn get_for_write(
    engine: &Engine,
    actor: &Actor,
    id: i64,
) -> Result<VexDocumentRecord, ServiceError> {
    engine
        .store
        .vex_document(actor.tenant(), id)
        .await?
        .ok_or_else(|| ServiceError::not_found("VEX document"))
}

fn not_a_draft(record: &VexDocumentRecord, verb: &str) -> ServiceError {
    if record.status == VexStatus::Published.as_str() {
        ServiceError::new(
            ErrorCode::Conflict,
            format!("a published document is immutable and cannot be {verb}; generate a new version instead"),
        )
    } else {
        ServiceError::new(
            ErrorCode::Conflict,
            format!(
                "the document is {}; only a draft can be {verb}",
                record.status
            ),
        )
    }
}

/// Deletes a document that is not published (`vex:write`); audited as `vex.delete`.
pub async fn delete(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    id: i64,
) -> Result<(), ServiceError> {
    actor.require(Scope::VexWrite)?;
    let audit = actor.audit(origin, "vex.delete");
    Ok(engine
        .store
        .delete_vex_document(actor.tenant(), id, &actor_of(actor), &audit)
        .await?)
}

/// Takes a workflow step (`vex:write`); audited as `vex.submit`, `vex.approve`,
/// `vex.reject` or `vex.publish`. A step from the wrong status is 409; approving one's own
/// submission is 403 unless the team allows self-approval; a rejection without a reason is
/// 422 naming `reason`.
pub async fn transition(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    id: i64,
    action: VexAction,
    reason: Option<&str>,
) -> Result<VexDocumentRecord, ServiceError> {
    actor.require(Scope::VexWrite)?;
    let record = get_for_write(engine, actor, id).await?;
    if record.status != action.from().as_str() {
        let verb = match action {
            VexAction::Submit => "submitted",
            VexAction::Approve => "approved",
            VexAction::Reject => "rejected",
            VexAction::Publish => "published",
        };
        return Err(ServiceError::new(
            ErrorCode::Conflict,
            format!(
                "the document is {}; only a {} document can be {verb}",
                record.status,
                action.from()
            ),
        ));
    }
    let now = engine.now();
    let (step, audit_action) = match action {
        VexAction::Submit => (VexTransition::Submit, "vex.submit"),
        VexAction::Approve => {
            let allowed = engine
                .store
                .vex_self_approval(actor.team_id)
                .await?
                .unwrap_or(false);
            check_approver(record.submitted_by_user_id, actor.user_id, allowed).map_err(
                |violation| ServiceError::new(ErrorCode::Forbidden, violation.to_string()),
            )?;
            (VexTransition::Approve, "vex.approve")
        }
        VexAction::Reject => {
            let reason = fields::optional_text("reason", reason, MAX_REASON)?.ok_or_else(|| {
                ServiceError::invalid("`reason` is required to reject a document")
            })?;
            (VexTransition::Reject { reason }, "vex.reject")
        }
        VexAction::Publish => {
            let title = record.title.clone();
            let (rendering, initial_release_date) =
                rerender(engine, actor, &record, &title, Some(now)).await?;
            (
                VexTransition::Publish {
                    rendering,
                    initial_release_date,
                },
                "vex.publish",
            )
        }
    };
    let audit = actor.audit(origin, audit_action);
    Ok(engine
        .store
        .transition_vex_document(actor.tenant(), id, &step, &actor_of(actor), &audit, now)
        .await?)
}

fn own_team(actor: &Actor, team_id: i64) -> Result<(), ServiceError> {
    if actor.team_id == team_id {
        Ok(())
    } else {
        Err(ServiceError::not_found("team"))
    }
}

/// The team's VEX settings (`vex:read`).
pub async fn settings(
    engine: &Engine,
    actor: &Actor,
    team_id: i64,
) -> Result<VexSettings, ServiceError> {
    actor.require(Scope::VexRead)?;
    own_team(actor, team_id)?;
    let allowed = engine
        .store
        .vex_self_approval(team_id)
        .await?
        .ok_or_else(|| ServiceError::not_found("team"))?;
    Ok(VexSettings {
        allow_self_approval: allowed,
    })
}

/// Changes the team's VEX settings (`teams:manage`: owners and admins); audited as
/// `team.vex_settings`.
pub async fn update_settings(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    team_id: i64,
    input: VexSettings,
) -> Result<VexSettings, ServiceError> {
    actor.require(Scope::TeamsManage)?;
    own_team(actor, team_id)?;
    let audit = actor.audit(origin, "team.vex_settings");
    let allowed = engine
        .store
        .set_vex_self_approval(team_id, input.allow_self_approval, &audit)
        .await?;
    Ok(VexSettings {
        allow_self_approval: allowed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rampart_formats::vex::Justification;

    fn product() -> Product {
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        Product {
            id: 7,
            team_id: 1,
            name: "Shop".into(),
            description: None,
            tags: Vec::new(),
            cpe_matching: false,
            is_test: false,
            created_at: at,
            updated_at: at,
        }
    }

    fn release(id: i64, version: &str) -> Release {
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        Release {
            id,
            team_id: 1,
            product_id: 7,
            version: version.into(),
            status: "released".into(),
            release_date: None,
            eol_date: None,
            is_test: false,
            created_at: at,
            updated_at: at,
        }
    }

    fn lodash() -> ComponentRef {
        ComponentRef {
            name: "lodash".into(),
            version: Some("4.17.20".into()),
            purl: Some("pkg:npm/lodash@4.17.20".into()),
            cpe: None,
        }
    }

    fn finding(release_id: i64, ids: &[&str], disposition: Option<Disposition>) -> FindingDecision {
        FindingDecision {
            release_id,
            component: lodash(),
            vulnerability_ids: ids.iter().map(|s| s.to_string()).collect(),
            disposition,
            decided_at: None,
        }
    }

    fn not_affected() -> Disposition {
        Disposition {
            justification: Some(Justification::CodeNotReachable),
            ..Disposition::new(DispositionState::NotAffected)
        }
    }

    fn subject(releases: Vec<Release>) -> VexSubject {
        VexSubject {
            vendor: "Acme".into(),
            product: product(),
            releases,
        }
    }

    #[test]
    fn an_undecided_finding_is_in_triage_and_named_by_its_cve() {
        let snapshot = statements_for(
            &subject(vec![release(1, "1.0")]),
            &[finding(1, &["GHSA-35jh-r3h4-6jhm", "CVE-2021-23337"], None)],
        );
        assert_eq!(snapshot.statements.len(), 1);
        let statement = &snapshot.statements[0];
        assert_eq!(statement.vulnerability, "CVE-2021-23337");
        assert_eq!(statement.aliases, ["GHSA-35jh-r3h4-6jhm"]);
        assert_eq!(statement.disposition.state, DispositionState::InTriage);
        assert_eq!(statement.products, ["urn:rampart:release:1"]);
        assert_eq!(
            snapshot.components[0].purl.as_deref(),
            Some("pkg:npm/lodash@4.17.20")
        );
        assert_eq!(snapshot.products[0].version.as_deref(), Some("1.0"));
        assert_eq!(snapshot.products[0].vendor.as_deref(), Some("Acme"));
    }

    #[test]
    fn releases_agreeing_on_a_decision_share_one_statement_and_others_keep_theirs() {
        let snapshot = statements_for(
            &subject(vec![
                release(1, "1.0"),
                release(2, "2.0"),
                release(3, "3.0"),
            ]),
            &[
                finding(1, &["CVE-2021-23337"], Some(not_affected())),
                finding(2, &["CVE-2021-23337"], Some(not_affected())),
                finding(3, &["CVE-2021-23337"], None),
                // A release the document does not cover is left out.
                finding(9, &["CVE-2021-23337"], None),
            ],
        );
        assert_eq!(snapshot.components.len(), 1);
        let products: Vec<&Vec<String>> = snapshot.statements.iter().map(|s| &s.products).collect();
        assert_eq!(snapshot.statements.len(), 2, "{products:?}");
        let shared = snapshot
            .statements
            .iter()
            .find(|s| s.disposition.state == DispositionState::NotAffected)
            .unwrap();
        assert_eq!(
            shared.products,
            ["urn:rampart:release:1", "urn:rampart:release:2"]
        );
    }

    fn plan(version: i64, published: Vec<PublishedVersion>, final_status: bool) -> DocumentPlan {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        DocumentPlan {
            tracking_id: "rampart-vex-1-7-1-csaf".into(),
            serial_number: "urn:uuid:7b2d1c4e-0000-4000-8000-000000000001".into(),
            version,
            title: "VEX for Shop 1.0".into(),
            summary: "Updated triage decisions.".into(),
            author: Author {
                name: "Acme".into(),
                namespace: Some("https://vex.acme.example".into()),
                role: None,
            },
            initial_release_date: Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap(),
            date: at,
            final_status,
            published,
        }
    }

    #[test]
    fn a_new_version_lists_the_published_ones_before_it_and_keeps_the_serial_number() {
        let snapshot = statements_for(
            &subject(vec![release(1, "1.0")]),
            &[finding(1, &["CVE-2021-23337"], Some(not_affected()))],
        );
        let first = PublishedVersion {
            id: 1,
            version: 1,
            published_at: Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap(),
            summary: "Initial version.".into(),
            initial_release_date: Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap(),
        };
        let document = vex_document_for(&snapshot, &plan(2, vec![first], false), VexFormat::Csaf);
        let versions: Vec<u32> = document
            .metadata
            .revision_history
            .iter()
            .map(|r| r.version)
            .collect();
        assert_eq!(versions, [1, 2]);
        assert_eq!(document.metadata.status, DocumentStatus::Draft);
        let csaf: serde_json::Value =
            serde_json::from_slice(&render(&document, VexFormat::Csaf, None).unwrap().content)
                .unwrap();
        assert_eq!(csaf["document"]["tracking"]["version"], "2");
        assert_eq!(csaf["document"]["tracking"]["status"], "draft");
        assert_eq!(csaf["document"]["tracking"]["id"], "rampart-vex-1-7-1-csaf");

        let final_document = vex_document_for(
            &snapshot,
            &plan(2, Vec::new(), true),
            VexFormat::CycloneDxJson,
        );
        let rendering = render(&final_document, VexFormat::CycloneDxJson, None).unwrap();
        let cdx: serde_json::Value = serde_json::from_slice(&rendering.content).unwrap();
        assert_eq!(
            cdx["serialNumber"],
            "urn:uuid:7b2d1c4e-0000-4000-8000-000000000001"
        );
        assert_eq!(cdx["version"], 2);
        assert_eq!(
            rendering.sha256,
            hex::encode(Sha256::digest(&rendering.content))
        );
        assert_eq!(
            rendering.content_type,
            "application/vnd.cyclonedx+json; version=1.6"
        );

        let openvex = vex_document_for(&snapshot, &plan(1, Vec::new(), true), VexFormat::OpenVex);
        assert_eq!(
            openvex.metadata.id,
            "https://vex.acme.example/vex/rampart-vex-1-7-1-csaf"
        );
    }

    #[test]
    fn a_document_with_nothing_to_say_is_cyclonedx_only() {
        let snapshot = statements_for(&subject(vec![release(1, "1.0")]), &[]);
        let document = vex_document_for(&snapshot, &plan(1, Vec::new(), false), VexFormat::Csaf);
        assert!(render(&document, VexFormat::CycloneDxJson, None).is_ok());
        let error = render(&document, VexFormat::Csaf, None).unwrap_err();
        assert_eq!(error.code(), ErrorCode::ValidationFailed);
        assert!(
            error.message().contains("at least one vulnerability"),
            "{error}"
        );
    }

    #[test]
    fn csaf_file_names_follow_section_5_1() {
        assert_eq!(
            csaf_file_stem("Example Company:2024/01"),
            "example_company_2024_01"
        );
        assert_eq!(csaf_file_stem("rampart-vex-1-7+x"), "rampart-vex-1-7+x");
        assert_eq!(file_name("ACME-1", "cyclonedx-xml", 3), "acme-1-v3.cdx.xml");
        assert_eq!(parse_format("csaf"), Some(VexFormat::Csaf));
        assert_eq!(parse_format("CSAF"), None);
    }
}
