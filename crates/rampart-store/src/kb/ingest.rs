//! Writing the knowledge base: one transaction per batch, idempotent, newest `modified` wins.
//!
//! Every ingest first bumps `kb_state.version` (which also takes the write lock on both
//! backends, so concurrent ingests serialise and alias groups cannot be merged by two writers
//! at once), then applies the batch. A batch that changed nothing is rolled back, so the
//! version only moves when the knowledge base did.

use std::collections::BTreeSet;

use chrono::{DateTime, SubsecRound, Utc};
use rampart_core::normalize_package_name;
use rampart_formats::advisory::{Advisory, CpeOperator, EpssFile, ExploitRecord, KevEntry};
use serde::Serialize;

use crate::{now, with_pool, Store, StoreError};

/// What an ingest did with the records it was given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct IngestStats {
    /// New records.
    pub added: u64,
    /// Records that replaced an older version (a newer `modified`, or changed content for
    /// feeds without `modified`: KEV, EPSS, ExploitDB).
    pub updated: u64,
    /// Records already stored as given (or an older version of them).
    pub unchanged: u64,
    /// Records the store refused (e.g. an empty identifier), never written.
    pub skipped: u64,
}

impl IngestStats {
    pub fn changed(&self) -> bool {
        self.added + self.updated > 0
    }

    /// Adds another batch's counts to these.
    pub fn absorb(&mut self, other: IngestStats) {
        self.added += other.added;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.skipped += other.skipped;
    }

    pub fn total(&self) -> u64 {
        self.added + self.updated + self.unchanged + self.skipped
    }
}

/// Timestamps at the precision both backends keep (microseconds), so that a re-ingested
/// record compares equal to its stored self.
/// (epss, percentile, score date, model version) as stored.
type EpssRow = (f64, f64, Option<DateTime<Utc>>, Option<String>);

fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// Splits a CPE 2.3 formatted string on its unescaped `:`; `None` if it is not one.
pub(crate) fn cpe_components(criteria: &str) -> Option<Vec<&str>> {
    let rest = criteria.strip_prefix("cpe:2.3:")?;
    let mut parts = Vec::with_capacity(11);
    let bytes = rest.as_bytes();
    let mut start = 0;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate() {
        if escaped {
            escaped = false;
        } else if b == b'\\' {
            escaped = true;
        } else if b == b':' {
            parts.push(&rest[start..i]);
            start = i + 1;
        }
    }
    parts.push(&rest[start..]);
    (parts.len() >= 4).then_some(parts)
}

/// The identifiers a record answers to: its id and its aliases, deduplicated, non-empty.
fn identifiers(advisory: &Advisory) -> Vec<String> {
    let mut seen = BTreeSet::new();
    std::iter::once(&advisory.id)
        .chain(advisory.aliases.iter())
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty() && seen.insert(id.clone()))
        .collect()
}

fn operator_label(operator: CpeOperator) -> &'static str {
    match operator {
        CpeOperator::And => "AND",
        CpeOperator::Or => "OR",
    }
}

/// One CPE match of a record, flattened for its table.
struct CpeRow<'a> {
    configuration_index: i64,
    /// `AND` or `OR` (NVD leaves it out for single-node configurations: OR).
    configuration_operator: &'static str,
    configuration_negate: bool,
    node_index: i64,
    node_operator: &'static str,
    node_negate: bool,
    criteria: &'a str,
    part: String,
    vendor: String,
    product: String,
    version: String,
    vulnerable: bool,
    start_including: Option<&'a str>,
    start_excluding: Option<&'a str>,
    end_including: Option<&'a str>,
    end_excluding: Option<&'a str>,
}

