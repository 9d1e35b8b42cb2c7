#![no_main]
//! SARIF upload: decoded as the import does (JSON, gzip, base64, bounded), then read.

use libfuzzer_sys::fuzz_target;
use rampart_formats::sarif::{decode_upload, read_sarif, ReadLimits};

fuzz_target!(|data: &[u8]| {
    let Ok((json, _)) = decode_upload(data, 4 << 20) else {
        return;
    };
    if let Ok(report) = read_sarif(&json, ReadLimits::default()) {
        for run in &report.runs {
            for result in &run.results {
                assert!(!result.identity.is_empty());
            }
        }
    }
});
