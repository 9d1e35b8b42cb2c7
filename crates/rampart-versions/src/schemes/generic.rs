//! Fallback order for ecosystems without a scheme of their own: runs of digits compare
//! numerically (any length), runs of letters case-insensitively, other characters only
//! separate. A leading `v` before a digit is ignored (`v1.2 == 1.2`), and so are trailing zero
//! numbers (`1.0 == 1.0.0`). A letter run where the other version has ended or has a number
//! sorts first, so a trailing word is a pre-release (`1.0-rc1 < 1.0 < 1.0.1`), which is what
//! most projects mean.

use std::cmp::Ordering;
use std::fmt;

use super::support::{canonical_decimal, cmp_decimal};
use crate::VersionError;

#[derive(Debug, Clone)]
pub struct GenericVersion {
    text: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Text(String),
    /// Decimal digits without leading zeros ("" is zero).
    Number(String),
}

impl GenericVersion {
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(VersionError::new("generic", input, "empty version"));
        }
        // `v1.2` is how tags spell release 1.2; a `v` before anything else is a word.
        let body = match trimmed.strip_prefix(['v', 'V']) {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
            _ => trimmed,
        };
        let mut segments = Vec::new();
        let mut chars = body.char_indices().peekable();
        while let Some(&(start, c)) = chars.peek() {
            let same_kind: fn(char) -> bool = if c.is_ascii_digit() {
                |d| d.is_ascii_digit()
            } else if c.is_alphabetic() {
                char::is_alphabetic
            } else {
                chars.next();
                continue;
            };
            let mut end = start;
            while let Some(&(i, d)) = chars.peek() {
                if !same_kind(d) {
                    break;
                }
                end = i + d.len_utf8();
                chars.next();
            }
            let run = &body[start..end];
            segments.push(if c.is_ascii_digit() {
                Segment::Number(canonical_decimal(run))
            } else {
                Segment::Text(run.to_lowercase())
            });
        }
        if segments.is_empty() {
            return Err(VersionError::new(
                "generic",
                input,
                "no letters or digits in version",
            ));
        }
        Ok(Self {
            text: trimmed.to_string(),
            segments,
        })
    }
}

/// Where a segment (or its absence, `None`) sorts: text first, then zero and nothing alike,
/// then other numbers.
fn cmp_segments(a: Option<&Segment>, b: Option<&Segment>) -> Ordering {
    match (a, b) {
        (Some(Segment::Text(x)), Some(Segment::Text(y))) => x.cmp(y),
        (Some(Segment::Text(_)), _) => Ordering::Less,
        (_, Some(Segment::Text(_))) => Ordering::Greater,
        (Some(Segment::Number(x)), Some(Segment::Number(y))) => cmp_decimal(x, y),
        // A missing segment counts as zero.
        (Some(Segment::Number(x)), None) => cmp_decimal(x, ""),
        (None, Some(Segment::Number(y))) => cmp_decimal("", y),
        (None, None) => Ordering::Equal,
    }
}

impl Ord for GenericVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let length = self.segments.len().max(other.segments.len());
        for index in 0..length {
            match cmp_segments(self.segments.get(index), other.segments.get(index)) {
                Ordering::Equal => {}
                unequal => return unequal,
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for GenericVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for GenericVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for GenericVersion {}

impl fmt::Display for GenericVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> GenericVersion {
        GenericVersion::parse(s).unwrap()
    }

    #[test]
    fn orders_numbers_numerically_and_prereleases_first() {
        assert!(v("1.2") < v("1.10"));
        assert!(v("1.0") < v("1.0.1"));
        assert!(v("1.0-rc1") < v("1.0"));
        assert!(v("1.0-rc1") < v("1.0.0"));
        assert!(v("1.0.0-rc1") < v("1.0"));
        assert!(v("1.0-alpha") < v("1.0-beta"));
        assert_eq!(v("1.02"), v("1.2"));
        assert!(GenericVersion::parse("  ").is_err());
        assert!(GenericVersion::parse("-.-").is_err());
    }

    #[test]
    fn ignores_trailing_zeros_and_a_v_prefix() {
        assert_eq!(v("1.0"), v("1.0.0"));
        assert_eq!(v("1"), v("1.0.0.0"));
        assert_eq!(v("v1.2.3"), v("1.2.3"));
        assert_eq!(v("V1.2"), v("1.2.0"));
        assert!(v("v1.2.3") > v("0.9"));
        // Not a prefix: a word that happens to start with v.
        assert!(v("very") < v("1"));
    }

    #[test]
    fn numbers_of_any_length() {
        assert!(v("1.99999999999999999999999999999999999999999") < v("2"));
        assert!(v("20240101000000000000000000000000000000000001") > v("20240101"));
    }

    #[test]
    fn case_insensitive_words() {
        assert_eq!(v("1.0-RC1"), v("1.0-rc1"));
    }
}