fn cpe_rows(advisory: &Advisory) -> Vec<CpeRow<'_>> {
    let mut rows = Vec::new();
    for (index, configuration) in advisory.cpe_configurations.iter().enumerate() {
        let configuration_operator =
            operator_label(configuration.operator.unwrap_or(CpeOperator::Or));
        for (node_index, node) in configuration.nodes.iter().enumerate() {
            for m in &node.cpe_match {
                let Some(parts) = cpe_components(&m.criteria) else {
                    continue;
                };
                rows.push(CpeRow {
                    configuration_index: index as i64,
                    configuration_operator,
                    configuration_negate: configuration.negate,
                    node_index: node_index as i64,
                    node_operator: operator_label(node.operator),
                    node_negate: node.negate,
                    criteria: &m.criteria,
                    part: parts[0].to_string(),
                    vendor: parts[1].to_string(),
                    product: parts[2].to_string(),
                    version: parts.get(3).copied().unwrap_or("*").to_string(),
                    vulnerable: m.vulnerable,
                    start_including: m.version_start_including.as_deref(),
                    start_excluding: m.version_start_excluding.as_deref(),
                    end_including: m.version_end_including.as_deref(),
                    end_excluding: m.version_end_excluding.as_deref(),
                });
            }
        }
    }
    rows
}

/// The columns of a vulnerability row derived from its record.
struct VulnerabilityColumns {
    record_json: String,
    max_cvss: Option<f64>,
    band: Option<&'static str>,
}

impl VulnerabilityColumns {
    fn of(advisory: &Advisory) -> Result<Self, StoreError> {
        let record_json = serde_json::to_string(advisory)
            .map_err(|e| StoreError::Corrupt(format!("advisory {} to JSON: {e}", advisory.id)))?;
        let max = advisory.max_cvss();
        Ok(Self {
            record_json,
            max_cvss: max.map(|s| s.base_score),
            band: max.map(|s| s.band.as_str()),
        })
    }
}

