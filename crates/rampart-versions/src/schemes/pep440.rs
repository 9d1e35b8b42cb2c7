//! PyPI versions: PEP 440 as `packaging.version` reads and orders them (epochs, every
//! pre-release spelling, implicit and explicit post-releases, dev releases, local versions,
//! `1.0 == 1.0.0`), plus the legacy fallback osv.dev keeps through `packaging-legacy`: a
//! string that is not PEP 440 is a `LegacyVersion`, which sorts before every PEP 440 version
//! and among its kind by setuptools' old key.
//!
//! packaging-legacy accepts any string at all as a legacy version; we reject the empty string
//! and strings holding whitespace or control characters, which are never versions.
//!
//! Display gives the normalised form (`1.0-1` → `1.0.post1`, `1.0RC1` → `1.0rc1`); a legacy
//! version displays as written.

use std::cmp::Ordering;
use std::fmt;

use super::numeral::Numeral;
use crate::VersionError;

const SCHEME: &str = "PyPI";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pep440Version(Kind);

// Declaration order is the order between kinds: legacy versions sort first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Legacy(LegacyVersion),
    Standard(Box<StandardVersion>),
}

impl Pep440Version {
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        if let Some(standard) = StandardVersion::parse(input) {
            return Ok(Pep440Version(Kind::Standard(Box::new(standard))));
        }
        LegacyVersion::parse(input)
            .map(|legacy| Pep440Version(Kind::Legacy(legacy)))
            .map_err(|reason| VersionError::new(SCHEME, input, reason))
    }

    /// False for versions only the legacy fallback accepts.
    pub fn is_pep440(&self) -> bool {
        matches!(self.0, Kind::Standard(_))
    }

    /// True for alpha, beta, rc and dev releases (PEP 440's "pre-release" in the wide sense).
    pub fn is_prerelease(&self) -> bool {
        match &self.0 {
            Kind::Standard(v) => v.pre.is_some() || v.dev.is_some(),
            Kind::Legacy(_) => false,
        }
    }
}

impl fmt::Display for Pep440Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Standard(v) => v.fmt(f),
            Kind::Legacy(v) => f.write_str(&v.text),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PreKind {
    Alpha,
    Beta,
    ReleaseCandidate,
}

impl PreKind {
    fn as_str(self) -> &'static str {
        match self {
            PreKind::Alpha => "a",
            PreKind::Beta => "b",
            PreKind::ReleaseCandidate => "rc",
        }
    }
}

/// A local version label segment. Declaration order is packaging's: text sorts before numbers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum LocalSegment {
    Text(Box<str>),
    Number(Numeral),
}

#[derive(Debug, Clone)]
struct StandardVersion {
    epoch: Numeral,
    /// As written; trailing zeros do not count in comparisons.
    release: Box<[Numeral]>,
    pre: Option<(PreKind, Numeral)>,
    post: Option<Numeral>,
    dev: Option<Numeral>,
    local: Option<Box<[LocalSegment]>>,
}

/// Where a version's pre-release puts it among its release's versions (packaging's `_pre`).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum PreRank<'a> {
    /// `1.0.dev0`: a dev release of the final release sorts before its alphas.
    BeforeAllPrereleases,
    Pre(PreKind, &'a Numeral),
    Final,
}

