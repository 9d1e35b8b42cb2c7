//! Seed 004's documented paths (`curl -H "Authorization: Bearer …" https://…/api/products`):
//! the product and release resources in full (list, create, get, update, delete), with the
//! same service calls, JSON, scopes and audit records as the canonical `/api/v1/…` routes.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use rampart_core::Scope;
use rampart_engine::services::products::{
    self, CreateProduct, CreateRelease, UpdateProduct, UpdateRelease,
};

use super::{search_term, PageQuery, Paginated};
use crate::auth::{Principal, RequestMeta};
use crate::bodies::{ProductBody, ProductListQuery, ReleaseBody};
use crate::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::state::AppState;

/// Lists the team's products (seed 004 path; same as `GET /api/v1/products`).
#[utoipa::path(get, path = "/api/products", tag = "products",
    operation_id = "seed_list_products",
    security(("bearer" = ["products:read"])),
    params(ProductListQuery),
    responses(
        (status = 200, description = "One page of products", body = Paginated<ProductBody>),
        (status = 400, description = "Bad query parameter", body = ErrorBody),
    ))]
pub async fn list_products(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<ApiQuery<ProductListQuery>, ApiError>,
) -> Result<Json<Paginated<ProductBody>>, ApiError> {
    principal.require(Scope::ProductsRead)?;
    let ApiQuery(query) = query?;
    let request = PageQuery {
        page: query.page,
        per_page: query.per_page,
    }
    .to_request()?;
    let page = products::list_products(&state, &principal, search_term(&query.q), request).await?;
    Ok(Json(Paginated::new(page, request, ProductBody::from)))
}

/// Creates a product (seed 004 path; same as `POST /api/v1/products`).
#[utoipa::path(post, path = "/api/products", tag = "products",
    operation_id = "seed_create_product",
    security(("bearer" = ["products:write"])),
    request_body = CreateProduct,
    responses(
        (status = 201, description = "Created", body = ProductBody),
        (status = 409, description = "The team already has a product with this name", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ))]
pub async fn create_product(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    body: Result<ApiJson<CreateProduct>, ApiError>,
) -> Result<(StatusCode, Json<ProductBody>), ApiError> {
    // The scope is checked before the body is read: a caller without it gets 403.
    principal.require(Scope::ProductsWrite)?;
    let ApiJson(body) = body?;
    let created = products::create_product(&state, &principal, &meta, body).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// One product (seed 004 path; same as `GET /api/v1/products/{id}`).
#[utoipa::path(get, path = "/api/products/{id}", tag = "products",
    operation_id = "seed_get_product",
    security(("bearer" = ["products:read"])),
    params(("id" = i64, Path, description = "Product id")),
    responses(
        (status = 200, description = "The product", body = ProductBody),
        (status = 404, description = "No such product in this team", body = ErrorBody),
    ))]
pub async fn get_product(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<ProductBody>, ApiError> {
    let product = products::get_product(&state, &principal, id).await?;
    Ok(Json(product.into()))
}

/// Changes a product's fields (seed 004 path; same as `PATCH /api/v1/products/{id}`).
#[utoipa::path(patch, path = "/api/products/{id}", tag = "products",
    operation_id = "seed_update_product",
    security(("bearer" = ["products:write"])),
    params(("id" = i64, Path, description = "Product id")),
    request_body = UpdateProduct,
    responses(
        (status = 200, description = "The updated product", body = ProductBody),
        (status = 404, description = "No such product in this team", body = ErrorBody),
        (status = 409, description = "The team already has a product with this name", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ))]
pub async fn update_product(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
    body: Result<ApiJson<UpdateProduct>, ApiError>,
) -> Result<Json<ProductBody>, ApiError> {
    // The scope is checked before the body is read: a caller without it gets 403.
    principal.require(Scope::ProductsWrite)?;
    let ApiJson(body) = body?;
    let product = products::update_product(&state, &principal, &meta, id, body).await?;
    Ok(Json(product.into()))
}

/// Deletes a product with its releases, SBOMs and analyses (seed 004 path; same as
/// `DELETE /api/v1/products/{id}`).
#[utoipa::path(delete, path = "/api/products/{id}", tag = "products",
    operation_id = "seed_delete_product",
    security(("bearer" = ["products:write"])),
    params(("id" = i64, Path, description = "Product id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such product in this team", body = ErrorBody),
    ))]
pub async fn delete_product(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    products::delete_product(&state, &principal, &meta, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A product's releases (seed 004 path; same as `GET /api/v1/products/{id}/releases`).
#[utoipa::path(get, path = "/api/products/{id}/releases", tag = "releases",
    operation_id = "seed_list_releases",
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

/// Creates a release (seed 004 path; same as `POST /api/v1/products/{id}/releases`).
#[utoipa::path(post, path = "/api/products/{id}/releases", tag = "releases",
    operation_id = "seed_create_release",
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

/// One release (seed 004 path; same as `GET /api/v1/releases/{id}`).
#[utoipa::path(get, path = "/api/releases/{id}", tag = "releases",
    operation_id = "seed_get_release",
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

/// Changes a release's fields (seed 004 path; same as `PATCH /api/v1/releases/{id}`).
#[utoipa::path(patch, path = "/api/releases/{id}", tag = "releases",
    operation_id = "seed_update_release",
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
    // The scope is checked before the body is read: a caller without it gets 403.
    principal.require(Scope::ReleasesWrite)?;
    let ApiJson(body) = body?;
    let release = products::update_release(&state, &principal, &meta, id, body).await?;
    Ok(Json(release.into()))
}

/// Deletes a release with its SBOMs and analyses (seed 004 path; same as
/// `DELETE /api/v1/releases/{id}`).
#[utoipa::path(delete, path = "/api/releases/{id}", tag = "releases",
    operation_id = "seed_delete_release",
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
