//! Tenancy and the route table, driven by the served OpenAPI document: team A owns one of
//! every object a route can name (product, release, SBOM, analysis, findings and their
//! events, keys, a member), and team B's session and key walk every operation with team A's
//! matching ids: each request that names team A's object answers exactly 404, the few that
//! every team is refused by design answer 403 (each with its reason), and no response shows
//! team A's names or ids. An operation the walk has no rule for fails it, so a new route
//! cannot go unchecked. Every non-public operation answers 401 without credentials and 403
//! (naming the scope) to a key that lacks its scope.

use rampart_test_support::{backend_tests, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Operations that need no credentials.
const PUBLIC: &[&str] = &[
    "/healthz",
    "/readyz",
    "/api/v1/auth/otp",
    "/api/v1/auth/otp/verify",
    "/public/disclosures/{team_id}",
    "/public/disclosures/{team_id}/documents/{id}",
    "/public/disclosures/{team_id}/csaf/provider-metadata.json",
    "/public/disclosures/{team_id}/csaf/white/index.txt",
    "/public/disclosures/{team_id}/csaf/white/changes.csv",
    "/public/disclosures/{team_id}/csaf/white/{year}/{file}",
    "/api/v1/notifications/unsubscribe",
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
        ("POST", "/api/products" | "/api/v1/products") => json!({"name": "walk product"}),
        (
            "POST",
            "/api/v1/integrations"
            | "/public_api/appsec/v1/integrations"
            | "/public_api/appsec/v1/data_source_instances",
        ) => json!({"name": "walk integration", "type": "SEMGREP"}),
        ("POST", "/api/v1/code-findings/{id}/triage") => json!({"status": "fixed"}),
        ("POST", "/api/v1/compliance/attestations") => json!({"framework": "gdpr",
            "control_id": "Art.30(1)", "owner": "walk", "statement": "walk",
            "expires_at": (chrono::Utc::now() + chrono::Duration::days(365)).to_rfc3339()}),
        ("POST", "/api/v1/incidents" | "/v1/incidents") => {
            json!({"title": "walk incident", "severity": "low", "description": "walk"})
        }
        ("PATCH", "/api/v1/incidents/{id}") => json!({"title": "walk renamed"}),
        ("POST", "/api/v1/incidents/{id}/status") => json!({"status": "acknowledged"}),
        ("POST", "/api/v1/incidents/{id}/comments") => json!({"body": "walk"}),
        ("POST", "/api/v1/incidents/{id}/links") => json!({"vulnerability": "CVE-2099-7001"}),
        ("PUT", "/api/v1/incidents/settings") => json!({
            "sla": {"P1": {"acknowledge_hours": 1, "resolve_hours": 24},
                    "P2": {"acknowledge_hours": 4, "resolve_hours": 72},
                    "P3": {"acknowledge_hours": 24, "resolve_hours": 336},
                    "P4": {"acknowledge_hours": 72, "resolve_hours": 720}},
            "assignment": {"mode": "round_robin", "role": "member"},
            "tag_rules": []
        }),
        ("POST", "/api/v1/alerts") => json!({"name": "walk alert", "vendor": "walkvendor"}),
        ("POST", "/api/scan" | "/api/v1/scans" | "/api/v1/scans/monitors") => {
            json!({"target": "http://127.0.0.1:9/"})
        }
        ("POST", "/api/v1/scans/hosts") => json!({"target_ip": "127.0.0.1"}),
        ("POST", "/api/rescan") => json!({"scan_id": "sc_000000000000"}),
        ("PATCH", "/api/v1/alerts/{id}") => json!({"enabled": false}),
        ("PUT", "/api/v1/me/notification-preferences") => json!({"event_types": ["alert.matched"]}),
        ("PATCH", "/api/products/{id}" | "/api/v1/products/{id}") => {
            json!({"name": "walk renamed", "description": "walk"})
        }
        ("POST", "/api/products/{id}/releases" | "/api/v1/products/{id}/releases") => {
            json!({"version": "0.0.1-walk"})
        }
        ("PATCH", "/api/v1/releases/{id}" | "/api/releases/{id}") => json!({"status": "released"}),
        ("POST", "/api/v1/releases/{id}/dispositions" | "/api/v1/products/{id}/dispositions") => {
            json!({"vulnerability": "CVE-2099-7001", "state": "in_triage"})
        }
        ("POST", "/api/v1/releases/{id}/vex-imports") => json!({
            "@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://vex.example.com/walk",
            "author": "walk", "timestamp": "2024-01-01T00:00:00Z", "version": 1,
            "statements": [{"vulnerability": {"name": "CVE-2099-7001"},
                "products": [{"@id": "pkg:npm/lodash@4.17.20"}], "status": "under_investigation"}]
        }),
        ("POST", "/api/v1/releases/{id}/vex-documents" | "/api/v1/products/{id}/vex-documents") => {
            json!({"format": "openvex"})
        }
        ("PUT", "/api/v1/vex-documents/{id}") => json!({"title": "walk"}),
        ("POST", "/api/v1/vex-documents/{id}/reject") => json!({"reason": "walk"}),
        ("PATCH", "/api/v1/teams/{team_id}/vex-settings") => json!({"allow_self_approval": true}),
        ("PUT", "/api/v1/products/{id}/disclosure-settings") => json!({"public": true}),
        ("PATCH", "/api/v1/teams/{team_id}/members/{user_id}") => json!({"role": "member"}),
        ("PATCH", "/api/v1/teams/{team_id}/settings") => json!({"api_key_creation": "admins"}),
        ("POST", "/v1/query") => {
            json!({"package": {"ecosystem": "npm", "name": "lodash"}, "version": "4.17.20"})
        }
        ("POST", "/v1/querybatch") => json!({"queries": [
            {"package": {"ecosystem": "npm", "name": "lodash"}, "version": "4.17.20"}
        ]}),
        ("POST", "/api/v1/webhooks" | "/v1/webhooks") => {
            json!({"url": "https://93.184.215.14/walk-hook", "event_types": ["finding.new"]})
        }
        ("PATCH", "/api/v1/webhooks/{id}" | "/v1/webhooks/{id}") => json!({"description": "walk"}),
        ("POST", "/api/v1/security/cve/sync-sources") => json!({
            "config": {"id": "walk-source", "type": "KEV", "syncIntervalHours": 24},
            "apiKey": "walk"
        }),
        (m, _) if m == "POST" || m == "PUT" || m == "PATCH" => return Some(json!({})),
        _ => return None,
    };
    Some(known)
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

/// Which of team B's credentials makes the request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Credential {
    Session,
    Key,
}

