//! Completing an analysis: the store loads the SBOM's previous findings, lets
//! [`rampart_core::finding_diff`] decide what is new, reopened, refreshed and resolved, and
//! persists that decision with its events (in the event stream) and counts, in one transaction.

use crate::BeginWrite;

use chrono::{DateTime, SecondsFormat, Utc};
use rampart_core::finding_diff::{CurrentMatch, FindingDiffer, FindingKey, PreviousFinding};
use rampart_core::EventType;
use sqlx::{PgConnection, SqliteConnection};

use super::{AnalysisOutcome, NewFinding};
use crate::bulk::{values_insert, Bulk, Column, Placeholders, MAX_PARAMETERS};
use crate::events::{record_events, NewEvent};
use crate::sboms::{to_i64, Analysis, ComponentResolution, RESOLUTION_CHUNK};
use crate::webhooks::{EndpointFilters, TEAM_ENDPOINT_FILTERS};
use crate::{now, sqlite_read, with_pool, Backend, Store, StoreError, Tenant};

/// Why a finding matched, as stored: an open finding whose evidence changed is rewritten.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Evidence<'a> {
    vulnerability_id: i64,
    matched_by: &'a str,
    identifier: &'a str,
    detail: &'a str,
    range_index: Option<i64>,
    /// JSON array, as the `fixed_versions` column keeps it.
    fixed_versions: &'a str,
}

/// A finding of the SBOM as stored before this analysis.
#[derive(Debug, sqlx::FromRow)]
struct StoredFinding {
    id: i64,
    component_id: i64,
    group_id: i64,
    resolved_at: Option<DateTime<Utc>>,
    vulnerability_id: i64,
    matched_by: String,
    identifier: String,
    detail: String,
    range_index: Option<i64>,
    fixed_versions: String,
}

impl StoredFinding {
    fn as_previous(&self) -> PreviousFinding<Evidence<'_>> {
        PreviousFinding {
            id: self.id,
            key: FindingKey {
                component_id: self.component_id,
                group_id: self.group_id,
            },
            resolved: self.resolved_at.is_some(),
            evidence: Evidence {
                vulnerability_id: self.vulnerability_id,
                matched_by: &self.matched_by,
                identifier: &self.identifier,
                detail: &self.detail,
                range_index: self.range_index,
                fixed_versions: &self.fixed_versions,
            },
        }
    }
}

/// `finding`'s match, its fixed versions already spelled as the JSON column keeps them.
fn current_match<'a>(
    finding: &'a NewFinding,
    fixed_versions: &'a str,
) -> CurrentMatch<Evidence<'a>> {
    CurrentMatch {
        key: FindingKey {
            component_id: finding.component_id,
            group_id: finding.group_id,
        },
        evidence: Evidence {
            vulnerability_id: finding.vulnerability_id,
            matched_by: &finding.matched_by,
            identifier: &finding.identifier,
            detail: &finding.detail,
            range_index: finding.range_index,
            fixed_versions,
        },
    }
}

/// What every event of an analysis says of its SBOM (its product, whether it is test data),
/// and who would receive its events.
#[derive(Debug, Clone)]
struct EventSubject {
    product_id: i64,
    is_test: bool,
    /// The team's webhook endpoints' type filters, read in the completion's transaction.
    endpoints: EndpointFilters,
}

impl EventSubject {
    /// Whether events of `event_type` are born dispatched: a test-mode event is never
    /// delivered, and the worker fans an event out only to endpoints that existed when it
    /// happened, so one no endpoint admits now has nothing to fan out. A large analysis's
    /// million `finding.new` events then skip the undispatched index and the worker's pass.
    fn born_dispatched(&self, event_type: EventType) -> bool {
        self.is_test || !self.endpoints.any_admits(event_type)
    }
}

/// An event to record: its kind and the finding it is about.
type FindingEventRow = (EventType, i64);

const FINDING_NEW: EventType = EventType::FindingNew;
const FINDING_RESOLVED: EventType = EventType::FindingResolved;

