//! Website and host scans over real HTTP on both backends, only against services these tests
//! start on 127.0.0.1: an HTTP server with an nginx `Server` header, a WordPress generator and
//! jQuery assets; TCP listeners speaking real-world SSH, FTP and SMTP banners; and the local
//! PostgreSQL the suite runs on. Detections are cross-referenced with a small knowledge base
//! imported through the store (NVD 2.0 records with CPE configurations). Also: the allow-list
//! refusal naming `--scan-allowed-targets`, metadata refusal, the CIDR size limit, the daily
//! quota's 429, the per-team concurrency cap's 429, test-key simulation, rescans with diffs,
//! exports, monitors and quotas.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rampart_formats::advisory::parse_nvd_page;
use rampart_store::Store;
use rampart_test_support::{backend_tests, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One NVD 2.0 record: `id` affects `criteria` in `[start, end)` (or up to `end_including`).
fn nvd_record(
    id: &str,
    criteria: &str,
    range: Value,
    score: f64,
    vector: &str,
    summary: &str,
) -> Value {
    let severity = match score {
        s if s >= 9.0 => "CRITICAL",
        s if s >= 7.0 => "HIGH",
        s if s >= 4.0 => "MEDIUM",
        _ => "LOW",
    };
    let mut cpe_match = json!({"vulnerable": true, "criteria": criteria,
        "matchCriteriaId": "00000000-0000-0000-0000-000000000000"});
    for (key, value) in range.as_object().unwrap() {
        cpe_match[key] = value.clone();
    }
    json!({"cve": {
        "id": id, "sourceIdentifier": "cve@mitre.org",
        "published": "2021-01-01T00:00:00.000", "lastModified": "2022-01-01T00:00:00.000",
        "vulnStatus": "Analyzed",
        "descriptions": [{"lang": "en", "value": summary}],
        "metrics": {"cvssMetricV31": [{"source": "nvd@nist.gov", "type": "Primary",
            "cvssData": {"version": "3.1", "vectorString": vector, "baseScore": score,
                         "baseSeverity": severity},
            "exploitabilityScore": 3.9, "impactScore": 5.9}]},
        "configurations": [{"nodes": [{"operator": "OR", "negate": false, "cpeMatch": [cpe_match]}]}],
        "references": [{"url": format!("https://nvd.nist.gov/vuln/detail/{id}"), "source": "cve@mitre.org"}]
    }})
}

/// The small knowledge base: real CVEs of the products the fixtures run, with their NVD
/// ranges.
async fn import_kb(app: &TestApp) {
    let records = vec![
        nvd_record("CVE-2020-11022", "cpe:2.3:a:jquery:jquery:*:*:*:*:*:*:*:*",
            json!({"versionStartIncluding": "1.2", "versionEndExcluding": "3.5.0"}), 6.1,
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
            "In jQuery versions >= 1.2 and < 3.5.0, passing HTML from untrusted sources to DOM manipulation methods may execute untrusted code."),
        nvd_record("CVE-2021-23017", "cpe:2.3:a:f5:nginx:*:*:*:*:*:*:*:*",
            json!({"versionStartIncluding": "0.6.18", "versionEndExcluding": "1.20.1"}), 7.7,
            "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:L/A:H",
            "A security issue in nginx resolver was identified, which might allow an attacker to cause 1-byte memory overwrite."),
        nvd_record("CVE-2022-21661", "cpe:2.3:a:wordpress:wordpress:*:*:*:*:*:*:*:*",
            json!({"versionStartIncluding": "3.7", "versionEndExcluding": "5.8.3"}), 7.5,
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
            "WordPress: SQL injection through WP_Query."),
        nvd_record("CVE-2018-15473", "cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*",
            json!({"versionEndIncluding": "7.7"}), 5.3,
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N",
            "OpenSSH through 7.7 is prone to a user enumeration vulnerability."),
        nvd_record("CVE-2019-12815", "cpe:2.3:a:proftpd:proftpd:*:*:*:*:*:*:*:*",
            json!({"versionEndIncluding": "1.3.6"}), 9.8,
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "An arbitrary file copy vulnerability in mod_copy in ProFTPD up to 1.3.5b."),
    ];
    let page = json!({"resultsPerPage": records.len(), "startIndex": 0,
        "totalResults": records.len(), "format": "NVD_CVE", "version": "2.0",
        "timestamp": "2023-07-18T06:46:32.267", "vulnerabilities": records});
    let advisories = parse_nvd_page(page.to_string().as_bytes())
        .unwrap()
        .advisories
        .records;
    let store = Store::connect(&app.config.database).await.unwrap();
    store.ingest_advisories("nvd", &advisories).await.unwrap();
    store.close().await;
    app.wait_for_index().await;
}

/// A minimal HTTP/1.1 server (a WordPress shop behind nginx); returns its port.
async fn http_server(jquery: Arc<AtomicBool>) -> u16 {
    serve_http(TcpListener::bind("127.0.0.1:0").await.unwrap(), jquery)
}

fn serve_http(listener: TcpListener, jquery: Arc<AtomicBool>) -> u16 {
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let new_jquery = jquery.load(Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 8192];
                let mut read = 0;
                while !buffer[..read].windows(4).any(|w| w == b"\r\n\r\n") && read < buffer.len() {
                    match socket.read(&mut buffer[read..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => read += n,
                    }
                }
                let request = String::from_utf8_lossy(&buffer[..read]).to_string();
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
                let jquery = if new_jquery { "3.5.1" } else { "3.4.1" };
                let (status, body) = if path == "/" {
                    ("200 OK", format!(
                        "<!DOCTYPE html><html><head><title>Example shop</title>\
                         <meta name=\"generator\" content=\"WordPress 5.8.1\" />\
                         <link rel=\"stylesheet\" href=\"/wp-includes/css/dist/block-library/style.min.css?ver=5.8.1\">\
                         <script src=\"/wp-content/themes/shop/js/jquery-{jquery}.min.js\"></script>\
                         <script src=\"https://cdn.jsdelivr.net/npm/bootstrap@4.3.1/dist/js/bootstrap.min.js\"></script>\
                         </head><body>Welcome</body></html>"))
                } else if path == "/robots.txt" {
                    (
                        "200 OK",
                        "User-agent: *\nDisallow: /wp-admin/\n".to_string(),
                    )
                } else {
                    (
                        "404 Not Found",
                        "<html><head><title>404 Not Found</title></head></html>".to_string(),
                    )
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\nServer: nginx/1.18.0\r\nX-Powered-By: PHP/7.4.3\r\n\
                     Set-Cookie: PHPSESSID=0123456789abcdef; path=/\r\nContent-Type: text/html; charset=UTF-8\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    port
}

/// A listener that greets every connection with `banner` (a server-speaks-first protocol).
fn serve_banner(listener: TcpListener, banner: &'static str) -> u16 {
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let _ = socket.write_all(banner.as_bytes()).await;
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            });
        }
    });
    port
}

