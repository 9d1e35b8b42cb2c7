//! Arbitrary UTF-8 as a `Scheme::Dpkg` version; the checks are in `src/lib.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_versions::Scheme;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        rampart_versions_fuzz::check_parse(Scheme::Dpkg, text);
    }
});
