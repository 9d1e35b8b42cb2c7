//! RPM package versions (Red Hat, Rocky Linux, AlmaLinux, SUSE, openSUSE), ordered as rpm does:
//! `[epoch:]version[-release]` compared field by field with `rpmvercmp`, where only ASCII
//! letters and digits carry meaning, every other character separates segments, `~` sorts
//! before everything (pre-release) and `^` after the end but before anything else (snapshot).
//! A version without a release sorts before the same version with any release (`1 < 1-0`),
//! as the peers' fixtures require; rpm's own dependency matching instead lets a missing
//! release match any release, which is a range question, not an ordering one.

use std::cmp::Ordering;

use super::support::{cmp_decimal, ordering_from_cmp_and_display_from_text};
use crate::VersionError;

const SCHEME: &str = "RPM";

#[derive(Debug, Clone)]
pub struct RpmVersion {
    text: String,
    /// Absent epoch is "0"; compared with `rpmvercmp`, so "01" equals "1".
    epoch: String,
    version: String,
    /// `None` when there is no hyphen: rpm then sorts it before any release, even "".
    release: Option<String>,
}

impl RpmVersion {
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        let error = |reason: &str| VersionError::new(SCHEME, input, reason);
        let text = input.trim();
        if text.is_empty() {
            return Err(error("empty version"));
        }
        if text.chars().any(char::is_whitespace) {
            return Err(error("version contains whitespace"));
        }
        // Like rpm's EVR parser: an epoch is a (possibly empty) run of digits followed by ':';
        // any other colon is an ordinary separator inside the version.
        let digits_end = text.bytes().take_while(u8::is_ascii_digit).count();
        let (epoch, rest) = if text.as_bytes().get(digits_end) == Some(&b':') {
            let epoch = &text[..digits_end];
            let epoch = if epoch.is_empty() { "0" } else { epoch };
            (epoch, &text[digits_end + 1..])
        } else {
            ("0", text)
        };
        let (version, release) = match rest.rsplit_once('-') {
            Some((version, release)) => (version, Some(release.to_string())),
            None => (rest, None),
        };
        Ok(Self {
            text: text.to_string(),
            epoch: epoch.to_string(),
            version: version.to_string(),
            release,
        })
    }
}

impl Ord for RpmVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        rpmvercmp(&self.epoch, &other.epoch)
            .then_with(|| rpmvercmp(&self.version, &other.version))
            .then_with(|| match (&self.release, &other.release) {
                (Some(a), Some(b)) => rpmvercmp(a, b),
                (a, b) => a.is_some().cmp(&b.is_some()),
            })
    }
}

ordering_from_cmp_and_display_from_text!(RpmVersion);

fn is_separator(c: u8) -> bool {
    !c.is_ascii_alphanumeric() && c != b'~' && c != b'^'
}

/// rpm's `rpmvercmp` on one field.
pub(crate) fn rpmvercmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    loop {
        while i < a.len() && is_separator(a[i]) {
            i += 1;
        }
        while j < b.len() && is_separator(b[j]) {
            j += 1;
        }
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());

        // `~` loses against anything, including the end of the string.
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        // `^` wins against the end of the string but loses against any other segment.
        if ca == Some(b'^') || cb == Some(b'^') {
            match (ca, cb) {
                (None, _) => return Ordering::Less,
                (_, None) => return Ordering::Greater,
                (Some(b'^'), Some(b'^')) => {
                    i += 1;
                    j += 1;
                    continue;
                }
                (Some(b'^'), _) => return Ordering::Less,
                _ => return Ordering::Greater,
            }
        }
        let (Some(ca), Some(_)) = (ca, cb) else {
            // Whichever still has a segment left is newer.
            return (i < a.len()).cmp(&(j < b.len()));
        };

        let numeric = ca.is_ascii_digit();
        let segment_kind = |c: &u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let end_a = i + a[i..].iter().take_while(|c| segment_kind(c)).count();
        let end_b = j + b[j..].iter().take_while(|c| segment_kind(c)).count();
        if end_b == j {
            // Segments of different kinds: a number is newer than letters.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        // Segments are ASCII, so these slices are valid UTF-8.
        let seg_a = std::str::from_utf8(&a[i..end_a]).unwrap_or("");
        let seg_b = std::str::from_utf8(&b[j..end_b]).unwrap_or("");
        let order = if numeric {
            cmp_decimal(seg_a, seg_b)
        } else {
            seg_a.cmp(seg_b)
        };
        if order != Ordering::Equal {
            return order;
        }
        i = end_a;
        j = end_b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> RpmVersion {
        RpmVersion::parse(s).unwrap()
    }

    #[test]
    fn tilde_is_pre_release_and_caret_is_post_release() {
        assert!(v("1.0~rc1") < v("1.0"));
        assert!(v("1.0~rc1~git123") < v("1.0~rc1"));
        assert!(v("1.0^git1") > v("1.0"));
        assert!(v("1.0^git1") < v("1.0.1"));
        assert!(v("1.0^git1") < v("1.01"));
        assert!(v("1.0^git1~pre") < v("1.0^git1"));
    }

    #[test]
    fn separators_only_separate() {
        assert_eq!(v("2_0"), v("2.0"));
        assert_eq!(v("1.0."), v("1.0"));
        assert_eq!(v("+"), v("_"));
        assert_eq!(v("1.1.α"), v("1.1.β"));
        assert!(v("1.1.α") < v("1.1.a"));
    }

    #[test]
    fn numbers_beat_letters_and_compare_numerically() {
        assert!(v("6.0.rc1") > v("6.0"));
        assert!(v("1.0a") < v("1.0.1"));
        assert!(v("1a") < v("1.1"));
        assert_eq!(v("10.0001"), v("10.1"));
        assert!(v("5.5p1") < v("5.5p10"));
    }

    #[test]
    fn epoch_release_and_colons() {
        assert!(v("3") < v("1:2"));
        assert_eq!(v("0:1.0"), v("1.0"));
        assert_eq!(v("01:2"), v("1:2"));
        assert!(v("1") < v("1-"));
        assert!(v("1-1") < v("1-1.1"));
        // A colon that does not follow digits is not an epoch.
        assert!(v("1.m+e2:1") < v("4.m+e1:1"));
        assert_eq!(v("a:1").epoch, "0");
    }

    #[test]
    fn rejects_empty_and_blank_versions() {
        for bad in ["", " ", "1.0 -1"] {
            let error = RpmVersion::parse(bad).unwrap_err();
            assert_eq!(error.scheme, SCHEME);
        }
    }
}
