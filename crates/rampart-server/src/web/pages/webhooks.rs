//! Webhook endpoints: the list, creating one (its signing secret shown this once), editing its
//! URL, description and event types, enabling and disabling it, rotating the secret (the new
//! one shown once; the previous one keeps signing during the overlap), a test event, deleting
//! it; and per endpoint the delivery log (attempts, status, response code, next retry) with
//! each delivery's attempts and a redeliver button. The rules are `services::webhooks`.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use rampart_core::{EventType, PageRequest, Scope};
use rampart_engine::services::webhooks::{self, CreateWebhook, RotateWebhookSecret, UpdateWebhook};
use rampart_engine::{ErrorCode, ServiceError};
use rampart_store::{WebhookDelivery, WebhookEndpoint};

use super::{maybe_when, page_number, when, Pager};
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::{Fields, Form, Query};
use crate::web::layout::{render_with_status, see_other, Layout};
use crate::web::session::SignedIn;

const PER_PAGE: u32 = 100;
const DELIVERIES_PER_PAGE: u32 = 50;
const DELIVERY_STATUSES: [&str; 4] = ["pending", "delivered", "failed", "cancelled"];

pub struct EndpointRow {
    pub id: i64,
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub enabled: bool,
    pub disabled_reason: String,
    pub failing_since: String,
    pub previous_secret_until: String,
    pub rotated: String,
    pub created_by: String,
    pub created: String,
    pub test: bool,
}

impl EndpointRow {
    fn of(state: &AppState, e: &WebhookEndpoint) -> Self {
        let now = state.now();
        EndpointRow {
            id: e.id,
            url: e.url.clone(),
            description: e.description.clone(),
            event_types: e.event_types.clone(),
            enabled: e.enabled,
            disabled_reason: e.disabled_reason.clone().unwrap_or_default(),
            failing_since: maybe_when(e.failing_since),
            previous_secret_until: e
                .previous_secret_expires_at
                .filter(|until| *until > now)
                .map(when)
                .unwrap_or_default(),
            rotated: maybe_when(e.secret_rotated_at),
            created_by: e.created_by.clone(),
            created: when(e.created_at),
            test: e.is_test,
        }
    }

    pub fn types_label(&self) -> String {
        if self.event_types.is_empty() {
            "every event".to_string()
        } else {
            self.event_types.join(", ")
        }
    }

    pub fn state(&self) -> &'static str {
        if self.enabled {
            "enabled"
        } else {
            "disabled"
        }
    }
}

pub struct DeliveryRow {
    pub id: i64,
    pub event_id: i64,
    pub event_type: String,
    pub status: String,
    pub attempts: i64,
    pub response_code: String,
    pub error: String,
    pub next_retry: String,
    pub created: String,
    pub delivered: String,
}

impl DeliveryRow {
    fn of(d: WebhookDelivery) -> Self {
        DeliveryRow {
            next_retry: if d.status == "pending" {
                when(d.next_attempt_at)
            } else {
                "—".to_string()
            },
            id: d.id,
            event_id: d.event_id,
            event_type: d.event_type,
            status: d.status,
            attempts: d.attempts,
            response_code: d
                .last_status_code
                .map(|c| c.to_string())
                .unwrap_or_else(|| "—".to_string()),
            error: d.last_error.unwrap_or_default(),
            created: when(d.created_at),
            delivered: maybe_when(d.delivered_at),
        }
    }
}

/// A secret just made (creation or rotation): shown this once.
pub struct NewSecret {
    pub secret: String,
    pub rotated: bool,
}

/// The form as entered (kept when refused).
#[derive(Default)]
pub struct EndpointForm {
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
}

impl EndpointForm {
    fn entered(fields: &Fields) -> Self {
        EndpointForm {
            url: fields.get("url").unwrap_or("").to_string(),
            description: fields.get("description").unwrap_or("").to_string(),
            event_types: fields
                .all("event_types")
                .into_iter()
                .map(str::to_string)
                .collect(),
        }
    }

    pub fn has(&self, kind: &str) -> bool {
        self.event_types.iter().any(|t| t == kind)
    }
}

