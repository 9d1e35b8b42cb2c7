//! Triage decisions (dispositions): an append-only history per team and product, and each
//! finding's current decision (`findings.disposition_id`). Which decision reaches which
//! finding is decided by `rampart_core::triage::applies` in the engine; the store records a
//! batch of decisions together with the findings they reach, in one transaction.

use crate::BeginWrite;
use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use rampart_core::triage::{DecisionScope, Disposition, DispositionState, Justification, Response};

use crate::audit::insert_audit;
use crate::bulk::{placeholder_list, Bulk, Column, Placeholders, MAX_PARAMETERS};
use crate::{now, with_pool, AuditActor, AuditEvent, Store, StoreError};
use sqlx::FromRow;

/// Where a decision came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DispositionSource {
    /// Made by a person or service account through the API or the dashboard.
    Manual,
    /// Applied from an imported VEX document.
    Vex,
    /// Applied from an uploaded SBOM's own `vulnerabilities[].analysis`.
    Sbom,
}

impl DispositionSource {
    pub fn as_str(self) -> &'static str {
        match self {
            DispositionSource::Manual => "manual",
            DispositionSource::Vex => "vex",
            DispositionSource::Sbom => "sbom",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "manual" => Ok(DispositionSource::Manual),
            "vex" => Ok(DispositionSource::Vex),
            "sbom" => Ok(DispositionSource::Sbom),
            other => Err(StoreError::Corrupt(format!(
                "unknown disposition source {other:?}"
            ))),
        }
    }
}

/// What the knowledge base said about the vulnerability when a decision was made.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DecisionBasis {
    /// Severity band (`critical` … `none`), `None` when nothing rated it.
    pub severity: Option<String>,
    pub in_kev: bool,
    /// Digest of the alias group's affected ranges ([`Store::group_range_digests`]).
    pub ranges: String,
}

/// A decision to record, with the findings it reaches now.
#[derive(Debug, Clone)]
pub struct NewDisposition {
    pub product_id: i64,
    /// The release it is made on.
    pub release_id: i64,
    pub scope: DecisionScope,
    /// Canonical `vers:` range, for [`DecisionScope::Range`].
    pub version_range: Option<String>,
    pub vuln_id: String,
    pub component_key: String,
    pub component_name: String,
    pub component_version: Option<String>,
    pub component_purl: Option<String>,
    pub disposition: Disposition,
    pub source: DispositionSource,
    pub source_ref: Option<String>,
    pub author: AuditActor,
    pub basis: DecisionBasis,
    /// Findings that take it as their current decision: (finding id, inherited).
    pub reaches: Vec<(i64, bool)>,
}

/// A recorded decision.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDisposition {
    pub id: i64,
    pub product_id: i64,
    pub release_id: Option<i64>,
    pub scope: DecisionScope,
    pub version_range: Option<String>,
    pub vuln_id: String,
    /// The alias group `vuln_id` belongs to now (`None` if the knowledge base forgot it).
    pub group_id: Option<i64>,
    pub component_key: String,
    pub component_name: String,
    pub component_version: Option<String>,
    pub component_purl: Option<String>,
    pub disposition: Disposition,
    pub source: DispositionSource,
    pub source_ref: Option<String>,
    /// `user` or `service_account`.
    pub author_kind: String,
    pub author_user_id: Option<i64>,
    pub author: String,
    pub basis: DecisionBasis,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct DispositionRow {
    id: i64,
    product_id: i64,
    release_id: Option<i64>,
    scope: String,
    version_range: Option<String>,
    vuln_id: String,
    group_id: Option<i64>,
    component_key: String,
    component_name: String,
    component_version: Option<String>,
    component_purl: Option<String>,
    state: String,
    justification: Option<String>,
    responses: String,
    detail: Option<String>,
    action_statement: Option<String>,
    source: String,
    source_ref: Option<String>,
    author_kind: String,
    author_user_id: Option<i64>,
    author: String,
    basis_severity: Option<String>,
    basis_kev: bool,
    basis_ranges: String,
    created_at: DateTime<Utc>,
}