impl StandardVersion {
    fn pre_rank(&self) -> PreRank<'_> {
        match (&self.pre, &self.post, &self.dev) {
            (Some((kind, number)), _, _) => PreRank::Pre(*kind, number),
            (None, None, Some(_)) => PreRank::BeforeAllPrereleases,
            (None, _, _) => PreRank::Final,
        }
    }

    /// Parses PEP 440's permissive grammar; `None` if `input` does not match it.
    fn parse(input: &str) -> Option<StandardVersion> {
        let mut cursor = Cursor::new(input.trim());
        cursor.eat_any_case("v");
        let first = cursor.digits()?;
        let (epoch, first_release) = if cursor.eat(b'!') {
            (first, cursor.digits()?)
        } else {
            (Numeral::ZERO, first)
        };
        let mut release = vec![first_release];
        loop {
            let mark = cursor.position;
            if cursor.eat(b'.') {
                if let Some(number) = cursor.digits() {
                    release.push(number);
                    continue;
                }
            }
            cursor.position = mark;
            break;
        }

        let pre = cursor.optional(|c| {
            c.separator();
            // Longer spellings first, so `alpha` is not read as `a` followed by junk.
            let kind = [
                ("alpha", PreKind::Alpha),
                ("a", PreKind::Alpha),
                ("beta", PreKind::Beta),
                ("b", PreKind::Beta),
                ("preview", PreKind::ReleaseCandidate),
                ("pre", PreKind::ReleaseCandidate),
                ("c", PreKind::ReleaseCandidate),
                ("rc", PreKind::ReleaseCandidate),
            ]
            .into_iter()
            .find_map(|(word, kind)| c.eat_any_case(word).then_some(kind))?;
            c.separator();
            Some((kind, c.digits().unwrap_or(Numeral::ZERO)))
        });

        let post = cursor
            .optional(|c| {
                // The implicit form: `1.0-1`.
                c.eat(b'-').then_some(())?;
                c.digits()
            })
            .or_else(|| {
                cursor.optional(|c| {
                    c.separator();
                    ["post", "rev", "r"]
                        .into_iter()
                        .find(|word| c.eat_any_case(word))?;
                    c.separator();
                    Some(c.digits().unwrap_or(Numeral::ZERO))
                })
            });

        let dev = cursor.optional(|c| {
            c.separator();
            c.eat_any_case("dev").then_some(())?;
            c.separator();
            Some(c.digits().unwrap_or(Numeral::ZERO))
        });

        let local = if cursor.eat(b'+') {
            Some(cursor.local_segments()?)
        } else {
            None
        };

        if !cursor.at_end() {
            return None;
        }
        Some(StandardVersion {
            epoch,
            release: release.into_boxed_slice(),
            pre,
            post,
            dev,
            local,
        })
    }
}

/// Compares release segments as if the shorter were padded with zeros (`1.0 == 1.0.0`).
fn compare_release(a: &[Numeral], b: &[Numeral]) -> Ordering {
    let length = a.len().max(b.len());
    (0..length)
        .map(|i| {
            let left = a.get(i).unwrap_or(&Numeral::ZERO);
            let right = b.get(i).unwrap_or(&Numeral::ZERO);
            left.cmp(right)
        })
        .find(|ordering| ordering.is_ne())
        .unwrap_or(Ordering::Equal)
}

impl Ord for StandardVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| compare_release(&self.release, &other.release))
            .then_with(|| self.pre_rank().cmp(&other.pre_rank()))
            // No post release sorts before any post release.
            .then_with(|| self.post.cmp(&other.post))
            // No dev release sorts after any dev release.
            .then_with(|| match (&self.dev, &other.dev) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => a.cmp(b),
            })
            // No local label sorts before any local label.
            .then_with(|| self.local.cmp(&other.local))
    }
}

impl PartialOrd for StandardVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for StandardVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for StandardVersion {}

impl fmt::Display for StandardVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.epoch.is_zero() {
            write!(f, "{}!", self.epoch)?;
        }
        for (i, number) in self.release.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            number.fmt(f)?;
        }
        if let Some((kind, number)) = &self.pre {
            write!(f, "{}{number}", kind.as_str())?;
        }
        if let Some(number) = &self.post {
            write!(f, ".post{number}")?;
        }
        if let Some(number) = &self.dev {
            write!(f, ".dev{number}")?;
        }
        if let Some(local) = &self.local {
            for (i, segment) in local.iter().enumerate() {
                f.write_str(if i == 0 { "+" } else { "." })?;
                match segment {
                    LocalSegment::Text(text) => f.write_str(text)?,
                    LocalSegment::Number(number) => number.fmt(f)?,
                }
            }
        }
        Ok(())
    }
}

struct Cursor<'a> {
    text: &'a str,
    position: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor { text, position: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.position..]
    }

    fn at_end(&self) -> bool {
        self.position == self.text.len()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.rest().as_bytes().first() == Some(&byte);
        if found {
            self.position += 1;
        }
        found
    }

    /// An optional `-`, `_` or `.`.
    fn separator(&mut self) {
        if matches!(self.rest().as_bytes().first(), Some(b'-' | b'_' | b'.')) {
            self.position += 1;
        }
    }

    fn eat_any_case(&mut self, word: &str) -> bool {
        let rest = self.rest().as_bytes();
        let found =
            rest.len() >= word.len() && rest[..word.len()].eq_ignore_ascii_case(word.as_bytes());
        if found {
            self.position += word.len();
        }
        found
    }

    fn digits(&mut self) -> Option<Numeral> {
        let length = self.rest().bytes().take_while(u8::is_ascii_digit).count();
        let number = Numeral::from_digits(&self.rest()[..length])?;
        self.position += length;
        Some(number)
    }

    /// Runs `part`; if it does not match, puts the cursor back where it was.
    fn optional<T>(&mut self, part: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        let mark = self.position;
        let result = part(self);
        if result.is_none() {
            self.position = mark;
        }
        result
    }

    /// `[a-z0-9]+` segments joined by single `-`, `_` or `.`, to the end of the text.
    fn local_segments(&mut self) -> Option<Box<[LocalSegment]>> {
        let rest = self.rest();
        self.position = self.text.len();
        rest.split(['-', '_', '.'])
            .map(|segment| {
                if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    None
                } else if let Some(number) = Numeral::from_digits(segment) {
                    Some(LocalSegment::Number(number))
                } else {
                    Some(LocalSegment::Text(segment.to_ascii_lowercase().into()))
                }
            })
            .collect()
    }
}

