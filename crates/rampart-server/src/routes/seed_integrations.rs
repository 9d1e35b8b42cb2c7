//! Seed 001's data-source paths, served verbatim as adapters over the same service as
//! `/api/v1/integrations` (same JSON, the seed's field names): the list with its
//! `type_category` filter, get, create, update (repository selection, selection type,
//! external project mappings; PUT or PATCH) and delete, under both
//! `/public_api/appsec/v1/integrations` and `/public_api/appsec/v1/data_source_instances`
//! (the seed names both). They authenticate like every route: `x-xdr-auth-id` (key id) with
//! the key in `Authorization`, or `Authorization: Bearer`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use rampart_core::Scope;
use rampart_engine::services::integrations::{self, CreateIntegration, UpdateIntegration};

use super::{PageQuery, Paginated};
use crate::appsec_bodies::{IntegrationBody, IntegrationListQuery};
use crate::auth::{Principal, RequestMeta};
use crate::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::state::AppState;

async fn list(
    state: AppState,
    principal: Principal,
    query: Result<ApiQuery<IntegrationListQuery>, ApiError>,
) -> Result<Json<Paginated<IntegrationBody>>, ApiError> {
    principal.require(Scope::IntegrationsRead)?;
    let ApiQuery(query) = query?;
    let request = PageQuery {
        page: query.page,
        per_page: query.per_page,
    }
    .to_request()?;
    let types = integrations::type_filter(
        query.type_category.as_deref(),
        query.integration_type.as_deref(),
    )?;
    let page = integrations::list(&state, &principal, types, request).await?;
    Ok(Json(Paginated::new(page, request, IntegrationBody::from)))
}

async fn create(
    state: AppState,
    meta: RequestMeta,
    principal: Principal,
    body: Result<ApiJson<CreateIntegration>, ApiError>,
) -> Result<(StatusCode, Json<IntegrationBody>), ApiError> {
    principal.require(Scope::IntegrationsWrite)?;
    let ApiJson(body) = body?;
    let created = integrations::create(&state, &principal, &meta, body).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

async fn update(
    state: AppState,
    meta: RequestMeta,
    principal: Principal,
    id: i64,
    body: Result<ApiJson<UpdateIntegration>, ApiError>,
) -> Result<Json<IntegrationBody>, ApiError> {
    principal.require(Scope::IntegrationsWrite)?;
    let ApiJson(body) = body?;
    Ok(Json(
        integrations::update(&state, &principal, &meta, id, body)
            .await?
            .into(),
    ))
}

/// List data sources (seed 001), optionally of one `type_category`.
#[utoipa::path(get, path = "/public_api/appsec/v1/integrations", tag = "integrations",
    operation_id = "seed_list_integrations",
    security(("bearer" = ["integrations:read"])),
    params(IntegrationListQuery),
    responses(
        (status = 200, description = "One page of integrations", body = Paginated<IntegrationBody>),
        (status = 400, description = "Bad query parameter (`type_category` not DEFAULT or EXTERNAL_VENDOR_INTEGRATIONS)", body = ErrorBody),
    ))]
pub async fn list_integrations(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<ApiQuery<IntegrationListQuery>, ApiError>,
) -> Result<Json<Paginated<IntegrationBody>>, ApiError> {
    list(state, principal, query).await
}

/// Create data source (seed 001).
#[utoipa::path(post, path = "/public_api/appsec/v1/integrations", tag = "integrations",
    operation_id = "seed_create_integrations",
    security(("bearer" = ["integrations:write"])),
    request_body = CreateIntegration,
    responses(
        (status = 201, description = "Created", body = IntegrationBody),
        (status = 409, description = "The team already has an integration with this name", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ))]
pub async fn create_integrations(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    body: Result<ApiJson<CreateIntegration>, ApiError>,
) -> Result<(StatusCode, Json<IntegrationBody>), ApiError> {
    create(state, meta, principal, body).await
}

/// Get data source by ID (seed 001).
#[utoipa::path(get, path = "/public_api/appsec/v1/integrations/{id}", tag = "integrations",
    operation_id = "seed_get_integrations",
    security(("bearer" = ["integrations:read"])),
    params(("id" = i64, Path, description = "Integration id")),
    responses(
        (status = 200, description = "The integration", body = IntegrationBody),
        (status = 404, description = "No such integration in this team", body = ErrorBody),
    ))]
pub async fn get_integrations(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<IntegrationBody>, ApiError> {
    Ok(Json(
        integrations::get(&state, &principal, id).await?.into(),
    ))
}

/// Update data source (seed 001): repository selection, selection type, external project
/// mappings.
#[utoipa::path(put, path = "/public_api/appsec/v1/integrations/{id}", tag = "integrations",
    operation_id = "seed_put_integrations",
    security(("bearer" = ["integrations:write"])),
    params(("id" = i64, Path, description = "Integration id")),
    request_body = UpdateIntegration,
    responses(
        (status = 200, description = "The updated integration", body = IntegrationBody),
        (status = 404, description = "No such integration in this team", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ))]
pub async fn put_integrations(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
    body: Result<ApiJson<UpdateIntegration>, ApiError>,
) -> Result<Json<IntegrationBody>, ApiError> {
    update(state, meta, principal, id, body).await
}

