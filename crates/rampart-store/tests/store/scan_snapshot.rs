//! `Store::scan_snapshot` (what `rampart scan` reads) on both backends: SQLite reads it through
//! SQLite's own API in one transaction, PostgreSQL through sqlx; both must give the values the
//! separate reads give, and the same values as each other.

use std::collections::{BTreeMap, BTreeSet};

use std::path::Path;

use chrono::{DateTime, Utc};
use rampart_core::match_index::AffectedInput;
use rampart_formats::advisory::{parse_osv_json, Advisory};
use rampart_store::{
    current_index, DatabaseLocation, IndexState, ScanSnapshot, Store, SCAN_INDEX_FILE,
};

use crate::kb_ingest::{kev_and_epss, stores};

/// An affected row without internal ids: (record, ecosystem, name, normalized name, purl,
/// ranges, versions, modified, withdrawn, informational).
type AffectedKey = (
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<String>,
);

/// Everything a snapshot says, keyed by public ids so two databases compare.
#[derive(Debug, PartialEq)]
struct Seen {
    kb_version_positive: bool,
    affected: Vec<AffectedKey>,
    /// Record → (source, published, summary, cvss, severity, epss, percentile, KEV,
    /// identifiers of its alias group).
    records: BTreeMap<String, RecordKey>,
}

type RecordKey = (
    String,
    Option<DateTime<Utc>>,
    Option<String>,
    Option<f64>,
    Option<String>,
    Option<f64>,
    Option<f64>,
    bool,
    Vec<String>,
);

fn seen(snapshot: &ScanSnapshot) -> Seen {
    let mut affected: Vec<AffectedKey> = snapshot
        .affected
        .iter()
        .map(|row| {
            (
                row.vuln_id.clone(),
                row.ecosystem.clone(),
                row.name.clone(),
                row.normalized_name.clone(),
                row.purl.clone(),
                row.ranges.clone(),
                row.versions.clone(),
                row.modified,
                row.withdrawn,
                row.informational.clone(),
            )
        })
        .collect();
    affected.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    let records = snapshot
        .references
        .values()
        .map(|reference| {
            let view = &snapshot.views[&reference.internal_id];
            assert_eq!(view.vuln_id, reference.vuln_id);
            assert_eq!(view.group_id, reference.group_id);
            let identifiers = snapshot.group_identifiers[&reference.group_id].clone();
            (
                reference.vuln_id.clone(),
                (
                    reference.source.clone(),
                    reference.published,
                    view.summary.clone(),
                    view.cvss,
                    view.severity.clone(),
                    view.epss,
                    view.epss_percentile,
                    view.in_kev,
                    identifiers,
                ),
            )
        })
        .collect();
    Seen {
        kb_version_positive: snapshot.kb_version > 0,
        affected,
        records,
    }
}

/// The RustSec corpus's advisories, in id order.
fn rustsec(root: &Path) -> Vec<Advisory> {
    let mut advisories = Vec::new();
    for entry in std::fs::read_dir(root.join("rustsec-advisory-db/osv/crates")).unwrap() {
        let path = entry.unwrap().path();
        advisories.extend(
            parse_osv_json(&std::fs::read(&path).unwrap())
                .unwrap()
                .records,
        );
    }
    advisories.sort_by(|a, b| a.id.cmp(&b.id));
    advisories
}

/// Every crate name the advisories name (lower-cased: crates.io's normal form).
fn crate_names(advisories: &[Advisory]) -> Vec<String> {
    let names: BTreeSet<String> = advisories
        .iter()
        .flat_map(|a| a.affected.iter().filter_map(|p| p.package.as_ref()))
        .map(|package| package.name.to_lowercase())
        .collect();
    names.into_iter().collect()
}