/// packaging's `LegacyVersion`: ordered by the key setuptools used before PEP 440.
#[derive(Debug, Clone)]
struct LegacyVersion {
    text: Box<str>,
    key: Box<[Box<str>]>,
}

impl LegacyVersion {
    fn parse(input: &str) -> Result<LegacyVersion, &'static str> {
        if input.is_empty() {
            return Err("empty version");
        }
        if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(
                "not PEP 440, and whitespace or control characters rule out a legacy version",
            );
        }
        Ok(LegacyVersion {
            text: input.into(),
            key: legacy_key(input),
        })
    }
}

/// setuptools' pre-PEP 440 key: the lower-cased text is cut into digit runs, ASCII letter
/// runs, `.`, `-` and whatever lies between; numbers are zero-padded to eight places so they
/// compare as text, words get a `*` so they sort before numbers, a few words are renamed so
/// that pre-releases sort before `*final`, and trailing zeros of each number run are dropped.
fn legacy_key(input: &str) -> Box<[Box<str>]> {
    let lower = input.to_lowercase();
    let mut key: Vec<Box<str>> = Vec::new();
    for component in legacy_components(&lower).chain(std::iter::once("final")) {
        let component = match component {
            "pre" | "preview" | "rc" => "c",
            "-" => "final-",
            "dev" => "@",
            "" | "." => continue,
            other => other,
        };
        let part: String = if component.starts_with(|c: char| c.is_ascii_digit()) {
            format!("{component:0>8}")
        } else {
            format!("*{component}")
        };
        if part.starts_with('*') {
            if part.as_str() < "*final" {
                while key.last().is_some_and(|last| &**last == "*final-") {
                    key.pop();
                }
            }
            while key.last().is_some_and(|last| &**last == "00000000") {
                key.pop();
            }
        }
        key.push(part.into());
    }
    key.into_boxed_slice()
}

/// Splits into maximal runs of ASCII digits, runs of ASCII lowercase letters, single `.` and
/// `-`, and runs of anything else.
fn legacy_components(text: &str) -> impl Iterator<Item = &str> {
    #[derive(PartialEq)]
    enum Class {
        Digit,
        Letter,
        Separator,
        Other,
    }
    fn class(c: char) -> Class {
        match c {
            '0'..='9' => Class::Digit,
            'a'..='z' => Class::Letter,
            '.' | '-' => Class::Separator,
            _ => Class::Other,
        }
    }
    let mut rest = text;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let first_class = class(first);
        let length = if first_class == Class::Separator {
            1
        } else {
            rest.char_indices()
                .find(|&(_, c)| class(c) != first_class)
                .map_or(rest.len(), |(i, _)| i)
        };
        let (component, tail) = rest.split_at(length);
        rest = tail;
        Some(component)
    })
}

impl Ord for LegacyVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

impl PartialOrd for LegacyVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for LegacyVersion {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for LegacyVersion {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scheme;

    fn v(s: &str) -> Pep440Version {
        Pep440Version::parse(s).unwrap()
    }

    #[test]
    fn normalises_spellings() {
        for (written, normal) in [
            ("1.0", "1.0"),
            ("v1.0", "1.0"),
            ("V1.0", "1.0"),
            (" 1.0\n", "1.0"),
            ("1.0-1", "1.0.post1"),
            ("1.0-post-2", "1.0.post2"),
            ("1.0.rev", "1.0.post0"),
            ("1.0r3", "1.0.post3"),
            ("1.0ALPHA1", "1.0a1"),
            ("1.0.beta-2", "1.0b2"),
            ("1.0c1", "1.0rc1"),
            ("1.0-preview_3", "1.0rc3"),
            ("1.0pre", "1.0rc0"),
            ("1.0.dev", "1.0.dev0"),
            ("1.0-DEV-4", "1.0.dev4"),
            ("0!01.002", "1.2"),
            ("2!1.0", "2!1.0"),
            ("1.0+Ubuntu-1_2.007", "1.0+ubuntu.1.2.7"),
            ("1.0a1.post2.dev3+local", "1.0a1.post2.dev3+local"),
        ] {
            let version = v(written);
            assert!(version.is_pep440(), "{written}");
            assert_eq!(version.to_string(), normal, "{written}");
        }
    }

