//! Version range specifiers: `vers:<type>/<constraint>|<constraint>…` (package-url/vers-spec).
//!
//! A [`VersRange`] holds the constraints as written (decoded). Checking canonical form,
//! sorting, simplifying and containment need the type's version order, supplied as a
//! [`Scheme`] (see [`scheme_for_vers_type`]). Conversion to and from OSV events is how a vers
//! range becomes the crate's one internal range model ([`crate::range`]).

use std::cmp::Ordering;
use std::fmt::{self, Write as _};
use std::str::FromStr;

use crate::range::{CompiledRange, EventKind, RangeKind, RawEvent};
use crate::{Scheme, Version, VersionError};

/// A vers comparator. `=` is written as a bare version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparator {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

impl Comparator {
    /// The comparator as written in a canonical vers (empty for `=`).
    pub fn as_str(self) -> &'static str {
        match self {
            Comparator::Equal => "",
            Comparator::NotEqual => "!=",
            Comparator::Less => "<",
            Comparator::LessOrEqual => "<=",
            Comparator::Greater => ">",
            Comparator::GreaterOrEqual => ">=",
        }
    }

    fn is_lower_bound(self) -> bool {
        matches!(self, Comparator::Greater | Comparator::GreaterOrEqual)
    }

    fn is_upper_bound(self) -> bool {
        matches!(self, Comparator::Less | Comparator::LessOrEqual)
    }

    /// Splits a leading comparator off a constraint; no comparator means `=`.
    fn split(constraint: &str) -> (Comparator, &str) {
        for (prefix, comparator) in [
            (">=", Comparator::GreaterOrEqual),
            ("<=", Comparator::LessOrEqual),
            ("!=", Comparator::NotEqual),
            ("<", Comparator::Less),
            (">", Comparator::Greater),
        ] {
            if let Some(rest) = constraint.strip_prefix(prefix) {
                return (comparator, rest);
            }
        }
        (Comparator::Equal, constraint)
    }
}

/// One constraint: comparator and (decoded) version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Constraint {
    pub comparator: Comparator,
    pub version: String,
}