thread_local! {
    /// The listeners `bind_host_listeners` bound for the test running on this thread.
    static HOST_LISTENERS: std::cell::RefCell<Vec<std::net::TcpListener>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Binds four loopback listeners before the app starts and adds their ports (and the local
/// PostgreSQL's) to `--scan-extra-ports`: the documented port sets are privileged ports.
fn bind_host_listeners(config: &mut rampart_server::ServerConfig) {
    allow_loopback(config);
    let mut ports = Vec::new();
    HOST_LISTENERS.with(|listeners| {
        let mut listeners = listeners.borrow_mut();
        listeners.clear();
        for _ in 0..4 {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.set_nonblocking(true).unwrap();
            ports.push(listener.local_addr().unwrap().port());
            listeners.push(listener);
        }
    });
    let postgres_port = std::env::var("RAMPART_TEST_PG_URL")
        .ok()
        .and_then(|url| url.rsplit_once(':').map(|(_, rest)| rest.to_string()))
        .and_then(|rest| rest.split('/').next().and_then(|p| p.parse::<u16>().ok()))
        .unwrap_or(55432);
    ports.push(postgres_port);
    config.scans.extra_ports = ports;
}

fn take_host_listeners() -> [TcpListener; 4] {
    let listeners: Vec<TcpListener> = HOST_LISTENERS.with(|l| {
        l.borrow_mut()
            .drain(..)
            .map(|l| TcpListener::from_std(l).unwrap())
            .collect()
    });
    listeners.try_into().map_err(|_| "four listeners").unwrap()
}

/// An https front for the plain site on `plain_port`: TLS with a self-signed certificate
/// for 127.0.0.1, each connection relayed to the site.
async fn https_front(plain_port: u16) -> u16 {
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2099, 1, 1);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Example shop");
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(("127.0.0.1", plain_port)).await
                else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    port
}

async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

fn allow_loopback(config: &mut rampart_server::ServerConfig) {
    config.scans.targets.allowed = vec!["127.0.0.0/8".parse().unwrap()];
}

fn technology<'a>(result: &'a Value, name: &str) -> &'a Value {
    result["technologies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("{name} not detected: {result}"))
}

