//! Triage decisions over real HTTP on both backends: the rules a decision must follow (422
//! naming the field), suppressed states leaving default lists and summaries, append-only
//! history, bulk triage across a product, carry-over to new releases and re-uploads (marked
//! inherited), range scope, the re-review flag after a record changes, re-analysis on demand
//! (`cve:trigger`), and scopes.

use std::time::Duration;

use rampart_test_support::{backend_tests, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::findings::{
    cyclonedx, ingest_osv, load_knowledge_base, osv, release, upload_and_wait, vulnerabilities,
    CRITICAL,
};
use crate::products::{create_release, expect_error, json_of};

/// Runs one statement on the app's database directly (not through the store): the error
/// message, if the database refused it.
async fn run_sql(app: &TestApp, sql: &str) -> Option<String> {
    use rampart_store::DatabaseLocation;
    let result = match &app.config.database {
        DatabaseLocation::SqliteDir(dir) => {
            let url = format!("sqlite://{}", dir.join("rampart.db").display());
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            let result = sqlx::query(sql).execute(&pool).await.map(|_| ());
            pool.close().await;
            result
        }
        DatabaseLocation::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let result = sqlx::query(sql).execute(&pool).await.map(|_| ());
            pool.close().await;
            result
        }
    };
    result.err().map(|error| error.to_string())
}

/// Django 1.10 (CVE-2099-0001), lodash 4.17.20 (CVE-2099-0002, in KEV), lib 2.3.1
/// (GHSA-maven-0001) are affected; the rest are not.
pub(crate) fn sbom() -> Vec<u8> {
    cyclonedx(&[
        ("django", "1.10", Some("pkg:pypi/Django@1.10")),
        ("lodash", "4.17.20", Some("pkg:npm/lodash@4.17.20")),
        ("lib", "2.3.1", Some("pkg:maven/org.example/lib@2.3.1")),
        ("lodash", "4.17.21", Some("pkg:npm/lodash@4.17.21")),
    ])
}

fn items(page: &Value) -> &Vec<Value> {
    page["items"].as_array().unwrap()
}

/// The finding of `component` (by name) in a page.
fn finding<'a>(page: &'a Value, component: &str) -> &'a Value {
    items(page)
        .iter()
        .find(|f| f["component"]["name"] == component)
        .unwrap_or_else(|| panic!("no {component} finding in {page}"))
}

async fn decide(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.post(path).json(&body).send().await.unwrap()
}

async fn decided(app: &TestApp, path: &str, body: Value) -> Value {
    json_of(decide(app, path, body).await, StatusCode::CREATED).await
}

