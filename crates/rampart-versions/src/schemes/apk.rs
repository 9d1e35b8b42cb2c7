//! Alpine package versions, `number{.number}{letter}{_suffix{number}}{~hash}{-r number}`,
//! ordered like apk-tools (`apk version -t`) as the osv-scalibr fixtures pin it down:
//! - the first number compares numerically; later numbers too, unless either has a leading
//!   zero, in which case they compare as strings (`1.05 < 1.5`, `1.0 < 1.00`); a version with
//!   more numbers is greater;
//! - then the optional lower-case letter (none sorts first);
//! - then the suffixes: `_alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p`,
//!   each with an optional number;
//! - then the optional `~hash` (present sorts after absent, hashes as strings);
//! - then the `-r` revision (absent or empty is `-r0`).
//!
//! Text that does not fit the grammar is kept, not rejected, because apk itself still orders
//! such versions: a version with unparsed trailing text sorts before the same version without
//! it. Trailing text inside the version body (`6.6.2p1`, `1.2_blah`) is compared as a string;
//! trailing text in the revision (`1-ruff`, `1-r0-1`) is not compared at all.

use std::cmp::Ordering;

use super::support::{canonical_decimal, cmp_decimal, ordering_from_cmp_and_display_from_text};
use crate::VersionError;

const SCHEME: &str = "Alpine";

/// Suffix names in apk's order; `None` (no suffix) ranks between `rc` and `cvs`.
const PRE_RELEASE_SUFFIXES: [&str; 4] = ["alpha", "beta", "pre", "rc"];
const POST_RELEASE_SUFFIXES: [&str; 5] = ["cvs", "svn", "git", "hg", "p"];
const NO_SUFFIX_RANK: u8 = PRE_RELEASE_SUFFIXES.len() as u8;

#[derive(Debug, Clone)]
pub struct ApkVersion {
    text: String,
    /// Runs of digits, verbatim (the leading-zero rule needs the original spelling).
    numbers: Vec<String>,
    letter: Option<u8>,
    /// (rank, decimal number without leading zeros).
    suffixes: Vec<(u8, String)>,
    hash: Option<String>,
    /// Decimal without leading zeros ("" is 0).
    revision: String,
    trailing: Trailing,
}

/// What is left after the grammar stops matching. Declaration order is sort order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Trailing {
    /// Unparsed text inside the version body, compared as a string.
    InBody(String),
    /// Unparsed text in the revision part (after a `-`), not compared.
    InRevision,
    /// The whole version matched the grammar.
    Nothing,
}

impl ApkVersion {
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(VersionError::new(SCHEME, input, "empty version"));
        }
        if text.chars().any(char::is_whitespace) {
            return Err(VersionError::new(
                SCHEME,
                input,
                "version contains whitespace",
            ));
        }
        let mut cursor = Cursor { rest: text };

        let mut numbers = Vec::new();
        if let Some(first) = cursor.take_digits() {
            numbers.push(first.to_string());
            while cursor.rest.starts_with('.')
                && cursor.rest[1..].starts_with(|c: char| c.is_ascii_digit())
            {
                cursor.advance(1);
                numbers.extend(cursor.take_digits().map(str::to_string));
            }
        }

        let letter = match cursor.rest.as_bytes().first() {
            Some(&c) if c.is_ascii_lowercase() => {
                cursor.advance(1);
                Some(c)
            }
            _ => None,
        };

        let mut suffixes = Vec::new();
        while let Some(after_underscore) = cursor.rest.strip_prefix('_') {
            let name_length = after_underscore
                .bytes()
                .take_while(u8::is_ascii_lowercase)
                .count();
            let Some(rank) = suffix_rank(&after_underscore[..name_length]) else {
                break;
            };
            cursor.advance(1 + name_length);
            let number = cursor.take_digits().unwrap_or("");
            suffixes.push((rank, canonical_decimal(number)));
        }

        let mut hash = None;
        if let Some(after_tilde) = cursor.rest.strip_prefix('~') {
            let hex_length = after_tilde
                .bytes()
                .take_while(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
                .count();
            if hex_length > 0 {
                hash = Some(after_tilde[..hex_length].to_string());
                cursor.advance(1 + hex_length);
            }
        }

        let mut revision = String::new();
        let trailing = if cursor.rest.is_empty() {
            Trailing::Nothing
        } else if let Some(after_r) = cursor.rest.strip_prefix("-r") {
            cursor.rest = after_r;
            revision = canonical_decimal(cursor.take_digits().unwrap_or(""));
            if cursor.rest.is_empty() {
                Trailing::Nothing
            } else {
                Trailing::InRevision
            }
        } else if cursor.rest.starts_with('-') {
            Trailing::InRevision
        } else {
            Trailing::InBody(cursor.rest.to_string())
        };

        Ok(Self {
            text: text.to_string(),
            numbers,
            letter,
            suffixes,
            hash,
            revision,
            trailing,
        })
    }
}

