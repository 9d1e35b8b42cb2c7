//! The evidence checks: each a small named function over facts the store read, with its rule
//! and its team-configurable threshold ([`Thresholds`]) documented on it. A check answers
//! `met`, `partial`, `gap` or `not_applicable`, the values it measured, and the objects that
//! cause a gap (the release without an SBOM, the finding past its deadline, the key without an
//! expiry), each with a link and what to do about it.
//!
//! The one general rule, [`share`]: when a check looks at several objects, all good is `met`,
//! none good is `gap`, some is `partial`.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use rampart_store::{
    AccessReviewRecord, AuditFact, ComplianceFinding, FailingComponent, FindingCounts,
    IncidentFact, KeyFact, MemberFact, ReleaseSbomFact, SbomDocumentFacts, SbomElementCounts,
    ShippedReleaseVex, SyncSourceFact,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A control's or a check's result.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Met,
    Partial,
    Gap,
    NotApplicable,
    Manual,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Met => "met",
            Status::Partial => "partial",
            Status::Gap => "gap",
            Status::NotApplicable => "not_applicable",
            Status::Manual => "manual",
        }
    }
}

/// `ok` of `total` objects are good: all → met, none → gap, else partial (nothing → n/a).
pub fn share(ok: usize, total: usize) -> Status {
    if total == 0 {
        Status::NotApplicable
    } else if ok == total {
        Status::Met
    } else if ok == 0 {
        Status::Gap
    } else {
        Status::Partial
    }
}

macro_rules! checks {
    ($($variant:ident => $name:literal, $title:literal, [$($facet:literal),*];)*) => {
        /// An evidence check.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum CheckId { $($variant,)* }

        impl CheckId {
            pub const ALL: &'static [CheckId] = &[$(CheckId::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(CheckId::$variant => $name,)* }
            }

            pub fn title(self) -> &'static str {
                match self { $(CheckId::$variant => $title,)* }
            }

            /// The parts of the result mappings may pick.
            pub fn facets(self) -> &'static [&'static str] {
                match self { $(CheckId::$variant => &[$($facet),*],)* }
            }
        }

        impl FromStr for CheckId {
            type Err = ();
            fn from_str(text: &str) -> Result<Self, ()> {
                match text { $($name => Ok(CheckId::$variant),)* _ => Err(()) }
            }
        }
    };
}

checks! {
    SbomFreshness => "sbom_freshness", "Every active release has a current SBOM", [];
    SbomNtiaElements => "sbom_ntia_elements", "SBOMs carry the NTIA minimum elements",
        ["supplier", "component_name", "version", "unique_identifiers", "dependency_relationship", "author", "timestamp"];
    FindingsSla => "findings_sla", "No critical or high finding past its deadline", [];
    KevFindings => "kev_findings", "No open finding of a known exploited vulnerability", [];
    TriageCoverage => "triage_coverage", "Open findings carry a triage decision", [];
    VexPublished => "vex_published", "Shipped releases have published VEX", [];
    KbFreshness => "kb_freshness", "Vulnerability sources synced recently", [];
    ApiKeyHygiene => "api_key_hygiene", "API keys expire, are used and are rotated", [];
    AuditLog => "audit_log", "Audit log append-only, in use and exported", [];
    WebhooksSigned => "webhooks_signed", "Webhook deliveries signed and sent over HTTPS", [];
    IncidentResponse => "incident_response", "Incidents acknowledged and resolved within SLA", [];
    AccessReview => "access_review", "Team members reviewed recently", [];
    SecretsEncrypted => "secrets_encrypted", "Stored secrets encrypted at rest", [];
}

/// The team's thresholds (`GET|PUT /api/v1/compliance/settings`); every field has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// `sbom_freshness`: the newest SBOM of an active release is at most this old (days).
    #[schema(minimum = 1, maximum = 3660)]
    pub sbom_max_age_days: i64,
    /// `findings_sla`: days from first seen until a critical finding is overdue.
    #[schema(minimum = 1, maximum = 3660)]
    pub critical_finding_days: i64,
    /// `findings_sla`: days from first seen until a high finding is overdue.
    #[schema(minimum = 1, maximum = 3660)]
    pub high_finding_days: i64,
    /// `triage_coverage`: share of open findings with a decision for `met` (percent);
    /// half of it or more is `partial`.
    #[schema(exclusive_minimum = 0, maximum = 100)]
    pub triage_coverage_percent: f64,
    /// `kb_freshness`: each sync source succeeded within this many hours.
    #[schema(minimum = 1, maximum = 8784)]
    pub kb_max_age_hours: i64,
    /// `api_key_hygiene`: a key unused for this many days is stale.
    #[schema(minimum = 1, maximum = 3660)]
    pub key_unused_days: i64,
    /// `api_key_hygiene`: a key older than this many days is due for rotation.
    #[schema(minimum = 1, maximum = 3660)]
    pub key_rotation_days: i64,
    /// `audit_log`: the log was exported (`GET /api/v1/audit-log/export`) within this many days.
    #[schema(minimum = 1, maximum = 3660)]
    pub audit_export_max_age_days: i64,
    /// `incident_response`: incidents created in the last this many days are measured.
    #[schema(minimum = 1, maximum = 3660)]
    pub incident_window_days: i64,
    /// `access_review`: the team's members were reviewed within this many days.
    #[schema(minimum = 1, maximum = 3660)]
    pub access_review_max_age_days: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            sbom_max_age_days: 90,
            critical_finding_days: 15,
            high_finding_days: 30,
            triage_coverage_percent: 90.0,
            kb_max_age_hours: 48,
            key_unused_days: 90,
            key_rotation_days: 365,
            audit_export_max_age_days: 90,
            incident_window_days: 90,
            access_review_max_age_days: 90,
        }
    }
}

