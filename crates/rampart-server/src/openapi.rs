//! The OpenAPI 3.1 document, generated from the handlers' annotations, and the API
//! reference page that renders it (served from the binary: no CDN).

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::RefOr;
use utoipa::{Modify, OpenApi};

use crate::error::{ErrorBody, ErrorCode};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Rampart",
        description = "Self-hosted vulnerability intelligence and management. \
            Authenticate with `Authorization: Bearer rk_live_…` (an API key) or \
            `Bearer rks_…` (a session from `POST /api/v1/auth/otp/verify`). Errors share one body: \
            `{\"error\":{\"code\",\"message\",\"documentation_url\"}}`.",
        license(name = "Apache-2.0")
    ),
    components(schemas(ErrorBody)),
    modifiers(&SecurityAndErrors),
    tags(
        (name = "health", description = "Liveness and readiness probes (no credentials)"),
        (name = "identity", description = "Who is calling"),
        (name = "knowledge-base", description = "Vulnerabilities, the CPE product catalogue, exploits (scope `kb:read`)"),
        (name = "osv", description = "OSV-compatible API (osv.dev wire format; scope `kb:read`)"),
        (name = "products", description = "Products a team ships (seed 004's `/api/products` paths serve the same JSON)"),
        (name = "releases", description = "Versions of a product"),
        (name = "sboms", description = "SBOM upload (CycloneDX, SPDX), download, components, analysis jobs"),
        (name = "triage", description = "Triage decisions (dispositions) on findings: record, bulk-apply, history; carried over to new releases"),
        (name = "sync", description = "Sync sources: server-wide feed configuration (OSV, NVD, GHSA, KEV, EPSS, ExploitDB) and their runs"),
        (name = "auth", description = "Passwordless e-mail login (one-time codes) and sessions"),
        (name = "api-keys", description = "API keys: canonical resources and seed 003's endpoints"),
        (name = "teams", description = "Teams, members and plans"),
        (name = "audit", description = "The append-only audit log"),
        (name = "integrations", description = "AppSec data-source integrations (seed 001's `/public_api/appsec/v1/…` paths serve the same JSON) and SARIF 2.1.0 uploads"),
        (name = "vex", description = "VEX documents (OpenVEX, CycloneDX, CSAF) generated from triage decisions, and their approval workflow"),
        (name = "scans", description = "Website and host scans (seeds 003 and 002): technology/version detection with Recog and our own tables, CVE cross-referencing, rescans with diffs, JSON export, URL monitors and quota use (scopes `scans:read` / `scans:write`; plan limits `scans_per_day`, `url_monitors`; targets must be in the operator's `--scan-allowed-targets`)"),
        (name = "alerts", description = "Product/vendor CVE alerts (seed 003): watches on a vendor, a product or a package, their matches and delivery status (scopes `scans:read` / `scans:write`; plan limit `product_alerts`)"),
        (name = "notifications", description = "E-mail notifications: each person's preferences (event types, immediate or daily digest) and the unsubscribe link"),
        (name = "disclosures", description = "Published VEX documents, and their optional public distribution (CSAF 2.0 §7 layout)"),
        (name = "webhooks", description = "Signed webhook endpoints (seed 002's `/v1/webhooks` paths serve the same JSON): deliveries, retries, the delivery log"),
        (name = "events", description = "The event stream (finding, VEX, sync, SARIF, alert, incident events …) that webhooks deliver (scope `webhooks:read`)"),
        (name = "incidents", description = "Incident tickets (seed 002's `POST /v1/incidents` serves the same JSON): automated triage, SLA, dedupe, assignment, workflow, timeline, MTTA/MTTR"),
        (name = "compliance", description = "Compliance posture measured from platform evidence (seed 002's `GET /v1/compliance/posture`): SOC 2, ISO 27001, HIPAA, GDPR, NTIA SBOM elements and EU CRA Annex I; gap analysis, history, reports (JSON, HTML, PDF, OSCAL), attestations and access reviews"),
    )
)]
pub struct ApiDoc;

struct SecurityAndErrors;

impl Modify for SecurityAndErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key (`rk_live_…` or `rk_test_…`) or a session token",
                    ))
                    .build(),
            ),
        );
        // Every error code with its meaning: the docs page renders these at /docs/errors.
        let descriptions: serde_json::Map<String, serde_json::Value> = ErrorCode::ALL
            .iter()
            .map(|code| {
                let text = format!("HTTP {}. {}", code.http_status(), code.description());
                (code.as_str().to_string(), serde_json::Value::from(text))
            })
            .collect();
        let codes = ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("Stable error codes"))
            .enum_values(Some(ErrorCode::ALL.iter().map(|code| code.as_str())))
            .extensions(Some(
                ExtensionsBuilder::new()
                    .add(
                        "x-enum-descriptions",
                        serde_json::Value::Object(descriptions),
                    )
                    .build(),
            ));
        components.schemas.insert(
            "ErrorCode".to_string(),
            RefOr::T(Schema::Object(codes.build())),
        );
    }
}

const DOCS_PAGE: &str = include_str!("../assets/docs.html");

/// The API reference page (also answers `/docs/errors`, whose fragments name error codes).
pub async fn docs_page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
            ),
        ],
        DOCS_PAGE,
    )
}
