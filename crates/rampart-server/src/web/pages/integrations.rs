//! Integrations (the AppSec data sources SARIF uploads come through): the list with each one's
//! health (last upload, last contact, last error), creating and editing one (credentials are
//! written, never shown again: the page shows their masks), a test of the connection, and
//! the SARIF imports it received. The rules are `services::integrations`.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use rampart_core::{PageRequest, Scope};
use rampart_engine::services::integrations::{
    self, CreateIntegration, Integration, UpdateIntegration, INTEGRATION_TYPES,
};
use rampart_engine::services::sarif_imports;
use rampart_engine::{ErrorCode, ServiceError};

use super::{maybe_when, when};
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::{Fields, Form};
use crate::web::layout::{render_with_status, see_other, Layout};
use crate::web::session::SignedIn;

const PER_PAGE: u32 = 100;
const IMPORTS_SHOWN: u32 = 20;

pub struct IntegrationRow {
    pub id: i64,
    pub name: String,
    pub kind: &'static str,
    pub category: &'static str,
    pub base_url: String,
    pub status: &'static str,
    pub credentials: String,
    pub selection: String,
    pub repositories: Vec<String>,
    pub last_upload: String,
    pub last_contact: String,
    pub last_error: String,
    pub last_error_at: String,
    pub test: bool,
    pub created: String,
}

impl IntegrationRow {
    pub fn of(integration: &Integration) -> Self {
        let r = &integration.record;
        IntegrationRow {
            id: r.id,
            name: r.name.clone(),
            kind: integration.kind.label,
            category: integration.kind.category,
            base_url: r.base_url.clone().unwrap_or_default(),
            status: integration.status(),
            credentials: integration
                .credentials_masked
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", "),
            selection: r.selection_type.clone(),
            repositories: integration.repositories.clone(),
            last_upload: maybe_when(r.last_upload_at),
            last_contact: maybe_when(r.last_contact_at),
            last_error: r.last_error.clone().unwrap_or_default(),
            last_error_at: maybe_when(r.last_error_at),
            test: r.is_test,
            created: when(r.created_at),
        }
    }

    pub fn status_class(&self) -> String {
        self.status.to_lowercase()
    }
}

/// The create/edit form as entered (kept when refused).
#[derive(Default)]
pub struct IntegrationForm {
    pub name: String,
    pub kind: String,
    pub base_url: String,
    pub selection: String,
    pub repositories: String,
}

impl IntegrationForm {
    fn entered(fields: &Fields) -> Self {
        IntegrationForm {
            name: fields.get("name").unwrap_or("").to_string(),
            kind: fields.get("type").unwrap_or("").to_string(),
            base_url: fields.get("base_url").unwrap_or("").to_string(),
            selection: fields.get("selection_type").unwrap_or("ALL").to_string(),
            repositories: fields.get("repositories").unwrap_or("").to_string(),
        }
    }
}

/// Repositories as typed: one per line or comma-separated.
pub fn repository_list(text: &str) -> Vec<String> {
    text.split(['\n', ','])
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .collect()
}

/// The credentials a form sets: the token, when one was typed.
fn credentials(fields: &Fields) -> Option<serde_json::Value> {
    fields
        .get("token")
        .map(|token| serde_json::json!({ "token": token }))
}

#[derive(Template)]
#[template(path = "integrations.html")]
struct ListPage {
    layout: Layout,
    integrations: Vec<IntegrationRow>,
    total: i64,
    types: Vec<(&'static str, &'static str)>,
    form: IntegrationForm,
    error: Option<String>,
    can_write: bool,
}

async fn list_page(
    state: &AppState,
    user: &SignedIn,
    form: IntegrationForm,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let request = PageRequest::from_query(Some(1), Some(PER_PAGE), PER_PAGE)
        .map_err(|error| WebError::bad_request(error.to_string()))?;
    let listed = integrations::list(state, &user.actor, None, request).await?;
    Ok(render_with_status(
        status,
        &ListPage {
            layout: user.layout("Integrations", "integrations"),
            integrations: listed.items.iter().map(IntegrationRow::of).collect(),
            total: listed.total,
            types: INTEGRATION_TYPES
                .iter()
                .map(|t| (t.name, t.label))
                .collect(),
            form,
            error,
            can_write: user.can(Scope::IntegrationsWrite),
        },
    ))
}

/// `GET /integrations`.
pub async fn list(State(state): State<AppState>, user: SignedIn) -> Result<Response, WebError> {
    list_page(
        &state,
        &user,
        IntegrationForm::default(),
        None,
        StatusCode::OK,
    )
    .await
}

fn refused_on_form(error: &ServiceError) -> bool {
    matches!(
        error.code(),
        ErrorCode::ValidationFailed | ErrorCode::Conflict | ErrorCode::BadRequest
    )
}

/// `POST /integrations`: creates one, then its page; a refused form is the list again (422
/// or 409) with the form as entered and the reason.
pub async fn create(
    State(state): State<AppState>,
    user: SignedIn,
    Form(fields): Form,
) -> Result<Response, WebError> {
    let form = IntegrationForm::entered(&fields);
    let request = CreateIntegration {
        name: form.name.clone(),
        integration_type: form.kind.clone(),
        base_url: Some(form.base_url.clone()).filter(|u| !u.is_empty()),
        credentials: credentials(&fields),
        selection_type: Some(form.selection.clone()),
        repositories: repository_list(&form.repositories),
        external_project_mappings: Vec::new(),
    };
    match integrations::create(&state, &user.actor, &user.origin, request).await {
        Ok(created) => Ok(see_other(
            user.fragment,
            &format!("/integrations/{}", created.record.id),
        )),
        Err(error) if refused_on_form(&error) => {
            let status = crate::error::status_of(error.code());
            list_page(
                &state,
                &user,
                form,
                Some(error.message().to_string()),
                status,
            )
            .await
        }
        Err(error) => Err(error.into()),
    }
}

