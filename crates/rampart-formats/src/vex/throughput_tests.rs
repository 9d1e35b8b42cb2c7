//! The benchmark of BENCHMARKS.md ("VEX documents"): a 10,000-statement document written in
//! each format and read back. Ignored by default (run with `--ignored` in a release build);
//! it prints figures and asserts only what was read, never a time.

use std::time::Instant;

use super::test_documents::{all_dispositions, document_with};
use super::{read, write, VexFormat};

#[test]
#[ignore = "benchmark: cargo test --release -p rampart-formats vex_10k -- --ignored --nocapture"]
fn vex_10k_statements_written_and_read_in_every_format() {
    let document = document_with(&all_dispositions(), 10_000, 2_000);
    for format in [
        VexFormat::OpenVex,
        VexFormat::CycloneDxJson,
        VexFormat::CycloneDxXml,
        VexFormat::Csaf,
    ] {
        let mut write_times = Vec::new();
        let mut read_times = Vec::new();
        let mut size = 0;
        let mut statements = 0;
        for _ in 0..5 {
            let started = Instant::now();
            let bytes = write(&document, format).unwrap();
            write_times.push(started.elapsed());
            size = bytes.len();
            let started = Instant::now();
            let back = read(&bytes).unwrap();
            read_times.push(started.elapsed());
            assert!(back.skipped.is_empty());
            statements = back.document.statements.len();
        }
        write_times.sort();
        read_times.sort();
        assert!(statements >= 10_000, "{format}: {statements}");
        println!(
            "{format:>14}: {:>6.1} MB, write median {:>6.1} ms, read median {:>6.1} ms ({statements} statements read)",
            size as f64 / 1e6,
            write_times[2].as_secs_f64() * 1e3,
            read_times[2].as_secs_f64() * 1e3,
        );
    }
}
