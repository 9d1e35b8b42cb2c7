//! SBOMs: the uploaded document kept verbatim, its parsed components and dependency edges,
//! and the analysis job an upload queues, all written in one transaction.
//!
//! Components go in one row per statement through SQLite's own API on SQLite, with multi-row
//! INSERTs chunked under the bound-parameter limit on PostgreSQL ([`InsertComponents`]).

use crate::BeginWrite;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rampart_formats::sbom::{Component, ErrorLocation, License, Relationship, Sbom};

use crate::bulk::{multi_row_insert, MAX_PARAMETERS};
use crate::products::{like_pattern, Page, PageRequest, Tenant};
use crate::{now, with_pool, Backend, Pool, Store, StoreError};

/// Parameters per component row (team and SBOM ids included).
const COMPONENT_PARAMETERS: usize = 18;
const DEPENDENCY_PARAMETERS: usize = 5;
/// Rows per component INSERT.
pub const COMPONENT_CHUNK: usize = MAX_PARAMETERS / COMPONENT_PARAMETERS;
const DEPENDENCY_CHUNK: usize = MAX_PARAMETERS / DEPENDENCY_PARAMETERS;
/// Rows per `UPDATE … FROM (VALUES …)` when analysis records resolved packages.
pub(crate) const RESOLUTION_CHUNK: usize = (MAX_PARAMETERS - 2) / 4;

/// What an upload stores besides the parsed document.
pub struct NewSbom<'a> {
    pub release_id: i64,
    /// `cyclonedx_json`, `cyclonedx_xml`, `spdx_json` or `spdx_tag_value`.
    pub document_format: &'a str,
    /// The content type the client sent, returned again on download.
    pub content_type: &'a str,
    pub content: &'a [u8],
    /// Lower-case hex SHA-256 of `content`.
    pub sha256: &'a str,
    pub uploaded_by_user_id: i64,
    pub uploaded_by: &'a str,
    pub sbom: &'a Sbom,
    /// JSON: the components that name no package to look up, by reason (the server's
    /// `UnmatchedComponents`).
    pub unmatched_components: Option<&'a str>,
    /// The package each component's purl names, in the components' order (`None` for one that
    /// names none); empty when the caller did not resolve them (analysis does).
    pub packages: &'a [Option<ComponentPackage>],
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SbomRecord {
    pub id: i64,
    pub team_id: i64,
    pub release_id: i64,
    /// `cyclonedx` or `spdx`.
    pub format: String,
    pub document_format: String,
    pub spec_version: String,
    pub serial_number: Option<String>,
    pub name: Option<String>,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub component_count: i64,
    pub dependency_count: i64,
    pub uploaded_at: DateTime<Utc>,
    pub uploaded_by_user_id: i64,
    pub uploaded_by: String,
    /// Uploaded with a test key (SBOMs of test releases are test data).
    pub is_test: bool,
    /// JSON: what reading the document tolerated, `[{"message", "line"?, "column"?,
    /// "pointer"?}]`.
    pub warnings: String,
    /// JSON as given in [`NewSbom::unmatched_components`]; `None` for SBOMs stored before it
    /// was recorded.
    pub unmatched_components: Option<String>,
    /// The version, purl and CPE of `metadata.component` (CycloneDX), whose name is `name`.
    pub subject_version: Option<String>,
    pub subject_purl: Option<String>,
    pub subject_cpe: Option<String>,
}

const SBOM_COLUMNS: &str = "id, team_id, release_id, format, document_format, spec_version, serial_number, name,
    content_type, size_bytes, sha256, component_count, dependency_count, uploaded_at, uploaded_by_user_id, uploaded_by,
    is_test, warnings, unmatched_components, subject_version, subject_purl, subject_cpe";

/// A stored component, as listed by the API.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StoredComponent {
    pub id: i64,
    pub position: i64,
    pub parent_position: Option<i64>,
    pub bom_ref: Option<String>,
    pub name: String,
    pub version: Option<String>,
    pub group_name: Option<String>,
    pub purl: Option<String>,
    pub cpe: Option<String>,
    /// JSON: `[{"alg": "SHA-256", "content": "…"}]`
    pub hashes: String,
    /// JSON: `[{"id": "MIT"} | {"name": "…"} | {"expression": "…"}]`
    pub licenses: String,
    pub supplier: Option<String>,
    pub component_type: Option<String>,
    pub scope: Option<String>,
    pub ecosystem: Option<String>,
    pub package_name: Option<String>,
}