const DISPOSITION_COLUMNS: &str = "d.id, d.product_id, d.release_id, d.scope, d.version_range,
    d.vuln_id, (SELECT a.group_id FROM vuln_aliases a WHERE a.alias = d.vuln_id) AS group_id,
    d.component_key, d.component_name, d.component_version, d.component_purl, d.state,
    d.justification, d.responses, d.detail, d.action_statement, d.source, d.source_ref,
    d.author_kind, d.author_user_id, d.author, d.basis_severity, d.basis_kev, d.basis_ranges,
    d.created_at";

/// [`DISPOSITION_COLUMNS`] of a left-joined current decision (`d`), all nullable, named
/// `cd_…` beside a finding's columns.
const CURRENT_DISPOSITION_COLUMNS: &str = "d.id AS cd_id, d.product_id AS cd_product_id,
    d.release_id AS cd_release_id, d.scope AS cd_scope, d.version_range AS cd_version_range,
    d.vuln_id AS cd_vuln_id,
    (SELECT a.group_id FROM vuln_aliases a WHERE a.alias = d.vuln_id) AS cd_group_id,
    d.component_key AS cd_component_key, d.component_name AS cd_component_name,
    d.component_version AS cd_component_version, d.component_purl AS cd_component_purl,
    d.state AS cd_state, d.justification AS cd_justification, d.responses AS cd_responses,
    d.detail AS cd_detail, d.action_statement AS cd_action_statement, d.source AS cd_source,
    d.source_ref AS cd_source_ref, d.author_kind AS cd_author_kind,
    d.author_user_id AS cd_author_user_id, d.author AS cd_author,
    d.basis_severity AS cd_basis_severity, d.basis_kev AS cd_basis_kev,
    d.basis_ranges AS cd_basis_ranges, d.created_at AS cd_created_at";

/// A left-joined current decision ([`CURRENT_DISPOSITION_COLUMNS`]): every column null when
/// the finding has none.
#[derive(sqlx::FromRow)]
struct CurrentDispositionRow {
    cd_id: Option<i64>,
    cd_product_id: Option<i64>,
    cd_release_id: Option<i64>,
    cd_scope: Option<String>,
    cd_version_range: Option<String>,
    cd_vuln_id: Option<String>,
    cd_group_id: Option<i64>,
    cd_component_key: Option<String>,
    cd_component_name: Option<String>,
    cd_component_version: Option<String>,
    cd_component_purl: Option<String>,
    cd_state: Option<String>,
    cd_justification: Option<String>,
    cd_responses: Option<String>,
    cd_detail: Option<String>,
    cd_action_statement: Option<String>,
    cd_source: Option<String>,
    cd_source_ref: Option<String>,
    cd_author_kind: Option<String>,
    cd_author_user_id: Option<i64>,
    cd_author: Option<String>,
    cd_basis_severity: Option<String>,
    cd_basis_kev: Option<bool>,
    cd_basis_ranges: Option<String>,
    cd_created_at: Option<DateTime<Utc>>,
}

impl CurrentDispositionRow {
    /// The decision's row, `None` when there is no decision (its non-null columns absent).
    fn into_row(self) -> Option<DispositionRow> {
        Some(DispositionRow {
            id: self.cd_id?,
            product_id: self.cd_product_id?,
            release_id: self.cd_release_id,
            scope: self.cd_scope?,
            version_range: self.cd_version_range,
            vuln_id: self.cd_vuln_id?,
            group_id: self.cd_group_id,
            component_key: self.cd_component_key?,
            component_name: self.cd_component_name?,
            component_version: self.cd_component_version,
            component_purl: self.cd_component_purl,
            state: self.cd_state?,
            justification: self.cd_justification,
            responses: self.cd_responses?,
            detail: self.cd_detail,
            action_statement: self.cd_action_statement,
            source: self.cd_source?,
            source_ref: self.cd_source_ref,
            author_kind: self.cd_author_kind?,
            author_user_id: self.cd_author_user_id,
            author: self.cd_author?,
            basis_severity: self.cd_basis_severity,
            basis_kev: self.cd_basis_kev?,
            basis_ranges: self.cd_basis_ranges?,
            created_at: self.cd_created_at?,
        })
    }
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!(
        "stored disposition has an unknown {what} {value:?}"
    ))
}

impl TryFrom<DispositionRow> for StoredDisposition {
    type Error = StoreError;