struct Cursor<'a> {
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    fn advance(&mut self, bytes: usize) {
        self.rest = &self.rest[bytes..];
    }

    fn take_digits(&mut self) -> Option<&'a str> {
        let length = self.rest.bytes().take_while(u8::is_ascii_digit).count();
        if length == 0 {
            return None;
        }
        let (digits, rest) = self.rest.split_at(length);
        self.rest = rest;
        Some(digits)
    }
}

fn suffix_rank(name: &str) -> Option<u8> {
    if let Some(index) = PRE_RELEASE_SUFFIXES.iter().position(|s| *s == name) {
        return Some(index as u8);
    }
    POST_RELEASE_SUFFIXES
        .iter()
        .position(|s| *s == name)
        .map(|index| NO_SUFFIX_RANK + 1 + index as u8)
}

fn cmp_numbers(a: &[String], b: &[String]) -> Ordering {
    for (index, (x, y)) in a.iter().zip(b).enumerate() {
        let order = if index > 0 && (x.starts_with('0') || y.starts_with('0')) {
            // apk compares later components with a leading zero as strings (Gentoo rule).
            x.cmp(y)
        } else {
            cmp_decimal(x, y)
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

fn cmp_suffixes(a: &[(u8, String)], b: &[(u8, String)]) -> Ordering {
    let none = (NO_SUFFIX_RANK, String::new());
    for index in 0..a.len().max(b.len()) {
        let (rank_a, number_a) = a.get(index).unwrap_or(&none);
        let (rank_b, number_b) = b.get(index).unwrap_or(&none);
        let order = rank_a
            .cmp(rank_b)
            .then_with(|| cmp_decimal(number_a, number_b));
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

impl Ord for ApkVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_numbers(&self.numbers, &other.numbers)
            .then_with(|| self.letter.cmp(&other.letter))
            .then_with(|| cmp_suffixes(&self.suffixes, &other.suffixes))
            .then_with(|| self.hash.cmp(&other.hash))
            .then_with(|| cmp_decimal(&self.revision, &other.revision))
            .then_with(|| self.trailing.cmp(&other.trailing))
    }
}

ordering_from_cmp_and_display_from_text!(ApkVersion);

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> ApkVersion {
        ApkVersion::parse(s).unwrap()
    }

    #[test]
    fn suffix_order() {
        let ordered = [
            "1.2_alpha",
            "1.2_alpha2",
            "1.2_beta",
            "1.2_pre1",
            "1.2_rc1",
            "1.2",
            "1.2_cvs1",
            "1.2_svn1",
            "1.2_git1",
            "1.2_hg1",
            "1.2_p1",
        ];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert!(v("1.2_alpha_p1") > v("1.2_alpha"));
        assert!(v("1.2_rc1") > v("1.1.9"));
    }

    #[test]
    fn numbers_letters_and_revisions() {
        assert!(v("1.2") < v("1.2.1"));
        assert!(v("1.2a") < v("1.2.1"));
        assert!(v("1.2a") > v("1.2"));
        assert!(v("1.05") < v("1.5"));
        assert!(v("1.0") < v("1.00"));
        assert!(v("2.34") > v("0.1.0_alpha"));
        assert!(v("4.5_p1-r1") > v("4.5_p1"));
        assert_eq!(v("1-r"), v("1-r0"));
        assert_eq!(v("1"), v("1-r0"));
        assert!(v("1.0~abc") > v("1.0"));
        assert!(v("1.0~abc-r1") > v("1.0~abc"));
    }

    #[test]
    fn unparsed_text_sorts_before_the_clean_version() {
        assert!(v("1.2_blah") < v("1.2"));
        assert!(v("1-ruff") < v("1"));
        assert!(v("1-r-1") < v("1-r0"));
        assert_eq!(v("1-r0-1"), v("1-r-2"));
        assert!(v("6.6.2p1") < v("6.6.2p2"));
        assert!(v("1.2.0A") < v("1.2.0d"));
    }

    /// An independent, token-by-token model of apk-tools 3 `apk_version_compare` for
    /// well-formed versions: the versions are read as a stream of typed tokens, equal types
    /// compare by value, and at the first type mismatch the version that goes on is greater,
    /// unless it goes on with a pre-release suffix.
    mod apk_tools_model {
        use std::cmp::Ordering;

        use crate::schemes::support::cmp_decimal;

        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
        enum Kind {
            InitialDigit,
            Digit,
            Letter,
            Suffix,
            SuffixNumber,
            CommitHash,
            Revision,
            End,
        }

        const SUFFIXES: [&str; 10] = [
            "alpha", "beta", "pre", "rc", "", "cvs", "svn", "git", "hg", "p",
        ];
        const NONE_RANK: usize = 4;

        /// Splits off the longest prefix of `rest` whose bytes satisfy `accept`.
        fn take<'a>(rest: &mut &'a str, accept: fn(&u8) -> bool) -> &'a str {
            let length = rest.bytes().take_while(accept).count();
            let (head, tail) = rest.split_at(length);
            *rest = tail;
            head
        }

        fn tokens(version: &str) -> Vec<(Kind, &str)> {
            let mut rest = version;
            let mut out = vec![(Kind::InitialDigit, take(&mut rest, u8::is_ascii_digit))];
            let mut last = Kind::InitialDigit;
            while let Some(c) = rest.bytes().next() {
                let token = match c {
                    b'.' => {
                        rest = &rest[1..];
                        (Kind::Digit, take(&mut rest, u8::is_ascii_digit))
                    }
                    b'a'..=b'z' if last <= Kind::Digit => {
                        let (letter, tail) = rest.split_at(1);
                        rest = tail;
                        (Kind::Letter, letter)
                    }
                    b'0'..=b'9' if last == Kind::Suffix => {
                        (Kind::SuffixNumber, take(&mut rest, u8::is_ascii_digit))
                    }
                    b'_' => {
                        rest = &rest[1..];
                        (Kind::Suffix, take(&mut rest, u8::is_ascii_lowercase))
                    }
                    b'~' => {
                        rest = &rest[1..];
                        (Kind::CommitHash, take(&mut rest, u8::is_ascii_hexdigit))
                    }
                    b'-' => {
                        // "-r" and the revision number.
                        rest = &rest[2..];
                        (Kind::Revision, take(&mut rest, u8::is_ascii_digit))
                    }
                    _ => panic!("the model only reads well-formed versions, not {version:?}"),
                };
                last = token.0;
                out.push(token);
            }
            out.push((Kind::End, ""));
            out
        }

        fn suffix_rank(name: &str) -> usize {
            SUFFIXES.iter().position(|s| *s == name).unwrap()
        }

        pub(super) fn compare(a: &str, b: &str) -> Ordering {
            let (ta, tb) = (tokens(a), tokens(b));
            for ((kind_a, value_a), (kind_b, value_b)) in ta.iter().zip(&tb) {
                if kind_a != kind_b {
                    if *kind_a == Kind::Suffix && suffix_rank(value_a) < NONE_RANK {
                        return Ordering::Less;
                    }
                    if *kind_b == Kind::Suffix && suffix_rank(value_b) < NONE_RANK {
                        return Ordering::Greater;
                    }
                    return kind_b.cmp(kind_a);
                }
                let order = match kind_a {
                    Kind::Digit if value_a.starts_with('0') || value_b.starts_with('0') => {
                        value_a.cmp(value_b)
                    }
                    Kind::Suffix => suffix_rank(value_a).cmp(&suffix_rank(value_b)),
                    Kind::Letter | Kind::CommitHash | Kind::End => value_a.cmp(value_b),
                    _ => cmp_decimal(value_a, value_b),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
            Ordering::Equal
        }
    }

    /// Well-formed versions where the peers' fixtures and apk-tools agree: every suffix has a
    /// number and every version a revision (the fixtures read `_p` as `_p0` and a missing
    /// revision as `-r0`; apk-tools puts both before their explicit forms).
    fn well_formed_version() -> impl proptest::strategy::Strategy<Value = String> {
        "(0|1|2|10|01)(\\.(0|1|2|10|01|00)){0,2}[ab]?(_(alpha|beta|rc|cvs|git|p)[0-2]){0,2}(~[0-9a-f]{1,2})?-r[0-2]"
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_apk_tools_on_well_formed_versions(
            a in well_formed_version(),
            b in well_formed_version(),
        ) {
            proptest::prop_assert_eq!(v(&a).cmp(&v(&b)), apk_tools_model::compare(&a, &b), "{} vs {}", a, b);
        }
    }

    #[test]
    fn rejects_empty_and_blank_versions() {
        for bad in ["", " ", "1.0 -r1"] {
            let error = ApkVersion::parse(bad).unwrap_err();
            assert_eq!(error.scheme, SCHEME);
            assert_eq!(error.input, bad);
        }
    }
}
