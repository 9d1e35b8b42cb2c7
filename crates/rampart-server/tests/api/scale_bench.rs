//! The scale run of issue 21 (a benchmark, not a timed test: it prints figures, it asserts
//! only correctness), on SQLite and PostgreSQL (when `RAMPART_TEST_PG_URL` is set):
//!
//! 1. a knowledge base of `SCALE_ADVISORIES` advisories (default 500,000): the real PyPA and
//!    RustSec OSV records in ../shared/data, copied with renamed ids, aliases and packages
//!    (`name-s<copy>`, copy 0 the originals), written through the store's KB ingest in
//!    batches of 1,000 (what `rampart import` does) while the server runs: import time,
//!    database growth, ranges in the match index, bytes per range, a full index build's
//!    time, peak RSS;
//! 2. `SCALE_RELEASES` releases (default 1,000) of `SCALE_COMPONENTS` components (default
//!    1,000) each, CycloneDX JSON uploaded over HTTP and analysed: real package versions of
//!    one copy per release (one component in a hundred at a listed affected version, the
//!    rest at versions a range names as fixed);
//! 3. `/v1/querybatch` of 1,000 queries (half purls, half name + ecosystem + version) over
//!    HTTP, 30 rounds: p50/p95, every answer checked against the in-process index;
//! 4. a sync touching 1 % of the packages (a new advisory for each, and for every other one
//!    a newer version of one of its records with a new range), concentrated in a tenth of
//!    the copies: the re-analysis queue must analyse again exactly the SBOMs naming a
//!    touched package; its time until every queued analysis finished.
//!
//! `cargo test --release -p rampart-server --test api scale_bench -- --ignored --nocapture --test-threads=1`

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::{Duration, Instant};

use rampart_core::package_lookup_key;
use rampart_formats::advisory::{parse_osv_json, Advisory, RangeEvent, RangeType};
use rampart_store::{DatabaseLocation, Store};
use rampart_test_support::{Backend, TestApp};
use rampart_versions::{Ecosystem, Purl};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::analysis_bench::{corpus, percentile, process_memory_mib};

fn env_size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// (VmHWM, VmRSS) of this process (server and test), in MiB.
fn rss_mib() -> (f64, f64) {
    (process_memory_mib("VmHWM:"), process_memory_mib("VmRSS:"))
}

/// A real package at a real version, renamed per copy.
#[derive(Clone, Debug)]
struct Pair {
    ecosystem: String,
    name: String,
    version: String,
}

fn renamed(name: &str, copy: usize) -> String {
    if copy == 0 {
        name.to_string()
    } else {
        format!("{name}-s{copy}")
    }
}

impl Pair {
    fn name(&self, copy: usize) -> String {
        renamed(&self.name, copy)
    }

    fn purl(&self, copy: usize) -> String {
        let ecosystem = Ecosystem::parse(&self.ecosystem).unwrap();
        Purl::from_osv(&ecosystem, &self.name(copy), Some(&self.version))
            .unwrap()
            .unwrap()
            .to_string()
    }

    fn key(&self, copy: usize) -> String {
        package_lookup_key(&self.ecosystem, &self.name(copy))
    }
}

/// Record `advisory` as copy `copy`: every identifier and package name suffixed, so that
/// copies share no alias group and no package.
fn copy_of(advisory: &Advisory, copy: usize) -> Advisory {
    let mut advisory = advisory.clone();
    if copy == 0 {
        return advisory;
    }
    let suffix = |ids: &mut Vec<String>| {
        for id in ids.iter_mut() {
            *id = renamed(id, copy);
        }
    };
    advisory.id = renamed(&advisory.id, copy);
    suffix(&mut advisory.aliases);
    suffix(&mut advisory.related);
    suffix(&mut advisory.upstream);
    for affected in &mut advisory.affected {
        if let Some(package) = &mut affected.package {
            package.name = renamed(&package.name, copy);
            if package.purl.is_some() {
                package.purl = Ecosystem::parse(&package.ecosystem)
                    .ok()
                    .and_then(|e| Purl::from_osv(&e, &package.name, None).ok().flatten())
                    .map(|p| p.to_string());
            }
        }
    }
    advisory
}

