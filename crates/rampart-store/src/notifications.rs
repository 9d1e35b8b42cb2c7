//! E-mail notifications: each person's preferences in a team (which event types, immediate or
//! a daily digest), the notifier's progress through the team's events (a cursor per
//! subscriber, so nothing is sent twice across restarts, and a lease so one replica at a time
//! works on a subscriber), and the log of every e-mail notification of an event.

use crate::BeginWrite;
use chrono::{DateTime, Utc};

use crate::audit::insert_audit;
use crate::{now, with_pool, AuditEvent, Store, StoreError};

/// A person's notification preferences in one team, with the notifier's progress.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct NotificationPreferences {
    pub team_id: i64,
    pub user_id: i64,
    /// Space-separated event types.
    pub event_types: String,
    /// `immediate` or `daily_digest`.
    pub delivery: String,
    /// UTC hour the daily digest goes out.
    pub digest_hour: i32,
    pub enabled: bool,
    pub unsubscribed_at: Option<DateTime<Utc>>,
    pub last_event_id: i64,
    pub next_digest_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl NotificationPreferences {
    pub fn event_type_list(&self) -> Vec<String> {
        self.event_types
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }
}

/// Preferences to store.
#[derive(Debug, Clone)]
pub struct PreferencesWrite {
    pub event_types: Vec<String>,
    pub delivery: String,
    pub digest_hour: i32,
    pub enabled: bool,
    /// When the first digest is due (daily delivery).
    pub next_digest_at: Option<DateTime<Utc>>,
}

/// A subscriber the notifier holds the lease of: preferences and the address to write to.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Subscriber {
    #[sqlx(flatten)]
    pub preferences: NotificationPreferences,
    pub email: String,
}

/// An event as the notifier reads it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct NotifiableEvent {
    pub id: i64,
    #[sqlx(rename = "type")]
    pub event_type: String,
    pub test_mode: bool,
    /// JSON object.
    pub data: String,
    pub created_at: DateTime<Utc>,
}

const PREFERENCE_COLUMNS: &str = "team_id, user_id, event_types, delivery, digest_hour, enabled,
    unsubscribed_at, last_event_id, next_digest_at, created_at, updated_at";