/// Every other crate the corpus names, and one it does not.
fn every_other_name(advisories: &[Advisory]) -> Vec<String> {
    let mut names: Vec<String> = crate_names(advisories).into_iter().step_by(2).collect();
    names.push("no-such-crate-anywhere".into());
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_snapshot_holds_what_the_separate_reads_hold_on_both_backends() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let advisories = rustsec(&root);
    let (kev, epss) = kev_and_epss(&root);
    let names = every_other_name(&advisories);

    let mut by_backend = Vec::new();
    for (store, _kept) in stores().await {
        for chunk in advisories.chunks(500) {
            store.ingest_advisories("osv", chunk).await.unwrap();
        }
        store.ingest_kev(&kev).await.unwrap();
        store.ingest_epss(&epss).await.unwrap();
        let snapshot = store.scan_snapshot(&names).await.unwrap();
        assert_agrees_with_separate_reads(&store, &names, &snapshot).await;
        by_backend.push((store.backend(), seen(&snapshot)));
        store.close().await;
    }

    let (_, first) = &by_backend[0];
    // Not vacuous: the corpus gave rows and records of every kind the snapshot decodes.
    assert!(first.affected.len() > 300, "{}", first.affected.len());
    assert!(
        first.affected.iter().any(|row| row.8.is_some()),
        "a withdrawn record"
    );
    assert!(
        first.affected.iter().any(|row| row.9.is_some()),
        "an informational record"
    );
    assert!(
        first.records.values().any(|r| r.1.is_some()),
        "a publication time"
    );
    assert!(
        first.records.values().any(|r| r.3.is_some()),
        "a CVSS score"
    );
    assert!(
        first.records.values().any(|r| r.8.len() > 1),
        "an alias group"
    );
    assert!(first.kb_version_positive);
    for (backend, other) in &by_backend[1..] {
        assert_eq!(other, first, "{backend:?} against SQLite");
    }
}

/// The snapshot against the store's separate reads of the same things.
async fn assert_agrees_with_separate_reads(
    store: &Store,
    names: &[String],
    snapshot: &ScanSnapshot,
) {
    let backend = store.backend();
    assert_eq!(
        snapshot.kb_version,
        store.kb_version().await.unwrap(),
        "{backend:?}"
    );
    let wanted: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    let expected: Vec<(i64, String, String)> = store
        .affected_package_rows()
        .await
        .unwrap()
        .into_iter()
        .filter(|row| wanted.contains(row.normalized_name.as_str()))
        .map(|row| (row.vulnerability_id, row.normalized_name, row.ranges))
        .collect();
    let actual: Vec<(i64, String, String)> = snapshot
        .affected
        .iter()
        .map(|row| {
            (
                row.vulnerability_id,
                row.normalized_name.clone(),
                row.ranges.clone(),
            )
        })
        .collect();
    assert_eq!(actual, expected, "{backend:?}: affected rows in id order");
    let records: Vec<i64> = snapshot
        .affected
        .iter()
        .map(|r| r.vulnerability_id)
        .collect();
    assert_eq!(
        snapshot.references,
        store.vulnerability_refs(&records).await.unwrap(),
        "{backend:?}"
    );
    assert_eq!(
        snapshot.views,
        store.matched_record_views(&records).await.unwrap(),
        "{backend:?}"
    );
    let groups: Vec<i64> = snapshot.references.values().map(|r| r.group_id).collect();
    assert_eq!(
        snapshot.group_identifiers,
        store.group_identifiers(&groups).await.unwrap(),
        "{backend:?}"
    );
}

