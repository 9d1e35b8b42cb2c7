//! The request policy every route shares, over real HTTP on both backends: JSON bodies
//! (OSV routes whatever the content type), limits checked before the work they bound and
//! published in the OpenAPI schema, free-text names without control characters, one
//! pagination convention, seed 004's product and release paths, and rate limits (separate
//! per credential, probes never limited, `X-RateLimit-Reset` the window's real end).

use rampart_formats::advisory::parse_osv_json;
use rampart_store::Store;
use rampart_test_support::{backend_tests, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::products::{expect_error, json_of};

/// Moves the server's clock to one second into a rate-limit window, so that a test's
/// requests all fall in one window however long they take (up to 59 s).
fn start_of_a_window(app: &TestApp) {
    let now = app.config.clock.now();
    let into_window_ms = now.timestamp_millis().rem_euclid(60_000);
    app.config
        .clock
        .advance(chrono::Duration::milliseconds(61_000 - into_window_ms));
}

fn header(response: &reqwest::Response, name: &str) -> i64 {
    response.headers()[name].to_str().unwrap().parse().unwrap()
}

/// A new person on `pro` with a session and `keys` API keys (created with the session):
/// (session, keys).
async fn person_with_keys(app: &TestApp, email: &str, keys: usize) -> (String, Vec<String>) {
    let (session, _) = app.user_on_plan(email, "pro").await;
    let mut secrets = Vec::new();
    for index in 0..keys {
        let created = json_of(
            app.with_token(Method::POST, "/api/v1/api-keys", &session)
                .json(&json!({"name": format!("key {index}")}))
                .send()
                .await
                .unwrap(),
            StatusCode::CREATED,
        )
        .await;
        secrets.push(created["api_key"].as_str().unwrap().to_string());
    }
    (session, secrets)
}

const OSV_RECORD: &str = r#"{"id": "TEST-2024-0001", "modified": "2024-01-01T00:00:00Z",
  "affected": [{"package": {"ecosystem": "PyPI", "name": "demo"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}]}]}"#;

