//! The web dashboard over plain HTTP on both backends: signing in through the forms with the
//! code from the SMTP sink, the security headers and CSRF rule on every page, the same
//! authorisation as the API (a viewer cannot change; another team's object is a 404 page),
//! htmx fragments, and the content-hashed assets. `dashboard_browser.rs` drives the same pages
//! in Chromium.

use rampart_formats::advisory::parse_osv_json;
use rampart_test_support::{backend_tests, TestApp};
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Response, StatusCode};
use serde_json::json;

/// A cookie-keeping client that does not follow redirects (so each answer can be checked).
pub struct WebClient<'a> {
    app: &'a TestApp,
    pub client: reqwest::Client,
    cookies: Vec<(String, String)>,
}

impl<'a> WebClient<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        WebClient {
            app,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Vec::new(),
        }
    }

    /// Signed in as the holder of an API session token (the same cookie the forms set).
    pub fn with_session(app: &'a TestApp, token: &str) -> Self {
        let mut client = Self::new(app);
        client
            .cookies
            .push(("rampart_session".to_string(), token.to_string()));
        client
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, response: &Response) {
        for value in response.headers().get_all(SET_COOKIE) {
            let text = value.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(k, _)| k != name);
            if !value.is_empty() && !attributes.contains("Max-Age=0") {
                self.cookies.push((name.to_string(), value.to_string()));
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> Response {
        let response = self
            .client
            .get(format!("{}{path}", self.app.url))
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep_cookies(&response);
        response
    }

    /// A page's HTML, asserting 200 and the security headers.
    pub async fn page(&mut self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        assert_secure_page(&response, path);
        response.text().await.unwrap()
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Response {
        let body = serde_urlencoded(form);
        let response = self
            .client
            .post(format!("{}{path}", self.app.url))
            .header(COOKIE, self.cookie_header())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        self.keep_cookies(&response);
        response
    }

    /// Signs in through the forms with the code the SMTP sink received.
    pub async fn sign_in(&mut self, email: &str) {
        let login = self.page("/login").await;
        let token = csrf_token(&login);
        let sent = self
            .post("/login", &[("csrf_token", &token), ("email", email)])
            .await;
        assert_eq!(sent.status(), StatusCode::OK);
        let code_form = sent.text().await.unwrap();
        assert!(code_form.contains("name=\"code\""), "{code_form}");
        let code = self
            .app
            .mail
            .last_to(email)
            .and_then(|m| m.six_digits_after("code is "))
            .expect("the login code arrived");
        let verified = self
            .post(
                "/login/verify",
                &[("csrf_token", &token), ("email", email), ("code", &code)],
            )
            .await;
        assert_eq!(verified.status(), StatusCode::SEE_OTHER);
        assert_eq!(verified.headers()[LOCATION], "/");
        assert!(self.cookies.iter().any(|(k, _)| k == "rampart_session"));
    }
}

fn serde_urlencoded(form: &[(&str, &str)]) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in form {
        serializer.append_pair(k, v);
    }
    serializer.finish()
}

/// The CSRF token the page's forms carry.
pub fn csrf_token(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html
        .find(marker)
        .expect("the page has a form with a CSRF token")
        + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

/// The CSP, clickjacking headers, and no inline script or style attribute.
pub fn assert_secure_page(response: &Response, path: &str) {
    let headers = response.headers();
    let csp = headers["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{path}: CSP {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
    assert_eq!(headers["x-frame-options"], "DENY", "{path}");
    assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
    assert!(headers[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
}

/// Every `<script>` loads a file from this server; no inline handlers or style attributes.
pub fn assert_no_inline_code(html: &str, path: &str) {
    let mut rest = html;
    while let Some(at) = rest.find("<script") {
        let tag_end = rest[at..].find('>').unwrap() + at;
        let tag = &rest[at..=tag_end];
        assert!(
            tag.contains(" src=\"/assets/"),
            "{path}: inline script {tag}"
        );
        assert!(
            rest[tag_end + 1..].starts_with("</script>"),
            "{path}: script with a body"
        );
        rest = &rest[tag_end..];
    }
    for attribute in [
        " style=",
        " onclick=",
        " onload=",
        " onsubmit=",
        "javascript:",
    ] {
        assert!(!html.contains(attribute), "{path}: has {attribute}");
    }
}

/// A multipart body with the file as field `document`: (content type, body).
pub fn multipart(file_name: &str, content: &[u8]) -> (String, Vec<u8>) {
    let boundary = "rampart-test-boundary-7d3c";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"document\"; filename=\"{file_name}\"\r\n\
         Content-Type: application/json\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn product_id_from(response: &Response) -> i64 {
    let location = response.headers()[LOCATION].to_str().unwrap();
    location
        .strip_prefix("/products/")
        .unwrap()
        .parse()
        .unwrap()
}

backend_tests! {
    async fn signing_in_by_code_opens_the_portfolio_and_signing_out_ends_it(app) {
        let mut web = WebClient::new(&app);
        let anonymous = web.get("/").await;
        assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
        assert_eq!(anonymous.headers()[LOCATION], "/login");
        web.sign_in("admin@localhost").await;
        let portfolio = web.page("/").await;
        assert!(portfolio.contains("<h1>Portfolio</h1>"));
        assert!(portfolio.contains("admin@localhost"));
        let token = csrf_token(&portfolio);
        let out = web.post("/logout", &[("csrf_token", &token)]).await;
        assert_eq!(out.status(), StatusCode::SEE_OTHER);
        assert_eq!(web.get("/").await.status(), StatusCode::SEE_OTHER);
    }

    async fn a_wrong_code_is_refused_on_the_form(app) {
        let mut web = WebClient::new(&app);
        let token = csrf_token(&web.page("/login").await);
        web.post("/login", &[("csrf_token", &token), ("email", "admin@localhost")]).await;
        let refused = web
            .post(
                "/login/verify",
                &[("csrf_token", &token), ("email", "admin@localhost"), ("code", "000000")],
            )
            .await;
        assert_eq!(refused.status(), StatusCode::OK);
        assert!(refused.text().await.unwrap().contains("role=\"alert\""));
        assert!(!web.cookies.iter().any(|(k, _)| k == "rampart_session"));
    }

    async fn a_post_without_the_csrf_token_is_forbidden(app) {
        let login = app.login("admin@localhost").await;
        let mut web = WebClient::with_session(&app, login["token"].as_str().unwrap());
        let token = csrf_token(&web.page("/").await);
        for forged in [vec![("name", "forged")], vec![("name", "forged"), ("csrf_token", "0000")]] {
            let response = web.post("/products", &forged).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
            assert_secure_page(&response, "/products");
            assert!(response.text().await.unwrap().contains("CSRF"));
        }
        // A token of another session does not pass either.
        let other = app.login("admin@localhost").await;
        let mut other_web = WebClient::with_session(&app, other["token"].as_str().unwrap());
        let other_token = csrf_token(&other_web.page("/").await);
        assert_ne!(other_token, token);
        let crossed = web.post("/products", &[("name", "forged"), ("csrf_token", &other_token)]).await;
        assert_eq!(crossed.status(), StatusCode::FORBIDDEN);
        let products: serde_json::Value = app.get("/api/v1/products").send().await.unwrap().json().await.unwrap();
        assert_eq!(products["total"], 0, "{products}");
        // The same form with the token goes through.
        let created = web.post("/products", &[("name", "real"), ("csrf_token", &token)]).await;
        assert_eq!(created.status(), StatusCode::SEE_OTHER);
        // And so does an htmx request with the token in its header.
        let htmx = web
            .client
            .post(format!("{}/products", app.url))
            .header(COOKIE, web.cookie_header())
            .header("hx-request", "true")
            .header("x-csrf-token", &token)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body("name=by-htmx")
            .send()
            .await
            .unwrap();
        assert_eq!(htmx.status(), StatusCode::NO_CONTENT);
        assert!(htmx.headers()["hx-location"].to_str().unwrap().contains("/products/"));
        // The login form needs its (pre-session) token too.
        let mut visitor = WebClient::new(&app);
        visitor.page("/login").await;
        let forged_login = visitor.post("/login", &[("email", "admin@localhost")]).await;
        assert_eq!(forged_login.status(), StatusCode::FORBIDDEN);
    }

    async fn every_page_has_the_security_headers_and_no_inline_script(app) {
        let login = app.login("admin@localhost").await;
        let mut web = WebClient::with_session(&app, login["token"].as_str().unwrap());
        let token = csrf_token(&web.page("/").await);
        let created = web.post("/products", &[("name", "shop"), ("csrf_token", &token)]).await;
        let product = product_id_from(&created);
        let release = web
            .post(&format!("/products/{product}/releases"), &[("version", "1.0"), ("csrf_token", &token)])
            .await;
        let release_path = release.headers()[LOCATION].to_str().unwrap().to_string();
        let mut visitor = WebClient::new(&app);
        let login_page = visitor.page("/login").await;
        assert_no_inline_code(&login_page, "/login");
        for path in [
            "/".to_string(),
            format!("/products/{product}"),
            release_path.clone(),
            format!("{release_path}?severity=high&kev=1&sort=epss"),
            "/settings/api-keys".to_string(),
            "/settings/members".to_string(),
            "/audit".to_string(),
            "/audit?action=product.&since=2020-01-01".to_string(),
            "/usage".to_string(),
            "/sync-sources".to_string(),
        ] {
            let html = web.page(&path).await;
            assert_no_inline_code(&html, &path);
            assert!(html.contains("<main id=\"main\""), "{path}");
        }
        // The audit log shows what the forms did, under the person's name.
        let audit = web.page("/audit?action=product.create").await;
        assert!(audit.contains("admin@localhost"), "{audit}");
        assert!(audit.contains("product.create"));
    }

    async fn htmx_requests_get_only_the_content(app) {
        let login = app.login("admin@localhost").await;
        let web = WebClient::with_session(&app, login["token"].as_str().unwrap());
        let fragment = web
            .client
            .get(format!("{}/", app.url))
            .header(COOKIE, web.cookie_header())
            .header("hx-request", "true")
            .send()
            .await
            .unwrap();
        assert_eq!(fragment.status(), StatusCode::OK);
        let html = fragment.text().await.unwrap();
        assert!(html.contains("<h1>Portfolio</h1>"));
        assert!(!html.contains("<html") && !html.contains("<header"), "{html}");
        // An htmx request without a session is sent to the login page as a whole page.
        let anonymous = reqwest::Client::new()
            .get(format!("{}/", app.url))
            .header("hx-request", "true")
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.headers()["hx-redirect"], "/login");
    }

    async fn another_teams_objects_are_404_pages_and_viewers_cannot_change(app) {
        let admin = app.login("admin@localhost").await;
        let mut admin_web = WebClient::with_session(&app, admin["token"].as_str().unwrap());
        let token = csrf_token(&admin_web.page("/").await);
        let created = admin_web.post("/products", &[("name", "secret-product"), ("csrf_token", &token)]).await;
        let product = product_id_from(&created);
        // Someone else (their own team) sees a 404 page, not the product.
        let outsider = app.login("outsider@example.com").await;
        let mut outsider_web = WebClient::with_session(&app, outsider["token"].as_str().unwrap());
        let hidden = outsider_web.get(&format!("/products/{product}")).await;
        assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
        assert_secure_page(&hidden, "404");
        let text = hidden.text().await.unwrap();
        assert!(text.contains("Not found") && !text.contains("secret-product"), "{text}");
        // A viewer of the team sees the product but cannot create one.
        let invited = app
            .post("/api/v1/teams/1/members")
            .json(&json!({"email": "viewer@example.com", "role": "viewer"}))
            .send()
            .await
            .unwrap();
        assert_eq!(invited.status(), StatusCode::CREATED);
        let viewer = app.login("viewer@example.com").await;
        let mut viewer_web = WebClient::with_session(&app, viewer["token"].as_str().unwrap());
        let portfolio = viewer_web.page("/").await;
        assert!(portfolio.contains("secret-product"));
        assert!(!portfolio.contains("Create product"), "viewers get no create form");
        let viewer_token = csrf_token(&portfolio);
        let refused = viewer_web.post("/products", &[("name", "nope"), ("csrf_token", &viewer_token)]).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert!(refused.text().await.unwrap().contains("products:write"));
    }

    async fn the_team_switcher_moves_the_session_to_another_team(app) {
        let admin = app.login("admin@localhost").await;
        let token = admin["token"].as_str().unwrap();
        let team = app
            .with_token(reqwest::Method::POST, "/api/v1/teams", token)
            .json(&json!({"name": "Second"}))
            .send()
            .await
            .unwrap();
        assert_eq!(team.status(), StatusCode::CREATED);
        let team_id = team.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap();
        let mut web = WebClient::with_session(&app, token);
        let portfolio = web.page("/").await;
        assert!(portfolio.contains("Second (owner)"), "the switcher lists both teams");
        let csrf = csrf_token(&portfolio);
        let switched = web.post("/team", &[("team_id", &team_id.to_string()), ("csrf_token", &csrf)]).await;
        assert_eq!(switched.status(), StatusCode::SEE_OTHER);
        let new_token = web.cookies.iter().find(|(k, _)| k == "rampart_session").unwrap().1.clone();
        assert_ne!(new_token, token);
        let me: serde_json::Value = app
            .with_token(reqwest::Method::GET, "/api/v1/me", &new_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["team"]["id"], team_id, "{me}");
        // The old session has ended; a team the user is not in is a 404.
        let old = app.with_token(reqwest::Method::GET, "/api/v1/me", token).send().await.unwrap();
        assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
        let csrf = csrf_token(&web.page("/").await);
        let elsewhere = web.post("/team", &[("team_id", "999"), ("csrf_token", &csrf)]).await;
        assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);
    }

    async fn assets_are_served_under_content_hashes_for_a_year(app) {
        let login = app.login("admin@localhost").await;
        let mut web = WebClient::with_session(&app, login["token"].as_str().unwrap());
        let html = web.page("/").await;
        let mut served = 0;
        for marker in ["href=\"/assets/", "src=\"/assets/"] {
            for (at, _) in html.match_indices(marker) {
                let start = at + marker.len() - "/assets/".len();
                let path = &html[start..start + html[start..].find('"').unwrap()];
                let response = reqwest::get(format!("{}{path}", app.url)).await.unwrap();
                assert_eq!(response.status(), StatusCode::OK, "{path}");
                assert_eq!(response.headers()["cache-control"], "public, max-age=31536000, immutable");
                served += 1;
            }
        }
        assert_eq!(served, 3, "stylesheet, htmx and the app script");
        let unknown = reqwest::get(format!("{}/assets/app.0000000000.css", app.url)).await.unwrap();
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
        // The API and its docs are where they were.
        assert_eq!(reqwest::get(format!("{}/docs", app.url)).await.unwrap().status(), StatusCode::OK);
        let api = reqwest::get(format!("{}/api/v1/me", app.url)).await.unwrap();
        assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
        assert!(api.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("application/json"));
    }

    async fn an_sbom_uploaded_without_javascript_shows_its_findings_and_the_trend(app) {
        let Some(root) = rampart_test_data::root() else { return };
        let record = root.join("peer-tests/osv-schema/tools/osv-linter/testdata/GO-2020-0001.json");
        let parsed = parse_osv_json(&std::fs::read(record).unwrap()).unwrap();
        let store = crate::products::store_of(&app).await;
        store.ingest_advisories("osv", &parsed.records).await.unwrap();
        // A public exploit of its CVE alias: the findings table's exploit badge.
        let exploits = rampart_formats::advisory::parse_exploitdb_csv(
            b"id,file,description,date_published,author,type,platform,port,date_added,date_updated,verified,codes,tags,aliases,screenshot_url,application_url,source_url\n\
              51999,exploits/go/webapps/51999.txt,gin - Open Redirect,2023-01-10,someone,webapps,go,,2023-01-10,2023-01-10,1,CVE-2020-36567,,,,,\n",
        )
        .unwrap();
        store.ingest_exploits(&exploits.records).await.unwrap();
        store.close().await;
        app.wait_for_index().await;
        let login = app.login("admin@localhost").await;
        let mut web = WebClient::with_session(&app, login["token"].as_str().unwrap());
        let token = csrf_token(&web.page("/").await);
        let product = product_id_from(&web.post("/products", &[("name", "bridge"), ("csrf_token", &token)]).await);
        let release = web
            .post(&format!("/products/{product}/releases"), &[("version", "1.6.3"), ("csrf_token", &token)])
            .await;
        let release_path = release.headers()[LOCATION].to_str().unwrap().to_string();
        let release_page = web.page(&release_path).await;
        // The form posts the token in its action (a multipart body is not read for it).
        let action = format!("action=\"{release_path}/sboms?csrf_token={token}\"");
        assert!(release_page.contains(&action), "{release_page}");
        let sbom = std::fs::read(root.join(
            "cyclonedx-bom-examples/SBOM/proton-bridge/proton-bridge-v1.6.3.bom.json",
        ))
        .unwrap();
        let (content_type, body) = multipart("bom.json", &sbom);
        let upload = |path: String| {
            web.client
                .post(format!("{}{path}", app.url))
                .header(COOKIE, web.cookie_header())
                .header(CONTENT_TYPE, content_type.clone())
                .body(body.clone())
                .send()
        };
        let forged = upload(format!("{release_path}/sboms")).await.unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        let sboms: serde_json::Value = app
            .get(&format!("/api/v1{release_path}/sboms"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(sboms["total"], 0, "nothing stored without the token: {sboms}");
        let uploaded = upload(format!("{release_path}/sboms?csrf_token={token}")).await.unwrap();
        assert_eq!(uploaded.status(), StatusCode::SEE_OTHER);
        assert_eq!(uploaded.headers()[LOCATION].to_str().unwrap(), release_path);
        let findings = web.page(&release_path).await;
        assert!(findings.contains("GO-2020-0001"), "{findings}");
        assert!(findings.contains("by purl: <code>pkg:golang/github.com/gin-gonic/gin"), "evidence");
        assert!(findings.contains("<code>1.6.0</code>"), "fixed version");
        assert!(findings.contains("CVE-2020-36567"), "aliases");
        assert!(findings.contains("<span class=\"badge exploit\">exploit</span>"), "the exploit badge: {findings}");
        let filtered = web.page(&format!("{release_path}?kev=1")).await;
        assert!(!filtered.contains("GO-2020-0001") && filtered.contains("match these filters"));
        let bad_filter = web.get(&format!("{release_path}?sort=oldest")).await;
        assert_eq!(bad_filter.status(), StatusCode::BAD_REQUEST);
        assert!(bad_filter.text().await.unwrap().contains("`sort` must be"));
        // The portfolio counts it and draws the trend from the finding events.
        let portfolio = web.page("/").await;
        assert!(portfolio.contains("<polyline points=\""), "{portfolio}");
        assert!(portfolio.contains("1 open findings on"), "{portfolio}");
        // The vulnerability page, and an unknown one.
        let vulnerability = web.page("/vulnerabilities/CVE-2020-36567").await;
        assert!(vulnerability.contains("<h1>GO-2020-0001</h1>"), "found by alias");
        assert!(vulnerability.contains("SEMVER: introduced 0, fixed 1.6.0"));
        assert!(vulnerability.contains("1 public exploit") && vulnerability.contains("EDB-51999"), "{vulnerability}");
        assert!(vulnerability.contains("href=\"https://github.com/gin-gonic/gin/pull/2237\""));
        assert_eq!(web.get("/vulnerabilities/CVE-1999-0000").await.status(), StatusCode::NOT_FOUND);
        // The components of the SBOM, searchable.
        let sbom_id = sboms_of(&app, &release_path).await;
        let components = web.page(&format!("/sboms/{sbom_id}?q=gin-gonic")).await;
        assert!(components.contains("pkg:golang/github.com/gin-gonic/gin@v1.4.0"), "{components}");
        assert!(!components.contains("pkg:golang/golang.org/x/text"), "the search narrows");
    }

    #[configure(|c: &mut rampart_test_support::rampart_server::ServerConfig| {
        c.sync.outbound.allow_private_targets = true;
        c.sync.poll_interval = std::time::Duration::from_millis(50);
    })]
    async fn sync_sources_are_configured_run_and_followed_from_the_dashboard(app) {
        let login = app.login("admin@localhost").await;
        let mut web = WebClient::with_session(&app, login["token"].as_str().unwrap());
        let token = csrf_token(&web.page("/sync-sources").await);
        let configured = web
            .post(
                "/sync-sources",
                &[
                    ("csrf_token", &token),
                    ("id", "kev-web"),
                    ("type", "KEV"),
                    // Nothing listens there: the run fails, and the history says why.
                    ("url", "http://127.0.0.1:9/known_exploited_vulnerabilities.json"),
                    ("sync_interval_hours", "12"),
                    ("api_key", "sekret-upstream-key"),
                ],
            )
            .await;
        assert_eq!(configured.status(), StatusCode::SEE_OTHER);
        assert_eq!(configured.headers()[LOCATION], "/sync-sources/kev-web");
        let list = web.page("/sync-sources").await;
        assert!(list.contains("kev-web") && list.contains(">12<"), "{list}");
        assert!(!list.contains("sekret-upstream-key"), "the key is never shown");
        let invalid = web
            .post("/sync-sources", &[("csrf_token", &token), ("type", "NOPE")])
            .await;
        assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let run = web.post("/sync-sources/kev-web/run", &[("csrf_token", &token)]).await;
        assert_eq!(run.status(), StatusCode::SEE_OTHER);
        let mut history = String::new();
        for _ in 0..300 {
            history = web.page("/sync-sources/kev-web").await;
            if history.contains("status-failed") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(history.contains("status-failed") && history.contains("manual"), "{history}");
        // Another team may look but not change server-wide sources.
        let outsider = app.login("outsider@example.com").await;
        let mut outsider_web = WebClient::with_session(&app, outsider["token"].as_str().unwrap());
        let outsider_token = csrf_token(&outsider_web.page("/").await);
        let refused = outsider_web
            .post("/sync-sources", &[("csrf_token", &outsider_token), ("type", "KEV")])
            .await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }
    async fn findings_are_triaged_from_the_release_page_one_and_several_at_a_time(app) {
        let _store = crate::findings::load_knowledge_base(&app).await;
        let (_, release_id) = crate::findings::release(&app, "triaged-web").await;
        crate::findings::upload_and_wait(&app, release_id, crate::dispositions::sbom()).await;
        let ids = finding_ids(&app, release_id, "").await;
        let (django, lodash, lib) = (&ids["django"], &ids["lodash"], &ids["lib"]);
        let login = app.login("admin@localhost").await;
        let mut web = WebClient::with_session(&app, login["token"].as_str().unwrap());
        let release_path = format!("/releases/{release_id}");
        let page = web.page(&release_path).await;
        assert_no_inline_code(&page, &release_path);
        assert!(page.contains("id=\"triage-form\"") && page.contains("Triage selected"), "{page}");
        assert_eq!(page.matches("<span class=\"muted\">untriaged</span>").count(), 3, "{page}");
        let token = csrf_token(&page);
        let triage_path = format!("{release_path}/dispositions");

        // Without the CSRF token nothing is decided.
        let forged = web.post(&triage_path, &[("only", lodash), ("state", "in_triage")]).await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        assert_eq!(finding_ids(&app, release_id, "?state=untriaged").await.len(), 3);

        // One row's button: lodash is not affected, so it leaves the default list.
        let one = web
            .post(
                &triage_path,
                &[
                    ("csrf_token", &token),
                    ("only", lodash),
                    ("findings", django),
                    ("state", "not_affected"),
                    ("justification", "code_not_reachable"),
                    ("detail", "the merge path is unused"),
                    ("scope", "release"),
                    ("version_range", ""),
                ],
            )
            .await;
        assert_eq!(one.status(), StatusCode::SEE_OTHER);
        assert_eq!(one.headers()[LOCATION].to_str().unwrap(), release_path);
        let page = web.page(&release_path).await;
        assert!(!page.contains("lodash@4.17.20") && page.contains("django@1.10"), "{page}");
        let suppressed = web.page(&format!("{release_path}?include_suppressed=1")).await;
        assert!(suppressed.contains("lodash@4.17.20"), "{suppressed}");
        assert!(suppressed.contains(">not_affected</span>") && suppressed.contains("code_not_reachable"));
        assert!(suppressed.contains("name=\"include_suppressed\" value=\"1\" checked"));
        let untriaged = web.page(&format!("{release_path}?state=untriaged")).await;
        assert!(untriaged.contains("django@1.10") && untriaged.contains("lib@2.3.1"));
        assert!(!untriaged.contains("lodash@4.17.20"), "{untriaged}");
        assert_eq!(finding_ids(&app, release_id, "?state=not_affected").await.len(), 1, "the row's finding only");

        // The selected rows: django and lib are exploitable, for every release of the product.
        let several = web
            .post(
                &triage_path,
                &[
                    ("csrf_token", &token),
                    ("findings", django),
                    ("findings", lib),
                    ("state", "exploitable"),
                    ("responses", "update"),
                    ("action_statement", "upgrade to the fixed version"),
                    ("scope", "product"),
                ],
            )
            .await;
        assert_eq!(several.status(), StatusCode::SEE_OTHER);
        let exploitable = finding_ids(&app, release_id, "?state=exploitable").await;
        assert_eq!(exploitable.len(), 2, "{exploitable:?}");
        let page = web.page(&format!("{release_path}?state=exploitable")).await;
        assert_eq!(page.matches(">exploitable</span>").count(), 2, "{page}");
        assert!(page.contains("name=\"state\" value=\"exploitable\" checked"));

        // A second decision on lodash; the history lists both, newest first.
        let again = web
            .post(&triage_path, &[("csrf_token", &token), ("only", lodash), ("state", "in_triage")])
            .await;
        assert_eq!(again.status(), StatusCode::SEE_OTHER);
        let page = web.page(&release_path).await;
        let history_link = format!("href=\"/findings/{lodash}/history\"");
        assert!(page.contains(&history_link) && page.contains(">in_triage</span>"), "{page}");
        let history_path = format!("/findings/{lodash}/history");
        let history = web.page(&history_path).await;
        assert_no_inline_code(&history, &history_path);
        assert!(history.contains("<h1>Decisions on GHSA-lodash-0001 in lodash@4.17.20</h1>"), "{history}");
        assert!(history.contains("2 decisions reaching this finding"), "{history}");
        let newest = history.find(">in_triage</span>").expect("the new decision");
        let older = history.find(">not_affected</span>").expect("the first decision");
        assert!(newest < older, "newest first");
        assert!(history.contains("the merge path is unused") && history.contains("admin@localhost"));
        assert_eq!(history.matches(">current</span>").count(), 1);
        let lib_history = web.page(&format!("/findings/{lib}/history")).await;
        assert!(lib_history.contains("upgrade to the fixed version") && lib_history.contains(">product<"), "{lib_history}");
        // Another team's finding is a 404 page.
        let outsider = app.login("outsider@example.com").await;
        let mut outsider_web = WebClient::with_session(&app, outsider["token"].as_str().unwrap());
        assert_eq!(outsider_web.get(&history_path).await.status(), StatusCode::NOT_FOUND);
    }

    async fn a_refused_decision_names_its_field_and_a_viewer_cannot_triage(app) {
        let _store = crate::findings::load_knowledge_base(&app).await;
        let (_, release_id) = crate::findings::release(&app, "refused-web").await;
        crate::findings::upload_and_wait(&app, release_id, crate::dispositions::sbom()).await;
        let ids = finding_ids(&app, release_id, "").await;
        let lodash = &ids["lodash"];
        let login = app.login("admin@localhost").await;
        let mut web = WebClient::with_session(&app, login["token"].as_str().unwrap());
        let release_path = format!("/releases/{release_id}");
        let triage_path = format!("{release_path}/dispositions");
        let token = csrf_token(&web.page(&release_path).await);
        for (form, field) in [
            (vec![("only", lodash.as_str()), ("state", "not_affected"), ("detail", "")], "`justification`"),
            (vec![("only", lodash.as_str()), ("state", "exploitable")], "`action_statement`"),
            (vec![("state", "in_triage")], "`findings`"),
            (vec![("only", lodash.as_str()), ("state", "in_triage"), ("scope", "range")], "`version_range`"),
        ] {
            let mut form = form;
            form.push(("csrf_token", &token));
            let refused = web.post(&triage_path, &form).await;
            assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{form:?}");
            assert_secure_page(&refused, &triage_path);
            let html = refused.text().await.unwrap();
            let alert = &html[html.find("id=\"triage-error\"").expect("the reason on the page")..];
            assert!(alert[..alert.find("</p>").unwrap()].contains(field), "{form:?}: {html}");
            assert!(html.contains("lodash@4.17.20"), "the release page again");
        }
        let kept = web
            .post(&triage_path, &[("csrf_token", &token), ("only", lodash), ("state", "not_affected"), ("detail", "")])
            .await
            .text()
            .await
            .unwrap();
        assert!(kept.contains("<option value=\"not_affected\" selected>"), "the form keeps its state");
        assert_eq!(finding_ids(&app, release_id, "?state=untriaged").await.len(), 3, "nothing stored");

        let invited = app
            .post("/api/v1/teams/1/members")
            .json(&json!({"email": "viewer@example.com", "role": "viewer"}))
            .send()
            .await
            .unwrap();
        assert_eq!(invited.status(), StatusCode::CREATED);
        let viewer = app.login("viewer@example.com").await;
        let mut viewer_web = WebClient::with_session(&app, viewer["token"].as_str().unwrap());
        let page = viewer_web.page(&release_path).await;
        assert!(page.contains("lodash@4.17.20") && page.contains("/history\""), "viewers see the table");
        assert!(!page.contains("triage-form") && !page.contains("name=\"findings\""), "and no triage form");
        let viewer_token = csrf_token(&page);
        let refused = viewer_web
            .post(&triage_path, &[("csrf_token", &viewer_token), ("only", lodash), ("state", "in_triage")])
            .await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert!(refused.text().await.unwrap().contains("dispositions:write"));
        assert_eq!(finding_ids(&app, release_id, "?state=untriaged").await.len(), 3);
        assert_eq!(viewer_web.get(&format!("/findings/{lodash}/history")).await.status(), StatusCode::OK);
    }
}

/// A release's findings (the API's list with `query`): component name → finding id.
async fn finding_ids(
    app: &TestApp,
    release_id: i64,
    query: &str,
) -> std::collections::HashMap<String, String> {
    let page = crate::findings::vulnerabilities(app, release_id, query).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["component"]["name"].as_str().unwrap().to_string(),
                f["id"].as_i64().unwrap().to_string(),
            )
        })
        .collect()
}

async fn sboms_of(app: &TestApp, release_path: &str) -> i64 {
    let sboms: serde_json::Value = app
        .get(&format!("/api/v1{release_path}/sboms"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    sboms["items"][0]["id"].as_i64().unwrap()
}