    fn try_from(row: DispositionRow) -> Result<Self, StoreError> {
        let state: DispositionState = row
            .state
            .parse()
            .map_err(|_| corrupt("state", &row.state))?;
        let justification = row
            .justification
            .as_deref()
            .map(|j| {
                j.parse::<Justification>()
                    .map_err(|_| corrupt("justification", j))
            })
            .transpose()?;
        let responses: Vec<String> = serde_json::from_str(&row.responses)
            .map_err(|_| corrupt("response list", &row.responses))?;
        let responses = responses
            .iter()
            .map(|r| r.parse::<Response>().map_err(|_| corrupt("response", r)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StoredDisposition {
            id: row.id,
            product_id: row.product_id,
            release_id: row.release_id,
            scope: DecisionScope::parse(&row.scope).ok_or_else(|| corrupt("scope", &row.scope))?,
            version_range: row.version_range,
            vuln_id: row.vuln_id,
            group_id: row.group_id,
            component_key: row.component_key,
            component_name: row.component_name,
            component_version: row.component_version,
            component_purl: row.component_purl,
            disposition: Disposition {
                state,
                justification,
                responses,
                detail: row.detail,
                action_statement: row.action_statement,
            },
            source: DispositionSource::parse(&row.source)?,
            source_ref: row.source_ref,
            author_kind: row.author_kind,
            author_user_id: row.author_user_id,
            author: row.author,
            basis: DecisionBasis {
                severity: row.basis_severity,
                in_kev: row.basis_kev,
                ranges: row.basis_ranges,
            },
            created_at: row.created_at,
        })
    }
}

/// An open finding as triage sees it: its component's identity and its current decision.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TriageFinding {
    pub finding_id: i64,
    pub release_id: i64,
    pub sbom_id: i64,
    pub group_id: i64,
    /// The matched record (internal id) and its public id.
    pub vulnerability_id: i64,
    pub vuln_id: String,
    pub component_id: i64,
    pub component_name: String,
    pub component_version: Option<String>,
    pub component_purl: Option<String>,
    pub component_cpe: Option<String>,
    pub package_key: Option<String>,
    pub disposition_id: Option<i64>,
    pub disposition_inherited: bool,
    /// The current decision's source (`manual`, `vex`, `sbom`).
    pub disposition_source: Option<String>,
}

/// Columns of a [`TriageFinding`] (`f` findings, `c` components, `v` the matched record,
/// `d` the current decision).
const TRIAGE_FINDING_SELECT: &str = "SELECT f.id AS finding_id, f.release_id, f.sbom_id,
        f.group_id, f.vulnerability_id, v.vuln_id, f.component_id, c.name AS component_name,
        c.version AS component_version, c.purl AS component_purl, c.cpe AS component_cpe,
        c.package_key, f.disposition_id, f.disposition_inherited,
        d.source AS disposition_source
    FROM findings f
    JOIN sbom_components c ON c.id = f.component_id
    JOIN vulnerabilities v ON v.id = f.vulnerability_id
    LEFT JOIN dispositions d ON d.id = f.disposition_id";

/// Makes decisions the current decisions of findings of `team_id`: `(finding id, decision
/// id, inherited)`, one statement per batch.
async fn point_findings_at<C: Bulk>(
    conn: &mut C,
    team_id: i64,
    reaches: &[(i64, i64, bool)],
) -> Result<(), sqlx::Error> {
    conn.update_from_columns(
        "UPDATE findings SET disposition_id = v.column2, disposition_inherited = v.column3",
        &[
            Column::Int(reaches.iter().map(|r| r.0).collect()),
            Column::Int(reaches.iter().map(|r| r.1).collect()),
            Column::Bool(reaches.iter().map(|r| r.2).collect()),
        ],
        // The team id is an integer: nothing from input reaches the text.
        &format!("findings.id = v.column1 AND findings.team_id = {team_id}"),
    )
    .await
}

/// The key a batch's decisions are told apart by when ids come back from the insert.
type DecisionKey = (String, String, Option<String>, String);

fn decision_key(
    vuln_id: &str,
    component_key: &str,
    version: Option<&str>,
    scope: &str,
) -> DecisionKey {
    (
        vuln_id.to_string(),
        component_key.to_string(),
        version.map(str::to_string),
        scope.to_string(),
    )
}

/// What the insert of a batch of decisions returns per row: the id, the columns it is told
/// apart by, and the alias group its vulnerability belongs to now.
type InsertedDecision = (i64, String, String, Option<String>, String, Option<i64>);

