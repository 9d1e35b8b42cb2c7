//! What the purl, vers and CPE fuzz targets (`fuzz/fuzz_targets/{purl,vers,cpe}.rs` at the
//! repository root) check, also run as bounded property tests so that CI exercises them
//! without libFuzzer: parsing arbitrary text never panics, and whatever parses serialises to text
//! that parses back equal. Inputs are arbitrary Unicode and, to reach deeper, noise over each
//! notation's own alphabet behind its prefix. (The version parsers have the same smoke tests
//! beside each scheme and in `properties.rs`.)

use proptest::prelude::*;

use crate::purl::{Purl, Strictness};
use crate::vers::VersRange;
use crate::{Cpe, Scheme};

fn check_purl(text: &str) -> Result<(), TestCaseError> {
    for strictness in [Strictness::Strict, Strictness::Lenient] {
        if let Ok(purl) = Purl::parse_with(text, strictness) {
            // What was read leniently re-reads leniently (a Go module path without a `/`
            // has no strict spelling).
            let canonical = purl.to_string();
            let reparsed = Purl::parse_with(&canonical, strictness)
                .map_err(|e| TestCaseError::fail(format!("{text:?} -> {canonical:?}: {e}")))?;
            prop_assert_eq!(&reparsed, &purl, "{:?} -> {:?}", text, canonical);
            let _ = purl.osv_package();
        }
    }
    Ok(())
}

fn check_vers(text: &str) -> Result<(), TestCaseError> {
    let _ = VersRange::parse(text);
    if let Ok(range) = VersRange::parse_syntax(text) {
        let shown = range.to_string();
        let reparsed = VersRange::parse_syntax(&shown)
            .map_err(|e| TestCaseError::fail(format!("{text:?} -> {shown:?}: {e}")))?;
        prop_assert_eq!(&reparsed, &range);
        if let Ok(simplified) = range.simplified(Scheme::Generic) {
            if let Ok(compiled) = simplified.compile(Scheme::Generic) {
                let _ = compiled.contains_str("1.0");
            }
        }
    }
    Ok(())
}

fn check_cpe(text: &str) -> Result<(), TestCaseError> {
    if let Ok(cpe) = Cpe::parse(text) {
        let formatted = cpe.to_string();
        let reparsed = Cpe::parse(&formatted)
            .map_err(|e| TestCaseError::fail(format!("{text:?} -> {formatted:?}: {e}")))?;
        prop_assert_eq!(&reparsed, &cpe, "{:?} -> {:?}", text, formatted);
        let _ = cpe.matches(&reparsed);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_breaks_the_identifier_parsers(text in any::<String>()) {
        check_purl(&text)?;
        check_vers(&text)?;
        check_cpe(&text)?;
    }

    #[test]
    fn purl_shaped_noise(text in "pkg:[a-zA-Z0-9.+-]{0,6}/[a-zA-Z0-9%@/?#=&.:+_ -]{0,40}") {
        check_purl(&text)?;
    }

    #[test]
    fn vers_shaped_noise(text in "vers:[a-z]{0,7}/[0-9a-z.<>=!*|%-]{0,30}") {
        check_vers(&text)?;
    }

    #[test]
    fn cpe_shaped_noise(text in "cpe:(2\\.3:|/)[aoh*-]?[a-z0-9:_.\\\\*?!%~-]{0,60}") {
        check_cpe(&text)?;
    }
}
