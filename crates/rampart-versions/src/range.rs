//! OSV affected ranges: `introduced` / `fixed` / `last_affected` / `limit` events over one
//! version scheme, plus explicit `versions` lists.
//!
//! The events are a timeline of status changes (OSV schema, "events fields"): each
//! `introduced` opens an affected interval that the next `fixed` (exclusive) or
//! `last_affected` (inclusive) closes; `limit` events cap the whole range (`BeforeLimits`).
//! The schema's `IncludedInRanges` walks the sorted events, but leaves the order of events at
//! one version to the record: `fixed 2.4.50` + `introduced 2.4.50` is the adjacent intervals
//! `[.., 2.4.50)` and `[2.4.50, ..)` (Bitnami's apache record for CVE-2021-42013), while
//! `introduced 2.0` + `fixed 2.0` on their own are an empty interval. So events at one
//! version are applied as changes of the state they find, whatever their order in the record:
//! an open interval is closed first and then reopened by an `introduced` there; with none
//! open, an `introduced` opens one that a `fixed`/`last_affected` at the same version closes
//! again at once (a `fixed` beats a `last_affected` at one version). Events are parsed and
//! turned into intervals once ([`CompiledRange::compile`]); evaluating a version is a binary
//! search that allocates nothing and reports the events that bound it, so a finding can say
//! *why* it matched.
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

/// What an event says happens at its version. Declaration order only fixes the listing order
/// of events at one version ([`CompiledRange::events`]); it does not decide evaluation.
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

/// Why a range decided as it did. Inside an affected interval: the `introduced` that opened
/// it (`decided_by`) and the event that closes it (`bounded_by`). Outside: the event that
/// closed the interval below the version (or the `limit` it is not below), and the
/// `introduced` of the next interval above it.
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
    /// The affected intervals the events describe, by ascending start (indexes into
    /// `events`; several may start at one version: `fixed X`, `introduced X`, `fixed X`).
    /// Consecutive intervals overlap at most at one version (`last_affected X` +
    /// `introduced X`).
    intervals: Box<[Interval]>,
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
                intervals: Box::default(),
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
        let intervals = intervals_of(&events);
        Ok(CompiledRange {
            kind,
            scheme,
            events: events.into_boxed_slice(),
            intervals,
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

    /// The events as written (for `GIT` ranges) or as compiled, sorted by version.
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

    /// The affected intervals, by ascending start: what the range means, without `limit`s.
    pub fn intervals(&self) -> impl Iterator<Item = AffectedInterval<'_>> {
        self.intervals.iter().map(|interval| AffectedInterval {
            start: self.events[interval.start as usize].as_ref(),
            end: interval.end().map(|end| self.events[end].as_ref()),
        })
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
        // The last interval starting at or below `version` is the only one that can hold it:
        // starts ascend, an earlier interval reaches at most the next one's start, and one
        // that holds its end version (`last_affected`) is only followed at that version by
        // intervals that hold it too (`fixed` events close first).
        let following = self.intervals.partition_point(|interval| {
            self.events[interval.start as usize]
                .point
                .cmp_version(version)
                != Ordering::Greater
        });
        let below = following.checked_sub(1).map(|index| &self.intervals[index]);
        let affected = below.is_some_and(|interval| match interval.end() {
            None => true,
            Some(end) => {
                let end = &self.events[end];
                match end.point.cmp_version(version) {
                    Ordering::Greater => true,
                    Ordering::Equal => end.kind == EventKind::LastAffected,
                    Ordering::Less => false,
                }
            }
        });
        let event = |index: usize| self.events[index].as_ref();
        let evidence = match below {
            Some(interval) if affected => Evidence {
                decided_by: Some(event(interval.start as usize)),
                bounded_by: interval.end().map(event),
            },
            _ => Evidence {
                decided_by: below.and_then(Interval::end).map(event),
                bounded_by: self
                    .intervals
                    .get(following)
                    .map(|next| event(next.start as usize)),
            },
        };
        if affected {
            RangeOutcome::Affected(evidence)
        } else {
            RangeOutcome::NotAffected(evidence)
        }
    }
}

/// One affected interval of a range: from its `introduced` event (inclusive; `"0"` is below
/// every version) up to its `fixed` (exclusive) or `last_affected` (inclusive) event, or
/// without end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AffectedInterval<'a> {
    pub start: EventRef<'a>,
    pub end: Option<EventRef<'a>>,
}

