//! Compliance posture (seed 002's `GET /v1/compliance/posture`, `/api/v1/compliance/...`;
//! scope `compliance:read`, attestations, access reviews and settings need `teams:manage`).
//!
//! The posture is measured, not declared: the evidence checks
//! ([`super::compliance_checks`]) run over the team's own data, the catalogues' mappings
//! ([`super::compliance_catalogue`]) turn check results into control statuses, controls no
//! check measures take a person's attestation (owner, statement, evidence file, expiry) and
//! are `manual` until attested. Every computation is compared with the scope's newest
//! snapshot: a changed control status (or a new day) stores a new snapshot, and a change
//! emits `compliance.changed` in the same transaction. Reports are rendered from a snapshot.
//!
//! A control's status from its checks: all `not_applicable` → not_applicable; all `met` (of
//! the applicable ones) → met; all `gap` → gap; else partial. A current `not_applicable`
//! attestation (Statement of Applicability) overrides; a current `met` attestation answers a
//! control no check measures.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use rampart_core::Scope;
use rampart_store::{
    AttestationRecord, MemberFact, NewAttestation, NewSnapshot, SbomDocumentFacts, SnapshotRecord,
    Tenant, COMPLIANCE_ITEM_LIMIT,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::compliance_catalogue::{catalogues, Catalogue};
use super::compliance_checks::{self as checks, CheckResult, GapItem, Status, Thresholds};
use crate::actor::{Actor, RequestOrigin};
use crate::error::{ErrorCode, ServiceError};
use crate::Engine;

/// Longest attestation statement and owner.
const MAX_STATEMENT: usize = 10_000;
const MAX_OWNER: usize = 200;
/// Largest evidence file.
pub const MAX_EVIDENCE_BYTES: usize = 10 * 1024 * 1024;
/// Longest attestation validity.
const MAX_ATTESTATION_DAYS: i64 = 3 * 366;

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusCounts {
    pub total: usize,
    pub met: usize,
    pub partial: usize,
    pub gap: usize,
    pub not_applicable: usize,
    pub manual: usize,
}

impl StatusCounts {
    fn add(&mut self, status: Status) {
        self.total += 1;
        match status {
            Status::Met => self.met += 1,
            Status::Partial => self.partial += 1,
            Status::Gap => self.gap += 1,
            Status::NotApplicable => self.not_applicable += 1,
            Status::Manual => self.manual += 1,
        }
    }

    /// Percent of applicable controls met (partial counts half; manual counts nothing until
    /// attested), one decimal; `None` when nothing applies.
    pub fn score(&self) -> Option<f64> {
        let applicable = self.total - self.not_applicable;
        (applicable > 0).then(|| {
            let points = self.met as f64 + 0.5 * self.partial as f64;
            (points * 1000.0 / applicable as f64).round() / 10.0
        })
    }
}

/// A check behind a control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ControlEvidenceBody {
    pub check: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facet: Option<String>,
    pub status: Status,
    pub summary: String,
    pub rationale: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AttestationBody {
    pub id: i64,
    pub framework: String,
    pub control_id: String,
    /// `met` or `not_applicable`.
    pub status: String,
    pub owner: String,
    pub statement: String,
    pub expires_at: DateTime<Utc>,
    /// Past `expires_at` or withdrawn: no longer counts.
    pub current: bool,
    pub evidence: Option<EvidenceFileBody>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub withdrawn_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EvidenceFileBody {
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    /// Where to download it.
    pub link: String,
}

impl AttestationBody {
    pub fn of(record: AttestationRecord, now: DateTime<Utc>) -> AttestationBody {
        let evidence = match (
            record.evidence_name,
            record.evidence_content_type,
            record.evidence_sha256,
        ) {
            (Some(name), Some(content_type), Some(sha256)) => Some(EvidenceFileBody {
                name,
                content_type,
                size: record.evidence_size.unwrap_or(0),
                sha256,
                link: format!("/api/v1/compliance/attestations/{}/evidence", record.id),
            }),
            _ => None,
        };
        AttestationBody {
            id: record.id,
            current: record.withdrawn_at.is_none() && record.expires_at > now,
            framework: record.framework,
            control_id: record.control_id,
            status: record.status,
            owner: record.owner,
            statement: record.statement,
            expires_at: record.expires_at,
            evidence,
            created_at: record.created_at,
            created_by: record.created_by,
            withdrawn_at: record.withdrawn_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ControlPosture {
    pub id: String,
    pub oscal_id: String,
    pub group: String,
    pub title: String,
    /// HIPAA: `standard` or `implementation_specification`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// HIPAA: `required` or `addressable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirement: Option<String>,
    /// `met`, `partial`, `gap`, `not_applicable` or `manual`.
    pub status: Status,
    /// `checks`, `attestation` or `none` (manual until attested).
    pub basis: String,
    pub evidence: Vec<ControlEvidenceBody>,
    /// The current attestation, or the latest expired one (then not counted).
    pub attestation: Option<AttestationBody>,
}

/// One gap (a check not met) and the controls it affects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GapAnalysis {
    pub check: String,
    pub title: String,
    pub status: Status,
    pub summary: String,
    /// Controls of this framework the gap affects.
    pub controls: Vec<String>,
    /// The objects causing it, with what to do.
    pub items: Vec<GapItem>,
    pub items_total: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FrameworkPosture {
    pub id: String,
    pub name: String,
    pub version: String,
    pub publisher: String,
    pub licence: String,
    /// Percent of applicable controls met (partial counts half), one decimal.
    pub score: Option<f64>,
    pub counts: StatusCounts,
    pub controls: Vec<ControlPosture>,
    pub gaps: Vec<GapAnalysis>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SnapshotRef {
    pub id: i64,
    pub taken_at: DateTime<Utc>,
    /// SHA-256 (hex) of the snapshot's stored posture JSON.
    pub sha256: String,
}

/// The posture of a team (or one product's releases; team-wide checks stay team-wide).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Posture {
    pub generated_at: DateTime<Utc>,
    pub team_id: i64,
    pub product_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_name: Option<String>,
    /// The snapshot this posture is stored as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotRef>,
    pub frameworks: Vec<FrameworkPosture>,
    /// Every evidence check's result.
    pub checks: Vec<CheckResult>,
    pub thresholds: Thresholds,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_mode: Option<bool>,
}

impl Posture {
    /// `{"framework/control": "status"}` of every control: what a change compares.
    pub fn statuses(&self) -> BTreeMap<String, Status> {
        let mut out = BTreeMap::new();
        for framework in &self.frameworks {
            for control in &framework.controls {
                out.insert(format!("{}/{}", framework.id, control.id), control.status);
            }
        }
        out
    }

    pub fn framework(&self, id: &str) -> Option<&FrameworkPosture> {
        self.frameworks.iter().find(|f| f.id == id)
    }
}

/// The `framework` parameter: a comma-separated list of framework ids (`soc2`, `iso27001`,
/// `hipaa`, `gdpr`, `ntia_sbom`, `eu_cra`; `iso_27001`, `soc_2` and upper case accepted);
/// none: all. 400 naming `framework` otherwise.
pub fn parse_frameworks(text: Option<&str>) -> Result<Vec<String>, ServiceError> {
    let known = catalogues().framework_ids();
    let mut out = Vec::new();
    for part in text.unwrap_or("").split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let normalised: String = part
            .to_ascii_lowercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        let found = known.iter().find(|id| {
            let id: String = id.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
            id == normalised
                || (normalised == "ntia" && id == "ntiasbom")
                || (normalised == "cra" && id == "eucra")
        });
        match found {
            Some(id) if !out.contains(&id.to_string()) => out.push(id.to_string()),
            Some(_) => {}
            None => {
                return Err(ServiceError::new(
                    ErrorCode::BadRequest,
                    format!(
                        "`framework` must be one or more of {}, not {part:?}",
                        known.join(", ")
                    ),
                ))
            }
        }
    }
    Ok(out)
}

/// The team's thresholds (defaults where unset).
pub async fn thresholds(engine: &Engine, team_id: i64) -> Result<Thresholds, ServiceError> {
    Ok(match engine.store.compliance_settings(team_id).await? {
        Some(text) => serde_json::from_str(&text).unwrap_or_default(),
        None => Thresholds::default(),
    })
}

pub async fn get_settings(engine: &Engine, actor: &Actor) -> Result<Thresholds, ServiceError> {
    actor.require(Scope::ComplianceRead)?;
    thresholds(engine, actor.team_id).await
}

pub async fn set_settings(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    settings: Thresholds,
) -> Result<Thresholds, ServiceError> {
    actor.require(Scope::TeamsManage)?;
    settings.validate().map_err(ServiceError::invalid)?;
    let text = serde_json::to_string(&settings).expect("plain data");
    let mut event = actor.audit(origin, "compliance_settings.update");
    event.details = Some(serde_json::to_value(&settings).expect("plain data"));
    engine
        .store
        .set_compliance_settings(actor.team_id, &text, &event, engine.now())
        .await?;
    Ok(settings)
}

/// The author and timestamp of a stored SBOM document, read once: the organisation or person
/// its metadata names (CycloneDX `metadata.authors`, `manufacture`/`manufacturer`,
/// `supplier`; SPDX `creationInfo.creators` `Person:`/`Organization:`), else the tools that
/// made it; the creation time (CycloneDX `metadata.timestamp`, SPDX `created`).
pub fn sbom_document_facts(sbom_id: i64, bytes: &[u8]) -> SbomDocumentFacts {
    let parsed = rampart_formats::sbom::parse(bytes).ok();
    let timestamp = parsed
        .as_ref()
        .and_then(|s| s.created.clone())
        .filter(|t| !t.trim().is_empty());
    let mut authors = metadata_authors(bytes);
    let mut source = "metadata";
    if authors.is_empty() {
        if let Some(sbom) = &parsed {
            authors = sbom
                .tools
                .iter()
                .filter(|t| !t.trim().is_empty())
                .cloned()
                .collect();
            source = "tool";
        }
    }
    authors.dedup();
    SbomDocumentFacts {
        sbom_id,
        author: (!authors.is_empty()).then(|| authors.join("; ")),
        author_source: (!authors.is_empty()).then(|| source.to_string()),
        document_timestamp: timestamp,
    }
}

/// Entities (not tools) a document names as its authors.
fn metadata_authors(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let mut out = Vec::new();
    if trimmed.starts_with('{') {
        let Ok(json) = serde_json::from_str::<serde_json::Value>(trimmed) else {
            return out;
        };
        let name_of = |v: &serde_json::Value| {
            v.get("name")
                .or_else(|| v.get("email"))
                .and_then(|n| n.as_str())
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string)
        };
        if let Some(metadata) = json.get("metadata") {
            if let Some(list) = metadata.get("authors").and_then(|a| a.as_array()) {
                out.extend(list.iter().filter_map(name_of));
            }
            for key in ["manufacture", "manufacturer", "supplier"] {
                if let Some(name) = metadata.get(key).and_then(name_of) {
                    out.push(name);
                }
            }
        }
        if let Some(creators) = json
            .pointer("/creationInfo/creators")
            .and_then(|c| c.as_array())
        {
            for creator in creators.iter().filter_map(|c| c.as_str()) {
                for prefix in ["Person:", "Organization:"] {
                    if let Some(name) = creator.trim().strip_prefix(prefix) {
                        let name = name.trim();
                        if !name.is_empty() && name != "NOASSERTION" {
                            out.push(name.to_string());
                        }
                    }
                }
            }
        }
    } else if trimmed.starts_with('<') {
        // CycloneDX XML: the names inside the metadata's author and maker elements.
        if let (Some(start), Some(end)) = (trimmed.find("<metadata"), trimmed.find("</metadata>")) {
            let metadata = &trimmed[start..end];
            let components = metadata.find("<component").unwrap_or(metadata.len());
            let tools = metadata.find("<tools").unwrap_or(metadata.len());
            let head = &metadata[..components.min(tools)];
            for tag in ["author", "manufacture", "manufacturer", "supplier"] {
                let open = format!("<{tag}>");
                let close = format!("</{tag}>");
                let mut rest = head;
                while let Some(i) = rest.find(&open) {
                    let after = &rest[i + open.len()..];
                    let Some(j) = after.find(&close) else { break };
                    let inner = &after[..j];
                    let name = element_text(inner, "name").or_else(|| element_text(inner, "email"));
                    if let Some(name) = name {
                        out.push(name);
                    }
                    rest = &after[j..];
                }
            }
            // Authors listed after the tools or component are still authors.
            let mut rest = metadata;
            while let Some(i) = rest.find("<authors>") {
                let after = &rest[i..];
                let Some(j) = after.find("</authors>") else {
                    break;
                };
                let mut inner = &after[..j];
                while let Some(k) = inner.find("<author>") {
                    let a = &inner[k + 8..];
                    let end = a.find("</author>").unwrap_or(a.len());
                    if let Some(name) = element_text(&a[..end], "name") {
                        if !out.contains(&name) {
                            out.push(name);
                        }
                    }
                    inner = &a[end..];
                }
                rest = &after[j..];
            }
        }
    } else {
        for line in trimmed.lines() {
            if let Some(value) = line.trim().strip_prefix("Creator:") {
                for prefix in ["Person:", "Organization:"] {
                    if let Some(name) = value.trim().strip_prefix(prefix) {
                        let name = name.trim();
                        if !name.is_empty() && name != "NOASSERTION" {
                            out.push(name.to_string());
                        }
                    }
                }
            }
        }
    }
    out
}

fn element_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&close)? + start;
    let text = xml[start..end].trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// Runs every evidence check for the tenant (or one product).
pub async fn run_checks(
    engine: &Engine,
    tenant: Tenant,
    product: Option<i64>,
    t: &Thresholds,
    now: DateTime<Utc>,
) -> Result<Vec<CheckResult>, ServiceError> {
    let store = &engine.store;
    let limit = COMPLIANCE_ITEM_LIMIT;
    let releases = store.compliance_release_sboms(tenant, product).await?;
    let sbom_ids: Vec<i64> = releases.iter().filter_map(|r| r.sbom_id).collect();
    let counts = store
        .compliance_sbom_elements(tenant.team_id, &sbom_ids)
        .await?;
    // By SBOM id: a release's SBOM is looked up once per SBOM, not searched for.
    let mut documents: std::collections::HashMap<i64, SbomDocumentFacts> = store
        .compliance_sbom_document_facts(tenant.team_id, &sbom_ids)
        .await?
        .into_iter()
        .map(|d| (d.sbom_id, d))
        .collect();
    for id in &sbom_ids {
        if documents.contains_key(id) {
            continue;
        }
        if let Some(bytes) = store.compliance_sbom_document(tenant.team_id, *id).await? {
            let facts = sbom_document_facts(*id, &bytes);
            store
                .save_compliance_sbom_document_facts(tenant.team_id, &facts, now)
                .await?;
            documents.insert(*id, facts);
        }
    }
    let ntia: Vec<checks::NtiaSbom> = counts
        .iter()
        .map(|c| checks::NtiaSbom::of(c, documents.get(&c.sbom_id)))
        .collect();
    // Only SBOMs with a component lacking an element have failing components to list.
    let incomplete: Vec<i64> = counts
        .iter()
        .filter(|c| !c.all_components_complete())
        .map(|c| c.sbom_id)
        .collect();
    let failing = store
        .compliance_failing_components(tenant.team_id, &incomplete, limit)
        .await?;
    let any_release = !releases.is_empty();
    // One pass over the open findings serves the SLA, KEV and triage checks.
    let findings = store
        .compliance_finding_facts(
            tenant,
            product,
            now - Duration::days(t.critical_finding_days),
            now - Duration::days(t.high_finding_days),
            limit,
        )
        .await?;
    let (finding_counts, critical, high, kev, untriaged) = (
        &findings.counts,
        &findings.overdue_critical,
        &findings.overdue_high,
        &findings.kev,
        &findings.untriaged,
    );
    let shipped = store
        .compliance_shipped_release_vex(tenant, product)
        .await?;
    let sources = store.compliance_sync_sources().await?;
    let keys = store.compliance_active_keys(tenant.team_id, now).await?;
    let audit = store
        .compliance_audit_fact(tenant.team_id, now - Duration::days(30))
        .await?;
    let secret_key = engine.sync.secret_key();
    let webhooks: Vec<checks::WebhookView> = store
        .compliance_webhooks(tenant)
        .await?
        .into_iter()
        .map(|w| checks::WebhookView {
            secret_usable: secret_key.decrypt(&w.secret_ciphertext).is_ok(),
            id: w.id,
            url: w.url,
            enabled: w.enabled,
        })
        .collect();
    let incidents = store
        .compliance_incidents(tenant, now - Duration::days(t.incident_window_days))
        .await?;
    let members = store.compliance_members(tenant.team_id).await?;
    let reviews = store.access_reviews(tenant.team_id, 1).await?;
    let secrets: Vec<checks::SecretView> = store
        .compliance_sealed_secrets(tenant.team_id)
        .await?
        .into_iter()
        .map(|s| checks::SecretView {
            sealed: secret_key.decrypt(&s.ciphertext).is_ok(),
            kind: s.kind,
            id: s.id,
        })
        .collect();
    Ok(vec![
        checks::sbom_freshness(&releases, t, now),
        checks::sbom_ntia_elements(&releases, &ntia, &failing),
        checks::findings_sla(
            any_release,
            finding_counts,
            (&critical.0, critical.1),
            (&high.0, high.1),
            t,
            now,
        ),
        checks::kev_findings(any_release, (&kev.0, kev.1)),
        checks::triage_coverage(finding_counts, (&untriaged.0, untriaged.1), t),
        checks::vex_published(&shipped),
        checks::kb_freshness(&sources, t, now),
        checks::api_key_hygiene(&keys, t, now),
        checks::audit_log(&audit, t, now),
        checks::webhooks_signed(&webhooks),
        checks::incident_response(&incidents, t, now),
        checks::access_review(&members, reviews.first(), t, now),
        checks::secrets_encrypted(&secrets),
    ])
}

/// Combines the statuses of the checks behind a control.
pub fn combine(statuses: &[Status]) -> Status {
    let applicable: Vec<Status> = statuses
        .iter()
        .copied()
        .filter(|s| *s != Status::NotApplicable)
        .collect();
    if applicable.is_empty() {
        Status::NotApplicable
    } else if applicable.iter().all(|s| *s == Status::Met) {
        Status::Met
    } else if applicable.iter().all(|s| *s == Status::Gap) {
        Status::Gap
    } else {
        Status::Partial
    }
}

/// The controls of one framework from the check results and attestations.
pub fn framework_posture(
    catalogue: &Catalogue,
    results: &[CheckResult],
    attestations: &[AttestationRecord],
    now: DateTime<Utc>,
) -> FrameworkPosture {
    let all = catalogues();
    let framework = &catalogue.framework.id;
    let mut counts = StatusCounts::default();
    let mut controls = Vec::with_capacity(catalogue.controls.len());
    let mut gap_controls: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for control in &catalogue.controls {
        let evidence: Vec<ControlEvidenceBody> = all
            .evidence_for(framework, &control.id)
            .iter()
            .filter_map(|e| {
                let result = results.iter().find(|r| r.check == e.check)?;
                let status = match &e.facet {
                    Some(facet) => *result.facets.get(facet).unwrap_or(&result.status),
                    None => result.status,
                };
                Some(ControlEvidenceBody {
                    check: e.check.clone(),
                    facet: e.facet.clone(),
                    status,
                    summary: result.summary.clone(),
                    rationale: e.rationale.clone(),
                })
            })
            .collect();
        // Attestations come newest first: the first current one counts.
        let of_control: Vec<&AttestationRecord> = attestations
            .iter()
            .filter(|a| a.framework == *framework && a.control_id == control.id)
            .collect();
        let current = of_control
            .iter()
            .find(|a| a.withdrawn_at.is_none() && a.expires_at > now);
        let shown = current.or_else(|| of_control.iter().find(|a| a.withdrawn_at.is_none()));
        let measured = (!evidence.is_empty())
            .then(|| combine(&evidence.iter().map(|e| e.status).collect::<Vec<_>>()));
        let (status, basis) = match (current, measured) {
            (Some(a), _) if a.status == "not_applicable" => (Status::NotApplicable, "attestation"),
            (_, Some(status)) => (status, "checks"),
            (Some(_), None) => (Status::Met, "attestation"),
            (None, None) => (Status::Manual, "none"),
        };
        counts.add(status);
        if basis == "checks" {
            for e in &evidence {
                if matches!(e.status, Status::Gap | Status::Partial) {
                    gap_controls
                        .entry(e.check.clone())
                        .or_default()
                        .push(control.id.clone());
                }
            }
        }
        controls.push(ControlPosture {
            id: control.id.clone(),
            oscal_id: control.oscal_id(),
            group: control.group.clone(),
            title: control.title.clone(),
            kind: control.kind.clone(),
            requirement: control.requirement.clone(),
            status,
            basis: basis.to_string(),
            evidence,
            attestation: shown.map(|a| AttestationBody::of((*a).clone(), now)),
        });
    }
    let gaps = results
        .iter()
        .filter_map(|result| {
            let mut affected = gap_controls.get(&result.check)?.clone();
            affected.dedup();
            Some(GapAnalysis {
                check: result.check.clone(),
                title: result.title.clone(),
                status: result.status,
                summary: result.summary.clone(),
                controls: affected,
                items: result.items.clone(),
                items_total: result.items_total,
            })
        })
        .collect();
    FrameworkPosture {
        id: framework.clone(),
        name: catalogue.framework.name.clone(),
        version: catalogue.framework.version.clone(),
        publisher: catalogue.framework.publisher.clone(),
        licence: catalogue.framework.licence.clone(),
        score: counts.score(),
        counts,
        controls,
        gaps,
    }
}

/// Measures the posture of every framework (no snapshot taken).
pub async fn compute(
    engine: &Engine,
    tenant: Tenant,
    product: Option<(i64, String)>,
    now: DateTime<Utc>,
) -> Result<Posture, ServiceError> {
    let t = thresholds(engine, tenant.team_id).await?;
    let product_id = product.as_ref().map(|p| p.0);
    let results = run_checks(engine, tenant, product_id, &t, now).await?;
    let attestations = engine.store.attestations(tenant).await?;
    let frameworks = catalogues()
        .frameworks
        .iter()
        .map(|c| framework_posture(c, &results, &attestations, now))
        .collect();
    Ok(Posture {
        generated_at: now,
        team_id: tenant.team_id,
        product_id,
        product_name: product.map(|p| p.1),
        snapshot: None,
        frameworks,
        checks: results,
        thresholds: t,
        test_mode: tenant.test.then_some(true),
    })
}

/// The stored form of a posture and its SHA-256.
fn stored_form(posture: &Posture) -> (String, String) {
    let mut copy = posture.clone();
    copy.snapshot = None;
    let text = serde_json::to_string(&copy).expect("plain data");
    let sha = hex::encode(Sha256::digest(text.as_bytes()));
    (text, sha)
}

/// Stores the posture as a snapshot when it differs from the scope's newest one in any
/// control's status, or when that one is from an earlier day, or when `force` (reports);
/// a status change emits `compliance.changed`. Returns the snapshot the posture now is.
pub async fn take_snapshot(
    engine: &Engine,
    tenant: Tenant,
    posture: &Posture,
    force: bool,
) -> Result<SnapshotRecord, ServiceError> {
    let statuses = posture.statuses();
    let statuses_text = serde_json::to_string(&statuses).expect("plain data");
    let latest = engine
        .store
        .latest_compliance_snapshot(tenant, posture.product_id)
        .await?;
    let today = posture.generated_at.format("%Y-%m-%d").to_string();
    if let Some(latest) = &latest {
        if !force && latest.statuses == statuses_text && latest.day == today {
            return Ok(latest.clone());
        }
    }
    let changed = latest.as_ref().and_then(|latest| {
        let before: BTreeMap<String, Status> =
            serde_json::from_str(&latest.statuses).unwrap_or_default();
        let changes: Vec<serde_json::Value> = statuses
            .iter()
            .filter(|(key, status)| before.get(*key) != Some(status))
            .map(|(key, status)| {
                let (framework, control) = key.split_once('/').unwrap_or((key, ""));
                serde_json::json!({
                    "framework": framework,
                    "control": control,
                    "from": before.get(key).map(|s| s.as_str()),
                    "to": status.as_str(),
                })
            })
            .collect();
        (!changes.is_empty()).then(|| {
            let scores: BTreeMap<&str, Option<f64>> = posture
                .frameworks
                .iter()
                .map(|f| (f.id.as_str(), f.score))
                .collect();
            serde_json::json!({
                "product_id": posture.product_id,
                "previous_snapshot_id": latest.id,
                "changes": changes.iter().take(200).collect::<Vec<_>>(),
                "changed_controls": changes.len(),
                "scores": scores,
            })
        })
    });
    let summary: BTreeMap<&str, serde_json::Value> = posture
        .frameworks
        .iter()
        .map(|f| {
            (
                f.id.as_str(),
                serde_json::json!({"score": f.score, "counts": f.counts}),
            )
        })
        .collect();
    let (text, sha) = stored_form(posture);
    Ok(engine
        .store
        .record_compliance_snapshot(
            tenant,
            &NewSnapshot {
                product_id: posture.product_id,
                taken_at: posture.generated_at,
                statuses: statuses_text,
                summary: serde_json::to_string(&summary).expect("plain data"),
                posture: text,
                sha256: sha,
                changed,
                previous_id: latest.as_ref().map(|l| l.id),
            },
        )
        .await?
        .into_record())
}

/// Teams the daily pass looks at per query.
const DAILY_BATCH: i64 = 100;

/// The daily pass: every team without a team-wide snapshot taken today gets its posture
/// measured and stored (a change since the last one emits `compliance.changed`). Replicas
/// may run it at once: [`take_snapshot`] stores one snapshot per change (the store refuses
/// a snapshot compared with an outdated newest one), so a day and a change are recorded
/// once. Returns how many teams were measured.
pub async fn daily_snapshots(
    engine: &Engine,
    stopped: Option<&tokio::sync::watch::Receiver<bool>>,
) -> Result<usize, ServiceError> {
    let now = engine.now();
    let today = now.format("%Y-%m-%d").to_string();
    let mut measured = 0;
    let mut after = 0;
    loop {
        let teams = engine
            .store
            .teams_without_compliance_snapshot(&today, after, DAILY_BATCH)
            .await?;
        let Some(last) = teams.last().copied() else {
            return Ok(measured);
        };
        for team_id in teams {
            if stopped.is_some_and(|s| *s.borrow()) {
                return Ok(measured);
            }
            let tenant = Tenant {
                team_id,
                test: false,
            };
            match compute(engine, tenant, None, now).await {
                Ok(posture) => {
                    take_snapshot(engine, tenant, &posture, false).await?;
                    measured += 1;
                }
                // A team deleted meanwhile, or data the checks cannot read: the others go on.
                Err(error) => {
                    tracing::warn!(%error, team_id, "daily compliance snapshot failed");
                }
            }
        }
        after = last;
    }
}

/// Runs [`daily_snapshots`] every `interval` (the first time after the interval or five
/// minutes, whichever is shorter) until `stopped` turns true.
pub async fn run_snapshot_worker(
    engine: Engine,
    interval: std::time::Duration,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let mut wait = interval.min(std::time::Duration::from_secs(300));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stopped.changed() => {}
        }
        if *stopped.borrow() {
            return;
        }
        if let Err(error) = daily_snapshots(&engine, Some(&stopped)).await {
            tracing::warn!(%error, "daily compliance snapshots failed; retrying");
        }
        wait = interval;
    }
}

