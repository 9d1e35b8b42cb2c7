//! The match index: every affected package of the knowledge base compiled once, in memory,
//! immutable. Built from rows the store hands over; answered without touching a database.
//! [`MatchIndexHandle`] holds the current index and swaps in a rebuilt one atomically, so a
//! lookup never waits for a rebuild.
//!
//! Version semantics come from `rampart-versions` (the ecosystem's scheme, OSV range
//! evaluation, CPE match criteria); nothing here orders versions itself.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use rampart_formats::advisory::{AffectedRange, CpeOperator, RangeEvent, RangeType};
use rampart_versions::cpe::CpeMatchReason;
use rampart_versions::range::{AffectedMatch, AffectedOutcome, EventKind, RawEvent};
use rampart_versions::{
    CompiledAffected, Cpe, CpeMatchCriteria, Ecosystem, RangeKind, Scheme, Version,
};
use serde::Serialize;

use crate::package_name::package_lookup_key;

/// One `affected[]` entry of a stored record, as the index is built from it.
#[derive(Debug, Clone, PartialEq)]
pub struct AffectedInput {
    pub vulnerability_id: i64,
    pub vuln_id: String,
    pub modified: DateTime<Utc>,
    pub withdrawn: bool,
    /// The record's informational kind (RustSec `unmaintained`, `unsound`, `notice`): a
    /// warning, not a vulnerability. `None` for a vulnerability.
    pub informational: Option<String>,
    pub ecosystem: String,
    pub name: String,
    pub ranges: Vec<AffectedRange>,
    pub versions: Vec<String>,
}

/// One NVD `cpeMatch` of a stored record with its place in the record's configurations, for
/// CPE lookups. The entries sharing (`vulnerability_id`, `configuration_index`) form one
/// configuration; within it those sharing `node_index` form one node.
#[derive(Debug, Clone)]
pub struct CpeInput {
    pub vulnerability_id: i64,
    pub product_id: i64,
    pub configuration_index: i64,
    /// How the configuration combines its nodes (NVD leaves it out for one node: OR).
    pub configuration_operator: CpeOperator,
    pub configuration_negate: bool,
    pub node_index: i64,
    /// How the node combines its cpeMatch entries.
    pub node_operator: CpeOperator,
    pub node_negate: bool,
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
    /// Index of the deciding NVD configuration, for CPE matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configuration_index: Option<usize>,
    /// Platform criteria (`vulnerable: false`, e.g. "running on Windows") the configuration
    /// requires but the CPEs supplied to the lookup did not show: the match holds only if
    /// they do. Empty when everything the configuration requires was verified.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unverified_platforms: Vec<String>,
}

/// A record that affects the package (or product) asked about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexMatch {
    pub vulnerability_id: i64,
    pub vuln_id: Arc<str>,
    pub modified: DateTime<Utc>,
    /// The record's informational kind (see [`AffectedInput::informational`]); `None` for a
    /// vulnerability (and for CPE matches: NVD records are vulnerabilities).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub informational: Option<Arc<str>>,
    pub evidence: MatchEvidence,
    /// Versions that fix it: the `fixed` events of the deciding range (of every range when
    /// a listed version decided); empty when the record names none (or for CPE matches).
    pub fixed_versions: Vec<String>,
}

/// Marks a listed version text its package's scheme cannot read (it matches only verbatim).
const UNPARSED: u32 = u32::MAX;

/// Every affected entry of one package. The explicit `versions` lists of the entries are kept
/// once per package (records of one package list the same releases over and over: every
/// PyPA record of Django lists hundreds of Django versions): each distinct text once, sorted,
/// and each entry holds the ids of the texts it lists.
struct IndexedPackage {
    /// The package's ecosystem scheme (`None`: an ecosystem this build does not know; its
    /// listed versions match verbatim only).
    scheme: Option<Scheme>,
    /// Distinct listed version texts, sorted bytewise.
    listed_texts: ListedTexts,
    /// Per listed text: its class of versions equal under `scheme` (`1.0` and `1.0.0` in
    /// PEP 440), or [`UNPARSED`].
    listed_class: Box<[u32]>,
    /// The text ids of each class, classes in ascending version order; class `c` is
    /// `class_members[class_starts[c]..class_starts[c + 1]]`. A version that is not listed
    /// verbatim finds its class by binary search over the classes' first members (parsing
    /// each probe, so the parsed versions need not be kept).
    class_members: Box<[u32]>,
    class_starts: Box<[u32]>,
    /// Boxed, so exactly as long as it is: collected from the build's inputs in place, a
    /// `Vec` would keep the inputs' larger allocation.
    entries: Box<[IndexedAffected]>,
}

/// A version asked about, as far as one package's lookup needed to read it.
struct Probe<'a> {
    text: &'a str,
    /// The id of the verbatim listed text, if any entry lists it.
    text_id: Option<u32>,
    parsed: std::cell::OnceCell<Option<Version>>,
    class: std::cell::OnceCell<Option<u32>>,
}

impl<'a> Probe<'a> {
    fn new(package: &IndexedPackage, text: &'a str) -> Self {
        let text_id = package.listed_texts.find(text);
        Self {
            text,
            text_id,
            parsed: std::cell::OnceCell::new(),
            class: std::cell::OnceCell::new(),
        }
    }

    /// The version read by the package's scheme (once per lookup, whatever the number of
    /// records).
    fn parsed(&self, package: &IndexedPackage) -> Option<&Version> {
        self.parsed
            .get_or_init(|| package.scheme?.parse(self.text).ok())
            .as_ref()
    }

    /// The class of listed versions equal to this one, if some entry lists an equal version.
    fn class(&self, package: &IndexedPackage) -> Option<u32> {
        *self.class.get_or_init(|| {
            if let Some(id) = self.text_id {
                let class = package.listed_class[id as usize];
                if class != UNPARSED {
                    return Some(class);
                }
            }
            let scheme = package.scheme?;
            let version = self.parsed(package)?;
            let classes = package.class_starts.len().saturating_sub(1);
            let (mut low, mut high) = (0, classes);
            while low < high {
                let middle = low + (high - low) / 2;
                let first = package.class_members[package.class_starts[middle] as usize];
                // Class members parsed when the index was built.
                let Ok(listed) = scheme.parse(package.listed_texts.get(first)) else {
                    return None;
                };
                match listed.cmp(version) {
                    std::cmp::Ordering::Less => low = middle + 1,
                    std::cmp::Ordering::Greater => high = middle,
                    std::cmp::Ordering::Equal => return Some(middle as u32),
                }
            }
            None
        })
    }
}

/// A package's distinct listed version texts, sorted, in one buffer (a `String` each would
/// cost more in headers than in text).
struct ListedTexts {
    buffer: Box<str>,
    /// End offset of each text in `buffer`.
    ends: Box<[u32]>,
}

impl ListedTexts {
    /// `sorted` must be sorted and free of duplicates.
    fn new(sorted: &[&str]) -> Self {
        let mut buffer = String::with_capacity(sorted.iter().map(|t| t.len()).sum());
        let mut ends = Vec::with_capacity(sorted.len());
        for text in sorted {
            buffer.push_str(text);
            ends.push(buffer.len() as u32);
        }
        Self {
            buffer: buffer.into_boxed_str(),
            ends: ends.into_boxed_slice(),
        }
    }

    fn len(&self) -> u32 {
        self.ends.len() as u32
    }

    fn get(&self, id: u32) -> &str {
        let id = id as usize;
        let start = if id == 0 {
            0
        } else {
            self.ends[id - 1] as usize
        };
        &self.buffer[start..self.ends[id] as usize]
    }