/// An interval as indexes into a range's sorted events.
#[derive(Debug, Clone, Copy)]
struct Interval {
    start: u32,
    /// [`Interval::OPEN`] when nothing closes it.
    end: u32,
}

impl Interval {
    const OPEN: u32 = u32::MAX;

    fn end(&self) -> Option<usize> {
        (self.end != Self::OPEN).then_some(self.end as usize)
    }
}

/// Reads the intervals off `events` (sorted by point), one version at a time. The events at
/// one version are applied as changes of the state they find, alternating while they can: an
/// open interval is closed (by a `fixed` first, so that a `last_affected` closes the last
/// interval there), then an `introduced` opens the next. Their order in the record does not
/// matter, and the last interval starting at or below a version is the one that decides it.
fn intervals_of(events: &[CompiledEvent]) -> Box<[Interval]> {
    let mut intervals = Vec::new();
    // The `introduced` that opened the interval still open.
    let mut open: Option<u32> = None;
    let mut group_start = 0;
    while group_start < events.len() {
        let point = &events[group_start].point;
        let group_end = group_start
            + events[group_start..]
                .partition_point(|event| event.point.cmp(point) == Ordering::Equal);
        let of_kind = |kind: EventKind| {
            (group_start..group_end)
                .filter(move |&index| events[index].kind == kind)
                .map(|index| index as u32)
        };
        let mut introduced = of_kind(EventKind::Introduced);
        let mut closing = of_kind(EventKind::Fixed).chain(of_kind(EventKind::LastAffected));
        loop {
            match open {
                Some(start) => {
                    let Some(end) = closing.next() else { break };
                    intervals.push(Interval { start, end });
                    open = None;
                }
                None => {
                    let Some(start) = introduced.next() else {
                        break;
                    };
                    open = Some(start);
                }
            }
        }
        group_start = group_end;
    }
    if let Some(start) = open {
        intervals.push(Interval {
            start,
            end: Interval::OPEN,
        });
    }
    intervals.into_boxed_slice()
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
        // Each corpus must be there (`corpus` fails under the REQUIRE gate when one is not),
        // and every file in it must be read: none is skipped quietly.
        let mut pending = Vec::new();
        for corpus in [
            "rustsec-advisory-db/osv",
            "peer-tests/osv-schema/tools",
            "peer-tests/osv-dev",
        ] {
            pending.push(rampart_test_data::corpus(corpus)?);
        }
        let mut files = Vec::new();
        while let Some(dir) = pending.pop() {
            let entries = std::fs::read_dir(&dir)
                .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()));
            for entry in entries {
                let path = entry
                    .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()))
                    .path();
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
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|error| panic!("cannot read {}: {error}", file.display()));
            let value: serde_json::Value = serde_json::from_str(&text)
                .unwrap_or_else(|error| panic!("{} is not JSON: {error}", file.display()));
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

    /// One range written out, the versions probed, and the answers the OSV schema's interval
    /// reading gives, worked out by hand (not computed): the events describe half-open
    /// intervals `[introduced, fixed)` / closed `[introduced, last_affected]`, whatever order
    /// the record lists them in.
    struct LiteralCase {
        what: &'static str,
        kind: RangeKind,
        scheme: Scheme,
        events: &'static [(EventKind, &'static str)],
        affected: &'static [&'static str],
        not_affected: &'static [&'static str],
    }

    const LITERAL_CASES: &[LiteralCase] = &[
        LiteralCase {
            what: "adjacent intervals [1.0, 2.0) and [2.0, 3.0)",
            kind: RangeKind::Ecosystem,
            scheme: Scheme::Generic,
            events: &[
                (Introduced, "1.0"),
                (Fixed, "2.0"),
                (Introduced, "2.0"),
                (Fixed, "3.0"),
            ],
            affected: &["1.0", "1.5", "2.0", "2.5", "2.9"],
            not_affected: &["0.9", "3.0", "3.1"],
        },
        LiteralCase {
            what: "adjacent intervals, introduced listed before the fix at 2.0",
            kind: RangeKind::Ecosystem,
            scheme: Scheme::Generic,
            events: &[
                (Introduced, "1.0"),
                (Introduced, "2.0"),
                (Fixed, "2.0"),
                (Fixed, "3.0"),
            ],
            affected: &["1.0", "1.5", "2.0", "2.5"],
            not_affected: &["0.9", "3.0"],
        },
        LiteralCase {
            what: "adjacent intervals, unsorted",
            kind: RangeKind::Ecosystem,
            scheme: Scheme::Generic,
            events: &[
                (Fixed, "3.0"),
                (Introduced, "2.0"),
                (Fixed, "2.0"),
                (Introduced, "1.0"),
            ],
            affected: &["1.0", "2.0", "2.5"],
            not_affected: &["0.9", "3.0", "4.0"],
        },
        LiteralCase {
            what: "introduced and fixed at one version: an empty interval",
            kind: RangeKind::Ecosystem,
            scheme: Scheme::Generic,
            events: &[(Fixed, "2.0"), (Introduced, "2.0")],
            affected: &[],
            not_affected: &["1.0", "2.0", "2.5"],
        },
        LiteralCase {
            what: "an empty interval after a real one",
            kind: RangeKind::Ecosystem,
            scheme: Scheme::Generic,
            events: &[
                (Introduced, "1.0"),
                (Fixed, "1.5"),
                (Introduced, "2.0"),
                (Fixed, "2.0"),
            ],
            affected: &["1.0", "1.4"],
            not_affected: &["1.5", "1.9", "2.0", "2.1"],
        },
        LiteralCase {
            what: "last_affected 2.0 then introduced 2.0: [1.0, 2.0] and [2.0, 3.0)",
            kind: RangeKind::Ecosystem,
            scheme: Scheme::Generic,
            events: &[
                (Introduced, "1.0"),
                (LastAffected, "2.0"),
                (Introduced, "2.0"),
                (Fixed, "3.0"),
            ],
            affected: &["1.0", "2.0", "2.5"],
            not_affected: &["0.9", "3.0"],
        },
        LiteralCase {
            what: "last_affected and introduced at one version, unsorted",
            kind: RangeKind::Ecosystem,
            scheme: Scheme::Generic,
            events: &[
                (Fixed, "3.0"),
                (Introduced, "2.0"),
                (LastAffected, "2.0"),
                (Introduced, "0"),
            ],
            affected: &["0.1", "1.0", "2.0", "2.5"],
            not_affected: &["3.0"],
        },
        LiteralCase {
            what: "introduced and last_affected at one version: that version alone",
            kind: RangeKind::Ecosystem,
            scheme: Scheme::Generic,
            events: &[(LastAffected, "2.0"), (Introduced, "2.0")],
            affected: &["2.0"],
            not_affected: &["1.9", "2.0.1", "2.1"],
        },
        LiteralCase {
            what: "adjacent intervals under a limit",
            kind: RangeKind::Ecosystem,
            scheme: Scheme::Generic,
            events: &[
                (Limit, "2.5"),
                (Introduced, "2.0"),
                (Fixed, "2.0"),
                (Introduced, "1.0"),
            ],
            affected: &["1.0", "2.0", "2.4"],
            not_affected: &["0.9", "2.5", "3.0"],
        },
        LiteralCase {
            what: "a limit at the introduced version leaves nothing",
            kind: RangeKind::Ecosystem,
            scheme: Scheme::Generic,
            events: &[(Introduced, "2.0"), (Limit, "2.0")],
            affected: &[],
            not_affected: &["1.0", "2.0", "3.0"],
        },
        LiteralCase {
            what: "Bitnami apache, CVE-2021-42013 (2.4.50 was the incomplete fix)",
            kind: RangeKind::Semver,
            scheme: Scheme::Semver,
            events: &[
                (Introduced, "2.4.49"),
                (Fixed, "2.4.50"),
                (Introduced, "2.4.50"),
                (Fixed, "2.4.51"),
            ],
            affected: &["2.4.49", "2.4.50"],
            not_affected: &["2.4.48", "2.4.51"],
        },
    ];

    #[test]
    fn literal_cases_follow_the_osv_interval_semantics() {
        let mut wrong = Vec::new();
        for case in LITERAL_CASES {
            let compiled = CompiledRange::compile(
                case.kind,
                case.scheme,
                case.events.iter().map(|(k, v)| RawEvent::new(*k, *v)),
            )
            .unwrap();
            let expectations = case
                .affected
                .iter()
                .map(|v| (v, true))
                .chain(case.not_affected.iter().map(|v| (v, false)));
            for (version, expected) in expectations {
                let got = compiled.evaluate_str(version).unwrap().is_affected();
                if got != expected {
                    wrong.push(format!(
                        "{}: {version} affected={got}, expected {expected}",
                        case.what
                    ));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
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

    /// osv.dev's evaluation (the schema's `IncludedInRanges` pseudocode as `_is_affected` in
    /// its API server runs it): the events stably sorted by version, so events at one
    /// version keep the record's order; walked without early exit; `limit`s first. Right for
    /// records that list a version's events in timeline order, which the generated timelines
    /// below do.
    fn osv_dev_walk(events: &[RawEvent], scheme: Scheme, probe: &str) -> bool {
        let parse = |text: &str| scheme.parse(text).unwrap();
        let v = parse(probe);
        let limits: Vec<&RawEvent> = events.iter().filter(|e| e.kind == Limit).collect();
        let below_limits = limits.is_empty()
            || limits
                .iter()
                .any(|limit| limit.version.contains('*') || v < parse(&limit.version));
        if !below_limits {
            return false;
        }
        let mut sorted: Vec<&RawEvent> = events
            .iter()
            .filter(|e| e.kind != Limit && !(e.kind == Introduced && e.version == "0"))
            .collect();
        sorted.sort_by_key(|event| parse(&event.version));
        let zero = events
            .iter()
            .filter(|e| e.kind == Introduced && e.version == "0");
        let mut vulnerable = false;
        for event in zero.chain(sorted) {
            let at = || parse(&event.version);
            match event.kind {
                Introduced if event.version == "0" || v >= at() => vulnerable = true,
                Fixed if v >= at() => vulnerable = false,
                LastAffected if v > at() => vulnerable = false,
                _ => {}
            }
        }
        vulnerable
    }

    /// How a generated interval ends.
    #[derive(Debug, Clone, Copy)]
    enum End {
        /// `fixed`: excluded.
        Fixed,
        /// `last_affected`: included.
        LastAffected,
        /// Nothing closes it (the last interval only).
        Open,
    }

    /// An affected set written as intervals first, on versions `1.x`: the meaning a range is
    /// generated from, so the expected answers never come from reading events.
    #[derive(Debug, Clone)]
    struct Timeline {
        /// (start, end version, how it ends); `None` start: `introduced "0"`. Starts
        /// ascend; each starts at or after the previous end, so adjacent (`fixed X` then
        /// `introduced X`), touching (`last_affected X` then `introduced X`), empty
        /// (`introduced X` + `fixed X`) and single-version intervals all occur.
        intervals: Vec<(Option<u32>, u32, End)>,
        /// `limit` versions: only versions below the highest are affected.
        limits: Vec<u32>,
    }

    impl Timeline {
        fn contains(&self, probe: (u32, bool)) -> bool {
            // `(x, true)` is `1.x.5`, between `1.x` and `1.(x+1)`.
            let below = |bound: u32| probe.0 < bound;
            let at_or_above = |start: u32| probe.0 >= start;
            let limited = !self.limits.is_empty() && !self.limits.iter().any(|&l| below(l));
            !limited
                && self.intervals.iter().any(|&(start, end, how)| {
                    start.is_none_or(at_or_above)
                        && match how {
                            End::Fixed => below(end),
                            End::LastAffected => below(end) || (probe.0 == end && !probe.1),
                            End::Open => true,
                        }
                })
        }

        fn has_empty_interval(&self) -> bool {
            self.intervals
                .iter()
                .any(|&(start, end, how)| start == Some(end) && matches!(how, End::Fixed))
        }

        /// The events in timeline order: what a careful record writes.
        fn events(&self) -> Vec<RawEvent> {
            let mut events = Vec::new();
            for &(start, end, how) in &self.intervals {
                let start = start.map_or_else(|| "0".to_string(), |x| format!("1.{x}"));
                events.push(RawEvent::new(Introduced, start));
                match how {
                    End::Fixed => events.push(RawEvent::new(Fixed, format!("1.{end}"))),
                    End::LastAffected => {
                        events.push(RawEvent::new(LastAffected, format!("1.{end}")))
                    }
                    End::Open => {}
                }
            }
            events.extend(
                self.limits
                    .iter()
                    .map(|l| RawEvent::new(Limit, format!("1.{l}"))),
            );
            events
        }
    }

    fn timeline() -> impl Strategy<Value = Timeline> {
        let end = prop_oneof![Just(End::Fixed), Just(End::LastAffected)];
        (
            any::<bool>(),
            proptest::collection::vec((0u32..3, 0u32..3, end), 1..5),
            any::<bool>(),
            proptest::collection::vec(0u32..14, 0..2),
        )
            .prop_map(|(from_zero, steps, open_end, limits)| {
                let mut cursor = 0;
                let mut intervals = Vec::new();
                for (index, (gap, length, how)) in steps.iter().enumerate() {
                    let start = cursor + gap;
                    cursor = start + length;
                    let start = (index > 0 || !from_zero).then_some(start);
                    intervals.push((start, cursor, *how));
                }
                if open_end {
                    if let Some(last) = intervals.last_mut() {
                        last.2 = End::Open;
                    }
                }
                Timeline { intervals, limits }
            })
    }

    fn probes() -> impl Iterator<Item = ((u32, bool), String)> {
        (0..16).flat_map(|x| {
            [
                ((x, false), format!("1.{x}")),
                ((x, true), format!("1.{x}.5")),
            ]
        })
    }

    proptest! {
        /// The evaluator recovers the intervals a range was written from, whatever the order
        /// of its events; and osv.dev's walk agrees on the events in timeline order.
        #[test]
        fn recovers_the_intervals_a_range_was_written_from(
            (timeline, shuffled) in timeline().prop_flat_map(|timeline| {
                let events = timeline.events();
                (Just(timeline), Just(events).prop_shuffle())
            }),
        ) {
            let compiled = CompiledRange::compile(RangeKind::Ecosystem, Scheme::Generic, shuffled.clone()).unwrap();
            let in_order = timeline.events();
            for (probe, text) in probes() {
                let expected = timeline.contains(probe);
                prop_assert_eq!(
                    compiled.evaluate_str(&text).unwrap().is_affected(),
                    expected,
                    "{:?} as {:?} at {}", timeline, shuffled, text
                );
                // The walk lets the last event at a version decide it, so an empty interval
                // there (`introduced X` + `fixed X`) hides an earlier `last_affected X`.
                if !timeline.has_empty_interval() {
                    prop_assert_eq!(
                        osv_dev_walk(&in_order, Scheme::Generic, &text),
                        expected,
                        "osv.dev walk of {:?} at {}", in_order, text
                    );
                }
            }
        }

        /// Any list of events, however ill-formed, means the same in every order.
        #[test]
        fn the_order_of_events_does_not_matter(
            (events, shuffled) in proptest::collection::vec((event_kind(), 0u32..12), 0..8)
                .prop_flat_map(|events| (Just(events.clone()), Just(events).prop_shuffle())),
            introduced_zero in any::<bool>(),
        ) {
            let raw = |list: &[(EventKind, u32)]| {
                let mut raw: Vec<RawEvent> =
                    list.iter().map(|(k, x)| RawEvent::new(*k, format!("1.{x}"))).collect();
                if introduced_zero {
                    raw.push(RawEvent::new(Introduced, "0"));
                }
                raw
            };
            let one = CompiledRange::compile(RangeKind::Ecosystem, Scheme::Generic, raw(&events)).unwrap();
            let other = CompiledRange::compile(RangeKind::Ecosystem, Scheme::Generic, raw(&shuffled)).unwrap();
            for (_, text) in probes() {
                prop_assert_eq!(
                    one.evaluate_str(&text).unwrap().is_affected(),
                    other.evaluate_str(&text).unwrap().is_affected(),
                    "{:?} vs {:?} at {}", events, shuffled, text
                );
            }
        }
    }

    fn event_kind() -> impl Strategy<Value = EventKind> {
        prop_oneof![
            Just(Introduced),
            Just(Fixed),
            Just(LastAffected),
            Just(Limit)
        ]
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
                // The record's own order of events at one version is its timeline (real
                // feeds write adjacent intervals as `fixed X`, `introduced X`), so osv.dev's
                // walk of it is an outside judge at every version where a verdict can change.
                for event in events
                    .iter()
                    .filter(|e| e.kind != Limit && e.version != "0")
                {
                    assert_eq!(
                        compiled.evaluate_str(&event.version).unwrap().is_affected(),
                        osv_dev_walk(&events, scheme, &event.version),
                        "{raw} at {}",
                        event.version
                    );
                    checked += 1;
                }
            }
        }
        eprintln!(
            "real OSV: {ranges} ranges compiled ({git} GIT), {checked} event boundaries checked"
        );
        assert!(ranges > 1000, "only {ranges} ranges found");
    }
}
