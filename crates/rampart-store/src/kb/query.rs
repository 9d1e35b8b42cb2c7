//! Reading the knowledge base: alias groups, records, enrichment (KEV, EPSS, exploits).

use chrono::{DateTime, Utc};
use rampart_core::match_index::AffectedInput;
use rampart_formats::advisory::{Advisory, AffectedRange};
use serde::{Deserialize, Serialize};

use super::records::{with_page_urls, EpssPoint, EpssView, ExploitView, KevView};
use crate::bulk::{placeholder_list, MAX_PARAMETERS};
use crate::{sqlite_read, with_pool, Backend, PageRequest, Pool, Store, StoreError};

/// One stored record with its internal id.
#[derive(Debug, Clone)]
pub struct StoredVulnerability {
    /// Internal numeric id (stable across updates of the record).
    pub internal_id: i64,
    pub group_id: i64,
    /// The feed that wrote the current version.
    pub source: String,
    pub advisory: Advisory,
}

#[derive(sqlx::FromRow)]
struct RecordRow {
    id: i64,
    group_id: i64,
    source: String,
    record: String,
}

impl TryFrom<RecordRow> for StoredVulnerability {
    type Error = StoreError;

    fn try_from(row: RecordRow) -> Result<Self, StoreError> {
        let advisory = serde_json::from_str(&row.record)
            .map_err(|e| StoreError::Corrupt(format!("vulnerability {} record: {e}", row.id)))?;
        Ok(StoredVulnerability {
            internal_id: row.id,
            group_id: row.group_id,
            source: row.source,
            advisory,
        })
    }
}

/// A vulnerability as one alias group: the record asked for (or the group's primary), every
/// member record, every identifier, and the enrichment joined by CVE id.
#[derive(Debug, Clone)]
pub struct VulnerabilityGroup {
    pub primary: StoredVulnerability,
    pub members: Vec<StoredVulnerability>,
    /// Every identifier of the group, sorted.
    pub identifiers: Vec<String>,
    pub kev: Vec<KevView>,
    pub epss: Vec<EpssView>,
    pub exploits: Vec<ExploitView>,
}

/// What KEV, EPSS and Exploit Database say about some CVE ids. These feeds are keyed by CVE
/// id alone, so they answer whether or not a vulnerability record of the CVE is stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CveEnrichment {
    pub kev: Vec<KevView>,
    pub epss: Vec<EpssView>,
    pub exploits: Vec<ExploitView>,
}

impl CveEnrichment {
    /// True when no feed knows the CVEs.
    pub fn is_empty(&self) -> bool {
        self.kev.is_empty() && self.epss.is_empty() && self.exploits.is_empty()
    }
}

impl Store {
    /// The alias group an identifier belongs to (exact, then upper-cased: `cve-2021-1` finds
    /// `CVE-2021-1`).
    pub async fn alias_group(&self, alias: &str) -> Result<Option<i64>, StoreError> {
        let alias = alias.trim();
        for candidate in [alias.to_string(), alias.to_uppercase()] {
            let group: Option<i64> = with_pool!(self, pool => {
                sqlx::query_scalar("SELECT group_id FROM vuln_aliases WHERE alias = $1")
                    .bind(&candidate)
                    .fetch_optional(pool)
                    .await
            })?;
            if group.is_some() {
                return Ok(group);
            }
        }
        Ok(None)
    }