    fn find(&self, text: &str) -> Option<u32> {
        let (mut low, mut high) = (0u32, self.len());
        while low < high {
            let middle = low + (high - low) / 2;
            match self.get(middle).cmp(text) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Some(middle),
            }
        }
        None
    }
}

/// The listed text ids of one entry: a sorted list when few, a bitmap over the package's
/// texts when that is smaller (records that list every release of their package).
enum ListedSet {
    Sparse(Box<[u32]>),
    Dense(Box<[u64]>),
}

impl ListedSet {
    fn new(mut ids: Vec<u32>, universe: u32) -> Self {
        ids.sort_unstable();
        ids.dedup();
        let words = (universe as usize).div_ceil(64);
        if words * 2 < ids.len() {
            let mut bits = vec![0u64; words];
            for id in ids {
                bits[id as usize / 64] |= 1 << (id % 64);
            }
            ListedSet::Dense(bits.into_boxed_slice())
        } else {
            ListedSet::Sparse(ids.into_boxed_slice())
        }
    }

    fn contains(&self, id: u32) -> bool {
        match self {
            ListedSet::Sparse(ids) => ids.binary_search(&id).is_ok(),
            ListedSet::Dense(bits) => bits
                .get(id as usize / 64)
                .is_some_and(|word| word & (1 << (id % 64)) != 0),
        }
    }
}

struct IndexedAffected {
    vulnerability_id: i64,
    vuln_id: Arc<str>,
    modified: DateTime<Utc>,
    informational: Option<Arc<str>>,
    /// The full OSV ecosystem string as the record wrote it (suffix included), shared.
    ecosystem: Arc<str>,
    ranges: EntryRanges,
    /// Ids of the listed version texts (see [`IndexedPackage`]).
    listed: ListedSet,
}

enum EntryRanges {
    /// The ranges compiled under the ecosystem's scheme (explicit versions are kept by the
    /// package, not here).
    Compiled(CompiledAffected),
    /// Some range version does not parse under the ecosystem's scheme (or the ecosystem is
    /// unknown): only the explicit `versions` list matches, verbatim. The `fixed` events of
    /// each range are kept for the findings' fixed versions.
    Uncompiled { fixed_by_range: Vec<Vec<Box<str>>> },
}

impl IndexedAffected {
    /// The `fixed` versions of range `range_index`, or of every range (a listed version
    /// decided).
    fn fixed_versions(&self, range_index: Option<usize>) -> Vec<String> {
        let fixed_of_range = |index: usize| -> Vec<String> {
            match &self.ranges {
                EntryRanges::Compiled(compiled) => compiled
                    .ranges()
                    .get(index)
                    .map(|range| {
                        range
                            .events()
                            .filter(|event| event.kind == EventKind::Fixed)
                            .map(|event| event.version.to_string())
                            .collect()
                    })
                    .unwrap_or_default(),
                EntryRanges::Uncompiled { fixed_by_range } => fixed_by_range
                    .get(index)
                    .map(|fixed| fixed.iter().map(|v| v.to_string()).collect())
                    .unwrap_or_default(),
            }
        };
        let range_count = match &self.ranges {
            EntryRanges::Compiled(compiled) => compiled.ranges().len(),
            EntryRanges::Uncompiled { fixed_by_range } => fixed_by_range.len(),
        };
        match range_index {
            Some(index) if index < range_count => fixed_of_range(index),
            _ => {
                let mut all: Vec<String> = (0..range_count).flat_map(fixed_of_range).collect();
                all.dedup();
                all
            }
        }
    }

    /// Whether (and how) the entry affects the probed version: an explicit listing first
    /// (verbatim, then equal under the scheme), then the ranges in order.
    fn evaluate(
        &self,
        package: &IndexedPackage,
        probe: &Probe<'_>,
    ) -> Option<(String, Option<usize>)> {
        if let Some(id) = probe.text_id {
            if self.listed.contains(id) {
                return Some((format!("version {} listed", probe.text), None));
            }
        }
        let EntryRanges::Compiled(compiled) = &self.ranges else {
            return None;
        };
        if let Some(class) = probe.class(package) {
            let class = class as usize;
            let members = &package.class_members
                [package.class_starts[class] as usize..package.class_starts[class + 1] as usize];
            if let Some(&id) = members.iter().find(|&&id| self.listed.contains(id)) {
                let listed = package.listed_texts.get(id);
                return Some((format!("version {listed} listed"), None));
            }
        }
        let version = probe.parsed(package)?;
        match compiled.evaluate(version) {
            Ok(AffectedOutcome::Affected(AffectedMatch::Range { index, evidence })) => {
                Some((evidence.to_string(), Some(index)))
            }
            // Listed versions are the package's (checked above); GIT ranges are not
            // evaluated.
            Ok(AffectedOutcome::Affected(AffectedMatch::ListedVersion(_)))
            | Ok(AffectedOutcome::NotAffected | AffectedOutcome::NotEvaluated)
            | Err(_) => None,
        }
    }
}

/// One cpeMatch entry of a configuration node.
struct IndexedCriterion {
    product_id: i64,
    vulnerable: bool,
    criteria_text: String,
    /// `None` when the criteria or its bounds could not be read: it is never satisfied.
    criteria: Option<CpeMatchCriteria>,
}

struct IndexedNode {
    operator: CpeOperator,
    negate: bool,
    criteria: Vec<IndexedCriterion>,
}

impl IndexedNode {
    /// A node of `vulnerable: false` entries only: a condition on the platform ("running on
    /// Windows"), not the vulnerable software itself.
    fn is_platform_only(&self) -> bool {
        self.criteria.iter().all(|c| !c.vulnerable)
    }
}

/// One NVD configuration, as a tree: nodes combined by `operator`, each node's entries by
/// the node's operator, `negate` inverting a node or the whole configuration.
struct IndexedConfiguration {
    vulnerability_id: i64,
    configuration_index: usize,
    operator: CpeOperator,
    negate: bool,
    nodes: Vec<IndexedNode>,
}

/// The CPEs a lookup knows to be present.
#[derive(Debug, Clone)]
pub enum PresentCpe {
    /// A full CPE name (a component's CPE). Criteria match it by CPE name matching, and a
    /// version range needs its version to be a concrete value.
    Name(Box<Cpe>),
    /// A catalogue product at a version; `None` stands for every version of it.
    Product {
        product_id: i64,
        version: Option<String>,
    },
}

/// What a lookup does with platform-only nodes (every entry `vulnerable: false`) that the
/// supplied CPEs do not satisfy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PlatformPolicy {
    /// Assume the platform holds and list its criteria in
    /// [`MatchEvidence::unverified_platforms`].
    #[default]
    Report,
    /// The supplied CPEs are everything present: a platform they do not show is absent
    /// (so a required one fails and a negated one holds), and a configuration matches only
    /// when they satisfy it as written.
    Strict,
}

/// A node's or configuration's truth under the supplied CPEs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Truth {
    True,
    False,
    /// Holds if these unverified platform criteria hold.
    Unverified(Vec<String>),
}

