//! Teams and their members: plans, the key-creation policy, membership changes that always
//! keep an owner.

use crate::BeginWrite;
use chrono::{DateTime, Utc};
use rampart_core::usage::PlanStatus;
use rampart_core::{ApiKeyCreation, EventType, Role};

use crate::audit::{insert_audit, AuditEvent};
use crate::events::{record_event, NewEvent};
use crate::products::Tenant;
use crate::{with_pool, Store, StoreError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TeamInfo {
    pub id: i64,
    pub name: String,
    pub plan: String,
    pub is_operator: bool,
    pub created_at: DateTime<Utc>,
    /// `members` or `admins` (a CHECK constraint keeps it one of them).
    pub api_key_creation: String,
    /// `active`, `past_due` or `inactive` (a CHECK constraint keeps it one of them).
    pub plan_status: String,
    /// The end of the paid period, if one is set: keys stop working then.
    pub current_period_end: Option<DateTime<Utc>>,
}

impl TeamInfo {
    /// Who may create API keys in this team.
    pub fn api_key_creation(&self) -> ApiKeyCreation {
        ApiKeyCreation::parse(&self.api_key_creation).unwrap_or_default()
    }

    /// The subscription status (an unknown stored value reads as `active`).
    pub fn plan_status(&self) -> PlanStatus {
        self.plan_status.parse().unwrap_or_default()
    }
}

/// A change of a team's plan or subscription; absent fields keep their value.
#[derive(Debug, Clone, Default)]
pub struct PlanChange {
    pub plan: Option<String>,
    pub status: Option<PlanStatus>,
    /// `Some(None)` clears the period end.
    pub current_period_end: Option<Option<DateTime<Utc>>>,
}

/// The columns of [`TeamInfo`].
const TEAM_COLUMNS: &str =
    "id, name, plan, is_operator, created_at, api_key_creation, plan_status, current_period_end";

/// Takes the team's row lock for the rest of the transaction: on PostgreSQL a row lock, on
/// SQLite the database write lock (the first statement writes, so the transaction never has
/// to upgrade a stale read snapshot). Membership changes that must keep an owner serialise
/// on it. False when the team does not exist.
macro_rules! lock_team {
    ($tx:expr, $team_id:expr) => {
        sqlx::query("UPDATE teams SET name = name WHERE id = $1")
            .bind($team_id)
            .execute($tx)
            .await
            .map(|done| done.rows_affected() == 1)
    };
}

/// Locks the team and reads `user_id`'s role in it ([`StoreError::NotFound`] for a non-member);
/// when `loses_owner(role)` says the change takes an owner away, refuses it (409) if that owner
/// is the team's last. Evaluates to the member's current role.
macro_rules! lock_member_keeping_an_owner {
    ($tx:expr, $team_id:expr, $user_id:expr, $loses_owner:expr) => {{
        if !lock_team!($tx, $team_id)? {
            return Err(StoreError::NotFound);
        }
        let role: Option<String> = sqlx::query_scalar(MEMBER_ROLE)
            .bind($team_id)
            .bind($user_id)
            .fetch_optional($tx)
            .await?;
        let Some(role) = role else {
            return Err(StoreError::NotFound);
        };
        if ($loses_owner)(role.as_str()) {
            let owners: i64 = sqlx::query_scalar(COUNT_OWNERS)
                .bind($team_id)
                .fetch_one($tx)
                .await?;
            if owners <= 1 {
                return Err(last_owner());
            }
        }
        role
    }};
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberInfo {
    pub user_id: i64,
    pub email: String,
    pub role: String,
    pub joined_at: DateTime<Utc>,
}

impl Store {
    pub async fn team(&self, team_id: i64) -> Result<Option<TeamInfo>, StoreError> {
        let team = with_pool!(self, pool => {
            sqlx::query_as(&format!("SELECT {TEAM_COLUMNS} FROM teams WHERE id = $1"))
                .bind(team_id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(team)
    }

    /// The teams called exactly `name` (names are not unique), oldest first.
    pub async fn teams_named(&self, name: &str) -> Result<Vec<TeamInfo>, StoreError> {
        let teams = with_pool!(self, pool => {
            sqlx::query_as(&format!("SELECT {TEAM_COLUMNS} FROM teams WHERE name = $1 ORDER BY id"))
                .bind(name)
                .fetch_all(pool)
                .await
        })?;
        Ok(teams)
    }

    /// A new team on `plan` with `owner_user_id` as its owner.
    pub async fn create_team(
        &self,
        owner_user_id: i64,
        name: &str,
        plan: &str,
        event: AuditEvent,
        at: DateTime<Utc>,
    ) -> Result<TeamInfo, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let team: TeamInfo = sqlx::query_as(&format!(
                "INSERT INTO teams (name, plan, created_at) VALUES ($1, $2, $3) RETURNING {TEAM_COLUMNS}"
            ))
            .bind(name)
            .bind(plan)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO team_members (team_id, user_id, role, created_at) VALUES ($1, $2, 'owner', $3)",
            )
            .bind(team.id)
            .bind(owner_user_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            let event = event.in_team(team.id).target("team", team.id);
            insert_audit!(&mut *tx, &event, at)?;
            tx.commit().await?;
            Ok(team)
        })
    }

    /// A team's people (service accounts are not members in this sense).
    pub async fn list_members(&self, team_id: i64) -> Result<Vec<MemberInfo>, StoreError> {
        let members = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT u.id AS user_id, u.email, m.role, m.created_at AS joined_at
                 FROM team_members m JOIN users u ON u.id = m.user_id
                 WHERE m.team_id = $1 AND u.kind = 'person' ORDER BY u.id",
            )
            .bind(team_id)
            .fetch_all(pool)
            .await
        })?;
        Ok(members)
    }

    /// Adds a person (created on first invitation) to a team. [`StoreError::Conflict`] when
    /// they already belong to it.
    pub async fn add_member(
        &self,
        team_id: i64,
        email: &str,
        role: Role,
        event: AuditEvent,
        at: DateTime<Utc>,
    ) -> Result<MemberInfo, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let user_id: i64 = sqlx::query_scalar(
                "INSERT INTO users (email, kind, created_at) VALUES ($1, 'person', $2)
                 ON CONFLICT (email) DO UPDATE SET email = excluded.email RETURNING id",
            )
            .bind(email)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            let inserted = sqlx::query(
                "INSERT INTO team_members (team_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (team_id, user_id) DO NOTHING",
            )
            .bind(team_id)
            .bind(user_id)
            .bind(role.as_str())
            .bind(at)
            .execute(&mut *tx)
            .await?;
            if inserted.rows_affected() == 0 {
                return Err(StoreError::Conflict(format!("{email} is already a member")));
            }
            let event = event.target("user", user_id).details(serde_json::json!({
                "email": email, "role": role.as_str()
            }));
            insert_audit!(&mut *tx, &event, at)?;
            tx.commit().await?;
            Ok(MemberInfo { user_id, email: email.to_string(), role: role.as_str().to_string(), joined_at: at })
        })
    }

    /// Removes a person from a team (their sessions and keys there stop working at once).
    /// [`StoreError::NotFound`] for non-members; [`StoreError::Conflict`] for the last owner.
    pub async fn remove_member(
        &self,
        team_id: i64,
        user_id: i64,
        event: AuditEvent,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            lock_member_keeping_an_owner!(&mut *tx, team_id, user_id, |role: &str| {
                role == Role::Owner.as_str()
            });
            sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2")
                .bind(team_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE api_keys SET revoked_at = $3 WHERE team_id = $1 AND user_id = $2 AND revoked_at IS NULL",
            )
            .bind(team_id)
            .bind(user_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            let event = event.target("user", user_id);
            insert_audit!(&mut *tx, &event, at)?;
            tx.commit().await?;
            self.key_cache.forget_all();
            Ok(())
        })
    }

    /// Gives a member another role (their sessions and keys follow at once).
    /// [`StoreError::NotFound`] for non-members; [`StoreError::Conflict`] when it would leave
    /// the team without an owner.
    pub async fn set_member_role(
        &self,
        team_id: i64,
        user_id: i64,
        role: Role,
        event: AuditEvent,
        at: DateTime<Utc>,
    ) -> Result<MemberInfo, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let current = lock_member_keeping_an_owner!(&mut *tx, team_id, user_id, |current: &str| {
                current == Role::Owner.as_str() && role != Role::Owner
            });
            sqlx::query("UPDATE team_members SET role = $3 WHERE team_id = $1 AND user_id = $2")
                .bind(team_id)
                .bind(user_id)
                .bind(role.as_str())
                .execute(&mut *tx)
                .await?;
            let member: MemberInfo = sqlx::query_as(
                "SELECT u.id AS user_id, u.email, m.role, m.created_at AS joined_at
                 FROM team_members m JOIN users u ON u.id = m.user_id
                 WHERE m.team_id = $1 AND m.user_id = $2",
            )
            .bind(team_id)
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
            let event = event.target("user", user_id).details(serde_json::json!({
                "from": current, "to": role.as_str()
            }));
            insert_audit!(&mut *tx, &event, at)?;
            tx.commit().await?;
            self.key_cache.forget_all();
            Ok(member)
        })
    }

    /// Changes who may create API keys in the team.
    pub async fn set_api_key_creation(
        &self,
        team_id: i64,
        setting: ApiKeyCreation,
        event: AuditEvent,
        at: DateTime<Utc>,
    ) -> Result<TeamInfo, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let team: Option<TeamInfo> = sqlx::query_as(&format!(
                "UPDATE teams SET api_key_creation = $2 WHERE id = $1 RETURNING {TEAM_COLUMNS}"
            ))
            .bind(team_id)
            .bind(setting.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let Some(team) = team else { return Err(StoreError::NotFound) };
            let event = event
                .target("team", team_id)
                .details(serde_json::json!({ "api_key_creation": setting.as_str() }));
            insert_audit!(&mut *tx, &event, at)?;
            tx.commit().await?;
            Ok(team)
        })
    }

    /// Changes a team's plan and/or subscription status and period, audited with the values
    /// before and after; a change of status or period also emits `team.plan_changed` in the
    /// same transaction. Keys follow at once (the key cache is emptied).
    pub async fn set_team_plan(
        &self,
        team_id: i64,
        change: &PlanChange,
        event: AuditEvent,
        at: DateTime<Utc>,
    ) -> Result<TeamInfo, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let before: Option<TeamInfo> = sqlx::query_as(&format!(
                "SELECT {TEAM_COLUMNS} FROM teams WHERE id = $1"
            ))
            .bind(team_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(before) = before else { return Err(StoreError::NotFound) };
            let plan = change.plan.clone().unwrap_or_else(|| before.plan.clone());
            let status = change.status.unwrap_or_else(|| before.plan_status());
            let period_end = change.current_period_end.unwrap_or(before.current_period_end);
            let team: TeamInfo = sqlx::query_as(&format!(
                "UPDATE teams SET plan = $2, plan_status = $3, current_period_end = $4
                 WHERE id = $1 RETURNING {TEAM_COLUMNS}"
            ))
            .bind(team_id)
            .bind(&plan)
            .bind(status.as_str())
            .bind(period_end)
            .fetch_one(&mut *tx)
            .await?;
            let data = serde_json::json!({
                "team_id": team_id,
                "plan": plan,
                "status": status.as_str(),
                "current_period_end": period_end,
                "previous": {
                    "plan": before.plan,
                    "status": before.plan_status,
                    "current_period_end": before.current_period_end,
                },
            });
            let event = event.target("team", team_id).details(data.clone());
            insert_audit!(&mut *tx, &event, at)?;
            // The subscription's lifecycle is an event (its keys stop or work again); a plan
            // name alone changing is audited only, as before.
            let lifecycle = status != before.plan_status() || period_end != before.current_period_end;
            if lifecycle {
                record_event(&mut *tx, &NewEvent::team(Tenant::live(team_id), EventType::TeamPlanChanged, data)).await?;
            }
            tx.commit().await?;
            self.key_cache.forget_all();
            Ok(team)
        })
    }
}

/// A person's role in a team (`$1` team, `$2` user); service accounts are not members here.
const MEMBER_ROLE: &str = "SELECT m.role FROM team_members m JOIN users u ON u.id = m.user_id
     WHERE m.team_id = $1 AND m.user_id = $2 AND u.kind = 'person'";

const COUNT_OWNERS: &str =
    "SELECT COUNT(*) FROM team_members WHERE team_id = $1 AND role = 'owner'";

fn last_owner() -> StoreError {
    StoreError::Conflict("a team keeps at least one owner: make another member owner first".into())
}
