//! Findings: the knowledge-base records that affect an SBOM's components, kept per component
//! and vulnerability (alias group) with how they matched and since when; the internal events
//! that new and resolved findings emit; and the re-analysis queue that follows knowledge-base
//! changes to only the SBOMs they can touch.
//!
//! Severity, EPSS and KEV are never copied into a finding: reads join them from the knowledge
//! base, so a finding is always as current as the data behind it.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use rampart_formats::advisory::SeverityBand;
use serde::{Deserialize, Serialize};

use crate::bulk::{placeholder_list, MAX_PARAMETERS};
use crate::products::{Page, PageRequest, Tenant};
use crate::sboms::{to_i64, Analysis, AnalysisRow, ANALYSIS_COLUMNS};
use crate::severity::band_of_cvss;
use crate::{sqlite_read, with_pool, Backend, Pool, Store, StoreError};

mod completion;
pub use completion::{AnalysisPart, AnalysisProgress};
mod reanalysis;

/// A match the analysis made, one per component and alias group.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFinding {
    pub component_id: i64,
    pub group_id: i64,
    /// The record that matched (internal id).
    pub vulnerability_id: i64,
    /// `purl`, `package` or `cpe`.
    pub matched_by: String,
    pub identifier: String,
    pub detail: String,
    pub range_index: Option<i64>,
    pub fixed_versions: Vec<String>,
}

/// What a completed analysis changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnalysisOutcome {
    /// Open findings of the SBOM after the analysis.
    pub findings: i64,
    /// Findings this analysis found first (or found again after they had been resolved).
    pub new_findings: i64,
    /// Findings no longer matched.
    pub resolved: i64,
}

/// The identity of a knowledge-base record, for grouping matches.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize, Deserialize)]
pub struct VulnerabilityRef {
    pub internal_id: i64,
    pub vuln_id: String,
    pub group_id: i64,
    pub source: String,
    pub published: Option<DateTime<Utc>>,
}

/// One finding as the API shows it, with the knowledge base's current view joined in.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct FindingView {
    pub id: i64,
    pub release_id: i64,
    pub sbom_id: i64,
    pub component_id: i64,
    pub component_name: String,
    pub component_version: Option<String>,
    pub component_purl: Option<String>,
    pub component_cpe: Option<String>,
    /// Internal id of the record that matched.
    pub vulnerability_id: i64,
    pub vuln_id: String,
    /// The feed that wrote the matched record.
    pub source: String,
    pub summary: Option<String>,
    pub published: Option<DateTime<Utc>>,
    /// The matched record's informational kind (RustSec `unmaintained`, `unsound`,
    /// `notice`); `None` for a vulnerability.
    pub informational: Option<String>,
    pub group_id: i64,
    pub matched_by: String,
    pub identifier: String,
    pub detail: String,
    pub range_index: Option<i64>,
    /// JSON array of versions.
    pub fixed_versions: String,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub is_new: bool,
    /// Highest CVSS base score of the alias group.
    pub cvss: Option<f64>,
    /// `critical`, `high`, `medium`, `low`, `none`, or `None` when nothing rates it.
    pub severity: Option<String>,
    pub epss: Option<f64>,
    pub epss_percentile: Option<f64>,
    pub in_kev: bool,
    /// The current triage decision (see `Store::record_dispositions`), its state, and
    /// whether it came from another release or reached the finding after it was made.
    pub disposition_id: Option<i64>,
    pub disposition_state: Option<String>,
    pub disposition_inherited: bool,
}

/// Narrows a findings listing; every `Some` must hold.
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    /// Only findings of this SBOM of the release.
    pub sbom_id: Option<i64>,
    /// Any of these severities.
    pub severities: Vec<String>,
    pub kev: Option<bool>,
    pub epss_min: Option<f64>,
    /// Has (true) or lacks (false) a fixed version.
    pub fixable: Option<bool>,
    pub new: Option<bool>,
    /// Also findings whose current decision suppresses them (`not_affected`,
    /// `false_positive`, `resolved`); hidden by default.
    pub include_suppressed: bool,
    /// Only findings whose current decision is one of these states (`untriaged`: none).
    pub states: Vec<String>,
}

