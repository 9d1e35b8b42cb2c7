//! Products, releases and SBOMs over real HTTP on both backends: CRUD, validation, conflicts,
//! tenancy, scopes, SBOM upload of the public example corpora, verbatim download, rejection
//! of invalid documents with nothing stored, size limit, cascading deletes.

use std::path::{Path, PathBuf};

use chrono::Utc;
use rampart_core::{ApiKeyKind, ApiKeySecret, Scope, ScopeSet};
use rampart_formats::sbom::{self, DocumentFormat};
use rampart_store::{DatabaseLocation, Store};
use rampart_test_support::{backend_tests, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Asserts the standard error body with `code` and returns its message.
pub(crate) async fn expect_error(
    response: reqwest::Response,
    status: StatusCode,
    code: &str,
) -> String {
    assert_eq!(response.status(), status, "expected {code}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "{body}");
    body["error"]["message"].as_str().unwrap().to_string()
}

pub(crate) async fn json_of(response: reqwest::Response, status: StatusCode) -> Value {
    let actual = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(actual, status, "{body}");
    body
}

/// Creates a team of its own with a user and a key carrying `scopes` (written with SQL
/// until the identity API lands) and returns the key.
async fn key_for_new_team(app: &TestApp, team_name: &str, scopes: ScopeSet) -> String {
    let key = ApiKeySecret::generate(ApiKeyKind::Live);
    let email = format!("{}@example.test", team_name.to_lowercase());
    let at = Utc::now();
    macro_rules! insert {
        ($pool:expr) => {{
            let pool = $pool;
            let team_id: i64 = sqlx::query_scalar(
                "INSERT INTO teams (name, plan, created_at) VALUES ($1, 'pro', $2) RETURNING id",
            )
            .bind(team_name)
            .bind(at)
            .fetch_one(&pool)
            .await
            .unwrap();
            let user_id: i64 = sqlx::query_scalar(
                "INSERT INTO users (email, kind, created_at) VALUES ($1, 'person', $2) RETURNING id",
            )
            .bind(&email)
            .bind(at)
            .fetch_one(&pool)
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO team_members (team_id, user_id, role, created_at) VALUES ($1, $2, 'owner', $3)",
            )
            .bind(team_id)
            .bind(user_id)
            .bind(at)
            .execute(&pool)
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO api_keys (team_id, user_id, name, key_hash, is_test, last_six, scopes, created_at)
                 VALUES ($1, $2, 'test key', $3, FALSE, $4, $5, $6)",
            )
            .bind(team_id)
            .bind(user_id)
            .bind(key.hash().0.to_vec())
            .bind(key.last_six())
            .bind(scopes.to_storage())
            .bind(at)
            .execute(&pool)
            .await
            .unwrap();
            pool.close().await;
        }};
    }
    match &app.config.database {
        DatabaseLocation::SqliteDir(dir) => insert!(sqlx::SqlitePool::connect(&format!(
            "sqlite://{}",
            dir.join("rampart.db").display()
        ))
        .await
        .unwrap()),
        DatabaseLocation::Postgres(url) => insert!(sqlx::PgPool::connect(url).await.unwrap()),
    }
    key.reveal().to_string()
}

fn as_key(app: &TestApp, key: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
    app.anonymous(method, path).bearer_auth(key)
}

pub(crate) async fn team_id(app: &TestApp) -> i64 {
    let me = json_of(app.get("/api/v1/me").send().await.unwrap(), StatusCode::OK).await;
    me["team"]["id"].as_i64().unwrap()
}

pub(crate) async fn store_of(app: &TestApp) -> Store {
    Store::connect(&app.config.database).await.unwrap()
}