/// What team B must get from one operation.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// The request names one of team A's objects (path or body): exactly 404, the
    /// `not_found` error and nothing else.
    NotFound,
    /// Refused before any object is looked up, by a rule that is the same for every team
    /// (the reason is the test's justification): exactly 403.
    Forbidden(&'static str),
    /// The caller's own team, user or session: a success that shows nothing of team A.
    Own,
    /// Server-wide data (knowledge base, sync sources, which every team may read): a success
    /// that shows nothing of team A.
    ServerWide,
}

/// API keys can never create, list, rotate or revoke keys, make teams or log out (DESIGN.md
/// §4): that needs a logged-in session, whatever the team.
const KEYS_NEED_A_SESSION: &str = "keys, teams and sessions are managed from a logged-in session";
/// Sync sources are server-wide; only the operators' team changes or runs them.
const OPERATORS_ONLY: &str = "only the operators' team may change or run sync sources";
/// Prometheus metrics describe the whole server; on the main listener only operators read them.
const METRICS_FOR_OPERATORS: &str = "only the operators' team reads server metrics";

/// The rule for every operation of the served document; `None` for one the walk does not know
/// (the walk then fails: a new route needs a rule here).
fn expectation(method: &Method, template: &str, credential: Credential) -> Option<Expect> {
    use Expect::*;
    let key = credential == Credential::Key;
    let path_object = template.contains('{');
    let expect = match (method.as_str(), template) {
        // Key management, by path or by seed 003's `api_key_id` body.
        ("POST", "/api/v1/api-keys/{id}/revoke" | "/api/v1/api-keys/{id}/rotate")
        | ("POST", "/api/revoke-api-key" | "/api/rotate-api-key") => {
            if key {
                Forbidden(KEYS_NEED_A_SESSION)
            } else {
                NotFound
            }
        }
        ("POST", "/api/v1/api-keys" | "/api/create-api-key") => {
            if key {
                Forbidden(KEYS_NEED_A_SESSION)
            } else {
                Own
            }
        }
        ("GET", "/api/v1/api-keys" | "/api/list-api-keys") => {
            if key {
                Forbidden(KEYS_NEED_A_SESSION)
            } else {
                Own
            }
        }
        // Sync sources: read by every team, changed by the operators only.
        ("GET", t) if t.starts_with("/api/v1/security/cve/sync-sources") => ServerWide,
        (_, t) if t.starts_with("/api/v1/security/cve/sync-sources") => Forbidden(OPERATORS_ONLY),
        // Webhook endpoints at seed 002's `/v1/webhooks` are the team's, not the KB's.
        (_, t) if t.starts_with("/v1/webhooks/") && path_object => NotFound,
        ("GET" | "POST", "/v1/webhooks" | "/api/v1/webhooks") => Own,
        // Seed 002's incident paths sit beside the OSV ones under `/v1/`: tenant data.
        ("POST", "/v1/incidents") => Own,
        // Seed 002's threat scans too: the caller's own scan, or team A's by id.
        ("GET", "/v1/threats/scan") => Own,
        ("GET", "/v1/threats/scan/{scan_id}") => NotFound,
        ("GET", "/v1/incidents/{id}") => NotFound,
        // Seed 002's compliance posture: the caller's own team.
        ("GET", "/v1/compliance/posture") => Own,
        // The knowledge base is the same for every team.
        (_, t)
            if t.starts_with("/v1/")
                || t.starts_with("/api/v1/vulnerabilities")
                || t.starts_with("/api/v1/catalog/")
                || t.starts_with("/api/v1/kb/")
                || t == "/api/get-exploits"
                || t == "/api/product-cves"
                || t == "/api/product-cves/export" =>
        {
            ServerWide
        }
        // Everything else that names an object names one of team A's.
        (_, t) if path_object && object_of(t).is_some() => NotFound,
        ("POST", "/api/v1/teams" | "/api/v1/auth/logout") => {
            if key {
                Forbidden(KEYS_NEED_A_SESSION)
            } else {
                Own
            }
        }
        (
            "GET",
            "/api/v1/me" | "/api/v1/teams" | "/api/v1/audit-log" | "/api/v1/audit-log/export",
        )
        | ("GET", "/api/v1/finding-events" | "/api/v1/events")
        | ("GET", "/api/v1/products" | "/api/products")
        | ("GET", "/api/v1/vex-documents" | "/api/v1/disclosures")
        | ("POST", "/api/v1/products" | "/api/products") => Own,
        // AppSec: the caller's own integrations, imports, findings and SLA.
        (
            "GET" | "POST",
            "/api/v1/integrations"
            | "/public_api/appsec/v1/integrations"
            | "/public_api/appsec/v1/data_source_instances",
        )
        | ("GET", "/api/v1/findings" | "/api/v1/sarif-imports")
        | ("GET" | "PUT", "/api/v1/findings/sla") => Own,
        // Incidents: the caller's own list, reports, metrics and settings.
        ("GET" | "POST", "/api/v1/incidents")
        | ("GET", "/api/v1/incidents/metrics")
        | ("GET" | "PUT", "/api/v1/incidents/settings") => Own,
        // Compliance: the caller's own posture, history, reports, thresholds, attestations
        // and access reviews.
        (
            "GET",
            "/api/v1/compliance/posture"
            | "/api/v1/compliance/posture/history"
            | "/api/v1/compliance/reports",
        )
        | (
            "GET" | "POST",
            "/api/v1/compliance/attestations" | "/api/v1/compliance/access-reviews",
        )
        | ("GET" | "PUT", "/api/v1/compliance/settings") => Own,
        // API usage: the caller's team's own requests only.
        ("GET", "/api/v1/usage" | "/api/v1/usage/requests") => Own,
        ("GET", "/metrics") => Forbidden(METRICS_FOR_OPERATORS),
        // Alerts: the caller's own watches; e-mail preferences: the caller's own.
        ("GET" | "POST", "/api/v1/alerts")
        | ("GET" | "PUT", "/api/v1/me/notification-preferences") => Own,
        // Scans and monitors: the caller's own (the walk's server allows loopback targets);
        // seed 003's rescan names team A's scan in its body.
        ("GET" | "POST", "/api/v1/scans" | "/api/v1/scans/monitors")
        | ("POST", "/api/v1/scans/hosts" | "/api/scan")
        | ("GET", "/api/v1/scans/export" | "/api/export-scan" | "/api/v1/usage/quotas") => Own,
        ("POST", "/api/rescan") => NotFound,
        _ => return None,
    };
    Some(expect)
}