pub struct ImportRow {
    pub repository: String,
    pub branch: String,
    pub commit: String,
    pub tools: String,
    pub results: i64,
    pub new: i64,
    pub closed: i64,
    pub reopened: i64,
    pub by: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "integration.html")]
struct DetailPage {
    layout: Layout,
    integration: IntegrationRow,
    form: IntegrationForm,
    error: Option<String>,
    notice: Option<String>,
    imports: Vec<ImportRow>,
    imports_total: i64,
    can_write: bool,
    can_test: bool,
}

async fn detail_page(
    state: &AppState,
    user: &SignedIn,
    id: i64,
    entered: Option<IntegrationForm>,
    (error, notice): (Option<String>, Option<String>),
    status: StatusCode,
) -> Result<Response, WebError> {
    let integration = integrations::get(state, &user.actor, id).await?;
    let (imports, imports_total) = if user.can(Scope::FindingsRead) {
        let request = PageRequest::from_query(Some(1), Some(IMPORTS_SHOWN), IMPORTS_SHOWN)
            .map_err(|error| WebError::bad_request(error.to_string()))?;
        let page = sarif_imports::list(state, &user.actor, Some(id), request).await?;
        let rows = page
            .items
            .into_iter()
            .map(|i| ImportRow {
                repository: i.repository,
                branch: i.branch,
                commit: i
                    .commit_sha
                    .map(|c| c.chars().take(12).collect())
                    .unwrap_or_default(),
                tools: serde_json::from_str::<Vec<String>>(&i.tools)
                    .unwrap_or_default()
                    .join(", "),
                results: i.results_count,
                new: i.new_count,
                closed: i.closed_count,
                reopened: i.reopened_count,
                by: i.uploaded_by,
                at: when(i.created_at),
            })
            .collect();
        (rows, page.total)
    } else {
        (Vec::new(), 0)
    };
    let row = IntegrationRow::of(&integration);
    let form = entered.unwrap_or_else(|| IntegrationForm {
        name: row.name.clone(),
        kind: integration.kind.name.to_string(),
        base_url: row.base_url.clone(),
        selection: row.selection.clone(),
        repositories: row.repositories.join("\n"),
    });
    Ok(render_with_status(
        status,
        &DetailPage {
            layout: user.layout(format!("Integration {}", row.name), "integrations"),
            can_test: integration.kind.vcs().is_some() && user.can(Scope::IntegrationsWrite),
            integration: row,
            form,
            error,
            notice,
            imports,
            imports_total,
            can_write: user.can(Scope::IntegrationsWrite),
        },
    ))
}

/// `GET /integrations/{id}`.
pub async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    detail_page(&state, &user, id, None, (None, None), StatusCode::OK).await
}

/// `POST /integrations/{id}`: saves the edit form (an empty token keeps the stored
/// credentials), then the page again.
pub async fn update(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
    Form(fields): Form,
) -> Result<Response, WebError> {
    let form = IntegrationForm::entered(&fields);
    let request = UpdateIntegration {
        name: Some(form.name.clone()),
        base_url: Some(Some(form.base_url.clone()).filter(|u| !u.is_empty())),
        credentials: credentials(&fields),
        selection_type: Some(form.selection.clone()),
        repositories: Some(repository_list(&form.repositories)),
        external_project_mappings: None,
    };
    match integrations::update(&state, &user.actor, &user.origin, id, request).await {
        Ok(_) => Ok(see_other(user.fragment, &format!("/integrations/{id}"))),
        Err(error) if refused_on_form(&error) => {
            let status = crate::error::status_of(error.code());
            let message = Some(error.message().to_string());
            detail_page(&state, &user, id, Some(form), (message, None), status).await
        }
        Err(error) => Err(error.into()),
    }
}

/// `POST /integrations/{id}/test`: asks the service who the token is (GitHub, GitLab); the
/// outcome is the integration's health and shown on its page.
pub async fn test_connection(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    match integrations::test_connection(&state, &user.actor, &user.origin, id).await {
        Ok(check) => {
            let (error, notice) = match (check.ok, check.identity, check.error) {
                (true, Some(identity), _) => {
                    (None, Some(format!("Connected as {}.", identity.login)))
                }
                (true, None, _) => (None, Some("Connected.".to_string())),
                (false, _, error) => (
                    Some(format!(
                        "The connection failed: {}",
                        error.unwrap_or_default()
                    )),
                    None,
                ),
            };
            detail_page(&state, &user, id, None, (error, notice), StatusCode::OK).await
        }
        Err(error) if refused_on_form(&error) => {
            let status = crate::error::status_of(error.code());
            let message = Some(error.message().to_string());
            detail_page(&state, &user, id, None, (message, None), status).await
        }
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_are_read_one_per_line_or_by_commas() {
        assert_eq!(
            repository_list("acme/web\r\n acme/api , acme/cli\n\n"),
            ["acme/web", "acme/api", "acme/cli"]
        );
        assert!(repository_list("  ").is_empty());
    }

    #[test]
    fn only_a_typed_token_replaces_the_credentials() {
        assert_eq!(credentials(&Fields::parse(b"token=")), None);
        assert_eq!(
            credentials(&Fields::parse(b"token=ghp_x")),
            Some(serde_json::json!({"token": "ghp_x"}))
        );
    }
}
