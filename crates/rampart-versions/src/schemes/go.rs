//! Go module versions (golang.org/x/mod/semver): SemVer with a `v` prefix, the `vMAJOR` and
//! `vMAJOR.MINOR` shorthands, `+incompatible` as ordinary (ignored) build metadata, and
//! pseudo-versions, which are pre-releases and so order correctly with no special case.
//!
//! OSV records Go versions without the `v` (`1.2.3`, `0.0.0-20210101000000-abcdef123456`),
//! so the prefix is optional here. Go toolchain tags (`go1.21rc2`, `go1.9.2`), as reported
//! for the standard library, are read the way the Go vulnerability database maps them to
//! SemVer: `go1.21rc2` is `v1.21.0-rc.2`, `go1.21` is `v1.21.0`.
//!
//! [`GoVersion::parse`], what matching uses, falls back to OSV's lenient reading when
//! x/mod/semver rejects a module version (see [`super::semantic`]): `1.1.3.4.5` is
//! `v1.1.3+4.5`, `v01.2.3` is `v1.2.3`. [`GoVersion::parse_strict`] is x/mod's grammar alone.

use std::fmt;

use super::numeral::Numeral;
use super::semantic::{parse_semver_like, Identifier, SemanticVersion};
use super::semver::parse_strict;
use crate::VersionError;

const SCHEME: &str = "Go";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct GoVersion(SemanticVersion);

impl GoVersion {
    /// Reads `input` the way OSV matches it: x/mod's grammar (with the `v` optional) or a
    /// toolchain tag, else OSV's lenient reading.
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        Self::parse_with(input, true)
    }

    /// Accepts module versions as x/mod/semver does (`v` optional) and toolchain tags.
    pub fn parse_strict(input: &str) -> Result<Self, VersionError> {
        Self::parse_with(input, false)
    }

    fn parse_with(input: &str, lenient: bool) -> Result<Self, VersionError> {
        let result = match input.strip_prefix("go") {
            Some(tag) => parse_toolchain_tag(tag),
            None => {
                let module = parse_module_version(input.strip_prefix('v').unwrap_or(input));
                if lenient {
                    module.or_else(|_| parse_semver_like(input))
                } else {
                    module
                }
            }
        };
        result
            .map(GoVersion)
            .map_err(|reason| VersionError::new(SCHEME, input, reason))
    }

    pub fn semantic(&self) -> &SemanticVersion {
        &self.0
    }

    /// True for `+incompatible` versions: a v2+ module without a `/vN` module path.
    pub fn is_incompatible(&self) -> bool {
        &*self.0.build == "incompatible"
    }
}

fn parse_module_version(text: &str) -> Result<SemanticVersion, &'static str> {
    // The shorthands carry neither pre-release nor build: `v1.2-pre` is invalid in Go.
    if !text.contains(['-', '+']) {
        let mut parts = text.split('.');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(major), None, None) => return shorthand(major, "0"),
            (Some(major), Some(minor), None) => return shorthand(major, minor),
            _ => {}
        }
    }
    parse_strict(text)
}

fn shorthand(major: &str, minor: &str) -> Result<SemanticVersion, &'static str> {
    parse_strict(&format!("{major}.{minor}.0"))
}

/// `1.21rc2`, `1.9.2`, `1.21`, `1.19beta1` (after the `go`).
fn parse_toolchain_tag(tag: &str) -> Result<SemanticVersion, &'static str> {
    let suffix_start = tag
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(tag.len());
    let (numbers, suffix) = tag.split_at(suffix_start);
    let mut version = match numbers.split('.').count() {
        1 | 2 => parse_module_version(numbers)?,
        3 => parse_strict(numbers)?,
        _ => return Err("expected go1.N[.P][betaN|rcN]"),
    };
    if !suffix.is_empty() {
        let digits_start = suffix
            .find(|c: char| c.is_ascii_digit())
            .ok_or("toolchain pre-release needs a number, as in go1.21rc1")?;
        let (kind, number) = suffix.split_at(digits_start);
        if !matches!(kind, "alpha" | "beta" | "rc") {
            return Err("toolchain pre-release must be alpha, beta or rc");
        }
        if number.len() > 1 && number.starts_with('0') {
            return Err("toolchain pre-release number with a leading zero");
        }
        let number = Numeral::from_digits(number).ok_or("toolchain pre-release number")?;
        version.pre = vec![
            Identifier::Alphanumeric(kind.into()),
            Identifier::Numeric(number),
        ]
        .into_boxed_slice();
    }
    Ok(version)
}

