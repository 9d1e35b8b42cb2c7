//! API keys (seed 003's "Settings > API Keys"): create with scopes and expiry (the key shown
//! once), the masked list with usage, revoke, rotate. Keys are managed with a session only,
//! as on the API; the rules are `services::api_keys`.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use rampart_core::{ApiKeyKind, Scope};
use rampart_engine::services::api_keys::{self, CreateApiKey, CreateRefusal, KeyRequester};
use rampart_store::{ApiKeyInfo, KeyStatusFilter};

use super::{maybe_when, when};
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::Form;
use crate::web::layout::{render_with_status, see_other, Layout};
use crate::web::session::SignedIn;

pub struct KeyRow {
    pub id: i64,
    pub name: String,
    pub masked: String,
    pub owner: String,
    pub scopes: String,
    pub status: &'static str,
    pub test: bool,
    pub created: String,
    pub expires: String,
    pub last_used: String,
    pub requests: i64,
}

/// A key just made: its secret, shown this once.
pub struct NewKey {
    pub name: String,
    pub secret: String,
    pub replaced: bool,
}

#[derive(Template)]
#[template(path = "api_keys.html")]
struct ApiKeysPage {
    layout: Layout,
    keys: Vec<KeyRow>,
    scopes: Vec<&'static str>,
    can_service_account: bool,
    created: Option<NewKey>,
}

fn row(state: &AppState, key: &ApiKeyInfo) -> KeyRow {
    let now = state.now();
    let (mut requests, mut last_used) = (key.request_count, key.last_used_at);
    // Usage counted by this replica and not yet written.
    if let Some((count, at)) = state.key_usage.pending(key.id) {
        requests += count;
        last_used = Some(last_used.map_or(at, |l| l.max(at)));
    }
    KeyRow {
        id: key.id,
        name: key.name.clone(),
        masked: key.masked(),
        owner: key.owner.clone(),
        scopes: key
            .scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        status: if key.revoked_at.is_some_and(|at| at <= now) {
            "revoked"
        } else if key.expires_at.is_some_and(|e| e <= now) {
            "expired"
        } else {
            "active"
        },
        test: key.kind == ApiKeyKind::Test,
        created: when(key.created_at),
        expires: key.expires_at.map_or("never".to_string(), when),
        last_used: maybe_when(last_used),
        requests,
    }
}

async fn page(
    state: &AppState,
    user: &SignedIn,
    status: StatusCode,
    created: Option<NewKey>,
) -> Result<Response, WebError> {
    let keys = api_keys::list_keys(state, &user.actor, KeyStatusFilter::All).await?;
    Ok(render_with_status(
        status,
        &ApiKeysPage {
            layout: user.layout("API keys", "api-keys"),
            keys: keys.iter().map(|k| row(state, k)).collect(),
            scopes: user.actor.scopes.iter().map(|s| s.as_str()).collect(),
            can_service_account: user.can(Scope::TeamsManage),
            created,
        },
    ))
}

/// `GET /settings/api-keys`.
pub async fn list(State(state): State<AppState>, user: SignedIn) -> Result<Response, WebError> {
    page(&state, &user, StatusCode::OK, None).await
}

/// `POST /settings/api-keys`: creates a key and shows it once.
pub async fn create(
    State(state): State<AppState>,
    user: SignedIn,
    Form(form): Form,
) -> Result<Response, WebError> {
    let requester = KeyRequester::session(&user.actor, &user.origin)?;
    let body = CreateApiKey {
        name: form.get("name").unwrap_or("").to_string(),
        scopes: Some(form.all("scopes").into_iter().map(str::to_string).collect()),
        expires_in_days: form.number("expires_in_days")?,
        expires_at: form.get("expires_at").map(str::to_string),
        test_mode: form.checked("test_mode"),
        service_account: form.checked("service_account"),
    };
    let (key, secret) = match api_keys::create_key(
        &state.store,
        &state.config.plans,
        state.now(),
        &requester,
        body,
    )
    .await
    {
        Ok(created) => created,
        Err(CreateRefusal::Upgrade) => return Err(WebError::forbidden(api_keys::UPGRADE_MESSAGE)),
        Err(CreateRefusal::Api(error)) => return Err(error.into()),
    };
    let created = NewKey {
        name: key.name,
        secret: secret.reveal().to_string(),
        replaced: false,
    };
    page(&state, &user, StatusCode::CREATED, Some(created)).await
}

/// `POST /settings/api-keys/{id}/revoke`.
pub async fn revoke(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    api_keys::revoke_key(&state, &user.actor, &user.origin, id).await?;
    Ok(see_other(user.fragment, "/settings/api-keys"))
}

/// `POST /settings/api-keys/{id}/rotate`: a new key replaces it, shown once.
pub async fn rotate(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let (key, secret) = match api_keys::rotate_key(&state, &user.actor, &user.origin, id, None)
        .await
    {
        Ok(rotated) => rotated,
        Err(CreateRefusal::Upgrade) => return Err(WebError::forbidden(api_keys::UPGRADE_MESSAGE)),
        Err(CreateRefusal::Api(error)) => return Err(error.into()),
    };
    let created = NewKey {
        name: key.name,
        secret: secret.reveal().to_string(),
        replaced: true,
    };
    page(&state, &user, StatusCode::CREATED, Some(created)).await
}
