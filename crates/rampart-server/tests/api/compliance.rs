//! Compliance posture over real HTTP on both backends: each evidence check on hand-built data
//! (met, partial and gap, with the objects causing each gap linked), the control statuses and
//! scores they give, attestations with evidence files, access reviews, thresholds, snapshots
//! with their history and `compliance.changed` events, reports (JSON, self-contained HTML,
//! PDF read back with `pdftotext`, OSCAL), the NTIA minimum elements measured on real SBOMs
//! of the shared corpus, bad input named, scopes and tenancy.

use chrono::Duration;
use rampart_test_support::{backend_tests, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::dispositions::sbom;
use crate::findings::{load_knowledge_base, release, upload_and_wait, vulnerabilities};
use crate::products::{create_release, expect_error, json_of};

/// A document and its NTIA figures: path, components, with supplier, version, identifier,
/// dependency relationship; author source; timestamp.
type NtiaCase = (
    &'static str,
    i64,
    i64,
    i64,
    i64,
    i64,
    Option<&'static str>,
    Option<&'static str>,
);

async fn get(app: &TestApp, path: &str) -> Value {
    json_of(app.get(path).send().await.unwrap(), StatusCode::OK).await
}

async fn posture(app: &TestApp, query: &str) -> Value {
    get(app, &format!("/api/v1/compliance/posture{query}")).await
}

fn check<'a>(posture: &'a Value, id: &str) -> &'a Value {
    posture["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == id)
        .unwrap_or_else(|| panic!("no check {id}: {posture}"))
}

fn framework<'a>(posture: &'a Value, id: &str) -> &'a Value {
    posture["frameworks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("no framework {id}"))
}

fn control<'a>(posture: &'a Value, framework_id: &str, id: &str) -> &'a Value {
    framework(posture, framework_id)["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no control {framework_id} {id}"))
}

