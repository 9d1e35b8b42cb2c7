//! What every version-parse target checks: parsing never panics; a failed parse names the
//! scheme and the input; whatever parses displays as text that parses back to an equal
//! version, displays the same again, and compares equal to itself; and text holding a
//! newline is also read as two versions whose comparison must be antisymmetric.

use std::cmp::Ordering;

use rampart_versions::Scheme;

pub fn check_parse(scheme: Scheme, text: &str) {
    check_one(scheme, text);
    if let Some((left, right)) = text.split_once('\n') {
        check_one(scheme, left);
        check_one(scheme, right);
        if let (Ok(a), Ok(b)) = (scheme.parse(left), scheme.parse(right)) {
            assert_eq!(a.cmp(&b), b.cmp(&a).reverse(), "{left:?} vs {right:?}");
            assert_eq!(a == b, a.cmp(&b) == Ordering::Equal, "{left:?} vs {right:?}");
        }
    }
}

fn check_one(scheme: Scheme, text: &str) {
    let version = match scheme.parse(text) {
        Ok(version) => version,
        Err(error) => {
            assert_eq!(error.input, text);
            assert_eq!(error.scheme, scheme.name());
            return;
        }
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
