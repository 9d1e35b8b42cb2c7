//! The foundation's promises, over real HTTP on both backends: probes, authentication, the
//! error policy, request ids, the OpenAPI document and the docs page.

use rampart_server::axum::routing::{get, post};
use rampart_server::axum::Router;
use rampart_server::error::ApiJson;
use rampart_server::AppState;
use rampart_test_support::backend_tests;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Asserts the standard error body and returns it.
async fn error_body(response: reqwest::Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    assert!(response.headers().contains_key("x-request-id"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    assert_eq!(
        body["error"]["documentation_url"],
        format!("/docs/errors#{code}")
    );
    body
}

#[derive(serde::Deserialize)]
struct Named {
    name: String,
}

/// Routes mounted behind the real middleware to exercise the policy itself.
fn policy_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/test/echo",
            post(|ApiJson(body): ApiJson<Value>| async move { rampart_server::axum::Json(body) }),
        )
        .route(
            "/test/typed",
            post(|ApiJson(body): ApiJson<Named>| async move { body.name }),
        )
        .route(
            "/test/slow",
            get(|| async {
                tokio::time::sleep(std::time::Duration::from_millis(400)).await;
                "finished"
            }),
        )
        .route(
            "/test/panic",
            get(|| async {
                panic!("secret internal detail");
                #[allow(unreachable_code)]
                ""
            }),
        )
}

