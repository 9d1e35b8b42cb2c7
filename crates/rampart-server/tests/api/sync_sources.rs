//! Sync sources (seed 000) and the sync engine, over real HTTP on both backends. Upstream
//! feeds are a real local HTTP server (axum on 127.0.0.1:0) serving ../shared/data in each
//! upstream's layout, built on the fly.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use rampart_core::{ApiKeyKind, ApiKeySecret, Scope, ScopeSet};
use rampart_engine::sync::{SecretKey, SyncService};
use rampart_server::axum::extract::{Path as AxPath, Query, State};
use rampart_server::axum::http::{HeaderMap, StatusCode as AxStatus};
use rampart_server::axum::response::{IntoResponse, Response};
use rampart_server::axum::routing::get;
use rampart_server::axum::Router;
use rampart_server::ServerConfig;
use rampart_store::{DatabaseLocation, Store};
use rampart_test_support::{backend_tests, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const SEED_PATH: &str = "/api/v1/security/cve/sync-sources";

// ---------------------------------------------------------------------------------------
// Captured logs: every test's server logs into this buffer, so tests can prove a secret
// never reaches the log.

#[derive(Clone)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn captured_logs() -> String {
    static BUFFER: OnceLock<LogBuffer> = OnceLock::new();
    let buffer = BUFFER.get_or_init(|| {
        let buffer = LogBuffer(Arc::new(Mutex::new(Vec::new())));
        let writer = buffer.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init();
        buffer
    });
    String::from_utf8_lossy(&buffer.0.lock().unwrap()).into_owned()
}

// ---------------------------------------------------------------------------------------
// Helpers

fn seed_body(source_type: &str) -> Value {
    // The seed's curl example, byte for byte apart from the type.
    let text = r#"{"config":{"id":"sync-src-001","type":"SYNC_SOURCE_TYPE_UNSPECIFIED","apiKeyMasked":"abc***xyz","syncIntervalHours":24,"ecosystems":"item1,item2","lastModifiedSince":"2024-01-01T00:00:00Z","createdAt":"2026-01-15T08:00:00Z"},"apiKey":"sk-nvd-abc123secret"}"#;
    let text = text.replace("SYNC_SOURCE_TYPE_UNSPECIFIED", source_type);
    serde_json::from_str(&text).unwrap()
}

async fn configure(app: &TestApp, body: &Value) -> reqwest::Response {
    app.post(SEED_PATH).json(body).send().await.unwrap()
}

pub(crate) async fn configure_ok(app: &TestApp, body: &Value) -> Value {
    let response = configure(app, body).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{text}");
    serde_json::from_str(&text).unwrap()
}

async fn expect_error(response: reqwest::Response, status: StatusCode, code: &str) -> String {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "{body}");
    body["error"]["message"].as_str().unwrap().to_string()
}

/// A credential of a new team (operators' team or not) with `scopes`.
async fn team_key(app: &TestApp, operator: bool, scopes: ScopeSet) -> String {
    let secret = ApiKeySecret::generate(ApiKeyKind::Live);
    let now = Utc::now();
    let email = format!("user-{}@example.com", uuid_like());
    macro_rules! insert {
        ($pool:expr) => {{
            let pool = $pool;
            let team_id: i64 = sqlx::query_scalar(
                "INSERT INTO teams (name, plan, created_at, is_operator) VALUES ($1, 'pro', $2, $3) RETURNING id",
            )
            .bind("Another team")
            .bind(now)
            .bind(operator)
            .fetch_one(&pool)
            .await
            .unwrap();
            let user_id: i64 = sqlx::query_scalar(
                "INSERT INTO users (email, kind, created_at) VALUES ($1, 'person', $2) RETURNING id",
            )
            .bind(&email)
            .bind(now)
            .fetch_one(&pool)
            .await
            .unwrap();
            sqlx::query("INSERT INTO team_members (team_id, user_id, role, created_at) VALUES ($1, $2, 'owner', $3)")
                .bind(team_id)
                .bind(user_id)
                .bind(now)
                .execute(&pool)
                .await
                .unwrap();
            sqlx::query(
                "INSERT INTO api_keys (team_id, user_id, name, key_hash, is_test, last_six, scopes, created_at)
                 VALUES ($1, $2, 'k', $3, FALSE, $4, $5, $6)",
            )
            .bind(team_id)
            .bind(user_id)
            .bind(secret.hash().0.to_vec())
            .bind(secret.last_six())
            .bind(scopes.to_storage())
            .bind(now)
            .execute(&pool)
            .await
            .unwrap();
            pool.close().await;
        }};
    }
    match &app.config.database {
        DatabaseLocation::SqliteDir(dir) => {
            insert!(sqlx::SqlitePool::connect(&format!(
                "sqlite://{}",
                dir.join("rampart.db").display()
            ))
            .await
            .unwrap())
        }
        DatabaseLocation::Postgres(url) => insert!(sqlx::PgPool::connect(url).await.unwrap()),
    }
    secret.reveal().to_string()
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// One number from the app's database.
async fn scalar(app: &TestApp, sql: &str) -> i64 {
    match &app.config.database {
        DatabaseLocation::SqliteDir(dir) => {
            let pool = sqlx::SqlitePool::connect(&format!(
                "sqlite://{}",
                dir.join("rampart.db").display()
            ))
            .await
            .unwrap();
            let value = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            value
        }
        DatabaseLocation::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let value = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            value
        }
    }
}

/// The app's secret key (generated into the data directory on SQLite).
fn app_secret_key(app: &TestApp) -> SecretKey {
    match (&app.config.secret_key, &app.config.database) {
        (Some(key), _) => key.clone(),
        (None, DatabaseLocation::SqliteDir(dir)) => {
            SecretKey::load_or_create(&dir.join("secret.key")).unwrap()
        }
        (None, DatabaseLocation::Postgres(_)) => panic!("PostgreSQL apps have a configured key"),
    }
}