/// Records one event of kind `$2` per finding id of the JSON array `$9` (in its order), each
/// with what a receiver needs: the subject's ids, the vulnerability and the component. The
/// same data on both backends; `$10`: born dispatched ([`EventSubject::born_dispatched`]).
/// On SQLite the `CROSS JOIN` keeps the array the outer loop, so the rows come in its order
/// without an `ORDER BY`, which sorted a million events' data in a temporary B-tree first.
fn finding_events_insert(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "INSERT INTO events (team_id, type, test_mode, data, created_at, dispatched)
             SELECT $1, $2, $3,
                 json_object('release_id', $4, 'product_id', $5, 'sbom_id', $6,
                     'analysis_id', $7, 'finding_id', f.id, 'vulnerability_id', v.vuln_id,
                     'component', json_object('name', c.name, 'version', c.version,
                         'purl', c.purl)),
                 $8, $10
             FROM json_each($9) AS e
             CROSS JOIN findings f ON f.id = e.value
             LEFT JOIN vulnerabilities v ON v.id = f.vulnerability_id
             LEFT JOIN sbom_components c ON c.id = f.component_id
             WHERE f.sbom_id = $6 AND f.team_id = $1"
        }
        Backend::Postgres => {
            "INSERT INTO events (team_id, type, test_mode, data, created_at, dispatched)
             SELECT $1, $2, $3,
                 jsonb_build_object('release_id', $4::BIGINT, 'product_id', $5::BIGINT,
                     'sbom_id', $6::BIGINT, 'analysis_id', $7::BIGINT, 'finding_id', f.id,
                     'vulnerability_id', v.vuln_id,
                     'component', jsonb_build_object('name', c.name, 'version', c.version,
                         'purl', c.purl))::TEXT,
                 $8, $10
             FROM jsonb_array_elements_text($9::JSONB) WITH ORDINALITY AS e (id, position)
             JOIN findings f ON f.id = e.id::BIGINT
             LEFT JOIN vulnerabilities v ON v.id = f.vulnerability_id
             LEFT JOIN sbom_components c ON c.id = f.component_id
             WHERE f.sbom_id = $6 AND f.team_id = $1
             ORDER BY e.position"
        }
    }
}

/// One multi-row `UPDATE` giving `rows` components their resolved package (4 values a row,
/// then the team and SBOM that confine it).
fn resolution_update(backend: Backend, rows: usize) -> String {
    let mut placeholders = Placeholders::new(backend);
    let mut values = String::with_capacity(rows * 48);
    for row in 0..rows {
        if row > 0 {
            values.push(',');
        }
        values.push_str("(CAST(");
        placeholders.push(&mut values);
        values.push_str(" AS BIGINT),");
        for _ in 0..3 {
            placeholders.push(&mut values);
            values.push(',');
        }
        values.pop();
        values.push(')');
    }
    let mut confine = String::from(" AND sbom_components.team_id = ");
    placeholders.push(&mut confine);
    confine.push_str(" AND sbom_components.sbom_id = ");
    placeholders.push(&mut confine);
    // VALUES columns are column1..4 on both backends.
    format!(
        "UPDATE sbom_components SET ecosystem = v.column2, package_name = v.column3,
            package_key = v.column4
         FROM (VALUES {values}) AS v
         WHERE sbom_components.id = v.column1{confine}"
    )
}

/// The steps of [`Store::complete_analysis`], each on the completion's transaction.
trait CompletionSteps {
    /// False when the analysis is not running any more: then nothing is changed.
    async fn claim_running(&mut self, analysis: &Analysis) -> Result<bool, sqlx::Error>;

    /// Every finding of the SBOM, open or resolved.
    async fn previous_findings(
        &mut self,
        analysis: &Analysis,
    ) -> Result<Vec<StoredFinding>, sqlx::Error>;

    /// Only this analysis's findings stay new: the SBOM's findings are marked not new
    /// before the new ones are inserted.
    async fn clear_new(&mut self, analysis: &Analysis) -> Result<(), sqlx::Error>;

    /// Writes what the analysis changed in the SBOM's previous findings: reopened and
    /// refreshed ones take their new evidence; gone ones are resolved; the open ones were
    /// seen `at`. Returns the events to record, in order.
    async fn apply_changes(
        &mut self,
        reopened: &[Rewrite],
        refreshed: &[Rewrite],
        resolved: &[i64],
        analysis: &Analysis,
        at: DateTime<Utc>,
    ) -> Result<Vec<FindingEventRow>, sqlx::Error>;

    /// Makes `groups` (sorted, distinct) the alias groups the SBOM has open findings of.
    async fn replace_open_groups(
        &mut self,
        analysis: &Analysis,
        groups: &[i64],
    ) -> Result<(), sqlx::Error>;

