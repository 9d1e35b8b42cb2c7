//! Teams, users, memberships and API keys: the bootstrap of a fresh server and the lookup
//! every authenticated request makes.

use crate::BeginWrite;
use chrono::{DateTime, Utc};
use rampart_core::usage::PlanStatus;
use rampart_core::{ApiKeyHash, ApiKeyKind, ApiKeySecret, Role, ScopeSet};

use crate::{now, with_pool, Backend, Store, StoreError};

/// What the first start created. Later starts create nothing.
pub struct Bootstrap {
    pub team_id: i64,
    pub user_id: i64,
    /// The admin key, to be shown exactly once.
    pub admin_key: ApiKeySecret,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserKind {
    Person,
    /// Backs a key a team created for CI; hidden from member lists and quotas.
    Service,
}

impl UserKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UserKind::Person => "person",
            UserKind::Service => "service",
        }
    }

    pub(crate) fn from_db(text: &str) -> Result<Self, StoreError> {
        match text {
            "person" => Ok(UserKind::Person),
            "service" => Ok(UserKind::Service),
            other => Err(StoreError::Corrupt(format!("unknown user kind {other:?}"))),
        }
    }
}

/// A stored key as the authentication layer needs it.
#[derive(Debug, Clone)]
pub struct ApiKeyRecord {
    pub id: i64,
    pub team_id: i64,
    pub user_id: i64,
    pub user_email: String,
    pub user_kind: UserKind,
    /// Display name (`api_<key-name>` for service accounts).
    pub user_name: Option<String>,
    /// The owner's current role in the key's team; `None` once they left it (the key then
    /// stops working).
    pub role: Option<Role>,
    pub team_plan: String,
    /// The team's subscription status and paid period: keys stop working when the status is
    /// `inactive` or the period has ended.
    pub team_plan_status: PlanStatus,
    pub team_period_end: Option<DateTime<Utc>>,
    pub name: String,
    pub key_hash: ApiKeyHash,
    pub kind: ApiKeyKind,
    pub scopes: ScopeSet,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKeyRecord {
    /// Usable right now: neither revoked nor past its expiry. A key rotated with a grace
    /// period carries its revocation time in the future and works until then.
    pub fn is_active_at(&self, at: DateTime<Utc>) -> bool {
        self.revoked_at.is_none_or(|revoked| at < revoked)
            && self.expires_at.is_none_or(|expiry| at < expiry)
    }
}

#[derive(sqlx::FromRow)]
struct ApiKeyRow {
    id: i64,
    team_id: i64,
    user_id: i64,
    email: String,
    user_kind: String,
    user_name: Option<String>,
    role: Option<String>,
    plan: String,
    plan_status: String,
    current_period_end: Option<DateTime<Utc>>,
    name: String,
    key_hash: Vec<u8>,
    is_test: bool,
    scopes: String,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<ApiKeyRow> for ApiKeyRecord {
    type Error = StoreError;

    fn try_from(row: ApiKeyRow) -> Result<Self, StoreError> {
        Ok(ApiKeyRecord {
            id: row.id,
            team_id: row.team_id,
            user_id: row.user_id,
            user_email: row.email,
            user_kind: UserKind::from_db(&row.user_kind)?,
            user_name: row.user_name,
            role: row
                .role
                .map(|r| r.parse::<Role>())
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("api key {}: {e}", row.id)))?,
            team_plan: row.plan,
            team_plan_status: row.plan_status.parse().unwrap_or_default(),
            team_period_end: row.current_period_end,
            name: row.name,
            key_hash: ApiKeyHash::from_slice(&row.key_hash)
                .ok_or_else(|| StoreError::Corrupt(format!("api key {} hash length", row.id)))?,
            kind: if row.is_test {
                ApiKeyKind::Test
            } else {
                ApiKeyKind::Live
            },
            scopes: ScopeSet::parse_list(&row.scopes)
                .map_err(|e| StoreError::Corrupt(format!("api key {}: {e}", row.id)))?,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
        })
    }
}

/// A user's place in a team.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Membership {
    pub team_id: i64,
    pub team_name: String,
    pub plan: String,
    /// `active`, `past_due` or `inactive`.
    pub plan_status: String,
    pub current_period_end: Option<DateTime<Utc>>,
    pub role: String,
}

