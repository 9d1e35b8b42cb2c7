//! Webhook endpoints (`webhooks:read|write`), one service for the canonical
//! `/api/v1/webhooks` routes and seed 002's `/v1/webhooks`: create (the signing secret
//! generated or supplied, shown once, stored encrypted with the server key like sync-source
//! API keys), list, read, change, delete, rotate the secret with an overlap during which both
//! secrets sign, send a test event, list deliveries with their attempts, redeliver.
//!
//! Rules:
//! - The URL is `https`, or plain `http` to a target the operator's outbound allow-list
//!   admits explicitly (an allowed network, or private addresses when private webhook targets
//!   are allowed); every address it resolves to passes the outbound guard.
//! - The type filter names event types (`finding.new`, …); empty means every type.
//! - Test keys make test endpoints and test events: recorded, never delivered.
//! - Nothing is sent from here: deliveries are queued, the worker sends them.

use chrono::{DateTime, Utc};
use rampart_core::{EventType, PageRequest, Scope};
use rampart_store::{
    AuditEvent, EventRecord, NewWebhookEndpoint, Page, WebhookAttempt, WebhookDelivery,
    WebhookEndpoint, WebhookEndpointChanges,
};
use reqwest::Url;
use serde::Deserialize;

use crate::actor::{Actor, RequestOrigin};
use crate::error::{ErrorCode, ServiceError};
use crate::webhooks::WebhookSecret;
use crate::Engine;

const MAX_URL: usize = 2048;
const MAX_DESCRIPTION: usize = 500;
/// Longest overlap a rotation may ask for.
const MAX_OVERLAP_HOURS: i64 = 7 * 24;

/// A new endpoint, as sent.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where deliveries are POSTed: `https://…` (plain `http` only to targets the operator
    /// allowed).
    #[schema(max_length = 2048, min_length = 1, format = "uri")]
    pub url: String,
    /// Event types to receive (`finding.new`, `incident.created`, …); empty or absent: all.
    #[serde(default, alias = "events")]
    #[schema(max_items = 100)]
    pub event_types: Vec<String>,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// Default true.
    pub enabled: Option<bool>,
    /// The signing secret: `whsec_` + standard base64 of 24–64 bytes. Generated when absent.
    /// Shown once, in this response.
    #[schema(pattern = "^whsec_[A-Za-z0-9+/]+={0,2}$")]
    pub secret: Option<String>,
}

/// Changes to an endpoint; absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    #[schema(min_length = 1, max_length = 2048, format = "uri")]
    pub url: Option<String>,
    #[serde(alias = "events")]
    #[schema(max_items = 100)]
    pub event_types: Option<Vec<String>>,
    pub description: Option<String>,
    /// `true` re-enables an endpoint the server disabled (clearing the reason).
    pub enabled: Option<bool>,
}

/// A secret rotation, as sent.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateWebhookSecret {
    /// The new secret (`whsec_…`); generated when absent.
    #[schema(pattern = "^whsec_[A-Za-z0-9+/]+={0,2}$")]
    pub secret: Option<String>,
    /// Hours the previous secret keeps signing too, 0–168 (default: the server's, 24).
    #[schema(minimum = 0, maximum = 168)]
    pub overlap_hours: Option<i64>,
}

fn invalid(field: &str, message: impl std::fmt::Display) -> ServiceError {
    ServiceError::invalid(format!("`{field}` {message}"))
}

fn not_found() -> ServiceError {
    ServiceError::not_found("webhook")
}