    /// What every event of the analysis says of its SBOM's product and test mode.
    async fn event_subject(&mut self, analysis: &Analysis) -> Result<EventSubject, sqlx::Error>;

    /// Records `events` in the event stream with what a receiver needs to know of each
    /// finding.
    async fn record_finding_events(
        &mut self,
        analysis: &Analysis,
        subject: &EventSubject,
        events: &[FindingEventRow],
        at: DateTime<Utc>,
    ) -> Result<(), sqlx::Error>;

    /// Records `finding.reanalysed` with the outcome, when the analysis was not the upload's.
    async fn record_reanalysed(
        &mut self,
        analysis: &Analysis,
        subject: &EventSubject,
        outcome: &AnalysisOutcome,
        at: DateTime<Utc>,
    ) -> Result<(), sqlx::Error>;

    /// Marks the analysis completed with its counts; returns the SBOM's open findings
    /// (`known_open` when the caller knows them, counted otherwise).
    async fn record_completion(
        &mut self,
        analysis: &Analysis,
        resolved_components: i64,
        new_findings: i64,
        known_open: Option<i64>,
        summary: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, sqlx::Error>;
}

/// Gives each resolved component its package.
trait StoreResolutions {
    async fn store_resolutions(
        &mut self,
        analysis: &Analysis,
        resolutions: &[ComponentResolution],
    ) -> Result<(), sqlx::Error>;
}

impl StoreResolutions for PgConnection {
    /// Multi-row `UPDATE … FROM (VALUES …)`s through sqlx.
    async fn store_resolutions(
        &mut self,
        analysis: &Analysis,
        resolutions: &[ComponentResolution],
    ) -> Result<(), sqlx::Error> {
        for chunk in resolutions.chunks(RESOLUTION_CHUNK) {
            let sql = resolution_update(Backend::Postgres, chunk.len());
            let mut query = sqlx::query(&sql);
            for resolution in chunk {
                query = query
                    .bind(resolution.component_id)
                    .bind(resolution.package.ecosystem.as_str())
                    .bind(resolution.package.package_name.as_str())
                    .bind(resolution.package.package_key.as_str());
            }
            query
                .bind(analysis.team_id)
                .bind(analysis.sbom_id)
                .execute(&mut *self)
                .await?;
        }
        Ok(())
    }
}

impl StoreResolutions for SqliteConnection {
    /// A single-row `UPDATE` prepared once and stepped per component through SQLite's own
    /// API (as [`SQLITE_INSERT_FINDING`], and for the same reasons).
    async fn store_resolutions(
        &mut self,
        analysis: &Analysis,
        resolutions: &[ComponentResolution],
    ) -> Result<(), sqlx::Error> {
        if resolutions.is_empty() {
            return Ok(());
        }
        sqlite_read::on_connection(self, |connection| {
            let mut statement = connection.prepare(
                "UPDATE sbom_components SET ecosystem = ?1, package_name = ?2, package_key = ?3
                 WHERE id = ?4 AND team_id = ?5 AND sbom_id = ?6",
            )?;
            statement.raw_bind_parameter(5, analysis.team_id)?;
            statement.raw_bind_parameter(6, analysis.sbom_id)?;
            for resolution in resolutions {
                let package = &resolution.package;
                statement.raw_bind_parameter(1, package.ecosystem.as_str())?;
                statement.raw_bind_parameter(2, package.package_name.as_str())?;
                statement.raw_bind_parameter(3, package.package_key.as_str())?;
                statement.raw_bind_parameter(4, resolution.component_id)?;
                statement.raw_execute()?;
            }
            Ok(())
        })
        .await
    }
}

/// Inserts an analysis's new findings (open, marked new, first and last seen `at`), in
/// order; returns their ids in the same order.
trait InsertNewFindings {
    async fn insert_new_findings(
        &mut self,
        analysis: &Analysis,
        new: &[&CurrentMatch<Evidence<'_>>],
        at: DateTime<Utc>,
    ) -> Result<Vec<i64>, sqlx::Error>;
}

impl InsertNewFindings for PgConnection {
    /// Multi-row `INSERT … RETURNING id`s through sqlx; what every new finding shares is bound
    /// once per statement, the rows carry only their own columns.
    async fn insert_new_findings(
        &mut self,
        analysis: &Analysis,
        new: &[&CurrentMatch<Evidence<'_>>],
        at: DateTime<Utc>,
    ) -> Result<Vec<i64>, sqlx::Error> {
        const FINDING_PARAMETERS: usize = 8;
        let mut ids = Vec::with_capacity(new.len());
        for chunk in new.chunks((MAX_PARAMETERS - 5) / FINDING_PARAMETERS) {
            let sql = values_insert(
                Backend::Postgres,
                "INSERT INTO findings (team_id, release_id, sbom_id, first_seen_at,
                    last_seen_at, is_new, resolved_at, component_id, group_id,
                    vulnerability_id, matched_by, identifier, detail, range_index,
                    fixed_versions)",
                &["", "", "", "", "", "TRUE", "NULL"],
                chunk.len(),
                FINDING_PARAMETERS,
            ) + " RETURNING id";
            let mut query = sqlx::query_scalar::<_, i64>(&sql)
                .bind(analysis.team_id)
                .bind(analysis.release_id)
                .bind(analysis.sbom_id)
                .bind(at)
                .bind(at);
            for found in chunk {
                let evidence = &found.evidence;
                query = query
                    .bind(found.key.component_id)
                    .bind(found.key.group_id)
                    .bind(evidence.vulnerability_id)
                    .bind(evidence.matched_by)
                    .bind(evidence.identifier)
                    .bind(evidence.detail)
                    .bind(evidence.range_index)
                    .bind(evidence.fixed_versions);
            }
            ids.extend(query.fetch_all(&mut *self).await?);
        }
        Ok(ids)
    }
}

/// One new finding: a single-row `INSERT` without `RETURNING`. SQLite opens a statement
/// journal (a copy of every page the statement changes, to undo it alone) for a statement
/// that writes several rows (a multi-row `VALUES`, or `RETURNING`, which SQLite runs as a
/// trigger) and may abort (the findings' foreign keys, declared immediate, always may): in
/// the profile of the 1.19 M-finding SBOM that journal was a third of the insert's time, and
/// sqlx's binding and worker thread another third (BENCHMARKS.md, SBOM analysis). The
/// shared values stay bound from one row to the next. The id is given, not chosen by SQLite:
/// the table has no `AUTOINCREMENT` (which made every execution read and rewrite its
/// `sqlite_sequence` row), and ids are never reused, so they continue the high-water mark in
/// `id_watermarks` (migration 0036), advanced once per batch.
const SQLITE_INSERT_FINDING: &str = "INSERT INTO findings (team_id, release_id, sbom_id,
        first_seen_at, last_seen_at, is_new, resolved_at, component_id, group_id,
        vulnerability_id, matched_by, identifier, detail, range_index, fixed_versions, id)
    VALUES (?1, ?2, ?3, ?4, ?4, TRUE, NULL, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

/// The largest finding id ever given (deleted findings' included).
const SQLITE_LAST_FINDING_ID: &str =
    "SELECT MAX(last_id, COALESCE((SELECT MAX(id) FROM findings), 0))
    FROM id_watermarks WHERE table_name = 'findings'";

const SQLITE_ADVANCE_FINDING_ID: &str =
    "UPDATE id_watermarks SET last_id = ?1 WHERE table_name = 'findings'";

impl InsertNewFindings for SqliteConnection {
    /// [`SQLITE_INSERT_FINDING`] prepared once and stepped per finding through SQLite's own
    /// API on this connection (its transaction's), on the calling thread.
    async fn insert_new_findings(
        &mut self,
        analysis: &Analysis,
        new: &[&CurrentMatch<Evidence<'_>>],
        at: DateTime<Utc>,
    ) -> Result<Vec<i64>, sqlx::Error> {
        if new.is_empty() {
            return Ok(Vec::new());
        }
        // As sqlx writes a `DateTime<Utc>` on SQLite.
        let at = at.to_rfc3339_opts(SecondsFormat::AutoSi, false);
        sqlite_read::on_connection(self, |connection| {
            let mut statement = connection.prepare(SQLITE_INSERT_FINDING)?;
            statement.raw_bind_parameter(1, analysis.team_id)?;
            statement.raw_bind_parameter(2, analysis.release_id)?;
            statement.raw_bind_parameter(3, analysis.sbom_id)?;
            statement.raw_bind_parameter(4, at.as_str())?;
            let mut last_id: i64 =
                connection.query_row(SQLITE_LAST_FINDING_ID, [], |row| row.get(0))?;
            let mut ids = Vec::with_capacity(new.len());
            for found in new {
                let evidence = &found.evidence;
                last_id += 1;
                statement.raw_bind_parameter(13, last_id)?;
                statement.raw_bind_parameter(5, found.key.component_id)?;
                statement.raw_bind_parameter(6, found.key.group_id)?;
                statement.raw_bind_parameter(7, evidence.vulnerability_id)?;
                statement.raw_bind_parameter(8, evidence.matched_by)?;
                statement.raw_bind_parameter(9, evidence.identifier)?;
                statement.raw_bind_parameter(10, evidence.detail)?;
                statement.raw_bind_parameter(11, evidence.range_index)?;
                statement.raw_bind_parameter(12, evidence.fixed_versions)?;
                statement.raw_execute()?;
                ids.push(last_id);
            }
            connection.execute(SQLITE_ADVANCE_FINDING_ID, [last_id])?;
            Ok(ids)
        })
        .await
    }
}

/// [`CompletionSteps`] for one backend's connection: the same SQL, compiled per backend.
macro_rules! completion_steps {
    ($connection:ty, $backend:expr) => {
        impl CompletionSteps for $connection {
            async fn claim_running(&mut self, analysis: &Analysis) -> Result<bool, sqlx::Error> {
                // A write first (a no-op update): on SQLite a transaction that reads before it
                // writes fails at once when another connection (the webhook worker recording
                // deliveries) committed meanwhile; one that starts writing waits its turn.
                let running: Option<i64> = sqlx::query_scalar(
                    "UPDATE analyses SET status = 'running' WHERE id = $1 AND status = 'running'
                     RETURNING id",
                )
                .bind(analysis.id)
                .fetch_optional(&mut *self)
                .await?;
                Ok(running.is_some())
            }

            async fn previous_findings(
                &mut self,
                analysis: &Analysis,
            ) -> Result<Vec<StoredFinding>, sqlx::Error> {
                sqlx::query_as(
                    "SELECT id, component_id, group_id, resolved_at, vulnerability_id, matched_by,
                        identifier, detail, range_index, fixed_versions
                     FROM findings WHERE release_id = $3 AND sbom_id = $1 AND team_id = $2",
                )
                .bind(analysis.sbom_id)
                .bind(analysis.team_id)
                .bind(analysis.release_id)
                .fetch_all(&mut *self)
                .await
            }

            async fn clear_new(&mut self, analysis: &Analysis) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "UPDATE findings SET is_new = FALSE
                     WHERE release_id = $2 AND sbom_id = $1 AND is_new",
                )
                .bind(analysis.sbom_id)
                .bind(analysis.release_id)
                .execute(&mut *self)
                .await?;
                Ok(())
            }

            async fn apply_changes(
                &mut self,
                reopened: &[Rewrite],
                refreshed: &[Rewrite],
                resolved: &[i64],
                analysis: &Analysis,
                at: DateTime<Utc>,
            ) -> Result<Vec<FindingEventRow>, sqlx::Error> {
                let mut events = Vec::new();
                let reopened = reopened.iter().map(|change| (change, true));
                let refreshed = refreshed.iter().map(|change| (change, false));
                for (change, is_new) in reopened.chain(refreshed) {
                    sqlx::query(
                        "UPDATE findings SET vulnerability_id = $2, matched_by = $3,
                            identifier = $4, detail = $5, range_index = $6,
                            fixed_versions = $7, is_new = $8, resolved_at = NULL
                         WHERE id = $1",
                    )
                    .bind(change.finding_id)
                    .bind(change.vulnerability_id)
                    .bind(change.matched_by.as_str())
                    .bind(change.identifier.as_str())
                    .bind(change.detail.as_str())
                    .bind(change.range_index)
                    .bind(change.fixed_versions.as_str())
                    .bind(is_new)
                    .execute(&mut *self)
                    .await?;
                    if is_new {
                        events.push((FINDING_NEW, change.finding_id));
                    }
                }
                for finding_id in resolved {
                    sqlx::query("UPDATE findings SET resolved_at = $2 WHERE id = $1")
                        .bind(finding_id)
                        .bind(at)
                        .execute(&mut *self)
                        .await?;
                    events.push((FINDING_RESOLVED, *finding_id));
                }
                // The findings inserted by this analysis were seen `at` already.
                sqlx::query(
                    "UPDATE findings SET last_seen_at = $2
                     WHERE release_id = $3 AND sbom_id = $1 AND resolved_at IS NULL
                        AND last_seen_at <> $2",
                )
                .bind(analysis.sbom_id)
                .bind(at)
                .bind(analysis.release_id)
                .execute(&mut *self)
                .await?;
                Ok(events)
            }

            async fn replace_open_groups(
                &mut self,
                analysis: &Analysis,
                groups: &[i64],
            ) -> Result<(), sqlx::Error> {
                sqlx::query("DELETE FROM sbom_open_groups WHERE sbom_id = $1")
                    .bind(analysis.sbom_id)
                    .execute(&mut *self)
                    .await?;
                self.insert_columns(
                    "INSERT INTO sbom_open_groups (group_id, sbom_id)",
                    &[
                        Column::Int(groups.to_vec()),
                        Column::Int(vec![analysis.sbom_id; groups.len()]),
                    ],
                    "",
                )
                .await
            }

            async fn event_subject(
                &mut self,
                analysis: &Analysis,
            ) -> Result<EventSubject, sqlx::Error> {
                let (product_id, is_test): (i64, bool) = sqlx::query_as(
                    "SELECT r.product_id, s.is_test FROM sboms s JOIN releases r ON r.id = s.release_id
                     WHERE s.id = $1",
                )
                .bind(analysis.sbom_id)
                .fetch_one(&mut *self)
                .await?;
                let filters: Vec<String> = sqlx::query_scalar(TEAM_ENDPOINT_FILTERS)
                    .bind(analysis.team_id)
                    .fetch_all(&mut *self)
                    .await?;
                let endpoints = EndpointFilters::new(&filters);
                Ok(EventSubject { product_id, is_test, endpoints })
            }

            async fn record_finding_events(
                &mut self,
                analysis: &Analysis,
                subject: &EventSubject,
                events: &[FindingEventRow],
                at: DateTime<Utc>,
            ) -> Result<(), sqlx::Error> {
                let EventSubject { product_id, is_test, .. } = *subject;
                // Each run of one kind is one statement that builds its events' data in the
                // database: a million findings need no round trip of their details.
                let sql = finding_events_insert($backend);
                for run in events.chunk_by(|a, b| a.0 == b.0) {
                    let ids = serde_json::to_string(
                        &run.iter().map(|(_, id)| *id).collect::<Vec<i64>>(),
                    )
                    .unwrap_or_else(|_| "[]".to_string());
                    sqlx::query(sql)
                        .bind(analysis.team_id)
                        .bind(run[0].0.as_str())
                        .bind(is_test)
                        .bind(analysis.release_id)
                        .bind(product_id)
                        .bind(analysis.sbom_id)
                        .bind(analysis.id)
                        .bind(at)
                        .bind(ids)
                        .bind(subject.born_dispatched(run[0].0))
                        .execute(&mut *self)
                        .await?;
                }
                Ok(())
            }

            async fn record_reanalysed(
                &mut self,
                analysis: &Analysis,
                subject: &EventSubject,
                outcome: &AnalysisOutcome,
                at: DateTime<Utc>,
            ) -> Result<(), sqlx::Error> {
                let EventSubject { product_id, is_test, .. } = *subject;
                if analysis.reason != "upload" {
                    let tenant = Tenant { team_id: analysis.team_id, test: is_test };
                    let data = serde_json::json!({
                        "release_id": analysis.release_id,
                        "product_id": product_id,
                        "sbom_id": analysis.sbom_id,
                        "analysis_id": analysis.id,
                        "reason": analysis.reason,
                        "findings": outcome.findings,
                        "new_findings": outcome.new_findings,
                        "resolved_findings": outcome.resolved,
                    });
                    let event = NewEvent::team(tenant, EventType::FindingReanalysed, data);
                    record_events(&mut *self, &[event], at).await?;
                }
                Ok(())
            }

            async fn record_completion(
                &mut self,
                analysis: &Analysis,
                resolved_components: i64,
                new_findings: i64,
                known_open: Option<i64>,
                summary: &str,
                at: DateTime<Utc>,
            ) -> Result<i64, sqlx::Error> {
                let open: i64 = match known_open {
                    Some(open) => open,
                    None => {
                        sqlx::query_scalar(
                            "SELECT COUNT(*) FROM findings
                             WHERE release_id = $2 AND sbom_id = $1 AND resolved_at IS NULL",
                        )
                        .bind(analysis.sbom_id)
                        .bind(analysis.release_id)
                        .fetch_one(&mut *self)
                        .await?
                    }
                };
                sqlx::query(
                    "UPDATE analyses SET status = 'completed', finished_at = $2,
                        lease_expires_at = NULL, resolved_count = $3, summary = $4, error = NULL,
                        findings_count = $5, new_findings_count = $6
                     WHERE id = $1",
                )
                .bind(analysis.id)
                .bind(at)
                .bind(resolved_components)
                .bind(summary)
                .bind(open)
                .bind(new_findings)
                .execute(&mut *self)
                .await?;
                Ok(open)
            }
        }
    };
}

completion_steps!(SqliteConnection, Backend::Sqlite);
completion_steps!(PgConnection, Backend::Postgres);

/// A part of an analysis's result: components it resolved and the findings they gave. Built
/// by [`AnalysisPart::new`] only, so each finding has its spelled fixed versions.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisPart {
    /// Components of the part whose package was determined (the analysis's resolved count).
    resolved: usize,
    /// Those whose package differs from the one stored (none for a fresh upload: its
    /// packages are stored with it).
    resolutions: Vec<ComponentResolution>,
    findings: Vec<NewFinding>,
    /// Each finding's fixed versions as the column keeps them (a JSON array), in order:
    /// spelled on the analysis's side, so the writer (a large analysis's critical path)
    /// takes them as they are.
    fixed_versions: Vec<String>,
}

