//! Product/vendor CVE alerts over real HTTP on both backends: watches fire on a real batch of
//! NVD, OSV (PyPA), CISA KEV and CVE JSON 5 records from ../shared/data, written through the
//! same store calls a sync run makes; a record without any CPE configuration still matches
//! by the vendor/product its CVE 5 record names; conditions filter; the plan limits the
//! number of watches.

use std::path::Path;

use rampart_formats::advisory::{
    parse_cve5_json, parse_kev_json, parse_nvd_page, parse_osv_yaml, Advisory, CveRecord, KevEntry,
};
use rampart_store::Store;
use rampart_test_support::{backend_tests, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub(crate) fn nvd_page(root: &Path) -> Vec<Advisory> {
    parse_nvd_page(
        &std::fs::read(root.join("nvd-cve-api-2.0/pablotron-nvd-go/responses/cves-2023.json"))
            .unwrap(),
    )
    .unwrap()
    .advisories
    .records
}

/// The PyPA records of one package directory.
pub(crate) fn pypa_package(root: &Path, package: &str) -> Vec<Advisory> {
    let mut records = Vec::new();
    for entry in std::fs::read_dir(root.join("osv-pypa/vulns").join(package)).unwrap() {
        let path = entry.unwrap().path();
        records.extend(
            parse_osv_yaml(&std::fs::read(&path).unwrap())
                .unwrap()
                .records,
        );
    }
    records
}

pub(crate) fn kev(root: &Path) -> Vec<KevEntry> {
    parse_kev_json(
        &std::fs::read(root.join("cisa-kev/known_exploited_vulnerabilities.json")).unwrap(),
    )
    .unwrap()
    .entries
    .records
}

/// CISA Vulnrichment's CVE JSON 5 records of 2024 (CVE-2024-0001..0999).
pub(crate) fn cve5_records(root: &Path) -> Vec<CveRecord> {
    let mut records = Vec::new();
    for entry in std::fs::read_dir(root.join("cve-json5/vulnrichment/2024/0xxx")).unwrap() {
        let path = entry.unwrap().path();
        records.extend(
            parse_cve5_json(&std::fs::read(&path).unwrap())
                .unwrap()
                .records,
        );
    }
    records
}

/// Writes the batch the way sync runs do (one store transaction per feed batch).
pub(crate) async fn import_batch(app: &TestApp, root: &Path) {
    let store = Store::connect(&app.config.database).await.unwrap();
    store
        .ingest_advisories("nvd", &nvd_page(root))
        .await
        .unwrap();
    store
        .ingest_advisories("osv", &pypa_package(root, "aiohttp"))
        .await
        .unwrap();
    store.ingest_kev(&kev(root)).await.unwrap();
    store.ingest_cve_records(&cve5_records(root)).await.unwrap();
    store.close().await;
}

pub(crate) async fn create_watch(app: &TestApp, token: &str, body: Value) -> i64 {
    let response = app
        .with_token(Method::POST, "/api/v1/alerts", token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let created: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}: {created}");
    created["id"].as_i64().unwrap()
}

pub(crate) async fn matches(app: &TestApp, token: &str, watch: i64) -> Value {
    let response = app
        .with_token(
            Method::GET,
            &format!("/api/v1/alerts/{watch}/matches?per_page=500"),
            token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// Waits (up to 60 s) until `done` holds for the watch's matches; returns them.
pub(crate) async fn wait_for_matches(
    app: &TestApp,
    token: &str,
    watch: i64,
    done: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..600 {
        let page = matches(app, token, watch).await;
        if done(&page) {
            return page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "watch {watch} never got the expected matches: {}",
        matches(app, token, watch).await
    );
}

pub(crate) fn match_of<'a>(page: &'a Value, vuln_id: &str) -> Option<&'a Value> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["vuln_id"] == vuln_id)
}

fn has(vuln_id: &'static str) -> impl Fn(&Value) -> bool {
    move |page| match_of(page, vuln_id).is_some()
}

async fn error_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.unwrap())
}

