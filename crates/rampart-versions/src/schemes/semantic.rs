//! The SemVer 2.0 data model and precedence (semver.org §11) shared by the schemes whose
//! order is SemVer's but whose accepted spellings differ: strict SemVer (crates.io, Hex),
//! node-semver's loose grammar and Go module versions. Build metadata is kept for display and
//! ignored by the order, as §10 requires.

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
