//! Teams (tenants), members, settings and plans.
//!
//! Member and settings management needs `teams:manage` (owners and admins); a team id other
//! than the caller's answers 404 (never 403: no hint it exists). Only an owner may make or
//! unmake an owner, and a team always keeps an owner: removing or demoting its last owner is
//! 409 (the store refuses it). Plans are set by the operators (owners/admins of the team made
//! at bootstrap) for any team. Invited people log in with an e-mailed code; the invitation
//! e-mail is a courtesy: when it cannot be sent the membership stands.

use chrono::SubsecRound;
use rampart_core::usage::PlanStatus;
use rampart_core::{ApiKeyCreation, Role, Scope};
use rampart_store::{MemberInfo, Membership, PlanChange, StoreError, TeamInfo};
use serde::Deserialize;

use crate::actor::{Actor, RequestOrigin};
use crate::config::Plans;
use crate::error::{ErrorCode, ServiceError};
use crate::services::login::normalize_email;
use crate::Engine;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteMember {
    #[schema(format = IdnEmail)]
    pub email: String,
    /// owner, admin, member (default) or viewer.
    #[serde(default)]
    #[schema(pattern = "^(owner|admin|member|viewer)$")]
    pub role: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRole {
    /// owner, admin, member or viewer.
    #[schema(pattern = "^(owner|admin|member|viewer)$")]
    pub role: String,
}

/// Settings to change; absent fields keep their value.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTeamSettings {
    /// `members` or `admins`.
    #[serde(default)]
    #[schema(pattern = "^(members|admins)$")]
    pub api_key_creation: Option<String>,
}

/// A change of a team's plan and/or subscription; absent fields keep their value, at
/// least one must be present.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPlan {
    /// free, pro or enterprise.
    #[serde(default)]
    #[schema(pattern = "^(free|pro|enterprise)$")]
    pub plan: Option<String>,
    /// The subscription status: active, past_due (keys still work) or inactive (keys are
    /// refused at once, work again when active).
    #[serde(default)]
    #[schema(pattern = "^(active|past_due|inactive)$")]
    pub status: Option<String>,
    /// When the paid period ends (RFC 3339 time, or a date meaning the end of that day UTC):
    /// keys are refused from then on. `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub current_period_end: Option<Option<String>>,
}

/// A field that is present (even as `null`) is `Some`; absent stays `None` (serde default).
fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// The caller's own team, or 404 for any other id.
fn own_team(actor: &Actor, team_id: i64) -> Result<(), ServiceError> {
    if actor.team_id == team_id {
        Ok(())
    } else {
        Err(ServiceError::not_found("team"))
    }
}

/// A role a person can be given, or 422 naming `role`.
fn assignable_role(text: &str) -> Result<Role, ServiceError> {
    text.parse()
        .ok()
        .filter(|r| Role::ASSIGNABLE.contains(r))
        .ok_or_else(|| ServiceError::invalid("`role` must be owner, admin, member or viewer"))
}

/// Only an owner may give or take away the owner role.
fn may_touch_owner(actor: &Actor, touches_owner: bool, refusal: &str) -> Result<(), ServiceError> {
    if touches_owner && actor.role != Role::Owner {
        Err(ServiceError::new(ErrorCode::Forbidden, refusal))
    } else {
        Ok(())
    }
}

/// The store's "no such row" as the 404 of `what`.
fn missing(what: &'static str) -> impl Fn(StoreError) -> ServiceError {
    move |error| match error {
        StoreError::NotFound => ServiceError::not_found(what),
        other => other.into(),
    }
}

/// The teams the caller belongs to, with their role and plan.
pub async fn memberships(engine: &Engine, actor: &Actor) -> Result<Vec<Membership>, ServiceError> {
    Ok(engine.store.memberships(actor.user_id).await?)
}

/// Creates a team on the server's default plan with the caller (a session) as owner.
pub async fn create(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    name: &str,
) -> Result<TeamInfo, ServiceError> {
    actor.require_session()?;
    let name = crate::fields::name("name", name, 100)?;
    let event = actor.audit(origin, "team.create");
    let team = engine
        .store
        .create_team(
            actor.user_id,
            name.as_str(),
            &engine.config.default_plan,
            event,
            engine.now(),
        )
        .await?;
    Ok(team)
}

