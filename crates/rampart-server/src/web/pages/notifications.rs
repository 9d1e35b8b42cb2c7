//! The signed-in person's e-mail notification preferences in the current team: which event
//! types, immediate or a daily digest at an hour (UTC), on or off. The same service as
//! `/api/v1/me/notification-preferences` (`services::notifications`).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use rampart_engine::services::notifications::{self, PreferencesView, SetPreferences};
use rampart_engine::ErrorCode;

use super::maybe_when;
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::Form;
use crate::web::layout::{render_with_status, see_other, Layout};
use crate::web::session::SignedIn;

#[derive(Template)]
#[template(path = "notifications.html")]
struct PreferencesPage {
    layout: Layout,
    preferences: PreferencesView,
    next_digest: String,
    unsubscribed: String,
    hours: Vec<i32>,
    email: String,
    error: Option<String>,
}

impl PreferencesPage {
    pub fn has(&self, kind: &str) -> bool {
        self.preferences.event_types.iter().any(|t| t == kind)
    }
}

fn page(
    user: &SignedIn,
    preferences: PreferencesView,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    render_with_status(
        status,
        &PreferencesPage {
            layout: user.layout("Notification preferences", "notifications"),
            next_digest: maybe_when(preferences.next_digest_at),
            unsubscribed: maybe_when(preferences.unsubscribed_at),
            preferences,
            hours: (0..24).collect(),
            email: user.actor.user_email.clone(),
            error,
        },
    )
}

/// `GET /settings/notifications`.
pub async fn show(State(state): State<AppState>, user: SignedIn) -> Result<Response, WebError> {
    let preferences = notifications::get_preferences(&state, &user.actor).await?;
    Ok(page(&user, preferences, None, StatusCode::OK))
}

/// `POST /settings/notifications`: saves the whole set (saving subscribes again after an
/// unsubscription); a refusal is the form again with the reason.
pub async fn save(
    State(state): State<AppState>,
    user: SignedIn,
    Form(fields): Form,
) -> Result<Response, WebError> {
    let request = SetPreferences {
        event_types: fields
            .all("event_types")
            .into_iter()
            .map(str::to_string)
            .collect(),
        delivery: fields.get("delivery").map(str::to_string),
        digest_hour: fields.number("digest_hour")?,
        enabled: Some(fields.checked("enabled")),
    };
    match notifications::set_preferences(&state, &user.actor, &user.origin, request).await {
        Ok(_) => Ok(see_other(user.fragment, "/settings/notifications")),
        Err(error) if matches!(error.code(), ErrorCode::ValidationFailed) => {
            let current = notifications::get_preferences(&state, &user.actor).await?;
            Ok(page(
                &user,
                current,
                Some(error.message().to_string()),
                crate::error::status_of(error.code()),
            ))
        }
        Err(error) => Err(error.into()),
    }
}
