//! Sync sources (seed 000's `ConfigureSyncSource` and the routes beside it): the rules of a
//! source's configuration, and who may change or run sources.
//!
//! Sync sources are server-wide (the knowledge base is shared by all teams): any team may read
//! them with `sync:read`, only the operators' team may change or run them. Every change is
//! audited right after it is stored (the store's sync-source functions keep no audit record).

use chrono::{DateTime, Utc};
use rampart_core::{PageError, PageRequest, Scope, DEFAULT_PER_PAGE, MAX_PER_PAGE};
use rampart_store::{ApiKeyChange, SyncRunRecord, SyncSourceRecord, SyncSourceUpsert};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::actor::{Actor, RequestOrigin};
use crate::error::{ErrorCode, ServiceError};
use crate::feeds::FeedType;
use crate::sync::mask_api_key;
use crate::Engine;

/// Longest interval accepted: one year.
const MAX_INTERVAL_HOURS: i64 = 24 * 366;
const DEFAULT_INTERVAL_HOURS: i64 = 24;
/// Most ecosystems one source may list (osv.dev has fewer than 50).
const MAX_ECOSYSTEMS: usize = 100;

/// `ecosystems` as seed 000 sends it: a list (at most 100 names) or one comma-separated string.
pub struct EcosystemsSchema;

impl utoipa::PartialSchema for EcosystemsSchema {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(
                ArrayBuilder::new()
                    .items(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .max_length(Some(100)),
                    )
                    .max_items(Some(100)),
            )
            .item(ObjectBuilder::new().schema_type(Type::String))
            .into()
    }
}

impl utoipa::ToSchema for EcosystemsSchema {}

/// Seed 000's request body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigureSyncSourceRequest {
    /// Sync source configuration to create or update.
    pub config: SyncSourceConfigInput,
    /// Plain-text API key for the upstream (NVD). Stored encrypted; never returned. Omitted
    /// or empty on an update: the stored key is kept.
    #[serde(default)]
    #[schema(max_length = 4096)]
    pub api_key: Option<String>,
}

/// Accepted as in seed 000: `ecosystems` a list or a comma-separated string, `type` as
/// `NVD` or `SYNC_SOURCE_TYPE_NVD`. `apiKeyMasked` and `createdAt` are ignored (computed).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncSourceConfigInput {
    /// `sync-src-001`; generated when absent. Same id = update.
    #[schema(max_length = 64)]
    pub id: Option<String>,
    /// OSV, NVD, GHSA, KEV, EPSS or EXPLOITDB (also `SYNC_SOURCE_TYPE_<X>`).
    #[serde(rename = "type")]
    #[schema(value_type = String, required = true, pattern = "^(OSV|NVD|GHSA|KEV|EPSS|EXPLOITDB|SYNC_SOURCE_TYPE_OSV|SYNC_SOURCE_TYPE_NVD|SYNC_SOURCE_TYPE_GHSA|SYNC_SOURCE_TYPE_KEV|SYNC_SOURCE_TYPE_EPSS|SYNC_SOURCE_TYPE_EXPLOITDB)$")]
    pub source_type: Option<String>,
    /// Ignored: the server computes the mask.
    #[allow(dead_code)]
    pub api_key_masked: Option<String>,
    /// Hours between runs, 1 to 8784 (default 24).
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 8784)]
    pub sync_interval_hours: Option<Value>,
    /// List or comma-separated string of at most 100 ecosystems, each at most 100
    /// characters (OSV bucket sources need at least one).
    #[schema(value_type = Option<EcosystemsSchema>)]
    pub ecosystems: Option<Value>,
    /// Cursor (RFC 3339): fetch entries modified since. `null` clears it (full reload);
    /// absent keeps the stored one.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub last_modified_since: Option<Option<String>>,
    /// Ignored: set by the server on creation.
    #[allow(dead_code)]
    pub created_at: Option<String>,
    /// Upstream URL (also `baseUrl`); default: the type's public URL. OSV: a bucket base
    /// (`{url}/{ecosystem}/all.zip`), a `.zip`, or (if the operator allows local sync
    /// paths) a directory or `file://` URL.
    #[serde(alias = "baseUrl")]
    pub url: Option<String>,
}

/// Distinguishes an absent field (outer `None`) from `null` (`Some(None)`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::deserialize(deserializer)?))
}

/// 422 `validation_failed` in seed 000's wording: `field: reason`.
fn invalid(field: &str, message: impl std::fmt::Display) -> ServiceError {
    ServiceError::new(ErrorCode::ValidationFailed, format!("{field}: {message}"))
}

fn not_found() -> ServiceError {
    ServiceError::not_found("sync source")
}

