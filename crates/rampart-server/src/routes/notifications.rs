//! E-mail notifications: the caller's preferences in the acting team
//! (`/api/v1/me/notification-preferences`: which event types, immediate or a daily digest)
//! and the unsubscribe link every e-mail carries (`/api/v1/notifications/unsubscribe`, no
//! credentials: the signed token is the proof, and it can do nothing but unsubscribe). The
//! rules are [`rampart_engine::services::notifications`]'s.

use axum::extract::State;
use axum::Json;
use rampart_engine::services::notifications::{
    self, PreferencesView, SetPreferences, Unsubscribed,
};
use serde::Deserialize;

use crate::auth::{Principal, RequestMeta};
use crate::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::state::AppState;

/// The caller's e-mail notification preferences in the acting team (a person's own setting:
/// no scope beyond being signed in; service accounts get none).
#[utoipa::path(get, path = "/api/v1/me/notification-preferences", tag = "notifications",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The preferences (`subscribed` false until saved)", body = PreferencesView),
        (status = 403, description = "A service account's key", body = ErrorBody),
    ))]
pub async fn get_preferences(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<PreferencesView>, ApiError> {
    Ok(Json(
        notifications::get_preferences(&state, &principal).await?,
    ))
}

/// Saves the caller's preferences in the acting team: event types, `immediate` or
/// `daily_digest` (at `digest_hour` UTC). Saving subscribes again after an unsubscription.
/// E-mail starts with the team's next event (no history is sent).
#[utoipa::path(put, path = "/api/v1/me/notification-preferences", tag = "notifications",
    security(("bearer" = [])),
    request_body = SetPreferences,
    responses(
        (status = 200, description = "The saved preferences", body = PreferencesView),
        (status = 403, description = "A service account's key, or a test key (`test_mode_forbidden`)", body = ErrorBody),
        (status = 422, description = "A field is invalid (named in the message)", body = ErrorBody),
    ))]
pub async fn set_preferences(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    body: Result<ApiJson<SetPreferences>, ApiError>,
) -> Result<Json<PreferencesView>, ApiError> {
    let ApiJson(body) = body?;
    Ok(Json(
        notifications::set_preferences(&state, &principal, &meta, body).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnsubscribeQuery {
    /// The token of the e-mail's unsubscribe link.
    pub token: String,
}

/// Unsubscribes the person an e-mail's link names from that team's e-mail (a link click).
/// Idempotent; it does nothing else.
#[utoipa::path(get, path = "/api/v1/notifications/unsubscribe", tag = "notifications",
    params(UnsubscribeQuery),
    responses(
        (status = 200, description = "Unsubscribed", body = Unsubscribed),
        (status = 404, description = "Unknown or invalid link", body = ErrorBody),
    ))]
pub async fn unsubscribe_link(
    State(state): State<AppState>,
    meta: RequestMeta,
    query: Result<ApiQuery<UnsubscribeQuery>, ApiError>,
) -> Result<Json<Unsubscribed>, ApiError> {
    let ApiQuery(query) = query?;
    Ok(Json(
        notifications::unsubscribe(&state, &meta, &query.token).await?,
    ))
}

/// RFC 8058 one-click unsubscription (`List-Unsubscribe-Post`): the same as the GET; any
/// body is ignored.
#[utoipa::path(post, path = "/api/v1/notifications/unsubscribe", tag = "notifications",
    params(UnsubscribeQuery),
    responses(
        (status = 200, description = "Unsubscribed", body = Unsubscribed),
        (status = 404, description = "Unknown or invalid link", body = ErrorBody),
    ))]
pub async fn unsubscribe_one_click(
    State(state): State<AppState>,
    meta: RequestMeta,
    query: Result<ApiQuery<UnsubscribeQuery>, ApiError>,
) -> Result<Json<Unsubscribed>, ApiError> {
    let ApiQuery(query) = query?;
    Ok(Json(
        notifications::unsubscribe(&state, &meta, &query.token).await?,
    ))
}