impl Constraint {
    pub fn new(comparator: Comparator, version: impl Into<String>) -> Self {
        Self {
            comparator,
            version: version.into(),
        }
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.comparator.as_str())?;
        for c in self.version.chars() {
            if MUST_ENCODE.contains(c) {
                write!(f, "%{:02X}", c as u32)?;
            } else {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

/// Characters that would be read as syntax inside a version, so are always encoded.
const MUST_ENCODE: &str = "><=!*|%";

/// A parsed `vers:` range.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VersRange {
    vers_type: String,
    /// Empty means `*`: every version.
    constraints: Vec<Constraint>,
}

fn vers_error(input: &str, reason: impl Into<String>) -> VersionError {
    VersionError::new("vers", input, reason)
}

/// The version order for a vers type, if this crate implements it.
pub fn scheme_for_vers_type(vers_type: &str) -> Option<Scheme> {
    Some(match vers_type {
        "generic" => Scheme::Generic,
        "semver" | "cargo" | "hex" | "swift" => Scheme::Semver,
        "npm" => Scheme::Npm,
        "golang" => Scheme::Go,
        "pub" | "dart" => Scheme::Pub,
        "pypi" => Scheme::Pep440,
        "maven" => Scheme::Maven,
        "nuget" => Scheme::NuGet,
        "gem" => Scheme::RubyGems,
        "composer" => Scheme::Composer,
        "deb" => Scheme::Dpkg,
        "rpm" => Scheme::Rpm,
        "apk" | "alpine" => Scheme::Apk,
        "cran" => Scheme::Cran,
        "hackage" => Scheme::Hackage,
        _ => return None,
    })
}

impl VersRange {
    /// The range containing every version (`vers:<type>/*`).
    pub fn any(vers_type: impl Into<String>) -> Self {
        Self {
            vers_type: vers_type.into(),
            constraints: Vec::new(),
        }
    }

    /// A range from constraints, in the order given (see [`VersRange::normalized`]).
    pub fn new(vers_type: impl Into<String>, constraints: Vec<Constraint>) -> Self {
        Self {
            vers_type: vers_type.into(),
            constraints,
        }
    }

    /// Parses a canonical vers and validates it against its type's version order: sorted,
    /// unique versions and a valid comparator sequence. Non-canonical input is an error, as
    /// the spec requires; use [`VersRange::parse_syntax`] + [`VersRange::normalized`] to
    /// repair it instead.
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        let range = Self::parse_syntax(input)?;
        let scheme = scheme_for_vers_type(&range.vers_type).ok_or_else(|| {
            vers_error(
                input,
                format!("unsupported vers type {:?}", range.vers_type),
            )
        })?;
        range
            .validate(scheme)
            .map_err(|reason| vers_error(input, reason))?;
        Ok(range)
    }

    /// Parses the notation only: scheme, type, pipes, comparators and percent-encoding.
    /// Constraint order and uniqueness are not checked.
    pub fn parse_syntax(input: &str) -> Result<Self, VersionError> {
        let err = |reason: &str| vers_error(input, reason);
        if input.chars().any(|c| c.is_ascii_whitespace()) {
            return Err(err("whitespace is not allowed"));
        }
        if !input.is_ascii() || input.bytes().any(|b| b.is_ascii_control()) {
            return Err(err("only printable ASCII is allowed"));
        }
        let (scheme, specifier) = input
            .split_once(':')
            .ok_or_else(|| err("missing `vers:`"))?;
        if scheme != "vers" {
            return Err(err("scheme must be lowercase `vers`"));
        }
        let (vers_type, constraints) = specifier
            .split_once('/')
            .ok_or_else(|| err("missing `/` after the type"))?;
        if vers_type.is_empty()
            || !vers_type.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+')
            })
        {
            return Err(err("type must be non-empty lowercase"));
        }
        if constraints.is_empty() {
            return Err(err("no constraints"));
        }
        if constraints == "*" {
            return Ok(Self::any(vers_type));
        }
        if constraints.starts_with('|') || constraints.ends_with('|') {
            return Err(err("leading or trailing `|`"));
        }
        let mut parsed = Vec::new();
        for raw in constraints.split('|') {
            if raw.is_empty() {
                return Err(err("consecutive `|`"));
            }
            let (comparator, encoded) = Comparator::split(raw);
            if encoded.is_empty() {
                return Err(err("constraint without a version"));
            }
            if encoded.chars().any(|c| "><=!*|".contains(c)) {
                return Err(err("unencoded comparator character in a version"));
            }
            parsed.push(Constraint::new(comparator, decode_version(encoded, input)?));
        }
        Ok(Self::new(vers_type, parsed))
    }

    pub fn vers_type(&self) -> &str {
        &self.vers_type
    }

    /// The constraints; empty for `*`.
    pub fn constraints(&self) -> &[Constraint] {
        &self.constraints
    }

    pub fn is_any(&self) -> bool {
        self.constraints.is_empty()
    }

    fn parse_versions(&self, scheme: Scheme) -> Result<Vec<Version>, VersionError> {
        self.constraints
            .iter()
            .map(|c| scheme.parse(&c.version))
            .collect()
    }

    /// Checks the canonical-form rules: versions strictly ascending (hence unique), `=` only
    /// before `=`, `>`, `>=`, and bounds alternating once `=`/`!=` are set aside.
    ///
    /// Versions are parsed only to be ordered: a single constraint is not checked against
    /// the scheme (the spec treats versions as opaque until compared).
    pub fn validate(&self, scheme: Scheme) -> Result<(), String> {
        let versions = if self.constraints.len() < 2 {
            Vec::new()
        } else {
            self.parse_versions(scheme).map_err(|e| e.to_string())?
        };
        for pair in versions.windows(2) {
            match pair[0].cmp(&pair[1]) {
                Ordering::Less => {}
                Ordering::Equal => return Err(format!("duplicate version {}", pair[1])),
                Ordering::Greater => {
                    return Err(format!(
                        "constraints not sorted: {} after {}",
                        pair[1], pair[0]
                    ))
                }
            }
        }
        let without_unequal: Vec<Comparator> = self
            .constraints
            .iter()
            .map(|c| c.comparator)
            .filter(|c| *c != Comparator::NotEqual)
            .collect();
        for pair in without_unequal.windows(2) {
            if pair[0] == Comparator::Equal && pair[1].is_upper_bound() {
                return Err("`=` followed by an upper bound".into());
            }
        }
        let bounds: Vec<Comparator> = without_unequal
            .into_iter()
            .filter(|c| *c != Comparator::Equal)
            .collect();
        for pair in bounds.windows(2) {
            if pair[0].is_lower_bound() == pair[1].is_lower_bound() {
                return Err(format!(
                    "`{}` followed by `{}`: bounds must alternate",
                    pair[0].as_str(),
                    pair[1].as_str()
                ));
            }
        }
        Ok(())
    }

    /// The same constraints stably sorted by version (duplicates kept: removing them is
    /// [`VersRange::simplified`]'s job).
    pub fn normalized(&self, scheme: Scheme) -> Result<VersRange, VersionError> {
        let versions = self.parse_versions(scheme)?;
        let mut order: Vec<usize> = (0..self.constraints.len()).collect();
        order.sort_by(|&a, &b| versions[a].cmp(&versions[b]));
        Ok(VersRange::new(
            self.vers_type.clone(),
            order
                .into_iter()
                .map(|i| self.constraints[i].clone())
                .collect(),
        ))
    }

    /// Sorts, removes duplicate versions (keeping the first constraint per version) and drops
    /// redundant bounds per the spec's simplification procedure.
    pub fn simplified(&self, scheme: Scheme) -> Result<VersRange, VersionError> {
        let sorted = self.normalized(scheme)?;
        let versions = sorted.parse_versions(scheme)?;
        let mut unique: Vec<(Constraint, Version)> = Vec::new();
        for (constraint, version) in sorted.constraints.into_iter().zip(versions) {
            if unique.last().is_none_or(|(_, last)| *last != version) {
                unique.push((constraint, version));
            }
        }
        if unique.len() <= 1 {
            return Ok(VersRange::new(
                self.vers_type.clone(),
                unique.into_iter().map(|(c, _)| c).collect(),
            ));
        }
        let (unequal, rest): (Vec<_>, Vec<_>) = unique
            .into_iter()
            .partition(|(c, _)| c.comparator == Comparator::NotEqual);
        let mut kept: Vec<(Constraint, Version)> = Vec::new();
        for item in rest {
            let current = item.0.comparator;
            // Lower bound followed by `=`, `>` or `>=`: the later one adds nothing.
            if kept
                .last()
                .is_some_and(|(prev, _)| prev.comparator.is_lower_bound())
                && (current == Comparator::Equal || current.is_lower_bound())
            {
                continue;
            }
            // `=`, `<`, `<=` followed by an upper bound: the earlier ones are covered.
            if current.is_upper_bound() {
                while kept.last().is_some_and(|(prev, _)| {
                    prev.comparator == Comparator::Equal || prev.comparator.is_upper_bound()
                }) {
                    kept.pop();
                }
            }
            kept.push(item);
        }
        kept.extend(unequal);
        kept.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(VersRange::new(
            self.vers_type.clone(),
            kept.into_iter().map(|(c, _)| c).collect(),
        ))
    }

    /// Compiles for repeated containment checks. The range must be canonical (sorted and
    /// unique) for the spec's containment procedure to be meaningful.
    pub fn compile(&self, scheme: Scheme) -> Result<CompiledVers, VersionError> {
        let canonical = self.normalized(scheme)?;
        canonical
            .validate(scheme)
            .map_err(|reason| vers_error(&self.to_string(), reason))?;
        let versions = canonical.parse_versions(scheme)?;
        Ok(CompiledVers {
            scheme,
            constraints: canonical.constraints.into_iter().zip(versions).collect(),
        })
    }

    /// Converts to OSV events plus explicit versions: `>=` → introduced, `<` → fixed,
    /// `<=` → last_affected, `=` → listed version. `>` and `!=` have no OSV equivalent.
    pub fn to_osv(&self, scheme: Scheme) -> Result<(Vec<RawEvent>, Vec<String>), VersionError> {
        if self.is_any() {
            return Ok((vec![RawEvent::new(EventKind::Introduced, "0")], Vec::new()));
        }
        let canonical = self.normalized(scheme)?;
        canonical
            .validate(scheme)
            .map_err(|reason| vers_error(&self.to_string(), reason))?;
        let mut events = Vec::new();
        let mut versions = Vec::new();
        let mut open = false;
        for constraint in &canonical.constraints {
            let version = constraint.version.clone();
            match constraint.comparator {
                Comparator::Equal => versions.push(version),
                Comparator::GreaterOrEqual => {
                    events.push(RawEvent::new(EventKind::Introduced, version));
                    open = true;
                }
                Comparator::Less | Comparator::LessOrEqual => {
                    // A leading upper bound means "everything below".
                    if !open {
                        events.push(RawEvent::new(EventKind::Introduced, "0"));
                    }
                    let kind = if constraint.comparator == Comparator::Less {
                        EventKind::Fixed
                    } else {
                        EventKind::LastAffected
                    };
                    events.push(RawEvent::new(kind, version));
                    open = false;
                }
                Comparator::Greater | Comparator::NotEqual => {
                    return Err(vers_error(
                        &self.to_string(),
                        format!(
                            "`{}` has no OSV event equivalent",
                            constraint.comparator.as_str()
                        ),
                    ))
                }
            }
        }
        Ok((events, versions))
    }

    /// Builds a canonical vers from one OSV range's events plus listed versions: the
    /// intervals the OSV evaluator reads off the events ([`CompiledRange::intervals`]),
    /// merged where they meet, so adjacent, overlapping or empty OSV intervals come out as
    /// the set they describe. `limit` events
    /// have no vers equivalent, and a range that affects nothing cannot be written as a
    /// `vers:` of its type; both are errors.
    pub fn from_osv(
        vers_type: &str,
        scheme: Scheme,
        events: &[RawEvent],
        listed_versions: &[String],
    ) -> Result<VersRange, VersionError> {
        if let Some(limit) = events.iter().find(|e| e.kind == EventKind::Limit) {
            return Err(vers_error(
                &limit.version,
                "`limit` events have no vers equivalent",
            ));
        }
        // The range's own intervals (the OSV evaluator's reading), merged where they meet
        // (`fixed X` + `introduced X`) or touch (`last_affected X` + `introduced X`), empty
        // ones dropped: a bound at each change of verdict.
        let range = CompiledRange::compile(RangeKind::Ecosystem, scheme, events.iter().cloned())?;
        // (start, end, end included); `None` start is `introduced: "0"`, `None` end open.
        type Bound<'t> = Option<(Version, &'t str)>;
        let mut merged: Vec<(Bound<'_>, Bound<'_>, bool)> = Vec::new();
        for interval in range.intervals() {
            let read = |text: &str| scheme.parse(text);
            let start = match interval.start.version {
                "0" => None,
                text => Some((read(text)?, text)),
            };
            let end = match interval.end {
                Some(end) => Some((read(end.version)?, end.version)),
                None => None,
            };
            let included = interval
                .end
                .is_some_and(|e| e.kind == EventKind::LastAffected);
            let empty =
                matches!((&start, &end), (Some((s, _)), Some((e, _))) if s == e && !included);
            if empty {
                continue;
            }
            let meets_previous = match (merged.last(), &start) {
                (Some((_, Some((previous_end, _)), _)), Some((s, _))) => previous_end == s,
                _ => false,
            };
            match merged.last_mut() {
                Some(previous) if meets_previous => {
                    previous.1 = end;
                    previous.2 = included;
                }
                _ => merged.push((start, end, included)),
            }
        }
        if matches!(merged.as_slice(), [(None, None, _)]) {
            // Every version is affected; listed versions add nothing.
            return Ok(VersRange::any(vers_type));
        }
        let mut constraints: Vec<Constraint> = Vec::new();
        for (start, end, included) in &merged {
            match (start, end) {
                (Some((s, text)), Some((e, _))) if s == e => {
                    // Introduced and last affected at one version: just that version.
                    constraints.push(Constraint::new(Comparator::Equal, *text));
                    continue;
                }
                (Some((_, text)), _) => {
                    constraints.push(Constraint::new(Comparator::GreaterOrEqual, *text))
                }
                (None, _) => {}
            }
            if let Some((_, text)) = end {
                let comparator = if *included {
                    Comparator::LessOrEqual
                } else {
                    Comparator::Less
                };
                constraints.push(Constraint::new(comparator, *text));
            }
        }
        let ranges = VersRange::new(vers_type, constraints);
        // Listed versions join as `=`, except where the ranges already hold them or where
        // one sits exactly on an exclusive upper bound (`<v` becomes `<=v`), so the result
        // stays canonical.
        let compiled_ranges = if ranges.constraints.is_empty() {
            None
        } else {
            Some(ranges.compile(scheme)?)
        };
        let mut constraints = ranges.constraints.clone();
        let mut added: Vec<Version> = Vec::new();
        for text in listed_versions {
            let version = scheme.parse(text)?;
            let held = compiled_ranges
                .as_ref()
                .is_some_and(|c| c.contains(&version).contained);
            if held || added.contains(&version) {
                continue;
            }
            let on_upper_bound = constraints.iter_mut().find(|c| {
                c.comparator == Comparator::Less
                    && scheme.parse(&c.version).ok().as_ref() == Some(&version)
            });
            match on_upper_bound {
                Some(bound) => bound.comparator = Comparator::LessOrEqual,
                None => constraints.push(Constraint::new(Comparator::Equal, text.clone())),
            }
            added.push(version);
        }
        if constraints.is_empty() {
            return Err(vers_error(vers_type, "the OSV range affects no version"));
        }
        VersRange::new(vers_type, constraints).normalized(scheme)
    }
}