impl Truth {
    fn negate(self) -> Truth {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            // "not running on X" is as unverified as "running on X".
            unverified @ Truth::Unverified(_) => unverified,
        }
    }

    fn combine(operator: CpeOperator, values: impl IntoIterator<Item = Truth>) -> Truth {
        let mut unverified: Vec<String> = Vec::new();
        let mut any_unverified = false;
        let mut any_true = false;
        let mut any_false = false;
        for value in values {
            match value {
                Truth::True => any_true = true,
                Truth::False => any_false = true,
                Truth::Unverified(criteria) => {
                    any_unverified = true;
                    for criterion in criteria {
                        if !unverified.contains(&criterion) {
                            unverified.push(criterion);
                        }
                    }
                }
            }
        }
        match operator {
            CpeOperator::And if any_false => Truth::False,
            CpeOperator::And if any_unverified => Truth::Unverified(unverified),
            CpeOperator::And => Truth::True,
            CpeOperator::Or if any_true => Truth::True,
            CpeOperator::Or if any_unverified => Truth::Unverified(unverified),
            CpeOperator::Or => Truth::False,
        }
    }
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
    /// CPE matches whose criteria or bounds could not be read (never satisfied).
    pub unreadable_cpe_criteria: usize,
    pub cpe_configurations: usize,
}

