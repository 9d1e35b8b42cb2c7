//! Webhook endpoints: canonical `/api/v1/webhooks` and seed 002's `/v1/webhooks` (the same
//! JSON, the same service: `rampart_engine::services::webhooks`). Deliveries are signed with
//! `X-Rampart-Signature` (seed 002's hex HMAC-SHA256 of the body), `X-Rampart-Signature-256`
//! (`sha256=` + the same) and Standard Webhooks' `webhook-id`, `webhook-timestamp`,
//! `webhook-signature` (README: "Webhooks").

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use rampart_core::Scope;
use rampart_engine::services::webhooks::{self, CreateWebhook, RotateWebhookSecret, UpdateWebhook};
use rampart_engine::webhooks::WebhookSecret;
use rampart_store::{WebhookAttempt, WebhookDelivery, WebhookEndpoint};
use serde::{Deserialize, Serialize};

use super::Paginated;
use crate::auth::{Principal, RequestMeta};
use crate::error::{ApiError, ApiJson, ApiQuery, ErrorBody, ErrorCode};
use crate::state::AppState;

/// An endpoint (never its secret, except once on creation and rotation).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookBody {
    pub id: i64,
    pub url: String,
    pub description: String,
    /// Event types delivered; empty: every type.
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Why the server disabled it (`410 Gone`, failing too long); null otherwise.
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// Since when every attempt failed (null after a success).
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when the previous secret signs too (after a rotation).
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub secret_rotated_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The signing secret: only in the response that created or rotated it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_mode: Option<bool>,
}

impl WebhookBody {
    fn new(endpoint: WebhookEndpoint, secret: Option<&WebhookSecret>) -> Self {
        let now = Utc::now();
        WebhookBody {
            id: endpoint.id,
            url: endpoint.url,
            description: endpoint.description,
            event_types: endpoint.event_types,
            enabled: endpoint.enabled,
            disabled_reason: endpoint.disabled_reason,
            disabled_at: endpoint.disabled_at,
            failing_since: endpoint.failing_since,
            previous_secret_expires_at: endpoint
                .previous_secret_expires_at
                .filter(|until| *until > now),
            secret_rotated_at: endpoint.secret_rotated_at,
            created_by: endpoint.created_by,
            created_at: endpoint.created_at,
            updated_at: endpoint.updated_at,
            secret: secret.map(|s| s.reveal().to_string()),
            test_mode: endpoint.is_test.then_some(true),
        }
    }
}

/// One delivery of an event to an endpoint.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryBody {
    pub id: i64,
    pub endpoint_id: i64,
    pub event_id: i64,
    pub event_type: String,
    /// `pending`, `delivered`, `failed` (retries exhausted or 410) or `cancelled` (endpoint
    /// disabled).
    pub status: String,
    pub attempts: i64,
    /// When the next attempt is due (pending deliveries only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// Every attempt, oldest first (on a single delivery only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt_log: Option<Vec<AttemptBody>>,
}

impl From<WebhookDelivery> for DeliveryBody {
    fn from(d: WebhookDelivery) -> Self {
        DeliveryBody {
            next_attempt_at: (d.status == "pending").then_some(d.next_attempt_at),
            id: d.id,
            endpoint_id: d.endpoint_id,
            event_id: d.event_id,
            event_type: d.event_type,
            status: d.status,
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
            updated_at: d.updated_at,
            attempt_log: None,
        }
    }
}

/// One attempt: what the receiver answered and how long it took.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttemptBody {
    pub attempt: i64,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
    /// The HTTP status; null when no answer came (the error says why).
    pub status_code: Option<i64>,
    /// The first 1 KB of the response body.
    pub response: Option<String>,
    pub error: Option<String>,
}

impl From<WebhookAttempt> for AttemptBody {
    fn from(a: WebhookAttempt) -> Self {
        AttemptBody {
            attempt: a.attempt,
            started_at: a.started_at,
            duration_ms: a.duration_ms,
            status_code: a.status_code,
            response: a.response_excerpt,
            error: a.error,
        }
    }
}

