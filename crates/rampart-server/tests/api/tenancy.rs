//! Tenancy and the route table, driven by the served OpenAPI document so every new route
//! is covered without editing this file: team B walks every operation with team A's ids
//! and never sees team A's data; every non-public operation answers 401 without
//! credentials and 403 (naming the scope) to a key that lacks its scope.

use rampart_test_support::{backend_tests, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Operations that need no credentials.
const PUBLIC: &[&str] = &[
    "/healthz",
    "/readyz",
    "/api/v1/auth/otp",
    "/api/v1/auth/otp/verify",
];

/// Every (method, path template, required scopes) in the served document.
async fn operations(app: &TestApp) -> Vec<(Method, String, Vec<String>)> {
    let document: Value = app
        .anonymous(Method::GET, "/api/v1/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            let scopes = operation["security"]
                .as_array()
                .and_then(|s| s.first())
                .and_then(|s| s["bearer"].as_array())
                .map(|s| s.iter().map(|v| v.as_str().unwrap().to_string()).collect())
                .unwrap_or_default();
            operations.push((method, path.clone(), scopes));
        }
    }
    // Logging out ends the walker's session: last.
    operations.sort_by_key(|(_, path, _)| path == "/api/v1/auth/logout");
    operations
}

/// A well-formed body for the operations this crate knows, so the request reaches the
/// tenancy or scope check instead of failing validation.
fn body_for(method: &Method, path: &str, key_id: i64) -> Option<Value> {
    let known = match (method.as_str(), path) {
        ("POST", "/api/v1/api-keys") | ("POST", "/api/create-api-key") => json!({"name": "walk"}),
        ("POST", "/api/revoke-api-key") | ("POST", "/api/rotate-api-key") => {
            json!({"api_key_id": key_id})
        }
        ("POST", "/api/v1/teams") => json!({"name": "walk team"}),
        ("POST", "/api/v1/teams/{team_id}/members") => json!({"email": "walker@b.example"}),
        ("PUT", "/api/v1/teams/{team_id}/plan") => json!({"plan": "enterprise"}),
        (m, _) if m == "POST" || m == "PUT" || m == "PATCH" => return Some(json!({})),
        _ => return None,
    };
    Some(known)
}

fn knows_body(method: &Method, path: &str) -> bool {
    !matches!(method.as_str(), "POST" | "PUT" | "PATCH")
        || body_for(method, path, 0) != Some(json!({}))
}

/// The path with each `{param}` replaced by an id from `ids` (name → id); unknown names
/// get `fallback`.
fn substitute(path: &str, ids: &[(&str, i64)], fallback: i64) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').unwrap() + start;
        out.push_str(&rest[..start]);
        let name = &rest[start + 1..end];
        let id = ids
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(fallback, |(_, id)| *id);
        out.push_str(&id.to_string());
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