/// Changing or running sources is for the operators' team.
async fn require_operator(engine: &Engine, actor: &Actor) -> Result<(), ServiceError> {
    if engine.store.is_operator_team(actor.team_id).await? {
        Ok(())
    } else {
        Err(ServiceError::new(
            ErrorCode::Forbidden,
            "sync sources are server-wide configuration: only the operators' team may change or run them",
        ))
    }
}

/// Records a change of a sync source.
async fn audit_change(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    action: &str,
    source_id: &str,
    details: Option<Value>,
) -> Result<(), ServiceError> {
    let mut event = actor.audit(origin, action).target("sync_source", source_id);
    event.details = details;
    engine.store.record_audit(&event, engine.now()).await?;
    Ok(())
}

fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    (1..=64).contains(&id.len())
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn parse_ecosystems(value: &Value) -> Result<Vec<String>, ServiceError> {
    let too_many = || {
        invalid(
            "config.ecosystems",
            format!("holds at most {MAX_ECOSYSTEMS} ecosystems"),
        )
    };
    // The limit first, on the list as sent: nothing is trimmed or compared beyond it.
    let items: Vec<String> = match value {
        Value::Null => Vec::new(),
        Value::String(text) if text.split(',').nth(MAX_ECOSYSTEMS).is_some() => {
            return Err(too_many())
        }
        Value::Array(items) if items.len() > MAX_ECOSYSTEMS => return Err(too_many()),
        Value::String(text) => text.split(',').map(|s| s.trim().to_string()).collect(),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                item.as_str().map(|s| s.trim().to_string()).ok_or_else(|| {
                    invalid(
                        "config.ecosystems",
                        "must be a list of strings or a comma-separated string",
                    )
                })
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(invalid(
                "config.ecosystems",
                "must be a list of strings or a comma-separated string",
            ))
        }
    };
    let mut ecosystems: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for item in items.into_iter().filter(|s| !s.is_empty()) {
        if item.len() > 100 || item.contains(['/', '\\']) || item.chars().any(char::is_control) {
            return Err(invalid(
                "config.ecosystems",
                format!("{item:?} is not an ecosystem name"),
            ));
        }
        if seen.insert(item.clone()) {
            ecosystems.push(item);
        }
    }
    Ok(ecosystems)
}

fn parse_interval(value: &Value) -> Result<i64, ServiceError> {
    let hours = match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse::<i64>().ok(),
        _ => None,
    };
    match hours {
        Some(hours) if (1..=MAX_INTERVAL_HOURS).contains(&hours) => Ok(hours),
        _ => Err(invalid(
            "config.syncIntervalHours",
            format!("must be a whole number of hours from 1 to {MAX_INTERVAL_HOURS}"),
        )),
    }
}

/// OSV locations that are a bucket base (per-ecosystem `all.zip`), not one archive or tree.
fn is_osv_bucket(url: &str) -> bool {
    (url.starts_with("http://") || url.starts_with("https://")) && !url.ends_with(".zip")
}

/// Creates the source, or updates it when the id exists (keeping `createdAt`, and the stored
/// key when `apiKey` is omitted or empty). `request` is the body as the front end read it:
/// the scope and operator checks come first, so a caller without the right gets 403 whatever
/// it sent. Returns the stored source.
pub async fn configure<E: From<ServiceError>>(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    request: Result<ConfigureSyncSourceRequest, E>,
) -> Result<SyncSourceRecord, E> {
    actor.require(Scope::SyncWrite)?;
    require_operator(engine, actor).await?;
    Ok(store_configuration(engine, actor, origin, request?).await?)
}

