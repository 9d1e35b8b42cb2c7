//! Every `<example>` of every Recog database scans use is identified with the values it
//! names, read from the shared Recog checkout (`RAMPART_TEST_DATA/recog/xml`), the way Recog's
//! own `recog_verify` checks them: each example against its own fingerprint. Fingerprints the
//! regex engine cannot run are skipped with their reason and printed, and their number is
//! pinned, so it cannot grow unnoticed.

use rampart_engine::scans::recog::{RecogLibrary, DATABASES};
use rampart_formats::recog::{parse_database, Matcher};

/// Fingerprints of the used databases the `regex` crate cannot compile (printed by the test).
const EXPECTED_SKIPPED: usize = 0;

#[test]
fn every_example_of_every_used_database_is_identified() {
    let Some(dir) = rampart_test_data::corpus("recog/xml") else {
        return;
    };
    let mut examples = 0;
    let mut checked = 0;
    let mut skipped_examples = 0;
    let mut failures = Vec::new();
    let mut skipped_patterns = Vec::new();
    for (name, _) in DATABASES {
        let text = std::fs::read_to_string(dir.join(format!("{name}.xml"))).unwrap();
        let database = parse_database(name, &text).unwrap();
        let matcher = Matcher::compile(database);
        for skipped in matcher.skipped() {
            skipped_patterns.push(format!(
                "{name}: {:?} ({})",
                skipped.pattern, skipped.reason
            ));
        }
        for (index, fingerprint) in matcher.database().fingerprints.iter().enumerate() {
            for example in &fingerprint.examples {
                examples += 1;
                if !matcher.is_compiled(index) {
                    skipped_examples += 1;
                    continue;
                }
                checked += 1;
                let shown = String::from_utf8_lossy(&example.text);
                match matcher.identify_by(index, &example.text) {
                    None => failures.push(format!(
                        "{name}: {:?} does not match {shown:?}",
                        fingerprint.pattern
                    )),
                    Some(found) => {
                        for (key, expected) in &example.expected {
                            let got = found.params.get(key).map(String::as_str).unwrap_or("");
                            if got != expected {
                                failures.push(format!(
                                    "{name}: {shown:?}: {key} = {got:?}, expected {expected:?}"
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    println!(
        "{examples} examples, {checked} checked, {skipped_examples} belong to skipped fingerprints; {} fingerprints skipped",
        skipped_patterns.len()
    );
    for skipped in &skipped_patterns {
        println!("skipped {skipped}");
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 2000, "only {checked} examples checked");
    assert_eq!(skipped_patterns.len(), EXPECTED_SKIPPED);
}

#[test]
fn the_embedded_snapshot_loads_and_identifies_common_banners() {
    let library = RecogLibrary::load(None).unwrap();
    let nginx = library
        .identify("http_servers", b"nginx/1.18.0")
        .expect("nginx");
    assert_eq!(nginx.get("service.product"), Some("nginx"));
    assert_eq!(nginx.get("service.version"), Some("1.18.0"));
    assert_eq!(
        nginx.cpe23("service").as_deref(),
        Some("cpe:2.3:a:f5:nginx:1.18.0:*:*:*:*:*:*:*")
    );
    let ssh = library
        .identify("ssh_banners", b"OpenSSH_7.4")
        .expect("openssh");
    assert_eq!(ssh.get("service.product"), Some("OpenSSH"));
    assert_eq!(ssh.get("service.version"), Some("7.4"));
}