    /// The ids of the records stored in a group.
    pub async fn group_members(&self, group_id: i64) -> Result<Vec<String>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar("SELECT vuln_id FROM vulnerabilities WHERE group_id = $1 ORDER BY vuln_id")
                .bind(group_id)
                .fetch_all(pool)
                .await
        })?)
    }

    /// The stored record with exactly this id.
    pub async fn advisory(&self, vuln_id: &str) -> Result<Option<Advisory>, StoreError> {
        Ok(self
            .stored_vulnerability(vuln_id)
            .await?
            .map(|stored| stored.advisory))
    }

    pub async fn stored_vulnerability(
        &self,
        vuln_id: &str,
    ) -> Result<Option<StoredVulnerability>, StoreError> {
        let row: Option<RecordRow> = with_pool!(self, pool => {
            sqlx::query_as("SELECT id, group_id, source, record FROM vulnerabilities WHERE vuln_id = $1")
                .bind(vuln_id)
                .fetch_optional(pool)
                .await
        })?;
        row.map(StoredVulnerability::try_from).transpose()
    }

    /// Records by internal id, in the order asked; unknown ids are left out.
    pub async fn stored_vulnerabilities(
        &self,
        internal_ids: &[i64],
    ) -> Result<Vec<StoredVulnerability>, StoreError> {
        let mut found = Vec::with_capacity(internal_ids.len());
        for id in internal_ids {
            let row: Option<RecordRow> = with_pool!(self, pool => {
                sqlx::query_as("SELECT id, group_id, source, record FROM vulnerabilities WHERE id = $1")
                    .bind(id)
                    .fetch_optional(pool)
                    .await
            })?;
            if let Some(row) = row {
                found.push(StoredVulnerability::try_from(row)?);
            }
        }
        Ok(found)
    }

    /// The group any identifier (or a record's internal id) belongs to, with the record asked
    /// for as primary; an identifier that only appears as an alias gets the group's CVE
    /// record, else its first record by id. `None` when unknown or the group holds no record.
    pub async fn vulnerability_group(
        &self,
        id_or_alias: &str,
    ) -> Result<Option<VulnerabilityGroup>, StoreError> {
        let Some(group_id) = self.alias_group(id_or_alias).await? else {
            return Ok(None);
        };
        let rows: Vec<RecordRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, group_id, source, record FROM vulnerabilities WHERE group_id = $1 ORDER BY vuln_id",
            )
            .bind(group_id)
            .fetch_all(pool)
            .await
        })?;
        let members = rows
            .into_iter()
            .map(StoredVulnerability::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        let wanted = id_or_alias.trim();
        let primary = members
            .iter()
            .find(|m| m.advisory.id == wanted)
            .or_else(|| {
                members
                    .iter()
                    .find(|m| m.advisory.id.eq_ignore_ascii_case(wanted))
            })
            .or_else(|| members.iter().find(|m| m.advisory.id.starts_with("CVE-")))
            .or_else(|| members.first())
            .cloned();
        let Some(primary) = primary else {
            return Ok(None);
        };
        let identifiers: Vec<String> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT alias FROM vuln_aliases WHERE group_id = $1 ORDER BY alias")
                .bind(group_id)
                .fetch_all(pool)
                .await
        })?;
        let cve_ids: Vec<String> = identifiers
            .iter()
            .filter(|id| id.starts_with("CVE-"))
            .cloned()
            .collect();
        let CveEnrichment {
            kev,
            epss,
            exploits,
        } = self.cve_enrichment(&cve_ids).await?;
        Ok(Some(VulnerabilityGroup {
            primary,
            members,
            identifiers,
            kev,
            epss,
            exploits,
        }))
    }

    /// The EPSS history of these CVE ids (as stored: upper case), by CVE then day.
    pub async fn epss_history(&self, cve_ids: &[String]) -> Result<Vec<EpssPoint>, StoreError> {
        if cve_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT cve_id, score_day, epss, percentile FROM epss_history
             WHERE cve_id IN ({}) ORDER BY cve_id, score_day",
            placeholder_list(self.backend(), cve_ids.len())
        );
        Ok(with_pool!(self, pool => {
            let mut query = sqlx::query_as(&sql);
            for id in cve_ids {
                query = query.bind(id);
            }
            query.fetch_all(pool).await
        })?)
    }

    /// KEV entries, EPSS scores and exploits of these CVE ids (as stored: upper case).
    pub async fn cve_enrichment(&self, cve_ids: &[String]) -> Result<CveEnrichment, StoreError> {
        if cve_ids.is_empty() {
            return Ok(CveEnrichment::default());
        }
        // A group or a request names a handful of CVEs: one statement per feed.
        let list = placeholder_list(self.backend(), cve_ids.len());
        let kev_sql = format!(
            "SELECT cve_id, vendor_project, product, vulnerability_name, date_added,
                    short_description, required_action, due_date,
                    known_ransomware_campaign_use, notes
             FROM kev_entries WHERE cve_id IN ({list}) ORDER BY cve_id"
        );
        let epss_sql = format!(
            "SELECT cve_id, epss, percentile, score_date, model_version
             FROM epss_scores WHERE cve_id IN ({list}) ORDER BY cve_id"
        );
        let exploits_sql = format!(
            "SELECT x.edb_id, c.cve_id, x.description, x.exploit_type, x.platform,
                    x.date_published, x.verified, x.author, x.source_url
             FROM exploits x JOIN exploit_cves c ON c.edb_id = x.edb_id
             WHERE c.cve_id IN ({list}) ORDER BY x.edb_id, c.cve_id"
        );
        Ok(with_pool!(self, pool => {
            let mut kev = sqlx::query_as(&kev_sql);
            let mut epss = sqlx::query_as(&epss_sql);
            let mut exploits = sqlx::query_as(&exploits_sql);
            for id in cve_ids {
                kev = kev.bind(id);
                epss = epss.bind(id);
                exploits = exploits.bind(id);
            }
            Ok::<_, sqlx::Error>(CveEnrichment {
                kev: kev.fetch_all(pool).await?,
                epss: epss.fetch_all(pool).await?,
                exploits: with_page_urls(exploits.fetch_all(pool).await?),
            })
        })?)
    }
}