/// Fast, loopback-friendly sync settings for tests that run real syncs.
pub(crate) fn fast_sync(config: &mut ServerConfig) {
    config.sync.outbound.allow_private_targets = true;
    config.sync.poll_interval = Duration::from_millis(50);
    config.sync.lease = Duration::from_secs(5);
    config.sync.nvd.results_per_page = 100;
    config.sync.nvd.rate_window = Duration::from_millis(1);
    config.sync.nvd.retry_base_delay = Duration::from_millis(5);
    config.sync.nvd.max_retry_delay = Duration::from_millis(40);
}

/// Polls a source's newest run until it has finished; returns it.
async fn wait_for_finished_run(app: &TestApp, source_id: &str, run_id: i64) -> Value {
    for _ in 0..2400 {
        let runs: Value = app
            .get(&format!("{SEED_PATH}/{source_id}/runs"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(run) = runs["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == run_id)
        {
            if run["status"] == "succeeded" || run["status"] == "failed" {
                return run.clone();
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("run {run_id} of {source_id} did not finish");
}

pub(crate) async fn run_now(app: &TestApp, source_id: &str) -> Value {
    let response = app
        .post(&format!("{SEED_PATH}/{source_id}/run"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let run: Value = response.json().await.unwrap();
    assert!(
        run["status"] == "queued" || run["status"] == "running",
        "{run}"
    );
    let id = run["id"].as_i64().unwrap();
    wait_for_finished_run(app, source_id, id).await
}

fn data_root() -> Option<std::path::PathBuf> {
    rampart_test_data::root()
}

// ---------------------------------------------------------------------------------------
// The fixture upstream: NVD API 2.0, the OSV bucket, KEV, EPSS, ExploitDB, redirects.

struct NvdRequest {
    query: HashMap<String, String>,
    api_key: Option<String>,
    status: u16,
}

struct Upstream {
    nvd_entries: Vec<Value>,
    nvd_api_key: String,
    /// Statuses answered (in order) before serving real pages.
    nvd_failures: Mutex<VecDeque<u16>>,
    nvd_requests: Mutex<Vec<NvdRequest>>,
    /// After this many pages served, page requests wait until `release` is set.
    nvd_block_after: Mutex<Option<usize>>,
    nvd_pages_served: Mutex<usize>,
    release: tokio::sync::watch::Sender<bool>,
    osv_pypi_zip: Vec<u8>,
    kev: Vec<u8>,
    epss_gz: Vec<u8>,
    exploitdb: Vec<u8>,
}

const EXPLOITDB_CSV: &str = "id,file,description,date_published,author,type,platform,port,date_added,date_updated,verified,codes,tags,aliases,screenshot_url,application_url,source_url
50001,exploits/linux/remote/50001.py,\"Example Server 1.0 - Remote Code Execution\",2021-06-01,\"A. Researcher\",remote,linux,80,2021-06-01,2021-06-02,1,CVE-2021-44228;OSVDB-1,,,,,https://example.com/advisory
50002,exploits/php/webapps/50002.txt,\"Example CMS 2.3 - SQL Injection\",2022-01-15,\"B. Tester\",webapps,php,,2022-01-15,2022-01-15,0,CVE-2022-22965,,,,,
50003,exploits/windows/local/50003.c,\"Example Driver - Privilege Escalation\",2023-03-03,\"C. Hacker\",local,windows,,2023-03-03,2023-03-04,1,,,,,,
";

impl Upstream {
    fn load(root: &std::path::Path) -> Upstream {
        let nvd_dir = root.join("nvd-cve-api-2.0");
        let mut seen = std::collections::HashSet::new();
        let mut nvd_entries = Vec::new();
        for file in [
            "pablotron-nvd-go/responses/cves-1999.json",
            "pablotron-nvd-go/responses/cves-2023.json",
            "vunnel-nvd-fixtures/tests/unit/providers/nvd/test-fixtures/full-page.json",
        ] {
            let page: Value =
                serde_json::from_slice(&std::fs::read(nvd_dir.join(file)).unwrap()).unwrap();
            for entry in page["vulnerabilities"].as_array().unwrap() {
                let id = entry["cve"]["id"].as_str().unwrap().to_string();
                if seen.insert(id) {
                    nvd_entries.push(entry.clone());
                }
            }
        }
        Upstream {
            nvd_entries,
            nvd_api_key: "nvd-fixture-key-0123456789".to_string(),
            nvd_failures: Mutex::new(VecDeque::new()),
            nvd_requests: Mutex::new(Vec::new()),
            nvd_block_after: Mutex::new(None),
            nvd_pages_served: Mutex::new(0),
            release: tokio::sync::watch::channel(false).0,
            osv_pypi_zip: osv_zip(&root.join("osv-pypa/vulns"), 150),
            kev: std::fs::read(root.join("cisa-kev/known_exploited_vulnerabilities.json")).unwrap(),
            epss_gz: {
                let csv = std::fs::read(root.join("epss/epss_scores-current.head60.csv")).unwrap();
                let mut encoder =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                encoder.write_all(&csv).unwrap();
                encoder.finish().unwrap()
            },
            exploitdb: EXPLOITDB_CSV.as_bytes().to_vec(),
        }
    }

    /// The NVD entries a full load must end with, by the parser's own verdict.
    fn nvd_expected_ids(&self) -> Vec<String> {
        self.nvd_kept_ids(self.nvd_entries.len())
    }

    /// The ids the parser keeps among the first `count` entries.
    fn nvd_kept_ids(&self, count: usize) -> Vec<String> {
        let entries: Vec<&Value> = self.nvd_entries.iter().take(count).collect();
        let page = json!({"resultsPerPage": entries.len(), "startIndex": 0,
            "totalResults": entries.len(), "vulnerabilities": entries});
        let parsed =
            rampart_formats::advisory::parse_nvd_page(page.to_string().as_bytes()).unwrap();
        parsed
            .advisories
            .records
            .into_iter()
            .map(|a| a.id)
            .collect()
    }
}

/// `{ecosystem}/all.zip` as OSV publishes it: one `<ID>.json` per advisory, built from the
/// first `limit` PyPA YAML records (converted to JSON).
fn osv_zip(vulns: &std::path::Path, limit: usize) -> Vec<u8> {
    let mut files = Vec::new();
    let mut pending = vec![vulns.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files.truncate(limit);
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for path in files {
        let value: Value = yaml_serde::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let id = value["id"].as_str().unwrap().to_string();
        zip.start_file(format!("{id}.json"), options).unwrap();
        zip.write_all(&serde_json::to_vec(&value).unwrap()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn nvd_time(text: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .unwrap()
        .and_utc()
}

async fn nvd_handler(
    State(upstream): State<Arc<Upstream>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let api_key = headers
        .get("apiKey")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let record = |status: u16| {
        upstream.nvd_requests.lock().unwrap().push(NvdRequest {
            query: query.clone(),
            api_key: api_key.clone(),
            status,
        });
    };
    if api_key.as_deref() != Some(upstream.nvd_api_key.as_str()) {
        record(401);
        return AxStatus::UNAUTHORIZED.into_response();
    }
    let failure = upstream.nvd_failures.lock().unwrap().pop_front();
    if let Some(status) = failure {
        record(status);
        return AxStatus::from_u16(status).unwrap().into_response();
    }
    let block = {
        let served = *upstream.nvd_pages_served.lock().unwrap();
        upstream
            .nvd_block_after
            .lock()
            .unwrap()
            .is_some_and(|n| served >= n)
    };
    if block {
        let mut release = upstream.release.subscribe();
        let _ = release.wait_for(|released| *released).await;
    }
    let range = match (query.get("lastModStartDate"), query.get("lastModEndDate")) {
        (Some(start), Some(end)) => Some((
            DateTime::parse_from_rfc3339(start)
                .unwrap()
                .with_timezone(&Utc),
            DateTime::parse_from_rfc3339(end)
                .unwrap()
                .with_timezone(&Utc),
        )),
        _ => None,
    };
    let matching: Vec<&Value> = upstream
        .nvd_entries
        .iter()
        .filter(|entry| {
            range.is_none_or(|(start, end)| {
                let modified = nvd_time(entry["cve"]["lastModified"].as_str().unwrap());
                start <= modified && modified <= end
            })
        })
        .collect();
    let start: usize = query.get("startIndex").map_or(0, |s| s.parse().unwrap());
    let per_page: usize = query
        .get("resultsPerPage")
        .map_or(2000, |s| s.parse().unwrap())
        .min(2000);
    let page: Vec<&Value> = matching
        .iter()
        .skip(start)
        .take(per_page)
        .copied()
        .collect();
    record(200);
    *upstream.nvd_pages_served.lock().unwrap() += 1;
    rampart_server::axum::Json(json!({
        "resultsPerPage": page.len(),
        "startIndex": start,
        "totalResults": matching.len(),
        "format": "NVD_CVE",
        "version": "2.0",
        "timestamp": "2026-11-23T00:00:00.000",
        "vulnerabilities": page,
    }))
    .into_response()
}

async fn osv_handler(
    State(upstream): State<Arc<Upstream>>,
    AxPath(ecosystem): AxPath<String>,
) -> Response {
    if ecosystem == "PyPI" {
        upstream.osv_pypi_zip.clone().into_response()
    } else {
        AxStatus::NOT_FOUND.into_response()
    }
}

/// Starts the fixture upstream on 127.0.0.1:0; returns its base URL.
async fn start_upstream(upstream: Arc<Upstream>) -> String {
    let app = Router::new()
        .route("/nvd/rest/json/cves/2.0", get(nvd_handler))
        .route("/osv/{ecosystem}/all.zip", get(osv_handler))
        .route(
            "/kev.json",
            get(|State(u): State<Arc<Upstream>>| async move { u.kev.clone() }),
        )
        .route(
            "/epss.csv.gz",
            get(|State(u): State<Arc<Upstream>>| async move { u.epss_gz.clone() }),
        )
        .route(
            "/exploitdb.csv",
            get(|State(u): State<Arc<Upstream>>| async move { u.exploitdb.clone() }),
        )
        .route(
            "/redirect-private",
            get(|| async { (AxStatus::FOUND, [("location", "http://10.0.0.1/kev.json")]) }),
        )
        .route(
            "/redirect-metadata",
            get(|| async {
                (
                    AxStatus::FOUND,
                    [("location", "http://169.254.169.254/latest/meta-data/")],
                )
            }),
        )
        .with_state(upstream);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        rampart_server::axum::serve(listener, app).await.unwrap();
    });
    url
}

fn nvd_source(id: &str, url: &str, key: &str) -> Value {
    json!({"config": {"id": id, "type": "NVD", "syncIntervalHours": 24, "url": url,
        "lastModifiedSince": null}, "apiKey": key})
}

// ---------------------------------------------------------------------------------------
// Tests

backend_tests! {
    async fn the_seed_example_configures_an_nvd_source(app) {
        for spelling in ["NVD", "SYNC_SOURCE_TYPE_NVD"] {
            let body = configure_ok(&app, &seed_body(spelling)).await;
            assert_eq!(body["id"], "sync-src-001");
            assert_eq!(body["type"], "SYNC_SOURCE_TYPE_NVD");
            assert_eq!(body["apiKeyMasked"], "sk-***ret");
            assert_eq!(body["syncIntervalHours"], 24);
            assert_eq!(body["ecosystems"], json!(["item1", "item2"]));
            assert_eq!(body["lastModifiedSince"], "2024-01-01T00:00:00Z");
            let created = body["createdAt"].as_str().unwrap();
            assert!(DateTime::parse_from_rfc3339(created).is_ok(), "{created}");
            assert_ne!(created, "2026-01-15T08:00:00Z", "createdAt is the server's, not the client's");
            assert!(!body.to_string().contains("abc123secret"));
        }
        let list: Value = app.get(SEED_PATH).send().await.unwrap().json().await.unwrap();
        assert_eq!(list["total"], 1);
        assert_eq!(list["sync_sources"][0]["id"], "sync-src-001");
    }

    async fn unspecified_or_unknown_types_and_bad_intervals_are_422(app) {
        // The seed's example as written: UNSPECIFIED is no type.
        let message = expect_error(
            configure(&app, &seed_body("SYNC_SOURCE_TYPE_UNSPECIFIED")).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert!(message.contains("config.type"), "{message}");
        for bad_type in [json!("RSS"), json!("UNSPECIFIED")] {
            let mut body = seed_body("NVD");
            body["config"]["type"] = bad_type;
            let message = expect_error(configure(&app, &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert!(message.contains("config.type"), "{message}");
        }
        for interval in [json!(0), json!(-5), json!(100_000), json!("soon"), json!(1.5)] {
            let mut body = seed_body("NVD");
            body["config"]["syncIntervalHours"] = interval.clone();
            let message = expect_error(configure(&app, &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert!(message.contains("config.syncIntervalHours"), "{interval}: {message}");
        }
        let mut body = seed_body("NVD");
        body["config"]["lastModifiedSince"] = json!("yesterday");
        let message = expect_error(configure(&app, &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(message.contains("config.lastModifiedSince"), "{message}");
        // An OSV bucket needs ecosystems.
        let body = json!({"config": {"id": "osv", "type": "OSV"}});
        let message = expect_error(configure(&app, &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(message.contains("config.ecosystems"), "{message}");
        // Nothing was stored.
        let list: Value = app.get(SEED_PATH).send().await.unwrap().json().await.unwrap();
        assert_eq!(list["total"], 0);
    }

    async fn ecosystems_as_a_list_and_a_generated_id(app) {
        let body = configure_ok(&app, &json!({"config": {"type": "OSV", "ecosystems": ["PyPI", "npm", "PyPI"]}})).await;
        assert_eq!(body["ecosystems"], json!(["PyPI", "npm"]));
        assert_eq!(body["type"], "SYNC_SOURCE_TYPE_OSV");
        assert_eq!(body["apiKeyMasked"], "");
        assert_eq!(body["syncIntervalHours"], 24);
        assert_eq!(body["url"], "https://osv-vulnerabilities.storage.googleapis.com");
        let id = body["id"].as_str().unwrap();
        assert!(id.starts_with("sync-src-"), "{id}");
        let fetched: Value = app.get(&format!("{SEED_PATH}/{id}")).send().await.unwrap().json().await.unwrap();
        assert_eq!(fetched, body);
    }

    async fn an_update_keeps_created_at_and_the_stored_key(app) {
        let created = configure_ok(&app, &seed_body("NVD")).await;
        let mut update = seed_body("NVD");
        update["config"]["syncIntervalHours"] = json!(6);
        update["config"]["createdAt"] = json!("2030-01-01T00:00:00Z");
        update.as_object_mut().unwrap().remove("apiKey");
        let updated = configure_ok(&app, &update).await;
        assert_eq!(updated["createdAt"], created["createdAt"]);
        assert_eq!(updated["syncIntervalHours"], 6);
        assert_eq!(updated["apiKeyMasked"], "sk-***ret");
        update["apiKey"] = json!("");
        assert_eq!(configure_ok(&app, &update).await["apiKeyMasked"], "sk-***ret");
        update["apiKey"] = json!("another-secret-key-987");
        let rekeyed = configure_ok(&app, &update).await;
        assert_eq!(rekeyed["apiKeyMasked"], "ano***987");
        assert_eq!(rekeyed["createdAt"], created["createdAt"]);

        // At rest the key is ciphertext that decrypts with the server key only.
        let store = Store::connect(&app.config.database).await.unwrap();
        let stored = store.sync_source("sync-src-001").await.unwrap().unwrap();
        let sealed = stored.api_key_ciphertext.unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(app_secret_key(&app).decrypt(&sealed).unwrap(), b"another-secret-key-987");
        store.close().await;
        let list = app.get(SEED_PATH).send().await.unwrap().text().await.unwrap();
        assert!(!list.contains("another-secret-key-987") && !list.contains("abc123secret"));
    }

    #[configure(fast_sync)]
    async fn changing_the_interval_reschedules_the_next_run(app) {
        let Some(root) = data_root() else { return };
        let base = start_upstream(Arc::new(Upstream::load(&root))).await;
        let time = |value: &Value| DateTime::parse_from_rfc3339(value.as_str().unwrap()).unwrap();
        let mut body = json!({"config": {"id": "edb", "type": "EXPLOITDB", "syncIntervalHours": 24,
            "url": format!("{base}/exploitdb.csv")}});
        let created = configure_ok(&app, &body).await;
        assert_eq!(created["nextRunAt"], created["createdAt"], "a new source is due at once");

        // Never ran: the next run is one new interval from the change.
        body["config"]["syncIntervalHours"] = json!(12);
        let before = Utc::now();
        let twelve = configure_ok(&app, &body).await;
        let after = Utc::now();
        let next = time(&twelve["nextRunAt"]);
        assert!(next >= before + chrono::Duration::hours(12) - chrono::Duration::seconds(1)
            && next <= after + chrono::Duration::hours(12), "{twelve}");

        // Ran: one new interval from the last run's start.
        let run = run_now(&app, "edb").await;
        let started = time(&run["started_at"]);
        body["config"]["syncIntervalHours"] = json!(6);
        let six = configure_ok(&app, &body).await;
        assert_eq!(time(&six["nextRunAt"]) - started, chrono::Duration::hours(6), "{six} {run}");
        body["config"]["syncIntervalHours"] = json!(48);
        let forty_eight = configure_ok(&app, &body).await;
        assert_eq!(time(&forty_eight["nextRunAt"]) - started, chrono::Duration::hours(48));

        // Other changes keep the schedule.
        body["config"]["url"] = json!(format!("{base}/exploitdb.csv?mirror=2"));
        let moved = configure_ok(&app, &body).await;
        assert_eq!(moved["nextRunAt"], forty_eight["nextRunAt"]);
        let fetched: Value = app.get(&format!("{SEED_PATH}/edb")).send().await.unwrap().json().await.unwrap();
        assert_eq!(fetched["nextRunAt"], forty_eight["nextRunAt"]);
    }

    async fn get_delete_and_not_found(app) {
        configure_ok(&app, &seed_body("NVD")).await;
        let path = format!("{SEED_PATH}/sync-src-001");
        assert_eq!(app.get(&path).send().await.unwrap().status(), StatusCode::OK);
        let deleted = app.request(Method::DELETE, &path).send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        expect_error(app.get(&path).send().await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
        expect_error(app.request(Method::DELETE, &path).send().await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
        expect_error(app.get(&format!("{path}/runs")).send().await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
        expect_error(app.post(&format!("{path}/run")).send().await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
        let bad_page = app.get(&format!("{SEED_PATH}/x/runs?per_page=many")).send().await.unwrap();
        let message = expect_error(bad_page, StatusCode::BAD_REQUEST, "bad_request").await;
        assert!(message.contains("per_page"), "{message}");
    }

    async fn only_the_operators_team_changes_sync_sources(app) {
        configure_ok(&app, &seed_body("NVD")).await;
        let everything = ScopeSet::all();
        let outsider = team_key(&app, false, everything).await;
        let as_outsider = |method: Method, path: String| {
            app.anonymous(method, &path).bearer_auth(outsider.clone())
        };
        // Reading is allowed: the knowledge base and its sources are shared.
        let list = as_outsider(Method::GET, SEED_PATH.to_string()).send().await.unwrap();
        assert_eq!(list.status(), StatusCode::OK);
        let body = seed_body("NVD");
        expect_error(as_outsider(Method::POST, SEED_PATH.to_string()).json(&body).send().await.unwrap(), StatusCode::FORBIDDEN, "forbidden").await;
        expect_error(as_outsider(Method::DELETE, format!("{SEED_PATH}/sync-src-001")).send().await.unwrap(), StatusCode::FORBIDDEN, "forbidden").await;
        expect_error(as_outsider(Method::POST, format!("{SEED_PATH}/sync-src-001/run")).send().await.unwrap(), StatusCode::FORBIDDEN, "forbidden").await;

        // Within the operators' team, scopes decide.
        let mut read_only = ScopeSet::default();
        read_only.insert(Scope::SyncRead);
        let reader = team_key(&app, true, read_only).await;
        let denied = app.anonymous(Method::POST, SEED_PATH).bearer_auth(&reader).json(&body).send().await.unwrap();
        let message = expect_error(denied, StatusCode::FORBIDDEN, "insufficient_scope").await;
        assert!(message.contains("sync:write"), "{message}");
        let no_trigger = app.anonymous(Method::POST, &format!("{SEED_PATH}/sync-src-001/run")).bearer_auth(&reader).send().await.unwrap();
        let message = expect_error(no_trigger, StatusCode::FORBIDDEN, "insufficient_scope").await;
        assert!(message.contains("cve:trigger"), "{message}");
        let nothing = team_key(&app, true, ScopeSet::default()).await;
        let list = app.anonymous(Method::GET, SEED_PATH).bearer_auth(&nothing).send().await.unwrap();
        expect_error(list, StatusCode::FORBIDDEN, "insufficient_scope").await;
    }

    #[configure(|c: &mut ServerConfig| {
        fast_sync(c);
        c.sync.outbound.allow_private_targets = false;
        c.sync.outbound.allowed_networks = vec!["127.0.0.1/32".parse().unwrap()];
    })]
    async fn the_outbound_guard_refuses_private_metadata_and_local_targets(app) {
        for url in ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.7/feed.json", "file:///etc/passwd", "/var/lib/osv", "ftp://example.com/x"] {
            let body = json!({"config": {"id": "kev", "type": "KEV", "url": url}});
            let message = expect_error(configure(&app, &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert!(message.contains("config.url"), "{url}: {message}");
        }
        let Some(root) = data_root() else { return };
        let upstream = start_upstream(Arc::new(Upstream::load(&root))).await;
        // Loopback is admitted here only through the operator's network list; redirects
        // to a private or metadata address are checked again and refused.
        for (path, refused) in [("/redirect-private", "10.0.0.1"), ("/redirect-metadata", "169.254.169.254")] {
            let id = path.trim_start_matches('/');
            configure_ok(&app, &json!({"config": {"id": id, "type": "KEV", "url": format!("{upstream}{path}")}})).await;
            let run = run_now(&app, id).await;
            assert_eq!(run["status"], "failed", "{run}");
            let error = run["error"].as_str().unwrap();
            assert!(error.contains(refused), "{error}");
        }
        // The listed network itself works.
        configure_ok(&app, &json!({"config": {"id": "listed", "type": "KEV", "url": format!("{upstream}/kev.json")}})).await;
        assert_eq!(run_now(&app, "listed").await["status"], "succeeded");
    }

    #[configure(fast_sync)]
    async fn nvd_sync_pages_retries_and_resumes_from_the_cursor(app) {
        let Some(root) = data_root() else { return };
        let upstream = Arc::new(Upstream::load(&root));
        let expected = upstream.nvd_expected_ids();
        upstream.nvd_failures.lock().unwrap().extend([429, 503]);
        let base = start_upstream(Arc::clone(&upstream)).await;
        let key = upstream.nvd_api_key.clone();
        configure_ok(&app, &nvd_source("nvd", &format!("{base}/nvd/rest/json/cves/2.0"), &key)).await;

        let run = run_now(&app, "nvd").await;
        assert_eq!(run["status"], "succeeded", "{run}");
        assert_eq!(run["records_added"].as_u64().unwrap() as usize, expected.len(), "{run}");
        assert_eq!(run["cursor_from"], Value::Null);
        assert_eq!(scalar(&app, "SELECT COUNT(*) FROM vulnerabilities").await as usize, expected.len());
        {
            let requests = upstream.nvd_requests.lock().unwrap();
            let statuses: Vec<u16> = requests.iter().map(|r| r.status).collect();
            assert_eq!(&statuses[..2], &[429, 503], "backoff retried both");
            assert!(statuses[2..].iter().all(|s| *s == 200));
            assert!(requests.iter().all(|r| r.api_key.as_deref() == Some(key.as_str())));
            let served: Vec<usize> = requests[2..].iter().map(|r| r.query["startIndex"].parse().unwrap()).collect();
            let pages = upstream.nvd_entries.len().div_ceil(100);
            assert_eq!(served, (0..pages).map(|p| p * 100).collect::<Vec<_>>());
            assert!(requests.iter().all(|r| r.query["resultsPerPage"] == "100" && !r.query.contains_key("lastModStartDate")));
        }
        // The cursor advanced to the run's start.
        let source: Value = app.get(&format!("{SEED_PATH}/nvd")).send().await.unwrap().json().await.unwrap();
        assert_eq!(source["lastModifiedSince"], run["started_at"]);

        // The next run asks only for what changed since.
        upstream.nvd_requests.lock().unwrap().clear();
        let second = run_now(&app, "nvd").await;
        assert_eq!(second["status"], "succeeded", "{second}");
        assert_eq!(second["cursor_from"], run["started_at"]);
        assert_eq!(second["records_added"], 0);
        let requests = upstream.nvd_requests.lock().unwrap();
        assert!(!requests.is_empty());
        for request in requests.iter() {
            let start = DateTime::parse_from_rfc3339(&request.query["lastModStartDate"]).unwrap();
            let end = DateTime::parse_from_rfc3339(&request.query["lastModEndDate"]).unwrap();
            let cursor = DateTime::parse_from_rfc3339(run["started_at"].as_str().unwrap()).unwrap();
            assert_eq!(start.timestamp_millis(), cursor.timestamp_millis());
            assert!(end >= start && end - start <= chrono::Duration::days(120));
        }
    }

    #[configure(fast_sync)]
    async fn the_api_key_never_reaches_responses_or_logs(app) {
        let Some(root) = data_root() else { return };
        let _ = captured_logs();
        let upstream = Arc::new(Upstream::load(&root));
        let base = start_upstream(Arc::clone(&upstream)).await;
        let key = upstream.nvd_api_key.clone();
        let created = configure(&app, &nvd_source("nvd", &format!("{base}/nvd/rest/json/cves/2.0"), &key)).await.text().await.unwrap();
        let run = run_now(&app, "nvd").await;
        assert_eq!(run["status"], "succeeded", "{run}");
        // A wrong key: the failure message does not carry it either.
        let wrong = "wrong-key-never-logged-4242";
        configure_ok(&app, &nvd_source("nvd", &format!("{base}/nvd/rest/json/cves/2.0"), wrong)).await;
        let failed = run_now(&app, "nvd").await;
        assert_eq!(failed["status"], "failed", "{failed}");
        let mut seen = vec![created, run.to_string(), failed.to_string()];
        for path in [SEED_PATH.to_string(), format!("{SEED_PATH}/nvd"), format!("{SEED_PATH}/nvd/runs")] {
            seen.push(app.get(&path).send().await.unwrap().text().await.unwrap());
        }
        let logs = captured_logs();
        assert!(logs.contains("sync run succeeded"), "logs are being captured");
        for secret in [key.as_str(), wrong] {
            assert!(!logs.contains(secret), "key in the log");
            for text in &seen {
                assert!(!text.contains(secret), "key in a response: {text}");
            }
        }
    }

    #[configure(fast_sync)]
    async fn osv_kev_epss_and_exploitdb_sources_fill_the_knowledge_base(app) {
        let Some(root) = data_root() else { return };
        let upstream = Arc::new(Upstream::load(&root));
        let base = start_upstream(Arc::clone(&upstream)).await;

        configure_ok(&app, &json!({"config": {"id": "osv", "type": "SYNC_SOURCE_TYPE_OSV", "ecosystems": "PyPI", "url": format!("{base}/osv")}})).await;
        let run = run_now(&app, "osv").await;
        assert_eq!(run["status"], "succeeded", "{run}");
        let zip_records = zip::ZipArchive::new(std::io::Cursor::new(upstream.osv_pypi_zip.clone())).unwrap().len() as i64;
        let processed: i64 = ["records_added", "records_updated", "records_unchanged", "records_skipped"]
            .iter()
            .map(|field| run[*field].as_i64().unwrap())
            .sum();
        assert_eq!(processed, zip_records, "{run}");
        assert!(run["records_added"].as_i64().unwrap() > 0);
        let stored = Store::connect(&app.config.database).await.unwrap();
        let first_zip_id = {
            let mut archive = zip::ZipArchive::new(std::io::Cursor::new(upstream.osv_pypi_zip.clone())).unwrap();
            let name = archive.by_index(0).unwrap().name().to_string();
            name.trim_end_matches(".json").to_string()
        };
        assert!(stored.advisory(&first_zip_id).await.unwrap().is_some(), "{first_zip_id}");
        // A second run finds everything older than the cursor: nothing is written.
        let again = run_now(&app, "osv").await;
        assert_eq!(again["status"], "succeeded");
        assert_eq!(again["records_added"], 0);
        assert_eq!(again["records_updated"], 0);

        // An ecosystem the bucket does not have fails the run with the upstream's answer.
        configure_ok(&app, &json!({"config": {"id": "osv-missing", "type": "OSV", "ecosystems": ["NoSuch"], "url": format!("{base}/osv")}})).await;
        let missing = run_now(&app, "osv-missing").await;
        assert_eq!(missing["status"], "failed");
        assert!(missing["error"].as_str().unwrap().contains("404"), "{missing}");

        let kev = rampart_formats::advisory::parse_kev_json(&upstream.kev).unwrap();
        configure_ok(&app, &json!({"config": {"id": "kev", "type": "KEV", "url": format!("{base}/kev.json")}})).await;
        let run = run_now(&app, "kev").await;
        assert_eq!(run["status"], "succeeded", "{run}");
        assert_eq!(run["records_added"].as_u64().unwrap() as usize, kev.entries.records.len());
        assert_eq!(scalar(&app, "SELECT COUNT(*) FROM kev_entries").await as usize, kev.entries.records.len());

        let epss = rampart_formats::advisory::parse_epss(&upstream.epss_gz).unwrap();
        configure_ok(&app, &json!({"config": {"id": "epss", "type": "EPSS", "url": format!("{base}/epss.csv.gz")}})).await;
        let run = run_now(&app, "epss").await;
        assert_eq!(run["status"], "succeeded", "{run}");
        assert_eq!(run["records_added"].as_u64().unwrap() as usize, epss.scores.records.len());
        assert_eq!(scalar(&app, "SELECT COUNT(*) FROM epss_scores").await as usize, epss.scores.records.len());

        configure_ok(&app, &json!({"config": {"id": "edb", "type": "EXPLOITDB", "url": format!("{base}/exploitdb.csv")}})).await;
        let run = run_now(&app, "edb").await;
        assert_eq!(run["status"], "succeeded", "{run}");
        let exploits = rampart_formats::advisory::parse_exploitdb_csv(&upstream.exploitdb).unwrap();
        assert_eq!(run["records_added"].as_u64().unwrap() as usize, exploits.records.len());
        assert_eq!(stored.exploits_for_cve("CVE-2021-44228").await.unwrap().len(), 1);
        stored.close().await;
    }

    #[configure(|c: &mut ServerConfig| { fast_sync(c); c.sync.execute_runs = false; })]
    async fn two_schedulers_racing_on_one_source_start_one_run(app) {
        configure_ok(&app, &json!({"config": {"id": "kev", "type": "KEV", "url": "http://127.0.0.1:9/kev.json"}})).await;
        let mut settings = app.config.sync.clone();
        settings.lease = Duration::from_secs(60);
        let first = SyncService::new(Store::connect(&app.config.database).await.unwrap(), settings.clone(), app_secret_key(&app)).unwrap();
        let second = SyncService::new(Store::connect(&app.config.database).await.unwrap(), settings, app_secret_key(&app)).unwrap();
        let store_a = Store::connect(&app.config.database).await.unwrap();
        let store_b = Store::connect(&app.config.database).await.unwrap();
        // Both replicas' scheduler ticks see the new source due; one run is queued.
        let (a, b) = tokio::join!(store_a.queue_due_sync_runs(), store_b.queue_due_sync_runs());
        assert_eq!(a.unwrap() + b.unwrap(), 1);
        let (a, b) = tokio::join!(store_a.queue_due_sync_runs(), store_b.queue_due_sync_runs());
        assert_eq!(a.unwrap() + b.unwrap(), 0, "not due again for a day");
        // A manual trigger while one is queued returns that run.
        let queued: Value = app.post(&format!("{SEED_PATH}/kev/run")).send().await.unwrap().json().await.unwrap();
        assert_eq!(queued["trigger"], "schedule");
        // Both workers claim at once: one wins.
        let (a, b) = tokio::join!(first.claim(), second.claim());
        let claims = [a.unwrap(), b.unwrap()];
        assert_eq!(claims.iter().filter(|c| c.is_some()).count(), 1);
        assert!(first.claim().await.unwrap().is_none());
        let runs: Value = app.get(&format!("{SEED_PATH}/kev/runs")).send().await.unwrap().json().await.unwrap();
        assert_eq!(runs["total"], 1);
        assert_eq!(runs["runs"][0]["status"], "running");
        assert_eq!(runs["runs"][0]["attempts"], 1);
        store_a.close().await;
        store_b.close().await;
    }

    #[configure(|c: &mut ServerConfig| { fast_sync(c); c.sync.execute_runs = false; })]
    async fn a_run_killed_mid_way_leaves_whole_batches_and_the_next_worker_completes_it(app) {
        let Some(root) = data_root() else { return };
        let upstream = Arc::new(Upstream::load(&root));
        let expected = upstream.nvd_expected_ids();
        // Two pages are served, then the third request hangs: the run is mid-way.
        *upstream.nvd_block_after.lock().unwrap() = Some(2);
        let base = start_upstream(Arc::clone(&upstream)).await;
        configure_ok(&app, &nvd_source("nvd", &format!("{base}/nvd/rest/json/cves/2.0"), &upstream.nvd_api_key)).await;
        let queued: Value = app.post(&format!("{SEED_PATH}/nvd/run")).send().await.unwrap().json().await.unwrap();
        assert_eq!(queued["status"], "queued");

        let mut settings = app.config.sync.clone();
        settings.lease = Duration::from_millis(900);
        let crashing = SyncService::new(Store::connect(&app.config.database).await.unwrap(), settings.clone(), app_secret_key(&app)).unwrap();
        let claimed = crashing.claim().await.unwrap().expect("the queued run");
        let worker = tokio::spawn({
            let crashing = crashing.clone();
            async move { crashing.execute(claimed).await }
        });
        // Wait until the third page is being waited for, then kill the worker. The deadline
        // only turns a worker that never gets there (a hang) into a failure that says so.
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            let requests = upstream.nvd_requests.lock().unwrap().len();
            if requests >= 2 && upstream.release.receiver_count() > 0 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the worker never reached the held third NVD page: {requests} requests served, \
                 worker finished: {}",
                worker.is_finished()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        worker.abort();
        let _ = worker.await;
        // Exactly the two committed pages are stored: no partial batch.
        let stored = scalar(&app, "SELECT COUNT(*) FROM vulnerabilities").await;
        assert_eq!(stored as usize, upstream.nvd_kept_ids(200).len());
        let runs: Value = app.get(&format!("{SEED_PATH}/nvd/runs")).send().await.unwrap().json().await.unwrap();
        assert_eq!(runs["runs"][0]["status"], "running", "the dead worker's run waits for its lease to expire");

        // Another worker takes the run over once the lease has expired and completes it.
        upstream.release.send_replace(true);
        let rescuer = SyncService::new(Store::connect(&app.config.database).await.unwrap(), settings, app_secret_key(&app)).unwrap();
        let mut finished = None;
        for _ in 0..600 {
            if let Some(id) = rescuer.run_next().await.unwrap() {
                finished = Some(id);
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let run_id = finished.expect("the expired lease was taken over");
        assert_eq!(run_id, queued["id"].as_i64().unwrap());
        let run = wait_for_finished_run(&app, "nvd", run_id).await;
        assert_eq!(run["status"], "succeeded", "{run}");
        assert_eq!(run["attempts"], 2);
        assert_eq!(scalar(&app, "SELECT COUNT(*) FROM vulnerabilities").await as usize, expected.len());
        // The cursor moved only now, to the run's first start.
        let source: Value = app.get(&format!("{SEED_PATH}/nvd")).send().await.unwrap().json().await.unwrap();
        assert_eq!(source["lastModifiedSince"], run["started_at"]);
    }

    #[configure(|c: &mut ServerConfig| { fast_sync(c); c.sync.scheduler = true; })]
    async fn the_scheduler_runs_a_new_source_by_itself(app) {
        let Some(root) = data_root() else { return };
        let upstream = Arc::new(Upstream::load(&root));
        let base = start_upstream(Arc::clone(&upstream)).await;
        configure_ok(&app, &json!({"config": {"id": "edb", "type": "EXPLOITDB", "syncIntervalHours": 1, "url": format!("{base}/exploitdb.csv")}})).await;
        let mut run = None;
        for _ in 0..600 {
            let runs: Value = app.get(&format!("{SEED_PATH}/edb/runs")).send().await.unwrap().json().await.unwrap();
            if let Some(first) = runs["runs"].as_array().unwrap().first() {
                run = Some(first["id"].as_i64().unwrap());
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let run = wait_for_finished_run(&app, "edb", run.expect("a scheduled run")).await;
        assert_eq!(run["trigger"], "schedule");
        assert_eq!(run["status"], "succeeded", "{run}");
        let source: Value = app.get(&format!("{SEED_PATH}/edb")).send().await.unwrap().json().await.unwrap();
        let next = DateTime::parse_from_rfc3339(source["nextRunAt"].as_str().unwrap()).unwrap();
        let started = DateTime::parse_from_rfc3339(run["started_at"].as_str().unwrap()).unwrap();
        assert_eq!(next - started, chrono::Duration::hours(1));
    }

    #[configure(|c: &mut ServerConfig| { fast_sync(c); c.sync.outbound.allow_local_paths = true; })]
    async fn a_local_osv_tree_loads_when_the_operator_allows_local_paths(app) {
        let Some(root) = data_root() else { return };
        let tree = root.join("rustsec-advisory-db/osv");
        let records = std::fs::read_dir(tree.join("crates")).unwrap().filter(|e| {
            e.as_ref().unwrap().path().extension().is_some_and(|x| x == "json")
        }).count() as i64;
        let url = format!("file://{}", tree.display());
        configure_ok(&app, &json!({"config": {"id": "rustsec", "type": "GHSA", "ecosystems": ["crates.io"], "url": url}})).await;
        let run = run_now(&app, "rustsec").await;
        assert_eq!(run["status"], "succeeded", "{run}");
        let processed: i64 = ["records_added", "records_updated", "records_unchanged", "records_skipped"]
            .iter()
            .map(|field| run[*field].as_i64().unwrap())
            .sum();
        assert_eq!(processed, records, "{run}");
        assert!(run["records_added"].as_i64().unwrap() > records / 2, "{run}");
        // The ecosystem list filters: a tree without PyPI records stores nothing.
        configure_ok(&app, &json!({"config": {"id": "pypi-only", "type": "OSV", "ecosystems": "PyPI", "url": tree.display().to_string()}})).await;
        let filtered = run_now(&app, "pypi-only").await;
        assert_eq!(filtered["status"], "succeeded", "{filtered}");
        assert_eq!(filtered["records_added"], 0);
        assert_eq!(filtered["records_updated"], 0);
    }
}

#[tokio::test]
async fn postgres_without_a_secret_key_refuses_to_start() {
    let Some(database) = rampart_test_support::fresh_postgres_database(false).await else {
        return;
    };
    let config = ServerConfig::new(DatabaseLocation::Postgres(database.url().to_string()));
    let error = rampart_server::App::build(config)
        .await
        .err()
        .expect("refused");
    assert!(error.to_string().contains("RAMPART_SECRET_KEY"), "{error}");
}