impl AnalysisPart {
    pub fn new(
        resolved: usize,
        resolutions: Vec<ComponentResolution>,
        findings: Vec<NewFinding>,
    ) -> AnalysisPart {
        let fixed_versions = findings
            .iter()
            .map(|finding| {
                serde_json::to_string(&finding.fixed_versions).unwrap_or_else(|_| "[]".to_string())
            })
            .collect();
        AnalysisPart {
            resolved,
            resolutions,
            findings,
            fixed_versions,
        }
    }
}

/// What a running analysis hands [`Store::complete_analysis_in_parts`]: parts, then the
/// summary, which ends it.
#[derive(Debug, Clone, PartialEq)]
pub enum AnalysisProgress {
    Part(AnalysisPart),
    Done { summary: String },
}

/// A previous finding matched again, with its new evidence.
#[derive(Debug, Clone, PartialEq)]
struct Rewrite {
    finding_id: i64,
    vulnerability_id: i64,
    matched_by: String,
    identifier: String,
    detail: String,
    range_index: Option<i64>,
    fixed_versions: String,
}

impl Rewrite {
    fn of(finding_id: i64, found: &CurrentMatch<Evidence<'_>>) -> Rewrite {
        let evidence = &found.evidence;
        Rewrite {
            finding_id,
            vulnerability_id: evidence.vulnerability_id,
            matched_by: evidence.matched_by.to_string(),
            identifier: evidence.identifier.to_string(),
            detail: evidence.detail.to_string(),
            range_index: evidence.range_index,
            fixed_versions: evidence.fixed_versions.to_string(),
        }
    }
}