/// Sort orders of vulnerability lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VulnerabilitySort {
    /// Highest EPSS score first, unscored last.
    Epss,
    /// Most recently published first (the default).
    #[default]
    Newest,
    Oldest,
}

/// What to list; every field narrows the result (all `None` = everything).
#[derive(Debug, Clone, Default)]
pub struct VulnerabilityFilter {
    /// OSV ecosystem (case-insensitive), with or without `package`.
    pub ecosystem: Option<String>,
    /// Package name as the ecosystem spells it (normalised like the stored names).
    pub package: Option<String>,
    /// Only records with a CPE match on this (vendor, product).
    pub cpe_product: Option<(String, String)>,
    /// Highest CVSS band: `critical`, `high`, `medium`, `low`, `none`.
    pub severity: Option<String>,
    /// In (true) or not in (false) CISA KEV.
    pub kev: Option<bool>,
    /// Substring of the id, summary or details (case-insensitive).
    pub text: Option<String>,
    /// Only these internal ids (e.g. a version-aware match from the index).
    pub internal_ids: Option<Vec<i64>>,
}

/// One line of a vulnerability list.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct VulnerabilitySummary {
    pub internal_id: i64,
    pub vuln_id: String,
    pub group_id: i64,
    pub summary: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub modified: DateTime<Utc>,
    pub withdrawn: Option<DateTime<Utc>>,
    pub max_cvss: Option<f64>,
    pub severity_band: Option<String>,
    pub has_exploit_reference: bool,
    pub epss: Option<f64>,
    pub epss_percentile: Option<f64>,
    pub in_kev: bool,
}

/// A value bound into dynamically assembled SQL.
enum Bind {
    Text(String),
    Int(i64),
}

/// The select list of [`VulnerabilitySummary`], enrichment joined through the alias group.
const SUMMARY_COLUMNS: &str = "v.id AS internal_id, v.vuln_id, v.group_id, v.summary, v.published,
    v.modified, v.withdrawn, v.max_cvss, v.severity_band, v.has_exploit_reference,
    (SELECT g.epss FROM group_ratings g WHERE g.group_id = v.group_id) AS epss,
    (SELECT g.epss_percentile FROM group_ratings g WHERE g.group_id = v.group_id) AS epss_percentile,
    EXISTS (SELECT 1 FROM group_ratings g WHERE g.group_id = v.group_id AND g.in_kev) AS in_kev";