async fn store_configuration(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    request: ConfigureSyncSourceRequest,
) -> Result<SyncSourceRecord, ServiceError> {
    let config = request.config;
    let id =
        match config.id.as_deref().map(str::trim) {
            None | Some("") => format!(
                "sync-src-{}",
                &uuid::Uuid::new_v4().simple().to_string()[..12]
            ),
            Some(id) if valid_id(id) => id.to_string(),
            Some(_) => return Err(invalid(
                "config.id",
                "must be 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit",
            )),
        };
    let existing = engine.store.sync_source(&id).await?;

    let source_type = match (&config.source_type, &existing) {
        (Some(text), _) => FeedType::parse(text).ok_or_else(|| {
            invalid(
                "config.type",
                format!(
                    "{text:?} is not a sync source type; use one of {}",
                    FeedType::ALL
                        .iter()
                        .map(|t| t.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?,
        (None, Some(existing)) => FeedType::parse(&existing.source_type)
            .ok_or_else(|| ServiceError::internal("stored sync source has an unknown type"))?,
        (None, None) => return Err(invalid("config.type", "is required")),
    };
    let interval = match (&config.sync_interval_hours, &existing) {
        (Some(value), _) => parse_interval(value)?,
        (None, Some(existing)) => existing.sync_interval_hours,
        (None, None) => DEFAULT_INTERVAL_HOURS,
    };
    let ecosystems = match (&config.ecosystems, &existing) {
        (Some(value), _) => parse_ecosystems(value)?,
        (None, Some(existing)) => existing.ecosystems.clone(),
        (None, None) => Vec::new(),
    };
    let url = match (&config.url, &existing) {
        (Some(url), _) if url.trim().is_empty() => None,
        (Some(url), _) => Some(url.trim().to_string()),
        (None, Some(existing)) => existing.url.clone(),
        (None, None) => None,
    };
    if let Some(url) = &url {
        engine
            .config
            .sync
            .outbound
            .check_static(url)
            .map_err(|refused| invalid("config.url", refused))?;
    }
    let effective_url = url.as_deref().unwrap_or(source_type.default_url());
    if source_type == FeedType::Osv && ecosystems.is_empty() && is_osv_bucket(effective_url) {
        return Err(invalid(
            "config.ecosystems",
            "an OSV bucket source needs at least one ecosystem (e.g. PyPI, npm)",
        ));
    }
    let mut cursor = match &config.last_modified_since {
        None => None,
        Some(None) => Some(None),
        Some(Some(text)) if text.trim().is_empty() => Some(None),
        Some(Some(text)) => Some(Some(
            DateTime::parse_from_rfc3339(text.trim())
                .map_err(|_| {
                    invalid(
                        "config.lastModifiedSince",
                        "must be an RFC 3339 timestamp such as 2024-01-01T00:00:00Z",
                    )
                })?
                .with_timezone(&Utc),
        )),
    };
    // A source that now fetches something else starts over unless told where to start.
    if let (None, Some(existing)) = (&cursor, &existing) {
        let changed = existing.source_type != source_type.as_str()
            || existing.url != url
            || existing.ecosystems != ecosystems;
        if changed {
            cursor = Some(None);
        }
    }
    let api_key = match request.api_key.as_deref().map(str::trim) {
        None | Some("") if existing.is_some() => ApiKeyChange::Keep,
        None | Some("") => ApiKeyChange::Set {
            ciphertext: None,
            masked: String::new(),
        },
        Some(key) => {
            if key.len() > 4096 || !key.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(invalid(
                    "apiKey",
                    "must be at most 4096 printable ASCII characters without spaces",
                ));
            }
            ApiKeyChange::Set {
                ciphertext: Some(engine.sync.secret_key().encrypt(key.as_bytes())),
                masked: mask_api_key(key),
            }
        }
    };
    let api_key_changed = matches!(api_key, ApiKeyChange::Set { .. });
    let (record, created) = engine
        .store
        .upsert_sync_source(&SyncSourceUpsert {
            id,
            source_type: source_type.as_str().to_string(),
            url,
            api_key,
            sync_interval_hours: interval,
            ecosystems,
            last_modified_since: cursor,
        })
        .await?;
    tracing::info!(source = %record.id, created, source_type = source_type.as_str(), "sync source configured");
    let action = if created {
        "sync_source.create"
    } else {
        "sync_source.update"
    };
    let details = serde_json::json!({
        "type": record.source_type,
        "sync_interval_hours": record.sync_interval_hours,
        "ecosystems": record.ecosystems,
        "api_key_changed": api_key_changed,
    });
    audit_change(engine, actor, origin, action, &record.id, Some(details)).await?;
    if created {
        // A new source is due now.
        engine.sync.wake();
    }
    Ok(record)
}

/// Every sync source.
pub async fn list(engine: &Engine, actor: &Actor) -> Result<Vec<SyncSourceRecord>, ServiceError> {
    actor.require(Scope::SyncRead)?;
    Ok(engine.store.sync_sources().await?)
}

/// One sync source.
pub async fn get(
    engine: &Engine,
    actor: &Actor,
    id: &str,
) -> Result<SyncSourceRecord, ServiceError> {
    actor.require(Scope::SyncRead)?;
    engine.store.sync_source(id).await?.ok_or_else(not_found)
}

/// Deletes a source and its run history (a run in progress stops at its next batch).
pub async fn delete(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    id: &str,
) -> Result<(), ServiceError> {
    actor.require(Scope::SyncWrite)?;
    require_operator(engine, actor).await?;
    if !engine.store.delete_sync_source(id).await? {
        return Err(not_found());
    }
    tracing::info!(source = %id, "sync source deleted");
    audit_change(engine, actor, origin, "sync_source.delete", id, None).await
}

/// Queues a manual run (or returns the one already queued or running: a source runs once at
/// a time) and wakes the sync worker. Test keys cannot start runs.
pub async fn trigger_run(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    id: &str,
) -> Result<SyncRunRecord, ServiceError> {
    actor.require(Scope::CveTrigger)?;
    actor.require_live("start a sync run")?;
    require_operator(engine, actor).await?;
    let run = engine
        .store
        .queue_sync_run(id, "manual")
        .await?
        .ok_or_else(not_found)?;
    let details = serde_json::json!({ "run_id": run.id });
    audit_change(engine, actor, origin, "sync_source.run", id, Some(details)).await?;
    engine.sync.wake();
    Ok(run)
}

/// A page of a source's runs, newest first.
pub struct RunPage {
    pub runs: Vec<SyncRunRecord>,
    pub total: i64,
    pub page: PageRequest,
}

/// A source's runs, newest first; `page`/`per_page` as the query gave them.
pub async fn runs(
    engine: &Engine,
    actor: &Actor,
    id: &str,
    page: Option<i64>,
    per_page: Option<i64>,
) -> Result<RunPage, ServiceError> {
    actor.require(Scope::SyncRead)?;
    let page = PageRequest::from_query(page, per_page, DEFAULT_PER_PAGE).map_err(page_error)?;
    if engine.store.sync_source(id).await?.is_none() {
        return Err(not_found());
    }
    let (runs, total) = engine.store.sync_runs(id, page).await?;
    Ok(RunPage { runs, total, page })
}

/// Seed 000's wording (`field: reason`), as this subject's other errors read.
fn page_error(error: PageError) -> ServiceError {
    let reason = match error {
        PageError::Page => "must be 1 or more".to_string(),
        PageError::PerPage => format!("must be from 1 to {MAX_PER_PAGE}"),
    };
    ServiceError::new(
        ErrorCode::BadRequest,
        format!("{}: {reason}", error.field()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_are_short_words_starting_with_a_letter_or_digit() {
        for good in ["sync-src-001", "a", "NVD_main.2", &"x".repeat(64)] {
            assert!(valid_id(good), "{good}");
        }
        for bad in ["", "-lead", ".hidden", "a b", "a/b", "é", &"x".repeat(65)] {
            assert!(!valid_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn ecosystems_come_as_a_list_or_a_comma_separated_string() {
        let expected = vec!["PyPI".to_string(), "npm".to_string()];
        assert_eq!(
            parse_ecosystems(&json!("PyPI, npm,,PyPI")).unwrap(),
            expected
        );
        assert_eq!(
            parse_ecosystems(&json!([" PyPI", "npm", ""])).unwrap(),
            expected
        );
        assert!(parse_ecosystems(&Value::Null).unwrap().is_empty());
    }

    #[test]
    fn bad_ecosystems_are_refused_naming_the_field() {
        let many: Vec<String> = (0..=MAX_ECOSYSTEMS).map(|i| format!("e{i}")).collect();
        for bad in [
            json!(many),
            json!(many.join(",")),
            json!([1, 2]),
            json!(7),
            json!(["a/b"]),
            json!(["x".repeat(101)]),
            json!(["tab\there"]),
        ] {
            let error = parse_ecosystems(&bad).unwrap_err();
            assert_eq!(error.code(), ErrorCode::ValidationFailed);
            assert!(
                error.message().starts_with("config.ecosystems: "),
                "{}",
                error.message()
            );
        }
    }

    #[test]
    fn intervals_are_whole_hours_up_to_a_year() {
        assert_eq!(parse_interval(&json!(1)).unwrap(), 1);
        assert_eq!(parse_interval(&json!(" 48 ")).unwrap(), 48);
        assert_eq!(
            parse_interval(&json!(MAX_INTERVAL_HOURS)).unwrap(),
            MAX_INTERVAL_HOURS
        );
        for bad in [
            json!(0),
            json!(-1),
            json!(1.5),
            json!(MAX_INTERVAL_HOURS + 1),
            json!("x"),
            json!(null),
        ] {
            assert!(parse_interval(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_remote_non_zip_osv_locations_are_buckets() {
        assert!(is_osv_bucket(
            "https://osv-vulnerabilities.storage.googleapis.com"
        ));
        assert!(!is_osv_bucket("https://example.org/all.zip"));
        assert!(!is_osv_bucket("file:///srv/osv"));
    }

    #[test]
    fn page_errors_name_the_parameter() {
        assert_eq!(
            page_error(PageError::Page).message(),
            "page: must be 1 or more"
        );
        assert_eq!(
            page_error(PageError::PerPage).message(),
            format!("per_page: must be from 1 to {MAX_PER_PAGE}")
        );
    }
}
