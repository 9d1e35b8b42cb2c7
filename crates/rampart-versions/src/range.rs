//! OSV affected ranges: `introduced` / `fixed` / `last_affected` / `limit` events over one
//! version scheme, plus explicit `versions` lists.
//!
//! Evaluation follows the OSV schema's `IncludedInRanges`: events sorted by version, walked in
//! order, the last applicable event deciding; `limit` events cap the range. Events are parsed
//! and sorted once ([`CompiledRange::compile`]); evaluating a version allocates nothing and
//! reports the event that decided, so a finding can say *why* it matched.
//!
//! `GIT` ranges name commits, not versions; ordering them needs the repository graph, so they
//! are kept and reported as [`RangeOutcome::NotEvaluated`] rather than guessed.

use std::cmp::Ordering;
use std::fmt;

use crate::{Scheme, Version, VersionError};

/// The OSV `ranges[].type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RangeKind {
    Semver,
    Ecosystem,
    Git,
}

impl RangeKind {
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        match input {
            "SEMVER" => Ok(RangeKind::Semver),
            "ECOSYSTEM" => Ok(RangeKind::Ecosystem),
            "GIT" => Ok(RangeKind::Git),
            _ => Err(VersionError::new(
                "OSV range",
                input,
                "range type must be SEMVER, ECOSYSTEM or GIT",
            )),
        }
    }

    /// The scheme a range of this kind is ordered by, given its ecosystem's scheme. OSV
    /// defines `SEMVER` ranges as SemVer 2.0 whatever the ecosystem; schemes that already
    /// order SemVer strings that way (and read Go's or npm's spellings) are kept.
    pub fn scheme(self, ecosystem_scheme: Scheme) -> Scheme {
        match self {
            RangeKind::Semver => match ecosystem_scheme {
                Scheme::Semver | Scheme::Npm | Scheme::Go | Scheme::Pub => ecosystem_scheme,
                _ => Scheme::Semver,
            },
            RangeKind::Ecosystem | RangeKind::Git => ecosystem_scheme,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RangeKind::Semver => "SEMVER",
            RangeKind::Ecosystem => "ECOSYSTEM",
            RangeKind::Git => "GIT",
        }
    }
}

/// What an event says happens at its version. Declaration order breaks ties between events
/// at the same version: an `introduced` and a `fixed` at one version describe an empty range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    Introduced,
    Fixed,
    LastAffected,
    Limit,
}

impl EventKind {
    /// The OSV field name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Introduced => "introduced",
            EventKind::Fixed => "fixed",
            EventKind::LastAffected => "last_affected",
            EventKind::Limit => "limit",
        }
    }

    pub fn parse(input: &str) -> Result<Self, VersionError> {
        match input {
            "introduced" => Ok(EventKind::Introduced),
            "fixed" => Ok(EventKind::Fixed),
            "last_affected" => Ok(EventKind::LastAffected),
            "limit" => Ok(EventKind::Limit),
            _ => Err(VersionError::new("OSV event", input, "unknown event kind")),
        }
    }
}

/// An event as written in the record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawEvent {
    pub kind: EventKind,
    pub version: String,
}

impl RawEvent {
    pub fn new(kind: EventKind, version: impl Into<String>) -> Self {
        Self {
            kind,
            version: version.into(),
        }
    }
}

/// Where an event sits in the version order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Point {
    /// `introduced: "0"`: before every version.
    Start,
    At(Version),
    /// `limit: "*"`: after every version.
    End,
}

impl Point {
    fn cmp_version(&self, version: &Version) -> Ordering {
        match self {
            Point::Start => Ordering::Less,
            Point::At(at) => at.cmp(version),
            Point::End => Ordering::Greater,
        }
    }
}