async fn send(
    app: &TestApp,
    method: &Method,
    path: &str,
    body: Option<Value>,
    token: &str,
) -> reqwest::Response {
    let mut request = app.with_token(method.clone(), path, token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

backend_tests! {
    async fn team_b_walks_every_route_with_team_a_ids_and_sees_nothing(app) {
        // Team A: owner session, a personal key, a service-account key, a second member.
        let (a_token, a_team) = app.user_on_plan("alpha-owner@a.example", "pro").await;
        let a_key: Value = app.with_token(Method::POST, "/api/v1/api-keys", &a_token)
            .json(&json!({"name": "alpha-secret-key-name"})).send().await.unwrap().json().await.unwrap();
        let a_key_id = a_key["id"].as_i64().unwrap();
        let a_secret = a_key["api_key"].as_str().unwrap().to_string();
        let a_ci: Value = app.with_token(Method::POST, "/api/v1/api-keys", &a_token)
            .json(&json!({"name": "alpha-ci", "service_account": true})).send().await.unwrap().json().await.unwrap();
        assert!(a_ci["id"].is_i64(), "{a_ci}");
        let member: Value = app.with_token(Method::POST, &format!("/api/v1/teams/{a_team}/members"), &a_token)
            .json(&json!({"email": "alpha-member@a.example"})).send().await.unwrap().json().await.unwrap();
        let a_member = member["user_id"].as_i64().unwrap();
        let a_markers = ["alpha-owner@a.example", "alpha-member@a.example", "alpha-secret-key-name", "api_alpha-ci", &a_secret[66..]];

        // Team B: an owner with a session and an all-scopes key.
        let (b_token, b_team) = app.user_on_plan("bravo@b.example", "pro").await;
        assert_ne!(a_team, b_team);
        let b_key: Value = app.with_token(Method::POST, "/api/v1/api-keys", &b_token)
            .json(&json!({"name": "bravo-key"})).send().await.unwrap().json().await.unwrap();
        let b_secret = b_key["api_key"].as_str().unwrap().to_string();

        let ids = [("id", a_key_id), ("team_id", a_team), ("user_id", a_member)];
        let mut walked = 0;
        for (method, template, _) in operations(&app).await {
            if PUBLIC.contains(&template.as_str()) {
                continue;
            }
            let path = substitute(&template, &ids, a_key_id);
            for token in [&b_secret, &b_token] {
                let response = send(&app, &method, &path, body_for(&method, &template, a_key_id), token).await;
                let status = response.status();
                let text = response.text().await.unwrap();
                for marker in a_markers {
                    assert!(!text.contains(marker), "{method} {path} leaked {marker:?}: {text}");
                }
                // Routes that name an object: by path parameter, or seed 003's `api_key_id` body.
                let targets_a = template.contains('{')
                    || template == "/api/revoke-api-key"
                    || template == "/api/rotate-api-key";
                if targets_a {
                    let allowed: &[StatusCode] = if knows_body(&method, &template) {
                        &[StatusCode::NOT_FOUND, StatusCode::FORBIDDEN]
                    } else {
                        &[StatusCode::NOT_FOUND, StatusCode::FORBIDDEN, StatusCode::BAD_REQUEST, StatusCode::UNPROCESSABLE_ENTITY]
                    };
                    assert!(allowed.contains(&status), "{method} {path} as team B: {status} {text}");
                } else {
                    assert!(!status.is_server_error(), "{method} {path}: {status} {text}");
                }
                walked += 1;
            }
        }
        assert!(walked >= 2 * 15, "walked only {walked} requests");

        // Team A is untouched.
        assert_eq!(app.with_token(Method::GET, "/api/v1/me", &a_secret).send().await.unwrap().status(), StatusCode::OK);
        let members: Value = app.with_token(Method::GET, &format!("/api/v1/teams/{a_team}/members"), &a_token).send().await.unwrap().json().await.unwrap();
        assert_eq!(members["total"], 2);
        let keys: Value = app.with_token(Method::GET, "/api/v1/api-keys", &a_token).send().await.unwrap().json().await.unwrap();
        assert_eq!(keys["total"], 2, "{keys}");
        let me: Value = app.with_token(Method::GET, "/api/v1/me", &a_token).send().await.unwrap().json().await.unwrap();
        assert_eq!(me["team"]["plan"], "pro");
    }

    async fn every_route_is_public_or_needs_credentials_and_its_scope(app) {
        let (token, team) = app.user_on_plan("scoped@c.example", "pro").await;
        let user_id = app.with_token(Method::GET, "/api/v1/me", &token).send().await.unwrap()
            .json::<Value>().await.unwrap()["user"]["id"].as_i64().unwrap();
        let key_with = |scope: &'static str| {
            let app = &app;
            let token = token.clone();
            async move {
                let created: Value = app.with_token(Method::POST, "/api/v1/api-keys", &token)
                    .json(&json!({"name": format!("only {scope}"), "scopes": [scope]}))
                    .send().await.unwrap().json().await.unwrap();
                created["api_key"].as_str().unwrap().to_string()
            }
        };
        let kb_only = key_with("kb:read").await;
        let products_only = key_with("products:read").await;
        let ids = [("team_id", team), ("user_id", user_id)];
        let mut checked_scopes = 0;
        for (method, template, scopes) in operations(&app).await {
            let path = substitute(&template, &ids, 1);
            let body = body_for(&method, &template, 1);
            let mut anonymous = app.anonymous(method.clone(), &path);
            if let Some(body) = &body {
                anonymous = anonymous.json(body);
            }
            let response = anonymous.send().await.unwrap();
            if PUBLIC.contains(&template.as_str()) {
                assert_ne!(response.status(), StatusCode::UNAUTHORIZED, "{method} {path} is public");
                continue;
            }
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{method} {path} without credentials");
            for scope in scopes {
                let key = if scope == "kb:read" { &products_only } else { &kb_only };
                let response = send(&app, &method, &path, body.clone(), key).await;
                assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method} {path} without {scope}");
                let error: Value = response.json().await.unwrap();
                assert_eq!(error["error"]["code"], "insufficient_scope", "{method} {path}: {error}");
                assert!(error["error"]["message"].as_str().unwrap().contains(&scope), "{error}");
                checked_scopes += 1;
            }
        }
        assert!(checked_scopes >= 5, "only {checked_scopes} scoped operations checked");
    }
}
