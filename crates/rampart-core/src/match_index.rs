//! The match index: every affected package of the knowledge base compiled once, in memory,
//! immutable. Built from rows the store hands over; answered without touching a database.
//! [`MatchIndexHandle`] holds the current index and swaps in a rebuilt one atomically, so a
//! lookup never waits for a rebuild.
//!
//! Version semantics come from `rampart-versions` (the ecosystem's scheme, OSV range
//! evaluation, CPE match criteria); nothing here orders versions itself.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use rampart_formats::advisory::{AffectedRange, RangeEvent};
use rampart_versions::cpe::CpeMatchReason;
use rampart_versions::range::{AffectedMatch, AffectedOutcome, EventKind, RawEvent};
use rampart_versions::{CompiledAffected, Cpe, CpeMatchCriteria, Ecosystem, RangeKind, Scheme};
use serde::Serialize;

use crate::package_name::normalize_package_name;

/// One `affected[]` entry of a stored record, as the index is built from it.
#[derive(Debug, Clone)]
pub struct AffectedInput {
    pub vulnerability_id: i64,
    pub vuln_id: String,
    pub modified: DateTime<Utc>,
    pub withdrawn: bool,
    pub ecosystem: String,
    pub name: String,
    pub ranges: Vec<AffectedRange>,
    pub versions: Vec<String>,
}

/// One NVD `cpeMatch` of a stored record, for CPE lookups by catalogue product.
#[derive(Debug, Clone)]
pub struct CpeInput {
    pub vulnerability_id: i64,
    pub product_id: i64,
    pub criteria: String,
    pub vulnerable: bool,
    pub version_start_including: Option<String>,
    pub version_start_excluding: Option<String>,
    pub version_end_including: Option<String>,
    pub version_end_excluding: Option<String>,
}

/// Why a record matched: the source record, the identifier asked for, how, and what decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatchEvidence {
    /// `package` (ecosystem + name), `purl` or `cpe`.
    pub matched_by: &'static str,
    /// The identifier the match was made on (`PyPI/django`, a purl, a CPE criteria).
    pub identifier: String,
    /// What decided: `version 1.2.3 listed`, `introduced 1.0, before fixed 1.4`, `no version
    /// given: every affected version`, `cpe name`, `versionEndExcluding 2.0`.
    pub detail: String,
    /// Index of the deciding range in the record's `affected[].ranges`, when a range decided.
    pub range_index: Option<usize>,
}

/// A record that affects the package (or product) asked about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexMatch {
    pub vulnerability_id: i64,
    pub vuln_id: Arc<str>,
    pub modified: DateTime<Utc>,
    pub evidence: MatchEvidence,
    /// Versions that fix it: the `fixed` events of the deciding range (of every range when
    /// a listed version decided); empty when the record names none (or for CPE matches).
    pub fixed_versions: Vec<String>,
}

struct IndexedAffected {
    vulnerability_id: i64,
    vuln_id: Arc<str>,
    modified: DateTime<Utc>,
    /// The full OSV ecosystem string as the record wrote it (suffix included).
    ecosystem: String,
    /// `None` when some range version does not parse under the ecosystem's scheme: the
    /// explicit `versions` list still matches verbatim.
    compiled: Option<CompiledAffected>,
    listed: Vec<String>,
    /// The `fixed` events of each range, by range index.
    fixed_by_range: Vec<Vec<String>>,
}

impl IndexedAffected {
    fn fixed_versions(&self, range_index: Option<usize>) -> Vec<String> {
        match range_index.and_then(|index| self.fixed_by_range.get(index)) {
            Some(fixed) => fixed.clone(),
            None => {
                let mut all: Vec<String> = self.fixed_by_range.iter().flatten().cloned().collect();
                all.dedup();
                all
            }
        }
    }
}

struct IndexedCpe {
    vulnerability_id: i64,
    criteria_text: String,
    criteria: CpeMatchCriteria,
}

/// Counts describing an index, for status pages and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct IndexStats {
    pub packages: usize,
    pub affected_entries: usize,
    pub ranges: usize,
    /// Entries whose ranges could not be compiled (only their explicit versions match).
    pub uncompiled_entries: usize,
    pub cpe_criteria: usize,
    /// CPE matches whose criteria or bounds could not be read (left out).
    pub unreadable_cpe_criteria: usize,
}

/// The immutable index.
pub struct MatchIndex {
    kb_version: i64,
    built_at: DateTime<Utc>,
    /// (lower-cased base ecosystem, normalised name) → entries.
    packages: HashMap<(String, String), Vec<IndexedAffected>>,
    /// catalogue product id → CPE criteria.
    cpe_products: HashMap<i64, Vec<IndexedCpe>>,
    stats: IndexStats,
}

