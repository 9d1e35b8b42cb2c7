//! Teams (tenants), members, settings and plans. Member and settings management needs
//! `teams:manage` (owners and admins); a team id other than the caller's answers 404. A team
//! always keeps an owner: removing or demoting its last owner is 409. Plans are set by the
//! operators (owners/admins of the team made at bootstrap) for any team. The rules are the
//! engine's `services::teams`; these handlers shape the views.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use rampart_core::Role;
use rampart_store::{MemberInfo, TeamInfo};
use serde::{Deserialize, Serialize};

use crate::auth::{Principal, RequestMeta};
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::state::AppState;
use rampart_engine::services::teams::{
    self, ChangeRole, InviteMember, SetPlan, UpdateTeamSettings,
};

#[derive(Serialize, utoipa::ToSchema)]
pub struct TeamView {
    pub id: i64,
    pub name: String,
    pub plan: String,
    /// The subscription: `active`, `past_due` or `inactive` (keys are refused while
    /// inactive or once `current_period_end` has passed).
    pub plan_status: String,
    pub current_period_end: Option<DateTime<Utc>>,
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
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
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

fn member_view(member: MemberInfo) -> MemberView {
    MemberView {
        user_id: member.user_id,
        email: member.email,
        role: member.role,
        joined_at: member.joined_at,
    }
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
    let teams = teams::memberships(&state, &principal)
        .await?
        .into_iter()
        .map(|m| TeamView {
            id: m.team_id,
            name: m.team_name,
            plan: m.plan,
            plan_status: m.plan_status,
            current_period_end: m.current_period_end,
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
    let team = teams::create(&state, &principal, &meta, &body.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(TeamView {
            id: team.id,
            name: team.name,
            plan: team.plan,
            plan_status: team.plan_status,
            current_period_end: team.current_period_end,
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
    let members: Vec<MemberView> = teams::members(&state, &principal, team_id)
        .await?
        .into_iter()
        .map(member_view)
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
    let body = body.map(|ApiJson(body)| body);
    let member = teams::invite(&state, &principal, &meta, team_id, body).await?;
    Ok((StatusCode::CREATED, Json(member_view(member))))
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
    teams::remove_member(&state, &principal, &meta, team_id, user_id).await?;
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
    let body = body.map(|ApiJson(body)| body);
    let member = teams::change_role(&state, &principal, &meta, team_id, user_id, body).await?;
    Ok(Json(member_view(member)))
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
    let team = teams::settings(&state, &principal, team_id).await?;
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
    let body = body.map(|ApiJson(body)| body);
    let team = teams::update_settings(&state, &principal, &meta, team_id, body).await?;
    Ok(Json(settings_view(&team)))
}

/// Sets a team's plan and/or its subscription (`status`: active, past_due or inactive;
/// `current_period_end`: when the paid period ends, `null` to clear). An inactive
/// subscription or an ended period refuses the team's API keys at once (403
/// `upgrade_required`); they work again when reactivated. Audited (`team.plan`); a status or
/// period change is also a `team.plan_changed` event. Operators only (owners/admins of the team made at
/// bootstrap).
#[utoipa::path(put, path = "/api/v1/teams/{team_id}/plan", tag = "teams",
    security(("bearer" = ["teams:manage"])),
    params(("team_id" = i64, Path, description = "Team id")),
    request_body = SetPlan,
    responses(
        (status = 200, description = "Plan set", body = TeamView),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 403, description = "Missing scope or not an operator", body = ErrorBody),
        (status = 404, description = "No such team", body = ErrorBody),
        (status = 422, description = "Unknown plan or status, bad time, or nothing to change", body = ErrorBody),
    ))]
pub async fn set_plan(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(team_id): Path<i64>,
    body: Result<ApiJson<SetPlan>, ApiError>,
) -> Result<Json<TeamView>, ApiError> {
    let body = body.map(|ApiJson(body)| body);
    let planned = teams::set_plan(&state, &principal, &meta, team_id, body).await?;
    Ok(Json(TeamView {
        id: planned.team.id,
        name: planned.team.name,
        plan: planned.team.plan,
        plan_status: planned.team.plan_status,
        current_period_end: planned.team.current_period_end,
        role: planned.operator_role,
    }))
}
