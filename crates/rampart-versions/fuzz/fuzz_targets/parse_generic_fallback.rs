//! Parses arbitrary UTF-8 as a version of the generic fallback scheme. A successful parse must display as text that
//! parses back to an equal version and compare equal to itself; a failed parse must name the
//! scheme and the input. Text with a newline is also read as two versions whose comparison
//! must be antisymmetric.
#![no_main]

use std::cmp::Ordering;

use libfuzzer_sys::fuzz_target;
use rampart_versions::Scheme;

const SCHEME: Scheme = Scheme::Generic;

fn check_one(text: &str) {
    match SCHEME.parse(text) {
        Ok(version) => {
            let displayed = version.to_string();
            let reparsed = SCHEME.parse(&displayed).unwrap_or_else(|e| {
                panic!("display {displayed:?} of {text:?} does not parse: {e}")
            });
            assert_eq!(
                reparsed, version,
                "round trip of {text:?} via {displayed:?}"
            );
            assert_eq!(version.cmp(&version), Ordering::Equal);
        }
        Err(error) => {
            assert_eq!(error.input, text);
            assert_eq!(error.scheme, SCHEME.name());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_one(text);
    if let Some((left, right)) = text.split_once('\n') {
        check_one(left);
        check_one(right);
        if let (Ok(a), Ok(b)) = (SCHEME.parse(left), SCHEME.parse(right)) {
            assert_eq!(a.cmp(&b), b.cmp(&a).reverse(), "{left:?} vs {right:?}");
            assert_eq!(a == b, a.cmp(&b) == Ordering::Equal);
        }
    }
});