backend_tests! {
    async fn osv_routes_read_json_whatever_the_content_type(app) {
        let store = Store::connect(&app.config.database).await.unwrap();
        let records = parse_osv_json(OSV_RECORD.as_bytes()).unwrap().records;
        store.ingest_advisories("osv", &records).await.unwrap();
        store.close().await;
        app.wait_for_index().await;

        // osv.dev's documented example: `curl -d '{…}' …/v1/query` (form content type).
        let query = r#"{"version": "1.0", "package": {"name": "demo", "ecosystem": "PyPI"}}"#;
        let response = app
            .post("/v1/query")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(query)
            .send()
            .await
            .unwrap();
        let body = json_of(response, StatusCode::OK).await;
        assert_eq!(body["vulns"][0]["id"], "TEST-2024-0001", "{body}");
        let batch = format!(r#"{{"queries": [{query}]}}"#);
        for content_type in [None, Some("text/plain"), Some("application/json")] {
            let mut request = app.post("/v1/querybatch").body(batch.clone());
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            let body = json_of(request.send().await.unwrap(), StatusCode::OK).await;
            assert_eq!(body["results"][0]["vulns"][0]["id"], "TEST-2024-0001", "{content_type:?}");
        }
        // The rest of the JSON policy still holds there.
        let malformed = app
            .post("/v1/query")
            .header("content-type", "application/x-www-form-urlencoded")
            .body("version=1.0&package=demo")
            .send()
            .await
            .unwrap();
        expect_error(malformed, StatusCode::BAD_REQUEST, "invalid_json").await;
        // Our own routes still want a JSON content type.
        let product = app
            .post("/api/v1/products")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(r#"{"name": "form"}"#)
            .send()
            .await
            .unwrap();
        expect_error(product, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
    }

    async fn list_limits_come_before_the_work_they_bound(app) {
        // 100,000 tags: refused by the count, before any tag is compared with another.
        let tags: Vec<String> = (0..100_000).map(|i| format!("tag-{i}")).collect();
        let response = app
            .post("/api/v1/products")
            .json(&json!({"name": "many tags", "tags": tags}))
            .send()
            .await
            .unwrap();
        let message = expect_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(message, "`tags` holds at most 50 items");
        // 51 copies of one tag are refused by the limit too: the list as sent is counted,
        // before duplicates are dropped.
        let response = app
            .post("/api/v1/products")
            .json(&json!({"name": "same tag", "tags": vec!["web"; 51]}))
            .send()
            .await
            .unwrap();
        let message = expect_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(message, "`tags` holds at most 50 items");
        let product = json_of(
            app.post("/api/v1/products")
                .json(&json!({"name": "fifty", "tags": (0..50).map(|i| format!("t{}", i % 25)).collect::<Vec<_>>()}))
                .send()
                .await
                .unwrap(),
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(product["tags"].as_array().unwrap().len(), 25, "duplicates dropped");
        let patch = app
            .request(Method::PATCH, &format!("/api/v1/products/{}", product["id"]))
            .json(&json!({"tags": vec!["x"; 51]}))
            .send()
            .await
            .unwrap();
        expect_error(patch, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

        // Sync-source ecosystems, as a list and as seed 000's comma-separated string.
        let sources = "/api/v1/security/cve/sync-sources";
        let list: Vec<String> = (0..101).map(|i| format!("Eco{i}")).collect();
        let comma = vec!["PyPI"; 100_000].join(",");
        for ecosystems in [json!(list), json!(comma)] {
            let response = app
                .post(sources)
                .json(&json!({"config": {"type": "OSV", "ecosystems": ecosystems}}))
                .send()
                .await
                .unwrap();
            let message = expect_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(message, "config.ecosystems: holds at most 100 ecosystems");
        }
        let fine: Vec<String> = (0..100).map(|i| format!("Eco{i}")).collect();
        let response = app
            .post(sources)
            .json(&json!({"config": {"type": "OSV", "ecosystems": fine}}))
            .send()
            .await
            .unwrap();
        assert_eq!(json_of(response, StatusCode::OK).await["ecosystems"].as_array().unwrap().len(), 100);
    }

    async fn limits_are_part_of_the_openapi_schema(app) {
        let document: Value = app
            .anonymous(Method::GET, "/api/v1/openapi.json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let schemas = &document["components"]["schemas"];
        for schema in ["CreateProduct", "UpdateProduct"] {
            let fields = &schemas[schema]["properties"];
            assert_eq!(fields["tags"]["maxItems"], 50, "{schema}");
            assert_eq!(fields["tags"]["items"]["maxLength"], 64, "{schema}");
            assert_eq!(fields["tags"]["items"]["minLength"], 1, "{schema}");
            assert_eq!(fields["name"]["maxLength"], 200, "{schema}");
            assert_eq!(fields["description"]["maxLength"], 4000, "{schema}");
        }
        assert_eq!(schemas["CreateRelease"]["properties"]["version"]["maxLength"], 200);
        let sync = &schemas["SyncSourceConfigInput"]["properties"];
        // Optional: null, or a list of at most 100 or one comma-separated string (seed 000).
        let optional = sync["ecosystems"]["oneOf"].as_array().unwrap();
        assert_eq!(optional[0]["type"], "null", "{optional:?}");
        let reference = optional[1]["$ref"].as_str().unwrap();
        let ecosystems = &schemas[reference.rsplit('/').next().unwrap()]["oneOf"];
        assert_eq!(ecosystems[0]["maxItems"], 100, "{ecosystems}");
        assert_eq!(ecosystems[1]["type"], "string", "{ecosystems}");
        assert_eq!(sync["syncIntervalHours"]["minimum"], 1);
        assert_eq!(sync["syncIntervalHours"]["maximum"], 8784);
        assert_eq!(schemas["OsvBatchQuery"]["properties"]["queries"]["maxItems"], 1000);
        assert_eq!(schemas["CreateTeam"]["properties"]["name"]["maxLength"], 100);
        assert_eq!(schemas["CreateApiKey"]["properties"]["name"]["maxLength"], 100);
    }

    async fn names_refuse_control_characters_naming_the_field(app) {
        let refused = |response: reqwest::Response, field: &'static str| async move {
            let message = expect_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert!(message.starts_with(&format!("`{field}` must not contain control characters")), "{message}");
        };
        let post = |path: &str, body: Value| app.post(path).json(&body).send();
        refused(post("/api/v1/products", json!({"name": "bad\u{0}name"})).await.unwrap(), "name").await;
        refused(post("/api/products", json!({"name": "bell\u{7}"})).await.unwrap(), "name").await;
        refused(post("/api/v1/products", json!({"name": "ok", "tags": ["fine", "esc\u{1b}[31m"]})).await.unwrap(), "tags[1]").await;
        refused(post("/api/v1/products", json!({"name": "ok", "description": "nul\u{0}"})).await.unwrap(), "description").await;
        let product = json_of(
            post("/api/v1/products", json!({"name": "clean", "description": "two\nlines\tand a tab"})).await.unwrap(),
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(product["description"], "two\nlines\tand a tab");
        let id = product["id"].as_i64().unwrap();
        let patch = app
            .request(Method::PATCH, &format!("/api/v1/products/{id}"))
            .json(&json!({"name": "line\nbreak"}))
            .send()
            .await
            .unwrap();
        refused(patch, "name").await;
        refused(post(&format!("/api/v1/products/{id}/releases"), json!({"version": "1.\u{0}0"})).await.unwrap(), "version").await;

        let (session, _) = person_with_keys(&app, "names@example.test", 0).await;
        let as_session = |path: &str, body: Value| {
            app.with_token(Method::POST, path, &session).json(&body).send()
        };
        refused(as_session("/api/v1/teams", json!({"name": "team\u{0}"})).await.unwrap(), "name").await;
        refused(as_session("/api/v1/api-keys", json!({"name": "ci\u{85}x"})).await.unwrap(), "name").await;
        // Seed 003's envelope: 400 with the same message.
        let seed = as_session("/api/create-api-key", json!({"name": "ci\u{0}"})).await.unwrap();
        assert_eq!(seed.status(), StatusCode::BAD_REQUEST);
        let body: Value = seed.json().await.unwrap();
        assert_eq!(body["success"], false);
        assert!(body["error"].as_str().unwrap().contains("control characters"), "{body}");
        // Nothing was stored.
        let listed = json_of(app.get("/api/v1/products").send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(listed["total"], 1);
    }

    async fn finding_events_accept_per_page_like_every_list(app) {
        let page = json_of(app.get("/api/v1/finding-events?per_page=10").send().await.unwrap(), StatusCode::OK).await;
        assert!(page.as_array().is_some(), "{page}");
        let page = json_of(app.get("/api/v1/finding-events?after=0&per_page=500").send().await.unwrap(), StatusCode::OK).await;
        assert!(page.as_array().is_some(), "{page}");
        for query in ["per_page=0", "per_page=501", "limit=501", "per_page=10&limit=20"] {
            let response = app.get(&format!("/api/v1/finding-events?{query}")).send().await.unwrap();
            let message = expect_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
            assert!(message.contains("per_page"), "{query}: {message}");
        }
    }

    // Every `page`/`per_page` listing checks them alike: the limits are inclusive, `page` is
    // named before `per_page`, and each route answers with the words it always has.
    async fn every_paged_list_takes_the_same_page_limits(app) {
        const USUAL: [&str; 2] = ["`page` starts at 1", "`per_page` must be between 1 and 500"];
        let lists = [
            ("/api/v1/products?", USUAL),
            ("/api/v1/vulnerabilities?", USUAL),
            ("/api/v1/catalog/products?", USUAL),
            ("/api/product-cves?product_id=1&", USUAL),
            ("/api/v1/audit-log?", ["`page` starts at 1", "`per_page` must be 1 to 500"]),
            (
                "/api/v1/security/cve/sync-sources/none/runs?",
                ["page: must be 1 or more", "per_page: must be from 1 to 500"],
            ),
        ];
        for (list, [page_message, per_page_message]) in lists {
            for (query, expected) in [
                ("page=0", page_message),
                ("page=0&per_page=0", page_message),
                ("per_page=0", per_page_message),
                ("per_page=501", per_page_message),
            ] {
                let response = app.get(&format!("{list}{query}")).send().await.unwrap();
                let message = expect_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
                assert_eq!(message, expected, "{list}{query}");
            }
        }
        for list in ["/api/v1/products?", "/api/v1/vulnerabilities?", "/api/v1/catalog/products?", "/api/v1/audit-log?"] {
            let page = json_of(app.get(&format!("{list}page=3&per_page=500")).send().await.unwrap(), StatusCode::OK).await;
            assert_eq!((&page["page"], &page["per_page"]), (&json!(3), &json!(500)), "{list}");
            let page = json_of(app.get(&format!("{list}per_page=1")).send().await.unwrap(), StatusCode::OK).await;
            assert_eq!((&page["page"], &page["per_page"]), (&json!(1), &json!(1)), "{list}");
        }
    }

    async fn seed_004_paths_serve_products_and_releases_in_full(app) {
        let created = json_of(
            app.post("/api/products").json(&json!({"name": "Portal", "tags": ["web"]})).send().await.unwrap(),
            StatusCode::CREATED,
        )
        .await;
        let id = created["id"].as_i64().unwrap();
        let updated = json_of(
            app.request(Method::PATCH, &format!("/api/products/{id}"))
                .json(&json!({"name": "Portal 2", "description": "the new one"}))
                .send()
                .await
                .unwrap(),
            StatusCode::OK,
        )
        .await;
        assert_eq!(updated["name"], "Portal 2");
        let canonical = json_of(app.get(&format!("/api/v1/products/{id}")).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(updated, canonical, "same resource, same shape");
        assert_eq!(json_of(app.get(&format!("/api/products/{id}")).send().await.unwrap(), StatusCode::OK).await, canonical);

        let release = json_of(
            app.post(&format!("/api/products/{id}/releases")).json(&json!({"version": "1.0.0"})).send().await.unwrap(),
            StatusCode::CREATED,
        )
        .await;
        let release_id = release["id"].as_i64().unwrap();
        let changed = json_of(
            app.request(Method::PATCH, &format!("/api/releases/{release_id}"))
                .json(&json!({"status": "released", "release_date": "2024-05-01"}))
                .send()
                .await
                .unwrap(),
            StatusCode::OK,
        )
        .await;
        assert_eq!(changed["status"], "released");
        let canonical = json_of(app.get(&format!("/api/v1/releases/{release_id}")).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(json_of(app.get(&format!("/api/releases/{release_id}")).send().await.unwrap(), StatusCode::OK).await, canonical);
        assert_eq!(changed, canonical);

        // Scopes as on the canonical routes: a read-only key reads but cannot change.
        let (session, _) = person_with_keys(&app, "reader@example.test", 0).await;
        let reader = json_of(
            app.with_token(Method::POST, "/api/v1/api-keys", &session)
                .json(&json!({"name": "reader", "scopes": ["products:read", "releases:read"]}))
                .send()
                .await
                .unwrap(),
            StatusCode::CREATED,
        )
        .await;
        let reader = reader["api_key"].as_str().unwrap();
        let other_team_product = app.with_token(Method::GET, &format!("/api/products/{id}"), reader).send().await.unwrap();
        expect_error(other_team_product, StatusCode::NOT_FOUND, "not_found").await;
        let forbidden = app
            .with_token(Method::DELETE, &format!("/api/products/{id}"), reader)
            .send()
            .await
            .unwrap();
        expect_error(forbidden, StatusCode::FORBIDDEN, "insufficient_scope").await;

        let deleted = app.request(Method::DELETE, &format!("/api/releases/{release_id}")).send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        let gone = app.get(&format!("/api/releases/{release_id}")).send().await.unwrap();
        expect_error(gone, StatusCode::NOT_FOUND, "not_found").await;
        let deleted = app.request(Method::DELETE, &format!("/api/products/{id}")).send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        let gone = app.get(&format!("/api/v1/products/{id}")).send().await.unwrap();
        expect_error(gone, StatusCode::NOT_FOUND, "not_found").await;
    }

    #[configure(|c| c.anonymous_rate_limit_per_minute = 2)]
    async fn health_probes_are_never_rate_limited(app) {
        start_of_a_window(&app);
        for _ in 0..10 {
            for path in ["/healthz", "/readyz"] {
                let response = app.anonymous(Method::GET, path).send().await.unwrap();
                assert_eq!(response.status(), StatusCode::OK, "{path}");
                assert!(!response.headers().contains_key("x-ratelimit-limit"), "{path} is not counted");
            }
        }
        // The anonymous limit itself is in force, untouched by the probes...
        for _ in 0..2 {
            let response = app.anonymous(Method::GET, "/api/v1/openapi.json").send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
        }
        let limited = app.anonymous(Method::GET, "/api/v1/openapi.json").send().await.unwrap();
        expect_error(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
        // ...and probes still answer from the exhausted address.
        let probe = app.anonymous(Method::GET, "/healthz").send().await.unwrap();
        assert_eq!(probe.status(), StatusCode::OK);
    }

    #[configure(|c| c.plans.pro.rate_limit_per_minute = 5)]
    async fn rate_limits_of_keys_and_sessions_are_separate(app) {
        start_of_a_window(&app);
        let (session, keys) = person_with_keys(&app, "counted@example.test", 2).await;
        // The session made two requests (the key creations): it has three left.
        for expected in [4, 3, 2, 1, 0] {
            let response = app.with_token(Method::GET, "/api/v1/me", &keys[0]).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(header(&response, "x-ratelimit-remaining"), expected);
        }
        let limited = app.with_token(Method::GET, "/api/v1/me", &keys[0]).send().await.unwrap();
        expect_error(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
        // The same person's other key and session have their own counts.
        let other_key = app.with_token(Method::GET, "/api/v1/me", &keys[1]).send().await.unwrap();
        assert_eq!(other_key.status(), StatusCode::OK);
        assert_eq!(header(&other_key, "x-ratelimit-remaining"), 4);
        let by_session = app.with_token(Method::GET, "/api/v1/me", &session).send().await.unwrap();
        assert_eq!(by_session.status(), StatusCode::OK);
        assert_eq!(header(&by_session, "x-ratelimit-remaining"), 2);
        // And the admin's key (another team) is untouched.
        let admin = app.get("/api/v1/me").send().await.unwrap();
        assert_eq!(admin.status(), StatusCode::OK);
    }

    #[configure(|c| c.plans.enterprise.rate_limit_per_minute = 3)]
    async fn rate_limit_reset_is_the_end_of_the_window(app) {
        start_of_a_window(&app);
        let before = app.config.clock.now().timestamp();
        let first = app.get("/api/v1/me").send().await.unwrap();
        let reset = header(&first, "x-ratelimit-reset");
        assert_eq!(reset % 60, 0, "windows are whole minutes");
        assert!(before < reset && reset <= before + 60, "{before} {reset}");
        // Two seconds before the reset the window still counts...
        let to_end = reset * 1000 - app.config.clock.now().timestamp_millis();
        app.config.clock.advance(chrono::Duration::milliseconds(to_end - 2000));
        for expected in [1, 0] {
            let response = app.get("/api/v1/me").send().await.unwrap();
            assert_eq!(header(&response, "x-ratelimit-remaining"), expected);
            assert_eq!(header(&response, "x-ratelimit-reset"), reset);
        }
        let limited = app.get("/api/v1/me").send().await.unwrap();
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry_after = header(&limited, "retry-after");
        assert!((1..=2).contains(&retry_after), "Retry-After {retry_after} points at the reset");
        // ...and at the reset a new window begins, ending a minute later.
        app.config.clock.advance(chrono::Duration::milliseconds(2000));
        let response = app.get("/api/v1/me").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header(&response, "x-ratelimit-remaining"), 2);
        assert_eq!(header(&response, "x-ratelimit-reset"), reset + 60);
    }
}