const COMPONENT_COLUMNS: &str =
    "id, position, parent_position, bom_ref, name, version, group_name, purl, cpe,
    hashes, licenses, supplier, component_type, scope, ecosystem, package_name";

/// [`Store::component_identities`]' query, the same on both backends.
const COMPONENT_IDENTITIES: &str = "SELECT id, name, version, purl, cpe, ecosystem, package_name,
    package_key FROM sbom_components WHERE sbom_id = $1 AND team_id = $2 ORDER BY position";

/// The identifiers analysis works from.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentIdentity {
    pub id: i64,
    pub name: String,
    pub version: Option<String>,
    pub purl: Option<String>,
    pub cpe: Option<String>,
    /// The package stored for it (at upload, or by an earlier analysis); `None` when none is.
    pub package: Option<ComponentPackage>,
}

/// A row of [`COMPONENT_IDENTITIES`].
#[derive(sqlx::FromRow)]
struct ComponentIdentityRow {
    id: i64,
    name: String,
    version: Option<String>,
    purl: Option<String>,
    cpe: Option<String>,
    ecosystem: Option<String>,
    package_name: Option<String>,
    package_key: Option<String>,
}

impl From<ComponentIdentityRow> for ComponentIdentity {
    fn from(row: ComponentIdentityRow) -> Self {
        let package = match (row.ecosystem, row.package_name, row.package_key) {
            (Some(ecosystem), Some(package_name), Some(package_key)) => Some(ComponentPackage {
                ecosystem,
                package_name,
                package_key,
            }),
            _ => None,
        };
        ComponentIdentity {
            id: row.id,
            name: row.name,
            version: row.version,
            purl: row.purl,
            cpe: row.cpe,
            package,
        }
    }
}

/// The package a component's purl names, as analysis looks it up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentPackage {
    /// OSV ecosystem name (`npm`, `Maven`, `PyPI`, …).
    pub ecosystem: String,
    /// The package name in that ecosystem (`org.apache:commons-text`, `@babel/core`).
    pub package_name: String,
    /// `lower(base ecosystem)/normalised name`: what re-analysis looks components up by.
    pub package_key: String,
}

/// What analysis found out about one component, where it differs from what is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentResolution {
    pub component_id: i64,
    pub package: ComponentPackage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnalysisStatus {
    Queued,
    Running,
    Completed,
    Failed,
}

impl AnalysisStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AnalysisStatus::Queued => "queued",
            AnalysisStatus::Running => "running",
            AnalysisStatus::Completed => "completed",
            AnalysisStatus::Failed => "failed",
        }
    }

    fn from_db(text: &str) -> Result<Self, StoreError> {
        match text {
            "queued" => Ok(AnalysisStatus::Queued),
            "running" => Ok(AnalysisStatus::Running),
            "completed" => Ok(AnalysisStatus::Completed),
            "failed" => Ok(AnalysisStatus::Failed),
            other => Err(StoreError::Corrupt(format!(
                "unknown analysis status {other:?}"
            ))),
        }
    }

    pub fn is_finished(self) -> bool {
        matches!(self, AnalysisStatus::Completed | AnalysisStatus::Failed)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub id: i64,
    pub team_id: i64,
    pub sbom_id: i64,
    pub release_id: i64,
    pub status: AnalysisStatus,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub attempts: i64,
    pub component_count: i64,
    /// Components whose purl named a package in a known ecosystem.
    pub resolved_count: Option<i64>,
    /// `upload` or `knowledge_base` (queued because the knowledge base changed).
    pub reason: String,
    /// Open findings after the analysis, and how many of them it found first.
    pub findings_count: Option<i64>,
    pub new_findings_count: Option<i64>,
    /// JSON object written by the analysis (per-ecosystem counts).
    pub summary: Option<String>,
    pub error: Option<String>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct AnalysisRow {
    id: i64,
    team_id: i64,
    sbom_id: i64,
    release_id: i64,
    status: String,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    attempts: i64,
    component_count: i64,
    resolved_count: Option<i64>,
    summary: Option<String>,
    error: Option<String>,
    reason: String,
    findings_count: Option<i64>,
    new_findings_count: Option<i64>,
}

impl TryFrom<AnalysisRow> for Analysis {
    type Error = StoreError;

    fn try_from(row: AnalysisRow) -> Result<Self, StoreError> {
        Ok(Analysis {
            id: row.id,
            team_id: row.team_id,
            sbom_id: row.sbom_id,
            release_id: row.release_id,
            status: AnalysisStatus::from_db(&row.status)?,
            created_at: row.created_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
            attempts: row.attempts,
            component_count: row.component_count,
            resolved_count: row.resolved_count,
            summary: row.summary,
            error: row.error,
            reason: row.reason,
            findings_count: row.findings_count,
            new_findings_count: row.new_findings_count,
        })
    }
}

pub(crate) const ANALYSIS_COLUMNS: &str =
    "id, team_id, sbom_id, release_id, status, created_at, started_at, finished_at,
    attempts, component_count, resolved_count, summary, error, reason, findings_count,
    new_findings_count";

const COMPONENT_INSERT_HEAD: &str =
    "INSERT INTO sbom_components (team_id, sbom_id, position, parent_position, bom_ref,
    name, version, group_name, purl, cpe, hashes, licenses, supplier, component_type, scope,
    ecosystem, package_name, package_key)";
