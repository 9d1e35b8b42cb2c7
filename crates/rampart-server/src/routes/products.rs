//! Products: what a team ships. The rules (names unique per team, field limits, deleting a
//! product deletes its releases and SBOMs) are [`rampart_engine::services::products`]'s.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use rampart_core::Scope;
use rampart_engine::services::products::{self, CreateProduct, UpdateProduct};

use super::{search_term, PageQuery, Paginated};
use crate::auth::{Principal, RequestMeta};
use crate::bodies::{ProductBody, ProductListQuery};
use crate::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::state::AppState;

/// Creates a product.
#[utoipa::path(post, path = "/api/v1/products", tag = "products",
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

/// Lists the team's products by name.
#[utoipa::path(get, path = "/api/v1/products", tag = "products",
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

/// One product.
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "products",
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

/// Changes a product's fields; absent fields keep their value.
#[utoipa::path(patch, path = "/api/v1/products/{id}", tag = "products",
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
    principal.require(Scope::ProductsWrite)?;
    let ApiJson(body) = body?;
    let product = products::update_product(&state, &principal, &meta, id, body).await?;
    Ok(Json(product.into()))
}

/// Deletes a product with its releases, SBOMs and analyses.
#[utoipa::path(delete, path = "/api/v1/products/{id}", tag = "products",
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