/// A SQLite store of its own directory, migrated.
async fn sqlite_store(dir: &Path) -> Store {
    let store = Store::connect(&DatabaseLocation::SqliteDir(dir.to_path_buf()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
}

/// The index's snapshot of `names`, which must be current.
fn indexed(dir: &Path, names: &[String]) -> ScanSnapshot<AffectedInput> {
    match current_index(dir) {
        IndexState::Current(index) => index.snapshot(names).unwrap(),
        other => panic!("the index is not current: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scan_index_gives_what_the_database_gives_until_the_knowledge_base_moves() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let advisories = rustsec(&root);
    let (kev, epss) = kev_and_epss(&root);
    let (last, most) = advisories.split_last().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path()).await;
    for chunk in most.chunks(500) {
        store.ingest_advisories("osv", chunk).await.unwrap();
    }
    store.ingest_kev(&kev).await.unwrap();
    store.ingest_epss(&epss).await.unwrap();
    assert!(matches!(current_index(dir.path()), IndexState::Stale));
    let rows = store.write_scan_index(dir.path()).await.unwrap().unwrap();
    assert_eq!(rows as i64, store.affected_package_count().await.unwrap());

    let all = crate_names(&advisories);
    let every_other = every_other_name(&advisories);
    let the_rest: Vec<String> = all.iter().skip(1).step_by(2).cloned().collect();
    let mut name_sets = vec![all.clone(), every_other, the_rest, Vec::new()];
    name_sets.extend(all.iter().take(40).map(|name| vec![name.clone()]));
    for names in &name_sets {
        let expected = store.scan_snapshot(names).await.unwrap().into_inputs();
        assert_eq!(indexed(dir.path(), names), expected, "{names:?}");
    }
    // Not vacuous: the whole corpus's rows, ratings and KEV entries come through.
    let whole = indexed(dir.path(), &all);
    assert_eq!(whole.affected.len(), rows);
    assert!(whole.views.values().any(|view| view.cvss.is_some()));
    assert!(whole.group_identifiers.values().any(|ids| ids.len() > 1));

    // One more advisory moves the version and draws a new stamp: the index is stale.
    let before = store.kb_stamp().await.unwrap();
    store
        .ingest_advisories("osv", std::slice::from_ref(last))
        .await
        .unwrap();
    let after = store.kb_stamp().await.unwrap();
    assert!(
        after.0 > before.0 && after.1 != before.1,
        "{before:?} → {after:?}"
    );
    assert!(matches!(current_index(dir.path()), IndexState::Stale));
    store.write_scan_index(dir.path()).await.unwrap();
    assert_eq!(
        indexed(dir.path(), &all),
        store.scan_snapshot(&all).await.unwrap().into_inputs()
    );

    // Another database at the same version is another state: the stamp tells them apart.
    let other_dir = tempfile::tempdir().unwrap();
    let other = sqlite_store(other_dir.path()).await;
    for chunk in most.chunks(500) {
        other.ingest_advisories("osv", chunk).await.unwrap();
    }
    other.ingest_kev(&kev).await.unwrap();
    other.ingest_epss(&epss).await.unwrap();
    other
        .ingest_advisories("osv", std::slice::from_ref(last))
        .await
        .unwrap();
    assert_eq!(other.kb_version().await.unwrap(), after.0);
    std::fs::copy(
        dir.path().join(SCAN_INDEX_FILE),
        other_dir.path().join(SCAN_INDEX_FILE),
    )
    .unwrap();
    assert!(matches!(current_index(other_dir.path()), IndexState::Stale));

    // A damaged file is reported, not read.
    let path = dir.path().join(SCAN_INDEX_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(current_index(dir.path()), IndexState::Damaged(_)));
    store.close().await;
    other.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_knowledge_base_change_draws_a_new_stamp_on_both_backends() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let advisories = rustsec(&root);
    let (kev, epss) = kev_and_epss(&root);
    for (store, _kept) in stores().await {
        let backend = store.backend();
        let mut seen = vec![store.kb_stamp().await.unwrap()];
        store
            .ingest_advisories("osv", &advisories[..50])
            .await
            .unwrap();
        seen.push(store.kb_stamp().await.unwrap());
        store.ingest_kev(&kev).await.unwrap();
        seen.push(store.kb_stamp().await.unwrap());
        store.ingest_epss(&epss).await.unwrap();
        seen.push(store.kb_stamp().await.unwrap());
        for pair in seen.windows(2) {
            assert!(pair[1].0 > pair[0].0, "{backend:?}: {seen:?}");
            assert_ne!(pair[1].1, pair[0].1, "{backend:?}: {seen:?}");
            assert!(pair[1].1.len() >= 16, "{backend:?}: {seen:?}");
        }
        store.close().await;
    }
}