impl Ord for Point {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Point::Start, Point::Start) | (Point::End, Point::End) => Ordering::Equal,
            (Point::Start, _) | (_, Point::End) => Ordering::Less,
            (_, Point::Start) | (Point::End, _) => Ordering::Greater,
            (Point::At(a), Point::At(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Point {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Debug, Clone)]
struct CompiledEvent {
    kind: EventKind,
    point: Point,
    text: Box<str>,
}

impl CompiledEvent {
    fn as_ref(&self) -> EventRef<'_> {
        EventRef {
            kind: self.kind,
            version: &self.text,
        }
    }
}

/// A borrowed view of one event, for evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRef<'a> {
    pub kind: EventKind,
    /// The version exactly as the record wrote it.
    pub version: &'a str,
}

impl fmt::Display for EventRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.as_str(), self.version)
    }
}

/// Why a range decided as it did: the last event at or below the version (`decided_by`) and
/// the next event above it (`bounded_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evidence<'a> {
    pub decided_by: Option<EventRef<'a>>,
    pub bounded_by: Option<EventRef<'a>>,
}

impl fmt::Display for Evidence<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A `last_affected` bound includes its own version; other bounds exclude theirs.
        let relation = |next: EventRef<'_>| {
            if next.kind == EventKind::LastAffected {
                "up to"
            } else {
                "before"
            }
        };
        match (self.decided_by, self.bounded_by) {
            (Some(by), Some(next)) => write!(f, "{by}, {} {next}", relation(next)),
            (Some(by), None) => write!(f, "{by}"),
            (None, Some(next)) => write!(f, "{} {next}", relation(next)),
            (None, None) => f.write_str("no events"),
        }
    }
}

/// The result of evaluating one range for one version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeOutcome<'a> {
    Affected(Evidence<'a>),
    NotAffected(Evidence<'a>),
    /// A `GIT` range: commits cannot be ordered without the repository.
    NotEvaluated,
}

impl RangeOutcome<'_> {
    pub fn is_affected(&self) -> bool {
        matches!(self, RangeOutcome::Affected(_))
    }
}

/// One OSV range, parsed and sorted once for repeated evaluation.
#[derive(Debug, Clone)]
pub struct CompiledRange {
    kind: RangeKind,
    scheme: Scheme,
    /// Sorted by version, ties by [`EventKind`] order; `limit`s are kept apart. Boxed
    /// slices: an index holds many thousands of ranges, built once and never grown.
    events: Box<[CompiledEvent]>,
    limits: Box<[CompiledEvent]>,
    /// `GIT` events, verbatim.
    raw: Box<[RawEvent]>,
}

impl CompiledRange {
    /// Parses every event version with `scheme`. Fails on the first unparseable version,
    /// naming it; a `GIT` range is kept without parsing.
    pub fn compile(
        kind: RangeKind,
        scheme: Scheme,
        events: impl IntoIterator<Item = RawEvent>,
    ) -> Result<Self, VersionError> {
        let raw: Vec<RawEvent> = events.into_iter().collect();
        if kind == RangeKind::Git {
            return Ok(CompiledRange {
                kind,
                scheme,
                events: Box::default(),
                limits: Box::default(),
                raw: raw.into_boxed_slice(),
            });
        }
        let mut events = Vec::with_capacity(raw.len());
        let mut limits = Vec::new();
        for event in raw {
            let point = match (event.kind, event.version.as_str()) {
                (EventKind::Introduced, "0") => Point::Start,
                (EventKind::Limit, text) if text.contains('*') => Point::End,
                (_, text) => Point::At(scheme.parse(text)?),
            };
            let compiled = CompiledEvent {
                kind: event.kind,
                point,
                text: event.version.into_boxed_str(),
            };
            if event.kind == EventKind::Limit {
                limits.push(compiled);
            } else {
                events.push(compiled);
            }
        }
        events.sort_by(|a, b| a.point.cmp(&b.point).then(a.kind.cmp(&b.kind)));
        Ok(CompiledRange {
            kind,
            scheme,
            events: events.into_boxed_slice(),
            limits: limits.into_boxed_slice(),
            raw: Box::default(),
        })
    }

