//! The event stream (`GET /api/v1/events`): findings, re-analyses, SARIF imports and the VEX
//! workflow write their events in the transaction of the change; the list filters by type
//! and time and pages by cursor; test keys see only test-mode events; sync runs' server-wide
//! events reach the operator team only. Both backends.

use std::time::Duration;

use rampart_server::ServerConfig;
use rampart_test_support::{backend_tests, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const SBOM: &str = r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
    "components": [{"type": "library", "name": "lodash", "version": "4.17.20",
                    "purl": "pkg:npm/lodash@4.17.20"}]}"#;

/// One OSV record affecting lodash < 4.17.21, loaded straight into the knowledge base.
pub async fn load_lodash_advisory(app: &TestApp) {
    let store = rampart_store::Store::connect(&app.config.database)
        .await
        .unwrap();
    let record = json!({"schema_version": "1.6.0", "id": "GHSA-evts-0001", "modified": "2024-01-02T00:00:00Z",
        "aliases": ["CVE-2099-8001"], "summary": "events record",
        "affected": [{"package": {"ecosystem": "npm", "name": "lodash"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}]}]});
    let parsed = rampart_formats::advisory::parse_osv_json(record.to_string().as_bytes()).unwrap();
    store
        .ingest_advisories("osv", &parsed.records)
        .await
        .unwrap();
    store.close().await;
    app.wait_for_index().await;
}

async fn json_ok(response: reqwest::Response, status: StatusCode) -> Value {
    let actual = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "{text}");
    serde_json::from_str(&text).unwrap()
}

