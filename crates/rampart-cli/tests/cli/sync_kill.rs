//! `kill -9` of `rampart serve` in the middle of a scheduled NVD sync run, on the real binary:
//! the database keeps whole batches only, and the restarted server takes the dead run over
//! from the source's cursor and completes it.
//!
//! The upstream is a real local NVD API 2.0 server (axum on 127.0.0.1:0) paging the recorded
//! NVD responses in ../shared/data 100 CVEs at a time. It serves two pages and holds every
//! later request until the test releases it, so the kill lands between committed batches
//! without any timing assumption.

use std::collections::{BTreeMap, HashMap};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use rampart_formats::advisory::{parse_nvd_page, Advisory};
use rampart_server::axum::extract::{Query, State};
use rampart_server::axum::http::{HeaderMap, StatusCode};
use rampart_server::axum::response::{IntoResponse, Response};
use rampart_server::axum::routing::get;
use rampart_server::axum::{Json, Router};
use serde_json::{json, Value};

use crate::serve::ServerProcess;
use crate::webhook_kill::wait_for;

const SOURCES: &str = "/api/v1/security/cve/sync-sources";
const PAGE_SIZE: usize = 100;
/// Pages served before the upstream holds requests.
const PAGES_BEFORE_HOLD: usize = 2;
const NVD_KEY: &str = "nvd-fixture-key-kill-9";

struct Upstream {
    entries: Vec<Value>,
    /// `lastModStartDate` of every page request, in order.
    requested_from: Mutex<Vec<Option<String>>>,
    pages_served: Mutex<usize>,
    /// While false, requests after the first `PAGES_BEFORE_HOLD` pages wait.
    release: tokio::sync::watch::Sender<bool>,
}

impl Upstream {
    /// The recorded CVE API 2.0 pages, each CVE once.
    fn load(root: &Path) -> Upstream {
        let mut seen = std::collections::HashSet::new();
        let mut entries = Vec::new();
        for file in ["cves-1999.json", "cves-2023.json"] {
            let path = root
                .join("nvd-cve-api-2.0/pablotron-nvd-go/responses")
                .join(file);
            let page: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
            for entry in page["vulnerabilities"].as_array().unwrap() {
                if seen.insert(entry["cve"]["id"].as_str().unwrap().to_string()) {
                    entries.push(entry.clone());
                }
            }
        }
        Upstream {
            entries,
            requested_from: Mutex::new(Vec::new()),
            pages_served: Mutex::new(0),
            release: tokio::sync::watch::channel(false).0,
        }
    }

    /// The records the parser keeps among the first `count` entries, by id.
    fn kept(&self, count: usize) -> BTreeMap<String, Advisory> {
        let entries: Vec<&Value> = self.entries.iter().take(count).collect();
        let page = json!({"resultsPerPage": entries.len(), "startIndex": 0,
            "totalResults": entries.len(), "vulnerabilities": entries});
        parse_nvd_page(page.to_string().as_bytes())
            .unwrap()
            .advisories
            .records
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect()
    }

    fn held_requests(&self) -> usize {
        self.release.receiver_count()
    }
}

async fn nvd_pages(
    State(upstream): State<Arc<Upstream>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if headers.get("apiKey").and_then(|v| v.to_str().ok()) != Some(NVD_KEY) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    upstream
        .requested_from
        .lock()
        .unwrap()
        .push(query.get("lastModStartDate").cloned());
    let hold = *upstream.pages_served.lock().unwrap() >= PAGES_BEFORE_HOLD;
    if hold {
        let mut release = upstream.release.subscribe();
        let _ = release.wait_for(|released| *released).await;
    }
    let start: usize = query.get("startIndex").map_or(0, |s| s.parse().unwrap());
    // NVD may answer fewer results than asked for; clients page by what they got.
    let page: Vec<&Value> = upstream
        .entries
        .iter()
        .skip(start)
        .take(PAGE_SIZE)
        .collect();
    *upstream.pages_served.lock().unwrap() += 1;
    Json(json!({
        "resultsPerPage": page.len(),
        "startIndex": start,
        "totalResults": upstream.entries.len(),
        "format": "NVD_CVE",
        "version": "2.0",
        "timestamp": "2026-11-23T00:00:00.000",
        "vulnerabilities": page,
    }))
    .into_response()
}

