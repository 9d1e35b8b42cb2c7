//! Releases: versions of a product, each with a lifecycle status and dates. The rules
//! (a version unique within its product, statuses, dates) are
//! [`rampart_engine::services::products`]'s.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use rampart_core::Scope;
use rampart_engine::services::products::{self, CreateRelease, UpdateRelease};

use super::{PageQuery, Paginated};
use crate::auth::{Principal, RequestMeta};
use crate::bodies::ReleaseBody;
use crate::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::state::AppState;

/// Creates a release of a product.
#[utoipa::path(post, path = "/api/v1/products/{id}/releases", tag = "releases",
    security(("bearer" = ["releases:write"])),
    params(("id" = i64, Path, description = "Product id")),
    request_body = CreateRelease,
    responses(
        (status = 201, description = "Created", body = ReleaseBody),
        (status = 404, description = "No such product in this team", body = ErrorBody),
        (status = 409, description = "The product already has this version", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ))]
pub async fn create_release(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(product_id): Path<i64>,
    body: Result<ApiJson<CreateRelease>, ApiError>,
) -> Result<(StatusCode, Json<ReleaseBody>), ApiError> {
    // The scope is checked before the body is read: a caller without it gets 403.
    principal.require(Scope::ReleasesWrite)?;
    let ApiJson(body) = body?;
    let created = products::create_release(&state, &principal, &meta, product_id, body).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// Lists a product's releases, newest first.
#[utoipa::path(get, path = "/api/v1/products/{id}/releases", tag = "releases",
    security(("bearer" = ["releases:read"])),
    params(("id" = i64, Path, description = "Product id"), PageQuery),
    responses(
        (status = 200, description = "One page of releases", body = Paginated<ReleaseBody>),
        (status = 404, description = "No such product in this team", body = ErrorBody),
    ))]
pub async fn list_releases(
    State(state): State<AppState>,
    principal: Principal,
    Path(product_id): Path<i64>,
    query: Result<ApiQuery<PageQuery>, ApiError>,
) -> Result<Json<Paginated<ReleaseBody>>, ApiError> {
    principal.require(Scope::ReleasesRead)?;
    let ApiQuery(query) = query?;
    let request = query.to_request()?;
    let page = products::list_releases(&state, &principal, product_id, request).await?;
    Ok(Json(Paginated::new(page, request, ReleaseBody::from)))
}

/// One release.
#[utoipa::path(get, path = "/api/v1/releases/{id}", tag = "releases",
    security(("bearer" = ["releases:read"])),
    params(("id" = i64, Path, description = "Release id")),
    responses(
        (status = 200, description = "The release", body = ReleaseBody),
        (status = 404, description = "No such release in this team", body = ErrorBody),
    ))]
pub async fn get_release(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<ReleaseBody>, ApiError> {
    let release = products::get_release(&state, &principal, id).await?;
    Ok(Json(release.into()))
}

/// Changes a release's fields; absent fields keep their value.
#[utoipa::path(patch, path = "/api/v1/releases/{id}", tag = "releases",
    security(("bearer" = ["releases:write"])),
    params(("id" = i64, Path, description = "Release id")),
    request_body = UpdateRelease,
    responses(
        (status = 200, description = "The updated release", body = ReleaseBody),
        (status = 404, description = "No such release in this team", body = ErrorBody),
        (status = 409, description = "The product already has this version", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ))]
pub async fn update_release(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
    body: Result<ApiJson<UpdateRelease>, ApiError>,
) -> Result<Json<ReleaseBody>, ApiError> {
    principal.require(Scope::ReleasesWrite)?;
    let ApiJson(body) = body?;
    let release = products::update_release(&state, &principal, &meta, id, body).await?;
    Ok(Json(release.into()))
}

/// Deletes a release with its SBOMs and analyses.
#[utoipa::path(delete, path = "/api/v1/releases/{id}", tag = "releases",
    security(("bearer" = ["releases:write"])),
    params(("id" = i64, Path, description = "Release id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such release in this team", body = ErrorBody),
    ))]
pub async fn delete_release(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    products::delete_release(&state, &principal, &meta, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