impl Store {
    /// First start: creates the operator's team (plan `enterprise`), its owner and an admin
    /// key with every scope, in one transaction. Returns `None` on every later start, also
    /// when several replicas race: the singleton `server_state` row decides who bootstraps.
    pub async fn bootstrap(&self, admin_email: &str) -> Result<Option<Bootstrap>, StoreError> {
        let at = now();
        let email = admin_email.trim().to_lowercase();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let claimed: Option<i32> = sqlx::query_scalar(
                "INSERT INTO server_state (id, bootstrapped_at) VALUES (1, $1)
                 ON CONFLICT (id) DO NOTHING RETURNING id",
            )
            .bind(at)
            .fetch_optional(&mut *tx)
            .await?;
            if claimed.is_none() {
                return Ok(None);
            }
            // The bootstrap team operates the server (server-wide settings such as sync sources).
            let team_id: i64 = sqlx::query_scalar(
                "INSERT INTO teams (name, plan, created_at, is_operator)
                 VALUES ($1, 'enterprise', $2, TRUE) RETURNING id",
            )
            .bind("Operators")
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            let user_id: i64 = sqlx::query_scalar(
                "INSERT INTO users (email, kind, created_at) VALUES ($1, 'person', $2)
                 ON CONFLICT (email) DO UPDATE SET email = excluded.email RETURNING id",
            )
            .bind(&email)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO team_members (team_id, user_id, role, created_at) VALUES ($1, $2, 'owner', $3)",
            )
            .bind(team_id)
            .bind(user_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            let admin_key = ApiKeySecret::generate(ApiKeyKind::Live);
            sqlx::query(
                "INSERT INTO api_keys (team_id, user_id, name, key_hash, is_test, last_six, scopes, created_at, created_by)
                 VALUES ($1, $2, $3, $4, FALSE, $5, $6, $7, $2)",
            )
            .bind(team_id)
            .bind(user_id)
            .bind("bootstrap admin key")
            .bind(admin_key.hash().0.to_vec())
            .bind(admin_key.last_six())
            .bind(ScopeSet::all().to_storage())
            .bind(at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Some(Bootstrap { team_id, user_id, admin_key }))
        })
    }

    /// The key whose SHA-256 is `hash`, whatever its state; the caller decides whether it is
    /// active. The hash comparison is repeated in constant time.
    pub async fn find_api_key(
        &self,
        hash: &ApiKeyHash,
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        let cached = self.backend() == Backend::Sqlite;
        let generation = if cached {
            match self.key_cache.get(hash) {
                Ok(record) => return Ok(Some(record)),
                Err(generation) => Some(generation),
            }
        } else {
            None
        };
        let row: Option<ApiKeyRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT k.id, k.team_id, k.user_id, u.email, u.kind AS user_kind, u.name AS user_name,
                        m.role, t.plan, t.plan_status, t.current_period_end, k.name, k.key_hash, k.is_test, k.scopes, k.expires_at,
                        k.revoked_at
                 FROM api_keys k
                 JOIN users u ON u.id = k.user_id
                 JOIN teams t ON t.id = k.team_id
                 LEFT JOIN team_members m ON m.team_id = k.team_id AND m.user_id = k.user_id
                 WHERE k.key_hash = $1",
            )
            .bind(hash.0.to_vec())
            .fetch_optional(pool)
            .await
        })?;
        let Some(row) = row else { return Ok(None) };
        let record = ApiKeyRecord::try_from(row)?;
        if !record.key_hash.matches(hash) {
            return Ok(None);
        }
        if let Some(generation) = generation {
            self.key_cache.insert(generation, &record);
        }
        Ok(Some(record))
    }

    /// The teams a user belongs to, with role and plan (service-account memberships too).
    pub async fn memberships(&self, user_id: i64) -> Result<Vec<Membership>, StoreError> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT t.id AS team_id, t.name AS team_name, t.plan, t.plan_status,
                        t.current_period_end, m.role
                 FROM team_members m JOIN teams t ON t.id = m.team_id
                 WHERE m.user_id = $1 ORDER BY t.id",
            )
            .bind(user_id)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows)
    }

    /// The id of the person with this (normalised) e-mail, if any; service accounts never
    /// match.
    pub async fn person_by_email(&self, email: &str) -> Result<Option<i64>, StoreError> {
        let id = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT id FROM users WHERE email = $1 AND kind = 'person'")
                .bind(email)
                .fetch_optional(pool)
                .await
        })?;
        Ok(id)
    }
}
