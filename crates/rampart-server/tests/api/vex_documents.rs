//! VEX documents and disclosures over real HTTP on both backends: the approval workflow
//! (four eyes, a rejection needs a reason, published documents immutable, new versions
//! supersede with the same identity and a growing revision history), its events and audit
//! entries, scopes, tenancy, every generated format checked by the format's own tooling,
//! and disclosures with their public CSAF distribution.

use std::path::PathBuf;

use rampart_formats::advisory::parse_osv_json;
use rampart_test_data::format_checks::{
    bsi_validator, csaf_provider_schema, csaf_schema, cyclonedx_schema, cyclonedx_xsd,
    openvex_schema, tool_missing, xmllint_available, xsd_check,
};
use rampart_test_support::{backend_tests, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::products::{create_product, create_release, expect_error, json_of, store_of, team_id};

/// Two vulnerabilities of lodash 4.17.20 (one a GHSA with a CVE alias) and one of minimist.
pub(crate) async fn load_knowledge_base(app: &TestApp) {
    let store = store_of(app).await;
    for (id, aliases, package, fixed) in [
        (
            "GHSA-vexd-0001-aaaa",
            vec!["CVE-2099-4001"],
            "lodash",
            "4.17.21",
        ),
        ("GHSA-vexd-0002-bbbb", vec![], "lodash", "4.17.21"),
        (
            "GHSA-vexd-0003-cccc",
            vec!["CVE-2099-4003"],
            "minimist",
            "1.2.6",
        ),
    ] {
        let record = json!({"schema_version": "1.6.0", "id": id, "aliases": aliases,
            "modified": "2024-01-02T00:00:00Z", "published": "2024-01-01T00:00:00Z", "summary": id,
            "affected": [{"package": {"ecosystem": "npm", "name": package},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]});
        let parsed = parse_osv_json(record.to_string().as_bytes()).unwrap();
        store
            .ingest_advisories("osv", &parsed.records)
            .await
            .unwrap();
    }
    store.close().await;
    app.wait_for_index().await;
}

const SBOM: &str = r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
  "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
  "metadata": {"component": {"type": "application", "bom-ref": "shop", "name": "shop", "version": "1.0.0"}},
  "components": [
    {"type": "library", "bom-ref": "lodash", "name": "lodash", "version": "4.17.20", "purl": "pkg:npm/lodash@4.17.20"},
    {"type": "library", "bom-ref": "minimist", "name": "minimist", "version": "1.2.5", "purl": "pkg:npm/minimist@1.2.5"},
    {"type": "library", "bom-ref": "left-pad", "name": "left-pad", "version": "1.3.0", "purl": "pkg:npm/left-pad@1.3.0"}
  ]}"#;

/// A product with a release whose SBOM has three findings: (product id, release id).
pub(crate) async fn release_with_findings(app: &TestApp, name: &str) -> (i64, i64) {
    let product = create_product(app, name).await["id"].as_i64().unwrap();
    let release = create_release(app, product, "1.0.0").await["id"]
        .as_i64()
        .unwrap();
    let uploaded = json_of(
        app.post(&format!("/api/v1/releases/{release}/sboms?wait=true"))
            .header("content-type", "application/vnd.cyclonedx+json")
            .body(SBOM)
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(uploaded["analysis"]["findings_count"], 3, "{uploaded}");
    (product, release)
}

async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app.with_token(method, path, token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

pub(crate) async fn generate(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    json_of(
        call(app, token, Method::POST, path, Some(body)).await,
        StatusCode::CREATED,
    )
    .await
}

pub(crate) async fn step(
    app: &TestApp,
    token: &str,
    id: i64,
    action: &str,
    body: Option<Value>,
) -> reqwest::Response {
    call(
        app,
        token,
        Method::POST,
        &format!("/api/v1/vex-documents/{id}/{action}"),
        body,
    )
    .await
}

async fn content(app: &TestApp, token: &str, id: i64) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let response = call(
        app,
        token,
        Method::GET,
        &format!("/api/v1/vex-documents/{id}/content"),
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    (headers, response.bytes().await.unwrap().to_vec())
}

/// A member of the admin's team (role `member`, so `vex:write`): their session token.
pub(crate) async fn colleague(app: &TestApp, email: &str) -> String {
    let team = team_id(app).await;
    json_of(
        app.post(&format!("/api/v1/teams/{team}/members"))
            .json(&json!({"email": email}))
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    app.login(email).await["token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Submit (by `author`), approve (by `reviewer`) and publish a draft.
pub(crate) async fn publish(app: &TestApp, author: &str, reviewer: &str, id: i64) -> Value {
    json_of(step(app, author, id, "submit", None).await, StatusCode::OK).await;
    json_of(
        step(app, reviewer, id, "approve", None).await,
        StatusCode::OK,
    )
    .await;
    json_of(
        step(app, reviewer, id, "publish", None).await,
        StatusCode::OK,
    )
    .await
}

/// Records a decision on every open finding of `vulnerability` in the release.
async fn decide(app: &TestApp, release: i64, vulnerability: &str, mut decision: Value) {
    decision["vulnerability"] = json!(vulnerability);
    let response = app
        .post(&format!("/api/v1/releases/{release}/dispositions"))
        .json(&decision)
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert!(
        status.is_success(),
        "{status}: {}",
        response.text().await.unwrap()
    );
}

/// Three kinds of decision over the release's three findings.
async fn decide_all(app: &TestApp, release: i64) {
    decide(
        app,
        release,
        "CVE-2099-4003",
        json!({"state": "not_affected", "justification": "code_not_reachable",
        "detail": "minimist only parses our own arguments"}),
    )
    .await;
    decide(
        app,
        release,
        "CVE-2099-4001",
        json!({"state": "exploitable", "responses": ["update"],
        "action_statement": "Upgrade lodash to 4.17.21"}),
    )
    .await;
    decide(
        app,
        release,
        "GHSA-vexd-0002-bbbb",
        json!({"state": "false_positive", "detail": "wrong package"}),
    )
    .await;
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

backend_tests! {
    async fn the_workflow_needs_four_eyes_a_reason_to_reject_and_keeps_published_documents(app) {
        load_knowledge_base(&app).await;
        let (_, release) = release_with_findings(&app, "vex shop").await;
        let admin = app.admin_key.clone();
        let reviewer = colleague(&app, "reviewer@vex.example").await;
        let generate_path = format!("/api/v1/releases/{release}/vex-documents");

        let draft = generate(&app, &admin, &generate_path, json!({"format": "csaf"})).await;
        let first = draft["id"].as_i64().unwrap();
        assert_eq!(draft["status"], "draft");
        assert_eq!(draft["version"], 1);
        assert_eq!(draft["statement_count"], 3, "{draft}");
        let (_, bytes) = content(&app, &admin, first).await;
        assert_eq!(sha256_hex(&bytes), draft["sha256"]);
        let csaf: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(csaf["document"]["tracking"]["status"], "draft");
        // Undecided findings are under investigation; vulnerabilities are named by CVE.
        let cves: Vec<&str> = csaf["vulnerabilities"].as_array().unwrap().iter().filter_map(|v| v["cve"].as_str()).collect();
        assert_eq!(cves, ["CVE-2099-4001", "CVE-2099-4003"]);
        assert!(csaf["vulnerabilities"].as_array().unwrap().iter().all(|v| v["product_status"]["under_investigation"].is_array()));

        // Steps out of order are conflicts; the submitter cannot approve.
        expect_error(step(&app, &reviewer, first, "approve", None).await, StatusCode::CONFLICT, "conflict").await;
        json_of(step(&app, &admin, first, "submit", None).await, StatusCode::OK).await;
        let message = expect_error(step(&app, &admin, first, "approve", None).await, StatusCode::FORBIDDEN, "forbidden").await;
        assert!(message.contains("four-eyes"), "{message}");
        // A rejection needs a reason.
        let message = expect_error(step(&app, &reviewer, first, "reject", Some(json!({}))).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(message.contains("reason"), "{message}");
        expect_error(step(&app, &reviewer, first, "reject", Some(json!({"reason": "  "}))).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let rejected = json_of(step(&app, &reviewer, first, "reject", Some(json!({"reason": "CVE-2099-4003 is not reachable"}))).await, StatusCode::OK).await;
        assert_eq!(rejected["status"], "rejected");
        assert_eq!(rejected["rejection_reason"], "CVE-2099-4003 is not reachable");
        assert_eq!(rejected["rejected_by"], "reviewer@vex.example");

        // A new draft supersedes the rejected one and is still version 1 (nothing published).
        let second = generate(&app, &admin, &generate_path, json!({"format": "csaf"})).await;
        assert_eq!(second["version"], 1);
        assert_eq!(second["tracking_id"], draft["tracking_id"]);
        let old = json_of(call(&app, &admin, Method::GET, &format!("/api/v1/vex-documents/{first}"), None).await, StatusCode::OK).await;
        assert_eq!(old["status"], "superseded");
        let second_id = second["id"].as_i64().unwrap();
        let published = publish(&app, &admin, &reviewer, second_id).await;
        assert_eq!(published["status"], "published");
        assert_eq!(published["approved_by"], "reviewer@vex.example");
        let (headers, bytes) = content(&app, &admin, second_id).await;
        assert_eq!(sha256_hex(&bytes), published["sha256"]);
        assert_eq!(headers["etag"], format!("\"{}\"", published["sha256"].as_str().unwrap()));
        let csaf: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(csaf["document"]["tracking"]["status"], "final");
        assert_eq!(csaf["document"]["tracking"]["version"], "1");

        // Published documents are immutable.
        let path = format!("/api/v1/vex-documents/{second_id}");
        let message = expect_error(call(&app, &admin, Method::PUT, &path, Some(json!({"title": "changed"}))).await, StatusCode::CONFLICT, "conflict").await;
        assert!(message.contains("immutable"), "{message}");
        expect_error(call(&app, &admin, Method::DELETE, &path, None).await, StatusCode::CONFLICT, "conflict").await;
        expect_error(step(&app, &reviewer, second_id, "publish", None).await, StatusCode::CONFLICT, "conflict").await;
        let (_, unchanged) = content(&app, &admin, second_id).await;
        assert_eq!(unchanged, bytes);

        // Decisions change; regenerating makes version 2 of the same document, listing
        // version 1 before it and saying what was decided.
        decide_all(&app, release).await;
        let third = generate(&app, &admin, &generate_path, json!({"format": "csaf", "summary": "Reassessed."})).await;
        assert_eq!(third["version"], 2);
        assert_eq!(third["tracking_id"], published["tracking_id"]);
        assert_eq!(third["serial_number"], published["serial_number"]);
        let third_id = third["id"].as_i64().unwrap();
        // A draft's title can change; it is rendered again.
        let retitled = json_of(call(&app, &admin, Method::PUT, &format!("/api/v1/vex-documents/{third_id}"), Some(json!({"title": "Shop 1.0.0 VEX"}))).await, StatusCode::OK).await;
        assert_ne!(retitled["sha256"], third["sha256"]);
        publish(&app, &admin, &reviewer, third_id).await;
        let (_, bytes) = content(&app, &admin, third_id).await;
        let csaf: Value = serde_json::from_slice(&bytes).unwrap();
        let tracking = &csaf["document"]["tracking"];
        assert_eq!(tracking["version"], "2");
        assert_eq!(csaf["document"]["title"], "Shop 1.0.0 VEX");
        let history: Vec<(&str, &str)> = tracking["revision_history"].as_array().unwrap().iter()
            .map(|r| (r["number"].as_str().unwrap(), r["summary"].as_str().unwrap())).collect();
        assert_eq!(history, [("1", "Initial version."), ("2", "Reassessed.")]);
        assert_eq!(tracking["initial_release_date"], tracking["revision_history"][0]["date"]);
        let status_of = |cve: &str| {
            let vulnerability = csaf["vulnerabilities"].as_array().unwrap().iter().find(|v| v["cve"] == cve).unwrap().clone();
            let status = vulnerability["product_status"].as_object().unwrap();
            (status.keys().cloned().collect::<Vec<_>>(), vulnerability)
        };
        let (states, minimist) = status_of("CVE-2099-4003");
        assert_eq!(states, ["known_not_affected"]);
        assert_eq!(minimist["flags"][0]["label"], "vulnerable_code_not_in_execute_path");
        let (states, lodash) = status_of("CVE-2099-4001");
        assert_eq!(states, ["known_affected"]);
        assert!(lodash["remediations"].to_string().contains("Upgrade lodash to 4.17.21"), "{lodash}");

        // CycloneDX versions keep the serial number; OpenVEX counts its version too.
        for (format, check) in [("cyclonedx-json", "serialNumber"), ("openvex", "@id")] {
            let v1 = generate(&app, &admin, &generate_path, json!({"format": format})).await;
            let v1_id = v1["id"].as_i64().unwrap();
            publish(&app, &admin, &reviewer, v1_id).await;
            let v2 = generate(&app, &admin, &generate_path, json!({"format": format})).await;
            let v2_id = v2["id"].as_i64().unwrap();
            publish(&app, &admin, &reviewer, v2_id).await;
            let one: Value = serde_json::from_slice(&content(&app, &admin, v1_id).await.1).unwrap();
            let two: Value = serde_json::from_slice(&content(&app, &admin, v2_id).await.1).unwrap();
            assert_eq!(one[check], two[check], "{format}");
            assert_eq!((one["version"].as_i64(), two["version"].as_i64()), (Some(1), Some(2)), "{format}");
            if format == "cyclonedx-json" {
                assert_eq!(two["serialNumber"], v1["serial_number"]);
            } else {
                assert_eq!(one["timestamp"], two["timestamp"], "the first release stays");
            }
        }

        // Every transition is an event and an audit entry.
        let events = json_of(call(&app, &admin, Method::GET, &format!("/api/v1/vex-documents/{first}/events"), None).await, StatusCode::OK).await;
        let kinds: Vec<&str> = events.as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["vex.generated", "vex.submitted", "vex.rejected", "vex.superseded"]);
        assert_eq!(events[2]["details"]["reason"], "CVE-2099-4003 is not reachable");
        let audit = json_of(app.get("/api/v1/audit-log?per_page=500&action=vex.").send().await.unwrap(), StatusCode::OK).await;
        let entries = audit["data"].as_array().unwrap();
        for action in ["vex.generate", "vex.submit", "vex.reject", "vex.approve", "vex.publish", "vex.update"] {
            let entry = entries.iter().find(|e| e["action"] == action).unwrap_or_else(|| panic!("no {action}: {audit}"));
            assert_eq!(entry["target_type"], "vex_document", "{entry}");
        }
        let approvals: Vec<&Value> = entries.iter().filter(|e| e["action"] == "vex.approve").collect();
        assert!(approvals.iter().all(|e| e["actor"] == "reviewer@vex.example"), "{approvals:?}");

        // A team admin may allow self-approval (audited); then the submitter approves.
        let team = team_id(&app).await;
        let settings = format!("/api/v1/teams/{team}/vex-settings");
        assert_eq!(json_of(app.get(&settings).send().await.unwrap(), StatusCode::OK).await["allow_self_approval"], false);
        expect_error(call(&app, &reviewer, Method::PATCH, &settings, Some(json!({"allow_self_approval": true}))).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        let changed = json_of(call(&app, &admin, Method::PATCH, &settings, Some(json!({"allow_self_approval": true}))).await, StatusCode::OK).await;
        assert_eq!(changed["allow_self_approval"], true);
        let own = generate(&app, &admin, &generate_path, json!({"format": "cyclonedx-xml"})).await;
        let own_id = own["id"].as_i64().unwrap();
        let approved = publish(&app, &admin, &admin, own_id).await;
        assert_eq!(approved["status"], "published");
        let audit = json_of(app.get("/api/v1/audit-log?action=team.vex_settings").send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(audit["data"][0]["details"]["vex_self_approval"], true, "{audit}");
        // Unpublished documents can be deleted.
        let doomed = generate(&app, &admin, &generate_path, json!({"format": "cyclonedx-xml"})).await;
        let doomed_path = format!("/api/v1/vex-documents/{}", doomed["id"]);
        assert_eq!(call(&app, &admin, Method::DELETE, &doomed_path, None).await.status(), StatusCode::NO_CONTENT);
        expect_error(call(&app, &admin, Method::GET, &doomed_path, None).await, StatusCode::NOT_FOUND, "not_found").await;
    }

    async fn scopes_and_tenancy_guard_documents_and_disclosures(app) {
        load_knowledge_base(&app).await;
        let (product, release) = release_with_findings(&app, "scoped shop").await;
        let admin = app.admin_key.clone();
        let reviewer = colleague(&app, "reviewer@scoped.example").await;
        let document = generate(&app, &admin, &format!("/api/v1/releases/{release}/vex-documents"), json!({"format": "openvex"})).await;
        let id = document["id"].as_i64().unwrap();
        json_of(step(&app, &admin, id, "submit", None).await, StatusCode::OK).await;
        json_of(step(&app, &reviewer, id, "approve", None).await, StatusCode::OK).await;

        let key_with = |scopes: Value| {
            let app = &app;
            let reviewer = reviewer.clone();
            async move {
                json_of(call(app, &reviewer, Method::POST, "/api/v1/api-keys", Some(json!({"name": format!("only {}", scopes[0].as_str().unwrap()), "scopes": scopes}))).await, StatusCode::CREATED).await["api_key"].as_str().unwrap().to_string()
            }
        };
        let vex_read = key_with(json!(["vex:read"])).await;
        let disclosures_read = key_with(json!(["disclosures:read"])).await;
        // vex:read views documents and approvals but cannot publish.
        json_of(call(&app, &vex_read, Method::GET, &format!("/api/v1/vex-documents/{id}"), None).await, StatusCode::OK).await;
        json_of(call(&app, &vex_read, Method::GET, &format!("/api/v1/vex-documents/{id}/events"), None).await, StatusCode::OK).await;
        let message = expect_error(step(&app, &vex_read, id, "publish", None).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        assert!(message.contains("vex:write"), "{message}");
        expect_error(call(&app, &vex_read, Method::POST, &format!("/api/v1/releases/{release}/vex-documents"), Some(json!({"format": "csaf"}))).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        expect_error(call(&app, &vex_read, Method::GET, "/api/v1/disclosures", None).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        expect_error(call(&app, &disclosures_read, Method::GET, "/api/v1/vex-documents", None).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        // Only published documents are disclosures.
        expect_error(call(&app, &disclosures_read, Method::GET, &format!("/api/v1/disclosures/{id}"), None).await, StatusCode::NOT_FOUND, "not_found").await;
        json_of(step(&app, &reviewer, id, "publish", None).await, StatusCode::OK).await;
        json_of(call(&app, &disclosures_read, Method::GET, &format!("/api/v1/disclosures/{id}"), None).await, StatusCode::OK).await;
        // Only owners and admins turn public distribution on.
        expect_error(call(&app, &reviewer, Method::PUT, &format!("/api/v1/products/{product}/disclosure-settings"), Some(json!({"public": true}))).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        // Bad input is a clear 4xx.
        let message = expect_error(call(&app, &admin, Method::POST, &format!("/api/v1/releases/{release}/vex-documents"), Some(json!({"format": "spdx"}))).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(message.contains("format"), "{message}");
        let message = expect_error(call(&app, &admin, Method::POST, &format!("/api/v1/releases/{release}/vex-documents"), Some(json!({"format": "csaf", "include_bom": true}))).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(message.contains("include_bom"), "{message}");
        let empty = create_release(&app, product, "2.0.0").await["id"].as_i64().unwrap();
        let message = expect_error(call(&app, &admin, Method::POST, &format!("/api/v1/releases/{empty}/vex-documents"), Some(json!({"format": "csaf"}))).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(message.contains("at least one vulnerability"), "{message}");
        expect_error(call(&app, &admin, Method::GET, "/api/v1/vex-documents?status=final", None).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

        // Another team sees none of it: 404 for every id of this team.
        let (other, other_team) = app.user_on_plan("other@elsewhere.example", "pro").await;
        for (method, path, body) in [
            (Method::GET, format!("/api/v1/vex-documents/{id}"), None),
            (Method::GET, format!("/api/v1/vex-documents/{id}/content"), None),
            (Method::POST, format!("/api/v1/vex-documents/{id}/submit"), None),
            (Method::DELETE, format!("/api/v1/vex-documents/{id}"), None),
            (Method::GET, format!("/api/v1/disclosures/{id}"), None),
            (Method::GET, format!("/api/v1/disclosures/{id}/download"), None),
            (Method::POST, format!("/api/v1/releases/{release}/vex-documents"), Some(json!({"format": "openvex"}))),
            (Method::POST, format!("/api/v1/products/{product}/vex-documents"), Some(json!({"format": "openvex"}))),
            (Method::PUT, format!("/api/v1/products/{product}/disclosure-settings"), Some(json!({"public": true}))),
            (Method::GET, format!("/api/v1/teams/{}/vex-settings", team_id(&app).await), None),
        ] {
            expect_error(call(&app, &other, method.clone(), &path, body).await, StatusCode::NOT_FOUND, "not_found").await;
        }
        let listed = json_of(call(&app, &other, Method::GET, "/api/v1/disclosures", None).await, StatusCode::OK).await;
        assert_eq!(listed["total"], 0);
        assert!(other_team > 0);
    }

    async fn generated_documents_pass_each_formats_own_tooling(app) {
        let Some(data) = rampart_test_data::root() else { return };
        load_knowledge_base(&app).await;
        let (product, release) = release_with_findings(&app, "checked shop").await;
        let second = create_release(&app, product, "1.1.0").await["id"].as_i64().unwrap();
        json_of(app.post(&format!("/api/v1/releases/{second}/sboms?wait=true"))
            .header("content-type", "application/vnd.cyclonedx+json").body(SBOM).send().await.unwrap(), StatusCode::CREATED).await;
        decide_all(&app, release).await;
        let admin = app.admin_key.clone();
        let reviewer = colleague(&app, "reviewer@checked.example").await;
        let folder = tempfile::tempdir().unwrap();
        let mut csaf_files: Vec<PathBuf> = Vec::new();
        let (openvex, cdx, csaf) = (openvex_schema(&data), cyclonedx_schema(&data), csaf_schema(&data));
        let xmllint = xmllint_available() || !tool_missing("RAMPART_REQUIRE_XMLLINT", "xmllint");
        for (target, body) in [
            (format!("/api/v1/releases/{release}/vex-documents"), json!({"format": "openvex"})),
            (format!("/api/v1/releases/{release}/vex-documents"), json!({"format": "cyclonedx-json"})),
            (format!("/api/v1/releases/{release}/vex-documents"), json!({"format": "cyclonedx-json", "include_bom": true})),
            (format!("/api/v1/releases/{release}/vex-documents"), json!({"format": "cyclonedx-xml"})),
            (format!("/api/v1/releases/{release}/vex-documents"), json!({"format": "cyclonedx-xml", "include_bom": true})),
            (format!("/api/v1/releases/{release}/vex-documents"), json!({"format": "csaf"})),
            (format!("/api/v1/products/{product}/vex-documents"), json!({"format": "csaf"})),
            (format!("/api/v1/products/{product}/vex-documents"), json!({"format": "openvex"})),
            (format!("/api/v1/products/{product}/vex-documents"), json!({"format": "cyclonedx-json"})),
        ] {
            let draft = generate(&app, &admin, &target, body.clone()).await;
            let id = draft["id"].as_i64().unwrap();
            let draft_bytes = content(&app, &admin, id).await.1;
            publish(&app, &admin, &reviewer, id).await;
            let (headers, bytes) = content(&app, &admin, id).await;
            let what = format!("{target} {body}");
            for document in [&draft_bytes, &bytes] {
                match body["format"].as_str().unwrap() {
                    "openvex" => openvex.assert_valid(&what, document),
                    "cyclonedx-json" => cdx.assert_valid(&what, document),
                    "csaf" => {
                        csaf.assert_valid(&what, document);
                        let path = folder.path().join(format!("{}.json", csaf_files.len()));
                        std::fs::write(&path, document).unwrap();
                        csaf_files.push(path);
                    }
                    _ => {
                        if xmllint {
                            if let Err(errors) = xsd_check(&cyclonedx_xsd(&data), document) {
                                panic!("{what} fails the XSD: {errors}\n{}", String::from_utf8_lossy(document));
                            }
                        }
                    }
                }
            }
            let text = String::from_utf8(bytes).unwrap();
            if body["include_bom"] == true {
                assert!(text.contains("left-pad"), "BOM and VEX in one document: {what}");
                assert!(headers["content-type"].to_str().unwrap().starts_with("application/vnd.cyclonedx+"), "{what}");
            }
            if target.contains("/products/") && body["format"] == "csaf" {
                let csaf: Value = serde_json::from_str(&text).unwrap();
                // Branches vendor → product → version, one per release.
                let versions = &csaf["product_tree"]["branches"][0]["branches"][0]["branches"];
                assert_eq!(versions.as_array().unwrap().len(), 2, "{text}");
                assert!(text.contains("pkg:npm/lodash@4.17.20"), "purl helpers: {text}");
            }
        }
        // The check can fail: a broken document is refused.
        let broken = br#"{"document": {"category": "csaf_vex"}}"#;
        assert!(!csaf.errors(broken).is_empty());
        match bsi_validator(&csaf_files) {
            Some(results) => {
                assert_eq!(results.len(), csaf_files.len());
                for result in &results {
                    assert_eq!(result["isValid"], true, "{result:#}");
                }
            }
            None => {
                tool_missing("RAMPART_REQUIRE_CSAF_VALIDATOR", "the BSI CSAF validator (node + `npm ci` in scripts/csaf-validator)");
            }
        }
    }

    async fn disclosures_download_with_etags_and_public_csaf_distribution(app) {
        let Some(data) = rampart_test_data::root() else { return };
        load_knowledge_base(&app).await;
        let (product, release) = release_with_findings(&app, "public shop").await;
        let admin = app.admin_key.clone();
        let reviewer = colleague(&app, "reviewer@public.example").await;
        let generate_path = format!("/api/v1/releases/{release}/vex-documents");
        let csaf = generate(&app, &admin, &generate_path, json!({"format": "csaf"})).await;
        let csaf_id = csaf["id"].as_i64().unwrap();
        let csaf = publish(&app, &admin, &reviewer, csaf_id).await;
        let xml = generate(&app, &admin, &generate_path, json!({"format": "cyclonedx-xml"})).await;
        publish(&app, &admin, &reviewer, xml["id"].as_i64().unwrap()).await;
        let draft = generate(&app, &admin, &generate_path, json!({"format": "openvex"})).await;

        // The listing holds published documents only, filtered as asked.
        let all = json_of(app.get("/api/v1/disclosures").send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(all["total"], 2, "{all}");
        let only = json_of(app.get(&format!("/api/v1/disclosures?format=csaf&product_id={product}&release_id={release}")).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(only["total"], 1);
        assert_eq!(only["items"][0]["id"], csaf_id);
        let later = json_of(app.get("/api/v1/disclosures?since=2999-01-01T00:00:00Z").send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(later["total"], 0);
        let paged = json_of(app.get("/api/v1/disclosures?per_page=1&page=2").send().await.unwrap(), StatusCode::OK).await;
        assert_eq!((paged["items"].as_array().unwrap().len(), paged["total"].as_i64()), (1, Some(2)));

        // Downloads carry the content type, the SHA-256 as ETag, and a file name.
        let download = app.get(&format!("/api/v1/disclosures/{csaf_id}/download")).send().await.unwrap();
        assert_eq!(download.status(), StatusCode::OK);
        let etag = download.headers()["etag"].to_str().unwrap().to_string();
        assert_eq!(etag, format!("\"{}\"", csaf["sha256"].as_str().unwrap()));
        assert_eq!(download.headers()["content-type"], "application/json");
        assert!(download.headers()["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\""));
        let bytes = download.bytes().await.unwrap();
        assert_eq!(sha256_hex(&bytes), csaf["sha256"]);
        let again = app.get(&format!("/api/v1/disclosures/{csaf_id}/download")).header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert!(again.bytes().await.unwrap().is_empty());
        let other = app.get(&format!("/api/v1/disclosures/{csaf_id}/download")).header("if-none-match", "\"0000\"").send().await.unwrap();
        assert_eq!(other.status(), StatusCode::OK);
        let xml_download = app.get(&format!("/api/v1/disclosures/{}/download", xml["id"])).send().await.unwrap();
        assert_eq!(xml_download.headers()["content-type"], "application/vnd.cyclonedx+xml; version=1.6");

        // Public distribution is off by default, and only then are there public URLs.
        let team = team_id(&app).await;
        let public = format!("/public/disclosures/{team}");
        expect_error(app.anonymous(Method::GET, &public).send().await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
        let setting = json_of(app.get(&format!("/api/v1/products/{product}/disclosure-settings")).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(setting["public"], false);
        let setting = json_of(app.request(Method::PUT, &format!("/api/v1/products/{product}/disclosure-settings")).json(&json!({"public": true})).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(setting["public"], true);
        let audit = json_of(app.get("/api/v1/audit-log?action=disclosure.distribution").send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(audit["data"][0]["target_id"], product.to_string(), "{audit}");

        let index = json_of(app.anonymous(Method::GET, &public).send().await.unwrap(), StatusCode::OK).await;
        let listed: Vec<i64> = index.as_array().unwrap().iter().map(|d| d["id"].as_i64().unwrap()).collect();
        assert_eq!(listed.len(), 2, "drafts are not public: {index}");
        assert!(!listed.contains(&draft["id"].as_i64().unwrap()));
        assert_eq!(index[0]["product"], "public shop");
        let url = index.as_array().unwrap().iter().find(|d| d["id"] == csaf_id).unwrap()["url"].as_str().unwrap().to_string();
        let public_bytes = app.anonymous(Method::GET, &url).send().await.unwrap().bytes().await.unwrap();
        assert_eq!(public_bytes, bytes);

        // CSAF 2.0 §7: provider metadata (valid against its schema), index.txt, changes.csv,
        // per-year folders and .sha256 files.
        let metadata_path = format!("{public}/csaf/provider-metadata.json");
        let metadata = app.anonymous(Method::GET, &metadata_path).send().await.unwrap().bytes().await.unwrap();
        let schema = csaf_provider_schema(&data);
        schema.assert_valid("provider-metadata.json", &metadata);
        let metadata: Value = serde_json::from_slice(&metadata).unwrap();
        assert!(metadata["canonical_url"].as_str().unwrap().ends_with(&metadata_path), "{metadata}");
        let mut broken = metadata.clone();
        broken["role"] = json!("csaf_mirror");
        assert!(!schema.errors(broken.to_string().as_bytes()).is_empty(), "the schema check can fail");
        let directory = metadata["distributions"][0]["directory_url"].as_str().unwrap().to_string();
        let index_txt = app.anonymous(Method::GET, &format!("{public}/csaf/white/index.txt")).send().await.unwrap().text().await.unwrap();
        let year = chrono::Utc::now().format("%Y").to_string();
        let tracking = csaf["tracking_id"].as_str().unwrap();
        assert_eq!(index_txt, format!("{year}/{tracking}.json\n"));
        let changes = app.anonymous(Method::GET, &format!("{public}/csaf/white/changes.csv")).send().await.unwrap().text().await.unwrap();
        assert!(changes.starts_with(&format!("\"{year}/{tracking}.json\",\"{year}-")), "{changes}");
        let file = app.client.get(format!("{directory}{year}/{tracking}.json")).send().await.unwrap();
        assert_eq!(file.status(), StatusCode::OK, "{directory}");
        assert_eq!(file.bytes().await.unwrap(), bytes);
        let hash = app.anonymous(Method::GET, &format!("{public}/csaf/white/{year}/{tracking}.json.sha256")).send().await.unwrap().text().await.unwrap();
        assert_eq!(hash, format!("{}  {tracking}.json\n", sha256_hex(&bytes)));
        expect_error(app.anonymous(Method::GET, &format!("{public}/csaf/white/{year}/nothing.json")).send().await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;

        // Off again: nothing public.
        json_of(app.request(Method::PUT, &format!("/api/v1/products/{product}/disclosure-settings")).json(&json!({"public": false})).send().await.unwrap(), StatusCode::OK).await;
        expect_error(app.anonymous(Method::GET, &url).send().await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
        expect_error(app.anonymous(Method::GET, &metadata_path).send().await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
    }
}