impl Thresholds {
    /// 422 naming the first field out of range.
    pub fn validate(&self) -> Result<(), String> {
        let days = [
            ("sbom_max_age_days", self.sbom_max_age_days),
            ("critical_finding_days", self.critical_finding_days),
            ("high_finding_days", self.high_finding_days),
            ("key_unused_days", self.key_unused_days),
            ("key_rotation_days", self.key_rotation_days),
            ("audit_export_max_age_days", self.audit_export_max_age_days),
            ("incident_window_days", self.incident_window_days),
            (
                "access_review_max_age_days",
                self.access_review_max_age_days,
            ),
        ];
        for (field, value) in days {
            if !(1..=3660).contains(&value) {
                return Err(format!("`{field}` must be 1 to 3660 days, not {value}"));
            }
        }
        if !(1..=24 * 366).contains(&self.kb_max_age_hours) {
            return Err(format!(
                "`kb_max_age_hours` must be 1 to 8784 hours, not {}",
                self.kb_max_age_hours
            ));
        }
        if !(self.triage_coverage_percent > 0.0 && self.triage_coverage_percent <= 100.0) {
            return Err(format!(
                "`triage_coverage_percent` must be above 0 and at most 100, not {}",
                self.triage_coverage_percent
            ));
        }
        Ok(())
    }
}

/// An object causing a gap, and what to do about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GapItem {
    /// `release`, `sbom`, `component`, `finding`, `api_key`, `sync_source`, `webhook`,
    /// `incident`, `member`, `audit_log`, `secret`.
    pub kind: String,
    pub id: String,
    pub label: String,
    /// The API resource of the object.
    pub link: String,
    pub reason: String,
    pub remediation: String,
}

/// What one check found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckResult {
    pub check: String,
    pub title: String,
    pub status: Status,
    /// One line on the measured values.
    pub summary: String,
    /// The measured values.
    #[schema(value_type = Object)]
    pub evidence: Value,
    /// The status of each facet (NTIA elements).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub facets: BTreeMap<String, Status>,
    /// The causing objects (at most 50 listed; `items_total` counts them all).
    pub items: Vec<GapItem>,
    pub items_total: i64,
}

impl CheckResult {
    fn new(check: CheckId, status: Status, summary: String, evidence: Value) -> Self {
        CheckResult {
            check: check.as_str().to_string(),
            title: check.title().to_string(),
            status,
            summary,
            evidence,
            facets: BTreeMap::new(),
            items: Vec::new(),
            items_total: 0,
        }
    }

    fn with_items(mut self, items: Vec<GapItem>, total: i64) -> Self {
        self.items = items;
        self.items_total = total;
        self
    }
}

fn item(
    kind: &str,
    id: impl ToString,
    label: String,
    link: String,
    reason: String,
    remediation: &str,
) -> GapItem {
    GapItem {
        kind: kind.to_string(),
        id: id.to_string(),
        label,
        link,
        reason,
        remediation: remediation.to_string(),
    }
}

const LIMIT: usize = rampart_store::COMPLIANCE_ITEM_LIMIT as usize;

fn days_between(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_days()
}

/// `sbom_freshness`. Rule: every active release (status `development` or `released`) has an
/// SBOM uploaded at most `sbom_max_age_days` ago. A release without one, or with only an older
/// one, is a gap item. No active release: not applicable.
pub fn sbom_freshness(
    releases: &[ReleaseSbomFact],
    t: &Thresholds,
    now: DateTime<Utc>,
) -> CheckResult {
    let limit = now - Duration::days(t.sbom_max_age_days);
    let mut items = Vec::new();
    let (mut without, mut stale) = (0usize, 0usize);
    for release in releases {
        let label = format!("{} {}", release.product_name, release.version);
        let link = format!("/api/v1/releases/{}", release.release_id);
        match release.sbom_uploaded_at {
            None => {
                without += 1;
                items.push(item(
                    "release",
                    release.release_id,
                    label,
                    link,
                    "no SBOM uploaded".into(),
                    "Upload an SBOM for this release (POST /api/v1/releases/{id}/sboms).",
                ));
            }
            Some(at) if at < limit => {
                stale += 1;
                items.push(item(
                    "release",
                    release.release_id,
                    label,
                    link,
                    format!(
                        "newest SBOM is {} days old (limit {})",
                        days_between(at, now),
                        t.sbom_max_age_days
                    ),
                    "Regenerate the SBOM from the current build and upload it.",
                ));
            }
            Some(_) => {}
        }
    }
    let total = releases.len();
    let fresh = total - without - stale;
    let status = share(fresh, total);
    let total_items = items.len() as i64;
    items.truncate(LIMIT);
    CheckResult::new(
        CheckId::SbomFreshness,
        status,
        format!(
            "{fresh} of {total} active releases have an SBOM at most {} days old ({without} without SBOM, {stale} stale)",
            t.sbom_max_age_days
        ),
        json!({
            "active_releases": total,
            "fresh": fresh,
            "without_sbom": without,
            "stale": stale,
            "max_age_days": t.sbom_max_age_days,
        }),
    )
    .with_items(items, total_items)
}

/// NTIA element names in catalogue order.
pub const NTIA_ELEMENTS: [&str; 7] = [
    "supplier",
    "component_name",
    "version",
    "unique_identifiers",
    "dependency_relationship",
    "author",
    "timestamp",
];

/// The NTIA figures of one SBOM.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NtiaSbom {
    pub sbom_id: i64,
    pub release_id: i64,
    pub components: i64,
    /// Components carrying each component-level element.
    pub elements: BTreeMap<String, i64>,
    pub author: Option<String>,
    pub author_source: Option<String>,
    pub timestamp: Option<String>,
}