/// Update data source (seed 001), as PATCH.
#[utoipa::path(patch, path = "/public_api/appsec/v1/integrations/{id}", tag = "integrations",
    operation_id = "seed_patch_integrations",
    security(("bearer" = ["integrations:write"])),
    params(("id" = i64, Path, description = "Integration id")),
    request_body = UpdateIntegration,
    responses(
        (status = 200, description = "The updated integration", body = IntegrationBody),
        (status = 404, description = "No such integration in this team", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ))]
pub async fn patch_integrations(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
    body: Result<ApiJson<UpdateIntegration>, ApiError>,
) -> Result<Json<IntegrationBody>, ApiError> {
    update(state, meta, principal, id, body).await
}

/// Delete data source (seed 001): the integration and its repository mappings; its findings
/// stay, marked orphaned.
#[utoipa::path(delete, path = "/public_api/appsec/v1/integrations/{id}", tag = "integrations",
    operation_id = "seed_delete_integrations",
    security(("bearer" = ["integrations:write"])),
    params(("id" = i64, Path, description = "Integration id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such integration in this team", body = ErrorBody),
    ))]
pub async fn delete_integrations(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    integrations::delete(&state, &principal, &meta, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List data sources (seed 001), optionally of one `type_category`.
#[utoipa::path(get, path = "/public_api/appsec/v1/data_source_instances", tag = "integrations",
    operation_id = "seed_list_data_sources",
    security(("bearer" = ["integrations:read"])),
    params(IntegrationListQuery),
    responses(
        (status = 200, description = "One page of integrations", body = Paginated<IntegrationBody>),
        (status = 400, description = "Bad query parameter (`type_category` not DEFAULT or EXTERNAL_VENDOR_INTEGRATIONS)", body = ErrorBody),
    ))]
pub async fn list_data_sources(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<ApiQuery<IntegrationListQuery>, ApiError>,
) -> Result<Json<Paginated<IntegrationBody>>, ApiError> {
    list(state, principal, query).await
}

/// Create data source (seed 001).
#[utoipa::path(post, path = "/public_api/appsec/v1/data_source_instances", tag = "integrations",
    operation_id = "seed_create_data_sources",
    security(("bearer" = ["integrations:write"])),
    request_body = CreateIntegration,
    responses(
        (status = 201, description = "Created", body = IntegrationBody),
        (status = 409, description = "The team already has an integration with this name", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ))]
pub async fn create_data_sources(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    body: Result<ApiJson<CreateIntegration>, ApiError>,
) -> Result<(StatusCode, Json<IntegrationBody>), ApiError> {
    create(state, meta, principal, body).await
}

/// Get data source by ID (seed 001).
#[utoipa::path(get, path = "/public_api/appsec/v1/data_source_instances/{id}", tag = "integrations",
    operation_id = "seed_get_data_sources",
    security(("bearer" = ["integrations:read"])),
    params(("id" = i64, Path, description = "Integration id")),
    responses(
        (status = 200, description = "The integration", body = IntegrationBody),
        (status = 404, description = "No such integration in this team", body = ErrorBody),
    ))]
pub async fn get_data_sources(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<IntegrationBody>, ApiError> {
    Ok(Json(
        integrations::get(&state, &principal, id).await?.into(),
    ))
}

/// Update data source (seed 001): repository selection, selection type, external project
/// mappings.
#[utoipa::path(put, path = "/public_api/appsec/v1/data_source_instances/{id}", tag = "integrations",
    operation_id = "seed_put_data_sources",
    security(("bearer" = ["integrations:write"])),
    params(("id" = i64, Path, description = "Integration id")),
    request_body = UpdateIntegration,
    responses(
        (status = 200, description = "The updated integration", body = IntegrationBody),
        (status = 404, description = "No such integration in this team", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ))]
pub async fn put_data_sources(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
    body: Result<ApiJson<UpdateIntegration>, ApiError>,
) -> Result<Json<IntegrationBody>, ApiError> {
    update(state, meta, principal, id, body).await
}

/// Update data source (seed 001), as PATCH.
#[utoipa::path(patch, path = "/public_api/appsec/v1/data_source_instances/{id}", tag = "integrations",
    operation_id = "seed_patch_data_sources",
    security(("bearer" = ["integrations:write"])),
    params(("id" = i64, Path, description = "Integration id")),
    request_body = UpdateIntegration,
    responses(
        (status = 200, description = "The updated integration", body = IntegrationBody),
        (status = 404, description = "No such integration in this team", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ))]
pub async fn patch_data_sources(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
    body: Result<ApiJson<UpdateIntegration>, ApiError>,
) -> Result<Json<IntegrationBody>, ApiError> {
    update(state, meta, principal, id, body).await
}

/// Delete data source (seed 001): the integration and its repository mappings; its findings
/// stay, marked orphaned.
#[utoipa::path(delete, path = "/public_api/appsec/v1/data_source_instances/{id}", tag = "integrations",
    operation_id = "seed_delete_data_sources",
    security(("bearer" = ["integrations:write"])),
    params(("id" = i64, Path, description = "Integration id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such integration in this team", body = ErrorBody),
    ))]
pub async fn delete_data_sources(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    integrations::delete(&state, &principal, &meta, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
