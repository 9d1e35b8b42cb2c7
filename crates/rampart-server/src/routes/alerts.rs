//! Product/vendor CVE alerts (`/api/v1/alerts`, seed 003's "product/vendor alerts"; seed 003
//! documents no path of its own for them): watches on a vendor, a vendor + product or a
//! package, their matches and each match's delivery status. Scopes `scans:read` /
//! `scans:write` ("manage monitors and alerts"). The rules are
//! [`rampart_engine::services::alerts`]'s.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use rampart_core::Scope;
use rampart_engine::services::alerts::{
    self, AlertMatchView, AlertUsage, CreateAlert, UpdateAlert,
};
use rampart_store::{AlertWatch, EmailDelivery, WebhookDeliveryStatus};
use serde::Serialize;

use super::{PageQuery, Paginated};
use crate::auth::{Principal, RequestMeta};
use crate::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::state::AppState;

/// What a watch is on.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertTargetBody {
    /// `vendor`, `product` or `package`.
    pub kind: String,
    pub vendor: Option<String>,
    pub product: Option<String>,
    pub ecosystem: Option<String>,
    pub package: Option<String>,
    pub purl: Option<String>,
}

/// Conditions a record must also meet.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertConditionsBody {
    pub min_cvss: Option<f64>,
    pub min_epss: Option<f64>,
    pub kev_only: bool,
}

/// A watch.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertBody {
    pub id: i64,
    pub name: String,
    pub target: AlertTargetBody,
    pub conditions: AlertConditionsBody,
    pub enabled: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Present for test keys: a test watch, whose alerts are never delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_mode: Option<bool>,
}

impl AlertBody {
    fn of(watch: AlertWatch) -> Self {
        AlertBody {
            id: watch.id,
            name: watch.name,
            target: AlertTargetBody {
                kind: watch.kind,
                vendor: watch.vendor,
                product: watch.product,
                ecosystem: watch.ecosystem,
                package: watch.package_name,
                purl: watch.purl,
            },
            conditions: AlertConditionsBody {
                min_cvss: watch.min_cvss,
                min_epss: watch.min_epss,
                kev_only: watch.kev_only,
            },
            enabled: watch.enabled,
            created_by: watch.created_by,
            created_at: watch.created_at,
            updated_at: watch.updated_at,
            test_mode: watch.is_test.then_some(true),
        }
    }
}

/// The plan's limit of watches (`product_alerts`) and how many the team has.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertUsageBody {
    pub used: i64,
    pub limit: i64,
}

/// A page of watches with the plan usage.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertList {
    pub items: Vec<AlertBody>,
    pub page: u32,
    pub per_page: u32,
    pub total: i64,
    pub usage: AlertUsageBody,
}

/// How the latest alert of a match was delivered.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MatchDeliveryBody {
    /// The `alert.matched` event (webhooks deliver it: see its deliveries); `null` when no
    /// event was recorded.
    pub event_id: Option<i64>,
    /// `test_mode` (never delivered), `no_event`, `pending` (no e-mail yet), `queued` (for a
    /// digest), `sent`, `failed` or `not_subscribed` (nobody is subscribed to
    /// `alert.matched` e-mail).
    pub email_status: String,
    /// One entry per recipient.
    pub emails: Vec<EmailDelivery>,
    /// One entry per webhook endpoint the event goes to (the endpoint's delivery log has every
    /// attempt).
    pub webhooks: Vec<WebhookDeliveryStatus>,
}

/// A record that matched a watch.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertMatchBody {
    pub id: i64,
    pub alert_id: i64,
    /// The record's CVE id when it has one.
    pub vuln_id: String,
    pub aliases: Vec<String>,
    pub summary: Option<String>,
    /// `nvd_cpe` (a CPE configuration), `cve5` (the CVE record's affected vendor/product),
    /// `kev` (the KEV entry) or `osv_package`.
    pub matched_by: String,
    /// `vendor:product` or `ecosystem/name`, as the record spells it.
    pub matched_on: String,
    pub max_cvss: Option<f64>,
    pub epss: Option<f64>,
    pub kev: bool,
    /// `new`, or `updated` when the record changed materially since (KEV listing, score).
    pub change: String,
    /// How many times it alerted.
    pub alerts: i64,
    pub first_matched_at: DateTime<Utc>,
    pub last_matched_at: DateTime<Utc>,
    pub delivery: MatchDeliveryBody,
}

fn match_body(view: AlertMatchView, test_mode: bool, anyone_subscribed: bool) -> AlertMatchBody {
    let record = view.record;
    let email_status = if test_mode {
        "test_mode"
    } else if record.event_id.is_none() {
        "no_event"
    } else if view.emails.iter().any(|e| e.status == "failed") {
        "failed"
    } else if view.emails.iter().any(|e| e.status == "queued") {
        "queued"
    } else if !view.emails.is_empty() {
        "sent"
    } else if anyone_subscribed {
        "pending"
    } else {
        "not_subscribed"
    };
    AlertMatchBody {
        id: record.id,
        alert_id: record.watch_id,
        vuln_id: record.vuln_id,
        aliases: serde_json::from_str(&record.aliases).unwrap_or_default(),
        summary: record.summary,
        matched_by: record.matched_by,
        matched_on: record.matched_on,
        max_cvss: record.max_cvss,
        epss: record.epss,
        kev: record.kev,
        change: record.change,
        alerts: record.alerts,
        first_matched_at: record.first_matched_at,
        last_matched_at: record.last_matched_at,
        delivery: MatchDeliveryBody {
            event_id: record.event_id,
            email_status: email_status.to_string(),
            emails: view.emails,
            webhooks: view.webhooks,
        },
    }
}