impl NtiaSbom {
    pub fn of(counts: &SbomElementCounts, document: Option<&SbomDocumentFacts>) -> NtiaSbom {
        let mut elements = BTreeMap::new();
        elements.insert("supplier".to_string(), counts.with_supplier);
        elements.insert("component_name".to_string(), counts.with_name);
        elements.insert("version".to_string(), counts.with_version);
        elements.insert("unique_identifiers".to_string(), counts.with_identifier);
        elements.insert(
            "dependency_relationship".to_string(),
            counts.with_dependency,
        );
        NtiaSbom {
            sbom_id: counts.sbom_id,
            release_id: counts.release_id,
            components: counts.components,
            elements,
            author: document.and_then(|d| d.author.clone()),
            author_source: document.and_then(|d| d.author_source.clone()),
            timestamp: document.and_then(|d| d.document_timestamp.clone()),
        }
    }

    /// Whether the element is present throughout this SBOM.
    pub fn complete(&self, element: &str) -> bool {
        match element {
            "author" => self.author.is_some(),
            "timestamp" => self.timestamp.is_some(),
            // A document without components has nothing to describe: the component-level
            // elements cannot be met by it.
            _ => self.components > 0 && self.elements.get(element) == Some(&self.components),
        }
    }

    pub fn missing(&self) -> Vec<String> {
        NTIA_ELEMENTS
            .iter()
            .filter(|e| !self.complete(e))
            .map(|e| match self.elements.get(*e) {
                Some(n) => format!("{e} ({n}/{})", self.components),
                None => e.to_string(),
            })
            .collect()
    }
}

/// `sbom_ntia_elements`. Rule: the newest SBOM of each active release carries each NTIA
/// minimum element: per component a supplier, a name, a version, a unique identifier (purl,
/// CPE or hash) and a part in a stated dependency relationship; per document an author and a
/// timestamp. Each element is a facet (`share` over the SBOMs complete in it); the check is
/// `met` when every facet is. Active releases without any SBOM: gap (nothing to measure);
/// no active release: not applicable.
pub fn sbom_ntia_elements(
    releases: &[ReleaseSbomFact],
    sboms: &[NtiaSbom],
    failing: &[FailingComponent],
) -> CheckResult {
    if releases.is_empty() {
        let mut result = CheckResult::new(
            CheckId::SbomNtiaElements,
            Status::NotApplicable,
            "no active release".into(),
            json!({"sboms": []}),
        );
        for e in NTIA_ELEMENTS {
            result.facets.insert(e.to_string(), Status::NotApplicable);
        }
        return result;
    }
    let mut facets = BTreeMap::new();
    for e in NTIA_ELEMENTS {
        let complete = sboms.iter().filter(|s| s.complete(e)).count();
        let status = if sboms.is_empty() {
            Status::Gap
        } else {
            share(complete, sboms.len())
        };
        facets.insert(e.to_string(), status);
    }
    let status = if facets.values().all(|s| *s == Status::Met) {
        Status::Met
    } else if facets.values().all(|s| *s == Status::Gap) {
        Status::Gap
    } else {
        Status::Partial
    };
    let label_of = |release_id: i64| {
        releases
            .iter()
            .find(|r| r.release_id == release_id)
            .map(|r| format!("{} {}", r.product_name, r.version))
            .unwrap_or_default()
    };
    let mut items = Vec::new();
    let mut failing_sboms = 0i64;
    for sbom in sboms {
        let missing = sbom.missing();
        if missing.is_empty() {
            continue;
        }
        failing_sboms += 1;
        // Counted all, listed up to the limit.
        if items.len() >= LIMIT {
            continue;
        }
        items.push(item(
            "sbom",
            sbom.sbom_id,
            format!("SBOM {} of {}", sbom.sbom_id, label_of(sbom.release_id)),
            format!("/api/v1/sboms/{}", sbom.sbom_id),
            format!("incomplete elements: {}", missing.join(", ")),
            "Configure the SBOM generator to emit suppliers, versions, purls, dependencies, authors and a timestamp, then upload again.",
        ));
    }
    let sbom_items = failing_sboms;
    for component in failing {
        if items.len() >= LIMIT {
            break;
        }
        let mut lacks = Vec::new();
        for (present, name) in [
            (component.has_supplier, "supplier"),
            (component.has_name, "component_name"),
            (component.has_version, "version"),
            (component.has_identifier, "unique_identifiers"),
            (component.has_dependency, "dependency_relationship"),
        ] {
            if !present {
                lacks.push(name);
            }
        }
        items.push(item(
            "component",
            component.component_id,
            format!(
                "{}{} (SBOM {})",
                component.name,
                component
                    .version
                    .as_deref()
                    .map(|v| format!(" {v}"))
                    .unwrap_or_default(),
                component.sbom_id
            ),
            format!("/api/v1/sboms/{}/components", component.sbom_id),
            format!("lacks {}", lacks.join(", ")),
            "Add the missing fields for this component in the SBOM generator's input.",
        ));
    }
    let failing_components: i64 = sboms
        .iter()
        .map(|s| {
            s.elements
                .values()
                .map(|n| s.components - n)
                .max()
                .unwrap_or(0)
        })
        .sum();
    let total = sbom_items + failing.len().max(failing_components as usize) as i64;
    items.truncate(LIMIT);
    let complete = sboms.len() as i64 - failing_sboms;
    let mut result = CheckResult::new(
        CheckId::SbomNtiaElements,
        status,
        format!(
            "{complete} of {} SBOMs carry every NTIA minimum element",
            sboms.len()
        ),
        json!({ "sboms": sboms, "releases_without_sbom": releases.len() - sboms.len() }),
    )
    .with_items(items, total);
    result.facets = facets;
    result
}

