//! AppSec integrations and SARIF uploads (issue 15, seed 001) over HTTP on both backends:
//! every SARIF log of the shared corpus uploads with its count; reimports survive code
//! motion, close what is gone and reopen what returns; malformed logs are refused naming the
//! JSON pointer with nothing stored; seed 001's paths with the Cortex header pair and the
//! `type_category` filter; GitHub/GitLab test connection and discovery against a local server
//! speaking their documented shapes; triage with history, and SLA due dates.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use rampart_server::axum::extract::{Query, State};
use rampart_server::axum::http::{HeaderMap, StatusCode as AxStatus};
use rampart_server::axum::response::IntoResponse;
use rampart_server::axum::routing::get;
use rampart_server::axum::Router;
use rampart_test_support::{backend_tests, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn json_of(response: reqwest::Response, status: StatusCode) -> Value {
    let actual = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "{text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

async fn create_integration(app: &TestApp, body: Value) -> Value {
    json_of(
        app.post("/api/v1/integrations")
            .json(&body)
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await
}

async fn upload(app: &TestApp, integration: i64, query: &str, body: Vec<u8>) -> reqwest::Response {
    app.post(&format!("/api/v1/integrations/{integration}/sarif{query}"))
        .header("content-type", "application/sarif+json")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn imported(app: &TestApp, integration: i64, query: &str, log: &Value) -> Value {
    json_of(
        upload(app, integration, query, log.to_string().into_bytes()).await,
        StatusCode::CREATED,
    )
    .await
}

fn sarif_root() -> Option<PathBuf> {
    rampart_test_data::root().map(|root| root.join("sarif"))
}

fn sarif_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.to_string_lossy().to_string();
        if path.is_dir() {
            sarif_files(&path, out);
        } else if (name.ends_with(".sarif") || name.ends_with(".json"))
            && !name.contains("/schema/")
        {
            out.push(path);
        }
    }
}

/// Result locations in a log, counted here independently of the reader: results whose `kind`
/// is absent or `fail`, one per location and at least one per result.
fn expected_locations(log: &Value) -> i64 {
    let runs = log["runs"].as_array().cloned().unwrap_or_default();
    runs.iter()
        .flat_map(|run| run["results"].as_array().cloned().unwrap_or_default())
        .filter(|result| matches!(result["kind"].as_str(), None | Some("fail")))
        .map(|result| result["locations"].as_array().map_or(1, |l| l.len().max(1)) as i64)
        .sum()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Moves every region of the log `by` lines (the code above grew).
fn shift_lines(value: &mut Value, by: i64) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if matches!(key.as_str(), "startLine" | "endLine") {
                    if let Some(line) = inner.as_i64() {
                        *inner = json!(line + by);
                    }
                } else {
                    shift_lines(inner, by);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| shift_lines(item, by)),
        _ => {}
    }
}

async fn code_findings(app: &TestApp, query: &str) -> Value {
    json_of(
        app.get(&format!("/api/v1/findings?kind=code&{query}"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await
}

/// A local stand-in for GitHub's and GitLab's REST APIs (the documented shapes: `GET /user`,
/// `GET /user/repos` paged by `Link`, `GET /api/v4/user`, `GET /api/v4/projects` paged by
/// `X-Next-Page`), answering 401 to any other token.
struct Forge {
    url: String,
}

const FORGE_TOKEN: &str = "forge-token-0123456789";

#[derive(serde::Deserialize)]
struct PageParam {
    page: Option<u32>,
}

async fn start_forge() -> Forge {
    #[derive(Clone)]
    struct Base(Arc<String>);
    let github_auth = |headers: &HeaderMap| {
        headers.get("authorization").and_then(|v| v.to_str().ok())
            == Some(&format!("Bearer {FORGE_TOKEN}"))
    };
    let gitlab_auth = |headers: &HeaderMap| {
        headers.get("private-token").and_then(|v| v.to_str().ok()) == Some(FORGE_TOKEN)
    };
    let unauthorized =
        || (AxStatus::UNAUTHORIZED, r#"{"message":"Bad credentials"}"#).into_response();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let base = Base(Arc::new(url.clone()));
    let app = Router::new()
        .route("/user", get(move |headers: HeaderMap| async move {
            if !github_auth(&headers) {
                return unauthorized();
            }
            rampart_server::axum::Json(json!({"login": "octo", "id": 42})).into_response()
        }))
        .route("/user/repos", get(move |State(Base(base)): State<Base>, headers: HeaderMap, Query(q): Query<PageParam>| async move {
            if !github_auth(&headers) {
                return unauthorized();
            }
            match q.page.unwrap_or(1) {
                1 => (
                    [("link", format!("<{base}/user/repos?per_page=100&page=2>; rel=\"next\", <{base}/user/repos?per_page=100&page=2>; rel=\"last\""))],
                    rampart_server::axum::Json(json!([
                        {"full_name": "octo/app", "default_branch": "main", "private": true, "html_url": "https://github.example/octo/app"},
                        {"full_name": "octo/lib", "default_branch": "trunk", "private": false}
                    ])),
                ).into_response(),
                _ => rampart_server::axum::Json(json!([{"full_name": "octo/tools", "default_branch": "main", "private": false}])).into_response(),
            }
        }))
        .route("/api/v4/user", get(move |headers: HeaderMap| async move {
            if !gitlab_auth(&headers) {
                return unauthorized();
            }
            rampart_server::axum::Json(json!({"username": "tanuki", "id": 7})).into_response()
        }))
        .route("/api/v4/projects", get(move |headers: HeaderMap, Query(q): Query<PageParam>| async move {
            if !gitlab_auth(&headers) {
                return unauthorized();
            }
            match q.page.unwrap_or(1) {
                1 => ([("x-next-page", "2")], rampart_server::axum::Json(json!([
                    {"path_with_namespace": "group/api", "default_branch": "main", "visibility": "private"}
                ]))).into_response(),
                _ => ([("x-next-page", "")], rampart_server::axum::Json(json!([
                    {"path_with_namespace": "group/web", "default_branch": "main", "visibility": "public"}
                ]))).into_response(),
            }
        }))
        .with_state(base);
    tokio::spawn(async move {
        rampart_server::axum::serve(listener, app).await.unwrap();
    });
    Forge { url }
}

fn allow_loopback(config: &mut rampart_server::ServerConfig) {
    config.sync.outbound.allow_private_targets = true;
}

backend_tests! {
    async fn every_sarif_log_of_the_corpus_uploads_with_its_count(app) {
        let Some(root) = sarif_root() else { return };
        let mut files = Vec::new();
        sarif_files(&root, &mut files);
        files.sort();
        assert!(files.len() >= 60, "{} SARIF logs", files.len());
        for (index, file) in files.iter().enumerate() {
            let relative = file.strip_prefix(&root).unwrap().display().to_string();
            let integration = create_integration(&app, json!({"name": format!("corpus {index}"), "type": "GENERIC_COLLECTOR"})).await;
            let id = integration["id"].as_i64().unwrap();
            let bytes = std::fs::read(file).unwrap();
            let log: Value = serde_json::from_slice(bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes)).unwrap();
            let response = upload(&app, id, "", bytes).await;
            let import = json_of(response, StatusCode::CREATED).await;
            let expected = expected_locations(&log);
            assert_eq!(import["results"], expected, "{relative}: {import}");
            let stored = import["new"].as_i64().unwrap() + import["suppressed"].as_i64().unwrap();
            assert_eq!(stored + import["duplicates"].as_i64().unwrap(), expected, "{relative}: {import}");
            let listed = code_findings(&app, &format!("integration_id={id}&per_page=1")).await;
            assert_eq!(listed["total"], stored, "{relative}");
            if relative.ends_with("suppression_test.sarif") {
                assert_eq!(import["suppressed"], 3, "{import}");
                let suppressed = code_findings(&app, &format!("integration_id={id}&status=suppressed")).await;
                assert_eq!(suppressed["total"], 3);
            }
            if relative.ends_with("flawfinder.sarif") {
                assert_eq!(import["skipped"], 1, "the `pass` result is skipped and counted");
            }
        }
    }

    async fn reimports_survive_code_motion_close_what_is_gone_and_reopen_what_returns(app) {
        let Some(root) = sarif_root() else { return };
        let dojo = root.join("defectdojo-sarif-fixtures/unittests/scans/sarif");
        // Semgrep gives no fingerprints (identity from rule, file, message); CodeQL gives
        // partial fingerprints and snippets.
        for name in ["semgrepowasp-benchmark-sample.sarif", "codeQL-output.sarif", "gitleaks_7.5.0.sarif"] {
            let log: Value = serde_json::from_slice(&std::fs::read(dojo.join(name)).unwrap()).unwrap();
            let integration = create_integration(&app, json!({"name": name, "type": "SEMGREP"})).await;
            let id = integration["id"].as_i64().unwrap();
            let query = "?repository=org/app&ref=refs/heads/main";
            let first = imported(&app, id, query, &log).await;
            let stored = first["new"].as_i64().unwrap();
            assert!(stored > 0, "{name}: {first}");
            assert_eq!(first["branch"], "main");

            let mut moved = log.clone();
            shift_lines(&mut moved, 10);
            let again = imported(&app, id, query, &moved).await;
            assert_eq!((again["new"].as_i64(), again["closed"].as_i64()), (Some(0), Some(0)), "{name}: {again}");
            assert_eq!(again["unchanged"], stored, "{name}: {again}");
            // The stored locations moved with the code.
            let page = code_findings(&app, &format!("integration_id={id}&sort=path&per_page=1")).await;
            let line = page["items"][0]["location"]["start_line"].as_i64();
            if let Some(line) = line {
                assert!(line > 10, "{name}: {page}");
            }

            let mut fewer = moved.clone();
            let removed = fewer["runs"][0]["results"].as_array_mut().unwrap().remove(0);
            let dropped = imported(&app, id, query, &fewer).await;
            assert_eq!((dropped["new"].as_i64(), dropped["closed"].as_i64()), (Some(0), Some(1)), "{name}: {dropped}");
            let fixed = code_findings(&app, &format!("integration_id={id}&status=fixed")).await;
            assert_eq!(fixed["total"], 1, "{name}");
            let fixed_id = fixed["items"][0]["id"].as_i64().unwrap();

            fewer["runs"][0]["results"].as_array_mut().unwrap().insert(0, removed);
            let restored = imported(&app, id, query, &fewer).await;
            assert_eq!(
                (restored["new"].as_i64(), restored["closed"].as_i64(), restored["reopened"].as_i64()),
                (Some(0), Some(0), Some(1)),
                "{name}: {restored}"
            );
            let history = json_of(
                app.get(&format!("/api/v1/code-findings/{fixed_id}/history")).send().await.unwrap(),
                StatusCode::OK,
            ).await;
            let steps: Vec<(Value, Value)> = history["entries"].as_array().unwrap().iter()
                .map(|e| (e["to_status"].clone(), e["import_id"].clone())).collect();
            assert_eq!(
                steps,
                [
                    (json!("open"), first["id"].clone()),
                    (json!("fixed"), dropped["id"].clone()),
                    (json!("open"), restored["id"].clone()),
                ],
                "{name}: {history}"
            );
            // Another branch is another scope: nothing there is closed by this one.
            let other = imported(&app, id, "?repository=org/app&ref=feature", &fewer).await;
            assert_eq!((other["new"].as_i64(), other["closed"].as_i64()), (Some(stored), Some(0)));
            let imports = json_of(app.get(&format!("/api/v1/sarif-imports?integration_id={id}")).send().await.unwrap(), StatusCode::OK).await;
            assert_eq!(imports["total"], 5, "one import per upload, kept as history");
        }
    }

    async fn uploads_come_as_json_gzip_or_github_base64_gzip(app) {
        let integration = create_integration(&app, json!({"name": "forms", "type": "GITHUB_ACTIONS"})).await;
        let id = integration["id"].as_i64().unwrap();
        let log = json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t"}},
            "versionControlProvenance": [{"repositoryUri": "https://git.example/org/app", "revisionId": "abc123", "branch": "main"}],
            "results": [{"ruleId": "R", "message": {"text": "m"}, "level": "error",
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a.py"}, "region": {"startLine": 1}}}]}]}]});
        let plain = log.to_string().into_bytes();
        let first = json_of(upload(&app, id, "", gzip(&plain)).await, StatusCode::CREATED).await;
        assert_eq!((first["encoding"].as_str(), first["new"].as_i64()), (Some("gzip"), Some(1)));
        assert_eq!(first["repository"], "https://git.example/org/app");
        assert_eq!(first["commit_sha"], "abc123");
        let github = base64::engine::general_purpose::STANDARD.encode(gzip(&plain));
        let second = json_of(upload(&app, id, "", github.into_bytes()).await, StatusCode::CREATED).await;
        assert_eq!((second["encoding"].as_str(), second["unchanged"].as_i64()), (Some("gzip+base64"), Some(1)));
        let finding = code_findings(&app, &format!("integration_id={id}")).await;
        assert_eq!(finding["items"][0]["severity"], "high");
        assert_eq!(finding["items"][0]["commit_sha"], "abc123");
        let integration = json_of(app.get(&format!("/api/v1/integrations/{id}")).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(integration["status"], "CONNECTED", "an upload is contact");
        assert!(integration["health"]["last_upload_at"].is_string());
    }

    #[configure(|c| { c.max_sarif_bytes = 4096; c.max_sarif_decoded_bytes = 20_000; })]
    async fn malformed_logs_are_refused_naming_the_pointer_and_nothing_is_stored(app) {
        let integration = create_integration(&app, json!({"name": "strict", "type": "GENERIC_COLLECTOR"})).await;
        let id = integration["id"].as_i64().unwrap();
        let mut bad_level = json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t"}},
            "results": [{"ruleId": "R", "message": {"text": "m"}, "level": "fatal"}]}]});
        let error = json_of(upload(&app, id, "", bad_level.to_string().into_bytes()).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error["error"]["code"], "invalid_sarif");
        assert!(error["error"]["message"].as_str().unwrap().contains("/runs/0/results/0/level"), "{error}");
        bad_level["runs"][0]["tool"] = json!({"driver": {}});
        let error = json_of(upload(&app, id, "", bad_level.to_string().into_bytes()).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(error["error"]["message"].as_str().unwrap().contains("/runs/0/tool/driver/name"), "{error}");
        for not_sarif in [&b"<xml/>"[..], b"{\"runs\": [", b"\x1f\x8b\x08garbage"] {
            let error = json_of(upload(&app, id, "", not_sarif.to_vec()).await, StatusCode::BAD_REQUEST).await;
            assert_eq!(error["error"]["code"], "not_sarif", "{error}");
        }
        let big = vec![b' '; 5000];
        let error = json_of(upload(&app, id, "", big).await, StatusCode::PAYLOAD_TOO_LARGE).await;
        assert_eq!(error["error"]["code"], "payload_too_large");
        // A small gzip that inflates past the decoded limit.
        let mut bomb = b"{\"version\":\"2.1.0\",\"runs\":[]".to_vec();
        bomb.extend(vec![b' '; 50_000]);
        bomb.push(b'}');
        let compressed = gzip(&bomb);
        assert!(compressed.len() < 4096);
        let error = json_of(upload(&app, id, "", compressed).await, StatusCode::PAYLOAD_TOO_LARGE).await;
        assert_eq!(error["error"]["code"], "payload_too_large");
        let imports = json_of(app.get("/api/v1/sarif-imports").send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(imports["total"], 0, "nothing stored: {imports}");
        assert_eq!(code_findings(&app, "").await["total"], 0);
        // Another team's integration, or none: 404 before the body is read.
        let missing = upload(&app, id + 1000, "", b"{}".to_vec()).await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    }

    async fn seed_paths_serve_integrations_with_the_cortex_header_pair(app) {
        let (token, _) = app.user_on_plan("appsec@example.com", "pro").await;
        let key: Value = json_of(
            app.with_token(Method::POST, "/api/v1/api-keys", &token).json(&json!({"name": "cortex"})).send().await.unwrap(),
            StatusCode::CREATED,
        ).await;
        let secret = key["api_key"].as_str().unwrap().to_string();
        let key_id = key["id"].as_i64().unwrap().to_string();
        let cortex = |method: Method, path: &str| {
            app.anonymous(method, path)
                .header("x-xdr-auth-id", &key_id)
                .header("authorization", &secret)
        };
        let base = "/public_api/appsec/v1/integrations";
        let github = json_of(cortex(Method::POST, base).json(&json!({
            "name": "GitHub Enterprise", "type": "GITHUB", "base_url": "https://github.example.com/api/v3",
            "credentials": {"token": "ghp_supersecretvalue123"},
            "selection_type": "SELECTED", "repositories": ["org/app", "org/lib"]
        })).send().await.unwrap(), StatusCode::CREATED).await;
        assert_eq!(github["type_category"], "DEFAULT");
        assert_eq!(github["category"], "VERSION_CONTROL_SYSTEM");
        assert_eq!(github["sdlc_stage"], "CODE");
        assert_eq!(github["status"], "PENDING");
        assert_eq!(github["credentials_masked"]["token"], "ghp***123");
        assert!(!github.to_string().contains("supersecret"), "{github}");
        let snyk = json_of(cortex(Method::POST, "/public_api/appsec/v1/data_source_instances").json(&json!({
            "name": "Snyk", "type": "SNYK", "credentials": {"api_key": "snyk-secret-key-value"}
        })).send().await.unwrap(), StatusCode::CREATED).await;
        assert_eq!(snyk["type_category"], "EXTERNAL_VENDOR_INTEGRATIONS");
        json_of(cortex(Method::POST, base).json(&json!({"name": "cli", "type": "CORTEX_CLI"})).send().await.unwrap(), StatusCode::CREATED).await;

        for (prefix, filter, expected) in [
            (base, "", vec!["GitHub Enterprise", "Snyk", "cli"]),
            (base, "?type_category=DEFAULT", vec!["GitHub Enterprise", "cli"]),
            ("/public_api/appsec/v1/data_source_instances", "?type_category=EXTERNAL_VENDOR_INTEGRATIONS", vec!["Snyk"]),
            ("/api/v1/integrations", "?type=snyk", vec!["Snyk"]),
        ] {
            let page = json_of(cortex(Method::GET, &format!("{prefix}{filter}")).send().await.unwrap(), StatusCode::OK).await;
            let names: Vec<&str> = page["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
            assert_eq!(names, expected, "{prefix}{filter}");
            assert_eq!(page["total"], expected.len() as i64);
        }
        let bad = json_of(cortex(Method::GET, &format!("{base}?type_category=VENDORS")).send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        assert!(bad["error"]["message"].as_str().unwrap().contains("type_category"));

        let id = github["id"].as_i64().unwrap();
        let updated = json_of(cortex(Method::PUT, &format!("{base}/{id}")).json(&json!({
            "selection_type": "ALL",
            "external_project_mappings": [{"vendor_project": "sonar-key", "repository": "org/app"}]
        })).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(updated["selection_type"], "ALL");
        assert_eq!(updated["external_project_mappings"][0]["vendor_project"], "sonar-key");
        assert_eq!(updated["credentials_masked"]["token"], "ghp***123", "credentials kept");
        let same = json_of(cortex(Method::GET, &format!("/public_api/appsec/v1/data_source_instances/{id}")).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(same["external_project_mappings"], updated["external_project_mappings"]);
        let invalid = json_of(cortex(Method::PATCH, &format!("{base}/{id}")).json(&json!({"selection_type": "SELECTED", "repositories": []})).send().await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(invalid["error"]["message"].as_str().unwrap().starts_with("repositories"), "{invalid}");
        let duplicate = cortex(Method::POST, base).json(&json!({"name": "Snyk", "type": "SNYK"})).send().await.unwrap();
        assert_eq!(duplicate.status(), StatusCode::CONFLICT);

        // Findings survive the integration's deletion, orphaned.
        let log = json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t"}},
            "results": [{"ruleId": "R", "message": {"text": "m"}}]}]});
        let import = json_of(cortex(Method::POST, &format!("/api/v1/integrations/{id}/sarif")).body(log.to_string()).send().await.unwrap(), StatusCode::CREATED).await;
        assert_eq!(import["new"], 1);
        let deleted = cortex(Method::DELETE, &format!("{base}/{id}")).send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        assert_eq!(cortex(Method::GET, &format!("{base}/{id}")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
        let findings = json_of(cortex(Method::GET, "/api/v1/findings?kind=code").send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(findings["total"], 1);
        assert_eq!(findings["items"][0]["orphaned"], true);
        // A wrong key id with the right secret is refused.
        let wrong = app.anonymous(Method::GET, base).header("x-xdr-auth-id", "999999").header("authorization", &secret).send().await.unwrap();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }

    #[configure(allow_loopback)]
    async fn github_and_gitlab_connections_and_discovery_use_their_documented_apis(app) {
        let forge = start_forge().await;
        for (kind, base, login, expected) in [
            ("GITHUB", forge.url.clone(), "octo", vec!["octo/app", "octo/lib", "octo/tools"]),
            ("GITLAB", forge.url.clone(), "tanuki", vec!["group/api", "group/web"]),
        ] {
            let integration = create_integration(&app, json!({"name": kind, "type": kind, "base_url": base,
                "credentials": {"token": FORGE_TOKEN}})).await;
            let id = integration["id"].as_i64().unwrap();
            let check = json_of(app.post(&format!("/api/v1/integrations/{id}/test-connection")).send().await.unwrap(), StatusCode::OK).await;
            assert_eq!(check["ok"], true, "{kind}: {check}");
            assert_eq!(check["identity"]["login"], login);
            let found = json_of(app.get(&format!("/api/v1/integrations/{id}/repositories")).send().await.unwrap(), StatusCode::OK).await;
            let names: Vec<&str> = found["repositories"].as_array().unwrap().iter().map(|r| r["full_name"].as_str().unwrap()).collect();
            assert_eq!(names, expected, "{kind}: every page");
            let healthy = json_of(app.get(&format!("/api/v1/integrations/{id}")).send().await.unwrap(), StatusCode::OK).await;
            assert_eq!(healthy["status"], "CONNECTED");
            assert!(healthy["health"]["last_successful_contact_at"].is_string());

            // A wrong token: the service's refusal becomes the integration's health.
            json_of(app.request(Method::PATCH, &format!("/api/v1/integrations/{id}"))
                .json(&json!({"credentials": {"token": "wrong-token-value"}})).send().await.unwrap(), StatusCode::OK).await;
            let check = json_of(app.post(&format!("/api/v1/integrations/{id}/test-connection")).send().await.unwrap(), StatusCode::OK).await;
            assert_eq!(check["ok"], false);
            assert!(check["error"].as_str().unwrap().contains("401"), "{check}");
            let failing = json_of(app.get(&format!("/api/v1/integrations/{id}")).send().await.unwrap(), StatusCode::OK).await;
            assert_eq!(failing["status"], "ERROR");
            assert!(failing["health"]["last_error"].as_str().unwrap().contains("Bad credentials"), "{failing}");
            let refused = app.get(&format!("/api/v1/integrations/{id}/repositories")).send().await.unwrap();
            assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        }
        // Only GitHub and GitLab speak a VCS API here.
        let jenkins = create_integration(&app, json!({"name": "ci", "type": "JENKINS"})).await;
        let response = app.post(&format!("/api/v1/integrations/{}/test-connection", jenkins["id"])).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }

    async fn the_outbound_guard_refuses_loopback_integrations_by_default(app) {
        let forge = start_forge().await;
        // An IP literal is refused when configured; a name is checked once resolved.
        let literal = app.post("/api/v1/integrations").json(&json!({"name": "gh", "type": "GITHUB",
            "base_url": forge.url})).send().await.unwrap();
        assert_eq!(literal.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let integration = create_integration(&app, json!({"name": "gh", "type": "GITHUB",
            "base_url": forge.url.replace("127.0.0.1", "localhost"),
            "credentials": {"token": FORGE_TOKEN}})).await;
        let check = json_of(app.post(&format!("/api/v1/integrations/{}/test-connection", integration["id"])).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(check["ok"], false, "{check}");
        assert!(check["error"].as_str().unwrap().contains("loopback"), "{check}");
        let metadata = app.post("/api/v1/integrations").json(&json!({"name": "meta", "type": "GITLAB",
            "base_url": "http://169.254.169.254/"})).send().await.unwrap();
        assert_eq!(metadata.status(), StatusCode::UNPROCESSABLE_ENTITY, "link-local is never a base URL");
    }

    async fn code_findings_are_triaged_with_history_audit_and_sla_due_dates(app) {
        let integration = create_integration(&app, json!({"name": "triage", "type": "SONARQUBE"})).await;
        let id = integration["id"].as_i64().unwrap();
        let result = |rule: &str, file: &str, severity: &str| json!({"ruleId": rule, "message": {"text": format!("{rule} in {file}")},
            "properties": {"security-severity": severity},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": file}, "region": {"startLine": 4, "snippet": {"text": format!("call_{rule}()")}}}}]});
        let log = json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "sonar", "rules": [
                {"id": "S1", "properties": {"tags": ["cwe-89", "owasp-a1"]}}]}},
            "results": [result("S1", "a.java", "9.5"), result("S2", "b.java", "5.0"), result("S3", "c.java", "2.0")]}]});
        imported(&app, id, "?repository=org/app&ref=main", &log).await;
        let all = code_findings(&app, "sort=severity").await;
        let severities: Vec<&str> = all["items"].as_array().unwrap().iter().map(|f| f["severity"].as_str().unwrap()).collect();
        assert_eq!(severities, ["critical", "medium", "low"]);
        let critical = &all["items"][0];
        assert_eq!(critical["rule"]["cwes"], json!(["CWE-89"]));
        let first_seen: chrono::DateTime<chrono::Utc> = critical["first_seen_at"].as_str().unwrap().parse().unwrap();
        let due: chrono::DateTime<chrono::Utc> = critical["due_at"].as_str().unwrap().parse().unwrap();
        assert_eq!(due - first_seen, chrono::Duration::days(7), "default SLA for critical");

        let sla = json_of(app.request(Method::PUT, "/api/v1/findings/sla").json(&json!({"critical": 2, "high": 10, "medium": 30, "low": null, "none": null})).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(sla["critical"], 2);
        let low = code_findings(&app, "severity=low").await;
        assert!(low["items"][0]["due_at"].is_null(), "no SLA for low any more");
        let critical = code_findings(&app, "severity=critical").await;
        let due: chrono::DateTime<chrono::Utc> = critical["items"][0]["due_at"].as_str().unwrap().parse().unwrap();
        assert_eq!(due - first_seen, chrono::Duration::days(2));

        let ids: Vec<i64> = all["items"].as_array().unwrap().iter().map(|f| f["id"].as_i64().unwrap()).collect();
        let triage = |finding: i64, body: Value| app.post(&format!("/api/v1/code-findings/{finding}/triage")).json(&body).send();
        let expires = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
        let accepted = json_of(triage(ids[0], json!({"status": "accepted_risk", "reason": "compensating control", "expires_at": expires})).await.unwrap(), StatusCode::OK).await;
        assert_eq!(accepted["status"], "accepted_risk");
        let missing_reason = json_of(triage(ids[1], json!({"status": "false_positive"})).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(missing_reason["error"]["message"].as_str().unwrap().starts_with("reason"));
        json_of(triage(ids[1], json!({"status": "false_positive", "reason": "test code"})).await.unwrap(), StatusCode::OK).await;
        let open = code_findings(&app, "status=open").await;
        assert_eq!(open["total"], 1);
        let false_positive = code_findings(&app, "status=false_positive").await;
        assert!(false_positive["items"][0]["due_at"].is_null(), "no deadline once triaged away: {false_positive}");
        assert_eq!(false_positive["items"][0]["overdue"], false);
        let history = json_of(app.get(&format!("/api/v1/code-findings/{}/history", ids[0])).send().await.unwrap(), StatusCode::OK).await;
        let last = history["entries"].as_array().unwrap().last().unwrap().clone();
        assert_eq!((last["from_status"].as_str(), last["to_status"].as_str()), (Some("open"), Some("accepted_risk")));
        assert_eq!(last["reason"], "compensating control");
        assert!(last["import_id"].is_null());

        // A reimport without the triaged results keeps the decisions: nothing closes them.
        let mut only_low = log.clone();
        only_low["runs"][0]["results"] = json!([result("S3", "c.java", "2.0")]);
        let again = imported(&app, id, "?repository=org/app&ref=main", &only_low).await;
        assert_eq!((again["closed"].as_i64(), again["unchanged"].as_i64()), (Some(0), Some(1)), "{again}");
        assert_eq!(code_findings(&app, "status=false_positive").await["total"], 1);
        let audit = json_of(app.get("/api/v1/audit-log?action=code_finding.triage").send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(audit["total"], 2, "{audit}");
    }
}

/// Loads one npm advisory (lodash before 4.17.21) into the app's knowledge base.
async fn load_lodash_advisory(app: &TestApp) {
    let store = rampart_store::Store::connect(&app.config.database)
        .await
        .unwrap();
    let record = json!({"schema_version": "1.6.0", "id": "GHSA-appsec-0001", "modified": "2024-01-02T00:00:00Z",
        "summary": "lodash prototype pollution",
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

backend_tests! {
    async fn the_findings_api_lists_dependency_findings_across_releases(app) {
        load_lodash_advisory(&app).await;
        let sbom = json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
            "components": [{"type": "library", "bom-ref": "l", "name": "lodash", "version": "4.17.20",
                "purl": "pkg:npm/lodash@4.17.20"}]});
        let mut products = Vec::new();
        for name in ["web", "api"] {
            let release = app.create_release(name).await;
            let uploaded = json_of(app.post(&format!("/api/v1/releases/{release}/sboms?wait=true"))
                .header("content-type", "application/vnd.cyclonedx+json")
                .body(sbom.to_string()).send().await.unwrap(), StatusCode::CREATED).await;
            assert_eq!(uploaded["analysis"]["findings_count"], 1, "{uploaded}");
            let release: Value = json_of(app.get(&format!("/api/v1/releases/{release}")).send().await.unwrap(), StatusCode::OK).await;
            products.push(release["product_id"].as_i64().unwrap());
        }
        let all = json_of(app.get("/api/v1/findings?kind=dependency").send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(all["total"], 2, "{all}");
        assert!(all.to_string().contains("GHSA-appsec-0001"), "{all}");
        let one = json_of(app.get(&format!("/api/v1/findings?kind=dependency&product={}", products[0])).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(one["total"], 1);
        let none = json_of(app.get("/api/v1/findings?kind=dependency&severity=critical").send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(none["total"], 0, "unrated records are not critical");
        let other = app.get("/api/v1/findings?kind=dependency&product=999999").send().await.unwrap();
        assert_eq!(other.status(), StatusCode::NOT_FOUND);
        for bad in ["kind=dependency&tool=semgrep", "kind=secrets"] {
            let response = app.get(&format!("/api/v1/findings?{bad}")).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        }
        // The code kind is the default and has none here.
        assert_eq!(code_findings(&app, "").await["total"], 0);
    }

    async fn code_findings_of_a_product_are_those_of_the_repositories_mapped_to_it(app) {
        let web = app.create_release("web").await;
        let web: Value = json_of(app.get(&format!("/api/v1/releases/{web}")).send().await.unwrap(), StatusCode::OK).await;
        let product = web["product_id"].as_i64().unwrap();
        let api = app.create_release("api").await;
        let api: Value = json_of(app.get(&format!("/api/v1/releases/{api}")).send().await.unwrap(), StatusCode::OK).await;
        let unmapped_product = api["product_id"].as_i64().unwrap();
        let sonar = create_integration(&app, json!({"name": "sonar", "type": "SONARQUBE",
            "external_project_mappings": [{"vendor_project": "web", "repository": "org/web", "product_id": product},
                {"vendor_project": "tools", "repository": "org/tools"}]})).await;
        let sonar = sonar["id"].as_i64().unwrap();
        let other = create_integration(&app, json!({"name": "semgrep", "type": "SEMGREP"})).await;
        let other = other["id"].as_i64().unwrap();
        let log = |rule: &str| json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "sonar"}},
            "results": [{"ruleId": rule, "message": {"text": rule},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": "src/a.java"}, "region": {"startLine": 3}}}]}]}]});
        imported(&app, sonar, "?repository=org/web&ref=main", &log("WEB")).await;
        imported(&app, sonar, "?repository=org/tools&ref=main", &log("TOOLS")).await;
        // The same repository name through an integration whose mappings do not name the product.
        imported(&app, other, "?repository=org/web&ref=main", &log("ELSEWHERE")).await;
        let of_product = code_findings(&app, &format!("product={product}")).await;
        let rules: Vec<&str> = of_product["items"].as_array().unwrap().iter().map(|f| f["rule"]["id"].as_str().unwrap()).collect();
        assert_eq!(rules, ["WEB"], "{of_product}");
        assert_eq!(code_findings(&app, &format!("product={unmapped_product}")).await["total"], 0);
        assert_eq!(code_findings(&app, "").await["total"], 3);
        let missing = app.get("/api/v1/findings?kind=code&product=999999").send().await.unwrap();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    }
}