/// What "send test event" queued.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TestEventBody {
    pub event_id: i64,
    /// The delivery to poll; null for a test key (recorded, never delivered).
    pub delivery_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_mode: Option<bool>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WebhookPageQuery {
    /// 1-based page number [default: 1].
    pub page: Option<u32>,
    /// Items per page, 1–500 [default: 50].
    pub per_page: Option<u32>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// Only deliveries in this status: `pending`, `delivered`, `failed`, `cancelled`.
    #[param(pattern = "^(pending|delivered|failed|cancelled)$")]
    pub status: Option<String>,
    /// 1-based page number [default: 1].
    pub page: Option<u32>,
    /// Items per page, 1–500 [default: 50].
    pub per_page: Option<u32>,
}

fn page_request(
    page: Option<u32>,
    per_page: Option<u32>,
) -> Result<rampart_core::PageRequest, ApiError> {
    super::PageQuery { page, per_page }.to_request()
}

async fn create(
    state: AppState,
    meta: RequestMeta,
    principal: Principal,
    body: Result<ApiJson<CreateWebhook>, ApiError>,
) -> Result<(StatusCode, Json<WebhookBody>), ApiError> {
    principal.require(Scope::WebhooksWrite)?;
    let ApiJson(body) = body?;
    let (endpoint, secret) = webhooks::create(&state, &principal, &meta, body).await?;
    Ok((
        StatusCode::CREATED,
        Json(WebhookBody::new(endpoint, Some(&secret))),
    ))
}

async fn list(
    state: AppState,
    principal: Principal,
    query: Result<ApiQuery<WebhookPageQuery>, ApiError>,
) -> Result<Json<Paginated<WebhookBody>>, ApiError> {
    principal.require(Scope::WebhooksRead)?;
    let ApiQuery(query) = query?;
    let request = page_request(query.page, query.per_page)?;
    let page = webhooks::list(&state, &principal, request).await?;
    Ok(Json(Paginated::new(page, request, |e| {
        WebhookBody::new(e, None)
    })))
}

async fn get(
    state: AppState,
    principal: Principal,
    id: i64,
) -> Result<Json<WebhookBody>, ApiError> {
    principal.require(Scope::WebhooksRead)?;
    let endpoint = webhooks::get(&state, &principal, id).await?;
    Ok(Json(WebhookBody::new(endpoint, None)))
}

async fn update(
    state: AppState,
    meta: RequestMeta,
    principal: Principal,
    id: i64,
    body: Result<ApiJson<UpdateWebhook>, ApiError>,
) -> Result<Json<WebhookBody>, ApiError> {
    principal.require(Scope::WebhooksWrite)?;
    let ApiJson(body) = body?;
    let endpoint = webhooks::update(&state, &principal, &meta, id, body).await?;
    Ok(Json(WebhookBody::new(endpoint, None)))
}