fn base_ecosystem_key(ecosystem: &str) -> String {
    ecosystem
        .split(':')
        .next()
        .unwrap_or(ecosystem)
        .trim()
        .to_lowercase()
}

fn raw_events(range: &AffectedRange) -> Vec<RawEvent> {
    range
        .events
        .iter()
        .map(|event| match event {
            RangeEvent::Introduced(v) => RawEvent::new(EventKind::Introduced, v.clone()),
            RangeEvent::Fixed(v) => RawEvent::new(EventKind::Fixed, v.clone()),
            RangeEvent::LastAffected(v) => RawEvent::new(EventKind::LastAffected, v.clone()),
            RangeEvent::Limit(v) => RawEvent::new(EventKind::Limit, v.clone()),
        })
        .collect()
}

fn compile(ecosystem: &str, input: &AffectedInput) -> Option<CompiledAffected> {
    let ecosystem = Ecosystem::parse(ecosystem).ok()?;
    let ranges = input
        .ranges
        .iter()
        .map(|range| Ok((RangeKind::parse(range.kind.as_osv())?, raw_events(range))))
        .collect::<Result<Vec<_>, rampart_versions::VersionError>>()
        .ok()?;
    CompiledAffected::compile(&ecosystem, ranges, input.versions.clone()).ok()
}

impl MatchIndex {
    /// An index with nothing in it (before the first build).
    pub fn empty() -> Self {
        Self {
            kb_version: -1,
            built_at: Utc::now(),
            packages: HashMap::new(),
            cpe_products: HashMap::new(),
            stats: IndexStats::default(),
        }
    }

    /// Compiles every entry. Withdrawn records are left out (they affect nothing).
    pub fn build(
        kb_version: i64,
        affected: impl IntoIterator<Item = AffectedInput>,
        cpe: impl IntoIterator<Item = CpeInput>,
    ) -> Self {
        let mut stats = IndexStats::default();
        let mut packages: HashMap<(String, String), Vec<IndexedAffected>> = HashMap::new();
        let mut ids: HashMap<String, Arc<str>> = HashMap::new();
        for input in affected {
            if input.withdrawn {
                continue;
            }
            let vuln_id = ids
                .entry(input.vuln_id.clone())
                .or_insert_with(|| Arc::from(input.vuln_id.as_str()))
                .clone();
            let compiled = compile(&input.ecosystem, &input);
            let fixed_by_range = input
                .ranges
                .iter()
                .map(|range| {
                    range
                        .events
                        .iter()
                        .filter_map(|event| match event {
                            RangeEvent::Fixed(version) => Some(version.clone()),
                            _ => None,
                        })
                        .collect()
                })
                .collect();
            stats.affected_entries += 1;
            stats.ranges += input.ranges.len();
            if compiled.is_none() {
                stats.uncompiled_entries += 1;
            }
            let key = (
                base_ecosystem_key(&input.ecosystem),
                normalize_package_name(&input.ecosystem, &input.name),
            );
            packages.entry(key).or_default().push(IndexedAffected {
                vulnerability_id: input.vulnerability_id,
                vuln_id,
                modified: input.modified,
                ecosystem: input.ecosystem,
                compiled,
                listed: input.versions,
                fixed_by_range,
            });
        }
        stats.packages = packages.len();
        let mut cpe_products: HashMap<i64, Vec<IndexedCpe>> = HashMap::new();
        for input in cpe {
            if !input.vulnerable {
                continue;
            }
            let criteria = Cpe::parse(&input.criteria).and_then(|cpe| {
                CpeMatchCriteria::new(
                    cpe,
                    Scheme::Generic,
                    input.version_start_including.as_deref(),
                    input.version_start_excluding.as_deref(),
                    input.version_end_including.as_deref(),
                    input.version_end_excluding.as_deref(),
                )
            });
            match criteria {
                Ok(criteria) => {
                    stats.cpe_criteria += 1;
                    cpe_products
                        .entry(input.product_id)
                        .or_default()
                        .push(IndexedCpe {
                            vulnerability_id: input.vulnerability_id,
                            criteria_text: input.criteria,
                            criteria,
                        });
                }
                Err(_) => stats.unreadable_cpe_criteria += 1,
            }
        }
        Self {
            kb_version,
            built_at: Utc::now(),
            packages,
            cpe_products,
            stats,
        }
    }

    /// The knowledge-base version this index was built from.
    pub fn kb_version(&self) -> i64 {
        self.kb_version
    }

    pub fn built_at(&self) -> DateTime<Utc> {
        self.built_at
    }

    pub fn stats(&self) -> IndexStats {
        self.stats
    }