/// The product of the tenant named by `product` (404 when absent or another team's).
async fn product_scope(
    engine: &Engine,
    tenant: Tenant,
    product: Option<i64>,
) -> Result<Option<(i64, String)>, ServiceError> {
    match product {
        None => Ok(None),
        Some(id) => {
            let found = engine
                .store
                .product(tenant, id)
                .await?
                .ok_or_else(|| ServiceError::not_found("product"))?;
            Ok(Some((id, found.name)))
        }
    }
}

/// The posture of the caller's team (or one product), its snapshot taken, restricted to
/// `frameworks` (all when empty).
pub async fn posture(
    engine: &Engine,
    actor: &Actor,
    frameworks: &[String],
    product: Option<i64>,
) -> Result<Posture, ServiceError> {
    actor.require(Scope::ComplianceRead)?;
    let tenant = actor.tenant();
    let product = product_scope(engine, tenant, product).await?;
    let mut posture = compute(engine, tenant, product, engine.now()).await?;
    let snapshot = take_snapshot(engine, tenant, &posture, false).await?;
    posture.snapshot = Some(SnapshotRef {
        id: snapshot.id,
        taken_at: snapshot.taken_at,
        sha256: snapshot.sha256,
    });
    if !frameworks.is_empty() {
        posture.frameworks.retain(|f| frameworks.contains(&f.id));
    }
    Ok(posture)
}

