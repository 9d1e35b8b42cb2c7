//! VEX: generating a document for a release or a product (OpenVEX, CycloneDX JSON/XML, CSAF),
//! the approval queue and a document's page (submit, approve, reject with a reason, publish;
//! its workflow events; its download), and importing a supplier's VEX into a release. The
//! rules (formats, versions, four eyes, immutability, matching) are
//! `services::vex_documents` and `services::vex_import`: a refusal is shown on the page with
//! the service's own message (an author approving their own submission is refused there).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use rampart_core::vex_workflow::{VexAction, VexStatus};
use rampart_core::{PageRequest, Scope};
use rampart_engine::services::vex_documents::{self, GenerateVex, ListFilter, VexTarget};
use rampart_engine::services::{products, vex_import};
use rampart_engine::{ErrorCode, ServiceError};
use rampart_store::{VexDocumentEvent, VexDocumentRecord, VexImport};

use super::{maybe_when, page_number, when, Pager};
use crate::document_download::document_response;
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::{Form, Query};
use crate::web::layout::{render_with_status, see_other, Layout};
use crate::web::session::SignedIn;

const DOCUMENTS_PER_PAGE: u32 = 50;

/// The formats offered, as (API name, label).
pub const FORMAT_CHOICES: [(&str, &str); 4] = [
    ("openvex", "OpenVEX 0.2.0 (JSON)"),
    ("cyclonedx-json", "CycloneDX 1.6 JSON"),
    ("cyclonedx-xml", "CycloneDX 1.6 XML"),
    ("csaf", "CSAF 2.0 VEX (JSON)"),
];

/// One document in a list.
pub struct DocumentRow {
    pub id: i64,
    pub title: String,
    pub subject: String,
    pub subject_link: String,
    pub format: String,
    pub version: i64,
    pub status: String,
    pub statements: i64,
    pub created: String,
    pub created_by: String,
    pub updated: String,
}

/// Names of the products and releases documents are about (a list shows a few of each).
#[derive(Default)]
pub struct Subjects {
    products: HashMap<i64, String>,
    releases: HashMap<i64, String>,
}

impl Subjects {
    pub async fn of(state: &AppState, user: &SignedIn, records: &[VexDocumentRecord]) -> Subjects {
        let mut subjects = Subjects::default();
        for record in records {
            if let std::collections::hash_map::Entry::Vacant(entry) =
                subjects.products.entry(record.product_id)
            {
                // Without `products:read` (a customer's key role) the id stands in for the name.
                if let Ok(product) =
                    products::get_product(state, &user.actor, record.product_id).await
                {
                    entry.insert(product.name);
                }
            }
            if let Some(release_id) = record.release_id {
                if let std::collections::hash_map::Entry::Vacant(entry) =
                    subjects.releases.entry(release_id)
                {
                    if let Ok(release) = products::get_release(state, &user.actor, release_id).await
                    {
                        entry.insert(release.version);
                    }
                }
            }
        }
        subjects
    }

    /// "Product 1.2" or "Product (all releases)", and the page it links to.
    pub fn describe(&self, record: &VexDocumentRecord) -> (String, String) {
        let product = self
            .products
            .get(&record.product_id)
            .cloned()
            .unwrap_or_else(|| format!("product {}", record.product_id));
        match record.release_id {
            Some(id) => (
                format!(
                    "{product} {}",
                    self.releases.get(&id).map_or("", String::as_str)
                ),
                format!("/releases/{id}/vex"),
            ),
            None => (
                format!("{product} (all releases)"),
                format!("/products/{}/vex", record.product_id),
            ),
        }
    }

