//! Compliance: the facts the evidence checks measure (read in a few aggregate queries per
//! check, each bounded: counts over everything, the causing objects listed up to a limit),
//! the team's thresholds, manual attestations, access reviews, posture snapshots and the
//! per-SBOM document facts (author, timestamp) read once from a stored document.

use chrono::{DateTime, Utc};
use rampart_core::EventType;

use crate::audit::insert_audit;
use crate::events::{record_event, NewEvent};
use crate::severity::band_of_cvss;
use crate::{with_pool, AuditEvent, BeginWrite, Store, StoreError, Tenant};

/// Causing objects listed per check at most (the counts cover all of them).
pub const COMPLIANCE_ITEM_LIMIT: i64 = 50;

/// An active release (not end of life) and its newest SBOM.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ReleaseSbomFact {
    pub release_id: i64,
    pub product_id: i64,
    pub product_name: String,
    pub version: String,
    pub status: String,
    pub sbom_id: Option<i64>,
    pub sbom_uploaded_at: Option<DateTime<Utc>>,
}

/// Per SBOM, how many components carry each NTIA element.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SbomElementCounts {
    pub sbom_id: i64,
    pub release_id: i64,
    pub components: i64,
    pub with_name: i64,
    pub with_version: i64,
    pub with_supplier: i64,
    pub with_identifier: i64,
    pub with_dependency: i64,
    /// Relationships the document states.
    pub dependency_count: i64,
    pub document_format: String,
}

impl SbomElementCounts {
    /// Every component carries every element: the SBOM has no failing component.
    pub fn all_components_complete(&self) -> bool {
        [
            self.with_name,
            self.with_version,
            self.with_supplier,
            self.with_identifier,
            self.with_dependency,
        ]
        .iter()
        .all(|n| *n == self.components)
    }
}

/// A component lacking at least one NTIA element.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct FailingComponent {
    pub sbom_id: i64,
    pub component_id: i64,
    pub name: String,
    pub version: Option<String>,
    pub has_name: bool,
    pub has_version: bool,
    pub has_supplier: bool,
    pub has_identifier: bool,
    pub has_dependency: bool,
}

/// The document-level NTIA facts of an SBOM, once read.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SbomDocumentFacts {
    pub sbom_id: i64,
    pub author: Option<String>,
    pub author_source: Option<String>,
    pub document_timestamp: Option<String>,
}

/// An open, not suppressed finding.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ComplianceFinding {
    pub finding_id: i64,
    pub release_id: i64,
    pub product_id: i64,
    pub product_name: String,
    pub version: String,
    pub vuln_id: String,
    pub severity: Option<String>,
    pub first_seen_at: DateTime<Utc>,
    pub component_name: String,
    pub component_version: Option<String>,
}

/// Counts over the open findings of a scope.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FindingCounts {
    /// Open, not suppressed.
    pub open: i64,
    /// Open (suppressed included) with a current decision.
    pub decided: i64,
    /// Open (suppressed included).
    pub open_all: i64,
    pub critical_high: i64,
    pub kev: i64,
}

/// What the finding checks read (see [`Store::compliance_finding_facts`]): the counts and,
/// per list, the first findings and how many in all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FindingFacts {
    pub counts: FindingCounts,
    pub overdue_critical: (Vec<ComplianceFinding>, i64),
    pub overdue_high: (Vec<ComplianceFinding>, i64),
    pub kev: (Vec<ComplianceFinding>, i64),
    pub untriaged: (Vec<ComplianceFinding>, i64),
}

/// A row of the findings pass (see [`Store::compliance_finding_facts`]): the counts and
/// totals (on every row), and one listed finding (`list`: 0 overdue critical, 1 overdue
/// high, 2 KEV, 3 untriaged), or none when no list has any.
#[derive(sqlx::FromRow)]
struct FindingPassRow {
    open_all: i64,
    decided: i64,
    open: i64,
    critical_high: i64,
    kev: i64,
    total_critical: i64,
    total_high: i64,
    total_kev: i64,
    total_untriaged: i64,
    list: Option<i32>,
    finding_id: Option<i64>,
    severity: Option<String>,
}

/// A shipped release and how many published VEX documents cover it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ShippedReleaseVex {
    pub release_id: i64,
    pub product_id: i64,
    pub product_name: String,
    pub version: String,
    pub published: i64,
    pub last_published_at: Option<DateTime<Utc>>,
}

/// A sync source and its last runs.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SyncSourceFact {
    pub id: String,
    pub source_type: String,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_failure_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// An active API key of the team.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct KeyFact {
    pub id: i64,
    pub name: String,
    pub owner: String,
    pub last_six: String,
    pub is_test: bool,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// The audit log's protection and use.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditFact {
    /// Triggers refusing UPDATE and DELETE are installed.
    pub append_only: bool,
    pub entries_in_window: i64,
    pub last_entry_at: Option<DateTime<Utc>>,
    pub last_export_at: Option<DateTime<Utc>>,
}

/// A webhook endpoint with its sealed secret.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct WebhookFact {
    pub id: i64,
    pub url: String,
    pub enabled: bool,
    pub secret_ciphertext: Vec<u8>,
}

/// A stored secret of the team (or the server's sync sources), sealed.
#[derive(Debug, Clone, PartialEq)]
pub struct SealedSecret {
    /// `webhook`, `integration` or `sync_source`.
    pub kind: &'static str,
    pub id: String,
    pub ciphertext: Vec<u8>,
}