impl Store {
    /// A page of vulnerability records (1-based `page`) and the total count.
    pub async fn list_vulnerabilities(
        &self,
        filter: &VulnerabilityFilter,
        sort: VulnerabilitySort,
        page: PageRequest,
    ) -> Result<(Vec<VulnerabilitySummary>, u64), StoreError> {
        let is_postgres = matches!(self.backend(), crate::Backend::Postgres);
        let mut conditions: Vec<String> = Vec::new();
        let mut binds: Vec<Bind> = Vec::new();
        let next = |binds: &mut Vec<Bind>, value: Bind| {
            binds.push(value);
            format!("${}", binds.len())
        };
        match (&filter.ecosystem, &filter.package) {
            (Some(ecosystem), Some(package)) => {
                let e = next(&mut binds, Bind::Text(ecosystem.trim().to_lowercase()));
                let n = next(
                    &mut binds,
                    Bind::Text(rampart_core::normalize_package_name(ecosystem, package)),
                );
                conditions.push(format!(
                    "EXISTS (SELECT 1 FROM affected_packages p WHERE p.vulnerability_id = v.id
                     AND LOWER(p.ecosystem) = {e} AND p.normalized_name = {n})"
                ));
            }
            (Some(ecosystem), None) => {
                let e = next(&mut binds, Bind::Text(ecosystem.trim().to_lowercase()));
                conditions.push(format!(
                    "EXISTS (SELECT 1 FROM affected_packages p WHERE p.vulnerability_id = v.id
                     AND LOWER(p.ecosystem) = {e})"
                ));
            }
            (None, Some(package)) => {
                let n = next(&mut binds, Bind::Text(package.trim().to_lowercase()));
                conditions.push(format!(
                    "EXISTS (SELECT 1 FROM affected_packages p WHERE p.vulnerability_id = v.id
                     AND LOWER(p.name) = {n})"
                ));
            }
            (None, None) => {}
        }
        if let Some((vendor, product)) = &filter.cpe_product {
            let vendor = next(&mut binds, Bind::Text(vendor.clone()));
            let product = next(&mut binds, Bind::Text(product.clone()));
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM cpe_matches m JOIN cpe_products c ON c.id = m.product_id
                 WHERE m.vulnerability_id = v.id AND c.vendor = {vendor} AND c.product = {product})"
            ));
        }
        if let Some(band) = &filter.severity {
            let band = next(&mut binds, Bind::Text(band.to_lowercase()));
            conditions.push(format!("v.severity_band = {band}"));
        }
        if let Some(kev) = filter.kev {
            conditions.push(format!(
                "{} EXISTS (SELECT 1 FROM group_ratings g WHERE g.group_id = v.group_id AND g.in_kev)",
                if kev { "" } else { "NOT" }
            ));
        }
        if let Some(text) = &filter.text {
            let pattern = format!("%{}%", text.to_lowercase().replace(['%', '_'], ""));
            let p = next(&mut binds, Bind::Text(pattern));
            conditions.push(format!(
                "(LOWER(v.vuln_id) LIKE {p} OR LOWER(COALESCE(v.summary, '')) LIKE {p}
                  OR LOWER(COALESCE(v.details, '')) LIKE {p})"
            ));
        }
        if let Some(ids) = &filter.internal_ids {
            let json = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
            let j = next(&mut binds, Bind::Text(json));
            conditions.push(if is_postgres {
                format!("v.id IN (SELECT (jsonb_array_elements_text({j}::jsonb))::bigint)")
            } else {
                format!("v.id IN (SELECT value FROM json_each({j}))")
            });
        }
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let order = match sort {
            VulnerabilitySort::Epss => "epss DESC NULLS LAST, v.vuln_id",
            VulnerabilitySort::Newest => "v.published DESC NULLS LAST, v.vuln_id",
            VulnerabilitySort::Oldest => "v.published ASC NULLS LAST, v.vuln_id",
        };
        let count_sql = format!("SELECT COUNT(*) FROM vulnerabilities v {where_clause}");
        let limit = next(&mut binds, Bind::Int(page.limit()));
        let offset = next(&mut binds, Bind::Int(page.offset()));
        let list_sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM vulnerabilities v {where_clause}
             ORDER BY {order} LIMIT {limit} OFFSET {offset}"
        );
        let filter_binds = binds.len() - 2;
        Ok(with_pool!(self, pool => {
            let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
            for bind in &binds[..filter_binds] {
                count = match bind {
                    Bind::Text(text) => count.bind(text),
                    Bind::Int(n) => count.bind(*n),
                };
            }
            let total = count.fetch_one(pool).await?;
            let mut list = sqlx::query_as::<_, VulnerabilitySummary>(&list_sql);
            for bind in &binds {
                list = match bind {
                    Bind::Text(text) => list.bind(text),
                    Bind::Int(n) => list.bind(*n),
                };
            }
            let rows = list.fetch_all(pool).await?;
            Ok::<_, sqlx::Error>((rows, total.max(0) as u64))
        })?)
    }
}

