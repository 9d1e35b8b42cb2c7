//! The one entry point for "parse this version the way ecosystem X does" and "compare two
//! versions". A [`Scheme`] names an ordering algorithm; several ecosystems share one (crates.io,
//! Hex and SwiftURL all use SemVer 2.0). A [`Version`] is a parsed version of one scheme.

use std::cmp::Ordering;
use std::fmt;

use crate::schemes::apk::ApkVersion;
use crate::schemes::composer::ComposerVersion;
use crate::schemes::dpkg::DpkgVersion;
use crate::schemes::generic::GenericVersion;
use crate::schemes::go::GoVersion;
use crate::schemes::maven::MavenVersion;
use crate::schemes::npm::NpmVersion;
use crate::schemes::nuget::NuGetVersion;
use crate::schemes::numeric_list::{CranVersion, HackageVersion};
use crate::schemes::pep440::Pep440Version;
use crate::schemes::pub_semver::PubVersion;
use crate::schemes::rpm::RpmVersion;
use crate::schemes::rubygems::RubyGemsVersion;
use crate::schemes::semver::SemverVersion;
use crate::VersionError;

/// A version ordering algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// Segment-wise fallback for ecosystems without a scheme of their own.
    Generic,
    /// SemVer 2.0: crates.io, Hex, SwiftURL, GitHub Actions.
    Semver,
    /// node-semver, loose: npm.
    Npm,
    /// Go module versions (`v` optional, as OSV writes them), pseudo-versions, toolchain tags.
    Go,
    /// Dart `pub_semver`: SemVer with ordered build metadata.
    Pub,
    /// PEP 440, with packaging's legacy fallback for non-conforming versions: PyPI.
    Pep440,
    /// Maven `ComparableVersion`.
    Maven,
    /// NuGet.Versioning: SemVer 2 plus legacy four-part versions.
    NuGet,
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
            Scheme::Semver => "SemVer",
            Scheme::Npm => "npm",
            Scheme::Go => "Go",
            Scheme::Pub => "Pub",
            Scheme::Pep440 => "PyPI",
            Scheme::Maven => "Maven",
            Scheme::NuGet => "NuGet",
            Scheme::RubyGems => "RubyGems",
            Scheme::Composer => "Packagist",
            Scheme::Dpkg => "Debian",
            Scheme::Rpm => "RPM",
            Scheme::Apk => "Alpine",
            Scheme::Cran => "CRAN",
            Scheme::Hackage => "Hackage",
        }
    }

    /// Parses `input` the way OSV's matchers read this scheme's versions: the ecosystem tool's
    /// grammar, and for the SemVer family (SemVer, npm, Go, Pub) OSV's lenient reading of what
    /// the tool rejects (`v1.2.3`, `1.2`, `1.1.3.4.5`; see [`crate::schemes::semantic`]).
    /// Whatever the tool accepts is read and ordered exactly as the tool does.
    pub fn parse(self, input: &str) -> Result<Version, VersionError> {
        Ok(match self {
            Scheme::Generic => Version::Generic(GenericVersion::parse(input)?),
            Scheme::Semver => Version::Semver(SemverVersion::parse(input)?),
            Scheme::Npm => Version::Npm(NpmVersion::parse(input)?),
            Scheme::Go => Version::Go(GoVersion::parse(input)?),
            Scheme::Pub => Version::Pub(PubVersion::parse(input)?),
            Scheme::Pep440 => Version::Pep440(Pep440Version::parse(input)?),
            Scheme::Maven => Version::Maven(MavenVersion::parse(input)?),
            Scheme::NuGet => Version::NuGet(Box::new(NuGetVersion::parse(input)?)),
            Scheme::RubyGems => Version::RubyGems(RubyGemsVersion::parse(input)?),
            Scheme::Composer => Version::Composer(ComposerVersion::parse(input)?),
            Scheme::Dpkg => Version::Dpkg(Box::new(DpkgVersion::parse(input)?)),
            Scheme::Rpm => Version::Rpm(Box::new(RpmVersion::parse(input)?)),
            Scheme::Apk => Version::Apk(Box::new(ApkVersion::parse(input)?)),
            Scheme::Cran => Version::Cran(CranVersion::parse(input)?),
            Scheme::Hackage => Version::Hackage(HackageVersion::parse(input)?),
        })
    }

    /// Parses `input` with the ecosystem tool's grammar alone, for callers that must reject
    /// what the tool rejects (validating what a user publishes, say). Same as [`Self::parse`]
    /// for schemes without a lenient OSV reading.
    pub fn parse_strict(self, input: &str) -> Result<Version, VersionError> {
        match self {
            Scheme::Semver => Ok(Version::Semver(SemverVersion::parse_strict(input)?)),
            Scheme::Npm => Ok(Version::Npm(NpmVersion::parse_strict(input)?)),
            Scheme::Go => Ok(Version::Go(GoVersion::parse_strict(input)?)),
            Scheme::Pub => Ok(Version::Pub(PubVersion::parse_strict(input)?)),
            _ => self.parse(input),
        }
    }

    /// Parses both and compares them; fails if either is unparseable.
    pub fn compare(self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        Ok(self.parse(a)?.cmp(&self.parse(b)?))
    }
}

