//! What every connection and response gets, over raw TCP where a client misbehaves: security
//! headers on every response (HSTS only behind an https public URL), a client that trickles
//! its headers is disconnected, one that trickles its body gets 408 `request_timeout`.

use std::time::Duration;

use rampart_test_support::backend_tests;
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The server's `host:port`.
fn address(url: &str) -> &str {
    url.trim_start_matches("http://").trim_end_matches('/')
}

/// Sends `chunks` one every 300 ms (stopping at the first write the server refused), then
/// reads what the server answers until it closes the connection; `None` when it never
/// answers nor closes within a minute.
async fn trickle(url: &str, chunks: &[&[u8]]) -> Option<String> {
    let mut stream = TcpStream::connect(address(url)).await.unwrap();
    for chunk in chunks {
        if stream.write_all(chunk).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let mut answer = Vec::new();
    match tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut answer)).await {
        Ok(_) => Some(String::from_utf8_lossy(&answer).into_owned()),
        Err(_) => None,
    }
}

backend_tests! {
    async fn every_response_carries_the_security_headers(app) {
        for path in ["/healthz", "/api/v1/me", "/no/such/route", "/api/v1/openapi.json"] {
            let response = app.get(path).send().await.unwrap();
            let headers = response.headers();
            assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
            assert!(headers.contains_key("referrer-policy"), "{path}");
            assert!(!headers.contains_key("strict-transport-security"), "{path}: plain http");
        }
        // An unauthenticated 401 too.
        let refused = app.anonymous(reqwest::Method::GET, "/api/v1/me").send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(refused.headers()["x-content-type-options"], "nosniff");
        assert_eq!(refused.headers()["referrer-policy"], "no-referrer");
        // The dashboard keeps its own stricter set.
        let page = app.anonymous(reqwest::Method::GET, "/login").send().await.unwrap();
        assert_eq!(page.headers()["referrer-policy"], "same-origin");
        assert_eq!(page.headers()["x-frame-options"], "DENY");
    }

    #[configure(|c| c.public_url = Some("https://rampart.example.com".into()))]
    async fn an_https_public_url_adds_hsts(app) {
        let response = app.get("/api/v1/me").send().await.unwrap();
        assert_eq!(response.headers()["strict-transport-security"], "max-age=31536000");
    }

    #[configure(|c| c.header_read_timeout = Duration::from_secs(1))]
    async fn a_client_that_trickles_its_headers_is_disconnected(app) {
        // One header line every 300 ms for 30 s: never a complete request.
        let lines: Vec<Vec<u8>> = std::iter::once(b"GET /healthz HTTP/1.1\r\n".to_vec())
            .chain((0..100).map(|i| format!("X-Slow-{i}: x\r\n").into_bytes()))
            .collect();
        let chunks: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
        let answer = trickle(&app.url, &chunks).await.expect("the server closed the connection");
        assert!(!answer.contains("200 OK"), "{answer}");
        // A prompt client on the same server is served.
        assert_eq!(app.get("/healthz").send().await.unwrap().status(), StatusCode::OK);
    }

    #[configure(|c| c.request_body_timeout = Duration::from_secs(1))]
    async fn a_client_that_trickles_its_body_gets_408(app) {
        let key = app.admin_key.clone();
        let head = format!(
            "POST /v1/query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n"
        );
        let mut chunks: Vec<&[u8]> = vec![head.as_bytes()];
        chunks.extend(std::iter::repeat_n(b" ".as_slice(), 20));
        let answer = trickle(&app.url, &chunks).await.expect("the server answered");
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
        // A body sent at once is read as usual.
        let query = serde_json::json!({"package": {"name": "demo", "ecosystem": "PyPI"}, "version": "1.0"});
        let response = app.post("/v1/query").json(&query).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
}
