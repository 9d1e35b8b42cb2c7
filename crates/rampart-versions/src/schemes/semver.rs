//! SemVer 2.0 (crates.io, Hex, SwiftURL, GitHub Actions). The tools' grammar
//! ([`SemverVersion::parse_strict`]) is exactly `MAJOR.MINOR.PATCH[-PRE][+BUILD]`, no leading
//! zeros, no `v` prefix (Cargo and Elixir reject one). Components may exceed `u64`: the
//! grammar does not bound them, and accepting more than Cargo does never changes how two
//! accepted versions order.
//!
//! [`SemverVersion::parse`], what matching uses, falls back to OSV's lenient reading when the
//! strict grammar rejects the text (see [`super::semantic`]): `v1.2.3` is `1.2.3`, `1.2` is
//! `1.2.0`, `01.2.3` is `1.2.3` and `1.1.3.4.5` is `1.1.3+4.5`, so it equals `1.1.3`.

use std::fmt;

use super::semantic::{
    check_build, parse_component, parse_prerelease, parse_semver_like, SemanticVersion,
};
use crate::VersionError;

const SCHEME: &str = "SemVer";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SemverVersion(SemanticVersion);

impl SemverVersion {
    /// Reads `input` the way OSV matches it: the SemVer grammar, else OSV's lenient reading.
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        parse_strict(input)
            .or_else(|_| parse_semver_like(input))
            .map(SemverVersion)
            .map_err(|reason| VersionError::new(SCHEME, input, reason))
    }

    /// Accepts only what Cargo and Hex accept.
    pub fn parse_strict(input: &str) -> Result<Self, VersionError> {
        parse_strict(input)
            .map(SemverVersion)
            .map_err(|reason| VersionError::new(SCHEME, input, reason))
    }

    pub fn semantic(&self) -> &SemanticVersion {
        &self.0
    }
}

/// The SemVer 2.0 grammar, shared with Go after it strips its own prefix.
pub(crate) fn parse_strict(text: &str) -> Result<SemanticVersion, &'static str> {
    if text.is_empty() {
        return Err("empty version");
    }
    let (core, pre, build) = SemanticVersion::split(text);
    let mut parts = core.split('.');
    let (Some(major), Some(minor), Some(patch), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("expected MAJOR.MINOR.PATCH");
    };
    let pre = match pre {
        Some(pre) => parse_prerelease(pre, false)?,
        None => Box::default(),
    };
    if let Some(build) = build {
        check_build(build)?;
    }
    Ok(SemanticVersion {
        major: parse_component(major, false)?,
        minor: parse_component(minor, false)?,
        patch: parse_component(patch, false)?,
        pre,
        build: build.unwrap_or_default().into(),
    })
}

impl fmt::Display for SemverVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scheme;

    fn v(s: &str) -> SemverVersion {
        SemverVersion::parse(s).unwrap()
    }

    #[test]
    fn follows_the_semver_org_precedence_example() {
        let chain = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
        ];
        for pair in chain.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn ignores_build_metadata_and_keeps_it_for_display() {
        assert_eq!(v("1.2.3+build.1"), v("1.2.3+other"));
        assert_eq!(v("1.2.3-rc.1+b").to_string(), "1.2.3-rc.1+b");
        assert!(v("1.0.0-x-y-z.--") < v("1.0.0"));
    }

    #[test]
    fn strict_rejects_what_cargo_rejects() {
        for bad in ["v1.2.3", "1.2", "1.2.3.4", "01.2.3", "1.2.3-01"] {
            let err = SemverVersion::parse_strict(bad).unwrap_err();
            assert_eq!(err.scheme, "SemVer");
            assert_eq!(err.input, bad);
            assert!(SemverVersion::parse(bad).is_ok(), "OSV reads {bad}");
        }
    }

    #[test]
    fn reads_what_osv_reads() {
        assert_eq!(v("v1.2.3"), v("1.2.3"));
        assert_eq!(v("v1.2.3-rc.1").to_string(), "1.2.3-rc.1");
        assert_eq!(v("1").to_string(), "1.0.0");
        assert_eq!(v("1.2").to_string(), "1.2.0");
        assert_eq!(v("01.002.3-01").to_string(), "1.2.3-1");
        assert_eq!(v("1.1.3.4.5").to_string(), "1.1.3+4.5");
        assert_eq!(v("1.1.3.4-b+x").to_string(), "1.1.3-b+4.x");
        assert_eq!(v("1.1.3.4.5"), v("1.1.3"));
        assert!(v("999999999999999999999999999991") < v("999999999999999999999999999999"));
    }

    #[test]
    fn rejects_what_neither_cargo_nor_osv_reads() {
        for bad in [
            "",
            "v",
            "vv1.2.3",
            "V1.2.3",
            "1.2.3-",
            "1.2.3+",
            "1.2.3-a..b",
            "1.2.3+a..b",
            " 1.2.3",
            "1.2.3-é",
            "1.2.x",
            "1..2",
            "1.2.",
            "1.2.3.x",
            "1.2.3beta",
            "-1.2.3",
            "+1",
        ] {
            let err = SemverVersion::parse(bad).unwrap_err();
            assert_eq!(err.scheme, "SemVer");
            assert_eq!(err.input, bad);
        }
    }

    #[test]
    fn passes_the_semver_fixture() {
        crate::fixtures::assert_ordering_fixture("semver-versions.txt", Scheme::Semver, &[]);
    }

    /// Realistic versions over a small alphabet, so that ties and near-ties are common.
    fn version_strategy() -> impl proptest::strategy::Strategy<Value = String> {
        let number = "(0|[1-9][0-9]?)";
        let identifier = "(0|[1-9][0-9]?|[0-9a-c-]{0,2}[a-c-][0-9a-c-]{0,2})";
        proptest::string::string_regex(&format!(
            "v?0?{number}(\\.0?{number}(\\.{number}(\\.[0-9]{{1,2}}){{0,2}})?)?(-{identifier}(\\.{identifier}){{0,2}})?(\\+[0-9a-z-]{{1,3}})?"
        ))
        .expect("valid regex")
    }

    proptest::proptest! {
        #[test]
        fn obeys_the_order_laws(
            a in version_strategy(),
            b in version_strategy(),
            c in version_strategy(),
        ) {
            crate::order_laws::check_order_laws(Scheme::Semver, &a, &b, &c)?;
        }

        #[test]
        fn never_panics_and_round_trips_what_it_accepts(text in "\\PC{0,24}") {
            if let Ok(version) = Scheme::Semver.parse(&text) {
                crate::order_laws::check_round_trip(Scheme::Semver, &version)?;
            }
        }
    }
}
