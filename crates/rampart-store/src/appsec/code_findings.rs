//! Code findings from SARIF imports: a reimport's scope as stored, the import written in one
//! transaction (new findings, status changes with their history, moved locations), listings
//! with filters, triage with history, and the teams' SLA days.

use crate::BeginWrite;
use chrono::{DateTime, Utc};
use rampart_core::EventType;

use crate::audit::insert_audit;
use crate::bulk::{Bulk, Column};
use crate::events::{record_event, NewEvent};
use crate::products::{Page, PageRequest, Tenant};
use crate::{now, with_pool, AuditEvent, Store, StoreError};

/// A stored finding of a reimport's scope, with what the diff and the relocation need.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScopeFinding {
    pub id: i64,
    pub identity: String,
    /// JSON array.
    pub alternates: String,
    pub status: String,
    pub path: Option<String>,
    pub start_line: Option<i64>,
    pub start_column: Option<i64>,
    pub end_line: Option<i64>,
    pub end_column: Option<i64>,
    pub commit_sha: Option<String>,
}

/// A finding to create (its import id is filled in by the store).
#[derive(Debug, Clone)]
pub struct NewCodeFinding {
    pub tool: String,
    pub tool_version: Option<String>,
    pub identity: String,
    pub alternates: String,
    pub fingerprints: String,
    pub rule_id: String,
    pub rule_name: Option<String>,
    pub rule_help: Option<String>,
    pub help_uri: Option<String>,
    pub tags: String,
    pub cwes: String,
    pub owasp: String,
    pub level: String,
    pub security_severity: Option<f64>,
    pub severity: String,
    pub message: String,
    pub path: Option<String>,
    pub start_line: Option<i64>,
    pub start_column: Option<i64>,
    pub end_line: Option<i64>,
    pub end_column: Option<i64>,
    pub snippet: Option<String>,
    pub code_flows: Option<String>,
    pub status: &'static str,
    pub suppression_justification: Option<String>,
}

/// A finding whose status an import changes.
#[derive(Debug, Clone)]
pub struct StatusChange {
    pub finding_id: i64,
    pub from: String,
    pub to: &'static str,
}

/// A finding seen again at another place (lines moved, another commit).
#[derive(Debug, Clone)]
pub struct Relocation {
    pub finding_id: i64,
    pub path: Option<String>,
    pub start_line: Option<i64>,
    pub start_column: Option<i64>,
    pub end_line: Option<i64>,
    pub end_column: Option<i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub results: i64,
    pub new: i64,
    pub unchanged: i64,
    pub closed: i64,
    pub reopened: i64,
    pub suppressed: i64,
    pub duplicates: i64,
    pub skipped: i64,
}

