//! E-mail notifications over real HTTP and a real SMTP sink on both backends: an
//! `alert.matched` event from a real CVE JSON 5 batch reaches a subscriber as one e-mail with
//! plain-text and HTML bodies and a working unsubscribe link; a daily digest batches events
//! until it is due; test-mode events send nothing; preferences are validated.

use std::time::Duration;

use rampart_store::Store;
use rampart_test_support::{backend_tests, ReceivedMail, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::alerts::{create_watch, cve5_records, match_of, wait_for_matches};

fn fast_notifier(config: &mut rampart_server::ServerConfig) {
    config.notification_interval = Duration::from_millis(100);
}

/// The message as sent, with quoted-printable soft breaks and `=3D` undone when used.
fn decoded(mail: &ReceivedMail) -> String {
    if mail.data.contains("quoted-printable") {
        mail.data.replace("=\r\n", "").replace("=3D", "=")
    } else {
        mail.data.clone()
    }
}

/// Waits (up to 30 s) for a message to `to` whose decoded text contains `marker`.
async fn wait_for_mail(app: &TestApp, to: &str, marker: &str) -> String {
    for _ in 0..300 {
        if let Some(text) = app
            .mail
            .messages()
            .iter()
            .filter(|m| m.to.iter().any(|t| t == to))
            .map(decoded)
            .find(|text| text.contains(marker))
        {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no e-mail to {to} containing {marker:?}");
}

/// The notification e-mails to `to` (not the login code's).
fn mails_to(app: &TestApp, to: &str) -> Vec<String> {
    app.mail
        .messages()
        .iter()
        .filter(|m| m.to.iter().any(|t| t == to))
        .map(decoded)
        .filter(|text| text.contains("Subject: [Rampart]"))
        .collect()
}

async fn set_preferences(app: &TestApp, token: &str, body: Value) -> Value {
    let response = app
        .with_token(Method::PUT, "/api/v1/me/notification-preferences", token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let saved: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{saved}");
    saved
}

async fn import_cve5(app: &TestApp, root: &std::path::Path) {
    let store = Store::connect(&app.config.database).await.unwrap();
    store.ingest_cve_records(&cve5_records(root)).await.unwrap();
    store.close().await;
}

/// The unsubscribe link's path and query (the server's public URL is not set in tests).
fn unsubscribe_path(text: &str) -> String {
    let start = text
        .find("/api/v1/notifications/unsubscribe?token=")
        .unwrap();
    text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '>' && *c != '<')
        .collect()
}

backend_tests! {
    #[configure(fast_notifier)]
    async fn an_alert_is_mailed_with_both_bodies_and_a_working_unsubscribe_link(app) {
        let Some(root) = rampart_test_data::root() else { return };
        let email = "subscriber@a.example";
        let (token, _) = app.user_on_plan(email, "pro").await;
        let before: Value = app.with_token(Method::GET, "/api/v1/me/notification-preferences", &token)
            .send().await.unwrap().json().await.unwrap();
        assert_eq!(before["subscribed"], false, "{before}");
        assert!(before["available_event_types"].as_array().unwrap().iter().any(|t| t == "alert.matched"));
        let saved = set_preferences(&app, &token, json!({"event_types": ["alert.matched"]})).await;
        assert_eq!(saved["subscribed"], true);
        assert_eq!(saved["delivery"], "immediate");
        let watch = create_watch(&app, &token, json!({"name": "flash watch", "vendor": "Pure Storage", "product": "FlashArray"})).await;

        import_cve5(&app, &root).await;
        let text = wait_for_mail(&app, email, "CVE-2024-0001").await;
        assert!(text.contains("Subject: [Rampart] alert.matched: CVE-2024-0001"), "{text}");
        assert!(text.contains("multipart/alternative"), "{text}");
        assert!(text.contains("Content-Type: text/plain"), "{text}");
        assert!(text.contains("Content-Type: text/html"), "{text}");
        assert!(text.contains("List-Unsubscribe: <"), "{text}");
        assert!(text.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"), "{text}");
        assert!(text.contains("Matched on: Pure Storage:FlashArray (CVE record (affected vendor/product))"), "{text}");
        assert!(text.contains("<h2 style=\"font-size: 16px; margin: 0 0 6px;\">CVE-2024-0001 matches your watch &#34;flash watch&#34;</h2>")
            || text.contains("CVE-2024-0001 matches your watch &quot;flash watch&quot;"), "{text}");

        // The match says the e-mail went out.
        let page = wait_for_matches(&app, &token, watch, |p| {
            match_of(p, "CVE-2024-0001").is_some_and(|m| m["delivery"]["email_status"] == "sent")
        }).await;
        let delivery = &match_of(&page, "CVE-2024-0001").unwrap()["delivery"];
        assert_eq!(delivery["emails"][0]["email"], email, "{delivery}");
        assert_eq!(delivery["emails"][0]["delivery"], "immediate");
        assert!(delivery["event_id"].is_i64(), "{delivery}");
        // One e-mail per event: nothing twice.
        let copies = mails_to(&app, email).iter().filter(|t| t.contains("Subject: [Rampart] alert.matched: CVE-2024-0001")).count();
        assert_eq!(copies, 1);

        // The link works without credentials, and only unsubscribes.
        let path = unsubscribe_path(&text);
        let response = app.anonymous(Method::GET, &path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["unsubscribed"], true, "{body}");
        let again = app.anonymous(Method::POST, &path).body("List-Unsubscribe=One-Click").send().await.unwrap();
        assert_eq!(again.status(), StatusCode::OK, "one-click POST is idempotent");
        let after: Value = app.with_token(Method::GET, "/api/v1/me/notification-preferences", &token)
            .send().await.unwrap().json().await.unwrap();
        assert_eq!(after["subscribed"], false, "{after}");
        assert!(after["unsubscribed_at"].is_string());
        // A forged or altered token is refused.
        // The last hex digit changed (a fixed replacement was the same digit one time in 16).
        let last = if path.ends_with('0') { '1' } else { '0' };
        let forged = format!("{}{last}", &path[..path.len() - 1]);
        let response = app.anonymous(Method::GET, &forged).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let response = app.anonymous(Method::GET, "/api/v1/notifications/unsubscribe?token=1.1.00").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);

        // Unsubscribed: a new alert sends nothing.
        let sent = mails_to(&app, email).len();
        let store = Store::connect(&app.config.database).await.unwrap();
        let mut record = cve5_records(&root).into_iter().find(|r| r.cve_id == "CVE-2024-0001").unwrap();
        record.cve_id = "CVE-2099-0001".into();
        store.ingest_cve_records(&[record]).await.unwrap();
        store.close().await;
        wait_for_matches(&app, &token, watch, |p| match_of(p, "CVE-2099-0001").is_some()).await;
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(mails_to(&app, email).len(), sent, "no e-mail after unsubscribing");
    }

    #[configure(fast_notifier)]
    async fn a_daily_digest_batches_events_until_it_is_due(app) {
        let Some(root) = rampart_test_data::root() else { return };
        let email = "digest@a.example";
        let (token, _) = app.user_on_plan(email, "pro").await;
        let saved = set_preferences(&app, &token, json!({"event_types": ["alert.matched"], "delivery": "daily_digest", "digest_hour": 6})).await;
        assert_eq!(saved["delivery"], "daily_digest");
        assert!(saved["next_digest_at"].as_str().unwrap().contains("T06:00:00"), "{saved}");
        let watch = create_watch(&app, &token, json!({"vendor": "Mozilla"})).await;
        import_cve5(&app, &root).await;
        let page = wait_for_matches(&app, &token, watch, |p| {
            p["total"].as_i64() > Some(1)
                && p["items"].as_array().unwrap().iter().all(|m| m["delivery"]["email_status"] == "queued")
        }).await;
        let total = page["total"].as_i64().unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(mails_to(&app, email).is_empty(), "nothing before the digest is due");

        app.config.clock.advance(chrono::Duration::days(1));
        let text = wait_for_mail(&app, email, "Daily digest").await;
        assert!(text.contains("Daily digest for"), "{text}");
        for item in page["items"].as_array().unwrap() {
            let vuln = item["vuln_id"].as_str().unwrap();
            assert!(text.contains(vuln), "{vuln} missing from the digest: {text}");
        }
        assert!(text.contains(&format!("{total} event(s)")), "{text}");
        assert!(text.contains("Content-Type: text/html"));
        wait_for_matches(&app, &token, watch, |p| {
            p["items"].as_array().unwrap().iter().all(|m| m["delivery"]["email_status"] == "sent")
        }).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(mails_to(&app, email).len(), 1, "one digest");
    }

    #[configure(fast_notifier)]
    async fn test_mode_events_send_nothing(app) {
        let Some(root) = rampart_test_data::root() else { return };
        let email = "tester@a.example";
        let (token, _) = app.user_on_plan(email, "pro").await;
        let key: Value = app.with_token(Method::POST, "/api/v1/api-keys", &token)
            .json(&json!({"name": "test key", "test_mode": true})).send().await.unwrap().json().await.unwrap();
        let test_key = key["api_key"].as_str().unwrap().to_string();
        assert!(test_key.starts_with("rk_test_"));
        // A test key cannot change what is mailed.
        let response = app.with_token(Method::PUT, "/api/v1/me/notification-preferences", &test_key)
            .json(&json!({"event_types": ["alert.matched"]})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        set_preferences(&app, &token, json!({"event_types": ["alert.matched"]})).await;
        let test_watch = create_watch(&app, &test_key, json!({"name": "test-mode watch", "vendor": "Pure Storage", "product": "FlashArray"})).await;
        let live_watch = create_watch(&app, &token, json!({"name": "live watch", "vendor": "Mozilla"})).await;
        import_cve5(&app, &root).await;
        let page = wait_for_matches(&app, &test_key, test_watch, |p| match_of(p, "CVE-2024-0001").is_some()).await;
        assert_eq!(match_of(&page, "CVE-2024-0001").unwrap()["delivery"]["email_status"], "test_mode");
        // The live watch's alerts arrive; the test watch's never do.
        wait_for_matches(&app, &token, live_watch, |p| p["total"].as_i64() > Some(0)).await;
        wait_for_mail(&app, email, "live watch").await;
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert!(mails_to(&app, email).iter().all(|t| !t.contains("test-mode watch")), "a test-mode event was mailed");
        // The test watch is invisible to live credentials.
        let response = app.with_token(Method::GET, &format!("/api/v1/alerts/{test_watch}"), &token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }

    async fn preferences_are_validated(app) {
        let (token, _) = app.user_on_plan("prefs@a.example", "pro").await;
        for (body, field) in [
            (json!({"event_types": ["nope.never"]}), "event_types"),
            (json!({"event_types": [], "delivery": "weekly"}), "delivery"),
            (json!({"event_types": [], "delivery": "daily_digest", "digest_hour": 24}), "digest_hour"),
        ] {
            let response = app.with_token(Method::PUT, "/api/v1/me/notification-preferences", &token)
                .json(&body).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            let error: Value = response.json().await.unwrap();
            assert!(error["error"]["message"].as_str().unwrap().contains(&format!("`{field}`")), "{error}");
        }
        // A service account's key has no mailbox.
        let ci: Value = app.with_token(Method::POST, "/api/v1/api-keys", &token)
            .json(&json!({"name": "ci", "service_account": true})).send().await.unwrap().json().await.unwrap();
        let response = app.with_token(Method::GET, "/api/v1/me/notification-preferences", ci["api_key"].as_str().unwrap())
            .send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
}
