//! Knowledge-base ingest on both backends, with the real corpora in ../shared/data.

use std::path::Path;

use chrono::Duration;
use rampart_formats::advisory::{
    parse_epss, parse_exploitdb_csv, parse_kev_json, parse_nvd_page, parse_osv_json,
    parse_osv_yaml, Advisory, EpssFile, KevEntry,
};
use rampart_store::{DatabaseLocation, IngestStats, Store};

/// A migrated store per backend: SQLite always, PostgreSQL when configured; each with what
/// must outlive it (the temp dir or the test database).
pub(crate) async fn stores() -> Vec<(Store, Box<dyn std::any::Any>)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::connect(&DatabaseLocation::SqliteDir(dir.path().to_path_buf()))
        .await
        .unwrap();
    sqlite.migrate().await.unwrap();
    let mut stores: Vec<(Store, Box<dyn std::any::Any>)> = vec![(sqlite, Box::new(dir))];
    if let Some(database) = rampart_test_support::fresh_postgres_database(true).await {
        let pg = Store::connect(&DatabaseLocation::Postgres(database.url().to_string()))
            .await
            .unwrap();
        pg.migrate().await.unwrap();
        stores.push((pg, Box::new(database)));
    }
    stores
}

fn pypa_advisories(root: &Path) -> (Vec<Advisory>, usize) {
    let mut advisories = Vec::new();
    let mut skipped = 0;
    let mut stack = vec![root.join("osv-pypa/vulns")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                let report = parse_osv_yaml(&std::fs::read(&path).unwrap()).unwrap();
                skipped += report.skipped.len();
                advisories.extend(report.records);
            }
        }
    }
    advisories.sort_by(|a, b| a.id.cmp(&b.id));
    (advisories, skipped)
}

/// The CISA KEV catalogue and the first 60 EPSS scores of `../shared/data`.
pub(crate) fn kev_and_epss(root: &Path) -> (Vec<KevEntry>, EpssFile) {
    let kev = parse_kev_json(
        &std::fs::read(root.join("cisa-kev/known_exploited_vulnerabilities.json")).unwrap(),
    )
    .unwrap()
    .entries
    .records;
    let epss =
        parse_epss(&std::fs::read(root.join("epss/epss_scores-current.head60.csv")).unwrap())
            .unwrap();
    (kev, epss)
}

