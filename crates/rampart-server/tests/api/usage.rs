//! API usage (issue 20): the request log (every request a row with the right fields, the
//! rollups equal to the raw log, retention, a full buffer that drops and never blocks), the
//! key list agreeing with the log, key rotation with a grace period, the subscription
//! lifecycle, and `/metrics` read by the real Prometheus text parser.

use std::time::{Duration, Instant};

use rampart_test_support::{backend_tests, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The request log is written every 50 ms in tests.
fn quick_log(config: &mut rampart_test_support::rampart_server::ServerConfig) {
    config.request_log.flush_interval = Duration::from_millis(50);
}

async fn json_of(response: reqwest::Response) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: {text}"))
}

/// A session of the admin user and a key it made with `scopes`: (session, key, key id).
async fn session_and_key(app: &TestApp, scopes: &[&str]) -> (String, String, i64) {
    let session = app.login("admin@localhost").await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let created = json_of(
        app.with_token(Method::POST, "/api/v1/api-keys", &session)
            .json(&json!({"name": "usage walker", "scopes": scopes}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let key = created["api_key"].as_str().expect("key").to_string();
    let id = created["id"].as_i64().expect("id");
    (session, key, id)
}

/// The log rows of `key_id` once there are `expected` of them (the writer is asynchronous).
async fn logged_rows(app: &TestApp, key_id: i64, expected: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page = json_of(
            app.get(&format!(
                "/api/v1/usage/requests?key_id={key_id}&per_page=500&since=2000-01-01"
            ))
            .send()
            .await
            .unwrap(),
        )
        .await;
        let rows = page["data"].as_array().unwrap().clone();
        if rows.len() == expected || Instant::now() > deadline {
            assert_eq!(rows.len(), expected, "{page}");
            assert_eq!(page["total"], expected as i64);
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The mixed requests every log test makes with `key`: (method, path, status, template).
async fn mixed_requests(
    app: &TestApp,
    key: &str,
) -> Vec<(Method, &'static str, u16, &'static str)> {
    let calls: Vec<(Method, &'static str, Option<Value>, u16, &'static str)> = vec![
        (
            Method::GET,
            "/api/v1/products",
            None,
            200,
            "/api/v1/products",
        ),
        (
            Method::GET,
            "/api/v1/products/999999",
            None,
            404,
            "/api/v1/products/{id}",
        ),
        (
            Method::POST,
            "/api/v1/products",
            Some(json!({"name": ""})),
            422,
            "/api/v1/products",
        ),
        (Method::GET, "/api/v1/no-such-route", None, 404, "unmatched"),
        (
            Method::GET,
            "/api/v1/audit-log",
            None,
            403,
            "/api/v1/audit-log",
        ),
        (Method::GET, "/api/v1/me", None, 200, "/api/v1/me"),
        (
            Method::GET,
            "/api/v1/products",
            None,
            200,
            "/api/v1/products",
        ),
    ];
    let mut made = Vec::new();
    for (index, (method, path, body, status, template)) in calls.into_iter().enumerate() {
        let mut request = app
            .with_token(method.clone(), path, key)
            .header("user-agent", "usage-test/1.0")
            .header("x-request-id", format!("usage-{index}"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{method} {path}");
        made.push((method, path, status, template));
    }
    made
}

backend_tests! {
    #[configure(quick_log)]
    async fn every_request_is_logged_with_its_fields(app) {
        let (session, key, key_id) = session_and_key(&app, &["products:read", "products:write"]).await;
        let made = mixed_requests(&app, &key).await;
        let rows = logged_rows(&app, key_id, made.len()).await;
        // Newest first.
        for (index, row) in rows.iter().rev().enumerate() {
            let (method, _, status, template) = &made[index];
            assert_eq!(row["method"], method.as_str(), "{row}");
            assert_eq!(row["status"], *status, "{row}");
            assert_eq!(row["endpoint"], *template, "{row}");
            assert_eq!(row["key_id"], key_id, "{row}");
            assert_eq!(row["key_name"], "usage walker", "{row}");
            assert_eq!(row["user"], "admin@localhost", "{row}");
            assert_eq!(row["user_agent"], "usage-test/1.0", "{row}");
            assert_eq!(row["request_id"], format!("usage-{index}"), "{row}");
            assert_eq!(row["client_ip"], "127.0.0.1", "{row}");
            assert!(row["latency_ms"].as_f64().unwrap() > 0.0, "{row}");
            assert!(row["response_bytes"].as_i64().unwrap() > 0, "{row}");
            assert!(row["time"].is_string(), "{row}");
        }
        // The POST's body size is logged too.
        assert!(rows.iter().any(|r| r["method"] == "POST" && r["request_bytes"].as_i64().unwrap() > 0));
        // The key list agrees with the log: count and last use (seed 003's list too).
        let keys = json_of(app.with_token(Method::GET, "/api/v1/api-keys", &session).send().await.unwrap()).await;
        let listed = keys["keys"].as_array().unwrap().iter().find(|k| k["id"] == key_id).unwrap().clone();
        assert_eq!(listed["requests_count"], made.len() as i64, "{listed}");
        let newest = chrono::DateTime::parse_from_rfc3339(rows[0]["time"].as_str().unwrap()).unwrap();
        let last_used = chrono::DateTime::parse_from_rfc3339(listed["last_used_at"].as_str().unwrap()).unwrap();
        assert_eq!(newest, last_used);
        let seed = json_of(app.with_token(Method::GET, "/api/list-api-keys", &session).send().await.unwrap()).await;
        let seed_key = seed["keys"].as_array().unwrap().iter().find(|k| k["id"] == key_id).unwrap().clone();
        assert_eq!(seed_key["requests_count"], made.len() as i64, "{seed_key}");
        let mut fields: Vec<&str> = seed_key.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort();
        assert_eq!(fields, ["created_at", "id", "last_used_at", "masked_key", "name", "requests_count"]);
        // Filters: status class, endpoint template, method; CSV and JSON exports.
        let errors = json_of(app.get(&format!("/api/v1/usage/requests?key_id={key_id}&status=4xx&since=2000-01-01")).send().await.unwrap()).await;
        assert_eq!(errors["total"], 4, "{errors}");
        let by_template = json_of(app.get(&format!("/api/v1/usage/requests?key_id={key_id}&endpoint=/api/v1/products/%7Bid%7D&since=2000-01-01")).send().await.unwrap()).await;
        assert_eq!(by_template["total"], 1, "{by_template}");
        let csv = app.get(&format!("/api/v1/usage/requests?key_id={key_id}&format=csv&since=2000-01-01")).send().await.unwrap();
        assert_eq!(csv.status(), StatusCode::OK);
        assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let csv = csv.text().await.unwrap();
        assert_eq!(csv.lines().count(), made.len() + 1, "{csv}");
        assert!(csv.lines().next().unwrap().starts_with("id,time,key_id,key_name"));
        let export = json_of(app.get(&format!("/api/v1/usage/requests?key_id={key_id}&format=json&since=2000-01-01")).send().await.unwrap()).await;
        assert_eq!(export.as_array().unwrap().len(), made.len());
        // Bad input names the field, never a 500.
        for (query, field) in [("status=abc", "`status`"), ("since=yesterday", "`since`"), ("group_by=team", "`group_by`"), ("method=G%20T", "`method`")] {
            let response = app.get(&format!("/api/v1/usage?{query}")).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{query}");
            let body = json_of(response).await;
            assert!(body["error"]["message"].as_str().unwrap().contains(field), "{body}");
        }
        let unknown = app.get("/api/v1/usage?colour=red").send().await.unwrap();
        assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
        let bad_format = app.get("/api/v1/usage/requests?format=xml").send().await.unwrap();
        assert_eq!(bad_format.status(), StatusCode::BAD_REQUEST);
        // Scope: a key without `audit:read` is refused.
        let refused = app.with_token(Method::GET, "/api/v1/usage", &key).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }

    #[configure(quick_log)]
    async fn the_rollups_equal_the_raw_log(app) {
        let (_, key, key_id) = session_and_key(&app, &["products:read", "products:write"]).await;
        let made = mixed_requests(&app, &key).await;
        let rows = logged_rows(&app, key_id, made.len()).await;
        let report = json_of(app.get(&format!("/api/v1/usage?key_id={key_id}&since=2000-01-01&group_by=status")).send().await.unwrap()).await;
        let totals = &report["totals"];
        assert_eq!(totals["requests"], rows.len() as i64, "{report}");
        let errors = rows.iter().filter(|r| r["status"].as_i64().unwrap() >= 400).count() as i64;
        assert_eq!(totals["errors"], errors, "{report}");
        assert_eq!(totals["client_errors"], errors, "{report}");
        assert!((totals["error_rate"].as_f64().unwrap() - errors as f64 / rows.len() as f64).abs() < 1e-9);
        let bytes: i64 = rows.iter().map(|r| r["response_bytes"].as_i64().unwrap()).sum();
        assert_eq!(totals["response_bytes"], bytes, "{report}");
        let latency = &totals["latency_ms"];
        let avg: f64 = rows.iter().map(|r| r["latency_ms"].as_f64().unwrap()).sum::<f64>() / rows.len() as f64;
        assert!((latency["avg"].as_f64().unwrap() - avg).abs() < 0.01, "{latency} vs {avg}");
        for quantile in ["p50", "p90", "p95", "p99"] {
            assert!(latency[quantile].as_f64().unwrap() > 0.0, "{latency}");
        }
        assert!(latency["p50"].as_f64() <= latency["p99"].as_f64());
        // Per status, per endpoint and per key: each group's count is the raw log's.
        for group in report["groups"].as_array().unwrap() {
            let status: i64 = group["group"].as_str().unwrap().parse().unwrap();
            let raw = rows.iter().filter(|r| r["status"] == status).count() as i64;
            assert_eq!(group["requests"], raw, "{group}");
        }
        let statuses: i64 = report["groups"].as_array().unwrap().iter().map(|g| g["requests"].as_i64().unwrap()).sum();
        assert_eq!(statuses, rows.len() as i64);
        let by_endpoint = json_of(app.get(&format!("/api/v1/usage?key_id={key_id}&since=2000-01-01&group_by=endpoint")).send().await.unwrap()).await;
        for group in by_endpoint["groups"].as_array().unwrap() {
            let (method, endpoint) = group["group"].as_str().unwrap().split_once(' ').unwrap();
            let raw = rows.iter().filter(|r| r["method"] == method && r["endpoint"] == endpoint).count() as i64;
            assert_eq!(group["requests"], raw, "{group}");
        }
        assert_eq!(by_endpoint["groups"][0]["group"], "GET /api/v1/products", "{by_endpoint}");
        assert_eq!(by_endpoint["groups"][0]["requests"], 2);
        let by_key = json_of(app.get("/api/v1/usage?since=2000-01-01&group_by=key").send().await.unwrap()).await;
        let key_group = key_id.to_string();
        let mine = by_key["groups"].as_array().unwrap().iter().find(|g| g["group"] == key_group.as_str()).unwrap();
        assert_eq!(mine["requests"], rows.len() as i64, "{by_key}");
        assert_eq!(mine["key_name"], "usage walker");
        let by_day = json_of(app.get(&format!("/api/v1/usage?key_id={key_id}&since=2000-01-01&group_by=day")).send().await.unwrap()).await;
        let days: i64 = by_day["groups"].as_array().unwrap().iter().map(|g| g["requests"].as_i64().unwrap()).sum();
        assert_eq!(days, rows.len() as i64, "{by_day}");
        let by_hour = json_of(app.get(&format!("/api/v1/usage?key_id={key_id}&since=2000-01-01&group_by=hour&status=404")).send().await.unwrap()).await;
        assert_eq!(by_hour["totals"]["requests"], 2, "{by_hour}");
        // Another team sees none of it.
        let (other, _) = app.user_on_plan("other@usage.example", "pro").await;
        let theirs = json_of(app.with_token(Method::GET, &format!("/api/v1/usage?key_id={key_id}&since=2000-01-01"), &other).send().await.unwrap()).await;
        assert_eq!(theirs["totals"]["requests"], 0, "{theirs}");
        let theirs = json_of(app.with_token(Method::GET, &format!("/api/v1/usage/requests?key_id={key_id}&since=2000-01-01"), &other).send().await.unwrap()).await;
        assert_eq!(theirs["total"], 0, "{theirs}");
    }

    #[configure(|config| {
        quick_log(config);
        config.request_log.prune_interval = Duration::from_millis(100);
    })]
    async fn requests_older_than_the_retention_are_pruned(app) {
        let (_, key, key_id) = session_and_key(&app, &["products:read", "products:write"]).await;
        let made = mixed_requests(&app, &key).await;
        logged_rows(&app, key_id, made.len()).await;
        // 89 days later they are kept; past 90 days (the default retention) they go.
        app.config.clock.advance(chrono::Duration::days(89));
        tokio::time::sleep(Duration::from_millis(400)).await;
        logged_rows(&app, key_id, made.len()).await;
        app.config.clock.advance(chrono::Duration::days(2));
        logged_rows(&app, key_id, 0).await;
        let report = json_of(app.get(&format!("/api/v1/usage?key_id={key_id}&since=2000-01-01")).send().await.unwrap()).await;
        assert_eq!(report["totals"]["requests"], 0, "{report}");
    }

    async fn pruning_reaches_every_team_and_anonymous_requests(app) {
        // The log keeps one index, (team_id, at): the prune walks the teams through it. Rows
        // of two teams and without credentials, 30 and 10 days old, written by the log's own
        // writer (on SQLite through SQLite's API, in statements of 64 rows and one for the
        // rest: every field must read back as written).
        let store = rampart_store::Store::connect(&app.config.database).await.unwrap();
        use chrono::SubsecRound;
        // Whole milliseconds: PostgreSQL keeps microseconds.
        let now = app.config.clock.now().trunc_subsecs(3);
        // 150 rows: two whole statements and the rest.
        const PER_GROUP: i64 = 25;
        let mut entries = Vec::new();
        for (days, team) in [(30, Some(7001)), (30, Some(7002)), (30, None), (10, Some(7001)), (10, Some(7002)), (10, None)] {
            for n in 0..PER_GROUP {
                entries.push(rampart_store::RequestLogEntry {
                    at: now - chrono::Duration::days(days) + chrono::Duration::milliseconds(n * 1_250),
                    team_id: team,
                    key_id: team.map(|t| t + 100),
                    user_id: team.map(|t| t + 200),
                    method: "POST".into(),
                    endpoint: "/v1/query".into(),
                    status: if n == 2 { 404 } else { 200 },
                    latency_us: 1_234 + n,
                    request_bytes: 70,
                    response_bytes: 7_800 + n,
                    client_ip: (n != 1).then(|| "203.0.113.7".to_string()),
                    user_agent: Some(format!("wrk/4.1 ✓ {n}")),
                    request_id: (n != 0).then(|| format!("req-{days}-{n}")),
                });
            }
        }
        store.write_request_log(&entries).await.unwrap();
        let listed = |team: i64| {
            let store = &store;
            async move {
                store
                    .list_request_log(team, &rampart_store::UsageFilter::default(), None, 100)
                    .await
                    .unwrap()
                    .0
            }
        };
        let mut rows = listed(7001).await;
        rows.reverse();
        let written: Vec<_> = entries.iter().filter(|e| e.team_id == Some(7001)).collect();
        assert_eq!(rows.len(), written.len());
        for (row, entry) in rows.iter().zip(&written) {
            assert_eq!(row.at, entry.at);
            assert_eq!((row.team_id, row.key_id, row.user_id), (entry.team_id, entry.key_id, entry.user_id));
            assert_eq!((row.method.as_str(), row.endpoint.as_str()), (&*entry.method, &*entry.endpoint));
            assert_eq!(row.status, i32::from(entry.status));
            assert_eq!((row.latency_us, row.request_bytes, row.response_bytes), (entry.latency_us, entry.request_bytes, entry.response_bytes));
            assert_eq!((&row.client_ip, &row.user_agent, &row.request_id), (&entry.client_ip, &entry.user_agent, &entry.request_id));
        }
        let (pruned, _) = store.prune_request_log(now - chrono::Duration::days(20)).await.unwrap();
        assert_eq!(pruned, 3 * PER_GROUP as u64, "the 30-day-old rows of both teams and the anonymous ones");
        assert_eq!(listed(7001).await.len(), PER_GROUP as usize);
        assert_eq!(listed(7002).await.len(), PER_GROUP as usize);
        // What is left, anonymous rows included, goes with a later cutoff (the test's own
        // requests, logged by the server, are newer still).
        let (pruned, _) = store.prune_request_log(now - chrono::Duration::days(5)).await.unwrap();
        assert_eq!(pruned, 3 * PER_GROUP as u64);
        store.close().await;
    }

    #[configure(|config| {
        config.request_log.buffer = 2;
        config.request_log.flush_interval = Duration::from_secs(3600);
    })]
    async fn a_full_buffer_drops_and_counts_but_never_blocks(app) {
        let started = Instant::now();
        for _ in 0..40 {
            let response = app.get("/api/v1/me").send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
        }
        assert!(started.elapsed() < Duration::from_secs(15), "requests waited for the log");
        let metrics = app.get("/metrics").send().await.unwrap();
        assert_eq!(metrics.status(), StatusCode::OK);
        let text = metrics.text().await.unwrap();
        let value = |name: &str| -> f64 {
            text.lines()
                .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} missing:\n{text}"))
        };
        assert_eq!(value("rampart_request_log_queued"), 2.0);
        assert!(value("rampart_request_log_dropped_total") >= 38.0, "{text}");
    }

    async fn subscription_status_refuses_and_restores_keys(app) {
        let (token, team_id) = app.user_on_plan("payer@usage.example", "pro").await;
        let created = json_of(app.with_token(Method::POST, "/api/v1/api-keys", &token)
            .json(&json!({"name": "ci", "scopes": ["products:read"]})).send().await.unwrap()).await;
        let key = created["api_key"].as_str().unwrap().to_string();
        let me = |key: String| {
            let app = &app;
            async move { app.with_token(Method::GET, "/api/v1/me", &key).send().await.unwrap() }
        };
        assert_eq!(me(key.clone()).await.status(), StatusCode::OK);
        let set = |body: Value| {
            let app = &app;
            async move {
                app.request(Method::PUT, &format!("/api/v1/teams/{team_id}/plan")).json(&body).send().await.unwrap()
            }
        };
        // Inactive: refused at once with seed 003's body; the team view says so.
        let view = json_of(set(json!({"status": "inactive"})).await).await;
        assert_eq!(view["plan"], "pro", "{view}");
        assert_eq!(view["plan_status"], "inactive", "{view}");
        let refused = me(key.clone()).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        let body = json_of(refused).await;
        assert_eq!(body["upgrade_required"], true, "{body}");
        assert_eq!(body["upgrade_url"], "/pricing", "{body}");
        assert_eq!(body["error"]["code"], "upgrade_required", "{body}");
        // No new key while inactive (seed 003's envelope on its own route).
        let seed = app.with_token(Method::POST, "/api/create-api-key", &token)
            .json(&json!({"name": "more"})).send().await.unwrap();
        assert_eq!(seed.status(), StatusCode::FORBIDDEN);
        let seed = json_of(seed).await;
        assert_eq!(seed["upgrade_required"], true, "{seed}");
        // The session still works (to see the team, to pay).
        let teams = json_of(app.with_token(Method::GET, "/api/v1/teams", &token).send().await.unwrap()).await;
        assert_eq!(teams["teams"][0]["plan_status"], "inactive", "{teams}");
        // Past due: keys keep working. Active again: they work.
        set(json!({"status": "past_due"})).await;
        assert_eq!(me(key.clone()).await.status(), StatusCode::OK);
        // A paid period that ended refuses keys even when active; clearing it restores them.
        let ended = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
        let view = json_of(set(json!({"status": "active", "current_period_end": ended})).await).await;
        assert_eq!(view["plan_status"], "active");
        assert_eq!(me(key.clone()).await.status(), StatusCode::FORBIDDEN);
        let view = json_of(set(json!({"current_period_end": null})).await).await;
        assert!(view["current_period_end"].is_null(), "{view}");
        assert_eq!(me(key.clone()).await.status(), StatusCode::OK);
        // Bad values name their field; nothing to change is refused.
        for (body, field) in [(json!({"status": "paused"}), "`status`"), (json!({"current_period_end": "soon"}), "`current_period_end`"), (json!({}), "`plan`"), (json!({"plan": "gold"}), "`plan`")] {
            let response = set(body.clone()).await;
            assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            let error = json_of(response).await;
            assert!(error["error"]["message"].as_str().unwrap().contains(field), "{error}");
        }
        // Audited with before/after, and a `team.plan_changed` event in the team's stream.
        let audit = json_of(app.get("/api/v1/audit-log?action=team.plan&per_page=100").send().await.unwrap()).await;
        let entries = audit["data"].as_array().unwrap();
        let team_target = team_id.to_string();
        let inactive = entries.iter().find(|e| e["details"]["status"] == "inactive" && e["target_id"] == team_target.as_str()).expect("audited");
        assert_eq!(inactive["details"]["previous"]["status"], "active", "{inactive}");
        let events = json_of(app.with_token(Method::GET, "/api/v1/events?type=team.plan_changed", &token).send().await.unwrap()).await;
        let statuses: Vec<&str> = events["items"].as_array().unwrap().iter().map(|e| e["data"]["status"].as_str().unwrap()).collect();
        assert!(statuses.starts_with(&["inactive", "past_due", "active"]), "{events}");
        assert_eq!(events["items"][0]["data"]["plan"], "pro", "{events}");
        // Only operators set it.
        let refused = app.with_token(Method::PUT, &format!("/api/v1/teams/{team_id}/plan"), &token)
            .json(&json!({"status": "active"})).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        // A period still running: keys work until it ends.
        let ends = (chrono::Utc::now() + chrono::Duration::days(30)).format("%Y-%m-%d").to_string();
        set(json!({"current_period_end": ends})).await;
        assert_eq!(me(key.clone()).await.status(), StatusCode::OK);
        app.config.clock.advance(chrono::Duration::days(32));
        assert_eq!(me(key.clone()).await.status(), StatusCode::FORBIDDEN);
    }

    async fn rotation_keeps_the_old_key_for_its_grace_period(app) {
        let session = app.login("admin@localhost").await["token"].as_str().unwrap().to_string();
        let create = |name: &'static str| {
            let app = &app;
            let session = session.clone();
            async move {
                json_of(app.with_token(Method::POST, "/api/v1/api-keys", &session)
                    .json(&json!({"name": name, "scopes": ["kb:read"]})).send().await.unwrap()).await
            }
        };
        let me = |key: String| {
            let app = &app;
            async move { app.with_token(Method::GET, "/api/v1/me", &key).send().await.unwrap().status() }
        };
        let old = create("graceful").await;
        let old_key = old["api_key"].as_str().unwrap().to_string();
        let old_id = old["id"].as_i64().unwrap();
        let rotated = app.with_token(Method::POST, &format!("/api/v1/api-keys/{old_id}/rotate"), &session)
            .json(&json!({"expire_old_in": "24h"})).send().await.unwrap();
        assert_eq!(rotated.status(), StatusCode::CREATED);
        let rotated = json_of(rotated).await;
        let new_key = rotated["api_key"].as_str().unwrap().to_string();
        assert_eq!(rotated["replaced_api_key_id"], old_id);
        // Both work during the grace period; the old one lists as active, ending then.
        assert_eq!(me(old_key.clone()).await, StatusCode::OK);
        assert_eq!(me(new_key.clone()).await, StatusCode::OK);
        let keys = json_of(app.with_token(Method::GET, "/api/v1/api-keys", &session).send().await.unwrap()).await;
        let listed = keys["keys"].as_array().unwrap().iter().find(|k| k["id"] == old_id).unwrap().clone();
        assert_eq!(listed["status"], "active", "{listed}");
        assert!(listed["revoked_at"].is_string(), "{listed}");
        // Rotating it again is refused (it was rotated already).
        let again = app.with_token(Method::POST, &format!("/api/v1/api-keys/{old_id}/rotate"), &session).send().await.unwrap();
        assert_eq!(again.status(), StatusCode::NOT_FOUND);
        // Past the grace period only the new key works.
        app.config.clock.advance(chrono::Duration::hours(25));
        let refused = app.with_token(Method::GET, "/api/v1/me", &old_key).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(json_of(refused).await["error"]["code"], "invalid_api_key");
        assert_eq!(me(new_key.clone()).await, StatusCode::OK);
        let session = app.login("admin@localhost").await["token"].as_str().unwrap().to_string();
        let revoked = json_of(app.with_token(Method::GET, "/api/v1/api-keys?status=revoked", &session).send().await.unwrap()).await;
        assert!(revoked["keys"].as_array().unwrap().iter().any(|k| k["id"] == old_id), "{revoked}");

        // Seed 003's route takes it too; the default stays immediate.
        let seed_old = create("seedy").await;
        let seed_old_key = seed_old["api_key"].as_str().unwrap().to_string();
        let seed_rotated = json_of(app.with_token(Method::POST, "/api/rotate-api-key", &session)
            .json(&json!({"api_key_id": seed_old["id"], "expire_old_in": "90m"})).send().await.unwrap()).await;
        assert_eq!(seed_rotated["success"], true, "{seed_rotated}");
        assert_eq!(me(seed_old_key.clone()).await, StatusCode::OK);
        // Revoking a key in its grace period ends it at once.
        let revoke = app.with_token(Method::POST, "/api/revoke-api-key", &session)
            .json(&json!({"api_key_id": seed_old["id"]})).send().await.unwrap();
        assert_eq!(revoke.status(), StatusCode::OK);
        assert_eq!(me(seed_old_key).await, StatusCode::UNAUTHORIZED);
        let new_seed_key = seed_rotated["api_key"].as_str().unwrap().to_string();
        assert_eq!(me(new_seed_key).await, StatusCode::OK);

        let immediate = create("at once").await;
        let immediate_key = immediate["api_key"].as_str().unwrap().to_string();
        let response = app.with_token(Method::POST, &format!("/api/v1/api-keys/{}/rotate", immediate["id"]), &session).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(me(immediate_key).await, StatusCode::UNAUTHORIZED);

        // Bad durations name the field: 422 on the canonical route, 400 on seed 003's.
        let fresh = create("bad grace").await;
        let bad = app.with_token(Method::POST, &format!("/api/v1/api-keys/{}/rotate", fresh["id"]), &session)
            .json(&json!({"expire_old_in": "soon"})).send().await.unwrap();
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(json_of(bad).await["error"]["message"].as_str().unwrap().contains("`expire_old_in`"));
        let bad = app.with_token(Method::POST, "/api/rotate-api-key", &session)
            .json(&json!({"api_key_id": fresh["id"], "expire_old_in": "400d"})).send().await.unwrap();
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        assert!(json_of(bad).await["error"].as_str().unwrap().contains("`expire_old_in`"));
        // The rotation's audit entry says when the old key stops.
        let audit = json_of(app.get(&format!("/api/v1/audit-log?action=api_key.rotate&target_id={old_id}")).send().await.unwrap()).await;
        assert!(audit["data"][0]["details"]["old_key_revoked_at"].is_string(), "{audit}");
    }

    async fn analytics_over_days_agree_with_the_raw_log_at_every_edge(app) {
        // Three and a half days of traffic written through the log's own writer, so the
        // daily, hourly, hourly-total and per-minute rollups all hold it; every window,
        // filter and grouping below must count exactly what the raw log holds.
        let store = rampart_store::Store::connect(&app.config.database).await.unwrap();
        use chrono::SubsecRound;
        // Traffic ends 5 minutes ago and the windows 2 minutes ago, before this test's own
        // requests (which the log records too).
        let now = app.config.clock.now() - chrono::Duration::minutes(5);
        let start = now - chrono::Duration::hours(84);
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let endpoints = ["/api/v1/products", "/api/v1/products/{id}", "/v1/query"];
        let entries: Vec<rampart_store::RequestLogEntry> = (0..4_000)
            .map(|_| {
                let at = start + chrono::Duration::milliseconds((next() % (84 * 3_600_000)) as i64);
                let status = [200, 200, 200, 404, 422, 500][(next() % 6) as usize];
                rampart_store::RequestLogEntry {
                    at,
                    team_id: Some(1),
                    key_id: Some(900 + (next() % 3) as i64),
                    user_id: Some(1),
                    method: if next() % 4 == 0 { "POST" } else { "GET" }.into(),
                    endpoint: endpoints[(next() % 3) as usize].into(),
                    status,
                    latency_us: 100 + (next() % 40_000) as i64,
                    request_bytes: 0,
                    response_bytes: (next() % 3_000) as i64,
                    client_ip: None,
                    user_agent: None,
                    request_id: None,
                }
            })
            .collect();
        for chunk in entries.chunks(700) {
            store.write_request_log(chunk).await.unwrap();
        }
        store.close().await;
        let minute = |at: chrono::DateTime<chrono::Utc>| at.timestamp() - at.timestamp().rem_euclid(60);
        let group_of = |entry: &rampart_store::RequestLogEntry, group_by: &str| -> String {
            let start_of = |seconds: i64| {
                let t = entry.at.timestamp();
                chrono::DateTime::from_timestamp(t - t.rem_euclid(seconds), 0).unwrap().to_rfc3339()
            };
            match group_by {
                "endpoint" => format!("{} {}", entry.method, entry.endpoint),
                "status" => entry.status.to_string(),
                "key" => entry.key_id.unwrap().to_string(),
                "day" => start_of(86_400),
                "hour" => start_of(3_600),
                _ => String::new(),
            }
        };
        // Windows with edges inside minutes, hours and days, across midnight, and the whole.
        let windows = [
            (start - chrono::Duration::minutes(1), now + chrono::Duration::minutes(3)),
            (start + chrono::Duration::seconds(7_261), now - chrono::Duration::seconds(3_977)),
            (start + chrono::Duration::seconds(86_399), start + chrono::Duration::seconds(2 * 86_400 + 61)),
            (start + chrono::Duration::seconds(1_830), start + chrono::Duration::seconds(2_190)),
        ];
        type Keeps = fn(&rampart_store::RequestLogEntry) -> bool;
        let filters: [(&str, Keeps); 3] = [
            ("", (|_| true)),
            ("&key_id=901", (|e| e.key_id == Some(901))),
            ("&status=4xx&endpoint=/v1/query", (|e| (400..500).contains(&e.status) && &*e.endpoint == "/v1/query")),
        ];
        for (since, until) in windows {
            let (since, until) = (since.trunc_subsecs(0), until.trunc_subsecs(0));
            for (filter, keeps) in &filters {
                let kept: Vec<_> = entries
                    .iter()
                    .filter(|e| minute(e.at) >= minute(since) && minute(e.at) < until.timestamp() && keeps(e))
                    .collect();
                for group_by in ["", "endpoint", "status", "key", "day", "hour"] {
                    let path = format!(
                        "/api/v1/usage?since={}&until={}{filter}&group_by={group_by}",
                        since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    ).replace("&group_by=&", "&").trim_end_matches("&group_by=").to_string();
                    let report = json_of(app.get(&path).send().await.unwrap()).await;
                    let totals = &report["totals"];
                    assert_eq!(totals["requests"], kept.len() as i64, "{path}: {totals}");
                    let errors = kept.iter().filter(|e| e.status >= 400).count() as i64;
                    let server = kept.iter().filter(|e| e.status >= 500).count() as i64;
                    let bytes: i64 = kept.iter().map(|e| e.response_bytes).sum();
                    assert_eq!(totals["errors"], errors, "{path}");
                    assert_eq!(totals["server_errors"], server, "{path}");
                    assert_eq!(totals["response_bytes"], bytes, "{path}");
                    if group_by.is_empty() {
                        continue;
                    }
                    let mut expected = std::collections::BTreeMap::<String, i64>::new();
                    for entry in &kept {
                        *expected.entry(group_of(entry, group_by)).or_default() += 1;
                    }
                    let got: std::collections::BTreeMap<String, i64> = report["groups"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|g| (g["group"].as_str().unwrap().to_string(), g["requests"].as_i64().unwrap()))
                        .collect();
                    assert_eq!(got, expected, "{path}");
                }
            }
        }
    }

    #[configure(quick_log)]
    async fn the_usage_page_shows_traffic_by_endpoint_key_and_status(app) {
        let (session, key, key_id) = session_and_key(&app, &["products:read", "products:write"]).await;
        let made = mixed_requests(&app, &key).await;
        logged_rows(&app, key_id, made.len()).await;
        let mut web = crate::dashboard::WebClient::with_session(&app, &session);
        let home = web.page("/").await;
        assert!(home.contains(r#"href="/usage""#), "the navigation links the usage page");
        let html = web.page("/usage?window=24h").await;
        crate::dashboard::assert_no_inline_code(&html, "/usage");
        assert!(html.contains("GET /api/v1/products/{id}"), "{html}");
        assert!(html.contains(&format!("usage walker (key {key_id})")), "{html}");
        assert!(html.contains("<code>404</code>"), "{html}");
        assert!(html.contains("By endpoint") && html.contains("By API key") && html.contains("By status"));
        let bad = web.get("/usage?window=forever").await;
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        // The team page shows the plan and its subscription.
        let members = web.page("/settings/members").await;
        assert!(members.contains("Subscription") && members.contains("enterprise"), "{members}");
        // A member without `audit:read` is refused the page.
        let invited = app.request(Method::POST, "/api/v1/teams/1/members")
            .json(&json!({"email": "plain@usage.example", "role": "member"})).send().await.unwrap();
        assert_eq!(invited.status(), StatusCode::CREATED);
        let member = app.login("plain@usage.example").await["token"].as_str().unwrap().to_string();
        let mut member_web = crate::dashboard::WebClient::with_session(&app, &member);
        assert_eq!(member_web.get("/usage").await.status(), StatusCode::FORBIDDEN);
    }

    #[configure(quick_log)]
    async fn metrics_are_read_by_the_prometheus_parser(app) {
        let (_, key, _) = session_and_key(&app, &["products:read"]).await;
        mixed_requests_light(&app, &key).await;
        let response = app.get("/metrics").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
        let text = response.text().await.unwrap();
        for name in [
            "rampart_http_requests_total{",
            "rampart_http_request_duration_seconds_bucket{",
            "rampart_db_pool_connections{",
            "rampart_analysis_queue_depth{",
            "rampart_match_index_entries{",
            "rampart_request_log_queued",
            "rampart_request_log_written_total",
            "rampart_request_log_dropped_total 0",
        ] {
            assert!(text.contains(name), "{name} missing:\n{text}");
        }
        assert!(text.contains(r#"route="/api/v1/products/{id}""#), "{text}");
        // Not the raw path: templates only.
        assert!(!text.contains("/api/v1/products/999999"), "{text}");
        // Only operators read it on the main listener.
        let (other, _) = app.user_on_plan("metrics@usage.example", "pro").await;
        let refused = app.with_token(Method::GET, "/metrics", &other).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert_eq!(app.anonymous(Method::GET, "/metrics").send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
        parse_with_prometheus_client(&text);
    }
}

async fn mixed_requests_light(app: &TestApp, key: &str) {
    for path in [
        "/api/v1/products",
        "/api/v1/products/999999",
        "/api/v1/nothing-here",
    ] {
        app.with_token(Method::GET, path, key).send().await.unwrap();
    }
}

/// Parses the exposition with the `prometheus_client` Python package's parser (the one
/// Prometheus' own Python client ships) and checks the families it found. Skipped, with the
/// reason, when the package is missing, unless `RAMPART_REQUIRE_PROMETHEUS_PARSER=1`.
fn parse_with_prometheus_client(text: &str) {
    let python = std::env::var("RAMPART_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let available = std::process::Command::new(&python)
        .args(["-c", "import prometheus_client.parser"])
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        if std::env::var("RAMPART_REQUIRE_PROMETHEUS_PARSER").as_deref() == Ok("1") {
            panic!(
                "RAMPART_REQUIRE_PROMETHEUS_PARSER=1 but {python} cannot import prometheus_client"
            );
        }
        eprintln!("skipped: the prometheus_client Python package is not installed (pip install prometheus-client)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("metrics.txt");
    std::fs::write(&file, text).unwrap();
    let script = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
families = {}
for family in text_string_to_metric_families(open(sys.argv[1]).read()):
    families[family.name] = {"type": family.type, "samples": [[s.name, s.labels, s.value] for s in family.samples]}
print(json.dumps(families))
"#;
    let output = std::process::Command::new(&python)
        .args(["-c", script, file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the parser refused the exposition: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let families: Value = serde_json::from_slice(&output.stdout).unwrap();
    // The parser names counters without `_total`.
    let requests = &families["rampart_http_requests"];
    assert_eq!(requests["type"], "counter", "{families}");
    let samples = requests["samples"].as_array().unwrap();
    assert!(
        samples
            .iter()
            .any(|s| s[1]["route"] == "/api/v1/products/{id}"
                && s[1]["status"] == "404"
                && s[1]["method"] == "GET"),
        "{requests}"
    );
    assert!(
        samples.iter().any(|s| s[1]["route"] == "unmatched"),
        "{requests}"
    );
    let latency = &families["rampart_http_request_duration_seconds"];
    assert_eq!(latency["type"], "histogram", "{families}");
    assert!(latency["samples"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s[0] == "rampart_http_request_duration_seconds_bucket" && s[1]["le"] == "+Inf"));
    for family in [
        "rampart_db_pool_connections",
        "rampart_analysis_queue_depth",
        "rampart_match_index_entries",
        "rampart_request_log_queued",
    ] {
        assert_eq!(families[family]["type"], "gauge", "{family}: {families}");
    }
}