/// The condition that hides suppressed findings, on a query exposing `disposition_state`.
pub(crate) fn not_suppressed_condition() -> String {
    let states: Vec<String> = rampart_core::triage::suppressed_states()
        .map(|state| format!("'{}'", state.as_str()))
        .collect();
    format!(
        "(disposition_state IS NULL OR disposition_state NOT IN ({}))",
        states.join(", ")
    )
}

/// The `states` filter value that means "no decision yet".
pub const UNTRIAGED_STATE: &str = "untriaged";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FindingSort {
    /// Highest CVSS first.
    #[default]
    Severity,
    /// Highest EPSS first.
    Epss,
    /// Most recently found first.
    Newest,
}

/// Counts over a product's open findings.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProductFindingSummary {
    /// Distinct vulnerabilities (alias groups) per severity; `unknown` when nothing rates one.
    pub by_severity: std::collections::BTreeMap<String, i64>,
    /// Distinct vulnerabilities across all releases.
    pub vulnerabilities: i64,
    /// Findings (component × vulnerability) across all releases.
    pub findings: i64,
    /// Distinct vulnerabilities in CISA KEV.
    pub kev: i64,
    /// Findings first seen by the latest analysis of their SBOM.
    pub new_findings: i64,
    pub last_analysed_at: Option<DateTime<Utc>>,
}

/// An internal event: a finding appeared or was resolved.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct FindingEvent {
    pub id: i64,
    /// `finding.new` or `finding.resolved`.
    pub kind: String,
    pub release_id: i64,
    pub sbom_id: i64,
    pub finding_id: i64,
    pub analysis_id: i64,
    pub created_at: DateTime<Utc>,
}

/// What one pass of the re-analysis queue did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReanalysisPass {
    /// The knowledge-base versions covered: changes after `from`, up to `to`.
    pub from: i64,
    pub to: i64,
    pub changed_records: usize,
    pub queued_analyses: usize,
}

/// The knowledge base's current view of a matched record, rated like a stored finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct MatchedRecordView {
    pub internal_id: i64,
    pub vuln_id: String,
    pub group_id: i64,
    pub source: String,
    pub summary: Option<String>,
    /// Highest CVSS base score of the alias group.
    pub cvss: Option<f64>,
    pub severity: Option<String>,
    pub epss: Option<f64>,
    pub epss_percentile: Option<f64>,
    pub in_kev: bool,
}

/// The severity of a finding that nothing rates.
const UNKNOWN_SEVERITY: &str = "unknown";

/// Where a findings query looks.
enum FindingScope {
    Release,
    Product,
    /// Every release of the team (`$2` is the team again), live or test ones.
    Team {
        test: bool,
    },
}

fn scope_condition(scope: &FindingScope) -> &'static str {
    match scope {
        FindingScope::Release => "f.release_id = $2",
        FindingScope::Product => {
            "f.release_id IN (SELECT id FROM releases WHERE product_id = $2 AND team_id = $1)"
        }
        FindingScope::Team { test: false } => {
            "f.release_id IN (SELECT id FROM releases WHERE team_id = $2 AND NOT is_test)"
        }
        FindingScope::Team { test: true } => {
            "f.release_id IN (SELECT id FROM releases WHERE team_id = $2 AND is_test)"
        }
    }
}

/// Open findings of the scope with the knowledge base's current view (`$1` team, `$2` the
/// release or product id), whole rows; wrapped so the outer query filters on computed
/// columns. `rows` narrows it further (a condition on `f`, e.g. the ids of one page).
fn findings_query(scope: &FindingScope, rows: Option<&str>) -> String {
    let in_scope = scope_condition(scope);
    let band_of_cvss = band_of_cvss("cvss");
    let rows = rows.map(|rows| format!(" AND {rows}")).unwrap_or_default();
    format!(
        "SELECT q.*, COALESCE({band_of_cvss}, q.record_band) AS severity FROM (
            SELECT f.id, f.release_id, f.sbom_id, f.component_id, c.name AS component_name,
                c.version AS component_version, c.purl AS component_purl, c.cpe AS component_cpe,
                f.vulnerability_id, v.vuln_id, v.source, v.summary, v.published,
                v.informational, f.group_id,
                f.matched_by, f.identifier, f.detail, f.range_index, f.fixed_versions,
                f.first_seen_at, f.last_seen_at, f.is_new, v.severity_band AS record_band,
                f.disposition_id, d.state AS disposition_state, f.disposition_inherited,
                g.cvss, g.epss, g.epss_percentile, COALESCE(g.in_kev, FALSE) AS in_kev
            FROM findings f
            JOIN vulnerabilities v ON v.id = f.vulnerability_id
            JOIN sbom_components c ON c.id = f.component_id
            LEFT JOIN dispositions d ON d.id = f.disposition_id
            LEFT JOIN group_ratings g ON g.group_id = f.group_id
            WHERE f.team_id = $1 AND {in_scope} AND f.resolved_at IS NULL{rows}
        ) q"
    )
}