/// Creates a watch on a vendor (`vendor`), a product (`vendor` + `product`) or a package
/// (`ecosystem` + `package`, or `purl`), with optional conditions. Counted against the plan's
/// `product_alerts` (pro: 10).
#[utoipa::path(post, path = "/api/v1/alerts", tag = "alerts",
    security(("bearer" = ["scans:write"])),
    request_body = CreateAlert,
    responses(
        (status = 201, description = "Created", body = AlertBody),
        (status = 403, description = "The plan's limit is reached (`quota_exceeded`) or the scope is missing", body = ErrorBody),
        (status = 422, description = "A field is invalid (named in the message)", body = ErrorBody),
    ))]
pub async fn create_alert(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    body: Result<ApiJson<CreateAlert>, ApiError>,
) -> Result<(StatusCode, Json<AlertBody>), ApiError> {
    principal.require(Scope::ScansWrite)?;
    let ApiJson(body) = body?;
    let watch = alerts::create(&state, &principal, &meta, body).await?;
    Ok((StatusCode::CREATED, Json(AlertBody::of(watch))))
}

/// The team's watches, oldest first, with the plan usage.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts",
    security(("bearer" = ["scans:read"])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of watches", body = AlertList),
        (status = 400, description = "Bad query parameter", body = ErrorBody),
    ))]
pub async fn list_alerts(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<ApiQuery<PageQuery>, ApiError>,
) -> Result<Json<AlertList>, ApiError> {
    principal.require(Scope::ScansRead)?;
    let ApiQuery(query) = query?;
    let request = query.to_request()?;
    let (page, AlertUsage { used, limit }) = alerts::list(&state, &principal, request).await?;
    let page = Paginated::new(page, request, AlertBody::of);
    Ok(Json(AlertList {
        items: page.items,
        page: page.page,
        per_page: page.per_page,
        total: page.total,
        usage: AlertUsageBody { used, limit },
    }))
}

/// One watch.
#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "alerts",
    security(("bearer" = ["scans:read"])),
    params(("id" = i64, Path, description = "Alert (watch) id")),
    responses(
        (status = 200, description = "The watch", body = AlertBody),
        (status = 404, description = "No such watch in this team", body = ErrorBody),
    ))]
pub async fn get_alert(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<AlertBody>, ApiError> {
    principal.require(Scope::ScansRead)?;
    Ok(Json(AlertBody::of(
        alerts::get(&state, &principal, id).await?,
    )))
}

/// Renames a watch, changes its conditions (`null` clears one) or enables/disables it.
#[utoipa::path(patch, path = "/api/v1/alerts/{id}", tag = "alerts",
    security(("bearer" = ["scans:write"])),
    params(("id" = i64, Path, description = "Alert (watch) id")),
    request_body = UpdateAlert,
    responses(
        (status = 200, description = "The updated watch", body = AlertBody),
        (status = 404, description = "No such watch in this team", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ))]
pub async fn update_alert(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
    body: Result<ApiJson<UpdateAlert>, ApiError>,
) -> Result<Json<AlertBody>, ApiError> {
    principal.require(Scope::ScansWrite)?;
    let ApiJson(body) = body?;
    Ok(Json(AlertBody::of(
        alerts::update(&state, &principal, &meta, id, body).await?,
    )))
}

/// Deletes a watch and its matches.
#[utoipa::path(delete, path = "/api/v1/alerts/{id}", tag = "alerts",
    security(("bearer" = ["scans:write"])),
    params(("id" = i64, Path, description = "Alert (watch) id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such watch in this team", body = ErrorBody),
    ))]
pub async fn delete_alert(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    principal.require(Scope::ScansWrite)?;
    alerts::delete(&state, &principal, &meta, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A page of matches.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertMatchList {
    pub items: Vec<AlertMatchBody>,
    pub page: u32,
    pub per_page: u32,
    pub total: i64,
}

/// The records that matched a watch, latest alert first, each with how its alert was
/// delivered (its `alert.matched` event, and the e-mail sent for it).
#[utoipa::path(get, path = "/api/v1/alerts/{id}/matches", tag = "alerts",
    security(("bearer" = ["scans:read"])),
    params(("id" = i64, Path, description = "Alert (watch) id"), PageQuery),
    responses(
        (status = 200, description = "One page of matches", body = AlertMatchList),
        (status = 404, description = "No such watch in this team", body = ErrorBody),
    ))]
pub async fn list_alert_matches(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    query: Result<ApiQuery<PageQuery>, ApiError>,
) -> Result<Json<AlertMatchList>, ApiError> {
    principal.require(Scope::ScansRead)?;
    let ApiQuery(query) = query?;
    let request = query.to_request()?;
    let page = alerts::matches(&state, &principal, id, request).await?;
    let anyone_subscribed = alerts::anyone_subscribed(&state, &principal).await?;
    let test_mode = principal.is_test_mode();
    let page = Paginated::new(page, request, |view| {
        match_body(view, test_mode, anyone_subscribed)
    });
    Ok(Json(AlertMatchList {
        items: page.items,
        page: page.page,
        per_page: page.per_page,
        total: page.total,
    }))
}
