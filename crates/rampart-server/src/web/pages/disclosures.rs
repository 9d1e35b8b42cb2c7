//! Disclosures: the team's published VEX documents, for customers and whoever hands them out
//! (`disclosures:read`), each with its download (the stored bytes, with their `ETag`).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use rampart_core::PageRequest;
use rampart_engine::services::disclosures;
use rampart_engine::services::vex_documents::{file_name, ListFilter};

use super::vex::Subjects;
use super::{maybe_when, page_number, Pager};
use crate::document_download::document_response;
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::Query;
use crate::web::layout::{render, Layout};
use crate::web::session::SignedIn;

const PER_PAGE: u32 = 50;

pub struct DisclosureRow {
    pub id: i64,
    pub title: String,
    pub subject: String,
    pub format: String,
    pub version: i64,
    pub statements: i64,
    pub published: String,
    pub published_by: String,
    pub file_name: String,
    pub size: i64,
    pub sha256: String,
}

#[derive(Template)]
#[template(path = "disclosures.html")]
struct DisclosuresPage {
    layout: Layout,
    disclosures: Vec<DisclosureRow>,
    pager: Pager,
}

/// `GET /disclosures`: published documents, newest first.
pub async fn list(
    State(state): State<AppState>,
    user: SignedIn,
    Query(fields): Query,
) -> Result<Response, WebError> {
    let page = page_number(&fields)?;
    let request = PageRequest::from_query(Some(page), Some(PER_PAGE), PER_PAGE)
        .map_err(|error| WebError::bad_request(error.to_string()))?;
    let listed = disclosures::list(&state, &user.actor, ListFilter::default(), request).await?;
    let subjects = Subjects::of(&state, &user, &listed.items).await;
    Ok(render(&DisclosuresPage {
        layout: user.layout("Disclosures", "disclosures"),
        pager: Pager::new("/disclosures", &[], page, PER_PAGE, listed.total),
        disclosures: listed
            .items
            .iter()
            .map(|record| DisclosureRow {
                id: record.id,
                title: record.title.clone(),
                subject: subjects.describe(record).0,
                format: record.format.clone(),
                version: record.version,
                statements: record.statement_count,
                published: maybe_when(record.published_at),
                published_by: record.published_by.clone().unwrap_or_default(),
                file_name: file_name(&record.tracking_id, &record.format, record.version),
                size: record.size_bytes,
                sha256: record.sha256.clone(),
            })
            .collect(),
    }))
}

/// `GET /disclosures/{id}/download`: a published document's bytes.
pub async fn download(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let (record, bytes) = disclosures::download(&state, &user.actor, id).await?;
    Ok(document_response(&headers, &record, bytes))
}