/// The columns a findings page is filtered and sorted by, of the scope's open findings
/// (`$1` team, `$2` the release or product id): what `findings_release_page` and the group
/// ratings hold, so choosing a page of 10,000 findings reads no finding row whole. The
/// record's own severity band (a join per finding) only when a filter asks for `severity`.
fn page_keys_query(scope: &FindingScope, with_severity: bool) -> String {
    let in_scope = scope_condition(scope);
    let (severity, join_record) = if with_severity {
        (
            format!(
                ", COALESCE({}, v.severity_band) AS severity",
                band_of_cvss("g.cvss")
            ),
            " JOIN vulnerabilities v ON v.id = f.vulnerability_id",
        )
    } else {
        (String::new(), "")
    };
    format!(
        "SELECT f.id, f.sbom_id, f.is_new, f.first_seen_at, f.fixed_versions,
            g.cvss, g.epss, COALESCE(g.in_kev, FALSE) AS in_kev,
            d.state AS disposition_state{severity}
        FROM findings f
        LEFT JOIN group_ratings g ON g.group_id = f.group_id
        LEFT JOIN dispositions d ON d.id = f.disposition_id{join_record}
        WHERE f.team_id = $1 AND {in_scope} AND f.resolved_at IS NULL"
    )
}

/// A value bound into assembled SQL.
enum Bind {
    Text(String),
    Float(f64),
    Int(i64),
}

impl Store {
    /// Record ids, public ids, alias groups, feeds and publication times of these records
    /// (unknown ids left out).
    pub async fn vulnerability_refs(
        &self,
        internal_ids: &[i64],
    ) -> Result<HashMap<i64, VulnerabilityRef>, StoreError> {
        let unique = unique_ids(internal_ids);
        let pool = match &self.pool {
            Pool::Sqlite(pool) => {
                return sqlite_read::read(pool, |c| sqlite_vulnerability_refs(c, &unique)).await
            }
            Pool::Postgres(pool) => pool,
        };
        let mut refs = HashMap::with_capacity(unique.len());
        for chunk in unique.chunks(MAX_PARAMETERS / 2) {
            let sql = vulnerability_refs_sql(Backend::Postgres, chunk.len());
            let mut query = sqlx::query_as::<_, VulnerabilityRef>(&sql);
            for id in chunk {
                query = query.bind(id);
            }
            let rows = query.fetch_all(pool).await?;
            refs.extend(rows.into_iter().map(|row| (row.internal_id, row)));
        }
        Ok(refs)
    }

    /// A page of a release's open findings.
    pub async fn release_findings(
        &self,
        team_id: i64,
        release_id: i64,
        filter: &FindingFilter,
        sort: FindingSort,
        page: PageRequest,
    ) -> Result<Page<FindingView>, StoreError> {
        self.scoped_findings(
            team_id,
            FindingScope::Release,
            release_id,
            filter,
            sort,
            page,
        )
        .await
    }

    /// [`Store::release_findings`] across one product's releases (the caller has checked
    /// it is the tenant's), or every release of the tenant when `product_id` is `None`.
    pub async fn team_findings(
        &self,
        tenant: crate::Tenant,
        product_id: Option<i64>,
        filter: &FindingFilter,
        sort: FindingSort,
        page: PageRequest,
    ) -> Result<Page<FindingView>, StoreError> {
        let team_id = tenant.team_id;
        match product_id {
            Some(product) => {
                self.scoped_findings(team_id, FindingScope::Product, product, filter, sort, page)
                    .await
            }
            None => {
                let scope = FindingScope::Team { test: tenant.test };
                self.scoped_findings(team_id, scope, team_id, filter, sort, page)
                    .await
            }
        }
    }

