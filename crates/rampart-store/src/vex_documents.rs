//! VEX documents, their workflow events and the products whose disclosures are public.
//!
//! A document is one version of a *series* (`series_key`: the same product or release,
//! format and BOM option). Versions count the published documents of a series, so the
//! revision history a new version carries has no gaps; a new draft supersedes every
//! unpublished document of its series. Status changes are compare-and-set (`WHERE status =
//! …`), so two approvers racing cannot both win; each change writes its workflow event and
//! its audit entry in the same transaction, and submit/approve/reject/publish their `vex.*`
//! event in the event stream. Published documents are never updated or
//! deleted here.

use crate::BeginWrite;
use chrono::{DateTime, Utc};
use rampart_core::vex_workflow::VexAction;
use rampart_core::EventType;

use crate::audit::insert_audit;
use crate::events::{record_event, NewEvent};
use crate::{now, with_pool, AuditEvent, Page, PageRequest, Store, StoreError, Tenant};

/// A document's metadata (not its bytes).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct VexDocumentRecord {
    pub id: i64,
    pub team_id: i64,
    pub is_test: bool,
    pub product_id: i64,
    pub release_id: Option<i64>,
    pub format: String,
    pub include_bom: bool,
    pub sbom_id: Option<i64>,
    pub series_key: String,
    pub tracking_id: String,
    pub serial_number: String,
    pub version: i64,
    pub status: String,
    pub title: String,
    pub summary: String,
    pub statement_count: i64,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub initial_release_date: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub created_by_user_id: Option<i64>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub submitted_by: Option<String>,
    pub submitted_by_user_id: Option<i64>,
    pub approved_at: Option<DateTime<Utc>>,
    pub approved_by: Option<String>,
    pub rejected_at: Option<DateTime<Utc>>,
    pub rejected_by: Option<String>,
    pub rejection_reason: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub published_by: Option<String>,
    pub updated_at: DateTime<Utc>,
}

const DOCUMENT_COLUMNS: &str = "id, team_id, is_test, product_id, release_id, format, include_bom,
    sbom_id, series_key, tracking_id, serial_number, version, status, title, summary,
    statement_count, content_type, size_bytes, sha256, initial_release_date, created_at,
    created_by, created_by_user_id, submitted_at, submitted_by, submitted_by_user_id,
    approved_at, approved_by, rejected_at, rejected_by, rejection_reason, published_at,
    published_by, updated_at";

/// The rendered bytes of a document and what they were rendered from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexRendering {
    pub content: Vec<u8>,
    pub content_type: String,
    /// Hex SHA-256 of `content`.
    pub sha256: String,
    pub statement_count: i64,
}

/// Who acts on a document, for its columns and workflow events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexActor {
    pub user_id: Option<i64>,
    pub label: String,
}

/// A new draft, rendered by the caller.
#[derive(Debug, Clone)]
pub struct NewVexDocument {
    pub product_id: i64,
    pub release_id: Option<i64>,
    pub format: String,
    pub include_bom: bool,
    pub sbom_id: Option<i64>,
    pub series_key: String,
    pub tracking_id: String,
    pub serial_number: String,
    pub version: i64,
    pub title: String,
    pub summary: String,
    pub initial_release_date: DateTime<Utc>,
    /// JSON of what the document says, to render it again (at publication).
    pub snapshot: String,
    pub rendering: VexRendering,
    pub created_at: DateTime<Utc>,
}

/// The published versions of a series, oldest first, and the identity it keeps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VexSeries {
    pub published: Vec<PublishedVersion>,
    /// The tracking id and serial number of the series' first document, if any.
    pub identity: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PublishedVersion {
    pub id: i64,
    pub version: i64,
    pub published_at: DateTime<Utc>,
    pub summary: String,
    pub initial_release_date: DateTime<Utc>,
}