impl Store {
    pub async fn notification_preferences(
        &self,
        team_id: i64,
        user_id: i64,
    ) -> Result<Option<NotificationPreferences>, StoreError> {
        let sql = format!(
            "SELECT {PREFERENCE_COLUMNS} FROM notification_preferences
             WHERE team_id = $1 AND user_id = $2"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(team_id)
                .bind(user_id)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// Creates or replaces a person's preferences and records `event`. A new subscriber
    /// starts after the team's latest event (no history is mailed); subscribing again clears
    /// an unsubscription.
    pub async fn set_notification_preferences(
        &self,
        team_id: i64,
        user_id: i64,
        write: &PreferencesWrite,
        event: &AuditEvent,
    ) -> Result<NotificationPreferences, StoreError> {
        let at = now();
        let sql = format!(
            "INSERT INTO notification_preferences (team_id, user_id, event_types, delivery,
                digest_hour, enabled, unsubscribed_at, last_event_id, next_digest_at,
                created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8, $9, $9)
             ON CONFLICT (team_id, user_id) DO UPDATE SET event_types = excluded.event_types,
                delivery = excluded.delivery, digest_hour = excluded.digest_hour,
                enabled = excluded.enabled, unsubscribed_at = NULL,
                next_digest_at = excluded.next_digest_at, updated_at = excluded.updated_at
             RETURNING {PREFERENCE_COLUMNS}"
        );
        let types = write.event_types.join(" ");
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let latest: i64 = sqlx::query_scalar(
                "SELECT COALESCE(MAX(id), 0) FROM events WHERE team_id = $1",
            )
            .bind(team_id)
            .fetch_one(&mut *tx)
            .await?;
            let row: NotificationPreferences = sqlx::query_as(&sql)
                .bind(team_id)
                .bind(user_id)
                .bind(&types)
                .bind(&write.delivery)
                .bind(write.digest_hour)
                .bind(write.enabled)
                .bind(latest)
                .bind(write.next_digest_at)
                .bind(at)
                .fetch_one(&mut *tx)
                .await?;
            insert_audit!(&mut *tx, &event.clone().target("notification_preferences", user_id), at)?;
            tx.commit().await?;
            Ok(row)
        })
    }

    /// Unsubscribes a person from a team's e-mail (the link in every e-mail) and records
    /// `event`; false when they have no preferences there.
    pub async fn unsubscribe_notifications(
        &self,
        team_id: i64,
        user_id: i64,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let at = now();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let changed = sqlx::query(
                "UPDATE notification_preferences SET unsubscribed_at = COALESCE(unsubscribed_at, $3),
                    updated_at = $3
                 WHERE team_id = $1 AND user_id = $2",
            )
            .bind(team_id)
            .bind(user_id)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed > 0 {
                // Queued digest entries will not be sent.
                sqlx::query(
                    "DELETE FROM notification_deliveries
                     WHERE team_id = $1 AND user_id = $2 AND status = 'queued'",
                )
                .bind(team_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
                insert_audit!(&mut *tx, &event.clone().target("notification_preferences", user_id), at)?;
            }
            tx.commit().await?;
            Ok(changed > 0)
        })
    }

    /// Takes the lease (until `until`) of every active subscriber whose lease is free or
    /// expired, for `owner`; returns them with their e-mail address. A subscriber who left the
    /// team is not taken.
    pub async fn claim_subscribers(
        &self,
        owner: &str,
        at: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Subscriber>, StoreError> {
        let columns = PREFERENCE_COLUMNS
            .split(',')
            .map(|c| format!("p.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let select = format!(
            "SELECT {columns}, u.email FROM notification_preferences p
             JOIN users u ON u.id = p.user_id
             JOIN team_members m ON m.team_id = p.team_id AND m.user_id = p.user_id
             WHERE p.lease_owner = $1 AND p.lease_until = $2"
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "UPDATE notification_preferences SET lease_owner = $1, lease_until = $2
                 WHERE (team_id, user_id) IN (
                    SELECT team_id, user_id FROM notification_preferences
                    WHERE enabled AND unsubscribed_at IS NULL
                      AND (lease_until IS NULL OR lease_until < $3)
                    ORDER BY team_id, user_id LIMIT $4)",
            )
            .bind(owner)
            .bind(until)
            .bind(at)
            .bind(limit)
            .execute(&mut *tx)
            .await?;
            let rows: Vec<Subscriber> = sqlx::query_as(&select)
                .bind(owner)
                .bind(until)
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(rows)
        })
    }

    /// Gives a subscriber's lease back.
    pub async fn release_subscriber(
        &self,
        team_id: i64,
        user_id: i64,
        owner: &str,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE notification_preferences SET lease_owner = NULL, lease_until = NULL
                 WHERE team_id = $1 AND user_id = $2 AND lease_owner = $3",
            )
            .bind(team_id)
            .bind(user_id)
            .bind(owner)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    /// The team's events after `after`, oldest first (test-mode ones included: the notifier
    /// skips them and moves on).
    pub async fn events_after(
        &self,
        team_id: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<NotifiableEvent>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, type, test_mode, data, created_at FROM events
                 WHERE team_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            )
            .bind(team_id)
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await
        })?)
    }

    /// Records what became of an event for a subscriber (`queued` for a digest, `sent`,
    /// `failed`, or nothing when `status` is `None`: not wanted) and moves their cursor past
    /// it, while `owner` holds their lease, renewing it until `lease_until`. False when the
    /// lease was lost (nothing written).
    #[allow(clippy::too_many_arguments)]
    pub async fn record_notification(
        &self,
        team_id: i64,
        user_id: i64,
        owner: &str,
        lease_until: DateTime<Utc>,
        event: &NotifiableEvent,
        delivery: &str,
        status: Option<&str>,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let at = now();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let moved = sqlx::query(
                "UPDATE notification_preferences SET last_event_id = $3, lease_until = $5
                 WHERE team_id = $1 AND user_id = $2 AND lease_owner = $4 AND last_event_id < $3",
            )
            .bind(team_id)
            .bind(user_id)
            .bind(event.id)
            .bind(owner)
            .bind(lease_until)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if moved == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            if let Some(status) = status {
                let sent_at = (status == "sent").then_some(at);
                sqlx::query(
                    "INSERT INTO notification_deliveries (team_id, user_id, event_id, event_type,
                        delivery, status, error, created_at, sent_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                     ON CONFLICT (user_id, team_id, event_id) DO NOTHING",
                )
                .bind(team_id)
                .bind(user_id)
                .bind(event.id)
                .bind(&event.event_type)
                .bind(delivery)
                .bind(status)
                .bind(error)
                .bind(at)
                .bind(sent_at)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// The events queued for a subscriber's digest, oldest first.
    pub async fn queued_digest(
        &self,
        team_id: i64,
        user_id: i64,
    ) -> Result<Vec<NotifiableEvent>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT e.id, e.type, e.test_mode, e.data, e.created_at
                 FROM notification_deliveries d JOIN events e ON e.id = d.event_id
                 WHERE d.team_id = $1 AND d.user_id = $2 AND d.status = 'queued'
                 ORDER BY e.id",
            )
            .bind(team_id)
            .bind(user_id)
            .fetch_all(pool)
            .await
        })?)
    }

    /// Marks a digest's events `sent` (or `failed` with `error`) and schedules the next one.
    pub async fn finish_digest(
        &self,
        team_id: i64,
        user_id: i64,
        event_ids: &[i64],
        error: Option<&str>,
        next_digest_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let at = now();
        let status = if error.is_some() { "failed" } else { "sent" };
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            for event_id in event_ids {
                sqlx::query(
                    "UPDATE notification_deliveries SET status = $4, error = $5, sent_at = $6
                     WHERE team_id = $1 AND user_id = $2 AND event_id = $3 AND status = 'queued'",
                )
                .bind(team_id)
                .bind(user_id)
                .bind(event_id)
                .bind(status)
                .bind(error)
                .bind((error.is_none()).then_some(at))
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(
                "UPDATE notification_preferences SET next_digest_at = $3
                 WHERE team_id = $1 AND user_id = $2",
            )
            .bind(team_id)
            .bind(user_id)
            .bind(next_digest_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok::<(), sqlx::Error>(())
        })?;
        Ok(())
    }

    /// How many people of the team get `event_type` e-mail.
    pub async fn subscribers_of(&self, team_id: i64, event_type: &str) -> Result<i64, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM notification_preferences
                 WHERE team_id = $1 AND enabled AND unsubscribed_at IS NULL
                   AND (' ' || event_types || ' ') LIKE $2",
            )
            .bind(team_id)
            .bind(format!("% {event_type} %"))
            .fetch_one(pool)
            .await
        })?)
    }
}
