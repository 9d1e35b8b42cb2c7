//! Seed 004's documented paths (`curl -H "Authorization: Bearer …" https://…/api/products`):
//! the same handlers and JSON as the canonical `/api/v1/products…` routes.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

use super::products::{self, CreateProduct, ProductBody, ProductListQuery};
use super::releases::{self, CreateRelease, ReleaseBody};
use super::{PageQuery, Paginated};
use crate::auth::Principal;
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
    principal: Principal,
    body: Result<ApiJson<CreateProduct>, ApiError>,
) -> Result<(StatusCode, Json<ProductBody>), ApiError> {
    products::create_product(state, principal, body).await
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
    principal: Principal,
    product_id: Path<i64>,
    body: Result<ApiJson<CreateRelease>, ApiError>,
) -> Result<(StatusCode, Json<ReleaseBody>), ApiError> {
    releases::create_release(state, principal, product_id, body).await
}