/// A vendor/product of the CPE catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct CatalogProduct {
    pub id: i64,
    pub vendor: String,
    pub product: String,
    /// Distinct vulnerability records with a CPE match on this product.
    pub vulnerability_count: i64,
}

/// An affected-package row as the match index loads it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize, Deserialize)]
pub struct AffectedPackageRow {
    pub vulnerability_id: i64,
    pub vuln_id: String,
    pub modified: DateTime<Utc>,
    pub withdrawn: Option<DateTime<Utc>>,
    /// The record's informational kind (`unmaintained`, ...); `None` for a vulnerability.
    pub informational: Option<String>,
    pub ecosystem: String,
    pub name: String,
    pub normalized_name: String,
    pub purl: Option<String>,
    /// JSON of `Vec<rampart_formats::advisory::AffectedRange>`.
    pub ranges: String,
    /// JSON of `Vec<String>`.
    pub versions: String,
}

/// The row as the match index takes it: its ranges and listed versions read from their JSON
/// (stored by us, so unreadable JSON only comes from a damaged database, and reads as none). A
/// range's `database_specific` is not kept: matching never reads it.
impl From<AffectedPackageRow> for AffectedInput {
    fn from(row: AffectedPackageRow) -> AffectedInput {
        let mut ranges =
            serde_json::from_str::<Vec<AffectedRange>>(&row.ranges).unwrap_or_default();
        for range in &mut ranges {
            range.database_specific = None;
        }
        AffectedInput {
            vulnerability_id: row.vulnerability_id,
            vuln_id: row.vuln_id,
            modified: row.modified,
            withdrawn: row.withdrawn.is_some(),
            informational: row.informational,
            ranges,
            versions: serde_json::from_str::<Vec<String>>(&row.versions).unwrap_or_default(),
            ecosystem: row.ecosystem,
            name: row.name,
        }
    }
}

/// The columns of [`AffectedPackageRow`], in its fields' order.
macro_rules! affected_package_rows {
    () => {
        "SELECT p.vulnerability_id, v.vuln_id, v.modified, v.withdrawn, v.informational,
                p.ecosystem, p.name, p.normalized_name, p.purl, p.ranges, p.versions
         FROM affected_packages p JOIN vulnerabilities v ON v.id = p.vulnerability_id"
    };
}
const AFFECTED_PACKAGE_ROWS: &str = affected_package_rows!();

/// Every row of [`AFFECTED_PACKAGE_ROWS`], in the order of their ids.
const ALL_AFFECTED_PACKAGE_ROWS: &str = concat!(affected_package_rows!(), " ORDER BY p.id");

/// [`Store::affected_package_rows_named`]' query for `n` names. Anonymous placeholders on
/// SQLite: numbered ones cost its parser and binder a look-up each through every name before
/// (quadratic in a 2,000-crate lockfile).
fn affected_package_rows_named_sql(backend: Backend, n: usize) -> String {
    let list = placeholder_list(backend, n);
    format!("{AFFECTED_PACKAGE_ROWS} WHERE p.normalized_name IN ({list}) ORDER BY p.id")
}

/// [`Store::affected_package_rows_named`] on a SQLite connection.
pub(crate) fn sqlite_affected_package_rows_named(
    connection: &rusqlite::Connection,
    normalized_names: &[String],
) -> rusqlite::Result<Vec<AffectedPackageRow>> {
    let mut rows = Vec::new();
    for chunk in normalized_names.chunks(MAX_PARAMETERS) {
        let sql = affected_package_rows_named_sql(Backend::Sqlite, chunk.len());
        let mut statement = connection.prepare(&sql)?;
        let chunk_rows = statement.query_map(
            rusqlite::params_from_iter(chunk),
            AffectedPackageRow::from_sqlite,
        )?;
        for row in chunk_rows {
            rows.push(row?);
        }
    }
    Ok(rows)
}

