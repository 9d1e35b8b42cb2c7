//! Packagist (Composer) versions, ordered like PHP's `version_compare` as Composer applies it:
//! an optional `v`/`V` prefix is dropped, `-`, `_` and `+` become `.`, a `.` is inserted where
//! digits meet non-digits (`1.0rc1` is `1.0.rc.1`), and the parts compare left to right.
//! Numbers compare numerically (any size); words by their stability: `dev` < `alpha`/`a` <
//! `beta`/`b` < `RC`/`rc` < a release < `patch`/`pl`/`p` (prefix and case-sensitive matches, as
//! in PHP); unknown words sort below `dev`.
//! A number part ranks as a release; a missing part ranks as a release too but below any
//! number, so `1.0 < 1.0.0 < 1.0.0.1`, `1.0-dev < 1.0 < 1.0pl1` and `dev-foo < 1.0`.

use std::cmp::Ordering;

use super::support::{canonical_decimal, cmp_decimal, ordering_from_cmp_and_display_from_text};
use crate::VersionError;

const SCHEME: &str = "Packagist";

/// `version_compare`'s rank of a release (a number, `#`, or nothing).
const RELEASE_RANK: i8 = 4;
/// PHP ranks words it does not know below every known form, `dev` included.
const UNKNOWN_WORD_RANK: i8 = -6;

#[derive(Debug, Clone)]
pub struct ComposerVersion {
    text: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Decimal digits without leading zeros ("" is zero).
    Number(String),
    /// A non-numeric part, by its stability rank.
    Word(i8),
}

impl ComposerVersion {
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        let text = input.trim();
        if text.chars().any(char::is_whitespace) {
            return Err(VersionError::new(
                SCHEME,
                input,
                "version contains whitespace",
            ));
        }
        let unprefixed = text
            .strip_prefix('v')
            .or_else(|| text.strip_prefix('V'))
            .unwrap_or(text);
        let parts = split_parts(unprefixed);
        if parts.is_empty() {
            return Err(VersionError::new(SCHEME, input, "no version parts"));
        }
        Ok(Self {
            text: text.to_string(),
            parts,
        })
    }
}

/// Splits into `version_compare` parts: `.`, `-`, `_`, `+` separate, and so does every change
/// between digits and non-digits. Empty parts (`1..2`) are skipped, as PHP's tokenizer does.
fn split_parts(version: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let flush = |current: &mut String, parts: &mut Vec<Part>| {
        if current.is_empty() {
            return;
        }
        let part = if current.bytes().all(|b| b.is_ascii_digit()) {
            Part::Number(canonical_decimal(current))
        } else {
            Part::Word(word_rank(current))
        };
        parts.push(part);
        current.clear();
    };
    for c in version.chars() {
        if matches!(c, '.' | '-' | '_' | '+') {
            flush(&mut current, &mut parts);
            continue;
        }
        let switches_kind = current
            .chars()
            .last()
            .is_some_and(|last| last.is_ascii_digit() != c.is_ascii_digit());
        if switches_kind {
            flush(&mut current, &mut parts);
        }
        current.push(c);
    }
    flush(&mut current, &mut parts);
    parts
}

/// `version_compare`'s special forms, matched by prefix and case-sensitively as PHP does
/// (`patch` is `p`, `alpha` is `a`, `RC` and `rc` are both known, but `BETA` is not: the
/// peers' fixtures pin `1.9.0-ALPHA.1 = 1.9.0-BETA.1`).
fn word_rank(word: &str) -> i8 {
    const FORMS: [(&str, i8); 10] = [
        ("dev", 0),
        ("alpha", 1),
        ("a", 1),
        ("beta", 2),
        ("b", 2),
        ("RC", 3),
        ("rc", 3),
        ("#", RELEASE_RANK),
        ("pl", 5),
        ("p", 5),
    ];
    FORMS
        .iter()
        .find(|(form, _)| word.starts_with(form))
        .map_or(UNKNOWN_WORD_RANK, |(_, rank)| *rank)
}

impl Ord for ComposerVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let length = self.parts.len().max(other.parts.len());
        for index in 0..length {
            let (rank_a, number_a) = rank(self.parts.get(index));
            let (rank_b, number_b) = rank(other.parts.get(index));
            let order = rank_a
                .cmp(&rank_b)
                .then_with(|| match (number_a, number_b) {
                    (Some(a), Some(b)) => cmp_decimal(a, b),
                    (a, b) => a.is_some().cmp(&b.is_some()),
                });
            if order != Ordering::Equal {
                return order;
            }
        }
        Ordering::Equal
    }
}

/// Where a part (or its absence) ranks: words by stability; numbers, `#` and a missing part
/// rank as a release, and among those a number beats the others (`1.0.0 > 1.0`). PHP itself
/// also calls a number equal to `#`, which cannot hold together with `# == nothing` in a
/// total order; the number wins here.
fn rank(part: Option<&Part>) -> (i8, Option<&str>) {
    match part {
        Some(Part::Number(digits)) => (RELEASE_RANK, Some(digits)),
        Some(Part::Word(rank)) => (*rank, None),
        None => (RELEASE_RANK, None),
    }
}

ordering_from_cmp_and_display_from_text!(ComposerVersion);

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> ComposerVersion {
        ComposerVersion::parse(s).unwrap()
    }

    #[test]
    fn stability_order() {
        let ordered = [
            "1.0-dev",
            "1.0alpha1",
            "1.0a2",
            "1.0-beta1",
            "1.0b2",
            "1.0RC1",
            "1.0rc2",
            "1.0",
            "1.0pl1",
            "1.0-patch2",
        ];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(v("1.0RC1"), v("1.0rc1"));
        // Upper-case words other than RC are unknown to PHP, and unknown words rank lowest.
        assert_eq!(v("1.0-ALPHA1"), v("1.0-BETA1"));
        assert!(v("1.0-BETA1") < v("1.0-dev"));
    }

    #[test]
    fn separators_and_prefix() {
        assert_eq!(v("1.25.0-beta2.1"), v("1.25.0-b.2.1"));
        assert_eq!(v("1.0.0rc2"), v("1.0.0.rc2"));
        assert_eq!(v("v1.0.0"), v("V1.0.0"));
        assert_eq!(v("v1.0"), v("1.0"));
        assert_eq!(v("1_0+1"), v("1.0.1"));
    }

    #[test]
    fn more_numbers_is_later_and_branches_are_earliest() {
        assert!(v("1.0.0") > v("1.0"));
        assert!(v("1.0.0.1") > v("1.0.0"));
        assert!(v("dev-foo") < v("1.26.0"));
        assert!(v("dev-master") < v("0.0.1-dev"));
        assert!(v("1.0-foo") < v("1.0-dev"));
        assert!(v("999999999999999999999999999991") < v("999999999999999999999999999999"));
    }

    #[test]
    fn rejects_empty_and_blank_versions() {
        for bad in ["", "v", " ", "...", "1.0 beta"] {
            let error = ComposerVersion::parse(bad).unwrap_err();
            assert_eq!(error.scheme, SCHEME);
            assert_eq!(error.input, bad);
        }
    }
}
