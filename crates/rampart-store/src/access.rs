//! Identity and access beyond bootstrap: API key lifecycle (personal and service-account
//! keys), e-mail OTP codes, sessions, teams and members, batched key usage, and the shared
//! rate-limit counters. Every mutation records its audit event in the same transaction.

use chrono::{DateTime, Utc};
use rampart_core::{ApiKeyCreation, ApiKeyHash, ApiKeyKind, ApiKeySecret, Role, ScopeSet};

use crate::audit::{insert_audit, AuditEvent};
use crate::identity::UserKind;
use crate::{with_pool, Backend, Store, StoreError};

/// A key as its owner (or a team admin) sees it: never the secret.
#[derive(Debug, Clone)]
pub struct ApiKeyInfo {
    pub id: i64,
    pub team_id: i64,
    pub user_id: i64,
    pub owner_kind: UserKind,
    /// The owner's e-mail, or `api_<key-name>` for a service account.
    pub owner: String,
    pub name: String,
    pub kind: ApiKeyKind,
    pub last_six: String,
    pub scopes: ScopeSet,
    pub expires_at: Option<DateTime<Utc>>,
    /// Set when the key was created with "expires in N days"; a rotation repeats it.
    pub expiry_days: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub request_count: i64,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_by: Option<i64>,
}

impl ApiKeyInfo {
    /// `rk_live_••••••a1b2c3`.
    pub fn masked(&self) -> String {
        rampart_core::api_key::mask(self.kind, &self.last_six)
    }
}

#[derive(sqlx::FromRow)]
struct ApiKeyInfoRow {
    id: i64,
    team_id: i64,
    user_id: i64,
    user_kind: String,
    owner: String,
    name: String,
    is_test: bool,
    last_six: String,
    scopes: String,
    expires_at: Option<DateTime<Utc>>,
    expiry_days: Option<i32>,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    request_count: i64,
    revoked_at: Option<DateTime<Utc>>,
    created_by: Option<i64>,
}

impl TryFrom<ApiKeyInfoRow> for ApiKeyInfo {
    type Error = StoreError;

    fn try_from(row: ApiKeyInfoRow) -> Result<Self, StoreError> {
        Ok(ApiKeyInfo {
            id: row.id,
            team_id: row.team_id,
            user_id: row.user_id,
            owner_kind: UserKind::from_db(&row.user_kind)?,
            owner: row.owner,
            name: row.name,
            kind: if row.is_test {
                ApiKeyKind::Test
            } else {
                ApiKeyKind::Live
            },
            last_six: row.last_six,
            scopes: ScopeSet::parse_list(&row.scopes)
                .map_err(|e| StoreError::Corrupt(format!("api key {}: {e}", row.id)))?,
            expires_at: row.expires_at,
            expiry_days: row.expiry_days,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            request_count: row.request_count,
            revoked_at: row.revoked_at,
            created_by: row.created_by,
        })
    }
}

/// The active key `$1` of team `$2` that caller `$3` may manage: their own, or (when `$4`)
/// one of the team's service-account keys. Revoke and rotate select with it.
const ACTIVE_KEY_VISIBLE_TO_CALLER: &str = "WHERE k.id = $1 AND k.team_id = $2
        AND k.revoked_at IS NULL AND (k.user_id = $3 OR ($4 AND u.kind = 'service'))";

const KEY_INFO_SELECT: &str = "SELECT k.id, k.team_id, k.user_id, u.kind AS user_kind,
        COALESCE(u.name, u.email) AS owner, k.name, k.is_test, k.last_six, k.scopes,
        k.expires_at, k.expiry_days, k.created_at, k.last_used_at, k.request_count,
        k.revoked_at, k.created_by
    FROM api_keys k JOIN users u ON u.id = k.user_id";

/// Whose key a new key is.
#[derive(Debug, Clone, Copy)]
pub enum KeyOwner {
    /// A person's own key; refused once they hold `max_active` active keys in the team.
    User { user_id: i64, max_active: i64 },
    /// A team key for CI, backed by a new service account `api_<key-name>`, outside user
    /// quotas.
    ServiceAccount,
}