/// Steps of [`Store::record_dispositions`] on one transaction: the decisions, then the
/// findings they reach pointed at them. Returns the decisions' ids and alias groups in input
/// order.
async fn record_steps<C: Bulk>(
    conn: &mut C,
    team_id: i64,
    decisions: &[NewDisposition],
    at: DateTime<Utc>,
) -> Result<Vec<(i64, Option<i64>)>, sqlx::Error>
where
    InsertedDecision: for<'r> FromRow<'r, C::Row>,
{
    let n = decisions.len();
    let responses: Vec<String> = decisions
        .iter()
        .map(|d| {
            let responses: Vec<&str> = d.disposition.responses.iter().map(|r| r.as_str()).collect();
            serde_json::to_string(&responses).unwrap_or_else(|_| "[]".into())
        })
        .collect();
    let columns = [
        Column::Int(vec![team_id; n]),
        Column::Time(vec![at; n]),
        Column::Int(decisions.iter().map(|d| d.product_id).collect()),
        Column::Int(decisions.iter().map(|d| d.release_id).collect()),
        Column::Text(decisions.iter().map(|d| d.scope.as_str()).collect()),
        Column::OptionalText(
            decisions
                .iter()
                .map(|d| d.version_range.as_deref())
                .collect(),
        ),
        Column::Text(decisions.iter().map(|d| d.vuln_id.as_str()).collect()),
        Column::Text(decisions.iter().map(|d| d.component_key.as_str()).collect()),
        Column::Text(
            decisions
                .iter()
                .map(|d| d.component_name.as_str())
                .collect(),
        ),
        Column::OptionalText(
            decisions
                .iter()
                .map(|d| d.component_version.as_deref())
                .collect(),
        ),
        Column::OptionalText(
            decisions
                .iter()
                .map(|d| d.component_purl.as_deref())
                .collect(),
        ),
        Column::Text(
            decisions
                .iter()
                .map(|d| d.disposition.state.as_str())
                .collect(),
        ),
        Column::OptionalText(
            decisions
                .iter()
                .map(|d| d.disposition.justification.map(|j| j.as_str()))
                .collect(),
        ),
        Column::Text(responses.iter().map(String::as_str).collect()),
        Column::OptionalText(
            decisions
                .iter()
                .map(|d| d.disposition.detail.as_deref())
                .collect(),
        ),
        Column::OptionalText(
            decisions
                .iter()
                .map(|d| d.disposition.action_statement.as_deref())
                .collect(),
        ),
        Column::Text(decisions.iter().map(|d| d.source.as_str()).collect()),
        Column::OptionalText(decisions.iter().map(|d| d.source_ref.as_deref()).collect()),
        Column::Text(decisions.iter().map(|d| d.author.kind).collect()),
        Column::OptionalInt(decisions.iter().map(|d| d.author.user_id).collect()),
        Column::Text(decisions.iter().map(|d| d.author.label.as_str()).collect()),
        Column::OptionalText(
            decisions
                .iter()
                .map(|d| d.basis.severity.as_deref())
                .collect(),
        ),
        Column::Bool(decisions.iter().map(|d| d.basis.in_kev).collect()),
        Column::Text(decisions.iter().map(|d| d.basis.ranges.as_str()).collect()),
    ];
    let returned = conn
        .insert_columns_returning::<InsertedDecision>(
            "INSERT INTO dispositions (team_id, created_at, product_id, release_id, scope,
                version_range, vuln_id, component_key, component_name, component_version,
                component_purl, state, justification, responses, detail, action_statement,
                source, source_ref, author_kind, author_user_id, author, basis_severity,
                basis_kev, basis_ranges)",
            &columns,
            " RETURNING id, vuln_id, component_key, component_version, scope,
                (SELECT a.group_id FROM vuln_aliases a WHERE a.alias = dispositions.vuln_id)",
        )
        .await?;
    let ids: HashMap<DecisionKey, (i64, Option<i64>)> = returned
        .into_iter()
        .map(|(id, vuln_id, component_key, version, scope, group_id)| {
            (
                decision_key(&vuln_id, &component_key, version.as_deref(), &scope),
                (id, group_id),
            )
        })
        .collect();
    let mut reaches: Vec<(i64, i64, bool)> = Vec::new();
    let mut recorded = Vec::with_capacity(n);
    for decision in decisions {
        let key = decision_key(
            &decision.vuln_id,
            &decision.component_key,
            decision.component_version.as_deref(),
            decision.scope.as_str(),
        );
        let (id, group_id) = *ids.get(&key).ok_or_else(|| {
            sqlx::Error::Protocol("a recorded decision's id did not come back".into())
        })?;
        recorded.push((id, group_id));
        reaches.extend(
            decision
                .reaches
                .iter()
                .map(|(finding, inherited)| (*finding, id, *inherited)),
        );
    }
    point_findings_at(conn, team_id, &reaches).await?;
    Ok(recorded)
}