backend_tests! {
    async fn a_real_batch_fires_the_matching_watches_and_not_the_others(app) {
        let Some(root) = rampart_test_data::root() else { return };
        let (token, _) = app.user_on_plan("watcher@a.example", "pro").await;
        // NVD CPE configuration: cpe:2.3:a:atlassian:bitbucket (CVE-2022-43781, 9.8).
        let bitbucket = create_watch(&app, &token, json!({"vendor": "atlassian", "product": "bitbucket"})).await;
        // OSV affected packages.
        let aiohttp = create_watch(&app, &token, json!({"ecosystem": "PyPI", "package": "aiohttp"})).await;
        let by_purl = create_watch(&app, &token, json!({"purl": "pkg:pypi/AIOHTTP"})).await;
        // CVE-2024-0001 has no NVD record and no CPE: only its CVE 5 record names the product.
        let flasharray = create_watch(&app, &token, json!({"name": "storage", "vendor": "Pure Storage", "product": "FlashArray"})).await;
        let nothing = create_watch(&app, &token, json!({"vendor": "no-such-vendor-rampart"})).await;
        // Conditions: only Siemens records of CVSS 7 or more; only Atlassian records KEV lists.
        let siemens = create_watch(&app, &token, json!({"vendor": "siemens", "min_cvss": 7.0})).await;
        let atlassian_kev = create_watch(&app, &token, json!({"vendor": "Atlassian", "kev_only": true})).await;

        import_batch(&app, &root).await;

        let page = wait_for_matches(&app, &token, bitbucket, has("CVE-2022-43781")).await;
        let hit = match_of(&page, "CVE-2022-43781").unwrap();
        assert_eq!(hit["matched_by"], "nvd_cpe", "{hit}");
        assert_eq!(hit["matched_on"], "atlassian:bitbucket");
        assert_eq!(hit["max_cvss"], 9.8);
        assert_eq!(hit["change"], "new");
        assert_eq!(hit["alerts"], 1);
        assert!(match_of(&page, "CVE-2022-43782").is_none(), "crowd is another product: {page}");

        let page = wait_for_matches(&app, &token, flasharray, has("CVE-2024-0001")).await;
        let hit = match_of(&page, "CVE-2024-0001").unwrap();
        assert_eq!(hit["matched_by"], "cve5", "{hit}");
        assert_eq!(hit["matched_on"], "Pure Storage:FlashArray");
        assert_eq!(hit["max_cvss"], 10.0);

        // A real PYSEC record of aiohttp, named by its CVE id.
        let sample = pypa_package(&root, "aiohttp").into_iter()
            .filter(|a| a.withdrawn.is_none())
            .find_map(|a| a.aliases.iter().filter(|x| x.starts_with("CVE-")).min().cloned())
            .unwrap();
        let page = wait_for_matches(&app, &token, aiohttp, |p| match_of(p, &sample).is_some()).await;
        for item in page["items"].as_array().unwrap() {
            assert_eq!(item["matched_by"], "osv_package", "{item}");
            assert_eq!(item["matched_on"].as_str().unwrap().to_lowercase(), "pypi/aiohttp");
        }
        let purl_page = wait_for_matches(&app, &token, by_purl, |p| p["total"] == page["total"]).await;
        assert_eq!(purl_page["total"], page["total"]);

        let page = wait_for_matches(&app, &token, siemens, has("CVE-2022-42732")).await;
        assert!(match_of(&page, "CVE-2022-42892").is_none(), "5.3 is under the minimum: {page}");
        for item in page["items"].as_array().unwrap() {
            assert!(item["max_cvss"].as_f64().unwrap() >= 7.0, "{item}");
        }

        let page = wait_for_matches(&app, &token, atlassian_kev, has("CVE-2022-26134")).await;
        assert!(match_of(&page, "CVE-2022-43781").is_none(), "not in KEV: {page}");
        for item in page["items"].as_array().unwrap() {
            assert_eq!(item["kev"], true, "{item}");
        }

        assert_eq!(matches(&app, &token, nothing).await["total"], 0);

        // Each alert is an `alert.matched` event of the team's stream, linked from its match.
        let event_id = hit["delivery"]["event_id"].as_i64().unwrap_or_else(|| panic!("{hit}"));
        let events: Value = app.with_token(Method::GET, "/api/v1/events?type=alert.matched&per_page=500", &token)
            .send().await.unwrap().json().await.unwrap();
        let event = events["items"].as_array().unwrap().iter().find(|e| e["id"] == event_id)
            .unwrap_or_else(|| panic!("event {event_id} not listed: {events}"));
        assert_eq!(event["type"], "alert.matched");
        assert_eq!(event["test_mode"], false);
        assert_eq!(event["data"]["vuln_id"], "CVE-2024-0001");
        assert_eq!(event["data"]["watch_id"], flasharray);
        assert_eq!(event["data"]["matched_by"], "cve5");
        assert_eq!(hit["delivery"]["email_status"], "not_subscribed");

        // KEV now lists the Bitbucket CVE: a material change alerts the watch again.
        let store = Store::connect(&app.config.database).await.unwrap();
        let mut entry = kev(&root).into_iter().next().unwrap();
        entry.cve_id = "CVE-2022-43781".into();
        entry.vendor_project = "Atlassian".into();
        entry.product = "Bitbucket Server and Data Center".into();
        store.ingest_kev(&[entry]).await.unwrap();
        store.close().await;
        let page = wait_for_matches(&app, &token, bitbucket, |p| {
            match_of(p, "CVE-2022-43781").is_some_and(|m| m["change"] == "updated")
        }).await;
        let hit = match_of(&page, "CVE-2022-43781").unwrap();
        assert_eq!(hit["kev"], true);
        assert_eq!(hit["alerts"], 2);

        // The watch list: every watch, and the plan's usage.
        let list: Value = app.with_token(Method::GET, "/api/v1/alerts", &token).send().await.unwrap().json().await.unwrap();
        assert_eq!(list["total"], 7, "{list}");
        assert_eq!(list["usage"], json!({"used": 7, "limit": 10}));
        let flash = list["items"].as_array().unwrap().iter().find(|w| w["id"] == flasharray).unwrap();
        assert_eq!(flash["name"], "storage");
        assert_eq!(flash["target"]["kind"], "product");
        assert_eq!(flash["target"]["vendor"], "Pure Storage");
    }

    async fn a_watch_made_after_a_change_does_not_alert_on_it(app) {
        let Some(root) = rampart_test_data::root() else { return };
        let (token, _) = app.user_on_plan("late@a.example", "pro").await;
        import_batch(&app, &root).await;
        app.wait_for_index().await;
        let late = create_watch(&app, &token, json!({"vendor": "atlassian", "product": "bitbucket"})).await;
        // A later change that matches alerts it; the earlier ones did not.
        let store = Store::connect(&app.config.database).await.unwrap();
        let mut entry = kev(&root).into_iter().next().unwrap();
        entry.cve_id = "CVE-2022-43781".into();
        entry.vendor_project = "Atlassian".into();
        entry.product = "Bitbucket".into();
        store.ingest_kev(&[entry]).await.unwrap();
        store.close().await;
        let page = wait_for_matches(&app, &token, late, has("CVE-2022-43781")).await;
        assert_eq!(page["total"], 1, "only the change after the watch: {page}");
    }

    #[configure(|c| c.plans.pro.product_alerts = 2)]
    async fn the_plan_limits_watches_and_bad_input_is_422_naming_the_field(app) {
        let (token, _) = app.user_on_plan("limited@a.example", "pro").await;
        let first = create_watch(&app, &token, json!({"vendor": "acme"})).await;
        create_watch(&app, &token, json!({"vendor": "acme", "product": "widget", "min_epss": 0.5})).await;
        let (status, body) = error_of(app.with_token(Method::POST, "/api/v1/alerts", &token)
            .json(&json!({"vendor": "third"})).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"]["code"], "quota_exceeded");
        assert!(body["error"]["message"].as_str().unwrap().contains("2 product/vendor alerts"), "{body}");
        let response = app.with_token(Method::DELETE, &format!("/api/v1/alerts/{first}"), &token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        create_watch(&app, &token, json!({"vendor": "third"})).await;

        // Free plan: one watch (the default limits).
        let (free, _) = app.user_on_plan("free@a.example", "free").await;
        create_watch(&app, &free, json!({"vendor": "acme"})).await;
        let (status, body) = error_of(app.with_token(Method::POST, "/api/v1/alerts", &free)
            .json(&json!({"vendor": "second"})).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"]["code"], "quota_exceeded");

        for (body, field) in [
            (json!({}), "vendor"),
            (json!({"product": "widget"}), "vendor"),
            (json!({"vendor": "a", "ecosystem": "npm", "package": "x"}), "vendor"),
            (json!({"ecosystem": "npm"}), "package"),
            (json!({"package": "x"}), "ecosystem"),
            (json!({"purl": "not a purl"}), "purl"),
            (json!({"vendor": "acme", "min_cvss": 11}), "min_cvss"),
            (json!({"vendor": "acme", "min_epss": -0.1}), "min_epss"),
            (json!({"vendor": "---"}), "vendor"),
        ] {
            let (status, error) = error_of(app.with_token(Method::POST, "/api/v1/alerts", &token)
                .json(&body).send().await.unwrap()).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
            assert!(error["error"]["message"].as_str().unwrap().contains(&format!("`{field}`")), "{body}: {error}");
        }
        let (status, error) = error_of(app.with_token(Method::POST, "/api/v1/alerts", &token)
            .json(&json!({"vendor": "acme", "colour": "red"})).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");

        // Updates: conditions change, `null` clears one; 404 for an unknown watch.
        let list: Value = app.with_token(Method::GET, "/api/v1/alerts", &token).send().await.unwrap().json().await.unwrap();
        let id = list["items"][0]["id"].as_i64().unwrap();
        let updated: Value = app.with_token(Method::PATCH, &format!("/api/v1/alerts/{id}"), &token)
            .json(&json!({"min_cvss": 9.0, "kev_only": true, "name": "renamed"})).send().await.unwrap().json().await.unwrap();
        assert_eq!(updated["conditions"], json!({"min_cvss": 9.0, "min_epss": 0.5, "kev_only": true}), "{updated}");
        assert_eq!(updated["name"], "renamed");
        let cleared: Value = app.with_token(Method::PATCH, &format!("/api/v1/alerts/{id}"), &token)
            .json(&json!({"min_epss": null})).send().await.unwrap().json().await.unwrap();
        assert_eq!(cleared["conditions"]["min_epss"], Value::Null, "{cleared}");
        assert_eq!(cleared["conditions"]["min_cvss"], 9.0);
        let response = app.with_token(Method::PATCH, "/api/v1/alerts/999999", &token)
            .json(&json!({"enabled": false})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
}
