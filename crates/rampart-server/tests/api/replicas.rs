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