impl Store {
    /// Records decisions and makes each the current decision of the findings it reaches, with
    /// one audit entry, in one transaction (all or nothing). Decisions of one batch must
    /// differ in vulnerability, component, version or scope. Returns the recorded decisions
    /// in input order: what was written, with the ids and alias groups the insert returned
    /// (reading 10,000 decisions back cost more than the rest of the write on SQLite).
    pub async fn record_dispositions(
        &self,
        team_id: i64,
        decisions: &[NewDisposition],
        event: &AuditEvent,
    ) -> Result<Vec<StoredDisposition>, StoreError> {
        let at = now();
        let ids = match &self.pool {
            crate::Pool::Sqlite(pool) => {
                let mut tx = pool.begin_write().await?;
                let ids = record_steps(&mut *tx, team_id, decisions, at).await?;
                insert_audit!(&mut *tx, event, at)?;
                tx.commit().await?;
                ids
            }
            crate::Pool::Postgres(pool) => {
                let mut tx = pool.begin_write().await?;
                let ids = record_steps(&mut *tx, team_id, decisions, at).await?;
                insert_audit!(&mut *tx, event, at)?;
                tx.commit().await?;
                ids
            }
        };
        let reached: usize = decisions.iter().map(|d| d.reaches.len()).sum();
        self.after_bulk_write(reached.max(decisions.len()), &["dispositions", "findings"])
            .await;
        Ok(decisions
            .iter()
            .zip(ids)
            .map(|(decision, (id, group_id))| StoredDisposition {
                id,
                product_id: decision.product_id,
                release_id: Some(decision.release_id),
                scope: decision.scope,
                version_range: decision.version_range.clone(),
                vuln_id: decision.vuln_id.clone(),
                group_id,
                component_key: decision.component_key.clone(),
                component_name: decision.component_name.clone(),
                component_version: decision.component_version.clone(),
                component_purl: decision.component_purl.clone(),
                disposition: decision.disposition.clone(),
                source: decision.source,
                source_ref: decision.source_ref.clone(),
                author_kind: decision.author.kind.to_string(),
                author_user_id: decision.author.user_id,
                author: decision.author.label.clone(),
                basis: decision.basis.clone(),
                created_at: at,
            })
            .collect())
    }