fn finding_item(finding: &ComplianceFinding, reason: String, remediation: &str) -> GapItem {
    item(
        "finding",
        finding.finding_id,
        format!(
            "{} in {} {} of {} {}",
            finding.vuln_id,
            finding.component_name,
            finding.component_version.as_deref().unwrap_or(""),
            finding.product_name,
            finding.version
        ),
        format!("/api/v1/releases/{}/vulnerabilities", finding.release_id),
        reason,
        remediation,
    )
}

/// `findings_sla`. Rule: no open, not suppressed finding rated critical is older than
/// `critical_finding_days`, nor one rated high older than `high_finding_days` (age from first
/// seen). Any overdue critical: gap; only overdue high: partial; none: met. No active release:
/// not applicable.
pub fn findings_sla(
    any_release: bool,
    counts: &FindingCounts,
    overdue_critical: (&[ComplianceFinding], i64),
    overdue_high: (&[ComplianceFinding], i64),
    t: &Thresholds,
    now: DateTime<Utc>,
) -> CheckResult {
    let status = if !any_release {
        Status::NotApplicable
    } else if overdue_critical.1 > 0 {
        Status::Gap
    } else if overdue_high.1 > 0 {
        Status::Partial
    } else {
        Status::Met
    };
    let mut items = Vec::new();
    for (findings, days) in [
        (overdue_critical.0, t.critical_finding_days),
        (overdue_high.0, t.high_finding_days),
    ] {
        for finding in findings {
            items.push(finding_item(
                finding,
                format!(
                    "{} finding open {} days (deadline {days} days)",
                    finding.severity.as_deref().unwrap_or("unrated"),
                    days_between(finding.first_seen_at, now)
                ),
                "Upgrade the component to a fixed version, or record a triage decision (not affected / accepted) with its justification.",
            ));
        }
    }
    items.truncate(LIMIT);
    CheckResult::new(
        CheckId::FindingsSla,
        status,
        format!(
            "{} critical and {} high findings past their deadline ({} open critical/high)",
            overdue_critical.1, overdue_high.1, counts.critical_high
        ),
        json!({
            "open_critical_high": counts.critical_high,
            "overdue_critical": overdue_critical.1,
            "overdue_high": overdue_high.1,
            "critical_finding_days": t.critical_finding_days,
            "high_finding_days": t.high_finding_days,
        }),
    )
    .with_items(items, overdue_critical.1 + overdue_high.1)
}

/// `kev_findings`. Rule: no open, not suppressed finding is of a vulnerability in CISA's
/// Known Exploited Vulnerabilities catalogue (any alias). Any: gap. No active release: n/a.
pub fn kev_findings(any_release: bool, kev: (&[ComplianceFinding], i64)) -> CheckResult {
    let status = if !any_release {
        Status::NotApplicable
    } else if kev.1 > 0 {
        Status::Gap
    } else {
        Status::Met
    };
    let items = kev
        .0
        .iter()
        .map(|f| {
            finding_item(
                f,
                "known exploited (CISA KEV) and open".into(),
                "Fix first: upgrade the component, or record why the product is not affected.",
            )
        })
        .collect();
    CheckResult::new(
        CheckId::KevFindings,
        status,
        format!("{} open findings of known exploited vulnerabilities", kev.1),
        json!({ "open_kev_findings": kev.1 }),
    )
    .with_items(items, kev.1)
}

/// `triage_coverage`. Rule: the share of open findings (suppressed ones included) that carry
/// a current triage decision is at least `triage_coverage_percent` (met), at least half of it
/// (partial), else gap. No open finding: not applicable.
pub fn triage_coverage(
    counts: &FindingCounts,
    untriaged: (&[ComplianceFinding], i64),
    t: &Thresholds,
) -> CheckResult {
    let percent = if counts.open_all == 0 {
        None
    } else {
        Some((counts.decided as f64) * 100.0 / (counts.open_all as f64))
    };
    let status = match percent {
        None => Status::NotApplicable,
        Some(p) if p >= t.triage_coverage_percent => Status::Met,
        Some(p) if p >= t.triage_coverage_percent / 2.0 => Status::Partial,
        Some(_) => Status::Gap,
    };
    let items = untriaged
        .0
        .iter()
        .map(|f| {
            finding_item(
                f,
                "no triage decision".into(),
                "Record a decision (POST /api/v1/releases/{id}/dispositions).",
            )
        })
        .collect();
    let rounded = percent.map(|p| (p * 10.0).round() / 10.0);
    CheckResult::new(
        CheckId::TriageCoverage,
        status,
        match rounded {
            Some(p) => format!(
                "{p}% of {} open findings carry a decision (target {}%)",
                counts.open_all, t.triage_coverage_percent
            ),
            None => "no open finding".into(),
        },
        json!({
            "open_findings": counts.open_all,
            "decided": counts.decided,
            "coverage_percent": rounded,
            "target_percent": t.triage_coverage_percent,
        }),
    )
    .with_items(items, untriaged.1)
}

