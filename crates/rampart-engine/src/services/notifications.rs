//! E-mail notifications of the team's events, through the server's SMTP settings.
//!
//! A person chooses, per team, which event types they want and how: `immediate` (one e-mail
//! per event) or `daily_digest` (one e-mail a day at `digest_hour` UTC with every event since
//! the last). Nothing is sent from a request: the background notifier ([`run_worker`]) reads
//! the `events` table after each subscriber's cursor (stored with their preferences, so a
//! restart sends nothing twice), holding a lease on the subscriber so replicas never work on
//! one at once. Test-mode events (recorded by `rk_test_` keys) are never sent. Every e-mail
//! has a plain-text and an HTML body and an unsubscribe link: a token signed with the
//! server's secret key, good for an unauthenticated GET or POST that only unsubscribes
//! (also offered as RFC 8058 one-click `List-Unsubscribe`).

use std::time::Duration;

use askama::Template;
use chrono::{DateTime, Duration as TimeDelta, Utc};
use rampart_core::EventType;
use rampart_store::{
    AuditActor, AuditEvent, NotifiableEvent, NotificationPreferences, PreferencesWrite, Subscriber,
};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::actor::{Actor, Credential, RequestOrigin};
use crate::error::{ErrorCode, ServiceError};
use crate::sync::SecretKey;
use crate::Engine;

/// The event types a person can subscribe to: every team event of the stream (server-wide
/// sync events have no team; `webhook.test` goes to one endpoint only).
pub fn event_types() -> Vec<&'static str> {
    EventType::ALL
        .iter()
        .filter(|t| !t.is_server_wide() && !t.is_direct())
        .map(|t| t.as_str())
        .collect()
}

const DELIVERIES: &[&str] = &["immediate", "daily_digest"];
const DEFAULT_DIGEST_HOUR: i32 = 8;
/// How long a notifier holds a subscriber; renewed with every event it gets through, so a
/// subscriber whose notifier died (a crash, `kill -9`) is taken over within this long.
const LEASE: TimeDelta = TimeDelta::seconds(30);
/// Events read per subscriber per pass.
const EVENTS_PER_PASS: i64 = 200;
const UNSUBSCRIBE_PURPOSE: &str = "rampart notification unsubscribe v1";

/// The caller's preferences in the acting team.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PreferencesView {
    /// Whether e-mail is sent at all (false until preferences are saved, or after an
    /// unsubscription).
    pub subscribed: bool,
    pub enabled: bool,
    /// Event types e-mailed.
    pub event_types: Vec<String>,
    /// `immediate` or `daily_digest`.
    pub delivery: String,
    /// UTC hour (0–23) the daily digest is sent.
    pub digest_hour: i32,
    pub unsubscribed_at: Option<DateTime<Utc>>,
    /// When the next digest goes out (daily digest only).
    pub next_digest_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    /// Every type that can be chosen.
    pub available_event_types: Vec<String>,
}

impl PreferencesView {
    fn of(preferences: Option<NotificationPreferences>) -> Self {
        let available_event_types = event_types().iter().map(|t| t.to_string()).collect();
        match preferences {
            None => PreferencesView {
                subscribed: false,
                enabled: false,
                event_types: Vec::new(),
                delivery: "immediate".into(),
                digest_hour: DEFAULT_DIGEST_HOUR,
                unsubscribed_at: None,
                next_digest_at: None,
                updated_at: None,
                available_event_types,
            },
            Some(p) => PreferencesView {
                subscribed: p.enabled && p.unsubscribed_at.is_none(),
                enabled: p.enabled,
                event_types: p.event_type_list(),
                delivery: p.delivery.clone(),
                digest_hour: p.digest_hour,
                unsubscribed_at: p.unsubscribed_at,
                next_digest_at: (p.delivery == "daily_digest")
                    .then_some(p.next_digest_at)
                    .flatten(),
                updated_at: Some(p.updated_at),
                available_event_types,
            },
        }
    }
}

