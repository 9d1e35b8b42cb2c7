//! Teams (tenants), members, settings and plans. Member and settings management needs
//! `teams:manage` (owners and admins); a team id other than the caller's answers 404. A team
//! always keeps an owner: removing or demoting its last owner is 409. Plans are set by the
//! operators (owners/admins of the team made at bootstrap) for any team.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use rampart_core::{ApiKeyCreation, Role, Scope};
use rampart_store::TeamInfo;
use serde::{Deserialize, Serialize};

use crate::auth::{Principal, RequestMeta};
use crate::error::{ApiError, ApiJson, ErrorBody, ErrorCode};
use crate::state::AppState;
use rampart_engine::services::login::normalize_email;
use rampart_engine::Plans;

#[derive(Serialize, utoipa::ToSchema)]
pub struct TeamView {
    pub id: i64,
    pub name: String,
    pub plan: String,
    /// The caller's role in it; `null` when the caller is not a member (an operator who set
    /// another team's plan).
    pub role: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TeamList {
    pub teams: Vec<TeamView>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTeam {
    /// 1-100 characters, no control characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MemberView {
    pub user_id: i64,
    pub email: String,
    pub role: String,
    pub joined_at: DateTime<Utc>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MemberList {
    pub members: Vec<MemberView>,
    pub total: usize,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteMember {
    pub email: String,
    /// owner, admin, member (default) or viewer.
    #[serde(default)]
    pub role: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRole {
    /// owner, admin, member or viewer.
    pub role: String,
}

/// A team's settings.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TeamSettings {
    pub team_id: i64,
    /// Who may create API keys: `members` (every member, seed 003; the default) or `admins`
    /// (owners and admins only, seed 004's `settings.manage`). Applies to creating and
    /// rotating keys, over the API and the seed endpoints alike.
    #[schema(value_type = String, example = "members")]
    pub api_key_creation: &'static str,
}

/// Settings to change; absent fields keep their value.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTeamSettings {
    /// `members` or `admins`.
    #[serde(default)]
    pub api_key_creation: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPlan {
    /// free, pro or enterprise.
    pub plan: String,
}

/// The caller's own team, or 404 for any other id (never 403: no hint it exists).
fn own_team(principal: &Principal, team_id: i64) -> Result<(), ApiError> {
    if principal.team_id == team_id {
        Ok(())
    } else {
        Err(ApiError::not_found("team"))
    }
}

/// A role a person can be given, or 422 naming `role`.
fn assignable_role(text: &str) -> Result<Role, ApiError> {
    text.parse()
        .ok()
        .filter(|r| Role::ASSIGNABLE.contains(r))
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::ValidationFailed,
                "`role` must be owner, admin, member or viewer",
            )
        })
}

fn settings_view(team: &TeamInfo) -> TeamSettings {
    TeamSettings {
        team_id: team.id,
        api_key_creation: team.api_key_creation().as_str(),
    }
}

/// The teams the caller belongs to, with their role and plan.
#[utoipa::path(get, path = "/api/v1/teams", tag = "teams",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Teams", body = TeamList),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ))]
pub async fn list_teams(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<TeamList>, ApiError> {
    let teams = state
        .store
        .memberships(principal.user_id)
        .await?
        .into_iter()
        .map(|m| TeamView {
            id: m.team_id,
            name: m.team_name,
            plan: m.plan,
            role: Some(m.role),
        })
        .collect();
    Ok(Json(TeamList { teams }))
}

/// Creates a team on the server's default plan, with the caller as owner (session only).
#[utoipa::path(post, path = "/api/v1/teams", tag = "teams",
    security(("bearer" = [])),
    request_body = CreateTeam,
    responses(
        (status = 201, description = "Created", body = TeamView),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 403, description = "Not a session", body = ErrorBody),
        (status = 422, description = "Invalid name", body = ErrorBody),
    ))]
pub async fn create_team(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    ApiJson(body): ApiJson<CreateTeam>,
) -> Result<(StatusCode, Json<TeamView>), ApiError> {
    principal.require_session()?;
    let name = rampart_engine::fields::name("name", &body.name, 100)?;
    let name = name.as_str();
    let event = principal.audit(&meta, "team.create");
    let team = state
        .store
        .create_team(
            principal.user_id,
            name,
            &state.config.default_plan,
            event,
            state.now(),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TeamView {
            id: team.id,
            name: team.name,
            plan: team.plan,
            role: Some(Role::Owner.as_str().into()),
        }),
    ))
}

/// The team's people (service accounts are not listed).
#[utoipa::path(get, path = "/api/v1/teams/{team_id}/members", tag = "teams",
    security(("bearer" = ["teams:manage"])),
    params(("team_id" = i64, Path, description = "Team id")),
    responses(
        (status = 200, description = "Members", body = MemberList),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 403, description = "Missing scope", body = ErrorBody),
        (status = 404, description = "Not your team", body = ErrorBody),
    ))]
