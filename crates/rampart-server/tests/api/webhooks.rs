//! Signed webhooks (issue 16 item 2), over real HTTP on both backends. The receiver is a real
//! local HTTP server (axum on 127.0.0.1:0) that records every request and answers as the
//! test scripts it (fail the first N, answer 410 …). Signatures are checked by real
//! verifiers, not our own code: seed 002's Python recipe run verbatim with python3, and the
//! `standardwebhooks` PyPI package (`.ci/run` installs it pinned; without it the test skips
//! with a reason unless `RAMPART_REQUIRE_WEBHOOK_VERIFIERS=1`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rampart_server::axum::body::Bytes;
use rampart_server::axum::extract::State;
use rampart_server::axum::http::{HeaderMap, StatusCode as AxStatus};
use rampart_server::axum::routing::post;
use rampart_server::axum::Router;
use rampart_server::ServerConfig;
use rampart_test_support::{backend_tests, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: std::time::Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A local webhook receiver: answers the scripted statuses first, then 200.
#[derive(Default)]
pub struct Receiver {
    pub received: Mutex<Vec<Received>>,
    pub script: Mutex<VecDeque<(u16, String)>>,
    /// The status answered once the script is used up (200 unless set).
    pub then: Mutex<Option<u16>>,
    /// Delay before answering.
    pub delay: Mutex<Duration>,
}

async fn receive(
    State(receiver): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> (AxStatus, String) {
    let delay = *receiver.delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    receiver.received.lock().unwrap().push(Received {
        headers: headers
            .iter()
            .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
        body: body.to_vec(),
        at: std::time::Instant::now(),
    });
    let (status, text) = receiver
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| {
            (
                receiver.then.lock().unwrap().unwrap_or(200),
                "ok".to_string(),
            )
        });
    (AxStatus::from_u16(status).unwrap(), text)
}

impl Receiver {
    /// Starts a receiver; returns it and its URL (`http://127.0.0.1:PORT/hook`).
    pub async fn start() -> (Arc<Receiver>, String) {
        let receiver = Arc::new(Receiver::default());
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(Arc::clone(&receiver));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move {
            rampart_server::axum::serve(listener, app).await.unwrap();
        });
        (receiver, url)
    }

    pub fn fail_first(&self, statuses: &[(u16, &str)]) {
        let mut script = self.script.lock().unwrap();
        script.extend(statuses.iter().map(|(s, t)| (*s, t.to_string())));
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    pub fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived (at most `seconds`).
    pub async fn wait_for(&self, n: usize, seconds: u64) -> Vec<Received> {
        for _ in 0..seconds * 50 {
            if self.count() >= n {
                return self.all();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the receiver got {} requests, expected {n}", self.count());
    }
}

/// Fast delivery for tests: loopback targets allowed, short polls and retries, no jitter.
/// One `COUNT(*)` on the app's database directly (the outbox's state is not in the API).
async fn count_sql(app: &TestApp, sql: &str) -> i64 {
    match &app.config.database {
        rampart_store::DatabaseLocation::SqliteDir(dir) => {
            let url = format!("sqlite://{}", dir.join("rampart.db").display());
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            let count = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            count
        }
        rampart_store::DatabaseLocation::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let count = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            count
        }
    }
}

pub fn fast_webhooks(config: &mut ServerConfig) {
    config.webhooks.outbound.allow_private_targets = true;
    config.webhooks.poll_interval = Duration::from_millis(25);
    config.webhooks.retry_delays = vec![Duration::from_millis(300), Duration::from_millis(600)];
    config.webhooks.jitter = 0.0;
    config.webhooks.lease = Duration::from_secs(10);
}

fn disable_quickly(config: &mut ServerConfig) {
    fast_webhooks(config);
    config.webhooks.retry_delays = vec![Duration::from_millis(1200), Duration::from_millis(300)];
    config.webhooks.disable_after = Duration::from_secs(1);
}

fn public_only(config: &mut ServerConfig) {
    fast_webhooks(config);
    config.webhooks.outbound.allow_private_targets = false;
}

async fn json_of(response: reqwest::Response, status: StatusCode) -> Value {
    let actual = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "{text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

async fn create_endpoint(app: &TestApp, token: &str, body: Value) -> Value {
    json_of(
        app.with_token(Method::POST, "/api/v1/webhooks", token)
            .json(&body)
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await
}

async fn send_test(app: &TestApp, token: &str, endpoint: i64) -> Value {
    json_of(
        app.with_token(
            Method::POST,
            &format!("/api/v1/webhooks/{endpoint}/test"),
            token,
        )
        .send()
        .await
        .unwrap(),
        StatusCode::ACCEPTED,
    )
    .await
}

async fn delivery(app: &TestApp, token: &str, endpoint: i64, delivery: i64) -> Value {
    json_of(
        app.with_token(
            Method::GET,
            &format!("/api/v1/webhooks/{endpoint}/deliveries/{delivery}"),
            token,
        )
        .send()
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await
}

/// Polls a delivery until `done` says so (at most `seconds`).
async fn wait_delivery(
    app: &TestApp,
    token: &str,
    endpoint: i64,
    id: i64,
    seconds: u64,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let mut last = Value::Null;
    for _ in 0..seconds * 20 {
        last = delivery(app, token, endpoint, id).await;
        if done(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("delivery {id} never got there: {last}");
}

/// The Python interpreter the verifiers run with (`RAMPART_PYTHON`, else `python3`).
fn python() -> String {
    std::env::var("RAMPART_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

/// Whether python3 with the `standardwebhooks` package is here; skips (or fails under
/// `RAMPART_REQUIRE_WEBHOOK_VERIFIERS=1`) when not.
fn verifiers_available() -> bool {
    let ok = std::process::Command::new(python())
        .args(["-c", "import standardwebhooks"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok || !rampart_test_data::format_checks::tool_missing(
        "RAMPART_REQUIRE_WEBHOOK_VERIFIERS",
        "python3 with the standardwebhooks package (pip install standardwebhooks==1.1.0)",
    )
}

/// Seed 002's recipe, verbatim, then the Standard Webhooks library, over one received
/// request and one secret. Prints `seed=<bool> standard=<bool>`.
const VERIFY_PY: &str = r#"
import hmac, hashlib
def verify(payload, signature, secret):
    expected = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)

import json, sys
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
body = open(sys.argv[1], "rb").read()
headers = json.load(open(sys.argv[2]))
secret = sys.argv[3]
seed_header = sys.argv[4]
seed = verify(body, headers[seed_header], secret)
try:
    Webhook(secret).verify(body, headers)
    standard = True
except WebhookVerificationError:
    standard = False
print(f"seed={seed} standard={standard}")
"#;

/// Runs the verifiers; returns (seed recipe passed, standardwebhooks passed).
fn verify_with_python(received: &Received, secret: &str, seed_header: &str) -> (bool, bool) {
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body");
    let headers = dir.path().join("headers.json");
    let script = dir.path().join("verify.py");
    std::fs::write(&body, &received.body).unwrap();
    let map: serde_json::Map<String, Value> = received
        .headers
        .iter()
        .map(|(n, v)| (n.clone(), Value::from(v.clone())))
        .collect();
    std::fs::write(&headers, Value::Object(map).to_string()).unwrap();
    std::fs::write(&script, VERIFY_PY).unwrap();
    let output = std::process::Command::new(python())
        .arg(&script)
        .arg(&body)
        .arg(&headers)
        .arg(secret)
        .arg(seed_header)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (text.contains("seed=True"), text.contains("standard=True"))
}

backend_tests! {
    #[configure(fast_webhooks)]
    async fn deliveries_verify_with_seed_002s_recipe_and_standard_webhooks(app) {
        let (receiver, url) = Receiver::start().await;
        let created = create_endpoint(&app, &app.admin_key, json!({"url": url, "description": "ops"})).await;
        let secret = created["secret"].as_str().unwrap().to_string();
        assert!(secret.starts_with("whsec_"), "{created}");
        let id = created["id"].as_i64().unwrap();
        // Shown once: reads never carry it.
        let read = json_of(app.get(&format!("/api/v1/webhooks/{id}")).send().await.unwrap(), StatusCode::OK).await;
        assert!(read.get("secret").is_none(), "{read}");
        assert!(!read.to_string().contains(&secret[6..]), "{read}");

        let queued = send_test(&app, &app.admin_key, id).await;
        let got = receiver.wait_for(1, 20).await;
        let request = &got[0];
        let body = request.json();
        assert_eq!(body["id"], queued["event_id"]);
        assert_eq!(body["type"], "webhook.test");
        assert!(body["team_id"].is_i64() && body["created_at"].is_string() && body["data"].is_object(), "{body}");
        assert_eq!(request.header("webhook-id"), Some(format!("evt_{}", queued["event_id"]).as_str()));
        let hex = request.header("x-rampart-signature").unwrap();
        assert_eq!(request.header("x-rampart-signature-256"), Some(format!("sha256={hex}").as_str()));
        assert!(request.header("webhook-signature").unwrap().starts_with("v1,"));
        assert!(request.header("webhook-timestamp").unwrap().parse::<i64>().is_ok());

        if verifiers_available() {
            assert_eq!(verify_with_python(request, &secret, "x-rampart-signature"), (true, true));
            // Another secret verifies neither way.
            let wrong = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
            assert_eq!(verify_with_python(request, wrong, "x-rampart-signature"), (false, false));
        }

        // Rotation: during the overlap both secrets sign.
        let rotated = json_of(app.post(&format!("/api/v1/webhooks/{id}/rotate-secret")).json(&json!({"overlap_hours": 2})).send().await.unwrap(), StatusCode::OK).await;
        let new_secret = rotated["secret"].as_str().unwrap().to_string();
        assert_ne!(new_secret, secret);
        assert!(rotated["previous_secret_expires_at"].is_string(), "{rotated}");
        send_test(&app, &app.admin_key, id).await;
        let got = receiver.wait_for(2, 20).await;
        let request = &got[1];
        assert_eq!(request.header("webhook-signature").unwrap().split(' ').count(), 2);
        assert!(request.header("x-rampart-signature-previous").is_some());
        if verifiers_available() {
            assert_eq!(verify_with_python(request, &new_secret, "x-rampart-signature"), (true, true));
            assert_eq!(verify_with_python(request, &secret, "x-rampart-signature-previous"), (true, true));
        }
        // A supplied secret is used as given; a malformed one is refused naming `secret`.
        let supplied = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwABCDEFGH";
        let rotated = json_of(app.post(&format!("/api/v1/webhooks/{id}/rotate-secret")).json(&json!({"secret": supplied, "overlap_hours": 0})).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(rotated["secret"], supplied);
        assert!(rotated["previous_secret_expires_at"].is_null(), "{rotated}");
        let bad = json_of(app.post("/api/v1/webhooks").json(&json!({"url": url, "secret": "hunter2"})).send().await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(bad["error"]["message"].as_str().unwrap().contains("secret"), "{bad}");
    }

    #[configure(fast_webhooks)]
    async fn failures_retry_on_the_schedule_and_are_logged_and_redelivered(app) {
        let (receiver, url) = Receiver::start().await;
        receiver.fail_first(&[(500, "boom: not today"), (503, "still down")]);
        let created = create_endpoint(&app, &app.admin_key, json!({"url": url})).await;
        let id = created["id"].as_i64().unwrap();
        let queued = send_test(&app, &app.admin_key, id).await;
        let delivery_id = queued["delivery_id"].as_i64().unwrap();
        let done = wait_delivery(&app, &app.admin_key, id, delivery_id, 30, |d| d["status"] == "delivered").await;
        assert_eq!(done["attempts"], 3, "{done}");
        let log = done["attempt_log"].as_array().unwrap();
        let statuses: Vec<i64> = log.iter().map(|a| a["status_code"].as_i64().unwrap()).collect();
        assert_eq!(statuses, [500, 503, 200]);
        assert_eq!(log[0]["response"], "boom: not today");
        assert_eq!(log[2]["response"], "ok");
        assert!(log.iter().all(|a| a["duration_ms"].is_i64()));
        // The retries followed the schedule (300 ms, then 600 ms), as the receiver saw them.
        let got = receiver.all();
        assert_eq!(got.len(), 3);
        let gap1 = got[1].at - got[0].at;
        let gap2 = got[2].at - got[1].at;
        assert!(gap1 >= Duration::from_millis(280) && gap1 < Duration::from_millis(3000), "{gap1:?}");
        assert!(gap2 >= Duration::from_millis(580) && gap2 < Duration::from_millis(3000), "{gap2:?}");
        // One webhook-id across the retries: receivers dedupe by it.
        let ids: std::collections::BTreeSet<_> = got.iter().map(|r| r.header("webhook-id").unwrap().to_string()).collect();
        assert_eq!(ids.len(), 1);

        // Redeliver: one more attempt, logged.
        let again = json_of(app.post(&format!("/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver")).send().await.unwrap(), StatusCode::ACCEPTED).await;
        assert_eq!(again["status"], "pending", "{again}");
        receiver.wait_for(4, 20).await;
        let done = wait_delivery(&app, &app.admin_key, id, delivery_id, 20, |d| d["status"] == "delivered" && d["attempts"] == 4).await;
        assert_eq!(done["attempt_log"].as_array().unwrap().len(), 4);

        // The endpoint's delivery list.
        let list = json_of(app.get(&format!("/api/v1/webhooks/{id}/deliveries")).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(list["total"], 1);
        assert_eq!(list["items"][0]["event_type"], "webhook.test");

        // Exhausted retries end as failed, with the last error.
        *receiver.then.lock().unwrap() = Some(500);
        let queued = send_test(&app, &app.admin_key, id).await;
        let failed = wait_delivery(&app, &app.admin_key, id, queued["delivery_id"].as_i64().unwrap(), 30, |d| d["status"] == "failed").await;
        assert_eq!(failed["attempts"], 3, "{failed}");
        assert_eq!(failed["last_status_code"], 500);
    }

    #[configure(|c| c.webhooks.deliver = false)]
    async fn finding_events_no_endpoint_admits_are_born_dispatched(app) {
        crate::events::load_lodash_advisory(&app).await;
        let (session, _) = app.user_on_plan("born@example.com", "pro").await;
        // Another team's endpoint for every type, and this team's for another type only.
        create_endpoint(&app, &app.admin_key, json!({"url": "https://93.184.215.14/all"})).await;
        create_endpoint(&app, &session, json!({"url": "https://93.184.215.14/vex", "event_types": ["vex.published"]})).await;
        let all = "SELECT COUNT(*) FROM events WHERE type = 'finding.new'";
        let undispatched = "SELECT COUNT(*) FROM events WHERE type = 'finding.new' AND NOT dispatched";
        crate::events::analysed_sbom(&app, &session, "unwatched").await;
        assert_eq!(count_sql(&app, all).await, 1);
        assert_eq!(count_sql(&app, undispatched).await, 0, "nothing to fan out");

        create_endpoint(&app, &session, json!({"url": "https://93.184.215.14/new", "event_types": ["finding.new"]})).await;
        crate::events::analysed_sbom(&app, &session, "watched").await;
        assert_eq!(count_sql(&app, all).await, 2);
        assert_eq!(count_sql(&app, undispatched).await, 1, "the new endpoint wants it");
    }

    #[configure(fast_webhooks)]
    async fn events_fan_out_by_type_and_test_mode_events_are_never_delivered(app) {
        crate::events::load_lodash_advisory(&app).await;
        let (session, _) = app.user_on_plan("hooks@example.com", "pro").await;
        let (findings, findings_url) = Receiver::start().await;
        let (vex, vex_url) = Receiver::start().await;
        create_endpoint(&app, &session, json!({"url": findings_url, "event_types": ["finding.new"]})).await;
        create_endpoint(&app, &session, json!({"url": vex_url, "events": ["vex.published"]})).await;
        let (_, sbom) = crate::events::analysed_sbom(&app, &session, "hooked").await;
        let got = findings.wait_for(1, 20).await;
        let body = got[0].json();
        assert_eq!(body["type"], "finding.new");
        assert_eq!(body["data"]["sbom_id"], sbom);
        assert_eq!(body["data"]["vulnerability_id"], "GHSA-evts-0001");

        // A test key's activity: recorded as test-mode events, never delivered.
        let created = json_of(app.with_token(Method::POST, "/api/v1/api-keys", &session)
            .json(&json!({"name": "sandbox", "test_mode": true})).send().await.unwrap(), StatusCode::CREATED).await;
        let test_key = created["api_key"].as_str().unwrap().to_string();
        crate::events::analysed_sbom(&app, &test_key, "sandboxed").await;
        let test_events = json_of(app.with_token(Method::GET, "/api/v1/events", &test_key).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(test_events["items"][0]["test_mode"], true, "{test_events}");
        // A test key's endpoint and test event: recorded, no delivery.
        let (sandbox, sandbox_url) = Receiver::start().await;
        let test_endpoint = create_endpoint(&app, &test_key, json!({"url": sandbox_url})).await;
        assert_eq!(test_endpoint["test_mode"], true);
        let queued = send_test(&app, &test_key, test_endpoint["id"].as_i64().unwrap()).await;
        assert!(queued["delivery_id"].is_null(), "{queued}");
        assert_eq!(queued["test_mode"], true);
        // Live endpoints are invisible to the test key and the other way round.
        let listed = json_of(app.with_token(Method::GET, "/api/v1/webhooks", &test_key).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(listed["total"], 1);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(findings.count(), 1, "only the live finding was delivered");
        assert_eq!(sandbox.count(), 0);
        assert_eq!(vex.count(), 0);
    }

    #[configure(fast_webhooks)]
    async fn gone_disables_the_endpoint_and_tells_the_team(app) {
        let (receiver, url) = Receiver::start().await;
        receiver.fail_first(&[(410, "gone for good")]);
        let (_, other_url) = Receiver::start().await;
        let created = create_endpoint(&app, &app.admin_key, json!({"url": url})).await;
        let id = created["id"].as_i64().unwrap();
        create_endpoint(&app, &app.admin_key, json!({"url": other_url, "event_types": ["webhook.disabled"]})).await;
        let queued = send_test(&app, &app.admin_key, id).await;
        let delivery_id = queued["delivery_id"].as_i64().unwrap();
        let failed = wait_delivery(&app, &app.admin_key, id, delivery_id, 20, |d| d["status"] == "failed").await;
        assert_eq!(failed["attempts"], 1, "no retry after 410: {failed}");
        let endpoint = json_of(app.get(&format!("/api/v1/webhooks/{id}")).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(endpoint["enabled"], false);
        assert!(endpoint["disabled_reason"].as_str().unwrap().contains("410"), "{endpoint}");
        let events = json_of(app.get("/api/v1/events?type=webhook.disabled").send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(events["items"][0]["data"]["endpoint_id"], id, "{events}");
        // Disabled: no test, no redelivery; re-enabling works.
        let refused = app.post(&format!("/api/v1/webhooks/{id}/test")).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::CONFLICT);
        let refused = app.post(&format!("/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver")).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::CONFLICT);
        let enabled = json_of(app.request(Method::PATCH, &format!("/api/v1/webhooks/{id}")).json(&json!({"enabled": true})).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(enabled["enabled"], true);
        assert!(enabled["disabled_reason"].is_null());
        send_test(&app, &app.admin_key, id).await;
        receiver.wait_for(2, 20).await;
    }

    #[configure(disable_quickly)]
    async fn an_endpoint_failing_too_long_is_disabled(app) {
        let (receiver, url) = Receiver::start().await;
        *receiver.then.lock().unwrap() = Some(500);
        let created = create_endpoint(&app, &app.admin_key, json!({"url": url})).await;
        let id = created["id"].as_i64().unwrap();
        send_test(&app, &app.admin_key, id).await;
        let mut endpoint = Value::Null;
        for _ in 0..200 {
            endpoint = json_of(app.get(&format!("/api/v1/webhooks/{id}")).send().await.unwrap(), StatusCode::OK).await;
            if endpoint["enabled"] == false {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(endpoint["enabled"], false, "{endpoint}");
        assert!(endpoint["disabled_reason"].as_str().unwrap().contains("failed since"), "{endpoint}");
        assert_eq!(receiver.count(), 2);
    }

    #[configure(public_only)]
    async fn urls_pass_the_outbound_guard_and_fields_are_checked(app) {
        for (url, why) in [
            ("http://93.184.215.14/hook", "https"),
            ("https://127.0.0.1/hook", "outbound guard"),
            ("https://169.254.169.254/latest", "outbound guard"),
            ("ftp://example.com/x", "ftp"),
            ("not a url", "not a URL"),
            ("https://user:pw@93.184.215.14/", "credentials"),
        ] {
            let refused = json_of(app.post("/api/v1/webhooks").json(&json!({"url": url})).send().await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
            let message = refused["error"]["message"].as_str().unwrap();
            assert!(message.contains("url") && message.contains(why), "{url}: {refused}");
        }
        let refused = json_of(app.post("/api/v1/webhooks").json(&json!({"url": "https://93.184.215.14/h", "event_types": ["finding.old"]})).send().await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(refused["error"]["message"].as_str().unwrap().contains("event_types"), "{refused}");
        // An https URL to a public address is fine (nothing is sent until an event comes).
        let created = create_endpoint(&app, &app.admin_key, json!({"url": "https://93.184.215.14/h", "event_types": ["finding.new", "incident.created"]})).await;
        assert_eq!(created["event_types"], json!(["finding.new", "incident.created"]));
        // Seed 002's base path serves the same resource.
        let seed = json_of(app.get(&format!("/v1/webhooks/{}", created["id"])).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(seed["url"], created["url"]);
        let listed = json_of(app.get("/v1/webhooks").send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(listed["total"], 1);
        let deleted = app.request(Method::DELETE, &format!("/v1/webhooks/{}", created["id"])).send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.get(&format!("/api/v1/webhooks/{}", created["id"])).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    }
}
