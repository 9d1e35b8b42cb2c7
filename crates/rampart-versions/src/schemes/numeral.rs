//! Unbounded non-negative integers as version components. Most components fit in a `u64`
//! and compare without touching the heap; longer ones (date stamps glued together, hashes of
//! digits) keep their digits and compare by length, then lexically.

use std::cmp::Ordering;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Numeral {
    Small(u64),
    /// Digits without leading zeros, always larger than `u64::MAX`.
    Big(Box<str>),
}

impl Numeral {
    pub const ZERO: Numeral = Numeral::Small(0);

    /// Parses a non-empty run of ASCII digits; leading zeros are ignored. `None` if `digits`
    /// is empty or holds anything but ASCII digits.
    pub fn from_digits(digits: &str) -> Option<Numeral> {
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let significant = digits.trim_start_matches('0');
        if significant.is_empty() {
            return Some(Numeral::ZERO);
        }
        Some(match significant.parse::<u64>() {
            Ok(value) => Numeral::Small(value),
            Err(_) => Numeral::Big(significant.into()),
        })
    }

    pub fn is_zero(&self) -> bool {
        matches!(self, Numeral::Small(0))
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Numeral::Small(value) => Some(*value),
            Numeral::Big(_) => None,
        }
    }
}

impl Ord for Numeral {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Numeral::Small(a), Numeral::Small(b)) => a.cmp(b),
            (Numeral::Small(_), Numeral::Big(_)) => Ordering::Less,
            (Numeral::Big(_), Numeral::Small(_)) => Ordering::Greater,
            (Numeral::Big(a), Numeral::Big(b)) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
        }
    }
}

impl PartialOrd for Numeral {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Numeral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Numeral::Small(value) => write!(f, "{value}"),
            Numeral::Big(digits) => f.write_str(digits),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Numeral {
        Numeral::from_digits(s).unwrap()
    }

    #[test]
    fn compares_across_the_u64_boundary() {
        assert_eq!(n("007"), n("7"));
        assert_eq!(n("000"), Numeral::ZERO);
        assert!(n("18446744073709551615") < n("18446744073709551616"));
        assert!(n("99999999999999999999") < n("100000000000000000000"));
        assert!(n("999999999999999999999999999991") < n("999999999999999999999999999999"));
        assert_eq!(
            n("0000018446744073709551616").to_string(),
            "18446744073709551616"
        );
        assert!(Numeral::from_digits("").is_none());
        assert!(Numeral::from_digits("1a").is_none());
        assert!(Numeral::from_digits("١").is_none());
    }
}