/// One item of `event_types`: the types [`event_types`] names.
pub struct NotifiableEventType;

impl utoipa::PartialSchema for NotifiableEventType {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(event_types()))
            .into()
    }
}

impl utoipa::ToSchema for NotifiableEventType {}

/// The preferences to save (a PUT: the whole set).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPreferences {
    /// Event types to e-mail (see `available_event_types`); empty sends nothing; repeats
    /// count once (at most 100 entries).
    #[schema(inline, value_type = Vec<NotifiableEventType>, max_items = 100)]
    pub event_types: Vec<String>,
    /// `immediate` (default) or `daily_digest`.
    #[schema(pattern = "^(immediate|daily_digest)$")]
    pub delivery: Option<String>,
    /// UTC hour (0–23) of the daily digest; default 8.
    #[schema(minimum = 0, maximum = 23)]
    pub digest_hour: Option<i32>,
    /// Default true.
    pub enabled: Option<bool>,
}

/// Only people get e-mail: a service account's key has no mailbox.
fn person(actor: &Actor) -> Result<(), ServiceError> {
    if matches!(
        actor.credential,
        Credential::ApiKey {
            service_account: true,
            ..
        }
    ) {
        return Err(ServiceError::new(
            ErrorCode::Forbidden,
            "service accounts receive no e-mail; notification preferences belong to people",
        ));
    }
    Ok(())
}

pub async fn get_preferences(
    engine: &Engine,
    actor: &Actor,
) -> Result<PreferencesView, ServiceError> {
    person(actor)?;
    Ok(PreferencesView::of(
        engine
            .store
            .notification_preferences(actor.team_id, actor.user_id)
            .await?,
    ))
}

/// The next time the clock reads `hour`:00 UTC after `now`.
pub fn next_digest_after(now: DateTime<Utc>, hour: i32) -> DateTime<Utc> {
    let hour = hour.clamp(0, 23) as u32;
    let today = now
        .date_naive()
        .and_hms_opt(hour, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(now);
    if today > now {
        today
    } else {
        today + TimeDelta::days(1)
    }
}

pub async fn set_preferences(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    body: SetPreferences,
) -> Result<PreferencesView, ServiceError> {
    person(actor)?;
    actor.require_live("change e-mail notification preferences")?;
    let known = event_types();
    crate::fields::at_most(
        "event_types",
        &body.event_types,
        crate::services::events::MAX_EVENT_TYPE_ENTRIES,
    )?;
    let mut event_types: Vec<String> = Vec::new();
    for event_type in &body.event_types {
        let event_type = event_type.trim();
        if !known.contains(&event_type) {
            return Err(ServiceError::invalid(format!(
                "`event_types` contains an unknown event type {event_type:?} (one of {})",
                known.join(", ")
            )));
        }
        if !event_types.iter().any(|t| t == event_type) {
            event_types.push(event_type.to_string());
        }
    }
    let delivery = body.delivery.as_deref().unwrap_or("immediate").trim();
    if !DELIVERIES.contains(&delivery) {
        return Err(ServiceError::invalid(
            "`delivery` must be `immediate` or `daily_digest`",
        ));
    }
    let digest_hour = body.digest_hour.unwrap_or(DEFAULT_DIGEST_HOUR);
    if !(0..=23).contains(&digest_hour) {
        return Err(ServiceError::invalid("`digest_hour` must be 0–23 (UTC)"));
    }
    let write = PreferencesWrite {
        next_digest_at: (delivery == "daily_digest")
            .then(|| next_digest_after(engine.now(), digest_hour)),
        event_types,
        delivery: delivery.to_string(),
        digest_hour,
        enabled: body.enabled.unwrap_or(true),
    };
    let event = actor
        .audit(origin, "notification_preferences.update")
        .details(serde_json::json!({
            "event_types": write.event_types, "delivery": write.delivery,
            "digest_hour": write.digest_hour, "enabled": write.enabled,
        }));
    let saved = engine
        .store
        .set_notification_preferences(actor.team_id, actor.user_id, &write, &event)
        .await?;
    Ok(PreferencesView::of(Some(saved)))
}

/// The token of an unsubscribe link: `<team>.<user>.<hex HMAC>`.
pub fn unsubscribe_token(engine: &Engine, team_id: i64, user_id: i64) -> String {
    unsubscribe_token_with(engine.sync.secret_key(), team_id, user_id)
}

/// [`unsubscribe_token`] under the server secret key `key`.
pub fn unsubscribe_token_with(key: &SecretKey, team_id: i64, user_id: i64) -> String {
    let mac = key.mac(
        UNSUBSCRIBE_PURPOSE,
        format!("{team_id}.{user_id}").as_bytes(),
    );
    format!("{team_id}.{user_id}.{}", hex::encode(mac))
}

/// The team and user an unsubscribe token names, if the server signed it.
fn verify_unsubscribe_token(engine: &Engine, token: &str) -> Option<(i64, i64)> {
    let mut parts = token.trim().splitn(3, '.');
    let team_id: i64 = parts.next()?.parse().ok()?;
    let user_id: i64 = parts.next()?.parse().ok()?;
    let given = hex::decode(parts.next()?).ok()?;
    let expected = unsubscribe_token(engine, team_id, user_id);
    let expected = hex::decode(expected.rsplit('.').next()?).ok()?;
    use subtle::ConstantTimeEq;
    (given.len() == expected.len() && bool::from(given.ct_eq(&expected)))
        .then_some((team_id, user_id))
}

/// What an unsubscription did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Unsubscribed {
    pub unsubscribed: bool,
    /// The team whose e-mail stops.
    pub team: String,
}

