//! Writing the knowledge base: one transaction per batch, idempotent, newest `modified` wins.
//!
//! Every ingest first bumps `kb_state.version` (which also takes the write lock on both
//! backends, so concurrent ingests serialise and alias groups cannot be merged by two writers
//! at once), then applies the batch. A batch that changed nothing is rolled back, so the
//! version only moves when the knowledge base did.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, SubsecRound, Utc};
use rampart_core::normalize_package_name;
use rampart_formats::advisory::{
    Advisory, Affected, CpeOperator, EpssFile, ExploitRecord, KevEntry, Package, Reference,
    Severity,
};
use serde::Serialize;

use crate::sboms::{multi_row_insert, placeholder_list, Placeholders, MAX_PARAMETERS};
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

/// Rows per multi-row statement of `per_row` bound columns.
fn rows_per_statement(per_row: usize) -> usize {
    (MAX_PARAMETERS / per_row.max(1)).max(1)
}

/// Inserts `$rows` with one multi-row `INSERT` per chunk (`$tail` follows the values, e.g.
/// an `ON CONFLICT` clause); `$bind` binds one row's `$per_row` columns onto `$query`.
macro_rules! insert_rows {
    ($tx:ident, $backend:expr, $head:expr, $per_row:expr, $tail:expr, $rows:expr,
     |$query:ident, $row:ident| $bind:expr) => {
        for chunk in $rows.chunks(rows_per_statement($per_row)) {
            let sql = multi_row_insert($backend, $head, chunk.len(), $per_row) + $tail;
            let mut $query = sqlx::query(&sql);
            for $row in chunk {
                $query = $bind;
            }
            $query.execute(&mut *$tx).await?;
        }
    };
}

/// One record of a batch that gets written.
struct Write {
    /// Its position in the batch (the newest version of its id there).
    index: usize,
    /// The stored row it replaces, if the id is stored.
    stored_row: Option<i64>,
}

/// Which records of a batch are written, and the counts, as if the batch were applied one
/// record at a time: a record older than (or as old as) the stored or an earlier one of the
/// batch is unchanged; of several versions of one id the newest is written.
struct WritePlan {
    writes: Vec<Write>,
    stats: IngestStats,
}