#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub team_id: i64,
    pub owner: KeyOwner,
    pub name: String,
    pub kind: ApiKeyKind,
    pub scopes: ScopeSet,
    pub expires_at: Option<DateTime<Utc>>,
    pub expiry_days: Option<i32>,
    /// The person creating it.
    pub created_by: i64,
}

/// Which keys a caller may see and manage: their own, plus the team's service-account keys
/// when they may manage the team.
#[derive(Debug, Clone, Copy)]
pub struct KeyVisibility {
    pub team_id: i64,
    pub user_id: i64,
    pub include_service_accounts: bool,
}

/// Which keys a listing shows. Active keys authenticate; expired ones can still be rotated;
/// revoked ones are kept for the record only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatusFilter {
    /// Not revoked and not expired: the keys that work (and count against the plan's quota).
    Active,
    /// Not revoked, past their expiry.
    Expired,
    Revoked,
    All,
}

/// An e-mail login code, as stored (hashed).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OtpRecord {
    pub id: i64,
    pub email: String,
    pub code_salt: Vec<u8>,
    pub code_hash: Vec<u8>,
    pub attempts: i32,
    pub expires_at: DateTime<Utc>,
    pub consumed_at: Option<DateTime<Utc>>,
}

/// A login code to store: only its salted hash.
#[derive(Debug, Clone)]
pub struct NewOtp<'a> {
    pub email: &'a str,
    pub code_salt: &'a [u8],
    pub code_hash: &'a [u8],
    pub source_ip: Option<&'a str>,
    pub expires_at: DateTime<Utc>,
}

/// A login session as the authentication layer needs it.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub id: i64,
    pub token_hash: ApiKeyHash,
    pub user_id: i64,
    pub email: String,
    pub team_id: i64,
    pub team_plan: String,
    /// `None` once the user left the session's team (the session then stops working).
    pub role: Option<Role>,
    pub expires_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: i64,
    token_hash: Vec<u8>,
    user_id: i64,
    email: String,
    team_id: i64,
    plan: String,
    role: Option<String>,
    expires_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
}

/// What a successful OTP login produced.
#[derive(Debug, Clone)]
pub struct LoginOutcome {
    pub session_id: i64,
    pub user_id: i64,
    pub team_id: i64,
    /// The e-mail was new: a user and their own team (on the default plan) were created.
    pub signed_up: bool,
}

#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub email: &'a str,
    /// The team to act for; `None` picks the user's first team.
    pub team_id: Option<i64>,
    /// `Some(plan)` lets an unknown e-mail sign up with a new team on that plan.
    pub signup_plan: Option<&'a str>,
    pub token_hash: ApiKeyHash,
    pub source_ip: Option<&'a str>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TeamInfo {
    pub id: i64,
    pub name: String,
    pub plan: String,
    pub is_operator: bool,
    pub created_at: DateTime<Utc>,
    /// `members` or `admins` (a CHECK constraint keeps it one of them).
    pub api_key_creation: String,
}

impl TeamInfo {
    /// Who may create API keys in this team.
    pub fn api_key_creation(&self) -> ApiKeyCreation {
        ApiKeyCreation::parse(&self.api_key_creation).unwrap_or_default()
    }
}

