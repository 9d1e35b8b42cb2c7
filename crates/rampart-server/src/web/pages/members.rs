//! The team's members and roles (`services::teams`: owners and admins manage; only owners
//! make or unmake owners; the last owner stays).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use rampart_engine::services::teams::{self, ChangeRole, InviteMember};
use rampart_engine::ServiceError;

use super::when;
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::Form;
use crate::web::layout::{render, see_other, Layout};
use crate::web::session::SignedIn;

const ROLES: [&str; 4] = ["owner", "admin", "member", "viewer"];

pub struct MemberRow {
    pub user_id: i64,
    pub email: String,
    pub role: String,
    pub joined: String,
    pub is_me: bool,
}

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage {
    layout: Layout,
    members: Vec<MemberRow>,
    roles: [&'static str; 4],
    /// The team's plan and subscription (operators change them).
    plan: String,
    plan_status: String,
    period_end: String,
}

/// `GET /settings/members`.
pub async fn list(State(state): State<AppState>, user: SignedIn) -> Result<Response, WebError> {
    let members = teams::members(&state, &user.actor, user.actor.team_id).await?;
    let team = state
        .store
        .team(user.actor.team_id)
        .await?
        .ok_or_else(|| WebError::from(ServiceError::not_found("team")))?;
    Ok(render(&MembersPage {
        plan: team.plan.clone(),
        plan_status: team.plan_status.replace('_', " "),
        period_end: team
            .current_period_end
            .map_or_else(|| "not set".to_string(), when),
        layout: user.layout("Members", "members"),
        members: members
            .into_iter()
            .map(|m| MemberRow {
                is_me: m.user_id == user.actor.user_id,
                user_id: m.user_id,
                email: m.email,
                role: m.role,
                joined: when(m.joined_at),
            })
            .collect(),
        roles: ROLES,
    }))
}

/// `POST /settings/members`: adds a person by e-mail (they get an invitation).
pub async fn invite(
    State(state): State<AppState>,
    user: SignedIn,
    Form(form): Form,
) -> Result<Response, WebError> {
    let body = InviteMember {
        email: form.get("email").unwrap_or("").to_string(),
        role: form.get("role").map(str::to_string),
    };
    teams::invite::<ServiceError>(
        &state,
        &user.actor,
        &user.origin,
        user.actor.team_id,
        Ok(body),
    )
    .await?;
    Ok(see_other(user.fragment, "/settings/members"))
}

/// `POST /settings/members/{user_id}/role`.
pub async fn change_role(
    State(state): State<AppState>,
    user: SignedIn,
    Path(user_id): Path<i64>,
    Form(form): Form,
) -> Result<Response, WebError> {
    let body = ChangeRole {
        role: form.get("role").unwrap_or("").to_string(),
    };
    teams::change_role::<ServiceError>(
        &state,
        &user.actor,
        &user.origin,
        user.actor.team_id,
        user_id,
        Ok(body),
    )
    .await?;
    Ok(see_other(user.fragment, "/settings/members"))
}

/// `POST /settings/members/{user_id}/remove`.
pub async fn remove(
    State(state): State<AppState>,
    user: SignedIn,
    Path(user_id): Path<i64>,
) -> Result<Response, WebError> {
    teams::remove_member(
        &state,
        &user.actor,
        &user.origin,
        user.actor.team_id,
        user_id,
    )
    .await?;
    Ok(see_other(user.fragment, "/settings/members"))
}