impl fmt::Display for GoVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scheme;

    fn v(s: &str) -> GoVersion {
        GoVersion::parse(s).unwrap()
    }

    #[test]
    fn accepts_osv_and_module_spellings() {
        assert_eq!(v("v1.2.3"), v("1.2.3"));
        assert_eq!(v("v1"), v("v1.0.0"));
        assert_eq!(v("v1.2"), v("v1.2.0"));
        assert_eq!(v("v1.2").to_string(), "v1.2.0");
        assert_eq!(v("2.0.0+incompatible").to_string(), "v2.0.0+incompatible");
        assert!(v("v2.0.0+incompatible").is_incompatible());
        assert_eq!(v("v2.0.0+incompatible"), v("v2.0.0"));
    }

    #[test]
    fn orders_pseudo_versions_between_their_neighbours() {
        // vX.0.0-timestamp-hash: before any release of that major.
        assert!(v("v0.0.0-20190101000000-abcdefabcdef") < v("v0.0.0-20200101000000-abcdefabcdef"));
        assert!(v("v0.0.0-20200101000000-abcdefabcdef") < v("v0.0.1"));
        // vX.Y.(Z+1)-0.timestamp-hash: after vX.Y.Z, before vX.Y.(Z+1) and its pre-releases.
        assert!(v("v1.2.3") < v("v1.2.4-0.20200101000000-abcdefabcdef"));
        assert!(v("v1.2.4-0.20200101000000-abcdefabcdef") < v("v1.2.4-alpha"));
        // vX.Y.Z-pre.0.timestamp-hash: after vX.Y.Z-pre.
        assert!(v("v1.2.4-pre") < v("v1.2.4-pre.0.20200101000000-abcdefabcdef"));
        assert!(v("v1.2.4-pre.0.20200101000000-abcdefabcdef") < v("v1.2.4-pre.1"));
    }

    #[test]
    fn reads_toolchain_tags() {
        assert_eq!(v("go1.21rc2"), v("1.21.0-rc.2"));
        assert_eq!(v("go1.19beta1").to_string(), "v1.19.0-beta.1");
        assert_eq!(v("go1.9.2"), v("v1.9.2"));
        assert_eq!(v("go1.21"), v("1.21.0"));
        assert!(v("go1.21rc2") < v("go1.21.0"));
        assert!(v("go1.20.14") < v("go1.21rc1"));
    }

    #[test]
    fn strict_rejects_what_x_mod_rejects() {
        for bad in ["v1.2-pre", "v1-pre", "v01.2.3", "v1.2.3-01", "v1.2.3.4"] {
            assert_eq!(
                GoVersion::parse_strict(bad).unwrap_err().scheme,
                "Go",
                "{bad}"
            );
            assert!(GoVersion::parse(bad).is_ok(), "OSV reads {bad}");
        }
        assert_eq!(v("v1.2-pre").to_string(), "v1.2.0-pre");
        assert_eq!(v("1.1.3.4.5").to_string(), "v1.1.3+4.5");
        assert_eq!(v("1.1.3.4.5"), v("v1.1.3"));
    }

    #[test]
    fn rejects_what_neither_x_mod_nor_osv_reads() {
        for bad in [
            "",
            "v",
            "vv1.2.3",
            "v1.2.3+",
            "v1.2.3-",
            "V1.2.3",
            "go",
            "go1.21x1",
            "go1.21rc",
            "go1.2.3.4",
            " v1.2.3",
            "v1.2.x",
        ] {
            assert_eq!(GoVersion::parse(bad).unwrap_err().scheme, "Go", "{bad}");
        }
    }

    #[test]
    fn passes_the_semver_fixture() {
        crate::fixtures::assert_ordering_fixture("semver-versions.txt", Scheme::Go, &[]);
    }

    /// Realistic versions over a small alphabet, so that ties and near-ties are common.
    fn version_strategy() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let number = "(0|[1-9][0-9]?)";
        let identifier = "(0|[1-9][0-9]?|[0-9a-c-]{0,2}[a-c-][0-9a-c-]{0,2})";
        let release = format!(
            "v?{number}(\\.{number}(\\.{number}(-{identifier}(\\.{identifier}){{0,2}})?(\\+incompatible)?)?)?"
        );
        // What only OSV's lenient reading accepts.
        let lenient = format!(
            "v?0?{number}(\\.{number}){{0,4}}(-0?{number}(\\.{identifier}){{0,2}})?(\\+[a-z]{{1,3}})?"
        );
        prop_oneof![
            proptest::string::string_regex(&release).expect("valid regex"),
            proptest::string::string_regex(&lenient).expect("valid regex"),
            proptest::string::string_regex(
                "v?[0-2]\\.[0-2]\\.[0-2](-0\\.|-pre\\.0\\.|-)20[12][0-9]{2}[01][0-9]{7}-[0-9a-f]{12}"
            )
            .expect("valid regex"),
            proptest::string::string_regex("go1\\.(0|[1-9][0-9]?)(\\.[0-9])?((beta|rc)[1-3])?")
                .expect("valid regex"),
        ]
    }

    proptest::proptest! {
        #[test]
        fn obeys_the_order_laws(
            a in version_strategy(),
            b in version_strategy(),
            c in version_strategy(),
        ) {
            crate::order_laws::check_order_laws(Scheme::Go, &a, &b, &c)?;
        }

        #[test]
        fn never_panics_and_round_trips_what_it_accepts(text in "\\PC{0,24}") {
            if let Ok(version) = Scheme::Go.parse(&text) {
                crate::order_laws::check_round_trip(Scheme::Go, &version)?;
            }
        }
    }

    #[test]
    fn matches_the_real_tool_on_random_pairs() {
        // See crates/rampart-versions/oracles/README.md.
        crate::fixtures::assert_oracle_fixture("go-random.txt", Scheme::Go);
    }
}
