//! The web dashboard: server-rendered HTML pages at `/`, beside the API (`/api`, `/v1`,
//! `/public_api`, `/docs`).
//!
//! Pages are askama templates compiled into the binary; the few static assets (a stylesheet,
//! the vendored htmx and a small script) are embedded too and served under content-hashed
//! names. Handlers are as thin as the API's: they read the request, call the same
//! `rampart_engine::services` functions the API routes call (so authorisation is the same: a
//! viewer sees but cannot change, another team's object is a 404 page) and render a template.
//! Every page works without JavaScript; with it, htmx swaps only `<main>` (the server answers a
//! fragment when `HX-Request` is set, a whole page otherwise).
//!
//! Security: a strict Content-Security-Policy (no inline script or style), no framing, the
//! session in the `SameSite=Strict` HttpOnly cookie of the OTP login, and a CSRF token on every
//! state-changing request ([`csrf`]).
//!
//! Adding a page: a template in `templates/` extending `base.html`, a handler in [`pages`]
//! taking [`session::SignedIn`], and one line in [`routes`].

mod assets;
mod csrf;
mod error;
mod error_page;
mod form;
mod layout;
mod pages;
mod session;
mod trend;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderValue};
use axum::middleware::{from_fn, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;

/// The policy of every dashboard response: scripts, styles and images from this server only,
/// no inline script or style attribute, no framing, forms posting here only.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// The dashboard's routes, behind its own layers (CSRF check, error pages, security headers);
/// the caller mounts them behind the API's global layers (authentication, rate limit).
pub fn routes(state: &AppState) -> Router<AppState> {
    use pages::*;
    let max_sbom = state.config.max_sbom_bytes;
    // The evidence file plus the attestation's text fields.
    let max_evidence_form = rampart_engine::services::compliance::MAX_EVIDENCE_BYTES + 64 * 1024;
    Router::new()
        .route("/", get(portfolio::show))
        .route("/login", get(login::form).post(login::send_code))
        .route("/login/verify", post(login::verify))
        .route("/logout", post(login::logout))
        .route("/team", post(login::switch_team))
        .route("/products", post(products::create))
        .route("/products/{id}", get(products::show))
        .route("/products/{id}/releases", post(products::create_release))
        .route("/releases/{id}", get(releases::show))
        .route(
            "/releases/{id}/sboms",
            post(releases::upload).layer(DefaultBodyLimit::max(max_sbom)),
        )
        .route("/releases/{id}/dispositions", post(triage::decide))
        .route("/findings/{id}/history", get(triage::history))
        .route(
            "/releases/{id}/vex",
            get(vex::release_vex).post(vex::generate_for_release),
        )
        .route(
            "/releases/{id}/vex-imports",
            post(vex::import).layer(DefaultBodyLimit::max(max_sbom)),
        )
        .route(
            "/products/{id}/vex",
            get(vex::product_vex).post(vex::generate_for_product),
        )
        .route("/vex", get(vex::queue))
        .route("/vex/{id}", get(vex::show))
        .route("/vex/{id}/download", get(vex::download))
        .route("/vex/{id}/{action}", post(vex::step))
        .route(
            "/integrations",
            get(integrations::list).post(integrations::create),
        )
        .route(
            "/integrations/{id}",
            get(integrations::show).post(integrations::update),
        )
        .route(
            "/integrations/{id}/test",
            post(integrations::test_connection),
        )
        .route("/code-findings", get(code_findings::list))
        .route("/code-findings/{id}", get(code_findings::show))
        .route("/code-findings/{id}/triage", post(code_findings::triage))
        .route("/disclosures", get(disclosures::list))
        .route("/disclosures/{id}/download", get(disclosures::download))
        .route("/sboms/{id}", get(releases::components))
        .route("/vulnerabilities/{id}", get(vulnerabilities::show))
        .route(
            "/settings/api-keys",
            get(api_keys::list).post(api_keys::create),
        )
        .route("/settings/api-keys/{id}/revoke", post(api_keys::revoke))
        .route("/settings/api-keys/{id}/rotate", post(api_keys::rotate))
        .route(
            "/settings/members",
            get(members::list).post(members::invite),
        )
        .route(
            "/settings/members/{user_id}/role",
            post(members::change_role),
        )
        .route("/settings/members/{user_id}/remove", post(members::remove))
        .route("/audit", get(audit::list))
        .route("/compliance", get(compliance::show))
        .route(
            "/compliance/attestations",
            post(compliance::attest).layer(DefaultBodyLimit::max(max_evidence_form)),
        )
        .route(
            "/compliance/attestations/{id}/evidence",
            post(compliance::attach_evidence).layer(DefaultBodyLimit::max(max_evidence_form)),
        )
        .route(
            "/compliance/attestations/{id}/withdraw",
            post(compliance::withdraw),
        )
        .route(
            "/compliance/access-reviews",
            post(compliance::review_access),
        )
        .route("/scans", get(scans::list).post(scans::start))
        .route(
            "/scans/monitors",
            get(scans::monitors).post(scans::create_monitor),
        )
        .route("/scans/monitors/{id}/delete", post(scans::delete_monitor))
        .route("/scans/{id}", get(scans::show))
        .route("/scans/{id}/rescan", post(scans::rescan))
        .route("/usage", get(usage::show))
        .route(
            "/sync-sources",
            get(sync_sources::list).post(sync_sources::configure),
        )
        .route("/sync-sources/{id}", get(sync_sources::show))
        .route("/sync-sources/{id}/run", post(sync_sources::run))
        .route("/webhooks", get(webhooks::list).post(webhooks::create))
        .route("/webhooks/{id}", get(webhooks::show).post(webhooks::update))
        .route("/webhooks/{id}/enabled", post(webhooks::set_enabled))
        .route("/webhooks/{id}/rotate", post(webhooks::rotate))
        .route("/webhooks/{id}/test", post(webhooks::send_test))
        .route("/webhooks/{id}/delete", post(webhooks::delete))
        .route(
            "/webhooks/{id}/deliveries/{delivery_id}",
            get(webhooks::delivery),
        )
        .route(
            "/webhooks/{id}/deliveries/{delivery_id}/redeliver",
            post(webhooks::redeliver),
        )
        .route("/incidents", get(incidents::list).post(incidents::create))
        .route("/incidents/{id}", get(incidents::show))
        .route("/incidents/{id}/status", post(incidents::set_status))
        .route("/incidents/{id}/assign", post(incidents::assign))
        .route("/incidents/{id}/comments", post(incidents::comment))
        .route("/alerts", get(alerts::list).post(alerts::create))
        .route("/alerts/{id}", get(alerts::show).post(alerts::update))
        .route("/alerts/{id}/delete", post(alerts::delete))
        .route(
            "/settings/notifications",
            get(notifications::show).post(notifications::save),
        )
        .route("/assets/{file}", get(assets::serve))
        .layer(from_fn(csrf::require_token))
        .layer(from_fn(error_page::render_error_pages))
        .layer(from_fn(security_headers))
}

/// Headers on every dashboard response beyond the server-wide ones (`middleware::security_headers`:
/// no MIME sniffing, HSTS): the CSP, clickjacking protection,
/// no referrer leaving the site, and no caching of pages (they can show a key once).
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    // The page depends on these request headers (fragment or page; who is signed in).
    headers.insert(header::VARY, HeaderValue::from_static("HX-Request, Cookie"));
    response
}