    async fn scoped_findings(
        &self,
        team_id: i64,
        scope: FindingScope,
        scope_id: i64,
        filter: &FindingFilter,
        sort: FindingSort,
        page: PageRequest,
    ) -> Result<Page<FindingView>, StoreError> {
        let release_id = scope_id;
        let mut binds: Vec<Bind> = Vec::new();
        let mut conditions = Vec::new();
        // $1 and $2 are the team and release; filters bind from $3 on.
        let placeholder = |binds: &mut Vec<Bind>, value: Bind| {
            binds.push(value);
            format!("${}", binds.len() + 2)
        };
        if let Some(sbom_id) = filter.sbom_id {
            let p = placeholder(&mut binds, Bind::Int(sbom_id));
            conditions.push(format!("sbom_id = {p}"));
        }
        if !filter.severities.is_empty() {
            let list: Vec<String> = filter
                .severities
                .iter()
                .map(|s| placeholder(&mut binds, Bind::Text(s.to_lowercase())))
                .collect();
            conditions.push(format!("severity IN ({})", list.join(",")));
        }
        if let Some(kev) = filter.kev {
            conditions.push(if kev { "in_kev" } else { "NOT in_kev" }.to_string());
        }
        if let Some(min) = filter.epss_min {
            let p = placeholder(&mut binds, Bind::Float(min));
            conditions.push(format!("epss >= {p}"));
        }
        if let Some(fixable) = filter.fixable {
            let condition = if fixable {
                "fixed_versions <> '[]'"
            } else {
                "fixed_versions = '[]'"
            };
            conditions.push(condition.to_string());
        }
        if let Some(new) = filter.new {
            conditions.push(if new { "is_new" } else { "NOT is_new" }.to_string());
        }
        if !filter.include_suppressed {
            conditions.push(not_suppressed_condition());
        }
        if !filter.states.is_empty() {
            let mut alternatives = Vec::new();
            let mut listed = Vec::new();
            for state in &filter.states {
                if state == UNTRIAGED_STATE {
                    alternatives.push("disposition_state IS NULL".to_string());
                } else {
                    listed.push(placeholder(&mut binds, Bind::Text(state.clone())));
                }
            }
            if !listed.is_empty() {
                alternatives.push(format!("disposition_state IN ({})", listed.join(",")));
            }
            conditions.push(format!("({})", alternatives.join(" OR ")));
        }
        let limit = format!("${}", binds.len() + 3);
        let offset = format!("${}", binds.len() + 4);
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let order = match sort {
            FindingSort::Severity => "(cvss IS NULL), cvss DESC, (epss IS NULL), epss DESC, id",
            FindingSort::Epss => "(epss IS NULL), epss DESC, (cvss IS NULL), cvss DESC, id",
            FindingSort::Newest => "first_seen_at DESC, id DESC",
        };
        // Two steps: the page's ids from the narrow sort and filter columns, then those rows
        // whole (sorting whole rows of every finding cost 3x the 20 ms budget).
        let keys = page_keys_query(&scope, !filter.severities.is_empty());
        let list_sql = format!(
            "SELECT r.id FROM ({keys}) r{where_clause} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
        );
        let count_sql = format!("SELECT COUNT(*) FROM ({keys}) r{where_clause}");
        let (ids, total) = with_pool!(self, pool => {
            let mut list = sqlx::query_scalar::<_, i64>(&list_sql).bind(team_id).bind(release_id);
            let mut count = sqlx::query_scalar::<_, i64>(&count_sql).bind(team_id).bind(release_id);
            for bind in &binds {
                match bind {
                    Bind::Text(text) => {
                        list = list.bind(text.as_str());
                        count = count.bind(text.as_str());
                    }
                    Bind::Float(value) => {
                        list = list.bind(*value);
                        count = count.bind(*value);
                    }
                    Bind::Int(value) => {
                        list = list.bind(*value);
                        count = count.bind(*value);
                    }
                }
            }
            let ids = list.bind(page.limit()).bind(page.offset()).fetch_all(pool).await?;
            let total = count.fetch_one(pool).await?;
            Ok::<_, sqlx::Error>((ids, total))
        })?;
        if ids.is_empty() {
            return Ok(Page {
                items: Vec::new(),
                total,
            });
        }
        // Integers from the query above, not input.
        let id_list: Vec<String> = ids.iter().map(i64::to_string).collect();
        let rows_sql = findings_query(&scope, Some(&format!("f.id IN ({})", id_list.join(","))));
        let mut rows: HashMap<i64, FindingView> = with_pool!(self, pool => {
            sqlx::query_as::<_, FindingView>(&rows_sql)
                .bind(team_id)
                .bind(release_id)
                .fetch_all(pool)
                .await
        })?
        .into_iter()
        .map(|row| (row.id, row))
        .collect();
        // A finding resolved between the two steps is left out, not an error.
        let items = ids.iter().filter_map(|id| rows.remove(id)).collect();
        Ok(Page { items, total })
    }