/// The event types of a filter, checked.
fn valid_types(types: &[String]) -> Result<Vec<String>, ServiceError> {
    // Repeats count once, but every entry is read: the bound is on entries.
    crate::fields::at_most(
        "event_types",
        types,
        crate::services::events::MAX_EVENT_TYPE_ENTRIES,
    )?;
    let mut valid: Vec<String> = Vec::new();
    for text in types {
        let kind: EventType = text.trim().parse().map_err(|_| {
            invalid(
                "event_types",
                format!(
                    "names an unknown event type {text:?}; known types: {}",
                    EventType::ALL
                        .iter()
                        .map(|t| t.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        if !valid.iter().any(|v| v == kind.as_str()) {
            valid.push(kind.as_str().to_string());
        }
    }
    Ok(valid)
}

/// The URL, checked against the outbound guard: https, or http to an explicitly allowed
/// target; every resolved address admitted.
async fn valid_url(engine: &Engine, text: &str) -> Result<String, ServiceError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_URL {
        return Err(invalid("url", format!("must be 1–{MAX_URL} characters")));
    }
    let url = Url::parse(text).map_err(|e| invalid("url", format!("is not a URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("url", "must not carry credentials"));
    }
    if url.fragment().is_some() {
        return Err(invalid("url", "must not have a #fragment"));
    }
    let policy = &engine.config.webhooks.outbound;
    let addresses = policy.resolve_checked(&url).await.map_err(|refused| {
        invalid(
            "url",
            format!("is refused by the outbound guard: {refused}"),
        )
    })?;
    match url.scheme() {
        "https" => {}
        "http" if addresses.iter().all(|a| policy.is_explicitly_allowed(*a)) => {}
        "http" => {
            return Err(invalid(
                "url",
                "must be https (plain http only reaches targets the operator allowed)",
            ))
        }
        other => {
            return Err(invalid(
                "url",
                format!("scheme `{other}` is not allowed; use https"),
            ))
        }
    }
    Ok(url.to_string())
}

fn valid_secret(text: Option<&str>) -> Result<WebhookSecret, ServiceError> {
    match text {
        Some(text) => WebhookSecret::parse(text).map_err(|reason| invalid("secret", reason)),
        None => Ok(WebhookSecret::generate()),
    }
}

fn audit(
    actor: &Actor,
    origin: &RequestOrigin,
    action: &str,
    details: serde_json::Value,
) -> AuditEvent {
    let mut event = actor.audit(origin, action);
    event.details = Some(details);
    event
}

fn seal(engine: &Engine, secret: &WebhookSecret) -> Vec<u8> {
    engine.sync.secret_key().encrypt(secret.reveal().as_bytes())
}

/// Creates an endpoint; returns it with its secret (shown this once).
pub async fn create(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    request: CreateWebhook,
) -> Result<(WebhookEndpoint, WebhookSecret), ServiceError> {
    actor.require(Scope::WebhooksWrite)?;
    let url = valid_url(engine, &request.url).await?;
    let event_types = valid_types(&request.event_types)?;
    let description = match &request.description {
        Some(text) => crate::fields::text("description", text, MAX_DESCRIPTION)?,
        None => String::new(),
    };
    let secret = valid_secret(request.secret.as_deref())?;
    let event = audit(
        actor,
        origin,
        "webhook.create",
        serde_json::json!({"url": url, "event_types": event_types,
            "secret_supplied": request.secret.is_some()}),
    );
    let endpoint = engine
        .store
        .create_webhook_endpoint(
            actor.tenant(),
            &NewWebhookEndpoint {
                url,
                description,
                event_types,
                enabled: request.enabled.unwrap_or(true),
                secret_ciphertext: seal(engine, &secret),
                created_by: actor.user_email.clone(),
            },
            &event,
        )
        .await?;
    Ok((endpoint, secret))
}

pub async fn list(
    engine: &Engine,
    actor: &Actor,
    page: PageRequest,
) -> Result<Page<WebhookEndpoint>, ServiceError> {
    actor.require(Scope::WebhooksRead)?;
    Ok(engine
        .store
        .list_webhook_endpoints(actor.tenant(), page)
        .await?)
}

pub async fn get(engine: &Engine, actor: &Actor, id: i64) -> Result<WebhookEndpoint, ServiceError> {
    actor.require(Scope::WebhooksRead)?;
    engine
        .store
        .webhook_endpoint(actor.tenant(), id)
        .await?
        .ok_or_else(not_found)
}

pub async fn update(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    id: i64,
    request: UpdateWebhook,
) -> Result<WebhookEndpoint, ServiceError> {
    actor.require(Scope::WebhooksWrite)?;
    let url = match &request.url {
        Some(url) => Some(valid_url(engine, url).await?),
        None => None,
    };
    let event_types = match &request.event_types {
        Some(types) => Some(valid_types(types)?),
        None => None,
    };
    let description = match &request.description {
        Some(text) => Some(crate::fields::text("description", text, MAX_DESCRIPTION)?),
        None => None,
    };
    let changes = WebhookEndpointChanges {
        url,
        description,
        event_types,
        enabled: request.enabled,
    };
    let event = audit(
        actor,
        origin,
        "webhook.update",
        serde_json::json!({"url": changes.url, "event_types": changes.event_types,
            "enabled": changes.enabled}),
    );
    engine
        .store
        .update_webhook_endpoint(actor.tenant(), id, &changes, &event)
        .await?
        .ok_or_else(not_found)
}

pub async fn delete(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    id: i64,
) -> Result<(), ServiceError> {
    actor.require(Scope::WebhooksWrite)?;
    let event = actor.audit(origin, "webhook.delete");
    if engine
        .store
        .delete_webhook_endpoint(actor.tenant(), id, &event)
        .await?
    {
        Ok(())
    } else {
        Err(not_found())
    }
}

/// Replaces the secret; the previous one keeps signing until the returned time.
pub async fn rotate_secret(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    id: i64,
    request: RotateWebhookSecret,
) -> Result<(WebhookEndpoint, WebhookSecret, DateTime<Utc>), ServiceError> {
    actor.require(Scope::WebhooksWrite)?;
    let secret = valid_secret(request.secret.as_deref())?;
    let overlap = match request.overlap_hours {
        Some(hours) if !(0..=MAX_OVERLAP_HOURS).contains(&hours) => {
            return Err(invalid(
                "overlap_hours",
                format!("must be 0–{MAX_OVERLAP_HOURS}"),
            ))
        }
        Some(hours) => chrono::Duration::hours(hours),
        None => chrono::Duration::from_std(engine.config.webhooks.rotation_overlap)
            .unwrap_or(chrono::Duration::hours(24)),
    };
    let until = Utc::now() + overlap;
    let event = audit(
        actor,
        origin,
        "webhook.rotate_secret",
        serde_json::json!({"previous_secret_expires_at": until,
            "secret_supplied": request.secret.is_some()}),
    );
    let endpoint = engine
        .store
        .rotate_webhook_secret(actor.tenant(), id, &seal(engine, &secret), until, &event)
        .await?
        .ok_or_else(not_found)?;
    Ok((endpoint, secret, until))
}

/// Records a `webhook.test` event for the endpoint and queues its delivery (a test key's:
/// recorded only). Returns the event and the delivery id.
pub async fn send_test(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    id: i64,
) -> Result<(EventRecord, Option<i64>), ServiceError> {
    actor.require(Scope::WebhooksWrite)?;
    let event = actor.audit(origin, "webhook.test");
    let queued = engine
        .store
        .queue_webhook_test(actor.tenant(), id, &event)
        .await?
        .ok_or_else(not_found)?;
    engine.webhooks.wake();
    Ok(queued)
}

/// Delivery statuses a listing may filter by.
const DELIVERY_STATUSES: &[&str] = &["pending", "delivered", "failed", "cancelled"];

pub async fn deliveries(
    engine: &Engine,
    actor: &Actor,
    id: i64,
    status: Option<&str>,
    page: PageRequest,
) -> Result<Page<WebhookDelivery>, ServiceError> {
    actor.require(Scope::WebhooksRead)?;
    if let Some(status) = status {
        if !DELIVERY_STATUSES.contains(&status) {
            return Err(ServiceError::new(
                ErrorCode::BadRequest,
                format!("`status` must be one of {}", DELIVERY_STATUSES.join(", ")),
            ));
        }
    }
    engine
        .store
        .list_webhook_deliveries(actor.tenant(), id, status, page)
        .await?
        .ok_or_else(not_found)
}

pub async fn delivery(
    engine: &Engine,
    actor: &Actor,
    id: i64,
    delivery_id: i64,
) -> Result<(WebhookDelivery, Vec<WebhookAttempt>), ServiceError> {
    actor.require(Scope::WebhooksRead)?;
    engine
        .store
        .webhook_delivery(actor.tenant(), id, delivery_id)
        .await?
        .ok_or_else(|| ServiceError::not_found("delivery"))
}

/// Queues a delivery again at once.
pub async fn redeliver(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    id: i64,
    delivery_id: i64,
) -> Result<WebhookDelivery, ServiceError> {
    actor.require(Scope::WebhooksWrite)?;
    let event = actor.audit(origin, "webhook.redeliver");
    let delivery = engine
        .store
        .redeliver_webhook(actor.tenant(), id, delivery_id, &event)
        .await?
        .ok_or_else(|| ServiceError::not_found("delivery"))?;
    engine.webhooks.wake();
    Ok(delivery)
}
