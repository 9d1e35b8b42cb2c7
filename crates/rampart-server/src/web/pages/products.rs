//! A product: its figures and releases; creating products and releases.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use rampart_core::{PageRequest, Scope};
use rampart_engine::services::findings;
use rampart_engine::services::products::{self, CreateProduct, CreateRelease};

use super::portfolio::SeverityCounts;
use super::{page_number, when, Pager};
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::{Form, Query};
use crate::web::layout::{render, see_other, Layout};
use crate::web::session::SignedIn;

const PER_PAGE: u32 = 50;

pub struct ReleaseRow {
    pub id: i64,
    pub version: String,
    pub status: String,
    pub released: String,
    pub eol: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "product.html")]
struct ProductPage {
    layout: Layout,
    id: i64,
    name: String,
    description: Option<String>,
    cpe_matching: bool,
    counts: SeverityCounts,
    vulnerabilities: i64,
    kev: i64,
    releases: Vec<ReleaseRow>,
    pager: Pager,
    can_create: bool,
}

/// `GET /products/{id}`.
pub async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
    Query(query): Query,
) -> Result<Response, WebError> {
    let page = page_number(&query)?;
    let product = products::get_product(&state, &user.actor, id).await?;
    let summary = findings::product_summary(&state, &user.actor, id, false).await?;
    let request = PageRequest::from_query(Some(page), Some(PER_PAGE), PER_PAGE)
        .map_err(|error| WebError::bad_request(error.to_string()))?;
    let releases = products::list_releases(&state, &user.actor, id, request).await?;
    let date = |d: Option<chrono::NaiveDate>| d.map_or("—".to_string(), |d| d.to_string());
    Ok(render(&ProductPage {
        layout: user.layout(product.name.clone(), "portfolio"),
        pager: Pager::new(
            &format!("/products/{id}"),
            &[],
            page,
            PER_PAGE,
            releases.total,
        ),
        releases: releases
            .items
            .into_iter()
            .map(|r| ReleaseRow {
                id: r.id,
                released: date(r.release_date),
                eol: date(r.eol_date),
                created: when(r.created_at),
                version: r.version,
                status: r.status,
            })
            .collect(),
        id,
        name: product.name,
        description: product.description,
        cpe_matching: product.cpe_matching,
        counts: SeverityCounts::of(&summary),
        vulnerabilities: summary.vulnerabilities,
        kev: summary.kev,
        can_create: user.can(Scope::ReleasesWrite),
    }))
}

/// `POST /products`: then the new product's page.
pub async fn create(
    State(state): State<AppState>,
    user: SignedIn,
    Form(form): Form,
) -> Result<Response, WebError> {
    let input = CreateProduct {
        name: form.get("name").unwrap_or("").to_string(),
        description: form.get("description").map(str::to_string),
        tags: form
            .get("tags")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect(),
        cpe_matching: form.checked("cpe_matching"),
    };
    let product = products::create_product(&state, &user.actor, &user.origin, input).await?;
    Ok(see_other(
        user.fragment,
        &format!("/products/{}", product.id),
    ))
}

/// `POST /products/{id}/releases`: then the new release's page.
pub async fn create_release(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
    Form(form): Form,
) -> Result<Response, WebError> {
    let input = CreateRelease {
        version: form.get("version").unwrap_or("").to_string(),
        status: form.get("status").map(str::to_string),
        release_date: None,
        eol_date: None,
    };
    let release = products::create_release(&state, &user.actor, &user.origin, id, input).await?;
    Ok(see_other(
        user.fragment,
        &format!("/releases/{}", release.id),
    ))
}