impl Store {
    /// Records a finished analysis in one transaction: each resolved component's package; the
    /// findings (new ones inserted and marked new, ones still matched refreshed, ones no
    /// longer matched resolved); an event per new and resolved finding; the counts. Only a
    /// running analysis completes (`None` when it is not running any more, e.g. its SBOM was
    /// deleted meanwhile).
    pub async fn complete_analysis(
        &self,
        analysis: &Analysis,
        resolutions: &[ComponentResolution],
        findings: &[NewFinding],
        summary: &str,
    ) -> Result<Option<AnalysisOutcome>, StoreError> {
        let (sender, mut parts) = tokio::sync::mpsc::channel(2);
        let part = AnalysisPart::new(resolutions.len(), resolutions.to_vec(), findings.to_vec());
        let summary = summary.to_string();
        for progress in [
            AnalysisProgress::Part(part),
            AnalysisProgress::Done { summary },
        ] {
            // Room for both: the channel holds two.
            if sender.try_send(Ok(progress)).is_err() {
                return Err(StoreError::Corrupt("analysis parts not queued".into()));
            }
        }
        self.complete_analysis_in_parts(analysis, &mut parts).await
    }

    /// [`Store::complete_analysis`] for an analysis that sends its result in parts while it
    /// runs: the transaction starts at once, and each part's components and new findings
    /// with their `finding.new` events are written as it arrives, while the analysis works
    /// out the next (BENCHMARKS.md, SBOM analysis). What was reopened and resolved, their
    /// events and the counts follow the summary. An error received, or the channel closed
    /// before the summary, rolls everything back.
    ///
    /// Matches of one key (component and alias group) count once, the first, across parts
    /// as within one. The findings, and the events of each kind, are those of one call with
    /// every part at once.
    pub async fn complete_analysis_in_parts(
        &self,
        analysis: &Analysis,
        parts: &mut tokio::sync::mpsc::Receiver<Result<AnalysisProgress, StoreError>>,
    ) -> Result<Option<AnalysisOutcome>, StoreError> {
        let at = now();
        let outcome = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            if !tx.claim_running(analysis).await? {
                return Ok(None);
            }
            let stored = tx.previous_findings(analysis).await?;
            let previous: Vec<_> = stored.iter().map(StoredFinding::as_previous).collect();
            let mut differ = FindingDiffer::new(&previous);
            let subject = tx.event_subject(analysis).await?;
            tx.clear_new(analysis).await?;
            let (mut reopened, mut refreshed) = (Vec::new(), Vec::new());
            let mut inserted = 0;
            let mut resolved_components = 0;
            // Every match is an open finding once the analysis completes.
            let mut open_groups = std::collections::HashSet::new();
            let summary = loop {
                let part = match parts.recv().await {
                    Some(Ok(AnalysisProgress::Part(part))) => part,
                    Some(Ok(AnalysisProgress::Done { summary })) => break summary,
                    Some(Err(error)) => return Err(error),
                    None => {
                        return Err(StoreError::Corrupt(
                            "the analysis stopped before its summary".into(),
                        ))
                    }
                };
                tx.store_resolutions(analysis, &part.resolutions).await?;
                resolved_components += part.resolved;
                open_groups.extend(part.findings.iter().map(|finding| finding.group_id));
                let matches: Vec<CurrentMatch<Evidence<'_>>> = part
                    .findings
                    .iter()
                    .zip(&part.fixed_versions)
                    .map(|(finding, fixed)| current_match(finding, fixed))
                    .collect();
                let diff = differ.diff(&previous, &matches);
                let new_ids = tx.insert_new_findings(analysis, &diff.new, at).await?;
                inserted += new_ids.len();
                // Their events at once, while their findings and components are still in
                // SQLite's cache (read back at the end, a million of them took seconds).
                let events: Vec<FindingEventRow> =
                    new_ids.iter().map(|id| (FINDING_NEW, *id)).collect();
                tx.record_finding_events(analysis, &subject, &events, at).await?;
                reopened.extend(diff.reopened.iter().map(|(id, found)| Rewrite::of(*id, found)));
                refreshed.extend(diff.refreshed.iter().map(|(id, found)| Rewrite::of(*id, found)));
                drop(diff);
                drop(matches);
                // Freeing a part's findings (four strings each) is a third of a second of a
                // million: not on the writer's thread, the analysis's critical path.
                tokio::task::spawn_blocking(move || drop(part));
            };
            let resolved = differ.resolved(&previous);
            let mut open_groups: Vec<i64> = open_groups.into_iter().collect();
            open_groups.sort_unstable();
            tx.replace_open_groups(analysis, &open_groups).await?;
            let events = if previous.is_empty() {
                Vec::new()
            } else {
                tx.apply_changes(&reopened, &refreshed, &resolved, analysis, at).await?
            };
            let new_count = inserted + reopened.len();
            let new_findings = to_i64(new_count);
            let open = tx
                .record_completion(
                    analysis,
                    to_i64(resolved_components),
                    new_findings,
                    // A first analysis's findings are the ones it inserted, all open (counting
                    // a million of them again read every row).
                    previous.is_empty().then_some(new_findings),
                    &summary,
                    now(),
                )
                .await?;
            let outcome = AnalysisOutcome {
                findings: open,
                new_findings,
                resolved: to_i64(resolved.len()),
            };
            tx.record_finding_events(analysis, &subject, &events, at).await?;
            tx.record_reanalysed(analysis, &subject, &outcome, at).await?;
            tx.commit().await?;
            let new_count = usize::try_from(outcome.new_findings).unwrap_or(usize::MAX);
            self.after_bulk_write(new_count, &["findings", "sbom_components", "events"])
                .await;
            Some(outcome)
        });
        Ok(outcome)
    }
}