/// The columns of [`TeamInfo`].
const TEAM_COLUMNS: &str = "id, name, plan, is_operator, created_at, api_key_creation";

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
    /// Creates a key (and, for a team key, its service account) and records `event` with the
    /// new key as target. Fails with [`StoreError::LimitReached`] when a user's quota is full.
    pub async fn create_api_key(
        &self,
        new: &NewApiKey,
        event: AuditEvent,
        at: DateTime<Utc>,
    ) -> Result<(ApiKeyInfo, ApiKeySecret), StoreError> {
        let secret = ApiKeySecret::generate(new.kind);
        let is_postgres = self.backend() == Backend::Postgres;
        let row: ApiKeyInfoRow = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let user_id = match new.owner {
                KeyOwner::User { user_id, max_active } => {
                    if is_postgres {
                        // Serialises concurrent creations by one user across replicas.
                        sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
                            .bind(user_id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    let active: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM api_keys WHERE user_id = $1 AND team_id = $2
                         AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $3)",
                    )
                    .bind(user_id)
                    .bind(new.team_id)
                    .bind(at)
                    .fetch_one(&mut *tx)
                    .await?;
                    if active >= max_active {
                        return Err(StoreError::LimitReached(max_active));
                    }
                    user_id
                }
                KeyOwner::ServiceAccount => {
                    let email = format!(
                        "api-{}-{}@service-accounts.invalid",
                        new.team_id,
                        &hex_of(secret.hash().0)[..16]
                    );
                    let user_id: i64 = sqlx::query_scalar(
                        "INSERT INTO users (email, kind, name, created_at) VALUES ($1, 'service', $2, $3)
                         RETURNING id",
                    )
                    .bind(email)
                    .bind(format!("api_{}", new.name))
                    .bind(at)
                    .fetch_one(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO team_members (team_id, user_id, role, created_at)
                         VALUES ($1, $2, 'service', $3)",
                    )
                    .bind(new.team_id)
                    .bind(user_id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    user_id
                }
            };
            let key_id: i64 = sqlx::query_scalar(
                "INSERT INTO api_keys (team_id, user_id, name, key_hash, is_test, last_six, scopes,
                                       expires_at, expiry_days, created_at, created_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            )
            .bind(new.team_id)
            .bind(user_id)
            .bind(&new.name)
            .bind(secret.hash().0.to_vec())
            .bind(new.kind == ApiKeyKind::Test)
            .bind(secret.last_six())
            .bind(new.scopes.to_storage())
            .bind(new.expires_at)
            .bind(new.expiry_days)
            .bind(at)
            .bind(new.created_by)
            .fetch_one(&mut *tx)
            .await?;
            let event = event.target("api_key", key_id);
            insert_audit!(&mut *tx, &event, at)?;
            let row = sqlx::query_as(&format!("{KEY_INFO_SELECT} WHERE k.id = $1"))
                .bind(key_id)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            row
        });
        Ok((ApiKeyInfo::try_from(row)?, secret))
    }

    /// The caller's keys in `status` at `at` (and the team's service-account keys when
    /// visible), oldest first.
    pub async fn list_api_keys(
        &self,
        visibility: KeyVisibility,
        status: KeyStatusFilter,
        at: DateTime<Utc>,
    ) -> Result<Vec<ApiKeyInfo>, StoreError> {
        let (condition, binds_at) = match status {
            KeyStatusFilter::Active => (
                "k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $4)",
                true,
            ),
            KeyStatusFilter::Expired => (
                "k.revoked_at IS NULL AND k.expires_at IS NOT NULL AND k.expires_at <= $4",
                true,
            ),
            KeyStatusFilter::Revoked => ("k.revoked_at IS NOT NULL", false),
            KeyStatusFilter::All => ("TRUE", false),
        };
        let sql = format!(
            "{KEY_INFO_SELECT} WHERE k.team_id = $1 AND {condition}
             AND (k.user_id = $2 OR ($3 AND u.kind = 'service')) ORDER BY k.id"
        );
        let rows: Vec<ApiKeyInfoRow> = with_pool!(self, pool => {
            let mut query = sqlx::query_as(&sql)
                .bind(visibility.team_id)
                .bind(visibility.user_id)
                .bind(visibility.include_service_accounts);
            if binds_at {
                query = query.bind(at);
            }
            query.fetch_all(pool).await
        })?;
        rows.into_iter().map(ApiKeyInfo::try_from).collect()
    }

    /// Revokes a visible, unrevoked key. A service-account key takes its account with it
    /// (the account's membership and key rows go too). Unknown, invisible or already
    /// revoked keys are [`StoreError::NotFound`].
    pub async fn revoke_api_key(
        &self,
        visibility: KeyVisibility,
        key_id: i64,
        event: AuditEvent,
        at: DateTime<Utc>,
    ) -> Result<ApiKeyInfo, StoreError> {
        let row: ApiKeyInfoRow = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let row: Option<ApiKeyInfoRow> = sqlx::query_as(&format!(
                "{KEY_INFO_SELECT} {ACTIVE_KEY_VISIBLE_TO_CALLER}"
            ))
            .bind(key_id)
            .bind(visibility.team_id)
            .bind(visibility.user_id)
            .bind(visibility.include_service_accounts)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else { return Err(StoreError::NotFound) };
            if row.user_kind == "service" {
                sqlx::query("DELETE FROM users WHERE id = $1 AND kind = 'service'")
                    .bind(row.user_id)
                    .execute(&mut *tx)
                    .await?;
            } else {
                sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE id = $1")
                    .bind(key_id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
            }
            let event = event.target("api_key", key_id);
            insert_audit!(&mut *tx, &event, at)?;
            tx.commit().await?;
            self.key_cache.forget_all();
            row
        });
        let mut info = ApiKeyInfo::try_from(row)?;
        info.revoked_at = Some(at);
        Ok(info)
    }

    /// Replaces a visible, unrevoked key with a new one of the same owner, name, scopes,
    /// kind and expiry policy, revoking the old one in the same transaction. Returns the new
    /// key and the old key's id.
    pub async fn rotate_api_key(
        &self,
        visibility: KeyVisibility,
        key_id: i64,
        rotated_by: i64,
        event: AuditEvent,
        at: DateTime<Utc>,
    ) -> Result<(ApiKeyInfo, ApiKeySecret), StoreError> {
        let (row, secret): (ApiKeyInfoRow, ApiKeySecret) = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let old: Option<ApiKeyInfoRow> = sqlx::query_as(&format!(
                "{KEY_INFO_SELECT} {ACTIVE_KEY_VISIBLE_TO_CALLER}"
            ))
            .bind(key_id)
            .bind(visibility.team_id)
            .bind(visibility.user_id)
            .bind(visibility.include_service_accounts)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(old) = old else { return Err(StoreError::NotFound) };
            let kind = if old.is_test { ApiKeyKind::Test } else { ApiKeyKind::Live };
            let secret = ApiKeySecret::generate(kind);
            let expires_at = match old.expiry_days {
                Some(days) => Some(at + chrono::Duration::days(days.into())),
                None => old.expires_at,
            };
            let revoked = sqlx::query(
                "UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            )
            .bind(key_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            if revoked.rows_affected() != 1 {
                return Err(StoreError::NotFound);
            }
            let new_id: i64 = sqlx::query_scalar(
                "INSERT INTO api_keys (team_id, user_id, name, key_hash, is_test, last_six, scopes,
                                       expires_at, expiry_days, created_at, created_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            )
            .bind(old.team_id)
            .bind(old.user_id)
            .bind(&old.name)
            .bind(secret.hash().0.to_vec())
            .bind(old.is_test)
            .bind(secret.last_six())
            .bind(&old.scopes)
            .bind(expires_at)
            .bind(old.expiry_days)
            .bind(at)
            .bind(rotated_by)
            .fetch_one(&mut *tx)
            .await?;
            let event = event
                .target("api_key", key_id)
                .details(serde_json::json!({ "new_api_key_id": new_id }));
            insert_audit!(&mut *tx, &event, at)?;
            let row: ApiKeyInfoRow = sqlx::query_as(&format!("{KEY_INFO_SELECT} WHERE k.id = $1"))
                .bind(new_id)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            self.key_cache.forget_all();
            (row, secret)
        });
        Ok((ApiKeyInfo::try_from(row)?, secret))
    }

    /// Adds batched usage: per key, the number of requests and the latest use.
    pub async fn record_key_usage(
        &self,
        usage: &[(i64, i64, DateTime<Utc>)],
    ) -> Result<(), StoreError> {
        if usage.is_empty() {
            return Ok(());
        }
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for (key_id, count, last_used) in usage {
                sqlx::query(
                    "UPDATE api_keys SET request_count = request_count + $2,
                        last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < $3
                                            THEN $3 ELSE last_used_at END
                     WHERE id = $1",
                )
                .bind(key_id)
                .bind(count)
                .bind(last_used)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// OTP codes requested since `since`: (for this e-mail, from this IP).
    pub async fn count_otp_requests(
        &self,
        email: &str,
        ip: Option<&str>,
        since: DateTime<Utc>,
    ) -> Result<(i64, i64), StoreError> {
        with_pool!(self, pool => {
            let by_email: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM otp_codes WHERE email = $1 AND created_at >= $2",
            )
            .bind(email)
            .bind(since)
            .fetch_one(pool)
            .await?;
            let by_ip: i64 = match ip {
                Some(ip) => sqlx::query_scalar(
                    "SELECT COUNT(*) FROM otp_codes WHERE request_ip = $1 AND created_at >= $2",
                )
                .bind(ip)
                .bind(since)
                .fetch_one(pool)
                .await?,
                None => 0,
            };
            Ok((by_email, by_ip))
        })
    }

    /// Stores a new code (hashed); it supersedes every earlier code for the e-mail.
    pub async fn create_otp(
        &self,
        otp: &NewOtp<'_>,
        event: &AuditEvent,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO otp_codes (email, code_salt, code_hash, request_ip, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(otp.email)
            .bind(otp.code_salt)
            .bind(otp.code_hash)
            .bind(otp.source_ip)
            .bind(at)
            .bind(otp.expires_at)
            .execute(&mut *tx)
            .await?;
            insert_audit!(&mut *tx, event, at)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The most recent code for an e-mail, whatever its state (older codes are void).
    pub async fn latest_otp(&self, email: &str) -> Result<Option<OtpRecord>, StoreError> {
        let row = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, email, code_salt, code_hash, attempts, expires_at, consumed_at
                 FROM otp_codes WHERE email = $1 ORDER BY id DESC LIMIT 1",
            )
            .bind(email)
            .fetch_optional(pool)
            .await
        })?;
        Ok(row)
    }

    /// Counts a wrong guess (atomically) and records `event`; returns the attempts so far.
    /// The event goes to the team of the person the e-mail belongs to (their first team),
    /// so team admins see failed logins.
    pub async fn fail_otp(
        &self,
        otp_id: i64,
        email: &str,
        event: &AuditEvent,
        at: DateTime<Utc>,
    ) -> Result<i32, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let attempts: i32 = sqlx::query_scalar(
                "UPDATE otp_codes SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts",
            )
            .bind(otp_id)
            .fetch_one(&mut *tx)
            .await?;
            let team_id: Option<i64> = sqlx::query_scalar(
                "SELECT MIN(m.team_id) FROM team_members m JOIN users u ON u.id = m.user_id
                 WHERE u.email = $1 AND u.kind = 'person'",
            )
            .bind(email)
            .fetch_one(&mut *tx)
            .await?;
            let mut event = event.clone();
            event.team_id = event.team_id.or(team_id);
            insert_audit!(&mut *tx, &event, at)?;
            tx.commit().await?;
            Ok(attempts)
        })
    }

    /// Marks a code used; false if another request used it first (single use).
    pub async fn consume_otp(&self, otp_id: i64, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let done = with_pool!(self, pool => {
            sqlx::query("UPDATE otp_codes SET consumed_at = $2 WHERE id = $1 AND consumed_at IS NULL")
                .bind(otp_id)
                .bind(at)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// Opens a session for `new.email` (signing it up first when allowed) and records
    /// `event` (actor filled in) in the chosen team. [`StoreError::NotFound`]: unknown e-mail
    /// without sign-up, or a team the user is not in.
    pub async fn login(
        &self,
        new: &NewSession<'_>,
        mut event: AuditEvent,
        at: DateTime<Utc>,
    ) -> Result<LoginOutcome, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let existing: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM users WHERE email = $1 AND kind = 'person'",
            )
            .bind(new.email)
            .fetch_optional(&mut *tx)
            .await?;
            let mut signed_up = false;
            let user_id = match (existing, new.signup_plan) {
                (Some(id), _) => id,
                (None, Some(plan)) => {
                    signed_up = true;
                    let user_id: i64 = sqlx::query_scalar(
                        "INSERT INTO users (email, kind, created_at) VALUES ($1, 'person', $2) RETURNING id",
                    )
                    .bind(new.email)
                    .bind(at)
                    .fetch_one(&mut *tx)
                    .await?;
                    let team_id: i64 = sqlx::query_scalar(
                        "INSERT INTO teams (name, plan, created_at) VALUES ($1, $2, $3) RETURNING id",
                    )
                    .bind(new.email)
                    .bind(plan)
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
                    user_id
                }
                (None, None) => return Err(StoreError::NotFound),
            };
            let team_id: Option<i64> = sqlx::query_scalar(
                "SELECT team_id FROM team_members WHERE user_id = $1 AND ($2 IS NULL OR team_id = $2)
                 ORDER BY team_id LIMIT 1",
            )
            .bind(user_id)
            .bind(new.team_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(team_id) = team_id else { return Err(StoreError::NotFound) };
            let session_id: i64 = sqlx::query_scalar(
                "INSERT INTO sessions (user_id, team_id, token_hash, source_ip, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(user_id)
            .bind(team_id)
            .bind(new.token_hash.0.to_vec())
            .bind(new.source_ip)
            .bind(at)
            .bind(new.expires_at)
            .fetch_one(&mut *tx)
            .await?;
            event.team_id = Some(team_id);
            event.actor.user_id = Some(user_id);
            event.actor.kind = "user";
            event = event
                .target("session", session_id)
                .details(serde_json::json!({ "signed_up": signed_up }));
            insert_audit!(&mut *tx, &event, at)?;
            tx.commit().await?;
            Ok(LoginOutcome { session_id, user_id, team_id, signed_up })
        })
    }

    /// The session whose token hashes to `hash`, whatever its state. The hash comparison is
    /// repeated in constant time.
    pub async fn find_session(
        &self,
        hash: &ApiKeyHash,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row: Option<SessionRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT s.id, s.token_hash, s.user_id, u.email, s.team_id, t.plan, m.role,
                        s.expires_at, s.ended_at
                 FROM sessions s
                 JOIN users u ON u.id = s.user_id
                 JOIN teams t ON t.id = s.team_id
                 LEFT JOIN team_members m ON m.team_id = s.team_id AND m.user_id = s.user_id
                 WHERE s.token_hash = $1",
            )
            .bind(hash.0.to_vec())
            .fetch_optional(pool)
            .await
        })?;
        let Some(row) = row else { return Ok(None) };
        let token_hash = ApiKeyHash::from_slice(&row.token_hash)
            .ok_or_else(|| StoreError::Corrupt(format!("session {} hash length", row.id)))?;
        if !token_hash.matches(hash) {
            return Ok(None);
        }
        Ok(Some(SessionRecord {
            id: row.id,
            token_hash,
            user_id: row.user_id,
            email: row.email,
            team_id: row.team_id,
            team_plan: row.plan,
            role: row
                .role
                .map(|r| r.parse::<Role>())
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("session {}: {e}", row.id)))?,
            expires_at: row.expires_at,
            ended_at: row.ended_at,
        }))
    }

    /// Ends a session for good (logout) and records `event`.
    pub async fn end_session(
        &self,
        session_id: i64,
        event: &AuditEvent,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE sessions SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL")
                .bind(session_id)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            insert_audit!(&mut *tx, event, at)?;
            tx.commit().await?;
        });
        Ok(())
    }

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
            let mut tx = pool.begin().await?;
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
            let mut tx = pool.begin().await?;
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
            let mut tx = pool.begin().await?;
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
            let mut tx = pool.begin().await?;
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
            let mut tx = pool.begin().await?;
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

    /// Changes a team's plan.
    pub async fn set_team_plan(
        &self,
        team_id: i64,
        plan: &str,
        event: AuditEvent,
        at: DateTime<Utc>,
    ) -> Result<TeamInfo, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let team: Option<TeamInfo> = sqlx::query_as(&format!(
                "UPDATE teams SET plan = $2 WHERE id = $1 RETURNING {TEAM_COLUMNS}"
            ))
            .bind(team_id)
            .bind(plan)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(team) = team else { return Err(StoreError::NotFound) };
            let event = event
                .target("team", team_id)
                .details(serde_json::json!({ "plan": plan }));
            insert_audit!(&mut *tx, &event, at)?;
            tx.commit().await?;
            self.key_cache.forget_all();
            Ok(team)
        })
    }

    /// One more hit in `bucket`'s window; returns the window's count including this hit.
    /// Atomic across replicas (one upsert).
    pub async fn hit_rate_counter(
        &self,
        bucket: &str,
        window_start: i64,
    ) -> Result<i64, StoreError> {
        let hits = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO rate_limit_counters (bucket, window_start, hits) VALUES ($1, $2, 1)
                 ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limit_counters.hits + 1
                 RETURNING hits",
            )
            .bind(bucket)
            .bind(window_start)
            .fetch_one(pool)
            .await
        })?;
        Ok(hits)
    }

    /// Drops counters of windows that started before `window_start`.
    pub async fn purge_rate_counters(&self, window_start: i64) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM rate_limit_counters WHERE window_start < $1")
                .bind(window_start)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
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

fn hex_of(bytes: [u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