/// A posture stored as a snapshot, as it was taken.
pub fn snapshot_posture(record: &SnapshotRecord) -> Result<Posture, ServiceError> {
    let mut posture: Posture = serde_json::from_str(&record.posture).map_err(|error| {
        ServiceError::new(
            ErrorCode::InternalError,
            format!("snapshot {} is unreadable: {error}", record.id),
        )
    })?;
    posture.snapshot = Some(SnapshotRef {
        id: record.id,
        taken_at: record.taken_at,
        sha256: record.sha256.clone(),
    });
    Ok(posture)
}

/// A fresh posture stored as a new snapshot (for reports): the snapshot's own posture.
pub async fn fresh_snapshot(
    engine: &Engine,
    actor: &Actor,
    product: Option<i64>,
) -> Result<Posture, ServiceError> {
    actor.require(Scope::ComplianceRead)?;
    let tenant = actor.tenant();
    let product = product_scope(engine, tenant, product).await?;
    let posture = compute(engine, tenant, product, engine.now()).await?;
    let snapshot = take_snapshot(engine, tenant, &posture, true).await?;
    snapshot_posture(&snapshot)
}

/// One point of the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HistoryPoint {
    pub snapshot_id: i64,
    pub taken_at: DateTime<Utc>,
    pub sha256: String,
    /// Per framework: `{"score", "counts"}`.
    #[schema(value_type = Object)]
    pub frameworks: serde_json::Value,
}

