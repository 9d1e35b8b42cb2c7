//! What `templates/base.html` needs around every page: the title, the current section, the
//! CSRF token, the signed-in user's bar and the asset URLs; and whether to render only the
//! content (an htmx request) or the whole page.

use askama::Template;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use super::assets;

/// One team of the signed-in user, for the team switcher.
pub struct TeamChoice {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub current: bool,
}

/// The signed-in user's bar.
pub struct UserBar {
    pub email: String,
    pub role: String,
    pub teams: Vec<TeamChoice>,
}

pub struct Layout {
    pub title: String,
    /// The section of the main navigation this page belongs to (`aria-current`).
    pub nav: &'static str,
    pub csrf: String,
    pub user: Option<UserBar>,
    /// Only the content: the request came from htmx, which swaps `<main>`.
    pub fragment: bool,
    pub css: String,
    pub htmx: String,
    pub script: String,
}

impl Layout {
    pub fn new(title: impl Into<String>, nav: &'static str, csrf: String, fragment: bool) -> Self {
        Layout {
            title: title.into(),
            nav,
            csrf,
            user: None,
            fragment,
            css: assets::url("app.css"),
            htmx: assets::url("htmx.min.js"),
            script: assets::url("app.js"),
        }
    }

    /// The main navigation: (path, label, section).
    pub fn sections(&self) -> &'static [(&'static str, &'static str, &'static str)] {
        &[
            ("/", "Portfolio", "portfolio"),
            ("/vex", "VEX", "vex"),
            ("/disclosures", "Disclosures", "disclosures"),
            ("/code-findings", "Code findings", "code-findings"),
            ("/scans", "Scans", "scans"),
            ("/integrations", "Integrations", "integrations"),
            ("/incidents", "Incidents", "incidents"),
            ("/alerts", "Alerts", "alerts"),
            ("/webhooks", "Webhooks", "webhooks"),
            ("/sync-sources", "Sync sources", "sync"),
            ("/settings/api-keys", "API keys", "api-keys"),
            ("/settings/members", "Members", "members"),
            ("/audit", "Audit log", "audit"),
            ("/compliance", "Compliance", "compliance"),
            ("/usage", "API usage", "usage"),
        ]
    }
}

/// True for htmx's own requests that swap part of the page; a history restore wants it all.
pub fn wants_fragment(headers: &HeaderMap) -> bool {
    let flag = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == "true")
    };
    flag("hx-request") && !flag("hx-history-restore-request")
}

/// A rendered template as an HTML response.
pub fn render(template: &impl Template) -> Response {
    render_with_status(StatusCode::OK, template)
}

pub fn render_with_status(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot render a dashboard template");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!DOCTYPE html><title>Error</title><p>The page could not be rendered.</p>"),
            )
                .into_response()
        }
    }
}

/// After a change: the page at `path`. htmx loads it into `<main>` (and the address bar); a
/// plain form post gets `303 See Other`.
pub fn see_other(fragment: bool, path: &str) -> Response {
    if fragment {
        let location = serde_json::json!({ "path": path, "target": "#main" }).to_string();
        let mut response = StatusCode::NO_CONTENT.into_response();
        if let Ok(value) = HeaderValue::from_str(&location) {
            response.headers_mut().insert("hx-location", value);
        }
        response
    } else {
        redirect(path)
    }
}

/// A whole new page at `path` (signing in or out, switching teams: the header changes too).
pub fn reload(fragment: bool, path: &str) -> Response {
    if fragment {
        let mut response = StatusCode::NO_CONTENT.into_response();
        if let Ok(value) = HeaderValue::from_str(path) {
            response.headers_mut().insert("hx-redirect", value);
        }
        response
    } else {
        redirect(path)
    }
}

fn redirect(path: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(path) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_htmx_requests_that_are_not_history_restores_get_fragments() {
        let mut headers = HeaderMap::new();
        assert!(!wants_fragment(&headers));
        headers.insert("hx-request", HeaderValue::from_static("true"));
        assert!(wants_fragment(&headers));
        headers.insert(
            "hx-history-restore-request",
            HeaderValue::from_static("true"),
        );
        assert!(!wants_fragment(&headers));
    }
}