const DEPENDENCY_INSERT_HEAD: &str =
    "INSERT INTO sbom_dependencies (team_id, sbom_id, from_ref, to_ref, relationship)";

fn hashes_json(component: &Component) -> String {
    let hashes: Vec<serde_json::Value> = component
        .hashes
        .iter()
        .map(|h| serde_json::json!({"alg": h.algorithm, "content": h.value}))
        .collect();
    serde_json::Value::Array(hashes).to_string()
}

fn licenses_json(component: &Component) -> String {
    let licenses: Vec<serde_json::Value> = component
        .licenses
        .iter()
        .map(|license| match license {
            License::Id(id) => serde_json::json!({"id": id}),
            License::Name(name) => serde_json::json!({"name": name}),
            License::Expression(expression) => serde_json::json!({"expression": expression}),
        })
        .collect();
    serde_json::Value::Array(licenses).to_string()
}

/// Inserts an upload's components (position, parent, identity, hashes and licences as JSON,
/// the package its purl names), in document order.
trait InsertComponents {
    async fn insert_components(
        &mut self,
        team_id: i64,
        sbom_id: i64,
        new: &NewSbom<'_>,
    ) -> Result<(), sqlx::Error>;
}

impl InsertComponents for sqlx::PgConnection {
    /// Multi-row `INSERT`s through sqlx, chunked under the bound-parameter limit.
    async fn insert_components(
        &mut self,
        team_id: i64,
        sbom_id: i64,
        new: &NewSbom<'_>,
    ) -> Result<(), sqlx::Error> {
        let sbom = new.sbom;
        for (chunk_index, chunk) in sbom.components.chunks(COMPONENT_CHUNK).enumerate() {
            let first_position = chunk_index * COMPONENT_CHUNK;
            let json: Vec<(String, String)> = chunk
                .iter()
                .map(|c| (hashes_json(c), licenses_json(c)))
                .collect();
            let sql = multi_row_insert(
                Backend::Postgres,
                COMPONENT_INSERT_HEAD,
                chunk.len(),
                COMPONENT_PARAMETERS,
            );
            let mut query = sqlx::query(&sql);
            for (offset, (component, (hashes, licenses))) in chunk.iter().zip(&json).enumerate() {
                let package = new
                    .packages
                    .get(first_position + offset)
                    .and_then(Option::as_ref);
                query = query
                    .bind(team_id)
                    .bind(sbom_id)
                    .bind(to_i64(first_position + offset))
                    .bind(component.parent.map(to_i64))
                    .bind(component.bom_ref.as_deref())
                    .bind(component.name.as_str())
                    .bind(component.version.as_deref())
                    .bind(component.group.as_deref())
                    .bind(component.purl.as_deref())
                    .bind(component.cpe.as_deref())
                    .bind(hashes.as_str())
                    .bind(licenses.as_str())
                    .bind(component.supplier.as_deref())
                    .bind(component.component_type.as_deref())
                    .bind(component.scope.as_deref())
                    .bind(package.map(|p| p.ecosystem.as_str()))
                    .bind(package.map(|p| p.package_name.as_str()))
                    .bind(package.map(|p| p.package_key.as_str()));
            }
            query.execute(&mut *self).await?;
        }
        Ok(())
    }
}