/// Snapshots of the scope in a window, newest first (at most `limit`).
pub async fn history(
    engine: &Engine,
    actor: &Actor,
    frameworks: &[String],
    product: Option<i64>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    limit: i64,
) -> Result<Vec<HistoryPoint>, ServiceError> {
    actor.require(Scope::ComplianceRead)?;
    let tenant = actor.tenant();
    product_scope(engine, tenant, product).await?;
    let records = engine
        .store
        .compliance_snapshots(tenant, product, since, until, limit)
        .await?;
    Ok(records
        .into_iter()
        .map(|record| {
            let mut summary: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&record.summary).unwrap_or_default();
            if !frameworks.is_empty() {
                summary.retain(|k, _| frameworks.contains(k));
            }
            HistoryPoint {
                snapshot_id: record.id,
                taken_at: record.taken_at,
                sha256: record.sha256,
                frameworks: serde_json::Value::Object(summary),
            }
        })
        .collect())
}

/// An attestation as sent.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttestationRequest {
    /// Framework id (`soc2`, `iso27001`, `hipaa`, `gdpr`, `ntia_sbom`, `eu_cra`).
    #[schema(value_type = String, required = true, pattern = "^(soc2|iso27001|hipaa|gdpr|ntia_sbom|eu_cra)$")]
    pub framework: Option<String>,
    /// The control's identifier in that framework (`CC1.1`, `A.7.4`, `164.310(a)(1)`).
    #[schema(value_type = String, required = true, min_length = 1, max_length = 50, pattern = "\\S")]
    pub control_id: Option<String>,
    /// `met` (default) or `not_applicable`.
    #[schema(pattern = "^(met|not_applicable)$")]
    pub status: Option<String>,
    /// Who answers for the control.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 200, pattern = "\\S")]
    pub owner: Option<String>,
    /// What is in place, in the owner's words.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 10000, pattern = "\\S")]
    pub statement: Option<String>,
    /// Until when the attestation holds (at most three years ahead).
    pub expires_at: Option<DateTime<Utc>>,
}