/// The team's people (service accounts are not listed).
pub async fn members(
    engine: &Engine,
    actor: &Actor,
    team_id: i64,
) -> Result<Vec<MemberInfo>, ServiceError> {
    actor.require(Scope::TeamsManage)?;
    own_team(actor, team_id)?;
    Ok(engine.store.list_members(team_id).await?)
}

/// Adds a person by e-mail with a role (default `member`) and mails them an invitation.
/// `body` is the request as the front end read it: the scope check comes first.
pub async fn invite<E: From<ServiceError>>(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    team_id: i64,
    body: Result<InviteMember, E>,
) -> Result<MemberInfo, E> {
    actor.require(Scope::TeamsManage)?;
    let body = body?;
    Ok(add_and_invite(engine, actor, origin, team_id, body).await?)
}

async fn add_and_invite(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    team_id: i64,
    body: InviteMember,
) -> Result<MemberInfo, ServiceError> {
    own_team(actor, team_id)?;
    let email = normalize_email(&body.email)?;
    let role = assignable_role(body.role.as_deref().unwrap_or("member"))?;
    may_touch_owner(
        actor,
        role == Role::Owner,
        "only an owner can add another owner",
    )?;
    let event = actor.audit(origin, "member.invite");
    let member = engine
        .store
        .add_member(team_id, &email, role, event, engine.now())
        .await?;
    let team_name = engine
        .store
        .team(team_id)
        .await?
        .map(|t| t.name)
        .unwrap_or_default();
    let text = invitation_text(&actor.user_email, &team_name, role);
    if let Err(error) = engine
        .mailer
        .send(&email, "You were invited to a Rampart team", text)
        .await
    {
        // The membership stands; the person can still log in with a code.
        tracing::warn!(%error, "cannot send the invitation e-mail");
    }
    Ok(member)
}

fn invitation_text(inviter: &str, team_name: &str, role: Role) -> String {
    format!(
        "{inviter} added you to the team \"{team_name}\" on Rampart as {role}.\n\
         Log in with this e-mail address: you will receive a one-time code.\n"
    )
}

/// Removes a person from the team; their sessions and keys for it stop working at once.
pub async fn remove_member(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    team_id: i64,
    user_id: i64,
) -> Result<(), ServiceError> {
    actor.require(Scope::TeamsManage)?;
    own_team(actor, team_id)?;
    let event = actor.audit(origin, "member.remove");
    engine
        .store
        .remove_member(team_id, user_id, event, engine.now())
        .await
        .map_err(missing("member"))?;
    Ok(())
}

/// Gives a member another role; their sessions and keys follow at once.
pub async fn change_role<E: From<ServiceError>>(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    team_id: i64,
    user_id: i64,
    body: Result<ChangeRole, E>,
) -> Result<MemberInfo, E> {
    actor.require(Scope::TeamsManage)?;
    let body = body?;
    Ok(set_role(engine, actor, origin, team_id, user_id, &body.role).await?)
}

async fn set_role(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    team_id: i64,
    user_id: i64,
    role: &str,
) -> Result<MemberInfo, ServiceError> {
    own_team(actor, team_id)?;
    let role = assignable_role(role)?;
    let current = engine
        .store
        .list_members(team_id)
        .await?
        .into_iter()
        .find(|m| m.user_id == user_id)
        .ok_or_else(|| ServiceError::not_found("member"))?;
    let touches_owner = role == Role::Owner || current.role == Role::Owner.as_str();
    may_touch_owner(
        actor,
        touches_owner,
        "only an owner can make or unmake an owner",
    )?;
    let event = actor.audit(origin, "member.role");
    engine
        .store
        .set_member_role(team_id, user_id, role, event, engine.now())
        .await
        .map_err(missing("member"))
}

/// The team's settings (owners and admins).
pub async fn settings(
    engine: &Engine,
    actor: &Actor,
    team_id: i64,
) -> Result<TeamInfo, ServiceError> {
    actor.require(Scope::TeamsManage)?;
    own_team(actor, team_id)?;
    team(engine, team_id).await
}

async fn team(engine: &Engine, team_id: i64) -> Result<TeamInfo, ServiceError> {
    engine
        .store
        .team(team_id)
        .await?
        .ok_or_else(|| ServiceError::not_found("team"))
}

/// Changes the team's settings (audited as `team.settings`); returns the team after it.
pub async fn update_settings<E: From<ServiceError>>(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    team_id: i64,
    body: Result<UpdateTeamSettings, E>,
) -> Result<TeamInfo, E> {
    actor.require(Scope::TeamsManage)?;
    let body = body?;
    Ok(apply_settings(engine, actor, origin, team_id, body).await?)
}

