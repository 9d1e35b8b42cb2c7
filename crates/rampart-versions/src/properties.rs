//! Property tests of the `Ord` laws for every scheme of part B (and the generic fallback), on
//! realistic generated versions: antisymmetry, transitivity (over every triple of a batch),
//! `==` agreeing with `cmp`, and parse → display → parse giving an equal version. Arbitrary
//! text must never make a parser panic.

use std::cmp::Ordering;

use proptest::prelude::*;

use crate::{Scheme, Version};

fn parse_ok(scheme: Scheme, text: &str) -> Result<Version, TestCaseError> {
    scheme
        .parse(text)
        .map_err(|e| TestCaseError::fail(format!("generated {text:?} did not parse: {e}")))
}

/// Checks the laws on a batch of versions of one scheme.
fn check_laws(scheme: Scheme, texts: &[String]) -> Result<(), TestCaseError> {
    let mut versions = texts
        .iter()
        .map(|t| parse_ok(scheme, t))
        .collect::<Result<Vec<_>, _>>()?;

    for version in &versions {
        prop_assert_eq!(version.scheme(), scheme);
        prop_assert_eq!(version.cmp(version), Ordering::Equal);
        let displayed = version.to_string();
        let reparsed = parse_ok(scheme, &displayed)?;
        prop_assert_eq!(
            &reparsed,
            version,
            "display {:?} reparsed unequal",
            displayed
        );
        prop_assert_eq!(reparsed.to_string(), displayed);
    }
    for a in &versions {
        for b in &versions {
            let forward = a.cmp(b);
            prop_assert_eq!(forward, b.cmp(a).reverse(), "antisymmetry: {} vs {}", a, b);
            prop_assert_eq!(
                a == b,
                forward == Ordering::Equal,
                "== vs cmp: {} vs {}",
                a,
                b
            );
            prop_assert_eq!(a.partial_cmp(b), Some(forward));
        }
    }
    for a in &versions {
        for b in &versions {
            let a_b = a.cmp(b);
            for c in &versions {
                let b_c = b.cmp(c);
                // a <= b <= c implies a <= c, strictly if either step is strict; a == b == c
                // implies a == c.
                if a_b != Ordering::Greater && b_c != Ordering::Greater {
                    let expected = if a_b == Ordering::Equal { b_c } else { a_b };
                    let a_c = a.cmp(c);
                    prop_assert!(
                        a_c == expected || (expected == Ordering::Less && a_c == Ordering::Less),
                        "not transitive: {} {:?} {} {:?} {} but {} {:?} {}",
                        a,
                        a_b,
                        b,
                        b_c,
                        c,
                        a,
                        a_c,
                        c
                    );
                }
            }
        }
    }
    versions.sort();
    for pair in versions.windows(2) {
        prop_assert_ne!(pair[0].cmp(&pair[1]), Ordering::Greater);
    }
    Ok(())
}

/// A batch of versions, small enough to compare every pair.
fn batch(version: impl Strategy<Value = String>) -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(version, 2..24)
}

/// A version made of a `head` token followed by up to `max_more` (separator, token) pairs.
/// Drawing from short token lists makes batches often hold near-equal versions (`1.#`,
/// `1.0`, `1`), which is where broken orders show.
fn joined(
    heads: &'static [&'static str],
    separators: &'static [&'static str],
    tokens: &'static [&'static str],
    max_more: usize,
) -> impl Strategy<Value = String> {
    let pair = (
        prop::sample::select(separators),
        prop::sample::select(tokens),
    );
    (
        prop::sample::select(heads),
        prop::collection::vec(pair, 0..=max_more),
    )
        .prop_map(|(head, rest)| {
            let mut version = head.to_string();
            for (separator, token) in rest {
                version.push_str(separator);
                version.push_str(token);
            }
            version
        })
}

const DIGITS: &[&str] = &["0", "1", "2", "00", "01", "10"];

fn dpkg_version() -> impl Strategy<Value = String> {
    let upstream = joined(
        &["0", "1", "2", "10", "01"],
        &[".", "+", "~", "", "-"],
        &["0", "1", "2", "a", "b", "~", "~~", "+", "dfsg", "rc1"],
        4,
    );
    let epoch = prop::sample::select(&["", "0:", "1:", "2:", "01:"][..]);
    (epoch, upstream).prop_map(|(epoch, upstream)| format!("{epoch}{upstream}"))
}

fn rpm_version() -> impl Strategy<Value = String> {
    let body = joined(
        &["0", "1", "2", "a", "10", "01", "+", "~", "^"],
        &[".", "_", "+", "~", "^", "", "-", ":"],
        &["0", "1", "2", "a", "b", "el7", "git1", "~", "^", "rc"],
        4,
    );
    let epoch = prop::sample::select(&["", "0:", "1:", "2:", "01:", ":"][..]);
    (epoch, body).prop_map(|(epoch, body)| format!("{epoch}{body}"))
}