fn required<'a>(
    field: &str,
    value: &'a Option<String>,
    max: usize,
) -> Result<&'a str, ServiceError> {
    match value.as_deref().map(str::trim) {
        Some(text) if !text.is_empty() && text.chars().count() <= max => Ok(text),
        Some(text) if !text.is_empty() => Err(ServiceError::invalid(format!(
            "`{field}` must be at most {max} characters"
        ))),
        _ => Err(ServiceError::invalid(format!("`{field}` is required"))),
    }
}

pub async fn attest(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    request: AttestationRequest,
) -> Result<AttestationBody, ServiceError> {
    actor.require(Scope::TeamsManage)?;
    let framework_text = required("framework", &request.framework, 50)?;
    let framework = parse_frameworks(Some(framework_text))
        .map_err(|_| {
            ServiceError::invalid(format!(
                "`framework` must be one of {}, not {framework_text:?}",
                catalogues().framework_ids().join(", ")
            ))
        })?
        .remove(0);
    let control_id = required("control_id", &request.control_id, 50)?;
    let catalogue = catalogues().framework(&framework).expect("parsed");
    if catalogue.control(control_id).is_none() {
        return Err(ServiceError::invalid(format!(
            "`control_id`: {control_id:?} is not a control of {framework}"
        )));
    }
    let status = match request.status.as_deref().map(str::trim) {
        None | Some("met") => "met",
        Some("not_applicable") => "not_applicable",
        Some(other) => {
            return Err(ServiceError::invalid(format!(
                "`status` must be met or not_applicable, not {other:?}"
            )))
        }
    };
    let owner = required("owner", &request.owner, MAX_OWNER)?;
    let statement = required("statement", &request.statement, MAX_STATEMENT)?;
    let now = engine.now();
    let expires_at = request
        .expires_at
        .ok_or_else(|| ServiceError::invalid("`expires_at` is required"))?;
    if expires_at <= now || expires_at > now + Duration::days(MAX_ATTESTATION_DAYS) {
        return Err(ServiceError::invalid(
            "`expires_at` must be in the future and at most three years ahead",
        ));
    }
    let mut event = actor.audit(origin, "compliance_attestation.create");
    event.details = Some(serde_json::json!({
        "framework": framework, "control_id": control_id, "status": status,
        "owner": owner, "expires_at": expires_at,
    }));
    let record = engine
        .store
        .create_attestation(
            actor.tenant(),
            &NewAttestation {
                framework,
                control_id: control_id.to_string(),
                status: status.to_string(),
                owner: owner.to_string(),
                statement: statement.to_string(),
                expires_at,
                created_by: actor.user_email.clone(),
                created_by_user_id: Some(actor.user_id),
            },
            &event,
            now,
        )
        .await?;
    Ok(AttestationBody::of(record, now))
}