pub async fn list_members(
    State(state): State<AppState>,
    principal: Principal,
    Path(team_id): Path<i64>,
) -> Result<Json<MemberList>, ApiError> {
    principal.require(Scope::TeamsManage)?;
    own_team(&principal, team_id)?;
    let members: Vec<MemberView> = state
        .store
        .list_members(team_id)
        .await?
        .into_iter()
        .map(|m| MemberView {
            user_id: m.user_id,
            email: m.email,
            role: m.role,
            joined_at: m.joined_at,
        })
        .collect();
    Ok(Json(MemberList {
        total: members.len(),
        members,
    }))
}

/// Invites a person by e-mail: they join with the role and log in with an e-mailed code.
#[utoipa::path(post, path = "/api/v1/teams/{team_id}/members", tag = "teams",
    security(("bearer" = ["teams:manage"])),
    params(("team_id" = i64, Path, description = "Team id")),
    request_body = InviteMember,
    responses(
        (status = 201, description = "Invited", body = MemberView),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 403, description = "Missing scope, or only owners may add owners", body = ErrorBody),
        (status = 404, description = "Not your team", body = ErrorBody),
        (status = 409, description = "Already a member", body = ErrorBody),
        (status = 422, description = "Invalid e-mail or role", body = ErrorBody),
    ))]
pub async fn invite_member(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(team_id): Path<i64>,
    body: Result<ApiJson<InviteMember>, ApiError>,
) -> Result<(StatusCode, Json<MemberView>), ApiError> {
    principal.require(Scope::TeamsManage)?;
    let ApiJson(body) = body?;
    own_team(&principal, team_id)?;
    let email = normalize_email(&body.email)?;
    let role = assignable_role(body.role.as_deref().unwrap_or("member"))?;
    if role == Role::Owner && principal.role != Role::Owner {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "only an owner can add another owner",
        ));
    }
    let event = principal.audit(&meta, "member.invite");
    let member = state
        .store
        .add_member(team_id, &email, role, event, state.now())
        .await?;
    let team_name = state
        .store
        .team(team_id)
        .await?
        .map(|t| t.name)
        .unwrap_or_default();
    let text = format!(
        "{} added you to the team \"{team_name}\" on Rampart as {role}.\n\
         Log in with this e-mail address: you will receive a one-time code.\n",
        principal.user_email
    );
    if let Err(error) = state
        .mailer
        .send(&email, "You were invited to a Rampart team", text)
        .await
    {
        // The membership stands; the person can still log in with a code.
        tracing::warn!(%error, "cannot send the invitation e-mail");
    }
    Ok((
        StatusCode::CREATED,
        Json(MemberView {
            user_id: member.user_id,
            email: member.email,
            role: member.role,
            joined_at: member.joined_at,
        }),
    ))
}

/// Removes a person from the team; their sessions and keys for it stop working at once.
#[utoipa::path(delete, path = "/api/v1/teams/{team_id}/members/{user_id}", tag = "teams",
    security(("bearer" = ["teams:manage"])),
    params(
        ("team_id" = i64, Path, description = "Team id"),
        ("user_id" = i64, Path, description = "User id"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 403, description = "Missing scope", body = ErrorBody),
        (status = 404, description = "Not your team, or not a member", body = ErrorBody),
        (status = 409, description = "The last owner", body = ErrorBody),
    ))]
pub async fn remove_member(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path((team_id, user_id)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    principal.require(Scope::TeamsManage)?;
    own_team(&principal, team_id)?;
    let event = principal.audit(&meta, "member.remove");
    state
        .store
        .remove_member(team_id, user_id, event, state.now())
        .await
        .map_err(|e| match e {
            rampart_store::StoreError::NotFound => ApiError::not_found("member"),
            other => other.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

/// Gives a member another role; their sessions and keys follow at once. Only an owner may
/// make or unmake an owner, and the team's last owner cannot be demoted (409).
#[utoipa::path(patch, path = "/api/v1/teams/{team_id}/members/{user_id}", tag = "teams",
    security(("bearer" = ["teams:manage"])),
    params(
        ("team_id" = i64, Path, description = "Team id"),
        ("user_id" = i64, Path, description = "User id"),
    ),
    request_body = ChangeRole,
    responses(
        (status = 200, description = "Role changed", body = MemberView),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 403, description = "Missing scope, or only owners may make or unmake owners", body = ErrorBody),
        (status = 404, description = "Not your team, or not a member", body = ErrorBody),
        (status = 409, description = "The last owner", body = ErrorBody),
        (status = 422, description = "Unknown role", body = ErrorBody),
    ))]
pub async fn change_member_role(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path((team_id, user_id)): Path<(i64, i64)>,
    body: Result<ApiJson<ChangeRole>, ApiError>,
) -> Result<Json<MemberView>, ApiError> {
    principal.require(Scope::TeamsManage)?;
    let ApiJson(body) = body?;
    own_team(&principal, team_id)?;
    let role = assignable_role(&body.role)?;
    let current = state
        .store
        .list_members(team_id)
        .await?
        .into_iter()
        .find(|m| m.user_id == user_id)
        .ok_or_else(|| ApiError::not_found("member"))?;
    let touches_owner = role == Role::Owner || current.role == Role::Owner.as_str();
    if touches_owner && principal.role != Role::Owner {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "only an owner can make or unmake an owner",
        ));
    }
    let event = principal.audit(&meta, "member.role");
    let member = state
        .store
        .set_member_role(team_id, user_id, role, event, state.now())
        .await
        .map_err(|e| match e {
            rampart_store::StoreError::NotFound => ApiError::not_found("member"),
            other => other.into(),
        })?;
    Ok(Json(MemberView {
        user_id: member.user_id,
        email: member.email,
        role: member.role,
        joined_at: member.joined_at,
    }))
}