/// A status change; the store checks the current status is `from`.
#[derive(Debug, Clone)]
pub enum VexTransition {
    Submit,
    Approve,
    Reject {
        reason: String,
    },
    /// With the final rendering (status `final`, publication dates) and the series' first
    /// publication date it carries.
    Publish {
        rendering: VexRendering,
        initial_release_date: DateTime<Utc>,
    },
}

impl VexTransition {
    /// The event-stream type of the change.
    pub fn event_type(&self) -> EventType {
        match self {
            VexTransition::Submit => EventType::VexSubmitted,
            VexTransition::Approve => EventType::VexApproved,
            VexTransition::Reject { .. } => EventType::VexRejected,
            VexTransition::Publish { .. } => EventType::VexPublished,
        }
    }

    /// The status the document must have, the one it gets and the event kind.
    pub fn statuses(&self) -> (&'static str, &'static str, &'static str) {
        let action = match self {
            VexTransition::Submit => VexAction::Submit,
            VexTransition::Approve => VexAction::Approve,
            VexTransition::Reject { .. } => VexAction::Reject,
            VexTransition::Publish { .. } => VexAction::Publish,
        };
        (
            action.from().as_str(),
            action.to().as_str(),
            action.event_kind(),
        )
    }
}

/// Filters of the document listing; all optional and combined with AND.
#[derive(Debug, Clone, Default)]
pub struct VexDocumentFilter {
    pub product_id: Option<i64>,
    pub release_id: Option<i64>,
    pub format: Option<String>,
    pub status: Option<String>,
    /// Published (or, for unpublished documents, created) at or after.
    pub since: Option<DateTime<Utc>>,
    /// Published (or created) before.
    pub until: Option<DateTime<Utc>>,
}

/// One workflow event of a document.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct VexDocumentEvent {
    pub id: i64,
    pub document_id: i64,
    pub kind: String,
    pub actor: String,
    pub actor_user_id: Option<i64>,
    pub details: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A product whose published documents are public.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PublicDisclosureProduct {
    pub product_id: i64,
    pub enabled_at: DateTime<Utc>,
    pub enabled_by: String,
}

