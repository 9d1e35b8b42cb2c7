//! Versions that are plain lists of non-negative integers, compared lexicographically with a
//! longer list greater than its prefix (`1.0 < 1.0.0`):
//! - CRAN, like R's `package_version`: numbers separated by `.` or `-`;
//! - Hackage, like Haskell's `Data.Version` under the PVP: numbers separated by `.`.

use std::cmp::Ordering;

use super::support::{canonical_decimal, cmp_decimal, ordering_from_cmp_and_display_from_text};
use crate::VersionError;

/// Parses `input` as digit runs separated by any of `separators`; every run must be non-empty.
fn parse_numbers(
    scheme: &'static str,
    input: &str,
    separators: &[char],
) -> Result<(String, Vec<String>), VersionError> {
    let text = input.trim();
    if text.is_empty() {
        return Err(VersionError::new(scheme, input, "empty version"));
    }
    let mut numbers = Vec::new();
    for part in text.split(separators) {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(VersionError::new(
                scheme,
                input,
                "expected non-negative integers separated by dots",
            ));
        }
        numbers.push(canonical_decimal(part));
    }
    Ok((text.to_string(), numbers))
}

fn cmp_numbers(a: &[String], b: &[String]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        match cmp_decimal(x, y) {
            Ordering::Equal => {}
            unequal => return unequal,
        }
    }
    a.len().cmp(&b.len())
}

/// A CRAN package version (`0.1-2`, `1.0.3`). R requires at least two numbers; archived
/// packages still carry single-number versions, so one is accepted.
#[derive(Debug, Clone)]
pub struct CranVersion {
    text: String,
    numbers: Vec<String>,
}

impl CranVersion {
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        let (text, numbers) = parse_numbers("CRAN", input, &['.', '-'])?;
        Ok(Self { text, numbers })
    }
}

impl Ord for CranVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_numbers(&self.numbers, &other.numbers)
    }
}

ordering_from_cmp_and_display_from_text!(CranVersion);

/// A Hackage package version (`1.0.2.1`).
#[derive(Debug, Clone)]
pub struct HackageVersion {
    text: String,
    numbers: Vec<String>,
}

impl HackageVersion {
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        let (text, numbers) = parse_numbers("Hackage", input, &['.'])?;
        Ok(Self { text, numbers })
    }
}

impl Ord for HackageVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_numbers(&self.numbers, &other.numbers)
    }
}

ordering_from_cmp_and_display_from_text!(HackageVersion);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cran_treats_dash_as_dot_and_longer_as_greater() {
        let v = |s| CranVersion::parse(s).unwrap();
        assert_eq!(v("0.01.0"), v("0.1-0"));
        assert!(v("0.9") < v("0.75"));
        assert!(v("0.1.0") < v("0.1.0.0"));
        assert!(v("1.0-1") > v("1.0"));
    }

    #[test]
    fn hackage_compares_integer_lists() {
        let v = |s| HackageVersion::parse(s).unwrap();
        assert!(v("1.0") < v("1.0.0"));
        assert!(v("0.11.3.0") < v("1.0"));
        assert_eq!(v("01.2"), v("1.2"));
        assert!(HackageVersion::parse("1.0-1").is_err());
    }

    #[test]
    fn rejects_non_numeric_and_empty_parts() {
        for bad in ["", "1.", ".1", "1..2", "1.0a", "v1.0", "1.0-rc1"] {
            let error = CranVersion::parse(bad).unwrap_err();
            assert_eq!(error.scheme, "CRAN");
            assert_eq!(error.input, bad);
            assert!(HackageVersion::parse(bad).is_err(), "{bad:?}");
        }
    }
}
