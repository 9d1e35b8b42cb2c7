//! The API reference page renders in a real browser with no internet: headless Chromium
//! loads /docs from the server and every operation path and error code must appear in the
//! rendered DOM (`scripts/check-docs-page.sh` does the browser part).

use std::process::Command;

use rampart_test_support::TestApp;
use reqwest::Method;
use serde_json::Value;

fn chromium_available() -> bool {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .any(|name| {
            Command::new("sh")
                .args(["-c", &format!("command -v {name}")])
                .output()
                .is_ok_and(|output| output.status.success())
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_page_lists_every_operation_in_headless_chromium() {
    if !chromium_available() {
        if std::env::var("RAMPART_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!("chromium is not installed but RAMPART_REQUIRE_BROWSER=1");
        }
        eprintln!("skipping: chromium is not installed (apt-get install chromium)");
        return;
    }
    let app = TestApp::spawn().await;
    let document: Value = app
        .anonymous(Method::GET, "/api/v1/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut expected: Vec<String> = document["paths"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert!(expected.len() >= 3);
    expected.push("#invalid_api_key".to_string());
    expected.push("#payload_too_large".to_string());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/check-docs-page.sh"
    );
    let app_url = app.url.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg(script)
            .arg(&app_url)
            .args(&expected)
            .output()
            .expect("run check-docs-page.sh")
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "docs page check failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
