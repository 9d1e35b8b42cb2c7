//! `kill -9` of `rampart serve` between enqueue and delivery, on the real binary: events are
//! in the outbox (some fanned out, some leased to the dead process and in flight), none was
//! acknowledged; the restarted server delivers every one at least once, the receiver
//! deduplicating by `webhook-id`.
//!
//! The receiver is a local HTTP server (axum on 127.0.0.1:0) that holds every request until
//! the server is dead, so the kill lands with deliveries in flight without any timing
//! assumption; after the kill it answers 200.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rampart_core::EventType;
use rampart_server::axum::extract::State;
use rampart_server::axum::http::{HeaderMap, StatusCode};
use rampart_server::axum::routing::post;
use rampart_server::axum::Router;
use rampart_store::{DatabaseLocation, NewEvent, Store, Tenant};
use serde_json::{json, Value};

use crate::serve::ServerProcess;

const EVENTS: usize = 200;

/// A local webhook receiver that counts deliveries by `webhook-id` (shared with the
/// replica tests).
#[derive(Default)]
pub(crate) struct Receiver {
    /// Requests that arrived while held (never answered).
    held: Mutex<usize>,
    /// `webhook-id` → times acknowledged with 200.
    pub(crate) acknowledged: Mutex<BTreeMap<String, usize>>,
    /// While false, requests are held unanswered; once true they are acknowledged.
    pub(crate) open: tokio::sync::watch::Sender<bool>,
}

async fn receive(State(receiver): State<Arc<Receiver>>, headers: HeaderMap) -> StatusCode {
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if !*receiver.open.borrow() {
        *receiver.held.lock().unwrap() += 1;
        let mut open = receiver.open.subscribe();
        // Held until the sender is gone: the killed server never gets an answer.
        let _ = open.wait_for(|_| false).await;
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    *receiver.acknowledged.lock().unwrap().entry(id).or_default() += 1;
    StatusCode::OK
}

pub(crate) async fn start_receiver(receiver: Arc<Receiver>) -> String {
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(receiver);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        rampart_server::axum::serve(listener, app).await.unwrap();
    });
    url
}

pub(crate) async fn wait_for<T, F, Fut>(seconds: u64, what: &str, mut ready: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..seconds * 20 {
        if let Some(value) = ready().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("gave up waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_between_enqueue_and_delivery_then_every_event_is_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let data_arg = data_dir.to_str().unwrap().to_string();
    let args = [
        "--data-dir",
        data_arg.as_str(),
        "--allow-private-webhook-targets",
        "--webhook-lease-seconds",
        "2",
        "--webhook-retry-schedule",
        "1,1,1",
    ];
    let receiver = Arc::new(Receiver::default());
    let url = start_receiver(Arc::clone(&receiver)).await;

    let first = ServerProcess::start(&args, &[]);
    let key = first
        .printed_key()
        .expect("first start prints the admin key");
    let client = reqwest::Client::new();
    let created: Value = client
        .post(first.url("/api/v1/webhooks"))
        .bearer_auth(&key)
        .json(&json!({"url": url, "event_types": ["finding.new"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(created["id"].is_i64(), "{created}");
    let me: Value = client
        .get(first.url("/api/v1/me"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let team = me["team"]["id"].as_i64().unwrap_or_else(|| panic!("{me}"));

    // Enqueue: events recorded in the outbox, as a change's transaction records them.
    let store = Store::connect(&DatabaseLocation::SqliteDir(data_dir.clone()))
        .await
        .unwrap();
    let events: Vec<NewEvent> = (0..EVENTS)
        .map(|i| {
            NewEvent::team(
                Tenant::live(team),
                EventType::FindingNew,
                json!({"finding_id": i, "kill_test": true}),
            )
        })
        .collect();
    store.record_events(&events).await.unwrap();
    store.close().await;

    // Deliveries start and are held by the receiver: the kill lands while they are in flight.
    wait_for(60, "deliveries in flight", || async {
        (*receiver.held.lock().unwrap() > 0).then_some(())
    })
    .await;
    let (exit, _) = first.stop("KILL");
    assert_eq!(exit.signal(), Some(9), "killed, not exited: {exit:?}");
    assert!(
        receiver.acknowledged.lock().unwrap().is_empty(),
        "nothing was acknowledged before the kill"
    );
    receiver.open.send_replace(true);

    // The restarted server takes the dead leases over and fans out what was left.
    let second = ServerProcess::start(&args, &[]);
    let expected: BTreeSet<String> = {
        let pool = sqlx::SqlitePool::connect(&format!(
            "sqlite://{}",
            data_dir.join("rampart.db").display()
        ))
        .await
        .unwrap();
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM events WHERE type = 'finding.new'")
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        ids.into_iter().map(|id| format!("evt_{id}")).collect()
    };
    assert_eq!(expected.len(), EVENTS);
    wait_for(120, "every event acknowledged", || async {
        let acknowledged = receiver.acknowledged.lock().unwrap();
        let ids: BTreeSet<String> = acknowledged.keys().cloned().collect();
        (ids == expected).then_some(())
    })
    .await;
    // Every delivery row ends delivered.
    let deliveries: Value = wait_for(30, "every delivery marked delivered", || {
        let client = client.clone();
        let url = second.url(&format!(
            "/api/v1/webhooks/{}/deliveries?status=delivered&per_page=1",
            created["id"]
        ));
        let key = key.clone();
        async move {
            let page: Value = client
                .get(url)
                .bearer_auth(&key)
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            (page["total"] == EVENTS as i64).then_some(page)
        }
    })
    .await;
    assert_eq!(deliveries["total"], EVENTS as i64);
    let duplicates: usize = receiver
        .acknowledged
        .lock()
        .unwrap()
        .values()
        .map(|n| n - 1)
        .sum();
    eprintln!(
        "kill -9: {} held in flight at the kill, {EVENTS} events delivered after restart, {duplicates} acknowledged twice",
        receiver.held.lock().unwrap()
    );
    let (exit, _) = second.stop("TERM");
    assert!(exit.success());
}