/// One component: a single-row `INSERT` stepped per component through SQLite's own API. A
/// multi-row `INSERT` through sqlx copied every value twice on its way (to sqlx's connection
/// thread, then into SQLite) and made SQLite keep a statement journal (the SBOM foreign key
/// may abort the statement): the upload of 300,000 components took 1.1–1.3 s to store them
/// (BENCHMARKS.md, SBOM analysis).
const SQLITE_INSERT_COMPONENT: &str = "INSERT INTO sbom_components (team_id, sbom_id, position,
        parent_position, bom_ref, name, version, group_name, purl, cpe, hashes, licenses,
        supplier, component_type, scope, ecosystem, package_name, package_key)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)";

impl InsertComponents for sqlx::SqliteConnection {
    /// [`SQLITE_INSERT_COMPONENT`] prepared once and stepped per component on this connection
    /// (its transaction's), on the calling thread.
    async fn insert_components(
        &mut self,
        team_id: i64,
        sbom_id: i64,
        new: &NewSbom<'_>,
    ) -> Result<(), sqlx::Error> {
        if new.sbom.components.is_empty() {
            return Ok(());
        }
        crate::sqlite_read::on_connection(self, |connection| {
            let mut statement = connection.prepare(SQLITE_INSERT_COMPONENT)?;
            statement.raw_bind_parameter(1, team_id)?;
            statement.raw_bind_parameter(2, sbom_id)?;
            for (position, component) in new.sbom.components.iter().enumerate() {
                let package = new.packages.get(position).and_then(Option::as_ref);
                statement.raw_bind_parameter(3, to_i64(position))?;
                statement.raw_bind_parameter(4, component.parent.map(to_i64))?;
                statement.raw_bind_parameter(5, component.bom_ref.as_deref())?;
                statement.raw_bind_parameter(6, component.name.as_str())?;
                statement.raw_bind_parameter(7, component.version.as_deref())?;
                statement.raw_bind_parameter(8, component.group.as_deref())?;
                statement.raw_bind_parameter(9, component.purl.as_deref())?;
                statement.raw_bind_parameter(10, component.cpe.as_deref())?;
                statement.raw_bind_parameter(11, hashes_json(component))?;
                statement.raw_bind_parameter(12, licenses_json(component))?;
                statement.raw_bind_parameter(13, component.supplier.as_deref())?;
                statement.raw_bind_parameter(14, component.component_type.as_deref())?;
                statement.raw_bind_parameter(15, component.scope.as_deref())?;
                statement.raw_bind_parameter(16, package.map(|p| p.ecosystem.as_str()))?;
                statement.raw_bind_parameter(17, package.map(|p| p.package_name.as_str()))?;
                statement.raw_bind_parameter(18, package.map(|p| p.package_key.as_str()))?;
                statement.raw_execute()?;
            }
            Ok(())
        })
        .await
    }
}

/// The document's warnings as stored: one object per warning, with its location.
fn warnings_json(sbom: &Sbom) -> String {
    let warnings: Vec<serde_json::Value> = sbom
        .warnings
        .iter()
        .map(|warning| {
            let mut object = serde_json::json!({"message": warning.message});
            match &warning.location {
                Some(ErrorLocation::LineColumn { line, column }) => {
                    object["line"] = serde_json::json!(line);
                    object["column"] = serde_json::json!(column);
                }
                Some(ErrorLocation::JsonPointer(pointer)) => {
                    object["pointer"] = serde_json::json!(pointer);
                }
                None => {}
            }
            object
        })
        .collect();
    serde_json::Value::Array(warnings).to_string()
}

fn relationship_text(relationship: Relationship) -> &'static str {
    match relationship {
        Relationship::DependsOn => "depends_on",
        Relationship::Contains => "contains",
    }
}

