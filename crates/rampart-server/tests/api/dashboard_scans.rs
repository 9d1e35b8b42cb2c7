//! The dashboard's scans pages over plain HTTP on both backends: a website scan started from
//! the form (counted against the same daily quota as the API), its page with the technologies
//! and the evidence of each, the vulnerabilities and, after a rescan, the diff; URL monitors
//! added and deleted; and the quota's refusal shown as a page.

use rampart_test_support::backend_tests;
use reqwest::header::LOCATION;
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::dashboard::{assert_no_inline_code, csrf_token, WebClient};

/// A loopback site behind `Server: nginx/1.18.0` with jQuery 3.4.1.
async fn site() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 4096];
                let _ = socket.read(&mut buffer).await;
                let body = "<html><head><title>Shop</title><script src=\"/js/jquery-3.4.1.min.js\"></script></head></html>";
                let response = format!(
                    "HTTP/1.1 200 OK\r\nServer: nginx/1.18.0\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    port
}

backend_tests! {
    #[configure(|c| {
        c.scans.targets.allowed = vec!["127.0.0.0/8".parse().unwrap()];
        c.plans.enterprise.scans_per_day = 2;
    })]
    async fn a_website_scan_is_started_read_and_rescanned_from_the_dashboard(app) {
        let port = site().await;
        let target = format!("http://127.0.0.1:{port}/");
        let login = app.login("admin@localhost").await;
        let mut web = WebClient::with_session(&app, login["token"].as_str().unwrap());
        let list = web.page("/scans").await;
        assert!(list.contains("0 of 2 scans used"), "{list}");
        assert_no_inline_code(&list, "/scans");
        let token = csrf_token(&list);
        let started = web.post("/scans", &[("csrf_token", &token), ("target", &target)]).await;
        assert_eq!(started.status(), StatusCode::SEE_OTHER);
        let location = started.headers()[LOCATION].to_str().unwrap().to_string();
        assert!(location.starts_with("/scans/sc_"), "{location}");
        let page = web.page(&location).await;
        assert!(page.contains("nginx") && page.contains("1.18.0"), "{page}");
        assert!(page.contains("recog:http_servers"), "the evidence is shown: {page}");
        assert!(page.contains("jQuery") && page.contains("asset file name"), "{page}");
        assert!(page.contains("Rescan"));
        // The rescan (the second scan of the day) shows its diff; the third is refused.
        let rescanned = web.post(&format!("{location}/rescan"), &[("csrf_token", &token)]).await;
        assert_eq!(rescanned.status(), StatusCode::SEE_OTHER);
        let second = rescanned.headers()[LOCATION].to_str().unwrap().to_string();
        let page = web.page(&second).await;
        assert!(page.contains("Changes since") && page.contains("Nothing changed."), "{page}");
        let refused = web.post("/scans", &[("csrf_token", &token), ("target", &target)]).await;
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        let list = web.page("/scans").await;
        assert!(list.contains("2 of 2 scans used") && list.contains(&second[7..]), "{list}");
        // The API sees the same two scans.
        let scans: serde_json::Value = app.get("/api/v1/scans").send().await.unwrap().json().await.unwrap();
        assert_eq!(scans["total"], 2);
        assert_eq!(scans["items"][1]["origin"], "ui");

        // URL monitors.
        let monitors = web.page("/scans/monitors").await;
        assert!(monitors.contains("No monitors yet."));
        let added = web.post("/scans/monitors", &[("csrf_token", &token), ("target", &target), ("interval_minutes", "60")]).await;
        assert_eq!(added.status(), StatusCode::SEE_OTHER);
        let monitors = web.page("/scans/monitors").await;
        assert!(monitors.contains(&target), "{monitors}");
        let invalid = web.post("/scans/monitors", &[("csrf_token", &token), ("target", &target), ("interval_minutes", "5")]).await;
        assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let listed: serde_json::Value = app.get("/api/v1/scans/monitors").send().await.unwrap().json().await.unwrap();
        let id = listed["items"][0]["id"].as_i64().unwrap();
        let deleted = web.post(&format!("/scans/monitors/{id}/delete"), &[("csrf_token", &token)]).await;
        assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
        assert!(web.page("/scans/monitors").await.contains("No monitors yet."));
    }

    async fn another_teams_scan_is_a_404_page(app) {
        let outsider = app.login("outsider@example.com").await;
        let mut web = WebClient::with_session(&app, outsider["token"].as_str().unwrap());
        let missing = web.get("/scans/sc_000000000000").await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    }
}
