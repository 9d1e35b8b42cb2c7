//! npm versions as node-semver reads them in loose mode (what `npm` does with package
//! metadata): surrounding whitespace and any run of `v`, `=` and whitespace before the number
//! are ignored, numbers may have leading zeros, and the `-` before a pre-release may be left
//! out (`1.2.3beta`). The order is SemVer precedence with build metadata ignored.
//!
//! Deviation, on purpose: node-semver rejects components above 2^53-1 and compares numeric
//! pre-release identifiers above that as imprecise floats; we compare them exactly.

use std::fmt;

use super::semantic::{check_build, parse_component, parse_prerelease, SemanticVersion};
use crate::VersionError;

const SCHEME: &str = "npm";
/// node-semver's `MAX_LENGTH`.
const MAX_LENGTH: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct NpmVersion(SemanticVersion);

impl NpmVersion {
    pub fn parse(input: &str) -> Result<Self, VersionError> {
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
    // MAJOR.MINOR.PATCH, then an optional pre-release that may omit its leading `-`.
    let mut numbers = [""; 3];
    let mut remainder = rest;
    for (index, slot) in numbers.iter_mut().enumerate() {
        if index > 0 {
            remainder = remainder
                .strip_prefix('.')
                .ok_or("expected MAJOR.MINOR.PATCH")?;
        }
        let digits = remainder.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err("expected MAJOR.MINOR.PATCH");
        }
        *slot = &remainder[..digits];
        remainder = &remainder[digits..];
    }
    let pre_text = remainder.strip_prefix('-').unwrap_or(remainder);
    let pre = if remainder.is_empty() {
        Box::default()
    } else {
        // Without a `-`, the pre-release must not start with a digit or a dot: the digits
        // would have been read as part of the patch number.
        if !remainder.starts_with('-') && !remainder.starts_with(|c: char| c.is_ascii_alphabetic())
        {
            return Err("unexpected text after MAJOR.MINOR.PATCH");
        }
        parse_prerelease(pre_text, true)?
    };
    if let Some(build) = build {
        check_build(build)?;
    }
    Ok(SemanticVersion {
        major: parse_component(numbers[0], true)?,
        minor: parse_component(numbers[1], true)?,
        patch: parse_component(numbers[2], true)?,
        pre,
        build: build.unwrap_or_default().into(),
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
    fn rejects_what_node_semver_rejects() {
        for bad in [
            "",
            "  ",
            "1.2",
            "1.2.3.4",
            "1.2.3-",
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
        assert!(NpmVersion::parse(&format!("1.2.3-{}", "a".repeat(300))).is_err());
    }

    #[test]
    fn passes_the_semver_fixture() {
        // node-semver wants exactly three numbers.
        crate::fixtures::assert_ordering_fixture(
            "semver-versions.txt",
            Scheme::Npm,
            &|text| {
                text.split(['-', '+'])
                    .next()
                    .unwrap_or("")
                    .split('.')
                    .count()
                    != 3
            },
            &[],
        );
    }

    /// Realistic versions over a small alphabet, so that ties and near-ties are common.
    fn version_strategy() -> impl proptest::strategy::Strategy<Value = String> {
        let number = "[0-9]{1,2}";
        let identifier = "([0-9]{1,2}|[0-9a-c-]{0,2}[a-c-][0-9a-c-]{0,2})";
        proptest::string::string_regex(&format!(
            " ?[v=]{{0,2}}{number}\\.{number}\\.{number}((-|[a-c]){identifier}(\\.{identifier}){{0,2}})?(\\+[0-9a-z-]{{1,3}})?"
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
            crate::order_laws::check_order_laws(Scheme::Npm, &a, &b, &c)?;
        }

        #[test]
        fn never_panics_and_round_trips_what_it_accepts(text in "\\PC{0,24}") {
            if let Ok(version) = Scheme::Npm.parse(&text) {
                crate::order_laws::check_round_trip(Scheme::Npm, &version)?;
            }
        }
    }
}