    /// Records affecting `name` in `ecosystem` at `version` (every record naming the package
    /// when `version` is `None`), one match per record, by record id. An ecosystem with a
    /// suffix (`Debian:11`) matches only entries with that suffix; without one it matches all.
    pub fn query_package(
        &self,
        ecosystem: &str,
        name: &str,
        version: Option<&str>,
    ) -> Vec<IndexMatch> {
        self.query(ecosystem, name, version, "package", || {
            format!("{ecosystem}/{name}")
        })
    }

    /// [`MatchIndex::query_package`] for the package a purl denotes, at the purl's version
    /// unless `version` is given. `None` when the purl does not parse or maps to no OSV
    /// ecosystem.
    pub fn query_purl(&self, purl: &str, version: Option<&str>) -> Option<Vec<IndexMatch>> {
        let parsed = rampart_versions::Purl::parse(purl).ok()?;
        self.query_parsed_purl(&parsed, purl, version)
    }

    /// [`MatchIndex::query_purl`] for purls as SBOM tools write them, read leniently (e.g.
    /// unencoded characters a strict parser refuses).
    pub fn query_purl_lenient(&self, purl: &str, version: Option<&str>) -> Option<Vec<IndexMatch>> {
        let parsed = rampart_versions::Purl::parse_lenient(purl).ok()?;
        self.query_parsed_purl(&parsed, purl, version)
    }

    fn query_parsed_purl(
        &self,
        parsed: &rampart_versions::Purl,
        purl: &str,
        version: Option<&str>,
    ) -> Option<Vec<IndexMatch>> {
        let package = parsed.osv_package()?;
        let version = version.or(parsed.version());
        Some(self.query(
            &package.ecosystem.to_string(),
            &package.name,
            version,
            "purl",
            || purl.to_string(),
        ))
    }

    fn query(
        &self,
        ecosystem: &str,
        name: &str,
        version: Option<&str>,
        matched_by: &'static str,
        identifier: impl Fn() -> String,
    ) -> Vec<IndexMatch> {
        let key = (
            base_ecosystem_key(ecosystem),
            normalize_package_name(ecosystem, name),
        );
        let Some(entries) = self.packages.get(&key) else {
            return Vec::new();
        };
        let wants_suffix = ecosystem.contains(':');
        let mut matches: Vec<IndexMatch> = Vec::new();
        for entry in entries {
            if wants_suffix && !entry.ecosystem.eq_ignore_ascii_case(ecosystem.trim()) {
                continue;
            }
            if matches
                .iter()
                .any(|m| m.vulnerability_id == entry.vulnerability_id)
            {
                continue;
            }
            let decided = match version {
                None => Some(("no version given: every affected version".to_string(), None)),
                Some(version) => evaluate(entry, version),
            };
            if let Some((detail, range_index)) = decided {
                matches.push(IndexMatch {
                    vulnerability_id: entry.vulnerability_id,
                    vuln_id: entry.vuln_id.clone(),
                    modified: entry.modified,
                    fixed_versions: entry.fixed_versions(range_index),
                    evidence: MatchEvidence {
                        matched_by,
                        identifier: identifier(),
                        detail,
                        range_index,
                    },
                });
            }
        }
        matches.sort_by(|a, b| a.vuln_id.cmp(&b.vuln_id));
        matches
    }

    /// Records whose NVD CPE criteria on catalogue product `product_id` match `version`
    /// (every vulnerable criteria when `None`), one match per record, by internal id.
    pub fn query_cpe_product(&self, product_id: i64, version: Option<&str>) -> Vec<IndexMatch> {
        let Some(entries) = self.cpe_products.get(&product_id) else {
            return Vec::new();
        };
        let mut matches: Vec<IndexMatch> = Vec::new();
        for entry in entries {
            if matches
                .iter()
                .any(|m| m.vulnerability_id == entry.vulnerability_id)
            {
                continue;
            }
            let detail = match version.map(str::trim).filter(|v| !v.is_empty()) {
                None => Some("no version given: every vulnerable configuration".to_string()),
                Some(version) => {
                    let target = entry
                        .criteria
                        .criteria()
                        .with_version(rampart_versions::cpe::CpeValue::literal(version));
                    entry.criteria.matches(&target).map(|reason| match reason {
                        CpeMatchReason::Name => format!("cpe name {}", entry.criteria_text),
                        CpeMatchReason::VersionRange { start, end } => {
                            let mut parts = Vec::new();
                            if let Some(start) = start {
                                parts.push(format!(
                                    "versionStart{} {}",
                                    if start.inclusive {
                                        "Including"
                                    } else {
                                        "Excluding"
                                    },
                                    start.text
                                ));
                            }
                            if let Some(end) = end {
                                parts.push(format!(
                                    "versionEnd{} {}",
                                    if end.inclusive {
                                        "Including"
                                    } else {
                                        "Excluding"
                                    },
                                    end.text
                                ));
                            }
                            parts.join(", ")
                        }
                    })
                }
            };
            if let Some(detail) = detail {
                matches.push(IndexMatch {
                    vulnerability_id: entry.vulnerability_id,
                    vuln_id: Arc::from(""),
                    modified: self.built_at,
                    fixed_versions: Vec::new(),
                    evidence: MatchEvidence {
                        matched_by: "cpe",
                        identifier: entry.criteria_text.clone(),
                        detail,
                        range_index: None,
                    },
                });
            }
        }
        matches
    }
}