impl FromStr for VersRange {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        VersRange::parse(s)
    }
}

impl fmt::Display for VersRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "vers:{}/", self.vers_type)?;
        if self.constraints.is_empty() {
            return f.write_char('*');
        }
        for (index, constraint) in self.constraints.iter().enumerate() {
            if index > 0 {
                f.write_char('|')?;
            }
            write!(f, "{constraint}")?;
        }
        Ok(())
    }
}

/// Decodes a version's `%XX` triplets exactly once. Only the characters that must be
/// encoded may be, with upper-case hex: anything else is non-canonical.
fn decode_version(encoded: &str, input: &str) -> Result<String, VersionError> {
    let mut out = String::with_capacity(encoded.len());
    let mut rest = encoded;
    while let Some(percent) = rest.find('%') {
        out.push_str(&rest[..percent]);
        let hex = rest
            .get(percent + 1..percent + 3)
            .filter(|h| {
                h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
            })
            .ok_or_else(|| vers_error(input, "invalid or non-canonical percent-encoding"))?;
        let decoded = u8::from_str_radix(hex, 16)
            .map_err(|_| vers_error(input, "invalid percent-encoding"))?
            as char;
        if !MUST_ENCODE.contains(decoded) {
            return Err(vers_error(
                input,
                format!("non-canonical percent-encoding of {decoded:?}"),
            ));
        }
        out.push(decoded);
        rest = &rest[percent + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A canonical vers range with versions parsed, for allocation-free containment checks.
#[derive(Debug, Clone)]
pub struct CompiledVers {
    scheme: Scheme,
    /// Sorted by version; empty means `*`.
    constraints: Vec<(Constraint, Version)>,
}

/// The answer to "is this version in the range", with the constraint(s) that decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Containment<'a> {
    pub contained: bool,
    /// The constraint that decided; `None` for `*` or when no interval holds the version.
    pub decided_by: Option<&'a Constraint>,
    /// For a version inside an interval, the constraint closing it from above.
    pub bounded_by: Option<&'a Constraint>,
}

impl CompiledVers {
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The spec's containment check: equalities first, then intervals between alternating
    /// lower and upper bounds.
    pub fn contains(&self, version: &Version) -> Containment<'_> {
        let verdict = |contained, decided_by, bounded_by| Containment {
            contained,
            decided_by,
            bounded_by,
        };
        if self.constraints.is_empty() {
            return verdict(true, None, None);
        }
        for (constraint, at) in &self.constraints {
            if at == version {
                let contained = !matches!(
                    constraint.comparator,
                    Comparator::NotEqual | Comparator::Less | Comparator::Greater
                );
                if contained || constraint.comparator == Comparator::NotEqual {
                    return verdict(contained, Some(constraint), None);
                }
            }
        }
        let bounds = || {
            self.constraints
                .iter()
                .filter(|(c, _)| !matches!(c.comparator, Comparator::Equal | Comparator::NotEqual))
        };
        let first = bounds().next();
        if let Some((constraint, at)) = first {
            if constraint.comparator.is_upper_bound() && version < at {
                return verdict(true, Some(constraint), None);
            }
        }
        if let Some((constraint, at)) = bounds().next_back() {
            if constraint.comparator.is_lower_bound() && version > at {
                return verdict(true, Some(constraint), None);
            }
        }
        let mut previous: Option<&(Constraint, Version)> = None;
        for current in bounds() {
            if let Some((lower, lower_at)) = previous {
                if lower.comparator.is_lower_bound()
                    && current.0.comparator.is_upper_bound()
                    && version > lower_at
                    && version < &current.1
                {
                    return verdict(true, Some(lower), Some(&current.0));
                }
            }
            previous = Some(current);
        }
        verdict(false, None, None)
    }

    /// Parses `version` with the range's scheme, then checks containment.
    pub fn contains_str(&self, version: &str) -> Result<Containment<'_>, VersionError> {
        Ok(self.contains(&self.scheme.parse(version)?))
    }
}

