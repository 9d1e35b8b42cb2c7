//! The dashboard's VEX pages over plain HTTP on both backends: generating a document for a
//! release and a product, the approval queue (submit, the self-approval refusal shown on the
//! page, a rejection needing its reason, approval by a colleague, publication), downloads of
//! documents and disclosures, a supplier's VEX imported into a release, and the same
//! authorisation as the API (viewers cannot act, another team's documents are 404 pages).

use rampart_test_support::{backend_tests, TestApp};
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE, COOKIE, LOCATION};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::dashboard::{
    assert_no_inline_code, assert_secure_page, csrf_token, multipart, WebClient,
};
use crate::vex_documents::{colleague, load_knowledge_base, release_with_findings};

/// The `/vex/{id}` a generate form redirected to.
fn document_id(response: &reqwest::Response) -> i64 {
    let location = response.headers()[LOCATION].to_str().unwrap();
    location.strip_prefix("/vex/").unwrap().parse().unwrap()
}

/// The text of the page's `role="alert"` paragraph with `id`.
fn alert(html: &str, id: &str) -> String {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}: {html}"));
    let rest = &html[start..];
    rest[rest.find('>').unwrap() + 1..rest.find("</p>").unwrap()].to_string()
}

async fn session(app: &TestApp, email: &str) -> String {
    app.login(email).await["token"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn upload_vex<'a>(
    web: &WebClient<'a>,
    app: &TestApp,
    path: &str,
    document: &[u8],
) -> reqwest::Response {
    let (content_type, body) = multipart("supplier.vex.json", document);
    web.client
        .post(format!("{}{path}", app.url))
        .header(COOKIE, web.cookie_header())
        .header(CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

backend_tests! {
    async fn a_vex_document_is_generated_approved_by_a_colleague_published_and_downloaded(app) {
        load_knowledge_base(&app).await;
        let (product, release) = release_with_findings(&app, "vex-web").await;
        let admin = session(&app, "admin@localhost").await;
        let mut web = WebClient::with_session(&app, &admin);
        let release_page = web.page(&format!("/releases/{release}")).await;
        assert!(release_page.contains(&format!("href=\"/releases/{release}/vex\"")), "the release links its VEX");
        let vex_path = format!("/releases/{release}/vex");
        let page = web.page(&vex_path).await;
        assert_no_inline_code(&page, &vex_path);
        for format in ["openvex", "cyclonedx-json", "cyclonedx-xml", "csaf"] {
            assert!(page.contains(&format!("<option value=\"{format}\"")), "{format}: {page}");
        }
        assert!(page.contains("No VEX documents yet") && page.contains("id=\"import-form\""));
        let token = csrf_token(&page);

        // Without the token nothing is generated; an unknown format is named on the form.
        let forged = web.post(&vex_path, &[("format", "openvex")]).await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        let refused = web.post(&vex_path, &[("csrf_token", &token), ("format", "pdf"), ("title", "kept")]).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_secure_page(&refused, &vex_path);
        let html = refused.text().await.unwrap();
        assert!(alert(&html, "generate-error").contains("`format`"), "{html}");
        assert!(html.contains("value=\"kept\""), "the form keeps what was entered");

        // Generated: the draft's page.
        let generated = web
            .post(&vex_path, &[("csrf_token", &token), ("format", "openvex"), ("title", "Shop VEX")])
            .await;
        assert_eq!(generated.status(), StatusCode::SEE_OTHER);
        let id = document_id(&generated);
        let doc_path = format!("/vex/{id}");
        let draft = web.page(&doc_path).await;
        assert_no_inline_code(&draft, &doc_path);
        assert!(draft.contains("<h1>Shop VEX") && draft.contains(">draft</span>"), "{draft}");
        assert!(draft.contains("id=\"vex-submit\"") && !draft.contains("id=\"vex-approve\""));
        assert!(web.page(&vex_path).await.contains(&format!("href=\"/vex/{id}\"")), "listed on the release");

        // Submitted; approving one's own submission is refused on the page, with the reason.
        let submitted = web.post(&format!("{doc_path}/submit"), &[("csrf_token", &token)]).await;
        assert_eq!(submitted.status(), StatusCode::SEE_OTHER);
        assert_eq!(submitted.headers()[LOCATION].to_str().unwrap(), doc_path);
        let queue = web.page("/vex?status=submitted").await;
        assert!(queue.contains(&format!("href=\"/vex/{id}\"")) && queue.contains("vex-web 1.0.0"), "{queue}");
        let own = web.post(&format!("{doc_path}/approve"), &[("csrf_token", &token)]).await;
        assert_eq!(own.status(), StatusCode::FORBIDDEN);
        assert_secure_page(&own, &doc_path);
        let html = own.text().await.unwrap();
        let reason = alert(&html, "workflow-error");
        assert!(reason.contains("submitter") || reason.contains("own") || reason.contains("four"), "{reason}");
        assert!(html.contains(">submitted</span>"), "still submitted: {html}");
        // A rejection needs its reason.
        let no_reason = web.post(&format!("{doc_path}/reject"), &[("csrf_token", &token), ("reason", " ")]).await;
        assert_eq!(no_reason.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(alert(&no_reason.text().await.unwrap(), "workflow-error").contains("`reason`"));
        // The wrong step for the status is a conflict shown on the page.
        let early = web.post(&format!("{doc_path}/publish"), &[("csrf_token", &token)]).await;
        assert_eq!(early.status(), StatusCode::CONFLICT);
        assert_eq!(web.post(&format!("{doc_path}/delete"), &[("csrf_token", &token)]).await.status(), StatusCode::NOT_FOUND);

        // A colleague approves; the author publishes.
        let reviewer_token = colleague(&app, "reviewer@example.com").await;
        let mut reviewer = WebClient::with_session(&app, &reviewer_token);
        let reviewer_csrf = csrf_token(&reviewer.page(&doc_path).await);
        let approved = reviewer.post(&format!("{doc_path}/approve"), &[("csrf_token", &reviewer_csrf)]).await;
        assert_eq!(approved.status(), StatusCode::SEE_OTHER);
        let page = web.page(&doc_path).await;
        assert!(page.contains(">approved</span>") && page.contains("reviewer@example.com"), "{page}");
        let published = web.post(&format!("{doc_path}/publish"), &[("csrf_token", &token)]).await;
        assert_eq!(published.status(), StatusCode::SEE_OTHER);
        let page = web.page(&doc_path).await;
        assert!(page.contains(">published</span>") && !page.contains("id=\"vex-publish\""), "{page}");
        for event in ["vex.generated", "vex.submitted", "vex.approved", "vex.published"] {
            assert!(page.contains(event), "{event}: {page}");
        }

        // The download: the document itself, named by its tracking id and version.
        let download = web.get(&format!("{doc_path}/download")).await;
        assert_eq!(download.status(), StatusCode::OK);
        let disposition = download.headers()[CONTENT_DISPOSITION].to_str().unwrap().to_string();
        assert!(disposition.starts_with("attachment; filename=") && disposition.contains("-v1.openvex.json"), "{disposition}");
        let document: Value = download.json().await.unwrap();
        assert_eq!(document["@context"], "https://openvex.dev/ns/v0.2.0");
        assert_eq!(document["statements"].as_array().unwrap().len(), 3, "{document}");

        // The disclosures list it with its download.
        let disclosures = web.page("/disclosures").await;
        assert_no_inline_code(&disclosures, "/disclosures");
        assert!(disclosures.contains("Shop VEX") && disclosures.contains(&format!("href=\"/disclosures/{id}/download\"")), "{disclosures}");
        let disclosed = web.get(&format!("/disclosures/{id}/download")).await;
        assert_eq!(disclosed.status(), StatusCode::OK);
        assert_eq!(disclosed.json::<Value>().await.unwrap(), document);
        assert!(web.page("/vex?status=published").await.contains(&format!("href=\"/vex/{id}\"")));
        let bad_status = web.get("/vex?status=lost").await;
        assert_eq!(bad_status.status(), StatusCode::UNPROCESSABLE_ENTITY);

        // A product-wide document in CSAF.
        let product_path = format!("/products/{product}/vex");
        assert!(web.page(&format!("/products/{product}")).await.contains(&format!("href=\"{product_path}\"")));
        let csaf = web.post(&product_path, &[("csrf_token", &token), ("format", "csaf")]).await;
        assert_eq!(csaf.status(), StatusCode::SEE_OTHER);
        let csaf_page = web.page(&format!("/vex/{}", document_id(&csaf))).await;
        assert!(csaf_page.contains("vex-web (all releases)") && csaf_page.contains(">csaf"), "{csaf_page}");

        // Another team sees 404 pages; a viewer sees the document but cannot act.
        let outsider = session(&app, "outsider@example.com").await;
        let mut outsider_web = WebClient::with_session(&app, &outsider);
        for path in [doc_path.clone(), vex_path.clone(), format!("{doc_path}/download"), format!("/disclosures/{id}/download"), product_path.clone()] {
            assert_eq!(outsider_web.get(&path).await.status(), StatusCode::NOT_FOUND, "{path}");
        }
        assert!(!outsider_web.page("/disclosures").await.contains("Shop VEX"));
        let invited = app
            .post("/api/v1/teams/1/members")
            .json(&json!({"email": "viewer@example.com", "role": "viewer"}))
            .send()
            .await
            .unwrap();
        assert_eq!(invited.status(), StatusCode::CREATED);
        let viewer = session(&app, "viewer@example.com").await;
        let mut viewer_web = WebClient::with_session(&app, &viewer);
        let seen = viewer_web.page(&vex_path).await;
        assert!(seen.contains(&format!("href=\"/vex/{id}\"")) && !seen.contains("generate-form") && !seen.contains("import-form"), "{seen}");
        let viewer_csrf = csrf_token(&seen);
        let refused = viewer_web.post(&vex_path, &[("csrf_token", &viewer_csrf), ("format", "openvex")]).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert!(refused.text().await.unwrap().contains("vex:write"));
    }

    async fn a_suppliers_vex_is_imported_into_a_release_from_its_vex_page(app) {
        load_knowledge_base(&app).await;
        let (_, release) = release_with_findings(&app, "vex-import-web").await;
        let admin = session(&app, "admin@localhost").await;
        let mut web = WebClient::with_session(&app, &admin);
        let vex_path = format!("/releases/{release}/vex");
        let token = csrf_token(&web.page(&vex_path).await);
        let openvex = json!({"@context": "https://openvex.dev/ns/v0.2.0",
            "@id": "https://vex.example.com/supplier/1", "author": "Supplier", "version": 1,
            "timestamp": "2024-05-01T00:00:00Z",
            "statements": [
              {"vulnerability": {"name": "CVE-2099-4001"}, "products": [{"@id": "pkg:npm/lodash@4.17.20"}],
               "status": "not_affected", "justification": "vulnerable_code_not_present"},
              {"vulnerability": {"name": "CVE-1999-0001"}, "products": [{"@id": "pkg:npm/lodash@4.17.20"}],
               "status": "fixed"}
            ]})
        .to_string();
        let import_path = format!("/releases/{release}/vex-imports");
        let forged = upload_vex(&web, &app, &import_path, openvex.as_bytes()).await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        let imported = upload_vex(&web, &app, &format!("{import_path}?csrf_token={token}"), openvex.as_bytes()).await;
        assert_eq!(imported.status(), StatusCode::CREATED);
        let html = imported.text().await.unwrap();
        assert_no_inline_code(&html, &import_path);
        assert!(html.contains("id=\"import-result\"") && html.contains("https://vex.example.com/supplier/1 v1"), "{html}");
        assert!(html.contains("2 statements: 1 applied, 1 skipped, 0 unmatched; 1 findings decided"), "{html}");
        assert!(html.contains("no_such_vulnerability"), "{html}");
        let page = web.page(&vex_path).await;
        assert!(page.contains("1 imports, newest first"), "the import history: {page}");
        // The finding took the decision, attributed to the document.
        let suppressed = web.page(&format!("/releases/{release}?include_suppressed=1&state=not_affected")).await;
        assert!(suppressed.contains("lodash@4.17.20") && suppressed.contains(">not_affected</span>"), "{suppressed}");
        // Not a VEX: said on the page, nothing stored.
        let not_vex = upload_vex(&web, &app, &format!("{import_path}?csrf_token={token}"), b"{\"hello\": 1}").await;
        assert_eq!(not_vex.status(), StatusCode::BAD_REQUEST);
        assert!(alert(&not_vex.text().await.unwrap(), "import-error").contains("not a VEX document"));
        assert!(web.page(&vex_path).await.contains("1 imports, newest first"));
    }
}
