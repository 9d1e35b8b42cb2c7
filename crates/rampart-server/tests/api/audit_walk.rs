//! Every mutation is audited (DESIGN §4): a walk over every mutating route of the OpenAPI
//! document (POST, PUT, PATCH, DELETE), each called once with real objects, checking that the
//! change wrote its audit entry with actor, team, action, target, request id and source IP.
//! A route the document gains and the walk does not call fails the test, so a new mutation
//! cannot go unaudited unnoticed.

use std::collections::BTreeSet;

use rampart_store::DatabaseLocation;
use rampart_test_support::{backend_tests, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// POST routes that change nothing (queries with a body).
const READ_ONLY: &[(&str, &str)] = &[("post", "/v1/query"), ("post", "/v1/querybatch")];

const SBOM: &str = r#"{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,
  "components":[{"type":"library","bom-ref":"a","name":"lodash","version":"4.17.20",
  "purl":"pkg:npm/lodash@4.17.20"}]}"#;

/// A one-result SARIF log.
const SARIF: &str = r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"walk-scanner"}},
  "results":[{"ruleId":"W1","level":"error","message":{"text":"walked"},
  "locations":[{"physicalLocation":{"artifactLocation":{"uri":"src/app.py"},
  "region":{"startLine":3,"snippet":{"text":"eval(x)"}}}}]}]}]}"#;

/// Who makes a call.
#[derive(Clone, Copy)]
enum Caller<'a> {
    Anonymous,
    Token(&'a str),
}

/// One audit entry as stored.
#[derive(Debug)]
struct Entry {
    team_id: Option<i64>,
    actor: String,
    actor_kind: String,
    action: String,
    target_type: Option<String>,
    target_id: Option<String>,
    source_ip: Option<String>,
}

/// What one call must have recorded.
struct Expected {
    route: (String, String),
    request_id: String,
    action: &'static str,
    team_id: Option<i64>,
    target_type: Option<&'static str>,
}

struct Walk<'a> {
    app: &'a TestApp,
    covered: BTreeSet<(String, String)>,
    expected: Vec<Expected>,
}

impl<'a> Walk<'a> {
    /// Calls `method path` (an instance of the document's `template`) and expects `status`
    /// and an audit entry `action` in `team_id` targeting a `target_type`. Returns the body.
    #[allow(clippy::too_many_arguments)]
    async fn call(
        &mut self,
        caller: Caller<'_>,
        method: Method,
        template: &str,
        path: &str,
        body: Option<Value>,
        status: StatusCode,
        action: &'static str,
        team_id: Option<i64>,
        target_type: Option<&'static str>,
    ) -> Value {
        let request_id = format!("audit-walk-{}", self.expected.len());
        let mut request = match caller {
            Caller::Anonymous => self.app.anonymous(method.clone(), path),
            Caller::Token(token) => self.app.with_token(method.clone(), path, token),
        }
        .header("x-request-id", &request_id);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let actual = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(actual, status, "{method} {path}: {body}");
        let route = (method.as_str().to_lowercase(), template.to_string());
        self.covered.insert(route.clone());
        self.expected.push(Expected {
            route,
            request_id,
            action,
            team_id,
            target_type,
        });
        body
    }
}

/// The audit entries written for `request_id`, read from the database itself (team-less
/// entries such as a login-code request are in no team's export).
async fn entries_for(app: &TestApp, request_id: &str) -> Vec<Entry> {
    const SQL: &str = "SELECT team_id, actor, actor_kind, action, target_type, target_id, source_ip
                       FROM audit_log WHERE request_id = $1 ORDER BY id";
    type Row = (
        Option<i64>,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = match &app.config.database {
        DatabaseLocation::SqliteDir(dir) => {
            let pool = sqlx::SqlitePool::connect(&format!(
                "sqlite://{}",
                dir.join("rampart.db").display()
            ))
            .await
            .unwrap();
            let rows = sqlx::query_as(SQL)
                .bind(request_id)
                .fetch_all(&pool)
                .await
                .unwrap();
            pool.close().await;
            rows
        }
        DatabaseLocation::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let rows = sqlx::query_as(SQL)
                .bind(request_id)
                .fetch_all(&pool)
                .await
                .unwrap();
            pool.close().await;
            rows
        }
    };
    rows.into_iter()
        .map(
            |(team_id, actor, actor_kind, action, target_type, target_id, source_ip)| Entry {
                team_id,
                actor,
                actor_kind,
                action,
                target_type,
                target_id,
                source_ip,
            },
        )
        .collect()
}