pub async fn list_attestations(
    engine: &Engine,
    actor: &Actor,
) -> Result<Vec<AttestationBody>, ServiceError> {
    actor.require(Scope::ComplianceRead)?;
    let now = engine.now();
    Ok(engine
        .store
        .attestations(actor.tenant())
        .await?
        .into_iter()
        .map(|r| AttestationBody::of(r, now))
        .collect())
}

pub async fn get_attestation(
    engine: &Engine,
    actor: &Actor,
    id: i64,
) -> Result<AttestationBody, ServiceError> {
    actor.require(Scope::ComplianceRead)?;
    let record = engine
        .store
        .attestation(actor.tenant(), id)
        .await?
        .ok_or_else(|| ServiceError::not_found("attestation"))?;
    Ok(AttestationBody::of(record, engine.now()))
}

pub async fn withdraw_attestation(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    id: i64,
) -> Result<AttestationBody, ServiceError> {
    actor.require(Scope::TeamsManage)?;
    let event = actor.audit(origin, "compliance_attestation.withdraw");
    if !engine
        .store
        .withdraw_attestation(actor.tenant(), id, &event, engine.now())
        .await?
    {
        return Err(ServiceError::not_found("attestation"));
    }
    get_attestation(engine, actor, id).await
}

/// Attaches an evidence file (the raw body) to an attestation.
pub async fn upload_evidence(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    id: i64,
    name: Option<&str>,
    content_type: Option<&str>,
    content: &[u8],
) -> Result<AttestationBody, ServiceError> {
    actor.require(Scope::TeamsManage)?;
    if content.is_empty() {
        return Err(ServiceError::invalid(
            "the evidence file (request body) is empty",
        ));
    }
    if content.len() > MAX_EVIDENCE_BYTES {
        return Err(ServiceError::new(
            ErrorCode::PayloadTooLarge,
            format!("the evidence file exceeds {MAX_EVIDENCE_BYTES} bytes"),
        ));
    }
    let name = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or("evidence");
    if name.chars().count() > 255 || name.contains(['/', '\\', '\0']) {
        return Err(ServiceError::new(
            ErrorCode::BadRequest,
            "`name` must be a file name of at most 255 characters without slashes",
        ));
    }
    let content_type = content_type
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .unwrap_or("application/octet-stream");
    let sha = hex::encode(Sha256::digest(content));
    let mut event = actor.audit(origin, "compliance_attestation.evidence");
    event.details = Some(serde_json::json!({"name": name, "sha256": sha, "size": content.len()}));
    if !engine
        .store
        .set_attestation_evidence(
            actor.tenant(),
            id,
            name,
            content_type,
            &sha,
            content,
            &event,
            engine.now(),
        )
        .await?
    {
        return Err(ServiceError::not_found("attestation"));
    }
    get_attestation(engine, actor, id).await
}

