//! The OpenAPI 3.1 document, generated from the handlers' annotations, and the API
//! reference page that renders it (served from the binary: no CDN).

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{
    ArrayItems, KnownFormat, Object, ObjectBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Ref, RefOr};
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
        components
            .schemas
            .insert(SEED_ERROR_BODY.to_string(), RefOr::T(seed_error_body()));
        for (name, response) in common_response_components() {
            components
                .responses
                .insert(name.to_string(), RefOr::T(response));
        }
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

/// Raw bytes of the media type named beside them (an upload or a download), described the
/// way client generators read a file (`type: string, format: binary`), not as a JSON string.
pub struct Binary;

impl utoipa::PartialSchema for Binary {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl utoipa::ToSchema for Binary {}

/// Shared answers in `components/responses`, referred to by every route that may give them.
const UNAUTHORIZED: &str = "Unauthorized";
const FORBIDDEN: &str = "Forbidden";
const RATE_LIMITED: &str = "RateLimited";
const BAD_REQUEST: &str = "BadRequest";
const NOT_FOUND: &str = "NotFound";
const PAYLOAD_TOO_LARGE: &str = "PayloadTooLarge";
const UNSUPPORTED_MEDIA_TYPE: &str = "UnsupportedMediaType";
const UNPROCESSABLE: &str = "UnprocessableEntity";
const CONFLICT: &str = "Conflict";
/// Seed 003's error envelope, `{"success": false, "error": "…"}` (its API-key routes).
const SEED_ERROR_BODY: &str = "SeedErrorBody";

/// Routes answering their own errors in seed 003's envelope instead of [`ErrorBody`]
/// (`routes::seed_api_keys::SeedError`).
fn answers_in_seed_envelope(path: &str) -> bool {
    matches!(
        path,
        "/api/create-api-key"
            | "/api/list-api-keys"
            | "/api/revoke-api-key"
            | "/api/rotate-api-key"
    )
}

/// The answers every route may give beside its own, so that a generated client reads them
/// as typed errors (and a conformance checker finds every status the server really gives
/// declared): 429 with `Retry-After` on every rate-limited route (all but the health probes);
/// on `protected` routes, 401 for missing or invalid credentials and 403 for a missing scope
/// or a plan without API keys; 400 on every route taking parameters or a body (a path or query value that
/// does not parse, a value out of range); 404 on every route with a path parameter (absent,
/// or another team's); and on every route taking a body, 409 (a name taken, a state that does
/// not allow the change), 413 (over the body limit), 415 (a
/// JSON body sent without a JSON `Content-Type`) and 422 (well-formed but invalid). A route
/// that documents one of these itself keeps its own.
pub fn add_common_responses(document: &mut utoipa::openapi::OpenApi, protected: bool) {
    use utoipa::openapi::path::ParameterIn;
    for (path, item) in document.paths.paths.iter_mut() {
        if crate::ratelimit::is_exempt(path) {
            continue;
        }
        let seed_envelope = answers_in_seed_envelope(path);
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            let parameters = operation.parameters.as_deref().unwrap_or_default();
            let in_path = parameters
                .iter()
                .any(|p| matches!(p.parameter_in, ParameterIn::Path));
            let has_body = operation.request_body.is_some();
            let takes_input = has_body || !parameters.is_empty();
            let responses = &mut operation.responses.responses;
            let mut add = |status: &str, name: &str| {
                responses.entry(status.to_string()).or_insert_with(|| {
                    if seed_envelope && !matches!(name, UNAUTHORIZED | FORBIDDEN | RATE_LIMITED) {
                        RefOr::T(seed_error_response(name))
                    } else {
                        shared_response(name)
                    }
                });
            };
            if protected {
                add("401", UNAUTHORIZED);
            }
            if protected {
                // Every credential of a team whose plan has no API keys (or whose
                // subscription lapsed) is refused with `upgrade_required`, scope or not.
                add("403", FORBIDDEN);
            }
            add("429", RATE_LIMITED);
            if takes_input {
                add("400", BAD_REQUEST);
            }
            if in_path {
                add("404", NOT_FOUND);
            }
            if has_body {
                add("409", CONFLICT);
                add("413", PAYLOAD_TOO_LARGE);
                add("415", UNSUPPORTED_MEDIA_TYPE);
                if !seed_envelope {
                    // Seed 003's routes answer invalid input with 400, as the seed documents.
                    add("422", UNPROCESSABLE);
                }
            }
        }
    }
}

fn shared_response(name: &str) -> RefOr<Response> {
    RefOr::Ref(Ref::new(format!("#/components/responses/{name}")))
}

/// A shared answer of a route that answers in seed 003's envelope.
fn seed_error_response(name: &str) -> Response {
    let description = common_response_components()
        .into_iter()
        .find(|(shared, _)| *shared == name)
        .map(|(_, response)| response.description)
        .unwrap_or_default();
    ResponseBuilder::new()
        .description(description.replace("`ErrorBody`", "`SeedErrorBody`"))
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(SEED_ERROR_BODY)))
                .build(),
        )
        .build()
}

/// Seed 003's error envelope as a schema.
fn seed_error_body() -> Schema {
    ObjectBuilder::new()
        .description(Some(
            "Seed 003's error envelope (its API-key routes): `{\"success\": false, \"error\": \"…\"}`",
        ))
        .property(
            "success",
            ObjectBuilder::new()
                .schema_type(Type::Boolean)
                .enum_values(Some([false])),
        )
        .required("success")
        .property("error", ObjectBuilder::new().schema_type(Type::String))
        .required("error")
        .into()
}