pub(crate) fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Store {
    /// Stores an SBOM: the document, its components and dependency edges, a queued
    /// analysis and the audit record `event` (targeted at the SBOM), in one transaction
    /// (all or nothing). `None` when the release is not the
    /// team's.
    pub async fn create_sbom(
        &self,
        tenant: impl Into<Tenant>,
        new: &NewSbom<'_>,
        event: &crate::AuditEvent,
    ) -> Result<Option<(SbomRecord, Analysis)>, StoreError> {
        let tenant = tenant.into();
        let team_id = tenant.team_id;
        let at = now();
        let backend = self.backend();
        let sbom = new.sbom;
        let format = match sbom.format {
            rampart_formats::sbom::SbomFormat::CycloneDx => "cyclonedx",
            rampart_formats::sbom::SbomFormat::Spdx => "spdx",
        };
        let insert_sbom = format!(
            "INSERT INTO sboms (team_id, release_id, format, document_format, spec_version, serial_number, name,
                content_type, size_bytes, sha256, component_count, dependency_count, uploaded_at,
                uploaded_by_user_id, uploaded_by, is_test, warnings, unmatched_components,
                subject_version, subject_purl, subject_cpe)
             SELECT team_id, id, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, is_test, $17, $18,
                $19, $20, $21
             FROM releases WHERE id = $1 AND team_id = $2 AND is_test = $16
             RETURNING {SBOM_COLUMNS}"
        );
        let warnings = warnings_json(sbom);
        let insert_analysis = format!(
            "INSERT INTO analyses (team_id, sbom_id, release_id, status, created_at, component_count)
             VALUES ($1, $2, $3, 'queued', $4, $5) RETURNING {ANALYSIS_COLUMNS}"
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let record: Option<SbomRecord> = sqlx::query_as(&insert_sbom)
                .bind(new.release_id)
                .bind(team_id)
                .bind(format)
                .bind(new.document_format)
                .bind(&sbom.spec_version)
                .bind(&sbom.serial_number)
                .bind(&sbom.name)
                .bind(new.content_type)
                .bind(to_i64(new.content.len()))
                .bind(new.sha256)
                .bind(to_i64(sbom.components.len()))
                .bind(to_i64(sbom.dependencies.len()))
                .bind(at)
                .bind(new.uploaded_by_user_id)
                .bind(new.uploaded_by)
                .bind(tenant.test)
                .bind(&warnings)
                .bind(new.unmatched_components)
                .bind(sbom.primary_component.as_ref().and_then(|c| c.version.as_deref()))
                .bind(sbom.primary_component.as_ref().and_then(|c| c.purl.as_deref()))
                .bind(sbom.primary_component.as_ref().and_then(|c| c.cpe.as_deref()))
                .fetch_optional(&mut *tx)
                .await?;
            let Some(record) = record else {
                return Ok(None);
            };
            crate::audit::insert_audit!(&mut *tx, &event.clone().target("sbom", record.id), at)?;
            sqlx::query("INSERT INTO sbom_documents (sbom_id, team_id, content) VALUES ($1, $2, $3)")
                .bind(record.id)
                .bind(team_id)
                .bind(new.content)
                .execute(&mut *tx)
                .await?;

            (*tx).insert_components(team_id, record.id, new).await?;

            for chunk in sbom.dependencies.chunks(DEPENDENCY_CHUNK) {
                let sql = multi_row_insert(backend, DEPENDENCY_INSERT_HEAD, chunk.len(), DEPENDENCY_PARAMETERS);
                let mut query = sqlx::query(&sql);
                for edge in chunk {
                    query = query
                        .bind(team_id)
                        .bind(record.id)
                        .bind(edge.from.as_str())
                        .bind(edge.to.as_str())
                        .bind(relationship_text(edge.relationship));
                }
                query.execute(&mut *tx).await?;
            }

            let analysis: AnalysisRow = sqlx::query_as(&insert_analysis)
                .bind(team_id)
                .bind(record.id)
                .bind(record.release_id)
                .bind(at)
                .bind(record.component_count)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Some((record, Analysis::try_from(analysis)?)))
        })
    }

    pub async fn sbom(
        &self,
        tenant: impl Into<Tenant>,
        id: i64,
    ) -> Result<Option<SbomRecord>, StoreError> {
        let tenant = tenant.into();
        let sql = format!(
            "SELECT {SBOM_COLUMNS} FROM sboms WHERE id = $1 AND team_id = $2 AND is_test = $3"
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

    /// A release's SBOMs, newest first. `None` when the release is not the team's.
    pub async fn list_sboms(
        &self,
        tenant: impl Into<Tenant>,
        release_id: i64,
        page: PageRequest,
    ) -> Result<Option<Page<SbomRecord>>, StoreError> {
        let tenant = tenant.into();
        // An SBOM has its release's flag, so the release check keeps the partitions apart.
        if self.release(tenant, release_id).await?.is_none() {
            return Ok(None);
        }
        let team_id = tenant.team_id;
        let sql = format!(
            "SELECT {SBOM_COLUMNS} FROM sboms WHERE release_id = $1 AND team_id = $2
             ORDER BY uploaded_at DESC, id DESC LIMIT $3 OFFSET $4"
        );
        let (items, total) = with_pool!(self, pool => {
            let items: Vec<SbomRecord> = sqlx::query_as(&sql)
                .bind(release_id)
                .bind(team_id)
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(pool)
                .await?;
            let total: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM sboms WHERE release_id = $1 AND team_id = $2",
            )
            .bind(release_id)
            .bind(team_id)
            .fetch_one(pool)
            .await?;
            (items, total)
        });
        Ok(Some(Page { items, total }))
    }

    /// The uploaded bytes and the content type they came with.
    pub async fn sbom_document(
        &self,
        team_id: i64,
        id: i64,
    ) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT s.content_type, d.content FROM sboms s JOIN sbom_documents d ON d.sbom_id = s.id
                 WHERE s.id = $1 AND s.team_id = $2",
            )
            .bind(id)
            .bind(team_id)
            .fetch_optional(pool)
            .await
        })?)
    }

    /// An SBOM's components in document order, optionally only those whose name, purl or
    /// version contains `query` (case-insensitive). `None` when the SBOM is not the team's.
    pub async fn list_sbom_components(
        &self,
        tenant: impl Into<Tenant>,
        sbom_id: i64,
        query: Option<&str>,
        page: PageRequest,
    ) -> Result<Option<Page<StoredComponent>>, StoreError> {
        let tenant = tenant.into();
        if self.sbom(tenant, sbom_id).await?.is_none() {
            return Ok(None);
        }
        let team_id = tenant.team_id;
        let pattern = query.map(like_pattern);
        let filter = "sbom_id = $1 AND team_id = $2 AND ($3 IS NULL OR LOWER(name) LIKE $3 ESCAPE '\\'
            OR LOWER(COALESCE(purl, '')) LIKE $3 ESCAPE '\\' OR LOWER(COALESCE(version, '')) LIKE $3 ESCAPE '\\')";
        let list_sql = format!(
            "SELECT {COMPONENT_COLUMNS} FROM sbom_components WHERE {filter} ORDER BY position LIMIT $4 OFFSET $5"
        );
        let count_sql = format!("SELECT COUNT(*) FROM sbom_components WHERE {filter}");
        let (items, total) = with_pool!(self, pool => {
            let items: Vec<StoredComponent> = sqlx::query_as(&list_sql)
                .bind(sbom_id)
                .bind(team_id)
                .bind(&pattern)
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(pool)
                .await?;
            let total: i64 = sqlx::query_scalar(&count_sql)
                .bind(sbom_id)
                .bind(team_id)
                .bind(&pattern)
                .fetch_one(pool)
                .await?;
            (items, total)
        });
        Ok(Some(Page { items, total }))
    }

    /// Deletes an SBOM with its document, components, edges and analyses, recording `event`.
    pub async fn delete_sbom(
        &self,
        tenant: impl Into<Tenant>,
        id: i64,
        event: &crate::AuditEvent,
    ) -> Result<bool, StoreError> {
        self.delete_tenant_row("sboms", "sbom", tenant.into(), id, event)
            .await
    }

    /// Row counts of the SBOM tables for one team (tests check that a rejected upload
    /// stored nothing and a delete left nothing behind).
    pub async fn sbom_row_counts(&self, team_id: i64) -> Result<[i64; 5], StoreError> {
        let mut counts = [0; 5];
        for (slot, table) in counts.iter_mut().zip([
            "sboms",
            "sbom_documents",
            "sbom_components",
            "sbom_dependencies",
            "analyses",
        ]) {
            let sql = format!("SELECT COUNT(*) FROM {table} WHERE team_id = $1");
            *slot = with_pool!(self, pool => {
                sqlx::query_scalar(&sql).bind(team_id).fetch_one(pool).await
            })?;
        }
        Ok(counts)
    }

    pub async fn analysis(&self, team_id: i64, id: i64) -> Result<Option<Analysis>, StoreError> {
        let sql = format!("SELECT {ANALYSIS_COLUMNS} FROM analyses WHERE id = $1 AND team_id = $2");
        let row: Option<AnalysisRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).bind(team_id).fetch_optional(pool).await
        })?;
        row.map(Analysis::try_from).transpose()
    }

    /// The most recent analysis of an SBOM.
    pub async fn latest_analysis(
        &self,
        team_id: i64,
        sbom_id: i64,
    ) -> Result<Option<Analysis>, StoreError> {
        let sql = format!(
            "SELECT {ANALYSIS_COLUMNS} FROM analyses WHERE sbom_id = $1 AND team_id = $2 ORDER BY id DESC LIMIT 1"
        );
        let row: Option<AnalysisRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(sbom_id).bind(team_id).fetch_optional(pool).await
        })?;
        row.map(Analysis::try_from).transpose()
    }

    /// The job queue's claim: takes the oldest queued analysis (or one whose worker's lease
    /// ran out) and marks it running under a new lease, atomically. Across replicas on
    /// PostgreSQL `FOR UPDATE SKIP LOCKED` lets concurrent workers take different rows;
    /// SQLite serialises writers, so the single UPDATE is already exclusive.
    pub async fn claim_analysis(&self, lease: Duration) -> Result<Option<Analysis>, StoreError> {
        let at = now();
        let lease_until =
            at + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::days(1));
        let lock = match self.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE analyses SET status = 'running', started_at = $1, lease_expires_at = $2,
                attempts = attempts + 1
             WHERE id = (SELECT id FROM analyses
                         WHERE status = 'queued' OR (status = 'running' AND lease_expires_at < $1)
                         ORDER BY id LIMIT 1 {lock})
             RETURNING {ANALYSIS_COLUMNS}"
        );
        let row: Option<AnalysisRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(at).bind(lease_until).fetch_optional(pool).await
        })?;
        row.map(Analysis::try_from).transpose()
    }

    /// Extends the lease of a running analysis by `lease` from now, while it is still the
    /// claim this worker holds (the same attempt); `false` when it is not any more.
    pub async fn renew_analysis_lease(
        &self,
        analysis: &Analysis,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let until = now() + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::days(1));
        let renewed = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE analyses SET lease_expires_at = $1
                 WHERE id = $2 AND status = 'running' AND attempts = $3",
            )
            .bind(until)
            .bind(analysis.id)
            .bind(analysis.attempts)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(renewed == 1)
    }

    /// The identifiers of an SBOM's components, for analysis.
    pub async fn component_identities(
        &self,
        team_id: i64,
        sbom_id: i64,
    ) -> Result<Vec<ComponentIdentity>, StoreError> {
        let pool = match &self.pool {
            // Hundreds of thousands of rows: stepped through SQLite's own API, no row copied
            // between threads (`sqlite_read`).
            Pool::Sqlite(pool) => {
                return crate::sqlite_read::read(pool, |connection| {
                    let mut statement = connection.prepare(COMPONENT_IDENTITIES)?;
                    let rows = statement.query_map((sbom_id, team_id), |row| {
                        Ok(ComponentIdentity::from(ComponentIdentityRow {
                            id: row.get(0)?,
                            name: row.get(1)?,
                            version: row.get(2)?,
                            purl: row.get(3)?,
                            cpe: row.get(4)?,
                            ecosystem: row.get(5)?,
                            package_name: row.get(6)?,
                            package_key: row.get(7)?,
                        }))
                    })?;
                    rows.collect()
                })
                .await
            }
            Pool::Postgres(pool) => pool,
        };
        let rows: Vec<ComponentIdentityRow> = sqlx::query_as(COMPONENT_IDENTITIES)
            .bind(sbom_id)
            .bind(team_id)
            .fetch_all(pool)
            .await?;
        Ok(rows.into_iter().map(ComponentIdentity::from).collect())
    }

    /// Marks a running analysis failed with a message for the API.
    pub async fn fail_analysis(&self, analysis_id: i64, error: &str) -> Result<(), StoreError> {
        let at = now();
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE analyses SET status = 'failed', finished_at = $2, lease_expires_at = NULL, error = $3
                 WHERE id = $1 AND status = 'running'",
            )
            .bind(analysis_id)
            .bind(at)
            .bind(error)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }
}

