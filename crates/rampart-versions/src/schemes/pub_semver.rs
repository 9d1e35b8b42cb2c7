//! Dart pub versions, as `package:pub_semver` orders them. Like SemVer, except that build
//! metadata is ordered too (a version with build metadata sorts after the same version
//! without, and builds compare like pre-releases), and that pre-release and build parts are
//! numbers whenever Dart's `int.tryParse` reads them as such: `-1`, `007` and even `0x1f`.
//!
//! Display gives pub's `canonicalizedVersion` (`01.02.03-01.dev+pre.02` → `1.2.3-1.dev+pre.2`).
//!
//! Deviation, on purpose: MAJOR, MINOR and PATCH larger than a 64-bit int are accepted and
//! compared exactly instead of rejected.
//!
//! [`PubVersion::parse`], what matching uses, falls back to OSV's lenient reading when
//! pub_semver rejects the text (see [`super::semantic`]): `v1.2.3` is `1.2.3`, `1.2` is
//! `1.2.0`, and numbers after the third lead the build, so `1.1.3.4.5` is `1.1.3+4.5` (and,
//! builds being ordered in pub, sorts after `1.1.3`). [`PubVersion::parse_strict`] is
//! pub_semver's grammar alone.

use std::cmp::Ordering;
use std::fmt;

use super::numeral::Numeral;
use super::semantic::split_semver_like;
use crate::VersionError;

const SCHEME: &str = "Pub";

#[derive(Debug, Clone)]
pub struct PubVersion {
    major: Numeral,
    minor: Numeral,
    patch: Numeral,
    pre: Box<[Part]>,
    build: Box<[Part]>,
}

/// A pre-release or build part: a Dart `int` when `int.tryParse` accepts it, else text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Number(i64),
    Text(Box<str>),
}

impl Ord for Part {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Part::Number(a), Part::Number(b)) => a.cmp(b),
            (Part::Number(_), Part::Text(_)) => Ordering::Less,
            (Part::Text(_), Part::Number(_)) => Ordering::Greater,
            (Part::Text(a), Part::Text(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Part {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Part::Number(n) => write!(f, "{n}"),
            Part::Text(s) => f.write_str(s),
        }
    }
}

impl Part {
    fn parse(text: &str) -> Result<Part, &'static str> {
        if text.is_empty() {
            return Err("empty pre-release or build part");
        }
        if !text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err("pre-release and build parts may hold only [0-9A-Za-z-]");
        }
        Ok(dart_int_try_parse(text).map_or_else(|| Part::Text(text.into()), Part::Number))
    }
}

/// Dart's `int.tryParse` without a radix, restricted to the characters a part can hold: an
/// optional `-`, then decimal digits or `0x` and hex digits. Decimal values outside the
/// 64-bit range are not ints; hex literals may use all 64 bits and wrap to negative.
fn dart_int_try_parse(text: &str) -> Option<i64> {
    let (negative, magnitude) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let hex = magnitude
        .strip_prefix("0x")
        .or_else(|| magnitude.strip_prefix("0X"));
    let value = match hex {
        Some(digits) => {
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            let significant = digits.trim_start_matches('0');
            if significant.len() > 16 {
                return None;
            }
            let bits = u64::from_str_radix(
                if significant.is_empty() {
                    "0"
                } else {
                    significant
                },
                16,
            )
            .ok()?;
            bits as i64
        }
        None => {
            if magnitude.is_empty() || !magnitude.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // Parse with the sign so that i64::MIN is in range.
            return text.parse::<i64>().ok();
        }
    };
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

fn parse_parts(text: &str) -> Result<Box<[Part]>, &'static str> {
    text.split('.').map(Part::parse).collect()
}

impl PubVersion {
    /// Reads `input` the way OSV matches it: pub_semver's grammar, else OSV's lenient reading.
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        Self::parse_text(input)
            .or_else(|_| Self::parse_semver_like(input))
            .map_err(|reason| VersionError::new(SCHEME, input, reason))
    }

    /// Accepts only what pub_semver accepts.
    pub fn parse_strict(input: &str) -> Result<Self, VersionError> {
        Self::parse_text(input).map_err(|reason| VersionError::new(SCHEME, input, reason))
    }

    fn parse_semver_like(text: &str) -> Result<Self, &'static str> {
        let parts = split_semver_like(text)?;
        let mut build = parts
            .extra
            .iter()
            .map(|digits| Part::parse(digits))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(written) = parts.build {
            build.extend(parse_parts(written)?);
        }
        Ok(PubVersion {
            major: parts.major,
            minor: parts.minor,
            patch: parts.patch,
            pre: parts.pre.map(parse_parts).transpose()?.unwrap_or_default(),
            build: build.into_boxed_slice(),
        })
    }

    fn parse_text(text: &str) -> Result<Self, &'static str> {
        if text.is_empty() {
            return Err("empty version");
        }
        let (rest, build) = match text.split_once('+') {
            Some((rest, build)) => (rest, Some(build)),
            None => (text, None),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (rest, None),
        };
        let mut numbers = core.split('.').map(|n| Numeral::from_digits(n).ok_or(()));
        let (Some(Ok(major)), Some(Ok(minor)), Some(Ok(patch)), None) = (
            numbers.next(),
            numbers.next(),
            numbers.next(),
            numbers.next(),
        ) else {
            return Err("expected MAJOR.MINOR.PATCH");
        };
        Ok(PubVersion {
            major,
            minor,
            patch,
            pre: pre.map(parse_parts).transpose()?.unwrap_or_default(),
            build: build.map(parse_parts).transpose()?.unwrap_or_default(),
        })
    }

    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }
}