async fn delete(
    state: AppState,
    meta: RequestMeta,
    principal: Principal,
    id: i64,
) -> Result<StatusCode, ApiError> {
    principal.require(Scope::WebhooksWrite)?;
    webhooks::delete(&state, &principal, &meta, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn rotate(
    state: AppState,
    meta: RequestMeta,
    principal: Principal,
    id: i64,
    body: axum::body::Bytes,
) -> Result<Json<WebhookBody>, ApiError> {
    principal.require(Scope::WebhooksWrite)?;
    // The body is optional: none, an empty one or `null` (as the document allows) generates
    // a secret.
    let request = if body.iter().all(u8::is_ascii_whitespace) {
        RotateWebhookSecret::default()
    } else {
        serde_json::from_slice::<Option<RotateWebhookSecret>>(&body)
            .map_err(|e| ApiError::new(ErrorCode::InvalidBody, format!("invalid JSON body: {e}")))?
            .unwrap_or_default()
    };
    let (endpoint, secret, _) =
        webhooks::rotate_secret(&state, &principal, &meta, id, request).await?;
    Ok(Json(WebhookBody::new(endpoint, Some(&secret))))
}

async fn test_event(
    state: AppState,
    meta: RequestMeta,
    principal: Principal,
    id: i64,
) -> Result<(StatusCode, Json<TestEventBody>), ApiError> {
    principal.require(Scope::WebhooksWrite)?;
    let (event, delivery_id) = webhooks::send_test(&state, &principal, &meta, id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(TestEventBody {
            event_id: event.id,
            delivery_id,
            test_mode: event.test_mode.then_some(true),
        }),
    ))
}

async fn deliveries(
    state: AppState,
    principal: Principal,
    id: i64,
    query: Result<ApiQuery<DeliveryQuery>, ApiError>,
) -> Result<Json<Paginated<DeliveryBody>>, ApiError> {
    principal.require(Scope::WebhooksRead)?;
    let ApiQuery(query) = query?;
    let request = page_request(query.page, query.per_page)?;
    let page =
        webhooks::deliveries(&state, &principal, id, query.status.as_deref(), request).await?;
    Ok(Json(Paginated::new(page, request, DeliveryBody::from)))
}

async fn delivery(
    state: AppState,
    principal: Principal,
    id: i64,
    delivery_id: i64,
) -> Result<Json<DeliveryBody>, ApiError> {
    principal.require(Scope::WebhooksRead)?;
    let (delivery, attempts) = webhooks::delivery(&state, &principal, id, delivery_id).await?;
    let mut body = DeliveryBody::from(delivery);
    body.attempt_log = Some(attempts.into_iter().map(AttemptBody::from).collect());
    Ok(Json(body))
}

async fn redeliver(
    state: AppState,
    meta: RequestMeta,
    principal: Principal,
    id: i64,
    delivery_id: i64,
) -> Result<(StatusCode, Json<DeliveryBody>), ApiError> {
    principal.require(Scope::WebhooksWrite)?;
    let delivery = webhooks::redeliver(&state, &principal, &meta, id, delivery_id).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery.into())))
}