pub(crate) async fn create_product(app: &TestApp, name: &str) -> Value {
    json_of(
        app.post("/api/v1/products")
            .json(&json!({"name": name}))
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await
}

pub(crate) async fn create_release(app: &TestApp, product_id: i64, version: &str) -> Value {
    json_of(
        app.post(&format!("/api/v1/products/{product_id}/releases"))
            .json(&json!({"version": version, "status": "released", "release_date": "2024-03-01"}))
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await
}

/// A product with one release; returns the release id.
async fn release_fixture(app: &TestApp) -> i64 {
    let product = create_product(app, "fixture").await;
    let release = create_release(app, product["id"].as_i64().unwrap(), "1.0.0").await;
    release["id"].as_i64().unwrap()
}

async fn upload(
    app: &TestApp,
    release_id: i64,
    content_type: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    app.post(&format!("/api/v1/releases/{release_id}/sboms"))
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .unwrap()
}

const SMALL_CYCLONEDX: &str = r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
  "components": [
    {"type": "library", "bom-ref": "a", "name": "lodash", "version": "4.17.20", "purl": "pkg:npm/lodash@4.17.20",
     "hashes": [{"alg": "SHA-256", "content": "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"}],
     "licenses": [{"license": {"id": "MIT"}}]},
    {"type": "library", "bom-ref": "b", "group": "org.apache.commons", "name": "commons-text", "version": "1.9",
     "purl": "pkg:maven/org.apache.commons/commons-text@1.9", "scope": "required",
     "components": [{"type": "library", "bom-ref": "c", "name": "inner", "version": "0.1"}]}
  ],
  "dependencies": [{"ref": "a", "dependsOn": ["b"]}, {"ref": "b", "dependsOn": ["c"]}]}"#;

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Every CycloneDX SBOM example and every SPDX 2.x JSON/tag-value example in the shared data.
fn example_sboms(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    files_under(&root.join("cyclonedx-bom-examples/SBOM"), &mut files);
    files_under(&root.join("spdx-examples"), &mut files);
    files.retain(|path| {
        let name = path.to_string_lossy();
        let spdx = name.contains("spdx-examples/");
        // SPDX in XML/YAML/RDF is not a format we claim; CycloneDX XML is.
        (name.ends_with(".json") || (name.ends_with(".xml") && !spdx) || name.ends_with(".spdx"))
            && !name.contains("spdx3.0/")
            && !name.ends_with("schemas/spdx-schema.json")
    });
    files.sort();
    files
}

fn content_type_for(format: DocumentFormat, variant: usize) -> &'static str {
    match (format, variant % 2) {
        (DocumentFormat::CycloneDxJson, 0) => "application/vnd.cyclonedx+json",
        (DocumentFormat::CycloneDxJson, _) => "application/json",
        (DocumentFormat::CycloneDxXml, 0) => "application/vnd.cyclonedx+xml",
        (DocumentFormat::CycloneDxXml, _) => "application/xml",
        (DocumentFormat::SpdxJson, 0) => "application/spdx+json",
        (DocumentFormat::SpdxJson, _) => "application/json",
        (DocumentFormat::SpdxTagValue, 0) => "text/spdx",
        (DocumentFormat::SpdxTagValue, _) => "text/plain; charset=utf-8",
    }
}