/// Unsubscribes the person an unsubscribe link names (no credentials: the token is the
/// proof). Idempotent; a bad token is 404.
pub async fn unsubscribe(
    engine: &Engine,
    origin: &RequestOrigin,
    token: &str,
) -> Result<Unsubscribed, ServiceError> {
    let refused = || ServiceError::new(ErrorCode::NotFound, "unknown or invalid unsubscribe link");
    let (team_id, user_id) = verify_unsubscribe_token(engine, token).ok_or_else(refused)?;
    let event = origin.stamp(
        AuditEvent::new(
            Some(team_id),
            AuditActor {
                user_id: Some(user_id),
                label: "unsubscribe link".into(),
                kind: "anonymous",
            },
            "notification_preferences.unsubscribe",
        )
        .details(serde_json::json!({"via": "unsubscribe_link"})),
    );
    if !engine
        .store
        .unsubscribe_notifications(team_id, user_id, &event)
        .await?
    {
        return Err(refused());
    }
    let team = engine
        .store
        .team(team_id)
        .await?
        .map(|t| t.name)
        .unwrap_or_default();
    Ok(Unsubscribed {
        unsubscribed: true,
        team,
    })
}

// ---- Rendering ----

struct Line {
    label: String,
    value: String,
}

struct EventView {
    id: i64,
    event_type: String,
    created_at: String,
    title: String,
    lines: Vec<Line>,
    link: Option<String>,
}

#[derive(Template)]
#[template(path = "notifications/message.txt")]
struct TextMessage<'a> {
    team: &'a str,
    digest: bool,
    events: &'a [EventView],
    preferences_url: &'a str,
    unsubscribe_url: &'a str,
}

#[derive(Template)]
#[template(path = "notifications/message.html")]
struct HtmlMessage<'a> {
    subject: &'a str,
    team: &'a str,
    digest: bool,
    events: &'a [EventView],
    preferences_url: &'a str,
    unsubscribe_url: &'a str,
}

fn value_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(if *b { "yes" } else { "no" }.into()),
        serde_json::Value::Array(items) if !items.is_empty() => Some(
            items
                .iter()
                .filter_map(value_text)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        _ => None,
    }
}