fn stats(added: u64, updated: u64, unchanged: u64) -> IngestStats {
    IngestStats {
        added,
        updated,
        unchanged,
        skipped: 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pypa_corpus_ingests_once_and_reingests_unchanged() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let (advisories, _) = pypa_advisories(&root);
    assert!(advisories.len() > 2500, "{}", advisories.len());
    for (store, _dir) in stores().await {
        let before = store.kb_version().await.unwrap();
        let mut total = IngestStats::default();
        for chunk in advisories.chunks(500) {
            total.absorb(store.ingest_advisories("osv", chunk).await.unwrap());
        }
        assert_eq!(
            total,
            stats(advisories.len() as u64, 0, 0),
            "{:?}",
            store.backend()
        );
        let after_first = store.kb_version().await.unwrap();
        assert!(after_first > before);

        let again = store.ingest_advisories("osv", &advisories).await.unwrap();
        assert_eq!(again, stats(0, 0, advisories.len() as u64));
        assert_eq!(
            store.kb_version().await.unwrap(),
            after_first,
            "no change, no bump"
        );

        // Any alias of a PYSEC record finds its group.
        let record = advisories
            .iter()
            .find(|a| a.aliases.iter().any(|x| x.starts_with("CVE-")))
            .unwrap();
        let cve = record
            .aliases
            .iter()
            .find(|x| x.starts_with("CVE-"))
            .unwrap();
        let by_id = store.alias_group(&record.id).await.unwrap().unwrap();
        assert_eq!(store.alias_group(cve).await.unwrap(), Some(by_id));
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_modified_updates_and_an_older_one_is_ignored() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let path = root.join("rustsec-advisory-db/osv/crates/RUSTSEC-2021-0001.json");
    let advisory = parse_osv_json(&std::fs::read(&path).unwrap())
        .unwrap()
        .records
        .remove(0);
    for (store, _dir) in stores().await {
        assert_eq!(
            store
                .ingest_advisories("osv", std::slice::from_ref(&advisory))
                .await
                .unwrap(),
            stats(1, 0, 0)
        );
        let mut older = advisory.clone();
        older.modified -= Duration::days(1);
        older.summary = Some("older".into());
        assert_eq!(
            store.ingest_advisories("osv", &[older]).await.unwrap(),
            stats(0, 0, 1)
        );
        let mut newer = advisory.clone();
        newer.modified += Duration::days(1);
        newer.summary = Some("newer".into());
        assert_eq!(
            store.ingest_advisories("osv", &[newer]).await.unwrap(),
            stats(0, 1, 0)
        );
        let stored = store.advisory(&advisory.id).await.unwrap().unwrap();
        assert_eq!(stored.summary.as_deref(), Some("newer"));
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_nvd_record_and_an_osv_record_of_one_cve_share_a_group() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let page = parse_nvd_page(
        &std::fs::read(root.join("nvd-cve-api-2.0/pablotron-nvd-go/responses/cves-2023.json"))
            .unwrap(),
    )
    .unwrap();
    let nvd = page.advisories.records;
    let cve = nvd
        .iter()
        .find(|a| a.id == "CVE-2022-23748")
        .unwrap()
        .clone();
    // A GHSA record as an OSV feed would publish it for the same CVE (no real GHSA record for
    // these CVEs is in the data set): only its id and alias matter here.
    let mut ghsa = cve.clone();
    ghsa.id = "GHSA-test-2374-8xxx".into();
    ghsa.aliases = vec!["CVE-2022-23748".into()];
    ghsa.cpe_configurations.clear();
    for (store, _dir) in stores().await {
        // The GHSA record first, so the CVE record must join an existing group.
        store
            .ingest_advisories("ghsa", &[ghsa.clone()])
            .await
            .unwrap();
        let added = store.ingest_advisories("nvd", &nvd).await.unwrap();
        assert_eq!(added.added, nvd.len() as u64);
        let group = store.alias_group("CVE-2022-23748").await.unwrap().unwrap();
        assert_eq!(store.alias_group(&ghsa.id).await.unwrap(), Some(group));
        let mut members = store.group_members(group).await.unwrap();
        members.sort();
        assert_eq!(members, vec!["CVE-2022-23748".to_string(), ghsa.id.clone()]);
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kev_epss_and_exploits_are_idempotent() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let (kev, epss) = kev_and_epss(&root);
    let exploits = parse_exploitdb_csv(
        b"id,file,description,date_published,author,type,platform,port,date_added,date_updated,verified,codes,tags,aliases,screenshot_url,application_url,source_url\n\
          50001,exploits/php/webapps/50001.txt,Example 1.0 - SQLi,2021-06-01,someone,webapps,php,,2021-06-01,2021-06-01,1,CVE-2021-1234;OSVDB-1,,,,,\n",
    )
    .unwrap()
    .records;
    for (store, _dir) in stores().await {
        let n = kev.len() as u64;
        assert_eq!(store.ingest_kev(&kev).await.unwrap(), stats(n, 0, 0));
        assert_eq!(store.ingest_kev(&kev).await.unwrap(), stats(0, 0, n));
        let mut changed = kev[..1].to_vec();
        changed[0].notes.push_str(" (updated)");
        assert_eq!(store.ingest_kev(&changed).await.unwrap(), stats(0, 1, 0));

        let n = epss.scores.records.len() as u64;
        assert_eq!(store.ingest_epss(&epss).await.unwrap(), stats(n, 0, 0));
        assert_eq!(store.ingest_epss(&epss).await.unwrap(), stats(0, 0, n));

        assert_eq!(
            store.ingest_exploits(&exploits).await.unwrap(),
            stats(1, 0, 0)
        );
        assert_eq!(
            store.ingest_exploits(&exploits).await.unwrap(),
            stats(0, 0, 1)
        );
        store.close().await;
    }
}

fn minimal_osv(id: &str, aliases: &[&str], modified: &str, summary: &str) -> Advisory {
    let record = serde_json::json!({
        "id": id,
        "aliases": aliases,
        "modified": modified,
        "summary": summary,
        "affected": [{"package": {"ecosystem": "PyPI", "name": "grouped"}, "versions": ["1.0"]}],
    });
    one_osv(&record)
}

fn one_osv(record: &serde_json::Value) -> Advisory {
    parse_osv_json(record.to_string().as_bytes())
        .unwrap()
        .records
        .remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_groups_and_counts_as_its_records_would_one_by_one() {
    const T1: &str = "2024-01-01T00:00:00Z";
    const T2: &str = "2024-02-01T00:00:00Z";
    for (store, _dir) in stores().await {
        let first = [
            minimal_osv("PYSEC-P", &["CVE-P"], T1, "p"),
            minimal_osv("PYSEC-Q", &["CVE-Q"], T1, "q"),
            minimal_osv("PYSEC-R", &["CVE-R"], T1, "r"),
            minimal_osv("PYSEC-LONE", &[], T1, "lone"),
        ];
        assert_eq!(
            store.ingest_advisories("osv", &first).await.unwrap(),
            stats(4, 0, 0)
        );
        let group = |id: &'static str| {
            let store = &store;
            async move { store.alias_group(id).await.unwrap().unwrap() }
        };
        let (p, q, r, lone) = (
            group("PYSEC-P").await,
            group("PYSEC-Q").await,
            group("CVE-R").await,
            group("PYSEC-LONE").await,
        );
        assert_eq!(
            [p, q, r, lone]
                .iter()
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            4
        );
        // S joins P's and Q's groups, T joins Q's (merged by S) and R's: one group, the
        // oldest. U and V share an identifier only with each other: one new group. W comes
        // twice, the second newer; R comes again, older: unchanged.
        let second = [
            minimal_osv("GHSA-S", &["CVE-P", "CVE-Q"], T1, "s"),
            minimal_osv("GHSA-T", &["CVE-Q", "CVE-R"], T1, "t"),
            minimal_osv("GHSA-U", &["CVE-UV"], T1, "u"),
            minimal_osv("GHSA-V", &["CVE-UV"], T1, "v"),
            minimal_osv("GHSA-W", &[], T1, "w first"),
            minimal_osv("GHSA-W", &[], T2, "w second"),
            minimal_osv("GHSA-W", &[], T1, "w stale"),
            minimal_osv("PYSEC-R", &["CVE-R"], "2023-01-01T00:00:00Z", "r older"),
            minimal_osv("PYSEC-Q", &["CVE-Q"], T2, "q newer"),
        ];
        assert_eq!(
            store.ingest_advisories("osv", &second).await.unwrap(),
            stats(5, 2, 2)
        );
        let oldest = *[p, q, r].iter().min().unwrap();
        for id in [
            "PYSEC-P", "PYSEC-Q", "PYSEC-R", "CVE-P", "CVE-Q", "CVE-R", "GHSA-S", "GHSA-T",
        ] {
            assert_eq!(store.alias_group(id).await.unwrap(), Some(oldest), "{id}");
        }
        let mut members = store.group_members(oldest).await.unwrap();
        members.sort();
        assert_eq!(
            members,
            ["GHSA-S", "GHSA-T", "PYSEC-P", "PYSEC-Q", "PYSEC-R"]
        );
        let uv = group("GHSA-U").await;
        assert_eq!(group("GHSA-V").await, uv);
        assert!(![p, q, r, lone].contains(&uv));
        assert_eq!(group("PYSEC-LONE").await, lone);
        let w = store.advisory("GHSA-W").await.unwrap().unwrap();
        assert_eq!(w.summary.as_deref(), Some("w second"));
        let q_now = store.advisory("PYSEC-Q").await.unwrap().unwrap();
        assert_eq!(q_now.summary.as_deref(), Some("q newer"));
        let r_now = store.advisory("PYSEC-R").await.unwrap().unwrap();
        assert_eq!(r_now.summary.as_deref(), Some("r"));
        store.close().await;
    }
}

/// Raw SQL on a store's database, to check what the store keeps against its definition.
enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// Every alias group's rating as `group_ratings` keeps it, and as its definition computes it
/// from the records, aliases, EPSS scores and KEV entries now stored.
type Ratings = Vec<(i64, Option<f64>, Option<f64>, Option<f64>, bool)>;

impl Raw {
    async fn of(store: &Store, kept: &dyn std::any::Any) -> Raw {
        if let Some(dir) = kept.downcast_ref::<tempfile::TempDir>() {
            let url = format!("sqlite://{}", dir.path().join("rampart.db").display());
            Raw::Sqlite(sqlx::SqlitePool::connect(&url).await.unwrap())
        } else {
            let database = kept
                .downcast_ref::<rampart_test_support::TestDatabase>()
                .unwrap();
            assert_eq!(store.backend(), rampart_store::Backend::Postgres);
            Raw::Postgres(sqlx::PgPool::connect(database.url()).await.unwrap())
        }
    }

    async fn ratings(&self, sql: &str) -> Ratings {
        match self {
            Raw::Sqlite(pool) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
            Raw::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
        }
    }

    /// The kept ratings, after asserting they equal the computed ones.
    async fn assert_ratings_current(&self, step: &str) -> Ratings {
        let kept = self
            .ratings(
                "SELECT group_id, cvss, epss, epss_percentile, in_kev FROM group_ratings
                 ORDER BY group_id",
            )
            .await;
        let computed = self
            .ratings(
                "SELECT g.id,
                    (SELECT MAX(v.max_cvss) FROM vulnerabilities v WHERE v.group_id = g.id),
                    (SELECT MAX(e.epss) FROM vuln_aliases a JOIN epss_scores e
                        ON e.cve_id = a.alias WHERE a.group_id = g.id),
                    (SELECT MAX(e.percentile) FROM vuln_aliases a JOIN epss_scores e
                        ON e.cve_id = a.alias WHERE a.group_id = g.id),
                    EXISTS (SELECT 1 FROM vuln_aliases a JOIN kev_entries k
                        ON k.cve_id = a.alias WHERE a.group_id = g.id)
                 FROM vuln_groups g ORDER BY g.id",
            )
            .await;
        let differing: Vec<_> = kept
            .iter()
            .zip(&computed)
            .filter(|(kept, computed)| kept != computed)
            .take(5)
            .collect();
        assert!(
            differing.is_empty() && kept.len() == computed.len(),
            "{step}: {} kept and {} computed ratings; first differences (kept, computed): {differing:?}",
            kept.len(),
            computed.len()
        );
        kept
    }
}

fn rated_osv(id: &str, aliases: &[&str], modified: &str, vector: &str) -> Advisory {
    let record = serde_json::json!({
        "id": id,
        "aliases": aliases,
        "modified": modified,
        "severity": [{"type": "CVSS_V3", "score": vector}],
        "affected": [{"package": {"ecosystem": "PyPI", "name": "rated"}, "versions": ["1.0"]}],
    });
    one_osv(&record)
}

/// The group ratings a findings page sorts and filters by are kept per alias group; every
/// writer of what rates a group (records, alias merges, EPSS, KEV) keeps them current.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_ratings_follow_records_merges_epss_and_kev() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    const CRITICAL: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
    const MEDIUM: &str = "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:U/C:L/I:L/A:N";
    let (pypa, _) = pypa_advisories(&root);
    let kev_template = parse_kev_json(
        &std::fs::read(root.join("cisa-kev/known_exploited_vulnerabilities.json")).unwrap(),
    )
    .unwrap()
    .entries
    .records
    .remove(0);
    // CVE ids the PyPA records carry, to score and list.
    let mut cves: Vec<String> = pypa
        .iter()
        .flat_map(|a| a.aliases.iter())
        .filter(|alias| alias.starts_with("CVE-"))
        .cloned()
        .collect();
    cves.sort();
    cves.dedup();
    let epss_file = |scale: f64| {
        let mut csv = String::from(
            "#model_version:v2026.06.15,score_date:2026-09-29T12:00:22Z\ncve,epss,percentile\n",
        );
        for (i, cve) in cves.iter().take(200).enumerate() {
            let score = ((i % 97) as f64 + 1.0) / 100.0 * scale;
            csv.push_str(&format!("{cve},{score:.5},{:.5}\n", score.min(0.99)));
        }
        parse_epss(csv.as_bytes()).unwrap()
    };
    let kev: Vec<_> = cves
        .iter()
        .skip(150)
        .take(20)
        .map(|cve| {
            let mut entry = kev_template.clone();
            entry.cve_id = cve.clone();
            entry
        })
        .collect();
    for (store, kept) in stores().await {
        let raw = Raw::of(&store, kept.as_ref()).await;
        for chunk in pypa.chunks(500) {
            store.ingest_advisories("osv", chunk).await.unwrap();
        }
        raw.assert_ratings_current("PyPA corpus").await;
        store.ingest_epss(&epss_file(1.0)).await.unwrap();
        raw.assert_ratings_current("EPSS").await;
        store.ingest_kev(&kev).await.unwrap();
        raw.assert_ratings_current("KEV").await;
        // Lower scores: a group's highest EPSS goes down, not only up.
        store.ingest_epss(&epss_file(0.5)).await.unwrap();
        raw.assert_ratings_current("EPSS lowered").await;

        // Two rated groups, then a record naming both: one group, rated by all three.
        let t1 = "2024-01-01T00:00:00Z";
        store
            .ingest_advisories(
                "osv",
                &[
                    rated_osv("GHSA-rate-0001", &["CVE-2099-0001"], t1, MEDIUM),
                    rated_osv("GHSA-rate-0002", &["CVE-2099-0002"], t1, MEDIUM),
                ],
            )
            .await
            .unwrap();
        let scores = "#model_version:v2026.06.15,score_date:2026-09-30T12:00:22Z\ncve,epss,percentile\nCVE-2099-0002,0.91000,0.99000\n";
        store
            .ingest_epss(&parse_epss(scores.as_bytes()).unwrap())
            .await
            .unwrap();
        let mut listed = kev_template.clone();
        listed.cve_id = "CVE-2099-0001".into();
        store.ingest_kev(&[listed]).await.unwrap();
        let before_merge = raw.assert_ratings_current("two rated groups").await;
        store
            .ingest_advisories(
                "osv",
                &[rated_osv(
                    "GHSA-rate-0003",
                    &["CVE-2099-0001", "CVE-2099-0002"],
                    t1,
                    CRITICAL,
                )],
            )
            .await
            .unwrap();
        let after_merge = raw.assert_ratings_current("merged").await;
        let group = store.alias_group("GHSA-rate-0003").await.unwrap().unwrap();
        let merged = after_merge.iter().find(|r| r.0 == group).unwrap();
        assert_eq!(
            (merged.1, merged.2, merged.4),
            (Some(9.8), Some(0.91), true)
        );
        // A newer version of the critical record, now medium: the group's CVSS goes down.
        store
            .ingest_advisories(
                "osv",
                &[rated_osv(
                    "GHSA-rate-0003",
                    &["CVE-2099-0001", "CVE-2099-0002"],
                    "2024-02-01T00:00:00Z",
                    MEDIUM,
                )],
            )
            .await
            .unwrap();
        let after_update = raw.assert_ratings_current("downgraded").await;
        let updated = after_update.iter().find(|r| r.0 == group).unwrap();
        assert_eq!(updated.1, Some(4.6));
        // The check is not vacuous: the corpus gave groups of every kind.
        for (what, count) in [
            (
                "CVSS",
                before_merge.iter().filter(|r| r.1.is_some()).count(),
            ),
            (
                "EPSS",
                before_merge.iter().filter(|r| r.2.is_some()).count(),
            ),
            ("KEV", before_merge.iter().filter(|r| r.4).count()),
        ] {
            assert!(count >= 10, "only {count} groups rated by {what}");
        }
        store.close().await;
    }
}