/// The team's settings (owners and admins).
#[utoipa::path(get, path = "/api/v1/teams/{team_id}/settings", tag = "teams",
    security(("bearer" = ["teams:manage"])),
    params(("team_id" = i64, Path, description = "Team id")),
    responses(
        (status = 200, description = "Settings", body = TeamSettings),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 403, description = "Missing scope", body = ErrorBody),
        (status = 404, description = "Not your team", body = ErrorBody),
    ))]
pub async fn get_settings(
    State(state): State<AppState>,
    principal: Principal,
    Path(team_id): Path<i64>,
) -> Result<Json<TeamSettings>, ApiError> {
    principal.require(Scope::TeamsManage)?;
    own_team(&principal, team_id)?;
    let team = state
        .store
        .team(team_id)
        .await?
        .ok_or_else(|| ApiError::not_found("team"))?;
    Ok(Json(settings_view(&team)))
}

/// Changes the team's settings (owners and admins); every change is audited
/// (`team.settings`).
#[utoipa::path(patch, path = "/api/v1/teams/{team_id}/settings", tag = "teams",
    security(("bearer" = ["teams:manage"])),
    params(("team_id" = i64, Path, description = "Team id")),
    request_body = UpdateTeamSettings,
    responses(
        (status = 200, description = "Settings after the change", body = TeamSettings),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 403, description = "Missing scope", body = ErrorBody),
        (status = 404, description = "Not your team", body = ErrorBody),
        (status = 422, description = "Unknown value", body = ErrorBody),
    ))]
pub async fn update_settings(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(team_id): Path<i64>,
    body: Result<ApiJson<UpdateTeamSettings>, ApiError>,
) -> Result<Json<TeamSettings>, ApiError> {
    principal.require(Scope::TeamsManage)?;
    let ApiJson(body) = body?;
    own_team(&principal, team_id)?;
    let Some(text) = body.api_key_creation else {
        let team = state
            .store
            .team(team_id)
            .await?
            .ok_or_else(|| ApiError::not_found("team"))?;
        return Ok(Json(settings_view(&team)));
    };
    let setting = ApiKeyCreation::parse(&text).ok_or_else(|| {
        ApiError::new(
            ErrorCode::ValidationFailed,
            "`api_key_creation` must be members or admins",
        )
    })?;
    let event = principal.audit(&meta, "team.settings");
    let team = state
        .store
        .set_api_key_creation(team_id, setting, event, state.now())
        .await
        .map_err(|e| match e {
            rampart_store::StoreError::NotFound => ApiError::not_found("team"),
            other => other.into(),
        })?;
    Ok(Json(settings_view(&team)))
}

/// Sets a team's plan. Operators only (owners/admins of the team made at bootstrap).
#[utoipa::path(put, path = "/api/v1/teams/{team_id}/plan", tag = "teams",
    security(("bearer" = ["teams:manage"])),
    params(("team_id" = i64, Path, description = "Team id")),
    request_body = SetPlan,
    responses(
        (status = 200, description = "Plan set", body = TeamView),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 403, description = "Missing scope or not an operator", body = ErrorBody),
        (status = 404, description = "No such team", body = ErrorBody),
        (status = 422, description = "Unknown plan", body = ErrorBody),
    ))]
pub async fn set_plan(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(team_id): Path<i64>,
    body: Result<ApiJson<SetPlan>, ApiError>,
) -> Result<Json<TeamView>, ApiError> {
    principal.require(Scope::TeamsManage)?;
    let ApiJson(body) = body?;
    let operator = state
        .store
        .team(principal.team_id)
        .await?
        .is_some_and(|t| t.is_operator);
    if !operator {
        own_team(&principal, team_id)?;
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "plans are set by the server's operators",
        ));
    }
    if !Plans::NAMES.contains(&body.plan.as_str()) {
        return Err(ApiError::new(
            ErrorCode::ValidationFailed,
            "`plan` must be free, pro or enterprise",
        ));
    }
    let event = principal.audit(&meta, "team.plan");
    let team = state
        .store
        .set_team_plan(team_id, &body.plan, event, state.now())
        .await
        .map_err(|e| match e {
            rampart_store::StoreError::NotFound => ApiError::not_found("team"),
            other => other.into(),
        })?;
    // The operator's own role in that team, if they belong to it.
    let role = state
        .store
        .memberships(principal.user_id)
        .await?
        .into_iter()
        .find(|m| m.team_id == team.id)
        .map(|m| m.role);
    Ok(Json(TeamView {
        id: team.id,
        name: team.name,
        plan: team.plan,
        role,
    }))
}
