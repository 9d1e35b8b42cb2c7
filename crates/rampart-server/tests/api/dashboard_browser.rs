//! The dashboard end to end in a real browser: Debian's chromium driven by chromium-driver over
//! WebDriver (fantoccini), against the real server with real data. Sign in with the code from
//! the SMTP sink, create a product and a release, upload a real SBOM from `../shared/data`,
//! see its finding with the match evidence, open the vulnerability, create an API key and see
//! it once, revoke it. Every page gets axe-core injected (no serious or critical violation) and
//! a screenshot in `target/tmp/dashboard-screenshots/<backend>/`, also at 375 px wide.
//!
//! Skipped (with the reason) when chromium, chromedriver, axe-core (`npm ci --prefix
//! scripts/axe`) or the corpora are missing, unless `RAMPART_REQUIRE_BROWSER=1` (CI).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use rampart_formats::advisory::parse_osv_json;
use rampart_store::Store;
use rampart_test_support::{backend_tests, Backend, TestApp};
use serde_json::{json, Value};

const SBOM: &str = "cyclonedx-bom-examples/SBOM/proton-bridge/proton-bridge-v1.6.3.bom.json";
const RECORD: &str = "peer-tests/osv-schema/tools/osv-linter/testdata/GO-2020-0001.json";

/// What the test needs, or why it cannot run.
fn prerequisites() -> Result<(PathBuf, PathBuf), String> {
    for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
        if !Path::new(tool).exists() {
            return Err(format!(
                "{tool} is missing (apt-get install chromium chromium-driver)"
            ));
        }
    }
    let axe = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts/axe/node_modules/axe-core/axe.min.js");
    if !axe.exists() {
        return Err("axe-core is missing (npm ci --prefix scripts/axe)".to_string());
    }
    let data = rampart_test_data::root().ok_or("the test corpora are missing")?;
    Ok((axe, data))
}

/// A chromedriver on a free loopback port, stopped on drop.
pub(crate) struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    pub(crate) async fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = Driver { child, port };
        for _ in 0..100 {
            let ready = reqwest::get(format!("http://127.0.0.1:{port}/status")).await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return driver;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not start");
    }

    pub(crate) async fn browser(&self) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_string(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1000"],
            }),
        );
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Screenshots and accessibility checks of each page visited.
struct Pages {
    browser: Client,
    axe: String,
    shots: PathBuf,
    count: usize,
}