    /// Makes decisions the current decisions of findings (carry-over): `(finding id, decision
    /// id, inherited)`.
    pub async fn apply_dispositions(
        &self,
        team_id: i64,
        reaches: &[(i64, i64, bool)],
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            point_findings_at(&mut *tx, team_id, reaches).await?;
            tx.commit().await
        })?;
        Ok(())
    }

    /// Decisions by id (other teams' ids left out).
    pub async fn dispositions_by_ids(
        &self,
        team_id: i64,
        ids: &[i64],
    ) -> Result<HashMap<i64, StoredDisposition>, StoreError> {
        let unique: Vec<i64> = ids
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut found = HashMap::with_capacity(unique.len());
        for chunk in unique.chunks(MAX_PARAMETERS - 1) {
            // The ids, then the team: one numbering on both backends.
            let mut placeholders = Placeholders::new(self.backend());
            let mut list = String::new();
            for index in 0..chunk.len() {
                if index > 0 {
                    list.push(',');
                }
                placeholders.push(&mut list);
            }
            let mut team = String::new();
            placeholders.push(&mut team);
            let sql = format!(
                "SELECT {DISPOSITION_COLUMNS} FROM dispositions d
                 WHERE d.id IN ({list}) AND d.team_id = {team}"
            );
            let rows: Vec<DispositionRow> = with_pool!(self, pool => {
                let mut query = sqlx::query_as(&sql);
                for id in chunk {
                    query = query.bind(id);
                }
                query.bind(team_id).fetch_all(pool).await
            })?;
            for row in rows {
                let decision = StoredDisposition::try_from(row)?;
                found.insert(decision.id, decision);
            }
        }
        Ok(found)
    }

    /// Every decision recorded for a product, oldest first.
    pub async fn product_dispositions(
        &self,
        team_id: i64,
        product_id: i64,
    ) -> Result<Vec<StoredDisposition>, StoreError> {
        let sql = format!(
            "SELECT {DISPOSITION_COLUMNS} FROM dispositions d
             WHERE d.team_id = $1 AND d.product_id = $2 ORDER BY d.id"
        );
        let rows: Vec<DispositionRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(team_id).bind(product_id).fetch_all(pool).await
        })?;
        rows.into_iter().map(StoredDisposition::try_from).collect()
    }

    /// Open findings of a product's releases (or of one release, or one SBOM) with their
    /// component identity and current decision.
    pub async fn triage_findings(
        &self,
        team_id: i64,
        product_id: i64,
        within: TriageWithin,
    ) -> Result<Vec<TriageFinding>, StoreError> {
        let (condition, id) = match within {
            TriageWithin::Product => (
                "f.release_id IN (SELECT id FROM releases WHERE product_id = $2 AND team_id = $1)",
                product_id,
            ),
            TriageWithin::Release(release_id) => ("f.release_id = $2", release_id),
            TriageWithin::Sbom(sbom_id) => (
                "f.release_id = (SELECT release_id FROM sboms WHERE id = $2) AND f.sbom_id = $2",
                sbom_id,
            ),
        };
        let sql = format!(
            "{TRIAGE_FINDING_SELECT}
             WHERE f.team_id = $1 AND {condition} AND f.resolved_at IS NULL ORDER BY f.id"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(team_id).bind(id).fetch_all(pool).await
        })?)
    }

    /// The open findings of a release with their current decisions, in one query (what
    /// [`Store::triage_findings`] and [`Store::dispositions_by_ids`] give together, without
    /// sending every decision id back to the database).
    pub async fn release_findings_with_decisions(
        &self,
        team_id: i64,
        release_id: i64,
    ) -> Result<Vec<(TriageFinding, Option<StoredDisposition>)>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            finding: TriageFinding,
            #[sqlx(flatten)]
            decision: CurrentDispositionRow,
        }
        let sql = format!(
            "SELECT f.id AS finding_id, f.release_id, f.sbom_id, f.group_id, f.vulnerability_id,
                 v.vuln_id, f.component_id, c.name AS component_name,
                 c.version AS component_version, c.purl AS component_purl,
                 c.cpe AS component_cpe, c.package_key, f.disposition_id,
                 f.disposition_inherited, d.source AS disposition_source, {CURRENT_DISPOSITION_COLUMNS}
             FROM findings f
             JOIN sbom_components c ON c.id = f.component_id
             JOIN vulnerabilities v ON v.id = f.vulnerability_id
             LEFT JOIN dispositions d ON d.id = f.disposition_id AND d.team_id = $1
             WHERE f.team_id = $1 AND f.release_id = $2 AND f.resolved_at IS NULL
             ORDER BY f.id"
        );
        let rows: Vec<Row> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(team_id).bind(release_id).fetch_all(pool).await
        })?;
        rows.into_iter()
            .map(|row| {
                let decision = row
                    .decision
                    .into_row()
                    .map(StoredDisposition::try_from)
                    .transpose()?;
                Ok((row.finding, decision))
            })
            .collect()
    }

    /// The identifiers of the alias groups of a release's open findings, each group's in
    /// order (what [`Store::group_identifiers`] gives for their groups).
    pub async fn release_group_identifiers(
        &self,
        team_id: i64,
        release_id: i64,
    ) -> Result<HashMap<i64, Vec<String>>, StoreError> {
        let rows: Vec<(i64, String)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT a.group_id, a.alias FROM vuln_aliases a
                 WHERE a.group_id IN (SELECT f.group_id FROM findings f
                     WHERE f.team_id = $1 AND f.release_id = $2 AND f.resolved_at IS NULL)
                 ORDER BY a.alias",
            )
            .bind(team_id)
            .bind(release_id)
            .fetch_all(pool)
            .await
        })?;
        let mut groups: HashMap<i64, Vec<String>> = HashMap::new();
        for (group, alias) in rows {
            groups.entry(group).or_default().push(alias);
        }
        Ok(groups)
    }

    /// One finding of the team (open or resolved) as triage sees it, with its product.
    pub async fn triage_finding(
        &self,
        tenant: crate::Tenant,
        finding_id: i64,
    ) -> Result<Option<(TriageFinding, i64)>, StoreError> {
        let sql = format!(
            "SELECT q.*, r.product_id FROM ({TRIAGE_FINDING_SELECT}
                 WHERE f.team_id = $1 AND f.id = $2) q
             JOIN releases r ON r.id = q.release_id AND r.is_test = $3"
        );
        #[derive(sqlx::FromRow)]
        struct WithProduct {
            #[sqlx(flatten)]
            finding: TriageFinding,
            product_id: i64,
        }
        let row: Option<WithProduct> = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(tenant.team_id)
                .bind(finding_id)
                .bind(tenant.test)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(|row| (row.finding, row.product_id)))
    }

    /// The product a release of the team belongs to.
    pub async fn release_product(
        &self,
        team_id: i64,
        release_id: i64,
    ) -> Result<Option<i64>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar("SELECT product_id FROM releases WHERE id = $1 AND team_id = $2")
                .bind(release_id)
                .bind(team_id)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// A digest of each alias group's affected ranges (package ranges and listed versions,
    /// NVD CPE bounds), for noticing that a record's ranges changed after a decision.
    pub async fn group_range_digests(
        &self,
        group_ids: &[i64],
    ) -> Result<HashMap<i64, String>, StoreError> {
        use sha2::{Digest, Sha256};
        let unique: Vec<i64> = group_ids
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut hashers: HashMap<i64, Sha256> =
            unique.iter().map(|group| (*group, Sha256::new())).collect();
        let list_sql = [
            "SELECT v.group_id, 'p|' || ap.ecosystem || '|' || ap.normalized_name || '|'
                    || ap.ranges || '|' || ap.versions AS part
             FROM affected_packages ap JOIN vulnerabilities v ON v.id = ap.vulnerability_id
             WHERE v.group_id",
            "SELECT v.group_id, 'c|' || m.criteria || '|' || CAST(m.vulnerable AS TEXT) || '|'
                    || COALESCE(m.version_start_including, '') || '|'
                    || COALESCE(m.version_start_excluding, '') || '|'
                    || COALESCE(m.version_end_including, '') || '|'
                    || COALESCE(m.version_end_excluding, '') AS part
             FROM cpe_matches m JOIN vulnerabilities v ON v.id = m.vulnerability_id
             WHERE v.group_id",
        ];
        let mut rows: Vec<(i64, String)> = Vec::new();
        match &self.pool {
            // One array: the statement is the same for any number of groups.
            crate::Pool::Postgres(pool) => {
                for head in list_sql {
                    rows.extend(
                        sqlx::query_as::<_, (i64, String)>(&format!(
                            "{head} = ANY($1) ORDER BY 1, 2"
                        ))
                        .bind(&unique)
                        .fetch_all(pool)
                        .await?,
                    );
                }
            }
            crate::Pool::Sqlite(pool) => {
                for chunk in unique.chunks(MAX_PARAMETERS / 2) {
                    let list = placeholder_list(self.backend(), chunk.len());
                    for head in list_sql {
                        let sql = format!("{head} IN ({list}) ORDER BY 1, 2");
                        let mut query = sqlx::query_as::<_, (i64, String)>(&sql);
                        for id in chunk {
                            query = query.bind(id);
                        }
                        rows.extend(query.fetch_all(pool).await?);
                    }
                }
            }
        }
        for (group, part) in rows {
            if let Some(hasher) = hashers.get_mut(&group) {
                hasher.update(part.as_bytes());
                hasher.update([0]);
            }
        }
        Ok(hashers
            .into_iter()
            .map(|(group, hasher)| (group, hex::encode(hasher.finalize())))
            .collect())
    }
}

/// Which open findings [`Store::triage_findings`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriageWithin {
    Product,
    Release(i64),
    Sbom(i64),
}