pub async fn download_evidence(
    engine: &Engine,
    actor: &Actor,
    id: i64,
) -> Result<(String, String, Vec<u8>), ServiceError> {
    actor.require(Scope::ComplianceRead)?;
    engine
        .store
        .attestation_evidence(actor.tenant(), id)
        .await?
        .ok_or_else(|| ServiceError::not_found("evidence file"))
}

/// An access review as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccessReviewBody {
    pub id: i64,
    pub reviewed_at: DateTime<Utc>,
    pub reviewer: String,
    pub members: Vec<ReviewedMember>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReviewedMember {
    pub user_id: i64,
    pub email: String,
    pub role: String,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessReviewRequest {
    /// What was checked or changed (at most 2,000 characters; line breaks and tabs are the
    /// only control characters allowed).
    #[schema(
        max_length = 2000,
        pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
    )]
    pub note: Option<String>,
}

fn review_body(record: rampart_store::AccessReviewRecord) -> AccessReviewBody {
    let members: Vec<MemberFact> = serde_json::from_str(&record.members).unwrap_or_default();
    AccessReviewBody {
        id: record.id,
        reviewed_at: record.reviewed_at,
        reviewer: record.reviewer,
        members: members
            .into_iter()
            .map(|m| ReviewedMember {
                user_id: m.user_id,
                email: m.email,
                role: m.role,
            })
            .collect(),
        note: record.note,
    }
}