/// Every event type an endpoint may receive.
fn event_types() -> Vec<&'static str> {
    EventType::ALL.iter().map(|t| t.as_str()).collect()
}

/// Refusals a form shows beside itself (the rest are error pages).
fn refused_on_form(error: &ServiceError) -> bool {
    matches!(
        error.code(),
        ErrorCode::ValidationFailed | ErrorCode::Conflict | ErrorCode::BadRequest
    )
}

/// A page rendered in answer to a form post is the endpoint's page: htmx shows its address
/// (a reload then reads the page instead of posting again).
fn at_endpoint(mut response: Response, id: i64) -> Response {
    if let Ok(value) = HeaderValue::from_str(&format!("/webhooks/{id}")) {
        response.headers_mut().insert("hx-push-url", value);
    }
    response
}

fn one_page(per_page: u32, page: u32) -> Result<PageRequest, WebError> {
    PageRequest::from_query(Some(page), Some(per_page), per_page)
        .map_err(|error| WebError::bad_request(error.to_string()))
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct ListPage {
    layout: Layout,
    endpoints: Vec<EndpointRow>,
    pager: Pager,
    types: Vec<&'static str>,
    form: EndpointForm,
    error: Option<String>,
    can_write: bool,
}

async fn list_page(
    state: &AppState,
    user: &SignedIn,
    page: u32,
    form: EndpointForm,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let listed = webhooks::list(state, &user.actor, one_page(PER_PAGE, page)?).await?;
    Ok(render_with_status(
        status,
        &ListPage {
            layout: user.layout("Webhooks", "webhooks"),
            endpoints: listed
                .items
                .iter()
                .map(|e| EndpointRow::of(state, e))
                .collect(),
            pager: Pager::new("/webhooks", &[], page, PER_PAGE, listed.total),
            types: event_types(),
            form,
            error,
            can_write: user.can(Scope::WebhooksWrite),
        },
    ))
}

/// `GET /webhooks`.
pub async fn list(
    State(state): State<AppState>,
    user: SignedIn,
    Query(query): Query,
) -> Result<Response, WebError> {
    let page = page_number(&query)?;
    list_page(
        &state,
        &user,
        page,
        EndpointForm::default(),
        None,
        StatusCode::OK,
    )
    .await
}

/// `POST /webhooks`: creates an endpoint and shows its page with the secret, this once (not
/// a redirect: the secret must not outlive this response). A refused form is the list again.
pub async fn create(
    State(state): State<AppState>,
    user: SignedIn,
    Form(fields): Form,
) -> Result<Response, WebError> {
    let form = EndpointForm::entered(&fields);
    let request = CreateWebhook {
        url: form.url.clone(),
        event_types: form.event_types.clone(),
        description: Some(form.description.clone()),
        enabled: Some(true),
        secret: None,
    };
    match webhooks::create(&state, &user.actor, &user.origin, request).await {
        Ok((endpoint, secret)) => {
            let shown = NewSecret {
                secret: secret.reveal().to_string(),
                rotated: false,
            };
            let view = DetailView {
                secret: Some(shown),
                ..DetailView::default()
            };
            let page = detail_page(&state, &user, endpoint.id, view, StatusCode::CREATED).await?;
            Ok(at_endpoint(page, endpoint.id))
        }
        Err(error) if refused_on_form(&error) => {
            let status = crate::error::status_of(error.code());
            list_page(
                &state,
                &user,
                1,
                form,
                Some(error.message().to_string()),
                status,
            )
            .await
        }
        Err(error) => Err(error.into()),
    }
}

#[derive(Template)]
#[template(path = "webhook.html")]
struct DetailPage {
    layout: Layout,
    endpoint: EndpointRow,
    form: EndpointForm,
    types: Vec<&'static str>,
    deliveries: Vec<DeliveryRow>,
    pager: Pager,
    statuses: [&'static str; 4],
    status_filter: String,
    secret: Option<NewSecret>,
    error: Option<String>,
    notice: Option<String>,
    can_write: bool,
}

/// What a detail page shows beyond the endpoint itself.
#[derive(Default)]
struct DetailView {
    form: Option<EndpointForm>,
    secret: Option<NewSecret>,
    error: Option<String>,
    notice: Option<String>,
    status_filter: Option<String>,
    page: Option<u32>,
}

async fn detail_page(
    state: &AppState,
    user: &SignedIn,
    id: i64,
    view: DetailView,
    status: StatusCode,
) -> Result<Response, WebError> {
    let endpoint = webhooks::get(state, &user.actor, id).await?;
    let page = view.page.unwrap_or(1);
    let filter = view.status_filter.unwrap_or_default();
    let deliveries = webhooks::deliveries(
        state,
        &user.actor,
        id,
        Some(filter.as_str()).filter(|s| !s.is_empty()),
        one_page(DELIVERIES_PER_PAGE, page)?,
    )
    .await?;
    let row = EndpointRow::of(state, &endpoint);
    let form = view.form.unwrap_or_else(|| EndpointForm {
        url: row.url.clone(),
        description: row.description.clone(),
        event_types: row.event_types.clone(),
    });
    let path = format!("/webhooks/{id}");
    Ok(render_with_status(
        status,
        &DetailPage {
            layout: user.layout(format!("Webhook {}", row.url), "webhooks"),
            pager: Pager::new(
                &path,
                &[("status", filter.clone())],
                page,
                DELIVERIES_PER_PAGE,
                deliveries.total,
            ),
            deliveries: deliveries.items.into_iter().map(DeliveryRow::of).collect(),
            endpoint: row,
            form,
            types: event_types(),
            statuses: DELIVERY_STATUSES,
            status_filter: filter,
            secret: view.secret,
            error: view.error,
            notice: view.notice,
            can_write: user.can(Scope::WebhooksWrite),
        },
    ))
}

/// `GET /webhooks/{id}` (`?status=` filters the delivery log, `?page=` pages it).
pub async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
    Query(query): Query,
) -> Result<Response, WebError> {
    let view = DetailView {
        status_filter: query.get("status").map(str::to_string),
        page: Some(page_number(&query)?),
        ..DetailView::default()
    };
    detail_page(&state, &user, id, view, StatusCode::OK).await
}

/// A refusal shown on the endpoint's page, or the error page.
async fn refused(
    state: &AppState,
    user: &SignedIn,
    id: i64,
    error: ServiceError,
    form: Option<EndpointForm>,
) -> Result<Response, WebError> {
    if !refused_on_form(&error) {
        return Err(error.into());
    }
    let status = crate::error::status_of(error.code());
    let view = DetailView {
        form,
        error: Some(error.message().to_string()),
        ..DetailView::default()
    };
    Ok(at_endpoint(
        detail_page(state, user, id, view, status).await?,
        id,
    ))
}

/// `POST /webhooks/{id}`: saves URL, description and event types (none checked: every type).
pub async fn update(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
    Form(fields): Form,
) -> Result<Response, WebError> {
    let form = EndpointForm::entered(&fields);
    let request = UpdateWebhook {
        url: Some(form.url.clone()),
        event_types: Some(form.event_types.clone()),
        description: Some(form.description.clone()),
        enabled: None,
    };
    match webhooks::update(&state, &user.actor, &user.origin, id, request).await {
        Ok(_) => Ok(see_other(user.fragment, &format!("/webhooks/{id}"))),
        Err(error) => refused(&state, &user, id, error, Some(form)).await,
    }
}

/// `POST /webhooks/{id}/enabled`: `enabled=1` enables (clearing a reason the server gave for
/// disabling it), `enabled=0` disables.
pub async fn set_enabled(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
    Form(fields): Form,
) -> Result<Response, WebError> {
    let request = UpdateWebhook {
        enabled: Some(fields.checked("enabled")),
        ..UpdateWebhook::default()
    };
    match webhooks::update(&state, &user.actor, &user.origin, id, request).await {
        Ok(_) => Ok(see_other(user.fragment, &format!("/webhooks/{id}"))),
        Err(error) => refused(&state, &user, id, error, None).await,
    }
}

/// `POST /webhooks/{id}/rotate`: a new secret, shown once; the previous one signs too for
/// `overlap_hours` (default: the server's).
pub async fn rotate(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
    Form(fields): Form,
) -> Result<Response, WebError> {
    let request = RotateWebhookSecret {
        secret: None,
        overlap_hours: fields.number("overlap_hours")?,
    };
    match webhooks::rotate_secret(&state, &user.actor, &user.origin, id, request).await {
        Ok((_, secret, until)) => {
            let view = DetailView {
                secret: Some(NewSecret {
                    secret: secret.reveal().to_string(),
                    rotated: true,
                }),
                notice: Some(format!(
                    "Secret rotated: the previous secret signs too until {}.",
                    when(until)
                )),
                ..DetailView::default()
            };
            let page = detail_page(&state, &user, id, view, StatusCode::OK).await?;
            Ok(at_endpoint(page, id))
        }
        Err(error) => refused(&state, &user, id, error, None).await,
    }
}

/// `POST /webhooks/{id}/test`: queues a `webhook.test` event for this endpoint; the page
/// shows it in the delivery log.
pub async fn send_test(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    match webhooks::send_test(&state, &user.actor, &user.origin, id).await {
        Ok((event, delivery)) => {
            let notice = match delivery {
                Some(_) => format!("Test event {} queued for delivery.", event.id),
                None => format!(
                    "Test event {} recorded (test mode: never delivered).",
                    event.id
                ),
            };
            let view = DetailView {
                notice: Some(notice),
                ..DetailView::default()
            };
            let page = detail_page(&state, &user, id, view, StatusCode::OK).await?;
            Ok(at_endpoint(page, id))
        }
        Err(error) => refused(&state, &user, id, error, None).await,
    }
}

/// `POST /webhooks/{id}/delete`.
pub async fn delete(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    webhooks::delete(&state, &user.actor, &user.origin, id).await?;
    Ok(see_other(user.fragment, "/webhooks"))
}

pub struct AttemptRow {
    pub attempt: i64,
    pub started: String,
    pub duration_ms: i64,
    pub status_code: String,
    pub response: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "webhook_delivery.html")]
