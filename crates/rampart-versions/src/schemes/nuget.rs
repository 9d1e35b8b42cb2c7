//! NuGet versions as NuGet.Versioning compares them: one to four numeric parts (`1`, `1.0`,
//! `1.0.0`, legacy `1.0.0.0`; missing parts are zero, so `1.0 == 1.0.0.0`), leading zeros
//! allowed in those parts, SemVer 2 release labels compared case-insensitively (numeric
//! labels that fit an `int` compare as numbers and before text), build metadata ignored.
//!
//! Surrounding whitespace is ignored, as `NuGetVersion.TryParse` trims. Deviation, on purpose: version parts larger than an `int` are accepted and compared
//! exactly instead of rejected.

use std::cmp::Ordering;
use std::fmt;

use super::numeral::Numeral;
use crate::VersionError;

const SCHEME: &str = "NuGet";

#[derive(Debug, Clone)]
pub struct NuGetVersion {
    /// Major, minor, patch, revision.
    parts: [Numeral; 4],
    /// How many parts were written, so `1.0` displays as it was given.
    written_parts: u8,
    labels: Box<[Label]>,
    /// Build metadata without the `+`; empty when absent.
    metadata: Box<str>,
}

#[derive(Debug, Clone)]
struct Label {
    text: Box<str>,
    /// Set when .NET's `int.TryParse` accepts the label.
    number: Option<i32>,
}

impl Label {
    fn parse(text: &str) -> Result<Label, &'static str> {
        if text.is_empty() {
            return Err("empty release label");
        }
        if !text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err("release labels may hold only [0-9A-Za-z-]");
        }
        if text.len() > 1 && text.starts_with('0') && text.bytes().all(|b| b.is_ascii_digit()) {
            return Err("numeric release label with a leading zero");
        }
        Ok(Label {
            text: text.into(),
            number: text.parse::<i32>().ok(),
        })
    }
}

impl Ord for Label {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.number, other.number) {
            (Some(a), Some(b)) => a.cmp(&b),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            // OrdinalIgnoreCase; for [0-9A-Za-z-] folding to either case gives the same order.
            (None, None) => self
                .text
                .bytes()
                .map(|b| b.to_ascii_lowercase())
                .cmp(other.text.bytes().map(|b| b.to_ascii_lowercase())),
        }
    }
}

impl PartialOrd for Label {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Label {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Label {}

impl NuGetVersion {
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        Self::parse_text(input).map_err(|reason| VersionError::new(SCHEME, input, reason))
    }

    fn parse_text(text: &str) -> Result<Self, &'static str> {
        // NuGetVersion.TryParse trims before parsing.
        let text = text.trim();
        if text.is_empty() {
            return Err("empty version");
        }
        let (rest, metadata) = match text.split_once('+') {
            Some((rest, metadata)) => (rest, Some(metadata)),
            None => (text, None),
        };
        let (numbers, labels) = match rest.split_once('-') {
            Some((numbers, labels)) => (numbers, Some(labels)),
            None => (rest, None),
        };
        let mut parts = [Numeral::ZERO, Numeral::ZERO, Numeral::ZERO, Numeral::ZERO];
        let mut written_parts = 0u8;
        for piece in numbers.split('.') {
            let slot = parts
                .get_mut(usize::from(written_parts))
                .ok_or("more than four version parts")?;
            *slot = Numeral::from_digits(piece).ok_or("version parts must be decimal digits")?;
            written_parts += 1;
        }
        let labels = match labels {
            Some(labels) => labels
                .split('.')
                .map(Label::parse)
                .collect::<Result<_, _>>()?,
            None => Box::default(),
        };
        if let Some(metadata) = metadata {
            for piece in metadata.split('.') {
                if piece.is_empty()
                    || !piece
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                {
                    return Err("metadata parts must be non-empty [0-9A-Za-z-]");
                }
            }
        }
        Ok(NuGetVersion {
            parts,
            written_parts,
            labels,
            metadata: metadata.unwrap_or_default().into(),
        })
    }

