#![no_main]
//! Versions of every ecosystem's scheme (the first byte picks one of `SCHEMES`); the checks are in `check_version`.

use libfuzzer_sys::fuzz_target;
use rampart_fuzz::{check_version, select, SCHEMES};

fuzz_target!(|data: &[u8]| {
    let Some((scheme, bytes)) = select(SCHEMES, data) else {
        return;
    };
    if let Ok(text) = std::str::from_utf8(bytes) {
        check_version(scheme, text);
    }
});
