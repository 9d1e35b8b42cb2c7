//! `Store::scan_snapshot` (what `rampart scan` reads) on both backends: SQLite reads it through
//! SQLite's own API in one transaction, PostgreSQL through sqlx; both must give the values the
//! separate reads give, and the same values as each other.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use rampart_formats::advisory::parse_osv_json;
use rampart_store::{ScanSnapshot, Store};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_snapshot_holds_what_the_separate_reads_hold_on_both_backends() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
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
    let (kev, epss) = kev_and_epss(&root);
    // Every other crate the corpus names, and one it does not.
    let names: BTreeSet<String> = advisories
        .iter()
        .flat_map(|a| a.affected.iter().filter_map(|p| p.package.as_ref()))
        .map(|package| package.name.to_lowercase())
        .collect();
    let mut names: Vec<String> = names.into_iter().step_by(2).collect();
    names.push("no-such-crate-anywhere".into());

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
