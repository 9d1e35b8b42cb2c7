//! Identity and access over real HTTP on both backends: e-mail OTP login through a real SMTP
//! sink, sessions and logout, API keys (canonical and seed 003 routes), plans and quotas,
//! service accounts, test keys, scopes, tenancy (a two-team walk over every documented
//! route), rate limits and the audit log.

use rampart_test_support::{backend_tests, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Asserts the standard error body with `code` and returns it.
async fn error_body(response: reqwest::Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "{body}");
    body
}

async fn json_of(response: reqwest::Response, status: StatusCode) -> Value {
    let actual = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(actual, status, "{body}");
    body
}

/// Creates a key through the canonical route with a session token.
async fn create_key(app: &TestApp, token: &str, body: Value) -> Value {
    let response = app
        .with_token(Method::POST, "/api/v1/api-keys", token)
        .json(&body)
        .send()
        .await
        .unwrap();
    json_of(response, StatusCode::CREATED).await
}

async fn me(app: &TestApp, token: &str) -> reqwest::Response {
    app.with_token(Method::GET, "/api/v1/me", token)
        .send()
        .await
        .unwrap()
}

async fn audit_actions(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let response = app
        .with_token(
            Method::GET,
            &format!("/api/v1/audit-log?per_page=500{query}"),
            token,
        )
        .send()
        .await
        .unwrap();
    json_of(response, StatusCode::OK).await["data"]
        .as_array()
        .unwrap()
        .clone()
}