fn cves(result: &Value) -> Vec<String> {
    result["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["cve_id"].as_str().unwrap().to_string())
        .collect()
}

backend_tests! {
    #[configure(allow_loopback)]
    async fn website_scan_detects_server_cms_and_assets_and_their_cves(app) {
        import_kb(&app).await;
        let newer_jquery = Arc::new(AtomicBool::new(false));
        let port = http_server(Arc::clone(&newer_jquery)).await;
        let target = format!("http://127.0.0.1:{port}/");
        // Seed 003's endpoint answers with the finished scan.
        let (status, scan) = json_of(
            app.post("/api/scan").json(&json!({"target": target})).send().await.unwrap(),
        ).await;
        assert_eq!(status, StatusCode::OK, "{scan}");
        assert_eq!(scan["success"], true);
        assert_eq!(scan["status"], "completed", "{scan}");
        let scan_id = scan["scan_id"].as_str().unwrap().to_string();
        assert!(scan_id.starts_with("sc_") && scan_id.len() == 15, "{scan_id}");
        let nginx = technology(&scan, "nginx");
        assert_eq!(nginx["version"], "1.18.0");
        assert_eq!(nginx["cpe"], "cpe:2.3:a:f5:nginx:1.18.0:*:*:*:*:*:*:*");
        assert_eq!(nginx["evidence"][0]["field"], "server");
        assert_eq!(nginx["evidence"][0]["matched_by"], "recog:http_servers");
        let wordpress = technology(&scan, "WordPress");
        assert_eq!(wordpress["version"], "5.8.1");
        assert!(wordpress["evidence"].as_array().unwrap().iter().any(|e| e["matched_by"] == "meta generator"));
        let jquery = technology(&scan, "jQuery");
        assert_eq!(jquery["version"], "3.4.1");
        assert_eq!(jquery["evidence"][0]["matched_by"], "asset file name");
        assert_eq!(technology(&scan, "Bootstrap")["version"], "4.3.1");
        assert_eq!(technology(&scan, "PHP")["version"], "7.4.3");
        let found = cves(&scan);
        for cve in ["CVE-2020-11022", "CVE-2021-23017", "CVE-2022-21661"] {
            assert!(found.contains(&cve.to_string()), "{cve} missing: {found:?}");
        }
        let jquery_cve = scan["vulnerabilities"].as_array().unwrap().iter()
            .find(|v| v["cve_id"] == "CVE-2020-11022").unwrap();
        assert_eq!(jquery_cve["technology"], "jQuery");
        assert_eq!(jquery_cve["severity"], "medium");
        assert_eq!(jquery_cve["kev"], false);
        assert!(jquery_cve.get("epss").is_some() && jquery_cve.get("exploit_available").is_some());
        assert_eq!(scan["severity_summary"]["total"], found.len());
        assert!(scan["severity_summary"]["high"].as_u64().unwrap() >= 2);

        // The canonical resource has the same scan; the first scan of a target has no diff.
        let (status, canonical) = json_of(app.get(&format!("/api/v1/scans/{scan_id}")).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{canonical}");
        assert_eq!(canonical["kind"], "website");
        assert_eq!(canonical["diff"]["changed"], false);

        // The site upgrades jQuery; a rescan keeps history and reports the change.
        newer_jquery.store(true, Ordering::SeqCst);
        let (status, rescan) = json_of(
            app.post(&format!("/api/v1/scans/{scan_id}/rescan?wait=true")).send().await.unwrap(),
        ).await;
        assert_eq!(status, StatusCode::CREATED, "{rescan}");
        assert_eq!(rescan["status"], "completed", "{rescan}");
        assert_eq!(rescan["rescan_of"], scan_id.as_str());
        assert_eq!(rescan["origin"], "rescan");
        let diff = &rescan["diff"];
        assert_eq!(diff["previous_scan_id"], scan_id.as_str(), "{diff}");
        assert_eq!(diff["changed"], true);
        assert_eq!(diff["version_changes"][0]["name"], "jQuery", "{diff}");
        assert_eq!(diff["version_changes"][0]["from"], "3.4.1");
        assert_eq!(diff["version_changes"][0]["to"], "3.5.1");
        assert_eq!(diff["resolved_cves"], json!(["CVE-2020-11022"]));
        let rescan_id = rescan["id"].as_str().unwrap();
        let (status, explicit) = json_of(app.get(&format!("/api/v1/scans/{rescan_id}/diff?against={scan_id}")).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(explicit["resolved_cves"], json!(["CVE-2020-11022"]));

        // A completed scan wrote a scan.completed event with its diff.
        let (_, events) = json_of(app.get("/api/v1/events?type=scan.completed").send().await.unwrap()).await;
        let items = events["items"].as_array().or_else(|| events["events"].as_array()).cloned().unwrap_or_default();
        assert!(items.iter().any(|e| e["data"]["scan_id"] == rescan_id), "{events}");

        // Exports: one scan, all scans (seed 003's and canonical).
        let response = app.get(&format!("/api/v1/scans/{scan_id}/export")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers()["content-disposition"].to_str().unwrap().contains(&scan_id));
        let exported: Value = response.json().await.unwrap();
        assert_eq!(exported["result"]["technologies"], canonical["result"]["technologies"]);
        let (status, all) = json_of(app.get("/api/v1/scans/export").send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(all["total"], 2);
        let (status, seed_all) = json_of(app.get("/api/export-scan").send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(seed_all["scans"].as_array().unwrap().len(), 2);
        let (status, seed_one) = json_of(app.get(&format!("/api/export-scan?scan_id={scan_id}")).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(seed_one["scan_id"], scan_id.as_str());
        let (status, list) = json_of(app.get("/api/v1/scans?kind=website").send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list["total"], 2);

        // Quota use counts both.
        let (status, quotas) = json_of(app.get("/api/v1/usage/quotas").send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{quotas}");
        assert_eq!(quotas["scans"]["used"], 2);
        assert!(quotas["scans_reset_at"].as_str().unwrap().ends_with("T00:00:00Z"), "{quotas}");
    }

    #[configure(allow_loopback)]
    async fn an_https_site_is_read_whatever_its_certificate_and_the_certificate_reported(app) {
        let port = https_front(http_server(Arc::new(AtomicBool::new(false))).await).await;
        let target = format!("https://127.0.0.1:{port}/");
        let (status, scan) = json_of(
            app.post("/api/v1/scans?wait=true").json(&json!({"target": target})).send().await.unwrap(),
        ).await;
        assert_eq!(status, StatusCode::CREATED, "{scan}");
        assert_eq!(scan["status"], "completed", "{scan}");
        let result = &scan["result"];
        assert_eq!(result["https"], true);
        // The page was read through the self-signed certificate.
        assert_eq!(technology(result, "nginx")["version"], "1.18.0");
        let tls = &result["tls"];
        assert_eq!(tls["self_signed"], true, "{tls}");
        assert_eq!(tls["trusted"], false);
        assert_eq!(tls["name_matches"], true);
        assert_eq!(tls["expired"], false);
        assert_eq!(tls["subject"], "CN=Example shop");
        assert_eq!(tls["subject_alt_names"], json!(["127.0.0.1"]));
        assert_eq!(tls["not_after"], "2099-01-01T00:00:00Z");
        assert!(tls["problems"][0].as_str().unwrap().contains("UnknownIssuer"), "{tls}");
        assert!(tls["protocol"].as_str().unwrap().starts_with("TLSv1_"), "{tls}");
        // Seed 003's answer carries it too; a plain http site has none.
        let (_, seed) = json_of(
            app.post("/api/scan").json(&json!({"target": target})).send().await.unwrap(),
        ).await;
        assert_eq!(seed["tls"]["self_signed"], true, "{seed}");
        let plain = format!("http://127.0.0.1:{}/", http_server(Arc::new(AtomicBool::new(false))).await);
        let (_, scan) = json_of(
            app.post("/api/v1/scans?wait=true").json(&json!({"target": plain})).send().await.unwrap(),
        ).await;
        assert!(scan["result"].get("tls").is_none(), "{scan}");
        // The dashboard shows it.
        let id = seed["scan_id"].as_str().unwrap();
        let login = app.login("admin@localhost").await;
        let mut web = crate::dashboard::WebClient::with_session(&app, login["token"].as_str().unwrap());
        let page = web.page(&format!("/scans/{id}")).await;
        assert!(page.contains("TLS certificate") && page.contains("UnknownIssuer"), "{page}");
    }

    #[configure(bind_host_listeners)]
    async fn host_scan_identifies_real_banners_and_their_cves(app) {
        import_kb(&app).await;
        let [ssh, ftp, smtp, http] = take_host_listeners();
        let ssh = serve_banner(ssh, "SSH-2.0-OpenSSH_7.4\r\n");
        let ftp = serve_banner(ftp, "220 ProFTPD 1.3.5 Server (Debian) [::ffff:127.0.0.1]\r\n");
        let smtp = serve_banner(smtp, "220 mail.example.org ESMTP Postfix (Debian/GNU)\r\n");
        let http = serve_http(http, Arc::new(AtomicBool::new(false)));
        // Seed 002's endpoint: one address answers synchronously.
        let (status, scan) = json_of(
            app.get("/v1/threats/scan?target_ip=127.0.0.1&depth=quick&include_vulns=true").send().await.unwrap(),
        ).await;
        assert_eq!(status, StatusCode::OK, "{scan}");
        assert_eq!(scan["status"], "completed", "{scan}");
        let scan_id = scan["scan_id"].as_str().unwrap();
        assert!(scan_id.starts_with("sc_"));
        let findings = scan["findings"].as_array().unwrap();
        assert_eq!(scan["threats_found"], findings.len());
        let find = |kind: &str, text: &str| findings.iter().find(|f| f["type"] == kind && f["details"].as_str().unwrap().contains(text)).cloned();
        let ssh_port = find("open_port", &format!("Port {ssh} ")).unwrap_or_else(|| panic!("{scan}"));
        assert!(ssh_port["details"].as_str().unwrap().contains("OpenSSH 7.4"), "{ssh_port}");
        assert_eq!(ssh_port["cve"], Value::Null);
        assert!(find("open_port", &format!("Port {ftp} (ftp: ProFTPD 1.3.5)")).is_some(), "{scan}");
        assert!(find("open_port", &format!("Port {smtp} (smtp: Postfix")).is_some(), "{scan}");
        assert!(find("open_port", &format!("Port {http} (http: nginx 1.18.0)")).is_some(), "{scan}");
        assert!(find("open_port", "(postgresql: PostgreSQL)").is_some(), "the local PostgreSQL: {scan}");
        let openssh = find("vulnerable_service", "OpenSSH 7.4 detected").unwrap_or_else(|| panic!("{scan}"));
        assert_eq!(openssh["cve"], "CVE-2018-15473");
        assert_eq!(openssh["severity"], "medium");
        let proftpd = find("vulnerable_service", "ProFTPD 1.3.5 detected").unwrap_or_else(|| panic!("{scan}"));
        assert_eq!(proftpd["cve"], "CVE-2019-12815");
        assert_eq!(proftpd["severity"], "critical");
        assert!(find("vulnerable_service", "nginx 1.18.0 detected").is_some());
        // The canonical resource has the evidence.
        let (_, canonical) = json_of(app.get(&format!("/api/v1/scans/{scan_id}")).send().await.unwrap()).await;
        let open = canonical["result"]["open_ports"].as_array().unwrap();
        let ssh_open = open.iter().find(|p| p["port"] == ssh).unwrap();
        assert_eq!(ssh_open["technology"]["evidence"][0]["matched_by"], "recog:ssh_banners");
        assert_eq!(ssh_open["banner"], "SSH-2.0-OpenSSH_7.4");
        // Without include_vulns there are only open ports.
        let (_, plain) = json_of(app.get("/v1/threats/scan?target_ip=127.0.0.1").send().await.unwrap()).await;
        assert!(plain["findings"].as_array().unwrap().iter().all(|f| f["type"] == "open_port"), "{plain}");
        // A larger range answers `running`; polling finds it completed.
        let (status, running) = json_of(app.get("/v1/threats/scan?target_ip=127.0.0.0/27").send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{running}");
        assert_eq!(running["status"], "running");
        let id = running["scan_id"].as_str().unwrap();
        let mut done = Value::Null;
        for _ in 0..600 {
            let (_, polled) = json_of(app.get(&format!("/v1/threats/scan/{id}")).send().await.unwrap()).await;
            if polled["status"] == "completed" {
                done = polled;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(done["findings"].as_array().unwrap().iter().any(|f| f["details"].as_str().unwrap().contains("OpenSSH 7.4")), "{done}");
    }

    #[configure(allow_loopback)]
    async fn allow_list_metadata_cidr_size_and_bad_input_are_refused(app) {
        // Metadata and link-local: never, even though 127/8 is allowed.
        let (status, body) = json_of(app.post("/api/scan").json(&json!({"target": "http://169.254.169.254/latest/meta-data/"})).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("metadata"), "{body}");
        let (status, _) = json_of(app.get("/v1/threats/scan?target_ip=169.254.169.254").send().await.unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // Outside the allow-list: 403 naming the setting.
        let (status, body) = json_of(app.get("/v1/threats/scan?target_ip=10.1.2.3").send().await.unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("--scan-allowed-targets"), "{body}");
        // A CIDR larger than the limit: 422 naming target_ip.
        let (status, body) = json_of(app.get("/v1/threats/scan?target_ip=127.0.0.0/16").send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("target_ip"));
        // Bad input names the field, never a 500.
        let (status, body) = json_of(app.get("/v1/threats/scan?target_ip=127.0.0.1&depth=thorough").send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("depth"));
        let (status, body) = json_of(app.get("/v1/threats/scan").send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("target_ip"));
        let (status, body) = json_of(app.post("/api/scan").json(&json!({"target": "ftp://127.0.0.1/"})).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("target"));
        let (status, _) = json_of(app.post("/api/scan").json(&json!({"url": "x"})).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let (status, _) = json_of(app.get("/api/v1/scans/sc_000000000000").send().await.unwrap()).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // None of the refused requests counted against the quota.
        let (_, quotas) = json_of(app.get("/api/v1/usage/quotas").send().await.unwrap()).await;
        assert_eq!(quotas["scans"]["used"], 0, "{quotas}");
    }

    async fn an_empty_allow_list_refuses_every_scan_naming_the_setting(app) {
        let (status, body) = json_of(app.post("/api/scan").json(&json!({"target": "http://127.0.0.1:9/"})).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("--scan-allowed-targets"), "{body}");
        let (status, body) = json_of(app.get("/v1/threats/scan?target_ip=127.0.0.1").send().await.unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }

    #[configure(|c| { allow_loopback(c); c.plans.pro.scans_per_day = 2; })]
    async fn the_daily_quota_counts_scans_and_rescans_then_answers_429(app) {
        let (session, _) = app.user_on_plan("quota@example.com", "pro").await;
        let port = http_server(Arc::new(AtomicBool::new(false))).await;
        let target = format!("http://127.0.0.1:{port}/");
        let (status, first) = json_of(app.with_token(Method::POST, "/api/scan", &session).json(&json!({"target": target})).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{first}");
        let id = first["scan_id"].as_str().unwrap();
        let (status, second) = json_of(app.with_token(Method::POST, "/api/rescan", &session).json(&json!({"scan_id": id})).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{second}");
        let response = app.with_token(Method::POST, "/api/v1/scans", &session).json(&json!({"target": target})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry_after: i64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(retry_after > 0 && retry_after <= 86_400);
        let body: Value = response.json().await.unwrap();
        assert!(body["error"]["message"].as_str().unwrap().contains("resets at"), "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("scans_per_day"), "{body}");
        let (_, quotas) = json_of(app.with_token(Method::GET, "/api/v1/usage/quotas", &session).send().await.unwrap()).await;
        assert_eq!(quotas["scans"], json!({"used": 2, "limit": 2}));
        assert_eq!(quotas["monitors"]["limit"], 5);
        assert_eq!(quotas["alerts"]["limit"], 10);
        assert_eq!(quotas["api_keys"]["limit"], 5);
    }

    #[configure(|c| { allow_loopback(c); c.scans.concurrent_per_team = 1; })]
    async fn a_team_at_its_concurrency_cap_gets_429_until_a_scan_finishes(app) {
        // A listener that accepts and never answers holds the first scan open.
        let tarpit = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = format!("http://127.0.0.1:{}/", tarpit.local_addr().unwrap().port());
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let mut held = Vec::new();
            tokio::select! {
                _ = released => {}
                _ = async { while let Ok((socket, _)) = tarpit.accept().await { held.push(socket); } } => {}
            }
        });
        let (status, first) = json_of(app.post("/api/v1/scans").json(&json!({"target": target})).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{first}");
        let response = app.post("/api/v1/scans").json(&json!({"target": target})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let body: Value = response.json().await.unwrap();
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("1 scans queued or running"), "{body}");
        assert!(message.contains("concurrency cap"), "{body}");
        // Closing the connection ends the first scan; the team may scan again.
        release.send(()).unwrap();
        let id = first["id"].as_str().unwrap();
        let mut status_now = Value::Null;
        for _ in 0..300 {
            let (_, scan) = json_of(app.get(&format!("/api/v1/scans/{id}")).send().await.unwrap()).await;
            status_now = scan["status"].clone();
            if status_now != "queued" && status_now != "running" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(status_now == "completed" || status_now == "failed", "{status_now}");
        let (status, third) = json_of(app.post("/api/v1/scans").json(&json!({"target": target})).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{third}");
    }

    async fn test_keys_get_a_deterministic_simulation_and_send_nothing(app) {
        // No allow-list at all: a test key never resolves or connects, so it is not needed.
        let (session, _) = app.user_on_plan("tester@example.com", "pro").await;
        let (status, created) = json_of(app.with_token(Method::POST, "/api/v1/api-keys", &session).json(&json!({"name": "t", "test_mode": true})).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let key = created["api_key"].as_str().unwrap().to_string();
        assert!(key.starts_with("rk_test_"));
        let (status, first) = json_of(app.with_token(Method::POST, "/api/scan", &key).json(&json!({"target": "https://shop.example.com"})).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{first}");
        assert_eq!(first["test_mode"], true);
        assert_eq!(first["status"], "completed");
        let (_, second) = json_of(app.with_token(Method::POST, "/api/scan", &key).json(&json!({"target": "https://shop.example.com"})).send().await.unwrap()).await;
        assert_eq!(first["technologies"], second["technologies"]);
        assert_eq!(technology(&first, "nginx")["version"], "1.18.0");
        let (status, threat) = json_of(app.with_token(Method::GET, "/v1/threats/scan?target_ip=203.0.113.7&include_vulns=true", &key).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{threat}");
        assert_eq!(threat["status"], "completed");
        assert_eq!(threat["test_mode"], true);
        assert!(threat["scan_id"].as_str().unwrap().starts_with("sc_"));
        assert_eq!(threat["findings"][0]["type"], "open_port");
        assert_eq!(threat["findings"][0]["details"], "Port 22 (ssh: OpenSSH 7.4) open on 203.0.113.7");
        assert_eq!(threat["threats_found"], threat["findings"].as_array().unwrap().len());
        // Live credentials do not see test scans.
        let (_, live) = json_of(app.with_token(Method::GET, "/api/v1/scans", &session).send().await.unwrap()).await;
        assert_eq!(live["total"], 0);
    }

    #[configure(allow_loopback)]
    async fn monitors_are_limited_by_plan_and_run_their_first_scan(app) {
        let port = http_server(Arc::new(AtomicBool::new(false))).await;
        let target = format!("http://127.0.0.1:{port}/");
        let (status, monitor) = json_of(app.post("/api/v1/scans/monitors").json(&json!({"target": target, "interval_minutes": 60})).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::CREATED, "{monitor}");
        let id = monitor["id"].as_i64().unwrap();
        let (status, bad) = json_of(app.post("/api/v1/scans/monitors").json(&json!({"target": target, "interval_minutes": 1})).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad["error"]["message"].as_str().unwrap().contains("interval_minutes"));
        // The worker queues and runs the first scan.
        let mut last_scan = Value::Null;
        for _ in 0..200 {
            let (_, got) = json_of(app.get(&format!("/api/v1/scans/monitors/{id}")).send().await.unwrap()).await;
            if let Some(scan_id) = got["last_scan_id"].as_str() {
                let (_, scan) = json_of(app.get(&format!("/api/v1/scans/{scan_id}")).send().await.unwrap()).await;
                if scan["status"] == "completed" {
                    last_scan = scan;
                    break;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(last_scan["origin"], "monitor", "{last_scan}");
        assert_eq!(last_scan["monitor_id"], id);
        let (_, quotas) = json_of(app.get("/api/v1/usage/quotas").send().await.unwrap()).await;
        assert_eq!(quotas["monitors"]["used"], 1);
        assert_eq!(quotas["scans"]["used"], 0, "monitor runs do not count: {quotas}");
        let (status, list) = json_of(app.get("/api/v1/scans/monitors").send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list["total"], 1);
        let response = app.request(Method::DELETE, &format!("/api/v1/scans/monitors/{id}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let response = app.request(Method::DELETE, &format!("/api/v1/scans/monitors/{id}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
}

/// `depth=quick` over 127.0.0.0/24 (254 addresses × the quick set plus three listeners'
/// ports) on SQLite: the whole scan (connects, banners, identification, CVE matching), ≤ 5 s.
/// `cargo test --release -p rampart-server --test api scans::bench_ -- --ignored --nocapture --test-threads=1`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly with --ignored --nocapture"]
async fn bench_quick_host_scan_of_a_loopback_slash_24() {
    let app = TestApp::spawn_with(rampart_test_support::Backend::Sqlite, bind_host_listeners)
        .await
        .unwrap();
    import_kb(&app).await;
    let [ssh, ftp, smtp, http] = take_host_listeners();
    serve_banner(ssh, "SSH-2.0-OpenSSH_7.4\r\n");
    serve_banner(
        ftp,
        "220 ProFTPD 1.3.5 Server (Debian) [::ffff:127.0.0.1]\r\n",
    );
    serve_banner(smtp, "220 mail.example.org ESMTP Postfix (Debian/GNU)\r\n");
    serve_http(http, Arc::new(AtomicBool::new(false)));
    let started = std::time::Instant::now();
    let (status, scan) = json_of(
        app.post("/api/v1/scans/hosts?wait=true")
            .json(&json!({"target_ip": "127.0.0.0/24", "depth": "quick", "include_vulns": true}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let elapsed = started.elapsed();
    assert_eq!(status, StatusCode::CREATED, "{scan}");
    assert_eq!(scan["status"], "completed");
    let result = &scan["result"];
    println!(
        "quick /24: {} addresses, {} connections, {} open ports, {} findings in {:.2?} (network {} ms, analysis {} ms)",
        result["addresses_scanned"], result["ports_scanned"], result["open_ports"].as_array().unwrap().len(),
        result["findings"].as_array().unwrap().len(), elapsed, result["network_ms"], result["analysis_ms"]
    );
    assert!(elapsed <= std::time::Duration::from_secs(5), "{elapsed:?}");
}

/// A website scan of a local page with 50 script/style assets: identification and CVE
/// matching (`analysis_ms`) ≤ 200 ms on top of the fetch (`network_ms`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly with --ignored --nocapture"]
async fn bench_website_scan_of_a_page_with_50_assets() {
    let app = TestApp::spawn_with(rampart_test_support::Backend::Sqlite, allow_loopback)
        .await
        .unwrap();
    import_kb(&app).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 8192];
                let _ = socket.read(&mut buffer).await;
                let libraries = [
                    "jquery",
                    "bootstrap",
                    "lodash",
                    "moment",
                    "angular",
                    "vue",
                    "react",
                    "handlebars",
                    "underscore",
                    "knockout",
                ];
                let mut assets = String::new();
                for i in 0..50 {
                    let library = libraries[i % libraries.len()];
                    assets.push_str(&format!(
                        "<script src=\"/static/{library}-{}.{}.{}.min.js\"></script>\n",
                        1 + i % 3,
                        i % 10,
                        i
                    ));
                }
                let body = format!("<html><head><title>Bench</title><meta name=\"generator\" content=\"WordPress 5.8.1\">{assets}</head><body></body></html>");
                let response = format!("HTTP/1.1 200 OK\r\nServer: nginx/1.18.0\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    let mut analysis = Vec::new();
    let mut totals = Vec::new();
    for _ in 0..10 {
        let started = std::time::Instant::now();
        let (status, scan) = json_of(
            app.post("/api/v1/scans?wait=true")
                .json(&json!({"target": format!("http://127.0.0.1:{port}/")}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{scan}");
        assert!(
            scan["result"]["technologies"].as_array().unwrap().len() >= 12,
            "{scan}"
        );
        analysis.push(scan["result"]["analysis_ms"].as_u64().unwrap());
        totals.push(started.elapsed().as_millis() as u64);
    }
    analysis.sort_unstable();
    totals.sort_unstable();
    println!(
        "website scan, 50 assets: analysis median {} ms, max {} ms; request median {} ms, max {} ms (fetch included)",
        analysis[5], analysis[9], totals[5], totals[9]
    );
    assert!(analysis[9] <= 200, "{analysis:?}");
}