/// The records usable as a base: with at least one package of a purl ecosystem.
fn base_corpus(root: &std::path::Path) -> Vec<Advisory> {
    let mut advisories = corpus(root);
    advisories.sort_by(|a, b| a.id.cmp(&b.id));
    advisories
}

/// (affected, clean) pairs of the originals: versions the records list (affected by the
/// index), and versions a range names as fixed that nothing affects.
fn pairs(
    advisories: &[Advisory],
    index: &rampart_core::match_index::MatchIndex,
) -> (Vec<Pair>, Vec<Pair>) {
    let mut affected = BTreeMap::new();
    let mut clean = BTreeMap::new();
    for entry in advisories.iter().flat_map(|a| &a.affected) {
        let Some(package) = &entry.package else {
            continue;
        };
        let Ok(ecosystem) = Ecosystem::parse(&package.ecosystem) else {
            continue;
        };
        let fixed = entry
            .ranges
            .iter()
            .flat_map(|r| &r.events)
            .filter_map(|e| match e {
                RangeEvent::Fixed(version) => Some(version),
                _ => None,
            });
        for (version, listed) in entry
            .versions
            .iter()
            .map(|v| (v, true))
            .chain(fixed.map(|v| (v, false)))
        {
            let Ok(Some(purl)) = Purl::from_osv(&ecosystem, &package.name, Some(version)) else {
                continue;
            };
            let purl = purl.to_string();
            let hit = index.query_purl(&purl, None).is_some_and(|m| !m.is_empty());
            let pair = Pair {
                ecosystem: package.ecosystem.clone(),
                name: package.name.clone(),
                version: version.clone(),
            };
            match (listed, hit) {
                (true, true) => affected.insert(purl, pair),
                (false, false) => clean.insert(purl, pair),
                _ => None,
            };
        }
    }
    (
        affected.into_values().collect(),
        clean.into_values().collect(),
    )
}

/// Raw SQL on the test's database, for the counts the API does not give.
enum Db {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Db {
    async fn connect(location: &DatabaseLocation) -> Db {
        match location {
            DatabaseLocation::SqliteDir(dir) => Db::Sqlite(
                sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(
                        sqlx::sqlite::SqliteConnectOptions::new()
                            .filename(dir.join("rampart.db"))
                            .busy_timeout(Duration::from_secs(60)),
                    )
                    .await
                    .unwrap(),
            ),
            DatabaseLocation::Postgres(url) => Db::Postgres(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(1)
                    .connect(url)
                    .await
                    .unwrap(),
            ),
        }
    }

    async fn scalar(&self, sql: &str) -> i64 {
        match self {
            Db::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
            Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        }
    }

    async fn ids(&self, sql: &str) -> BTreeSet<i64> {
        match self {
            Db::Sqlite(pool) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
            Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
        }
        .into_iter()
        .collect()
    }

    /// The database's size in bytes: SQLite's pages (WAL content included),
    /// PostgreSQL's `pg_database_size`.
    async fn size(&self) -> i64 {
        match self {
            Db::Sqlite(_) => {
                self.scalar(
                    "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
                )
                .await
            }
            Db::Postgres(_) => {
                self.scalar("SELECT pg_database_size(current_database())")
                    .await
            }
        }
    }

    /// The bytes of the table the match index is built from (`affected_packages`: one row
    /// per affected package of a record, its ranges and versions as JSON), with its indexes.
    async fn affected_packages_size(&self) -> i64 {
        match self {
            Db::Sqlite(_) => {
                self.scalar(
                    "SELECT CAST(COALESCE(SUM(pgsize), 0) AS BIGINT) FROM dbstat \
                     WHERE name LIKE 'affected_packages%'",
                )
                .await
            }
            Db::Postgres(_) => {
                self.scalar("SELECT pg_total_relation_size('affected_packages')")
                    .await
            }
        }
    }