/// Converts an ecosystem's own range notation to vers: npm (node-semver), pypi (PEP 440
/// specifiers), gem (RubyGems requirements), nuget and maven (interval notation). The
/// constraints are sorted by `scheme` but not simplified, so the result says exactly what
/// the native range said.
pub fn from_native(
    vers_type: &str,
    native: &str,
    scheme: Scheme,
) -> Result<VersRange, VersionError> {
    let constraints = match vers_type {
        "npm" => native::npm(native)?,
        "pypi" => native::pypi(native)?,
        "gem" => native::gem(native)?,
        "nuget" | "maven" => native::interval(native)?,
        other => {
            return Err(vers_error(
                native,
                format!("no native range conversion for {other}"),
            ))
        }
    };
    match constraints {
        None => Ok(VersRange::any(vers_type)),
        Some(list) => VersRange::new(vers_type, list).normalized(scheme),
    }
}

mod native {
    //! Native range grammars. Each returns `None` for "any version".

    use super::{vers_error, Comparator, Constraint};
    use crate::VersionError;

    type Parsed = Result<Option<Vec<Constraint>>, VersionError>;

    /// Numeric release segments and the rest (`1.2.3-beta.1` → [1,2,3], "-beta.1").
    fn split_release(version: &str) -> (Vec<&str>, &str) {
        let end = version.find(['-', '+']).unwrap_or(version.len());
        let (core, suffix) = version.split_at(end);
        (core.split('.').collect(), suffix)
    }

    fn number(segment: &str, native: &str) -> Result<u64, VersionError> {
        segment
            .parse()
            .map_err(|_| vers_error(native, format!("expected a number, found {segment:?}")))
    }

    fn is_wildcard(segment: &str) -> bool {
        matches!(segment, "x" | "X" | "*")
    }

    /// Pads `1.2` to `1.2.0`, keeping any pre-release or build suffix.
    fn padded(version: &str) -> String {
        let (core, suffix) = split_release(version);
        let mut segments: Vec<&str> = core;
        while segments.len() < 3 {
            segments.push("0");
        }
        format!("{}{suffix}", segments.join("."))
    }

    fn push(out: &mut Vec<Constraint>, comparator: Comparator, version: impl Into<String>) {
        out.push(Constraint::new(comparator, version));
    }

    /// node-semver ranges: `||` alternatives of space-separated comparators, with `~`, `^`,
    /// x-ranges and hyphen ranges expanded to bounds.
    pub(super) fn npm(native: &str) -> Parsed {
        let mut out = Vec::new();
        for alternative in native.split("||") {
            let tokens = npm_tokens(alternative);
            if tokens.is_empty() || tokens.iter().any(|t| t == "*" || t == "x" || t == "X") {
                return Ok(None);
            }
            let mut index = 0;
            while index < tokens.len() {
                if tokens.get(index + 1).is_some_and(|t| t == "-") {
                    let upper = tokens
                        .get(index + 2)
                        .ok_or_else(|| vers_error(native, "hyphen range without upper bound"))?;
                    push(
                        &mut out,
                        Comparator::GreaterOrEqual,
                        padded(npm_version(&tokens[index])),
                    );
                    push(
                        &mut out,
                        Comparator::LessOrEqual,
                        padded(npm_version(upper)),
                    );
                    index += 3;
                    continue;
                }
                npm_comparator(&tokens[index], native, &mut out)?;
                index += 1;
            }
        }
        Ok(Some(out))
    }

    /// Splits on whitespace, re-attaching operators written apart from their version
    /// (`>= 1.0`).
    fn npm_tokens(alternative: &str) -> Vec<String> {
        let mut tokens: Vec<String> = Vec::new();
        let mut pending_operator = String::new();
        for word in alternative.split_whitespace() {
            if word != "-" && word.chars().all(|c| "<>=~^".contains(c)) {
                pending_operator.push_str(word);
            } else {
                tokens.push(format!("{pending_operator}{word}"));
                pending_operator.clear();
            }
        }
        tokens
    }

    fn npm_version(text: &str) -> &str {
        text.trim_start_matches('=').trim_start_matches('v')
    }

    fn npm_comparator(
        token: &str,
        native: &str,
        out: &mut Vec<Constraint>,
    ) -> Result<(), VersionError> {
        let operator_end = token
            .find(|c: char| !"<>=~^".contains(c))
            .unwrap_or(token.len());
        let (operator, version) = token.split_at(operator_end);
        let version = npm_version(version);
        if version.is_empty() {
            return Err(vers_error(native, "operator without a version"));
        }
        let (core, _) = split_release(version);
        let wildcard_at = core.iter().position(|s| is_wildcard(s));
        let given: Vec<&str> = core
            .iter()
            .take(wildcard_at.unwrap_or(core.len()))
            .copied()
            .collect();
        match operator {
            "~" | "~>" => {
                let lower = padded(version);
                let major = number(given.first().copied().unwrap_or("0"), native)?;
                let upper = match given.get(1) {
                    Some(minor) if given.len() >= 2 => {
                        format!("{major}.{}.0", number(minor, native)? + 1)
                    }
                    _ => format!("{}.0.0", major + 1),
                };
                push(
                    out,
                    Comparator::GreaterOrEqual,
                    lower.replace(['x', 'X', '*'], "0"),
                );
                push(out, Comparator::Less, upper);
            }
            "^" => {
                let lower = padded(version).replace(['x', 'X', '*'], "0");
                let parts: Vec<u64> = given
                    .iter()
                    .map(|s| number(s, native))
                    .collect::<Result<_, _>>()?;
                // The first non-zero given segment is the one that may not change.
                let pivot = parts
                    .iter()
                    .position(|p| *p != 0)
                    .unwrap_or(parts.len().saturating_sub(1));
                let mut upper: Vec<u64> = parts[..=pivot.min(parts.len() - 1)].to_vec();
                if let Some(last) = upper.last_mut() {
                    *last += 1;
                }
                while upper.len() < 3 {
                    upper.push(0);
                }
                push(out, Comparator::GreaterOrEqual, lower);
                push(
                    out,
                    Comparator::Less,
                    upper
                        .iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join("."),
                );
            }
            _ if wildcard_at.is_some() => {
                // An x-range covers its whole prefix, whatever operator precedes it. (A
                // partial version without `x` is padded instead, as the vers suite expects.)
                let parts: Vec<u64> = given
                    .iter()
                    .map(|s| number(s, native))
                    .collect::<Result<_, _>>()?;
                if parts.is_empty() {
                    push(out, Comparator::GreaterOrEqual, "0.0.0");
                    return Ok(());
                }
                let mut lower = parts.clone();
                while lower.len() < 3 {
                    lower.push(0);
                }
                let mut upper = parts.clone();
                *upper.last_mut().expect("non-empty") += 1;
                while upper.len() < 3 {
                    upper.push(0);
                }
                let join = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(".");
                push(out, Comparator::GreaterOrEqual, join(&lower));
                push(out, Comparator::Less, join(&upper));
            }
            _ => {
                let comparator = match operator {
                    "" | "=" | "==" => Comparator::Equal,
                    ">=" => Comparator::GreaterOrEqual,
                    "<=" => Comparator::LessOrEqual,
                    ">" => Comparator::Greater,
                    "<" => Comparator::Less,
                    other => return Err(vers_error(native, format!("unknown operator {other:?}"))),
                };
                push(out, comparator, padded(version));
            }
        }
        Ok(())
    }

