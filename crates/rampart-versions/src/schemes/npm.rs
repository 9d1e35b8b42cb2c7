//! npm versions as node-semver reads them in loose mode (what `npm` does with package
//! metadata): surrounding whitespace and any run of `v`, `=` and whitespace before the number
//! are ignored, numbers may have leading zeros, and the `-` before a pre-release may be left
//! out (`1.2.3beta`, and even `1.2.30.4`, read as `1.2.3-0.4`). The order is SemVer
//! precedence with build metadata ignored.
//!
//! Like node-semver, [`NpmVersion::parse_strict`] rejects MAJOR, MINOR and PATCH above
//! 2^53-1. Deviation, on purpose: node-semver compares numeric pre-release identifiers above
//! 2^53-1 as imprecise floats; we compare them exactly.
//!
//! [`NpmVersion::parse`], what matching uses, falls back to OSV's lenient reading when
//! node-semver rejects the text (see [`super::semantic`]): `1.2` is `1.2.0`, numbers of any
//! size compare exactly, and `1.1.3.4.5` is `1.1.3+4.5`. Only rejected text takes that path,
//! so `1.2.30.4` stays node-semver's `1.2.3-0.4`.

use std::fmt;

use super::numeral::Numeral;
use super::semantic::{
    check_build, parse_component, parse_prerelease, parse_semver_like, Identifier, SemanticVersion,
};
use crate::VersionError;

const SCHEME: &str = "npm";
/// node-semver's `MAX_LENGTH`.
const MAX_LENGTH: usize = 256;
/// JavaScript's `Number.MAX_SAFE_INTEGER`, node-semver's bound on MAJOR, MINOR and PATCH.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

fn parse_number(text: &str) -> Result<Numeral, &'static str> {
    let number = parse_component(text, true)?;
    match number.as_u64() {
        Some(value) if value <= MAX_SAFE_INTEGER => Ok(number),
        _ => Err("version number above 2^53-1"),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct NpmVersion(SemanticVersion);

impl NpmVersion {
    /// Reads `input` the way OSV matches it: node-semver's loose grammar, else OSV's lenient
    /// reading.
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        parse_loose(input)
            .or_else(|_| parse_semver_like(input))
            .map(NpmVersion)
            .map_err(|reason| VersionError::new(SCHEME, input, reason))
    }

    /// Accepts only what node-semver accepts in loose mode.
    pub fn parse_strict(input: &str) -> Result<Self, VersionError> {
        parse_loose(input)
            .map(NpmVersion)
            .map_err(|reason| VersionError::new(SCHEME, input, reason))
    }

    pub fn semantic(&self) -> &SemanticVersion {
        &self.0
    }
}

fn parse_loose(input: &str) -> Result<SemanticVersion, &'static str> {
    if input.len() > MAX_LENGTH {
        return Err("longer than 256 characters");
    }
    let text = input
        .trim()
        .trim_start_matches(|c: char| c == 'v' || c == '=' || c.is_whitespace());
    if text.is_empty() {
        return Err("empty version");
    }
    let (rest, build) = match text.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (text, None),
    };
    let mut numbers = rest.splitn(3, '.');
    let (Some(major), Some(minor), Some(patch_and_pre)) =
        (numbers.next(), numbers.next(), numbers.next())
    else {
        return Err("expected MAJOR.MINOR.PATCH");
    };
    let (patch, pre) = split_patch_and_prerelease(patch_and_pre)?;
    if let Some(build) = build {
        check_build(build)?;
    }
    Ok(SemanticVersion {
        major: parse_number(major)?,
        minor: parse_number(minor)?,
        patch: parse_number(patch)?,
        pre,
        build: build.unwrap_or_default().into(),
    })
}

/// node-semver's loose pattern is `(\d+)(?:-?(PRERELEASE))?` after the minor number, matched
/// by a backtracking regex: the patch takes as many digits as still lets the rest be an
/// optional `-` and dot-separated identifiers. So `1.2.30.4` is `1.2.3-0.4` and `1.2.3-` is
/// `1.2.3--`, exactly as `npm` reads them.
fn split_patch_and_prerelease(text: &str) -> Result<(&str, Box<[Identifier]>), &'static str> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    for patch_length in (1..=digits).rev() {
        let (patch, rest) = text.split_at(patch_length);
        if rest.is_empty() {
            return Ok((patch, Box::default()));
        }
        let with_dash = rest
            .strip_prefix('-')
            .and_then(|after| parse_prerelease(after, true).ok());
        if let Some(pre) = with_dash.or_else(|| parse_prerelease(rest, true).ok()) {
            return Ok((patch, pre));
        }
    }
    Err(if digits == 0 {
        "expected MAJOR.MINOR.PATCH"
    } else {
        "invalid pre-release after MAJOR.MINOR.PATCH"
    })
}