/// The app's secret key (generated into the data directory on SQLite).
fn app_secret_key(app: &TestApp) -> rampart_engine::sync::SecretKey {
    match (&app.config.secret_key, &app.config.database) {
        (Some(key), _) => key.clone(),
        (None, DatabaseLocation::SqliteDir(dir)) => {
            rampart_engine::sync::SecretKey::load_or_create(&dir.join("secret.key")).unwrap()
        }
        (None, DatabaseLocation::Postgres(_)) => panic!("PostgreSQL apps have a configured key"),
    }
}

/// The document's mutating operations, as (lower-case method, path template).
async fn mutating_routes(app: &TestApp) -> BTreeSet<(String, String)> {
    let document: Value = app
        .anonymous(Method::GET, "/api/v1/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut routes = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in ["post", "put", "patch", "delete"] {
            if item.get(method).is_some() && !READ_ONLY.contains(&(method, path.as_str())) {
                routes.insert((method.to_string(), path.clone()));
            }
        }
    }
    routes
}

fn id_of(body: &Value, field: &str) -> i64 {
    body[field]
        .as_i64()
        .unwrap_or_else(|| panic!("no {field} in {body}"))
}

backend_tests! {
    // The walk's sync run fails at once on a closed loopback port instead of going online.
    // Webhook deliveries fail at once on the same kind of port. The walk starts five scans
    // at once; on a loaded machine they may all still be queued, so the per-team cap (tested
    // in `scans`) is lifted here.
    #[configure(|c| {
        c.sync.outbound.allow_private_targets = true;
        c.webhooks.outbound.allow_private_targets = true;
        c.scans.targets.allowed = vec!["127.0.0.0/8".parse().unwrap()];
        c.scans.concurrent_per_team = 1_000;
    })]
    async fn every_mutating_route_writes_its_audit_entry(app) {
        let admin = app.admin_key.clone();
        let admin_team = id_of(
            &app.get("/api/v1/me").send().await.unwrap().json::<Value>().await.unwrap()["team"],
            "id",
        );
        let mut walk = Walk { app: &app, covered: BTreeSet::new(), expected: Vec::new() };
        let admin = Caller::Token(&admin);
        use Method as M;
        use StatusCode as S;

        // Login (anonymous): a code request, then its verification.
        let email = "walker@example.test";
        walk.call(Caller::Anonymous, M::POST, "/api/v1/auth/otp", "/api/v1/auth/otp",
            Some(json!({"email": email})), S::ACCEPTED, "auth.otp_request", None, Some("email")).await;
        let code = app.mail.last_to(email).and_then(|m| m.six_digits_after("code is ")).unwrap();
        let login = walk.call(Caller::Anonymous, M::POST, "/api/v1/auth/otp/verify",
            "/api/v1/auth/otp/verify", Some(json!({"email": email, "code": code})), S::OK,
            "auth.login", None, None).await;
        let user_team = id_of(&login, "team_id");
        let session = login["token"].as_str().unwrap().to_string();
        let response = app
            .request(M::PUT, &format!("/api/v1/teams/{user_team}/plan"))
            .json(&json!({"plan": "enterprise"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), S::OK);
        let user = Caller::Token(&session);

        // Products and releases, canonical paths.
        let product = walk.call(admin, M::POST, "/api/v1/products", "/api/v1/products",
            Some(json!({"name": "walked"})), S::CREATED, "product.create", Some(admin_team),
            Some("product")).await;
        let product_id = id_of(&product, "id");
        walk.call(admin, M::PATCH, "/api/v1/products/{id}", &format!("/api/v1/products/{product_id}"),
            Some(json!({"description": "changed"})), S::OK, "product.update", Some(admin_team),
            Some("product")).await;
        let release = walk.call(admin, M::POST, "/api/v1/products/{id}/releases",
            &format!("/api/v1/products/{product_id}/releases"), Some(json!({"version": "1.0.0"})),
            S::CREATED, "release.create", Some(admin_team), Some("release")).await;
        let release_id = id_of(&release, "id");
        walk.call(admin, M::PATCH, "/api/v1/releases/{id}", &format!("/api/v1/releases/{release_id}"),
            Some(json!({"status": "released"})), S::OK, "release.update", Some(admin_team),
            Some("release")).await;

        // SBOMs, with a knowledge-base record so that the SBOM has a finding to triage.
        let record = json!({"schema_version": "1.6.0", "id": "GHSA-walk-0001",
            "aliases": ["CVE-2099-7001"], "modified": "2024-01-02T00:00:00Z",
            "affected": [{"package": {"ecosystem": "npm", "name": "lodash"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}]}]});
        let records = rampart_formats::advisory::parse_osv_json(record.to_string().as_bytes())
            .unwrap()
            .records;
        let store = crate::products::store_of(&app).await;
        store.ingest_advisories("osv", &records).await.unwrap();
        app.wait_for_index().await;
        let request_id = format!("audit-walk-{}", walk.expected.len());
        let response = app
            .post(&format!("/api/v1/releases/{release_id}/sboms?wait=true"))
            .header("x-request-id", &request_id)
            .header("content-type", "application/vnd.cyclonedx+json")
            .body(SBOM)
            .send()
            .await
            .unwrap();
        let uploaded: Value = response.json().await.unwrap();
        let sbom_id = id_of(&uploaded["sbom"], "id");
        let route = ("post".to_string(), "/api/v1/releases/{id}/sboms".to_string());
        walk.covered.insert(route.clone());
        walk.expected.push(Expected { route, request_id, action: "sbom.upload",
            team_id: Some(admin_team), target_type: Some("sbom") });
        assert_eq!(uploaded["analysis"]["findings_count"], 1, "{uploaded}");

        // Triage and re-analysis on demand.
        walk.call(admin, M::POST, "/api/v1/releases/{id}/dispositions",
            &format!("/api/v1/releases/{release_id}/dispositions"),
            Some(json!({"vulnerability": "CVE-2099-7001", "state": "in_triage"})), S::CREATED,
            "disposition.create", Some(admin_team), Some("release")).await;
        walk.call(admin, M::POST, "/api/v1/products/{id}/dispositions",
            &format!("/api/v1/products/{product_id}/dispositions"),
            Some(json!({"vulnerability": "CVE-2099-7001", "state": "exploitable",
                "action_statement": "Upgrade lodash to 4.17.21"})), S::CREATED,
            "disposition.create", Some(admin_team), Some("product")).await;
        walk.call(admin, M::POST, "/api/v1/releases/{id}/vex-imports",
            &format!("/api/v1/releases/{release_id}/vex-imports"),
            Some(json!({"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://vex.example.com/walk",
                "author": "walk", "timestamp": "2024-01-01T00:00:00Z", "version": 1,
                "statements": [{"vulnerability": {"name": "CVE-2099-7001"},
                    "products": [{"@id": "pkg:npm/lodash@4.17.20"}], "status": "under_investigation"}]})),
            S::CREATED, "vex.import", Some(admin_team), Some("release")).await;
        walk.call(admin, M::POST, "/api/v1/sboms/{id}/analyses",
            &format!("/api/v1/sboms/{sbom_id}/analyses"), None, S::ACCEPTED, "analysis.trigger",
            Some(admin_team), Some("sbom")).await;
        walk.call(admin, M::POST, "/api/v1/releases/{id}/analyses",
            &format!("/api/v1/releases/{release_id}/analyses"), None, S::ACCEPTED,
            "analysis.trigger", Some(admin_team), Some("release")).await;
        // VEX documents: the team allows self-approval, then one document goes through
        // generate, change, submit, approve, publish; another is rejected and deleted.
        walk.call(admin, M::PATCH, "/api/v1/teams/{team_id}/vex-settings",
            &format!("/api/v1/teams/{admin_team}/vex-settings"),
            Some(json!({"allow_self_approval": true})), S::OK, "team.vex_settings",
            Some(admin_team), Some("team")).await;
        let document = walk.call(admin, M::POST, "/api/v1/releases/{id}/vex-documents",
            &format!("/api/v1/releases/{release_id}/vex-documents"), Some(json!({"format": "csaf"})),
            S::CREATED, "vex.generate", Some(admin_team), Some("vex_document")).await;
        let document_id = id_of(&document, "id");
        walk.call(admin, M::PUT, "/api/v1/vex-documents/{id}",
            &format!("/api/v1/vex-documents/{document_id}"), Some(json!({"title": "Walked VEX"})),
            S::OK, "vex.update", Some(admin_team), Some("vex_document")).await;
        for (step, action) in [("submit", "vex.submit"), ("approve", "vex.approve"), ("publish", "vex.publish")] {
            walk.call(admin, M::POST, &format!("/api/v1/vex-documents/{{id}}/{step}"),
                &format!("/api/v1/vex-documents/{document_id}/{step}"), None, S::OK, action,
                Some(admin_team), Some("vex_document")).await;
        }
        let document = walk.call(admin, M::POST, "/api/v1/products/{id}/vex-documents",
            &format!("/api/v1/products/{product_id}/vex-documents"), Some(json!({"format": "openvex"})),
            S::CREATED, "vex.generate", Some(admin_team), Some("vex_document")).await;
        let document_id = id_of(&document, "id");
        walk.call(admin, M::POST, "/api/v1/vex-documents/{id}/submit",
            &format!("/api/v1/vex-documents/{document_id}/submit"), None, S::OK, "vex.submit",
            Some(admin_team), Some("vex_document")).await;
        walk.call(admin, M::POST, "/api/v1/vex-documents/{id}/reject",
            &format!("/api/v1/vex-documents/{document_id}/reject"), Some(json!({"reason": "walk"})),
            S::OK, "vex.reject", Some(admin_team), Some("vex_document")).await;
        walk.call(admin, M::DELETE, "/api/v1/vex-documents/{id}",
            &format!("/api/v1/vex-documents/{document_id}"), None, S::NO_CONTENT, "vex.delete",
            Some(admin_team), Some("vex_document")).await;
        walk.call(admin, M::PUT, "/api/v1/products/{id}/disclosure-settings",
            &format!("/api/v1/products/{product_id}/disclosure-settings"), Some(json!({"public": true})),
            S::OK, "disclosure.distribution", Some(admin_team), Some("product")).await;
        walk.call(admin, M::DELETE, "/api/v1/sboms/{id}", &format!("/api/v1/sboms/{sbom_id}"),
            None, S::NO_CONTENT, "sbom.delete", Some(admin_team), Some("sbom")).await;
        walk.call(admin, M::DELETE, "/api/v1/releases/{id}", &format!("/api/v1/releases/{release_id}"),
            None, S::NO_CONTENT, "release.delete", Some(admin_team), Some("release")).await;
        walk.call(admin, M::DELETE, "/api/v1/products/{id}", &format!("/api/v1/products/{product_id}"),
            None, S::NO_CONTENT, "product.delete", Some(admin_team), Some("product")).await;

        // The same resources at seed 004's paths.
        let product = walk.call(admin, M::POST, "/api/products", "/api/products",
            Some(json!({"name": "seed walked"})), S::CREATED, "product.create", Some(admin_team),
            Some("product")).await;
        let product_id = id_of(&product, "id");
        walk.call(admin, M::PATCH, "/api/products/{id}", &format!("/api/products/{product_id}"),
            Some(json!({"tags": ["web"]})), S::OK, "product.update", Some(admin_team),
            Some("product")).await;
        let release = walk.call(admin, M::POST, "/api/products/{id}/releases",
            &format!("/api/products/{product_id}/releases"), Some(json!({"version": "2.0"})),
            S::CREATED, "release.create", Some(admin_team), Some("release")).await;
        let release_id = id_of(&release, "id");
        walk.call(admin, M::PATCH, "/api/releases/{id}", &format!("/api/releases/{release_id}"),
            Some(json!({"status": "end_of_life"})), S::OK, "release.update", Some(admin_team),
            Some("release")).await;
        walk.call(admin, M::DELETE, "/api/releases/{id}", &format!("/api/releases/{release_id}"),
            None, S::NO_CONTENT, "release.delete", Some(admin_team), Some("release")).await;
        walk.call(admin, M::DELETE, "/api/products/{id}", &format!("/api/products/{product_id}"),
            None, S::NO_CONTENT, "product.delete", Some(admin_team), Some("product")).await;

        // Sync sources (the operators' team).
        let sources = "/api/v1/security/cve/sync-sources";
        let source = walk.call(admin, M::POST, sources, sources,
            Some(json!({"config": {"id": "walk-kev", "type": "KEV",
                "url": "http://127.0.0.1:1/known_exploited_vulnerabilities.json"}})), S::OK,
            "sync_source.create", Some(admin_team), Some("sync_source")).await;
        assert_eq!(source["id"], "walk-kev");
        walk.call(admin, M::POST, "/api/v1/security/cve/sync-sources/{id}/run",
            &format!("{sources}/walk-kev/run"), None, S::ACCEPTED, "sync_source.run",
            Some(admin_team), Some("sync_source")).await;
        walk.call(admin, M::DELETE, "/api/v1/security/cve/sync-sources/{id}",
            &format!("{sources}/walk-kev"), None, S::NO_CONTENT, "sync_source.delete",
            Some(admin_team), Some("sync_source")).await;

        // API keys (a session), canonical and seed 003 paths.
        let key = walk.call(user, M::POST, "/api/v1/api-keys", "/api/v1/api-keys",
            Some(json!({"name": "walk-ci"})), S::CREATED, "api_key.create", Some(user_team),
            Some("api_key")).await;
        let key_id = id_of(&key, "id");
        let rotated = walk.call(user, M::POST, "/api/v1/api-keys/{id}/rotate",
            &format!("/api/v1/api-keys/{key_id}/rotate"), None, S::CREATED, "api_key.rotate",
            Some(user_team), Some("api_key")).await;
        let key_id = id_of(&rotated, "id");
        walk.call(user, M::POST, "/api/v1/api-keys/{id}/revoke",
            &format!("/api/v1/api-keys/{key_id}/revoke"), None, S::OK, "api_key.revoke",
            Some(user_team), Some("api_key")).await;
        let key = walk.call(user, M::POST, "/api/create-api-key", "/api/create-api-key",
            Some(json!({"name": "walk-seed"})), S::OK, "api_key.create", Some(user_team),
            Some("api_key")).await;
        let rotated = walk.call(user, M::POST, "/api/rotate-api-key", "/api/rotate-api-key",
            Some(json!({"api_key_id": id_of(&key, "api_key_id")})), S::OK, "api_key.rotate",
            Some(user_team), Some("api_key")).await;
        walk.call(user, M::POST, "/api/revoke-api-key", "/api/revoke-api-key",
            Some(json!({"api_key_id": id_of(&rotated, "api_key_id")})), S::OK, "api_key.revoke",
            Some(user_team), Some("api_key")).await;

        // Teams and members.
        walk.call(user, M::POST, "/api/v1/teams", "/api/v1/teams", Some(json!({"name": "Walkers"})),
            S::CREATED, "team.create", None, None).await;
        let member = walk.call(user, M::POST, "/api/v1/teams/{team_id}/members",
            &format!("/api/v1/teams/{user_team}/members"), Some(json!({"email": "m@example.test"})),
            S::CREATED, "member.invite", Some(user_team), None).await;
        walk.call(user, M::PATCH, "/api/v1/teams/{team_id}/members/{user_id}",
            &format!("/api/v1/teams/{user_team}/members/{}", id_of(&member, "user_id")),
            Some(json!({"role": "admin"})), S::OK, "member.role", Some(user_team), Some("user"))
            .await;
        walk.call(user, M::PATCH, "/api/v1/teams/{team_id}/settings",
            &format!("/api/v1/teams/{user_team}/settings"), Some(json!({"api_key_creation": "admins"})),
            S::OK, "team.settings", Some(user_team), Some("team")).await;
        walk.call(user, M::DELETE, "/api/v1/teams/{team_id}/members/{user_id}",
            &format!("/api/v1/teams/{user_team}/members/{}", id_of(&member, "user_id")), None,
            S::NO_CONTENT, "member.remove", Some(user_team), None).await;
        walk.call(admin, M::PUT, "/api/v1/teams/{team_id}/plan",
            &format!("/api/v1/teams/{user_team}/plan"), Some(json!({"plan": "pro"})), S::OK,
            "team.plan", None, None).await;
        walk.call(user, M::POST, "/api/v1/auth/logout", "/api/v1/auth/logout", None, S::OK,
            "auth.logout", Some(user_team), Some("session")).await;

        // AppSec integrations (seed 001): canonical paths, a SARIF upload and its findings'
        // triage, the SLA, then both seed prefixes.
        let integrations = "/api/v1/integrations";
        let integration = walk.call(admin, M::POST, integrations, integrations,
            Some(json!({"name": "walk-gh", "type": "GITHUB", "base_url": "http://localhost:1",
                "credentials": {"token": "walk-token-0123456789"}})),
            S::CREATED, "integration.create", Some(admin_team), Some("integration")).await;
        let integration_id = id_of(&integration, "id");
        let one = format!("{integrations}/{integration_id}");
        walk.call(admin, M::PATCH, "/api/v1/integrations/{id}", &one,
            Some(json!({"selection_type": "SELECTED", "repositories": ["org/app"]})), S::OK,
            "integration.update", Some(admin_team), Some("integration")).await;
        // The guard refuses `localhost` (loopback): `ok` is false, and the attempt is audited.
        let check = walk.call(admin, M::POST, "/api/v1/integrations/{id}/test-connection",
            &format!("{one}/test-connection"), None, S::OK, "integration.test_connection",
            Some(admin_team), Some("integration")).await;
        assert_eq!(check["ok"], false, "{check}");
        let request_id = format!("audit-walk-{}", walk.expected.len());
        let response = app
            .post(&format!("{one}/sarif?repository=org/app&ref=refs/heads/main"))
            .header("x-request-id", &request_id)
            .body(SARIF)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), S::CREATED);
        let route = ("post".to_string(), "/api/v1/integrations/{id}/sarif".to_string());
        walk.covered.insert(route.clone());
        walk.expected.push(Expected { route, request_id, action: "sarif.import",
            team_id: Some(admin_team), target_type: Some("sarif_import") });
        let findings: Value = app.get("/api/v1/findings?kind=code").send().await.unwrap()
            .json().await.unwrap();
        let finding_id = id_of(&findings["items"][0], "id");
        walk.call(admin, M::POST, "/api/v1/code-findings/{id}/triage",
            &format!("/api/v1/code-findings/{finding_id}/triage"),
            Some(json!({"status": "false_positive", "reason": "test fixture"})), S::OK,
            "code_finding.triage", Some(admin_team), Some("code_finding")).await;
        walk.call(admin, M::PUT, "/api/v1/findings/sla", "/api/v1/findings/sla",
            Some(json!({"critical": 3, "high": 14, "medium": 60, "low": 120, "none": null})),
            S::OK, "finding_sla.update", Some(admin_team), Some("team")).await;
        walk.call(admin, M::DELETE, "/api/v1/integrations/{id}", &one, None, S::NO_CONTENT,
            "integration.delete", Some(admin_team), Some("integration")).await;
        for prefix in ["/public_api/appsec/v1/integrations", "/public_api/appsec/v1/data_source_instances"] {
            let template = format!("{prefix}/{{id}}");
            let created = walk.call(admin, M::POST, prefix, prefix,
                Some(json!({"name": format!("walk {prefix}"), "type": "SNYK"})), S::CREATED,
                "integration.create", Some(admin_team), Some("integration")).await;
            let path = format!("{prefix}/{}", id_of(&created, "id"));
            for method in [M::PUT, M::PATCH] {
                walk.call(admin, method, &template, &path,
                    Some(json!({"external_project_mappings": [
                        {"vendor_project": "snyk-project", "repository": "org/app"}]})),
                    S::OK, "integration.update", Some(admin_team), Some("integration")).await;
            }
            walk.call(admin, M::DELETE, &template, &path, None, S::NO_CONTENT,
                "integration.delete", Some(admin_team), Some("integration")).await;
        }

        // Webhook endpoints (seed 002's base path and the canonical one).
        for prefix in ["/api/v1/webhooks", "/v1/webhooks"] {
            let created = walk.call(admin, M::POST, prefix, prefix,
                Some(json!({"url": "http://127.0.0.1:1/walk-hook", "event_types": ["finding.new"]})),
                S::CREATED, "webhook.create", Some(admin_team), Some("webhook")).await;
            let one = format!("{prefix}/{}", id_of(&created, "id"));
            let template = format!("{prefix}/{{id}}");
            walk.call(admin, M::PATCH, &template, &one, Some(json!({"description": "walked"})),
                S::OK, "webhook.update", Some(admin_team), Some("webhook")).await;
            walk.call(admin, M::POST, &format!("{template}/rotate-secret"), &format!("{one}/rotate-secret"),
                None, S::OK, "webhook.rotate_secret", Some(admin_team), Some("webhook")).await;
            let queued = walk.call(admin, M::POST, &format!("{template}/test"), &format!("{one}/test"),
                None, S::ACCEPTED, "webhook.test", Some(admin_team), Some("webhook")).await;
            let delivery = id_of(&queued, "delivery_id");
            walk.call(admin, M::POST, &format!("{template}/deliveries/{{delivery_id}}/redeliver"),
                &format!("{one}/deliveries/{delivery}/redeliver"), None, S::ACCEPTED,
                "webhook.redeliver", Some(admin_team), Some("webhook")).await;
            walk.call(admin, M::DELETE, &template, &one, None, S::NO_CONTENT, "webhook.delete",
                Some(admin_team), Some("webhook")).await;
        }
        // Incidents: seed 002's report, a repeat on the canonical path, every change.
        let incident = walk.call(admin, M::POST, "/v1/incidents", "/v1/incidents",
            Some(json!({"title": "walk incident", "severity": "medium", "description": "walk"})),
            S::CREATED, "incident.create", Some(admin_team), Some("incident")).await;
        let incident_id = id_of(&incident, "id");
        walk.call(admin, M::POST, "/api/v1/incidents", "/api/v1/incidents",
            Some(json!({"title": "Walk incident!", "severity": "high", "description": "again"})),
            S::OK, "incident.repeat", Some(admin_team), Some("incident")).await;
        let one = format!("/api/v1/incidents/{incident_id}");
        walk.call(admin, M::PATCH, "/api/v1/incidents/{id}", &one,
            Some(json!({"description": "walked", "tags": ["walk"]})), S::OK, "incident.update",
            Some(admin_team), Some("incident")).await;
        walk.call(admin, M::POST, "/api/v1/incidents/{id}/status", &format!("{one}/status"),
            Some(json!({"status": "acknowledged"})), S::OK, "incident.status", Some(admin_team),
            Some("incident")).await;
        walk.call(admin, M::POST, "/api/v1/incidents/{id}/comments", &format!("{one}/comments"),
            Some(json!({"body": "walk comment"})), S::CREATED, "incident.comment", Some(admin_team),
            Some("incident")).await;
        walk.call(admin, M::POST, "/api/v1/incidents/{id}/links", &format!("{one}/links"),
            Some(json!({"vulnerability": "CVE-2099-9999"})), S::CREATED, "incident.link",
            Some(admin_team), Some("incident")).await;
        let settings = app.get("/api/v1/incidents/settings").send().await.unwrap()
            .json::<Value>().await.unwrap();
        walk.call(admin, M::PUT, "/api/v1/incidents/settings", "/api/v1/incidents/settings",
            Some(settings), S::OK, "incident_settings.update", Some(admin_team), Some("team")).await;
        // Compliance: thresholds, an attestation with its evidence file and its withdrawal,
        // an access review.
        let thresholds = app.get("/api/v1/compliance/settings").send().await.unwrap()
            .json::<Value>().await.unwrap();
        walk.call(admin, M::PUT, "/api/v1/compliance/settings", "/api/v1/compliance/settings",
            Some(thresholds), S::OK, "compliance_settings.update", Some(admin_team), Some("team")).await;
        let attestations = "/api/v1/compliance/attestations";
        let attestation = walk.call(admin, M::POST, attestations, attestations,
            Some(json!({"framework": "soc2", "control_id": "CC1.1", "owner": "walk",
                "statement": "walked", "expires_at": (chrono::Utc::now() + chrono::Duration::days(365)).to_rfc3339()})),
            S::CREATED, "compliance_attestation.create", Some(admin_team), Some("attestation")).await;
        let attestation_path = format!("{attestations}/{}", id_of(&attestation, "id"));
        walk.call(admin, M::PUT, "/api/v1/compliance/attestations/{id}/evidence",
            &format!("{attestation_path}/evidence"), Some(json!({"evidence": "walk"})), S::OK,
            "compliance_attestation.evidence", Some(admin_team), Some("attestation")).await;
        walk.call(admin, M::DELETE, "/api/v1/compliance/attestations/{id}", &attestation_path,
            None, S::OK, "compliance_attestation.withdraw", Some(admin_team), Some("attestation")).await;
        let reviews = "/api/v1/compliance/access-reviews";
        walk.call(admin, M::POST, reviews, reviews, Some(json!({"note": "walk"})), S::CREATED,
            "compliance_access_review.create", Some(admin_team), Some("access_review")).await;
        // Product/vendor alerts, e-mail notification preferences, and the unsubscribe link
        // (anonymous: its signed token is the proof).
        let alerts = "/api/v1/alerts";
        let alert = walk.call(admin, M::POST, alerts, alerts,
            Some(json!({"vendor": "walkvendor", "min_cvss": 5.0})), S::CREATED, "alert.create",
            Some(admin_team), Some("alert")).await;
        let alert_path = format!("{alerts}/{}", id_of(&alert, "id"));
        walk.call(admin, M::PATCH, "/api/v1/alerts/{id}", &alert_path,
            Some(json!({"kev_only": true})), S::OK, "alert.update", Some(admin_team), Some("alert")).await;
        walk.call(admin, M::DELETE, "/api/v1/alerts/{id}", &alert_path, None, S::NO_CONTENT,
            "alert.delete", Some(admin_team), Some("alert")).await;
        let preferences = "/api/v1/me/notification-preferences";
        walk.call(admin, M::PUT, preferences, preferences,
            Some(json!({"event_types": ["alert.matched"], "delivery": "daily_digest"})), S::OK,
            "notification_preferences.update", Some(admin_team), Some("notification_preferences")).await;
        let me: Value = app.get("/api/v1/me").send().await.unwrap().json().await.unwrap();
        let token = rampart_engine::services::notifications::unsubscribe_token_with(
            &app_secret_key(&app), admin_team, id_of(&me["user"], "id"));
        let unsubscribe = "/api/v1/notifications/unsubscribe";
        walk.call(Caller::Anonymous, M::POST, unsubscribe, &format!("{unsubscribe}?token={token}"),
            None, S::OK, "notification_preferences.unsubscribe", Some(admin_team),
            Some("notification_preferences")).await;

        // Scans (a closed loopback port: each scan fails at once, audited all the same) and
        // URL monitors.
        let target = json!({"target": "http://127.0.0.1:9/"});
        let scan = walk.call(admin, M::POST, "/api/v1/scans", "/api/v1/scans", Some(target.clone()),
            S::ACCEPTED, "scan.create", Some(admin_team), Some("scan")).await;
        let scan_id = scan["id"].as_str().unwrap().to_string();
        walk.call(admin, M::POST, "/api/scan", "/api/scan", Some(target.clone()), S::OK,
            "scan.create", Some(admin_team), Some("scan")).await;
        walk.call(admin, M::POST, "/api/v1/scans/hosts", "/api/v1/scans/hosts",
            Some(json!({"target_ip": "127.0.0.1", "depth": "quick"})), S::ACCEPTED, "scan.create",
            Some(admin_team), Some("scan")).await;
        walk.call(admin, M::POST, "/api/v1/scans/{id}/rescan", &format!("/api/v1/scans/{scan_id}/rescan"),
            None, S::ACCEPTED, "scan.rescan", Some(admin_team), Some("scan")).await;
        walk.call(admin, M::POST, "/api/rescan", "/api/rescan", Some(json!({"scan_id": scan_id})),
            S::OK, "scan.rescan", Some(admin_team), Some("scan")).await;
        let monitor = walk.call(admin, M::POST, "/api/v1/scans/monitors", "/api/v1/scans/monitors",
            Some(json!({"target": "http://127.0.0.1:9/", "interval_minutes": 60})), S::CREATED,
            "scan_monitor.create", Some(admin_team), Some("scan_monitor")).await;
        walk.call(admin, M::DELETE, "/api/v1/scans/monitors/{id}",
            &format!("/api/v1/scans/monitors/{}", id_of(&monitor, "id")), None, S::NO_CONTENT,
            "scan_monitor.delete", Some(admin_team), Some("scan_monitor")).await;
        // Audited reads: the knowledge-base export downloads (zip bodies).
        walk.call(admin, M::GET, "/api/v1/kb/export", "/api/v1/kb/export?ecosystem=npm", None,
            S::OK, "kb.export", Some(admin_team), Some("knowledge_base")).await;
        walk.call(admin, M::GET, "/api/v1/kb/export/{ecosystem}/all.zip",
            "/api/v1/kb/export/PyPI/all.zip", None, S::OK, "kb.export", Some(admin_team),
            Some("knowledge_base")).await;

        let uncovered: Vec<_> = mutating_routes(&app).await.difference(&walk.covered).cloned().collect();
        assert!(
            uncovered.is_empty(),
            "mutating routes the audit walk does not call (audit them, then add them to \
             tests/api/audit_walk.rs): {uncovered:?}"
        );
        for expected in &walk.expected {
            let entries = entries_for(&app, &expected.request_id).await;
            let (method, path) = &expected.route;
            let entry = entries
                .iter()
                .find(|e| e.action == expected.action)
                .unwrap_or_else(|| panic!(
                    "{method} {path} wrote no `{}` audit entry (entries of its request: {entries:?})",
                    expected.action
                ));
            assert!(!entry.actor.is_empty(), "{method} {path}: no actor");
            assert!(
                ["user", "service_account", "anonymous"].contains(&entry.actor_kind.as_str()),
                "{method} {path}: actor kind {:?}", entry.actor_kind
            );
            assert_eq!(entry.source_ip.as_deref(), Some("127.0.0.1"), "{method} {path}");
            if let Some(team_id) = expected.team_id {
                assert_eq!(entry.team_id, Some(team_id), "{method} {path}: team");
            }
            if let Some(target_type) = expected.target_type {
                assert_eq!(entry.target_type.as_deref(), Some(target_type), "{method} {path}");
                assert!(entry.target_id.as_deref().is_some_and(|id| !id.is_empty()), "{method} {path}");
            }
        }
    }
}
