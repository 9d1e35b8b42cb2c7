//! E-mail OTP codes and login sessions (sign-up on first login when allowed).

use crate::BeginWrite;
use chrono::{DateTime, Utc};
use rampart_core::{ApiKeyHash, Role};

use crate::audit::{insert_audit, AuditEvent};
use crate::{with_pool, Store, StoreError};

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

impl Store {
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
            let mut tx = pool.begin_write().await?;
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
            let mut tx = pool.begin_write().await?;
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
            let mut tx = pool.begin_write().await?;
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
            let mut tx = pool.begin_write().await?;
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
}
