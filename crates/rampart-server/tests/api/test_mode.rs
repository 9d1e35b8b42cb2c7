//! Test keys (seed 002, DESIGN §4) over real HTTP on both backends: products, releases and
//! SBOMs created with an `rk_test_` key are test data (`test_mode: true`), kept apart from
//! live data in both directions, and a test key cannot start a real sync run.

use rampart_test_support::{backend_tests, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn json_of(response: reqwest::Response, status: StatusCode) -> Value {
    let actual = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(actual, status, "{body}");
    body
}

async fn error_code(response: reqwest::Response, status: StatusCode) -> String {
    let body = json_of(response, status).await;
    body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A session's new key (`test_mode` picks `rk_test_`).
async fn key(app: &TestApp, session: &str, name: &str, test_mode: bool) -> String {
    let response = app
        .with_token(Method::POST, "/api/v1/api-keys", session)
        .json(&json!({"name": name, "test_mode": test_mode}))
        .send()
        .await
        .unwrap();
    let created = json_of(response, StatusCode::CREATED).await;
    created["api_key"].as_str().unwrap().to_string()
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let response = app
        .with_token(Method::POST, path, token)
        .json(&body)
        .send()
        .await
        .unwrap();
    json_of(response, StatusCode::CREATED).await
}

async fn get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.with_token(Method::GET, path, token)
        .send()
        .await
        .unwrap()
}

/// Product → release → SBOM made with `token`: (product id, release id, SBOM id).
async fn product_tree(app: &TestApp, token: &str, name: &str) -> (Value, Value, Value) {
    let product = post(app, token, "/api/v1/products", json!({"name": name})).await;
    let release = post(
        app,
        token,
        &format!("/api/v1/products/{}/releases", product["id"]),
        json!({"version": "1.0.0"}),
    )
    .await;
    let response = app
        .with_token(
            Method::POST,
            &format!("/api/v1/releases/{}/sboms", release["id"]),
            token,
        )
        .header("content-type", "application/vnd.cyclonedx+json")
        .body(
            r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
                "components": [{"type": "library", "name": "lodash", "version": "4.17.20",
                                "purl": "pkg:npm/lodash@4.17.20"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let upload = json_of(response, StatusCode::CREATED).await;
    (product, release, upload["sbom"].clone())
}

fn ids(list: &Value) -> Vec<i64> {
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a page: {list}"))
        .iter()
        .map(|item| item["id"].as_i64().unwrap())
        .collect()
}

backend_tests! {
    async fn test_key_data_is_marked_and_kept_apart_from_live_data(app) {
        let (session, _) = app.user_on_plan("tess@example.com", "pro").await;
        let live = key(&app, &session, "live", false).await;
        let test = key(&app, &session, "sandbox", true).await;
        assert!(test.starts_with("rk_test_"));

        let (live_product, live_release, live_sbom) = product_tree(&app, &live, "shop").await;
        let (test_product, test_release, test_sbom) = product_tree(&app, &test, "shop-sandbox").await;
        for body in [&test_product, &test_release, &test_sbom] {
            assert_eq!(body["test_mode"], true, "{body}");
        }
        for body in [&live_product, &live_release, &live_sbom] {
            assert!(body.get("test_mode").is_none(), "live data carries no flag: {body}");
        }

        // Lists: each kind of credential sees only its own partition (a session is live).
        for (token, product) in [(&live, &live_product), (&session, &live_product), (&test, &test_product)] {
            let list = json_of(get(&app, token, "/api/v1/products").await, StatusCode::OK).await;
            assert_eq!(ids(&list), [product["id"].as_i64().unwrap()], "{list}");
            assert_eq!(list["total"], 1);
            let seed = json_of(get(&app, token, "/api/products").await, StatusCode::OK).await;
            assert_eq!(ids(&seed), ids(&list));
        }
        let test_list = json_of(get(&app, &test, "/api/v1/products").await, StatusCode::OK).await;
        assert_eq!(test_list["items"][0]["test_mode"], true);
        let releases = json_of(get(&app, &test, &format!("/api/v1/products/{}/releases", test_product["id"])).await, StatusCode::OK).await;
        assert_eq!(ids(&releases), [test_release["id"].as_i64().unwrap()]);
        assert_eq!(releases["items"][0]["test_mode"], true);
        let sboms = json_of(get(&app, &test, &format!("/api/v1/releases/{}/sboms", test_release["id"])).await, StatusCode::OK).await;
        assert_eq!(ids(&sboms), [test_sbom["id"].as_i64().unwrap()]);

        // Gets across the partition are 404, both ways, on every route of the three resources.
        let crossings = [
            (&test, &live_product, &live_release, &live_sbom),
            (&live, &test_product, &test_release, &test_sbom),
        ];
        for (token, product, release, sbom) in crossings {
            let (p, r, s) = (&product["id"], &release["id"], &sbom["id"]);
            for path in [
                format!("/api/v1/products/{p}"),
                format!("/api/products/{p}"),
                format!("/api/v1/products/{p}/releases"),
                format!("/api/products/{p}/releases"),
                format!("/api/v1/releases/{r}"),
                format!("/api/v1/releases/{r}/sboms"),
                format!("/api/v1/sboms/{s}"),
                format!("/api/v1/sboms/{s}/download"),
                format!("/api/v1/sboms/{s}/components"),
            ] {
                assert_eq!(error_code(get(&app, token, &path).await, StatusCode::NOT_FOUND).await, "not_found", "{path}");
            }
            let write = app.with_token(Method::PATCH, &format!("/api/v1/products/{p}"), token)
                .json(&json!({"description": "changed"})).send().await.unwrap();
            assert_eq!(error_code(write, StatusCode::NOT_FOUND).await, "not_found");
            let release_write = app.with_token(Method::POST, &format!("/api/v1/products/{p}/releases"), token)
                .json(&json!({"version": "2.0.0"})).send().await.unwrap();
            assert_eq!(error_code(release_write, StatusCode::NOT_FOUND).await, "not_found");
            let upload = app.with_token(Method::POST, &format!("/api/v1/releases/{r}/sboms"), token)
                .header("content-type", "application/vnd.cyclonedx+json")
                .body(r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": []}"#)
                .send().await.unwrap();
            assert_eq!(error_code(upload, StatusCode::NOT_FOUND).await, "not_found");
            for path in [format!("/api/v1/sboms/{s}"), format!("/api/v1/releases/{r}"), format!("/api/v1/products/{p}")] {
                let delete = app.with_token(Method::DELETE, &path, token).send().await.unwrap();
                assert_eq!(error_code(delete, StatusCode::NOT_FOUND).await, "not_found", "{path}");
            }
        }
        // Nothing was changed or deleted by the crossings.
        let product = json_of(get(&app, &live, &format!("/api/v1/products/{}", live_product["id"])).await, StatusCode::OK).await;
        assert!(product["description"].is_null());
        let sbom = json_of(get(&app, &test, &format!("/api/v1/sboms/{}", test_sbom["id"])).await, StatusCode::OK).await;
        assert_eq!(sbom["test_mode"], true);
        assert_eq!(get(&app, &test, &format!("/api/v1/sboms/{}/components", test_sbom["id"])).await.status(), StatusCode::OK);

        // A test key can clean up its own data.
        let deleted = app.with_token(Method::DELETE, &format!("/api/v1/products/{}", test_product["id"]), &test).send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        let list = json_of(get(&app, &test, "/api/v1/products").await, StatusCode::OK).await;
        assert_eq!(list["total"], 0);
        let list = json_of(get(&app, &live, "/api/v1/products").await, StatusCode::OK).await;
        assert_eq!(list["total"], 1, "live data untouched");
    }

    #[configure(|c| c.admin_email = "ops@example.com".into())]
    async fn a_test_key_cannot_start_a_sync_run(app) {
        // The operators' team: its owner logs in and makes a live and a test key.
        let login = app.login("ops@example.com").await;
        let session = login["token"].as_str().unwrap();
        let live = key(&app, session, "ops-live", false).await;
        let test = key(&app, session, "ops-sandbox", true).await;
        let path = "/api/v1/security/cve/sync-sources/no-such-source/run";
        let refused = app.with_token(Method::POST, path, &test).send().await.unwrap();
        let body = json_of(refused, StatusCode::FORBIDDEN).await;
        assert_eq!(body["error"]["code"], "test_mode_forbidden", "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("sync run"), "{body}");
        // The same request with a live key of the same user passes the check (no such source).
        let live_run = app.with_token(Method::POST, path, &live).send().await.unwrap();
        assert_eq!(error_code(live_run, StatusCode::NOT_FOUND).await, "not_found");
    }
}