/// Records that the caller reviewed the team's current members and roles.
pub async fn record_access_review(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    request: AccessReviewRequest,
) -> Result<AccessReviewBody, ServiceError> {
    actor.require(Scope::TeamsManage)?;
    let note = crate::fields::optional_text("note", request.note.as_deref(), 2000)?;
    let members = engine.store.compliance_members(actor.team_id).await?;
    let mut event = actor.audit(origin, "compliance_access_review.create");
    event.details = Some(serde_json::json!({"members": members.len()}));
    let record = engine
        .store
        .record_access_review(
            actor.team_id,
            &actor.user_email,
            Some(actor.user_id),
            &members,
            note.as_deref(),
            &event,
            engine.now(),
        )
        .await?;
    Ok(review_body(record))
}

pub async fn list_access_reviews(
    engine: &Engine,
    actor: &Actor,
) -> Result<Vec<AccessReviewBody>, ServiceError> {
    actor.require(Scope::ComplianceRead)?;
    Ok(engine
        .store
        .access_reviews(actor.team_id, 100)
        .await?
        .into_iter()
        .map(review_body)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frameworks_parse_leniently_and_name_the_parameter() {
        assert_eq!(
            parse_frameworks(Some("SOC2, iso_27001,HIPAA,gdpr")).unwrap(),
            ["soc2", "iso27001", "hipaa", "gdpr"]
        );
        assert_eq!(
            parse_frameworks(Some("ntia,cra")).unwrap(),
            ["ntia_sbom", "eu_cra"]
        );
        assert!(parse_frameworks(None).unwrap().is_empty());
        let error = parse_frameworks(Some("pci")).unwrap_err();
        assert_eq!(error.code(), ErrorCode::BadRequest);
        assert!(error.message().contains("`framework`"));
    }

    #[test]
    fn control_status_combines_its_checks() {
        use Status::*;
        assert_eq!(combine(&[Met, Met]), Met);
        assert_eq!(combine(&[Met, NotApplicable]), Met);
        assert_eq!(combine(&[Gap, Gap]), Gap);
        assert_eq!(combine(&[Met, Gap]), Partial);
        assert_eq!(combine(&[NotApplicable]), NotApplicable);
    }

    #[test]
    fn document_authors_are_read_from_each_format() {
        let cdx = br#"{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"timestamp":"2024-01-01T00:00:00Z","authors":[{"name":"Jane"}],"tools":[{"name":"syft"}]},"components":[]}"#;
        let facts = sbom_document_facts(1, cdx);
        assert_eq!(facts.author.as_deref(), Some("Jane"));
        assert_eq!(facts.author_source.as_deref(), Some("metadata"));
        assert_eq!(
            facts.document_timestamp.as_deref(),
            Some("2024-01-01T00:00:00Z")
        );
        let tag = b"SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\nSPDXID: SPDXRef-DOCUMENT\nDocumentName: x\nDocumentNamespace: https://example.com/x\nCreator: Organization: Acme\nCreator: Tool: t-1\nCreated: 2024-01-01T00:00:00Z\n";
        assert_eq!(metadata_authors(tag), ["Acme"]);
        let xml = b"<bom xmlns=\"http://cyclonedx.org/schema/bom/1.4\"><metadata><authors><author><name>Sam</name></author></authors><tools><tool><name>x</name></tool></tools></metadata></bom>";
        assert_eq!(metadata_authors(xml), ["Sam"]);
    }
}
