use axum::extract::State;
use axum::Json;
use serde::Serialize;

use rampart_engine::services::teams;
use rampart_engine::Credential;

use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct MeResponse {
    pub user: MeUser,
    /// The team this credential acts for.
    pub team: MeTeam,
    /// Every team the user belongs to.
    pub teams: Vec<MeTeam>,
    pub credential: MeCredential,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MeUser {
    pub id: i64,
    pub email: String,
}

#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct MeTeam {
    pub id: i64,
    pub name: String,
    pub plan: String,
    pub role: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MeCredential {
    /// `api_key` or `session`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: i64,
    /// The key's name (`null` for a session).
    pub name: Option<String>,
    /// For keys: the key belongs to the team's service account.
    pub service_account: bool,
    /// Role in the acting team (a session's scopes come from it).
    pub role: String,
    pub scopes: Vec<String>,
    /// True for `rk_test_` keys: data they create is test data; no real scans or notifications.
    pub test_mode: bool,
}

/// Who am I: the user, their teams and roles, and the credential in use with its scopes.
#[utoipa::path(get, path = "/api/v1/me", tag = "identity",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = MeResponse),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ))]
pub async fn me(
    State(state): State<AppState>,
    Principal(principal): Principal,
) -> Result<Json<MeResponse>, ApiError> {
    let memberships = teams::memberships(&state, &principal).await?;
    let teams: Vec<MeTeam> = memberships
        .into_iter()
        .map(|m| MeTeam {
            id: m.team_id,
            name: m.team_name,
            plan: m.plan,
            role: m.role,
        })
        .collect();
    let team = teams
        .iter()
        .find(|t| t.id == principal.team_id)
        .cloned()
        .ok_or_else(|| ApiError::internal("credential's team has no membership for its user"))?;
    let test_mode = principal.is_test_mode();
    let (kind, id, name, service_account) = match principal.credential {
        Credential::ApiKey {
            id,
            name,
            service_account,
            ..
        } => ("api_key", id, Some(name), service_account),
        Credential::Session { id } => ("session", id, None, false),
    };
    Ok(Json(MeResponse {
        user: MeUser {
            id: principal.user_id,
            email: principal.user_email,
        },
        team,
        teams,
        credential: MeCredential {
            kind,
            id,
            name,
            service_account,
            role: principal.role.as_str().to_string(),
            scopes: principal
                .scopes
                .iter()
                .map(|s| s.as_str().to_string())
                .collect(),
            test_mode,
        },
    }))
}