/// `vex_published`. Rule: every release with status `released` is covered by a published VEX
/// document (one for the release, or one for every release of its product). `share` over
/// those releases; none released: not applicable.
pub fn vex_published(releases: &[ShippedReleaseVex]) -> CheckResult {
    let covered = releases.iter().filter(|r| r.published > 0).count();
    let items: Vec<GapItem> = releases
        .iter()
        .filter(|r| r.published == 0)
        .map(|r| {
            item(
                "release",
                r.release_id,
                format!("{} {}", r.product_name, r.version),
                format!("/api/v1/releases/{}/vex-documents", r.release_id),
                "shipped without a published VEX document".into(),
                "Generate a VEX document for the release, have it approved and publish it.",
            )
        })
        .collect();
    let total = items.len() as i64;
    CheckResult::new(
        CheckId::VexPublished,
        share(covered, releases.len()),
        format!(
            "{covered} of {} shipped releases have published VEX",
            releases.len()
        ),
        json!({ "shipped_releases": releases.len(), "with_published_vex": covered }),
    )
    .with_items(items.into_iter().take(LIMIT).collect(), total)
}

/// `kb_freshness`. Rule: every configured sync source completed a successful run within
/// `kb_max_age_hours`. `share` over the sources; no source configured: gap (the knowledge
/// base is not kept current).
pub fn kb_freshness(sources: &[SyncSourceFact], t: &Thresholds, now: DateTime<Utc>) -> CheckResult {
    let limit = now - Duration::hours(t.kb_max_age_hours);
    let mut items = Vec::new();
    let mut fresh = 0;
    for source in sources {
        match source.last_success_at {
            Some(at) if at >= limit => fresh += 1,
            last => items.push(item(
                "sync_source",
                &source.id,
                format!("{} ({})", source.id, source.source_type),
                format!("/api/v1/security/cve/sync-sources/{}", source.id),
                match (last, &source.last_error) {
                    (None, Some(error)) => format!("never synced successfully; last error: {error}"),
                    (None, None) => "never synced successfully".into(),
                    (Some(at), _) => format!(
                        "last successful sync {} hours ago (limit {})",
                        (now - at).num_hours(),
                        t.kb_max_age_hours
                    ),
                },
                "Check the source's last runs and error; run it (POST …/run) or fix its URL or API key.",
            )),
        }
    }
    let status = if sources.is_empty() {
        items.push(item(
            "sync_source",
            "-",
            "no sync source".into(),
            "/api/v1/security/cve/sync-sources".into(),
            "no vulnerability source is configured".into(),
            "Configure the OSV, NVD, KEV and EPSS sources (POST /api/v1/security/cve/sync-sources).",
        ));
        Status::Gap
    } else {
        share(fresh, sources.len())
    };
    let per_source: Vec<Value> = sources
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "type": s.source_type,
                "last_success_at": s.last_success_at,
                "last_failure_at": s.last_failure_at,
            })
        })
        .collect();
    let total = items.len() as i64;
    CheckResult::new(
        CheckId::KbFreshness,
        status,
        format!(
            "{fresh} of {} sync sources succeeded within {} hours",
            sources.len(),
            t.kb_max_age_hours
        ),
        json!({ "sources": per_source, "max_age_hours": t.kb_max_age_hours }),
    )
    .with_items(items, total)
}

/// `api_key_hygiene`. Rule: every active key (not revoked, not expired) has an expiry, was
/// used within `key_unused_days` (a key never used counts from its creation) and is younger
/// than `key_rotation_days`. `share` over the keys; no key: not applicable.
pub fn api_key_hygiene(keys: &[KeyFact], t: &Thresholds, now: DateTime<Utc>) -> CheckResult {
    let unused_limit = now - Duration::days(t.key_unused_days);
    let rotation_limit = now - Duration::days(t.key_rotation_days);
    let (mut no_expiry, mut unused, mut old) = (0, 0, 0);
    let mut items = Vec::new();
    for key in keys {
        let mut problems = Vec::new();
        if key.expires_at.is_none() {
            no_expiry += 1;
            problems.push("no expiry".to_string());
        }
        if key.last_used_at.unwrap_or(key.created_at) < unused_limit {
            unused += 1;
            problems.push(match key.last_used_at {
                Some(at) => format!("unused for {} days", days_between(at, now)),
                None => format!("never used in {} days", days_between(key.created_at, now)),
            });
        }
        if key.created_at < rotation_limit {
            old += 1;
            problems.push(format!(
                "created {} days ago (rotation every {})",
                days_between(key.created_at, now),
                t.key_rotation_days
            ));
        }
        if !problems.is_empty() {
            items.push(item(
                "api_key",
                key.id,
                format!("{} (rk_…{}, {})", key.name, key.last_six, key.owner),
                "/api/v1/api-keys".into(),
                problems.join("; "),
                "Rotate the key with an expiry (POST /api/v1/api-keys/{id}/rotate) or revoke it if unused.",
            ));
        }
    }
    let good = keys.len() - items.len();
    let total = items.len() as i64;
    items.truncate(LIMIT);
    CheckResult::new(
        CheckId::ApiKeyHygiene,
        share(good, keys.len()),
        format!(
            "{good} of {} active keys are in order ({no_expiry} without expiry, {unused} unused, {old} due for rotation)",
            keys.len()
        ),
        json!({
            "active_keys": keys.len(),
            "without_expiry": no_expiry,
            "unused": unused,
            "due_for_rotation": old,
            "unused_days": t.key_unused_days,
            "rotation_days": t.key_rotation_days,
        }),
    )
    .with_items(items, total)
}