async fn apply_settings(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    team_id: i64,
    body: UpdateTeamSettings,
) -> Result<TeamInfo, ServiceError> {
    own_team(actor, team_id)?;
    let Some(text) = body.api_key_creation else {
        return team(engine, team_id).await;
    };
    let setting = ApiKeyCreation::parse(&text)
        .ok_or_else(|| ServiceError::invalid("`api_key_creation` must be members or admins"))?;
    let event = actor.audit(origin, "team.settings");
    engine
        .store
        .set_api_key_creation(team_id, setting, event, engine.now())
        .await
        .map_err(missing("team"))
}

/// A team whose plan an operator set, with the operator's own role in it (if any).
pub struct PlannedTeam {
    pub team: TeamInfo,
    pub operator_role: Option<String>,
}

/// Sets a team's plan (operators only; anyone else learns nothing about other teams).
pub async fn set_plan<E: From<ServiceError>>(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    team_id: i64,
    body: Result<SetPlan, E>,
) -> Result<PlannedTeam, E> {
    actor.require(Scope::TeamsManage)?;
    let body = body?;
    Ok(apply_plan(engine, actor, origin, team_id, body).await?)
}

/// The change `body` asks for, validated (422 naming the field).
pub fn plan_change(body: SetPlan) -> Result<PlanChange, ServiceError> {
    if body.plan.is_none() && body.status.is_none() && body.current_period_end.is_none() {
        return Err(ServiceError::invalid(
            "give at least one of `plan`, `status` and `current_period_end`",
        ));
    }
    if let Some(plan) = &body.plan {
        if !Plans::NAMES.contains(&plan.as_str()) {
            return Err(ServiceError::invalid(
                "`plan` must be free, pro or enterprise",
            ));
        }
    }
    let status = body
        .status
        .as_deref()
        .map(|text| text.parse::<PlanStatus>())
        .transpose()
        .map_err(ServiceError::invalid)?;
    let current_period_end = match body.current_period_end {
        None => None,
        Some(None) => Some(None),
        Some(Some(text)) => Some(Some(parse_period_end(&text).ok_or_else(|| {
            ServiceError::invalid(
                "`current_period_end` must be an RFC 3339 time or a date (YYYY-MM-DD)",
            )
        })?)),
    };
    Ok(PlanChange {
        plan: body.plan,
        status,
        current_period_end,
    })
}

fn parse_period_end(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let text = text.trim();
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return date.and_hms_opt(23, 59, 59).map(|t| t.and_utc());
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc).trunc_subsecs(6))
}

async fn apply_plan(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    team_id: i64,
    body: SetPlan,
) -> Result<PlannedTeam, ServiceError> {
    let operator = engine
        .store
        .team(actor.team_id)
        .await?
        .is_some_and(|t| t.is_operator);
    if !operator {
        own_team(actor, team_id)?;
        return Err(ServiceError::new(
            ErrorCode::Forbidden,
            "plans are set by the server's operators",
        ));
    }
    let change = plan_change(body)?;
    let event = actor.audit(origin, "team.plan");
    let team = engine
        .store
        .set_team_plan(team_id, &change, event, engine.now())
        .await
        .map_err(missing("team"))?;
    let operator_role = engine
        .store
        .memberships(actor.user_id)
        .await?
        .into_iter()
        .find(|m| m.team_id == team.id)
        .map(|m| m.role);
    Ok(PlannedTeam {
        team,
        operator_role,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_can_be_given_the_four_roles_only() {
        for (text, role) in [
            ("owner", Role::Owner),
            ("admin", Role::Admin),
            ("member", Role::Member),
            ("viewer", Role::Viewer),
        ] {
            assert_eq!(assignable_role(text).unwrap(), role);
        }
        for bad in ["", "root", "Owner ", "service"] {
            let error = assignable_role(bad).unwrap_err();
            assert_eq!(error.code(), ErrorCode::ValidationFailed, "{bad:?}");
        }
    }

    #[test]
    fn the_invitation_names_inviter_team_and_role() {
        let text = invitation_text("ann@example.com", "Blue", Role::Viewer);
        assert!(
            text.starts_with(
                "ann@example.com added you to the team \"Blue\" on Rampart as viewer.\n"
            ),
            "{text}"
        );
    }
}
