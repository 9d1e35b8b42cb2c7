//! Writing the knowledge base: one transaction per batch, idempotent, newest `modified` wins.
//!
//! Every ingest first bumps `kb_state.version` (which also takes the write lock on both
//! backends, so concurrent ingests serialise and alias groups cannot be merged by two writers
//! at once), then applies the batch. A batch that changed nothing is rolled back, so the
//! version only moves when the knowledge base did.

use crate::BeginWrite;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, SubsecRound, Utc};
use rampart_core::{normalize_package_name, EventType};
use rampart_formats::advisory::{Advisory, CpeOperator, EpssFile, ExploitRecord, KevEntry};
use serde::Serialize;
use sqlx::FromRow;

use super::records::{EpssView, KevView};
use crate::bulk::{id_lists, Bulk, Column};
use crate::events::{record_events, NewEvent};
use crate::{now, with_pool, Store, StoreError, Tenant};

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
/// Days of EPSS history kept behind the newest EPSS file's day: about half a year of a CVE's
/// score changes, at most one point a day (bounded whatever the feed does).
pub const EPSS_HISTORY_DAYS: i64 = 183;

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

/// An advisory with everything its rows derive from it computed: the record's JSON, its
/// highest score, its child rows' JSON and lookup keys. Preparing is pure and can run where
/// the record was parsed, so that the writer, the one thing an ingest cannot spread over
/// cores, only binds and sends.
///
/// It borrows the advisory (`ingest_advisories`) or owns it (`PreparedAdvisory<'static>`,
/// to be sent from the thread that parsed it).
pub struct PreparedAdvisory<'a> {
    advisory: Cow<'a, Advisory>,
    record_json: String,
    max_cvss: Option<f64>,
    band: Option<&'static str>,
    has_exploit_reference: bool,
    /// RustSec's informational kind (`unmaintained`, ...); `None` for a vulnerability.
    informational: Option<String>,
    /// One per affected entry that names a package, in entry order.
    packages: Vec<PreparedPackage>,
}

struct PreparedPackage {
    /// Its position in `advisory.affected`.
    entry: usize,
    normalized_name: String,
    ranges_json: String,
    versions_json: String,
}

impl PreparedAdvisory<'static> {
    pub fn new(advisory: Advisory) -> Result<Self, StoreError> {
        Self::of(Cow::Owned(advisory))
    }
}

impl<'a> PreparedAdvisory<'a> {
    pub fn borrowed(advisory: &'a Advisory) -> Result<Self, StoreError> {
        Self::of(Cow::Borrowed(advisory))
    }

    fn of(advisory: Cow<'a, Advisory>) -> Result<Self, StoreError> {
        let record_json = serde_json::to_string(advisory.as_ref())
            .map_err(|e| StoreError::Corrupt(format!("advisory {} to JSON: {e}", advisory.id)))?;
        let max = advisory.max_cvss();
        let packages = advisory
            .affected
            .iter()
            .enumerate()
            .filter_map(|(entry, affected)| {
                let package = affected.package.as_ref()?;
                Some(PreparedPackage {
                    entry,
                    normalized_name: normalize_package_name(&package.ecosystem, &package.name),
                    ranges_json: json_array(&affected.ranges),
                    versions_json: json_array(&affected.versions),
                })
            })
            .collect();
        Ok(Self {
            max_cvss: max.map(|s| s.base_score),
            band: max.map(|s| s.band.as_str()),
            has_exploit_reference: advisory.has_exploit_reference(),
            informational: advisory.informational(),
            record_json,
            packages,
            advisory,
        })
    }