async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let mut request = app.with_token(method.clone(), path, token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{method} {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A product, a release and an analysed SBOM made with `token`: (release id, SBOM id).
pub async fn analysed_sbom(app: &TestApp, token: &str, name: &str) -> (i64, i64) {
    let product = call(
        app,
        token,
        Method::POST,
        "/api/v1/products",
        Some(json!({"name": name})),
    )
    .await;
    let release = call(
        app,
        token,
        Method::POST,
        &format!("/api/v1/products/{}/releases", product["id"]),
        Some(json!({"version": "1.0.0"})),
    )
    .await;
    let release_id = release["id"].as_i64().unwrap();
    let response = app
        .with_token(
            Method::POST,
            &format!("/api/v1/releases/{release_id}/sboms?wait=true"),
            token,
        )
        .header("content-type", "application/vnd.cyclonedx+json")
        .body(SBOM)
        .send()
        .await
        .unwrap();
    let upload = json_ok(response, StatusCode::CREATED).await;
    assert_eq!(upload["analysis"]["status"], "completed", "{upload}");
    (release_id, upload["sbom"]["id"].as_i64().unwrap())
}

async fn events(app: &TestApp, token: &str, query: &str) -> Value {
    json_ok(
        app.with_token(Method::GET, &format!("/api/v1/events{query}"), token)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await
}

fn types(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{page}"))
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

async fn new_key(
    app: &TestApp,
    session: &str,
    name: &str,
    test_mode: bool,
    scopes: Option<&[&str]>,
) -> String {
    let mut body = json!({"name": name, "test_mode": test_mode});
    if let Some(scopes) = scopes {
        body["scopes"] = json!(scopes);
    }
    let created = call(app, session, Method::POST, "/api/v1/api-keys", Some(body)).await;
    created["api_key"].as_str().unwrap().to_string()
}

fn failing_sync(config: &mut ServerConfig) {
    config.sync.outbound.allow_private_targets = true;
    config.sync.poll_interval = Duration::from_millis(50);
}

backend_tests! {
    async fn changes_write_their_events_and_the_list_filters_and_pages(app) {
        load_lodash_advisory(&app).await;
        let (session, team) = app.user_on_plan("stream@example.com", "pro").await;
        let (release_id, sbom_id) = analysed_sbom(&app, &session, "stream-product").await;

        let page = events(&app, &session, "").await;
        assert_eq!(types(&page), ["finding.new"], "{page}");
        let event = &page["items"][0];
        assert_eq!(event["team_id"], team);
        assert_eq!(event["test_mode"], false);
        assert_eq!(event["data"]["release_id"], release_id);
        assert_eq!(event["data"]["sbom_id"], sbom_id);
        assert_eq!(event["data"]["vulnerability_id"], "GHSA-evts-0001");
        assert_eq!(event["data"]["component"], json!({"name": "lodash", "version": "4.17.20",
            "purl": "pkg:npm/lodash@4.17.20"}));
        assert!(event["data"]["finding_id"].is_i64());
        assert!(event["data"]["product_id"].is_i64() && event["data"]["analysis_id"].is_i64(), "{event}");
        assert_eq!(page["has_more"], false);
        assert_eq!(page["next_after"], event["id"]);

        // The older finding-events list is the finding part of the same stream, same ids.
        let legacy = json_ok(app.with_token(Method::GET, "/api/v1/finding-events", &session).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(legacy[0]["id"], event["id"]);
        assert_eq!(legacy[0]["kind"], "finding.new");
        assert_eq!(legacy[0]["finding_id"], event["data"]["finding_id"]);
        assert_eq!(legacy[0]["release_id"], release_id);

        // CISA KEV lists the finding's CVE: finding.kev_added, once (a repeat changes nothing).
        let store = rampart_store::Store::connect(&app.config.database).await.unwrap();
        let kev = json!({"cveID": "CVE-2099-8001", "vendorProject": "lodash", "product": "lodash",
            "vulnerabilityName": "lodash events test", "dateAdded": "2026-11-30",
            "shortDescription": "d", "requiredAction": "patch", "dueDate": "2026-12-21",
            "knownRansomwareCampaignUse": "Unknown", "notes": ""});
        let entries = rampart_formats::advisory::parse_kev_json(kev.to_string().as_bytes()).unwrap().entries.records;
        for _ in 0..2 {
            store.ingest_kev(&entries).await.unwrap();
        }
        store.close().await;
        let listed = events(&app, &session, "?type=finding.kev_added").await;
        assert_eq!(types(&listed), ["finding.kev_added"], "{listed}");
        assert_eq!(listed["items"][0]["data"]["cve_id"], "CVE-2099-8001");
        assert_eq!(listed["items"][0]["data"]["finding_id"], event["data"]["finding_id"]);
        assert_eq!(listed["items"][0]["data"]["kev"]["due_date"], "2026-12-21");

        // A re-analysis on demand: finding.reanalysed with its counts.
        let queued = call(&app, &session, Method::POST, &format!("/api/v1/sboms/{sbom_id}/analyses"), None).await;
        let analysis = queued["id"].as_i64().unwrap();
        let mut reanalysed = Value::Null;
        for _ in 0..200 {
            reanalysed = events(&app, &session, "?type=finding.reanalysed").await;
            if !reanalysed["items"].as_array().unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let data = &reanalysed["items"][0]["data"];
        assert_eq!(data["analysis_id"], analysis, "{reanalysed}");
        assert_eq!(data["reason"], "manual");
        assert_eq!(data["findings"], 1);
        assert_eq!(data["new_findings"], 0);

        // The VEX workflow: submitted, approved, published.
        call(&app, &session, Method::PATCH, &format!("/api/v1/teams/{team}/vex-settings"), Some(json!({"allow_self_approval": true}))).await;
        let document = call(&app, &session, Method::POST, &format!("/api/v1/releases/{release_id}/vex-documents"), Some(json!({"format": "openvex"}))).await;
        let document_id = document["id"].as_i64().unwrap();
        for step in ["submit", "approve", "publish"] {
            call(&app, &session, Method::POST, &format!("/api/v1/vex-documents/{document_id}/{step}"), None).await;
        }
        let vex = events(&app, &session, "?type=vex.submitted,vex.approved,vex.published,vex.rejected").await;
        assert_eq!(types(&vex), ["vex.submitted", "vex.approved", "vex.published"], "{vex}");
        assert_eq!(vex["items"][2]["data"]["document_id"], document_id);
        assert_eq!(vex["items"][2]["data"]["status"], "published");

        // A SARIF import.
        let integration = call(&app, &session, Method::POST, "/api/v1/integrations",
            Some(json!({"name": "stream-ci", "type": "SEMGREP"}))).await;
        let sarif = json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "stream-scanner"}},
            "results": [{"ruleId": "r1", "message": {"text": "m"},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a.py"}, "region": {"startLine": 1}}}]}]}]});
        let import = app.with_token(Method::POST, &format!("/api/v1/integrations/{}/sarif?repository=acme/app", integration["id"]), &session)
            .body(sarif.to_string()).send().await.unwrap();
        let import = json_ok(import, StatusCode::CREATED).await;
        let imported = events(&app, &session, "?type=sarif.imported").await;
        assert_eq!(imported["items"][0]["data"]["import_id"], import["id"], "{imported}");
        assert_eq!(imported["items"][0]["data"]["new"], 1);

        // Paging by cursor walks the whole stream once, oldest first.
        let all = types(&events(&app, &session, "").await);
        assert_eq!(all.len(), 7, "{all:?}");
        let mut walked = Vec::new();
        let mut after = 0;
        loop {
            let page = events(&app, &session, &format!("?per_page=2&after={after}")).await;
            walked.extend(types(&page));
            after = page["next_after"].as_i64().unwrap();
            if page["has_more"] == false {
                break;
            }
        }
        assert_eq!(walked, all);
        // `since` in the future: nothing.
        let future = events(&app, &session, "?since=2999-01-01T00:00:00Z").await;
        assert!(future["items"].as_array().unwrap().is_empty());
        let event_id = page["items"][0]["id"].as_i64().unwrap();
        let one = json_ok(app.with_token(Method::GET, &format!("/api/v1/events/{event_id}"), &session).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(one["type"], "finding.new");

        // Bad parameters name themselves.
        for (query, field) in [("?type=finding.old", "type"), ("?per_page=0", "per_page"), ("?after=-1", "after"), ("?since=yesterday", "since")] {
            let response = app.with_token(Method::GET, &format!("/api/v1/events{query}"), &session).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
            let body: Value = response.json().await.unwrap();
            assert!(body["error"]["message"].as_str().unwrap().contains(field), "{query}: {body}");
        }

        // The scope: webhooks:read.
        let no_scope = new_key(&app, &session, "products only", false, Some(&["products:read"])).await;
        let refused = app.with_token(Method::GET, "/api/v1/events", &no_scope).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        let reader = new_key(&app, &session, "webhooks reader", false, Some(&["webhooks:read"])).await;
        assert_eq!(types(&events(&app, &reader, "").await), all);
    }

    async fn test_keys_see_only_test_mode_events(app) {
        load_lodash_advisory(&app).await;
        let (session, _) = app.user_on_plan("sandbox@example.com", "pro").await;
        let test = new_key(&app, &session, "sandbox", true, None).await;
        analysed_sbom(&app, &session, "live-product").await;
        analysed_sbom(&app, &test, "test-product").await;
        let live_events = events(&app, &session, "").await;
        let test_events = events(&app, &test, "").await;
        assert_eq!(types(&live_events), ["finding.new"]);
        assert_eq!(types(&test_events), ["finding.new"]);
        assert_eq!(live_events["items"][0]["test_mode"], false);
        assert_eq!(test_events["items"][0]["test_mode"], true);
        assert_ne!(live_events["items"][0]["id"], test_events["items"][0]["id"]);
        let crossing = app.with_token(Method::GET, &format!("/api/v1/events/{}", live_events["items"][0]["id"]), &test).send().await.unwrap();
        assert_eq!(crossing.status(), StatusCode::NOT_FOUND);
    }

    #[configure(failing_sync)]
    async fn sync_runs_are_server_wide_events_of_the_operator_team(app) {
        let source = app.post("/api/v1/security/cve/sync-sources")
            .json(&json!({"config": {"id": "events-kev", "type": "KEV", "url": "http://127.0.0.1:9/kev.json", "syncIntervalHours": 24}}))
            .send().await.unwrap();
        assert_eq!(source.status(), StatusCode::OK, "{}", source.text().await.unwrap());
        let run = app.post("/api/v1/security/cve/sync-sources/events-kev/run").send().await.unwrap();
        assert_eq!(run.status(), StatusCode::ACCEPTED);
        let mut failed = Value::Null;
        for _ in 0..400 {
            failed = events(&app, &app.admin_key, "?type=sync.failed,sync.completed").await;
            if !failed["items"].as_array().unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let event = &failed["items"][0];
        assert_eq!(event["type"], "sync.failed", "{failed}");
        assert_eq!(event["team_id"], Value::Null);
        assert_eq!(event["data"]["source_id"], "events-kev");
        assert!(event["data"]["error"].is_string());
        // Another team never sees it.
        let (other, _) = app.user_on_plan("other@example.com", "pro").await;
        assert!(events(&app, &other, "").await["items"].as_array().unwrap().is_empty());
        let hidden = app.with_token(Method::GET, &format!("/api/v1/events/{}", event["id"]), &other).send().await.unwrap();
        assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    }
}