/// One upload to write.
#[derive(Debug, Clone)]
pub struct SarifImportWrite {
    pub integration_id: i64,
    pub repository: String,
    pub branch: String,
    pub commit_sha: Option<String>,
    /// JSON array of tool names.
    pub tools: String,
    pub encoding: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub counts: ImportCounts,
    /// JSON array of `{pointer, message}`.
    pub warnings: String,
    pub uploaded_by: String,
    pub new_findings: Vec<NewCodeFinding>,
    pub status_changes: Vec<StatusChange>,
    pub relocations: Vec<Relocation>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SarifImportRecord {
    pub id: i64,
    pub team_id: i64,
    pub is_test: bool,
    pub integration_id: i64,
    pub repository: String,
    pub branch: String,
    pub commit_sha: Option<String>,
    pub tools: String,
    pub encoding: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub results_count: i64,
    pub new_count: i64,
    pub unchanged_count: i64,
    pub closed_count: i64,
    pub reopened_count: i64,
    pub suppressed_count: i64,
    pub duplicate_count: i64,
    pub skipped_count: i64,
    pub warnings: String,
    pub uploaded_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CodeFindingRecord {
    pub id: i64,
    pub team_id: i64,
    pub is_test: bool,
    pub integration_id: i64,
    pub orphaned: bool,
    pub repository: String,
    pub branch: String,
    pub tool: String,
    pub tool_version: Option<String>,
    pub identity: String,
    pub fingerprints: String,
    pub rule_id: String,
    pub rule_name: Option<String>,
    pub rule_help: Option<String>,
    pub help_uri: Option<String>,
    pub tags: String,
    pub cwes: String,
    pub owasp: String,
    pub level: String,
    pub security_severity: Option<f64>,
    pub severity: String,
    pub message: String,
    pub path: Option<String>,
    pub start_line: Option<i64>,
    pub start_column: Option<i64>,
    pub end_line: Option<i64>,
    pub end_column: Option<i64>,
    pub snippet: Option<String>,
    pub code_flows: Option<String>,
    pub commit_sha: Option<String>,
    pub status: String,
    pub suppression_justification: Option<String>,
    pub triage_reason: Option<String>,
    pub accepted_until: Option<DateTime<Utc>>,
    pub first_import_id: i64,
    pub last_import_id: i64,
    pub first_seen_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A status change in a finding's history.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CodeFindingEvent {
    pub id: i64,
    pub finding_id: i64,
    pub import_id: Option<i64>,
    pub from_status: Option<String>,
    pub to_status: String,
    pub reason: Option<String>,
    pub accepted_until: Option<DateTime<Utc>>,
    pub actor: String,
    pub created_at: DateTime<Utc>,
}

/// Filters of a code-finding listing (all optional; lists are any-of).
#[derive(Debug, Clone, Default)]
pub struct CodeFindingFilter {
    pub integration_id: Option<i64>,
    pub repository: Option<String>,
    pub branch: Option<String>,
    pub tool: Option<String>,
    pub rule: Option<String>,
    pub severities: Vec<String>,
    /// Effective statuses: an `accepted_risk` past its expiry counts as `open`.
    pub statuses: Vec<String>,
    /// Only findings of these (integration, repository) pairs: a product's project mappings.
    /// `Some(empty)` matches nothing.
    pub within: Option<Vec<(i64, String)>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeFindingSort {
    /// Most severe first, then newest.
    Severity,
    Newest,
    Oldest,
    /// By file and line.
    Path,
}

/// A person's triage decision.
#[derive(Debug, Clone)]
pub struct CodeTriage {
    pub status: &'static str,
    pub reason: Option<String>,
    pub accepted_until: Option<DateTime<Utc>>,
    pub actor: String,
}

const FINDING_COLUMNS: &str = "id, team_id, is_test, integration_id, orphaned, repository, branch,
    tool, tool_version, identity, fingerprints, rule_id, rule_name, rule_help, help_uri, tags,
    cwes, owasp, level, security_severity, severity, message, path, start_line, start_column,
    end_line, end_column, snippet, code_flows, commit_sha, status, suppression_justification,
    triage_reason, accepted_until, first_import_id, last_import_id, first_seen_at, updated_at";

const IMPORT_COLUMNS: &str = "id, team_id, is_test, integration_id, repository, branch,
    commit_sha, tools, encoding, size_bytes, sha256, results_count, new_count, unchanged_count,
    closed_count, reopened_count, suppressed_count, duplicate_count, skipped_count, warnings,
    uploaded_by, created_at";

/// A bound value of a dynamically built filter.
enum Bind {
    Int(i64),
    Text(String),
    Bool(bool),
    Time(DateTime<Utc>),
}

/// A `WHERE` clause built condition by condition, with `$n` placeholders in bind order.
struct Conditions {
    sql: String,
    binds: Vec<Bind>,
}

impl Conditions {
    fn new() -> Self {
        Conditions {
            sql: String::from("TRUE"),
            binds: Vec::new(),
        }
    }

    /// The next placeholder, bound to `value`.
    fn bind(&mut self, value: Bind) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }

    fn and(&mut self, condition: &str) {
        self.sql.push_str(" AND ");
        self.sql.push_str(condition);
    }
}

macro_rules! bind_all {
    ($query:expr, $binds:expr) => {{
        let mut query = $query;
        for bind in $binds {
            query = match bind {
                Bind::Int(v) => query.bind(*v),
                Bind::Text(v) => query.bind(v.clone()),
                Bind::Bool(v) => query.bind(*v),
                Bind::Time(v) => query.bind(*v),
            };
        }
        query
    }};
}

/// The SQL of a severity's rank (critical highest).
const SEVERITY_RANK: &str = "CASE severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3
    WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END";

impl Store {
    /// The findings of one reimport scope.
    pub async fn code_scope_findings(
        &self,
        tenant: Tenant,
        integration_id: i64,
        repository: &str,
        branch: &str,
        tool: &str,
    ) -> Result<Vec<ScopeFinding>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, identity, alternates, status, path, start_line, start_column,
                        end_line, end_column, commit_sha
                 FROM code_findings
                 WHERE team_id = $1 AND is_test = $2 AND integration_id = $3
                   AND repository = $4 AND branch = $5 AND tool = $6 AND NOT orphaned
                 ORDER BY id",
            )
            .bind(tenant.team_id)
            .bind(tenant.test)
            .bind(integration_id)
            .bind(repository)
            .bind(branch)
            .bind(tool)
            .fetch_all(pool)
            .await
        })?)
    }

    /// Writes an import in one transaction: its record, the new findings, the status changes
    /// with their history, the moved locations, the integration's `last_upload_at`, and
    /// `event` (targeted at the import), and the `sarif.imported` event.
    pub async fn apply_sarif_import(
        &self,
        tenant: Tenant,
        write: &SarifImportWrite,
        event: &AuditEvent,
    ) -> Result<SarifImportRecord, StoreError> {
        let at = now();
        let insert_import = format!(
            "INSERT INTO sarif_imports (team_id, is_test, integration_id, repository, branch,
                 commit_sha, tools, encoding, size_bytes, sha256, results_count, new_count,
                 unchanged_count, closed_count, reopened_count, suppressed_count, duplicate_count,
                 skipped_count, warnings, uploaded_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                 $18, $19, $20, $21)
             RETURNING {IMPORT_COLUMNS}"
        );
        let record = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let counts = &write.counts;
            let record: SarifImportRecord = sqlx::query_as(&insert_import)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(write.integration_id)
                .bind(&write.repository)
                .bind(&write.branch)
                .bind(&write.commit_sha)
                .bind(&write.tools)
                .bind(&write.encoding)
                .bind(write.size_bytes)
                .bind(&write.sha256)
                .bind(counts.results)
                .bind(counts.new)
                .bind(counts.unchanged)
                .bind(counts.closed)
                .bind(counts.reopened)
                .bind(counts.suppressed)
                .bind(counts.duplicates)
                .bind(counts.skipped)
                .bind(&write.warnings)
                .bind(&write.uploaded_by)
                .bind(at)
                .fetch_one(&mut *tx)
                .await?;
            insert_new_findings(&mut *tx, tenant, write, record.id, at).await?;
            apply_status_changes(&mut *tx, tenant, write, record.id, at).await?;
            for moved in &write.relocations {
                sqlx::query(
                    "UPDATE code_findings SET path = $3, start_line = $4, start_column = $5,
                         end_line = $6, end_column = $7, commit_sha = $8, last_import_id = $9
                     WHERE id = $1 AND team_id = $2",
                )
                .bind(moved.finding_id)
                .bind(tenant.team_id)
                .bind(&moved.path)
                .bind(moved.start_line)
                .bind(moved.start_column)
                .bind(moved.end_line)
                .bind(moved.end_column)
                .bind(&write.commit_sha)
                .bind(record.id)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(
                "UPDATE integrations SET last_upload_at = $3 WHERE id = $1 AND team_id = $2",
            )
            .bind(write.integration_id)
            .bind(tenant.team_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            insert_audit!(
                &mut *tx,
                &event.clone().target("sarif_import", record.id),
                at
            )?;
            let data = serde_json::json!({
                "import_id": record.id,
                "integration_id": record.integration_id,
                "repository": record.repository,
                "branch": record.branch,
                "commit_sha": record.commit_sha,
                "tools": record.tools,
                "results": record.results_count,
                "new": record.new_count,
                "unchanged": record.unchanged_count,
                "closed": record.closed_count,
                "reopened": record.reopened_count,
                "suppressed": record.suppressed_count,
            });
            record_event(
                &mut *tx,
                &NewEvent::team(tenant, EventType::SarifImported, data),
            )
            .await?;
            tx.commit().await?;
            record
        });
        let written = write.counts.new + write.counts.closed + write.counts.reopened;
        self.after_bulk_write(
            usize::try_from(written).unwrap_or(0),
            &["code_findings", "code_finding_events"],
        )
        .await;
        Ok(record)
    }

    pub async fn sarif_import(
        &self,
        tenant: Tenant,
        id: i64,
    ) -> Result<Option<SarifImportRecord>, StoreError> {
        let sql = format!(
            "SELECT {IMPORT_COLUMNS} FROM sarif_imports WHERE id = $1 AND team_id = $2 AND is_test = $3"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(id)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// The findings an import opened (created open, or reopened), counted by severity.
    pub async fn sarif_import_opened_by_severity(
        &self,
        tenant: Tenant,
        import_id: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT severity, COUNT(*) FROM (
                     SELECT severity FROM code_findings
                     WHERE team_id = $1 AND is_test = $2 AND first_import_id = $3
                       AND status <> 'suppressed'
                     UNION ALL
                     SELECT f.severity FROM code_finding_events e
                     JOIN code_findings f ON f.id = e.finding_id
                     WHERE e.team_id = $1 AND f.is_test = $2 AND e.import_id = $3
                       AND e.to_status = 'open'
                 ) opened GROUP BY severity",
            )
            .bind(tenant.team_id)
            .bind(tenant.test)
            .bind(import_id)
            .fetch_all(pool)
            .await
        })?)
    }

    /// The team's imports, newest first; only one integration's when given.
    pub async fn list_sarif_imports(
        &self,
        tenant: Tenant,
        integration_id: Option<i64>,
        page: PageRequest,
    ) -> Result<Page<SarifImportRecord>, StoreError> {
        let filter = "team_id = $1 AND is_test = $2 AND ($3 < 0 OR integration_id = $3)";
        let list_sql = format!(
            "SELECT {IMPORT_COLUMNS} FROM sarif_imports WHERE {filter} ORDER BY id DESC LIMIT $4 OFFSET $5"
        );
        let count_sql = format!("SELECT COUNT(*) FROM sarif_imports WHERE {filter}");
        let integration = integration_id.unwrap_or(-1);
        let (items, total) = with_pool!(self, pool => {
            let items: Vec<SarifImportRecord> = sqlx::query_as(&list_sql)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(integration)
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(pool)
                .await?;
            let total: i64 = sqlx::query_scalar(&count_sql)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(integration)
                .fetch_one(pool)
                .await?;
            (items, total)
        });
        Ok(Page { items, total })
    }

    /// A page of the team's code findings; `at` decides which accepted risks have expired.
    pub async fn list_code_findings(
        &self,
        tenant: Tenant,
        filter: &CodeFindingFilter,
        sort: CodeFindingSort,
        page: PageRequest,
        at: DateTime<Utc>,
    ) -> Result<Page<CodeFindingRecord>, StoreError> {
        let mut conditions = Conditions::new();
        let team = conditions.bind(Bind::Int(tenant.team_id));
        let test = conditions.bind(Bind::Bool(tenant.test));
        conditions.and(&format!("team_id = {team} AND is_test = {test}"));
        if let Some(id) = filter.integration_id {
            let p = conditions.bind(Bind::Int(id));
            conditions.and(&format!("integration_id = {p}"));
        }
        for (column, value) in [
            ("repository", &filter.repository),
            ("branch", &filter.branch),
            ("tool", &filter.tool),
            ("rule_id", &filter.rule),
        ] {
            if let Some(value) = value {
                let p = conditions.bind(Bind::Text(value.clone()));
                conditions.and(&format!("{column} = {p}"));
            }
        }
        if let Some(pairs) = &filter.within {
            let mut any = Vec::with_capacity(pairs.len());
            for (integration, repository) in pairs {
                let i = conditions.bind(Bind::Int(*integration));
                let r = conditions.bind(Bind::Text(repository.clone()));
                any.push(format!("(integration_id = {i} AND repository = {r})"));
            }
            if any.is_empty() {
                conditions.and("1 = 0");
            } else {
                conditions.and(&format!("({})", any.join(" OR ")));
            }
        }
        if !filter.severities.is_empty() {
            let list: Vec<String> = filter
                .severities
                .iter()
                .map(|s| conditions.bind(Bind::Text(s.clone())))
                .collect();
            conditions.and(&format!("severity IN ({})", list.join(", ")));
        }
        if !filter.statuses.is_empty() {
            let now = conditions.bind(Bind::Time(at));
            let mut any = Vec::new();
            for status in &filter.statuses {
                let p = conditions.bind(Bind::Text(status.clone()));
                any.push(match status.as_str() {
                    "open" => format!(
                        "(status = {p} OR (status = 'accepted_risk' AND accepted_until IS NOT NULL AND accepted_until < {now}))"
                    ),
                    "accepted_risk" => format!(
                        "(status = {p} AND (accepted_until IS NULL OR accepted_until >= {now}))"
                    ),
                    _ => format!("status = {p}"),
                });
            }
            conditions.and(&format!("({})", any.join(" OR ")));
        }
        let order = match sort {
            CodeFindingSort::Severity => format!("{SEVERITY_RANK} DESC, id DESC"),
            CodeFindingSort::Newest => "first_seen_at DESC, id DESC".to_string(),
            CodeFindingSort::Oldest => "first_seen_at, id".to_string(),
            CodeFindingSort::Path => "path, start_line, id".to_string(),
        };
        let limit = conditions.bind(Bind::Int(page.limit()));
        let offset = conditions.bind(Bind::Int(page.offset()));
        let where_sql = conditions.sql.clone();
        let list_sql = format!(
            "SELECT {FINDING_COLUMNS} FROM code_findings WHERE {where_sql} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
        );
        let count_sql = format!("SELECT COUNT(*) FROM code_findings WHERE {where_sql}");
        let filter_binds = &conditions.binds[..conditions.binds.len() - 2];
        let (items, total) = with_pool!(self, pool => {
            let items: Vec<CodeFindingRecord> =
                bind_all!(sqlx::query_as(&list_sql), &conditions.binds)
                    .fetch_all(pool)
                    .await?;
            let total: i64 = bind_all!(sqlx::query_scalar(&count_sql), filter_binds)
                .fetch_one(pool)
                .await?;
            (items, total)
        });
        Ok(Page { items, total })
    }

    pub async fn code_finding(
        &self,
        tenant: Tenant,
        id: i64,
    ) -> Result<Option<CodeFindingRecord>, StoreError> {
        let sql = format!(
            "SELECT {FINDING_COLUMNS} FROM code_findings WHERE id = $1 AND team_id = $2 AND is_test = $3"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(id)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// Sets a finding's status by a person's decision, with its history entry and `event`;
    /// `None` when the finding is not the team's.
    pub async fn triage_code_finding(
        &self,
        tenant: Tenant,
        id: i64,
        triage: &CodeTriage,
        event: &AuditEvent,
    ) -> Result<Option<CodeFindingRecord>, StoreError> {
        let at = now();
        let sql = format!(
            "UPDATE code_findings SET status = $4, triage_reason = $5, accepted_until = $6,
                 updated_at = $7
             WHERE id = $1 AND team_id = $2 AND is_test = $3 RETURNING {FINDING_COLUMNS}"
        );
        let updated = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let before: Option<(String,)> = sqlx::query_as(
                "SELECT status FROM code_findings WHERE id = $1 AND team_id = $2 AND is_test = $3",
            )
            .bind(id)
            .bind(tenant.team_id)
            .bind(tenant.test)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((before,)) = before else {
                return Ok(None);
            };
            let row: CodeFindingRecord = sqlx::query_as(&sql)
                .bind(id)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(triage.status)
                .bind(&triage.reason)
                .bind(triage.accepted_until)
                .bind(at)
                .fetch_one(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO code_finding_events (team_id, finding_id, import_id, from_status,
                     to_status, reason, accepted_until, actor, created_at)
                 VALUES ($1, $2, NULL, $3, $4, $5, $6, $7, $8)",
            )
            .bind(tenant.team_id)
            .bind(id)
            .bind(&before)
            .bind(triage.status)
            .bind(&triage.reason)
            .bind(triage.accepted_until)
            .bind(&triage.actor)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            insert_audit!(&mut *tx, &event.clone().target("code_finding", id), at)?;
            tx.commit().await?;
            Some(row)
        });
        Ok(updated)
    }

    /// A finding's status changes, oldest first.
    pub async fn code_finding_events(
        &self,
        tenant: Tenant,
        finding_id: i64,
    ) -> Result<Vec<CodeFindingEvent>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT e.id, e.finding_id, e.import_id, e.from_status, e.to_status, e.reason,
                        e.accepted_until, e.actor, e.created_at
                 FROM code_finding_events e JOIN code_findings f ON f.id = e.finding_id
                 WHERE e.finding_id = $1 AND f.team_id = $2 AND f.is_test = $3
                 ORDER BY e.id",
            )
            .bind(finding_id)
            .bind(tenant.team_id)
            .bind(tenant.test)
            .fetch_all(pool)
            .await
        })?)
    }

    /// The team's SLA days by severity as stored (severities without a row take defaults).
    pub async fn code_finding_sla(
        &self,
        team_id: i64,
    ) -> Result<Vec<(String, Option<i64>)>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as("SELECT severity, days FROM code_finding_sla WHERE team_id = $1")
                .bind(team_id)
                .fetch_all(pool)
                .await
        })?)
    }

    /// Replaces the team's SLA days and records `event`.
    pub async fn set_code_finding_sla(
        &self,
        team_id: i64,
        days: &[(&str, Option<i64>)],
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let at = now();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM code_finding_sla WHERE team_id = $1")
                .bind(team_id)
                .execute(&mut *tx)
                .await?;
            for (severity, days) in days {
                sqlx::query(
                    "INSERT INTO code_finding_sla (team_id, severity, days) VALUES ($1, $2, $3)",
                )
                .bind(team_id)
                .bind(*severity)
                .bind(*days)
                .execute(&mut *tx)
                .await?;
            }
            insert_audit!(&mut *tx, &event.clone().target("team", team_id), at)?;
            tx.commit().await?;
        });
        Ok(())
    }
}