/// Inserts a workflow event on `$conn` inside a transaction.
macro_rules! insert_vex_event {
    ($conn:expr, $tenant:expr, $document_id:expr, $kind:expr, $actor:expr, $details:expr, $at:expr) => {{
        let actor: &VexActor = $actor;
        let details: Option<serde_json::Value> = $details;
        sqlx::query(
            "INSERT INTO vex_document_events (team_id, is_test, document_id, kind, actor, actor_user_id, details, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind($tenant.team_id)
        .bind($tenant.test)
        .bind($document_id)
        .bind($kind)
        .bind(&actor.label)
        .bind(actor.user_id)
        .bind(details.map(|d| d.to_string()))
        .bind($at)
        .execute($conn)
        .await
        .map(|_| ())
    }};
}

fn unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

impl Store {
    /// The published versions of a series and its identity.
    pub async fn vex_series(
        &self,
        tenant: impl Into<Tenant>,
        series_key: &str,
    ) -> Result<VexSeries, StoreError> {
        let tenant = tenant.into();
        let (published, identity) = with_pool!(self, pool => {
            let published: Vec<PublishedVersion> = sqlx::query_as(
                "SELECT id, version, published_at, summary, initial_release_date FROM vex_documents
                 WHERE team_id = $1 AND is_test = $2 AND series_key = $3 AND status = 'published'
                 ORDER BY version",
            )
            .bind(tenant.team_id)
            .bind(tenant.test)
            .bind(series_key)
            .fetch_all(pool)
            .await?;
            let identity: Option<(String, String)> = sqlx::query_as(
                "SELECT tracking_id, serial_number FROM vex_documents
                 WHERE team_id = $1 AND is_test = $2 AND series_key = $3 ORDER BY id LIMIT 1",
            )
            .bind(tenant.team_id)
            .bind(tenant.test)
            .bind(series_key)
            .fetch_optional(pool)
            .await?;
            (published, identity)
        });
        Ok(VexSeries {
            published,
            identity,
        })
    }

    /// Stores a new draft: every unpublished document of its series becomes `superseded`,
    /// with events `vex.superseded` and `vex.generated` and `audit` (targeted at the new
    /// document) in one transaction. Returns the draft and the ids it superseded.
    pub async fn create_vex_document(
        &self,
        tenant: impl Into<Tenant>,
        new: &NewVexDocument,
        actor: &VexActor,
        audit: &AuditEvent,
    ) -> Result<(VexDocumentRecord, Vec<i64>), StoreError> {
        let tenant = tenant.into();
        let at = new.created_at;
        let insert = format!(
            "INSERT INTO vex_documents (team_id, is_test, product_id, release_id, format, include_bom,
                 sbom_id, series_key, tracking_id, serial_number, version, status, title, summary,
                 statement_count, content_type, size_bytes, sha256, initial_release_date, created_at,
                 created_by, created_by_user_id, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'draft', $12, $13, $14, $15, $16,
                 $17, $18, $19, $20, $21, $19)
             RETURNING {DOCUMENT_COLUMNS}"
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let superseded: Vec<i64> = sqlx::query_scalar(
                "UPDATE vex_documents SET status = 'superseded', updated_at = $4
                 WHERE team_id = $1 AND is_test = $2 AND series_key = $3
                   AND status IN ('draft', 'submitted', 'approved', 'rejected')
                 RETURNING id",
            )
            .bind(tenant.team_id)
            .bind(tenant.test)
            .bind(&new.series_key)
            .bind(at)
            .fetch_all(&mut *tx)
            .await?;
            let record: VexDocumentRecord = sqlx::query_as(&insert)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(new.product_id)
                .bind(new.release_id)
                .bind(&new.format)
                .bind(new.include_bom)
                .bind(new.sbom_id)
                .bind(&new.series_key)
                .bind(&new.tracking_id)
                .bind(&new.serial_number)
                .bind(new.version)
                .bind(&new.title)
                .bind(&new.summary)
                .bind(new.rendering.statement_count)
                .bind(&new.rendering.content_type)
                .bind(new.rendering.content.len() as i64)
                .bind(&new.rendering.sha256)
                .bind(new.initial_release_date)
                .bind(at)
                .bind(&actor.label)
                .bind(actor.user_id)
                .fetch_one(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO vex_document_contents (document_id, team_id, snapshot, content) VALUES ($1, $2, $3, $4)",
            )
            .bind(record.id)
            .bind(tenant.team_id)
            .bind(&new.snapshot)
            .bind(&new.rendering.content)
            .execute(&mut *tx)
            .await?;
            for old in &superseded {
                insert_vex_event!(&mut *tx, tenant, *old, "vex.superseded", actor,
                    Some(serde_json::json!({ "superseded_by": record.id })), at)?;
            }
            insert_vex_event!(&mut *tx, tenant, record.id, "vex.generated", actor,
                Some(serde_json::json!({ "version": record.version, "format": record.format })), at)?;
            insert_audit!(&mut *tx, &audit.clone().target("vex_document", record.id), at)?;
            tx.commit().await?;
            Ok((record, superseded))
        })
    }

    pub async fn vex_document(
        &self,
        tenant: impl Into<Tenant>,
        id: i64,
    ) -> Result<Option<VexDocumentRecord>, StoreError> {
        let tenant = tenant.into();
        let sql = format!(
            "SELECT {DOCUMENT_COLUMNS} FROM vex_documents WHERE id = $1 AND team_id = $2 AND is_test = $3"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(id)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// A document's snapshot (the JSON it was rendered from) and bytes.
    pub async fn vex_document_content(
        &self,
        tenant: impl Into<Tenant>,
        id: i64,
    ) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        let tenant = tenant.into();
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT c.snapshot, c.content FROM vex_documents d
                 JOIN vex_document_contents c ON c.document_id = d.id
                 WHERE d.id = $1 AND d.team_id = $2 AND d.is_test = $3",
            )
            .bind(id)
            .bind(tenant.team_id)
            .bind(tenant.test)
            .fetch_optional(pool)
            .await
        })?)
    }

    /// The team's documents, newest first.
    pub async fn list_vex_documents(
        &self,
        tenant: impl Into<Tenant>,
        filter: &VexDocumentFilter,
        page: PageRequest,
    ) -> Result<Page<VexDocumentRecord>, StoreError> {
        let tenant = tenant.into();
        let condition = "team_id = $1 AND is_test = $2
            AND ($3 IS NULL OR product_id = $3) AND ($4 IS NULL OR release_id = $4)
            AND ($5 IS NULL OR format = $5) AND ($6 IS NULL OR status = $6)
            AND ($7 IS NULL OR COALESCE(published_at, created_at) >= $7)
            AND ($8 IS NULL OR COALESCE(published_at, created_at) < $8)";
        let list = format!(
            "SELECT {DOCUMENT_COLUMNS} FROM vex_documents WHERE {condition}
             ORDER BY COALESCE(published_at, created_at) DESC, id DESC LIMIT $9 OFFSET $10"
        );
        let count = format!("SELECT COUNT(*) FROM vex_documents WHERE {condition}");
        let (items, total) = with_pool!(self, pool => {
            let items: Vec<VexDocumentRecord> = sqlx::query_as(&list)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(filter.product_id)
                .bind(filter.release_id)
                .bind(&filter.format)
                .bind(&filter.status)
                .bind(filter.since)
                .bind(filter.until)
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(pool)
                .await?;
            let total: i64 = sqlx::query_scalar(&count)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(filter.product_id)
                .bind(filter.release_id)
                .bind(&filter.format)
                .bind(&filter.status)
                .bind(filter.since)
                .bind(filter.until)
                .fetch_one(pool)
                .await?;
            (items, total)
        });
        Ok(Page { items, total })
    }

    /// Moves a document from the transition's `from` status to its `to` status, recording
    /// the workflow event and `audit`. [`StoreError::NotFound`] when the team has no such
    /// document, [`StoreError::Conflict`] when it is not in the `from` status (any more).
    pub async fn transition_vex_document(
        &self,
        tenant: impl Into<Tenant>,
        id: i64,
        transition: &VexTransition,
        actor: &VexActor,
        audit: &AuditEvent,
        at: DateTime<Utc>,
    ) -> Result<VexDocumentRecord, StoreError> {
        let tenant = tenant.into();
        let (from, to, kind) = transition.statuses();
        // One statement for every transition: PostgreSQL needs every parameter used.
        let sql = format!(
            "UPDATE vex_documents SET status = $4, updated_at = $5,
                 submitted_at = CASE WHEN $4 = 'submitted' THEN $5 ELSE submitted_at END,
                 submitted_by = CASE WHEN $4 = 'submitted' THEN $6 ELSE submitted_by END,
                 submitted_by_user_id = CASE WHEN $4 = 'submitted' THEN $7 ELSE submitted_by_user_id END,
                 approved_at = CASE WHEN $4 = 'approved' THEN $5 ELSE approved_at END,
                 approved_by = CASE WHEN $4 = 'approved' THEN $6 ELSE approved_by END,
                 rejected_at = CASE WHEN $4 = 'rejected' THEN $5 ELSE rejected_at END,
                 rejected_by = CASE WHEN $4 = 'rejected' THEN $6 ELSE rejected_by END,
                 rejection_reason = CASE WHEN $4 = 'rejected' THEN $8 ELSE rejection_reason END,
                 published_at = CASE WHEN $4 = 'published' THEN $5 ELSE published_at END,
                 published_by = CASE WHEN $4 = 'published' THEN $6 ELSE published_by END,
                 content_type = COALESCE($9, content_type),
                 size_bytes = COALESCE($10, size_bytes),
                 sha256 = COALESCE($11, sha256),
                 initial_release_date = COALESCE($13, initial_release_date)
             WHERE id = $1 AND team_id = $2 AND is_test = $3 AND status = $12
             RETURNING {DOCUMENT_COLUMNS}"
        );
        let reason = match transition {
            VexTransition::Reject { reason } => Some(reason.as_str()),
            _ => None,
        };
        let (rendering, initial_release_date) = match transition {
            VexTransition::Publish {
                rendering,
                initial_release_date,
            } => (Some(rendering), Some(*initial_release_date)),
            _ => (None, None),
        };
        let details = match transition {
            VexTransition::Reject { reason } => Some(serde_json::json!({ "reason": reason })),
            VexTransition::Publish { rendering, .. } => {
                Some(serde_json::json!({ "sha256": rendering.sha256 }))
            }
            _ => None,
        };
        let outcome: Result<Option<VexDocumentRecord>, sqlx::Error> = with_pool!(self, pool => {
            async {
                let mut tx = pool.begin_write().await?;
                let record: Option<VexDocumentRecord> = sqlx::query_as(&sql)
                    .bind(id)
                    .bind(tenant.team_id)
                    .bind(tenant.test)
                    .bind(to)
                    .bind(at)
                    .bind(&actor.label)
                    .bind(actor.user_id)
                    .bind(reason)
                    .bind(rendering.map(|r| r.content_type.as_str()))
                    .bind(rendering.map(|r| r.content.len() as i64))
                    .bind(rendering.map(|r| r.sha256.as_str()))
                    .bind(from)
                    .bind(initial_release_date)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(record) = &record {
                    if let Some(rendering) = rendering {
                        sqlx::query("UPDATE vex_document_contents SET content = $2 WHERE document_id = $1")
                            .bind(record.id)
                            .bind(&rendering.content)
                            .execute(&mut *tx)
                            .await?;
                    }
                    let mut event_details = details.clone().unwrap_or_else(|| serde_json::json!({}));
                    event_details["version"] = record.version.into();
                    insert_vex_event!(&mut *tx, tenant, record.id, kind, actor, Some(event_details.clone()), at)?;
                    let mut data = serde_json::json!({
                        "document_id": record.id,
                        "product_id": record.product_id,
                        "release_id": record.release_id,
                        "format": record.format,
                        "version": record.version,
                        "status": record.status,
                        "title": record.title,
                        "actor": actor.label,
                    });
                    if let Some(reason) = reason {
                        data["reason"] = reason.into();
                    }
                    if let Some(sha256) = event_details.get("sha256") {
                        data["sha256"] = sha256.clone();
                    }
                    record_event(&mut *tx, &NewEvent::team(tenant, transition.event_type(), data)).await?;
                    let mut audit = audit.clone().target("vex_document", record.id);
                    audit.details = Some(serde_json::json!({ "from": from, "to": to, "version": record.version }));
                    insert_audit!(&mut *tx, &audit, at)?;
                }
                tx.commit().await?;
                Ok(record)
            }
            .await
        });
        match outcome {
            Ok(Some(record)) => Ok(record),
            Ok(None) => match self.vex_document(tenant, id).await? {
                None => Err(StoreError::NotFound),
                Some(current) => Err(StoreError::Conflict(format!(
                    "the document is {}; only a {from} document can become {to}",
                    current.status
                ))),
            },
            Err(e) if unique_violation(&e) => Err(StoreError::Conflict(
                "this version of the document is already published; generate a new version".into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Changes a draft's title and bytes (rendered again by the caller), recording
    /// `vex.updated` and `audit`. Conflict when the document is no longer a draft.
    pub async fn update_vex_draft(
        &self,
        tenant: impl Into<Tenant>,
        id: i64,
        title: &str,
        rendering: &VexRendering,
        actor: &VexActor,
        audit: &AuditEvent,
    ) -> Result<VexDocumentRecord, StoreError> {
        let tenant = tenant.into();
        let at = now();
        let sql = format!(
            "UPDATE vex_documents SET title = $4, content_type = $5, size_bytes = $6, sha256 = $7,
                 updated_at = $8
             WHERE id = $1 AND team_id = $2 AND is_test = $3 AND status = 'draft'
             RETURNING {DOCUMENT_COLUMNS}"
        );
        let record: Option<VexDocumentRecord> = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let record: Option<VexDocumentRecord> = sqlx::query_as(&sql)
                .bind(id)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(title)
                .bind(&rendering.content_type)
                .bind(rendering.content.len() as i64)
                .bind(&rendering.sha256)
                .bind(at)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(record) = &record {
                sqlx::query("UPDATE vex_document_contents SET content = $2 WHERE document_id = $1")
                    .bind(record.id)
                    .bind(&rendering.content)
                    .execute(&mut *tx)
                    .await?;
                insert_vex_event!(&mut *tx, tenant, record.id, "vex.updated", actor,
                    Some(serde_json::json!({ "title": title })), at)?;
                insert_audit!(&mut *tx, &audit.clone().target("vex_document", record.id), at)?;
            }
            tx.commit().await?;
            record
        });
        match record {
            Some(record) => Ok(record),
            None => Err(self.not_in_status(tenant, id, "changed").await),
        }
    }

    /// Deletes a document that is not published, recording `vex.deleted` and `audit`.
    pub async fn delete_vex_document(
        &self,
        tenant: impl Into<Tenant>,
        id: i64,
        actor: &VexActor,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let tenant = tenant.into();
        let at = now();
        let deleted = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let deleted = sqlx::query(
                "DELETE FROM vex_documents WHERE id = $1 AND team_id = $2 AND is_test = $3 AND status <> 'published'",
            )
            .bind(id)
            .bind(tenant.team_id)
            .bind(tenant.test)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if deleted > 0 {
                insert_vex_event!(&mut *tx, tenant, id, "vex.deleted", actor, None, at)?;
                insert_audit!(&mut *tx, &audit.clone().target("vex_document", id), at)?;
            }
            tx.commit().await?;
            deleted
        });
        if deleted > 0 {
            Ok(())
        } else {
            Err(self.not_in_status(tenant, id, "deleted").await)
        }
    }

    /// Why a draft-only change found no row: absent, or published (immutable), or past draft.
    async fn not_in_status(&self, tenant: Tenant, id: i64, verb: &str) -> StoreError {
        match self.vex_document(tenant, id).await {
            Ok(None) => StoreError::NotFound,
            Ok(Some(record)) if record.status == "published" => StoreError::Conflict(format!(
                "a published document is immutable and cannot be {verb}; generate a new version instead"
            )),
            Ok(Some(record)) => StoreError::Conflict(format!(
                "the document is {}; only a draft can be {verb}",
                record.status
            )),
            Err(error) => error,
        }
    }

    /// A document's workflow events, oldest first. `None` when the team has no such document.
    pub async fn vex_document_events(
        &self,
        tenant: impl Into<Tenant>,
        id: i64,
    ) -> Result<Option<Vec<VexDocumentEvent>>, StoreError> {
        let tenant = tenant.into();
        if self.vex_document(tenant, id).await?.is_none() {
            return Ok(None);
        }
        Ok(Some(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, document_id, kind, actor, actor_user_id, details, created_at
                 FROM vex_document_events WHERE document_id = $1 AND team_id = $2 AND is_test = $3
                 ORDER BY id",
            )
            .bind(id)
            .bind(tenant.team_id)
            .bind(tenant.test)
            .fetch_all(pool)
            .await
        })?))
    }

    /// Whether the team lets a submitter approve their own VEX documents.
    pub async fn vex_self_approval(&self, team_id: i64) -> Result<Option<bool>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar("SELECT vex_self_approval FROM teams WHERE id = $1")
                .bind(team_id)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// Changes the self-approval setting, recording `audit` (targeted at the team).
    pub async fn set_vex_self_approval(
        &self,
        team_id: i64,
        allowed: bool,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let at = now();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let changed = sqlx::query("UPDATE teams SET vex_self_approval = $2 WHERE id = $1")
                .bind(team_id)
                .bind(allowed)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            let audit = audit
                .clone()
                .target("team", team_id)
                .details(serde_json::json!({ "vex_self_approval": allowed }));
            insert_audit!(&mut *tx, &audit, at)?;
            tx.commit().await?;
            Ok(allowed)
        })
    }

    /// The public-distribution setting of one of the team's products (live products only:
    /// test data is never public). `None` when the team has no such product.
    pub async fn public_disclosure_product(
        &self,
        tenant: impl Into<Tenant>,
        product_id: i64,
    ) -> Result<Option<Option<PublicDisclosureProduct>>, StoreError> {
        let tenant = tenant.into();
        if self.product(tenant, product_id).await?.is_none() {
            return Ok(None);
        }
        Ok(Some(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT product_id, enabled_at, enabled_by FROM public_disclosure_products
                 WHERE product_id = $1 AND team_id = $2",
            )
            .bind(product_id)
            .bind(tenant.team_id)
            .fetch_optional(pool)
            .await
        })?))
    }

    /// Turns public distribution of a product's published documents on or off, recording
    /// `audit`. `NotFound` when the team has no such product.
    pub async fn set_public_disclosure(
        &self,
        tenant: impl Into<Tenant>,
        product_id: i64,
        enabled: bool,
        enabled_by: &str,
        audit: &AuditEvent,
    ) -> Result<Option<PublicDisclosureProduct>, StoreError> {
        let tenant = tenant.into();
        if self.product(tenant, product_id).await?.is_none() {
            return Err(StoreError::NotFound);
        }
        let at = now();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let row: Option<PublicDisclosureProduct> = if enabled {
                sqlx::query_as(
                    "INSERT INTO public_disclosure_products (product_id, team_id, enabled_at, enabled_by)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (product_id) DO UPDATE SET product_id = excluded.product_id
                     RETURNING product_id, enabled_at, enabled_by",
                )
                .bind(product_id)
                .bind(tenant.team_id)
                .bind(at)
                .bind(enabled_by)
                .fetch_optional(&mut *tx)
                .await?
            } else {
                sqlx::query("DELETE FROM public_disclosure_products WHERE product_id = $1 AND team_id = $2")
                    .bind(product_id)
                    .bind(tenant.team_id)
                    .execute(&mut *tx)
                    .await?;
                None
            };
            let audit = audit
                .clone()
                .target("product", product_id)
                .details(serde_json::json!({ "public": enabled }));
            insert_audit!(&mut *tx, &audit, at)?;
            tx.commit().await?;
            Ok(row)
        })
    }

    /// The published documents anyone may read: live documents of the team's products with
    /// public distribution on, newest first; optionally only one format.
    pub async fn public_disclosures(
        &self,
        team_id: i64,
        format: Option<&str>,
    ) -> Result<Vec<VexDocumentRecord>, StoreError> {
        let sql = format!(
            "SELECT {DOCUMENT_COLUMNS} FROM vex_documents WHERE team_id = $1 AND is_test = FALSE
               AND status = 'published' AND ($2 IS NULL OR format = $2)
               AND product_id IN (SELECT product_id FROM public_disclosure_products WHERE team_id = $1)
             ORDER BY published_at DESC, id DESC"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(team_id)
                .bind(format)
                .fetch_all(pool)
                .await
        })?)
    }
}