/// Every affected-package row on a SQLite connection, in the order of their ids (the order
/// the named reads give), for `rampart scan`'s index file.
pub(crate) fn sqlite_affected_package_rows(
    connection: &rusqlite::Connection,
) -> rusqlite::Result<Vec<AffectedPackageRow>> {
    let mut statement = connection.prepare(ALL_AFFECTED_PACKAGE_ROWS)?;
    let rows = statement.query_map([], AffectedPackageRow::from_sqlite)?;
    rows.collect()
}

impl AffectedPackageRow {
    /// A row of [`AFFECTED_PACKAGE_ROWS`] read through SQLite's API.
    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<AffectedPackageRow> {
        Ok(AffectedPackageRow {
            vulnerability_id: row.get(0)?,
            vuln_id: row.get(1)?,
            modified: row.get(2)?,
            withdrawn: row.get(3)?,
            informational: row.get(4)?,
            ecosystem: row.get(5)?,
            name: row.get(6)?,
            normalized_name: row.get(7)?,
            purl: row.get(8)?,
            ranges: row.get(9)?,
            versions: row.get(10)?,
        })
    }
}

/// A CPE match row as the match index loads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CpeMatchRow {
    pub vulnerability_id: i64,
    pub product_id: i64,
    pub configuration_index: i64,
    /// `AND` or `OR`: how the configuration combines its nodes.
    pub configuration_operator: String,
    pub configuration_negate: bool,
    pub node_index: i64,
    /// `AND` or `OR`: how the node combines its cpeMatch entries.
    pub node_operator: String,
    pub node_negate: bool,
    pub criteria: String,
    pub vulnerable: bool,
    pub version_start_including: Option<String>,
    pub version_start_excluding: Option<String>,
    pub version_end_including: Option<String>,
    pub version_end_excluding: Option<String>,
}

