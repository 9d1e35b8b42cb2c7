//! CSRF tokens for the dashboard.
//!
//! Signed in, the token is derived from the session token (SHA-256 under a fixed label): an
//! attacker who cannot read the HttpOnly session cookie cannot compute it, and it dies with the
//! session. Before signing in (the login forms) it is the random value of the `rampart_csrf`
//! cookie (double submit). Every request other than GET/HEAD to a dashboard route must present
//! it: in the `X-CSRF-Token` header (htmx sends it on every request), as the `csrf_token` field
//! of a url-encoded form, or as the `csrf_token` query parameter (multipart uploads, whose body
//! is not buffered here). Otherwise: 403. Both cookies are `SameSite=Strict` as well.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::WebError;
use crate::auth::session_cookie;

/// The pre-login token's cookie.
pub const CSRF_COOKIE: &str = "rampart_csrf";
/// The form field and query parameter carrying the token.
pub const FIELD: &str = "csrf_token";
/// The header carrying the token (htmx requests).
pub const HEADER: &str = "x-csrf-token";
/// Largest url-encoded form body read for its token.
const FORM_LIMIT: usize = 1024 * 1024;

/// The token bound to a session token.
pub fn session_token(session: &str) -> String {
    hex::encode(Sha256::digest(format!("rampart dashboard csrf\0{session}")))
}

/// The token this request's cookies call for: the session's, else the pre-login cookie's.
pub fn expected(headers: &HeaderMap) -> Option<String> {
    if let Some(session) = session_cookie(headers) {
        return Some(session_token(session));
    }
    cookie(headers, CSRF_COOKIE).map(str::to_string)
}

/// The token to put in forms; with the cookie to set when the visitor has none yet.
pub fn for_visitor(headers: &HeaderMap, secure: bool) -> (String, Option<HeaderValue>) {
    if let Some(token) = expected(headers) {
        return (token, None);
    }
    let mut random = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut random);
    let token = hex::encode(random);
    let secure = if secure { "; Secure" } else { "" };
    let cookie = HeaderValue::from_str(&format!(
        "{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("cookie is ASCII");
    (token, Some(cookie))
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
}

/// True when `presented` is the expected token (compared in constant time).
pub fn matches(expected: Option<&str>, presented: Option<&str>) -> bool {
    match (expected, presented) {
        (Some(expected), Some(presented)) => {
            bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
        }
        _ => false,
    }
}

/// The `csrf_token` pair of a url-encoded string (query or form body).
fn field(encoded: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(encoded)
        .find(|(key, _)| key == FIELD)
        .map(|(_, value)| value.into_owned())
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
}

/// Layer of the dashboard's routes: a state-changing request without the right token is 403.
pub async fn require_token(request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let expected = expected(request.headers());
    let mut presented = request
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| request.uri().query().and_then(|q| field(q.as_bytes())));
    let request = if presented.is_none() && is_form(request.headers()) {
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, FORM_LIMIT).await else {
            return WebError::bad_request("the form is too large").into_response();
        };
        presented = field(&bytes);
        Request::from_parts(parts, Body::from(bytes))
    } else {
        request
    };
    if matches(expected.as_deref(), presented.as_deref()) {
        next.run(request).await
    } else {
        WebError::forbidden(
            "This form has expired or did not come from this site (its CSRF token is missing or \
             wrong). Reload the page and try again.",
        )
        .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_tokens_are_bound_to_the_session() {
        assert_eq!(session_token("rks_a"), session_token("rks_a"));
        assert_ne!(session_token("rks_a"), session_token("rks_b"));
        assert_eq!(session_token("rks_a").len(), 64);
    }

    #[test]
    fn the_session_cookie_decides_the_token_before_the_csrf_cookie() {
        let mut headers = HeaderMap::new();
        assert_eq!(expected(&headers), None);
        headers.insert(header::COOKIE, HeaderValue::from_static("rampart_csrf=abc"));
        assert_eq!(expected(&headers).as_deref(), Some("abc"));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("rampart_csrf=abc; rampart_session=rks_x"),
        );
        assert_eq!(expected(&headers), Some(session_token("rks_x")));
    }

    #[test]
    fn a_token_must_be_presented_and_equal() {
        assert!(matches(Some("abc"), Some("abc")));
        assert!(!matches(Some("abc"), Some("abd")));
        assert!(!matches(Some("abc"), None));
        assert!(!matches(None, Some("abc")));
        assert!(!matches(None, None));
        assert!(!matches(Some(""), Some("abc")));
    }

    #[test]
    fn the_field_is_read_from_url_encoded_text() {
        assert_eq!(field(b"a=1&csrf_token=t%20x").as_deref(), Some("t x"));
        assert_eq!(field(b"a=1"), None);
    }

    #[test]
    fn a_visitor_without_cookies_gets_a_fresh_cookie() {
        let (token, cookie) = for_visitor(&HeaderMap::new(), true);
        let cookie = cookie.expect("a cookie is set");
        let cookie = cookie.to_str().unwrap();
        assert!(cookie.contains(&token) && cookie.contains("SameSite=Strict"));
        assert!(cookie.contains("HttpOnly") && cookie.ends_with("; Secure"));
    }
}