async fn summary(app: &TestApp, product_id: i64, query: &str) -> Value {
    json_of(
        app.get(&format!(
            "/api/v1/products/{product_id}/vulnerability-summary{query}"
        ))
        .send()
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await
}

backend_tests! {
    async fn a_decision_follows_the_rules_and_a_suppressing_one_leaves_the_default_lists(app) {
        let _store = load_knowledge_base(&app).await;
        let (product_id, release_id) = release(&app, "triaged").await;
        upload_and_wait(&app, release_id, sbom()).await;
        let page = vulnerabilities(&app, release_id, "").await;
        assert_eq!(page["total"], 3, "{page}");
        let lodash = finding(&page, "lodash")["id"].as_i64().unwrap();
        assert_eq!(finding(&page, "lodash")["disposition"], Value::Null);
        let path = format!("/api/v1/releases/{release_id}/dispositions");

        // Each rule's refusal names its field; nothing is stored.
        for (body, field) in [
            (json!({"findings": [lodash], "state": "not_affected"}), "justification"),
            (json!({"findings": [lodash], "state": "exploitable"}), "action_statement"),
            (json!({"findings": [lodash], "state": "in_triage", "justification": "code_not_present"}), "justification"),
            (json!({"findings": [lodash], "state": "in_triage", "scope": "range"}), "version_range"),
            (json!({"findings": [lodash, 999999], "state": "in_triage"}), "999999"),
            (json!({"state": "in_triage"}), "vulnerability"),
            (json!({"vulnerability": "CVE-1999-0000", "state": "in_triage"}), "CVE-1999-0000"),
        ] {
            let error = expect_error(decide(&app, &path, body.clone()).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert!(error.contains(field), "{body}: {error}");
        }
        let unknown = decide(&app, &path, json!({"findings": [lodash], "state": "fixed"})).await;
        assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = vulnerabilities(&app, release_id, "").await;
        assert_eq!(finding(&page, "lodash")["disposition"], Value::Null);

        let before = summary(&app, product_id, "").await;
        assert_eq!(before["vulnerabilities"], 3);
        assert_eq!(before["kev"], 1);

        let outcome = decided(&app, &path, json!({"findings": [lodash], "state": "not_affected",
            "justification": "code_not_reachable", "detail": "  prototype pollution path unused  "})).await;
        assert_eq!(outcome["findings"], json!([lodash]));
        let decision = &outcome["decisions"][0];
        assert_eq!(decision["state"], "not_affected");
        assert_eq!(decision["scope"], "release");
        assert_eq!(decision["detail"], "prototype pollution path unused");
        assert_eq!(decision["source"], "manual");
        assert_eq!(decision["author"], "admin@localhost");
        assert_eq!(decision["component"]["purl"], "pkg:npm/lodash@4.17.20");

        // Suppressed: gone from the default list and summary, back on request.
        let page = vulnerabilities(&app, release_id, "").await;
        assert_eq!(page["total"], 2, "{page}");
        assert!(items(&page).iter().all(|f| f["component"]["name"] != "lodash"));
        let all = vulnerabilities(&app, release_id, "?include_suppressed=true").await;
        assert_eq!(all["total"], 3);
        let shown = finding(&all, "lodash");
        assert_eq!(shown["disposition"]["state"], "not_affected");
        assert_eq!(shown["disposition"]["justification"], "code_not_reachable");
        assert_eq!(shown["disposition"]["inherited"], false);
        assert_eq!(shown["disposition"]["review_reasons"], json!([]));
        let untriaged = vulnerabilities(&app, release_id, "?state=untriaged").await;
        assert_eq!(untriaged["total"], 2);
        let not_affected = vulnerabilities(&app, release_id, "?state=not_affected").await;
        assert_eq!(not_affected["total"], 1);
        let after = summary(&app, product_id, "").await;
        assert_eq!(after["vulnerabilities"], 2);
        assert_eq!(after["kev"], 0, "the KEV vulnerability is triaged not affected: {after}");
        assert_eq!(summary(&app, product_id, "?include_suppressed=true").await["vulnerabilities"], 3);
        let bad = app.get(&format!("/api/v1/releases/{release_id}/vulnerabilities?state=fixed")).send().await.unwrap();
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

        // A change is a new decision; the history keeps both, newest first.
        decided(&app, &path, json!({"findings": [lodash], "state": "exploitable",
            "responses": ["update", "update"], "action_statement": "Upgrade lodash to 4.17.21"})).await;
        let page = vulnerabilities(&app, release_id, "").await;
        assert_eq!(page["total"], 3);
        assert_eq!(finding(&page, "lodash")["disposition"]["responses"], json!(["update"]));
        let history = json_of(app.get(&format!("/api/v1/findings/{lodash}/dispositions")).send().await.unwrap(), StatusCode::OK).await;
        let states: Vec<&str> = history["history"].as_array().unwrap().iter().map(|d| d["state"].as_str().unwrap()).collect();
        assert_eq!(states, ["exploitable", "not_affected"]);
        assert_eq!(history["current_id"], history["history"][0]["id"]);
        let missing = app.get("/api/v1/findings/999999/dispositions").send().await.unwrap();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);

        // Append-only at the database: a recorded decision's content cannot change.
        for sql in ["UPDATE dispositions SET state = 'resolved'", "UPDATE dispositions SET detail = 'forged'"] {
            let refused = run_sql(&app, sql).await.unwrap_or_else(|| panic!("{sql} was not refused"));
            assert!(refused.contains("dispositions are append-only"), "{sql}: {refused}");
        }
        assert_eq!(run_sql(&app, "UPDATE dispositions SET release_id = NULL").await, None, "a deleted release is forgotten");
    }

    async fn decisions_reach_across_a_product_and_carry_over_to_new_releases(app) {
        let _store = load_knowledge_base(&app).await;
        let (product_id, first) = release(&app, "carried").await;
        upload_and_wait(&app, first, sbom()).await;
        let page = vulnerabilities(&app, first, "").await;
        let lodash = finding(&page, "lodash")["id"].as_i64().unwrap();

        // Bulk: one vulnerability across the product (scope product by default there).
        let outcome = decided(&app, &format!("/api/v1/products/{product_id}/dispositions"),
            json!({"vulnerability": "cve-2099-0001", "state": "not_affected",
                   "justification": "requires_configuration"})).await;
        assert_eq!(outcome["decisions"][0]["scope"], "product");
        assert_eq!(outcome["findings"].as_array().unwrap().len(), 1);
        // A release's decision on lodash; a range decision on lib 2.x before 2.4.
        decided(&app, &format!("/api/v1/releases/{first}/dispositions"),
            json!({"findings": [lodash], "state": "in_triage"})).await;
        let lib = finding(&page, "lib")["id"].as_i64().unwrap();
        let ranged = decided(&app, &format!("/api/v1/releases/{first}/dispositions"),
            json!({"findings": [lib], "state": "false_positive", "detail": "shaded copy, never loaded",
                   "scope": "range", "version_range": [{"introduced": "2.3"}, {"fixed": "2.4"}]})).await;
        assert_eq!(ranged["decisions"][0]["version_range"], "vers:maven/>=2.3|<2.4");

        // Release 2 of the product, same components: the product and range decisions reach
        // it, marked inherited; the release decision on lodash does not.
        let second = create_release(&app, product_id, "2.0.0").await["id"].as_i64().unwrap();
        upload_and_wait(&app, second, sbom()).await;
        let page = vulnerabilities(&app, second, "?include_suppressed=true").await;
        assert_eq!(page["total"], 3);
        let django = finding(&page, "django");
        assert_eq!(django["disposition"]["state"], "not_affected", "{django}");
        assert_eq!(django["disposition"]["inherited"], true);
        assert_eq!(django["disposition"]["release_id"], first);
        assert_eq!(finding(&page, "lib")["disposition"]["state"], "false_positive");
        assert_eq!(finding(&page, "lodash")["disposition"], Value::Null);
        let visible = vulnerabilities(&app, second, "").await;
        assert_eq!(visible["total"], 1, "only lodash is left to triage: {visible}");

        // Both lib versions are affected (2.0 to 2.3.1); only 2.3.0 is in the decision's range.
        let third = create_release(&app, product_id, "3.0.0").await["id"].as_i64().unwrap();
        let moved = cyclonedx(&[("lib", "2.2", Some("pkg:maven/org.example/lib@2.2")),
            ("lib", "2.3.0", Some("pkg:maven/org.example/lib@2.3.0"))]);
        upload_and_wait(&app, third, moved).await;
        let page = vulnerabilities(&app, third, "?include_suppressed=true").await;
        assert_eq!(page["total"], 2, "{page}");
        for f in items(&page) {
            let in_range = f["component"]["version"] == "2.3.0";
            assert_eq!(f["disposition"]["state"] == "false_positive", in_range, "{f}");
        }

        // A re-upload to release 1 keeps every decision (the release one included).
        upload_and_wait(&app, first, sbom()).await;
        let page = vulnerabilities(&app, first, "?include_suppressed=true").await;
        let sbom_ids: std::collections::BTreeSet<i64> = items(&page).iter().map(|f| f["sbom_id"].as_i64().unwrap()).collect();
        assert_eq!(sbom_ids.len(), 2, "both SBOMs' findings are listed: {page}");
        let latest = *sbom_ids.iter().max().unwrap();
        let reuploaded: Vec<&Value> = items(&page).iter().filter(|f| f["sbom_id"] == latest).collect();
        assert_eq!(reuploaded.len(), 3);
        for f in reuploaded {
            assert_eq!(f["disposition"]["inherited"], true, "{f}");
            let expected = match f["component"]["name"].as_str().unwrap() {
                "django" => "not_affected",
                "lodash" => "in_triage",
                _ => "false_positive",
            };
            assert_eq!(f["disposition"]["state"], expected, "{f}");
        }
    }

    async fn a_decision_is_flagged_for_review_when_its_record_changes(app) {
        let store = load_knowledge_base(&app).await;
        let (_, release_id) = release(&app, "reviewed").await;
        upload_and_wait(&app, release_id, sbom()).await;
        let page = vulnerabilities(&app, release_id, "").await;
        let lodash = finding(&page, "lodash")["id"].as_i64().unwrap();
        decided(&app, &format!("/api/v1/releases/{release_id}/dispositions"),
            json!({"findings": [lodash], "state": "in_triage"})).await;
        let page = vulnerabilities(&app, release_id, "").await;
        assert_eq!(finding(&page, "lodash")["disposition"]["review_reasons"], json!([]));
        // The record is re-rated critical and its fix moves.
        ingest_osv(&store, &[osv("GHSA-lodash-0001", &["CVE-2099-0002"], "2024-06-01T00:00:00Z",
            json!({"package": {"ecosystem": "npm", "name": "lodash"},
                   "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.22"}]}]}),
            CRITICAL)]).await;
        let page = vulnerabilities(&app, release_id, "").await;
        let reasons = finding(&page, "lodash")["disposition"]["review_reasons"].clone();
        assert_eq!(reasons, json!(["severity changed from medium to critical", "affected ranges changed"]), "{page}");
        // A new decision is made on the current data: nothing to review.
        decided(&app, &format!("/api/v1/releases/{release_id}/dispositions"),
            json!({"findings": [lodash], "state": "exploitable", "action_statement": "Upgrade"})).await;
        let page = vulnerabilities(&app, release_id, "").await;
        assert_eq!(finding(&page, "lodash")["disposition"]["review_reasons"], json!([]));
    }

    async fn reanalysis_on_demand_and_triage_scopes(app) {
        let _store = load_knowledge_base(&app).await;
        let (_, release_id) = release(&app, "triggered").await;
        let uploaded = upload_and_wait(&app, release_id, sbom()).await;
        let sbom_id = uploaded["sbom"]["id"].as_i64().unwrap();
        let queued = json_of(app.post(&format!("/api/v1/sboms/{sbom_id}/analyses")).send().await.unwrap(), StatusCode::ACCEPTED).await;
        assert_eq!(queued["reason"], "manual");
        assert_eq!(queued["sbom_id"], sbom_id);
        let id = queued["id"].as_i64().unwrap();
        assert_ne!(id, uploaded["analysis"]["id"].as_i64().unwrap());
        let mut finished = Value::Null;
        for _ in 0..300 {
            let analysis = json_of(app.get(&format!("/api/v1/analyses/{id}")).send().await.unwrap(), StatusCode::OK).await;
            if analysis["status"] == "completed" {
                finished = analysis;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(finished["findings_count"], 3, "{finished}");
        assert_eq!(finished["new_findings_count"], 0);
        let all = json_of(app.post(&format!("/api/v1/releases/{release_id}/analyses")).send().await.unwrap(), StatusCode::ACCEPTED).await;
        assert_eq!(all.as_array().unwrap().len(), 1);
        assert_eq!(app.post("/api/v1/sboms/999999/analyses").send().await.unwrap().status(), StatusCode::NOT_FOUND);

        // Scopes: reading decisions is not making them, and neither is re-analysing.
        let session = app.login("admin@localhost").await["token"].as_str().unwrap().to_string();
        let reader: Value = app.with_token(Method::POST, "/api/v1/api-keys", &session)
            .json(&json!({"name": "reader", "scopes": ["vulnerabilities:read", "dispositions:read"]}))
            .send().await.unwrap().json().await.unwrap();
        let reader = reader["api_key"].as_str().unwrap();
        let page = vulnerabilities(&app, release_id, "").await;
        let lodash = finding(&page, "lodash")["id"].as_i64().unwrap();
        let denied = app.with_token(Method::POST, &format!("/api/v1/releases/{release_id}/dispositions"), reader)
            .json(&json!({"findings": [lodash], "state": "in_triage"})).send().await.unwrap();
        expect_error(denied, StatusCode::FORBIDDEN, "insufficient_scope").await;
        let denied = app.with_token(Method::POST, &format!("/api/v1/sboms/{sbom_id}/analyses"), reader).send().await.unwrap();
        expect_error(denied, StatusCode::FORBIDDEN, "insufficient_scope").await;
        let history = app.with_token(Method::GET, &format!("/api/v1/findings/{lodash}/dispositions"), reader).send().await.unwrap();
        assert_eq!(history.status(), StatusCode::OK);
    }
}