/// The immutable index.
pub struct MatchIndex {
    kb_version: i64,
    built_at: DateTime<Utc>,
    /// [`package_lookup_key`] → the package's entries (boxed: the table has spare slots).
    packages: HashMap<String, Box<IndexedPackage>>,
    /// Every NVD configuration.
    cpe_configurations: Vec<IndexedConfiguration>,
    /// catalogue product id → the configurations naming it (indexes into
    /// `cpe_configurations`, ascending).
    cpe_products: HashMap<i64, Vec<usize>>,
    /// (vendor, product) as the criteria spell them → catalogue product id.
    cpe_product_ids: HashMap<(String, String), i64>,
    stats: IndexStats,
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

/// The entry's ranges under the ecosystem's scheme; `None` when some range cannot be read.
fn compile(ecosystem: &str, input: &AffectedInput) -> Option<CompiledAffected> {
    let ecosystem = Ecosystem::parse(ecosystem).ok()?;
    let ranges = input
        .ranges
        .iter()
        .map(|range| {
            let kind = RangeKind::parse(range.kind.as_osv())?;
            // Commits cannot be ordered without the repository: a GIT range never decides,
            // so its events are not kept (its place keeps the other ranges' indexes).
            let events = if kind == RangeKind::Git {
                Vec::new()
            } else {
                raw_events(range)
            };
            Ok((kind, events))
        })
        .collect::<Result<Vec<_>, rampart_versions::VersionError>>()
        .ok()?;
    CompiledAffected::compile(&ecosystem, ranges, Vec::new()).ok()
}

/// The one shared copy of `text` (made on first sight; looked up without a copy after).
fn interned(shared: &mut HashMap<String, Arc<str>>, text: &str) -> Arc<str> {
    if let Some(existing) = shared.get(text) {
        return existing.clone();
    }
    let new: Arc<str> = Arc::from(text);
    shared.insert(text.to_string(), new.clone());
    new
}

/// Builds one package's entry list from its inputs: compiles each entry's ranges and keeps
/// the listed version texts once, with their equality classes under the scheme.
fn build_package(
    inputs: Vec<AffectedInput>,
    ecosystems: &mut HashMap<String, Arc<str>>,
    ids: &mut HashMap<String, Arc<str>>,
    stats: &mut IndexStats,
) -> IndexedPackage {
    // The scheme depends on the base ecosystem only, which the package's entries share.
    let scheme = inputs
        .first()
        .and_then(|input| Ecosystem::parse(&input.ecosystem).ok())
        .map(|ecosystem| ecosystem.scheme());
    let mut all_listed: Vec<&str> = inputs
        .iter()
        .flat_map(|input| input.versions.iter().map(String::as_str))
        .collect();
    all_listed.sort_unstable();
    all_listed.dedup();
    let listed_texts = ListedTexts::new(&all_listed);
    drop(all_listed);
    // Equality classes: sort the readable texts by version, equal neighbours share a class.
    let mut parsed: Vec<(Version, u32)> = match scheme {
        Some(scheme) => (0..listed_texts.len())
            .filter_map(|id| Some((scheme.parse(listed_texts.get(id)).ok()?, id)))
            .collect(),
        None => Vec::new(),
    };
    parsed.sort_by(|a, b| a.0.cmp(&b.0));
    let mut listed_class = vec![UNPARSED; listed_texts.len() as usize];
    let mut class_members: Vec<u32> = Vec::with_capacity(parsed.len());
    let mut class_starts: Vec<u32> = Vec::new();
    for (position, (version, id)) in parsed.iter().enumerate() {
        let same_as_previous = position > 0 && parsed[position - 1].0 == *version;
        if !same_as_previous {
            class_starts.push(class_members.len() as u32);
        }
        class_members.push(*id);
        listed_class[*id as usize] = (class_starts.len() - 1) as u32;
    }
    class_starts.push(class_members.len() as u32);
    let listed_class = listed_class.into_boxed_slice();
    drop(parsed);
    let entries = inputs
        .into_iter()
        .map(|input| {
            let vuln_id = interned(ids, input.vuln_id.as_str());
            let ecosystem = interned(ecosystems, input.ecosystem.as_str());
            stats.affected_entries += 1;
            stats.ranges += input.ranges.len();
            let ranges = match compile(&input.ecosystem, &input) {
                Some(compiled) => EntryRanges::Compiled(compiled),
                None => {
                    stats.uncompiled_entries += 1;
                    EntryRanges::Uncompiled {
                        fixed_by_range: input
                            .ranges
                            .iter()
                            .map(|range| {
                                // Fixed commits of GIT ranges are not versions to upgrade to.
                                if range.kind == RangeType::Git {
                                    return Vec::new();
                                }
                                range
                                    .events
                                    .iter()
                                    .filter_map(|event| match event {
                                        RangeEvent::Fixed(version) => {
                                            Some(Box::from(version.as_str()))
                                        }
                                        _ => None,
                                    })
                                    .collect()
                            })
                            .collect(),
                    }
                }
            };
            let listed = ListedSet::new(
                input
                    .versions
                    .iter()
                    .filter_map(|text| listed_texts.find(text))
                    .collect(),
                listed_texts.len(),
            );
            IndexedAffected {
                vulnerability_id: input.vulnerability_id,
                vuln_id,
                modified: input.modified,
                informational: input.informational.as_deref().map(Arc::from),
                ecosystem,
                ranges,
                listed,
            }
        })
        .collect::<Vec<_>>()
        .into_boxed_slice();
    IndexedPackage {
        scheme,
        listed_texts,
        listed_class,
        class_members: class_members.into_boxed_slice(),
        class_starts: class_starts.into_boxed_slice(),
        entries,
    }
}

impl MatchIndex {
    /// An index with nothing in it (before the first build).
    pub fn empty() -> Self {
        Self {
            kb_version: -1,
            built_at: Utc::now(),
            packages: HashMap::new(),
            cpe_configurations: Vec::new(),
            cpe_products: HashMap::new(),
            cpe_product_ids: HashMap::new(),
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
        let mut grouped: HashMap<String, Vec<AffectedInput>> = HashMap::new();
        for input in affected {
            if input.withdrawn {
                continue;
            }
            let key = package_lookup_key(&input.ecosystem, &input.name);
            grouped.entry(key).or_default().push(input);
        }
        let mut ecosystems: HashMap<String, Arc<str>> = HashMap::new();
        let mut ids: HashMap<String, Arc<str>> = HashMap::new();
        let packages: HashMap<String, Box<IndexedPackage>> = grouped
            .into_iter()
            .map(|(key, inputs)| {
                let package = build_package(inputs, &mut ecosystems, &mut ids, &mut stats);
                (key, Box::new(package))
            })
            .collect();
        stats.packages = packages.len();
        let (cpe_configurations, cpe_products, cpe_product_ids) =
            build_configurations(cpe, &mut stats);
        Self {
            kb_version,
            built_at: Utc::now(),
            packages,
            cpe_configurations,
            cpe_products,
            cpe_product_ids,
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
    /// unless `version` is given. The purl is read leniently, as every incoming identifier is
    /// (DESIGN §5). `None` when the purl does not parse or maps to no OSV ecosystem.
    pub fn query_purl(&self, purl: &str, version: Option<&str>) -> Option<Vec<IndexMatch>> {
        let parsed = rampart_versions::Purl::parse_lenient(purl).ok()?;
        self.query_parsed_purl(&parsed, purl, version)
    }

    /// [`MatchIndex::query_purl`] for a purl already parsed (`purl` is its text as given, for
    /// the evidence).
    pub fn query_parsed_purl(
        &self,
        parsed: &rampart_versions::Purl,
        purl: &str,
        version: Option<&str>,
    ) -> Option<Vec<IndexMatch>> {
        let package = parsed.osv_package()?;
        Some(self.query_osv_package(parsed, &package, purl, version))
    }

    /// [`MatchIndex::query_parsed_purl`] with the purl's OSV package already taken from it
    /// (`package` is `parsed.osv_package()`).
    pub fn query_osv_package(
        &self,
        parsed: &rampart_versions::Purl,
        package: &rampart_versions::purl::OsvPackage,
        purl: &str,
        version: Option<&str>,
    ) -> Vec<IndexMatch> {
        let purl_version = parsed.osv_version();
        let version = version.or(purl_version.as_deref());
        self.query(
            &package.ecosystem.to_string(),
            &package.name,
            version,
            "purl",
            || purl.to_string(),
        )
    }

    fn query(
        &self,
        ecosystem: &str,
        name: &str,
        version: Option<&str>,
        matched_by: &'static str,
        identifier: impl Fn() -> String,
    ) -> Vec<IndexMatch> {
        let Some(package) = self.packages.get(&package_lookup_key(ecosystem, name)) else {
            return Vec::new();
        };
        let wants_suffix = ecosystem.contains(':');
        let probe = version.map(|version| Probe::new(package, version));
        let mut identifier_text: Option<String> = None;
        let mut matches: Vec<IndexMatch> = Vec::new();
        for entry in &package.entries {
            if wants_suffix && !entry.ecosystem.eq_ignore_ascii_case(ecosystem.trim()) {
                continue;
            }
            if matches
                .iter()
                .any(|m| m.vulnerability_id == entry.vulnerability_id)
            {
                continue;
            }
            let decided = match &probe {
                None => Some(("no version given: every affected version".to_string(), None)),
                Some(probe) => entry.evaluate(package, probe),
            };
            if let Some((detail, range_index)) = decided {
                matches.push(IndexMatch {
                    vulnerability_id: entry.vulnerability_id,
                    vuln_id: entry.vuln_id.clone(),
                    modified: entry.modified,
                    informational: entry.informational.clone(),
                    fixed_versions: entry.fixed_versions(range_index),
                    evidence: MatchEvidence {
                        matched_by,
                        identifier: identifier_text.get_or_insert_with(&identifier).clone(),
                        detail,
                        range_index,
                        configuration_index: None,
                        unverified_platforms: Vec::new(),
                    },
                });
            }
        }
        matches.sort_by(|a, b| a.vuln_id.cmp(&b.vuln_id));
        matches
    }

    /// Records with an NVD configuration that holds for catalogue product `product_id` at
    /// `version` (at any version when `None`), one match per record, by internal id.
    /// Platform conditions the product alone cannot show are reported in the evidence
    /// ([`PlatformPolicy::Report`]).
    pub fn query_cpe_product(&self, product_id: i64, version: Option<&str>) -> Vec<IndexMatch> {
        let version = version
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string);
        self.query_cpe(
            &[PresentCpe::Product {
                product_id,
                version,
            }],
            PlatformPolicy::Report,
        )
    }

    /// Records with an NVD configuration that holds when the `present` CPEs (one
    /// component's, or everything known to be installed together) are present, one match
    /// per record, by internal id. A configuration holds when its nodes combine to true
    /// (each node's operator over its entries, the configuration's operator over its nodes,
    /// `negate` honoured) and at least one satisfied entry is `vulnerable: true`. A match
    /// resting on unverified platform nodes is reported or dropped as `policy` says; a
    /// fully verified configuration is preferred over one that needs a platform.
    pub fn query_cpe(&self, present: &[PresentCpe], policy: PlatformPolicy) -> Vec<IndexMatch> {
        let mut candidates: Vec<usize> = present
            .iter()
            .filter_map(|cpe| match cpe {
                PresentCpe::Product { product_id, .. } => Some(*product_id),
                PresentCpe::Name(name) => self
                    .cpe_product_ids
                    .get(&(name.vendor().to_string(), name.product().to_string()))
                    .copied(),
            })
            .filter_map(|product_id| self.cpe_products.get(&product_id))
            .flatten()
            .copied()
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        let mut best: BTreeMap<i64, IndexMatch> = BTreeMap::new();
        for position in candidates {
            let configuration = &self.cpe_configurations[position];
            let Some(evidence) = evaluate_configuration(configuration, present, policy) else {
                continue;
            };
            let better = best
                .get(&configuration.vulnerability_id)
                .is_none_or(|current| {
                    !current.evidence.unverified_platforms.is_empty()
                        && evidence.unverified_platforms.is_empty()
                });
            if better {
                best.insert(
                    configuration.vulnerability_id,
                    IndexMatch {
                        vulnerability_id: configuration.vulnerability_id,
                        vuln_id: Arc::from(""),
                        modified: self.built_at,
                        informational: None,
                        evidence,
                        fixed_versions: Vec::new(),
                    },
                );
            }
        }
        best.into_values().collect()
    }
}

/// Groups the cpeMatch rows into configuration trees and indexes them by product.
#[allow(clippy::type_complexity)]
fn build_configurations(
    cpe: impl IntoIterator<Item = CpeInput>,
    stats: &mut IndexStats,
) -> (
    Vec<IndexedConfiguration>,
    HashMap<i64, Vec<usize>>,
    HashMap<(String, String), i64>,
) {
    // (record, configuration) → (operator, negate, node index → node).
    let mut grouped: BTreeMap<(i64, i64), (CpeOperator, bool, BTreeMap<i64, IndexedNode>)> =
        BTreeMap::new();
    let mut product_ids: HashMap<(String, String), i64> = HashMap::new();
    for input in cpe {
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
        let criteria = match criteria {
            Ok(criteria) => {
                stats.cpe_criteria += 1;
                product_ids
                    .entry((
                        criteria.criteria().vendor().to_string(),
                        criteria.criteria().product().to_string(),
                    ))
                    .or_insert(input.product_id);
                Some(criteria)
            }
            Err(_) => {
                stats.unreadable_cpe_criteria += 1;
                None
            }
        };
        let (_, _, nodes) = grouped
            .entry((input.vulnerability_id, input.configuration_index))
            .or_insert_with(|| {
                (
                    input.configuration_operator,
                    input.configuration_negate,
                    BTreeMap::new(),
                )
            });
        nodes
            .entry(input.node_index)
            .or_insert_with(|| IndexedNode {
                operator: input.node_operator,
                negate: input.node_negate,
                criteria: Vec::new(),
            })
            .criteria
            .push(IndexedCriterion {
                product_id: input.product_id,
                vulnerable: input.vulnerable,
                criteria_text: input.criteria,
                criteria,
            });
    }
    let mut configurations = Vec::with_capacity(grouped.len());
    let mut by_product: HashMap<i64, Vec<usize>> = HashMap::new();
    for ((vulnerability_id, configuration_index), (operator, negate, nodes)) in grouped {
        let position = configurations.len();
        let configuration = IndexedConfiguration {
            vulnerability_id,
            configuration_index: usize::try_from(configuration_index).unwrap_or(0),
            operator,
            negate,
            nodes: nodes.into_values().collect(),
        };
        for criterion in configuration.nodes.iter().flat_map(|n| &n.criteria) {
            let positions = by_product.entry(criterion.product_id).or_default();
            if positions.last() != Some(&position) {
                positions.push(position);
            }
        }
        configurations.push(configuration);
    }
    stats.cpe_configurations = configurations.len();
    (configurations, by_product, product_ids)
}

/// Why `criterion` holds for one of the `present` CPEs, if it does.
fn criterion_detail(criterion: &IndexedCriterion, present: &[PresentCpe]) -> Option<String> {
    let criteria = criterion.criteria.as_ref()?;
    present.iter().find_map(|cpe| {
        let target = match cpe {
            PresentCpe::Name(name) => Cpe::clone(name),
            PresentCpe::Product {
                product_id,
                version,
            } => {
                if *product_id != criterion.product_id {
                    return None;
                }
                match version {
                    None => return Some("no version given: every vulnerable configuration".into()),
                    Some(version) => criteria
                        .criteria()
                        .with_version(rampart_versions::cpe::CpeValue::literal(version)),
                }
            }
        };
        criteria
            .matches(&target)
            .map(|reason| reason_detail(&criterion.criteria_text, reason))
    })
}

fn reason_detail(criteria_text: &str, reason: CpeMatchReason<'_>) -> String {
    match reason {
        CpeMatchReason::Name => format!("cpe name {criteria_text}"),
        CpeMatchReason::VersionRange { start, end } => {
            let mut parts = Vec::new();
            if let Some(start) = start {
                let kind = if start.inclusive {
                    "Including"
                } else {
                    "Excluding"
                };
                parts.push(format!("versionStart{kind} {}", start.text));
            }
            if let Some(end) = end {
                let kind = if end.inclusive {
                    "Including"
                } else {
                    "Excluding"
                };
                parts.push(format!("versionEnd{kind} {}", end.text));
            }
            parts.join(", ")
        }
    }
}

/// The evidence for a configuration that holds under `present`, or `None`.
fn evaluate_configuration(
    configuration: &IndexedConfiguration,
    present: &[PresentCpe],
    policy: PlatformPolicy,
) -> Option<MatchEvidence> {
    // The first satisfied vulnerable entry of a node that holds names the match.
    let mut deciding: Option<(&IndexedCriterion, String)> = None;
    let mut node_values = Vec::with_capacity(configuration.nodes.len());
    for node in &configuration.nodes {
        let details: Vec<Option<String>> = node
            .criteria
            .iter()
            .map(|criterion| criterion_detail(criterion, present))
            .collect();
        let plain = Truth::combine(
            node.operator,
            details.iter().map(|detail| {
                if detail.is_some() {
                    Truth::True
                } else {
                    Truth::False
                }
            }),
        );
        let value =
            if plain == Truth::False && node.is_platform_only() && policy == PlatformPolicy::Report
            {
                // Only the entries the supplied CPEs did not show (an AND node may have some).
                Truth::Unverified(
                    node.criteria
                        .iter()
                        .zip(&details)
                        .filter(|(_, detail)| detail.is_none())
                        .map(|(criterion, _)| criterion.criteria_text.clone())
                        .collect(),
                )
            } else {
                plain
            };
        let value = if node.negate { value.negate() } else { value };
        if deciding.is_none() && !node.negate && value != Truth::False {
            deciding = node
                .criteria
                .iter()
                .zip(details)
                .find_map(|(criterion, detail)| {
                    criterion.vulnerable.then_some(())?;
                    Some((criterion, detail?))
                });
        }
        node_values.push(value);
    }
    let mut value = Truth::combine(configuration.operator, node_values);
    if configuration.negate {
        value = value.negate();
    }
    let unverified_platforms = match value {
        Truth::False => return None,
        Truth::True => Vec::new(),
        Truth::Unverified(criteria) => criteria,
    };
    let (criterion, detail) = deciding?;
    Some(MatchEvidence {
        matched_by: "cpe",
        identifier: criterion.criteria_text.clone(),
        detail,
        range_index: None,
        configuration_index: Some(configuration.configuration_index),
        unverified_platforms,
    })
}

/// Whether one entry affects `version`, and why.
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
    use rampart_formats::advisory::{parse_nvd_page, CpeConfiguration, CpeMatch, CpeNode};

    fn pypi(vuln_id: &str, events: Vec<RangeEvent>, versions: &[&str]) -> AffectedInput {
        AffectedInput {
            vulnerability_id: 1,
            vuln_id: vuln_id.into(),
            modified: Utc::now(),
            withdrawn: false,
            informational: None,
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

    /// Bitnami's apache record for CVE-2021-42013: [2.4.49, 2.4.50) and [2.4.50, 2.4.51), so
    /// 2.4.50 (the incomplete fix) is affected; the answers are written down, not computed.
    #[test]
    fn adjacent_intervals_match_the_version_they_share() {
        let events = vec![
            RangeEvent::Introduced("2.4.49".into()),
            RangeEvent::Fixed("2.4.50".into()),
            RangeEvent::Introduced("2.4.50".into()),
            RangeEvent::Fixed("2.4.51".into()),
        ];
        let index = MatchIndex::build(
            1,
            [AffectedInput {
                ecosystem: "Bitnami".into(),
                name: "apache".into(),
                ranges: vec![AffectedRange {
                    kind: RangeType::Semver,
                    repo: None,
                    events,
                    database_specific: None,
                }],
                ..pypi("BIT-apache-2021-42013", vec![], &[])
            }],
            [],
        );
        let detail = |version: &str| -> Option<String> {
            let matches = index.query_package("Bitnami", "apache", Some(version));
            assert!(matches.len() <= 1, "{matches:?}");
            matches.into_iter().next().map(|m| m.evidence.detail)
        };
        assert_eq!(detail("2.4.48"), None);
        assert_eq!(
            detail("2.4.49").as_deref(),
            Some("introduced 2.4.49, before fixed 2.4.50")
        );
        assert_eq!(
            detail("2.4.50").as_deref(),
            Some("introduced 2.4.50, before fixed 2.4.51")
        );
        assert_eq!(detail("2.4.51"), None);
    }

    #[test]
    fn trivy_lower_cased_go_module_paths_find_their_records() {
        let index = MatchIndex::build(
            1,
            [AffectedInput {
                ecosystem: "Go".into(),
                name: "github.com/Masterminds/vcs".into(),
                ranges: vec![AffectedRange {
                    kind: RangeType::Semver,
                    repo: None,
                    events: vec![
                        RangeEvent::Introduced("0".into()),
                        RangeEvent::Fixed("1.13.3".into()),
                    ],
                    database_specific: None,
                }],
                ..pypi("GO-2022-0257", vec![], &[])
            }],
            [],
        );
        for purl in [
            "pkg:golang/github.com/Masterminds/vcs@v1.13.1",
            "pkg:golang/github.com/masterminds/vcs@v1.13.1",
        ] {
            let matches = index.query_purl(purl, None).expect("a readable purl");
            assert_eq!(matches.len(), 1, "{purl}: {matches:?}");
        }
        let fixed = index.query_purl("pkg:golang/github.com/masterminds/vcs@v1.13.3", None);
        assert_eq!(fixed.map(|m| m.len()), Some(0));
    }

    #[test]
    fn listed_versions_match_verbatim_or_equal_under_the_scheme_per_record() {
        let mut first = pypi("PYSEC-1", vec![], &["1.0", "2.0.post1", "not-a-version"]);
        first.vulnerability_id = 1;
        let mut second = pypi(
            "PYSEC-2",
            vec![
                RangeEvent::Introduced("3.0".into()),
                RangeEvent::Fixed("3.1".into()),
            ],
            &["1.0", "1.5"],
        );
        second.vulnerability_id = 2;
        // A range the scheme cannot read: the record matches its listed versions verbatim only.
        let mut unreadable = pypi(
            "PYSEC-3",
            vec![RangeEvent::Introduced("not a version at all!".into())],
            &["1.5.0"],
        );
        unreadable.vulnerability_id = 3;
        let index = MatchIndex::build(1, [first, second, unreadable], []);
        assert_eq!(index.stats().uncompiled_entries, 1);
        let ids = |version: &str| -> Vec<(String, String)> {
            index
                .query_package("PyPI", "django", Some(version))
                .into_iter()
                .map(|m| (m.vuln_id.to_string(), m.evidence.detail))
                .collect()
        };
        assert_eq!(
            ids("1.0"),
            [
                ("PYSEC-1".into(), "version 1.0 listed".into()),
                ("PYSEC-2".into(), "version 1.0 listed".into())
            ]
        );
        // PEP 440: 1.0.0 == 1.0 and 2.0.post1 == 2.0-1; the evidence names the listed text.
        assert_eq!(
            ids("1.0.0"),
            [
                ("PYSEC-1".into(), "version 1.0 listed".into()),
                ("PYSEC-2".into(), "version 1.0 listed".into())
            ]
        );
        assert_eq!(
            ids("2.0-1"),
            [("PYSEC-1".into(), "version 2.0.post1 listed".into())]
        );
        assert_eq!(
            ids("not-a-version"),
            [("PYSEC-1".into(), "version not-a-version listed".into())]
        );
        // 1.5 is listed by PYSEC-2; PYSEC-3 lists 1.5.0 but reads nothing but its own text.
        assert_eq!(
            ids("1.5"),
            [("PYSEC-2".into(), "version 1.5 listed".into())]
        );
        assert_eq!(
            ids("1.5.0"),
            [
                ("PYSEC-2".into(), "version 1.5 listed".into()),
                ("PYSEC-3".into(), "version 1.5.0 listed".into())
            ]
        );
        assert_eq!(ids("3.0.5")[0].0, "PYSEC-2");
        assert_eq!(ids("3.0.5")[0].1, "introduced 3.0, before fixed 3.1");
        assert!(ids("1.1").is_empty());
        assert!(ids("0.9").is_empty());
        assert!(ids("99").is_empty());
        assert!(ids("also not a version").is_empty());
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

    #[test]
    fn an_informational_record_matches_with_its_kind() {
        let mut unmaintained = pypi("RUSTSEC-1", vec![RangeEvent::Introduced("0".into())], &[]);
        unmaintained.informational = Some("unmaintained".into());
        let mut vulnerability = pypi("PYSEC-1", vec![RangeEvent::Introduced("0".into())], &[]);
        vulnerability.vulnerability_id = 2;
        let index = MatchIndex::build(1, [unmaintained, vulnerability], []);
        let kinds: BTreeMap<String, Option<String>> = index
            .query_package("PyPI", "django", Some("1.0"))
            .into_iter()
            .map(|m| {
                (
                    m.vuln_id.to_string(),
                    m.informational.map(|k| k.to_string()),
                )
            })
            .collect();
        assert_eq!(kinds["RUSTSEC-1"].as_deref(), Some("unmaintained"));
        assert_eq!(kinds["PYSEC-1"], None);
    }

    /// The index rows of a record's configurations, products numbered by (vendor, product)
    /// as the store's catalogue does.
    fn cpe_inputs(
        vulnerability_id: i64,
        configurations: &[CpeConfiguration],
        catalogue: &mut HashMap<(String, String), i64>,
    ) -> Vec<CpeInput> {
        let mut rows = Vec::new();
        for (configuration_index, configuration) in configurations.iter().enumerate() {
            for (node_index, node) in configuration.nodes.iter().enumerate() {
                for m in &node.cpe_match {
                    let cpe = Cpe::parse(&m.criteria).unwrap();
                    let next = catalogue.len() as i64 + 1;
                    let product_id = *catalogue
                        .entry((cpe.vendor().to_string(), cpe.product().to_string()))
                        .or_insert(next);
                    rows.push(CpeInput {
                        vulnerability_id,
                        product_id,
                        configuration_index: configuration_index as i64,
                        configuration_operator: configuration.operator.unwrap_or(CpeOperator::Or),
                        configuration_negate: configuration.negate,
                        node_index: node_index as i64,
                        node_operator: node.operator,
                        node_negate: node.negate,
                        criteria: m.criteria.clone(),
                        vulnerable: m.vulnerable,
                        version_start_including: m.version_start_including.clone(),
                        version_start_excluding: m.version_start_excluding.clone(),
                        version_end_including: m.version_end_including.clone(),
                        version_end_excluding: m.version_end_excluding.clone(),
                    });
                }
            }
        }
        rows
    }

    fn criterion(vulnerable: bool, criteria: &str, end_excluding: Option<&str>) -> CpeMatch {
        CpeMatch {
            vulnerable,
            criteria: criteria.into(),
            match_criteria_id: None,
            version_start_including: None,
            version_start_excluding: None,
            version_end_including: None,
            version_end_excluding: end_excluding.map(str::to_string),
        }
    }

    fn node(operator: CpeOperator, negate: bool, cpe_match: Vec<CpeMatch>) -> CpeNode {
        CpeNode {
            operator,
            negate,
            cpe_match,
        }
    }

    fn configuration(operator: CpeOperator, nodes: Vec<CpeNode>) -> CpeConfiguration {
        CpeConfiguration {
            operator: Some(operator),
            negate: false,
            nodes,
        }
    }

    fn name(text: &str) -> PresentCpe {
        PresentCpe::Name(Box::new(Cpe::parse(text).unwrap()))
    }

    const APP: &str = "cpe:2.3:a:vendor:app:*:*:*:*:*:*:*:*";
    const WINDOWS: &str = "cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*";
    const LINUX: &str = "cpe:2.3:o:linux:linux_kernel:-:*:*:*:*:*:*:*";

    /// Builds an index of one record (internal id 1) and the catalogue it numbered.
    fn index_of(
        configurations: &[CpeConfiguration],
    ) -> (MatchIndex, HashMap<(String, String), i64>) {
        let mut catalogue = HashMap::new();
        let rows = cpe_inputs(1, configurations, &mut catalogue);
        (MatchIndex::build(1, [], rows), catalogue)
    }

    fn product(catalogue: &HashMap<(String, String), i64>, vendor: &str, product: &str) -> i64 {
        catalogue[&(vendor.to_string(), product.to_string())]
    }

    #[test]
    fn an_and_with_a_platform_matches_only_with_the_platform_verified_or_reported() {
        let (index, catalogue) = index_of(&[configuration(
            CpeOperator::And,
            vec![
                node(
                    CpeOperator::Or,
                    false,
                    vec![criterion(true, APP, Some("2.0"))],
                ),
                node(
                    CpeOperator::Or,
                    false,
                    vec![criterion(false, WINDOWS, None)],
                ),
            ],
        )]);
        let app_1 = name("cpe:2.3:a:vendor:app:1.5:*:*:*:*:*:*:*");
        let app_2 = name("cpe:2.3:a:vendor:app:2.0:*:*:*:*:*:*:*");

        // The application alone: reported, with the platform it needs named.
        let reported = index.query_cpe(std::slice::from_ref(&app_1), PlatformPolicy::Report);
        assert_eq!(reported.len(), 1);
        assert_eq!(reported[0].evidence.identifier, APP);
        assert_eq!(reported[0].evidence.detail, "versionEndExcluding 2.0");
        assert_eq!(reported[0].evidence.configuration_index, Some(0));
        assert_eq!(
            reported[0].evidence.unverified_platforms,
            vec![WINDOWS.to_string()]
        );
        let json = serde_json::to_value(&reported[0].evidence).unwrap();
        assert_eq!(json["unverified_platforms"][0], WINDOWS);
        // Strict: the platform is not shown, so no match.
        assert!(index
            .query_cpe(std::slice::from_ref(&app_1), PlatformPolicy::Strict)
            .is_empty());
        // The platform shown: a verified match either way.
        for policy in [PlatformPolicy::Report, PlatformPolicy::Strict] {
            let verified = index.query_cpe(&[app_1.clone(), name(WINDOWS)], policy);
            assert_eq!(verified.len(), 1, "{policy:?}");
            assert!(verified[0].evidence.unverified_platforms.is_empty());
            let json = serde_json::to_value(&verified[0].evidence).unwrap();
            assert!(json.get("unverified_platforms").is_none(), "{json}");
        }
        // Another platform shown does not verify this one.
        assert!(index
            .query_cpe(&[app_1.clone(), name(LINUX)], PlatformPolicy::Strict)
            .is_empty());
        // Outside the range, the platform does not help.
        assert!(index
            .query_cpe(&[app_2, name(WINDOWS)], PlatformPolicy::Report)
            .is_empty());
        // The platform alone is not a vulnerable criterion: nothing.
        assert!(index
            .query_cpe(&[name(WINDOWS)], PlatformPolicy::Report)
            .is_empty());
        let windows = product(&catalogue, "microsoft", "windows");
        assert!(index.query_cpe_product(windows, None).is_empty());
        // The catalogue lookup reports the platform too.
        let app = product(&catalogue, "vendor", "app");
        let by_product = index.query_cpe_product(app, Some("1.9"));
        assert_eq!(by_product.len(), 1);
        assert_eq!(
            by_product[0].evidence.unverified_platforms,
            vec![WINDOWS.to_string()]
        );
        assert!(index.query_cpe_product(app, Some("2.0")).is_empty());
    }

    #[test]
    fn an_and_of_two_vulnerable_nodes_needs_both() {
        let (index, catalogue) = index_of(&[configuration(
            CpeOperator::And,
            vec![
                node(
                    CpeOperator::Or,
                    false,
                    vec![criterion(true, APP, Some("2.0"))],
                ),
                node(
                    CpeOperator::Or,
                    false,
                    vec![criterion(
                        true,
                        "cpe:2.3:a:vendor:plugin:*:*:*:*:*:*:*:*",
                        Some("3.0"),
                    )],
                ),
            ],
        )]);
        let app = name("cpe:2.3:a:vendor:app:1.0:*:*:*:*:*:*:*");
        for policy in [PlatformPolicy::Report, PlatformPolicy::Strict] {
            assert!(index
                .query_cpe(std::slice::from_ref(&app), policy)
                .is_empty());
        }
        assert!(index
            .query_cpe_product(product(&catalogue, "vendor", "app"), None)
            .is_empty());
        let old_plugin = name("cpe:2.3:a:vendor:plugin:2.9:*:*:*:*:*:*:*");
        let new_plugin = name("cpe:2.3:a:vendor:plugin:3.0:*:*:*:*:*:*:*");
        let both = index.query_cpe(&[app.clone(), old_plugin], PlatformPolicy::Strict);
        assert_eq!(both.len(), 1);
        assert!(both[0].evidence.unverified_platforms.is_empty());
        assert!(index
            .query_cpe(&[app, new_plugin], PlatformPolicy::Report)
            .is_empty());
    }

    #[test]
    fn a_partly_shown_platform_node_lists_only_what_is_missing() {
        let hardware = "cpe:2.3:h:vendor:appliance:-:*:*:*:*:*:*:*";
        let (index, _) = index_of(&[configuration(
            CpeOperator::And,
            vec![
                node(CpeOperator::Or, false, vec![criterion(true, APP, None)]),
                node(
                    CpeOperator::And,
                    false,
                    vec![
                        criterion(false, WINDOWS, None),
                        criterion(false, hardware, None),
                    ],
                ),
            ],
        )]);
        let app = name("cpe:2.3:a:vendor:app:3.0:*:*:*:*:*:*:*");
        let partly = index.query_cpe(&[app.clone(), name(WINDOWS)], PlatformPolicy::Report);
        assert_eq!(partly.len(), 1);
        assert_eq!(partly[0].evidence.detail, format!("cpe name {APP}"));
        assert_eq!(
            partly[0].evidence.unverified_platforms,
            vec![hardware.to_string()]
        );
        assert!(index
            .query_cpe(&[app.clone(), name(WINDOWS)], PlatformPolicy::Strict)
            .is_empty());
        let whole = index.query_cpe(
            &[app, name(WINDOWS), name(hardware)],
            PlatformPolicy::Strict,
        );
        assert_eq!(whole.len(), 1);
        assert!(whole[0].evidence.unverified_platforms.is_empty());
    }

    #[test]
    fn negated_nodes_and_node_operators_are_honoured() {
        // The app before 2.0, unless a fixed build of the runtime is installed; the app node
        // is an AND of two entries (the app and its edition).
        let (index, _) = index_of(&[configuration(
            CpeOperator::And,
            vec![
                node(
                    CpeOperator::And,
                    false,
                    vec![
                        criterion(true, APP, Some("2.0")),
                        criterion(true, "cpe:2.3:a:vendor:app:*:*:*:*:enterprise:*:*:*", None),
                    ],
                ),
                node(
                    CpeOperator::Or,
                    true,
                    vec![criterion(
                        true,
                        "cpe:2.3:a:vendor:runtime:5.0:*:*:*:*:*:*:*",
                        None,
                    )],
                ),
            ],
        )]);
        let enterprise = name("cpe:2.3:a:vendor:app:1.0:*:*:*:enterprise:*:*:*");
        let community = name("cpe:2.3:a:vendor:app:1.0:*:*:*:community:*:*:*");
        let runtime = name("cpe:2.3:a:vendor:runtime:5.0:*:*:*:*:*:*:*");
        let matched = index.query_cpe(std::slice::from_ref(&enterprise), PlatformPolicy::Strict);
        assert_eq!(matched.len(), 1);
        assert_eq!(matched[0].evidence.detail, "versionEndExcluding 2.0");
        // The node's AND: the community edition satisfies only one of its entries.
        assert!(index
            .query_cpe(&[community], PlatformPolicy::Report)
            .is_empty());
        // The negated node: the runtime present makes the configuration false.
        assert!(index
            .query_cpe(&[enterprise, runtime], PlatformPolicy::Report)
            .is_empty());
    }

    #[test]
    fn an_or_of_nodes_needs_any_and_a_negated_platform_is_reported() {
        let (index, _) = index_of(&[
            configuration(
                CpeOperator::Or,
                vec![
                    node(
                        CpeOperator::Or,
                        false,
                        vec![criterion(true, APP, Some("2.0"))],
                    ),
                    node(
                        CpeOperator::Or,
                        false,
                        vec![criterion(
                            true,
                            "cpe:2.3:a:vendor:server:4.1:*:*:*:*:*:*:*",
                            None,
                        )],
                    ),
                ],
            ),
            // A second configuration of the same record: the app on anything but Linux.
            configuration(
                CpeOperator::And,
                vec![
                    node(
                        CpeOperator::Or,
                        false,
                        vec![criterion(
                            true,
                            "cpe:2.3:a:vendor:agent:*:*:*:*:*:*:*:*",
                            None,
                        )],
                    ),
                    node(CpeOperator::Or, true, vec![criterion(false, LINUX, None)]),
                ],
            ),
        ]);
        let server = index.query_cpe(
            &[name("cpe:2.3:a:vendor:server:4.1:*:*:*:*:*:*:*")],
            PlatformPolicy::Strict,
        );
        assert_eq!(server.len(), 1);
        assert_eq!(server[0].evidence.configuration_index, Some(0));
        assert!(index
            .query_cpe(
                &[name("cpe:2.3:a:vendor:server:4.2:*:*:*:*:*:*:*")],
                PlatformPolicy::Strict
            )
            .is_empty());
        let agent = name("cpe:2.3:a:vendor:agent:1.0:*:*:*:*:*:*:*");
        let reported = index.query_cpe(std::slice::from_ref(&agent), PlatformPolicy::Report);
        assert_eq!(reported.len(), 1);
        assert_eq!(reported[0].evidence.configuration_index, Some(1));
        assert_eq!(
            reported[0].evidence.unverified_platforms,
            vec![LINUX.to_string()]
        );
        // Strict reads the supplied CPEs as everything present: no Linux, so "not Linux"
        // holds.
        let strict = index.query_cpe(std::slice::from_ref(&agent), PlatformPolicy::Strict);
        assert_eq!(strict.len(), 1);
        assert!(strict[0].evidence.unverified_platforms.is_empty());
        for policy in [PlatformPolicy::Report, PlatformPolicy::Strict] {
            assert!(index
                .query_cpe(&[agent.clone(), name(LINUX)], policy)
                .is_empty());
        }
        // One match per record, the verified configuration preferred.
        let both = index.query_cpe(
            &[
                name("cpe:2.3:a:vendor:agent:1.0:*:*:*:*:*:*:*"),
                name("cpe:2.3:a:vendor:app:1.0:*:*:*:*:*:*:*"),
            ],
            PlatformPolicy::Report,
        );
        assert_eq!(both.len(), 1);
        assert_eq!(both[0].evidence.configuration_index, Some(0));
        assert!(both[0].evidence.unverified_platforms.is_empty());
    }

    #[test]
    fn recorded_nvd_and_configurations_match_only_as_specified() {
        let Some(root) = rampart_test_data::root() else {
            return;
        };
        let bytes =
            std::fs::read(root.join("nvd-cve-api-2.0/pablotron-nvd-go/responses/cves-2023.json"))
                .unwrap();
        let records = parse_nvd_page(&bytes).unwrap().advisories.records;
        let mut catalogue = HashMap::new();
        let mut rows = Vec::new();
        let mut ids = HashMap::new();
        for (position, record) in records.iter().enumerate() {
            let internal_id = position as i64 + 1;
            ids.insert(record.id.clone(), internal_id);
            rows.extend(cpe_inputs(
                internal_id,
                &record.cpe_configurations,
                &mut catalogue,
            ));
        }
        let index = MatchIndex::build(1, [], rows);
        assert_eq!(index.stats().cpe_configurations, 267);
        let dante_cve = ids["CVE-2022-23748"];
        let of = |matches: Vec<IndexMatch>, id: i64| {
            matches.into_iter().find(|m| m.vulnerability_id == id)
        };

        // CVE-2022-23748: dante_application_library <= 1.2.0 AND running on windows:-.
        let dante = |version: &str| {
            name(&format!(
                "cpe:2.3:a:audinate:dante_application_library:{version}:*:*:*:*:*:*:*"
            ))
        };
        let reported = of(
            index.query_cpe(&[dante("1.2.0")], PlatformPolicy::Report),
            dante_cve,
        )
        .expect("reported with its platform");
        assert_eq!(
            reported.evidence.unverified_platforms,
            vec![WINDOWS.to_string()]
        );
        assert_eq!(reported.evidence.detail, "versionEndIncluding 1.2.0");
        assert!(of(
            index.query_cpe(&[dante("1.2.0")], PlatformPolicy::Strict),
            dante_cve
        )
        .is_none());
        let verified = of(
            index.query_cpe(&[dante("1.2.0"), name(WINDOWS)], PlatformPolicy::Strict),
            dante_cve,
        )
        .expect("verified on windows");
        assert!(verified.evidence.unverified_platforms.is_empty());
        assert!(of(
            index.query_cpe(&[dante("1.2.0"), name(LINUX)], PlatformPolicy::Strict),
            dante_cve
        )
        .is_none());
        assert!(of(
            index.query_cpe(&[dante("1.2.1"), name(WINDOWS)], PlatformPolicy::Report),
            dante_cve
        )
        .is_none());
        // Windows alone is only the platform: no record matches on it.
        let windows = product(&catalogue, "microsoft", "windows");
        assert!(index.query_cpe_product(windows, None).is_empty());

        // CVE-2022-45461: netbackup <= 10.1 AND (linux_kernel OR unix): one platform of the
        // node's OR is enough.
        let netbackup_cve = ids["CVE-2022-45461"];
        let netbackup = name("cpe:2.3:a:veritas:netbackup:10.0:*:*:*:*:*:*:*");
        let unix = name("cpe:2.3:o:opengroup:unix:-:*:*:*:*:*:*:*");
        assert!(of(
            index.query_cpe(&[netbackup.clone(), unix], PlatformPolicy::Strict),
            netbackup_cve
        )
        .is_some());
        let reported = of(
            index.query_cpe(std::slice::from_ref(&netbackup), PlatformPolicy::Report),
            netbackup_cve,
        )
        .unwrap();
        assert_eq!(reported.evidence.unverified_platforms.len(), 2);

        // Every record whose configurations are all AND with a platform node: its vulnerable
        // products alone report it with platforms and never match it strictly.
        let mut checked = 0;
        for record in &records {
            let all_and_with_platform = !record.cpe_configurations.is_empty()
                && record.cpe_configurations.iter().all(|c| {
                    c.operator == Some(CpeOperator::And)
                        && c.nodes
                            .iter()
                            .any(|n| n.cpe_match.iter().all(|m| !m.vulnerable))
                });
            if !all_and_with_platform {
                continue;
            }
            let internal_id = ids[&record.id];
            for m in record
                .cpe_configurations
                .iter()
                .flat_map(|c| &c.nodes)
                .flat_map(|n| &n.cpe_match)
                .filter(|m| m.vulnerable)
            {
                let cpe = Cpe::parse(&m.criteria).unwrap();
                let product_id = catalogue[&(cpe.vendor().to_string(), cpe.product().to_string())];
                let present = [PresentCpe::Product {
                    product_id,
                    version: None,
                }];
                let reported = of(
                    index.query_cpe(&present, PlatformPolicy::Report),
                    internal_id,
                )
                .unwrap_or_else(|| panic!("{} not reported for {}", record.id, m.criteria));
                assert!(
                    !reported.evidence.unverified_platforms.is_empty(),
                    "{}",
                    record.id
                );
                assert!(
                    of(
                        index.query_cpe(&present, PlatformPolicy::Strict),
                        internal_id
                    )
                    .is_none(),
                    "{} matched strictly on {} alone",
                    record.id,
                    m.criteria
                );
                checked += 1;
            }
        }
        assert!(checked >= 80, "{checked}");
    }
}