/// `audit_log`. Rule: the audit log refuses updates and deletes (its triggers are installed)
/// and recorded the team's activity in the last 30 days — else gap; and it was exported
/// (`GET /api/v1/audit-log/export`, itself audited as `audit.export`) within
/// `audit_export_max_age_days` — else partial.
pub fn audit_log(fact: &AuditFact, t: &Thresholds, now: DateTime<Utc>) -> CheckResult {
    let exported = fact
        .last_export_at
        .is_some_and(|at| at >= now - Duration::days(t.audit_export_max_age_days));
    let enabled = fact.append_only && fact.entries_in_window > 0;
    let status = if !enabled {
        Status::Gap
    } else if !exported {
        Status::Partial
    } else {
        Status::Met
    };
    let mut items = Vec::new();
    if !fact.append_only {
        items.push(item(
            "audit_log",
            "triggers",
            "audit log protection".into(),
            "/api/v1/audit-log".into(),
            "the triggers refusing changes to the audit log are missing".into(),
            "Run `rampart migrate` to restore the audit log's triggers.",
        ));
    }
    if fact.entries_in_window == 0 {
        items.push(item(
            "audit_log",
            "activity",
            "audit log activity".into(),
            "/api/v1/audit-log".into(),
            "no entry in the last 30 days".into(),
            "Check that the server records audit entries for the team.",
        ));
    }
    if !exported {
        items.push(item(
            "audit_log",
            "export",
            "audit log export".into(),
            "/api/v1/audit-log/export".into(),
            match fact.last_export_at {
                Some(at) => format!("last exported {} days ago", days_between(at, now)),
                None => "never exported".into(),
            },
            "Export the audit log (GET /api/v1/audit-log/export?format=csv) to your archive.",
        ));
    }
    let total = items.len() as i64;
    CheckResult::new(
        CheckId::AuditLog,
        status,
        format!(
            "append-only: {}; {} entries in 30 days; last export: {}",
            fact.append_only,
            fact.entries_in_window,
            fact.last_export_at
                .map(|at| at.to_rfc3339())
                .unwrap_or_else(|| "never".into())
        ),
        json!({
            "append_only": fact.append_only,
            "entries_last_30_days": fact.entries_in_window,
            "last_entry_at": fact.last_entry_at,
            "last_export_at": fact.last_export_at,
            "export_max_age_days": t.audit_export_max_age_days,
        }),
    )
    .with_items(items, total)
}

/// A webhook endpoint as the check sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookView {
    pub id: i64,
    pub url: String,
    pub enabled: bool,
    /// The stored signing secret opens with the server key (deliveries are signed with it).
    pub secret_usable: bool,
}

/// `webhooks_signed`. Rule: every enabled webhook endpoint has a signing secret the server can
/// use (every delivery carries an HMAC-SHA256 signature) and an `https://` URL. `share` over
/// enabled endpoints; none: not applicable.
pub fn webhooks_signed(endpoints: &[WebhookView]) -> CheckResult {
    let enabled: Vec<&WebhookView> = endpoints.iter().filter(|e| e.enabled).collect();
    let mut items = Vec::new();
    for endpoint in &enabled {
        let mut problems = Vec::new();
        if !endpoint.secret_usable {
            problems.push("signing secret unusable");
        }
        if !endpoint.url.to_ascii_lowercase().starts_with("https://") {
            problems.push("not HTTPS");
        }
        if !problems.is_empty() {
            items.push(item(
                "webhook",
                endpoint.id,
                endpoint.url.clone(),
                format!("/api/v1/webhooks/{}", endpoint.id),
                problems.join("; "),
                "Point the endpoint at an https:// URL and rotate its secret (POST /api/v1/webhooks/{id}/rotate-secret).",
            ));
        }
    }
    let good = enabled.len() - items.len();
    let total = items.len() as i64;
    CheckResult::new(
        CheckId::WebhooksSigned,
        share(good, enabled.len()),
        format!(
            "{good} of {} enabled endpoints are signed and HTTPS",
            enabled.len()
        ),
        json!({ "enabled_endpoints": enabled.len(), "signed_https": good }),
    )
    .with_items(items, total)
}

/// `incident_response`. Rule: incidents created in the last `incident_window_days` were
/// acknowledged and resolved by their SLA due dates (the team's incident SLA; an open one past
/// its due date counts as late). `share` over the incidents; none: not applicable. MTTA and
/// MTTR are reported.
pub fn incident_response(
    incidents: &[IncidentFact],
    t: &Thresholds,
    now: DateTime<Utc>,
) -> CheckResult {
    let mut items = Vec::new();
    let (mut ack_late, mut resolve_late) = (0, 0);
    let mut tta = Vec::new();
    let mut ttr = Vec::new();
    for incident in incidents {
        if let Some(at) = incident.acknowledged_at {
            tta.push((at - incident.created_at).num_seconds());
        }
        if let Some(at) = incident.resolved_at {
            ttr.push((at - incident.created_at).num_seconds());
        }
        let mut problems = Vec::new();
        if incident
            .acknowledge_due_at
            .is_some_and(|due| incident.acknowledged_at.unwrap_or(now) > due)
        {
            ack_late += 1;
            problems.push(if incident.acknowledged_at.is_some() {
                "acknowledged after its due date"
            } else {
                "not acknowledged and past its due date"
            });
        }
        if incident
            .resolve_due_at
            .is_some_and(|due| incident.resolved_at.unwrap_or(now) > due)
        {
            resolve_late += 1;
            problems.push(if incident.resolved_at.is_some() {
                "resolved after its due date"
            } else {
                "not resolved and past its due date"
            });
        }
        if !problems.is_empty() {
            items.push(item(
                "incident",
                incident.id,
                format!("{} ({}, {})", incident.title, incident.priority, incident.status),
                format!("/api/v1/incidents/{}", incident.id),
                problems.join("; "),
                "Acknowledge and work the incident; review the SLA and assignment rules if deadlines are routinely missed.",
            ));
        }
    }
    let mean = |values: &[i64]| {
        (!values.is_empty()).then(|| values.iter().sum::<i64>() as f64 / values.len() as f64)
    };
    let good = incidents.len() - items.len();
    let total = items.len() as i64;
    items.truncate(LIMIT);
    CheckResult::new(
        CheckId::IncidentResponse,
        share(good, incidents.len()),
        format!(
            "{good} of {} incidents in {} days within SLA ({ack_late} acknowledged late, {resolve_late} resolved late)",
            incidents.len(),
            t.incident_window_days
        ),
        json!({
            "incidents": incidents.len(),
            "within_sla": good,
            "acknowledged_late": ack_late,
            "resolved_late": resolve_late,
            "mtta_seconds": mean(&tta),
            "mttr_seconds": mean(&ttr),
            "window_days": t.incident_window_days,
        }),
    )
    .with_items(items, total)
}