fn apk_version() -> impl Strategy<Value = String> {
    let numbers = joined(&["0", "1", "2", "10"], &["."], DIGITS, 2);
    let rest = joined(
        &["", "a", "b"],
        &["", "_", "-", "~", "."],
        &[
            "alpha", "rc1", "rc", "cvs", "p", "p1", "r0", "r1", "r", "1", "2", "ab", "z", "blah",
        ],
        3,
    );
    (numbers, rest).prop_map(|(numbers, rest)| format!("{numbers}{rest}"))
}

fn rubygems_version() -> impl Strategy<Value = String> {
    joined(
        &["0", "1", "2", "01", "1a", "1beta"],
        &[".", "-", "."],
        &["0", "1", "2", "a", "a1", "b", "pre", "rc1", "A", "00"],
        4,
    )
}

fn composer_version() -> impl Strategy<Value = String> {
    joined(
        &["0", "1", "2", "v1", "V1", "dev-foo", "1.0"],
        &[".", "-", "_", "+", ""],
        &[
            "0", "1", "2", "#", "dev", "a", "alpha", "b", "beta", "BETA", "RC", "rc", "p", "pl",
            "patch", "stable", "x",
        ],
        4,
    )
}

fn cran_version() -> impl Strategy<Value = String> {
    joined(DIGITS, &[".", "-"], DIGITS, 4)
}

fn hackage_version() -> impl Strategy<Value = String> {
    joined(DIGITS, &["."], DIGITS, 4)
}

fn generic_version() -> impl Strategy<Value = String> {
    joined(
        &["0", "1", "2", "v1", "V1", "01", "rc"],
        &[".", "-", "_", "+", ""],
        &["0", "1", "2", "00", "a", "b", "RC", "rc", "beta", "v"],
        4,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn dpkg_laws(texts in batch(dpkg_version())) {
        check_laws(Scheme::Dpkg, &texts)?;
    }

    #[test]
    fn rpm_laws(texts in batch(rpm_version())) {
        check_laws(Scheme::Rpm, &texts)?;
    }

    #[test]
    fn apk_laws(texts in batch(apk_version())) {
        check_laws(Scheme::Apk, &texts)?;
    }

    #[test]
    fn rubygems_laws(texts in batch(rubygems_version())) {
        check_laws(Scheme::RubyGems, &texts)?;
    }

    #[test]
    fn composer_laws(texts in batch(composer_version())) {
        check_laws(Scheme::Composer, &texts)?;
    }

    #[test]
    fn cran_laws(texts in batch(cran_version())) {
        check_laws(Scheme::Cran, &texts)?;
    }

    #[test]
    fn hackage_laws(texts in batch(hackage_version())) {
        check_laws(Scheme::Hackage, &texts)?;
    }

    #[test]
    fn generic_laws(texts in batch(generic_version())) {
        check_laws(Scheme::Generic, &texts)?;
    }

    /// Any text: parsers return a value or an error naming the scheme and the input, and
    /// whatever parses obeys the laws with the other parsed values.
    #[test]
    fn arbitrary_text_never_panics(texts in prop::collection::vec(any::<String>(), 1..8)) {
        for scheme in [
            Scheme::Generic, Scheme::RubyGems, Scheme::Composer, Scheme::Dpkg, Scheme::Rpm,
            Scheme::Apk, Scheme::Cran, Scheme::Hackage,
        ] {
            let mut parsed = Vec::new();
            for text in &texts {
                match scheme.parse(text) {
                    Ok(_) => parsed.push(text.clone()),
                    Err(error) => {
                        prop_assert_eq!(&error.input, text);
                        prop_assert_eq!(error.scheme.as_str(), scheme.name());
                    }
                }
            }
            check_laws(scheme, &parsed)?;
        }
    }

    /// Version-like noise (the characters versions are made of) finds more corner cases than
    /// arbitrary Unicode.
    #[test]
    fn version_like_noise_obeys_the_laws(texts in prop::collection::vec("[0-9a-dprv.:~^_+-]{1,10}", 1..16)) {
        for scheme in [
            Scheme::Generic, Scheme::RubyGems, Scheme::Composer, Scheme::Dpkg, Scheme::Rpm,
            Scheme::Apk, Scheme::Cran, Scheme::Hackage,
        ] {
            let parsed: Vec<String> = texts.iter().filter(|t| scheme.parse(t).is_ok()).cloned().collect();
            check_laws(scheme, &parsed)?;
        }
    }
}