impl Ord for PubVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.major
            .cmp(&other.major)
            .then_with(|| self.minor.cmp(&other.minor))
            .then_with(|| self.patch.cmp(&other.patch))
            // A pre-release sorts before its release; builds sort after theirs.
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                _ => self.pre.cmp(&other.pre),
            })
            .then_with(|| self.build.cmp(&other.build))
    }
}

impl PartialOrd for PubVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for PubVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for PubVersion {}

fn write_parts(f: &mut fmt::Formatter<'_>, lead: &str, parts: &[Part]) -> fmt::Result {
    for (i, part) in parts.iter().enumerate() {
        f.write_str(if i == 0 { lead } else { "." })?;
        write!(f, "{part}")?;
    }
    Ok(())
}

impl fmt::Display for PubVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        write_parts(f, "-", &self.pre)?;
        write_parts(f, "+", &self.build)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scheme;

    fn v(s: &str) -> PubVersion {
        PubVersion::parse(s).unwrap()
    }

    #[test]
    fn orders_build_metadata() {
        assert!(v("1.0.0") < v("1.0.0+1"));
        assert!(v("1.0.0+1") < v("1.0.0+1.0"));
        assert!(v("1.0.0+9") < v("1.0.0+a"));
        assert!(v("1.0.0-pre+build") < v("1.0.0"));
        assert!(v("1.2.3+9a") > v("1.2.3+1z"));
    }

    #[test]
    fn reads_parts_the_way_dart_int_try_parse_does() {
        assert_eq!(v("1.0.0-007"), v("1.0.0-7"));
        assert_eq!(v("1.0.0-0x10"), v("1.0.0-16"));
        assert!(v("1.0.0-a.-1") < v("1.0.0-a.0"));
        assert_eq!(v("1.0.0-0xffffffffffffffff"), v("1.0.0--1"));
        // Beyond 64 bits a part is text, which sorts after every number.
        assert!(v("1.0.0-99999999999999999999") > v("1.0.0-9223372036854775807"));
        assert_eq!(v("01.2.3-0x1F+b").to_string(), "1.2.3-31+b");
    }

    #[test]
    fn strict_rejects_what_pub_semver_rejects() {
        for bad in ["v1.2.3", "1.2", "1.2.3.4"] {
            assert_eq!(
                PubVersion::parse_strict(bad).unwrap_err().scheme,
                "Pub",
                "{bad}"
            );
            assert!(PubVersion::parse(bad).is_ok(), "OSV reads {bad}");
        }
    }

    #[test]
    fn reads_what_osv_reads() {
        assert_eq!(v("v1.2.3+b"), v("1.2.3+b"));
        assert_eq!(v("1.2").to_string(), "1.2.0");
        assert_eq!(v("1.1.3.4.5").to_string(), "1.1.3+4.5");
        assert_eq!(v("1.1.3.4-pre+b").to_string(), "1.1.3-pre+4.b");
        assert!(v("1.1.3.4.5") > v("1.1.3"));
        assert!(v("1.1.3.4.5") < v("1.1.4"));
    }

    #[test]
    fn rejects_invalid_versions() {
        for bad in [
            "",
            "v",
            "vv1.2.3",
            "1.2.3-",
            "1.2.3+",
            "1x2x3",
            "1.2.3-a_b",
            "1.2.x",
        ] {
            assert_eq!(PubVersion::parse(bad).unwrap_err().scheme, "Pub", "{bad}");
        }
    }

    #[test]
    fn passes_the_pub_fixture() {
        crate::fixtures::assert_ordering_fixture("pub-versions.txt", Scheme::Pub, &[]);
    }

    /// Realistic versions over a small alphabet, so that ties and near-ties are common.
    fn version_strategy() -> impl proptest::strategy::Strategy<Value = String> {
        let number = "[0-9]{1,2}";
        let part = "(-?[0-9]{1,2}|0x[0-9a-f]{1,2}|[a-c][0-9a-c-]{0,2})";
        proptest::string::string_regex(&format!(
            "v?{number}(\\.{number}(\\.{number}(\\.{number}){{0,2}})?)?(-{part}(\\.{part}){{0,2}})?(\\+{part}(\\.{part}){{0,2}})?"
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
            crate::order_laws::check_order_laws(Scheme::Pub, &a, &b, &c)?;
        }

        #[test]
        fn never_panics_and_round_trips_what_it_accepts(text in "\\PC{0,24}") {
            if let Ok(version) = Scheme::Pub.parse(&text) {
                crate::order_laws::check_round_trip(Scheme::Pub, &version)?;
            }
        }
    }
}