backend_tests! {
    async fn probes_need_no_credentials(app) {
        for path in ["/healthz", "/readyz"] {
            let response = app.anonymous(Method::GET, path).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert!(response.headers().contains_key("x-request-id"));
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["status"], "ok");
        }
    }

    async fn the_admin_key_authenticates_with_every_scope(app) {
        let response = app.get("/api/v1/me").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let me: Value = response.json().await.unwrap();
        assert_eq!(me["user"]["email"], "admin@localhost");
        assert_eq!(me["team"]["plan"], "enterprise");
        assert_eq!(me["team"]["role"], "owner");
        assert_eq!(me["credential"]["type"], "api_key");
        assert_eq!(me["credential"]["test_mode"], false);
        let scopes = me["credential"]["scopes"].as_array().unwrap();
        assert_eq!(scopes.len(), rampart_core::Scope::ALL.len());
        assert!(scopes.contains(&Value::from("audit:read")));
    }

    async fn missing_and_wrong_keys_are_refused(app) {
        let missing = app.anonymous(Method::GET, "/api/v1/me").send().await.unwrap();
        assert_eq!(missing.headers()["www-authenticate"], "Bearer");
        error_body(missing, StatusCode::UNAUTHORIZED, "missing_credentials").await;

        // Right shape, unknown key; wrong shape; wrong scheme.
        let unknown = format!("rk_live_{}", "0".repeat(64));
        let tampered = format!("{}x", &app.admin_key[..app.admin_key.len() - 1]);
        for token in [unknown.as_str(), "cvf_a1b2c3", tampered.as_str()] {
            let response = app
                .anonymous(Method::GET, "/api/v1/me")
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert!(response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer"));
            let body = error_body(response, StatusCode::UNAUTHORIZED, "invalid_api_key").await;
            assert!(!body.to_string().contains(token), "the key is not echoed back");
        }
        let basic = app
            .anonymous(Method::GET, "/api/v1/me")
            .header("authorization", format!("Basic {}", app.admin_key))
            .send()
            .await
            .unwrap();
        error_body(basic, StatusCode::UNAUTHORIZED, "missing_credentials").await;
    }

    async fn unknown_routes_and_methods_answer_json(app) {
        let unknown = app.get("/api/v1/no-such-thing").send().await.unwrap();
        error_body(unknown, StatusCode::NOT_FOUND, "not_found").await;
        let anonymous = app.anonymous(Method::GET, "/nothing/here").send().await.unwrap();
        error_body(anonymous, StatusCode::NOT_FOUND, "not_found").await;
        let wrong_method = app.request(Method::DELETE, "/healthz").send().await.unwrap();
        error_body(wrong_method, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    }

    async fn every_response_has_a_request_id_and_echoes_a_given_one(app) {
        let response = app
            .get("/api/v1/me")
            .header("x-request-id", "trace-me-123")
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["x-request-id"], "trace-me-123");
        let a = app.get("/healthz").send().await.unwrap();
        let b = app.get("/healthz").send().await.unwrap();
        assert_ne!(a.headers()["x-request-id"], b.headers()["x-request-id"]);
    }

    async fn openapi_document_is_3_1_and_matches_the_committed_file(app) {
        let served: Value = app
            .anonymous(Method::GET, "/api/v1/openapi.json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(served["openapi"].as_str().unwrap().starts_with("3.1"));
        assert!(served["paths"]["/api/v1/me"]["get"].is_object());
        let committed_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.json");
        let committed: Value = serde_json::from_str(
            &std::fs::read_to_string(committed_path).expect("openapi.json is committed"),
        )
        .unwrap();
        assert!(
            served == committed,
            "openapi.json is stale: regenerate it with `cargo run -p rampart-cli -- openapi > openapi.json`"
        );
    }

    async fn docs_page_is_served_from_the_binary(app) {
        for path in ["/docs", "/docs/errors"] {
            let response = app.anonymous(Method::GET, path).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
            let html = response.text().await.unwrap();
            assert!(html.contains("/api/v1/openapi.json"));
            // No CDN: nothing is loaded from another origin.
            assert!(!html.contains("src=\"http"), "external script");
            assert!(!html.contains("href=\"http"), "external stylesheet");
        }
    }
}

backend_tests! {
    #[configure(|c| c.max_body_bytes = 1024)]
    #[routes(policy_routes())]
    async fn malformed_json_names_line_and_column(app) {
        let response = app
            .post("/test/echo")
            .header("content-type", "application/json")
            .body("{\n  \"a\": 1,\n  \"b\": tru,\n  \"c\": 2\n}")
            .send()
            .await
            .unwrap();
        let body = error_body(response, StatusCode::BAD_REQUEST, "invalid_json").await;
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("line 3"), "{message}");
        assert!(message.contains("column"), "{message}");

        // Malformed is 400 even where the fields it began with are wrong for the route: a
        // truncated body, an unknown field cut short, trailing garbage, an empty body.
        for (path, text) in [
            ("/test/typed", "{\"broken\": "),
            ("/test/typed", "{\"name\": \"x\", \"other\": [1, "),
            ("/test/typed", "{\"name\": \"x\"} trailing"),
            ("/test/echo", ""),
        ] {
            let response = app
                .post(path)
                .header("content-type", "application/json")
                .body(text)
                .send()
                .await
                .unwrap();
            let body = error_body(response, StatusCode::BAD_REQUEST, "invalid_json").await;
            assert!(body["error"]["message"].as_str().unwrap().contains("line 1"), "{text:?}: {body}");
        }
        // The real routes use the same extractor.
        let response = app
            .post("/api/v1/products")
            .header("content-type", "application/json")
            .body("{\"broken\": ")
            .send()
            .await
            .unwrap();
        error_body(response, StatusCode::BAD_REQUEST, "invalid_json").await;
        let unknown_field = app
            .post("/api/v1/products")
            .json(&serde_json::json!({"broken": true}))
            .send()
            .await
            .unwrap();
        error_body(unknown_field, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;

        let not_json = app.post("/test/echo").body("{}").send().await.unwrap();
        error_body(not_json, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;

        let wrong_shape = app
            .post("/test/typed")
            .json(&serde_json::json!({"name": 5}))
            .send()
            .await
            .unwrap();
        let body = error_body(wrong_shape, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
        assert!(body["error"]["message"].as_str().unwrap().contains("name"), "{body}");

        let fine = app.post("/test/echo").json(&serde_json::json!({"ok": true})).send().await.unwrap();
        assert_eq!(fine.status(), StatusCode::OK);
    }

    #[configure(|c| c.max_body_bytes = 1024)]
    #[routes(policy_routes())]
    async fn oversize_bodies_get_413_json(app) {
        let big = serde_json::json!({ "padding": "x".repeat(4096) });
        let response = app.post("/test/echo").json(&big).send().await.unwrap();
        error_body(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    }

    #[routes(policy_routes())]
    async fn a_panic_is_a_bare_500_and_the_server_keeps_serving(app) {
        let response = app.get("/test/panic").send().await.unwrap();
        let body = error_body(response, StatusCode::INTERNAL_SERVER_ERROR, "internal_error").await;
        assert!(!body.to_string().contains("secret internal detail"));
        let after = app.get("/api/v1/me").send().await.unwrap();
        assert_eq!(after.status(), StatusCode::OK);
    }

    #[routes(policy_routes())]
    async fn shutdown_finishes_in_flight_requests(app) {
        let in_flight = tokio::spawn(app.get("/test/slow").send());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let url = app.url.clone();
        app.shutdown().await;
        let response = in_flight.await.unwrap().expect("the in-flight request completes");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.text().await.unwrap(), "finished");
        assert!(reqwest::get(format!("{url}/healthz")).await.is_err(), "no longer accepting");
    }
}