    async fn unfinished_analyses(&self) -> i64 {
        self.scalar("SELECT COUNT(*) FROM analyses WHERE status IN ('queued', 'running')")
            .await
    }
}

async fn kb_status(app: &TestApp) -> Value {
    let response = app.get("/api/v1/kb/status").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// Waits until the index and the re-analysis queue caught up and no analysis is queued or
/// running.
async fn wait_until_settled(app: &TestApp, db: &Db) {
    app.wait_for_index().await;
    for _ in 0..36_000 {
        if db.unfinished_analyses().await == 0 {
            let status = kb_status(app).await;
            if status["kb_version"] == status["reanalysis_kb_version"] {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("analyses still unfinished after an hour");
}

fn cyclonedx(components: &[(String, String, String)]) -> Vec<u8> {
    let components: Vec<Value> = components
        .iter()
        .enumerate()
        .map(|(i, (purl, name, version))| {
            json!({"type": "library", "bom-ref": format!("c{i}"), "name": name,
                   "version": version, "purl": purl})
        })
        .collect();
    json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components})
        .to_string()
        .into_bytes()
}

struct Sizes {
    advisories: usize,
    releases: usize,
    components: usize,
}

async fn bench(backend: Backend, sizes: &Sizes, base: &[Advisory]) {
    let Some(app) = TestApp::spawn_with(backend, |config| {
        config.max_sbom_bytes = 512 * 1024 * 1024;
        config.analysis_wait = Duration::from_secs(600);
        for plan in [
            &mut config.plans.free,
            &mut config.plans.pro,
            &mut config.plans.enterprise,
        ] {
            plan.rate_limit_per_minute = 10_000_000;
        }
    })
    .await
    else {
        return;
    };
    let label = format!("{backend:?}");
    let store = Store::connect(&app.config.database).await.unwrap();
    let db = Db::connect(&app.config.database).await;
    app.wait_for_index().await;

    // 1. The knowledge base.
    let copies = sizes.advisories.div_ceil(base.len());
    let size_before = db.size().await;
    let (_, rss_before) = rss_mib();
    let started = Instant::now();
    let mut written = 0;
    'copies: for copy in 0..copies {
        for chunk in base.chunks(1000) {
            let take = chunk.len().min(sizes.advisories - written);
            if take == 0 {
                break 'copies;
            }
            let batch: Vec<Advisory> = chunk[..take].iter().map(|a| copy_of(a, copy)).collect();
            store.ingest_advisories("osv", &batch).await.unwrap();
            written += take;
        }
    }
    let import = started.elapsed();
    app.wait_for_index().await;
    let caught_up = started.elapsed();
    let kb_bytes = db.size().await - size_before;
    let table_bytes = db.affected_packages_size().await;
    let records = db.scalar("SELECT COUNT(*) FROM vulnerabilities").await;
    assert_eq!(records, sizes.advisories as i64);
    let status = kb_status(&app).await;
    let ranges = status["index"]["ranges"].as_i64().unwrap();
    let entries = status["index"]["affected_entries"].as_i64().unwrap();
    let packages = status["index"]["packages"].as_i64().unwrap();
    let (hwm, rss) = rss_mib();
    println!(
        "{label}: imported {written} advisories ({copies} copies of {} real records, the last \
         one partial unless they divide) in {:.1} s ({:.0}/s), index caught up at {:.1} s; \
         {packages} packages, {entries} affected entries, {ranges} ranges; database +{:.1} MB = \
         {:.0} bytes per range ({:.0} per affected entry), of which affected_packages with its \
         indexes {:.1} MB = {:.0} bytes per range; RSS {rss_before:.0} → {rss:.0} MiB, peak \
         {hwm:.0} MiB",
        base.len(),
        import.as_secs_f64(),
        written as f64 / import.as_secs_f64(),
        caught_up.as_secs_f64(),
        kb_bytes as f64 / 1e6,
        kb_bytes as f64 / ranges as f64,
        kb_bytes as f64 / entries as f64,
        table_bytes as f64 / 1e6,
        table_bytes as f64 / ranges as f64,
    );
    let (_, rss_before) = rss_mib();
    let started = Instant::now();
    let index = rampart_engine::kb_index::build_index(&store).await.unwrap();
    let built = started.elapsed();
    let (hwm, rss) = rss_mib();
    assert_eq!(index.stats().ranges as i64, ranges);
    println!(
        "{label}: a full index build (read + compile) {:.2} s; RSS with a second index \
         {rss_before:.0} → {rss:.0} MiB (+{:.0} bytes per range; a lower bound when freed \
         memory is reused), peak {hwm:.0} MiB",
        built.as_secs_f64(),
        (rss - rss_before) * 1024.0 * 1024.0 / ranges as f64
    );

    // 2. Releases × components, one copy per release.
    let (affected, clean) = pairs(base, &index);
    assert!(!affected.is_empty() && !clean.is_empty());
    // Copies present in full; every release draws from one of them.
    let full_copies = (sizes.advisories / base.len()).max(1);
    let pool: Vec<&Pair> = (0..clean.len() * 100 / 99)
        .map(|i| {
            if i % 100 == 0 {
                &affected[(i / 100) % affected.len()]
            } else {
                &clean[(i - i / 100 - 1) % clean.len()]
            }
        })
        .collect();
    let product = crate::products::create_product(&app, "scale").await;
    let product_id = product["id"].as_i64().unwrap();
    // SBOM id → (copy, package keys).
    let mut sboms: BTreeMap<i64, (usize, HashSet<String>)> = BTreeMap::new();
    let started = Instant::now();
    let mut uploads = tokio::task::JoinSet::new();
    for release in 0..sizes.releases {
        let copy = release % full_copies;
        let offset = (release / full_copies) * sizes.components;
        let chosen: Vec<&Pair> = (0..sizes.components)
            .map(|i| pool[(offset + i) % pool.len()])
            .collect();
        let keys: HashSet<String> = chosen.iter().map(|p| p.key(copy)).collect();
        let components: Vec<(String, String, String)> = chosen
            .iter()
            .map(|p| (p.purl(copy), p.name(copy), p.version.clone()))
            .collect();
        let release_id = crate::products::create_release(&app, product_id, &format!("{release}"))
            .await["id"]
            .as_i64()
            .unwrap();
        let request = app
            .post(&format!("/api/v1/releases/{release_id}/sboms"))
            .header("content-type", "application/vnd.cyclonedx+json")
            .body(cyclonedx(&components));
        uploads.spawn(async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::CREATED);
            let body: Value = response.json().await.unwrap();
            (body["sbom"]["id"].as_i64().unwrap(), copy, keys)
        });
        while uploads.len() >= 4 {
            let (sbom, copy, keys) = uploads.join_next().await.unwrap().unwrap();
            sboms.insert(sbom, (copy, keys));
        }
    }
    while let Some(done) = uploads.join_next().await {
        let (sbom, copy, keys) = done.unwrap();
        sboms.insert(sbom, (copy, keys));
    }
    let uploaded = started.elapsed();
    wait_until_settled(&app, &db).await;
    let analysed = started.elapsed();
    let completed = db
        .scalar("SELECT COUNT(*) FROM analyses WHERE status = 'completed' AND reason = 'upload'")
        .await;
    assert_eq!(completed, sizes.releases as i64);
    let findings = db
        .scalar("SELECT COUNT(*) FROM findings WHERE resolved_at IS NULL")
        .await;
    assert!(findings > 0);
    let (hwm, rss) = rss_mib();
    println!(
        "{label}: {} releases × {} components uploaded in {:.1} s, all analysed at {:.1} s \
         ({:.0} components/s; {findings} open findings); RSS {rss:.0} MiB, peak {hwm:.0} MiB",
        sizes.releases,
        sizes.components,
        uploaded.as_secs_f64(),
        analysed.as_secs_f64(),
        (sizes.releases * sizes.components) as f64 / analysed.as_secs_f64()
    );