impl Store {
    /// Catalogue products whose vendor or product contains `q` (case-insensitive), most
    /// vulnerable first; a page (1-based) and the total.
    pub async fn catalog_products(
        &self,
        q: Option<&str>,
        page: PageRequest,
    ) -> Result<(Vec<CatalogProduct>, u64), StoreError> {
        let pattern = format!(
            "%{}%",
            q.unwrap_or("")
                .trim()
                .to_lowercase()
                .replace(['%', '_'], "")
        );
        Ok(with_pool!(self, pool => {
            let total: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM cpe_products c
                 WHERE LOWER(c.vendor) LIKE $1 OR LOWER(c.product) LIKE $1
                    OR LOWER(c.vendor || ' ' || c.product) LIKE $1",
            )
            .bind(&pattern)
            .fetch_one(pool)
            .await?;
            let rows: Vec<CatalogProduct> = sqlx::query_as(
                "SELECT c.id, c.vendor, c.product,
                        (SELECT COUNT(DISTINCT m.vulnerability_id) FROM cpe_matches m
                         WHERE m.product_id = c.id) AS vulnerability_count
                 FROM cpe_products c
                 WHERE LOWER(c.vendor) LIKE $1 OR LOWER(c.product) LIKE $1
                    OR LOWER(c.vendor || ' ' || c.product) LIKE $1
                 ORDER BY vulnerability_count DESC, c.vendor, c.product
                 LIMIT $2 OFFSET $3",
            )
            .bind(&pattern)
            .bind(page.limit())
            .bind(page.offset())
            .fetch_all(pool)
            .await?;
            Ok::<_, sqlx::Error>((rows, total.max(0) as u64))
        })?)
    }

    pub async fn catalog_product(&self, id: i64) -> Result<Option<CatalogProduct>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT c.id, c.vendor, c.product,
                        (SELECT COUNT(DISTINCT m.vulnerability_id) FROM cpe_matches m
                         WHERE m.product_id = c.id) AS vulnerability_count
                 FROM cpe_products c WHERE c.id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await
        })?)
    }

    /// The vulnerability records' internal ids with a CPE match on a catalogue product.
    pub async fn catalog_product_vulnerabilities(
        &self,
        product_id: i64,
    ) -> Result<Vec<i64>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT DISTINCT vulnerability_id FROM cpe_matches WHERE product_id = $1
                 ORDER BY vulnerability_id",
            )
            .bind(product_id)
            .fetch_all(pool)
            .await
        })?)
    }

    /// The internal id of a vulnerability record.
    pub async fn vulnerability_internal_id(
        &self,
        vuln_id: &str,
    ) -> Result<Option<i64>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar("SELECT id FROM vulnerabilities WHERE vuln_id = $1")
                .bind(vuln_id)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// Every affected-package row, for building the match index.
    pub async fn affected_package_rows(&self) -> Result<Vec<AffectedPackageRow>, StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => sqlite_read::read(pool, sqlite_affected_package_rows).await,
            Pool::Postgres(pool) => Ok(sqlx::query_as(ALL_AFFECTED_PACKAGE_ROWS)
                .fetch_all(pool)
                .await?),
        }
    }

    /// The affected-package rows of packages with these normalised names (any ecosystem),
    /// for an index of just what one scan asks about.
    pub async fn affected_package_rows_named(
        &self,
        normalized_names: &[String],
    ) -> Result<Vec<AffectedPackageRow>, StoreError> {
        let pool = match &self.pool {
            Pool::Sqlite(pool) => {
                return sqlite_read::read(pool, |c| {
                    sqlite_affected_package_rows_named(c, normalized_names)
                })
                .await
            }
            Pool::Postgres(pool) => pool,
        };
        let mut rows = Vec::new();
        for chunk in normalized_names.chunks(MAX_PARAMETERS) {
            let sql = affected_package_rows_named_sql(Backend::Postgres, chunk.len());
            let mut query = sqlx::query_as(&sql);
            for name in chunk {
                query = query.bind(name.as_str());
            }
            rows.extend(query.fetch_all(pool).await?);
        }
        Ok(rows)
    }

    /// Every CPE match row, for building the match index.
    pub async fn cpe_match_rows(&self) -> Result<Vec<CpeMatchRow>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT vulnerability_id, product_id, configuration_index, configuration_operator,
                        configuration_negate, node_index, node_operator, node_negate, criteria,
                        vulnerable, version_start_including, version_start_excluding,
                        version_end_including, version_end_excluding
                 FROM cpe_matches
                 ORDER BY vulnerability_id, configuration_index, node_index, criteria",
            )
            .fetch_all(pool)
            .await
        })?)
    }
}

impl Store {
    /// [`Store::vulnerability_group`] of the record with this internal id.
    pub async fn vulnerability_group_by_internal_id(
        &self,
        internal_id: i64,
    ) -> Result<Option<VulnerabilityGroup>, StoreError> {
        let vuln_id: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT vuln_id FROM vulnerabilities WHERE id = $1")
                .bind(internal_id)
                .fetch_optional(pool)
                .await
        })?;
        match vuln_id {
            Some(vuln_id) => self.vulnerability_group(&vuln_id).await,
            None => Ok(None),
        }
    }
}

impl Store {
    /// Exploits linked to a CVE id, whether or not a record for it is stored.
    pub async fn exploits_for_cve(&self, cve_id: &str) -> Result<Vec<ExploitView>, StoreError> {
        let exploits = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT x.edb_id, c.cve_id, x.description, x.exploit_type, x.platform,
                        x.date_published, x.verified, x.author, x.source_url
                 FROM exploits x JOIN exploit_cves c ON c.edb_id = x.edb_id
                 WHERE c.cve_id = $1 ORDER BY x.edb_id",
            )
            .bind(cve_id)
            .fetch_all(pool)
            .await
        })?;
        Ok(with_page_urls(exploits))
    }

    /// The catalogue id of a CPE vendor/product, as stored (CPE-quoted) spelling.
    pub async fn catalog_product_id(
        &self,
        vendor: &str,
        product: &str,
    ) -> Result<Option<i64>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar("SELECT id FROM cpe_products WHERE vendor = $1 AND product = $2")
                .bind(vendor)
                .bind(product)
                .fetch_optional(pool)
                .await
        })?)
    }
}