async fn start_upstream(upstream: Arc<Upstream>) -> String {
    let app = Router::new()
        .route("/rest/json/cves/2.0", get(nvd_pages))
        .with_state(upstream);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/rest/json/cves/2.0",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move {
        rampart_server::axum::serve(listener, app).await.unwrap();
    });
    url
}

/// The database the server uses, read directly while it is dead or alive.
enum Database {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

macro_rules! on_database {
    ($database:expr, $pool:ident => $body:expr) => {
        match $database {
            Database::Sqlite($pool) => $body,
            Database::Postgres($pool) => $body,
        }
    };
}

impl Database {
    async fn open(sqlite_file: Option<&Path>, postgres_url: Option<&str>) -> Database {
        match (sqlite_file, postgres_url) {
            (Some(file), _) => Database::Sqlite(
                sqlx::SqlitePool::connect(&format!("sqlite://{}", file.display()))
                    .await
                    .unwrap(),
            ),
            (None, Some(url)) => Database::Postgres(sqlx::PgPool::connect(url).await.unwrap()),
            (None, None) => unreachable!("one database"),
        }
    }

    /// Every stored vulnerability with its CPE match and severity row counts.
    async fn stored_rows(&self) -> BTreeMap<String, (i64, i64)> {
        let sql = "SELECT v.vuln_id,
                (SELECT COUNT(*) FROM cpe_matches m WHERE m.vulnerability_id = v.id),
                (SELECT COUNT(*) FROM vuln_severities s WHERE s.vulnerability_id = v.id)
            FROM vulnerabilities v";
        let rows: Vec<(String, i64, i64)> = on_database!(self, pool => {
            sqlx::query_as(sql).fetch_all(pool).await.unwrap()
        });
        rows.into_iter()
            .map(|(id, cpe, severities)| (id, (cpe, severities)))
            .collect()
    }

    /// (status, attempts) of every run.
    async fn runs(&self) -> Vec<(String, i64)> {
        on_database!(self, pool => {
            sqlx::query_as("SELECT status, attempts FROM sync_runs ORDER BY id")
                .fetch_all(pool)
                .await
                .unwrap()
        })
    }

    async fn close(self) {
        on_database!(self, pool => pool.close().await)
    }
}

/// What a whole record leaves in the tables: its CPE match and severity rows.
fn expected_rows(advisory: &Advisory) -> (i64, i64) {
    let cpe = advisory
        .cpe_configurations
        .iter()
        .flat_map(|c| &c.nodes)
        .flat_map(|n| &n.cpe_match)
        .filter(|m| m.criteria.starts_with("cpe:2.3:"))
        .count();
    let severities = advisory.severity.len()
        + advisory
            .affected
            .iter()
            .map(|a| a.severity.len())
            .sum::<usize>();
    (cpe as i64, severities as i64)
}

/// Every stored record is whole (all its rows are there) and they are exactly `expected`.
fn assert_whole_records(
    stored: &BTreeMap<String, (i64, i64)>,
    expected: &BTreeMap<String, Advisory>,
) {
    assert_eq!(
        stored.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "the stored records are exactly the committed pages'"
    );
    for (id, advisory) in expected {
        assert_eq!(
            stored[id],
            expected_rows(advisory),
            "{id}: rows of a whole record"
        );
    }
    assert!(
        stored.values().any(|(cpe, _)| *cpe > 0),
        "the data set has CPE configurations to check"
    );
}

async fn api(server: &ServerProcess, key: &str, path: &str) -> Value {
    let response = reqwest::Client::new()
        .get(server.url(path))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "{path}");
    response.json().await.unwrap()
}

