#![no_main]
//! EPSS CSV (plain or gzip): every score kept is a probability.

use libfuzzer_sys::fuzz_target;
use rampart_formats::advisory::parse_epss;

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = parse_epss(data) {
        for score in &file.scores.records {
            assert!((0.0..=1.0).contains(&score.epss));
            assert!((0.0..=1.0).contains(&score.percentile));
        }
    }
});
