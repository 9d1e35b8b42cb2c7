//! Teams over real HTTP on both backends: the bootstrap admin's own login, listing and
//! creating teams, plans, keeping an owner, and the team setting that says who may create
//! API keys.

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
    json_of(response, status).await["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app.with_token(method, path, token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn user_id(app: &TestApp, token: &str) -> i64 {
    json_of(
        send(app, Method::GET, "/api/v1/me", token, None).await,
        StatusCode::OK,
    )
    .await["user"]["id"]
        .as_i64()
        .unwrap()
}

async fn audit_actions(app: &TestApp, token: &str, action: &str) -> Vec<Value> {
    let path = format!("/api/v1/audit-log?per_page=500&action={action}");
    json_of(
        send(app, Method::GET, &path, token, None).await,
        StatusCode::OK,
    )
    .await["data"]
        .as_array()
        .unwrap()
        .clone()
}

/// Invites `email` with `role` into the caller's team and logs them in: their session token.
async fn member(app: &TestApp, owner: &str, team_id: i64, email: &str, role: &str) -> String {
    let invited = send(
        app,
        Method::POST,
        &format!("/api/v1/teams/{team_id}/members"),
        owner,
        Some(json!({"email": email, "role": role})),
    )
    .await;
    json_of(invited, StatusCode::CREATED).await;
    app.login(email).await["token"]
        .as_str()
        .unwrap()
        .to_string()
}