/// Each operation twice: under `/api/v1/webhooks` and seed 002's `/v1/webhooks`.
macro_rules! routes_at {
    ($prefix:literal, $one:literal, $rotate_path:literal, $test_path:literal,
     $deliveries_path:literal, $delivery_path:literal, $redeliver_path:literal,
     $create:ident, $list:ident, $get:ident, $update:ident, $delete:ident,
     $rotate:ident, $test:ident, $deliveries:ident, $delivery:ident, $redeliver:ident) => {
        /// Creates a webhook endpoint; the response carries its signing secret, once.
        #[utoipa::path(post, path = $prefix, tag = "webhooks",
            security(("bearer" = ["webhooks:write"])),
            request_body = CreateWebhook,
            responses(
                (status = 201, description = "Created (with `secret`, shown once)", body = WebhookBody),
                (status = 422, description = "A field is invalid (named in the message)", body = ErrorBody),
            ))]
        pub async fn $create(
            State(state): State<AppState>,
            meta: RequestMeta,
            principal: Principal,
            body: Result<ApiJson<CreateWebhook>, ApiError>,
        ) -> Result<(StatusCode, Json<WebhookBody>), ApiError> {
            create(state, meta, principal, body).await
        }

        /// The team's webhook endpoints.
        #[utoipa::path(get, path = $prefix, tag = "webhooks",
            security(("bearer" = ["webhooks:read"])),
            params(WebhookPageQuery),
            responses(
                (status = 200, description = "One page of endpoints", body = Paginated<WebhookBody>),
                (status = 400, description = "Bad query parameter", body = ErrorBody),
            ))]
        pub async fn $list(
            State(state): State<AppState>,
            principal: Principal,
            query: Result<ApiQuery<WebhookPageQuery>, ApiError>,
        ) -> Result<Json<Paginated<WebhookBody>>, ApiError> {
            list(state, principal, query).await
        }

        /// One webhook endpoint.
        #[utoipa::path(get, path = $one, tag = "webhooks",
            security(("bearer" = ["webhooks:read"])),
            params(("id" = i64, Path, description = "Endpoint id")),
            responses(
                (status = 200, description = "The endpoint", body = WebhookBody),
                (status = 404, description = "No such endpoint in this team", body = ErrorBody),
            ))]
        pub async fn $get(
            State(state): State<AppState>,
            principal: Principal,
            Path(id): Path<i64>,
        ) -> Result<Json<WebhookBody>, ApiError> {
            get(state, principal, id).await
        }

        /// Changes an endpoint's URL, type filter, description or enabled flag.
        #[utoipa::path(patch, path = $one, tag = "webhooks",
            security(("bearer" = ["webhooks:write"])),
            params(("id" = i64, Path, description = "Endpoint id")),
            request_body = UpdateWebhook,
            responses(
                (status = 200, description = "The endpoint", body = WebhookBody),
                (status = 404, description = "No such endpoint in this team", body = ErrorBody),
                (status = 422, description = "A field is invalid", body = ErrorBody),
            ))]
        pub async fn $update(
            State(state): State<AppState>,
            meta: RequestMeta,
            principal: Principal,
            Path(id): Path<i64>,
            body: Result<ApiJson<UpdateWebhook>, ApiError>,
        ) -> Result<Json<WebhookBody>, ApiError> {
            update(state, meta, principal, id, body).await
        }

        /// Deletes an endpoint with its deliveries and their log.
        #[utoipa::path(delete, path = $one, tag = "webhooks",
            security(("bearer" = ["webhooks:write"])),
            params(("id" = i64, Path, description = "Endpoint id")),
            responses(
                (status = 204, description = "Deleted"),
                (status = 404, description = "No such endpoint in this team", body = ErrorBody),
            ))]
        pub async fn $delete(
            State(state): State<AppState>,
            meta: RequestMeta,
            principal: Principal,
            Path(id): Path<i64>,
        ) -> Result<StatusCode, ApiError> {
            delete(state, meta, principal, id).await
        }

        /// Replaces the signing secret (generated, or the one sent); the previous secret keeps
        /// signing too during the overlap. The response carries the new secret, once.
        #[utoipa::path(post, path = $rotate_path, tag = "webhooks",
            security(("bearer" = ["webhooks:write"])),
            params(("id" = i64, Path, description = "Endpoint id")),
            request_body(content = Option<RotateWebhookSecret>, description = "Optional"),
            responses(
                (status = 200, description = "The endpoint with its new `secret`", body = WebhookBody),
                (status = 404, description = "No such endpoint in this team", body = ErrorBody),
                (status = 422, description = "A field is invalid", body = ErrorBody),
            ))]
        pub async fn $rotate(
            State(state): State<AppState>,
            meta: RequestMeta,
            principal: Principal,
            Path(id): Path<i64>,
            body: axum::body::Bytes,
        ) -> Result<Json<WebhookBody>, ApiError> {
            rotate(state, meta, principal, id, body).await
        }

        /// Sends a `webhook.test` event to this endpoint (queued; poll the delivery).
        #[utoipa::path(post, path = $test_path, tag = "webhooks",
            security(("bearer" = ["webhooks:write"])),
            params(("id" = i64, Path, description = "Endpoint id")),
            responses(
                (status = 202, description = "Queued", body = TestEventBody),
                (status = 404, description = "No such endpoint in this team", body = ErrorBody),
                (status = 409, description = "The endpoint is disabled", body = ErrorBody),
            ))]
        pub async fn $test(
            State(state): State<AppState>,
            meta: RequestMeta,
            principal: Principal,
            Path(id): Path<i64>,
        ) -> Result<(StatusCode, Json<TestEventBody>), ApiError> {
            test_event(state, meta, principal, id).await
        }

        /// The endpoint's deliveries, newest first.
        #[utoipa::path(get, path = $deliveries_path, tag = "webhooks",
            security(("bearer" = ["webhooks:read"])),
            params(("id" = i64, Path, description = "Endpoint id"), DeliveryQuery),
            responses(
                (status = 200, description = "One page of deliveries", body = Paginated<DeliveryBody>),
                (status = 404, description = "No such endpoint in this team", body = ErrorBody),
            ))]
        pub async fn $deliveries(
            State(state): State<AppState>,
            principal: Principal,
            Path(id): Path<i64>,
            query: Result<ApiQuery<DeliveryQuery>, ApiError>,
        ) -> Result<Json<Paginated<DeliveryBody>>, ApiError> {
            deliveries(state, principal, id, query).await
        }

        /// One delivery with every attempt (status, latency, first 1 KB of the answer, error).
        #[utoipa::path(get, path = $delivery_path, tag = "webhooks",
            security(("bearer" = ["webhooks:read"])),
            params(("id" = i64, Path, description = "Endpoint id"),
                   ("delivery_id" = i64, Path, description = "Delivery id")),
            responses(
                (status = 200, description = "The delivery and its attempts", body = DeliveryBody),
                (status = 404, description = "No such delivery in this team", body = ErrorBody),
            ))]
        pub async fn $delivery(
            State(state): State<AppState>,
            principal: Principal,
            Path((id, delivery_id)): Path<(i64, i64)>,
        ) -> Result<Json<DeliveryBody>, ApiError> {
            delivery(state, principal, id, delivery_id).await
        }

        /// Queues a delivery again at once (one more attempt, whatever its status).
        #[utoipa::path(post, path = $redeliver_path, tag = "webhooks",
            security(("bearer" = ["webhooks:write"])),
            params(("id" = i64, Path, description = "Endpoint id"),
                   ("delivery_id" = i64, Path, description = "Delivery id")),
            responses(
                (status = 202, description = "Queued", body = DeliveryBody),
                (status = 404, description = "No such delivery in this team", body = ErrorBody),
                (status = 409, description = "The endpoint is disabled", body = ErrorBody),
            ))]
        pub async fn $redeliver(
            State(state): State<AppState>,
            meta: RequestMeta,
            principal: Principal,
            Path((id, delivery_id)): Path<(i64, i64)>,
        ) -> Result<(StatusCode, Json<DeliveryBody>), ApiError> {
            redeliver(state, meta, principal, id, delivery_id).await
        }
    };
}

routes_at!(
    "/api/v1/webhooks",
    "/api/v1/webhooks/{id}",
    "/api/v1/webhooks/{id}/rotate-secret",
    "/api/v1/webhooks/{id}/test",
    "/api/v1/webhooks/{id}/deliveries",
    "/api/v1/webhooks/{id}/deliveries/{delivery_id}",
    "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
    create_webhook,
    list_webhooks,
    get_webhook,
    update_webhook,
    delete_webhook,
    rotate_webhook_secret,
    test_webhook,
    list_deliveries,
    get_delivery,
    redeliver_delivery
);

routes_at!(
    "/v1/webhooks",
    "/v1/webhooks/{id}",
    "/v1/webhooks/{id}/rotate-secret",
    "/v1/webhooks/{id}/test",
    "/v1/webhooks/{id}/deliveries",
    "/v1/webhooks/{id}/deliveries/{delivery_id}",
    "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
    seed_create_webhook,
    seed_list_webhooks,
    seed_get_webhook,
    seed_update_webhook,
    seed_delete_webhook,
    seed_rotate_webhook_secret,
    seed_test_webhook,
    seed_list_deliveries,
    seed_get_delivery,
    seed_redeliver_delivery
);
