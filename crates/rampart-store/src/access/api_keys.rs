//! API key lifecycle: personal and service-account keys, their listing, revocation,
//! rotation and batched usage counts.

use crate::BeginWrite;
use chrono::{DateTime, Utc};
use rampart_core::{ApiKeyKind, ApiKeySecret, ScopeSet};

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
/// one of the team's service-account keys. Rotate selects with it (a key already rotated,
/// even one still in its grace period, is not rotated again).
const ACTIVE_KEY_VISIBLE_TO_CALLER: &str = "WHERE k.id = $1 AND k.team_id = $2
        AND k.revoked_at IS NULL AND (k.user_id = $3 OR ($4 AND u.kind = 'service'))";

/// [`ACTIVE_KEY_VISIBLE_TO_CALLER`] plus a key in the grace period of a rotation (revoked
/// after `$5`): revoke selects with it, to end the grace at once.
const REVOCABLE_KEY_VISIBLE_TO_CALLER: &str = "WHERE k.id = $1 AND k.team_id = $2
        AND (k.revoked_at IS NULL OR k.revoked_at > $5)
        AND (k.user_id = $3 OR ($4 AND u.kind = 'service'))";

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
            let mut tx = pool.begin_write().await?;
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
        // A key rotated with a grace period is revoked in the future: it works (and lists
        // as active) until then.
        let (condition, binds_at) = match status {
            KeyStatusFilter::Active => (
                "(k.revoked_at IS NULL OR k.revoked_at > $4)
                 AND (k.expires_at IS NULL OR k.expires_at > $4)",
                true,
            ),
            KeyStatusFilter::Expired => (
                "(k.revoked_at IS NULL OR k.revoked_at > $4)
                 AND k.expires_at IS NOT NULL AND k.expires_at <= $4",
                true,
            ),
            KeyStatusFilter::Revoked => ("k.revoked_at IS NOT NULL AND k.revoked_at <= $4", true),
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
            let mut tx = pool.begin_write().await?;
            let row: Option<ApiKeyInfoRow> = sqlx::query_as(&format!(
                "{KEY_INFO_SELECT} {REVOCABLE_KEY_VISIBLE_TO_CALLER}"
            ))
            .bind(key_id)
            .bind(visibility.team_id)
            .bind(visibility.user_id)
            .bind(visibility.include_service_accounts)
            .bind(at)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else { return Err(StoreError::NotFound) };
            // A service account whose other key (the one that replaced this) still works
            // keeps its account: only this key is revoked.
            let replaced: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM api_keys WHERE user_id = $1 AND id <> $2
                 AND (revoked_at IS NULL OR revoked_at > $3)",
            )
            .bind(row.user_id)
            .bind(key_id)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            if row.user_kind == "service" && replaced == 0 {
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
    /// kind and expiry policy, revoking the old one in the same transaction, effective
    /// `old_revoked_at` (`at` for at once; later for a grace period in which both work).
    /// Returns the new key.
    pub async fn rotate_api_key(
        &self,
        visibility: KeyVisibility,
        key_id: i64,
        rotated_by: i64,
        old_revoked_at: DateTime<Utc>,
        event: AuditEvent,
        at: DateTime<Utc>,
    ) -> Result<(ApiKeyInfo, ApiKeySecret), StoreError> {
        let (row, secret): (ApiKeyInfoRow, ApiKeySecret) = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
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
            .bind(old_revoked_at.max(at))
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
                .details(serde_json::json!({
                    "new_api_key_id": new_id,
                    "old_key_revoked_at": old_revoked_at.max(at),
                }));
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
            let mut tx = pool.begin_write().await?;
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
}

fn hex_of(bytes: [u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
