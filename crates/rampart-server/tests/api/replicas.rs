//! Two servers on one PostgreSQL database share the rate-limit count: the limit is per
//! key, not per replica.

use rampart_server::{App, ServerConfig};
use rampart_store::DatabaseLocation;
use reqwest::StatusCode;

async fn serve(config: ServerConfig) -> (String, Option<String>, tokio::sync::oneshot::Sender<()>) {
    let mut app = App::build(config).await.expect("app starts");
    let key = app
        .bootstrap
        .take()
        .map(|b| b.admin_key.reveal().to_string());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.serve(listener, async {
        let _ = stopped.await;
    }));
    (url, key, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_the_rate_limit_on_postgres() {
    let Some(database) = rampart_test_support::fresh_postgres_database(true).await else {
        return;
    };
    let mut config = ServerConfig::new(DatabaseLocation::Postgres(database.url().to_string()));
    config.plans.enterprise.rate_limit_per_minute = 10;
    // Replicas on PostgreSQL share one secret key.
    config.secret_key = Some(rampart_engine::sync::SecretKey::generate());
    let (first, key, _stop_first) = serve(config.clone()).await;
    let (second, none, _stop_second) = serve(config).await;
    assert!(
        none.is_none(),
        "the second replica does not bootstrap again"
    );
    let key = key.unwrap();
    let client = reqwest::Client::new();
    for i in 0..10 {
        let url = if i % 2 == 0 { &first } else { &second };
        let response = client
            .get(format!("{url}/api/v1/me"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "request {i}");
    }
    for url in [&first, &second] {
        let response = client
            .get(format!("{url}/api/v1/me"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "{url}");
        assert!(response.headers().contains_key("retry-after"));
    }
}

/// Two replicas on one PostgreSQL database deliver webhook events: each event exactly once
/// (deliveries are claimed with `FOR UPDATE SKIP LOCKED` under a lease).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_deliver_each_webhook_event_once_on_postgres() {
    let Some(database) = rampart_test_support::fresh_postgres_database(true).await else {
        return;
    };
    let location = DatabaseLocation::Postgres(database.url().to_string());
    let mut config = ServerConfig::new(location.clone());
    config.secret_key = Some(rampart_engine::sync::SecretKey::generate());
    crate::webhooks::fast_webhooks(&mut config);
    // Small claims, so both replicas take part.
    config.webhooks.batch_size = 10;
    let (first, key, _stop_first) = serve(config.clone()).await;
    let (_second, _, _stop_second) = serve(config).await;
    let key = key.unwrap();
    let (receiver, hook) = crate::webhooks::Receiver::start().await;
    *receiver.delay.lock().unwrap() = std::time::Duration::from_millis(2);
    let client = reqwest::Client::new();
    let created = client
        .post(format!("{first}/api/v1/webhooks"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"url": hook}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let me: serde_json::Value = client
        .get(format!("{first}/api/v1/me"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let team = me["team"]["id"].as_i64().unwrap();
    let store = rampart_store::Store::connect(&location).await.unwrap();
    const EVENTS: usize = 400;
    for batch in 0..(EVENTS / 50) {
        let events: Vec<rampart_store::NewEvent> = (0..50)
            .map(|i| {
                rampart_store::NewEvent::team(
                    rampart_store::Tenant::live(team),
                    rampart_core::EventType::FindingNew,
                    serde_json::json!({"n": batch * 50 + i}),
                )
            })
            .collect();
        store.record_events(&events).await.unwrap();
    }
    receiver.wait_for(EVENTS, 120).await;
    // Nothing more arrives: no event went out twice.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let ids: Vec<String> = receiver
        .all()
        .iter()
        .map(|r| r.header("webhook-id").unwrap().to_string())
        .collect();
    let distinct: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), EVENTS, "every event delivered exactly once");
    assert_eq!(distinct.len(), EVENTS);
    let attempts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_delivery_attempts")
        .fetch_one(&sqlx::PgPool::connect(database.url()).await.unwrap())
        .await
        .unwrap();
    assert_eq!(attempts, EVENTS as i64, "one attempt each");
    store.close().await;
}
