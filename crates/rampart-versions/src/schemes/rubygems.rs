//! RubyGems versions, ordered like `Gem::Version#<=>`: the version is split into numeric and
//! alphabetic segments (`1.0.a10` is `1, 0, "a", 10`), a `-` means `.pre.`, any letter makes a
//! pre-release (a string segment sorts before any number), and trailing zeros are ignored both
//! in the release part and after the first string segment (`1.0 == 1`, `1.a.0 == 1.a`).

use std::cmp::Ordering;

use super::support::{canonical_decimal, cmp_decimal, ordering_from_cmp_and_display_from_text};
use crate::VersionError;

const SCHEME: &str = "RubyGems";

#[derive(Debug, Clone)]
pub struct RubyGemsVersion {
    text: String,
    /// `Gem::Version#canonical_segments`.
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// Decimal digits without leading zeros ("" is zero).
    Number(String),
    Text(String),
}

impl Segment {
    fn is_zero(&self) -> bool {
        matches!(self, Segment::Number(digits) if digits.is_empty())
    }
}

impl RubyGemsVersion {
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(VersionError::new(SCHEME, input, "empty version"));
        }
        if !matches_gem_version_pattern(text) {
            return Err(VersionError::new(
                SCHEME,
                input,
                "expected digits, then dot-separated letters or digits, then an optional -suffix",
            ));
        }
        Ok(Self {
            text: text.to_string(),
            segments: canonical_segments(text),
        })
    }
}

/// `Gem::Version::VERSION_PATTERN`, `\d+(\.[0-9a-zA-Z]+)*(-[0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*)?`,
/// except that the first part may continue with letters (`1beta`).
fn matches_gem_version_pattern(text: &str) -> bool {
    let (release, pre) = match text.split_once('-') {
        Some((release, pre)) => (release, Some(pre)),
        None => (text, None),
    };
    let mut release_parts = release.split('.');
    // Gem::Version wants only digits before the first dot; the peers' fixtures (and gems in
    // the wild) also have `1beta`, which splits into segments the same way, so it is accepted.
    let first_starts_with_number = release_parts.next().is_some_and(|p| {
        p.starts_with(|c: char| c.is_ascii_digit()) && p.bytes().all(|b| b.is_ascii_alphanumeric())
    });
    let rest_alphanumeric =
        release_parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    let pre_valid = pre.is_none_or(|pre| {
        pre.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    });
    first_starts_with_number && rest_alphanumeric && pre_valid
}

fn canonical_segments(text: &str) -> Vec<Segment> {
    // Gem::Version treats "-" as ".pre."; the resulting "pre" is a segment like any other.
    let expanded = text.replace('-', ".pre.");
    let bytes = expanded.as_bytes();
    let mut segments = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        if bytes[i].is_ascii_digit() {
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            segments.push(Segment::Number(canonical_decimal(&expanded[start..i])));
        } else if bytes[i].is_ascii_alphabetic() {
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            segments.push(Segment::Text(expanded[start..i].to_string()));
        } else {
            i += 1;
        }
    }
    // Drop trailing zeros separately from the release part and from the pre-release part.
    let string_start = segments
        .iter()
        .position(|s| matches!(s, Segment::Text(_)))
        .unwrap_or(segments.len());
    let mut pre_release = segments.split_off(string_start);
    while pre_release.last().is_some_and(Segment::is_zero) {
        pre_release.pop();
    }
    while segments.last().is_some_and(Segment::is_zero) {
        segments.pop();
    }
    segments.extend(pre_release);
    segments
}

impl Ord for RubyGemsVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let zero = Segment::Number(String::new());
        let length = self.segments.len().max(other.segments.len());
        for index in 0..length {
            let left = self.segments.get(index).unwrap_or(&zero);
            let right = other.segments.get(index).unwrap_or(&zero);
            let order = match (left, right) {
                (Segment::Number(a), Segment::Number(b)) => cmp_decimal(a, b),
                (Segment::Text(a), Segment::Text(b)) => a.cmp(b),
                (Segment::Text(_), Segment::Number(_)) => Ordering::Less,
                (Segment::Number(_), Segment::Text(_)) => Ordering::Greater,
            };
            if order != Ordering::Equal {
                return order;
            }
        }
        Ordering::Equal
    }
}

ordering_from_cmp_and_display_from_text!(RubyGemsVersion);

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> RubyGemsVersion {
        RubyGemsVersion::parse(s).unwrap()
    }

    #[test]
    fn trailing_zeros_are_ignored_in_both_parts() {
        assert_eq!(v("1.0"), v("1"));
        assert_eq!(v("1.0.0"), v("1"));
        assert_eq!(v("1.a.0"), v("1.a"));
        assert_eq!(v("1.0.a2"), v("1.0.a.2"));
        assert_eq!(v("1.01"), v("1.1"));
    }

    #[test]
    fn letters_make_pre_releases() {
        assert!(v("1.0.b1") < v("1.0"));
        assert!(v("1beta") < v("1"));
        assert!(v("1.0.a.2") < v("1.0.b1"));
        assert!(v("1.0.a9") < v("1.0.a10"));
        assert!(v("1.0.rc1") > v("1.0.beta9"));
        // Strings compare by bytes: upper case before lower case.
        assert!(v("1.0.RC1") < v("1.0.beta"));
    }

    #[test]
    fn hyphen_means_pre() {
        assert_eq!(v("1.0-1"), v("1.0.pre.1"));
        assert!(v("1.0-1") < v("1.0"));
        assert!(v("1.0.0-rc1") < v("1.0.0"));
        assert!(RubyGemsVersion::parse("1.0-beta-2").is_ok());
    }

    #[test]
    fn rejects_what_gem_version_rejects() {
        for bad in [
            "", " ", "a1", "1..0", "1.0.", "1.0-", "1.0_1", "1 0", ".1", "1.0+b",
        ] {
            let error = RubyGemsVersion::parse(bad).unwrap_err();
            assert_eq!(error.scheme, SCHEME);
            assert_eq!(error.input, bad);
        }
    }
}
