//! The SemVer 2.0 data model and precedence (semver.org §11) shared by the schemes whose
//! order is SemVer's but whose accepted spellings differ: strict SemVer (crates.io, Hex),
//! node-semver's loose grammar and Go module versions. Build metadata is kept for display and
//! ignored by the order, as §10 requires.
//!
//! # OSV's lenient reading
//!
//! OSV records for crates.io, npm, Go, Hex, Pub, SwiftURL (and `SEMVER` ranges of any
//! ecosystem) are compared by OSV's matchers (osv.dev's `semver_index`, osv-scalibr's
//! `semantic` package), which read more than the ecosystems' own tools accept: a leading `v`,
//! one or two numbers instead of three (the missing ones are zero), leading zeros, numbers of
//! any size, and more than three numbers (osv-scalibr treats what follows the third as build
//! metadata). The peers' ordering fixtures state orders over such versions, and advisories
//! contain them, so the semver-family schemes fall back to [`split_semver_like`] when the
//! tool's grammar rejects an input. Whatever the tool accepts is read exactly as the tool
//! reads it; the fallback only turns a rejection into a version. Each scheme also offers a
//! `parse_strict` with the tool's grammar alone.

use std::cmp::Ordering;
use std::fmt;

use super::numeral::Numeral;

/// One dot-separated pre-release identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identifier {
    Numeric(Numeral),
    Alphanumeric(Box<str>),
}

impl Ord for Identifier {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Identifier::Numeric(a), Identifier::Numeric(b)) => a.cmp(b),
            // §11.4.3: numeric identifiers have lower precedence than alphanumeric ones.
            (Identifier::Numeric(_), Identifier::Alphanumeric(_)) => Ordering::Less,
            (Identifier::Alphanumeric(_), Identifier::Numeric(_)) => Ordering::Greater,
            // §11.4.2: ASCII order, so `R2 < r100`.
            (Identifier::Alphanumeric(a), Identifier::Alphanumeric(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Identifier {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identifier::Numeric(n) => n.fmt(f),
            Identifier::Alphanumeric(s) => f.write_str(s),
        }
    }
}

fn is_identifier_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// Parses dot-separated pre-release identifiers. Strict SemVer forbids leading zeros in
/// numeric identifiers (`01`); node-semver's loose mode accepts them and reads them as numbers.
pub fn parse_prerelease(
    text: &str,
    allow_leading_zeros: bool,
) -> Result<Box<[Identifier]>, &'static str> {
    text.split('.')
        .map(|part| {
            if part.is_empty() {
                return Err("empty pre-release identifier");
            }
            if !part.bytes().all(is_identifier_byte) {
                return Err("pre-release identifiers may hold only [0-9A-Za-z-]");
            }
            if part.bytes().all(|b| b.is_ascii_digit()) {
                if !allow_leading_zeros && part.len() > 1 && part.starts_with('0') {
                    return Err("numeric pre-release identifier with a leading zero");
                }
                Ok(Identifier::Numeric(
                    Numeral::from_digits(part).expect("checked: all ASCII digits"),
                ))
            } else {
                Ok(Identifier::Alphanumeric(part.into()))
            }
        })
        .collect()
}

/// Checks build metadata: dot-separated, non-empty `[0-9A-Za-z-]` identifiers.
pub fn check_build(text: &str) -> Result<(), &'static str> {
    for part in text.split('.') {
        if part.is_empty() {
            return Err("empty build identifier");
        }
        if !part.bytes().all(is_identifier_byte) {
            return Err("build identifiers may hold only [0-9A-Za-z-]");
        }
    }
    Ok(())
}

/// Parses a core version number component. `allow_leading_zeros` is node-semver's loose mode.
pub fn parse_component(text: &str, allow_leading_zeros: bool) -> Result<Numeral, &'static str> {
    if !allow_leading_zeros && text.len() > 1 && text.starts_with('0') {
        return Err("version number with a leading zero");
    }
    Numeral::from_digits(text).ok_or("version numbers must be decimal digits")
}

/// Compares pre-release identifier lists; an empty list is a release and sorts after every
/// pre-release of the same version (§11.3). A longer list wins when one is a prefix (§11.4.4).
pub fn compare_prerelease(a: &[Identifier], b: &[Identifier]) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.cmp(b),
    }
}