    pub fn is_prerelease(&self) -> bool {
        !self.labels.is_empty()
    }
}

impl Ord for NuGetVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.parts.cmp(&other.parts).then_with(|| {
            match (self.labels.is_empty(), other.labels.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.labels.cmp(&other.labels),
            }
        })
    }
}

impl PartialOrd for NuGetVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for NuGetVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for NuGetVersion {}

impl fmt::Display for NuGetVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, part) in self.parts[..usize::from(self.written_parts)]
            .iter()
            .enumerate()
        {
            if i > 0 {
                f.write_str(".")?;
            }
            part.fmt(f)?;
        }
        for (i, label) in self.labels.iter().enumerate() {
            f.write_str(if i == 0 { "-" } else { "." })?;
            f.write_str(&label.text)?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scheme;

    fn v(s: &str) -> NuGetVersion {
        NuGetVersion::parse(s).unwrap()
    }

    #[test]
    fn pads_legacy_versions_and_ignores_metadata() {
        assert_eq!(v("1"), v("1.0.0.0"));
        assert_eq!(v("1.0.01"), v("1.0.1"));
        assert!(v("1.0.0") < v("1.0.0.1-alpha"));
        assert!(v("1.0.0.1-alpha") < v("1.0.0.1"));
        assert_eq!(v("1.0.0+a"), v("1.0.0+b"));
        assert_eq!(v("1.0+test").to_string(), "1.0+test");
        assert_eq!(v(" 1.0.0-beta \n").to_string(), "1.0.0-beta");
    }

    #[test]
    fn compares_labels_case_insensitively_and_numbers_first() {
        assert_eq!(v("1.0.0-BETA.X"), v("1.0.0-beta.x"));
        assert!(v("1.0.0-beta.2") < v("1.0.0-beta.10"));
        assert!(v("1.0.0-beta.10") < v("1.0.0-beta.a"));
        assert!(v("1.0.0-beta") < v("1.0.0-beta.0"));
        // Too big for an int: compared as text, after numbers.
        assert!(v("1.0.0-9999999999") > v("1.0.0-5"));
        assert!(v("1.0.0-9999999999") < v("1.0.0-a"));
    }

    #[test]
    fn rejects_invalid_versions() {
        for bad in [
            "",
            "v1.0",
            "1.0.0.0.0",
            "1..0",
            "1.0.0-",
            "1.0.0-01",
            "1.0.0+",
            "1.0.0-a..b",
            "1.0.0-a_b",
        ] {
            assert_eq!(
                NuGetVersion::parse(bad).unwrap_err().scheme,
                "NuGet",
                "{bad}"
            );
        }
    }

    #[test]
    fn passes_the_nuget_fixture() {
        crate::fixtures::assert_ordering_fixture("nuget-versions.txt", Scheme::NuGet, &[]);
    }

    /// Realistic versions over a small alphabet, so that ties and near-ties are common.
    fn version_strategy() -> impl proptest::strategy::Strategy<Value = String> {
        let label = "(0|[1-9][0-9]?|[a-cA-C][0-9a-cA-C-]{0,2})";
        proptest::string::string_regex(&format!(
            "[0-9]{{1,2}}(\\.[0-9]{{1,2}}){{0,3}}(-{label}(\\.{label}){{0,2}})?(\\+[0-9a-zA-Z]{{1,3}})?"
        ))
        .expect("valid regex")
    }

    proptest::proptest! {
        #[test]
        fn obeys_the_order_laws(
            a in version_strategy(),
            b in version_strategy(),
            c in version_strategy(),
        ) {
            crate::order_laws::check_order_laws(Scheme::NuGet, &a, &b, &c)?;
        }

        #[test]
        fn never_panics_and_round_trips_what_it_accepts(text in "\\PC{0,24}") {
            if let Ok(version) = Scheme::NuGet.parse(&text) {
                crate::order_laws::check_round_trip(Scheme::NuGet, &version)?;
            }
        }
    }
}