/// `access_review`. Rule: the team's members were reviewed (`POST
/// /api/v1/compliance/access-reviews`) within `access_review_max_age_days` — else gap; and
/// every current member was part of that review — else partial (members who joined or changed
/// role since are listed).
pub fn access_review(
    members: &[MemberFact],
    last: Option<&AccessReviewRecord>,
    t: &Thresholds,
    now: DateTime<Utc>,
) -> CheckResult {
    let reviewed: Vec<MemberFact> = last
        .and_then(|r| serde_json::from_str(&r.members).ok())
        .unwrap_or_default();
    let current =
        last.is_some_and(|r| r.reviewed_at >= now - Duration::days(t.access_review_max_age_days));
    let mut items = Vec::new();
    if !current {
        items.push(item(
            "access_review",
            last.map(|r| r.id.to_string()).unwrap_or_else(|| "-".into()),
            "team access review".into(),
            "/api/v1/compliance/access-reviews".into(),
            match last {
                Some(r) => format!(
                    "last review {} days ago (limit {})",
                    days_between(r.reviewed_at, now),
                    t.access_review_max_age_days
                ),
                None => "members never reviewed".into(),
            },
            "Review the member list and roles, then record it (POST /api/v1/compliance/access-reviews).",
        ));
    }
    let unreviewed: Vec<&MemberFact> = members
        .iter()
        .filter(|m| {
            !reviewed
                .iter()
                .any(|r| r.user_id == m.user_id && r.role == m.role)
        })
        .collect();
    if current {
        for member in &unreviewed {
            items.push(item(
                "member",
                member.user_id,
                format!("{} ({})", member.email, member.role),
                format!("/api/v1/teams/{{team_id}}/members/{}", member.user_id),
                "joined or changed role after the last review".into(),
                "Include this member in the next access review.",
            ));
        }
    }
    let status = if !current {
        Status::Gap
    } else if unreviewed.is_empty() {
        Status::Met
    } else {
        Status::Partial
    };
    let total = items.len() as i64;
    items.truncate(LIMIT);
    CheckResult::new(
        CheckId::AccessReview,
        status,
        match last {
            Some(r) => format!(
                "last review {} by {}; {} of {} members covered",
                r.reviewed_at.format("%Y-%m-%d"),
                r.reviewer,
                members.len() - unreviewed.len(),
                members.len()
            ),
            None => format!("never reviewed; {} members", members.len()),
        },
        json!({
            "members": members.len(),
            "last_review_at": last.map(|r| r.reviewed_at),
            "last_reviewer": last.map(|r| r.reviewer.clone()),
            "unreviewed_members": unreviewed.len(),
            "max_age_days": t.access_review_max_age_days,
        }),
    )
    .with_items(items, total)
}

/// A stored secret as the check sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct SecretView {
    pub kind: &'static str,
    pub id: String,
    /// The stored bytes open with the server key (AES-256-GCM): they are ciphertext.
    pub sealed: bool,
}