fn items(check: &Value) -> Vec<(String, String, String)> {
    check["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["kind"].as_str().unwrap().to_string(),
                i["id"].as_str().unwrap().to_string(),
                i["link"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn put_settings(app: &TestApp, body: Value) -> reqwest::Response {
    app.request(Method::PUT, "/api/v1/compliance/settings")
        .json(&body)
        .send()
        .await
        .unwrap()
}

backend_tests! {
    async fn each_check_is_measured_from_platform_data_with_the_causing_objects(app) {
        let clock = app.config.clock.clone();
        // An empty team: nothing shipped, so the release checks do not apply; no sync source
        // (gap), the bootstrap key has no expiry (gap), nobody reviewed access (gap).
        let empty = posture(&app, "").await;
        assert_eq!(empty["frameworks"].as_array().unwrap().len(), 6);
        for id in ["sbom_freshness", "findings_sla", "kev_findings", "triage_coverage", "vex_published", "webhooks_signed", "incident_response"] {
            assert_eq!(check(&empty, id)["status"], "not_applicable", "{id}: {}", check(&empty, id));
        }
        let kb = check(&empty, "kb_freshness");
        assert_eq!(kb["status"], "gap");
        assert_eq!(kb["items"][0]["link"], "/api/v1/security/cve/sync-sources");
        let keys = check(&empty, "api_key_hygiene");
        assert_eq!(keys["status"], "gap", "{keys}");
        assert_eq!(items(keys)[0].0, "api_key");
        assert!(keys["items"][0]["reason"].as_str().unwrap().contains("no expiry"), "{keys}");
        assert_eq!(check(&empty, "access_review")["status"], "gap");
        assert_eq!(check(&empty, "secrets_encrypted")["status"], "met");
        assert!(check(&empty, "secrets_encrypted")["evidence"]["not_covered"][0].as_str().unwrap().contains("database file"));
        // Audit log: append-only, but nothing recorded for the new team yet: gap.
        let audit = check(&empty, "audit_log");
        assert_eq!(audit["status"], "gap", "{audit}");
        assert_eq!(audit["evidence"]["append_only"], true);
        // Controls no check measures are manual; ISO A.8.8 (vulnerability management) is
        // measured and, with nothing shipped, not applicable.
        assert_eq!(control(&empty, "soc2", "CC1.1")["status"], "manual");
        assert_eq!(control(&empty, "iso27001", "A.8.8")["status"], "not_applicable");
        assert_eq!(control(&empty, "hipaa", "164.312(b)")["requirement"], "required");
        let snapshot = empty["snapshot"]["id"].as_i64().unwrap();

        // A release with an SBOM (critical django finding, lodash in KEV) and one without.
        load_knowledge_base(&app).await;
        let (product_id, shipped) = release(&app, "payments").await;
        upload_and_wait(&app, shipped, sbom()).await;
        let bare = create_release(&app, product_id, "2.0.0").await["id"].as_i64().unwrap();
        let now = posture(&app, "").await;
        let fresh = check(&now, "sbom_freshness");
        assert_eq!(fresh["status"], "partial", "{fresh}");
        assert_eq!(items(fresh), [("release".to_string(), bare.to_string(), format!("/api/v1/releases/{bare}"))]);
        let kev = check(&now, "kev_findings");
        assert_eq!(kev["status"], "gap");
        assert_eq!(kev["items_total"], 1);
        assert!(kev["items"][0]["label"].as_str().unwrap().contains("lodash"), "{kev}");
        assert_eq!(kev["items"][0]["link"], format!("/api/v1/releases/{shipped}/vulnerabilities"));
        // Fresh findings are within their deadline.
        assert_eq!(check(&now, "findings_sla")["status"], "met");
        let triage = check(&now, "triage_coverage");
        assert_eq!(triage["status"], "gap");
        assert_eq!(triage["evidence"]["open_findings"], 3);
        assert_eq!(triage["items_total"], 3);
        // The change of statuses made a new snapshot and a compliance.changed event.
        assert!(now["snapshot"]["id"].as_i64().unwrap() > snapshot);
        let events = get(&app, "/api/v1/events?type=compliance.changed").await;
        let event = &events["items"].as_array().unwrap().last().unwrap()["data"];
        assert_eq!(event["previous_snapshot_id"], snapshot, "{events}");
        assert!(event["changed_controls"].as_i64().unwrap() > 0);
        // The same posture again keeps the snapshot.
        assert_eq!(posture(&app, "").await["snapshot"]["id"], now["snapshot"]["id"]);

        // 20 days on: the critical finding (15 days) is overdue, the medium ones have no deadline.
        clock.advance(Duration::days(20));
        let later = posture(&app, "").await;
        let sla = check(&later, "findings_sla");
        assert_eq!(sla["status"], "gap", "{sla}");
        assert_eq!(sla["evidence"]["overdue_critical"], 1);
        assert!(sla["items"][0]["label"].as_str().unwrap().starts_with("CVE-2099-0001") || sla["items"][0]["label"].as_str().unwrap().contains("django"), "{sla}");
        assert_eq!(control(&later, "iso27001", "A.8.8")["status"], "gap", "KEV and SLA both gap");
        // A team that gives critical findings 30 days is back within its deadline.
        let mut settings = get(&app, "/api/v1/compliance/settings").await;
        settings["critical_finding_days"] = json!(30);
        settings["triage_coverage_percent"] = json!(60.0);
        json_of(put_settings(&app, settings.clone()).await, StatusCode::OK).await;
        let relaxed = posture(&app, "").await;
        assert_eq!(check(&relaxed, "findings_sla")["status"], "met");

        // Triage: one of three decided is 33% (partial against 60%), all three is met.
        let page = vulnerabilities(&app, shipped, "").await;
        let ids: Vec<i64> = page["items"].as_array().unwrap().iter().map(|f| f["id"].as_i64().unwrap()).collect();
        let path = format!("/api/v1/releases/{shipped}/dispositions");
        json_of(app.post(&path).json(&json!({"findings": [ids[0]], "state": "in_triage"})).send().await.unwrap(), StatusCode::CREATED).await;
        assert_eq!(check(&posture(&app, "").await, "triage_coverage")["status"], "partial");
        json_of(app.post(&path).json(&json!({"findings": ids, "state": "in_triage"})).send().await.unwrap(), StatusCode::CREATED).await;
        let triaged = posture(&app, "").await;
        assert_eq!(check(&triaged, "triage_coverage")["status"], "met");
        assert_eq!(check(&triaged, "triage_coverage")["evidence"]["coverage_percent"], 100.0);

        // 100 days on, the only SBOM is older than 90 days: gap for every active release.
        clock.advance(Duration::days(80));
        let stale = posture(&app, "").await;
        let freshness = check(&stale, "sbom_freshness");
        assert_eq!(freshness["status"], "gap");
        assert!(freshness["items"].as_array().unwrap().iter().any(|i| i["reason"].as_str().unwrap().contains("days old")), "{freshness}");

        // Access review: recorded, every member covered.
        let review = json_of(app.post("/api/v1/compliance/access-reviews").json(&json!({"note": "quarterly"})).send().await.unwrap(), StatusCode::CREATED).await;
        assert!(!review["members"].as_array().unwrap().is_empty());
        assert_eq!(check(&posture(&app, "").await, "access_review")["status"], "met");

        // Audit log in use (every change above), never exported: partial; exported: met.
        assert_eq!(check(&posture(&app, "").await, "audit_log")["status"], "partial");
        assert_eq!(app.get("/api/v1/audit-log/export?format=csv").send().await.unwrap().status(), StatusCode::OK);
        assert_eq!(check(&posture(&app, "").await, "audit_log")["status"], "met");

        // The product filter narrows the release checks; another product has nothing shipped.
        let other = json_of(app.post("/api/v1/products").json(&json!({"name": "empty"})).send().await.unwrap(), StatusCode::CREATED).await;
        let scoped = posture(&app, &format!("?product={}&framework=iso27001", other["id"])).await;
        assert_eq!(scoped["frameworks"].as_array().unwrap().len(), 1);
        assert_eq!(check(&scoped, "kev_findings")["status"], "not_applicable");
        assert_eq!(scoped["product_id"], other["id"]);

        // History lists the snapshots, newest first, with per-framework scores.
        let history = get(&app, "/api/v1/compliance/posture/history?framework=soc2").await;
        let snapshots = history["snapshots"].as_array().unwrap();
        assert!(snapshots.len() >= 3, "{history}");
        assert!(snapshots[0]["frameworks"]["soc2"]["score"].is_number());
        assert!(snapshots[0]["frameworks"].get("gdpr").is_none());
    }

    async fn attestations_answer_manual_controls_with_evidence_and_expire(app) {
        let clock = app.config.clock.clone();
        let expires = (clock.now() + Duration::days(30)).to_rfc3339();
        let created = json_of(app.post("/api/v1/compliance/attestations").json(&json!({
            "framework": "soc2", "control_id": "CC1.1", "owner": "CISO",
            "statement": "Code of conduct signed by all staff", "expires_at": expires,
        })).send().await.unwrap(), StatusCode::CREATED).await;
        let id = created["id"].as_i64().unwrap();
        assert_eq!(created["current"], true);
        let attested = posture(&app, "?framework=soc2").await;
        let cc11 = control(&attested, "soc2", "CC1.1");
        assert_eq!(cc11["status"], "met");
        assert_eq!(cc11["basis"], "attestation");
        assert_eq!(cc11["attestation"]["owner"], "CISO");
        // Evidence file: uploaded raw, hashed, downloaded byte for byte.
        let file = b"%PDF-1.4 signed code of conduct".to_vec();
        let with_file = json_of(app.request(Method::PUT, &format!("/api/v1/compliance/attestations/{id}/evidence?name=conduct.pdf"))
            .header("content-type", "application/pdf").body(file.clone()).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(with_file["evidence"]["sha256"], hex::encode(Sha256::digest(&file)));
        let download = app.get(&format!("/api/v1/compliance/attestations/{id}/evidence")).send().await.unwrap();
        assert_eq!(download.status(), StatusCode::OK);
        assert_eq!(download.headers()["content-type"], "application/pdf");
        assert_eq!(download.bytes().await.unwrap().to_vec(), file);
        // Not applicable (Statement of Applicability) overrides a measured control.
        json_of(app.post("/api/v1/compliance/attestations").json(&json!({
            "framework": "iso27001", "control_id": "A.7.4", "status": "not_applicable", "owner": "CTO",
            "statement": "Fully remote, no premises", "expires_at": expires,
        })).send().await.unwrap(), StatusCode::CREATED).await;
        assert_eq!(control(&posture(&app, "?framework=iso27001").await, "iso27001", "A.7.4")["status"], "not_applicable");
        // Expired: manual again.
        clock.advance(Duration::days(31));
        let expired = posture(&app, "?framework=soc2").await;
        assert_eq!(control(&expired, "soc2", "CC1.1")["status"], "manual");
        assert_eq!(control(&expired, "soc2", "CC1.1")["attestation"]["current"], false);
        // Withdrawn: kept, listed, not counted; the audit log has each step.
        let withdrawn = json_of(app.request(Method::DELETE, &format!("/api/v1/compliance/attestations/{id}")).send().await.unwrap(), StatusCode::OK).await;
        assert!(withdrawn["withdrawn_at"].is_string());
        let audit = get(&app, "/api/v1/audit-log?action=compliance_attestation.").await;
        let actions: Vec<&str> = audit["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        for action in ["compliance_attestation.create", "compliance_attestation.evidence", "compliance_attestation.withdraw"] {
            assert!(actions.contains(&action), "{action}: {actions:?}");
        }
    }

    async fn bad_input_is_named_and_never_a_500(app) {
        let bad = app.get("/api/v1/compliance/posture?framework=pci").send().await.unwrap();
        assert!(expect_error(bad, StatusCode::BAD_REQUEST, "bad_request").await.contains("`framework`"));
        let unknown = app.get("/v1/compliance/posture?colour=red").send().await.unwrap();
        assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
        let missing = app.get("/api/v1/compliance/posture?product=999999").send().await.unwrap();
        expect_error(missing, StatusCode::NOT_FOUND, "not_found").await;
        let not_number = app.get("/api/v1/compliance/posture?product=abc").send().await.unwrap();
        assert_eq!(not_number.status(), StatusCode::BAD_REQUEST);
        let mut settings = get(&app, "/api/v1/compliance/settings").await;
        settings["key_rotation_days"] = json!(0);
        let refused = put_settings(&app, settings).await;
        assert!(expect_error(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await.contains("`key_rotation_days`"));
        for (body, field) in [
            (json!({"control_id": "CC1.1", "owner": "o", "statement": "s", "expires_at": "2099-01-01T00:00:00Z"}), "framework"),
            (json!({"framework": "soc2", "control_id": "CC99.9", "owner": "o", "statement": "s", "expires_at": "2099-01-01T00:00:00Z"}), "control_id"),
            (json!({"framework": "soc2", "control_id": "CC1.1", "statement": "s", "expires_at": "2099-01-01T00:00:00Z"}), "owner"),
            (json!({"framework": "soc2", "control_id": "CC1.1", "owner": "o", "statement": "s"}), "expires_at"),
            (json!({"framework": "soc2", "control_id": "CC1.1", "owner": "o", "statement": "s", "status": "maybe", "expires_at": "2099-01-01T00:00:00Z"}), "status"),
        ] {
            let response = app.post("/api/v1/compliance/attestations").json(&body).send().await.unwrap();
            let message = expect_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert!(message.contains(field), "{body}: {message}");
        }
        let no_framework = app.get("/api/v1/compliance/reports?format=pdf").send().await.unwrap();
        assert!(expect_error(no_framework, StatusCode::BAD_REQUEST, "bad_request").await.contains("`framework`"));
        let bad_format = app.get("/api/v1/compliance/reports?framework=soc2&format=docx").send().await.unwrap();
        assert!(expect_error(bad_format, StatusCode::BAD_REQUEST, "bad_request").await.contains("`format`"));
        let no_attestation = app.request(Method::PUT, "/api/v1/compliance/attestations/424242/evidence").body("x").send().await.unwrap();
        expect_error(no_attestation, StatusCode::NOT_FOUND, "not_found").await;
        let limit = app.get("/api/v1/compliance/posture/history?limit=0").send().await.unwrap();
        assert!(expect_error(limit, StatusCode::BAD_REQUEST, "bad_request").await.contains("`limit`"));
    }

    async fn reports_carry_snapshot_and_hash_and_are_audited(app) {
        for (format, content_type) in [("json", "application/json"), ("oscal", "application/json"), ("html", "text/html; charset=utf-8"), ("pdf", "application/pdf")] {
            let response = app.get(&format!("/api/v1/compliance/reports?framework=hipaa&format={format}")).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{format}");
            assert_eq!(response.headers()["content-type"], content_type);
            let snapshot: i64 = response.headers()["x-snapshot-id"].to_str().unwrap().parse().unwrap();
            let sha = response.headers()["x-report-sha256"].to_str().unwrap().to_string();
            let bytes = response.bytes().await.unwrap().to_vec();
            assert_eq!(sha, hex::encode(Sha256::digest(&bytes)), "{format}");
            let stored = get(&app, "/api/v1/compliance/posture/history?limit=1").await["snapshots"][0].clone();
            assert_eq!(stored["snapshot_id"], snapshot);
            let snapshot_sha = stored["sha256"].as_str().unwrap();
            match format {
                "json" => {
                    let report: Value = serde_json::from_slice(&bytes).unwrap();
                    assert_eq!(report["report"]["snapshot_id"], snapshot);
                    assert_eq!(report["report"]["snapshot_sha256"], snapshot_sha);
                    assert!(report["report"]["generated_at"].is_string());
                    assert_eq!(report["framework"]["controls"].as_array().unwrap().len(), 65);
                }
                "oscal" => {
                    let report: Value = serde_json::from_slice(&bytes).unwrap();
                    let results = &report["assessment-results"];
                    assert_eq!(results["metadata"]["oscal-version"], "1.1.2");
                    let findings = results["results"][0]["findings"].as_array().unwrap();
                    assert_eq!(findings.len(), 65);
                    assert!(findings.iter().any(|f| f["target"]["target-id"] == "164.312-b"));
                    let props = results["metadata"]["props"].as_array().unwrap();
                    assert!(props.iter().any(|p| p["name"] == "snapshot-sha256" && p["value"] == snapshot_sha));
                }
                "html" => {
                    let html = String::from_utf8(bytes).unwrap();
                    assert!(html.contains(snapshot_sha) && html.contains("164.312(b)"));
                    let lower = html.to_lowercase();
                    for external in ["src=", "href=", "url(", "@import", "<script", "<link"] {
                        assert!(!lower.contains(external), "the report loads nothing: {external}");
                    }
                }
                _ => {
                    assert!(bytes.starts_with(b"%PDF-"));
                    pdf_has_control_ids(&bytes, &["164.308(a)(1)(i)", "164.312(b)", "164.316(b)(2)(iii)"], snapshot_sha);
                }
            }
        }
        let audit = get(&app, "/api/v1/audit-log?action=compliance.report.download").await;
        assert_eq!(audit["total"], 4, "{audit}");
        assert_eq!(audit["data"][0]["details"]["framework"], "hipaa");
        // Scopes: reading needs compliance:read, attesting teams:manage.
        let (token, _) = app.user_on_plan("auditor@compliance.example", "pro").await;
        let key: Value = app.with_token(Method::POST, "/api/v1/api-keys", &token)
            .json(&json!({"name": "auditor", "scopes": ["compliance:read"]}))
            .send().await.unwrap().json().await.unwrap();
        let key = key["api_key"].as_str().unwrap();
        let own = app.with_token(Method::GET, "/v1/compliance/posture?framework=gdpr", key).send().await.unwrap();
        assert_eq!(json_of(own, StatusCode::OK).await["frameworks"][0]["id"], "gdpr");
        let refused = app.with_token(Method::POST, "/api/v1/compliance/access-reviews", key).json(&json!({})).send().await.unwrap();
        assert!(expect_error(refused, StatusCode::FORBIDDEN, "insufficient_scope").await.contains("teams:manage"));
        let (token, _) = app.user_on_plan("kb@compliance.example", "pro").await;
        let kb_key: Value = app.with_token(Method::POST, "/api/v1/api-keys", &token)
            .json(&json!({"name": "kb", "scopes": ["kb:read"]}))
            .send().await.unwrap().json().await.unwrap();
        let refused = app.with_token(Method::GET, "/api/v1/compliance/reports?framework=soc2", kb_key["api_key"].as_str().unwrap()).send().await.unwrap();
        assert!(expect_error(refused, StatusCode::FORBIDDEN, "insufficient_scope").await.contains("compliance:read"));
    }

    async fn ntia_minimum_elements_are_counted_on_real_sboms(app) {
        let Some(data) = rampart_test_data::root() else { return };
        // Expected figures counted by hand from each document (components, then those with a
        // supplier, version, unique identifier, dependency relationship; author; timestamp).
        let cases: [NtiaCase; 4] = [
            // 11 of its components appear in `dependencies` only with an empty `dependsOn`
            // and nothing depends on them: related to nothing, so 156 of 167.
            ("cyclonedx-bom-examples/SBOM/dropwizard-1.3.15/bom.json", 167, 0, 167, 167, 156, Some("tool"), Some("2020-08-02T21:27:04Z")),
            ("cyclonedx-bom-examples/SBOM/cern-lhc-vdm-editor-e564943/bom.json", 43, 0, 43, 43, 0, Some("tool"), Some("2020-08-03T01:28:52.765Z")),
            ("spdx-examples/presentations/SBOMS-SPDX-Now-and-Future/ACME-v2.3.spdx.json", 4, 1, 4, 3, 4, Some("metadata"), Some("2023-10-08T18:30:22Z")),
            // Its one relationship besides DESCRIBES is DYNAMIC_LINK, which the SPDX reader does
            // not keep as a dependency edge (only DEPENDS_ON / *_DEPENDENCY_OF / CONTAINS): 0.
            ("spdx-examples/presentations/OSS-NA-2023/SPDXVersion2.3/03-SBOMwDependency.json", 2, 2, 2, 2, 0, Some("metadata"), Some("2023-05-12T18:30:22Z")),
        ];
        let mut sbom_ids = Vec::new();
        for (i, (path, ..)) in cases.iter().enumerate() {
            let bytes = std::fs::read(data.join(path)).unwrap();
            let (_, release_id) = release(&app, &format!("corpus-{i}")).await;
            let uploaded = upload_and_wait(&app, release_id, bytes).await;
            sbom_ids.push(uploaded["sbom"]["id"].as_i64().unwrap());
        }
        let measured = posture(&app, "?framework=ntia_sbom").await;
        let ntia = check(&measured, "sbom_ntia_elements");
        let sboms = ntia["evidence"]["sboms"].as_array().unwrap();
        for ((path, components, supplier, version, identifiers, dependencies, author, timestamp), id) in cases.iter().zip(&sbom_ids) {
            let sbom = sboms.iter().find(|s| s["sbom_id"] == *id).unwrap_or_else(|| panic!("{path}"));
            assert_eq!(sbom["components"], *components, "{path}: {sbom}");
            assert_eq!(sbom["elements"]["supplier"], *supplier, "{path}: {sbom}");
            assert_eq!(sbom["elements"]["component_name"], *components, "{path}");
            assert_eq!(sbom["elements"]["version"], *version, "{path}");
            assert_eq!(sbom["elements"]["unique_identifiers"], *identifiers, "{path}: {sbom}");
            assert_eq!(sbom["elements"]["dependency_relationship"], *dependencies, "{path}: {sbom}");
            assert_eq!(sbom["author_source"].as_str(), *author, "{path}: {sbom}");
            assert_eq!(sbom["timestamp"].as_str(), *timestamp, "{path}");
        }
        // Names, versions and timestamps are complete everywhere; suppliers and relationships
        // in some documents only.
        assert_eq!(ntia["facets"]["supplier"], "partial");
        assert_eq!(ntia["facets"]["component_name"], "met");
        assert_eq!(ntia["facets"]["timestamp"], "met");
        assert_eq!(ntia["status"], "partial");
        assert_eq!(control(&measured, "ntia_sbom", "DF.supplier")["status"], "partial");
        assert_eq!(control(&measured, "ntia_sbom", "DF.version")["status"], "met");
        // Failing SBOMs and components are listed with their links.
        let listed = items(ntia);
        assert!(listed.iter().any(|(kind, id, link)| kind == "sbom" && *id == sbom_ids[0].to_string() && *link == format!("/api/v1/sboms/{}", sbom_ids[0])), "{listed:?}");
        assert!(listed.iter().any(|(kind, ..)| kind == "component"));
        let spdx_id = sbom_ids[3].to_string();
        let spdx = ntia["items"].as_array().unwrap().iter()
            .find(|i| i["kind"] == "sbom" && i["id"] == spdx_id.as_str()).unwrap();
        assert_eq!(spdx["reason"], "incomplete elements: dependency_relationship (0/2)", "{spdx}");
    }
}

/// Reads the PDF back with `pdftotext` (poppler-utils) and finds the control ids and the
/// snapshot hash; skipped with a reason when the tool is missing, unless
/// `RAMPART_REQUIRE_PDFTOTEXT=1` (CI).
fn pdf_has_control_ids(pdf: &[u8], ids: &[&str], snapshot_sha: &str) {
    let available = std::process::Command::new("pdftotext")
        .arg("-v")
        .output()
        .is_ok();
    if !available {
        assert!(
            std::env::var("RAMPART_REQUIRE_PDFTOTEXT").as_deref() != Ok("1"),
            "pdftotext is missing and RAMPART_REQUIRE_PDFTOTEXT=1"
        );
        eprintln!("skipping the PDF text check: pdftotext (poppler-utils) is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.pdf");
    std::fs::write(&file, pdf).unwrap();
    let output = std::process::Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    for id in ids {
        assert!(text.contains(id), "{id} not in the PDF text:\n{text}");
    }
    assert!(
        text.contains(snapshot_sha),
        "the snapshot hash is in the PDF"
    );
}

/// The daily pass every 150 ms (the first one after 150 ms too).
fn daily_snapshots_fast(config: &mut rampart_server::ServerConfig) {
    config.compliance_snapshot_interval = Some(std::time::Duration::from_millis(150));
}

/// Team-wide snapshots per day (`YYYY-MM-DD`) and the `compliance.changed` events.
async fn snapshot_days(app: &TestApp) -> (std::collections::BTreeMap<String, usize>, Vec<Value>) {
    let history = get(app, "/api/v1/compliance/posture/history?limit=500").await;
    let mut days = std::collections::BTreeMap::new();
    for snapshot in history["snapshots"].as_array().unwrap() {
        let day = snapshot["taken_at"].as_str().unwrap()[..10].to_string();
        *days.entry(day).or_insert(0) += 1;
    }
    let events = get(app, "/api/v1/events?type=compliance.changed").await;
    (days, events["items"].as_array().unwrap().clone())
}

/// Polls until the team has a snapshot taken on the app's today.
async fn wait_for_snapshot_of_today(
    app: &TestApp,
) -> (std::collections::BTreeMap<String, usize>, Vec<Value>) {
    let today = app.config.clock.now().format("%Y-%m-%d").to_string();
    for _ in 0..300 {
        let (days, events) = snapshot_days(app).await;
        if days.contains_key(&today) {
            return (days, events);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no snapshot for {today}: {:?}", snapshot_days(app).await.0);
}

/// A second server on the same PostgreSQL database (a replica), stopped when the sender drops.
async fn replica(app: &TestApp) -> tokio::sync::oneshot::Sender<()> {
    let replica = rampart_server::App::build(app.config.clone())
        .await
        .expect("replica starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(replica.serve(listener, async {
        let _ = stopped.await;
    }));
    stop
}

backend_tests! {
    #[configure(daily_snapshots_fast)]
    async fn a_snapshot_is_stored_per_team_per_day_and_a_change_announced_once(app) {
        // Nobody asked for the posture: the worker stored today's snapshot by itself, once.
        let (days, events) = wait_for_snapshot_of_today(&app).await;
        assert_eq!(days.len(), 1, "{days:?}");
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        let (again, _) = snapshot_days(&app).await;
        assert_eq!(again, days, "later passes of the same day store nothing");
        assert!(events.is_empty(), "the first snapshot is no change: {events:?}");

        // A release without an SBOM changes the posture; the next day's snapshot records and
        // announces it. On PostgreSQL a second replica runs the same pass at the same time.
        let _replica = match app.backend {
            rampart_test_support::Backend::Postgres => Some(replica(&app).await),
            rampart_test_support::Backend::Sqlite => None,
        };
        let (product_id, _) = crate::findings::release(&app, "unshipped").await;
        let first = get(&app, "/api/v1/compliance/posture/history?limit=1").await["snapshots"][0]["snapshot_id"].as_i64().unwrap();
        for day in 1..=2 {
            app.config.clock.advance(Duration::days(1));
            let (days, events) = wait_for_snapshot_of_today(&app).await;
            tokio::time::sleep(std::time::Duration::from_millis(800)).await;
            let (settled, settled_events) = snapshot_days(&app).await;
            assert_eq!(settled, days, "day {day}: one snapshot per day, whatever the replicas");
            assert!(settled.values().all(|n| *n == 1), "{settled:?}");
            assert_eq!(settled.len(), 1 + day as usize);
            assert_eq!(settled_events.len(), events.len());
            // Day 1 records the change (once), day 2 has none.
            assert_eq!(settled_events.len(), 1, "day {day}: {settled_events:?}");
        }
        let (_, events) = snapshot_days(&app).await;
        let data = &events[0]["data"];
        assert_eq!(data["previous_snapshot_id"], first, "{data}");
        assert!(data["changes"].as_array().unwrap().iter().any(|c| c["framework"] == "iso27001"), "{data}");
        // A product's posture is the product's own history, not the daily team-wide one.
        let scoped = get(&app, &format!("/api/v1/compliance/posture/history?product={product_id}")).await;
        assert!(scoped["snapshots"].as_array().unwrap().is_empty(), "{scoped}");
    }
}

/// Webhook endpoints on loopback are accepted (nothing is delivered).
fn webhooks_not_delivered(config: &mut rampart_server::ServerConfig) {
    crate::webhooks::fast_webhooks(config);
    config.webhooks.deliver = false;
}

async fn create(app: &TestApp, path: &str, body: Value) -> Value {
    json_of(
        app.post(path).json(&body).send().await.unwrap(),
        StatusCode::CREATED,
    )
    .await
}

backend_tests! {
    #[configure(webhooks_not_delivered)]
    async fn webhook_and_incident_checks_are_met_partial_and_gap_with_their_objects(app) {
        let clock = app.config.clock.clone();
        // Webhooks: one plain-http endpoint is a gap naming it; with a signed https one
        // beside it, partial; once the http one is gone, met.
        let plain = create(&app, "/api/v1/webhooks", json!({"url": "http://127.0.0.1:9/plain"})).await;
        let plain_id = plain["id"].as_i64().unwrap();
        let gap = check(&posture(&app, "").await, "webhooks_signed").clone();
        assert_eq!(gap["status"], "gap", "{gap}");
        assert_eq!(items(&gap), [("webhook".to_string(), plain_id.to_string(), format!("/api/v1/webhooks/{plain_id}"))]);
        assert!(gap["items"][0]["reason"].as_str().unwrap().contains("not HTTPS"), "{gap}");
        create(&app, "/api/v1/webhooks", json!({"url": "https://127.0.0.1:9/signed"})).await;
        let partial = check(&posture(&app, "").await, "webhooks_signed").clone();
        assert_eq!(partial["status"], "partial", "{partial}");
        assert_eq!(partial["evidence"]["signed_https"], 1);
        assert_eq!(items(&partial).len(), 1);
        let deleted = app.request(Method::DELETE, &format!("/api/v1/webhooks/{plain_id}")).send().await.unwrap();
        assert!(deleted.status().is_success(), "{}", deleted.status());
        let met = check(&posture(&app, "").await, "webhooks_signed").clone();
        assert_eq!((met["status"].as_str(), met["items_total"].as_i64()), (Some("met"), Some(0)), "{met}");

        // Incidents: one acknowledged and resolved at once is met (MTTA, MTTR reported);
        // a critical one left unacknowledged past its hour is late: partial, naming it.
        let incident = |title: &str, severity: &str| json!({"title": title, "severity": severity, "description": "compliance test"});
        let handled = create(&app, "/api/v1/incidents", incident("Handled", "high")).await["id"].as_i64().unwrap();
        for status in ["acknowledged", "resolved"] {
            let moved = app.post(&format!("/api/v1/incidents/{handled}/status")).json(&json!({"status": status})).send().await.unwrap();
            assert!(moved.status().is_success(), "{status}: {}", moved.status());
        }
        let met = check(&posture(&app, "").await, "incident_response").clone();
        assert_eq!(met["status"], "met", "{met}");
        assert!(met["evidence"]["mttr_seconds"].is_number(), "{met}");
        let ignored = create(&app, "/api/v1/incidents", incident("Ignored", "critical")).await["id"].as_i64().unwrap();
        clock.advance(Duration::hours(2));
        let partial = check(&posture(&app, "").await, "incident_response").clone();
        assert_eq!(partial["status"], "partial", "{partial}");
        assert_eq!(items(&partial), [("incident".to_string(), ignored.to_string(), format!("/api/v1/incidents/{ignored}"))]);
        assert!(partial["items"][0]["reason"].as_str().unwrap().contains("not acknowledged"), "{partial}");
        assert_eq!(partial["evidence"]["acknowledged_late"], 1);
        // Three days on, with a one-day window, only a new late incident counts: gap.
        clock.advance(Duration::days(3));
        let mut settings = get(&app, "/api/v1/compliance/settings").await;
        settings["incident_window_days"] = json!(1);
        json_of(put_settings(&app, settings).await, StatusCode::OK).await;
        let late = create(&app, "/api/v1/incidents", incident("Late again", "critical")).await["id"].as_i64().unwrap();
        clock.advance(Duration::hours(2));
        let gap = check(&posture(&app, "").await, "incident_response").clone();
        assert_eq!(gap["status"], "gap", "{gap}");
        assert_eq!(items(&gap)[0].1, late.to_string());
        assert_eq!(gap["evidence"]["incidents"], 1);
        // It is SOC 2 CC7.4's evidence.
        let cc74 = control(&posture(&app, "?framework=soc2").await, "soc2", "CC7.4").clone();
        assert!(cc74["evidence"].as_array().unwrap().iter().any(|e| e["check"] == "incident_response" && e["status"] == "gap"), "{cc74}");
    }
}

/// A small CISA KEV catalogue (one entry), as the feed publishes it.
fn kev_catalogue() -> String {
    json!({"title": "CISA Catalog of Known Exploited Vulnerabilities", "catalogVersion": "2024.01.05",
        "dateReleased": "2024-01-05T00:00:00.000Z", "count": 1, "vulnerabilities": [{
            "cveID": "CVE-2099-0002", "vendorProject": "lodash", "product": "lodash",
            "vulnerabilityName": "lodash prototype pollution", "dateAdded": "2024-01-05",
            "shortDescription": "x", "requiredAction": "update", "dueDate": "2024-01-26",
            "knownRansomwareCampaignUse": "Unknown", "notes": ""}]})
    .to_string()
}

/// Real sync runs from a KEV file on disk (the operator allows local paths).
fn local_sync(config: &mut rampart_server::ServerConfig) {
    crate::sync_sources::fast_sync(config);
    config.sync.outbound.allow_local_paths = true;
}

backend_tests! {
    async fn vex_published_is_met_once_each_shipped_release_has_an_approved_published_vex(app) {
        crate::vex_documents::load_knowledge_base(&app).await;
        let (product, first) = crate::vex_documents::release_with_findings(&app, "vex posture").await;
        let second = create_release(&app, product, "2.0.0").await["id"].as_i64().unwrap();
        let admin = app.admin_key.clone();
        let reviewer = crate::vex_documents::colleague(&app, "reviewer@compliance.example").await;
        let release_item = |id: i64| ("release".to_string(), id.to_string(), format!("/api/v1/releases/{id}/vex-documents"));

        // Two shipped releases (one with three findings), no VEX: gap naming both.
        let none = posture(&app, "").await;
        let vex = check(&none, "vex_published");
        assert_eq!(vex["status"], "gap", "{vex}");
        assert_eq!(vex["evidence"], json!({"shipped_releases": 2, "with_published_vex": 0}));
        assert_eq!(items(vex), [release_item(first), release_item(second)]);
        assert_eq!(vex["items_total"], 2);
        assert_eq!(vex["items"][0]["reason"], "shipped without a published VEX document");
        assert_eq!(vex["items"][0]["label"], "vex posture 1.0.0");
        assert_eq!(control(&none, "eu_cra", "II.4")["status"], "gap");
        let gap = framework(&none, "eu_cra")["gaps"].as_array().unwrap().iter()
            .find(|g| g["check"] == "vex_published").cloned().unwrap_or_else(|| panic!("no vex gap: {none}"));
        assert!(gap["controls"].as_array().unwrap().contains(&json!("II.4")), "{gap}");

        // A draft, a submitted and an approved document are not published: still a gap. The
        // author cannot approve their own document.
        let draft = crate::vex_documents::generate(&app, &admin, &format!("/api/v1/releases/{first}/vex-documents"), json!({"format": "csaf"})).await;
        let id = draft["id"].as_i64().unwrap();
        assert_eq!(check(&posture(&app, "").await, "vex_published")["status"], "gap");
        json_of(crate::vex_documents::step(&app, &admin, id, "submit", None).await, StatusCode::OK).await;
        let refused = crate::vex_documents::step(&app, &admin, id, "approve", None).await;
        assert!(expect_error(refused, StatusCode::FORBIDDEN, "forbidden").await.contains("four-eyes"));
        json_of(crate::vex_documents::step(&app, &reviewer, id, "approve", None).await, StatusCode::OK).await;
        let approved = posture(&app, "").await;
        assert_eq!(check(&approved, "vex_published")["status"], "gap", "approved is not published");

        // Published by the reviewer: the first release is covered, the second still listed.
        let published = json_of(crate::vex_documents::step(&app, &reviewer, id, "publish", None).await, StatusCode::OK).await;
        assert_eq!(published["status"], "published");
        let half = posture(&app, "").await;
        let vex = check(&half, "vex_published");
        assert_eq!(vex["status"], "partial", "{vex}");
        assert_eq!(vex["summary"], "1 of 2 shipped releases have published VEX");
        assert_eq!(vex["evidence"]["with_published_vex"], 1);
        assert_eq!(items(vex), [release_item(second)]);
        assert_eq!(control(&half, "eu_cra", "II.4")["status"], "partial");

        // A product-wide VEX, published, covers every release of the product: met.
        let product_wide = crate::vex_documents::generate(&app, &admin, &format!("/api/v1/products/{product}/vex-documents"), json!({"format": "csaf"})).await;
        crate::vex_documents::publish(&app, &admin, &reviewer, product_wide["id"].as_i64().unwrap()).await;
        let covered = posture(&app, "").await;
        let vex = check(&covered, "vex_published");
        assert_eq!((vex["status"].as_str(), vex["items_total"].as_i64()), (Some("met"), Some(0)), "{vex}");
        assert_eq!(vex["evidence"], json!({"shipped_releases": 2, "with_published_vex": 2}));
        assert_eq!(control(&covered, "eu_cra", "II.4")["status"], "met");
        // A release still in development is not shipped: it needs no VEX.
        let dev = json_of(app.post(&format!("/api/v1/products/{product}/releases"))
            .json(&json!({"version": "3.0.0-dev", "status": "development"})).send().await.unwrap(), StatusCode::CREATED).await;
        assert_eq!(dev["status"], "development");
        assert_eq!(check(&posture(&app, "").await, "vex_published")["evidence"]["shipped_releases"], 2);
    }

    #[configure(local_sync)]
    async fn kb_freshness_follows_the_sync_sources_last_successful_runs(app) {
        let clock = app.config.clock.clone();
        let dir = tempfile::tempdir().unwrap();
        let feed = dir.path().join("kev.json");
        let url = format!("file://{}", feed.display());
        let source_item = |id: &str| ("sync_source".to_string(), id.to_string(), format!("/api/v1/security/cve/sync-sources/{id}"));

        // No source configured: the knowledge base is not kept current.
        let kb = check(&posture(&app, "").await, "kb_freshness").clone();
        assert_eq!(kb["status"], "gap", "{kb}");
        assert_eq!(kb["items"][0]["reason"], "no vulnerability source is configured");

        // A source whose only run failed (its file is missing): gap, with the run's error.
        crate::sync_sources::configure_ok(&app, &json!({"config": {"id": "kev", "type": "KEV", "url": url}})).await;
        let failed = crate::sync_sources::run_now(&app, "kev").await;
        assert_eq!(failed["status"], "failed", "{failed}");
        let never = posture(&app, "").await;
        let kb = check(&never, "kb_freshness");
        assert_eq!(kb["status"], "gap", "{kb}");
        assert_eq!(items(kb), [source_item("kev")]);
        let reason = kb["items"][0]["reason"].as_str().unwrap();
        assert!(reason.starts_with("never synced successfully; last error: "), "{reason}");
        assert!(reason.contains(failed["error"].as_str().unwrap()), "{reason} / {failed}");
        assert!(kb["evidence"]["sources"][0]["last_failure_at"].is_string(), "{kb}");
        assert_eq!(kb["evidence"]["sources"][0]["last_success_at"], Value::Null);
        assert_eq!(control(&never, "iso27001", "A.5.7")["evidence"].as_array().unwrap().iter()
            .find(|e| e["check"] == "kb_freshness").unwrap()["status"], "gap");

        // The feed is there now: a fresh successful run meets the check.
        std::fs::write(&feed, kev_catalogue()).unwrap();
        let succeeded = crate::sync_sources::run_now(&app, "kev").await;
        assert_eq!(succeeded["status"], "succeeded", "{succeeded}");
        let fresh = posture(&app, "").await;
        let kb = check(&fresh, "kb_freshness");
        assert_eq!((kb["status"].as_str(), kb["items_total"].as_i64()), (Some("met"), Some(0)), "{kb}");
        assert_eq!(kb["summary"], "1 of 1 sync sources succeeded within 48 hours");
        let at = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
        assert_eq!(at(&kb["evidence"]["sources"][0]["last_success_at"]), at(&succeeded["finished_at"]), "{kb}");

        // A second source that never succeeds: partial, naming only it.
        crate::sync_sources::configure_ok(&app, &json!({"config": {"id": "kev-mirror", "type": "KEV", "url": format!("file://{}/missing.json", dir.path().display())}})).await;
        assert_eq!(crate::sync_sources::run_now(&app, "kev-mirror").await["status"], "failed");
        let kb = check(&posture(&app, "").await, "kb_freshness").clone();
        assert_eq!(kb["status"], "partial", "{kb}");
        assert_eq!(items(&kb), [source_item("kev-mirror")]);

        // 49 hours on, the last successful sync is too old: gap, saying how old.
        clock.advance(Duration::hours(49));
        let stale = posture(&app, "").await;
        let kb = check(&stale, "kb_freshness");
        assert_eq!(kb["status"], "gap", "{kb}");
        assert_eq!(items(kb), [source_item("kev"), source_item("kev-mirror")]);
        assert_eq!(kb["items"][0]["reason"], "last successful sync 49 hours ago (limit 48)");
        // A team that accepts three days is within its limit again for that source.
        let mut settings = get(&app, "/api/v1/compliance/settings").await;
        settings["kb_max_age_hours"] = json!(72);
        json_of(put_settings(&app, settings).await, StatusCode::OK).await;
        let kb = check(&posture(&app, "").await, "kb_freshness").clone();
        assert_eq!(kb["status"], "partial", "{kb}");
        assert_eq!(items(&kb), [source_item("kev-mirror")]);
    }
}