    pub fn row(&self, record: &VexDocumentRecord) -> DocumentRow {
        let (subject, subject_link) = self.describe(record);
        DocumentRow {
            id: record.id,
            title: record.title.clone(),
            subject,
            subject_link,
            format: record.format.clone(),
            version: record.version,
            status: record.status.clone(),
            statements: record.statement_count,
            created: when(record.created_at),
            created_by: record.created_by.clone(),
            updated: when(record.updated_at),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The approval queue.

#[derive(Template)]
#[template(path = "vex_documents.html")]
struct QueuePage {
    layout: Layout,
    status: String,
    statuses: Vec<&'static str>,
    documents: Vec<DocumentRow>,
    pager: Pager,
}

/// `GET /vex`: the team's documents, newest first, by status (`submitted` is the queue of
/// what waits for approval).
pub async fn queue(
    State(state): State<AppState>,
    user: SignedIn,
    Query(fields): Query,
) -> Result<Response, WebError> {
    let page = page_number(&fields)?;
    let status = fields.get("status").unwrap_or("").to_lowercase();
    let request = PageRequest::from_query(Some(page), Some(DOCUMENTS_PER_PAGE), DOCUMENTS_PER_PAGE)
        .map_err(|error| WebError::bad_request(error.to_string()))?;
    let filter = ListFilter {
        status: Some(status.clone()).filter(|s| !s.is_empty()),
        ..ListFilter::default()
    };
    let listed = vex_documents::list(&state, &user.actor, filter, request).await?;
    let subjects = Subjects::of(&state, &user, &listed.items).await;
    Ok(render_with_status(
        StatusCode::OK,
        &QueuePage {
            layout: user.layout("VEX documents", "vex"),
            pager: Pager::new(
                "/vex",
                &[("status", status.clone())],
                page,
                DOCUMENTS_PER_PAGE,
                listed.total,
            ),
            documents: listed.items.iter().map(|r| subjects.row(r)).collect(),
            statuses: VexStatus::ALL.iter().map(|s| s.as_str()).collect(),
            status,
        },
    ))
}

// ---------------------------------------------------------------------------------------------
// A release's or a product's VEX: generate, its documents, imports.

/// What a VEX import did, as the page shows it.
pub struct ImportResult {
    pub summary: ImportRow,
    pub statements: Vec<StatementRow>,
    pub kept_manual: usize,
    pub unreadable: Vec<String>,
    pub warnings: Vec<String>,
}

pub struct StatementRow {
    pub statement: usize,
    pub vulnerability: String,
    pub outcome: &'static str,
    pub reason: &'static str,
    pub detail: String,
    pub findings: usize,
}

pub struct ImportRow {
    pub format: String,
    pub document: String,
    pub sha256: String,
    pub overwrite: bool,
    pub statements: i64,
    pub applied: i64,
    pub skipped: i64,
    pub unmatched: i64,
    pub decided: i64,
    pub kept_manual: i64,
    pub by: String,
    pub at: String,
}

impl ImportRow {
    fn of(import: &VexImport) -> Self {
        ImportRow {
            format: import.format.clone(),
            document: format!("{} v{}", import.document_id, import.document_version),
            sha256: import.sha256.chars().take(12).collect(),
            overwrite: import.overwrite,
            statements: import.statements,
            applied: import.applied,
            skipped: import.skipped,
            unmatched: import.unmatched,
            decided: import.findings_decided,
            kept_manual: import.kept_manual,
            by: import.imported_by.clone(),
            at: when(import.imported_at),
        }
    }
}

/// The generate form as entered (kept when generation is refused).
#[derive(Default)]
pub struct GenerateForm {
    pub format: String,
    pub include_bom: bool,
    pub title: String,
    pub summary: String,
}

#[derive(Template)]
#[template(path = "vex_target.html")]
struct TargetPage {
    layout: Layout,
    /// `releases/3` or `products/2`: where the forms post.
    base: String,
    product_id: i64,
    product_name: String,
    /// `None` for a product's page.
    release: Option<(i64, String)>,
    formats: [(&'static str, &'static str); 4],
    form: GenerateForm,
    error: Option<String>,
    documents: Vec<DocumentRow>,
    can_generate: bool,
    /// The release's imports; `None` on a product's page or without `dispositions:read`.
    imports: Option<Vec<ImportRow>>,
    can_import: bool,
    imported: Option<ImportResult>,
    import_error: Option<String>,
}

/// What else a target page shows: a refused form, an import's outcome.
#[derive(Default)]
struct TargetExtras {
    form: GenerateForm,
    error: Option<String>,
    imported: Option<ImportResult>,
    import_error: Option<String>,
}

async fn target_page(
    state: &AppState,
    user: &SignedIn,
    target: VexTarget,
    extras: TargetExtras,
    status: StatusCode,
) -> Result<Response, WebError> {
    let (product, release) = match target {
        VexTarget::Release(id) => {
            let release = products::get_release(state, &user.actor, id).await?;
            let product = products::get_product(state, &user.actor, release.product_id).await?;
            (product, Some((release.id, release.version)))
        }
        VexTarget::Product(id) => (products::get_product(state, &user.actor, id).await?, None),
    };
    let filter = ListFilter {
        product_id: Some(product.id),
        release_id: release.as_ref().map(|(id, _)| *id),
        ..ListFilter::default()
    };
    let request = PageRequest::from_query(Some(1), Some(DOCUMENTS_PER_PAGE), DOCUMENTS_PER_PAGE)
        .map_err(|error| WebError::bad_request(error.to_string()))?;
    let documents = if user.can(Scope::VexRead) {
        let listed = vex_documents::list(state, &user.actor, filter, request).await?;
        let subjects = Subjects::of(state, user, &listed.items).await;
        listed.items.iter().map(|r| subjects.row(r)).collect()
    } else {
        Vec::new()
    };
    let imports = match &release {
        Some((id, _)) if user.can(Scope::DispositionsRead) => Some(
            vex_import::list_imports(state, &user.actor, *id)
                .await?
                .iter()
                .map(ImportRow::of)
                .collect(),
        ),
        _ => None,
    };
    let title = match &release {
        Some((_, version)) => format!("VEX for {} {version}", product.name),
        None => format!("VEX for {}", product.name),
    };
    let mut form = extras.form;
    if form.format.is_empty() {
        form.format = "openvex".to_string();
    }
    Ok(render_with_status(
        status,
        &TargetPage {
            layout: user.layout(title, "vex"),
            base: match &release {
                Some((id, _)) => format!("releases/{id}"),
                None => format!("products/{}", product.id),
            },
            product_id: product.id,
            product_name: product.name,
            can_import: release.is_some() && user.can(Scope::DispositionsWrite),
            release,
            formats: FORMAT_CHOICES,
            form,
            error: extras.error,
            documents,
            can_generate: user.can(Scope::VexWrite),
            imports,
            imported: extras.imported,
            import_error: extras.import_error,
        },
    ))
}

/// `GET /releases/{id}/vex`.
pub async fn release_vex(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    target_page(
        &state,
        &user,
        VexTarget::Release(id),
        TargetExtras::default(),
        StatusCode::OK,
    )
    .await
}

/// `GET /products/{id}/vex`.
pub async fn product_vex(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    target_page(
        &state,
        &user,
        VexTarget::Product(id),
        TargetExtras::default(),
        StatusCode::OK,
    )
    .await
}

/// A service refusal to show on the page (a form's problem, a workflow rule) rather than as
/// an error page; `None` for the others (not found, not signed in, internal).
fn shown_on_page(error: &ServiceError) -> Option<StatusCode> {
    match error.code() {
        ErrorCode::ValidationFailed => Some(StatusCode::UNPROCESSABLE_ENTITY),
        ErrorCode::Conflict => Some(StatusCode::CONFLICT),
        ErrorCode::Forbidden => Some(StatusCode::FORBIDDEN),
        _ => None,
    }
}

async fn generate(
    state: &AppState,
    user: &SignedIn,
    target: VexTarget,
    fields: &crate::web::form::Fields,
) -> Result<Response, WebError> {
    let form = GenerateForm {
        format: fields.get("format").unwrap_or("").to_string(),
        include_bom: fields.checked("include_bom"),
        title: fields.get("title").unwrap_or("").to_string(),
        summary: fields.get("summary").unwrap_or("").to_string(),
    };
    let input = GenerateVex {
        format: form.format.clone(),
        include_bom: form.include_bom,
        title: Some(form.title.clone()).filter(|t| !t.is_empty()),
        summary: Some(form.summary.clone()).filter(|s| !s.is_empty()),
    };
    match vex_documents::generate(state, &user.actor, &user.origin, target, input).await {
        Ok(record) => Ok(see_other(user.fragment, &format!("/vex/{}", record.id))),
        Err(error) => match shown_on_page(&error) {
            Some(status) if status != StatusCode::FORBIDDEN => {
                let extras = TargetExtras {
                    form,
                    error: Some(error.message().to_string()),
                    ..TargetExtras::default()
                };
                target_page(state, user, target, extras, status).await
            }
            _ => Err(error.into()),
        },
    }
}

/// `POST /releases/{id}/vex`: generates a draft, then its page.
pub async fn generate_for_release(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
    Form(fields): Form,
) -> Result<Response, WebError> {
    generate(&state, &user, VexTarget::Release(id), &fields).await
}

/// `POST /products/{id}/vex`: generates a draft about every release, then its page.
pub async fn generate_for_product(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
    Form(fields): Form,
) -> Result<Response, WebError> {
    generate(&state, &user, VexTarget::Product(id), &fields).await
}

/// `POST /releases/{id}/vex-imports` (multipart: `document`, `overwrite`): applies the
/// document to the release's findings, then the release's VEX page with what it did.
pub async fn import(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    user.actor.require(Scope::DispositionsWrite)?;
    let limit = state.config.max_sbom_bytes;
    let unreadable = |error: axum::extract::multipart::MultipartError| {
        if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
            vex_import::too_large(limit)
        } else {
            ServiceError::new(ErrorCode::BadRequest, error.body_text())
        }
    };
    let (mut document, mut overwrite) = (None, false);
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("document") => document = Some(field.bytes().await.map_err(unreadable)?),
            Some("overwrite") => {
                let value = field.text().await.map_err(unreadable)?;
                overwrite = value != "0" && value != "false" && !value.is_empty();
            }
            _ => {}
        }
    }
    let document = document.filter(|d| !d.is_empty()).ok_or_else(|| {
        ServiceError::new(
            ErrorCode::BadRequest,
            "choose a VEX document to import (form field `document`)",
        )
    })?;
    let outcome =
        vex_import::import_vex(&state, &user.actor, &user.origin, id, &document, overwrite).await;
    let (extras, status) = match outcome {
        Ok(outcome) => (
            TargetExtras {
                imported: Some(ImportResult {
                    summary: ImportRow::of(&outcome.import),
                    statements: outcome
                        .statements
                        .iter()
                        .map(|s| StatementRow {
                            statement: s.statement,
                            vulnerability: s.vulnerability.clone(),
                            outcome: s.outcome,
                            reason: s.reason.unwrap_or(""),
                            detail: s.detail.clone().unwrap_or_default(),
                            findings: s.findings.len(),
                        })
                        .collect(),
                    kept_manual: outcome.kept_manual.len(),
                    unreadable: outcome.unreadable,
                    warnings: outcome.warnings,
                }),
                ..TargetExtras::default()
            },
            StatusCode::CREATED,
        ),
        Err(error)
            if matches!(
                error.code(),
                ErrorCode::NotAVex | ErrorCode::InvalidVex | ErrorCode::ValidationFailed
            ) =>
        {
            let status = crate::error::status_of(error.code());
            (
                TargetExtras {
                    import_error: Some(error.message().to_string()),
                    ..TargetExtras::default()
                },
                status,
            )
        }
        Err(error) => return Err(error.into()),
    };
    target_page(&state, &user, VexTarget::Release(id), extras, status).await
}

