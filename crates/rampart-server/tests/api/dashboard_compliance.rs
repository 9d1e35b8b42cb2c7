//! The dashboard's compliance page over plain HTTP on both backends: the posture per
//! framework (score, counts, the controls), the gap analysis linking the dashboard pages of
//! the objects causing each gap, a manual attestation made from the form with its evidence
//! file (hashed, downloadable, replaced, refused when empty or too large), withdrawn; and the
//! same authorisation as the API (a viewer sees but has no forms and gets 403; another team's
//! attestation is a 404 page).

use chrono::Duration;
use rampart_test_support::{backend_tests, TestApp};
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::dashboard::{assert_no_inline_code, csrf_token, WebClient};
use crate::dispositions::sbom;
use crate::findings::{load_knowledge_base, release, upload_and_wait};
use crate::products::{create_release, json_of};

async fn session(app: &TestApp, email: &str) -> String {
    app.login(email).await["token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A multipart body of text fields and, when given, the file `evidence` (name, type, bytes).
fn form(fields: &[(&str, &str)], file: Option<(&str, &str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "rampart-compliance-boundary-41f";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some((file_name, content_type, content)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"evidence\"; filename=\"{file_name}\"\r\n\
                 Content-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_form(
    web: &WebClient<'_>,
    app: &TestApp,
    path: &str,
    (content_type, body): (String, Vec<u8>),
) -> reqwest::Response {
    web.client
        .post(format!("{}{path}", app.url))
        .header(COOKIE, web.cookie_header())
        .header(CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn attestations(app: &TestApp) -> Vec<Value> {
    let list = json_of(
        app.get("/api/v1/compliance/attestations")
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    list["items"].as_array().unwrap().clone()
}

async fn control_status(app: &TestApp, framework: &str, id: &str) -> Value {
    let posture = json_of(
        app.get(&format!("/api/v1/compliance/posture?framework={framework}"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    posture["frameworks"][0]["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()
        .clone()
}

backend_tests! {
    async fn the_compliance_page_shows_posture_gaps_and_takes_attestations_with_evidence(app) {
        load_knowledge_base(&app).await;
        let (product_id, shipped) = release(&app, "payments").await;
        upload_and_wait(&app, shipped, sbom()).await;
        let bare = create_release(&app, product_id, "2.0.0").await["id"].as_i64().unwrap();
        let admin = session(&app, "admin@localhost").await;
        let mut web = WebClient::with_session(&app, &admin);

        // Posture per framework: tabs, score and counts, report links, every control.
        let iso = web.page("/compliance?framework=iso27001").await;
        assert_no_inline_code(&iso, "/compliance");
        for text in ["<h2 id=\"score-heading\">ISO/IEC 27001:2022 Annex A: ", "aria-current=\"page\"", "93 controls", "format=pdf", "format=oscal", "A.8.8", "A.5.1"] {
            assert!(iso.contains(text), "{text}: {iso}");
        }
        assert!(iso.contains(" met, ") && iso.contains(" manual of 93 controls"), "{iso}");
        // Gaps link the dashboard pages of what causes them: the release without an SBOM,
        // the release with the KEV finding, the key without an expiry.
        for link in [format!("href=\"/releases/{bare}\""), format!("href=\"/releases/{shipped}\""), "href=\"/settings/api-keys\"".to_string()] {
            assert!(iso.contains(&link), "{link}: {iso}");
        }
        assert!(iso.contains("Every active release has a current SBOM"), "{iso}");
        // Each tab is its framework.
        for (framework, name) in [("soc2", "SOC 2 Trust Services Criteria"), ("hipaa", "HIPAA Security Rule"),
            ("gdpr", "General Data Protection Regulation"), ("ntia_sbom", "NTIA SBOM minimum elements"),
            ("eu_cra", "EU Cyber Resilience Act Annex I")] {
            let html = web.page(&format!("/compliance?framework={framework}")).await;
            assert!(html.contains(&format!("<h2 id=\"score-heading\">{name}: ")), "{framework}: {name}");
        }
        // A product's posture keeps the product in the tab links.
        let scoped = web.page(&format!("/compliance?framework=soc2&product={product_id}")).await;
        assert!(scoped.contains(&format!("product={product_id}")));
        assert_eq!(web.get("/compliance?framework=pci").await.status(), StatusCode::BAD_REQUEST);

        // Attest SOC 2 CC1.1 with an evidence file, from the form.
        let soc2 = web.page("/compliance?framework=soc2").await;
        assert!(soc2.contains("id=\"attest-form\"") && soc2.contains("name=\"evidence\""), "{soc2}");
        let token = csrf_token(&soc2);
        let expires_on = (app.config.clock.now() + Duration::days(60)).format("%Y-%m-%d").to_string();
        let fields = [("framework", "soc2"), ("control_id", "CC1.1"), ("status", "met"), ("owner", "CISO"),
            ("statement", "Code of conduct signed by all staff"), ("expires_on", expires_on.as_str())];
        let file = b"%PDF-1.4 signed code of conduct".to_vec();
        let attested = post_form(&web, &app, &format!("/compliance/attestations?csrf_token={token}"),
            form(&fields, Some(("C:\\policies\\conduct.pdf", "application/pdf", &file)))).await;
        assert_eq!(attested.status(), StatusCode::SEE_OTHER, "{}", attested.text().await.unwrap());
        assert!(attested.headers()[LOCATION].to_str().unwrap().starts_with("/compliance?framework=soc2"));
        let listed = attestations(&app).await;
        assert_eq!(listed.len(), 1);
        let id = listed[0]["id"].as_i64().unwrap();
        let sha = hex::encode(Sha256::digest(&file));
        assert_eq!(listed[0]["evidence"]["name"], "conduct.pdf", "the directory part is dropped");
        assert_eq!(listed[0]["evidence"]["content_type"], "application/pdf");
        assert_eq!(listed[0]["evidence"]["sha256"], sha);
        assert_eq!(listed[0]["evidence"]["size"], file.len());
        let cc11 = control_status(&app, "soc2", "CC1.1").await;
        assert_eq!((cc11["status"].as_str(), cc11["basis"].as_str()), (Some("met"), Some("attestation")));
        let page = web.page("/compliance?framework=soc2").await;
        for text in [format!("id=\"attestation-{id}\""), "conduct.pdf".to_string(), sha[..12].to_string(), "(current)".to_string()] {
            assert!(page.contains(&text), "{text}: {page}");
        }
        // The link downloads the file with the session, byte for byte.
        let download = web.get(&format!("/api/v1/compliance/attestations/{id}/evidence")).await;
        assert_eq!(download.status(), StatusCode::OK);
        assert_eq!(download.bytes().await.unwrap().to_vec(), file);

        // Replace the file from the row's form; an empty or too large file is refused.
        let replacement = b"signed again, 2026".to_vec();
        let path = format!("/compliance/attestations/{id}/evidence?csrf_token={token}");
        let replaced = post_form(&web, &app, &path, form(&[], Some(("conduct-2026.txt", "text/plain", &replacement)))).await;
        assert_eq!(replaced.status(), StatusCode::SEE_OTHER);
        let listed = attestations(&app).await;
        assert_eq!(listed[0]["evidence"]["sha256"], hex::encode(Sha256::digest(&replacement)));
        assert_eq!(listed[0]["evidence"]["content_type"], "text/plain");
        let empty = post_form(&web, &app, &path, form(&[], Some(("empty.txt", "text/plain", b"")))).await;
        assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(empty.text().await.unwrap().contains("empty"));
        let missing = post_form(&web, &app, &path, form(&[], None)).await;
        assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(missing.text().await.unwrap().contains("`evidence`"));
        let huge = vec![b'x'; 10 * 1024 * 1024 + 1];
        let too_large = post_form(&web, &app, &path, form(&[], Some(("huge.bin", "application/octet-stream", &huge)))).await;
        assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
        // A refused file refuses the attestation too (nothing half made).
        let refused = post_form(&web, &app, &format!("/compliance/attestations?csrf_token={token}"),
            form(&[("framework", "soc2"), ("control_id", "CC1.2"), ("owner", "CISO"), ("statement", "Board oversight"),
                ("expires_on", expires_on.as_str())], Some(("empty.pdf", "application/pdf", b"")))).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        // A bad field is named on the page.
        let bad = post_form(&web, &app, &format!("/compliance/attestations?csrf_token={token}"),
            form(&[("framework", "soc2"), ("control_id", "CC99.9"), ("owner", "CISO"), ("statement", "x"),
                ("expires_on", expires_on.as_str())], None)).await;
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text().await.unwrap().contains("`control_id`"));
        assert_eq!(attestations(&app).await.len(), 1);
        // Without the CSRF token: forbidden.
        let forged = post_form(&web, &app, "/compliance/attestations", form(&fields, None)).await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);

        // The audit log has each step.
        let audit = json_of(app.get("/api/v1/audit-log?action=compliance_attestation.").send().await.unwrap(), StatusCode::OK).await;
        let evidence_steps = audit["data"].as_array().unwrap().iter().filter(|e| e["action"] == "compliance_attestation.evidence").count();
        assert_eq!(evidence_steps, 2, "{audit}");

        // A viewer sees the attestations but no form, and cannot post.
        let invited = app.post("/api/v1/teams/1/members").json(&json!({"email": "viewer@example.com", "role": "viewer"})).send().await.unwrap();
        assert_eq!(invited.status(), StatusCode::CREATED);
        let viewer = session(&app, "viewer@example.com").await;
        let mut viewer_web = WebClient::with_session(&app, &viewer);
        let seen = viewer_web.page("/compliance?framework=soc2").await;
        assert!(seen.contains("conduct-2026.txt") && !seen.contains("attest-form") && !seen.contains("/withdraw"), "{seen}");
        let viewer_token = csrf_token(&seen);
        let refused = post_form(&viewer_web, &app, &format!("/compliance/attestations/{id}/evidence?csrf_token={viewer_token}"),
            form(&[], Some(("x.txt", "text/plain", b"x")))).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        // Another team's attestation is a 404 page.
        let (other, _) = app.user_on_plan("other@example.com", "pro").await;
        let mut other_web = WebClient::with_session(&app, &other);
        let other_page = other_web.page("/compliance").await;
        assert!(!other_page.contains("conduct"), "another team sees nothing of it");
        let other_token = csrf_token(&other_page);
        let stranger = post_form(&other_web, &app, &format!("/compliance/attestations/{id}/evidence?csrf_token={other_token}"),
            form(&[], Some(("x.txt", "text/plain", b"x")))).await;
        assert_eq!(stranger.status(), StatusCode::NOT_FOUND);
        let stranger = other_web.post(&format!("/compliance/attestations/{id}/withdraw"), &[("csrf_token", &other_token)]).await;
        assert_eq!(stranger.status(), StatusCode::NOT_FOUND);

        // Withdrawn: kept and listed, no longer counted, no more forms on its row.
        let withdrawn = web.post(&format!("/compliance/attestations/{id}/withdraw"), &[("csrf_token", &token)]).await;
        assert_eq!(withdrawn.status(), StatusCode::SEE_OTHER);
        assert_eq!(control_status(&app, "soc2", "CC1.1").await["status"], "manual");
        let page = web.page("/compliance?framework=soc2").await;
        assert!(page.contains("(withdrawn)") && !page.contains(&format!("/compliance/attestations/{id}/withdraw")), "{page}");
    }
}