    /// Severity (by the alias group's highest CVSS, else the record's own band), EPSS and
    /// KEV of matched records, as [`Store::release_findings`] rates stored findings; for
    /// matches that are not stored (`rampart scan`).
    pub async fn matched_record_views(
        &self,
        internal_ids: &[i64],
    ) -> Result<HashMap<i64, MatchedRecordView>, StoreError> {
        let unique = unique_ids(internal_ids);
        let pool = match &self.pool {
            Pool::Sqlite(pool) => {
                return sqlite_read::read(pool, |c| sqlite_matched_record_views(c, &unique)).await
            }
            Pool::Postgres(pool) => pool,
        };
        let mut views = HashMap::with_capacity(unique.len());
        for chunk in unique.chunks(MAX_PARAMETERS / 2) {
            let sql = matched_record_views_sql(Backend::Postgres, chunk.len());
            let mut query = sqlx::query_as::<_, MatchedRecordView>(&sql);
            for id in chunk {
                query = query.bind(id);
            }
            let rows = query.fetch_all(pool).await?;
            views.extend(rows.into_iter().map(|row| (row.internal_id, row)));
        }
        Ok(views)
    }

    /// The identifiers of each alias group (sorted), for the groups given.
    pub async fn group_identifiers(
        &self,
        group_ids: &[i64],
    ) -> Result<HashMap<i64, Vec<String>>, StoreError> {
        let unique = unique_ids(group_ids);
        let pool = match &self.pool {
            Pool::Sqlite(pool) => {
                return sqlite_read::read(pool, |c| sqlite_group_identifiers(c, &unique)).await
            }
            Pool::Postgres(pool) => pool,
        };
        let mut groups: HashMap<i64, Vec<String>> = HashMap::new();
        for chunk in unique.chunks(MAX_PARAMETERS / 2) {
            let sql = group_identifiers_sql(Backend::Postgres, chunk.len());
            let mut query = sqlx::query_as::<_, (i64, String)>(&sql);
            for id in chunk {
                query = query.bind(id);
            }
            for (group, alias) in query.fetch_all(pool).await? {
                groups.entry(group).or_default().push(alias);
            }
        }
        Ok(groups)
    }