impl Store {
    /// The knowledge-base version: moves whenever an ingest changed anything.
    pub async fn kb_version(&self) -> Result<i64, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar("SELECT version FROM kb_state WHERE id = 1")
                .fetch_one(pool)
                .await
        })?)
    }

    /// Stores a batch of advisories from `source` (`osv`, `nvd`, `ghsa`, ...) in one
    /// transaction. A record whose id is stored with the same or a newer `modified` is left
    /// alone; a newer one replaces it (same internal id). Every identifier of a record joins
    /// one alias group; records naming each other's ids end up in one group.
    pub async fn ingest_advisories(
        &self,
        source: &str,
        batch: &[Advisory],
    ) -> Result<IngestStats, StoreError> {
        let at = now();
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE kb_state SET version = version + 1 WHERE id = 1")
                .execute(&mut *tx)
                .await?;
            let mut stats = IngestStats::default();
            for advisory in batch {
                let id = advisory.id.trim();
                if id.is_empty() {
                    stats.skipped += 1;
                    continue;
                }
                let modified = micros(advisory.modified);
                let existing: Option<(i64, DateTime<Utc>)> = sqlx::query_as(
                    "SELECT id, modified FROM vulnerabilities WHERE vuln_id = $1",
                )
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((_, stored)) = existing {
                    if modified <= stored {
                        stats.unchanged += 1;
                        continue;
                    }
                }

                // Alias group: every group any identifier already belongs to merges into the
                // oldest one; a record naming no known identifier starts a new group.
                let ids = identifiers(advisory);
                let mut groups = BTreeSet::new();
                for alias in &ids {
                    let group: Option<i64> =
                        sqlx::query_scalar("SELECT group_id FROM vuln_aliases WHERE alias = $1")
                            .bind(alias)
                            .fetch_optional(&mut *tx)
                            .await?;
                    groups.extend(group);
                }
                let group_id = match groups.first() {
                    Some(first) => *first,
                    None => {
                        sqlx::query_scalar("INSERT INTO vuln_groups (created_at) VALUES ($1) RETURNING id")
                            .bind(at)
                            .fetch_one(&mut *tx)
                            .await?
                    }
                };
                for other in groups.iter().skip(1) {
                    sqlx::query("UPDATE vuln_aliases SET group_id = $1 WHERE group_id = $2")
                        .bind(group_id)
                        .bind(other)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("UPDATE vulnerabilities SET group_id = $1 WHERE group_id = $2")
                        .bind(group_id)
                        .bind(other)
                        .execute(&mut *tx)
                        .await?;
                }
                for alias in &ids {
                    sqlx::query(
                        "INSERT INTO vuln_aliases (alias, group_id) VALUES ($1, $2)
                         ON CONFLICT (alias) DO NOTHING",
                    )
                    .bind(alias)
                    .bind(group_id)
                    .execute(&mut *tx)
                    .await?;
                }

                let columns = VulnerabilityColumns::of(advisory)?;
                let vulnerability_id: i64 = match existing {
                    Some((row_id, _)) => {
                        sqlx::query(
                            "UPDATE vulnerabilities SET group_id = $1, source = $2, summary = $3,
                                details = $4, published = $5, modified = $6, withdrawn = $7,
                                max_cvss = $8, severity_band = $9, has_exploit_reference = $10,
                                record = $11, ingested_at = $12,
                                changed_in_kb_version = (SELECT version FROM kb_state WHERE id = 1)
                             WHERE id = $13",
                        )
                        .bind(group_id)
                        .bind(source)
                        .bind(&advisory.summary)
                        .bind(&advisory.details)
                        .bind(advisory.published.map(micros))
                        .bind(modified)
                        .bind(advisory.withdrawn.map(micros))
                        .bind(columns.max_cvss)
                        .bind(columns.band)
                        .bind(advisory.has_exploit_reference())
                        .bind(&columns.record_json)
                        .bind(at)
                        .bind(row_id)
                        .execute(&mut *tx)
                        .await?;
                        for table in [
                            "vuln_severities",
                            "vuln_cwes",
                            "vuln_references",
                            "affected_packages",
                            "cpe_matches",
                        ] {
                            sqlx::query(&format!("DELETE FROM {table} WHERE vulnerability_id = $1"))
                                .bind(row_id)
                                .execute(&mut *tx)
                                .await?;
                        }
                        stats.updated += 1;
                        row_id
                    }
                    None => {
                        let row_id = sqlx::query_scalar(
                            "INSERT INTO vulnerabilities (vuln_id, group_id, source, summary, details,
                                published, modified, withdrawn, max_cvss, severity_band,
                                has_exploit_reference, record, ingested_at, changed_in_kb_version)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
                                (SELECT version FROM kb_state WHERE id = 1))
                             RETURNING id",
                        )
                        .bind(id)
                        .bind(group_id)
                        .bind(source)
                        .bind(&advisory.summary)
                        .bind(&advisory.details)
                        .bind(advisory.published.map(micros))
                        .bind(modified)
                        .bind(advisory.withdrawn.map(micros))
                        .bind(columns.max_cvss)
                        .bind(columns.band)
                        .bind(advisory.has_exploit_reference())
                        .bind(&columns.record_json)
                        .bind(at)
                        .fetch_one(&mut *tx)
                        .await?;
                        stats.added += 1;
                        row_id
                    }
                };

                let severities = advisory
                    .severity
                    .iter()
                    .chain(advisory.affected.iter().flat_map(|a| a.severity.iter()));
                for severity in severities {
                    let computed = severity.computed.as_ref();
                    sqlx::query(
                        "INSERT INTO vuln_severities (vulnerability_id, kind, vector, source,
                            cvss_version, base_score, band)
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(vulnerability_id)
                    .bind(severity.kind.as_osv())
                    .bind(&severity.score)
                    .bind(&severity.source)
                    .bind(computed.map(|c| cvss_version_label(c.version)))
                    .bind(computed.map(|c| c.base_score))
                    .bind(computed.map(|c| c.band.as_str()))
                    .execute(&mut *tx)
                    .await?;
                }
                for cwe in advisory.cwe_ids.iter().collect::<BTreeSet<_>>() {
                    sqlx::query("INSERT INTO vuln_cwes (vulnerability_id, cwe_id) VALUES ($1, $2)")
                        .bind(vulnerability_id)
                        .bind(cwe)
                        .execute(&mut *tx)
                        .await?;
                }
                for reference in &advisory.references {
                    sqlx::query(
                        "INSERT INTO vuln_references (vulnerability_id, kind, url, tags, is_exploit)
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(vulnerability_id)
                    .bind(reference.kind.as_osv())
                    .bind(&reference.url)
                    .bind(serde_json::to_string(&reference.tags).unwrap_or_else(|_| "[]".into()))
                    .bind(reference.is_exploit)
                    .execute(&mut *tx)
                    .await?;
                }
                for affected in &advisory.affected {
                    let Some(package) = &affected.package else { continue };
                    sqlx::query(
                        "INSERT INTO affected_packages (vulnerability_id, ecosystem, name,
                            normalized_name, purl, ranges, versions)
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(vulnerability_id)
                    .bind(&package.ecosystem)
                    .bind(&package.name)
                    .bind(normalize_package_name(&package.ecosystem, &package.name))
                    .bind(&package.purl)
                    .bind(serde_json::to_string(&affected.ranges).unwrap_or_else(|_| "[]".into()))
                    .bind(serde_json::to_string(&affected.versions).unwrap_or_else(|_| "[]".into()))
                    .execute(&mut *tx)
                    .await?;
                }
                for row in cpe_rows(advisory) {
                    sqlx::query(
                        "INSERT INTO cpe_products (vendor, product) VALUES ($1, $2)
                         ON CONFLICT (vendor, product) DO NOTHING",
                    )
                    .bind(&row.vendor)
                    .bind(&row.product)
                    .execute(&mut *tx)
                    .await?;
                    let product_id: i64 = sqlx::query_scalar(
                        "SELECT id FROM cpe_products WHERE vendor = $1 AND product = $2",
                    )
                    .bind(&row.vendor)
                    .bind(&row.product)
                    .fetch_one(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO cpe_matches (vulnerability_id, product_id, configuration_index,
                            criteria, part, version, vulnerable, version_start_including,
                            version_start_excluding, version_end_including, version_end_excluding,
                            configuration_operator, configuration_negate, node_index,
                            node_operator, node_negate)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                            $15, $16)",
                    )
                    .bind(vulnerability_id)
                    .bind(product_id)
                    .bind(row.configuration_index)
                    .bind(row.criteria)
                    .bind(&row.part)
                    .bind(&row.version)
                    .bind(row.vulnerable)
                    .bind(row.start_including)
                    .bind(row.start_excluding)
                    .bind(row.end_including)
                    .bind(row.end_excluding)
                    .bind(row.configuration_operator)
                    .bind(row.configuration_negate)
                    .bind(row.node_index)
                    .bind(row.node_operator)
                    .bind(row.node_negate)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            finish(tx, stats).await
        })
    }

    /// Stores CISA KEV entries (keyed by CVE id) in one transaction; a changed entry replaces
    /// the stored one.
    pub async fn ingest_kev(&self, batch: &[KevEntry]) -> Result<IngestStats, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE kb_state SET version = version + 1 WHERE id = 1")
                .execute(&mut *tx)
                .await?;
            let mut stats = IngestStats::default();
            for entry in batch {
                let cve_id = entry.cve_id.trim();
                if cve_id.is_empty() {
                    stats.skipped += 1;
                    continue;
                }
                let cwes = serde_json::to_string(&entry.cwes).unwrap_or_else(|_| "[]".into());
                let stored: Option<KevRow> = sqlx::query_as(
                    "SELECT vendor_project, product, vulnerability_name, date_added, short_description,
                            required_action, due_date, known_ransomware_campaign_use, notes, cwes
                     FROM kev_entries WHERE cve_id = $1",
                )
                .bind(cve_id)
                .fetch_optional(&mut *tx)
                .await?;
                let fresh = KevRow {
                    vendor_project: entry.vendor_project.clone(),
                    product: entry.product.clone(),
                    vulnerability_name: entry.vulnerability_name.clone(),
                    date_added: entry.date_added,
                    short_description: entry.short_description.clone(),
                    required_action: entry.required_action.clone(),
                    due_date: entry.due_date,
                    known_ransomware_campaign_use: entry.known_ransomware_campaign_use,
                    notes: entry.notes.clone(),
                    cwes,
                };
                match stored {
                    Some(stored) if stored == fresh => {
                        stats.unchanged += 1;
                        continue;
                    }
                    Some(_) => stats.updated += 1,
                    None => stats.added += 1,
                }
                sqlx::query(
                    "INSERT INTO kev_entries (cve_id, vendor_project, product, vulnerability_name,
                        date_added, short_description, required_action, due_date,
                        known_ransomware_campaign_use, notes, cwes)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                     ON CONFLICT (cve_id) DO UPDATE SET vendor_project = excluded.vendor_project,
                        product = excluded.product, vulnerability_name = excluded.vulnerability_name,
                        date_added = excluded.date_added, short_description = excluded.short_description,
                        required_action = excluded.required_action, due_date = excluded.due_date,
                        known_ransomware_campaign_use = excluded.known_ransomware_campaign_use,
                        notes = excluded.notes, cwes = excluded.cwes",
                )
                .bind(cve_id)
                .bind(&fresh.vendor_project)
                .bind(&fresh.product)
                .bind(&fresh.vulnerability_name)
                .bind(fresh.date_added)
                .bind(&fresh.short_description)
                .bind(&fresh.required_action)
                .bind(fresh.due_date)
                .bind(fresh.known_ransomware_campaign_use)
                .bind(&fresh.notes)
                .bind(&fresh.cwes)
                .execute(&mut *tx)
                .await?;
            }
            finish(tx, stats).await
        })
    }

    /// Stores an EPSS file's scores (keyed by CVE id) in one transaction; a score with another
    /// value or date replaces the stored one.
    pub async fn ingest_epss(&self, file: &EpssFile) -> Result<IngestStats, StoreError> {
        let score_date = file.score_date.map(micros);
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE kb_state SET version = version + 1 WHERE id = 1")
                .execute(&mut *tx)
                .await?;
            let mut stats = IngestStats::default();
            for score in &file.scores.records {
                let cve_id = score.cve_id.trim();
                if cve_id.is_empty() {
                    stats.skipped += 1;
                    continue;
                }
                let stored: Option<EpssRow> =
                    sqlx::query_as(
                        "SELECT epss, percentile, score_date, model_version FROM epss_scores
                         WHERE cve_id = $1",
                    )
                    .bind(cve_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let fresh = (score.epss, score.percentile, score_date, file.model_version.clone());
                match stored {
                    Some(stored) if stored == fresh => {
                        stats.unchanged += 1;
                        continue;
                    }
                    Some(_) => stats.updated += 1,
                    None => stats.added += 1,
                }
                sqlx::query(
                    "INSERT INTO epss_scores (cve_id, epss, percentile, score_date, model_version)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (cve_id) DO UPDATE SET epss = excluded.epss,
                        percentile = excluded.percentile, score_date = excluded.score_date,
                        model_version = excluded.model_version",
                )
                .bind(cve_id)
                .bind(fresh.0)
                .bind(fresh.1)
                .bind(fresh.2)
                .bind(&fresh.3)
                .execute(&mut *tx)
                .await?;
            }
            finish(tx, stats).await
        })
    }

    /// Stores ExploitDB records (keyed by EDB id) and their CVE links in one transaction.
    pub async fn ingest_exploits(
        &self,
        batch: &[ExploitRecord],
    ) -> Result<IngestStats, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE kb_state SET version = version + 1 WHERE id = 1")
                .execute(&mut *tx)
                .await?;
            let mut stats = IngestStats::default();
            for record in batch {
                let Ok(edb_id) = i64::try_from(record.edb_id) else {
                    stats.skipped += 1;
                    continue;
                };
                let fresh = ExploitRow::of(record);
                let stored: Option<ExploitRow> = sqlx::query_as(
                    "SELECT description, exploit_type, platform, date_published, verified, author,
                            source_url, file, other_codes
                     FROM exploits WHERE edb_id = $1",
                )
                .bind(edb_id)
                .fetch_optional(&mut *tx)
                .await?;
                let stored_cves: Vec<String> = sqlx::query_scalar(
                    "SELECT cve_id FROM exploit_cves WHERE edb_id = $1 ORDER BY cve_id",
                )
                .bind(edb_id)
                .fetch_all(&mut *tx)
                .await?;
                let fresh_cves: Vec<String> = record
                    .cve_ids
                    .iter()
                    .cloned()
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                match stored {
                    Some(stored) if stored == fresh && stored_cves == fresh_cves => {
                        stats.unchanged += 1;
                        continue;
                    }
                    Some(_) => stats.updated += 1,
                    None => stats.added += 1,
                }
                sqlx::query(
                    "INSERT INTO exploits (edb_id, description, exploit_type, platform, date_published,
                        verified, author, source_url, file, other_codes)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                     ON CONFLICT (edb_id) DO UPDATE SET description = excluded.description,
                        exploit_type = excluded.exploit_type, platform = excluded.platform,
                        date_published = excluded.date_published, verified = excluded.verified,
                        author = excluded.author, source_url = excluded.source_url,
                        file = excluded.file, other_codes = excluded.other_codes",
                )
                .bind(edb_id)
                .bind(&fresh.description)
                .bind(&fresh.exploit_type)
                .bind(&fresh.platform)
                .bind(fresh.date_published)
                .bind(fresh.verified)
                .bind(&fresh.author)
                .bind(&fresh.source_url)
                .bind(&fresh.file)
                .bind(&fresh.other_codes)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM exploit_cves WHERE edb_id = $1")
                    .bind(edb_id)
                    .execute(&mut *tx)
                    .await?;
                for cve in &fresh_cves {
                    sqlx::query("INSERT INTO exploit_cves (edb_id, cve_id) VALUES ($1, $2)")
                        .bind(edb_id)
                        .bind(cve)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            finish(tx, stats).await
        })
    }
}

