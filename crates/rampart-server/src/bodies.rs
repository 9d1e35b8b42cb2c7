//! Response bodies and query strings that several route modules answer with (a canonical
//! `/api/v1` route and its seed adapter), so that no route module imports another.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rampart_engine::services::dispositions::CurrentDecision;
use rampart_engine::services::findings::FindingItem;
use rampart_store::{Analysis, Product, Release, StoredDisposition};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProductBody {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub tags: Vec<String>,
    /// Match components by CPE as well as by purl (off by default: CPE matching breeds false
    /// positives).
    pub cpe_matching: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `true` when this is test data (created with an `rk_test_` key); absent for live data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_mode: Option<bool>,
}

impl From<Product> for ProductBody {
    fn from(product: Product) -> Self {
        ProductBody {
            id: product.id,
            name: product.name,
            description: product.description,
            tags: product.tags,
            cpe_matching: product.cpe_matching,
            created_at: product.created_at,
            updated_at: product.updated_at,
            test_mode: product.is_test.then_some(true),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReleaseBody {
    pub id: i64,
    pub product_id: i64,
    pub version: String,
    /// `development`, `released` or `end_of_life`.
    pub status: String,
    pub release_date: Option<NaiveDate>,
    pub eol_date: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `true` when this is test data (created with an `rk_test_` key); absent for live data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_mode: Option<bool>,
}

impl From<Release> for ReleaseBody {
    fn from(release: Release) -> Self {
        ReleaseBody {
            id: release.id,
            product_id: release.product_id,
            version: release.version,
            status: release.status,
            release_date: release.release_date,
            eol_date: release.eol_date,
            created_at: release.created_at,
            updated_at: release.updated_at,
            test_mode: release.is_test.then_some(true),
        }
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductListQuery {
    /// Only products whose name, description or tags contain this text (case-insensitive).
    pub q: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AnalysisBody {
    pub id: i64,
    pub sbom_id: i64,
    pub release_id: i64,
    /// `queued`, `running`, `completed` or `failed`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Times a worker took this job (more than 1 after a worker died mid-run).
    pub attempts: i64,
    pub component_count: i64,
    /// Components whose purl names a package of a known ecosystem (set when completed).
    pub resolved_count: Option<i64>,
    /// Resolved components per OSV ecosystem (set when completed).
    pub ecosystems: Option<BTreeMap<String, i64>>,
    /// Why the analysis failed.
    pub error: Option<String>,
    /// `upload`, `knowledge_base` when a knowledge-base change queued it, or `manual` when
    /// re-analysis was asked for (`cve:trigger`).
    pub reason: String,
    /// Open findings of the SBOM after the analysis (set when completed).
    pub findings_count: Option<i64>,
    /// Findings this analysis found first (set when completed).
    pub new_findings_count: Option<i64>,
}

impl From<Analysis> for AnalysisBody {
    fn from(analysis: Analysis) -> Self {
        let ecosystems = analysis
            .summary
            .as_deref()
            .and_then(|summary| serde_json::from_str::<serde_json::Value>(summary).ok())
            .and_then(|summary| serde_json::from_value(summary.get("ecosystems")?.clone()).ok());
        AnalysisBody {
            id: analysis.id,
            sbom_id: analysis.sbom_id,
            release_id: analysis.release_id,
            status: analysis.status.as_str().to_string(),
            created_at: analysis.created_at,
            started_at: analysis.started_at,
            finished_at: analysis.finished_at,
            attempts: analysis.attempts,
            component_count: analysis.component_count,
            resolved_count: analysis.resolved_count,
            ecosystems,
            error: analysis.error,
            reason: analysis.reason,
            findings_count: analysis.findings_count,
            new_findings_count: analysis.new_findings_count,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FindingVulnerability {
    /// The record that matched.
    pub id: String,
    /// Every identifier of its alias group (CVE, GHSA, PYSEC, …), sorted.
    pub aliases: Vec<String>,
    pub summary: Option<String>,
    /// The feed the matched record came from (`osv`, `ghsa`, `nvd`, …).
    pub source: String,
    pub published: Option<DateTime<Utc>>,
}

/// What a finding reports: a vulnerability, or an informational advisory (RustSec's
/// unmaintained, unsound and notice advisories), which warns without reporting a
/// vulnerability, as cargo-audit's warnings do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FindingKind {
    Vulnerability,
    Informational,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FindingComponent {
    pub id: i64,
    pub name: String,
    pub version: Option<String>,
    pub purl: Option<String>,
    pub cpe: Option<String>,
}

/// How the component matched the record.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FindingEvidence {
    /// `purl` or `cpe`.
    pub matched_by: String,
    /// The purl or CPE criteria the match was made on.
    pub identifier: String,
    /// What decided: the range (`introduced 1.0, fixed 1.4`), a listed version, or the CPE
    /// version bounds.
    pub detail: String,
    /// Index of the deciding range in the record's `affected[].ranges`.
    pub range_index: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FindingBody {
    pub id: i64,
    pub release_id: i64,
    pub sbom_id: i64,
    pub vulnerability: FindingVulnerability,
    pub component: FindingComponent,
    pub evidence: FindingEvidence,
    /// `vulnerability`, or `informational` for an advisory that warns (see `informational`).
    pub kind: FindingKind,
    /// For an informational finding, what it warns of: `unmaintained`, `unsound` or
    /// `notice` (RustSec's kinds); null for a vulnerability.
    pub informational: Option<String>,
    /// `critical`, `high`, `medium`, `low`, `none`, or null when nothing rates it. An
    /// informational finding keeps the CVSS its alias group carries; `kind` tells it apart.
    pub severity: Option<String>,
    /// Highest CVSS base score in the alias group.
    pub cvss_score: Option<f64>,
    pub epss: Option<f64>,
    pub epss_percentile: Option<f64>,
    /// In CISA's Known Exploited Vulnerabilities catalogue.
    pub kev: bool,
    /// Versions that fix it (empty: no fix known).
    pub fixed_versions: Vec<String>,
    /// First found by the latest analysis of its SBOM.
    pub new: bool,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// The current triage decision, or null when the finding is untriaged.
    pub disposition: Option<CurrentDispositionBody>,
}

/// A recorded triage decision (append-only: a change is a new decision).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DispositionBody {
    pub id: i64,
    /// CycloneDX analysis state: `resolved`, `resolved_with_pedigree`, `exploitable`,
    /// `in_triage`, `false_positive`, `not_affected`.
    pub state: String,
    pub justification: Option<String>,
    pub responses: Vec<String>,
    pub detail: Option<String>,
    pub action_statement: Option<String>,
    /// `release`, `product` or `range`.
    pub scope: String,
    /// For `range`: the canonical `vers:` range.
    pub version_range: Option<String>,
    /// The release it was made on (null once that release is deleted).
    pub release_id: Option<i64>,
    /// The vulnerability as named when it was made (matched through its aliases).
    pub vulnerability_id: String,
    pub component: DispositionComponent,
    /// `manual`, `vex` (an imported VEX document) or `sbom` (an SBOM's own analysis).
    pub source: String,
    /// What the source names (the imported document's id).
    pub source_ref: Option<String>,
    /// Who decided: an e-mail, or `api_<key name>` for a service account.
    pub author: String,
    /// `user` or `service_account`.
    pub author_kind: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DispositionComponent {
    pub name: String,
    pub version: Option<String>,
    pub purl: Option<String>,
}

impl From<StoredDisposition> for DispositionBody {
    fn from(decision: StoredDisposition) -> Self {
        let d = decision.disposition;
        DispositionBody {
            id: decision.id,
            state: d.state.as_str().to_string(),
            justification: d.justification.map(|j| j.as_str().to_string()),
            responses: d.responses.iter().map(|r| r.as_str().to_string()).collect(),
            detail: d.detail,
            action_statement: d.action_statement,
            scope: decision.scope.as_str().to_string(),
            version_range: decision.version_range,
            release_id: decision.release_id,
            vulnerability_id: decision.vuln_id,
            component: DispositionComponent {
                name: decision.component_name,
                version: decision.component_version,
                purl: decision.component_purl,
            },
            source: decision.source.as_str().to_string(),
            source_ref: decision.source_ref,
            author: decision.author,
            author_kind: decision.author_kind,
            created_at: decision.created_at,
        }
    }
}

/// A finding's current decision.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CurrentDispositionBody {
    #[serde(flatten)]
    pub decision: DispositionBody,
    /// Made on another release, or reached this finding after it was made (carry-over).
    pub inherited: bool,
    /// The knowledge base changed what the decision was based on: each reason says what
    /// (severity, KEV, affected ranges). Empty: no re-review needed.
    pub review_reasons: Vec<String>,
}

impl From<CurrentDecision> for CurrentDispositionBody {
    fn from(current: CurrentDecision) -> Self {
        CurrentDispositionBody {
            decision: current.decision.into(),
            inherited: current.inherited,
            review_reasons: current.review_reasons,
        }
    }
}

/// A finding with the identifiers of its alias group and its decision.
impl From<FindingItem> for FindingBody {
    fn from(
        FindingItem {
            view,
            aliases,
            decision,
        }: FindingItem,
    ) -> Self {
        FindingBody {
            id: view.id,
            release_id: view.release_id,
            sbom_id: view.sbom_id,
            vulnerability: FindingVulnerability {
                id: view.vuln_id,
                aliases,
                summary: view.summary,
                source: view.source,
                published: view.published,
            },
            component: FindingComponent {
                id: view.component_id,
                name: view.component_name,
                version: view.component_version,
                purl: view.component_purl,
                cpe: view.component_cpe,
            },
            evidence: FindingEvidence {
                matched_by: view.matched_by,
                identifier: view.identifier,
                detail: view.detail,
                range_index: view.range_index,
            },
            kind: if view.informational.is_some() {
                FindingKind::Informational
            } else {
                FindingKind::Vulnerability
            },
            informational: view.informational,
            severity: view.severity,
            cvss_score: view.cvss,
            epss: view.epss,
            epss_percentile: view.epss_percentile,
            kev: view.in_kev,
            fixed_versions: serde_json::from_str(&view.fixed_versions).unwrap_or_default(),
            new: view.is_new,
            first_seen_at: view.first_seen_at,
            last_seen_at: view.last_seen_at,
            disposition: decision.map(Into::into),
        }
    }
}