impl Pages {
    /// Checks the page now shown with axe-core and writes its screenshot as `name`.
    async fn check(&mut self, name: &str) {
        self.count += 1;
        // The page has finished loading (htmx may still be settling a swap into it).
        self.browser
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("main"))
            .await
            .unwrap();
        let png = match self.browser.screenshot().await {
            Ok(png) => png,
            // Chromium aborts a screenshot that overlaps a history update: once more.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                self.browser.screenshot().await.unwrap()
            }
        };
        std::fs::write(
            self.shots.join(format!("{:02}-{name}.png", self.count)),
            png,
        )
        .unwrap();
        self.browser.execute(&self.axe, vec![]).await.unwrap();
        let violations = self
            .browser
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {resultTypes: ['violations']}).then(
                   r => done(r.violations
                     .filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.html).slice(0, 3)}))),
                   e => done([{id: 'axe-error', impact: String(e)}]));",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(violations, json!([]), "{name}: accessibility violations");
        // No inline script made it into the page (the CSP would also refuse to run it).
        let inline = self
            .browser
            .execute(
                "return [...document.scripts].filter(s => !s.src).length",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(inline, json!(0), "{name}: inline scripts");
    }

    async fn visit(&mut self, url: &str, name: &str) {
        self.browser.goto(url).await.unwrap();
        let expected = url::Url::parse(url).unwrap();
        self.browser
            .wait()
            .at_most(Duration::from_secs(30))
            .for_url(expected)
            .await
            .unwrap_or_else(|e| panic!("{url} never loaded: {e}"));
        self.check(name).await;
    }

    async fn text(&self) -> String {
        self.browser
            .find(Locator::Css("main"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    async fn fill(&self, css: &str, value: &str) {
        let field = self.browser.find(Locator::Css(css)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.browser
            .find(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// Waits for `css` to appear (htmx swaps and page loads finish on their own time).
    async fn wait_for(&self, css: &str) {
        self.browser
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} never appeared: {e}"));
    }

    async fn path(&self) -> String {
        self.browser.current_url().await.unwrap().path().to_string()
    }
}

async fn load_record(app: &TestApp, data: &Path) {
    let parsed = parse_osv_json(&std::fs::read(data.join(RECORD)).unwrap()).unwrap();
    let store = Store::connect(&app.config.database).await.unwrap();
    store
        .ingest_advisories("osv", &parsed.records)
        .await
        .unwrap();
    store.close().await;
    app.wait_for_index().await;
}

async fn walk(app: &TestApp, axe: &Path, data: &Path) {
    load_record(app, data).await;
    let driver = Driver::start().await;
    let backend = match app.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("dashboard-screenshots")
        .join(backend);
    std::fs::create_dir_all(&shots).unwrap();
    let mut pages = Pages {
        browser: driver.browser().await,
        axe: std::fs::read_to_string(axe).unwrap(),
        shots,
        count: 0,
    };
    let url = |path: &str| format!("{}{path}", app.url);

    // Sign in by e-mail code.
    pages.browser.goto(&url("/")).await.unwrap();
    assert_eq!(
        pages.path().await,
        "/login",
        "signed out, / leads to the login page"
    );
    pages.check("login").await;
    pages.fill("#email", "admin@localhost").await;
    pages.click("main button[type=submit]").await;
    pages.wait_for("#code").await;
    pages.check("login-code").await;
    let code = app
        .mail
        .last_to("admin@localhost")
        .and_then(|m| m.six_digits_after("code is "))
        .expect("the login code arrived");
    pages.fill("#code", &code).await;
    pages.click("main button[type=submit]").await;
    pages.wait_for("#product-name").await;
    pages.check("portfolio-empty").await;

    // A product, a release, a real SBOM.
    pages.fill("#product-name", "Proton Bridge").await;
    pages.click("#product-name ~ button[type=submit]").await;
    pages.wait_for("#release-version").await;
    pages.check("product").await;
    pages.fill("#release-version", "1.6.3").await;
    pages.click("#release-version ~ button[type=submit]").await;
    pages.wait_for("#sbom-file").await;
    pages.check("release-empty").await;
    let release_path = pages.path().await;
    let sbom = data.join(SBOM).canonicalize().unwrap();
    pages
        .browser
        .find(Locator::Css("#sbom-file"))
        .await
        .unwrap()
        .send_keys(sbom.to_str().unwrap())
        .await
        .unwrap();
    pages.click("#upload-form button[type=submit]").await;
    pages.wait_for("table.findings").await;
    pages.check("release-findings").await;
    let findings = pages.text().await;
    assert!(findings.contains("GO-2020-0001"), "{findings}");
    assert!(
        findings.contains("pkg:golang/github.com/gin-gonic/gin"),
        "the match evidence names the package: {findings}"
    );
    assert!(findings.contains("1.6.0"), "the fixed version: {findings}");
    // Filters narrow the table (here to nothing) and keep working without JavaScript too.
    pages
        .visit(
            &url(&format!("{release_path}?severity=critical&kev=1")),
            "release-filtered",
        )
        .await;
    assert!(pages.text().await.contains("match these filters"));
    pages
        .visit(
            &url(&format!("{release_path}?sort=epss")),
            "release-by-epss",
        )
        .await;
    pages
        .click("table.findings a[href^='/vulnerabilities/']")
        .await;
    pages.wait_for("#references-heading").await;
    pages.check("vulnerability").await;
    assert!(pages.text().await.contains("gin-gonic/gin"));
    pages.browser.back().await.unwrap();
    pages.wait_for("table.findings").await;
    pages.click("main a[href^='/sboms/']").await;
    pages.wait_for("#component-search").await;
    pages.check("components").await;
    assert!(pages.text().await.contains("github.com/gin-gonic/gin"));

    triage_and_vex(app, &mut pages, &release_path).await;
    appsec_pages(app, &mut pages).await;
    event_pages(app, &mut pages).await;
    compliance_pages(app, &mut pages).await;

    // An API key, shown once, then revoked.
    pages.visit(&url("/settings/api-keys"), "api-keys").await;
    pages.fill("#key-name", "ci").await;
    pages
        .click("#create-key-heading ~ form button[type=submit]")
        .await;
    pages.wait_for("#new-key").await;
    pages.check("api-key-created").await;
    let secret = pages
        .browser
        .find(Locator::Css("#new-key"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .expect("the key is shown");
    assert!(
        secret.starts_with("rk_live_") && secret.len() == 72,
        "{secret}"
    );
    let me = app
        .with_token(reqwest::Method::GET, "/api/v1/me", &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), reqwest::StatusCode::OK, "the new key works");
    pages
        .visit(&url("/settings/api-keys"), "api-keys-list")
        .await;
    let listed = pages.browser.source().await.unwrap();
    assert!(!listed.contains(&secret), "the key is shown only once");
    assert!(
        listed.contains(&secret[secret.len() - 6..]),
        "masked with its last six"
    );
    pages.click("button[aria-label='Revoke ci']").await;
    pages.wait_for(".status-revoked").await;
    pages.check("api-key-revoked").await;
    let revoked = app
        .with_token(reqwest::Method::GET, "/api/v1/me", &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), reqwest::StatusCode::UNAUTHORIZED);

    // The other sections, and the narrow screen.
    for (path, name) in [
        ("/settings/members", "members"),
        ("/audit", "audit"),
        ("/usage", "usage"),
        ("/sync-sources", "sync-sources"),
        ("/scans", "scans"),
        ("/scans/monitors", "scan-monitors"),
        ("/", "portfolio"),
    ] {
        pages.visit(&url(path), name).await;
    }
    assert!(pages.text().await.contains("Proton Bridge"));
    pages.browser.set_window_size(375, 800).await.unwrap();
    pages.visit(&url(&release_path), "release-375px").await;
    let overflow: Value = pages
        .browser
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth + 1",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        overflow,
        json!(false),
        "the page fits 375 px (tables scroll inside)"
    );
    pages.visit(&url("/"), "portfolio-375px").await;
    // Keyboard: the first Tab reaches the skip link, which leads to <main>.
    pages
        .browser
        .active_element()
        .await
        .unwrap()
        .send_keys("\u{E004}")
        .await
        .unwrap();
    let focused: Value = pages
        .browser
        .execute("return document.activeElement.className", vec![])
        .await
        .unwrap();
    assert_eq!(focused, json!("skip"));
    pages.browser.close().await.unwrap();
}

/// Triage the finding inline on the release page and read its history; then a VEX document
/// of the release: generate, submit, the self-approval refusal, a colleague's approval (over
/// the API), publish, download; the queue and the disclosures.
async fn triage_and_vex(app: &TestApp, pages: &mut Pages, release_path: &str) {
    let url = |path: &str| format!("{}{path}", app.url);
    pages.visit(&url(release_path), "release-triage").await;
    pages
        .browser
        .find(Locator::Css("#t-state"))
        .await
        .unwrap()
        .select_by_value("in_triage")
        .await
        .unwrap();
    pages
        .fill("#t-detail", "checking whether the redirect is reachable")
        .await;
    pages.click("table.findings button[name=only]").await;
    pages.wait_for("table.findings .state-in_triage").await;
    pages.check("release-triaged").await;
    pages.click("table.findings a[href$='/history']").await;
    pages.wait_for("main table").await;
    pages.check("finding-history").await;
    let history = pages.text().await;
    assert!(
        history.contains("in_triage")
            && history.contains("checking whether the redirect is reachable"),
        "{history}"
    );

    pages
        .visit(&url(&format!("{release_path}/vex")), "release-vex")
        .await;
    pages.click("#generate-form button[type=submit]").await;
    pages.wait_for("#vex-submit").await;
    pages.check("vex-draft").await;
    let document_path = pages.path().await;
    let id: i64 = document_path
        .strip_prefix("/vex/")
        .unwrap()
        .parse()
        .unwrap();
    pages.click("#vex-submit").await;
    pages.wait_for("#vex-approve").await;
    pages.check("vex-submitted").await;
    pages.click("#vex-approve").await;
    pages.wait_for("#workflow-error").await;
    pages.check("vex-self-approval-refused").await;
    assert!(
        pages.text().await.contains("four-eyes"),
        "the refusal says why"
    );
    // A colleague approves (over the API, with their own session).
    let invited = app
        .post("/api/v1/teams/1/members")
        .json(&json!({"email": "reviewer@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(invited.status(), reqwest::StatusCode::CREATED);
    let reviewer = app.login("reviewer@example.com").await;
    let approved = app
        .with_token(
            reqwest::Method::POST,
            &format!("/api/v1/vex-documents/{id}/approve"),
            reviewer["token"].as_str().unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), reqwest::StatusCode::OK);
    pages.visit(&url(&document_path), "vex-approved").await;
    pages.click("#vex-publish").await;
    pages.wait_for("#vex-status.status-published").await;
    pages.check("vex-published").await;
    // The download link serves the document itself.
    for path in [
        format!("/vex/{id}/download"),
        format!("/disclosures/{id}/download"),
    ] {
        let context = pages
            .browser
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 fetch(arguments[0]).then(r => r.json()).then(j => done(j['@context']), e => done(String(e)));",
                vec![json!(path)],
            )
            .await
            .unwrap();
        assert_eq!(context, json!("https://openvex.dev/ns/v0.2.0"), "{path}");
    }
    pages.visit(&url("/vex"), "vex-queue").await;
    pages.visit(&url("/disclosures"), "disclosures").await;
    assert!(pages.text().await.contains("-v1.openvex.json"));
}

/// An integration with a SARIF upload (over the API), then its pages and the code findings.
async fn appsec_pages(app: &TestApp, pages: &mut Pages) {
    let url = |path: &str| format!("{}{path}", app.url);
    let integration: Value = app
        .post("/api/v1/integrations")
        .json(&json!({"name": "semgrep-ci", "type": "SEMGREP", "credentials": {"token": "sg_secret_0123456789"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = integration["id"].as_i64().unwrap();
    let log = json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "semgrep"}},
        "results": [{"ruleId": "python.lang.security.eval", "message": {"text": "eval of user input"},
            "properties": {"security-severity": "8.1"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": "app/views.py"}, "region": {"startLine": 12}}}]}]}]});
    let uploaded = app
        .post(&format!(
            "/api/v1/integrations/{id}/sarif?repository=acme/web&ref=main"
        ))
        .header("content-type", "application/sarif+json")
        .body(log.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), reqwest::StatusCode::CREATED);
    pages.visit(&url("/integrations"), "integrations").await;
    let listed = pages.browser.source().await.unwrap();
    assert!(!listed.contains("sg_secret_0123456789") && listed.contains("CONNECTED"));
    pages
        .visit(&url(&format!("/integrations/{id}")), "integration")
        .await;
    pages.visit(&url("/code-findings"), "code-findings").await;
    pages
        .click("table.findings a[href^='/code-findings/']")
        .await;
    pages.wait_for("#code-triage-form").await;
    pages.check("code-finding").await;
    pages
        .browser
        .find(Locator::Css("#c-status"))
        .await
        .unwrap()
        .select_by_value("false_positive")
        .await
        .unwrap();
    pages.fill("#c-reason", "the input is a constant").await;
    pages.click("#code-triage-form button[type=submit]").await;
    pages.wait_for("#code-status.status-false_positive").await;
    pages.check("code-finding-triaged").await;
    assert!(pages.text().await.contains("open → false_positive"));
}

/// The page now shown, by the Navigation Timing API: (response end, DOM content loaded,
/// load event end) in milliseconds from the navigation's start.
async fn navigation_timing(pages: &Pages) -> (f64, f64, f64) {
    let mut timing = Value::Null;
    // The load event may still be running when the page's <main> is found.
    for _ in 0..100 {
        timing = pages
            .browser
            .execute(
                "const n = performance.getEntriesByType('navigation')[0];
                 return n.loadEventEnd > 0 ? [n.responseEnd - n.startTime,
                     n.domContentLoadedEventEnd - n.startTime, n.loadEventEnd - n.startTime] : null;",
                vec![],
            )
            .await
            .unwrap();
        if !timing.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let number = |i: usize| timing[i].as_f64().unwrap_or(f64::NAN);
    (number(0), number(1), number(2))
}

/// Waits until the element `css` (of the page shown now, after htmx swaps) contains `text`.
async fn wait_for_text(pages: &Pages, css: &str, text: &str) {
    for _ in 0..300 {
        let found = pages
            .browser
            .execute(
                "const e = document.querySelector(arguments[0]);
                 return !!e && e.textContent.includes(arguments[1]);",
                vec![json!(css), json!(text)],
            )
            .await
            .unwrap();
        if found == json!(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} never contained {text:?}");
}

/// Webhooks (create with the secret shown once, a test event in the delivery log), an
/// incident (reported, acknowledged, commented), a watch, the notification preferences; the
/// incident at 375 px; and the first load of pages measured by Navigation Timing (reported).
async fn event_pages(app: &TestApp, pages: &mut Pages) {
    let url = |path: &str| format!("{}{path}", app.url);
    let (receiver, hook) = crate::webhooks::Receiver::start().await;
    pages.visit(&url("/webhooks"), "webhooks").await;
    pages.fill("#w-url", &hook).await;
    pages.fill("#w-description", "chat relay").await;
    pages.click("#webhook-form button[type=submit]").await;
    pages.wait_for("#new-secret").await;
    pages.check("webhook-created").await;
    let secret = pages
        .browser
        .find(Locator::Css("#new-secret"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .expect("the secret is shown");
    assert!(secret.starts_with("whsec_"), "{secret}");
    pages.click("#webhook-test").await;
    pages.wait_for("#webhook-notice").await;
    receiver.wait_for(1, 30).await;
    let endpoint = pages.path().await;
    assert!(
        endpoint.starts_with("/webhooks/") && !endpoint.ends_with("/test"),
        "the address is the endpoint's page: {endpoint}"
    );
    pages.visit(&url(&endpoint), "webhook-deliveries").await;
    let page = pages.browser.source().await.unwrap();
    assert!(
        page.contains("webhook.test") && !page.contains(&secret),
        "the log lists the test event; the secret is gone"
    );

    pages.visit(&url("/incidents"), "incidents").await;
    pages.fill("#i-title", "Leaked deploy token").await;
    pages
        .browser
        .find(Locator::Css("#i-severity"))
        .await
        .unwrap()
        .select_by_value("high")
        .await
        .unwrap();
    pages
        .fill(
            "#i-description",
            "A deploy token was pasted in a public issue.",
        )
        .await;
    pages.click("#incident-form button[type=submit]").await;
    pages.wait_for("#incident-status").await;
    pages.check("incident").await;
    pages.click("#to-acknowledged").await;
    wait_for_text(pages, "#incident-status", "acknowledged").await;
    pages.fill("#c-body", "Token revoked.").await;
    pages.click("#comment-form button[type=submit]").await;
    wait_for_text(pages, "ol.timeline", "Token revoked.").await;
    pages.check("incident-acknowledged").await;
    let text = pages.text().await;
    assert!(
        text.contains("open → acknowledged") && text.contains("Token revoked."),
        "{text}"
    );
    let incident = pages.path().await;

    pages.visit(&url("/alerts"), "alerts").await;
    pages.click("#kind-vendor").await;
    pages.fill("#a-vendor", "apache").await;
    pages.fill("#a-cvss", "7").await;
    pages.click("#alert-form button[type=submit]").await;
    pages.wait_for("#alert-conditions").await;
    pages.check("alert").await;
    assert!(pages.text().await.contains("CVSS ≥ 7"));
    pages
        .visit(&url("/settings/notifications"), "notification-preferences")
        .await;

    pages.browser.set_window_size(375, 800).await.unwrap();
    for (path, name) in [(&incident, "incident-375px"), (&endpoint, "webhook-375px")] {
        pages.visit(&url(path), name).await;
        let overflow: Value = pages
            .browser
            .execute(
                "return document.documentElement.scrollWidth > window.innerWidth + 1",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(overflow, json!(false), "{path} fits 375 px");
    }
    pages.browser.set_window_size(1280, 1000).await.unwrap();

    // First loads over loopback (issue 17's budget: 300 ms), reported, not asserted: a
    // shared CI machine's timings are not the product's.
    for path in ["/", "/incidents", &incident] {
        pages.browser.goto(&url(path)).await.unwrap();
        pages.wait_for("main").await;
        let (response, content, load) = navigation_timing(pages).await;
        eprintln!(
            "navigation timing {path}: response end {response:.1} ms, DOMContentLoaded \
             {content:.1} ms, load {load:.1} ms"
        );
    }
}

/// The compliance posture of the team the walk built (a gap linking the page of the key
/// causing it), another framework's tab, a control attested with an evidence
/// file from the form, the attestation listed with the file's hash, then withdrawn.
async fn compliance_pages(app: &TestApp, pages: &mut Pages) {
    let url = |path: &str| format!("{}{path}", app.url);
    pages
        .visit(&url("/compliance?framework=iso27001"), "compliance")
        .await;
    let text = pages.text().await;
    assert!(
        text.contains("ISO/IEC 27001:2022 Annex A") && text.contains("Gap analysis"),
        "{text}"
    );
    // The bootstrap key has no expiry: a gap whose row links the keys page.
    pages.click("main table a[href='/settings/api-keys']").await;
    pages.wait_for("#key-name").await;
    assert_eq!(
        pages.path().await,
        "/settings/api-keys",
        "a gap links its object"
    );
    pages
        .visit(&url("/compliance?framework=soc2"), "compliance-soc2")
        .await;
    pages.fill("#attest-control", "CC1.1").await;
    pages.fill("#attest-owner", "CISO").await;
    pages
        .fill("#attest-statement", "Code of conduct signed by all staff")
        .await;
    let expires = (app.config.clock.now() + chrono::Duration::days(90))
        .format("%Y-%m-%d")
        .to_string();
    pages
        .browser
        .execute(
            "document.querySelector('#attest-expires').value = arguments[0];",
            vec![json!(expires)],
        )
        .await
        .unwrap();
    let evidence = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("code-of-conduct.txt");
    std::fs::write(&evidence, "Signed by all staff, 2026.\n").unwrap();
    pages
        .browser
        .find(Locator::Css("#attest-evidence"))
        .await
        .unwrap()
        .send_keys(evidence.to_str().unwrap())
        .await
        .unwrap();
    pages.click("#attest-form button[type=submit]").await;
    pages.wait_for("#attestations").await;
    pages.check("compliance-attested").await;
    let text = pages.text().await;
    assert!(
        text.contains("code-of-conduct.txt") && text.contains("(current)"),
        "{text}"
    );
    pages
        .click("button[aria-label='Withdraw the attestation of CC1.1']")
        .await;
    wait_for_text(pages, "#attestations", "(withdrawn)").await;
    pages.check("compliance-withdrawn").await;
}

backend_tests! {
    #[configure(crate::webhooks::fast_webhooks)]
    async fn the_dashboard_walk_in_chromium(app) {
        match prerequisites() {
            Ok((axe, data)) => walk(&app, &axe, &data).await,
            Err(reason) if std::env::var("RAMPART_REQUIRE_BROWSER").as_deref() == Ok("1") => {
                panic!("{reason} but RAMPART_REQUIRE_BROWSER=1")
            }
            Err(reason) => eprintln!("skipping: {reason}"),
        }
    }
}