/// Commits when the batch changed something (the version bump stays), rolls back otherwise.
async fn finish<DB: sqlx::Database>(
    tx: sqlx::Transaction<'_, DB>,
    stats: IngestStats,
) -> Result<IngestStats, StoreError> {
    if stats.changed() {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(stats)
}

pub(crate) fn cvss_version_label(version: rampart_formats::advisory::CvssVersion) -> &'static str {
    use rampart_formats::advisory::CvssVersion;
    match version {
        CvssVersion::V2_0 => "2.0",
        CvssVersion::V3_0 => "3.0",
        CvssVersion::V3_1 => "3.1",
        CvssVersion::V4_0 => "4.0",
    }
}

#[derive(Debug, PartialEq, sqlx::FromRow)]
struct KevRow {
    vendor_project: String,
    product: String,
    vulnerability_name: String,
    date_added: chrono::NaiveDate,
    short_description: String,
    required_action: String,
    due_date: Option<chrono::NaiveDate>,
    known_ransomware_campaign_use: bool,
    notes: String,
    cwes: String,
}

#[derive(Debug, PartialEq, sqlx::FromRow)]
struct ExploitRow {
    description: String,
    exploit_type: String,
    platform: String,
    date_published: Option<chrono::NaiveDate>,
    verified: bool,
    author: String,
    source_url: Option<String>,
    file: String,
    other_codes: String,
}

impl ExploitRow {
    fn of(record: &ExploitRecord) -> Self {
        Self {
            description: record.description.clone(),
            exploit_type: record.exploit_type.clone(),
            platform: record.platform.clone(),
            date_published: record.date_published,
            verified: record.verified,
            author: record.author.clone(),
            source_url: record.source_url.clone(),
            file: record.file.clone(),
            other_codes: serde_json::to_string(&record.other_codes).unwrap_or_else(|_| "[]".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::cpe_components;

    #[test]
    fn cpe_components_respect_escapes() {
        let parts = cpe_components("cpe:2.3:a:vendor\\:x:prod:1.0:*:*:*:*:*:*:*").unwrap();
        assert_eq!(parts[0], "a");
        assert_eq!(parts[1], "vendor\\:x");
        assert_eq!(parts[2], "prod");
        assert_eq!(parts[3], "1.0");
        assert!(cpe_components("cpe:/a:foo").is_none());
    }
}