    #[test]
    fn orders_the_pep_440_example_sequence() {
        let chain = [
            "1.0.dev456",
            "1.0a1",
            "1.0a2.dev456",
            "1.0a12.dev456",
            "1.0a12",
            "1.0b1.dev456",
            "1.0b2",
            "1.0b2.post345.dev456",
            "1.0b2.post345",
            "1.0rc1.dev456",
            "1.0rc1",
            "1.0",
            "1.0+abc.5",
            "1.0+abc.7",
            "1.0+5",
            "1.0.post456.dev34",
            "1.0.post456",
            "1.0.15",
            "1.1.dev1",
        ];
        for pair in chain.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn pads_releases_and_orders_epochs_and_locals() {
        assert_eq!(v("1.0"), v("1.0.0.0"));
        assert_eq!(v("1.0+local"), v("1.0.0+LOCAL"));
        assert!(v("1.0") < v("1.0+local"));
        assert!(v("1.0+a") < v("1.0+1"));
        assert!(v("1.0+local.0") < v("1.0+local.0.1"));
        assert!(v("1!0.1") > v("99.0"));
        assert!(v("1.0.post1") > v("1.0+local"));
    }

    #[test]
    fn falls_back_to_legacy_versions_that_sort_first() {
        let legacy = v("trunk");
        assert!(!legacy.is_pep440());
        assert_eq!(legacy.to_string(), "trunk");
        assert!(legacy < v("0"));
        assert!(v("0.1-bulbasaur") < v("0.1-charmander"));
        assert!(v("1.0-SNAPSHOT") < v("0.0.1"));
        // Legacy keys: pre-release words before `*final`, trailing zeros dropped.
        assert_eq!(v("1.0.0-foo"), v("1-foo"));
        assert!(v("1.0-rc1-x") < v("1.0-x"));
        assert!(Pep440Version::parse("").is_err());
        assert!(Pep440Version::parse("   ").is_err());
        assert_eq!(Pep440Version::parse("1.0 beta").unwrap_err().scheme, "PyPI");
    }

    #[test]
    fn passes_the_pypi_fixtures() {
        for file in ["pypi-versions.txt", "pypi-versions-generated.txt"] {
            crate::fixtures::assert_ordering_fixture(file, Scheme::Pep440, &[]);
        }
    }

    /// Realistic versions over a small alphabet, so that ties and near-ties are common.
    fn version_strategy() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let standard = concat!(
            "[vV]?([0-2]!)?[0-9]{1,2}(\\.[0-9]{1,2}){0,3}",
            "([._-]?(a|b|rc|c|alpha|beta|pre|preview|RC)[._-]?[0-9]{0,2})?",
            "(-[0-9]{1,2}|[._-]?(post|rev|r)[._-]?[0-9]{0,2})?",
            "([._-]?dev[0-9]{0,2})?",
            "(\\+[a-zA-Z0-9]{1,3}([._-][a-zA-Z0-9]{1,3}){0,2})?",
        );
        prop_oneof![
            3 => proptest::string::string_regex(standard).expect("valid regex"),
            // Mostly legacy versions, some of which happen to be PEP 440.
            1 => proptest::string::string_regex("[0-9a-zA-Z._!+-]{1,10}").expect("valid regex"),
        ]
    }

    proptest::proptest! {
        #[test]
        fn obeys_the_order_laws(
            a in version_strategy(),
            b in version_strategy(),
            c in version_strategy(),
        ) {
            crate::order_laws::check_order_laws(Scheme::Pep440, &a, &b, &c)?;
        }

        #[test]
        fn never_panics_and_round_trips_what_it_accepts(text in "\\PC{0,24}") {
            if let Ok(version) = Scheme::Pep440.parse(&text) {
                crate::order_laws::check_round_trip(Scheme::Pep440, &version)?;
            }
        }
    }

    #[test]
    fn matches_the_real_tool_on_random_pairs() {
        // See crates/rampart-versions/oracles/README.md.
        crate::fixtures::assert_oracle_fixture("pypi-random.txt", Scheme::Pep440);
    }
}