// ---------------------------------------------------------------------------------------------
// One document.

pub struct EventRow {
    pub kind: String,
    pub actor: String,
    pub details: String,
    pub at: String,
}

impl EventRow {
    fn of(event: VexDocumentEvent) -> Self {
        let details = event
            .details
            .as_deref()
            .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
            .and_then(|value| match value {
                serde_json::Value::Object(map) if map.is_empty() => None,
                serde_json::Value::Object(map) => Some(
                    map.iter()
                        .map(|(k, v)| match v {
                            serde_json::Value::String(s) => format!("{k}: {s}"),
                            other => format!("{k}: {other}"),
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
                other => Some(other.to_string()),
            })
            .unwrap_or_default();
        EventRow {
            kind: event.kind,
            actor: event.actor,
            details,
            at: when(event.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "vex_document.html")]
struct DocumentPage {
    layout: Layout,
    doc: VexDocumentRecord,
    subject: String,
    subject_link: String,
    file_name: String,
    created: String,
    submitted: String,
    approved: String,
    rejected: String,
    published: String,
    events: Vec<EventRow>,
    can_write: bool,
    /// The signed-in user submitted it (another member approves, unless the team allows).
    own_submission: bool,
    error: Option<String>,
    reason: String,
}

async fn document_page(
    state: &AppState,
    user: &SignedIn,
    id: i64,
    error: Option<String>,
    reason: String,
    status: StatusCode,
) -> Result<Response, WebError> {
    let doc = vex_documents::get(state, &user.actor, id).await?;
    let events = vex_documents::events(state, &user.actor, id).await?;
    let subjects = Subjects::of(state, user, std::slice::from_ref(&doc)).await;
    let (subject, subject_link) = subjects.describe(&doc);
    let by = |at: Option<chrono::DateTime<chrono::Utc>>, who: &Option<String>| match who {
        Some(who) => format!("{} by {who}", maybe_when(at)),
        None => maybe_when(at),
    };
    Ok(render_with_status(
        status,
        &DocumentPage {
            layout: user.layout(format!("{} (v{})", doc.title, doc.version), "vex"),
            subject,
            subject_link,
            file_name: vex_documents::file_name(&doc.tracking_id, &doc.format, doc.version),
            created: format!("{} by {}", when(doc.created_at), doc.created_by),
            submitted: by(doc.submitted_at, &doc.submitted_by),
            approved: by(doc.approved_at, &doc.approved_by),
            rejected: by(doc.rejected_at, &doc.rejected_by),
            published: by(doc.published_at, &doc.published_by),
            events: events.into_iter().rev().map(EventRow::of).collect(),
            can_write: user.can(Scope::VexWrite),
            own_submission: doc.submitted_by_user_id == Some(user.actor.user_id),
            doc,
            error,
            reason,
        },
    ))
}

/// `GET /vex/{id}`.
pub async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    document_page(&state, &user, id, None, String::new(), StatusCode::OK).await
}

/// The workflow step a path names.
pub fn action_of(name: &str) -> Option<VexAction> {
    match name {
        "submit" => Some(VexAction::Submit),
        "approve" => Some(VexAction::Approve),
        "reject" => Some(VexAction::Reject),
        "publish" => Some(VexAction::Publish),
        _ => None,
    }
}

/// `POST /vex/{id}/{action}` (`submit`, `approve`, `reject` with `reason`, `publish`): the
/// step, then the document's page; a refused step is the page again with the reason (403
/// for approving one's own submission, 409 from the wrong status, 422 without a reason).
pub async fn step(
    State(state): State<AppState>,
    user: SignedIn,
    Path((id, action)): Path<(i64, String)>,
    Form(fields): Form,
) -> Result<Response, WebError> {
    let action = action_of(&action).ok_or_else(|| WebError::not_found("workflow step"))?;
    let reason = fields.get("reason").map(str::to_string);
    match vex_documents::transition(
        &state,
        &user.actor,
        &user.origin,
        id,
        action,
        reason.as_deref(),
    )
    .await
    {
        Ok(_) => Ok(see_other(user.fragment, &format!("/vex/{id}"))),
        // No `vex:write` at all is the plain 403 page; a workflow rule is shown on the page.
        Err(error) if error.code() == ErrorCode::InsufficientScope => Err(error.into()),
        Err(error) => match shown_on_page(&error) {
            Some(status) => {
                document_page(
                    &state,
                    &user,
                    id,
                    Some(error.message().to_string()),
                    reason.unwrap_or_default(),
                    status,
                )
                .await
            }
            None => Err(error.into()),
        },
    }
}

/// `GET /vex/{id}/download`: the document's bytes, any status (`vex:read`, for reviewers).
pub async fn download(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let (record, bytes) = vex_documents::content(&state, &user.actor, id).await?;
    Ok(document_response(&headers, &record, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_the_four_steps_only() {
        assert_eq!(action_of("submit"), Some(VexAction::Submit));
        assert_eq!(action_of("approve"), Some(VexAction::Approve));
        assert_eq!(action_of("reject"), Some(VexAction::Reject));
        assert_eq!(action_of("publish"), Some(VexAction::Publish));
        assert_eq!(action_of("delete"), None);
    }

    #[test]
    fn the_offered_formats_are_the_services() {
        let offered: Vec<&str> = FORMAT_CHOICES.iter().map(|(name, _)| *name).collect();
        assert_eq!(offered, vex_documents::FORMATS);
    }
}