    pub fn advisory(&self) -> &Advisory {
        &self.advisory
    }
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
    fn of(batch: &[PreparedAdvisory<'_>], stored: &HashMap<String, (i64, DateTime<Utc>)>) -> Self {
        let mut stats = IngestStats::default();
        let mut writes: Vec<Write> = Vec::new();
        // id → (position in `writes`, the newest `modified` written for it).
        let mut planned: HashMap<&str, (usize, DateTime<Utc>)> = HashMap::new();
        for (index, advisory) in batch.iter().map(PreparedAdvisory::advisory).enumerate() {
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

/// The child rows of the written records, column-wise, by the records' row ids.
struct ChildRows<'a> {
    severities: [Column<'a>; 7],
    cwes: [Column<'a>; 2],
    affected: [Column<'a>; 7],
    /// (record row id, CPE match) of every match, for their products' ids.
    cpe: Vec<(i64, CpeRow<'a>)>,
}

impl<'a> ChildRows<'a> {
    fn of(batch: &'a [PreparedAdvisory<'_>], writes: &[Write], row_ids: &[i64]) -> Self {
        let (mut severity_ids, mut kinds, mut vectors, mut sources) =
            (vec![], vec![], vec![], vec![]);
        let (mut versions, mut scores, mut bands) = (vec![], vec![], vec![]);
        let (mut cwe_ids, mut cwes) = (vec![], vec![]);
        let (mut affected_ids, mut ecosystems, mut names, mut normalized) =
            (vec![], vec![], vec![], vec![]);
        let (mut purls, mut ranges, mut listed) = (vec![], vec![], vec![]);
        let mut cpe = Vec::new();
        for (write, &row_id) in writes.iter().zip(row_ids) {
            let prepared = &batch[write.index];
            let advisory = &prepared.advisory;
            let severities = advisory
                .severity
                .iter()
                .chain(advisory.affected.iter().flat_map(|a| a.severity.iter()));
            for severity in severities {
                let computed = severity.computed.as_ref();
                severity_ids.push(row_id);
                kinds.push(severity.kind.as_osv());
                vectors.push(severity.score.as_str());
                sources.push(severity.source.as_deref());
                versions.push(computed.map(|c| cvss_version_label(c.version)));
                scores.push(computed.map(|c| c.base_score));
                bands.push(computed.map(|c| c.band.as_str()));
            }
            for cwe in advisory
                .cwe_ids
                .iter()
                .map(String::as_str)
                .collect::<BTreeSet<_>>()
            {
                cwe_ids.push(row_id);
                cwes.push(cwe);
            }
            for package in &prepared.packages {
                let Some(named) = &advisory.affected[package.entry].package else {
                    continue;
                };
                affected_ids.push(row_id);
                ecosystems.push(named.ecosystem.as_str());
                names.push(named.name.as_str());
                normalized.push(package.normalized_name.as_str());
                purls.push(named.purl.as_deref());
                ranges.push(package.ranges_json.as_str());
                listed.push(package.versions_json.as_str());
            }
            cpe.extend(cpe_rows(advisory).into_iter().map(|row| (row_id, row)));
        }
        ChildRows {
            severities: [
                Column::Int(severity_ids),
                Column::Text(kinds),
                Column::Text(vectors),
                Column::OptionalText(sources),
                Column::OptionalText(versions),
                Column::OptionalFloat(scores),
                Column::OptionalText(bands),
            ],
            cwes: [Column::Int(cwe_ids), Column::Text(cwes)],
            affected: [
                Column::Int(affected_ids),
                Column::Text(ecosystems),
                Column::Text(names),
                Column::Text(normalized),
                Column::OptionalText(purls),
                Column::Text(ranges),
                Column::Text(listed),
            ],
            cpe,
        }
    }
}

/// A list as the JSON array the child tables keep.
fn json_array<T: Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

/// What is stored of the batch's ids: row id and `modified`, by id.
async fn stored_versions<C: Bulk>(
    conn: &mut C,
    batch: &[PreparedAdvisory<'_>],
) -> Result<HashMap<String, (i64, DateTime<Utc>)>, sqlx::Error>
where
    (i64, String, DateTime<Utc>): for<'r> FromRow<'r, C::Row>,
{
    let batch_ids: Vec<&str> = batch
        .iter()
        .map(|prepared| prepared.advisory.id.trim())
        .filter(|id| !id.is_empty())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    Ok(conn
        .select_in::<(i64, String, DateTime<Utc>)>(
            "SELECT id, vuln_id, modified FROM vulnerabilities WHERE vuln_id",
            &batch_ids,
        )
        .await?
        .into_iter()
        .map(|(row_id, vuln_id, modified)| (vuln_id, (row_id, modified)))
        .collect())
}

/// Puts every written record's identifiers into alias groups and returns each write's group:
/// every group any identifier already belongs to merges into the oldest one; records of the
/// batch sharing an identifier share a group; the rest start new groups.
async fn assign_alias_groups<C: Bulk>(
    conn: &mut C,
    batch: &[PreparedAdvisory<'_>],
    writes: &[Write],
    at: DateTime<Utc>,
) -> Result<AliasGroups, StoreError>
where
    (String, i64): for<'r> FromRow<'r, C::Row>,
    (i64,): for<'r> FromRow<'r, C::Row>,
{
    let identifiers_of: Vec<Vec<String>> = writes
        .iter()
        .map(|write| identifiers(&batch[write.index].advisory))
        .collect();
    let all_identifiers: Vec<&str> = identifiers_of
        .iter()
        .flatten()
        .map(String::as_str)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let known_groups: HashMap<String, i64> = conn
        .select_in::<(String, i64)>(
            "SELECT alias, group_id FROM vuln_aliases WHERE alias",
            &all_identifiers,
        )
        .await?
        .into_iter()
        .collect();
    let grouping = Grouping::of(&identifiers_of, &known_groups);
    let new_group_ids: Vec<i64> = conn
        .insert_columns_returning::<(i64,)>(
            "INSERT INTO vuln_groups (created_at)",
            &[Column::Time(vec![at; grouping.new_groups])],
            " RETURNING id",
        )
        .await?
        .into_iter()
        .map(|(id,)| id)
        .collect();
    if new_group_ids.len() != grouping.new_groups {
        return Err(StoreError::Corrupt("new alias groups without ids".into()));
    }
    for (target, merged) in &grouping.merges {
        for table in ["vuln_aliases", "vulnerabilities"] {
            // `target` is a stored group id (an integer), not input.
            conn.execute_for_ids(
                &format!("UPDATE {table} SET group_id = {target} WHERE group_id"),
                merged,
            )
            .await?;
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

    let (mut aliases, mut alias_groups) = (Vec::new(), Vec::new());
    let mut seen_aliases = HashSet::new();
    for (identifiers, group_id) in identifiers_of.iter().zip(&group_of_write) {
        for alias in identifiers {
            if seen_aliases.insert(alias.as_str()) {
                aliases.push(alias.as_str());
                alias_groups.push(*group_id);
            }
        }
    }
    conn.insert_columns(
        "INSERT INTO vuln_aliases (alias, group_id)",
        &[Column::Text(aliases), Column::Int(alias_groups)],
        " ON CONFLICT (alias) DO NOTHING",
    )
    .await?;
    let merged = grouping
        .merges
        .into_iter()
        .flat_map(|(_, merged)| merged)
        .collect();
    Ok(AliasGroups {
        of_write: group_of_write,
        merged,
    })
}

/// The alias group of each written record, and the stored groups merged away.
struct AliasGroups {
    of_write: Vec<i64>,
    merged: Vec<i64>,
}

/// One alias group's rating, as `group_ratings` keeps it: the highest CVSS of its records,
/// the highest EPSS score and percentile of its identifiers, and whether CISA KEV lists one
/// (migration 0031 fills the table with the same query).
const GROUP_RATINGS: &str =
    "INSERT INTO group_ratings (group_id, cvss, epss, epss_percentile, in_kev)
    SELECT g.id,
        (SELECT MAX(v.max_cvss) FROM vulnerabilities v WHERE v.group_id = g.id),
        (SELECT MAX(e.epss) FROM vuln_aliases a JOIN epss_scores e ON e.cve_id = a.alias
         WHERE a.group_id = g.id),
        (SELECT MAX(e.percentile) FROM vuln_aliases a JOIN epss_scores e ON e.cve_id = a.alias
         WHERE a.group_id = g.id),
        EXISTS (SELECT 1 FROM vuln_aliases a JOIN kev_entries k ON k.cve_id = a.alias
                WHERE a.group_id = g.id)
    FROM vuln_groups g WHERE g.id";

/// Recomputes the ratings of these alias groups, in the transaction that changed what rates
/// them (a group merged away keeps a row of NULLs: nothing is left in it).
async fn refresh_group_ratings<C: Bulk>(conn: &mut C, groups: &[i64]) -> Result<(), sqlx::Error> {
    let groups: Vec<i64> = groups
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    conn.execute_for_ids("DELETE FROM group_ratings WHERE group_id", &groups)
        .await?;
    conn.execute_for_ids(GROUP_RATINGS, &groups).await
}

/// An open finding in the alias group of a CVE newly listed in KEV.
#[derive(Debug, FromRow)]
struct KevFinding {
    id: i64,
    group_id: i64,
    team_id: i64,
    release_id: i64,
    sbom_id: i64,
    is_test: bool,
    vuln_id: String,
}

/// One `finding.kev_added` per newly listed CVE (in listing order) and open finding of its
/// alias group (in id order); `group_of` maps a CVE to its group.
fn kev_added_events(
    newly_listed: &[(&str, KevView)],
    group_of: &[(String, i64)],
    mut open: Vec<KevFinding>,
) -> Vec<NewEvent> {
    open.sort_unstable_by_key(|finding| finding.id);
    let mut open_of_group: HashMap<i64, Vec<&KevFinding>> = HashMap::new();
    for finding in &open {
        open_of_group
            .entry(finding.group_id)
            .or_default()
            .push(finding);
    }
    let group_of: HashMap<&str, i64> = group_of
        .iter()
        .map(|(alias, group)| (alias.as_str(), *group))
        .collect();
    let mut events = Vec::new();
    for (cve_id, kev) in newly_listed {
        let Some(findings) = group_of
            .get(cve_id)
            .and_then(|group| open_of_group.get(group))
        else {
            continue;
        };
        for finding in findings {
            let data = serde_json::json!({
                "finding_id": finding.id,
                "release_id": finding.release_id,
                "sbom_id": finding.sbom_id,
                "vulnerability_id": finding.vuln_id,
                "cve_id": cve_id,
                "kev": {
                    "vulnerability_name": kev.vulnerability_name,
                    "date_added": kev.date_added,
                    "due_date": kev.due_date,
                    "required_action": kev.required_action,
                    "known_ransomware_campaign_use": kev.known_ransomware_campaign_use,
                },
            });
            let tenant = Tenant {
                team_id: finding.team_id,
                test: finding.is_test,
            };
            events.push(NewEvent::team(tenant, EventType::FindingKevAdded, data));
        }
    }
    events
}

/// [`refresh_group_ratings`] of the groups these CVE ids (KEV or EPSS entries) belong to.
async fn refresh_ratings_of_cves<C: Bulk>(conn: &mut C, cve_ids: &[&str]) -> Result<(), sqlx::Error>
where
    (i64,): for<'r> FromRow<'r, C::Row>,
{
    let groups: Vec<i64> = conn
        .select_in::<(i64,)>("SELECT group_id FROM vuln_aliases WHERE alias", cve_ids)
        .await?
        .into_iter()
        .map(|(group,)| group)
        .collect();
    refresh_group_ratings(conn, &groups).await
}

/// The vulnerability rows, new and replaced alike, in one upsert (a replaced row keeps its
/// id). Returns each written record's row id, in `written` order.
async fn upsert_vulnerabilities<C: Bulk>(
    conn: &mut C,
    source: &str,
    written: &[&PreparedAdvisory<'_>],
    group_of_write: Vec<i64>,
    at: DateTime<Utc>,
    kb_version: i64,
) -> Result<Vec<i64>, StoreError>
where
    (i64, String): for<'r> FromRow<'r, C::Row>,
{
    let advisories: Vec<&Advisory> = written.iter().map(|p| p.advisory()).collect();
    let rows = written.len();
    let vulnerability_columns = [
        Column::Text(advisories.iter().map(|a| a.id.trim()).collect()),
        Column::Int(group_of_write),
        Column::Text(vec![source; rows]),
        Column::OptionalText(advisories.iter().map(|a| a.summary.as_deref()).collect()),
        Column::OptionalText(advisories.iter().map(|a| a.details.as_deref()).collect()),
        Column::OptionalTime(advisories.iter().map(|a| a.published.map(micros)).collect()),
        Column::Time(advisories.iter().map(|a| micros(a.modified)).collect()),
        Column::OptionalTime(advisories.iter().map(|a| a.withdrawn.map(micros)).collect()),
        Column::OptionalFloat(written.iter().map(|p| p.max_cvss).collect()),
        Column::OptionalText(written.iter().map(|p| p.band).collect()),
        Column::Bool(written.iter().map(|p| p.has_exploit_reference).collect()),
        Column::OptionalText(written.iter().map(|p| p.informational.as_deref()).collect()),
        Column::Text(written.iter().map(|p| p.record_json.as_str()).collect()),
        Column::Time(vec![at; rows]),
        Column::Int(vec![kb_version; rows]),
    ];
    let returned: HashMap<String, i64> = conn
        .insert_columns_returning::<(i64, String)>(
            "INSERT INTO vulnerabilities (vuln_id, group_id, source, summary, details,
                published, modified, withdrawn, max_cvss, severity_band,
                has_exploit_reference, informational, record, ingested_at,
                changed_in_kb_version)",
            &vulnerability_columns,
            " ON CONFLICT (vuln_id) DO UPDATE SET group_id = excluded.group_id,
                source = excluded.source, summary = excluded.summary,
                details = excluded.details, published = excluded.published,
                modified = excluded.modified, withdrawn = excluded.withdrawn,
                max_cvss = excluded.max_cvss, severity_band = excluded.severity_band,
                has_exploit_reference = excluded.has_exploit_reference,
                informational = excluded.informational, record = excluded.record, ingested_at = excluded.ingested_at,
                changed_in_kb_version = excluded.changed_in_kb_version
             RETURNING id, vuln_id",
        )
        .await?
        .into_iter()
        .map(|(row_id, vuln_id)| (vuln_id, row_id))
        .collect();
    advisories
        .iter()
        .map(|advisory| {
            let id = advisory.id.trim();
            returned
                .get(id)
                .copied()
                .ok_or_else(|| StoreError::Corrupt(format!("no row id returned for {id}")))
        })
        .collect()
}

/// The child tables a record's rows are spread over (deleted and written again when a
/// record is replaced).
const CHILD_TABLES: [&str; 4] = [
    "vuln_severities",
    "vuln_cwes",
    "affected_packages",
    "cpe_matches",
];

async fn delete_children<C: Bulk>(conn: &mut C, replaced: &[i64]) -> Result<(), sqlx::Error> {
    if replaced.is_empty() {
        return Ok(());
    }
    for table in CHILD_TABLES {
        conn.execute_for_ids(
            &format!("DELETE FROM {table} WHERE vulnerability_id"),
            replaced,
        )
        .await?;
    }
    Ok(())
}

async fn insert_children<C: Bulk>(conn: &mut C, children: &ChildRows<'_>) -> Result<(), StoreError>
where
    (i64, String, String): for<'r> FromRow<'r, C::Row>,
{
    conn.insert_columns(
        "INSERT INTO vuln_severities (vulnerability_id, kind, vector, source,
            cvss_version, base_score, band)",
        &children.severities,
        "",
    )
    .await?;
    conn.insert_columns(
        "INSERT INTO vuln_cwes (vulnerability_id, cwe_id)",
        &children.cwes,
        "",
    )
    .await?;
    conn.insert_columns(
        "INSERT INTO affected_packages (vulnerability_id, ecosystem, name,
            normalized_name, purl, ranges, versions)",
        &children.affected,
        "",
    )
    .await?;
    insert_cpe_matches(conn, &children.cpe).await
}

/// The CPE matches of written records, and the catalogue products they name.
async fn insert_cpe_matches<C: Bulk>(
    conn: &mut C,
    rows: &[(i64, CpeRow<'_>)],
) -> Result<(), StoreError>
where
    (i64, String, String): for<'r> FromRow<'r, C::Row>,
{
    if rows.is_empty() {
        return Ok(());
    }
    let products: Vec<(&str, &str)> = rows
        .iter()
        .map(|(_, row)| (row.vendor.as_str(), row.product.as_str()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // DO UPDATE (a no-op) rather than DO NOTHING, so that existing products return their ids
    // too.
    let product_ids: HashMap<(String, String), i64> = conn
        .insert_columns_returning::<(i64, String, String)>(
            "INSERT INTO cpe_products (vendor, product)",
            &[
                Column::Text(products.iter().map(|p| p.0).collect()),
                Column::Text(products.iter().map(|p| p.1).collect()),
            ],
            " ON CONFLICT (vendor, product) DO UPDATE SET vendor = excluded.vendor
             RETURNING id, vendor, product",
        )
        .await?
        .into_iter()
        .map(|(id, vendor, product)| ((vendor, product), id))
        .collect();
    let mut product_of_row = Vec::with_capacity(rows.len());
    for (_, row) in rows {
        let product_id = *product_ids
            .get(&(row.vendor.clone(), row.product.clone()))
            .ok_or_else(|| StoreError::Corrupt(format!("no catalogue id for {}", row.criteria)))?;
        product_of_row.push(product_id);
    }
    conn.insert_columns(
        "INSERT INTO cpe_matches (vulnerability_id, product_id, configuration_index,
            criteria, part, version, vulnerable, version_start_including,
            version_start_excluding, version_end_including, version_end_excluding,
            configuration_operator, configuration_negate, node_index,
            node_operator, node_negate)",
        &[
            Column::Int(rows.iter().map(|(id, _)| *id).collect()),
            Column::Int(product_of_row),
            Column::Int(
                rows.iter()
                    .map(|(_, row)| row.configuration_index)
                    .collect(),
            ),
            Column::Text(rows.iter().map(|(_, row)| row.criteria).collect()),
            Column::Text(rows.iter().map(|(_, row)| row.part.as_str()).collect()),
            Column::Text(rows.iter().map(|(_, row)| row.version.as_str()).collect()),
            Column::Bool(rows.iter().map(|(_, row)| row.vulnerable).collect()),
            Column::OptionalText(rows.iter().map(|(_, row)| row.start_including).collect()),
            Column::OptionalText(rows.iter().map(|(_, row)| row.start_excluding).collect()),
            Column::OptionalText(rows.iter().map(|(_, row)| row.end_including).collect()),
            Column::OptionalText(rows.iter().map(|(_, row)| row.end_excluding).collect()),
            Column::Text(
                rows.iter()
                    .map(|(_, row)| row.configuration_operator)
                    .collect(),
            ),
            Column::Bool(
                rows.iter()
                    .map(|(_, row)| row.configuration_negate)
                    .collect(),
            ),
            Column::Int(rows.iter().map(|(_, row)| row.node_index).collect()),
            Column::Text(rows.iter().map(|(_, row)| row.node_operator).collect()),
            Column::Bool(rows.iter().map(|(_, row)| row.node_negate).collect()),
        ],
        "",
    )
    .await?;
    Ok(())
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
        let prepared: Vec<PreparedAdvisory<'_>> = batch
            .iter()
            .map(PreparedAdvisory::borrowed)
            .collect::<Result<_, _>>()?;
        self.ingest_prepared(source, &prepared).await
    }

    /// [`Store::ingest_advisories`] of advisories prepared beforehand.
    pub async fn ingest_prepared(
        &self,
        source: &str,
        batch: &[PreparedAdvisory<'_>],
    ) -> Result<IngestStats, StoreError> {
        let at = now();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let kb_version: i64 = sqlx::query_scalar(
                "UPDATE kb_state SET version = version + 1 WHERE id = 1 RETURNING version",
            )
            .fetch_one(&mut *tx)
            .await?;
            let stored = stored_versions(&mut *tx, batch).await?;
            let plan = WritePlan::of(batch, &stored);
            if plan.writes.is_empty() {
                return finish(tx, plan.stats).await;
            }
            let groups = assign_alias_groups(&mut *tx, batch, &plan.writes, at).await?;
            let touched_groups: Vec<i64> =
                groups.of_write.iter().chain(&groups.merged).copied().collect();
            let group_of_write = groups.of_write;
            let written: Vec<&PreparedAdvisory<'_>> =
                plan.writes.iter().map(|write| &batch[write.index]).collect();
            let row_ids =
                upsert_vulnerabilities(&mut *tx, source, &written, group_of_write, at, kb_version)
                    .await?;
            let replaced: Vec<i64> = plan.writes.iter().filter_map(|write| write.stored_row).collect();
            delete_children(&mut *tx, &replaced).await?;
            insert_children(&mut *tx, &ChildRows::of(batch, &plan.writes, &row_ids)).await?;
            refresh_group_ratings(&mut *tx, &touched_groups).await?;
            finish(tx, plan.stats).await
        })
    }

    /// Stores CISA KEV entries (keyed by CVE id) in one transaction; a changed entry replaces
    /// the stored one. A CVE newly listed records `finding.kev_added` for every open finding
    /// of its alias group, in the same transaction.
    pub async fn ingest_kev(&self, batch: &[KevEntry]) -> Result<IngestStats, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            // Stamped on changed entries: alerts evaluate what changed since a version.
            let kb_version: i64 = sqlx::query_scalar(
                "UPDATE kb_state SET version = version + 1 WHERE id = 1 RETURNING version",
            )
            .fetch_one(&mut *tx)
            .await?;
            let mut stats = IngestStats::default();
            let mut changed: Vec<&str> = Vec::new();
            let mut newly_listed: Vec<(&str, KevView)> = Vec::new();
            for entry in batch {
                let cve_id = entry.cve_id.trim();
                if cve_id.is_empty() {
                    stats.skipped += 1;
                    continue;
                }
                let fresh = StoredKev {
                    entry: KevView::from(entry),
                    cwes: serde_json::to_string(&entry.cwes).unwrap_or_else(|_| "[]".into()),
                };
                let stored: Option<StoredKev> = sqlx::query_as(
                    "SELECT cve_id, vendor_project, product, vulnerability_name, date_added,
                            short_description, required_action, due_date,
                            known_ransomware_campaign_use, notes, cwes
                     FROM kev_entries WHERE cve_id = $1",
                )
                .bind(cve_id)
                .fetch_optional(&mut *tx)
                .await?;
                let listed = match stored {
                    Some(stored) if stored == fresh => {
                        stats.unchanged += 1;
                        continue;
                    }
                    Some(_) => {
                        stats.updated += 1;
                        false
                    }
                    None => {
                        stats.added += 1;
                        true
                    }
                };
                if listed {
                    newly_listed.push((cve_id, fresh.entry.clone()));
                }
                sqlx::query(
                    "INSERT INTO kev_entries (cve_id, vendor_project, product, vulnerability_name,
                        date_added, short_description, required_action, due_date,
                        known_ransomware_campaign_use, notes, cwes, changed_in_kb_version)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                     ON CONFLICT (cve_id) DO UPDATE SET vendor_project = excluded.vendor_project,
                        changed_in_kb_version = excluded.changed_in_kb_version,
                        product = excluded.product, vulnerability_name = excluded.vulnerability_name,
                        date_added = excluded.date_added, short_description = excluded.short_description,
                        required_action = excluded.required_action, due_date = excluded.due_date,
                        known_ransomware_campaign_use = excluded.known_ransomware_campaign_use,
                        notes = excluded.notes, cwes = excluded.cwes",
                )
                .bind(cve_id)
                .bind(&fresh.entry.vendor_project)
                .bind(&fresh.entry.product)
                .bind(&fresh.entry.vulnerability_name)
                .bind(fresh.entry.date_added)
                .bind(&fresh.entry.short_description)
                .bind(&fresh.entry.required_action)
                .bind(fresh.entry.due_date)
                .bind(fresh.entry.known_ransomware_campaign_use)
                .bind(&fresh.entry.notes)
                .bind(&fresh.cwes)
                .bind(kb_version)
                .execute(&mut *tx)
                .await?;
                changed.push(cve_id);
            }
            refresh_ratings_of_cves(&mut *tx, &changed).await?;
            // The open findings of the newly listed CVEs' alias groups: the SBOMs that have
            // any come from sbom_open_groups, then each SBOM's findings are read once.
            let listed_cves: Vec<&str> = newly_listed.iter().map(|(cve_id, _)| *cve_id).collect();
            let group_of: Vec<(String, i64)> = tx
                .select_in("SELECT alias, group_id FROM vuln_aliases WHERE alias", &listed_cves)
                .await?;
            let groups: BTreeSet<i64> = group_of.iter().map(|(_, group)| *group).collect();
            let groups: Vec<i64> = groups.into_iter().collect();
            let mut open: Vec<KevFinding> = Vec::new();
            for list in id_lists(&groups) {
                let sboms: Vec<(i64, i64)> = sqlx::query_as(&format!(
                    "SELECT DISTINCT o.sbom_id, s.release_id FROM sbom_open_groups o
                     JOIN sboms s ON s.id = o.sbom_id
                     WHERE o.group_id IN ({list})"
                ))
                .fetch_all(&mut *tx)
                .await?;
                let findings_of_sbom = format!(
                    "SELECT f.id, f.group_id, f.team_id, f.release_id, f.sbom_id, s.is_test,
                        v.vuln_id
                     FROM findings f
                     JOIN sboms s ON s.id = f.sbom_id
                     JOIN vulnerabilities v ON v.id = f.vulnerability_id
                     WHERE f.release_id = $2 AND f.sbom_id = $1 AND f.resolved_at IS NULL
                        AND f.group_id IN ({list})"
                );
                for (sbom_id, release_id) in sboms {
                    let found: Vec<KevFinding> = sqlx::query_as(&findings_of_sbom)
                        .bind(sbom_id)
                        .bind(release_id)
                        .fetch_all(&mut *tx)
                        .await?;
                    open.extend(found);
                }
            }
            let events = kev_added_events(&newly_listed, &group_of, open);
            record_events(&mut *tx, &events, now()).await?;
            finish(tx, stats).await
        })
    }

    /// Stores an EPSS file's scores (keyed by CVE id) in one transaction; a score with another
    /// value or date replaces the stored one. A CVE whose score or percentile changed (or is
    /// new) also gets a point in its history for the file's day (today for an undated file),
    /// and history older than [`EPSS_HISTORY_DAYS`] before that day is deleted.
    pub async fn ingest_epss(&self, file: &EpssFile) -> Result<IngestStats, StoreError> {
        let score_date = file.score_date.map(micros);
        let score_day = file.score_date.unwrap_or_else(now).date_naive();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("UPDATE kb_state SET version = version + 1 WHERE id = 1")
                .execute(&mut *tx)
                .await?;
            let mut stats = IngestStats::default();
            let mut changed: Vec<&str> = Vec::new();
            for score in &file.scores.records {
                let cve_id = score.cve_id.trim();
                if cve_id.is_empty() {
                    stats.skipped += 1;
                    continue;
                }
                let stored: Option<EpssView> = sqlx::query_as(
                    "SELECT cve_id, epss, percentile, score_date, model_version FROM epss_scores
                     WHERE cve_id = $1",
                )
                .bind(cve_id)
                .fetch_optional(&mut *tx)
                .await?;
                let fresh = EpssView::of(score, score_date, file.model_version.as_deref());
                let score_changed = match &stored {
                    Some(stored) if stored == &fresh => {
                        stats.unchanged += 1;
                        continue;
                    }
                    Some(stored) => {
                        stats.updated += 1;
                        stored.epss != fresh.epss || stored.percentile != fresh.percentile
                    }
                    None => {
                        stats.added += 1;
                        true
                    }
                };
                if score_changed {
                    sqlx::query(
                        "INSERT INTO epss_history (cve_id, score_day, epss, percentile)
                         VALUES ($1, $2, $3, $4)
                         ON CONFLICT (cve_id, score_day) DO UPDATE SET epss = excluded.epss,
                            percentile = excluded.percentile",
                    )
                    .bind(cve_id)
                    .bind(score_day)
                    .bind(fresh.epss)
                    .bind(fresh.percentile)
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query(
                    "INSERT INTO epss_scores (cve_id, epss, percentile, score_date, model_version)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (cve_id) DO UPDATE SET epss = excluded.epss,
                        percentile = excluded.percentile, score_date = excluded.score_date,
                        model_version = excluded.model_version",
                )
                .bind(cve_id)
                .bind(fresh.epss)
                .bind(fresh.percentile)
                .bind(fresh.score_date)
                .bind(&fresh.model_version)
                .execute(&mut *tx)
                .await?;
                if score_changed {
                    changed.push(cve_id);
                }
            }
            refresh_ratings_of_cves(&mut *tx, &changed).await?;
            sqlx::query("DELETE FROM epss_history WHERE score_day < $1")
                .bind(score_day - chrono::Duration::days(EPSS_HISTORY_DAYS))
                .execute(&mut *tx)
                .await?;
            finish(tx, stats).await
        })
    }

    /// Stores ExploitDB records (keyed by EDB id) and their CVE links in one transaction.
    pub async fn ingest_exploits(
        &self,
        batch: &[ExploitRecord],
    ) -> Result<IngestStats, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
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

/// A KEV entry as its row stores it: the record, and the CWE ids (a JSON array) it is not
/// served with.
#[derive(Debug, PartialEq, sqlx::FromRow)]
struct StoredKev {
    #[sqlx(flatten)]
    entry: KevView,
    cwes: String,
}

/// An exploit as its `exploits` row stores it (its CVE links live in `exploit_cves`; what is
/// served is `ExploitView`, one per linked CVE).
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
    use super::{cpe_components, kev_added_events, KevFinding, KevView};

    fn kev(cve_id: &str) -> KevView {
        KevView {
            cve_id: cve_id.to_string(),
            vendor_project: "v".into(),
            product: "p".into(),
            vulnerability_name: format!("{cve_id} name"),
            date_added: chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            short_description: "d".into(),
            required_action: "patch".into(),
            due_date: None,
            known_ransomware_campaign_use: false,
            notes: String::new(),
        }
    }

    fn open(id: i64, group_id: i64, team_id: i64) -> KevFinding {
        KevFinding {
            id,
            group_id,
            team_id,
            release_id: 10 + team_id,
            sbom_id: 100 + team_id,
            is_test: false,
            vuln_id: format!("GHSA-{group_id}"),
        }
    }

    #[test]
    fn kev_events_name_each_listed_cve_and_each_open_finding_of_its_group() {
        // CVE-1 and CVE-2 share group 7; CVE-3 has no group; group 8's CVE was not listed.
        let listed = [
            ("CVE-2", kev("CVE-2")),
            ("CVE-3", kev("CVE-3")),
            ("CVE-1", kev("CVE-1")),
        ];
        let group_of = [("CVE-1".to_string(), 7), ("CVE-2".to_string(), 7)];
        let found = vec![open(5, 7, 2), open(3, 7, 1), open(4, 8, 1)];
        let events = kev_added_events(&listed, &group_of, found);
        let named: Vec<(String, i64, i64)> = events
            .iter()
            .map(|event| {
                (
                    event.data["cve_id"].as_str().unwrap().to_string(),
                    event.data["finding_id"].as_i64().unwrap(),
                    event.team_id.unwrap(),
                )
            })
            .collect();
        assert_eq!(
            named,
            [
                ("CVE-2".to_string(), 3, 1),
                ("CVE-2".to_string(), 5, 2),
                ("CVE-1".to_string(), 3, 1),
                ("CVE-1".to_string(), 5, 2),
            ]
        );
        assert_eq!(events[0].data["kev"]["vulnerability_name"], "CVE-2 name");
        assert_eq!(events[0].data["sbom_id"], 101);
        assert_eq!(events[0].data["vulnerability_id"], "GHSA-7");
    }

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