/// An incident of the window with its SLA facts.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct IncidentFact {
    pub id: i64,
    pub title: String,
    pub priority: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub acknowledge_due_at: Option<DateTime<Utc>>,
    pub resolve_due_at: Option<DateTime<Utc>>,
}

/// A person in the team.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, sqlx::FromRow)]
pub struct MemberFact {
    pub user_id: i64,
    pub email: String,
    pub role: String,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AccessReviewRecord {
    pub id: i64,
    pub reviewed_at: DateTime<Utc>,
    pub reviewer: String,
    pub reviewer_user_id: Option<i64>,
    /// JSON array of [`MemberFact`].
    pub members: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AttestationRecord {
    pub id: i64,
    pub framework: String,
    pub control_id: String,
    pub status: String,
    pub owner: String,
    pub statement: String,
    pub expires_at: DateTime<Utc>,
    pub evidence_name: Option<String>,
    pub evidence_content_type: Option<String>,
    pub evidence_sha256: Option<String>,
    pub evidence_size: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub withdrawn_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewAttestation {
    pub framework: String,
    pub control_id: String,
    pub status: String,
    pub owner: String,
    pub statement: String,
    pub expires_at: DateTime<Utc>,
    pub created_by: String,
    pub created_by_user_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SnapshotRecord {
    pub id: i64,
    pub product_id: Option<i64>,
    pub taken_at: DateTime<Utc>,
    pub day: String,
    pub statuses: String,
    pub summary: String,
    pub posture: String,
    pub sha256: String,
}

#[derive(Debug, Clone)]
pub struct NewSnapshot {
    pub product_id: Option<i64>,
    pub taken_at: DateTime<Utc>,
    pub statuses: String,
    pub summary: String,
    pub posture: String,
    pub sha256: String,
    /// The `compliance.changed` event's data when the statuses differ from the last snapshot.
    pub changed: Option<serde_json::Value>,
    /// The scope's newest snapshot when this one was compared with it (none: there was
    /// none). Another snapshot stored since (a concurrent request, another replica's daily
    /// pass) wins: this one is not stored, so each change is recorded and announced once.
    pub previous_id: Option<i64>,
}

/// What [`Store::record_compliance_snapshot`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum SnapshotOutcome {
    Stored(SnapshotRecord),
    /// Another snapshot of the scope was stored after `previous_id`: the newest one.
    Superseded(SnapshotRecord),
}

impl SnapshotOutcome {
    pub fn into_record(self) -> SnapshotRecord {
        match self {
            SnapshotOutcome::Stored(record) | SnapshotOutcome::Superseded(record) => record,
        }
    }
}

const ATTESTATION_COLUMNS: &str = "id, framework, control_id, status, owner, statement, expires_at,
    evidence_name, evidence_content_type, evidence_sha256, evidence_size, created_at, created_by,
    withdrawn_at";

/// `r.product_id = $n` when a product is given (bound at `$n`), else TRUE.
fn product_condition(product: Option<i64>, placeholder: &str) -> String {
    match product {
        Some(_) => format!("r.product_id = {placeholder}"),
        None => format!("({placeholder} IS NULL OR TRUE)"),
    }
}

impl Store {
    /// Active releases (development, released) of the tenant or one product, with the newest
    /// SBOM of each.
    pub async fn compliance_release_sboms(
        &self,
        tenant: Tenant,
        product: Option<i64>,
    ) -> Result<Vec<ReleaseSbomFact>, StoreError> {
        let sql = format!(
            "SELECT r.id AS release_id, r.product_id, p.name AS product_name, r.version, r.status,
                    s.id AS sbom_id, s.uploaded_at AS sbom_uploaded_at
             FROM releases r
             JOIN products p ON p.id = r.product_id
             LEFT JOIN sboms s ON s.id = (SELECT s2.id FROM sboms s2 WHERE s2.release_id = r.id
                                          ORDER BY s2.uploaded_at DESC, s2.id DESC LIMIT 1)
             WHERE r.team_id = $1 AND r.is_test = $2 AND r.status <> 'end_of_life'
               AND {}
             ORDER BY r.id",
            product_condition(product, "$3")
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(product)
                .fetch_all(pool)
                .await
        })?)
    }

    /// NTIA element counts over the components of these SBOMs (the tenant's). An SBOM's
    /// components and relationships never change after upload, so each SBOM is counted once
    /// (the first time it is asked for) and its counts kept in `compliance_sbom_elements`:
    /// a posture reads one row per SBOM, not every component.
    pub async fn compliance_sbom_elements(
        &self,
        team_id: i64,
        sbom_ids: &[i64],
    ) -> Result<Vec<SbomElementCounts>, StoreError> {
        if sbom_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = self.kept_sbom_elements(team_id, sbom_ids).await?;
        if out.len() < sbom_ids.len() {
            let kept: std::collections::HashSet<i64> = out.iter().map(|c| c.sbom_id).collect();
            let missing: Vec<i64> = sbom_ids
                .iter()
                .copied()
                .filter(|id| !kept.contains(id))
                .collect();
            self.count_sbom_elements(team_id, &missing).await?;
            out.extend(self.kept_sbom_elements(team_id, &missing).await?);
            out.sort_by_key(|c| c.sbom_id);
        }
        Ok(out)
    }

    /// The kept counts of these SBOMs (those counted), by SBOM id.
    async fn kept_sbom_elements(
        &self,
        team_id: i64,
        sbom_ids: &[i64],
    ) -> Result<Vec<SbomElementCounts>, StoreError> {
        let mut out = Vec::with_capacity(sbom_ids.len());
        for chunk in sbom_ids.chunks(500) {
            let sql = format!(
                "SELECT s.id AS sbom_id, s.release_id, s.document_format,
                        s.dependency_count AS dependency_count, e.components, e.with_name,
                        e.with_version, e.with_supplier, e.with_identifier, e.with_dependency
                 FROM sboms s JOIN compliance_sbom_elements e ON e.sbom_id = s.id
                 WHERE s.team_id = $1 AND s.id IN ({})
                 ORDER BY s.id",
                id_list(chunk)
            );
            let rows: Vec<SbomElementCounts> = with_pool!(self, pool => {
                sqlx::query_as(&sql).bind(team_id).fetch_all(pool).await
            })?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// Counts the NTIA elements of these SBOMs' components in the database and keeps the
    /// counts (an SBOM counted meanwhile by another request keeps its row). A component has
    /// a dependency relationship when its `bom-ref` is either end of one of the SBOM's
    /// relationships: one join with the set of related refs, not a lookup per component.
    async fn count_sbom_elements(&self, team_id: i64, sbom_ids: &[i64]) -> Result<(), StoreError> {
        let at = crate::now();
        for chunk in sbom_ids.chunks(500) {
            let list = id_list(chunk);
            let sql = format!(
                "INSERT INTO compliance_sbom_elements (sbom_id, team_id, components, with_name,
                     with_version, with_supplier, with_identifier, with_dependency, computed_at)
                 SELECT s.id, s.team_id, COUNT(c.id),
                        COALESCE(SUM(CASE WHEN TRIM(c.name) <> '' THEN 1 ELSE 0 END), 0),
                        COALESCE(SUM(CASE WHEN c.version IS NOT NULL AND TRIM(c.version) <> ''
                                          THEN 1 ELSE 0 END), 0),
                        COALESCE(SUM(CASE WHEN c.supplier IS NOT NULL AND TRIM(c.supplier) <> ''
                                          THEN 1 ELSE 0 END), 0),
                        COALESCE(SUM(CASE WHEN c.purl IS NOT NULL OR c.cpe IS NOT NULL
                                               OR c.hashes <> '[]' THEN 1 ELSE 0 END), 0),
                        COALESCE(SUM(CASE WHEN related.ref IS NOT NULL THEN 1 ELSE 0 END), 0),
                        $2
                 FROM sboms s
                 LEFT JOIN sbom_components c ON c.sbom_id = s.id
                 LEFT JOIN (SELECT d.sbom_id, d.from_ref AS ref FROM sbom_dependencies d
                            WHERE d.team_id = $1 AND d.sbom_id IN ({list})
                            UNION
                            SELECT d.sbom_id, d.to_ref AS ref FROM sbom_dependencies d
                            WHERE d.team_id = $1 AND d.sbom_id IN ({list})) related
                        ON related.sbom_id = c.sbom_id AND related.ref = c.bom_ref
                 WHERE s.team_id = $1 AND s.id IN ({list})
                 GROUP BY s.id, s.team_id
                 ON CONFLICT (sbom_id) DO NOTHING"
            );
            with_pool!(self, pool => {
                sqlx::query(&sql)
                    .bind(team_id)
                    .bind(at)
                    .execute(pool)
                    .await
                    .map(|_| ())
            })?;
        }
        Ok(())
    }

    /// Components of these SBOMs lacking an NTIA element, at most `limit`.
    pub async fn compliance_failing_components(
        &self,
        team_id: i64,
        sbom_ids: &[i64],
        limit: i64,
    ) -> Result<Vec<FailingComponent>, StoreError> {
        if sbom_ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = id_list(sbom_ids);
        let sql = format!(
            "SELECT * FROM (
                SELECT c.sbom_id, c.id AS component_id, c.name, c.version,
                       (TRIM(c.name) <> '') AS has_name,
                       (c.version IS NOT NULL AND TRIM(c.version) <> '') AS has_version,
                       (c.supplier IS NOT NULL AND TRIM(c.supplier) <> '') AS has_supplier,
                       (c.purl IS NOT NULL OR c.cpe IS NOT NULL OR c.hashes <> '[]') AS has_identifier,
                       (c.bom_ref IS NOT NULL AND EXISTS (
                            SELECT 1 FROM sbom_dependencies d WHERE d.sbom_id = c.sbom_id
                              AND (d.from_ref = c.bom_ref OR d.to_ref = c.bom_ref))) AS has_dependency
                FROM sbom_components c
                WHERE c.team_id = $1 AND c.sbom_id IN ({list})
             ) q
             WHERE NOT (has_name AND has_version AND has_supplier AND has_identifier AND has_dependency)
             ORDER BY sbom_id, component_id LIMIT $2"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(team_id).bind(limit).fetch_all(pool).await
        })?)
    }

    /// The document facts already read for these SBOMs.
    pub async fn compliance_sbom_document_facts(
        &self,
        team_id: i64,
        sbom_ids: &[i64],
    ) -> Result<Vec<SbomDocumentFacts>, StoreError> {
        if sbom_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for chunk in sbom_ids.chunks(500) {
            let sql = format!(
                "SELECT sbom_id, author, author_source, document_timestamp
                 FROM compliance_sbom_facts WHERE team_id = $1 AND sbom_id IN ({})",
                id_list(chunk)
            );
            let rows: Vec<SbomDocumentFacts> = with_pool!(self, pool => {
                sqlx::query_as(&sql).bind(team_id).fetch_all(pool).await
            })?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// The stored document of an SBOM of the team.
    pub async fn compliance_sbom_document(
        &self,
        team_id: i64,
        sbom_id: i64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT content FROM sbom_documents WHERE team_id = $1 AND sbom_id = $2",
            )
            .bind(team_id)
            .bind(sbom_id)
            .fetch_optional(pool)
            .await
        })?)
    }

    /// Keeps the document facts read from an SBOM (once per SBOM; a repeat is ignored).
    pub async fn save_compliance_sbom_document_facts(
        &self,
        team_id: i64,
        facts: &SbomDocumentFacts,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO compliance_sbom_facts (sbom_id, team_id, author, author_source,
                     document_timestamp, computed_at)
                 SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (
                     SELECT 1 FROM sboms WHERE id = $1 AND team_id = $2)
                 ON CONFLICT (sbom_id) DO NOTHING",
            )
            .bind(facts.sbom_id)
            .bind(team_id)
            .bind(&facts.author)
            .bind(&facts.author_source)
            .bind(&facts.document_timestamp)
            .bind(at)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    /// What the finding checks need, from one pass over the open findings of the tenant (or
    /// one product), aggregated in the database: the counts, and per list (critical first
    /// seen before `critical_before`, high before `high_before`, KEV, without a decision;
    /// suppressed findings left out of all but the last) the first `limit` by severity, first
    /// seen and id, with how many in all. A finding's severity is its alias group's highest
    /// CVSS, else the record's band (as findings listings rate them). The open findings are
    /// joined once (a materialised CTE) and only the counts and the listed findings (at most
    /// `4 × limit`) leave the database; the listed ones are then read in full.
    pub async fn compliance_finding_facts(
        &self,
        tenant: Tenant,
        product: Option<i64>,
        critical_before: DateTime<Utc>,
        high_before: DateTime<Utc>,
        limit: i64,
    ) -> Result<FindingFacts, StoreError> {
        let band = band_of_cvss("g.cvss");
        let active = crate::findings::not_suppressed_condition();
        let rank = "CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2
                    WHEN 'low' THEN 3 ELSE 4 END";
        let list = |n: u8, condition: &str| {
            format!(
                "SELECT * FROM (SELECT {n} AS list, finding_id, severity, {rank} AS severity_rank,
                                       first_seen_at
                                FROM open_findings WHERE {condition}
                                ORDER BY severity_rank, first_seen_at, finding_id LIMIT $6) l{n}"
            )
        };
        let overdue_critical = format!("{active} AND severity = 'critical' AND first_seen_at < $4");
        let overdue_high = format!("{active} AND severity = 'high' AND first_seen_at < $5");
        let kev = format!("{active} AND in_kev");
        let sql = format!(
            "WITH open_findings AS MATERIALIZED (
                 SELECT f.id AS finding_id, COALESCE({band}, v.severity_band) AS severity,
                        f.first_seen_at, COALESCE(g.in_kev, FALSE) AS in_kev,
                        d.state AS disposition_state
                 FROM findings f
                 JOIN releases r ON r.id = f.release_id
                 JOIN vulnerabilities v ON v.id = f.vulnerability_id
                 LEFT JOIN dispositions d ON d.id = f.disposition_id
                 LEFT JOIN group_ratings g ON g.group_id = f.group_id
                 WHERE f.team_id = $1 AND r.team_id = $1 AND r.is_test = $2
                   AND f.resolved_at IS NULL AND {product}
             ),
             totals AS (
                 SELECT COUNT(*) AS open_all,
                        COALESCE(SUM(CASE WHEN disposition_state IS NOT NULL THEN 1 ELSE 0 END), 0)
                            AS decided,
                        COALESCE(SUM(CASE WHEN {active} THEN 1 ELSE 0 END), 0) AS open,
                        COALESCE(SUM(CASE WHEN {active} AND severity IN ('critical', 'high')
                                          THEN 1 ELSE 0 END), 0) AS critical_high,
                        COALESCE(SUM(CASE WHEN {kev} THEN 1 ELSE 0 END), 0) AS kev,
                        COALESCE(SUM(CASE WHEN {overdue_critical} THEN 1 ELSE 0 END), 0)
                            AS total_critical,
                        COALESCE(SUM(CASE WHEN {overdue_high} THEN 1 ELSE 0 END), 0) AS total_high,
                        COALESCE(SUM(CASE WHEN {kev} THEN 1 ELSE 0 END), 0) AS total_kev,
                        COALESCE(SUM(CASE WHEN disposition_state IS NULL THEN 1 ELSE 0 END), 0)
                            AS total_untriaged
                 FROM open_findings
             )
             SELECT t.open_all, t.decided, t.open, t.critical_high, t.kev, t.total_critical,
                    t.total_high, t.total_kev, t.total_untriaged,
                    listed.list, listed.finding_id, listed.severity
             FROM totals t LEFT JOIN (
                 {} UNION ALL {} UNION ALL {} UNION ALL {}
             ) listed ON 1 = 1
             ORDER BY listed.list, listed.severity_rank, listed.first_seen_at, listed.finding_id",
            list(0, &overdue_critical),
            list(1, &overdue_high),
            list(2, &kev),
            list(3, "disposition_state IS NULL"),
            product = product_condition(product, "$3"),
        );
        let rows: Vec<FindingPassRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(product)
                .bind(critical_before)
                .bind(high_before)
                .bind(limit)
                .fetch_all(pool)
                .await
        })?;
        let Some(first) = rows.first() else {
            return Ok(FindingFacts::default());
        };
        let counts = FindingCounts {
            open: first.open,
            decided: first.decided,
            open_all: first.open_all,
            critical_high: first.critical_high,
            kev: first.kev,
        };
        let totals = [
            first.total_critical,
            first.total_high,
            first.total_kev,
            first.total_untriaged,
        ];
        // Per list, the listed findings in order and the severity the pass rated each.
        let mut lists: [Vec<i64>; 4] = Default::default();
        let mut severities = std::collections::HashMap::new();
        for row in &rows {
            if let (Some(list), Some(id)) = (row.list, row.finding_id) {
                lists[list as usize].push(id);
                severities.insert(id, row.severity.clone());
            }
        }
        let mut ids: Vec<i64> = severities.keys().copied().collect();
        ids.sort_unstable();
        let details: std::collections::HashMap<i64, ComplianceFinding> = if ids.is_empty() {
            Default::default()
        } else {
            let sql = format!(
                "SELECT f.id AS finding_id, f.release_id, r.product_id, p.name AS product_name,
                        r.version, v.vuln_id, v.severity_band AS severity, f.first_seen_at,
                        c.name AS component_name, c.version AS component_version
                 FROM findings f
                 JOIN releases r ON r.id = f.release_id
                 JOIN products p ON p.id = r.product_id
                 JOIN vulnerabilities v ON v.id = f.vulnerability_id
                 JOIN sbom_components c ON c.id = f.component_id
                 WHERE f.team_id = $1 AND f.id IN ({})",
                id_list(&ids)
            );
            let rows: Vec<ComplianceFinding> = with_pool!(self, pool => {
                sqlx::query_as(&sql).bind(tenant.team_id).fetch_all(pool).await
            })?;
            rows.into_iter()
                .map(|mut row| {
                    // The severity the pass rated it (the alias group's highest score).
                    if let Some(severity) = severities.get(&row.finding_id) {
                        row.severity = severity.clone();
                    }
                    (row.finding_id, row)
                })
                .collect()
        };
        let [critical, high, kev, untriaged] = lists.map(|list| {
            list.iter()
                .filter_map(|id| details.get(id).cloned())
                .collect::<Vec<_>>()
        });
        Ok(FindingFacts {
            counts,
            overdue_critical: (critical, totals[0]),
            overdue_high: (high, totals[1]),
            kev: (kev, totals[2]),
            untriaged: (untriaged, totals[3]),
        })
    }

    /// Released releases and the published VEX documents covering each (one for the release,
    /// or one for every release of its product).
    pub async fn compliance_shipped_release_vex(
        &self,
        tenant: Tenant,
        product: Option<i64>,
    ) -> Result<Vec<ShippedReleaseVex>, StoreError> {
        let sql = format!(
            "SELECT r.id AS release_id, r.product_id, p.name AS product_name, r.version,
                    (SELECT COUNT(*) FROM vex_documents x WHERE x.team_id = r.team_id
                       AND x.is_test = r.is_test AND x.product_id = r.product_id
                       AND (x.release_id = r.id OR x.release_id IS NULL)
                       AND x.status IN ('published', 'superseded')) AS published,
                    (SELECT MAX(x.published_at) FROM vex_documents x WHERE x.team_id = r.team_id
                       AND x.is_test = r.is_test AND x.product_id = r.product_id
                       AND (x.release_id = r.id OR x.release_id IS NULL)
                       AND x.status IN ('published', 'superseded')) AS last_published_at
             FROM releases r JOIN products p ON p.id = r.product_id
             WHERE r.team_id = $1 AND r.is_test = $2 AND r.status = 'released' AND {}
             ORDER BY r.id",
            product_condition(product, "$3")
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(product)
                .fetch_all(pool)
                .await
        })?)
    }

    /// Every sync source with its last successful and last failed run (server-wide: the
    /// knowledge base is shared by all teams).
    pub async fn compliance_sync_sources(&self) -> Result<Vec<SyncSourceFact>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT s.id, s.source_type,
                        (SELECT MAX(r.finished_at) FROM sync_runs r
                           WHERE r.source_id = s.id AND r.status = 'succeeded') AS last_success_at,
                        (SELECT MAX(r.finished_at) FROM sync_runs r
                           WHERE r.source_id = s.id AND r.status = 'failed') AS last_failure_at,
                        (SELECT r.error FROM sync_runs r WHERE r.source_id = s.id
                           AND r.status = 'failed' ORDER BY r.id DESC LIMIT 1) AS last_error
                 FROM sync_sources s ORDER BY s.id",
            )
            .fetch_all(pool)
            .await
        })?)
    }

    /// The team's keys that still work (not revoked, not expired at `now`).
    pub async fn compliance_active_keys(
        &self,
        team_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<KeyFact>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT k.id, k.name, u.email AS owner, k.last_six, k.is_test, k.created_at,
                        k.expires_at, k.last_used_at
                 FROM api_keys k JOIN users u ON u.id = k.user_id
                 WHERE k.team_id = $1 AND k.revoked_at IS NULL
                   AND (k.expires_at IS NULL OR k.expires_at > $2)
                 ORDER BY k.id",
            )
            .bind(team_id)
            .bind(now)
            .fetch_all(pool)
            .await
        })?)
    }

    /// Whether the audit log refuses changes, and the team's entries since `since`.
    pub async fn compliance_audit_fact(
        &self,
        team_id: i64,
        since: DateTime<Utc>,
    ) -> Result<AuditFact, StoreError> {
        let trigger_sql = match self.backend() {
            crate::Backend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger'
                 AND tbl_name = 'audit_log' AND name IN ('audit_log_no_update', 'audit_log_no_delete')"
            }
            crate::Backend::Postgres => {
                "SELECT COUNT(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                 WHERE c.relname = 'audit_log' AND NOT t.tgisinternal AND t.tgenabled <> 'D'"
            }
        };
        let needed = match self.backend() {
            crate::Backend::Sqlite => 2,
            crate::Backend::Postgres => 1,
        };
        let (triggers, entries, last, export): (
            i64,
            i64,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
        ) = with_pool!(self, pool => {
            let triggers: i64 = sqlx::query_scalar(trigger_sql).fetch_one(pool).await?;
            let (entries, last): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
                "SELECT COUNT(*), MAX(created_at) FROM audit_log
                 WHERE team_id = $1 AND created_at >= $2",
            )
            .bind(team_id)
            .bind(since)
            .fetch_one(pool)
            .await?;
            let export: Option<DateTime<Utc>> = sqlx::query_scalar(
                "SELECT MAX(created_at) FROM audit_log WHERE team_id = $1
                 AND action = 'audit.export'",
            )
            .bind(team_id)
            .fetch_one(pool)
            .await?;
            Ok::<_, sqlx::Error>((triggers, entries, last, export))
        })?;
        Ok(AuditFact {
            append_only: triggers >= needed,
            entries_in_window: entries,
            last_entry_at: last,
            last_export_at: export,
        })
    }

    /// The tenant's webhook endpoints with their sealed secrets.
    pub async fn compliance_webhooks(
        &self,
        tenant: Tenant,
    ) -> Result<Vec<WebhookFact>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, url, enabled, secret_ciphertext FROM webhook_endpoints
                 WHERE team_id = $1 AND is_test = $2 ORDER BY id",
            )
            .bind(tenant.team_id)
            .bind(tenant.test)
            .fetch_all(pool)
            .await
        })?)
    }

    /// Every secret stored for the team (webhook signing secrets, integration credentials) and
    /// the server's sync-source API keys, sealed as stored.
    pub async fn compliance_sealed_secrets(
        &self,
        team_id: i64,
    ) -> Result<Vec<SealedSecret>, StoreError> {
        let (webhooks, integrations, sources) = with_pool!(self, pool => {
            let webhooks: Vec<(i64, Vec<u8>)> = sqlx::query_as(
                "SELECT id, secret_ciphertext FROM webhook_endpoints WHERE team_id = $1",
            )
            .bind(team_id)
            .fetch_all(pool)
            .await?;
            let integrations: Vec<(i64, Vec<u8>)> = sqlx::query_as(
                "SELECT id, credentials FROM integrations
                 WHERE team_id = $1 AND credentials IS NOT NULL",
            )
            .bind(team_id)
            .fetch_all(pool)
            .await?;
            let sources: Vec<(String, Vec<u8>)> = sqlx::query_as(
                "SELECT id, api_key_ciphertext FROM sync_sources WHERE api_key_ciphertext IS NOT NULL",
            )
            .fetch_all(pool)
            .await?;
            Ok::<_, sqlx::Error>((webhooks, integrations, sources))
        })?;
        let mut out = Vec::new();
        out.extend(webhooks.into_iter().map(|(id, c)| SealedSecret {
            kind: "webhook",
            id: id.to_string(),
            ciphertext: c,
        }));
        out.extend(integrations.into_iter().map(|(id, c)| SealedSecret {
            kind: "integration",
            id: id.to_string(),
            ciphertext: c,
        }));
        out.extend(sources.into_iter().map(|(id, c)| SealedSecret {
            kind: "sync_source",
            id,
            ciphertext: c,
        }));
        Ok(out)
    }

    /// The tenant's incidents created since `since`.
    pub async fn compliance_incidents(
        &self,
        tenant: Tenant,
        since: DateTime<Utc>,
    ) -> Result<Vec<IncidentFact>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, title, priority, status, created_at, acknowledged_at, resolved_at,
                        acknowledge_due_at, resolve_due_at
                 FROM incidents WHERE team_id = $1 AND is_test = $2 AND created_at >= $3
                 ORDER BY id",
            )
            .bind(tenant.team_id)
            .bind(tenant.test)
            .bind(since)
            .fetch_all(pool)
            .await
        })?)
    }

    /// The people of the team (service accounts left out).
    pub async fn compliance_members(&self, team_id: i64) -> Result<Vec<MemberFact>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT m.user_id, u.email, m.role, m.created_at AS joined_at
                 FROM team_members m JOIN users u ON u.id = m.user_id
                 WHERE m.team_id = $1 AND u.kind = 'person' ORDER BY m.user_id",
            )
            .bind(team_id)
            .fetch_all(pool)
            .await
        })?)
    }

    /// Records an access review of the team's members, audited.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_access_review(
        &self,
        team_id: i64,
        reviewer: &str,
        reviewer_user_id: Option<i64>,
        members: &[MemberFact],
        note: Option<&str>,
        event: &AuditEvent,
        at: DateTime<Utc>,
    ) -> Result<AccessReviewRecord, StoreError> {
        let members = serde_json::to_string(members).expect("plain data");
        let record = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO compliance_access_reviews (team_id, reviewed_at, reviewer,
                     reviewer_user_id, members, note)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(team_id)
            .bind(at)
            .bind(reviewer)
            .bind(reviewer_user_id)
            .bind(&members)
            .bind(note)
            .fetch_one(&mut *tx)
            .await?;
            insert_audit!(&mut *tx, &event.clone().target("access_review", id), at)?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(AccessReviewRecord {
                id,
                reviewed_at: at,
                reviewer: reviewer.to_string(),
                reviewer_user_id,
                members,
                note: note.map(str::to_string),
            })
        })?;
        Ok(record)
    }

    /// The team's access reviews, newest first.
    pub async fn access_reviews(
        &self,
        team_id: i64,
        limit: i64,
    ) -> Result<Vec<AccessReviewRecord>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, reviewed_at, reviewer, reviewer_user_id, members, note
                 FROM compliance_access_reviews WHERE team_id = $1
                 ORDER BY reviewed_at DESC, id DESC LIMIT $2",
            )
            .bind(team_id)
            .bind(limit)
            .fetch_all(pool)
            .await
        })?)
    }

    /// The team's thresholds as stored (JSON), if set.
    pub async fn compliance_settings(&self, team_id: i64) -> Result<Option<String>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar("SELECT settings FROM compliance_settings WHERE team_id = $1")
                .bind(team_id)
                .fetch_optional(pool)
                .await
        })?)
    }

    pub async fn set_compliance_settings(
        &self,
        team_id: i64,
        settings: &str,
        event: &AuditEvent,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO compliance_settings (team_id, settings, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (team_id) DO UPDATE SET settings = excluded.settings,
                     updated_at = excluded.updated_at",
            )
            .bind(team_id)
            .bind(settings)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            insert_audit!(&mut *tx, &event.clone().target("team", team_id), at)?;
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn create_attestation(
        &self,
        tenant: Tenant,
        new: &NewAttestation,
        event: &AuditEvent,
        at: DateTime<Utc>,
    ) -> Result<AttestationRecord, StoreError> {
        let id = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO compliance_attestations (team_id, is_test, framework, control_id,
                     status, owner, statement, expires_at, created_at, created_by, created_by_user_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            )
            .bind(tenant.team_id)
            .bind(tenant.test)
            .bind(&new.framework)
            .bind(&new.control_id)
            .bind(&new.status)
            .bind(&new.owner)
            .bind(&new.statement)
            .bind(new.expires_at)
            .bind(at)
            .bind(&new.created_by)
            .bind(new.created_by_user_id)
            .fetch_one(&mut *tx)
            .await?;
            insert_audit!(&mut *tx, &event.clone().target("attestation", id), at)?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(id)
        })?;
        self.attestation(tenant, id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    pub async fn attestation(
        &self,
        tenant: Tenant,
        id: i64,
    ) -> Result<Option<AttestationRecord>, StoreError> {
        let sql = format!(
            "SELECT {ATTESTATION_COLUMNS} FROM compliance_attestations
             WHERE team_id = $1 AND is_test = $2 AND id = $3"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(id)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// The tenant's attestations (withdrawn ones too), newest first.
    pub async fn attestations(&self, tenant: Tenant) -> Result<Vec<AttestationRecord>, StoreError> {
        let sql = format!(
            "SELECT {ATTESTATION_COLUMNS} FROM compliance_attestations
             WHERE team_id = $1 AND is_test = $2 ORDER BY id DESC"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .fetch_all(pool)
                .await
        })?)
    }

    /// Attaches an evidence file to an attestation (replacing any earlier one); `false` when
    /// there is no such attestation in the tenant.
    #[allow(clippy::too_many_arguments)]
    pub async fn set_attestation_evidence(
        &self,
        tenant: Tenant,
        id: i64,
        name: &str,
        content_type: &str,
        sha256: &str,
        content: &[u8],
        event: &AuditEvent,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let updated = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let result = sqlx::query(
                "UPDATE compliance_attestations SET evidence_name = $4, evidence_content_type = $5,
                     evidence_sha256 = $6, evidence_size = $7, evidence = $8
                 WHERE team_id = $1 AND is_test = $2 AND id = $3 AND withdrawn_at IS NULL",
            )
            .bind(tenant.team_id)
            .bind(tenant.test)
            .bind(id)
            .bind(name)
            .bind(content_type)
            .bind(sha256)
            .bind(content.len() as i64)
            .bind(content)
            .execute(&mut *tx)
            .await?;
            if result.rows_affected() == 0 {
                return Ok(false);
            }
            insert_audit!(&mut *tx, &event.clone().target("attestation", id), at)?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(true)
        })?;
        Ok(updated)
    }

    /// The evidence file of an attestation: (name, content type, bytes).
    pub async fn attestation_evidence(
        &self,
        tenant: Tenant,
        id: i64,
    ) -> Result<Option<(String, String, Vec<u8>)>, StoreError> {
        let row: Option<EvidenceRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT evidence_name, evidence_content_type, evidence FROM compliance_attestations
                 WHERE team_id = $1 AND is_test = $2 AND id = $3",
            )
            .bind(tenant.team_id)
            .bind(tenant.test)
            .bind(id)
            .fetch_optional(pool)
            .await
        })?;
        Ok(match row {
            Some((Some(name), Some(content_type), Some(content))) => {
                Some((name, content_type, content))
            }
            _ => None,
        })
    }

    /// Withdraws an attestation; `false` when there is no such (unwithdrawn) attestation.
    pub async fn withdraw_attestation(
        &self,
        tenant: Tenant,
        id: i64,
        event: &AuditEvent,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let result = sqlx::query(
                "UPDATE compliance_attestations SET withdrawn_at = $4
                 WHERE team_id = $1 AND is_test = $2 AND id = $3 AND withdrawn_at IS NULL",
            )
            .bind(tenant.team_id)
            .bind(tenant.test)
            .bind(id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            if result.rows_affected() == 0 {
                return Ok(false);
            }
            insert_audit!(&mut *tx, &event.clone().target("attestation", id), at)?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(true)
        })?)
    }

    /// The newest snapshot of a scope.
    pub async fn latest_compliance_snapshot(
        &self,
        tenant: Tenant,
        product: Option<i64>,
    ) -> Result<Option<SnapshotRecord>, StoreError> {
        Ok(self
            .compliance_snapshots(tenant, product, None, None, 1)
            .await?
            .into_iter()
            .next())
    }

    /// Snapshots of a scope in a window, newest first.
    pub async fn compliance_snapshots(
        &self,
        tenant: Tenant,
        product: Option<i64>,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
        limit: i64,
    ) -> Result<Vec<SnapshotRecord>, StoreError> {
        let product_condition = if product.is_some() {
            "product_id = $3"
        } else {
            "product_id IS NULL AND ($3 IS NULL OR TRUE)"
        };
        let sql = format!(
            "SELECT id, product_id, taken_at, day, statuses, summary, posture, sha256
             FROM compliance_snapshots
             WHERE team_id = $1 AND is_test = $2 AND {product_condition}
               AND ($4 IS NULL OR taken_at >= $4) AND ($5 IS NULL OR taken_at <= $5)
             ORDER BY id DESC LIMIT $6"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(product)
                .bind(since)
                .bind(until)
                .bind(limit)
                .fetch_all(pool)
                .await
        })?)
    }

    pub async fn compliance_snapshot(
        &self,
        tenant: Tenant,
        id: i64,
    ) -> Result<Option<SnapshotRecord>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, product_id, taken_at, day, statuses, summary, posture, sha256
                 FROM compliance_snapshots WHERE team_id = $1 AND is_test = $2 AND id = $3",
            )
            .bind(tenant.team_id)
            .bind(tenant.test)
            .bind(id)
            .fetch_optional(pool)
            .await
        })?)
    }

    /// Stores a snapshot and, when the statuses changed, its `compliance.changed` event, in
    /// one transaction, unless another snapshot of the scope was stored since
    /// `snapshot.previous_id` (then that newest one, [`SnapshotOutcome::Superseded`]). The
    /// check and the insert are serialised per team: SQLite's `BEGIN IMMEDIATE` makes one
    /// writer, PostgreSQL locks the team's row.
    pub async fn record_compliance_snapshot(
        &self,
        tenant: Tenant,
        snapshot: &NewSnapshot,
    ) -> Result<SnapshotOutcome, StoreError> {
        let day = snapshot.taken_at.format("%Y-%m-%d").to_string();
        let lock = match self.backend() {
            crate::Backend::Postgres => "SELECT id FROM teams WHERE id = $1 FOR UPDATE",
            crate::Backend::Sqlite => "SELECT id FROM teams WHERE id = $1",
        };
        let product_condition = if snapshot.product_id.is_some() {
            "product_id = $3"
        } else {
            "product_id IS NULL AND ($3 IS NULL OR TRUE)"
        };
        let newest_sql = format!(
            "SELECT MAX(id) FROM compliance_snapshots
             WHERE team_id = $1 AND is_test = $2 AND {product_condition}"
        );
        let stored = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query(lock).bind(tenant.team_id).fetch_optional(&mut *tx).await?;
            let newest: Option<i64> = sqlx::query_scalar(&newest_sql)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(snapshot.product_id)
                .fetch_one(&mut *tx)
                .await?;
            if newest != snapshot.previous_id {
                tx.rollback().await?;
                Ok::<_, sqlx::Error>(Err(newest))
            } else {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO compliance_snapshots (team_id, is_test, product_id, taken_at, day,
                         statuses, summary, posture, sha256)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                )
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(snapshot.product_id)
                .bind(snapshot.taken_at)
                .bind(&day)
                .bind(&snapshot.statuses)
                .bind(&snapshot.summary)
                .bind(&snapshot.posture)
                .bind(&snapshot.sha256)
                .fetch_one(&mut *tx)
                .await?;
                if let Some(data) = &snapshot.changed {
                    let mut data = data.clone();
                    data["snapshot_id"] = serde_json::json!(id);
                    record_event(&mut *tx, &NewEvent::team(tenant, EventType::ComplianceChanged, data))
                        .await?;
                }
                tx.commit().await?;
                Ok(Ok(id))
            }
        })?;
        match stored {
            Ok(id) => Ok(SnapshotOutcome::Stored(SnapshotRecord {
                id,
                product_id: snapshot.product_id,
                taken_at: snapshot.taken_at,
                day,
                statuses: snapshot.statuses.clone(),
                summary: snapshot.summary.clone(),
                posture: snapshot.posture.clone(),
                sha256: snapshot.sha256.clone(),
            })),
            Err(newest) => {
                let record = match newest {
                    Some(id) => self.compliance_snapshot(tenant, id).await?,
                    None => None,
                };
                Ok(SnapshotOutcome::Superseded(
                    record.ok_or(StoreError::NotFound)?,
                ))
            }
        }
    }

    /// Teams (ids above `after`) without a team-wide live snapshot taken on `day`
    /// (`YYYY-MM-DD`, UTC), at most `limit`, lowest id first: the daily pass's work.
    pub async fn teams_without_compliance_snapshot(
        &self,
        day: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<i64>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT t.id FROM teams t WHERE t.id > $2 AND NOT EXISTS (
                     SELECT 1 FROM compliance_snapshots s WHERE s.team_id = t.id
                       AND s.is_test = FALSE AND s.product_id IS NULL AND s.day = $1)
                 ORDER BY t.id LIMIT $3",
            )
            .bind(day)
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await
        })?)
    }
}

/// An attestation's evidence columns: name, content type, bytes.
type EvidenceRow = (Option<String>, Option<String>, Option<Vec<u8>>);

/// A literal list of ids for `IN (…)` (integers only, so nothing to escape).
fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}