    /// Whether the product a release belongs to matches by CPE.
    pub async fn release_cpe_matching(
        &self,
        team_id: i64,
        release_id: i64,
    ) -> Result<bool, StoreError> {
        let flag: Option<bool> = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT p.cpe_matching FROM releases r JOIN products p ON p.id = r.product_id
                 WHERE r.id = $1 AND r.team_id = $2",
            )
            .bind(release_id)
            .bind(team_id)
            .fetch_optional(pool)
            .await
        })?;
        Ok(flag.unwrap_or(false))
    }

    /// Counts over a product's open findings (`None` when the product is not the tenant's).
    pub async fn product_finding_summary(
        &self,
        tenant: Tenant,
        product_id: i64,
        include_suppressed: bool,
    ) -> Result<Option<ProductFindingSummary>, StoreError> {
        let team_id = tenant.team_id;
        let Some(_) = self.product(tenant, product_id).await? else {
            return Ok(None);
        };
        let inner = findings_query(&FindingScope::Product, None);
        let suppressed = if include_suppressed {
            String::new()
        } else {
            format!(" WHERE {}", not_suppressed_condition())
        };
        let rows_sql =
            format!("SELECT group_id, severity, in_kev, is_new FROM ({inner}) r{suppressed}");
        let rows: Vec<(i64, Option<String>, bool, bool)> = with_pool!(self, pool => {
            sqlx::query_as(&rows_sql).bind(team_id).bind(product_id).fetch_all(pool).await
        })?;
        let last_analysed_at: Option<DateTime<Utc>> = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT MAX(a.finished_at) FROM analyses a
                 JOIN releases r ON r.id = a.release_id
                 WHERE r.product_id = $1 AND a.team_id = $2 AND a.status = 'completed'",
            )
            .bind(product_id)
            .bind(team_id)
            .fetch_one(pool)
            .await
        })?;
        let mut summary = ProductFindingSummary {
            findings: to_i64(rows.len()),
            last_analysed_at,
            ..Default::default()
        };
        let bands = SeverityBand::ALL.map(SeverityBand::as_str);
        for band in bands.into_iter().chain([UNKNOWN_SEVERITY]) {
            summary.by_severity.insert(band.to_string(), 0);
        }
        let mut seen = HashSet::new();
        for (group, severity, in_kev, is_new) in rows {
            if is_new {
                summary.new_findings += 1;
            }
            if !seen.insert(group) {
                continue;
            }
            summary.vulnerabilities += 1;
            if in_kev {
                summary.kev += 1;
            }
            let band = severity.unwrap_or_else(|| UNKNOWN_SEVERITY.to_string());
            *summary.by_severity.entry(band).or_default() += 1;
        }
        Ok(Some(summary))
    }

    /// The tenant's `finding.new` and `finding.resolved` events after `after_id`, oldest
    /// first (test data's events only to test keys, live data's only to everyone else): the
    /// finding part of the event stream, in the shape `GET /api/v1/finding-events` had
    /// before the stream existed (its ids are the stream's).
    pub async fn finding_events(
        &self,
        tenant: Tenant,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<FindingEvent>, StoreError> {
        let filter = crate::EventFilter {
            types: vec![
                rampart_core::EventType::FindingNew,
                rampart_core::EventType::FindingResolved,
            ],
            after: after_id,
            since: None,
            limit,
        };
        let events = self.list_events(tenant, false, &filter).await?;
        let id = |event: &crate::EventRecord, key: &str| event.data[key].as_i64().unwrap_or(0);
        Ok(events
            .into_iter()
            .map(|event| FindingEvent {
                id: event.id,
                release_id: id(&event, "release_id"),
                sbom_id: id(&event, "sbom_id"),
                finding_id: id(&event, "finding_id"),
                analysis_id: id(&event, "analysis_id"),
                kind: event.event_type,
                created_at: event.created_at,
            })
            .collect())
    }

    /// Queued analyses of one SBOM (tests and status pages).
    pub async fn analyses_of_sbom(
        &self,
        team_id: i64,
        sbom_id: i64,
    ) -> Result<Vec<Analysis>, StoreError> {
        let sql = format!(
            "SELECT {ANALYSIS_COLUMNS} FROM analyses WHERE sbom_id = $1 AND team_id = $2 ORDER BY id"
        );
        let rows: Vec<AnalysisRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(sbom_id).bind(team_id).fetch_all(pool).await
        })?;
        rows.into_iter().map(Analysis::try_from).collect()
    }
}

/// Ids once each, in order.
fn unique_ids(ids: &[i64]) -> Vec<i64> {
    let unique: BTreeSet<i64> = ids.iter().copied().collect();
    unique.into_iter().collect()
}

/// [`Store::vulnerability_refs`]' query for `n` ids.
fn vulnerability_refs_sql(backend: Backend, n: usize) -> String {
    format!(
        "SELECT id AS internal_id, vuln_id, group_id, source, published FROM vulnerabilities
         WHERE id IN ({})",
        placeholder_list(backend, n)
    )
}