/// The shared answers' definitions (see [`add_common_responses`]).
fn common_response_components() -> [(&'static str, Response); 9] {
    let integer = |description: &str| {
        HeaderBuilder::new()
            .schema(Object::with_type(Type::Integer))
            .description(Some(description))
            .build()
    };
    [
        (
            UNAUTHORIZED,
            error_response(
                "No credentials (`missing_credentials`), or an expired, revoked or unknown key or \
                 session (`invalid_api_key`)",
            )
            .build(),
        ),
        (
            FORBIDDEN,
            error_response(
                "The credential lacks the route's scope (`insufficient_scope`), or its team's plan \
                 or subscription does not allow API keys (`upgrade_required`)",
            )
            .build(),
        ),
        (
            RATE_LIMITED,
            error_response(
                "Rate limited (`rate_limited`): the caller's requests of this minute are used up",
            )
            .header(
                "Retry-After",
                integer("Seconds until the window resets and the request may be retried"),
            )
            .header("X-RateLimit-Limit", integer("Requests allowed per minute"))
            .header(
                "X-RateLimit-Remaining",
                integer("Requests left in this window (0)"),
            )
            .header(
                "X-RateLimit-Reset",
                integer("Unix seconds when the window resets"),
            )
            .build(),
        ),
        (
            BAD_REQUEST,
            error_response(
                "Bad input (`bad_request`, `invalid_json`, …): a path or query value that does not \
                 parse or is out of range, or a body that is not well-formed; the message names it",
            )
            .build(),
        ),
        (
            NOT_FOUND,
            error_response("Absent, or another team's (`not_found`)").build(),
        ),
        (
            CONFLICT,
            error_response(
                "Conflict (`conflict`, …): a name already taken, or a change the object's state \
                 does not allow",
            )
            .build(),
        ),
        (
            PAYLOAD_TOO_LARGE,
            error_response("The body exceeds the server's limit (`payload_too_large`)").build(),
        ),
        (
            UNSUPPORTED_MEDIA_TYPE,
            error_response(
                "The body's `Content-Type` is not one the route reads (`unsupported_media_type`)",
            )
            .build(),
        ),
        (
            UNPROCESSABLE,
            error_response(
                "Well-formed but invalid (`invalid_body`, `validation_failed`, …): the message \
                 names the field",
            )
            .build(),
        ),
    ]
}

fn error_response(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build(),
    )
}

/// What the document says of pagination, from the one place that checks it
/// ([`rampart_core::PageRequest`]): every query parameter `page` is 1 or more (up to
/// `u32::MAX`), every `per_page` 1 to [`rampart_core::MAX_PER_PAGE`], whatever integer
/// type a route reads them into.
pub fn bound_pagination(document: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            for parameter in operation.parameters.iter_mut().flatten() {
                if !matches!(parameter.parameter_in, ParameterIn::Query) {
                    continue;
                }
                let maximum = match parameter.name.as_str() {
                    "page" => u64::from(u32::MAX),
                    "per_page" => u64::from(rampart_core::MAX_PER_PAGE),
                    _ => continue,
                };
                if let Some(RefOr::T(Schema::Object(object))) = parameter.schema.as_mut() {
                    object.minimum = Some(utoipa::Number::UInt(1));
                    object.maximum = Some(utoipa::Number::UInt(maximum as usize));
                    object.format = None;
                }
            }
        }
    }
}

/// Untagged enums whose variants can describe the same JSON (an empty page of either
/// kind of finding): `anyOf`, since `oneOf` would refuse a value matching both.
const OVERLAPPING_UNTAGGED: [&str; 1] = ["FindingsPage"];

pub fn overlapping_untagged_as_any_of(document: &mut utoipa::openapi::OpenApi) {
    let Some(components) = document.components.as_mut() else {
        return;
    };
    for name in OVERLAPPING_UNTAGGED {
        if let Some(RefOr::T(schema)) = components.schemas.get_mut(name) {
            if let Schema::OneOf(one_of) = schema {
                let mut any_of = utoipa::openapi::schema::AnyOf::new();
                any_of.items = std::mem::take(&mut one_of.items);
                any_of.description = one_of.description.take();
                *schema = Schema::AnyOf(any_of);
            }
        }
    }
}

/// A generic wrapper's schema (`Paginated_FindingBody` for `Paginated<FindingBody>`) gets its
/// argument inlined by utoipa, so generated clients grew a second class for every listed type
/// (`PaginatedFindingBodyItemsItem` beside `FindingBody`). Where a property of such a wrapper
/// (or the items of an array property) is exactly the argument's own component, it becomes a
/// `$ref` to that component.
pub fn refer_generic_arguments(document: &mut utoipa::openapi::OpenApi) {
    let Some(components) = document.components.as_mut() else {
        return;
    };
    let named: Vec<(String, serde_json::Value)> = components
        .schemas
        .iter()
        .filter_map(|(name, schema)| Some((name.clone(), serde_json::to_value(schema).ok()?)))
        .collect();
    for (name, schema) in components.schemas.iter_mut() {
        let Some((_, argument)) = name.split_once('_') else {
            continue;
        };
        let Some((_, definition)) = named.iter().find(|(name, _)| name == argument) else {
            continue;
        };
        let RefOr::T(Schema::Object(object)) = schema else {
            continue;
        };
        for property in object.properties.values_mut() {
            refer_if_equal(property, argument, definition);
        }
    }
}

fn refer_if_equal(schema: &mut RefOr<Schema>, name: &str, definition: &serde_json::Value) {
    if serde_json::to_value(&*schema).ok().as_ref() == Some(definition) {
        *schema = RefOr::Ref(Ref::from_schema_name(name));
    } else if let RefOr::T(Schema::Array(array)) = schema {
        if let ArrayItems::RefOrSchema(items) = &mut array.items {
            refer_if_equal(items, name, definition);
        }
    }
}
