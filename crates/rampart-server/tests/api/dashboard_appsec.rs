//! The dashboard's integrations and code findings pages over plain HTTP on both backends:
//! creating and editing an integration (its token never shown, only masked; its health from
//! its SARIF uploads), the code findings list with its filters, a finding's triage (an
//! accepted risk needs a reason and an expiry; a refusal is named on the page) and history,
//! and the same authorisation as the API.

use rampart_test_support::{backend_tests, TestApp};
use reqwest::header::LOCATION;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::dashboard::{assert_no_inline_code, assert_secure_page, csrf_token, WebClient};

async fn session(app: &TestApp, email: &str) -> String {
    app.login(email).await["token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Three results of a SonarQube log: critical, medium and low.
fn sarif_log() -> Value {
    let result = |rule: &str, file: &str, severity: &str| {
        json!({"ruleId": rule, "message": {"text": format!("{rule} in {file}")},
        "properties": {"security-severity": severity},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": file}, "region": {"startLine": 4, "snippet": {"text": format!("call_{rule}()")}}}}]})
    };
    json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "sonar", "rules": [
            {"id": "S1", "name": "SqlInjection", "properties": {"tags": ["cwe-89"]}}]}},
        "results": [result("S1", "src/a.java", "9.5"), result("S2", "src/b.java", "5.0"), result("S3", "src/c.java", "2.0")]}]})
}

