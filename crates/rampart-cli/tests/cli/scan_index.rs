//! `rampart scan`'s index file beside a data directory's database: written by `rampart
//! import` and by a scan that finds none, used only while it is of the database's current
//! state, and never read when damaged; whichever way the knowledge comes, the report is the
//! same.

use std::path::Path;
use std::process::Command;

use rampart_store::SCAN_INDEX_FILE;
use serde_json::Value;

use crate::scan::{rustsec_database, scan, write_edge_lockfile};

/// The JSON report of a scan that must succeed (exit 0 or 1), and its standard error.
fn report(db: &Path, lock: &Path) -> (Value, String) {
    let (code, stdout, stderr) = scan(db, &["--json", lock.to_str().unwrap()]);
    assert!(code == 0 || code == 1, "exit {code}: {stderr}");
    (serde_json::from_str(&stdout).unwrap(), stderr)
}

fn ids(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {}", f["id"], f["package"]["version"]))
        .collect()
}

#[test]
fn the_scan_index_gives_the_database_s_answer_and_follows_its_changes() {
    let Some((db, root)) = rustsec_database() else {
        return;
    };
    let index = db.path().join(SCAN_INDEX_FILE);
    assert!(index.is_file(), "rampart import writes the scan index");
    let work = tempfile::tempdir().unwrap();
    let lock = write_edge_lockfile(work.path(), &root);

    let (from_index, stderr) = report(db.path(), &lock);
    assert_eq!(stderr, "");
    assert!(ids(&from_index).len() > 300, "{}", ids(&from_index).len());

    // The database's own answer: an index path that cannot be a file is neither read nor
    // written (the scan warns twice and queries rampart.db).
    std::fs::remove_file(&index).unwrap();
    std::fs::create_dir(&index).unwrap();
    let (from_database, stderr) = report(db.path(), &lock);
    assert!(stderr.contains("warning:"), "{stderr}");
    assert_eq!(from_database, from_index);
    std::fs::remove_dir(&index).unwrap();

    // No index: the scan writes one and answers the same.
    let (rewritten, stderr) = report(db.path(), &lock);
    assert_eq!(stderr, "");
    assert!(index.is_file());
    assert_eq!(rewritten, from_index);

    // A damaged index is reported and not read; the scan writes a sound one.
    let mut bytes = std::fs::read(&index).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&index, &bytes).unwrap();
    let (despite_damage, stderr) = report(db.path(), &lock);
    assert!(
        stderr.contains("the scan index is damaged: checksum mismatch"),
        "{stderr}"
    );
    assert_eq!(despite_damage, from_index);
    let (_, stderr) = report(db.path(), &lock);
    assert_eq!(stderr, "", "the damaged index was replaced");

    // A new advisory (smallvec, every version) moves the knowledge base on. An index of the
    // state before it, put back after the import rewrote it, is stale and not used.
    let before = std::fs::read(&index).unwrap();
    let extra = work.path().join("extra");
    std::fs::create_dir(&extra).unwrap();
    std::fs::write(
        extra.join("RUSTSEC-2099-0001.json"),
        r#"{"schema_version":"1.4.0","id":"RUSTSEC-2099-0001","modified":"2099-01-01T00:00:00Z",
            "published":"2099-01-01T00:00:00Z","summary":"every smallvec",
            "affected":[{"package":{"ecosystem":"crates.io","name":"smallvec"},
            "ranges":[{"type":"SEMVER","events":[{"introduced":"0.0.0-0"}]}]}]}"#,
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["import", "--quiet", "--type", "osv", "--data-dir"])
        .arg(db.path())
        .arg(&extra)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let new_finding = |report: &Value| {
        ids(report)
            .iter()
            .filter(|id| id.contains("RUSTSEC-2099-0001"))
            .count()
    };
    let (after_import, _) = report(db.path(), &lock);
    assert_eq!(new_finding(&from_index), 0);
    assert!(new_finding(&after_import) > 0);
    std::fs::write(&index, &before).unwrap();
    let (past_stale_index, stderr) = report(db.path(), &lock);
    assert_eq!(stderr, "");
    assert_eq!(past_stale_index, after_import);
    assert_ne!(
        std::fs::read(&index).unwrap(),
        before,
        "the stale index was replaced"
    );
}
