//! VEX import over real HTTP on both backends: documents in every format applied to a
//! release's findings (vulnerability by any alias AND component), what each statement did,
//! manual decisions winning unless `overwrite=true`, malformed documents refused with nothing
//! stored, the import record, scopes, the round trip (export → import into a fresh release
//! reproduces the decisions), and every VEX document of the corpora applied to a release built
//! from its products.

use chrono::DateTime;
use rampart_formats::vex::{
    self, Author, Disposition, DispositionState, DocumentMetadata, DocumentStatus, Justification,
    Response, Statement, Subject, VexDocument, VexFormat, Vulnerability,
};
use rampart_test_support::{backend_tests, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::dispositions::sbom;
use crate::findings::{load_knowledge_base, release, upload_and_wait, vulnerabilities};
use crate::products::{create_release, expect_error, json_of};

const FORMATS: [VexFormat; 4] = [
    VexFormat::OpenVex,
    VexFormat::CycloneDxJson,
    VexFormat::CycloneDxXml,
    VexFormat::Csaf,
];

/// The release as Rampart names it in VEX (`pkg:generic/<product>@<version>`, name, version).
fn product(name: &str, version: &str) -> Subject {
    rampart_core::vex_match::release_subject(name, version)
}

fn component(purl: &str) -> Subject {
    Subject::from_identifier(purl, Some(purl), None)
}

/// A document about `product` whose statements each name one vulnerability (by these ids)
/// in the component with this purl.
fn document(product: Subject, statements: &[(&[&str], &str, Disposition)]) -> VexDocument {
    let mut components: Vec<Subject> = Vec::new();
    let statements = statements
        .iter()
        .map(|(ids, purl, disposition)| {
            if !components.iter().any(|c| c.key == *purl) {
                components.push(component(purl));
            }
            Statement {
                vulnerability: Vulnerability::from_ids(ids.iter().copied()).unwrap(),
                products: vec![product.key.clone()],
                components: vec![purl.to_string()],
                disposition: disposition.clone(),
                timestamp: None,
            }
        })
        .collect();
    VexDocument {
        metadata: DocumentMetadata {
            id: "https://vex.example.com/acme/1".into(),
            version: 3,
            title: None,
            author: Author {
                name: "Acme PSIRT".into(),
                namespace: Some("https://acme.example.com".into()),
                role: None,
            },
            created: DateTime::UNIX_EPOCH,
            last_updated: DateTime::UNIX_EPOCH,
            status: DocumentStatus::Final,
            revision_history: Vec::new(),
            serial_number: None,
        },
        products: vec![product],
        components,
        statements,
    }
}

fn not_affected(justification: Justification) -> Disposition {
    Disposition {
        justification: Some(justification),
        ..Disposition::new(DispositionState::NotAffected)
    }
}

async fn import(app: &TestApp, release_id: i64, query: &str, body: Vec<u8>) -> reqwest::Response {
    app.post(&format!("/api/v1/releases/{release_id}/vex-imports{query}"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn imported(app: &TestApp, release_id: i64, query: &str, body: Vec<u8>) -> Value {
    json_of(
        import(app, release_id, query, body).await,
        StatusCode::CREATED,
    )
    .await
}

/// Finding id per component purl in a release (suppressed ones included).
async fn findings_by_purl(app: &TestApp, release_id: i64) -> Vec<(String, i64, Value)> {
    let page = vulnerabilities(app, release_id, "?include_suppressed=true&per_page=500").await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["component"]["purl"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                f["id"].as_i64().unwrap(),
                f["disposition"].clone(),
            )
        })
        .collect()
}

fn finding_of(findings: &[(String, i64, Value)], purl: &str) -> (i64, Value) {
    findings
        .iter()
        .find(|(p, _, _)| p == purl)
        .map(|(_, id, d)| (*id, d.clone()))
        .unwrap_or_else(|| panic!("no finding of {purl}: {findings:?}"))
}

backend_tests! {
    async fn a_vex_document_decides_what_it_names_and_says_what_it_did_with_the_rest(app) {
        let _store = load_knowledge_base(&app).await;
        let (_, release_id) = release(&app, "shop").await;
        upload_and_wait(&app, release_id, sbom()).await;
        let before = findings_by_purl(&app, release_id).await;
        let (lodash, _) = finding_of(&before, "pkg:npm/lodash@4.17.20");

        // A hand-written OpenVEX: lodash by its CVE alias; the same CVE said of a lodash
        // version the release does not have; a CVE nobody has; maven's advisory said of
        // another product.
        let openvex = json!({"@context": "https://openvex.dev/ns/v0.2.0",
            "@id": "https://vex.example.com/upstream/7", "author": "Upstream", "version": 2,
            "timestamp": "2024-05-01T00:00:00Z",
            "statements": [
              {"vulnerability": {"name": "CVE-2099-0002"}, "products": [{"@id": "pkg:npm/lodash@4.17.20"}],
               "status": "not_affected", "justification": "vulnerable_code_not_present"},
              {"vulnerability": {"name": "CVE-2099-0002"}, "products": [{"@id": "pkg:npm/lodash@4.17.21"}],
               "status": "not_affected", "justification": "vulnerable_code_not_present"},
              {"vulnerability": {"name": "CVE-1999-0001"}, "products": [{"@id": "pkg:npm/lodash@4.17.20"}],
               "status": "fixed"},
              {"vulnerability": {"name": "GHSA-maven-0001"},
               "products": [{"@id": "pkg:oci/other-product@sha256%3A00", "subcomponents": [{"@id": "pkg:maven/org.example/lib@2.3.1"}]}],
               "status": "affected", "action_statement": "Upgrade."}
            ]});
        let outcome = imported(&app, release_id, "", openvex.to_string().into_bytes()).await;
        assert_eq!(outcome["import"]["format"], "openvex");
        assert_eq!(outcome["import"]["document_id"], "https://vex.example.com/upstream/7");
        assert_eq!(outcome["import"]["document_version"], 2);
        assert_eq!(outcome["import"]["statements"], 4);
        assert_eq!(outcome["import"]["findings_decided"], 1);
        assert_eq!(outcome["import"]["imported_by"], "admin@localhost");
        assert_eq!(outcome["applied"].as_array().unwrap().len(), 1, "{outcome}");
        assert_eq!(outcome["applied"][0]["findings"], json!([lodash]));
        assert_eq!(outcome["unmatched"][0]["statement"], 1);
        let skipped: Vec<(&str, &str)> = outcome["skipped"].as_array().unwrap().iter()
            .map(|s| (s["vulnerability"].as_str().unwrap(), s["reason"].as_str().unwrap())).collect();
        assert_eq!(skipped, [("CVE-1999-0001", "no_such_vulnerability"), ("GHSA-maven-0001", "product_not_this_release")]);
        assert_eq!(outcome["findings"], json!([lodash]));

        // The decision is lodash's alone, attributed to the document, and suppresses it.
        let after = findings_by_purl(&app, release_id).await;
        let (_, decision) = finding_of(&after, "pkg:npm/lodash@4.17.20");
        assert_eq!(decision["state"], "not_affected");
        assert_eq!(decision["justification"], "code_not_present");
        assert_eq!(decision["source"], "vex");
        let sha = outcome["import"]["sha256"].as_str().unwrap();
        assert_eq!(decision["source_ref"], format!("sha256:{sha}"));
        assert_eq!(decision["scope"], "release");
        for purl in ["pkg:pypi/Django@1.10", "pkg:maven/org.example/lib@2.3.1"] {
            assert_eq!(finding_of(&after, purl).1, Value::Null, "{purl}");
        }
        let default_list = vulnerabilities(&app, release_id, "").await;
        assert_eq!(default_list["total"], 2, "{default_list}");

        // The import is listed, newest first.
        let imports = json_of(app.get(&format!("/api/v1/releases/{release_id}/vex-imports")).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(imports.as_array().unwrap().len(), 1);
        assert_eq!(imports[0]["sha256"], sha);
        assert_eq!(imports[0]["skipped"], 2);
        assert_eq!(imports[0]["unmatched"], 1);
    }

    async fn every_format_applies_and_a_manual_decision_wins_unless_overwritten(app) {
        let _store = load_knowledge_base(&app).await;
        let (_, release_id) = release(&app, "shop").await;
        upload_and_wait(&app, release_id, sbom()).await;
        let findings = findings_by_purl(&app, release_id).await;
        let (django, _) = finding_of(&findings, "pkg:pypi/Django@1.10");
        let (maven, _) = finding_of(&findings, "pkg:maven/org.example/lib@2.3.1");
        // A person decided on django first.
        json_of(app.post(&format!("/api/v1/releases/{release_id}/dispositions"))
            .json(&json!({"findings": [django], "state": "in_triage"})).send().await.unwrap(), StatusCode::CREATED).await;

        let states = [
            Disposition { detail: Some("The scanner matched the wrong package.".into()), ..Disposition::new(DispositionState::FalsePositive) },
            Disposition { responses: vec![Response::Rollback], action_statement: Some("Roll back to 2.2.".into()), ..Disposition::new(DispositionState::Exploitable) },
            Disposition::new(DispositionState::ResolvedWithPedigree),
            not_affected(Justification::ProtectedAtPerimeter),
        ];
        for (format, state) in FORMATS.into_iter().zip(states) {
            // Django by its GHSA alias, written the way its SBOM does not spell it; maven by id.
            let doc = document(product("shop", "1.0.0"), &[
                (&["GHSA-aaaa-bbbb-cccc"], "pkg:pypi/django@1.10", state.clone()),
                (&["GHSA-maven-0001"], "pkg:maven/org.example/lib@2.3.1", state.clone()),
            ]);
            let written = vex::write(&doc, format).unwrap();
            let outcome = imported(&app, release_id, "", written.clone()).await;
            assert_eq!(outcome["import"]["format"], format.as_str(), "{outcome}");
            assert_eq!(outcome["applied"].as_array().unwrap().len(), 2, "{format}: {outcome}");
            assert_eq!(outcome["findings"], json!([maven]), "{format}: the manual decision on django stays");
            assert_eq!(outcome["kept_manual"], json!([django]), "{format}");
            let now = findings_by_purl(&app, release_id).await;
            let (_, decision) = finding_of(&now, "pkg:maven/org.example/lib@2.3.1");
            assert_eq!(decision["state"], state.state.as_str(), "{format}: exact, not merged");
            assert_eq!(decision["justification"], json!(state.justification.map(|j| j.as_str())), "{format}");
            assert_eq!(decision["responses"], json!(state.responses.iter().map(|r| r.as_str()).collect::<Vec<_>>()), "{format}");
            assert_eq!(finding_of(&now, "pkg:pypi/Django@1.10").1["source"], "manual");

            let outcome = imported(&app, release_id, "?overwrite=true", written).await;
            assert_eq!(outcome["findings"], json!([django, maven]), "{format}: {outcome}");
            assert_eq!(outcome["import"]["overwrite"], true);
            let (_, decision) = finding_of(&findings_by_purl(&app, release_id).await, "pkg:pypi/Django@1.10");
            assert_eq!(decision["source"], "vex");
            assert_eq!(decision["state"], state.state.as_str());
            // Back to a manual decision for the next format.
            json_of(app.post(&format!("/api/v1/releases/{release_id}/dispositions"))
                .json(&json!({"findings": [django], "state": "in_triage"})).send().await.unwrap(), StatusCode::CREATED).await;
        }
        let imports = json_of(app.get(&format!("/api/v1/releases/{release_id}/vex-imports")).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(imports.as_array().unwrap().len(), 8);
    }

    async fn a_malformed_document_is_refused_naming_the_problem_and_nothing_is_stored(app) {
        let _store = load_knowledge_base(&app).await;
        let (_, release_id) = release(&app, "shop").await;
        upload_and_wait(&app, release_id, sbom()).await;
        let cases: [(&[u8], StatusCode, &str, &str); 5] = [
            (br#"{"hello": "world"}"#, StatusCode::BAD_REQUEST, "not_a_vex", "not a VEX document"),
            (b"{\"@context\": \"https://openvex.dev/ns/v0.2.0\",\n \"statements\": [}", StatusCode::BAD_REQUEST, "not_a_vex", "line 2"),
            (br#"{"document": {"category": "csaf_vex", "csaf_version": "2.0"}, "vulnerabilities": []}"#,
                StatusCode::UNPROCESSABLE_ENTITY, "invalid_vex", "/document/tracking"),
            (b"<?xml version=\"1.0\"?>\n<bom xmlns=\"http://cyclonedx.org/schema/bom/1.6\">\n<vulnerabilities>\n</bom>",
                StatusCode::UNPROCESSABLE_ENTITY, "invalid_vex", "line"),
            (br#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": {"not": "a list"}}"#,
                StatusCode::UNPROCESSABLE_ENTITY, "invalid_vex", "/statements"),
        ];
        for (body, status, code, named) in cases {
            let message = expect_error(import(&app, release_id, "", body.to_vec()).await, status, code).await;
            assert!(message.contains(named), "{}: {message}", String::from_utf8_lossy(body));
        }
        let imports = json_of(app.get(&format!("/api/v1/releases/{release_id}/vex-imports")).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(imports, json!([]));
        assert!(findings_by_purl(&app, release_id).await.iter().all(|(_, _, d)| d.is_null()));
        let missing = import(&app, 999_999, "", b"{}".to_vec()).await;
        expect_error(missing, StatusCode::NOT_FOUND, "not_found").await;
        let bad_query = import(&app, release_id, "?overwrite=perhaps", b"{}".to_vec()).await;
        assert_eq!(bad_query.status(), StatusCode::BAD_REQUEST);

        // Scopes: reading decisions is not importing them.
        let session = app.login("admin@localhost").await["token"].as_str().unwrap().to_string();
        let reader: Value = app.with_token(Method::POST, "/api/v1/api-keys", &session)
            .json(&json!({"name": "reader", "scopes": ["dispositions:read"]}))
            .send().await.unwrap().json().await.unwrap();
        let reader = reader["api_key"].as_str().unwrap();
        let denied = app.with_token(Method::POST, &format!("/api/v1/releases/{release_id}/vex-imports"), reader)
            .body(r#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": []}"#).send().await.unwrap();
        expect_error(denied, StatusCode::FORBIDDEN, "insufficient_scope").await;
        let listed = app.with_token(Method::GET, &format!("/api/v1/releases/{release_id}/vex-imports"), reader).send().await.unwrap();
        assert_eq!(listed.status(), StatusCode::OK);
    }

    async fn exported_decisions_imported_into_a_fresh_release_come_back_the_same_in_every_format(app) {
        let _store = load_knowledge_base(&app).await;
        let (product_id, release_id) = release(&app, "roundtrip").await;
        upload_and_wait(&app, release_id, sbom()).await;
        let findings = findings_by_purl(&app, release_id).await;
        let decisions = [
            ("pkg:pypi/Django@1.10", json!({"state": "false_positive", "justification": "requires_environment",
                "responses": ["will_not_fix", "rollback"], "detail": "Only on Windows builds, which we do not ship."})),
            ("pkg:npm/lodash@4.17.20", json!({"state": "exploitable", "responses": ["update", "workaround_available"],
                "action_statement": "Upgrade lodash to 4.17.21, or freeze Object.prototype.", "detail": "Reachable through the import form."})),
            ("pkg:maven/org.example/lib@2.3.1", json!({"state": "resolved_with_pedigree", "detail": "Patched in our fork."})),
        ];
        for (purl, decision) in &decisions {
            let (id, _) = finding_of(&findings, purl);
            let mut body = decision.clone();
            body["findings"] = json!([id]);
            json_of(app.post(&format!("/api/v1/releases/{release_id}/dispositions")).json(&body).send().await.unwrap(), StatusCode::CREATED).await;
        }
        // The export: the release's current decisions as a VEX document (through the format
        // writers), each statement naming the component by its SBOM purl.
        let exported = findings_by_purl(&app, release_id).await;
        let mut statements: Vec<(Vec<String>, String, Disposition)> = Vec::new();
        let page = vulnerabilities(&app, release_id, "?include_suppressed=true").await;
        for finding in page["items"].as_array().unwrap() {
            let d = &finding["disposition"];
            let disposition = Disposition {
                state: d["state"].as_str().unwrap().parse().unwrap(),
                justification: d["justification"].as_str().map(|j| j.parse().unwrap()),
                responses: d["responses"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().parse().unwrap()).collect(),
                detail: d["detail"].as_str().map(str::to_string),
                action_statement: d["action_statement"].as_str().map(str::to_string),
            };
            let mut ids = vec![finding["vulnerability"]["id"].as_str().unwrap().to_string()];
            ids.extend(finding["vulnerability"]["aliases"].as_array().into_iter().flatten().map(|a| a.as_str().unwrap().to_string()));
            statements.push((ids, finding["component"]["purl"].as_str().unwrap().to_string(), disposition));
        }
        assert_eq!(statements.len(), 3, "{page}");
        let borrowed: Vec<Vec<&str>> = statements.iter().map(|(ids, _, _)| ids.iter().map(String::as_str).collect()).collect();
        let parts: Vec<(&[&str], &str, Disposition)> = statements.iter().zip(&borrowed)
            .map(|((_, purl, d), ids)| (ids.as_slice(), purl.as_str(), d.clone())).collect();
        let doc = document(product("roundtrip", "1.0.0"), &parts);

        // A fresh release of the same product and version with the same SBOM, per format.
        let mut version = 0;
        for format in FORMATS {
            app.request(Method::DELETE, &format!("/api/v1/releases/{}", if version == 0 { release_id } else { version })).send().await.unwrap();
            let fresh = create_release(&app, product_id, "1.0.0").await["id"].as_i64().unwrap();
            version = fresh;
            upload_and_wait(&app, fresh, sbom()).await;
            assert!(findings_by_purl(&app, fresh).await.iter().all(|(_, _, d)| d.is_null()), "fresh");
            let outcome = imported(&app, fresh, "", vex::write(&doc, format).unwrap()).await;
            assert_eq!(outcome["applied"].as_array().unwrap().len(), 3, "{format}: {outcome}");
            let back = findings_by_purl(&app, fresh).await;
            for (purl, _, original) in &exported {
                let (_, imported) = finding_of(&back, purl);
                for field in ["state", "justification", "responses", "detail", "action_statement"] {
                    assert_eq!(imported[field], original[field], "{format} {purl} {field}");
                }
                assert_eq!(imported["source"], "vex");
            }
        }
    }
}

backend_tests! {
    async fn an_sbom_carrying_its_analysis_applies_it_when_analysed(app) {
        let _store = load_knowledge_base(&app).await;
        let (_, release_id) = release(&app, "self-assessed").await;
        // A CycloneDX SBOM with its own VEX: lodash not affected (by the CVE alias); django
        // exploitable, but without the action statement that state needs.
        let sbom = json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
            "serialNumber": "urn:uuid:0b1e0d7c-7a36-4a0e-9a3b-4f2d6f1f0c11",
            "metadata": {"component": {"type": "application", "bom-ref": "app", "name": "self-assessed", "version": "1.0.0"}},
            "components": [
                {"type": "library", "bom-ref": "lodash", "name": "lodash", "version": "4.17.20", "purl": "pkg:npm/lodash@4.17.20"},
                {"type": "library", "bom-ref": "django", "name": "Django", "version": "1.10", "purl": "pkg:pypi/Django@1.10"}
            ],
            "vulnerabilities": [
                {"id": "CVE-2099-0002", "analysis": {"state": "not_affected", "justification": "code_not_reachable",
                    "detail": "template() is never called"}, "affects": [{"ref": "lodash"}]},
                {"id": "CVE-2099-0001", "analysis": {"state": "exploitable"}, "affects": [{"ref": "django"}]}
            ]});
        upload_and_wait(&app, release_id, sbom.to_string().into_bytes()).await;
        // The analysis is reported finished once its findings are stored; the SBOM's own
        // decisions follow right after, in the worker.
        let mut findings = findings_by_purl(&app, release_id).await;
        for _ in 0..200 {
            if !finding_of(&findings, "pkg:npm/lodash@4.17.20").1.is_null() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            findings = findings_by_purl(&app, release_id).await;
        }
        let (_, lodash) = finding_of(&findings, "pkg:npm/lodash@4.17.20");
        assert_eq!(lodash["state"], "not_affected", "{findings:?}");
        assert_eq!(lodash["justification"], "code_not_reachable");
        assert_eq!(lodash["detail"], "template() is never called");
        assert_eq!(lodash["source"], "sbom");
        assert_eq!(lodash["author"], "admin@localhost");
        // `exploitable` without an action statement breaks the rules: not applied.
        assert_eq!(finding_of(&findings, "pkg:pypi/Django@1.10").1, Value::Null);
    }
}
