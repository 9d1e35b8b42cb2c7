//! What every parse target checks: parsing never panics, and whatever parses displays as
//! text that parses back to an equal version, displays the same again, and compares equal
//! to itself.

use std::cmp::Ordering;

use rampart_versions::Scheme;

pub fn check_parse(scheme: Scheme, text: &str) {
    let Ok(version) = scheme.parse(text) else {
        return;
    };
    assert_eq!(version.cmp(&version), Ordering::Equal, "{text:?}");
    let shown = version.to_string();
    let reparsed = scheme
        .parse(&shown)
        .unwrap_or_else(|err| panic!("{text:?} displays as {shown:?}, which fails: {err}"));
    assert_eq!(
        reparsed.cmp(&version),
        Ordering::Equal,
        "{text:?} -> {shown:?}"
    );
    assert_eq!(
        version.cmp(&reparsed),
        Ordering::Equal,
        "{text:?} -> {shown:?}"
    );
    assert_eq!(
        reparsed.to_string(),
        shown,
        "{text:?}: Display is not a normal form"
    );
}