fn describe(base: &str, event: &NotifiableEvent) -> EventView {
    let data: serde_json::Value = serde_json::from_str(&event.data).unwrap_or_default();
    let field = |key: &str| data.get(key).and_then(value_text);
    let mut lines = Vec::new();
    let mut push = |label: &str, value: Option<String>| {
        if let Some(value) = value {
            lines.push(Line {
                label: label.to_string(),
                value,
            });
        }
    };
    let (title, link) = if event.event_type == "alert.matched" {
        let vuln = field("vuln_id").unwrap_or_default();
        let source = match data["matched_by"].as_str() {
            Some("nvd_cpe") => "NVD CPE configuration",
            Some("cve5") => "CVE record (affected vendor/product)",
            Some("kev") => "CISA KEV entry",
            Some("osv_package") => "affected package",
            _ => "record",
        };
        push("Watch", field("watch_name"));
        push("Vulnerability", Some(vuln.clone()));
        push("Also known as", field("aliases"));
        push("Summary", field("summary"));
        push(
            "Matched on",
            field("matched_on").map(|on| format!("{on} ({source})")),
        );
        push("Highest CVSS", field("max_cvss"));
        push("EPSS", field("epss"));
        push("CISA KEV", field("kev"));
        push("Change", field("change"));
        (
            format!(
                "{vuln} matches your watch \"{}\"",
                field("watch_name").unwrap_or_default()
            ),
            Some(format!("{base}/api/v1/vulnerabilities/{vuln}")),
        )
    } else {
        if let Some(object) = data.as_object() {
            for (key, value) in object {
                push(key, value_text(value));
            }
        }
        (event.event_type.clone(), None)
    };
    EventView {
        id: event.id,
        event_type: event.event_type.clone(),
        created_at: event.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        title,
        lines,
        link,
    }
}

/// A rendered e-mail: subject, text and HTML bodies, unsubscribe URL.
pub struct RenderedMail {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub unsubscribe_url: String,
}

fn public_base(engine: &Engine) -> String {
    engine
        .config
        .public_url
        .as_deref()
        .unwrap_or("http://localhost:8080")
        .trim_end_matches('/')
        .to_string()
}

/// Renders one event (immediate) or several (a digest) for a subscriber.
pub fn render(
    engine: &Engine,
    team: &str,
    subscriber: &NotificationPreferences,
    events: &[NotifiableEvent],
    digest: bool,
) -> anyhow::Result<RenderedMail> {
    let base = public_base(engine);
    let views: Vec<EventView> = events.iter().map(|e| describe(&base, e)).collect();
    let subject = match (digest, views.first()) {
        (true, _) => format!(
            "[Rampart] Daily digest for {team}: {} event(s)",
            views.len()
        ),
        (false, Some(view)) => format!("[Rampart] {}: {}", view.event_type, view.title),
        (false, None) => format!("[Rampart] {team}"),
    };
    let unsubscribe_url = format!(
        "{base}/api/v1/notifications/unsubscribe?token={}",
        unsubscribe_token(engine, subscriber.team_id, subscriber.user_id)
    );
    let preferences_url = format!("{base}/api/v1/me/notification-preferences");
    let text = TextMessage {
        team,
        digest,
        events: &views,
        preferences_url: &preferences_url,
        unsubscribe_url: &unsubscribe_url,
    }
    .render()?;
    let html = HtmlMessage {
        subject: &subject,
        team,
        digest,
        events: &views,
        preferences_url: &preferences_url,
        unsubscribe_url: &unsubscribe_url,
    }
    .render()?;
    Ok(RenderedMail {
        subject,
        text,
        html,
        unsubscribe_url,
    })
}

// ---- The notifier ----