impl Store {
    /// Queues a re-analysis of SBOMs of the tenant (`cve:trigger`): of one SBOM, or of every
    /// SBOM of a release. An SBOM that already has a queued analysis keeps it (it is
    /// returned instead of a second one). One audit entry; `None` when the SBOM or release
    /// is not the tenant's.
    pub async fn queue_manual_analyses(
        &self,
        tenant: impl Into<Tenant>,
        of: AnalysisSubject,
        event: &crate::AuditEvent,
    ) -> Result<Option<Vec<Analysis>>, StoreError> {
        let tenant = tenant.into();
        let at = now();
        let (condition, id) = match of {
            AnalysisSubject::Sbom(id) => ("id = $1", id),
            AnalysisSubject::Release(id) => ("release_id = $1", id),
        };
        let find_sboms = format!(
            "SELECT id FROM sboms WHERE {condition} AND team_id = $2 AND is_test = $3 ORDER BY id"
        );
        let owner_exists = match of {
            AnalysisSubject::Sbom(_) => None,
            AnalysisSubject::Release(_) => {
                Some("SELECT id FROM releases WHERE id = $1 AND team_id = $2 AND is_test = $3")
            }
        };
        // Reads first, outside the transaction: on SQLite a transaction that reads and then
        // writes while another connection commits fails at once (its snapshot is stale); one
        // whose first statement writes waits for the lock like any writer.
        let sboms: Option<Vec<i64>> = with_pool!(self, pool => {
            if let Some(sql) = owner_exists {
                let found: Option<i64> = sqlx::query_scalar(sql)
                    .bind(id)
                    .bind(tenant.team_id)
                    .bind(tenant.test)
                    .fetch_optional(pool)
                    .await?;
                if found.is_none() {
                    return Ok(None);
                }
            }
            let sboms: Vec<i64> = sqlx::query_scalar(&find_sboms)
                .bind(id)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .fetch_all(pool)
                .await?;
            Ok::<_, sqlx::Error>(Some(sboms))
        })?;
        let Some(sboms) = sboms else {
            return Ok(None);
        };
        if sboms.is_empty() && matches!(of, AnalysisSubject::Sbom(_)) {
            return Ok(None);
        }
        // Queued unless one is queued already; the audit entry in the same transaction.
        let insert_sql = "INSERT INTO analyses (team_id, sbom_id, release_id, status, created_at,
                component_count, reason)
             SELECT s.team_id, s.id, s.release_id, 'queued', $2, s.component_count, 'manual'
             FROM sboms s WHERE s.id = $1 AND NOT EXISTS (
                SELECT 1 FROM analyses a WHERE a.sbom_id = s.id AND a.status = 'queued')";
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            for sbom_id in &sboms {
                sqlx::query(insert_sql).bind(sbom_id).bind(at).execute(&mut *tx).await?;
            }
            crate::audit::insert_audit!(&mut *tx, event, at)?;
            tx.commit().await
        })?;
        let latest_sql = format!(
            "SELECT {ANALYSIS_COLUMNS} FROM analyses WHERE sbom_id = $1 ORDER BY id DESC LIMIT 1"
        );
        let mut rows: Vec<AnalysisRow> = Vec::with_capacity(sboms.len());
        for sbom_id in &sboms {
            let row: Option<AnalysisRow> = with_pool!(self, pool => {
                sqlx::query_as(&latest_sql).bind(sbom_id).fetch_optional(pool).await
            })?;
            // An SBOM deleted meanwhile has no analysis left to show.
            rows.extend(row);
        }
        let rows = Some(rows);
        rows.map(|rows| rows.into_iter().map(Analysis::try_from).collect())
            .transpose()
    }
}

/// What [`Store::queue_manual_analyses`] re-analyses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnalysisSubject {
    Sbom(i64),
    Release(i64),
}