backend_tests! {
    async fn otp_login_gives_a_session_token_and_cookie_and_logout_ends_it(app) {
        let code = app.request_code("Alice@Example.com").await;
        let mail = app.mail.last_to("alice@example.com").unwrap();
        assert!(mail.data.contains("valid for 10 minutes"), "{}", mail.data);
        let response = app
            .anonymous(Method::POST, "/api/v1/auth/otp/verify")
            .json(&json!({"email": "alice@example.com", "code": code}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let cookie = response.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(cookie.starts_with("rampart_session=rks_"), "{cookie}");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
        assert!(!cookie.contains("Secure"), "plain http test server: {cookie}");
        let login: Value = response.json().await.unwrap();
        assert_eq!(login["signed_up"], true);
        let token = login["token"].as_str().unwrap().to_string();
        assert!(token.starts_with("rks_") && token.len() == 68);

        let whoami = json_of(me(&app, &token).await, StatusCode::OK).await;
        assert_eq!(whoami["user"]["email"], "alice@example.com");
        assert_eq!(whoami["credential"]["type"], "session");
        assert_eq!(whoami["credential"]["role"], "owner");
        assert_eq!(whoami["team"]["plan"], "free", "new teams get the default plan");
        assert_eq!(whoami["credential"]["scopes"].as_array().unwrap().len(), rampart_core::Scope::ALL.len());

        // The cookie alone authenticates (browser sessions).
        let cookie_pair = cookie.split(';').next().unwrap().to_string();
        let by_cookie = app.anonymous(Method::GET, "/api/v1/me").header("cookie", &cookie_pair).send().await.unwrap();
        assert_eq!(by_cookie.status(), StatusCode::OK);

        let logout = app.with_token(Method::POST, "/api/v1/auth/logout", &token).send().await.unwrap();
        assert_eq!(logout.status(), StatusCode::OK);
        assert!(logout.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
        error_body(me(&app, &token).await, StatusCode::UNAUTHORIZED, "invalid_api_key").await;
        let by_cookie = app.anonymous(Method::GET, "/api/v1/me").header("cookie", &cookie_pair).send().await.unwrap();
        error_body(by_cookie, StatusCode::UNAUTHORIZED, "invalid_api_key").await;

        // A second login of the same person opens a new session in the same team.
        let again = app.login("alice@example.com").await;
        assert_eq!(again["signed_up"], false);
        assert_eq!(again["team_id"], login["team_id"]);
        let actions: Vec<String> = audit_actions(&app, again["token"].as_str().unwrap(), "")
            .await
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_string())
            .collect();
        for action in ["auth.login", "auth.logout"] {
            assert!(actions.contains(&action.to_string()), "{action} in {actions:?}");
        }
    }

    async fn codes_are_single_use_and_expire(app) {
        let code = app.request_code("bob@example.com").await;
        let verify = |code: String| {
            app.anonymous(Method::POST, "/api/v1/auth/otp/verify")
                .json(&json!({"email": "bob@example.com", "code": code}))
                .send()
        };
        assert_eq!(verify(code.clone()).await.unwrap().status(), StatusCode::OK);
        error_body(verify(code).await.unwrap(), StatusCode::UNAUTHORIZED, "invalid_code").await;

        let code = app.request_code("bob@example.com").await;
        app.config.clock.advance(chrono::Duration::minutes(11));
        error_body(verify(code).await.unwrap(), StatusCode::UNAUTHORIZED, "invalid_code").await;
    }

    async fn five_wrong_codes_lock_the_code(app) {
        app.login("carol@example.com").await;
        let code = app.request_code("carol@example.com").await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for _ in 0..5 {
            let response = app
                .anonymous(Method::POST, "/api/v1/auth/otp/verify")
                .json(&json!({"email": "carol@example.com", "code": wrong}))
                .send()
                .await
                .unwrap();
            error_body(response, StatusCode::UNAUTHORIZED, "invalid_code").await;
        }
        let response = app
            .anonymous(Method::POST, "/api/v1/auth/otp/verify")
            .json(&json!({"email": "carol@example.com", "code": code}))
            .send()
            .await
            .unwrap();
        let body = error_body(response, StatusCode::UNAUTHORIZED, "invalid_code").await;
        assert!(body["error"]["message"].as_str().unwrap().contains("locked"), "{body}");
        // The failures are in the audit log of carol's team.
        let token = app.login("carol@example.com").await["token"].as_str().unwrap().to_string();
        let failures = audit_actions(&app, &token, "&action=auth.otp_failure").await;
        assert_eq!(failures.len(), 5);
    }

    async fn bad_otp_input_and_request_limits(app) {
        // `a@b` is valid: a host without a dot, like the bootstrap admin's `admin@localhost`.
        for email in ["", "no-at-sign", "a@", "@b", "two@@x.com", "sp ace@x.com"] {
            let response = app
                .anonymous(Method::POST, "/api/v1/auth/otp")
                .json(&json!({"email": email}))
                .send()
                .await
                .unwrap();
            let body = error_body(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert!(body["error"]["message"].as_str().unwrap().contains("email"));
        }
        for _ in 0..5 {
            app.request_code("dave@example.com").await;
        }
        let sixth = app
            .anonymous(Method::POST, "/api/v1/auth/otp")
            .json(&json!({"email": "dave@example.com"}))
            .send()
            .await
            .unwrap();
        error_body(sixth, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
        assert_eq!(app.mail.messages().len(), 5);
    }

    #[configure(|c| c.smtp = None)]
    async fn without_smtp_the_code_goes_to_the_log_only(app) {
        let response = app
            .anonymous(Method::POST, "/api/v1/auth/otp")
            .json(&json!({"email": "erin@example.com"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        assert!(app.mail.messages().is_empty());
    }

    async fn key_lifecycle_create_show_once_list_masked_use_revoke(app) {
        let (token, _) = app.user_on_plan("frank@example.com", "pro").await;
        let created = create_key(&app, &token, json!({"name": "CLI"})).await;
        let secret = created["api_key"].as_str().unwrap().to_string();
        assert!(secret.starts_with("rk_live_") && secret.len() == 72);
        assert!(created["masked_key"].as_str().unwrap().starts_with("rk_live_••••••"));
        assert!(created["masked_key"].as_str().unwrap().ends_with(&secret[66..]));
        let id = created["id"].as_i64().unwrap();

        for _ in 0..3 {
            let used = json_of(me(&app, &secret).await, StatusCode::OK).await;
            assert_eq!(used["credential"]["type"], "api_key");
            assert_eq!(used["credential"]["id"], id);
        }
        let list = app.with_token(Method::GET, "/api/v1/api-keys", &token).send().await.unwrap();
        let text = list.text().await.unwrap();
        assert!(!text.contains(&secret), "the secret is never listed");
        let list: Value = serde_json::from_str(&text).unwrap();
        let key = list["keys"].as_array().unwrap().iter().find(|k| k["id"] == id).unwrap().clone();
        assert_eq!(key["requests_count"], 3);
        assert!(key["last_used_at"].is_string());

        let revoked = app
            .with_token(Method::POST, &format!("/api/v1/api-keys/{id}/revoke"), &token)
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status(), StatusCode::OK);
        error_body(me(&app, &secret).await, StatusCode::UNAUTHORIZED, "invalid_api_key").await;
        let again = app
            .with_token(Method::POST, &format!("/api/v1/api-keys/{id}/revoke"), &token)
            .send()
            .await
            .unwrap();
        error_body(again, StatusCode::NOT_FOUND, "not_found").await;
        let actions: Vec<String> = audit_actions(&app, &token, "&action=api_key.")
            .await
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(actions, ["api_key.revoke", "api_key.create"]);
    }

    async fn rotation_replaces_the_key_at_once(app) {
        let (token, _) = app.user_on_plan("gina@example.com", "pro").await;
        let created = create_key(&app, &token, json!({"name": "deploy", "scopes": ["kb:read", "products:read"], "expires_in_days": 90})).await;
        let old = created["api_key"].as_str().unwrap().to_string();
        let id = created["id"].as_i64().unwrap();
        let response = app
            .with_token(Method::POST, &format!("/api/v1/api-keys/{id}/rotate"), &token)
            .send()
            .await
            .unwrap();
        let rotated = json_of(response, StatusCode::CREATED).await;
        assert_eq!(rotated["name"], "deploy");
        assert_eq!(rotated["scopes"], json!(["products:read", "kb:read"]));
        assert_eq!(rotated["replaced_api_key_id"], id);
        assert!(rotated["expires_at"].is_string());
        let new = rotated["api_key"].as_str().unwrap();
        assert_ne!(new, old);
        error_body(me(&app, &old).await, StatusCode::UNAUTHORIZED, "invalid_api_key").await;
        assert_eq!(me(&app, new).await.status(), StatusCode::OK);
    }

    async fn expiry_is_validated_and_enforced(app) {
        let (token, _) = app.user_on_plan("hank@example.com", "pro").await;
        for (body, field) in [
            (json!({"name": "x", "expires_in_days": 45}), "expires_in_days"),
            (json!({"name": "x", "expires_at": "2001-01-01"}), "expires_at"),
            (json!({"name": "x", "expires_at": "not a date"}), "expires_at"),
            (json!({"name": "x".repeat(101)}), "name"),
            (json!({"name": "x", "scopes": ["bogus:scope"]}), "scopes"),
        ] {
            let response = app.with_token(Method::POST, "/api/v1/api-keys", &token).json(&body).send().await.unwrap();
            let error = error_body(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert!(error["error"]["message"].as_str().unwrap().contains(field), "{error}");
        }
        let listed = app.with_token(Method::GET, "/api/v1/api-keys", &token).send().await.unwrap();
        assert_eq!(json_of(listed, StatusCode::OK).await["total"], 0, "nothing changed");

        let key = create_key(&app, &token, json!({"name": "monthly", "expires_in_days": 30})).await;
        let secret = key["api_key"].as_str().unwrap();
        assert_eq!(me(&app, secret).await.status(), StatusCode::OK);
        app.config.clock.advance(chrono::Duration::days(31));
        error_body(me(&app, secret).await, StatusCode::UNAUTHORIZED, "invalid_api_key").await;
    }

    #[configure(|c| c.plans.pro.api_keys_per_user = 2)]
    async fn plan_quota_limits_active_keys_but_not_service_accounts(app) {
        let (token, _) = app.user_on_plan("ivan@example.com", "pro").await;
        create_key(&app, &token, json!({"name": "one"})).await;
        create_key(&app, &token, json!({"name": "two"})).await;
        let third = app.with_token(Method::POST, "/api/v1/api-keys", &token).json(&json!({"name": "three"})).send().await.unwrap();
        error_body(third, StatusCode::FORBIDDEN, "quota_exceeded").await;
        let seed = app.with_token(Method::POST, "/api/create-api-key", &token).json(&json!({"name": "three"})).send().await.unwrap();
        assert_eq!(seed.status(), StatusCode::FORBIDDEN);
        assert_eq!(seed.json::<Value>().await.unwrap(), json!({"success": false, "error": "Maximum of 2 API keys allowed per user"}));
        // Team keys for CI do not count against the person's quota.
        let ci = create_key(&app, &token, json!({"name": "ci", "service_account": true})).await;
        assert_eq!(ci["owner_type"], "service_account");
    }

    async fn free_plan_refuses_keys_with_the_seed_error(app) {
        let login = app.login("judy@example.com").await;
        let token = login["token"].as_str().unwrap();
        let seed = app.with_token(Method::POST, "/api/create-api-key", token).json(&json!({"name": "CVEFinder CLI Tool"})).send().await.unwrap();
        assert_eq!(seed.status(), StatusCode::FORBIDDEN);
        assert_eq!(seed.json::<Value>().await.unwrap(), json!({
            "success": false,
            "error": "API keys are only available for Pro users.",
            "upgrade_required": true,
            "upgrade_url": "/pricing"
        }));
        let canonical = app.with_token(Method::POST, "/api/v1/api-keys", token).json(&json!({"name": "x"})).send().await.unwrap();
        assert_eq!(canonical.status(), StatusCode::FORBIDDEN);
        let body: Value = canonical.json().await.unwrap();
        assert_eq!(body["error"]["code"], "upgrade_required");
        assert_eq!(body["upgrade_required"], true);
        assert_eq!(body["upgrade_url"], "/pricing");
    }

    async fn lists_show_active_keys_and_filter_expired_and_revoked(app) {
        let (token, _) = app.user_on_plan("kate@example.com", "pro").await;
        let kept = create_key(&app, &token, json!({"name": "kept"})).await["id"].as_i64().unwrap();
        let monthly = create_key(&app, &token, json!({"name": "monthly", "expires_in_days": 30})).await["id"].as_i64().unwrap();
        let gone = create_key(&app, &token, json!({"name": "gone"})).await["id"].as_i64().unwrap();
        let revoked = app.with_token(Method::POST, &format!("/api/v1/api-keys/{gone}/revoke"), &token).send().await.unwrap();
        assert_eq!(revoked.status(), StatusCode::OK);

        async fn canonical(app: &TestApp, token: &str, query: &str) -> Vec<(i64, String)> {
            let response = app.with_token(Method::GET, &format!("/api/v1/api-keys{query}"), token).send().await.unwrap();
            let list = json_of(response, StatusCode::OK).await;
            assert_eq!(list["total"], list["keys"].as_array().unwrap().len());
            list["keys"].as_array().unwrap().iter()
                .map(|k| (k["id"].as_i64().unwrap(), k["status"].as_str().unwrap().to_string()))
                .collect()
        }
        async fn seed(app: &TestApp, token: &str) -> Vec<i64> {
            let response = app.with_token(Method::GET, "/api/list-api-keys", token).send().await.unwrap();
            let list = json_of(response, StatusCode::OK).await;
            list["keys"].as_array().unwrap().iter().map(|k| k["id"].as_i64().unwrap()).collect()
        }
        let active = |ids: &[i64]| ids.iter().map(|id| (*id, "active".to_string())).collect::<Vec<_>>();
        // Both lists show the keys that work: a revoked key is left out.
        assert_eq!(canonical(&app, &token, "").await, active(&[kept, monthly]));
        assert_eq!(canonical(&app, &token, "?status=active").await, active(&[kept, monthly]));
        assert_eq!(seed(&app, &token).await, [kept, monthly]);

        // Past its expiry a key leaves both default lists too; the filter finds it.
        app.config.clock.advance(chrono::Duration::days(31));
        let token = app.login("kate@example.com").await["token"].as_str().unwrap().to_string();
        assert_eq!(canonical(&app, &token, "").await, active(&[kept]));
        assert_eq!(seed(&app, &token).await, [kept]);
        assert_eq!(canonical(&app, &token, "?status=expired").await, [(monthly, "expired".to_string())]);
        let response = app.with_token(Method::GET, "/api/v1/api-keys?status=revoked", &token).send().await.unwrap();
        let list = json_of(response, StatusCode::OK).await;
        assert_eq!(list["keys"][0]["id"], gone);
        assert_eq!(list["keys"][0]["status"], "revoked");
        assert!(list["keys"][0]["revoked_at"].is_string(), "{list}");
        assert!(list["keys"][0]["masked_key"].as_str().unwrap().starts_with("rk_live_••••••"));
        assert_eq!(
            canonical(&app, &token, "?status=all").await,
            [(kept, "active".to_string()), (monthly, "expired".to_string()), (gone, "revoked".to_string())]
        );
        let bad = app.with_token(Method::GET, "/api/v1/api-keys?status=deleted", &token).send().await.unwrap();
        let body = error_body(bad, StatusCode::BAD_REQUEST, "bad_request").await;
        assert!(body["error"]["message"].as_str().unwrap().contains("status"), "{body}");
    }

    async fn a_team_moved_to_free_keeps_its_keys_but_cannot_use_or_create_them(app) {
        let (token, team_id) = app.user_on_plan("fred@example.com", "pro").await;
        let created = create_key(&app, &token, json!({"name": "CLI"})).await;
        let secret = created["api_key"].as_str().unwrap().to_string();
        let id = created["id"].as_i64().unwrap();
        assert_eq!(me(&app, &secret).await.status(), StatusCode::OK);

        // The operator moves the team to `free` (the plan route is how plans change).
        let plan = |plan: &'static str| {
            app.request(Method::PUT, &format!("/api/v1/teams/{team_id}/plan")).json(&json!({"plan": plan})).send()
        };
        assert_eq!(json_of(plan("free").await.unwrap(), StatusCode::OK).await["plan"], "free");

        // Seed 003: keys stop working at once while the plan has no API keys...
        let refused = me(&app, &secret).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["error"]["code"], "upgrade_required", "{body}");
        assert_eq!(body["upgrade_required"], true);
        assert_eq!(body["upgrade_url"], "/pricing");
        // ...no new key can be created, on either route...
        let canonical = app.with_token(Method::POST, "/api/v1/api-keys", &token).json(&json!({"name": "new"})).send().await.unwrap();
        let body = error_body(canonical, StatusCode::FORBIDDEN, "upgrade_required").await;
        assert_eq!(body["upgrade_url"], "/pricing");
        let seed = app.with_token(Method::POST, "/api/create-api-key", &token).json(&json!({"name": "new"})).send().await.unwrap();
        assert_eq!(seed.status(), StatusCode::FORBIDDEN);
        assert_eq!(seed.json::<Value>().await.unwrap(), json!({
            "success": false,
            "error": "API keys are only available for Pro users.",
            "upgrade_required": true,
            "upgrade_url": "/pricing"
        }));
        // ...but the key is not revoked: the session still lists it, and the session works.
        let list = json_of(app.with_token(Method::GET, "/api/v1/api-keys", &token).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(list["keys"][0]["id"], id);
        assert_eq!(list["keys"][0]["status"], "active");

        // Back on `pro`, the same key works again.
        assert_eq!(json_of(plan("pro").await.unwrap(), StatusCode::OK).await["plan"], "pro");
        let whoami = json_of(me(&app, &secret).await, StatusCode::OK).await;
        assert_eq!(whoami["credential"]["id"], id);
    }

    async fn api_keys_cannot_manage_keys(app) {
        for (method, path, body) in [
            (Method::POST, "/api/v1/api-keys", json!({"name": "x"})),
            (Method::GET, "/api/v1/api-keys", Value::Null),
            (Method::POST, "/api/v1/api-keys/1/revoke", Value::Null),
            (Method::POST, "/api/v1/api-keys/1/rotate", Value::Null),
        ] {
            let mut request = app.request(method, path);
            if !body.is_null() { request = request.json(&body); }
            error_body(request.send().await.unwrap(), StatusCode::FORBIDDEN, "forbidden").await;
        }
        for (method, path, body) in [
            (Method::POST, "/api/create-api-key", json!({"name": "x"})),
            (Method::GET, "/api/list-api-keys", Value::Null),
            (Method::POST, "/api/revoke-api-key", json!({"api_key_id": 1})),
            (Method::POST, "/api/rotate-api-key", json!({"api_key_id": 1})),
        ] {
            let mut request = app.request(method, path);
            if !body.is_null() { request = request.json(&body); }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
            assert_eq!(response.json::<Value>().await.unwrap()["success"], false);
        }
        assert_eq!(app.get("/api/v1/me").send().await.unwrap().status(), StatusCode::OK, "admin key still fine");
    }

    async fn seed_003_routes_keep_their_envelopes(app) {
        let (token, _) = app.user_on_plan("kim@example.com", "pro").await;
        let response = app.with_token(Method::POST, "/api/create-api-key", &token).json(&json!({"name": "CVEFinder CLI Tool"})).send().await.unwrap();
        let created = json_of(response, StatusCode::OK).await;
        assert_eq!(created["success"], true);
        assert_eq!(created["name"], "CVEFinder CLI Tool");
        let secret = created["api_key"].as_str().unwrap().to_string();
        let id = created["api_key_id"].as_i64().unwrap();
        let created_at = created["created_at"].as_str().unwrap();
        assert!(chrono::NaiveDateTime::parse_from_str(created_at, "%Y-%m-%d %H:%M:%S").is_ok(), "{created_at}");
        assert_eq!(me(&app, &secret).await.status(), StatusCode::OK);

        let list = json_of(app.with_token(Method::GET, "/api/list-api-keys", &token).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(list["success"], true);
        let key = &list["keys"][0];
        assert_eq!(key["id"], id);
        assert_eq!(key["requests_count"], 1);
        assert!(key["masked_key"].as_str().unwrap().ends_with(&secret[66..]));
        for field in ["name", "last_used_at", "created_at"] {
            assert!(key[field].is_string(), "{field}: {key}");
        }

        let rotated = json_of(app.with_token(Method::POST, "/api/rotate-api-key", &token).json(&json!({"api_key_id": id})).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(rotated["success"], true);
        assert_eq!(rotated["name"], "CVEFinder CLI Tool");
        let new_id = rotated["api_key_id"].as_i64().unwrap();
        assert_ne!(new_id, id);
        error_body(me(&app, &secret).await, StatusCode::UNAUTHORIZED, "invalid_api_key").await;

        let revoked = json_of(app.with_token(Method::POST, "/api/revoke-api-key", &token).json(&json!({"api_key_id": new_id})).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(revoked, json!({"success": true, "message": "API key revoked successfully"}));
        let missing = app.with_token(Method::POST, "/api/revoke-api-key", &token).json(&json!({"api_key_id": new_id})).send().await.unwrap();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(missing.json::<Value>().await.unwrap()["success"], false);
        let bad = app.with_token(Method::POST, "/api/revoke-api-key", &token).json(&json!({"api_key_id": "forty-two"})).send().await.unwrap();
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        let long = app.with_token(Method::POST, "/api/create-api-key", &token).json(&json!({"name": "x".repeat(101)})).send().await.unwrap();
        assert_eq!(long.status(), StatusCode::BAD_REQUEST);
        assert_eq!(long.json::<Value>().await.unwrap()["success"], false);
    }

    async fn test_keys_are_marked_test_mode(app) {
        let (token, _) = app.user_on_plan("lena@example.com", "pro").await;
        let created = create_key(&app, &token, json!({"name": "sandbox", "test_mode": true})).await;
        let secret = created["api_key"].as_str().unwrap();
        assert!(secret.starts_with("rk_test_"));
        assert_eq!(created["test_mode"], true);
        let whoami = json_of(me(&app, secret).await, StatusCode::OK).await;
        assert_eq!(whoami["credential"]["test_mode"], true);
        let seed = json_of(app.with_token(Method::POST, "/api/create-api-key", &token).json(&json!({"name": "sandbox2", "test_mode": true})).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(seed["test_mode"], true);
    }

    async fn cortex_style_key_id_header_is_accepted(app) {
        let (token, _) = app.user_on_plan("mia@example.com", "pro").await;
        let created = create_key(&app, &token, json!({"name": "xdr"})).await;
        let secret = created["api_key"].as_str().unwrap();
        let id = created["id"].as_i64().unwrap();
        let ok = app.anonymous(Method::GET, "/api/v1/me")
            .header("x-xdr-auth-id", id.to_string())
            .header("authorization", secret)
            .send().await.unwrap();
        assert_eq!(json_of(ok, StatusCode::OK).await["credential"]["id"], id);
        let wrong_id = app.anonymous(Method::GET, "/api/v1/me")
            .header("x-xdr-auth-id", (id + 1000).to_string())
            .header("authorization", secret)
            .send().await.unwrap();
        error_body(wrong_id, StatusCode::UNAUTHORIZED, "invalid_api_key").await;
    }

    async fn a_missing_scope_is_403_naming_it_and_audited(app) {
        let (token, _) = app.user_on_plan("nina@example.com", "pro").await;
        let key = create_key(&app, &token, json!({"name": "reader", "scopes": ["kb:read"]})).await;
        let secret = key["api_key"].as_str().unwrap();
        let response = app.with_token(Method::GET, "/api/v1/audit-log", secret).send().await.unwrap();
        let body = error_body(response, StatusCode::FORBIDDEN, "insufficient_scope").await;
        assert!(body["error"]["message"].as_str().unwrap().contains("`audit:read`"), "{body}");
        let denials = audit_actions(&app, &token, "&action=access.denied").await;
        assert_eq!(denials.len(), 1);
        assert_eq!(denials[0]["target_id"], "/api/v1/audit-log");
        // A key cannot get scopes its creator lacks: a viewer cannot mint write keys.
        let team_id = json_of(me(&app, &token).await, StatusCode::OK).await["team"]["id"].as_i64().unwrap();
        let invited = app.with_token(Method::POST, &format!("/api/v1/teams/{team_id}/members"), &token)
            .json(&json!({"email": "viewer@example.com", "role": "viewer"})).send().await.unwrap();
        assert_eq!(invited.status(), StatusCode::CREATED);
        let viewer = app.login("viewer@example.com").await;
        let viewer_token = viewer["token"].as_str().unwrap();
        assert_eq!(viewer["team_id"], team_id);
        let scopes = json_of(me(&app, viewer_token).await, StatusCode::OK).await["credential"]["scopes"].clone();
        assert!(scopes.as_array().unwrap().iter().all(|s| s.as_str().unwrap().ends_with(":read")), "{scopes}");
        assert!(!scopes.as_array().unwrap().contains(&json!("audit:read")));
        let escalate = app.with_token(Method::POST, "/api/v1/api-keys", viewer_token)
            .json(&json!({"name": "w", "scopes": ["products:write"]})).send().await.unwrap();
        let body = error_body(escalate, StatusCode::FORBIDDEN, "insufficient_scope").await;
        assert!(body["error"]["message"].as_str().unwrap().contains("products:write"));
    }

    async fn members_invite_list_remove(app) {
        let (token, team_id) = app.user_on_plan("olga@example.com", "pro").await;
        let path = format!("/api/v1/teams/{team_id}/members");
        let invited = app.with_token(Method::POST, &path, &token).json(&json!({"email": "Pete@Example.com"})).send().await.unwrap();
        let member = json_of(invited, StatusCode::CREATED).await;
        assert_eq!(member["role"], "member");
        assert!(app.mail.last_to("pete@example.com").unwrap().data.contains("added you to the team"));
        let again = app.with_token(Method::POST, &path, &token).json(&json!({"email": "pete@example.com"})).send().await.unwrap();
        error_body(again, StatusCode::CONFLICT, "conflict").await;
        let bad_role = app.with_token(Method::POST, &path, &token).json(&json!({"email": "q@example.com", "role": "god"})).send().await.unwrap();
        error_body(bad_role, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

        let pete = app.login("pete@example.com").await;
        let pete_token = pete["token"].as_str().unwrap();
        let pete_me = json_of(me(&app, pete_token).await, StatusCode::OK).await;
        assert_eq!(pete_me["team"]["role"], "member");
        let scopes = pete_me["credential"]["scopes"].as_array().unwrap().clone();
        assert!(scopes.contains(&json!("products:write")));
        assert!(!scopes.contains(&json!("teams:manage")) && !scopes.contains(&json!("audit:read")));
        // Members cannot manage members.
        let forbidden = app.with_token(Method::GET, &path, pete_token).send().await.unwrap();
        error_body(forbidden, StatusCode::FORBIDDEN, "insufficient_scope").await;

        let list = json_of(app.with_token(Method::GET, &path, &token).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(list["total"], 2);
        let pete_id = pete["user_id"].as_i64().unwrap();
        let removed = app.with_token(Method::DELETE, &format!("{path}/{pete_id}"), &token).send().await.unwrap();
        assert_eq!(removed.status(), StatusCode::NO_CONTENT);
        error_body(me(&app, pete_token).await, StatusCode::UNAUTHORIZED, "invalid_api_key").await;
        let owner_id = json_of(me(&app, &token).await, StatusCode::OK).await["user"]["id"].as_i64().unwrap();
        let last_owner = app.with_token(Method::DELETE, &format!("{path}/{owner_id}"), &token).send().await.unwrap();
        error_body(last_owner, StatusCode::CONFLICT, "conflict").await;
        let actions: Vec<String> = audit_actions(&app, &token, "&action=member.").await.iter().map(|e| e["action"].as_str().unwrap().to_string()).collect();
        assert_eq!(actions, ["member.remove", "member.invite"]);
        // Plans are the operators' business.
        let plan = app.with_token(Method::PUT, &format!("/api/v1/teams/{team_id}/plan"), &token).json(&json!({"plan": "enterprise"})).send().await.unwrap();
        error_body(plan, StatusCode::FORBIDDEN, "forbidden").await;
    }

    async fn service_accounts_back_team_keys_and_go_with_them(app) {
        let (token, team_id) = app.user_on_plan("quinn@example.com", "pro").await;
        let created = create_key(&app, &token, json!({"name": "ci-pipeline-prod", "service_account": true, "scopes": ["teams:manage", "products:read"]})).await;
        assert_eq!(created["owner"], "api_ci-pipeline-prod");
        let secret = created["api_key"].as_str().unwrap().to_string();
        let whoami = json_of(me(&app, &secret).await, StatusCode::OK).await;
        assert_eq!(whoami["credential"]["service_account"], true);
        assert_eq!(whoami["user"]["email"], "api_ci-pipeline-prod");
        // A mutation by the key is attributed to the service account.
        let path = format!("/api/v1/teams/{team_id}/members");
        let invited = app.with_token(Method::POST, &path, &secret).json(&json!({"email": "rick@example.com", "role": "viewer"})).send().await.unwrap();
        assert_eq!(invited.status(), StatusCode::CREATED);
        let entries = audit_actions(&app, &token, "&action=member.invite").await;
        assert_eq!(entries[0]["actor"], "api_ci-pipeline-prod");
        assert_eq!(entries[0]["actor_type"], "service_account");
        // Not a member in the member list.
        let members = json_of(app.with_token(Method::GET, &path, &token).send().await.unwrap(), StatusCode::OK).await;
        assert!(!members.to_string().contains("api_ci-pipeline-prod"), "{members}");
        assert_eq!(members["total"], 2);
        // Revoking the key deletes the account: the key fails, the audit entry stays.
        let id = created["id"].as_i64().unwrap();
        let revoked = app.with_token(Method::POST, &format!("/api/v1/api-keys/{id}/revoke"), &token).send().await.unwrap();
        assert_eq!(revoked.status(), StatusCode::OK);
        error_body(me(&app, &secret).await, StatusCode::UNAUTHORIZED, "invalid_api_key").await;
        let entries = audit_actions(&app, &token, "&actor=api_ci-pipeline-prod").await;
        assert_eq!(entries.len(), 1);
        let listed = json_of(app.with_token(Method::GET, "/api/v1/api-keys", &token).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(listed["total"], 0);
        // Only team managers create team keys.
        app.with_token(Method::POST, &path, &token).json(&json!({"email": "sam@example.com"})).send().await.unwrap();
        let sam = app.login("sam@example.com").await;
        let denied = app.with_token(Method::POST, "/api/v1/api-keys", sam["token"].as_str().unwrap())
            .json(&json!({"name": "ci2", "service_account": true, "scopes": ["products:read"]})).send().await.unwrap();
        error_body(denied, StatusCode::FORBIDDEN, "insufficient_scope").await;
    }

    #[configure(|c| { c.plans.enterprise.rate_limit_per_minute = 5; c.anonymous_rate_limit_per_minute = 3; })]
    async fn rate_limits_answer_429_with_headers(app) {
        // Windows are fixed minutes: start just after a boundary so the requests below
        // cannot straddle two windows.
        let second_of_minute = app.config.clock.now().timestamp().rem_euclid(60);
        app.config.clock.advance(chrono::Duration::seconds(61 - second_of_minute));
        let mut remaining = Vec::new();
        for _ in 0..5 {
            let response = app.get("/api/v1/me").send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.headers()["x-ratelimit-limit"], "5");
            let reset: i64 = response.headers()["x-ratelimit-reset"].to_str().unwrap().parse().unwrap();
            assert!(reset > chrono::Utc::now().timestamp() - 1);
            remaining.push(response.headers()["x-ratelimit-remaining"].to_str().unwrap().to_string());
        }
        assert_eq!(remaining, ["4", "3", "2", "1", "0"]);
        let limited = app.get("/api/v1/me").send().await.unwrap();
        let retry: i64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry));
        assert_eq!(limited.headers()["x-ratelimit-remaining"], "0");
        error_body(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;

        // Unauthenticated requests are limited per IP, and carry the headers too.
        for _ in 0..3 {
            let response = app.anonymous(Method::GET, "/api/v1/openapi.json").send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.headers()["x-ratelimit-limit"], "3");
        }
        let limited = app.anonymous(Method::GET, "/no/such/route").send().await.unwrap();
        assert!(limited.headers().contains_key("retry-after"));
        error_body(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;

        // A new window starts after the minute.
        app.config.clock.advance(chrono::Duration::seconds(61));
        assert_eq!(app.get("/api/v1/me").send().await.unwrap().status(), StatusCode::OK);
    }

    async fn audit_log_records_request_ids_filters_pages_and_exports(app) {
        let (token, _) = app.user_on_plan("tara@example.com", "pro").await;
        let response = app.with_token(Method::POST, "/api/v1/api-keys", &token)
            .header("x-request-id", "req-audit-1")
            .json(&json!({"name": "audited"})).send().await.unwrap();
        let key = json_of(response, StatusCode::CREATED).await;
        let id = key["id"].as_i64().unwrap();
        app.with_token(Method::POST, &format!("/api/v1/api-keys/{id}/rotate"), &token).send().await.unwrap();

        let entries = audit_actions(&app, &token, "&action=api_key.create").await;
        assert_eq!(entries.len(), 1);
        let entry = &entries[0];
        assert_eq!(entry["actor"], "tara@example.com");
        assert_eq!(entry["actor_type"], "user");
        assert_eq!(entry["target_type"], "api_key");
        assert_eq!(entry["target_id"], id.to_string());
        assert_eq!(entry["request_id"], "req-audit-1");
        assert_eq!(entry["source_ip"], "127.0.0.1");
        assert!(!entry.to_string().contains(key["api_key"].as_str().unwrap()), "no secrets in the log");

        let page = json_of(app.with_token(Method::GET, "/api/v1/audit-log?per_page=1&page=2", &token).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(page["per_page"], 1);
        assert_eq!(page["page"], 2);
        assert!(page["total"].as_i64().unwrap() >= 3, "{page}");
        assert_eq!(page["data"].as_array().unwrap().len(), 1);
        let bad = app.with_token(Method::GET, "/api/v1/audit-log?per_page=501", &token).send().await.unwrap();
        error_body(bad, StatusCode::BAD_REQUEST, "bad_request").await;
        let bad = app.with_token(Method::GET, "/api/v1/audit-log?since=yesterday", &token).send().await.unwrap();
        error_body(bad, StatusCode::BAD_REQUEST, "bad_request").await;
        let future = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
        let none = json_of(app.with_token(Method::GET, "/api/v1/audit-log", &token).query(&[("since", future)]).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(none["total"], 0);

        let csv = app.with_token(Method::GET, "/api/v1/audit-log/export?format=csv&action=api_key.", &token).send().await.unwrap();
        assert_eq!(csv.status(), StatusCode::OK);
        assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let text = csv.text().await.unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(&reader.headers().unwrap()[5], "action");
        let actions: Vec<String> = reader.records().map(|r| r.unwrap()[5].to_string()).collect();
        assert_eq!(actions, ["api_key.rotate", "api_key.create"]);
        let json_export = json_of(app.with_token(Method::GET, "/api/v1/audit-log/export?format=json", &token).send().await.unwrap(), StatusCode::OK).await;
        assert!(json_export.as_array().unwrap().len() >= 3);
        let bad = app.with_token(Method::GET, "/api/v1/audit-log/export?format=xml", &token).send().await.unwrap();
        error_body(bad, StatusCode::BAD_REQUEST, "bad_request").await;
    }
}