/// Configures the source `nvd` (daily, the local upstream, from `cursor`) through `server`.
async fn create_nvd_source(
    server: &ServerProcess,
    key: &str,
    nvd_url: &str,
    cursor: DateTime<Utc>,
) {
    let response = reqwest::Client::new()
        .post(server.url(SOURCES))
        .bearer_auth(key)
        .json(
            &json!({"config": {"id": "nvd", "type": "NVD", "syncIntervalHours": 24,
            "url": nvd_url, "lastModifiedSince": cursor.to_rfc3339()}, "apiKey": NVD_KEY}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        200,
        "{}",
        response.text().await.unwrap()
    );
}

async fn kill_mid_run_and_restart(
    args: &[&str],
    sqlite_file: Option<&Path>,
    postgres_url: Option<&str>,
) {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let upstream = Arc::new(Upstream::load(&root));
    let everything = upstream.kept(upstream.entries.len());
    let committed = upstream.kept(PAGE_SIZE * PAGES_BEFORE_HOLD);
    assert!(upstream.entries.len() > PAGE_SIZE * (PAGES_BEFORE_HOLD + 1));
    let nvd_url = start_upstream(Arc::clone(&upstream)).await;

    let first = ServerProcess::start(args, &[]);
    let key = first
        .printed_key()
        .expect("first start prints the admin key");
    // The cursor the run must fetch from (less than NVD's 120-day window before now).
    let cursor = (Utc::now() - chrono::Duration::days(3)).trunc_subsecs(0);
    create_nvd_source(&first, &key, &nvd_url, cursor).await;

    // The scheduler queues the new source's first run and the worker starts it; two pages
    // go through, the third is held.
    let runs_path = format!("{SOURCES}/nvd/runs");
    wait_for(60, "the third page request", || async {
        (upstream.held_requests() > 0).then_some(())
    })
    .await;
    // The run's progress, as the API reports it, shows the two committed batches.
    let run = wait_for(60, "progress of two pages", || async {
        let runs = api(&first, &key, &runs_path).await;
        let run = runs["runs"][0].clone();
        (run["records_added"].as_u64() == Some(committed.len() as u64)).then_some(run)
    })
    .await;
    assert_eq!(run["trigger"], "schedule", "{run}");
    assert_eq!(run["status"], "running", "{run}");
    let run_id = run["id"].as_i64().unwrap();

    let (exit, _) = first.stop("KILL");
    assert_eq!(exit.signal(), Some(9), "killed, not exited: {exit:?}");

    // Only whole batches: exactly the two pages' records, each with all its rows; the run
    // is still marked running under the dead process's lease.
    let database = Database::open(sqlite_file, postgres_url).await;
    assert_whole_records(&database.stored_rows().await, &committed);
    assert_eq!(database.runs().await, [("running".to_string(), 1)]);

    // The restarted server takes the run over once the lease ran out and completes it
    // from the source's cursor.
    upstream.release.send_replace(true);
    let requests_before_restart = upstream.requested_from.lock().unwrap().len();
    let second = ServerProcess::start(args, &[]);
    assert_eq!(second.printed_key(), None, "a restart prints no key");
    let run = wait_for(120, "the run to finish", || async {
        let runs = api(&second, &key, &runs_path).await;
        let run = runs["runs"][0].clone();
        (run["status"] != "running" && run["status"] != "queued").then_some(run)
    })
    .await;
    assert_eq!(run["id"], run_id, "the same run, not a second one: {run}");
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["attempts"], 2, "taken over once: {run}");
    assert_eq!(run["error"], Value::Null);
    let cursor_from = DateTime::parse_from_rfc3339(run["cursor_from"].as_str().unwrap()).unwrap();
    assert_eq!(cursor_from, cursor, "{run}");
    let processed = ["records_added", "records_updated", "records_unchanged"]
        .iter()
        .map(|field| run[field].as_u64().unwrap())
        .sum::<u64>();
    assert_eq!(processed, everything.len() as u64, "{run}");
    assert_eq!(
        run["records_added"].as_u64().unwrap(),
        (everything.len() - committed.len()) as u64,
        "the committed pages are not added twice: {run}"
    );
    // Every page request of both attempts fetched from the cursor.
    let requested = upstream.requested_from.lock().unwrap().clone();
    assert!(requested.len() > requests_before_restart);
    for from in &requested {
        let from =
            DateTime::parse_from_rfc3339(from.as_deref().expect("a lastModStartDate")).unwrap();
        assert_eq!(from, cursor);
    }
    // The cursor advances only now, to the run's first start.
    let source = api(&second, &key, &format!("{SOURCES}/nvd")).await;
    assert_eq!(source["lastModifiedSince"], run["started_at"], "{source}");
    assert_whole_records(&database.stored_rows().await, &everything);
    assert_eq!(database.runs().await, [("succeeded".to_string(), 2)]);
    database.close().await;
    let (exit, _) = second.stop("TERM");
    assert!(exit.success(), "{exit:?}");
}