    // 3. /v1/querybatch of 1,000 queries over every copy.
    let mut queries = Vec::new();
    let mut expected = Vec::new();
    for q in 0..1000usize {
        let pair = if q % 10 == 0 {
            &affected[(q * 7) % affected.len()]
        } else {
            &clean[(q * 13) % clean.len()]
        };
        // A copy stored in full (the last one may be partial).
        let copy = (q * 31) % full_copies;
        expected.push(q % 10 == 0);
        queries.push(if q % 2 == 0 {
            json!({"package": {"purl": pair.purl(copy)}})
        } else {
            json!({"package": {"name": pair.name(copy), "ecosystem": pair.ecosystem},
                   "version": pair.version})
        });
    }
    let body = json!({ "queries": queries }).to_string();
    let mut times = Vec::new();
    for round in 0..31 {
        let started = Instant::now();
        let response = app
            .post("/v1/querybatch")
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let answer: Value = response.json().await.unwrap();
        let elapsed = started.elapsed();
        // The first round warms caches and connections; it is not counted.
        if round > 0 {
            times.push(elapsed);
        }
        let results = answer["results"].as_array().unwrap();
        assert_eq!(results.len(), 1000);
        for (q, result) in results.iter().enumerate() {
            let hit = result["vulns"].as_array().is_some_and(|v| !v.is_empty());
            assert_eq!(hit, expected[q], "query {q}: {}", queries[q]);
        }
    }
    times.sort();
    println!(
        "{label}: /v1/querybatch of 1,000 queries ({} affected) over HTTP, 30 rounds: \
         p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        expected.iter().filter(|e| **e).count(),
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.95).as_secs_f64() * 1e3,
        times.last().unwrap().as_secs_f64() * 1e3,
    );

    // 4. A sync touching 1 % of the packages, in a tenth of the copies.
    let mut base_packages: BTreeSet<(String, String)> = BTreeSet::new();
    for entry in base.iter().flat_map(|a| &a.affected) {
        if let Some(package) = &entry.package {
            if Ecosystem::parse(&package.ecosystem).is_ok() {
                base_packages.insert((package.ecosystem.clone(), package.name.clone()));
            }
        }
    }
    let base_packages: Vec<(String, String)> = base_packages.into_iter().collect();
    let all_packages = packages as usize;
    let touched_copies = full_copies.div_ceil(10);
    let per_copy = (all_packages / 100 / touched_copies).clamp(1, base_packages.len());
    // Records safe to modify alone: one package, no aliases, named by no other record (so
    // their alias group is themselves).
    let named: HashSet<&str> = base
        .iter()
        .flat_map(|a| a.aliases.iter().chain(&a.related).chain(&a.upstream))
        .map(String::as_str)
        .collect();
    let mut lone_record: BTreeMap<(String, String), &Advisory> = BTreeMap::new();
    for advisory in base {
        if advisory.affected.len() == 1
            && advisory.aliases.is_empty()
            && advisory.withdrawn.is_none()
            && !named.contains(advisory.id.as_str())
        {
            if let Some(package) = &advisory.affected[0].package {
                lone_record
                    .entry((package.ecosystem.clone(), package.name.clone()))
                    .or_insert(advisory);
            }
        }
    }
    let mut sync = Vec::new();
    let mut touched_keys = HashSet::new();
    let modified = chrono::Utc::now() + chrono::Duration::days(1);
    for copy in 0..touched_copies {
        for j in 0..per_copy {
            let (ecosystem, original) = &base_packages[j * base_packages.len() / per_copy];
            let name = renamed(original, copy);
            touched_keys.insert(package_lookup_key(ecosystem, &name));
            let record = json!({
                "id": format!("SCALE-SYNC-{copy}-{j}"),
                "modified": modified.to_rfc3339(),
                "published": modified.to_rfc3339(),
                "summary": "a record the scale run's sync adds",
                "affected": [{"package": {"ecosystem": ecosystem, "name": name},
                              "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}],
            });
            sync.extend(
                parse_osv_json(record.to_string().as_bytes())
                    .unwrap()
                    .records,
            );
            // Every other package: a newer version of one of its records, with a new range.
            let lone = lone_record.get(&(ecosystem.clone(), original.clone()));
            if let (1, Some(advisory)) = (j % 2, lone) {
                let mut changed = copy_of(advisory, copy);
                changed.modified = modified;
                let entry = &mut changed.affected[0];
                if let Some(mut range) = entry
                    .ranges
                    .iter()
                    .find(|r| r.kind != RangeType::Git)
                    .cloned()
                {
                    range.events = vec![RangeEvent::Introduced("0".into())];
                    entry.ranges.push(range);
                }
                sync.push(changed);
            }
        }
    }
    let expected_sboms: BTreeSet<i64> = sboms
        .iter()
        .filter(|(_, (_, keys))| keys.iter().any(|k| touched_keys.contains(k)))
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM analyses WHERE reason = 'knowledge_base'")
            .await,
        0
    );
    let started = Instant::now();
    for chunk in sync.chunks(1000) {
        store.ingest_advisories("osv", chunk).await.unwrap();
    }
    let ingested = started.elapsed();
    wait_until_settled(&app, &db).await;
    let settled = started.elapsed();
    let reanalysed = db
        .ids("SELECT DISTINCT sbom_id FROM analyses WHERE reason = 'knowledge_base'")
        .await;
    let failed = db
        .scalar("SELECT COUNT(*) FROM analyses WHERE status <> 'completed'")
        .await;
    assert_eq!(failed, 0);
    assert_eq!(
        reanalysed, expected_sboms,
        "re-analysed SBOMs vs SBOMs naming a touched package"
    );
    let new_findings = db
        .scalar(
            "SELECT CAST(COALESCE(SUM(new_findings_count), 0) AS BIGINT) FROM analyses \
             WHERE reason = 'knowledge_base'",
        )
        .await;
    let (hwm, rss) = rss_mib();
    println!(
        "{label}: sync of {} records touching {} of {all_packages} packages ({:.2} %, in {touched_copies} \
         of {copies} copies): ingested in {:.2} s; {} of {} SBOMs re-analysed (exactly those naming a \
         touched package; {new_findings} new findings), all done {:.1} s after the sync began; \
         RSS {rss:.0} MiB, peak {hwm:.0} MiB",
        sync.len(),
        touched_keys.len(),
        touched_keys.len() as f64 * 100.0 / all_packages as f64,
        ingested.as_secs_f64(),
        reanalysed.len(),
        sboms.len(),
        settled.as_secs_f64(),
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly with --release --ignored --nocapture"]
async fn scale_bench() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let sizes = Sizes {
        advisories: env_size("SCALE_ADVISORIES", 500_000),
        releases: env_size("SCALE_RELEASES", 1_000),
        components: env_size("SCALE_COMPONENTS", 1_000),
    };
    let base = base_corpus(&root);
    println!(
        "scale run: {} advisories from {} real records, {} releases × {} components",
        sizes.advisories,
        base.len(),
        sizes.releases,
        sizes.components
    );
    bench(Backend::Sqlite, &sizes, &base).await;
    bench(Backend::Postgres, &sizes, &base).await;
}
