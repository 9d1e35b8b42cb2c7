//! The one entry point for "parse this version the way ecosystem X does" and "compare two
//! versions". A [`Scheme`] names an ordering algorithm; several ecosystems share one (crates.io,
//! Hex and SwiftURL all use SemVer 2.0). A [`Version`] is a parsed version of one scheme.

use std::cmp::Ordering;
use std::fmt;

use crate::schemes::apk::ApkVersion;
use crate::schemes::composer::ComposerVersion;
use crate::schemes::dpkg::DpkgVersion;
use crate::schemes::generic::GenericVersion;
use crate::schemes::numeric_list::{CranVersion, HackageVersion};
use crate::schemes::rpm::RpmVersion;
use crate::schemes::rubygems::RubyGemsVersion;
use crate::VersionError;

/// A version ordering algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// Segment-wise fallback for ecosystems without a scheme of their own.
    Generic,
    /// RubyGems `Gem::Version`.
    RubyGems,
    /// Packagist: Composer's normalisation with PHP `version_compare`.
    Composer,
    /// Debian and Ubuntu: dpkg's epoch, upstream, revision with `verrevcmp`.
    Dpkg,
    /// Red Hat, Rocky Linux, AlmaLinux, SUSE, openSUSE: rpm's EVR with `rpmvercmp`.
    Rpm,
    /// Alpine: apk-tools version comparison.
    Apk,
    /// CRAN: R `package_version`.
    Cran,
    /// Hackage: Haskell PVP integer lists.
    Hackage,
}

impl Scheme {
    /// Human name used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Generic => "generic",
            Scheme::RubyGems => "RubyGems",
            Scheme::Composer => "Packagist",
            Scheme::Dpkg => "Debian",
            Scheme::Rpm => "RPM",
            Scheme::Apk => "Alpine",
            Scheme::Cran => "CRAN",
            Scheme::Hackage => "Hackage",
        }
    }

    pub fn parse(self, input: &str) -> Result<Version, VersionError> {
        Ok(match self {
            Scheme::Generic => Version::Generic(GenericVersion::parse(input)?),
            Scheme::RubyGems => Version::RubyGems(RubyGemsVersion::parse(input)?),
            Scheme::Composer => Version::Composer(ComposerVersion::parse(input)?),
            Scheme::Dpkg => Version::Dpkg(DpkgVersion::parse(input)?),
            Scheme::Rpm => Version::Rpm(RpmVersion::parse(input)?),
            Scheme::Apk => Version::Apk(ApkVersion::parse(input)?),
            Scheme::Cran => Version::Cran(CranVersion::parse(input)?),
            Scheme::Hackage => Version::Hackage(HackageVersion::parse(input)?),
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
    RubyGems(RubyGemsVersion),
    Composer(ComposerVersion),
    Dpkg(DpkgVersion),
    Rpm(RpmVersion),
    Apk(ApkVersion),
    Cran(CranVersion),
    Hackage(HackageVersion),
}

impl Version {
    pub fn scheme(&self) -> Scheme {
        match self {
            Version::Generic(_) => Scheme::Generic,
            Version::RubyGems(_) => Scheme::RubyGems,
            Version::Composer(_) => Scheme::Composer,
            Version::Dpkg(_) => Scheme::Dpkg,
            Version::Rpm(_) => Scheme::Rpm,
            Version::Apk(_) => Scheme::Apk,
            Version::Cran(_) => Scheme::Cran,
            Version::Hackage(_) => Scheme::Hackage,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Generic(v) => v.fmt(f),
            Version::RubyGems(v) => v.fmt(f),
            Version::Composer(v) => v.fmt(f),
            Version::Dpkg(v) => v.fmt(f),
            Version::Rpm(v) => v.fmt(f),
            Version::Apk(v) => v.fmt(f),
            Version::Cran(v) => v.fmt(f),
            Version::Hackage(v) => v.fmt(f),
        }
    }
}