/// The flags every start uses: loopback upstream allowed, a short lease so the takeover
/// comes soon after the restart.
const SYNC_FLAGS: [&str; 3] = ["--allow-private-sync-targets", "--sync-lease-seconds", "3"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_kill_9_mid_sync_keeps_whole_batches_and_the_restart_completes_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap().to_string();
    let mut args = vec!["--data-dir", data_dir.as_str()];
    args.extend(SYNC_FLAGS);
    kill_mid_run_and_restart(&args, Some(&dir.path().join("rampart.db")), None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_kill_9_mid_sync_keeps_whole_batches_and_the_restart_completes_the_run() {
    let Some(database) = rampart_test_support::fresh_postgres_database(false).await else {
        return;
    };
    let secret_key = "6b".repeat(32);
    let args = postgres_args(database.url(), &secret_key);
    kill_mid_run_and_restart(&args, None, Some(database.url())).await;
}

/// The flags of a start on PostgreSQL, with [`SYNC_FLAGS`].
fn postgres_args<'a>(url: &'a str, secret_key: &'a str) -> Vec<&'a str> {
    let mut args = vec!["--database-url", url, "--secret-key", secret_key];
    args.extend(SYNC_FLAGS);
    args
}

/// The replica whose log says it started attempt `attempt` of run `run_id`.
fn replicas_starting(replicas: &[ServerProcess], run_id: i64, attempt: i64) -> Vec<usize> {
    replicas
        .iter()
        .enumerate()
        .filter(|(_, replica)| {
            replica.log.lock().unwrap().iter().any(|line| {
                serde_json::from_str::<Value>(line).is_ok_and(|event| {
                    event["fields"]["message"] == "sync run started"
                        && event["fields"]["run"] == run_id
                        && event["fields"]["attempt"] == attempt
                })
            })
        })
        .map(|(index, _)| index)
        .collect()
}

/// Issue 21 item 1 on three `rampart serve` processes sharing one PostgreSQL, every one
/// running the sync scheduler and worker: a scheduled run is queued and run once; killing
/// (`kill -9`) the replica that holds it makes another take it over once its lease runs out
/// (the documented bound: the lease, 3 s here, plus the workers' 5 s poll), which finishes
/// it from the source's cursor; the next due time again gives one run.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_run_a_scheduled_sync_once_and_take_over_from_a_killed_holder() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let Some(database) = rampart_test_support::fresh_postgres_database(false).await else {
        return;
    };
    let upstream = Arc::new(Upstream::load(&root));
    let everything = upstream.kept(upstream.entries.len());
    let nvd_url = start_upstream(Arc::clone(&upstream)).await;
    let secret_key = "7d".repeat(32);
    let args = postgres_args(database.url(), &secret_key);
    let mut replicas: Vec<ServerProcess> = std::thread::scope(|scope| {
        let started: Vec<_> = (0..3)
            .map(|_| scope.spawn(|| ServerProcess::start(&args, &[])))
            .collect();
        started.into_iter().map(|s| s.join().unwrap()).collect()
    });
    let keys: Vec<String> = replicas.iter().filter_map(|r| r.printed_key()).collect();
    assert_eq!(keys.len(), 1, "exactly one replica bootstraps");
    let key = keys[0].clone();
    let cursor = (Utc::now() - chrono::Duration::days(3)).trunc_subsecs(0);
    create_nvd_source(&replicas[0], &key, &nvd_url, cursor).await;

    // Every scheduler sees the new source due; one run is queued and one worker runs it.
    wait_for(60, "the third page request", || async {
        (upstream.held_requests() > 0).then_some(())
    })
    .await;
    // Two more polls of every replica's scheduler and worker while the run is held.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let db = Database::open(None, Some(database.url())).await;
    assert_eq!(db.runs().await, [("running".to_string(), 1)], "one run");
    assert_eq!(
        upstream.requested_from.lock().unwrap().len(),
        PAGES_BEFORE_HOLD + 1,
        "one worker fetched: two pages and the held one"
    );
    let runs_path = format!("{SOURCES}/nvd/runs");
    let run = api(&replicas[1], &key, &runs_path).await["runs"][0].clone();
    assert_eq!(run["trigger"], "schedule", "{run}");
    let run_id = run["id"].as_i64().unwrap();
    let holders = replicas_starting(&replicas, run_id, 1);
    assert_eq!(holders.len(), 1, "one replica started the run");

    // The holder dies; another replica takes the run over once its lease has run out.
    let holder = replicas.remove(holders[0]);
    let (exit, _) = holder.stop("KILL");
    assert_eq!(exit.signal(), Some(9));
    let killed = std::time::Instant::now();
    upstream.release.send_replace(true);
    let taker = wait_for(120, "another replica to take the run over", || async {
        let taking = replicas_starting(&replicas, run_id, 2);
        (!taking.is_empty()).then_some(taking)
    })
    .await;
    let takeover = killed.elapsed();
    assert_eq!(taker.len(), 1, "one replica took it over");
    let run = wait_for(120, "the run to finish", || async {
        let run = api(&replicas[0], &key, &runs_path).await["runs"][0].clone();
        (run["status"] != "running" && run["status"] != "queued").then_some(run)
    })
    .await;
    println!(
        "the killed replica's sync run was taken over after {takeover:?} (lease 3 s, poll 5 s)"
    );
    assert_eq!(run["id"], run_id, "{run}");
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["attempts"], 2, "{run}");
    assert_eq!(db.runs().await, [("succeeded".to_string(), 2)]);
    assert_eq!(db.stored_rows().await.len(), everything.len());

    // The next due time (brought forward): one more run, by one replica.
    on_database!(&db, pool => {
        sqlx::query("UPDATE sync_sources SET next_run_at = $1 WHERE id = 'nvd'")
            .bind(Utc::now() - chrono::Duration::seconds(1))
            .execute(pool)
            .await
            .unwrap();
    });
    wait_for(60, "the second scheduled run to finish", || async {
        let runs = db.runs().await;
        (runs.len() == 2 && runs[1].0 == "succeeded").then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        db.runs().await,
        [("succeeded".to_string(), 2), ("succeeded".to_string(), 1)],
        "one run per due time"
    );
    let second = api(&replicas[0], &key, &runs_path).await["runs"][0].clone();
    assert_eq!(second["trigger"], "schedule", "{second}");
    let second_id = second["id"].as_i64().unwrap();
    assert_eq!(replicas_starting(&replicas, second_id, 1).len(), 1);
    db.close().await;
    for replica in replicas {
        let (exit, _) = replica.stop("TERM");
        assert!(exit.success(), "{exit:?}");
    }
}