/// A parsed version. Versions of one scheme are totally ordered by that scheme's rules.
/// The four largest representations are boxed so that every version is at most the size of
/// a SemVer one (indexes keep tens of thousands of parsed range bounds).
/// Comparing versions of different schemes is meaningless; it orders by scheme so that
/// `Ord` stays total, and matching code never does it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    Generic(GenericVersion),
    Semver(SemverVersion),
    Npm(NpmVersion),
    Go(GoVersion),
    Pub(PubVersion),
    Pep440(Pep440Version),
    Maven(MavenVersion),
    NuGet(Box<NuGetVersion>),
    RubyGems(RubyGemsVersion),
    Composer(ComposerVersion),
    Dpkg(Box<DpkgVersion>),
    Rpm(Box<RpmVersion>),
    Apk(Box<ApkVersion>),
    Cran(CranVersion),
    Hackage(HackageVersion),
}

impl Version {
    pub fn scheme(&self) -> Scheme {
        match self {
            Version::Generic(_) => Scheme::Generic,
            Version::Semver(_) => Scheme::Semver,
            Version::Npm(_) => Scheme::Npm,
            Version::Go(_) => Scheme::Go,
            Version::Pub(_) => Scheme::Pub,
            Version::Pep440(_) => Scheme::Pep440,
            Version::Maven(_) => Scheme::Maven,
            Version::NuGet(_) => Scheme::NuGet,
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
            Version::Semver(v) => v.fmt(f),
            Version::Npm(v) => v.fmt(f),
            Version::Go(v) => v.fmt(f),
            Version::Pub(v) => v.fmt(f),
            Version::Pep440(v) => v.fmt(f),
            Version::Maven(v) => v.fmt(f),
            Version::NuGet(v) => v.fmt(f),
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

#[cfg(test)]
mod error_naming_tests {
    use super::Scheme;

    #[test]
    fn errors_name_the_scheme_that_refused_and_the_input() {
        let schemes = [
            Scheme::Generic,
            Scheme::Semver,
            Scheme::Npm,
            Scheme::Go,
            Scheme::Pub,
            Scheme::Pep440,
            Scheme::Maven,
            Scheme::NuGet,
            Scheme::RubyGems,
            Scheme::Composer,
            Scheme::Dpkg,
            Scheme::Rpm,
            Scheme::Apk,
            Scheme::Cran,
            Scheme::Hackage,
        ];
        for scheme in schemes {
            for input in ["", "   "] {
                let error = scheme
                    .parse(input)
                    .expect_err("a blank version is refused by every scheme");
                assert_eq!(error.scheme, scheme.name(), "{scheme:?}");
                assert_eq!(error.input, input, "{scheme:?}");
            }
        }
    }
}