/// Whether one entry affects `version`, and why.
fn evaluate(entry: &IndexedAffected, version: &str) -> Option<(String, Option<usize>)> {
    let Some(compiled) = &entry.compiled else {
        return entry
            .listed
            .iter()
            .any(|listed| listed == version)
            .then(|| (format!("version {version} listed"), None));
    };
    match compiled.evaluate_str(version) {
        Ok(AffectedOutcome::Affected(AffectedMatch::ListedVersion(listed))) => {
            Some((format!("version {listed} listed"), None))
        }
        Ok(AffectedOutcome::Affected(AffectedMatch::Range { index, evidence })) => {
            Some((evidence.to_string(), Some(index)))
        }
        // GIT ranges are not evaluated; an unparseable version matches only listed versions
        // (checked first by `evaluate_str`).
        Ok(AffectedOutcome::NotAffected | AffectedOutcome::NotEvaluated) | Err(_) => None,
    }
}

/// The current index, replaced atomically by [`MatchIndexHandle::swap`]. Cloning shares it.
#[derive(Clone)]
pub struct MatchIndexHandle {
    current: Arc<ArcSwap<MatchIndex>>,
}

impl Default for MatchIndexHandle {
    fn default() -> Self {
        Self::new(MatchIndex::empty())
    }
}

impl MatchIndexHandle {
    pub fn new(index: MatchIndex) -> Self {
        Self {
            current: Arc::new(ArcSwap::from_pointee(index)),
        }
    }

    /// The index as of now; later swaps do not affect the returned one.
    pub fn load(&self) -> Arc<MatchIndex> {
        self.current.load_full()
    }

    pub fn swap(&self, index: MatchIndex) {
        self.current.store(Arc::new(index));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_formats::advisory::RangeType;

    fn pypi(vuln_id: &str, events: Vec<RangeEvent>, versions: &[&str]) -> AffectedInput {
        AffectedInput {
            vulnerability_id: 1,
            vuln_id: vuln_id.into(),
            modified: Utc::now(),
            withdrawn: false,
            ecosystem: "PyPI".into(),
            name: "Django".into(),
            ranges: vec![AffectedRange {
                kind: RangeType::Ecosystem,
                repo: None,
                events,
                database_specific: None,
            }],
            versions: versions.iter().map(|v| v.to_string()).collect(),
        }
    }

    #[test]
    fn ranges_decide_by_the_ecosystem_order_with_evidence() {
        let index = MatchIndex::build(
            1,
            [pypi(
                "PYSEC-1",
                vec![
                    RangeEvent::Introduced("1.10".into()),
                    RangeEvent::Fixed("1.10.2".into()),
                ],
                &[],
            )],
            [],
        );
        assert!(index
            .query_package("PyPI", "django", Some("1.9.9"))
            .is_empty());
        let inside = index.query_package("pypi", "DJANGO", Some("1.10.1"));
        assert_eq!(inside.len(), 1);
        assert_eq!(inside[0].evidence.range_index, Some(0));
        assert!(
            inside[0].evidence.detail.contains("introduced 1.10"),
            "{:?}",
            inside[0]
        );
        assert!(index
            .query_package("PyPI", "django", Some("1.10.2"))
            .is_empty());
        assert!(
            index
                .query_package("PyPI", "django", Some("1.10.2rc1"))
                .len()
                == 1
        );
        assert_eq!(index.query_package("PyPI", "django", None).len(), 1);
    }

    #[test]
    fn withdrawn_records_match_nothing_and_swaps_do_not_disturb_readers() {
        let mut withdrawn = pypi("PYSEC-2", vec![RangeEvent::Introduced("0".into())], &[]);
        withdrawn.withdrawn = true;
        let handle = MatchIndexHandle::default();
        let before = handle.load();
        handle.swap(MatchIndex::build(7, [withdrawn], []));
        assert_eq!(before.kb_version(), -1);
        assert_eq!(handle.load().kb_version(), 7);
        assert!(handle
            .load()
            .query_package("PyPI", "django", Some("1.0"))
            .is_empty());
    }
}