/// Inserts an import's new findings, many rows per statement.
async fn insert_new_findings<C: Bulk>(
    conn: &mut C,
    tenant: Tenant,
    write: &SarifImportWrite,
    import_id: i64,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let rows = &write.new_findings;
    if rows.is_empty() {
        return Ok(());
    }
    let n = rows.len();
    let text = |f: fn(&NewCodeFinding) -> &str| Column::Text(rows.iter().map(f).collect());
    let optional =
        |f: fn(&NewCodeFinding) -> Option<&str>| Column::OptionalText(rows.iter().map(f).collect());
    let int =
        |f: fn(&NewCodeFinding) -> Option<i64>| Column::OptionalInt(rows.iter().map(f).collect());
    let columns = [
        Column::Int(vec![tenant.team_id; n]),
        Column::Bool(vec![tenant.test; n]),
        Column::Int(vec![write.integration_id; n]),
        Column::Text(vec![write.repository.as_str(); n]),
        Column::Text(vec![write.branch.as_str(); n]),
        text(|r| &r.tool),
        optional(|r| r.tool_version.as_deref()),
        text(|r| &r.identity),
        text(|r| &r.alternates),
        text(|r| &r.fingerprints),
        text(|r| &r.rule_id),
        optional(|r| r.rule_name.as_deref()),
        optional(|r| r.rule_help.as_deref()),
        optional(|r| r.help_uri.as_deref()),
        text(|r| &r.tags),
        text(|r| &r.cwes),
        text(|r| &r.owasp),
        text(|r| &r.level),
        Column::OptionalFloat(rows.iter().map(|r| r.security_severity).collect()),
        text(|r| &r.severity),
        text(|r| &r.message),
        optional(|r| r.path.as_deref()),
        int(|r| r.start_line),
        int(|r| r.start_column),
        int(|r| r.end_line),
        int(|r| r.end_column),
        optional(|r| r.snippet.as_deref()),
        optional(|r| r.code_flows.as_deref()),
        Column::OptionalText(vec![write.commit_sha.as_deref(); n]),
        Column::Text(rows.iter().map(|r| r.status).collect()),
        optional(|r| r.suppression_justification.as_deref()),
        Column::Int(vec![import_id; n]),
        Column::Int(vec![import_id; n]),
        Column::Time(vec![at; n]),
        Column::Time(vec![at; n]),
    ];
    conn.insert_columns(
        "INSERT INTO code_findings (team_id, is_test, integration_id, repository, branch, tool,
             tool_version, identity, alternates, fingerprints, rule_id, rule_name, rule_help,
             help_uri, tags, cwes, owasp, level, security_severity, severity, message, path,
             start_line, start_column, end_line, end_column, snippet, code_flows, commit_sha,
             status, suppression_justification, first_import_id, last_import_id, first_seen_at,
             updated_at)",
        &columns,
        "",
    )
    .await?;
    Ok(())
}