backend_tests! {
    async fn product_crud_validation_and_conflicts(app) {
        let created = json_of(
            app.post("/api/v1/products")
                .json(&json!({"name": "  Portal ", "description": "customer portal", "tags": ["web", "web", "eu"]}))
                .send().await.unwrap(),
            StatusCode::CREATED,
        ).await;
        assert_eq!(created["name"], "Portal");
        assert_eq!(created["tags"], json!(["web", "eu"]));
        assert_eq!(created["cpe_matching"], false);
        let id = created["id"].as_i64().unwrap();

        let duplicate = app.post("/api/v1/products").json(&json!({"name": "Portal"})).send().await.unwrap();
        expect_error(duplicate, StatusCode::CONFLICT, "conflict").await;

        for (body, field) in [
            (json!({"name": ""}), "name"),
            (json!({"name": "x".repeat(201)}), "name"),
            (json!({"name": "ok", "tags": [""]}), "tags[0]"),
        ] {
            let response = app.post("/api/v1/products").json(&body).send().await.unwrap();
            let message = expect_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert!(message.contains(field), "{message}");
        }
        let unknown = app.post("/api/v1/products").json(&json!({"name": "a", "colour": "red"})).send().await.unwrap();
        let message = expect_error(unknown, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
        assert!(message.contains("colour"), "{message}");

        for name in ["Billing", "Gateway", "Agent"] {
            create_product(&app, name).await;
        }
        let page = json_of(app.get("/api/v1/products?per_page=2&page=2").send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(page["total"], 4);
        assert_eq!(page["page"], 2);
        assert_eq!(page["per_page"], 2);
        let names: Vec<&str> = page["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Gateway", "Portal"], "sorted by name");
        let found = json_of(app.get("/api/v1/products?q=BILL").send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(found["total"], 1);
        assert_eq!(found["items"][0]["name"], "Billing");
        let by_tag = json_of(app.get("/api/v1/products?q=eu").send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(by_tag["items"][0]["name"], "Portal");
        let wildcard = json_of(app.get("/api/v1/products?q=%25").send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(wildcard["total"], 0, "% is matched literally");
        for bad in ["per_page=0", "per_page=501", "page=0", "page=x"] {
            let response = app.get(&format!("/api/v1/products?{bad}")).send().await.unwrap();
            expect_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
        }

        let patched = json_of(
            app.request(Method::PATCH, &format!("/api/v1/products/{id}"))
                .json(&json!({"description": null, "cpe_matching": true, "tags": ["internal"]}))
                .send().await.unwrap(),
            StatusCode::OK,
        ).await;
        assert_eq!(patched["name"], "Portal");
        assert_eq!(patched["description"], Value::Null);
        assert_eq!(patched["cpe_matching"], true);
        assert_eq!(patched["tags"], json!(["internal"]));
        let taken = app.request(Method::PATCH, &format!("/api/v1/products/{id}"))
            .json(&json!({"name": "Billing"})).send().await.unwrap();
        expect_error(taken, StatusCode::CONFLICT, "conflict").await;
        let fetched = json_of(app.get(&format!("/api/v1/products/{id}")).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(fetched, patched);

        let deleted = app.request(Method::DELETE, &format!("/api/v1/products/{id}")).send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        let gone = app.get(&format!("/api/v1/products/{id}")).send().await.unwrap();
        expect_error(gone, StatusCode::NOT_FOUND, "not_found").await;
        let again = app.request(Method::DELETE, &format!("/api/v1/products/{id}")).send().await.unwrap();
        expect_error(again, StatusCode::NOT_FOUND, "not_found").await;
    }

    async fn release_crud_validation_and_conflicts(app) {
        let product = create_product(&app, "Portal").await;
        let product_id = product["id"].as_i64().unwrap();
        let path = format!("/api/v1/products/{product_id}/releases");
        let created = json_of(
            app.post(&path).json(&json!({"version": "2.0.0"})).send().await.unwrap(),
            StatusCode::CREATED,
        ).await;
        assert_eq!(created["status"], "development");
        assert_eq!(created["product_id"], product_id);
        assert_eq!(created["release_date"], Value::Null);
        let id = created["id"].as_i64().unwrap();

        let duplicate = app.post(&path).json(&json!({"version": "2.0.0"})).send().await.unwrap();
        expect_error(duplicate, StatusCode::CONFLICT, "conflict").await;
        let bad_status = app.post(&path).json(&json!({"version": "3", "status": "shipped"})).send().await.unwrap();
        let message = expect_error(bad_status, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(message.contains("status"), "{message}");
        let bad_dates = app.post(&path)
            .json(&json!({"version": "3", "release_date": "2024-05-01", "eol_date": "2024-04-01"}))
            .send().await.unwrap();
        expect_error(bad_dates, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let bad_date = app.post(&path).json(&json!({"version": "3", "release_date": "May 1st"})).send().await.unwrap();
        let message = expect_error(bad_date, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
        assert!(message.contains("release_date"), "{message}");
        let no_product = app.post("/api/v1/products/999999/releases").json(&json!({"version": "1"})).send().await.unwrap();
        expect_error(no_product, StatusCode::NOT_FOUND, "not_found").await;

        create_release(&app, product_id, "1.0.0").await;
        let list = json_of(app.get(&path).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(list["total"], 2);
        assert_eq!(list["items"][0]["version"], "1.0.0", "newest first");

        let patched = json_of(
            app.request(Method::PATCH, &format!("/api/v1/releases/{id}"))
                .json(&json!({"status": "end_of_life", "release_date": "2023-01-01", "eol_date": "2025-12-31"}))
                .send().await.unwrap(),
            StatusCode::OK,
        ).await;
        assert_eq!(patched["status"], "end_of_life");
        assert_eq!(patched["eol_date"], "2025-12-31");
        let eol_first = app.request(Method::PATCH, &format!("/api/v1/releases/{id}"))
            .json(&json!({"release_date": "2026-01-01"})).send().await.unwrap();
        expect_error(eol_first, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let clash = app.request(Method::PATCH, &format!("/api/v1/releases/{id}"))
            .json(&json!({"version": "1.0.0"})).send().await.unwrap();
        expect_error(clash, StatusCode::CONFLICT, "conflict").await;
        let cleared = json_of(
            app.request(Method::PATCH, &format!("/api/v1/releases/{id}"))
                .json(&json!({"eol_date": null})).send().await.unwrap(),
            StatusCode::OK,
        ).await;
        assert_eq!(cleared["eol_date"], Value::Null);
        assert_eq!(cleared["release_date"], "2023-01-01");

        let deleted = app.request(Method::DELETE, &format!("/api/v1/releases/{id}")).send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        let gone = app.get(&format!("/api/v1/releases/{id}")).send().await.unwrap();
        expect_error(gone, StatusCode::NOT_FOUND, "not_found").await;
    }

    async fn another_teams_objects_are_not_found(app) {
        let release_id = release_fixture(&app).await;
        let release = json_of(app.get(&format!("/api/v1/releases/{release_id}")).send().await.unwrap(), StatusCode::OK).await;
        let product_id = release["product_id"].as_i64().unwrap();
        let uploaded = json_of(
            upload(&app, release_id, "application/json", SMALL_CYCLONEDX.into()).await,
            StatusCode::CREATED,
        ).await;
        let sbom_id = uploaded["sbom"]["id"].as_i64().unwrap();
        let analysis_id = uploaded["analysis"]["id"].as_i64().unwrap();

        let other = key_for_new_team(&app, "Other", ScopeSet::all()).await;
        for (method, path) in [
            (Method::GET, format!("/api/v1/products/{product_id}")),
            (Method::PATCH, format!("/api/v1/products/{product_id}")),
            (Method::DELETE, format!("/api/v1/products/{product_id}")),
            (Method::GET, format!("/api/v1/products/{product_id}/releases")),
            (Method::POST, format!("/api/v1/products/{product_id}/releases")),
            (Method::GET, format!("/api/products/{product_id}")),
            (Method::GET, format!("/api/v1/releases/{release_id}")),
            (Method::PATCH, format!("/api/v1/releases/{release_id}")),
            (Method::DELETE, format!("/api/v1/releases/{release_id}")),
            (Method::GET, format!("/api/v1/releases/{release_id}/sboms")),
            (Method::GET, format!("/api/v1/sboms/{sbom_id}")),
            (Method::GET, format!("/api/v1/sboms/{sbom_id}/download")),
            (Method::GET, format!("/api/v1/sboms/{sbom_id}/components")),
            (Method::DELETE, format!("/api/v1/sboms/{sbom_id}")),
            (Method::GET, format!("/api/v1/analyses/{analysis_id}")),
        ] {
            let mut request = as_key(&app, &other, method.clone(), &path);
            if method == Method::PATCH {
                request = request.json(&json!({}));
            } else if method == Method::POST {
                request = request.json(&json!({"version": "9"}));
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} {path}");
        }
        let upload_elsewhere = as_key(&app, &other, Method::POST, &format!("/api/v1/releases/{release_id}/sboms"))
            .header("content-type", "application/json")
            .body(SMALL_CYCLONEDX)
            .send().await.unwrap();
        expect_error(upload_elsewhere, StatusCode::NOT_FOUND, "not_found").await;

        let listing = json_of(as_key(&app, &other, Method::GET, "/api/v1/products").send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(listing["total"], 0);
        // Names are unique per team, not globally.
        let same_name = as_key(&app, &other, Method::POST, "/api/v1/products")
            .json(&json!({"name": "fixture"})).send().await.unwrap();
        assert_eq!(same_name.status(), StatusCode::CREATED);
        // Nothing of the first team changed.
        let still = json_of(app.get(&format!("/api/v1/sboms/{sbom_id}")).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(still["component_count"], 3);
    }

    async fn routes_need_their_scopes(app) {
        let release_id = release_fixture(&app).await;
        let reader: ScopeSet = [Scope::ProductsRead, Scope::ReleasesRead, Scope::SbomsRead].into_iter().collect();
        let key = key_for_new_team(&app, "Readers", reader).await;
        let list = as_key(&app, &key, Method::GET, "/api/v1/products").send().await.unwrap();
        assert_eq!(list.status(), StatusCode::OK);
        for (method, path, scope) in [
            (Method::POST, "/api/v1/products".to_string(), "products:write"),
            (Method::POST, "/api/products".to_string(), "products:write"),
            (Method::PATCH, "/api/v1/releases/1".to_string(), "releases:write"),
            (Method::POST, format!("/api/v1/releases/{release_id}/sboms"), "sboms:write"),
            (Method::DELETE, "/api/v1/sboms/1".to_string(), "sboms:write"),
        ] {
            // No body at all: the scope is checked before the body is read.
            let response = as_key(&app, &key, method, &path).send().await.unwrap();
            let message = expect_error(response, StatusCode::FORBIDDEN, "insufficient_scope").await;
            assert!(message.contains(scope), "{path}: {message}");
        }
        let anonymous = app.anonymous(Method::GET, "/api/products").send().await.unwrap();
        expect_error(anonymous, StatusCode::UNAUTHORIZED, "missing_credentials").await;
    }

    async fn seed_paths_serve_the_same_json(app) {
        let created = json_of(
            app.post("/api/products").json(&json!({"name": "Seeded", "tags": ["a"]})).send().await.unwrap(),
            StatusCode::CREATED,
        ).await;
        let id = created["id"].as_i64().unwrap();
        let release = json_of(
            app.post(&format!("/api/products/{id}/releases")).json(&json!({"version": "1.0"})).send().await.unwrap(),
            StatusCode::CREATED,
        ).await;
        assert_eq!(release["product_id"], id);
        for (seed, canonical) in [
            ("/api/products".to_string(), "/api/v1/products".to_string()),
            ("/api/products?q=seed&per_page=5".to_string(), "/api/v1/products?q=seed&per_page=5".to_string()),
            (format!("/api/products/{id}"), format!("/api/v1/products/{id}")),
            (format!("/api/products/{id}/releases"), format!("/api/v1/products/{id}/releases")),
        ] {
            let a = json_of(app.get(&seed).send().await.unwrap(), StatusCode::OK).await;
            let b = json_of(app.get(&canonical).send().await.unwrap(), StatusCode::OK).await;
            assert_eq!(a, b, "{seed}");
        }
        let listed = json_of(app.get("/api/products").send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(listed["items"][0], created);
    }

    async fn small_sbom_upload_stores_components_and_graph(app) {
        let release_id = release_fixture(&app).await;
        let response = upload(&app, release_id, "application/vnd.cyclonedx+json", SMALL_CYCLONEDX.into()).await;
        let uploaded = json_of(response, StatusCode::CREATED).await;
        let sbom = &uploaded["sbom"];
        assert_eq!(sbom["format"], "cyclonedx");
        assert_eq!(sbom["document_format"], "cyclonedx_json");
        assert_eq!(sbom["spec_version"], "1.6");
        assert_eq!(sbom["component_count"], 3);
        assert_eq!(sbom["dependency_count"], 2);
        assert_eq!(sbom["size_bytes"], SMALL_CYCLONEDX.len());
        assert_eq!(sbom["uploaded_by"], "admin@localhost");
        assert_eq!(sbom["sha256"].as_str().unwrap().len(), 64);
        let analysis = &uploaded["analysis"];
        assert_eq!(analysis["sbom_id"], sbom["id"]);
        assert_eq!(analysis["component_count"], 3);
        assert!(["queued", "running", "completed"].contains(&analysis["status"].as_str().unwrap()));
        let sbom_id = sbom["id"].as_i64().unwrap();

        let components = json_of(app.get(&format!("/api/v1/sboms/{sbom_id}/components")).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(components["total"], 3);
        let lodash = &components["items"][0];
        assert_eq!(lodash["name"], "lodash");
        assert_eq!(lodash["purl"], "pkg:npm/lodash@4.17.20");
        assert_eq!(lodash["licenses"], json!([{"id": "MIT"}]));
        assert_eq!(lodash["hashes"][0]["alg"], "SHA-256");
        assert_eq!(lodash["type"], "library");
        assert_eq!(lodash["bom_ref"], "a");
        let commons = &components["items"][1];
        assert_eq!(commons["group"], "org.apache.commons");
        assert_eq!(commons["scope"], "required");
        let inner = &components["items"][2];
        assert_eq!(inner["parent_position"], 1);
        let searched = json_of(app.get(&format!("/api/v1/sboms/{sbom_id}/components?q=COMMONS&per_page=1")).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(searched["total"], 1);
        assert_eq!(searched["items"][0]["name"], "commons-text");

        let listed = json_of(app.get(&format!("/api/v1/releases/{release_id}/sboms")).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(listed["total"], 1);
        assert_eq!(&listed["items"][0], sbom);
        let analysis_id = analysis["id"].as_i64().unwrap();
        let fetched = json_of(app.get(&format!("/api/v1/analyses/{analysis_id}")).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(fetched["id"], analysis_id);
    }

    async fn upload_with_wait_returns_the_finished_analysis(app) {
        let Some(root) = rampart_test_data::root() else { return };
        let release_id = release_fixture(&app).await;
        let bytes = std::fs::read(root.join("cyclonedx-bom-examples/SBOM/keycloak-10.0.2/bom.json")).unwrap();
        // Written down, not computed by our purl parser: keycloak's 903 components all carry
        // a `pkg:maven/<group>/<artifact>@<version>` purl (counted once with a separate
        // script over the document's JSON: 903 components, 903 such purls, no other type).
        let expected_components = 903;
        let expected_ecosystems = json!({"Maven": 903});
        let response = app.post(&format!("/api/v1/releases/{release_id}/sboms?wait=true"))
            .header("content-type", "application/vnd.cyclonedx+json")
            .body(bytes)
            .send().await.unwrap();
        let uploaded = json_of(response, StatusCode::CREATED).await;
        let analysis = &uploaded["analysis"];
        assert_eq!(analysis["status"], "completed", "{analysis}");
        assert_eq!(analysis["component_count"], expected_components);
        assert_eq!(analysis["resolved_count"], expected_components);
        assert_eq!(analysis["ecosystems"], expected_ecosystems);
        assert_eq!(analysis["attempts"], 1);
        assert!(analysis["started_at"].is_string() && analysis["finished_at"].is_string());
        let id = analysis["id"].as_i64().unwrap();
        let fetched = json_of(app.get(&format!("/api/v1/analyses/{id}")).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(&fetched, analysis);

        let sbom_id = uploaded["sbom"]["id"].as_i64().unwrap();
        let components = json_of(
            app.get(&format!("/api/v1/sboms/{sbom_id}/components?q=pkg:maven/org.keycloak&per_page=500")).send().await.unwrap(),
            StatusCode::OK,
        ).await;
        assert!(components["total"].as_i64().unwrap() > 0);
        for component in components["items"].as_array().unwrap() {
            assert_eq!(component["ecosystem"], "Maven", "{component}");
            let group = component["group"].as_str().unwrap();
            assert_eq!(component["package_name"], format!("{group}:{}", component["name"].as_str().unwrap()));
        }
    }

    async fn an_upload_without_wait_is_analysed_in_the_background(app) {
        let release_id = release_fixture(&app).await;
        let uploaded = json_of(upload(&app, release_id, "application/json", SMALL_CYCLONEDX.into()).await, StatusCode::CREATED).await;
        let id = uploaded["analysis"]["id"].as_i64().unwrap();
        let mut analysis = Value::Null;
        for _ in 0..300 {
            analysis = json_of(app.get(&format!("/api/v1/analyses/{id}")).send().await.unwrap(), StatusCode::OK).await;
            if analysis["status"] == "completed" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(analysis["status"], "completed", "{analysis}");
        assert_eq!(analysis["resolved_count"], 2);
        assert_eq!(analysis["ecosystems"], json!({"Maven": 1, "npm": 1}));
    }

    async fn every_example_sbom_uploads_and_downloads_verbatim(app) {
        let Some(root) = rampart_test_data::root() else { return };
        let release_id = release_fixture(&app).await;
        let files = example_sboms(&root);
        assert!(files.len() > 40, "corpus unexpectedly small: {}", files.len());
        let (mut accepted, mut refused) = (0, Vec::new());
        for (index, path) in files.iter().enumerate() {
            let bytes = std::fs::read(path).unwrap();
            let name = path.strip_prefix(&root).unwrap().display().to_string();
            let Some(format) = sbom::detect(&bytes) else {
                // Not an SBOM document at all (e.g. a README-like JSON): 400, nothing stored.
                let response = upload(&app, release_id, "application/json", bytes).await;
                expect_error(response, StatusCode::BAD_REQUEST, "not_an_sbom").await;
                refused.push(name);
                continue;
            };
            let content_type = content_type_for(format, index);
            let expected = sbom::parse(&bytes);
            let response = upload(&app, release_id, content_type, bytes.clone()).await;
            let parsed = match expected {
                Ok(parsed) => parsed,
                Err(error) => {
                    // Versions the parser does not claim (CycloneDX 1.0/1.1): rejected alike.
                    assert!(response.status().is_client_error(), "{name}: {error}");
                    refused.push(name);
                    continue;
                }
            };
            let uploaded = json_of(response, StatusCode::CREATED).await;
            let sbom_id = uploaded["sbom"]["id"].as_i64().unwrap();
            assert_eq!(uploaded["sbom"]["component_count"], parsed.components.len(), "{name}");
            assert_eq!(uploaded["sbom"]["dependency_count"], parsed.dependencies.len(), "{name}");
            assert_eq!(uploaded["sbom"]["content_type"], content_type, "{name}");
            let components = json_of(
                app.get(&format!("/api/v1/sboms/{sbom_id}/components?per_page=1")).send().await.unwrap(),
                StatusCode::OK,
            ).await;
            assert_eq!(components["total"], parsed.components.len(), "{name}");

            let download = app.get(&format!("/api/v1/sboms/{sbom_id}/download")).send().await.unwrap();
            assert_eq!(download.status(), StatusCode::OK);
            assert_eq!(download.headers()["content-type"], content_type, "{name}");
            assert_eq!(download.bytes().await.unwrap().as_ref(), bytes.as_slice(), "{name}: bytes differ");
            accepted += 1;
        }
        println!("uploaded {accepted} example SBOMs; refused as unsupported: {refused:?}");
        assert!(accepted > 40, "{accepted}");
        assert!(refused.iter().all(|name| name.contains("bom.1.1") || name.contains(".1.0.")), "{refused:?}");
    }

    async fn invalid_documents_are_rejected_and_nothing_is_stored(app) {
        let Some(root) = rampart_test_data::root() else { return };
        let release_id = release_fixture(&app).await;
        let team = team_id(&app).await;
        let store = store_of(&app).await;

        let not_sbom = upload(&app, release_id, "application/json", br#"{"hello": "world"}"#.to_vec()).await;
        expect_error(not_sbom, StatusCode::BAD_REQUEST, "not_an_sbom").await;
        let broken = r#"{"bomFormat": "CycloneDX", "specVersion": "1.6",
            "components": [{"type": "library", "name": "ok"}, {"type": "library", "name": "lodash", "version": 4}]}"#;
        let response = upload(&app, release_id, "application/json", broken.into()).await;
        let message = expect_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_sbom").await;
        assert!(message.contains("/components/1/version"), "{message}");
        let xml = "<?xml version=\"1.0\"?>\n<bom xmlns=\"http://cyclonedx.org/schema/bom/1.6\">\n<components>\n<component type=\"nonsense\"><name>x</name></component>\n</components>\n</bom>\n";
        let response = upload(&app, release_id, "application/xml", xml.into()).await;
        let message = expect_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_sbom").await;
        assert!(message.contains("line 4"), "{message}");

        let dir = root.join("cyclonedx-spec-tests/tools/src/test/resources/1.6");
        let mut invalid: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path())
            .filter(|p| {
                let name = p.file_name().unwrap().to_string_lossy().to_string();
                name.starts_with("invalid-") && (name.ends_with(".json") || name.ends_with(".xml"))
            })
            .collect();
        invalid.sort();
        assert!(invalid.len() > 40, "{}", invalid.len());
        for path in &invalid {
            let content_type = if path.extension().unwrap() == "xml" { "application/xml" } else { "application/json" };
            let response = upload(&app, release_id, content_type, std::fs::read(path).unwrap()).await;
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            assert!(
                status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY,
                "{}: {status} {body}", path.display()
            );
            assert!(body["error"]["message"].as_str().unwrap().len() > 10);
        }
        assert_eq!(store.sbom_row_counts(team).await.unwrap(), [0; 5], "nothing stored");
        let listed = json_of(app.get(&format!("/api/v1/releases/{release_id}/sboms")).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(listed["total"], 0);
    }

    #[configure(|c| c.max_sbom_bytes = 2048)]
    async fn oversize_sboms_get_413_json(app) {
        let release_id = release_fixture(&app).await;
        let team = team_id(&app).await;
        let padding = " ".repeat(4096);
        let big = format!("{}{padding}", SMALL_CYCLONEDX);
        let response = upload(&app, release_id, "application/json", big.into()).await;
        let message = expect_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
        assert!(message.contains("2048"), "{message}");
        assert_eq!(store_of(&app).await.sbom_row_counts(team).await.unwrap(), [0; 5]);
        // Under the limit is fine.
        let ok = upload(&app, release_id, "application/json", SMALL_CYCLONEDX.into()).await;
        assert_eq!(ok.status(), StatusCode::CREATED);
    }

    async fn deletes_cascade(app) {
        let team = team_id(&app).await;
        let store = store_of(&app).await;
        let release_id = release_fixture(&app).await;
        let release = json_of(app.get(&format!("/api/v1/releases/{release_id}")).send().await.unwrap(), StatusCode::OK).await;
        let product_id = release["product_id"].as_i64().unwrap();
        let second = create_release(&app, product_id, "2.0.0").await["id"].as_i64().unwrap();
        let mut sboms = Vec::new();
        for release in [release_id, release_id, second] {
            let uploaded = json_of(upload(&app, release, "application/json", SMALL_CYCLONEDX.into()).await, StatusCode::CREATED).await;
            sboms.push((uploaded["sbom"]["id"].as_i64().unwrap(), uploaded["analysis"]["id"].as_i64().unwrap()));
        }
        assert_eq!(store.sbom_row_counts(team).await.unwrap(), [3, 3, 9, 6, 3]);

        // One SBOM.
        let (sbom_id, analysis_id) = sboms[0];
        let deleted = app.request(Method::DELETE, &format!("/api/v1/sboms/{sbom_id}")).send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        expect_error(app.get(&format!("/api/v1/sboms/{sbom_id}/download")).send().await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
        expect_error(app.get(&format!("/api/v1/analyses/{analysis_id}")).send().await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
        assert_eq!(store.sbom_row_counts(team).await.unwrap(), [2, 2, 6, 4, 2]);

        // A release.
        let deleted = app.request(Method::DELETE, &format!("/api/v1/releases/{second}")).send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        assert_eq!(store.sbom_row_counts(team).await.unwrap(), [1, 1, 3, 2, 1]);

        // The product takes the rest.
        let deleted = app.request(Method::DELETE, &format!("/api/v1/products/{product_id}")).send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        expect_error(app.get(&format!("/api/v1/releases/{release_id}")).send().await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
        expect_error(app.get(&format!("/api/v1/sboms/{}", sboms[1].0)).send().await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
        assert_eq!(store.sbom_row_counts(team).await.unwrap(), [0; 5]);
    }
}