struct DeliveryPage {
    layout: Layout,
    endpoint: EndpointRow,
    delivery: DeliveryRow,
    attempts: Vec<AttemptRow>,
    can_write: bool,
}

/// `GET /webhooks/{id}/deliveries/{delivery_id}`: one delivery with every attempt.
pub async fn delivery(
    State(state): State<AppState>,
    user: SignedIn,
    Path((id, delivery_id)): Path<(i64, i64)>,
) -> Result<Response, WebError> {
    let endpoint = webhooks::get(&state, &user.actor, id).await?;
    let (delivery, attempts) = webhooks::delivery(&state, &user.actor, id, delivery_id).await?;
    Ok(render_with_status(
        StatusCode::OK,
        &DeliveryPage {
            layout: user.layout(format!("Delivery {delivery_id}"), "webhooks"),
            endpoint: EndpointRow::of(&state, &endpoint),
            delivery: DeliveryRow::of(delivery),
            attempts: attempts
                .into_iter()
                .map(|a| AttemptRow {
                    attempt: a.attempt,
                    started: when(a.started_at),
                    duration_ms: a.duration_ms,
                    status_code: a
                        .status_code
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "—".to_string()),
                    response: a.response_excerpt.unwrap_or_default(),
                    error: a.error.unwrap_or_default(),
                })
                .collect(),
            can_write: user.can(Scope::WebhooksWrite),
        },
    ))
}

/// `POST /webhooks/{id}/deliveries/{delivery_id}/redeliver`: queued again at once.
pub async fn redeliver(
    State(state): State<AppState>,
    user: SignedIn,
    Path((id, delivery_id)): Path<(i64, i64)>,
) -> Result<Response, WebError> {
    webhooks::redeliver(&state, &user.actor, &user.origin, id, delivery_id).await?;
    Ok(see_other(
        user.fragment,
        &format!("/webhooks/{id}/deliveries/{delivery_id}"),
    ))
}