/// Runs notifier passes every `notification_interval` until `stopped` turns true.
pub async fn run_worker(engine: Engine, mut stopped: watch::Receiver<bool>) {
    let interval: Duration = engine.config.notification_interval;
    loop {
        if let Err(error) = pass(&engine).await {
            tracing::warn!(%error, "e-mail notifier pass failed; retrying");
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stopped.changed() => {}
        }
        if *stopped.borrow() {
            return;
        }
    }
}

/// One pass: every subscriber whose lease this replica gets, their new events (sent at once
/// or queued for the digest), and their digest when it is due.
pub async fn pass(engine: &Engine) -> anyhow::Result<()> {
    let owner = engine.sync.worker_id().to_string();
    let now = engine.now();
    let subscribers = engine
        .store
        .claim_subscribers(&owner, now, now + LEASE, 100)
        .await?;
    for subscriber in subscribers {
        let (team_id, user_id) = (
            subscriber.preferences.team_id,
            subscriber.preferences.user_id,
        );
        if let Err(error) = notify(engine, &owner, &subscriber).await {
            tracing::warn!(%error, team_id, user_id, "notifying a subscriber failed");
        }
        engine
            .store
            .release_subscriber(team_id, user_id, &owner)
            .await?;
    }
    Ok(())
}

async fn notify(engine: &Engine, owner: &str, subscriber: &Subscriber) -> anyhow::Result<()> {
    let preferences = &subscriber.preferences;
    let (team_id, user_id) = (preferences.team_id, preferences.user_id);
    let wanted = preferences.event_type_list();
    let digest = preferences.delivery == "daily_digest";
    let team = engine
        .store
        .team(team_id)
        .await?
        .map(|t| t.name)
        .unwrap_or_else(|| format!("team {team_id}"));
    let events = engine
        .store
        .events_after(team_id, preferences.last_event_id, EVENTS_PER_PASS)
        .await?;
    for event in &events {
        // Test-mode events are never sent; unwanted types are passed over.
        let status = if event.test_mode || !wanted.contains(&event.event_type) {
            None
        } else if digest {
            Some(("queued", None))
        } else {
            let mail = render(
                engine,
                &team,
                preferences,
                std::slice::from_ref(event),
                false,
            )?;
            match engine
                .mailer
                .send_notification(
                    &subscriber.email,
                    &mail.subject,
                    mail.text,
                    mail.html,
                    &mail.unsubscribe_url,
                )
                .await
            {
                Ok(()) => Some(("sent", None)),
                Err(error) => {
                    tracing::warn!(%error, team_id, user_id, event_id = event.id, "notification e-mail failed");
                    Some(("failed", Some(error.to_string())))
                }
            }
        };
        let kept = engine
            .store
            .record_notification(
                team_id,
                user_id,
                owner,
                engine.now() + LEASE,
                event,
                &preferences.delivery,
                status.as_ref().map(|(s, _)| *s),
                status.as_ref().and_then(|(_, e)| e.as_deref()),
            )
            .await?;
        if !kept {
            // Another replica took the subscriber over (our lease expired): stop here.
            return Ok(());
        }
    }
    if digest {
        let now = engine.now();
        let due = preferences.next_digest_at.is_none_or(|at| at <= now);
        if due {
            let queued = engine.store.queued_digest(team_id, user_id).await?;
            let next = next_digest_after(now, preferences.digest_hour);
            let error = if queued.is_empty() {
                None
            } else {
                let mail = render(engine, &team, preferences, &queued, true)?;
                engine
                    .mailer
                    .send_notification(
                        &subscriber.email,
                        &mail.subject,
                        mail.text,
                        mail.html,
                        &mail.unsubscribe_url,
                    )
                    .await
                    .err()
                    .map(|e| e.to_string())
            };
            let ids: Vec<i64> = queued.iter().map(|e| e.id).collect();
            engine
                .store
                .finish_digest(team_id, user_id, &ids, error.as_deref(), next)
                .await?;
        }
    }
    Ok(())
}
