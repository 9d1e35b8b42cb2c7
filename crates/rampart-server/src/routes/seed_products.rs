//! Seed 004's documented paths (`curl -H "Authorization: Bearer …" https://…/api/products`):
//! the product and release resources in full (list, create, get, update, delete), with the
//! same handlers, JSON, scopes and audit records as the canonical `/api/v1/…` routes.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

use super::products::{self, CreateProduct, ProductBody, ProductListQuery, UpdateProduct};
use super::releases::{self, CreateRelease, ReleaseBody, UpdateRelease};
use super::{PageQuery, Paginated};
use crate::auth::{Principal, RequestMeta};
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
    state: State<AppState>,
    principal: Principal,
    query: Result<ApiQuery<ProductListQuery>, ApiError>,
) -> Result<Json<Paginated<ProductBody>>, ApiError> {
    products::list_products(state, principal, query).await
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
    state: State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    body: Result<ApiJson<CreateProduct>, ApiError>,
) -> Result<(StatusCode, Json<ProductBody>), ApiError> {
    products::create_product(state, meta, principal, body).await
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
    state: State<AppState>,
    principal: Principal,
    id: Path<i64>,
) -> Result<Json<ProductBody>, ApiError> {
    products::get_product(state, principal, id).await
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
    state: State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    id: Path<i64>,
    body: Result<ApiJson<UpdateProduct>, ApiError>,
) -> Result<Json<ProductBody>, ApiError> {
    products::update_product(state, meta, principal, id, body).await
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
    state: State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    id: Path<i64>,
) -> Result<StatusCode, ApiError> {
    products::delete_product(state, meta, principal, id).await
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
    state: State<AppState>,
    principal: Principal,
    product_id: Path<i64>,
    query: Result<ApiQuery<PageQuery>, ApiError>,
) -> Result<Json<Paginated<ReleaseBody>>, ApiError> {
    releases::list_releases(state, principal, product_id, query).await
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
    state: State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    product_id: Path<i64>,
    body: Result<ApiJson<CreateRelease>, ApiError>,
) -> Result<(StatusCode, Json<ReleaseBody>), ApiError> {
    releases::create_release(state, meta, principal, product_id, body).await
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
    state: State<AppState>,
    principal: Principal,
    id: Path<i64>,
) -> Result<Json<ReleaseBody>, ApiError> {
    releases::get_release(state, principal, id).await
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
    state: State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    id: Path<i64>,
    body: Result<ApiJson<UpdateRelease>, ApiError>,
) -> Result<Json<ReleaseBody>, ApiError> {
    releases::update_release(state, meta, principal, id, body).await
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
    state: State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    id: Path<i64>,
) -> Result<StatusCode, ApiError> {
    releases::delete_release(state, meta, principal, id).await
}