impl WritePlan {
    fn of(batch: &[Advisory], stored: &HashMap<String, (i64, DateTime<Utc>)>) -> Self {
        let mut stats = IngestStats::default();
        let mut writes: Vec<Write> = Vec::new();
        // id → (position in `writes`, the newest `modified` written for it).
        let mut planned: HashMap<&str, (usize, DateTime<Utc>)> = HashMap::new();
        for (index, advisory) in batch.iter().enumerate() {
            let id = advisory.id.trim();
            if id.is_empty() {
                stats.skipped += 1;
                continue;
            }
            let modified = micros(advisory.modified);
            if let Some((position, newest)) = planned.get_mut(id) {
                if modified <= *newest {
                    stats.unchanged += 1;
                } else {
                    stats.updated += 1;
                    *newest = modified;
                    writes[*position].index = index;
                }
                continue;
            }
            let stored_row = match stored.get(id) {
                Some(&(_, stored_modified)) if modified <= stored_modified => {
                    stats.unchanged += 1;
                    continue;
                }
                Some(&(row_id, _)) => {
                    stats.updated += 1;
                    Some(row_id)
                }
                None => {
                    stats.added += 1;
                    None
                }
            };
            planned.insert(id, (writes.len(), modified));
            writes.push(Write { index, stored_row });
        }
        WritePlan { writes, stats }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GroupRef {
    Existing(i64),
    /// The n-th group the batch creates.
    New(usize),
}

/// The alias groups of a batch's written records: records sharing an identifier, or naming
/// identifiers of one stored group, are one group; stored groups that a record joins merge
/// into the oldest (smallest id) of them.
#[derive(Debug)]
struct Grouping {
    group_of_write: Vec<GroupRef>,
    new_groups: usize,
    /// (target group, stored groups merged into it).
    merges: Vec<(i64, Vec<i64>)>,
}

impl Grouping {
    fn of(identifiers_of: &[Vec<String>], known_groups: &HashMap<String, i64>) -> Self {
        // Union-find over the written records (nodes 0..n) and the stored groups they name.
        fn find(parent: &mut [usize], mut node: usize) -> usize {
            while parent[node] != node {
                parent[node] = parent[parent[node]];
                node = parent[node];
            }
            node
        }
        fn union(parent: &mut [usize], a: usize, b: usize) {
            let (a, b) = (find(parent, a), find(parent, b));
            if a != b {
                parent[a.max(b)] = a.min(b);
            }
        }
        let records = identifiers_of.len();
        let mut parent: Vec<usize> = (0..records).collect();
        let mut group_nodes: BTreeMap<i64, usize> = BTreeMap::new();
        let mut first_holder: HashMap<&str, usize> = HashMap::new();
        for (record, identifiers) in identifiers_of.iter().enumerate() {
            for alias in identifiers {
                if let Some(&group) = known_groups.get(alias) {
                    let node = *group_nodes.entry(group).or_insert_with(|| {
                        parent.push(parent.len());
                        parent.len() - 1
                    });
                    union(&mut parent, record, node);
                }
                match first_holder.entry(alias.as_str()) {
                    std::collections::hash_map::Entry::Occupied(holder) => {
                        union(&mut parent, record, *holder.get())
                    }
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        slot.insert(record);
                    }
                }
            }
        }
        // Stored groups per component, ascending (the map is ordered by group id).
        let mut groups_of_root: BTreeMap<usize, Vec<i64>> = BTreeMap::new();
        for (&group, &node) in &group_nodes {
            let root = find(&mut parent, node);
            groups_of_root.entry(root).or_default().push(group);
        }
        let mut target_of_root: HashMap<usize, GroupRef> = HashMap::new();
        let mut merges = Vec::new();
        for (root, groups) in groups_of_root {
            target_of_root.insert(root, GroupRef::Existing(groups[0]));
            if groups.len() > 1 {
                merges.push((groups[0], groups[1..].to_vec()));
            }
        }
        let mut new_groups = 0;
        let mut group_of_write = Vec::with_capacity(records);
        for record in 0..records {
            let root = find(&mut parent, record);
            let group = *target_of_root.entry(root).or_insert_with(|| {
                new_groups += 1;
                GroupRef::New(new_groups - 1)
            });
            group_of_write.push(group);
        }
        Grouping {
            group_of_write,
            new_groups,
            merges,
        }
    }
}

/// The child rows of the written records, by the records' row ids.
struct ChildRows<'a> {
    severities: Vec<(i64, &'a Severity)>,
    cwes: Vec<(i64, &'a str)>,
    references: Vec<(i64, &'a Reference)>,
    affected: Vec<(i64, &'a Affected, &'a Package)>,
    cpe: Vec<(i64, CpeRow<'a>)>,
}

impl<'a> ChildRows<'a> {
    fn of(batch: &'a [Advisory], writes: &[Write], row_ids: &[i64]) -> Self {
        let mut rows = ChildRows {
            severities: Vec::new(),
            cwes: Vec::new(),
            references: Vec::new(),
            affected: Vec::new(),
            cpe: Vec::new(),
        };
        for (write, &row_id) in writes.iter().zip(row_ids) {
            let advisory = &batch[write.index];
            let severities = advisory
                .severity
                .iter()
                .chain(advisory.affected.iter().flat_map(|a| a.severity.iter()));
            rows.severities.extend(severities.map(|s| (row_id, s)));
            rows.cwes.extend(
                advisory
                    .cwe_ids
                    .iter()
                    .map(String::as_str)
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .map(|cwe| (row_id, cwe)),
            );
            rows.references
                .extend(advisory.references.iter().map(|r| (row_id, r)));
            rows.affected.extend(
                advisory
                    .affected
                    .iter()
                    .filter_map(|a| Some((row_id, a, a.package.as_ref()?))),
            );
            rows.cpe
                .extend(cpe_rows(advisory).into_iter().map(|row| (row_id, row)));
        }
        rows
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
    ///
    /// The batch is written set-wise, a few multi-row statements per table for the whole
    /// batch, not a dozen statements per record; the outcome (counts, groups, rows) is the one
    /// the records would have had written one by one in batch order.
    pub async fn ingest_advisories(
        &self,
        source: &str,
        batch: &[Advisory],
    ) -> Result<IngestStats, StoreError> {
        let at = now();
        let backend = self.backend();
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let kb_version: i64 = sqlx::query_scalar(
                "UPDATE kb_state SET version = version + 1 WHERE id = 1 RETURNING version",
            )
            .fetch_one(&mut *tx)
            .await?;

            // What is stored of the batch's ids.
            let batch_ids: Vec<&str> = batch
                .iter()
                .map(|advisory| advisory.id.trim())
                .filter(|id| !id.is_empty())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let mut stored: HashMap<String, (i64, DateTime<Utc>)> = HashMap::new();
            for chunk in batch_ids.chunks(rows_per_statement(1)) {
                let sql = format!(
                    "SELECT id, vuln_id, modified FROM vulnerabilities WHERE vuln_id IN ({})",
                    placeholder_list(backend, chunk.len())
                );
                let mut query = sqlx::query_as::<_, (i64, String, DateTime<Utc>)>(&sql);
                for id in chunk {
                    query = query.bind(*id);
                }
                for (row_id, vuln_id, modified) in query.fetch_all(&mut *tx).await? {
                    stored.insert(vuln_id, (row_id, modified));
                }
            }
            let plan = WritePlan::of(batch, &stored);
            let stats = plan.stats;
            if plan.writes.is_empty() {
                return finish(tx, stats).await;
            }

            // Alias groups: every group any identifier already belongs to merges into the
            // oldest one; records of the batch sharing an identifier share a group; the rest
            // start new groups.
            let identifiers_of: Vec<Vec<String>> = plan
                .writes
                .iter()
                .map(|write| identifiers(&batch[write.index]))
                .collect();
            let all_identifiers: Vec<&str> = identifiers_of
                .iter()
                .flatten()
                .map(String::as_str)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let mut known_groups: HashMap<String, i64> = HashMap::new();
            for chunk in all_identifiers.chunks(rows_per_statement(1)) {
                let sql = format!(
                    "SELECT alias, group_id FROM vuln_aliases WHERE alias IN ({})",
                    placeholder_list(backend, chunk.len())
                );
                let mut query = sqlx::query_as::<_, (String, i64)>(&sql);
                for alias in chunk {
                    query = query.bind(*alias);
                }
                known_groups.extend(query.fetch_all(&mut *tx).await?);
            }
            let grouping = Grouping::of(&identifiers_of, &known_groups);
            let new_group_ids: Vec<i64> = {
                let mut ids = Vec::with_capacity(grouping.new_groups);
                let mut remaining = grouping.new_groups;
                while remaining > 0 {
                    let rows = remaining.min(rows_per_statement(1));
                    let sql = multi_row_insert(backend, "INSERT INTO vuln_groups (created_at)", rows, 1)
                        + " RETURNING id";
                    let mut query = sqlx::query_scalar::<_, i64>(&sql);
                    for _ in 0..rows {
                        query = query.bind(at);
                    }
                    ids.extend(query.fetch_all(&mut *tx).await?);
                    remaining -= rows;
                }
                ids
            };
            for (target, merged) in &grouping.merges {
                for table in ["vuln_aliases", "vulnerabilities"] {
                    let mut placeholders = Placeholders::new(backend);
                    let mut sql = format!("UPDATE {table} SET group_id = ");
                    placeholders.push(&mut sql);
                    sql.push_str(" WHERE group_id IN (");
                    for position in 0..merged.len() {
                        if position > 0 {
                            sql.push(',');
                        }
                        placeholders.push(&mut sql);
                    }
                    sql.push(')');
                    let query = merged
                        .iter()
                        .fold(sqlx::query(&sql).bind(*target), |query, group| query.bind(*group));
                    query.execute(&mut *tx).await?;
                }
            }
            let group_of_write: Vec<i64> = grouping
                .group_of_write
                .iter()
                .map(|group| match group {
                    GroupRef::Existing(id) => *id,
                    GroupRef::New(index) => new_group_ids[*index],
                })
                .collect();

            let mut alias_rows: Vec<(&str, i64)> = Vec::new();
            let mut seen_aliases = HashSet::new();
            for (identifiers, group_id) in identifiers_of.iter().zip(&group_of_write) {
                for alias in identifiers {
                    if seen_aliases.insert(alias.as_str()) {
                        alias_rows.push((alias.as_str(), *group_id));
                    }
                }
            }
            insert_rows!(tx, backend, "INSERT INTO vuln_aliases (alias, group_id)", 2,
                " ON CONFLICT (alias) DO NOTHING", &alias_rows,
                |query, row| query.bind(row.0).bind(row.1));

            // The vulnerability rows, new and replaced alike, in multi-row upserts (a replaced
            // row keeps its id); the replaced rows' children are deleted and written again.
            let columns: Vec<VulnerabilityColumns> = plan
                .writes
                .iter()
                .map(|write| VulnerabilityColumns::of(&batch[write.index]))
                .collect::<Result<_, _>>()?;
            let mut row_ids: Vec<i64> = vec![0; plan.writes.len()];
            let positions: Vec<usize> = (0..plan.writes.len()).collect();
            for chunk in positions.chunks(rows_per_statement(14)) {
                let sql = multi_row_insert(
                    backend,
                    "INSERT INTO vulnerabilities (vuln_id, group_id, source, summary, details,
                        published, modified, withdrawn, max_cvss, severity_band,
                        has_exploit_reference, record, ingested_at, changed_in_kb_version)",
                    chunk.len(),
                    14,
                ) + " ON CONFLICT (vuln_id) DO UPDATE SET group_id = excluded.group_id,
                        source = excluded.source, summary = excluded.summary,
                        details = excluded.details, published = excluded.published,
                        modified = excluded.modified, withdrawn = excluded.withdrawn,
                        max_cvss = excluded.max_cvss, severity_band = excluded.severity_band,
                        has_exploit_reference = excluded.has_exploit_reference,
                        record = excluded.record, ingested_at = excluded.ingested_at,
                        changed_in_kb_version = excluded.changed_in_kb_version
                     RETURNING id, vuln_id";
                let mut query = sqlx::query_as::<_, (i64, String)>(&sql);
                for &w in chunk {
                    let advisory = &batch[plan.writes[w].index];
                    query = query
                        .bind(advisory.id.trim())
                        .bind(group_of_write[w])
                        .bind(source)
                        .bind(&advisory.summary)
                        .bind(&advisory.details)
                        .bind(advisory.published.map(micros))
                        .bind(micros(advisory.modified))
                        .bind(advisory.withdrawn.map(micros))
                        .bind(columns[w].max_cvss)
                        .bind(columns[w].band)
                        .bind(advisory.has_exploit_reference())
                        .bind(&columns[w].record_json)
                        .bind(at)
                        .bind(kb_version);
                }
                let returned: HashMap<String, i64> = query
                    .fetch_all(&mut *tx)
                    .await?
                    .into_iter()
                    .map(|(row_id, vuln_id)| (vuln_id, row_id))
                    .collect();
                for &w in chunk {
                    let id = batch[plan.writes[w].index].id.trim();
                    row_ids[w] = *returned.get(id).ok_or_else(|| {
                        StoreError::Corrupt(format!("no row id returned for {id}"))
                    })?;
                }
            }
            let replaced: Vec<i64> = plan.writes.iter().filter_map(|write| write.stored_row).collect();
            for chunk in replaced.chunks(rows_per_statement(1)) {
                for table in [
                    "vuln_severities",
                    "vuln_cwes",
                    "vuln_references",
                    "affected_packages",
                    "cpe_matches",
                ] {
                    let sql = format!(
                        "DELETE FROM {table} WHERE vulnerability_id IN ({})",
                        placeholder_list(backend, chunk.len())
                    );
                    let query = chunk.iter().fold(sqlx::query(&sql), |query, id| query.bind(*id));
                    query.execute(&mut *tx).await?;
                }
            }

            // Children of every written record.
            let children = ChildRows::of(batch, &plan.writes, &row_ids);
            insert_rows!(tx, backend,
                "INSERT INTO vuln_severities (vulnerability_id, kind, vector, source,
                    cvss_version, base_score, band)", 7, "", &children.severities,
                |query, row| {
                    let (vulnerability_id, severity) = row;
                    let computed = severity.computed.as_ref();
                    query
                        .bind(*vulnerability_id)
                        .bind(severity.kind.as_osv())
                        .bind(&severity.score)
                        .bind(&severity.source)
                        .bind(computed.map(|c| cvss_version_label(c.version)))
                        .bind(computed.map(|c| c.base_score))
                        .bind(computed.map(|c| c.band.as_str()))
                });
            insert_rows!(tx, backend, "INSERT INTO vuln_cwes (vulnerability_id, cwe_id)", 2, "",
                &children.cwes, |query, row| query.bind(row.0).bind(row.1));
            insert_rows!(tx, backend,
                "INSERT INTO vuln_references (vulnerability_id, kind, url, tags, is_exploit)", 5, "",
                &children.references,
                |query, row| {
                    let (vulnerability_id, reference) = row;
                    query
                        .bind(*vulnerability_id)
                        .bind(reference.kind.as_osv())
                        .bind(&reference.url)
                        .bind(serde_json::to_string(&reference.tags).unwrap_or_else(|_| "[]".into()))
                        .bind(reference.is_exploit)
                });
            insert_rows!(tx, backend,
                "INSERT INTO affected_packages (vulnerability_id, ecosystem, name,
                    normalized_name, purl, ranges, versions)", 7, "", &children.affected,
                |query, row| {
                    let (vulnerability_id, affected, package) = row;
                    query
                        .bind(*vulnerability_id)
                        .bind(&package.ecosystem)
                        .bind(&package.name)
                        .bind(normalize_package_name(&package.ecosystem, &package.name))
                        .bind(&package.purl)
                        .bind(serde_json::to_string(&affected.ranges).unwrap_or_else(|_| "[]".into()))
                        .bind(serde_json::to_string(&affected.versions).unwrap_or_else(|_| "[]".into()))
                });
            if !children.cpe.is_empty() {
                let products: Vec<(&str, &str)> = children
                    .cpe
                    .iter()
                    .map(|(_, row)| (row.vendor.as_str(), row.product.as_str()))
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let mut product_ids: HashMap<(String, String), i64> = HashMap::new();
                for chunk in products.chunks(rows_per_statement(2)) {
                    // DO UPDATE (a no-op) rather than DO NOTHING, so that existing products
                    // return their ids too.
                    let sql = multi_row_insert(backend, "INSERT INTO cpe_products (vendor, product)", chunk.len(), 2)
                        + " ON CONFLICT (vendor, product) DO UPDATE SET vendor = excluded.vendor
                           RETURNING id, vendor, product";
                    let mut query = sqlx::query_as::<_, (i64, String, String)>(&sql);
                    for (vendor, product) in chunk {
                        query = query.bind(*vendor).bind(*product);
                    }
                    for (id, vendor, product) in query.fetch_all(&mut *tx).await? {
                        product_ids.insert((vendor, product), id);
                    }
                }
                let mut cpe_rows_with_products = Vec::with_capacity(children.cpe.len());
                for (vulnerability_id, row) in &children.cpe {
                    let product_id = *product_ids
                        .get(&(row.vendor.clone(), row.product.clone()))
                        .ok_or_else(|| StoreError::Corrupt(format!("no catalogue id for {}", row.criteria)))?;
                    cpe_rows_with_products.push((*vulnerability_id, product_id, row));
                }
                insert_rows!(tx, backend,
                    "INSERT INTO cpe_matches (vulnerability_id, product_id, configuration_index,
                        criteria, part, version, vulnerable, version_start_including,
                        version_start_excluding, version_end_including, version_end_excluding,
                        configuration_operator, configuration_negate, node_index,
                        node_operator, node_negate)", 16, "", &cpe_rows_with_products,
                    |query, entry| {
                        let (vulnerability_id, product_id, row) = entry;
                        query
                            .bind(*vulnerability_id)
                            .bind(*product_id)
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
                    });
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
