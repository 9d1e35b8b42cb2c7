//! Property tests: no parser panics, whatever the bytes, and a failure is always either a
//! `FormatError` or a skipped record with a reason.

use proptest::prelude::*;

use super::*;

/// Fragments of the real formats, so that generated inputs get past the first syntax check
/// more often than uniformly random bytes would.
const FRAGMENTS: [&str; 24] = [
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"id\"",
    "\"modified\"",
    "\"2024-01-01T00:00:00Z\"",
    "\"affected\"",
    "\"ranges\"",
    "\"events\"",
    "{\"introduced\":\"0\"}",
    "\"severity\"",
    "{\"type\":\"CVSS_V3\",\"score\":\"CVSS:3.1/AV:N\"}",
    "null",
    "1e999",
    "\"vulnerabilities\"",
    "{\"cve\":{\"id\":\"CVE-1\"}}",
    "\"cveID\"",
    "\n",
    "#model_version:v1,score_date:x\n",
    "cve,epss,percentile\n",
    "- id: X\n  modified: 2024-01-01T00:00:00Z\n",
];

fn fragment_soup() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(FRAGMENTS.to_vec()), 0..40)
        .prop_map(|parts| parts.concat().into_bytes())
}

fn exercise_every_parser(bytes: &[u8]) {
    if let Ok(report) = parse_osv_json(bytes) {
        assert!(report.skipped.iter().all(|s| !s.reason.is_empty()));
    }
    if let Ok(report) = parse_osv_yaml(bytes) {
        assert!(report.skipped.iter().all(|s| !s.reason.is_empty()));
    }
    if let Ok(page) = parse_nvd_page(bytes) {
        let seen = page.advisories.records.len() + page.advisories.skipped.len();
        assert_eq!(seen as u64, page.entries_on_page);
    }
    let _ = parse_nvd_cve_item(bytes);
    if let Ok(report) = parse_nvd_cves(bytes) {
        assert!(report.skipped.iter().all(|s| !s.reason.is_empty()));
    }
    let _ = parse_kev_json(bytes);
    let _ = parse_kev_csv(bytes);
    if let Ok(file) = parse_epss(bytes) {
        assert!(file
            .scores
            .records
            .iter()
            .all(|s| (0.0..=1.0).contains(&s.epss) && (0.0..=1.0).contains(&s.percentile)));
    }
    let _ = parse_exploitdb_csv(bytes);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        exercise_every_parser(&bytes);
    }

    #[test]
    fn format_like_inputs_never_panic(bytes in fragment_soup()) {
        exercise_every_parser(&bytes);
    }

    #[test]
    fn any_cvss_string_scores_in_range_or_errs(
        prefix in prop::sample::select(vec!["", "CVSS:3.0/", "CVSS:3.1/", "CVSS:4.0/", "("]),
        metrics in prop::collection::vec(
            (prop::sample::select(vec!["AV", "AC", "AT", "Au", "PR", "UI", "S", "C", "I", "A", "VC", "VI", "VA", "SC", "SI", "SA", "E", "MAV", "CR"]),
             prop::sample::select(vec!["N", "L", "H", "P", "A", "R", "U", "C", "M", "S", "X", "Z", ""])),
            0..14,
        ),
    ) {
        let vector = format!(
            "{prefix}{}",
            metrics.iter().map(|(m, v)| format!("{m}:{v}")).collect::<Vec<_>>().join("/")
        );
        if let Ok(score) = score_vector(&vector) {
            prop_assert!((0.0..=10.0).contains(&score.base_score));
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep_json = "[".repeat(100_000);
    assert!(parse_osv_json(deep_json.as_bytes()).is_err());
    assert!(parse_nvd_page(deep_json.as_bytes()).is_err());
    assert!(parse_kev_json(deep_json.as_bytes()).is_err());
    let deep_yaml = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(parse_osv_yaml(deep_yaml.as_bytes()).is_err());
}

#[test]
fn yaml_alias_expansion_bomb_is_refused() {
    // Each level references the previous one nine times: expanding it fully would need
    // 9^9 nodes. The YAML layer must refuse rather than exhaust memory.
    let mut bomb = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for pair in names.windows(2) {
        let (previous, next) = (pair[0], pair[1]);
        bomb.push_str(&format!(
            "{next}: &{next} [*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous}]\n"
        ));
    }
    bomb.push_str("id: X\nmodified: 2024-01-01T00:00:00Z\n");
    let outcome = parse_osv_yaml(bomb.as_bytes());
    assert!(matches!(outcome, Err(FormatError::Yaml(_))), "{outcome:?}");
}