impl fmt::Display for NpmVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scheme;

    fn v(s: &str) -> NpmVersion {
        NpmVersion::parse(s).unwrap()
    }

    #[test]
    fn reads_loose_spellings() {
        assert_eq!(v("  =v1.2.3  "), v("1.2.3"));
        assert_eq!(v("v 1.2.3"), v("1.2.3"));
        assert_eq!(v("1.2.3beta.1"), v("1.2.3-beta.1"));
        assert_eq!(v("01.02.03"), v("1.2.3"));
        assert_eq!(v("1.2.3-01"), v("1.2.3-1"));
        assert_eq!(v("1.2.3--x").to_string(), "1.2.3--x");
        // What node-semver 7.8.6 answers for `semver.parse(text, { loose: true }).version`.
        assert_eq!(v("v0.2.10.0").to_string(), "0.2.1-0.0");
        assert_eq!(v("1.2.3-").to_string(), "1.2.3--");
        assert_eq!(v("10.1.0-.a-b").to_string(), "10.1.0--.a-b");
        assert_eq!(v("=1.2.3-rc.1+build.5").to_string(), "1.2.3-rc.1+build.5");
    }

    #[test]
    fn orders_prereleases_and_ignores_build() {
        assert!(v("1.2.3-alpha") < v("1.2.3-alpha.0"));
        assert!(v("1.2.3-alpha.9") < v("1.2.3-alpha.10"));
        assert!(v("1.2.3-9") < v("1.2.3-a"));
        assert!(v("1.2.3-rc.1") < v("1.2.3"));
        assert_eq!(v("1.2.3+a"), v("1.2.3+b"));
    }

    #[test]
    fn strict_rejects_what_node_semver_rejects() {
        for bad in ["1.2", "1.2.3.4", "9007199254740992.0.0", "1.1.3.4.5"] {
            let err = NpmVersion::parse_strict(bad).unwrap_err();
            assert_eq!(err.scheme, "npm", "{bad}");
            assert!(NpmVersion::parse(bad).is_ok(), "OSV reads {bad}");
        }
        assert!(NpmVersion::parse_strict(&format!("1.2.3-{}", "a".repeat(300))).is_err());
    }

    #[test]
    fn reads_what_osv_reads_where_node_semver_gives_up() {
        assert_eq!(v("1.2").to_string(), "1.2.0");
        assert_eq!(v("1.1.3.4.5").to_string(), "1.1.3+4.5");
        assert_eq!(v("1.1.3.4.5"), v("1.1.3"));
        assert!(v("9007199254740992.0.0") > v("9007199254740991.0.0"));
        // node-semver accepts this one, so its reading stands.
        assert_eq!(v("1.2.30.4").to_string(), "1.2.3-0.4");
    }

    #[test]
    fn rejects_what_neither_node_semver_nor_osv_reads() {
        for bad in [
            "",
            "  ",
            "1.2.3-.",
            "1.2.3+",
            "1.2.3.beta",
            "1.2.3 beta",
            "a.b.c",
            "1.2.3-a..b",
            "~1.2.3",
            "^1.2.3",
            "1.2.*",
        ] {
            let err = NpmVersion::parse(bad).unwrap_err();
            assert_eq!(err.scheme, "npm", "{bad}");
        }
    }

    #[test]
    fn passes_the_semver_fixture() {
        crate::fixtures::assert_ordering_fixture("semver-versions.txt", Scheme::Npm, &[]);
    }

    /// Realistic versions over a small alphabet, so that ties and near-ties are common: what
    /// node-semver reads, and what only OSV's lenient reading accepts.
    fn version_strategy() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let number = "[0-9]{1,2}";
        let identifier = "([0-9]{1,2}|[0-9a-c-]{0,2}[a-c-][0-9a-c-]{0,2})";
        let build = "(\\+[0-9a-z-]{1,3})?";
        prop_oneof![
            proptest::string::string_regex(&format!(
                " ?[v=]{{0,2}}{number}\\.{number}\\.{number}((-|[a-c]){identifier}(\\.{identifier}){{0,2}})?{build}"
            ))
            .expect("valid regex"),
            proptest::string::string_regex(&format!(
                "v?{number}(\\.{number}){{0,4}}(-{identifier}(\\.{identifier}){{0,2}})?{build}"
            ))
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
            crate::order_laws::check_order_laws(Scheme::Npm, &a, &b, &c)?;
        }

        #[test]
        fn never_panics_and_round_trips_what_it_accepts(text in "\\PC{0,24}") {
            if let Ok(version) = Scheme::Npm.parse(&text) {
                crate::order_laws::check_round_trip(Scheme::Npm, &version)?;
            }
        }
    }

    #[test]
    fn matches_the_real_tool_on_random_pairs() {
        // See crates/rampart-versions/oracles/README.md.
        crate::fixtures::assert_oracle_fixture("npm-random.txt", Scheme::Npm);
    }
}