backend_tests! {
    async fn the_bootstrap_admin_logs_in_with_the_default_address_and_makes_a_key(app) {
        assert_eq!(app.config.admin_email, "admin@localhost");
        let login = app.login("admin@localhost").await;
        assert_eq!(login["signed_up"], false, "the admin exists since the first start: {login}");
        let token = login["token"].as_str().unwrap();
        let me = json_of(send(&app, Method::GET, "/api/v1/me", token, None).await, StatusCode::OK).await;
        assert_eq!(me["user"]["email"], "admin@localhost");
        assert_eq!(me["team"]["role"], "owner");
        assert_eq!(me["team"]["plan"], "enterprise");
        let created = send(&app, Method::POST, "/api/v1/api-keys", token, Some(json!({"name": "second key", "scopes": ["kb:read"]}))).await;
        let key = json_of(created, StatusCode::CREATED).await;
        let secret = key["api_key"].as_str().unwrap();
        let as_key = json_of(send(&app, Method::GET, "/api/v1/me", secret, None).await, StatusCode::OK).await;
        assert_eq!(as_key["credential"]["scopes"], json!(["kb:read"]));
        // Still not an address: the rule is the mailer's, not "anything goes".
        for bad in ["admin", "admin@", "a b@localhost"] {
            let response = app.anonymous(Method::POST, "/api/v1/auth/otp").json(&json!({"email": bad})).send().await.unwrap();
            assert_eq!(error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed", "{bad}");
        }
    }

    async fn teams_are_listed_with_role_and_plan_and_created_on_the_default_plan(app) {
        let (token, own_team) = app.user_on_plan("tina@example.com", "pro").await;
        let listed = json_of(send(&app, Method::GET, "/api/v1/teams", &token, None).await, StatusCode::OK).await;
        assert_eq!(listed, json!({"teams": [{"id": own_team, "name": "tina@example.com", "plan": "pro", "plan_status": "active", "current_period_end": null, "role": "owner"}]}));

        let created = send(&app, Method::POST, "/api/v1/teams", &token, Some(json!({"name": "  Platform  "}))).await;
        let team = json_of(created, StatusCode::CREATED).await;
        let new_id = team["id"].as_i64().unwrap();
        assert_eq!(team, json!({"id": new_id, "name": "Platform", "plan": "free", "plan_status": "active", "current_period_end": null, "role": "owner"}));
        let listed = json_of(send(&app, Method::GET, "/api/v1/teams", &token, None).await, StatusCode::OK).await;
        let ids: Vec<i64> = listed["teams"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, [own_team, new_id]);
        // The new team is a tenant of its own: acting for it needs a login for it.
        let code = app.request_code("tina@example.com").await;
        let switched = app.anonymous(Method::POST, "/api/v1/auth/otp/verify")
            .json(&json!({"email": "tina@example.com", "code": code, "team_id": new_id})).send().await.unwrap();
        let switched = json_of(switched, StatusCode::OK).await;
        assert_eq!(switched["team_id"], new_id);
        let entries = audit_actions(&app, switched["token"].as_str().unwrap(), "team.create").await;
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(entries[0]["target_id"], new_id.to_string());

        for bad in [json!({"name": ""}), json!({"name": "x".repeat(101)}), json!({"name": "ok", "plan": "enterprise"})] {
            let response = send(&app, Method::POST, "/api/v1/teams", &token, Some(bad.clone())).await;
            assert!(response.status().is_client_error(), "{bad}: {}", response.status());
        }
        // Creating a team needs a person's session, not a key.
        let refused = send(&app, Method::POST, "/api/v1/teams", &app.admin_key, Some(json!({"name": "by key"}))).await;
        assert_eq!(error_code(refused, StatusCode::FORBIDDEN).await, "forbidden");
        let anonymous = app.anonymous(Method::GET, "/api/v1/teams").send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    }

    #[configure(|c| c.default_plan = "pro".into())]
    async fn new_teams_take_the_configured_default_plan(app) {
        let login = app.login("uma@example.com").await;
        let token = login["token"].as_str().unwrap();
        let me = json_of(send(&app, Method::GET, "/api/v1/me", token, None).await, StatusCode::OK).await;
        assert_eq!(me["team"]["plan"], "pro");
        let team = json_of(send(&app, Method::POST, "/api/v1/teams", token, Some(json!({"name": "second"}))).await, StatusCode::CREATED).await;
        assert_eq!(team["plan"], "pro");
    }

    async fn setting_a_plan_answers_the_operators_own_role(app) {
        let login = app.login("vera@example.com").await;
        let other_team = login["team_id"].as_i64().unwrap();
        let path = format!("/api/v1/teams/{other_team}/plan");
        let set = json_of(send(&app, Method::PUT, &path, &app.admin_key, Some(json!({"plan": "pro"}))).await, StatusCode::OK).await;
        assert_eq!(set, json!({"id": other_team, "name": "vera@example.com", "plan": "pro", "plan_status": "active", "current_period_end": null, "role": null}), "the operator is not a member there");
        let operators = json_of(send(&app, Method::GET, "/api/v1/me", &app.admin_key, None).await, StatusCode::OK).await["team"]["id"].as_i64().unwrap();
        let own = json_of(send(&app, Method::PUT, &format!("/api/v1/teams/{operators}/plan"), &app.admin_key, Some(json!({"plan": "enterprise"}))).await, StatusCode::OK).await;
        assert_eq!(own["role"], "owner");
    }

    async fn the_last_owner_can_be_neither_removed_nor_demoted(app) {
        // With the bootstrap admin's API key, on the operators' team.
        let me = json_of(send(&app, Method::GET, "/api/v1/me", &app.admin_key, None).await, StatusCode::OK).await;
        let (operators, admin) = (me["team"]["id"].as_i64().unwrap(), me["user"]["id"].as_i64().unwrap());
        let admin_path = format!("/api/v1/teams/{operators}/members/{admin}");
        let demote = send(&app, Method::PATCH, &admin_path, &app.admin_key, Some(json!({"role": "admin"}))).await;
        assert_eq!(error_code(demote, StatusCode::CONFLICT).await, "conflict");
        let remove = send(&app, Method::DELETE, &admin_path, &app.admin_key, None).await;
        assert_eq!(error_code(remove, StatusCode::CONFLICT).await, "conflict");
        assert_eq!(send(&app, Method::GET, "/api/v1/me", &app.admin_key, None).await.status(), StatusCode::OK, "the key still works");

        // With a session, in a team of its own.
        let (token, team) = app.user_on_plan("wanda@example.com", "pro").await;
        let wanda = user_id(&app, &token).await;
        let wanda_path = format!("/api/v1/teams/{team}/members/{wanda}");
        let demote = send(&app, Method::PATCH, &wanda_path, &token, Some(json!({"role": "member"}))).await;
        assert_eq!(error_code(demote, StatusCode::CONFLICT).await, "conflict");
        let remove = send(&app, Method::DELETE, &wanda_path, &token, None).await;
        assert_eq!(error_code(remove, StatusCode::CONFLICT).await, "conflict");

        // An admin may not touch owners; a second owner makes the first one removable.
        let xena = member(&app, &token, team, "xena@example.com", "admin").await;
        let by_admin = send(&app, Method::PATCH, &wanda_path, &xena, Some(json!({"role": "member"}))).await;
        assert_eq!(error_code(by_admin, StatusCode::FORBIDDEN).await, "forbidden");
        let xena_id = user_id(&app, &xena).await;
        let xena_path = format!("/api/v1/teams/{team}/members/{xena_id}");
        let self_promotion = send(&app, Method::PATCH, &xena_path, &xena, Some(json!({"role": "owner"}))).await;
        assert_eq!(error_code(self_promotion, StatusCode::FORBIDDEN).await, "forbidden");
        let promoted = json_of(send(&app, Method::PATCH, &xena_path, &token, Some(json!({"role": "owner"}))).await, StatusCode::OK).await;
        assert_eq!(promoted["role"], "owner");
        assert_eq!(promoted["email"], "xena@example.com");
        let bad_role = send(&app, Method::PATCH, &xena_path, &token, Some(json!({"role": "service"}))).await;
        assert_eq!(error_code(bad_role, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");
        let demoted = json_of(send(&app, Method::PATCH, &wanda_path, &token, Some(json!({"role": "viewer"}))).await, StatusCode::OK).await;
        assert_eq!(demoted["role"], "viewer");
        let scopes = json_of(send(&app, Method::GET, "/api/v1/me", &token, None).await, StatusCode::OK).await["credential"]["scopes"].clone();
        assert!(!scopes.as_array().unwrap().contains(&json!("teams:manage")), "the session follows the new role: {scopes}");
        let last = send(&app, Method::DELETE, &xena_path, &xena, None).await;
        assert_eq!(error_code(last, StatusCode::CONFLICT).await, "conflict");
        let unknown = send(&app, Method::PATCH, &format!("/api/v1/teams/{team}/members/999999"), &xena, Some(json!({"role": "member"}))).await;
        assert_eq!(error_code(unknown, StatusCode::NOT_FOUND).await, "not_found");
        let entries = audit_actions(&app, &xena, "member.role").await;
        assert_eq!(entries.len(), 2, "{entries:?}");
    }

    async fn two_owners_removing_each_other_at_once_leave_one_owner(app) {
        for round in 0..6 {
            let (first, team) = app.user_on_plan(&format!("first{round}@example.com"), "pro").await;
            let second = member(&app, &first, team, &format!("second{round}@example.com"), "owner").await;
            let (first_id, second_id) = (user_id(&app, &first).await, user_id(&app, &second).await);
            let (first_path, second_path) = (format!("/api/v1/teams/{team}/members/{first_id}"), format!("/api/v1/teams/{team}/members/{second_id}"));
            let remove_first = send(&app, Method::DELETE, &first_path, &second, None);
            let remove_second = send(&app, Method::DELETE, &second_path, &first, None);
            let (a, b) = tokio::join!(remove_first, remove_second);
            let mut statuses = [a.status().as_u16(), b.status().as_u16()];
            statuses.sort();
            // One removal wins; the other finds either the last owner (409) or its own
            // credential gone (401).
            assert!(statuses == [204, 409] || statuses == [204, 401], "round {round}: {statuses:?}");
            let remaining = if a.status() == StatusCode::NO_CONTENT { &second } else { &first };
            let members = json_of(send(&app, Method::GET, &format!("/api/v1/teams/{team}/members"), remaining, None).await, StatusCode::OK).await;
            assert_eq!(members["total"], 1, "round {round}: {members}");
            assert_eq!(members["members"][0]["role"], "owner");
        }
    }

    async fn who_may_create_keys_is_a_team_setting(app) {
        let (owner, team) = app.user_on_plan("yara@example.com", "pro").await;
        let settings_path = format!("/api/v1/teams/{team}/settings");
        let settings = json_of(send(&app, Method::GET, &settings_path, &owner, None).await, StatusCode::OK).await;
        assert_eq!(settings, json!({"team_id": team, "api_key_creation": "members"}));
        let zoe = member(&app, &owner, team, "zoe@example.com", "member").await;
        let key_body = json!({"name": "zoe's key", "scopes": ["products:read"]});
        let created = json_of(send(&app, Method::POST, "/api/v1/api-keys", &zoe, Some(key_body.clone())).await, StatusCode::CREATED).await;
        let zoe_key = created["id"].as_i64().unwrap();

        // Members cannot read or change the setting.
        let read = send(&app, Method::GET, &settings_path, &zoe, None).await;
        assert_eq!(error_code(read, StatusCode::FORBIDDEN).await, "insufficient_scope");
        let change = send(&app, Method::PATCH, &settings_path, &zoe, Some(json!({"api_key_creation": "members"}))).await;
        assert_eq!(error_code(change, StatusCode::FORBIDDEN).await, "insufficient_scope");
        let bad = send(&app, Method::PATCH, &settings_path, &owner, Some(json!({"api_key_creation": "everyone"}))).await;
        assert_eq!(error_code(bad, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");

        let changed = json_of(send(&app, Method::PATCH, &settings_path, &owner, Some(json!({"api_key_creation": "admins"}))).await, StatusCode::OK).await;
        assert_eq!(changed["api_key_creation"], "admins");
        let entries = audit_actions(&app, &owner, "team.settings").await;
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(entries[0]["actor"], "yara@example.com");
        assert_eq!(entries[0]["details"]["api_key_creation"], "admins");

        // Now a member can create no key, by either route, nor rotate one into being.
        let refused = send(&app, Method::POST, "/api/v1/api-keys", &zoe, Some(key_body.clone())).await;
        let body = json_of(refused, StatusCode::FORBIDDEN).await;
        assert_eq!(body["error"]["code"], "forbidden");
        assert!(body["error"]["message"].as_str().unwrap().contains("api_key_creation"), "{body}");
        let seed = send(&app, Method::POST, "/api/create-api-key", &zoe, Some(json!({"name": "seed key"}))).await;
        let body = json_of(seed, StatusCode::FORBIDDEN).await;
        assert_eq!(body["success"], false, "{body}");
        let rotate = send(&app, Method::POST, &format!("/api/v1/api-keys/{zoe_key}/rotate"), &zoe, None).await;
        assert_eq!(error_code(rotate, StatusCode::FORBIDDEN).await, "forbidden");
        // Revoking one's own key stays possible.
        let revoked = send(&app, Method::POST, &format!("/api/v1/api-keys/{zoe_key}/revoke"), &zoe, None).await;
        assert_eq!(revoked.status(), StatusCode::OK);
        // Owners and admins still can.
        json_of(send(&app, Method::POST, "/api/v1/api-keys", &owner, Some(key_body.clone())).await, StatusCode::CREATED).await;
        let zoe_id = user_id(&app, &zoe).await;
        let promoted = send(&app, Method::PATCH, &format!("/api/v1/teams/{team}/members/{zoe_id}"), &owner, Some(json!({"role": "admin"}))).await;
        json_of(promoted, StatusCode::OK).await;
        json_of(send(&app, Method::POST, "/api/create-api-key", &zoe, Some(json!({"name": "seed key"}))).await, StatusCode::OK).await;

        // Back to members: an empty change keeps it, an explicit one restores it.
        let same = json_of(send(&app, Method::PATCH, &settings_path, &owner, Some(json!({}))).await, StatusCode::OK).await;
        assert_eq!(same["api_key_creation"], "admins");
        let back = json_of(send(&app, Method::PATCH, &settings_path, &owner, Some(json!({"api_key_creation": "members"}))).await, StatusCode::OK).await;
        assert_eq!(back["api_key_creation"], "members");
        let ann = member(&app, &owner, team, "ann@example.com", "viewer").await;
        json_of(send(&app, Method::POST, "/api/v1/api-keys", &ann, Some(key_body)).await, StatusCode::CREATED).await;
    }
}
