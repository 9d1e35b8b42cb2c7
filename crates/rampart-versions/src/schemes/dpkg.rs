//! Debian and Ubuntu package versions, ordered exactly as dpkg does: `[epoch:]upstream[-revision]`,
//! epoch numerically, then upstream and revision with dpkg's `verrevcmp` (alternating non-digit
//! and digit runs; in non-digit runs `~` sorts before everything, even the end of the string,
//! and letters sort before other characters).

use std::cmp::Ordering;

use super::support::{canonical_decimal, cmp_decimal, ordering_from_cmp_and_display_from_text};
use crate::VersionError;

const SCHEME: &str = "Debian";

#[derive(Debug, Clone)]
pub struct DpkgVersion {
    text: String,
    /// Decimal digits without leading zeros; "" is epoch 0 (also when absent).
    epoch: String,
    upstream: String,
    /// "" when absent, which dpkg treats like "0".
    revision: String,
}

impl DpkgVersion {
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        let error = |reason: &str| VersionError::new(SCHEME, input, reason);
        // dpkg ignores surrounding blanks but rejects embedded ones.
        let text = input.trim();
        if text.is_empty() {
            return Err(error("empty version"));
        }
        if text.chars().any(char::is_whitespace) {
            return Err(error("version contains whitespace"));
        }
        let (epoch, rest) = match text.split_once(':') {
            Some((epoch, rest)) => {
                // dpkg reads the epoch with strtol, which also takes a plus sign.
                let epoch = epoch.strip_prefix('+').unwrap_or(epoch);
                if epoch.is_empty() || !epoch.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(error("epoch is not a number"));
                }
                let epoch = canonical_decimal(epoch);
                // dpkg stores the epoch in an int and rejects larger ones.
                if cmp_decimal(&epoch, &i32::MAX.to_string()) == Ordering::Greater {
                    return Err(error("epoch is too big"));
                }
                (epoch, rest)
            }
            None => (String::new(), text),
        };
        // The revision is everything after the last hyphen; the upstream may contain hyphens.
        let (upstream, revision) = match rest.rsplit_once('-') {
            Some((upstream, revision)) => (upstream, revision),
            None => (rest, ""),
        };
        if upstream.is_empty() {
            return Err(error("empty upstream version"));
        }
        if revision.is_empty() && rest.ends_with('-') {
            return Err(error("empty revision after the hyphen"));
        }
        Ok(Self {
            text: text.to_string(),
            epoch,
            upstream: upstream.to_string(),
            revision: revision.to_string(),
        })
    }
}

impl Ord for DpkgVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_decimal(&self.epoch, &other.epoch)
            .then_with(|| verrevcmp(self.upstream.as_bytes(), other.upstream.as_bytes()))
            .then_with(|| verrevcmp(self.revision.as_bytes(), other.revision.as_bytes()))
    }
}

ordering_from_cmp_and_display_from_text!(DpkgVersion);

/// dpkg's weight of one character in a non-digit run; `None` (end of string) weighs 0, which
/// is why `~` (negative) sorts before the end and everything else after it.
fn char_weight(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        // dpkg computes `c + 256` on a C `char`, which is signed on x86: bytes of non-ASCII
        // characters come out as their unsigned value, between letters and punctuation.
        Some(c) if !c.is_ascii() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp` on one part (upstream or revision).
pub(crate) fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        // Non-digit run, compared character by character.
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let wa = char_weight(a.get(i).copied());
            let wb = char_weight(b.get(j).copied());
            if wa != wb {
                return wa.cmp(&wb);
            }
            i += 1;
            j += 1;
        }
        // Digit run, compared numerically (any length).
        let start_a = i;
        while i < a.len() && a[i].is_ascii_digit() {
            i += 1;
        }
        let start_b = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        // Both slices are ASCII digits, so they are valid UTF-8.
        let digits_a = std::str::from_utf8(&a[start_a..i]).unwrap_or("");
        let digits_b = std::str::from_utf8(&b[start_b..j]).unwrap_or("");
        match cmp_decimal(digits_a, digits_b) {
            Ordering::Equal => {}
            unequal => return unequal,
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> DpkgVersion {
        DpkgVersion::parse(s).unwrap()
    }

    #[test]
    fn tilde_sorts_before_everything_including_the_end() {
        assert!(v("1.0~rc1") < v("1.0"));
        assert!(v("1.0~~") < v("1.0~"));
        assert!(v("1.0~~a") < v("1.0~"));
        assert!(v("1.2.3-1~deb7u1") < v("1.2.3-1"));
    }

    #[test]
    fn letters_sort_before_other_characters() {
        assert!(v("1.0a") < v("1.0+"));
        assert!(v("1.0a") < v("1.0."));
        assert!(v("1.0") < v("1.0a"));
        assert!(v("2.7.4+reloaded2-13ubuntu1") < v("2.7.4+reloaded2-13+deb9u1"));
        // As dpkg on amd64: non-ASCII after letters, before punctuation.
        assert!(v("1.0é") > v("1.0z"));
        assert!(v("1.0é") < v("1.0+"));
    }

    #[test]
    fn epoch_and_revision_defaults() {
        assert_eq!(v("0:1.0"), v("1.0"));
        assert_eq!(v("1.0-0"), v("1.0"));
        assert!(v("1:0.1") > v("9.9"));
        assert_eq!(v("01:2"), v("1:2"));
        assert!(v("1.0-1-1") > v("1.0-1"));
        assert!(v("2147483647:1") > v("1"));
        assert_eq!(v("+1:2"), v("1:2"));
        // dpkg only warns about these, and still orders them.
        assert!(v("a") < v("b"));
        assert!(v("1,0") < v("1.0"));
    }

    #[test]
    fn digits_compare_numerically_at_any_length() {
        assert!(v("0.9") < v("0.10"));
        assert!(v("1.99999999999999999999999999999999") < v("1.100000000000000000000000000000000"));
        assert_eq!(v("1.001"), v("1.1"));
    }

    #[test]
    fn rejects_malformed_versions() {
        for bad in [
            "",
            "  ",
            "a:1.0",
            ":1.0",
            "1:",
            "1: 0",
            "1.0 beta",
            "-1",
            "1.0-",
            "1.0-a:b",
            "2147483648:1",
            "-1:2",
            "+:2",
        ] {
            let error = DpkgVersion::parse(bad).unwrap_err();
            assert_eq!(error.scheme, SCHEME, "{bad:?}");
            assert_eq!(error.input, bad);
        }
    }
}