    /// Drops the last release segment and increments the one before: the exclusive upper
    /// bound of `~=` (PEP 440) and `~>` (RubyGems). A single segment is itself incremented.
    fn pessimistic_upper(version: &str, native: &str) -> Result<String, VersionError> {
        let release: Vec<&str> = version
            .split('.')
            .take_while(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .collect();
        let keep = release.len().saturating_sub(1).max(1);
        let mut kept: Vec<u64> = release
            .iter()
            .take(keep)
            .map(|s| number(s, native))
            .collect::<Result<_, _>>()?;
        match kept.last_mut() {
            Some(last) => *last += 1,
            None => return Err(vers_error(native, "version has no numeric release")),
        }
        Ok(kept
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("."))
    }

    /// PEP 440 specifiers, comma-separated.
    pub(super) fn pypi(native: &str) -> Parsed {
        let mut out = Vec::new();
        for specifier in native.split(',') {
            let specifier: String = specifier.split_whitespace().collect();
            if specifier.is_empty() {
                continue;
            }
            let operator_end = specifier
                .find(|c: char| !"<>=!~".contains(c))
                .unwrap_or(specifier.len());
            let (operator, version) = specifier.split_at(operator_end);
            if version.is_empty() {
                return Err(vers_error(native, "specifier without a version"));
            }
            if let Some(prefix) = version.strip_suffix(".*") {
                // `==1.4.*` is the release prefix 1.4: [1.4, 1.5).
                let upper = pessimistic_upper(&format!("{prefix}.0"), native)?;
                match operator {
                    "==" => {
                        push(&mut out, Comparator::GreaterOrEqual, prefix);
                        push(&mut out, Comparator::Less, upper);
                    }
                    "!=" => {
                        push(&mut out, Comparator::Less, prefix);
                        push(&mut out, Comparator::GreaterOrEqual, upper);
                    }
                    _ => return Err(vers_error(native, "wildcard only allowed with == and !=")),
                }
                continue;
            }
            let comparator = match operator {
                "==" | "===" => Comparator::Equal,
                "!=" => Comparator::NotEqual,
                "<" => Comparator::Less,
                "<=" => Comparator::LessOrEqual,
                ">" => Comparator::Greater,
                ">=" => Comparator::GreaterOrEqual,
                "~=" => {
                    push(&mut out, Comparator::GreaterOrEqual, version);
                    push(
                        &mut out,
                        Comparator::Less,
                        pessimistic_upper(version, native)?,
                    );
                    continue;
                }
                other => return Err(vers_error(native, format!("unknown operator {other:?}"))),
            };
            push(&mut out, comparator, version);
        }
        if out.is_empty() {
            return Ok(None);
        }
        Ok(Some(out))
    }

    /// RubyGems requirements, comma-separated (`~> 2.0.8`, `>= 1, < 3`).
    pub(super) fn gem(native: &str) -> Parsed {
        let mut out = Vec::new();
        for requirement in native.split(',') {
            let requirement: String = requirement.split_whitespace().collect();
            if requirement.is_empty() {
                continue;
            }
            let operator_end = requirement
                .find(|c: char| !"<>=!~".contains(c))
                .unwrap_or(requirement.len());
            let (operator, version) = requirement.split_at(operator_end);
            if version.is_empty() {
                return Err(vers_error(native, "requirement without a version"));
            }
            let comparator = match operator {
                "" | "=" => Comparator::Equal,
                "!=" => Comparator::NotEqual,
                "<" => Comparator::Less,
                "<=" => Comparator::LessOrEqual,
                ">" => Comparator::Greater,
                ">=" => Comparator::GreaterOrEqual,
                "~>" => {
                    push(&mut out, Comparator::GreaterOrEqual, version);
                    push(
                        &mut out,
                        Comparator::Less,
                        pessimistic_upper(version, native)?,
                    );
                    continue;
                }
                other => return Err(vers_error(native, format!("unknown operator {other:?}"))),
            };
            push(&mut out, comparator, version);
        }
        if out.is_empty() {
            return Ok(None);
        }
        Ok(Some(out))
    }

    /// Maven / NuGet interval notation: `[1.0,2.0)`, `(,1.0]`, `[1.0]`, several sets
    /// separated by commas. A bare version (NuGet) is a minimum.
    pub(super) fn interval(native: &str) -> Parsed {
        let text: String = native.split_whitespace().collect();
        if text.is_empty() {
            return Ok(None);
        }
        if !text.starts_with(['[', '(']) {
            return Ok(Some(vec![Constraint::new(
                Comparator::GreaterOrEqual,
                text,
            )]));
        }
        let mut out = Vec::new();
        let mut rest = text.as_str();
        while !rest.is_empty() {
            let open = rest.as_bytes()[0];
            if open != b'[' && open != b'(' {
                return Err(vers_error(native, "expected `[` or `(`"));
            }
            let close_at = rest
                .find([']', ')'])
                .ok_or_else(|| vers_error(native, "unclosed interval"))?;
            let close = rest.as_bytes()[close_at];
            let body = &rest[1..close_at];
            match body.split_once(',') {
                None => {
                    if open != b'[' || close != b']' || body.is_empty() {
                        return Err(vers_error(native, "an exact version needs `[v]`"));
                    }
                    push(&mut out, Comparator::Equal, body);
                }
                Some((lower, upper)) => {
                    if !lower.is_empty() {
                        let comparator = if open == b'[' {
                            Comparator::GreaterOrEqual
                        } else {
                            Comparator::Greater
                        };
                        push(&mut out, comparator, lower);
                    }
                    if !upper.is_empty() {
                        let comparator = if close == b']' {
                            Comparator::LessOrEqual
                        } else {
                            Comparator::Less
                        };
                        push(&mut out, comparator, upper);
                    }
                }
            }
            rest = rest[close_at + 1..].trim_start_matches(',');
        }
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::collections::BTreeMap;

    fn generic(input: &str) -> VersRange {
        VersRange::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"))
    }

    #[test]
    fn parses_and_serialises_canonical_ranges() {
        let range = generic("vers:generic/>=1.0|<2.0|!=2.5|3.0|>=4");
        assert_eq!(range.constraints().len(), 5);
        assert_eq!(range.to_string(), "vers:generic/>=1.0|<2.0|!=2.5|3.0|>=4");
        assert!(generic("vers:generic/*").is_any());
        let encoded = generic("vers:generic/1.0%7C2");
        assert_eq!(encoded.constraints()[0].version, "1.0|2");
        assert_eq!(encoded.to_string(), "vers:generic/1.0%7C2");
    }

    #[test]
    fn rejects_non_canonical_ranges() {
        for bad in [
            "vers:generic/>=2.0|<1.0",
            "vers:generic/>=1.0|>=2.0",
            "vers:generic/1.0|<2.0",
            "vers:generic/1.0|1.0",
            "vers:generic/>=1.0| <2.0",
            "vers:generic/|1.0",
            "vers:generic/1.0||2.0",
            "vers:generic/1.0%3a",
            "vers:generic/1.0%3A",
            "vers:generic/",
            "VERS:generic/1.0",
            "vers:generic/>=",
            "vers:nosuchtype/1.0",
        ] {
            assert!(VersRange::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn contains_reports_the_deciding_constraint() {
        let compiled = generic("vers:generic/>=1.0|<2.0|!=2.5|3.0|>=4")
            .compile(Scheme::Generic)
            .unwrap();
        let check = |v: &str| compiled.contains_str(v).unwrap();
        let inside = check("1.5");
        assert!(inside.contained);
        assert_eq!(inside.decided_by.unwrap().to_string(), ">=1.0");
        assert_eq!(inside.bounded_by.unwrap().to_string(), "<2.0");
        assert!(!check("2.0").contained);
        assert!(!check("2.5").contained);
        assert_eq!(check("3.0").decided_by.unwrap().to_string(), "3.0");
        assert!(check("3.0").contained);
        assert!(!check("3.5").contained);
        assert!(check("4").contained);
        assert!(check("9").contained);
    }

    #[test]
    fn simplifies_redundant_constraints() {
        let range = VersRange::parse_syntax("vers:generic/>=1.0|>=1.5|<2.0|<=1.8|3.0|3.0|!=4")
            .unwrap()
            .simplified(Scheme::Generic)
            .unwrap();
        assert_eq!(range.to_string(), "vers:generic/>=1.0|<2.0|3.0|!=4");
        assert!(range.validate(Scheme::Generic).is_ok());
    }

    #[test]
    fn converts_to_and_from_osv_events() {
        let range = generic("vers:generic/<1.0|>=2.0|<=2.5|3.1|>=4.0");
        let (events, versions) = range.to_osv(Scheme::Generic).unwrap();
        let rendered: Vec<String> = events
            .iter()
            .map(|e| format!("{}:{}", e.kind.as_str(), e.version))
            .collect();
        assert_eq!(
            rendered,
            [
                "introduced:0",
                "fixed:1.0",
                "introduced:2.0",
                "last_affected:2.5",
                "introduced:4.0"
            ]
        );
        assert_eq!(versions, ["3.1"]);
        let back = VersRange::from_osv("generic", Scheme::Generic, &events, &versions).unwrap();
        assert_eq!(back.to_string(), "vers:generic/<1.0|>=2.0|<=2.5|3.1|>=4.0");
        assert!(generic("vers:generic/>1.0")
            .to_osv(Scheme::Generic)
            .is_err());
    }

    #[test]
    fn converts_native_ranges() {
        let npm = |native: &str| {
            from_native("npm", native, Scheme::Generic)
                .unwrap()
                .to_string()
        };
        assert_eq!(npm("^1.2.9"), "vers:npm/>=1.2.9|<2.0.0");
        assert_eq!(npm("^0.0.2-beta"), "vers:npm/>=0.0.2-beta|<0.0.3");
        assert_eq!(npm("~3.8.2 || >= 4"), "vers:npm/>=3.8.2|<3.9.0|>=4.0.0");
        assert_eq!(npm("5.0.0 - 7.2.3"), "vers:npm/>=5.0.0|<=7.2.3");
        assert_eq!(npm("2.0.x"), "vers:npm/>=2.0.0|<2.1.0");
        assert_eq!(npm("*"), "vers:npm/*");
        let gem = from_native("gem", "~> 2.0.8, != 2.0.9", Scheme::Generic).unwrap();
        assert_eq!(gem.to_string(), "vers:gem/>=2.0.8|!=2.0.9|<2.1");
        let maven = from_native("maven", "[1.0,2.0),(3.0,]", Scheme::Generic).unwrap();
        assert_eq!(maven.to_string(), "vers:maven/>=1.0|<2.0|>3.0");
        let pypi = from_native("pypi", "~=1.4.5, !=1.4.7", Scheme::Generic).unwrap();
        assert_eq!(pypi.to_string(), "vers:pypi/>=1.4.5|!=1.4.7|<1.5");
        assert!(from_native("conan", "[>1.0]", Scheme::Generic).is_err());
    }

    /// Outcome of one vers-spec case.
    enum CaseResult {
        Pass,
        Fail(String),
        Skip(String),
    }

    fn scheme_or_skip(vers_type: &str) -> Result<Scheme, CaseResult> {
        scheme_for_vers_type(vers_type)
            .ok_or_else(|| CaseResult::Skip(format!("vers type {vers_type} not supported")))
    }

    fn run_case(case: &Value) -> CaseResult {
        match run_case_inner(case) {
            Ok(result) | Err(result) => result,
        }
    }

    fn check(ok: bool, detail: impl FnOnce() -> String) -> CaseResult {
        if ok {
            CaseResult::Pass
        } else {
            CaseResult::Fail(detail())
        }
    }

    fn run_case_inner(case: &Value) -> Result<CaseResult, CaseResult> {
        let input = &case["input"];
        let expected = &case["expected_output"];
        let expect_failure = case["expected_failure"].as_bool().unwrap_or(false);
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let vers_type_of = |vers: &str| {
            vers.strip_prefix("vers:")
                .and_then(|rest| rest.split('/').next())
                .unwrap_or_default()
                .to_string()
        };
        Ok(match case["test_type"].as_str().unwrap_or_default() {
            "comparison" => {
                let scheme = scheme_or_skip(&text(&input["input_scheme"]))?;
                let mut versions: Vec<(Version, String)> = Vec::new();
                for v in input["versions"].as_array().into_iter().flatten() {
                    let v = text(v);
                    match scheme.parse(&v) {
                        Ok(parsed) => versions.push((parsed, v)),
                        Err(e) => return Ok(CaseResult::Fail(e.to_string())),
                    }
                }
                versions.sort_by(|a, b| a.0.cmp(&b.0));
                // The expected list may spell versions in a normalised form (NuGet lowercases
                // pre-release labels), so positions are compared by the scheme's equality.
                let expected_versions: Vec<String> = expected
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(text)
                    .collect();
                // A comparison case lists distinct versions: equal ones would pass any order.
                let same = versions.windows(2).all(|w| w[0].0 < w[1].0)
                    && expected_versions.len() == versions.len()
                    && expected_versions
                        .iter()
                        .zip(&versions)
                        .all(|(want, (got, _))| scheme.parse(want).as_ref() == Ok(got));
                let sorted: Vec<&String> = versions.iter().map(|(_, v)| v).collect();
                check(same, || {
                    format!("sorted to {sorted:?}, expected {expected}")
                })
            }
            "equality" => {
                let scheme = scheme_or_skip(&text(&input["input_scheme"]))?;
                let versions: Vec<String> = input["versions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(text)
                    .collect();
                let parsed: Result<Vec<Version>, _> =
                    versions.iter().map(|v| scheme.parse(v)).collect();
                match parsed {
                    Ok(parsed) => {
                        let equal = parsed.windows(2).all(|w| w[0] == w[1]);
                        check(Some(equal) == expected.as_bool(), || {
                            format!("{versions:?} equal={equal}")
                        })
                    }
                    Err(e) => CaseResult::Fail(e.to_string()),
                }
            }
            "from_native" => {
                let vers_type = text(&input["scheme"]);
                let scheme = scheme_or_skip(&vers_type)?;
                match from_native(&vers_type, &text(&input["native_range"]), scheme) {
                    Ok(range) => check(range.to_string() == text(expected), || {
                        format!("{} -> {range}, expected {expected}", input["native_range"])
                    }),
                    Err(e) => CaseResult::Fail(e.to_string()),
                }
            }
            "containment" => {
                // These cases include unsorted ranges: the check itself normalises.
                let vers = text(&input["vers"]);
                let scheme = scheme_or_skip(&vers_type_of(&vers))?;
                let outcome = VersRange::parse_syntax(&vers)
                    .and_then(|r| r.compile(scheme))
                    .and_then(|c| {
                        c.contains_str(&text(&input["version"]))
                            .map(|c| c.contained)
                    });
                match outcome {
                    Ok(contained) => check(Some(contained) == expected.as_bool(), || {
                        format!("{vers} contains {}: {contained}", input["version"])
                    }),
                    Err(e) => CaseResult::Fail(e.to_string()),
                }
            }
            "validate" => {
                let vers = text(input);
                let scheme = scheme_or_skip(&vers_type_of(&vers))?;
                match VersRange::parse_syntax(&vers).and_then(|r| r.normalized(scheme)) {
                    Ok(range) => check(range.to_string() == text(expected), || {
                        format!("{vers} -> {range}, expected {expected}")
                    }),
                    Err(e) => CaseResult::Fail(e.to_string()),
                }
            }
            "parse" => {
                let vers = text(input);
                scheme_or_skip(&vers_type_of(&vers))?;
                match (VersRange::parse(&vers), expect_failure) {
                    (Err(_), true) => CaseResult::Pass,
                    (Ok(range), true) => CaseResult::Fail(format!("{vers} accepted as {range}")),
                    (Err(e), false) => CaseResult::Fail(e.to_string()),
                    (Ok(range), false) => {
                        let constraints: Vec<Value> = range
                            .constraints()
                            .iter()
                            .map(|c| {
                                let op = match c.comparator {
                                    Comparator::Equal => "=",
                                    other => other.as_str(),
                                };
                                Value::from(vec![op.to_string(), c.version.clone()])
                            })
                            .collect();
                        let same = expected["scheme"] == range.vers_type()
                            && expected["version_constraints"] == Value::from(constraints);
                        check(same, || format!("{vers} parsed as {range:?}"))
                    }
                }
            }
            other => CaseResult::Fail(format!("unknown test type {other}")),
        })
    }

    #[test]
    fn passes_the_vers_spec_test_suite() {
        let Some(root) = rampart_test_data::root() else {
            return;
        };
        let dir = root.join("peer-tests/vers-spec/tests");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        // Cases where we knowingly disagree with the suite, each with its reason; exactly
        // these are expected to fail (a fix upstream or here shows up as a failure too).
        //  - npm: the suite expands `~0.8.0-pre` to `<0.8.1` plus a split at 0.8.0;
        //    node-semver says `>=0.8.0-pre <0.9.0-0`, which we follow.
        //  - maven: the Maven scheme (validated against osv-scalibr's Maven fixtures) orders
        //    `2.0.a` / `2.0.0.a` differently from this suite; reported to the scheme's owners.
        let divergent: [(&str, &str); 4] = [
            (
                "npm_range_from_native_test.json",
                ">= 0.2.0 <= 0.9.6 || ~0.8.0-pre",
            ),
            ("maven_version_cmp_test.json", "2-1 2.0.a"),
            ("maven_version_cmp_test.json", "2-1 2.0.0.a"),
            ("maven_version_cmp_test.json", "2.0.0.a 2.0.a"),
        ];
        let case_key = |case: &Value| -> String {
            if let Some(native) = case["input"]["native_range"].as_str() {
                return native.to_string();
            }
            let mut versions: Vec<&str> = case["input"]["versions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            versions.sort_unstable();
            versions.join(" ")
        };
        let mut diverged = 0;
        let mut failures = Vec::new();
        let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
        let mut total_passed = 0;
        for file in &files {
            let name = file.file_name().unwrap().to_string_lossy().to_string();
            let suite: Value =
                serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
            let (mut passed, mut failed, mut skips) = (0, 0, 0);
            for case in suite["tests"].as_array().unwrap() {
                let is_divergent = divergent
                    .iter()
                    .any(|(f, key)| *f == name && case_key(case) == *key);
                match run_case(case) {
                    CaseResult::Fail(_) if is_divergent => diverged += 1,
                    CaseResult::Pass if is_divergent => {
                        failures.push(format!("{name}: divergent case now passes"))
                    }
                    CaseResult::Pass => passed += 1,
                    CaseResult::Fail(why) => {
                        failed += 1;
                        failures.push(format!("{name}: {why}"));
                    }
                    CaseResult::Skip(why) => {
                        skips += 1;
                        *skipped.entry(why).or_default() += 1;
                    }
                }
            }
            total_passed += passed;
            eprintln!("vers-spec {name}: {passed} passed, {failed} failed, {skips} skipped");
        }
        eprintln!("vers-spec: {total_passed} passed, {diverged} known divergence(s)");
        for (why, count) in &skipped {
            eprintln!("vers-spec skipped {count}: {why}");
        }
        assert!(
            failures.is_empty(),
            "{} failures:\n{}",
            failures.len(),
            failures.join("\n")
        );
        assert!(!files.is_empty(), "no vers-spec test files found");
        // The count passing when this floor was set: a suite that silently shrinks (cases
        // turned into skips, a file no longer read) fails here.
        assert!(
            total_passed >= 2253,
            "only {total_passed} vers-spec cases passed"
        );
    }

    proptest::proptest! {
        #[test]
        fn syntax_round_trips_and_simplification_is_canonical(
            text in "vers:generic/(\\*|((>=|<=|!=|<|>)?[0-9]{1,2}(\\.[0-9])?)(\\|(>=|<=|!=|<|>)?[0-9]{1,2}(\\.[0-9])?){0,5})"
        ) {
            let range = VersRange::parse_syntax(&text).unwrap();
            proptest::prop_assert_eq!(VersRange::parse_syntax(&range.to_string()).unwrap(), range.clone());
            let simplified = range.simplified(Scheme::Generic).unwrap();
            // Simplification always yields a canonical range...
            proptest::prop_assert!(
                simplified.validate(Scheme::Generic).is_ok(),
                "{} simplified to non-canonical {}", range, simplified
            );
            // ...and, for a range that was canonical once sorted, the same set of versions.
            let sorted = range.normalized(Scheme::Generic).unwrap();
            if sorted.validate(Scheme::Generic).is_ok() {
                let before = sorted.compile(Scheme::Generic).unwrap();
                let after = simplified.compile(Scheme::Generic).unwrap();
                for probe in 0..=100 {
                    for version in [format!("{probe}"), format!("{probe}.5")] {
                        proptest::prop_assert_eq!(
                            before.contains_str(&version).unwrap().contained,
                            after.contains_str(&version).unwrap().contained,
                            "{} vs {} at {}", sorted, simplified, version
                        );
                    }
                }
            }
        }
    }

    /// Real OSV ranges converted to vers give the same verdicts as the OSV evaluator at
    /// every event version (the points where a verdict can change).
    #[test]
    fn osv_ranges_and_their_vers_agree_on_real_records() {
        use crate::range::{CompiledRange, EventKind, RangeKind};
        let Some(affected) = crate::range::tests::real_osv_affected() else {
            return;
        };
        let (mut compared, mut empty) = (0, 0);
        for entry in &affected {
            let Ok(ecosystem) =
                crate::Ecosystem::parse(entry["package"]["ecosystem"].as_str().unwrap_or(""))
            else {
                continue;
            };
            for raw in entry["ranges"].as_array().into_iter().flatten() {
                let kind = RangeKind::parse(raw["type"].as_str().unwrap()).unwrap();
                if kind == RangeKind::Git {
                    continue;
                }
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
                if events.iter().any(|e| e.kind == EventKind::Limit) {
                    continue;
                }
                let osv = CompiledRange::compile(kind, scheme, events.clone()).unwrap();
                let vers = match VersRange::from_osv("generic", scheme, &events, &[]) {
                    Ok(vers) => vers,
                    Err(_) => {
                        // Only a range that affects nothing has no vers; check it is one.
                        empty += 1;
                        for event in events.iter().filter(|e| e.version != "0") {
                            let at = osv.evaluate_str(&event.version).unwrap();
                            assert!(
                                !at.is_affected(),
                                "{raw} has no vers but affects {}",
                                event.version
                            );
                        }
                        continue;
                    }
                };
                let vers = vers
                    .compile(scheme)
                    .unwrap_or_else(|e| panic!("{raw} gave non-canonical {vers}: {e}"));
                for event in events.iter().filter(|e| e.version != "0") {
                    let version = scheme.parse(&event.version).unwrap();
                    assert_eq!(
                        osv.evaluate(&version).unwrap().is_affected(),
                        vers.contains(&version).contained,
                        "{raw} at {}",
                        event.version
                    );
                    compared += 1;
                }
            }
        }
        eprintln!("OSV vs vers: {compared} verdicts agree ({empty} ranges affect nothing)");
        assert!(compared > 1000);
    }

    fn osv_event_kind() -> impl proptest::strategy::Strategy<Value = EventKind> {
        use proptest::prelude::*;
        prop_oneof![
            Just(EventKind::Introduced),
            Just(EventKind::Fixed),
            Just(EventKind::LastAffected)
        ]
    }

    proptest::proptest! {
        #[test]
        fn vers_from_osv_is_canonical_and_agrees_with_the_osv_evaluator(
            events in proptest::collection::vec((osv_event_kind(), 0u32..10), 0..7),
            introduced_zero in proptest::bool::ANY,
            listed in proptest::collection::vec(0u32..10, 0..2),
        ) {
            use crate::range::{CompiledAffected, CompiledRange, RangeKind};
            let mut raw: Vec<RawEvent> = events
                .iter()
                .map(|(k, x)| RawEvent::new(*k, format!("1.{x}")))
                .collect();
            if introduced_zero {
                raw.push(RawEvent::new(EventKind::Introduced, "0"));
            }
            let listed: Vec<String> = listed.iter().map(|x| format!("1.{x}")).collect();
            let range = CompiledRange::compile(RangeKind::Ecosystem, Scheme::Generic, raw.clone()).unwrap();
            let affected = CompiledAffected::new(Scheme::Generic, vec![range], listed.clone());
            let probes: Vec<String> = (0..=11).flat_map(|x| [format!("1.{x}"), format!("1.{x}.5")]).collect();
            match VersRange::from_osv("generic", Scheme::Generic, &raw, &listed) {
                Ok(vers) => {
                    let compiled = vers.compile(Scheme::Generic);
                    proptest::prop_assert!(compiled.is_ok(), "{:?} -> non-canonical {}", raw, vers);
                    let compiled = compiled.unwrap();
                    // And back: the vers as OSV events and listed versions.
                    let (back_events, back_listed) = vers.to_osv(Scheme::Generic).unwrap();
                    let back = CompiledAffected::new(
                        Scheme::Generic,
                        vec![CompiledRange::compile(RangeKind::Ecosystem, Scheme::Generic, back_events).unwrap()],
                        back_listed,
                    );
                    for probe in &probes {
                        proptest::prop_assert_eq!(
                            affected.evaluate_str(probe).unwrap() == crate::range::AffectedOutcome::NotAffected,
                            back.evaluate_str(probe).unwrap() == crate::range::AffectedOutcome::NotAffected,
                            "round trip of {} at {}", vers, probe
                        );
                    }
                    for probe in &probes {
                        let by_osv = !matches!(
                            affected.evaluate_str(probe).unwrap(),
                            crate::range::AffectedOutcome::NotAffected
                        );
                        proptest::prop_assert_eq!(
                            by_osv,
                            compiled.contains_str(probe).unwrap().contained,
                            "{:?} {:?} as {} at {}", raw, listed, vers, probe
                        );
                    }
                }
                Err(_) => {
                    for probe in &probes {
                        proptest::prop_assert_eq!(
                            affected.evaluate_str(probe).unwrap(),
                            crate::range::AffectedOutcome::NotAffected,
                            "{:?} has no vers but affects {}", raw, probe
                        );
                    }
                }
            }
        }
    }
}