    pub fn kind(&self) -> RangeKind {
        self.kind
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The events as written (for `GIT` ranges) or as compiled, in evaluation order.
    pub fn events(&self) -> impl Iterator<Item = EventRef<'_>> {
        let raw = self.raw.iter().map(|e| EventRef {
            kind: e.kind,
            version: &e.version,
        });
        let compiled = self.events.iter().chain(&self.limits).map(|e| EventRef {
            kind: e.kind,
            version: &e.text,
        });
        raw.chain(compiled)
    }

    /// Decides whether `version` (parsed with this range's scheme) is in the range.
    pub fn evaluate(&self, version: &Version) -> Result<RangeOutcome<'_>, VersionError> {
        if self.kind == RangeKind::Git {
            return Ok(RangeOutcome::NotEvaluated);
        }
        if version.scheme() != self.scheme {
            return Err(VersionError::new(
                self.scheme.name(),
                version.to_string(),
                format!(
                    "version of scheme {} evaluated against a {} range",
                    version.scheme().name(),
                    self.scheme.name()
                ),
            ));
        }
        Ok(self.evaluate_same_scheme(version))
    }

    /// Parses `version` with the range's scheme, then evaluates it.
    pub fn evaluate_str(&self, version: &str) -> Result<RangeOutcome<'_>, VersionError> {
        if self.kind == RangeKind::Git {
            return Ok(RangeOutcome::NotEvaluated);
        }
        let parsed = self.scheme.parse(version)?;
        Ok(self.evaluate_same_scheme(&parsed))
    }

    fn evaluate_same_scheme(&self, version: &Version) -> RangeOutcome<'_> {
        // With limits present, only versions below some limit can be affected.
        if !self.limits.is_empty() {
            let below_a_limit = self
                .limits
                .iter()
                .any(|limit| limit.point.cmp_version(version) == Ordering::Greater);
            if !below_a_limit {
                let highest = self.limits.iter().max_by(|a, b| a.point.cmp(&b.point));
                return RangeOutcome::NotAffected(Evidence {
                    decided_by: highest.map(CompiledEvent::as_ref),
                    bounded_by: None,
                });
            }
        }
        // Whether an event has taken effect at `version` is monotone along the sorted
        // events (ties order introduced < fixed < last_affected), so the last event to take
        // effect is found by binary search; it alone decides, as in the schema's walk.
        let applied = self.events.partition_point(|event| {
            let position = event.point.cmp_version(version);
            match event.kind {
                EventKind::Introduced | EventKind::Fixed => position != Ordering::Greater,
                // `last_affected` still includes its own version.
                EventKind::LastAffected => position == Ordering::Less,
                EventKind::Limit => false,
            }
        });
        let decided_by = applied.checked_sub(1).map(|index| &self.events[index]);
        let bounded_by = self.events.get(applied);
        let affected = decided_by.is_some_and(|event| event.kind == EventKind::Introduced);
        let evidence = Evidence {
            decided_by: decided_by.map(CompiledEvent::as_ref),
            bounded_by: bounded_by.map(CompiledEvent::as_ref),
        };
        if affected {
            RangeOutcome::Affected(evidence)
        } else {
            RangeOutcome::NotAffected(evidence)
        }
    }
}

/// How an affected package matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AffectedMatch<'a> {
    /// Listed in the explicit `versions` array (the entry as written).
    ListedVersion(&'a str),
    /// Inside range `index` of the package's `ranges`.
    Range {
        index: usize,
        evidence: Evidence<'a>,
    },
}

/// The verdict for one OSV `affected[]` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AffectedOutcome<'a> {
    Affected(AffectedMatch<'a>),
    NotAffected,
    /// Nothing matched, but some `GIT` ranges could not be evaluated: not a clean bill.
    NotEvaluated,
}