/// The code findings of the team (the API's list): rule → id.
async fn code_finding_ids(app: &TestApp) -> std::collections::HashMap<String, i64> {
    let page: Value = app
        .get("/api/v1/findings?kind=code")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"]["id"].as_str().unwrap().to_string(),
                f["id"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn error_text(html: &str, id: &str) -> String {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}: {html}"));
    let rest = &html[start..];
    rest[rest.find('>').unwrap() + 1..rest.find("</p>").unwrap()].to_string()
}

backend_tests! {
    async fn integrations_are_created_and_edited_with_masked_credentials_and_health(app) {
        let admin = session(&app, "admin@localhost").await;
        let mut web = WebClient::with_session(&app, &admin);
        let list = web.page("/integrations").await;
        assert_no_inline_code(&list, "/integrations");
        assert!(list.contains("No integrations yet") && list.contains("<option value=\"SONARQUBE\""), "{list}");
        let token = csrf_token(&list);
        let forged = web.post("/integrations", &[("name", "x"), ("type", "SEMGREP")]).await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        // A refused form names the field and keeps what was entered.
        let refused = web
            .post("/integrations", &[("csrf_token", &token), ("name", "scanner"), ("type", "SEMGREP"), ("selection_type", "SELECTED"), ("repositories", "")])
            .await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_secure_page(&refused, "/integrations");
        let html = refused.text().await.unwrap();
        assert!(error_text(&html, "integration-error").starts_with("repositories"), "{html}");
        assert!(html.contains("value=\"scanner\""));

        let created = web
            .post("/integrations", &[("csrf_token", &token), ("name", "scanner"), ("type", "SONARQUBE"),
                ("token", "squ_secret_value_123"), ("selection_type", "SELECTED"), ("repositories", "org/app\norg/lib")])
            .await;
        assert_eq!(created.status(), StatusCode::SEE_OTHER);
        let path = created.headers()[LOCATION].to_str().unwrap().to_string();
        let id: i64 = path.strip_prefix("/integrations/").unwrap().parse().unwrap();
        let page = web.page(&path).await;
        assert_no_inline_code(&page, &path);
        assert!(!page.contains("squ_secret_value_123"), "the token is never shown");
        assert!(page.contains("token: squ***123"), "masked: {page}");
        assert!(page.contains(">PENDING</span>") && page.contains("No SARIF uploaded"), "{page}");
        assert!(page.contains("org/app\norg/lib</textarea>"), "the edit form: {page}");
        let duplicate = web.post("/integrations", &[("csrf_token", &token), ("name", "scanner"), ("type", "SNYK")]).await;
        assert_eq!(duplicate.status(), StatusCode::CONFLICT);

        // An edit without a token keeps the stored one.
        let edited = web
            .post(&path, &[("csrf_token", &token), ("name", "sonar"), ("selection_type", "ALL"), ("repositories", ""), ("token", "")])
            .await;
        assert_eq!(edited.status(), StatusCode::SEE_OTHER);
        let api: Value = app.get(&path.replace("/integrations", "/api/v1/integrations")).send().await.unwrap().json().await.unwrap();
        assert_eq!(api["name"], "sonar");
        assert_eq!(api["credentials_masked"]["token"], "squ***123", "{api}");

        // An upload makes it healthy and lists itself.
        let uploaded = app
            .post(&format!("/api/v1/integrations/{id}/sarif?repository=org/app&ref=main"))
            .header("content-type", "application/sarif+json")
            .body(sarif_log().to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(uploaded.status(), StatusCode::CREATED);
        let page = web.page(&path).await;
        assert!(page.contains(">CONNECTED</span>") && page.contains("1 of 1 uploads"), "{page}");
        assert!(page.contains("<td>org/app</td><td>main</td>") && page.contains("<td>sonar</td>"), "{page}");
        let list = web.page("/integrations").await;
        assert!(list.contains("sonar") && list.contains(">CONNECTED</span>") && list.contains("squ***123"), "{list}");
        // Test connection is for GitHub and GitLab; the others have no button.
        assert!(!page.contains(&format!("/integrations/{id}/test")));

        // Another team: 404; a viewer: no forms, and a 403.
        let outsider = session(&app, "outsider@example.com").await;
        let mut outsider_web = WebClient::with_session(&app, &outsider);
        assert_eq!(outsider_web.get(&path).await.status(), StatusCode::NOT_FOUND);
        assert!(!outsider_web.page("/integrations").await.contains("sonar"));
        let invited = app.post("/api/v1/teams/1/members").json(&json!({"email": "viewer@example.com", "role": "viewer"})).send().await.unwrap();
        assert_eq!(invited.status(), StatusCode::CREATED);
        let viewer = session(&app, "viewer@example.com").await;
        let mut viewer_web = WebClient::with_session(&app, &viewer);
        let seen = viewer_web.page(&path).await;
        assert!(seen.contains(">CONNECTED</span>") && !seen.contains("integration-form"), "{seen}");
        let viewer_csrf = csrf_token(&seen);
        let refused = viewer_web.post("/integrations", &[("csrf_token", &viewer_csrf), ("name", "v"), ("type", "SNYK")]).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert!(refused.text().await.unwrap().contains("integrations:write"));
    }

    async fn code_findings_are_filtered_and_triaged_with_their_history(app) {
        let integration: Value = app.post("/api/v1/integrations").json(&json!({"name": "sonar", "type": "SONARQUBE"}))
            .send().await.unwrap().json().await.unwrap();
        let id = integration["id"].as_i64().unwrap();
        let uploaded = app
            .post(&format!("/api/v1/integrations/{id}/sarif?repository=org/app&ref=main"))
            .header("content-type", "application/sarif+json")
            .body(sarif_log().to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(uploaded.status(), StatusCode::CREATED);
        let ids = code_finding_ids(&app).await;
        let admin = session(&app, "admin@localhost").await;
        let mut web = WebClient::with_session(&app, &admin);

        let list = web.page("/code-findings").await;
        assert_no_inline_code(&list, "/code-findings");
        assert!(list.contains("3 code findings"), "{list}");
        let (s1, s2, s3) = (list.find(">S1</a>").unwrap(), list.find(">S2</a>").unwrap(), list.find(">S3</a>").unwrap());
        assert!(s1 < s2 && s2 < s3, "by severity");
        assert!(list.contains("<code>src/a.java:4</code>") && list.contains("SqlInjection"), "{list}");
        for (query, shown, hidden) in [
            ("severity=critical", "S1", "S2"),
            ("rule=S2", "S2", "S1"),
            ("tool=sonar&severity=low", "S3", "S1"),
            ("repository=org/other", "", "S1"),
        ] {
            let page = web.page(&format!("/code-findings?{query}")).await;
            if !shown.is_empty() {
                assert!(page.contains(&format!(">{shown}</a>")), "{query}: {page}");
            }
            assert!(!page.contains(&format!(">{hidden}</a>")), "{query}: {page}");
        }
        assert!(web.page(&format!("/code-findings?integration_id={id}")).await.contains("3 code findings"));
        assert!(web.page("/code-findings?repository=org/other").await.contains("match these filters"));
        assert_eq!(web.get("/code-findings?severity=awful").await.status(), StatusCode::BAD_REQUEST);
        assert_eq!(web.get("/code-findings?sort=random").await.status(), StatusCode::BAD_REQUEST);

        // Triage: an accepted risk needs its reason and expiry; the page names what is missing.
        let s1 = ids["S1"];
        let path = format!("/code-findings/{s1}");
        let page = web.page(&path).await;
        assert_no_inline_code(&page, &path);
        assert!(page.contains("call_S1()") && page.contains("CWE-89") && page.contains(">open</span>"), "{page}");
        let token = csrf_token(&page);
        let triage_path = format!("{path}/triage");
        let forged = web.post(&triage_path, &[("status", "fixed")]).await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        for (form, field) in [
            (vec![("status", "accepted_risk"), ("reason", "compensating control")], "expires_at"),
            (vec![("status", "accepted_risk"), ("expires_at", "2099-01-01")], "reason"),
            (vec![("status", "accepted_risk"), ("reason", "r"), ("expires_at", "2001-01-01")], "expires_at"),
            (vec![("status", "accepted_risk"), ("reason", "r"), ("expires_at", "soon")], "expires_at"),
            (vec![("status", "suppressed")], "status"),
        ] {
            let mut form = form;
            form.push(("csrf_token", &token));
            let refused = web.post(&triage_path, &form).await;
            assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{form:?}");
            let html = refused.text().await.unwrap();
            assert!(error_text(&html, "triage-error").starts_with(field), "{form:?}: {html}");
        }
        let until = (chrono::Utc::now() + chrono::Duration::days(30)).format("%Y-%m-%d").to_string();
        let accepted = web
            .post(&triage_path, &[("csrf_token", &token), ("status", "accepted_risk"), ("reason", "compensating control"), ("expires_at", &until)])
            .await;
        assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
        assert_eq!(accepted.headers()[LOCATION].to_str().unwrap(), path);
        let page = web.page(&path).await;
        assert!(page.contains(">accepted_risk</span>") && page.contains(&format!("until {until} 23:59 UTC")), "{page}");
        assert!(page.contains("open → accepted_risk") && page.contains("compensating control") && page.contains("admin@localhost"), "{page}");
        assert!(page.contains("found (open)"), "the first import is in the history: {page}");
        let fixed = web.post(&format!("/code-findings/{}/triage", ids["S2"]), &[("csrf_token", &token), ("status", "fixed")]).await;
        assert_eq!(fixed.status(), StatusCode::SEE_OTHER);
        let open = web.page("/code-findings?status=open").await;
        assert!(open.contains("1 code findings") && open.contains(">S3</a>"), "{open}");
        assert!(open.contains("name=\"status\" value=\"open\" checked"));

        // Another team: 404; a viewer sees but cannot triage.
        let outsider = session(&app, "outsider@example.com").await;
        let mut outsider_web = WebClient::with_session(&app, &outsider);
        assert_eq!(outsider_web.get(&path).await.status(), StatusCode::NOT_FOUND);
        assert!(outsider_web.page("/code-findings").await.contains("No code findings"));
        let invited = app.post("/api/v1/teams/1/members").json(&json!({"email": "viewer@example.com", "role": "viewer"})).send().await.unwrap();
        assert_eq!(invited.status(), StatusCode::CREATED);
        let viewer = session(&app, "viewer@example.com").await;
        let mut viewer_web = WebClient::with_session(&app, &viewer);
        let seen = viewer_web.page(&path).await;
        assert!(seen.contains("compensating control") && !seen.contains("code-triage-form"), "{seen}");
        let viewer_csrf = csrf_token(&seen);
        let refused = viewer_web.post(&triage_path, &[("csrf_token", &viewer_csrf), ("status", "open")]).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert!(refused.text().await.unwrap().contains("findings:write"));
    }
}