/// Team A's objects, one of each kind a route can name.
struct TeamA {
    team: i64,
    member: i64,
    key: i64,
    product: i64,
    release: i64,
    sbom: i64,
    analysis: i64,
    finding: i64,
    integration: i64,
    sarif_import: i64,
    code_finding: i64,
    /// A published VEX document (also a disclosure).
    vex_document: i64,
    /// An event of the team's stream.
    event: i64,
    /// A webhook endpoint and one of its deliveries.
    webhook: i64,
    webhook_delivery: i64,
    incident: i64,
    /// A product/vendor alert (watch).
    alert: i64,
    /// A compliance attestation.
    attestation: i64,
    /// A website scan (`sc_…`) and a URL monitor.
    scan: String,
    monitor: i64,
}

/// The kind of object a templated path names, from its prefix (every object route is
/// `/…/<collection>/{id}…`).
fn object_of(template: &str) -> Option<&'static str> {
    const PREFIXES: &[(&str, &str)] = &[
        ("/api/products/{id}", "product"),
        ("/api/v1/products/{id}", "product"),
        ("/api/v1/releases/{id}", "release"),
        ("/api/releases/{id}", "release"),
        ("/api/v1/sboms/{id}", "sbom"),
        ("/api/v1/analyses/{id}", "analysis"),
        ("/api/v1/findings/{id}", "finding"),
        ("/api/v1/vex-documents/{id}", "vex_document"),
        ("/api/v1/disclosures/{id}", "vex_document"),
        ("/api/v1/api-keys/{id}", "key"),
        ("/api/v1/teams/{team_id}", "team"),
        ("/api/v1/integrations/{id}", "integration"),
        ("/public_api/appsec/v1/integrations/{id}", "integration"),
        (
            "/public_api/appsec/v1/data_source_instances/{id}",
            "integration",
        ),
        ("/api/v1/sarif-imports/{id}", "sarif_import"),
        ("/api/v1/code-findings/{id}", "code_finding"),
        ("/api/v1/events/{id}", "event"),
        ("/api/v1/webhooks/{id}", "webhook"),
        ("/v1/webhooks/{id}", "webhook"),
        ("/api/v1/incidents/{id}", "incident"),
        ("/v1/incidents/{id}", "incident"),
        ("/api/v1/alerts/{id}", "alert"),
        ("/api/v1/compliance/attestations/{id}", "attestation"),
        ("/api/v1/scans/monitors/{id}", "monitor"),
        ("/api/v1/scans/{id}", "scan"),
        ("/v1/threats/scan/{scan_id}", "scan"),
    ];
    PREFIXES
        .iter()
        .find(|(prefix, _)| template.starts_with(prefix))
        .map(|(_, kind)| *kind)
}