/// [`Store::matched_record_views`]' query for `n` ids.
fn matched_record_views_sql(backend: Backend, n: usize) -> String {
    let band_of_cvss = band_of_cvss("cvss");
    let list = placeholder_list(backend, n);
    format!(
        "SELECT q.internal_id, q.vuln_id, q.group_id, q.source, q.summary, q.cvss,
            COALESCE({band_of_cvss}, q.record_band) AS severity, q.epss,
            q.epss_percentile, q.in_kev
         FROM (
            SELECT v.id AS internal_id, v.vuln_id, v.group_id, v.source, v.summary,
                v.severity_band AS record_band, g.cvss, g.epss, g.epss_percentile,
                COALESCE(g.in_kev, FALSE) AS in_kev
            FROM vulnerabilities v
            LEFT JOIN group_ratings g ON g.group_id = v.group_id
            WHERE v.id IN ({list})
         ) q"
    )
}

/// [`Store::group_identifiers`]' query for `n` groups.
fn group_identifiers_sql(backend: Backend, n: usize) -> String {
    format!(
        "SELECT group_id, alias FROM vuln_aliases WHERE group_id IN ({}) ORDER BY alias",
        placeholder_list(backend, n)
    )
}

/// [`Store::vulnerability_refs`] on a SQLite connection, for ids given once each.
pub(crate) fn sqlite_vulnerability_refs(
    connection: &rusqlite::Connection,
    unique_ids: &[i64],
) -> rusqlite::Result<HashMap<i64, VulnerabilityRef>> {
    let mut refs = HashMap::with_capacity(unique_ids.len());
    for chunk in unique_ids.chunks(MAX_PARAMETERS / 2) {
        let mut statement =
            connection.prepare(&vulnerability_refs_sql(Backend::Sqlite, chunk.len()))?;
        let mut rows = statement.query(rusqlite::params_from_iter(chunk))?;
        while let Some(row) = rows.next()? {
            let reference = VulnerabilityRef {
                internal_id: row.get(0)?,
                vuln_id: row.get(1)?,
                group_id: row.get(2)?,
                source: row.get(3)?,
                published: row.get(4)?,
            };
            refs.insert(reference.internal_id, reference);
        }
    }
    Ok(refs)
}

/// [`Store::matched_record_views`] on a SQLite connection, for ids given once each.
pub(crate) fn sqlite_matched_record_views(
    connection: &rusqlite::Connection,
    unique_ids: &[i64],
) -> rusqlite::Result<HashMap<i64, MatchedRecordView>> {
    let mut views = HashMap::with_capacity(unique_ids.len());
    for chunk in unique_ids.chunks(MAX_PARAMETERS / 2) {
        let mut statement =
            connection.prepare(&matched_record_views_sql(Backend::Sqlite, chunk.len()))?;
        let mut rows = statement.query(rusqlite::params_from_iter(chunk))?;
        while let Some(row) = rows.next()? {
            let view = MatchedRecordView {
                internal_id: row.get(0)?,
                vuln_id: row.get(1)?,
                group_id: row.get(2)?,
                source: row.get(3)?,
                summary: row.get(4)?,
                cvss: row.get(5)?,
                severity: row.get(6)?,
                epss: row.get(7)?,
                epss_percentile: row.get(8)?,
                in_kev: row.get(9)?,
            };
            views.insert(view.internal_id, view);
        }
    }
    Ok(views)
}

/// [`Store::group_identifiers`] on a SQLite connection, for groups given once each.
pub(crate) fn sqlite_group_identifiers(
    connection: &rusqlite::Connection,
    unique_groups: &[i64],
) -> rusqlite::Result<HashMap<i64, Vec<String>>> {
    let mut groups: HashMap<i64, Vec<String>> = HashMap::new();
    for chunk in unique_groups.chunks(MAX_PARAMETERS / 2) {
        let mut statement =
            connection.prepare(&group_identifiers_sql(Backend::Sqlite, chunk.len()))?;
        let mut rows = statement.query(rusqlite::params_from_iter(chunk))?;
        while let Some(row) = rows.next()? {
            groups.entry(row.get(0)?).or_default().push(row.get(1)?);
        }
    }
    Ok(groups)
}