/// `secrets_encrypted`. Rule: every secret Rampart stores for the team (webhook signing
/// secrets, integration credentials) and the server's sync-source API keys is AES-256-GCM
/// ciphertext under the server key (checked by opening each one); API keys, session tokens
/// and OTP codes are stored only as SHA-256 hashes by design. A secret that does not open is a
/// gap item. What this does not cover is stated in the evidence: the database file itself
/// (SBOMs, findings, the audit log) is not encrypted by Rampart — use volume or disk
/// encryption, and attest it.
pub fn secrets_encrypted(secrets: &[SecretView]) -> CheckResult {
    let sealed = secrets.iter().filter(|s| s.sealed).count();
    let items: Vec<GapItem> = secrets
        .iter()
        .filter(|s| !s.sealed)
        .map(|s| {
            item(
                "secret",
                format!("{}:{}", s.kind, s.id),
                format!("{} {}", s.kind, s.id),
                match s.kind {
                    "webhook" => format!("/api/v1/webhooks/{}", s.id),
                    "integration" => format!("/api/v1/integrations/{}", s.id),
                    _ => format!("/api/v1/security/cve/sync-sources/{}", s.id),
                },
                "stored value does not open with the server key (plain text, or another key)"
                    .into(),
                "Set the secret again so it is stored sealed with the current server key.",
            )
        })
        .collect();
    let mut by_kind: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for secret in secrets {
        let entry = by_kind.entry(secret.kind).or_default();
        entry.0 += 1;
        if secret.sealed {
            entry.1 += 1;
        }
    }
    let status = if secrets.is_empty() {
        Status::Met
    } else {
        share(sealed, secrets.len())
    };
    let total = items.len() as i64;
    CheckResult::new(
        CheckId::SecretsEncrypted,
        status,
        format!(
            "{sealed} of {} stored secrets are encrypted with the server key; API keys are stored as SHA-256 hashes; the database file is not encrypted by Rampart",
            secrets.len()
        ),
        json!({
            "secrets": secrets.len(),
            "encrypted": sealed,
            "by_kind": by_kind.iter().map(|(k, (n, s))| (k.to_string(), json!({"stored": n, "encrypted": s}))).collect::<serde_json::Map<_, _>>(),
            "hashed_not_stored": ["api_keys", "session_tokens", "otp_codes"],
            "not_covered": [
                "the database file itself (SBOMs, findings, audit log): use volume or disk encryption and attest it",
                "backups of the database and the server secret key",
            ],
        }),
    )
    .with_items(items.into_iter().take(LIMIT).collect(), total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(days_ago: i64) -> DateTime<Utc> {
        now() - Duration::days(days_ago)
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn release(id: i64, sbom_days: Option<i64>) -> ReleaseSbomFact {
        ReleaseSbomFact {
            release_id: id,
            product_id: 1,
            product_name: "app".into(),
            version: format!("1.{id}"),
            status: "released".into(),
            sbom_id: sbom_days.map(|_| id * 10),
            sbom_uploaded_at: sbom_days.map(at),
        }
    }

    #[test]
    fn share_is_all_some_or_none() {
        assert_eq!(share(0, 0), Status::NotApplicable);
        assert_eq!(share(3, 3), Status::Met);
        assert_eq!(share(1, 3), Status::Partial);
        assert_eq!(share(0, 3), Status::Gap);
    }

    #[test]
    fn sbom_freshness_lists_releases_without_or_with_old_sboms() {
        let t = Thresholds::default();
        let met = sbom_freshness(&[release(1, Some(3))], &t, now());
        assert_eq!(met.status, Status::Met);
        let partial = sbom_freshness(&[release(1, Some(3)), release(2, None)], &t, now());
        assert_eq!(partial.status, Status::Partial);
        assert_eq!(partial.items[0].link, "/api/v1/releases/2");
        let gap = sbom_freshness(&[release(1, Some(200))], &t, now());
        assert_eq!(gap.status, Status::Gap);
        assert!(gap.items[0].reason.contains("200 days"), "{:?}", gap.items);
        assert_eq!(sbom_freshness(&[], &t, now()).status, Status::NotApplicable);
    }

    #[test]
    fn key_hygiene_names_each_problem() {
        let key = |id, expires: Option<i64>, used: Option<i64>, created: i64| KeyFact {
            id,
            name: format!("k{id}"),
            owner: "a@example.com".into(),
            last_six: "abcdef".into(),
            is_test: false,
            created_at: at(created),
            expires_at: expires.map(|d| now() + Duration::days(d)),
            last_used_at: used.map(at),
        };
        let t = Thresholds::default();
        let good = key(1, Some(30), Some(1), 10);
        assert_eq!(
            api_key_hygiene(std::slice::from_ref(&good), &t, now()).status,
            Status::Met
        );
        let bad = key(2, None, None, 400);
        let result = api_key_hygiene(&[good, bad], &t, now());
        assert_eq!(result.status, Status::Partial);
        let reason = &result.items[0].reason;
        assert!(
            reason.contains("no expiry")
                && reason.contains("never used")
                && reason.contains("rotation"),
            "{reason}"
        );
    }

    #[test]
    fn thresholds_name_the_bad_field() {
        let mut t = Thresholds::default();
        assert!(t.validate().is_ok());
        t.high_finding_days = 0;
        assert!(t.validate().unwrap_err().contains("`high_finding_days`"));
    }

    #[test]
    fn kb_freshness_is_met_partial_or_gap_naming_the_stale_source() {
        let t = Thresholds::default();
        let source = |id: &str, hours_ago: Option<i64>, error: Option<&str>| SyncSourceFact {
            id: id.into(),
            source_type: "osv".into(),
            last_success_at: hours_ago.map(|h| now() - Duration::hours(h)),
            last_failure_at: error.map(|_| now()),
            last_error: error.map(str::to_string),
        };
        let fresh = source("osv", Some(2), None);
        let met = kb_freshness(std::slice::from_ref(&fresh), &t, now());
        assert_eq!((met.status, met.items_total), (Status::Met, 0));
        let stale = source("nvd", Some(72), None);
        let partial = kb_freshness(&[fresh.clone(), stale.clone()], &t, now());
        assert_eq!(partial.status, Status::Partial);
        assert_eq!(partial.items.len(), 1);
        assert_eq!(partial.items[0].id, "nvd");
        assert_eq!(
            partial.items[0].link,
            "/api/v1/security/cve/sync-sources/nvd"
        );
        assert!(
            partial.items[0].reason.contains("72 hours ago"),
            "{}",
            partial.items[0].reason
        );
        let broken = source("kev", None, Some("HTTP 503"));
        let gap = kb_freshness(&[stale, broken], &t, now());
        assert_eq!(gap.status, Status::Gap);
        assert!(
            gap.items[1].reason.contains("HTTP 503"),
            "{}",
            gap.items[1].reason
        );
        assert_eq!(kb_freshness(&[], &t, now()).status, Status::Gap);
    }

    #[test]
    fn vex_published_is_met_partial_or_gap_naming_the_release() {
        let release = |id: i64, published: i64| ShippedReleaseVex {
            release_id: id,
            product_id: 1,
            product_name: "payments".into(),
            version: format!("1.{id}"),
            published,
            last_published_at: (published > 0).then(now),
        };
        assert_eq!(vex_published(&[]).status, Status::NotApplicable);
        assert_eq!(vex_published(&[release(1, 2)]).status, Status::Met);
        let partial = vex_published(&[release(1, 1), release(2, 0)]);
        assert_eq!(partial.status, Status::Partial);
        assert_eq!(partial.items.len(), 1);
        assert_eq!(partial.items[0].link, "/api/v1/releases/2/vex-documents");
        assert_eq!(vex_published(&[release(2, 0)]).status, Status::Gap);
    }
}