impl TeamA {
    /// The path with every parameter filled with the id of team A's matching object.
    fn path(&self, template: &str, server_wide: &[(&str, String)]) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            let end = rest[start..].find('}').unwrap() + start;
            out.push_str(&rest[..start]);
            let name = &rest[start + 1..end];
            let value = match (name, object_of(template)) {
                ("team_id", _) => self.team.to_string(),
                ("user_id", _) => self.member.to_string(),
                ("id", Some("product")) => self.product.to_string(),
                ("id", Some("release")) => self.release.to_string(),
                ("id", Some("sbom")) => self.sbom.to_string(),
                ("id", Some("analysis")) => self.analysis.to_string(),
                ("id", Some("finding")) => self.finding.to_string(),
                ("id", Some("vex_document")) => self.vex_document.to_string(),
                ("id", Some("key")) => self.key.to_string(),
                ("id", Some("integration")) => self.integration.to_string(),
                ("id", Some("sarif_import")) => self.sarif_import.to_string(),
                ("id", Some("code_finding")) => self.code_finding.to_string(),
                ("id", Some("event")) => self.event.to_string(),
                ("id", Some("webhook")) => self.webhook.to_string(),
                ("delivery_id", Some("webhook")) => self.webhook_delivery.to_string(),
                ("id", Some("incident")) => self.incident.to_string(),
                ("id", Some("alert")) => self.alert.to_string(),
                ("id", Some("attestation")) => self.attestation.to_string(),
                ("id" | "scan_id", Some("scan")) => self.scan.clone(),
                ("id", Some("monitor")) => self.monitor.to_string(),
                _ => match server_wide
                    .iter()
                    .find(|(prefix, _)| template.starts_with(prefix))
                {
                    Some((_, id)) => id.clone(),
                    None => return Err(format!("no object for {{{name}}} in {template}")),
                },
            };
            out.push_str(&value);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// Team A's personal and CI keys, members, and a product with a release, an SBOM, its
/// analysis and findings (from a small knowledge base the operator loads).
async fn team_a(app: &TestApp) -> (TeamA, String, String) {
    let (token, team) = app.user_on_plan("alpha-owner@a.example", "pro").await;
    let key: Value = app
        .with_token(Method::POST, "/api/v1/api-keys", &token)
        .json(&json!({"name": "alpha-secret-key-name"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = key["api_key"].as_str().unwrap().to_string();
    let ci: Value = app
        .with_token(Method::POST, "/api/v1/api-keys", &token)
        .json(&json!({"name": "alpha-ci", "service_account": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(ci["id"].is_i64(), "{ci}");
    let member: Value = app
        .with_token(
            Method::POST,
            &format!("/api/v1/teams/{team}/members"),
            &token,
        )
        .json(&json!({"email": "alpha-member@a.example"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let store = rampart_store::Store::connect(&app.config.database)
        .await
        .unwrap();
    let record = json!({"schema_version": "1.6.0", "id": "GHSA-walk-0001", "modified": "2024-01-02T00:00:00Z",
        "aliases": ["CVE-2099-7001"], "summary": "walk record",
        "affected": [{"package": {"ecosystem": "npm", "name": "lodash"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}]}]});
    let parsed = rampart_formats::advisory::parse_osv_json(record.to_string().as_bytes()).unwrap();
    store
        .ingest_advisories("osv", &parsed.records)
        .await
        .unwrap();
    // An NVD record gives the CPE catalogue a product for `/api/product-cves`.
    let nvd = json!({"cve": {"id": "CVE-2099-7002", "lastModified": "2024-01-02T00:00:00.000",
        "descriptions": [{"lang": "en", "value": "walk"}],
        "configurations": [{"nodes": [{"operator": "OR", "cpeMatch": [{"vulnerable": true,
            "criteria": "cpe:2.3:a:walkvendor:walkproduct:*:*:*:*:*:*:*:*", "versionEndExcluding": "2.0"}]}]}]}});
    let parsed = rampart_formats::advisory::parse_nvd_cves(nvd.to_string().as_bytes()).unwrap();
    assert!(parsed.skipped.is_empty(), "{:?}", parsed.skipped);
    store
        .ingest_advisories("nvd", &parsed.records)
        .await
        .unwrap();
    store.close().await;
    app.wait_for_index().await;

    let product: Value = app
        .with_token(Method::POST, "/api/v1/products", &token)
        .json(&json!({"name": "alpha-product-name"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let product_id = product["id"].as_i64().unwrap();
    let release: Value = app
        .with_token(
            Method::POST,
            &format!("/api/v1/products/{product_id}/releases"),
            &token,
        )
        .json(&json!({"version": "alpha-release-version"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let release_id = release["id"].as_i64().unwrap();
    let sbom = json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
    "serialNumber": "urn:uuid:a1a1a1a1-0000-4000-8000-a1a1a1a1a1a1",
    "components": [
        {"type": "library", "bom-ref": "c0", "name": "lodash", "version": "4.17.20", "purl": "pkg:npm/lodash@4.17.20"},
        {"type": "library", "bom-ref": "c1", "name": "alpha-private-lib", "version": "1.0.0", "purl": "pkg:npm/alpha-private-lib@1.0.0"}
    ]});
    let uploaded: Value = app
        .with_token(
            Method::POST,
            &format!("/api/v1/releases/{release_id}/sboms?wait=true"),
            &token,
        )
        .header("content-type", "application/vnd.cyclonedx+json")
        .body(sbom.to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(uploaded["analysis"]["findings_count"], 1, "{uploaded}");
    let finding = uploaded["findings"][0]["id"].as_i64().unwrap();
    // A decision of team A's, so that its text would show if another team could read it.
    let decided = app
        .with_token(
            Method::POST,
            &format!("/api/v1/releases/{release_id}/dispositions"),
            &token,
        )
        .json(&json!({"findings": [finding], "state": "not_affected",
            "justification": "code_not_reachable", "detail": "alpha-private-triage-detail"}))
        .send()
        .await
        .unwrap();
    assert_eq!(decided.status(), StatusCode::CREATED);
    // An integration with a SARIF import and its code finding.
    let integration: Value = app
        .with_token(Method::POST, "/api/v1/integrations", &token)
        .json(&json!({"name": "alpha-integration-name", "type": "GITHUB",
            "credentials": {"token": "alpha-token-0123456789"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let integration_id = integration["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{integration}"));
    let sarif = json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "alpha-scanner"}},
        "results": [{"ruleId": "alpha-rule", "message": {"text": "alpha-private-message"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": "alpha/private.py"},
                "region": {"startLine": 1}}}]}]}]});
    let import: Value = app
        .with_token(
            Method::POST,
            &format!("/api/v1/integrations/{integration_id}/sarif?repository=alpha/private-repo"),
            &token,
        )
        .body(sarif.to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(import["new"], 1, "{import}");
    let code: Value = app
        .with_token(Method::GET, "/api/v1/findings?kind=code", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // A published VEX document (team A approves its own: the setting allows it).
    let call = |method: Method, path: String, body: Option<Value>| {
        let mut request = app.with_token(method, &path, &token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            let response = request.send().await.unwrap();
            assert!(
                response.status().is_success(),
                "{path}: {}",
                response.status()
            );
            response.json::<Value>().await.unwrap()
        }
    };
    call(
        Method::PATCH,
        format!("/api/v1/teams/{team}/vex-settings"),
        Some(json!({"allow_self_approval": true})),
    )
    .await;
    let document = call(
        Method::POST,
        format!("/api/v1/releases/{release_id}/vex-documents"),
        Some(json!({"format": "csaf"})),
    )
    .await;
    let vex_document = document["id"].as_i64().unwrap();
    for step in ["submit", "approve", "publish"] {
        call(
            Method::POST,
            format!("/api/v1/vex-documents/{vex_document}/{step}"),
            None,
        )
        .await;
    }
    // An incident with a comment, linked to the KEV-less walk vulnerability.
    let incident = call(
        Method::POST,
        "/api/v1/incidents".to_string(),
        Some(json!({"title": "alpha-incident-title", "severity": "high",
            "description": "alpha-incident-description", "affected_systems": ["alpha-product-name"],
            "vulnerabilities": ["CVE-2099-7001"], "findings": [finding]})),
    )
    .await;
    let incident = incident["id"].as_i64().unwrap();
    call(
        Method::POST,
        format!("/api/v1/incidents/{incident}/comments"),
        Some(json!({"body": "alpha-incident-comment"})),
    )
    .await;
    // The stream holds the findings', the SARIF import's and the VEX workflow's events.
    let events = call(Method::GET, "/api/v1/events".to_string(), None).await;
    let listed = event_list(&events);
    let types: Vec<&str> = listed.iter().filter_map(|e| e["type"].as_str()).collect();
    for expected in [
        "finding.new",
        "sarif.imported",
        "vex.published",
        "incident.created",
        "incident.updated",
    ] {
        assert!(types.contains(&expected), "{expected} missing: {events}");
    }
    // A webhook endpoint with a queued delivery (the walk's servers deliver nothing).
    let webhook = call(
        Method::POST,
        "/api/v1/webhooks".to_string(),
        Some(json!({"url": "https://93.184.215.14/alpha-private-hook",
            "description": "alpha-webhook-description"})),
    )
    .await;
    let webhook_id = webhook["id"].as_i64().unwrap();
    let queued = call(
        Method::POST,
        format!("/api/v1/webhooks/{webhook_id}/test"),
        None,
    )
    .await;
    let alert = call(
        Method::POST,
        "/api/v1/alerts".to_string(),
        Some(json!({"name": "alpha-private-alert", "vendor": "walkvendor"})),
    )
    .await;
    let attestation = call(
        Method::POST,
        "/api/v1/compliance/attestations".to_string(),
        Some(json!({"framework": "soc2", "control_id": "CC1.2", "owner": "alpha-attestation-owner",
            "statement": "alpha-attestation-statement", "expires_at": (chrono::Utc::now() + chrono::Duration::days(365)).to_rfc3339()})),
    )
    .await;
    let scan = call(
        Method::POST,
        "/api/v1/scans".to_string(),
        Some(json!({"target": "http://127.0.0.1:9/alpha-private-scan"})),
    )
    .await;
    let monitor = call(
        Method::POST,
        "/api/v1/scans/monitors".to_string(),
        Some(json!({"target": "http://127.0.0.1:9/alpha-private-monitor"})),
    )
    .await;
    let team_a = TeamA {
        attestation: attestation["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("{attestation}")),
        scan: scan["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{scan}"))
            .to_string(),
        monitor: monitor["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("{monitor}")),
        webhook: webhook_id,
        webhook_delivery: queued["delivery_id"]
            .as_i64()
            .unwrap_or_else(|| panic!("{queued}")),
        event: events["items"][0]["id"].as_i64().unwrap(),
        incident,
        alert: alert["id"].as_i64().unwrap_or_else(|| panic!("{alert}")),
        vex_document,
        finding,
        integration: integration_id,
        sarif_import: import["id"].as_i64().unwrap(),
        code_finding: code["items"][0]["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("{code}")),
        team,
        member: member["user_id"].as_i64().unwrap(),
        key: key["id"].as_i64().unwrap(),
        product: product_id,
        release: release_id,
        sbom: uploaded["sbom"]["id"].as_i64().unwrap(),
        analysis: uploaded["analysis"]["id"].as_i64().unwrap(),
    };
    (team_a, token, secret)
}

/// Team A's data as it could show in a response: names, e-mails, the key's visible suffix,
/// the SBOM's serial number and private component.
fn markers(secret: &str) -> Vec<String> {
    [
        "alpha-owner@a.example",
        "alpha-member@a.example",
        "alpha-secret-key-name",
        "api_alpha-ci",
        "alpha-product-name",
        "alpha-release-version",
        "a1a1a1a1-0000-4000-8000-a1a1a1a1a1a1",
        "alpha-private-lib",
        "alpha-private-triage-detail",
        "alpha-integration-name",
        "alpha/private-repo",
        "alpha-private-message",
        "alpha-private-hook",
        "alpha-webhook-description",
        "alpha-incident-title",
        "alpha-incident-description",
        "alpha-incident-comment",
        "alpha-attestation-statement",
        "alpha-attestation-owner",
        "alpha-private-scan",
        "alpha-private-monitor",
        &secret[secret.len() - 6..],
    ]
    .iter()
    .map(|m| m.to_string())
    .collect()
}

/// The `not_found` error: DESIGN.md's body, or the `{"success": false, "error": …}` envelope
/// of the seed endpoints that document one.
fn is_not_found_error(text: &str) -> bool {
    let Ok(body) = serde_json::from_str::<Value>(text) else {
        return false;
    };
    body["error"]["code"] == "not_found"
        || (body["success"] == false
            && body["error"]
                .as_str()
                .is_some_and(|m| m.contains("not found")))
}

/// The events of a `/finding-events` page (a list, or a page object with `items`).
fn event_list(page: &Value) -> Vec<Value> {
    page.as_array()
        .or_else(|| page["items"].as_array())
        .unwrap_or_else(|| panic!("not a list of events: {page}"))
        .clone()
}

/// Fields that carry team A's ids by name.
fn leaked_id(body: &Value, a: &TeamA) -> Option<String> {
    let typed = [
        ("team_id", a.team),
        ("product_id", a.product),
        ("release_id", a.release),
        ("sbom_id", a.sbom),
        ("analysis_id", a.analysis),
        ("api_key_id", a.key),
        ("integration_id", a.integration),
        ("endpoint_id", a.webhook),
    ];
    match body {
        Value::Object(map) => map.iter().find_map(|(field, value)| {
            typed
                .iter()
                .find(|(name, id)| field == name && value.as_i64() == Some(*id))
                .map(|(name, id)| format!("{name} {id}"))
                .or_else(|| leaked_id(value, a))
        }),
        Value::Array(items) => items.iter().find_map(|item| leaked_id(item, a)),
        _ => None,
    }
}

/// The walks create webhook endpoints at a public address: nothing may be sent from a test.
fn no_deliveries(config: &mut rampart_server::ServerConfig) {
    config.webhooks.deliver = false;
    // Scans may target loopback (closed ports: nothing answers); the walk starts several at once.
    config.scans.targets.allowed = vec!["127.0.0.0/8".parse().unwrap()];
    config.scans.concurrent_per_team = 1_000;
}

backend_tests! {
    #[configure(no_deliveries)]
    async fn team_b_walks_every_route_with_team_a_ids_and_sees_nothing(app) {
        let (a, a_token, a_secret) = team_a(&app).await;
        let a_markers = markers(&a_secret);
        // Sync sources are server-wide: the operator configures one for the walk to name.
        let source = app.post("/api/v1/security/cve/sync-sources")
            .json(&json!({"config": {"id": "walk-kev", "type": "KEV", "syncIntervalHours": 24}, "apiKey": "k"}))
            .send().await.unwrap();
        assert_eq!(source.status(), StatusCode::OK, "{}", source.text().await.unwrap());
        let catalog: Value = app.get("/api/v1/catalog/products?q=walkproduct").send().await.unwrap().json().await.unwrap();
        let catalog_product = catalog["data"][0]["id"].as_i64().unwrap_or_else(|| panic!("{catalog}"));
        let server_wide = [
            ("/api/v1/security/cve/sync-sources/{id}", "walk-kev".to_string()),
            ("/api/v1/vulnerabilities/{id}", "GHSA-walk-0001".to_string()),
            ("/v1/vulns/{id}", "GHSA-walk-0001".to_string()),
            ("/api/v1/kb/export/{ecosystem}", "npm".to_string()),
        ];
        // Team A has finding events to leak.
        let a_events: Value = app.with_token(Method::GET, "/api/v1/finding-events", &a_token)
            .send().await.unwrap().json().await.unwrap();
        assert!(!event_list(&a_events).is_empty(), "{a_events}");

        // Team B: an owner with a session and an all-scopes key.
        let (b_token, b_team) = app.user_on_plan("bravo@b.example", "pro").await;
        assert_ne!(a.team, b_team);
        let b_key: Value = app.with_token(Method::POST, "/api/v1/api-keys", &b_token)
            .json(&json!({"name": "bravo-key"})).send().await.unwrap().json().await.unwrap();
        let b_secret = b_key["api_key"].as_str().unwrap().to_string();

        let mut uncovered = Vec::new();
        let mut wrong = Vec::new();
        let mut not_found = 0;
        let mut walked = 0;
        for (method, template, _) in operations(&app).await {
            if PUBLIC.contains(&template.as_str()) {
                continue;
            }
            let path = match a.path(&template, &server_wide) {
                Ok(path) => path,
                Err(problem) => {
                    uncovered.push(format!("{method} {template}: {problem}"));
                    continue;
                }
            };
            for (credential, token) in [(Credential::Key, &b_secret), (Credential::Session, &b_token)] {
                let Some(expect) = expectation(&method, &template, credential) else {
                    uncovered.push(format!("{method} {template}: no rule"));
                    break;
                };
                let query = match template.as_str() {
                    "/api/get-exploits" => "?cve_id=CVE-2099-7001",
                    "/v1/threats/scan" => "?target_ip=127.0.0.1",
                    "/api/product-cves" | "/api/product-cves/export" => &format!("?product_id={catalog_product}"),
                    "/api/v1/compliance/reports" => "?framework=soc2",
                    _ => "",
                };
                let mut body = body_for(&method, &template, a.key);
                if template == "/api/rescan" {
                    body = Some(json!({"scan_id": a.scan}));
                }
                // Each credential creates its own objects: names must not collide.
                if let Some(Value::String(name)) = body.as_mut().and_then(|b| b.get_mut("name")) {
                    name.push_str(&format!(" {credential:?} {}", uncovered.len() + wrong.len() + not_found + walked));
                }
                walked += 1;
                let response = send(&app, &method, &format!("{path}{query}"), body, token).await;
                let status = response.status();
                let text = response.text().await.unwrap();
                let context = format!("{method} {path} with team B's {credential:?}: {status} {text}");
                for marker in &a_markers {
                    if text.contains(marker.as_str()) {
                        wrong.push(format!("leaked {marker:?}: {context}"));
                    }
                }
                if let Some(id) = serde_json::from_str::<Value>(&text).ok().and_then(|json| leaked_id(&json, &a)) {
                    wrong.push(format!("leaked {id}: {context}"));
                }
                let as_expected = match expect {
                    Expect::NotFound => {
                        not_found += 1;
                        status == StatusCode::NOT_FOUND && is_not_found_error(&text)
                    }
                    Expect::Forbidden(_why) => status == StatusCode::FORBIDDEN,
                    Expect::Own | Expect::ServerWide => status.is_success(),
                };
                if !as_expected {
                    wrong.push(format!("expected {expect:?}: {context}"));
                }
                if (template == "/api/v1/finding-events" || template == "/api/v1/events") && status.is_success() {
                    let events: Value = serde_json::from_str(&text).unwrap();
                    // Team B's own events (its plan was set: `team.plan_changed`) are its own.
                    let foreign = event_list(&events)
                        .into_iter()
                        .filter(|event| event["team_id"] != json!(b_team))
                        .count();
                    if foreign > 0 {
                        wrong.push(format!("team A's events listed: {context}"));
                    }
                }
            }
        }
        assert!(wrong.is_empty(), "{} requests went wrong:\n{}", wrong.len(), wrong.join("\n"));
        assert!(uncovered.is_empty(), "operations the walk has no rule or object for:\n{}", uncovered.join("\n"));
        assert!(not_found >= 2 * 20, "only {not_found} requests named team A's objects");

        // Team A is untouched.
        assert_eq!(app.with_token(Method::GET, "/api/v1/me", &a_secret).send().await.unwrap().status(), StatusCode::OK);
        let members: Value = app.with_token(Method::GET, &format!("/api/v1/teams/{}/members", a.team), &a_token).send().await.unwrap().json().await.unwrap();
        assert_eq!(members["total"], 2);
        let keys: Value = app.with_token(Method::GET, "/api/v1/api-keys", &a_token).send().await.unwrap().json().await.unwrap();
        assert_eq!(keys["total"], 2, "{keys}");
        let me: Value = app.with_token(Method::GET, "/api/v1/me", &a_token).send().await.unwrap().json().await.unwrap();
        assert_eq!(me["team"]["plan"], "pro");
        for path in [format!("/api/v1/products/{}", a.product), format!("/api/v1/releases/{}/vulnerabilities", a.release), format!("/api/v1/sboms/{}", a.sbom)] {
            let response = app.with_token(Method::GET, &path, &a_token).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
        }
    }

    #[configure(no_deliveries)]
    async fn a_member_cannot_revoke_another_members_key(app) {
        let (a, a_token, a_secret) = team_a(&app).await;
        let member = app.login("alpha-member@a.example").await;
        let member_token = member["token"].as_str().unwrap();
        for (method, path, body) in [
            (Method::POST, format!("/api/v1/api-keys/{}/revoke", a.key), None),
            (Method::POST, "/api/revoke-api-key".to_string(), Some(json!({"api_key_id": a.key}))),
        ] {
            let response = send(&app, &method, &path, body, member_token).await;
            let status = response.status();
            let text = response.text().await.unwrap();
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {text}");
        }
        assert_eq!(app.with_token(Method::GET, "/api/v1/me", &a_secret).send().await.unwrap().status(), StatusCode::OK, "the owner's key still works");
        let keys: Value = app.with_token(Method::GET, "/api/v1/api-keys", &a_token).send().await.unwrap().json().await.unwrap();
        assert_eq!(keys["total"], 2, "{keys}");
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