/// An OSV `affected[]` entry's ranges and explicit versions, compiled for one scheme.
#[derive(Debug, Clone)]
pub struct CompiledAffected {
    scheme: Scheme,
    ranges: Box<[CompiledRange]>,
    /// Explicit versions: the text as written, and its parse when the scheme accepts it
    /// (lists often hold tags the scheme cannot read; those match only verbatim).
    versions: Box<[(String, Option<Version>)]>,
}

impl CompiledAffected {
    pub fn new(scheme: Scheme, ranges: Vec<CompiledRange>, versions: Vec<String>) -> Self {
        let versions = versions
            .into_iter()
            .map(|text| {
                let parsed = scheme.parse(&text).ok();
                (text, parsed)
            })
            .collect();
        Self {
            scheme,
            ranges: ranges.into_boxed_slice(),
            versions,
        }
    }

    /// Compiles an OSV `affected[]` entry for `ecosystem`: each range is ordered by its
    /// kind's scheme (see [`RangeKind::scheme`]), the explicit versions by the ecosystem's.
    pub fn compile(
        ecosystem: &crate::Ecosystem,
        ranges: impl IntoIterator<Item = (RangeKind, Vec<RawEvent>)>,
        versions: Vec<String>,
    ) -> Result<Self, VersionError> {
        let scheme = ecosystem.scheme();
        let ranges = ranges
            .into_iter()
            .map(|(kind, events)| CompiledRange::compile(kind, kind.scheme(scheme), events))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(scheme, ranges, versions))
    }

    pub fn ranges(&self) -> &[CompiledRange] {
        &self.ranges
    }

    /// Explicit versions first (an exact listing is the strongest evidence), then ranges.
    pub fn evaluate_str(&self, version: &str) -> Result<AffectedOutcome<'_>, VersionError> {
        if let Some((listed, _)) = self.versions.iter().find(|(text, _)| text == version) {
            return Ok(AffectedOutcome::Affected(AffectedMatch::ListedVersion(
                listed,
            )));
        }
        let parsed = self.scheme.parse(version)?;
        self.evaluate(&parsed)
    }

    pub fn evaluate(&self, version: &Version) -> Result<AffectedOutcome<'_>, VersionError> {
        let listed = self
            .versions
            .iter()
            .find(|(_, parsed)| parsed.as_ref() == Some(version));
        if let Some((listed, _)) = listed {
            return Ok(AffectedOutcome::Affected(AffectedMatch::ListedVersion(
                listed,
            )));
        }
        let mut unevaluated = false;
        for (index, range) in self.ranges.iter().enumerate() {
            // A range compiled for another scheme (e.g. SEMVER beside ECOSYSTEM) needs the
            // version re-read in that scheme; rare, so the allocation is acceptable.
            let outcome = if range.scheme() == version.scheme() {
                range.evaluate(version)?
            } else {
                range.evaluate_str(&version.to_string())?
            };
            match outcome {
                RangeOutcome::Affected(evidence) => {
                    return Ok(AffectedOutcome::Affected(AffectedMatch::Range {
                        index,
                        evidence,
                    }))
                }
                RangeOutcome::NotEvaluated => unevaluated = true,
                RangeOutcome::NotAffected(_) => {}
            }
        }
        Ok(if unevaluated {
            AffectedOutcome::NotEvaluated
        } else {
            AffectedOutcome::NotAffected
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every `affected[]` entry of the OSV JSON records in the shared test data (RustSec's
    /// OSV export, the OSV schema's tool fixtures, osv.dev's test data).
    pub(crate) fn real_osv_affected() -> Option<Vec<serde_json::Value>> {
        let root = crate::test_data::root()?;
        let mut files = Vec::new();
        let mut pending = vec![
            root.join("rustsec-advisory-db/osv"),
            root.join("peer-tests/osv-schema/tools"),
            root.join("peer-tests/osv-dev"),
        ];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).ok()?.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path);
                } else if path.extension().is_some_and(|e| e == "json") {
                    files.push(path);
                }
            }
        }
        files.sort();
        let mut affected = Vec::new();
        for file in files {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
                continue;
            };
            let records = match value {
                serde_json::Value::Array(list) => list,
                other => vec![other],
            };
            for record in records {
                if let Some(list) = record["affected"].as_array() {
                    affected.extend(list.iter().cloned());
                }
            }
        }
        Some(affected)
    }

    fn range(kind: RangeKind, events: &[(EventKind, &str)]) -> CompiledRange {
        CompiledRange::compile(
            kind,
            Scheme::Generic,
            events.iter().map(|(k, v)| RawEvent::new(*k, *v)),
        )
        .unwrap()
    }

    fn affected(range: &CompiledRange, version: &str) -> bool {
        range.evaluate_str(version).unwrap().is_affected()
    }

    use EventKind::*;

    #[test]
    fn evaluates_introduced_fixed_in_any_order() {
        let r = range(
            RangeKind::Ecosystem,
            &[
                (Fixed, "1.4.3"),
                (Introduced, "1.0.0"),
                (Introduced, "2.0"),
                (Fixed, "2.1"),
            ],
        );
        assert!(!affected(&r, "0.9"));
        assert!(affected(&r, "1.0.0"));
        assert!(affected(&r, "1.4.2"));
        assert!(!affected(&r, "1.4.3"));
        assert!(!affected(&r, "1.9"));
        assert!(affected(&r, "2.0.5"));
        assert!(!affected(&r, "2.1"));
        match r.evaluate_str("1.2").unwrap() {
            RangeOutcome::Affected(evidence) => {
                assert_eq!(evidence.to_string(), "introduced 1.0.0, before fixed 1.4.3")
            }
            other => panic!("{other:?}"),
        }
        match r.evaluate_str("1.5").unwrap() {
            RangeOutcome::NotAffected(evidence) => {
                assert_eq!(evidence.to_string(), "fixed 1.4.3, before introduced 2.0")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn introduced_zero_last_affected_and_limit() {
        let r = range(
            RangeKind::Semver,
            &[(Introduced, "0"), (LastAffected, "1.2")],
        );
        assert!(affected(&r, "0.0.1"));
        assert!(affected(&r, "1.2"));
        assert!(!affected(&r, "1.2.1"));
        assert_eq!(
            r.evaluate_str("1.2").unwrap(),
            RangeOutcome::Affected(Evidence {
                decided_by: Some(EventRef {
                    kind: Introduced,
                    version: "0"
                }),
                bounded_by: Some(EventRef {
                    kind: LastAffected,
                    version: "1.2"
                }),
            })
        );

        let limited = range(RangeKind::Ecosystem, &[(Introduced, "1.0"), (Limit, "1.5")]);
        assert!(affected(&limited, "1.4"));
        assert!(!affected(&limited, "1.5"));
        match limited.evaluate_str("3").unwrap() {
            RangeOutcome::NotAffected(e) => assert_eq!(e.to_string(), "limit 1.5"),
            other => panic!("{other:?}"),
        }
        let unlimited = range(RangeKind::Ecosystem, &[(Introduced, "1.0"), (Limit, "*")]);
        assert!(affected(&unlimited, "99"));
    }

    #[test]
    fn git_ranges_are_not_evaluated_and_bad_versions_are_errors() {
        let git = range(RangeKind::Git, &[(Introduced, "abc123"), (Fixed, "def456")]);
        assert_eq!(git.evaluate_str("1.0").unwrap(), RangeOutcome::NotEvaluated);
        assert_eq!(git.events().count(), 2);
        let bad = CompiledRange::compile(
            RangeKind::Ecosystem,
            Scheme::Generic,
            [RawEvent::new(Introduced, "   ")],
        );
        assert!(bad.is_err());
        assert!(RangeKind::parse("SEMVER2").is_err());
    }

    #[test]
    fn affected_entries_check_versions_then_ranges() {
        let git = range(RangeKind::Git, &[(Introduced, "abc123")]);
        let eco = range(RangeKind::Ecosystem, &[(Introduced, "2.0"), (Fixed, "2.3")]);
        let entry = CompiledAffected::new(
            Scheme::Generic,
            vec![git, eco],
            vec!["1.0.1".into(), "weird-tag!".into()],
        );
        assert_eq!(
            entry.evaluate_str("1.0.1").unwrap(),
            AffectedOutcome::Affected(AffectedMatch::ListedVersion("1.0.1"))
        );
        assert_eq!(
            entry.evaluate_str("weird-tag!").unwrap(),
            AffectedOutcome::Affected(AffectedMatch::ListedVersion("weird-tag!"))
        );
        assert!(matches!(
            entry.evaluate_str("2.1").unwrap(),
            AffectedOutcome::Affected(AffectedMatch::Range { index: 1, .. })
        ));
        // The GIT range could not be checked, so 3.0 is not declared safe.
        assert_eq!(
            entry.evaluate_str("3.0").unwrap(),
            AffectedOutcome::NotEvaluated
        );
    }

    #[test]
    fn compiles_an_affected_entry_per_ecosystem() {
        let pypi = crate::Ecosystem::parse("PyPI").unwrap();
        let entry = CompiledAffected::compile(
            &pypi,
            [(
                RangeKind::Ecosystem,
                vec![
                    RawEvent::new(Introduced, "1.0"),
                    RawEvent::new(Fixed, "1.4.3"),
                ],
            )],
            vec!["0.9.post1".into()],
        )
        .unwrap();
        // PEP 440: 1.4.3rc1 is a pre-release of 1.4.3, so still below the fix.
        assert!(matches!(
            entry.evaluate_str("1.4.3rc1").unwrap(),
            AffectedOutcome::Affected(AffectedMatch::Range { index: 0, .. })
        ));
        assert_eq!(
            entry.evaluate_str("1.4.3").unwrap(),
            AffectedOutcome::NotAffected
        );
        // Listed versions match by PEP 440 equality, not only by spelling.
        assert_eq!(
            entry.evaluate_str("0.9.post1").unwrap(),
            AffectedOutcome::Affected(AffectedMatch::ListedVersion("0.9.post1"))
        );
        assert!(matches!(
            entry.evaluate_str("0.9-post1").unwrap(),
            AffectedOutcome::Affected(AffectedMatch::ListedVersion("0.9.post1"))
        ));
        // A bad event version is an error value, not a panic.
        assert!(CompiledAffected::compile(
            &pypi,
            [(
                RangeKind::Ecosystem,
                vec![RawEvent::new(Introduced, "not a version!")]
            )],
            vec![],
        )
        .is_err());
    }

    /// The OSV schema's pseudocode, verbatim in spirit: sort, walk, no early exit.
    fn reference_is_affected(events: &[(EventKind, u32)], introduced_zero: bool, v: u32) -> bool {
        let limits: Vec<u32> = events
            .iter()
            .filter(|(k, _)| *k == Limit)
            .map(|(_, x)| *x)
            .collect();
        if !limits.is_empty() && !limits.iter().any(|l| v < *l) {
            return false;
        }
        let mut sorted: Vec<(u32, EventKind)> = events
            .iter()
            .filter(|(k, _)| *k != Limit)
            .map(|(k, x)| (*x + 1, *k))
            .collect();
        if introduced_zero {
            sorted.push((0, Introduced));
        }
        sorted.sort();
        let v = v + 1;
        let mut vulnerable = false;
        for (at, kind) in sorted {
            match kind {
                Introduced if v >= at => vulnerable = true,
                Fixed if v >= at => vulnerable = false,
                LastAffected if v > at => vulnerable = false,
                _ => {}
            }
        }
        vulnerable
    }

    fn event_kind() -> impl Strategy<Value = EventKind> {
        prop_oneof![
            Just(Introduced),
            Just(Fixed),
            Just(LastAffected),
            Just(Limit)
        ]
    }

    proptest! {
        #[test]
        fn agrees_with_the_reference_evaluator(
            events in proptest::collection::vec((event_kind(), 0u32..12), 0..7),
            introduced_zero in any::<bool>(),
            probe in 0u32..14,
        ) {
            let mut raw: Vec<RawEvent> = events
                .iter()
                .map(|(k, x)| RawEvent::new(*k, format!("1.{x}")))
                .collect();
            if introduced_zero {
                raw.push(RawEvent::new(Introduced, "0"));
            }
            let compiled = CompiledRange::compile(RangeKind::Ecosystem, Scheme::Generic, raw).unwrap();
            let outcome = compiled.evaluate_str(&format!("1.{probe}")).unwrap();
            prop_assert_eq!(
                outcome.is_affected(),
                reference_is_affected(&events, introduced_zero, probe)
            );
        }
    }

    #[test]
    fn real_osv_ranges_compile_and_decide_at_their_own_events() {
        let Some(affected) = real_osv_affected() else {
            return;
        };
        let (mut ranges, mut git, mut checked) = (0, 0, 0);
        for entry in &affected {
            let Ok(ecosystem) =
                crate::Ecosystem::parse(entry["package"]["ecosystem"].as_str().unwrap_or(""))
            else {
                continue;
            };
            for raw in entry["ranges"].as_array().into_iter().flatten() {
                let kind = RangeKind::parse(raw["type"].as_str().unwrap()).unwrap();
                let scheme = kind.scheme(ecosystem.scheme());
                let events: Vec<RawEvent> = raw["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|e| {
                        let (name, version) = e.as_object()?.iter().next()?;
                        Some(RawEvent::new(
                            EventKind::parse(name).ok()?,
                            version.as_str()?,
                        ))
                    })
                    .collect();
                let Ok(compiled) = CompiledRange::compile(kind, scheme, events.clone()) else {
                    panic!("{ecosystem}: cannot compile {raw}");
                };
                ranges += 1;
                if kind == RangeKind::Git {
                    git += 1;
                    assert_eq!(
                        compiled.evaluate_str("1.0").unwrap(),
                        RangeOutcome::NotEvaluated
                    );
                    continue;
                }
                let has_limit = events.iter().any(|e| e.kind == Limit);
                for event in &events {
                    let same_version = |kind: EventKind| {
                        events.iter().any(|other| {
                            other.kind == kind
                                && scheme.compare(&other.version, &event.version)
                                    == Ok(Ordering::Equal)
                        })
                    };
                    let outcome = compiled.evaluate_str(&event.version);
                    match event.kind {
                        Fixed => {
                            assert!(
                                !outcome.unwrap().is_affected(),
                                "{raw}: fixed {} affected",
                                event.version
                            );
                            checked += 1;
                        }
                        Introduced if event.version != "0" && !has_limit => {
                            let expected = !same_version(Fixed);
                            assert_eq!(
                                outcome.unwrap().is_affected(),
                                expected,
                                "{raw}: introduced {}",
                                event.version
                            );
                            checked += 1;
                        }
                        LastAffected if !has_limit => {
                            assert!(
                                outcome.unwrap().is_affected(),
                                "{raw}: last_affected {}",
                                event.version
                            );
                            checked += 1;
                        }
                        _ => {}
                    }
                }
            }
        }
        eprintln!(
            "real OSV: {ranges} ranges compiled ({git} GIT), {checked} event boundaries checked"
        );
        assert!(ranges > 1000, "only {ranges} ranges found");
    }
}