/// A parsed SemVer 2.0 version. Equality and order ignore build metadata.
#[derive(Debug, Clone)]
pub struct SemanticVersion {
    pub major: Numeral,
    pub minor: Numeral,
    pub patch: Numeral,
    pub pre: Box<[Identifier]>,
    /// Build metadata without the `+`; empty when absent.
    pub build: Box<str>,
}

impl SemanticVersion {
    /// Splits `text` (no prefix) into `core`, optional pre-release and optional build, the
    /// way every SemVer grammar does: the first `+` starts the build, and the first `-` before
    /// it starts the pre-release.
    pub fn split(text: &str) -> (&str, Option<&str>, Option<&str>) {
        let (rest, build) = match text.split_once('+') {
            Some((rest, build)) => (rest, Some(build)),
            None => (text, None),
        };
        match rest.split_once('-') {
            Some((core, pre)) => (core, Some(pre), build),
            None => (rest, None, build),
        }
    }

    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }
}

impl Ord for SemanticVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.major
            .cmp(&other.major)
            .then_with(|| self.minor.cmp(&other.minor))
            .then_with(|| self.patch.cmp(&other.patch))
            .then_with(|| compare_prerelease(&self.pre, &other.pre))
    }
}

impl PartialOrd for SemanticVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for SemanticVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SemanticVersion {}

impl fmt::Display for SemanticVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        for (i, identifier) in self.pre.iter().enumerate() {
            f.write_str(if i == 0 { "-" } else { "." })?;
            identifier.fmt(f)?;
        }
        if !self.build.is_empty() {
            write!(f, "+{}", self.build)?;
        }
        Ok(())
    }
}

/// A SemVer-like version split the way OSV's matchers read one (see the module
/// documentation): numbers, then an optional `-` pre-release, then an optional `+` build.
#[derive(Debug)]
pub(crate) struct SemverLike<'a> {
    pub major: Numeral,
    pub minor: Numeral,
    pub patch: Numeral,
    /// Numbers after the third, verbatim; OSV counts them as build metadata.
    pub extra: Vec<&'a str>,
    pub pre: Option<&'a str>,
    pub build: Option<&'a str>,
}

/// Splits `text` as OSV's lenient reading does: an optional leading `v`, one or more
/// dot-separated decimal numbers (leading zeros and any size allowed; missing minor and patch
/// are zero), then SemVer's `-pre` and `+build`. The pre-release and build texts are returned
/// unchecked: each scheme validates them with its own identifier rules.
pub(crate) fn split_semver_like(text: &str) -> Result<SemverLike<'_>, &'static str> {
    let text = text.strip_prefix('v').unwrap_or(text);
    let (core, pre, build) = SemanticVersion::split(text);
    if core.is_empty() {
        return Err("expected a version number");
    }
    let mut numbers = core.split('.');
    let mut next_number = || -> Result<Numeral, &'static str> {
        match numbers.next() {
            None => Ok(Numeral::ZERO),
            Some(digits) => {
                Numeral::from_digits(digits).ok_or("version numbers must be decimal digits")
            }
        }
    };
    let (major, minor, patch) = (next_number()?, next_number()?, next_number()?);
    let extra = numbers
        .map(|digits| {
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                Ok(digits)
            } else {
                Err("version numbers must be decimal digits")
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SemverLike {
        major,
        minor,
        patch,
        extra,
        pre,
        build,
    })
}

/// OSV's lenient reading into SemVer's model: numbers after the third become build
/// identifiers ahead of any written build, and numeric pre-release identifiers may have
/// leading zeros (read as numbers, as osv.dev does).
pub(crate) fn parse_semver_like(text: &str) -> Result<SemanticVersion, &'static str> {
    let parts = split_semver_like(text)?;
    let pre = match parts.pre {
        Some(pre) => parse_prerelease(pre, true)?,
        None => Box::default(),
    };
    if let Some(build) = parts.build {
        check_build(build)?;
    }
    let build: Box<str> = match (parts.extra.is_empty(), parts.build) {
        (true, build) => build.unwrap_or_default().into(),
        (false, None) => parts.extra.join(".").into(),
        (false, Some(build)) => format!("{}.{build}", parts.extra.join(".")).into(),
    };
    Ok(SemanticVersion {
        major: parts.major,
        minor: parts.minor,
        patch: parts.patch,
        pre,
        build,
    })
}
