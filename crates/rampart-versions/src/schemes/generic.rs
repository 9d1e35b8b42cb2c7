//! Fallback order for ecosystems without a scheme of their own: runs of digits compare
//! numerically, runs of letters lexically, and a version with more segments is greater
//! (`1.0 < 1.0.1`), except that a letter segment after a shared prefix sorts before the
//! release (`1.0-rc1 < 1.0`), which is what most projects mean.

use std::cmp::Ordering;
use std::fmt;

use crate::VersionError;

#[derive(Debug, Clone)]
pub struct GenericVersion {
    text: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    // Declaration order is the order between kinds: text < number.
    Text(String),
    Number(u128),
}

impl GenericVersion {
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(VersionError::new("generic", input, "empty version"));
        }
        let mut segments = Vec::new();
        let mut chars = trimmed.char_indices().peekable();
        while let Some(&(start, c)) = chars.peek() {
            if c.is_ascii_digit() {
                let mut end = start;
                while let Some(&(i, d)) = chars.peek() {
                    if !d.is_ascii_digit() {
                        break;
                    }
                    end = i + d.len_utf8();
                    chars.next();
                }
                let digits = trimmed[start..end].trim_start_matches('0');
                let value = if digits.is_empty() {
                    0
                } else {
                    digits.parse::<u128>().map_err(|_| {
                        VersionError::new("generic", input, "numeric segment too large")
                    })?
                };
                segments.push(Segment::Number(value));
            } else if c.is_alphabetic() {
                let mut end = start;
                while let Some(&(i, a)) = chars.peek() {
                    if !a.is_alphabetic() {
                        break;
                    }
                    end = i + a.len_utf8();
                    chars.next();
                }
                segments.push(Segment::Text(trimmed[start..end].to_lowercase()));
            } else {
                chars.next();
            }
        }
        Ok(Self {
            text: trimmed.to_string(),
            segments,
        })
    }
}

impl Ord for GenericVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let mut left = self.segments.iter();
        let mut right = other.segments.iter();
        loop {
            match (left.next(), right.next()) {
                (None, None) => return Ordering::Equal,
                // A trailing text segment is a pre-release: it sorts before the bare release.
                (Some(Segment::Text(_)), None) => return Ordering::Less,
                (None, Some(Segment::Text(_))) => return Ordering::Greater,
                (Some(_), None) => return Ordering::Greater,
                (None, Some(_)) => return Ordering::Less,
                (Some(a), Some(b)) => match a.cmp(b) {
                    Ordering::Equal => continue,
                    unequal => return unequal,
                },
            }
        }
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
        assert_eq!(v("1.02"), v("1.2"));
        assert!(GenericVersion::parse("  ").is_err());
    }
}
