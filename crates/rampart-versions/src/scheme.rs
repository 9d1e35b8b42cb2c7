//! The one entry point for "parse this version the way ecosystem X does" and "compare two
//! versions". A [`Scheme`] names an ordering algorithm; several ecosystems share one (crates.io,
//! Hex and SwiftURL all use SemVer 2.0). A [`Version`] is a parsed version of one scheme.

use std::cmp::Ordering;
use std::fmt;

use crate::schemes::generic::GenericVersion;
use crate::VersionError;

/// A version ordering algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// Segment-wise fallback for ecosystems without a scheme of their own.
    Generic,
}

impl Scheme {
    /// Human name used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Generic => "generic",
        }
    }

    pub fn parse(self, input: &str) -> Result<Version, VersionError> {
        Ok(match self {
            Scheme::Generic => Version::Generic(GenericVersion::parse(input)?),
        })
    }

    /// Parses both and compares them; fails if either is unparseable.
    pub fn compare(self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        Ok(self.parse(a)?.cmp(&self.parse(b)?))
    }
}

/// A parsed version. Versions of one scheme are totally ordered by that scheme's rules.
/// Comparing versions of different schemes is meaningless; it orders by scheme so that
/// `Ord` stays total, and matching code never does it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    Generic(GenericVersion),
}

impl Version {
    pub fn scheme(&self) -> Scheme {
        match self {
            Version::Generic(_) => Scheme::Generic,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Generic(v) => v.fmt(f),
        }
    }
}