/// Moves findings to their new statuses (one statement per target status) and writes one
/// history entry per change.
async fn apply_status_changes<C: Bulk>(
    conn: &mut C,
    tenant: Tenant,
    write: &SarifImportWrite,
    import_id: i64,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let changes = &write.status_changes;
    if changes.is_empty() {
        return Ok(());
    }
    for target in ["open", "fixed", "suppressed"] {
        let ids: Vec<i64> = changes
            .iter()
            .filter(|c| c.to == target)
            .map(|c| c.finding_id)
            .collect();
        if ids.is_empty() {
            continue;
        }
        // `target` is one of three constants and the ids are integers: nothing from input.
        conn.execute_for_ids(
            &format!(
                "UPDATE code_findings SET status = '{target}', last_import_id = {import_id}
                 WHERE team_id = {} AND id",
                tenant.team_id
            ),
            &ids,
        )
        .await?;
    }
    let n = changes.len();
    conn.insert_columns(
        "INSERT INTO code_finding_events (team_id, finding_id, import_id, from_status, to_status,
             actor, created_at)",
        &[
            Column::Int(vec![tenant.team_id; n]),
            Column::Int(changes.iter().map(|c| c.finding_id).collect()),
            Column::Int(vec![import_id; n]),
            Column::Text(changes.iter().map(|c| c.from.as_str()).collect()),
            Column::Text(changes.iter().map(|c| c.to).collect()),
            Column::Text(vec![write.uploaded_by.as_str(); n]),
            Column::Time(vec![at; n]),
        ],
        "",
    )
    .await?;
    Ok(())
}
