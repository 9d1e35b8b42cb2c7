//! Releases: versions of a product, each with a lifecycle status and dates. A version is
//! unique within its product.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use rampart_core::Scope;
use rampart_store::{NewRelease, Release, ReleaseChanges, RELEASE_STATUSES};
use serde::{Deserialize, Serialize};

use rampart_engine::fields;

use super::{double_option, PageQuery, Paginated};
use crate::auth::{Principal, RequestMeta};
use crate::error::{ApiError, ApiJson, ApiQuery, ErrorBody, ErrorCode};
use crate::state::AppState;

const MAX_VERSION: usize = 200;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReleaseBody {
    pub id: i64,
    pub product_id: i64,
    pub version: String,
    /// `development`, `released` or `end_of_life`.
    pub status: String,
    pub release_date: Option<NaiveDate>,
    pub eol_date: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `true` when this is test data (created with an `rk_test_` key); absent for live data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_mode: Option<bool>,
}

impl From<Release> for ReleaseBody {
    fn from(release: Release) -> Self {
        ReleaseBody {
            id: release.id,
            product_id: release.product_id,
            version: release.version,
            status: release.status,
            release_date: release.release_date,
            eol_date: release.eol_date,
            created_at: release.created_at,
            updated_at: release.updated_at,
            test_mode: release.is_test.then_some(true),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRelease {
    /// Unique within the product, 1–200 characters, no control characters.
    #[schema(min_length = 1, max_length = 200)]
    pub version: String,
    /// `development`, `released` or `end_of_life` [default: development].
    pub status: Option<String>,
    /// `YYYY-MM-DD`
    pub release_date: Option<NaiveDate>,
    /// `YYYY-MM-DD`, not before `release_date`.
    pub eol_date: Option<NaiveDate>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRelease {
    /// Unique within the product, 1–200 characters, no control characters.
    #[schema(min_length = 1, max_length = 200)]
    pub version: Option<String>,
    pub status: Option<String>,
    /// `null` clears the date.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub release_date: Option<Option<NaiveDate>>,
    /// `null` clears the date.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub eol_date: Option<Option<NaiveDate>>,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::ValidationFailed, message)
}

fn valid_version(version: &str) -> Result<String, ApiError> {
    Ok(fields::name("version", version, MAX_VERSION)?)
}

fn valid_status(status: &str) -> Result<String, ApiError> {
    if RELEASE_STATUSES.contains(&status) {
        Ok(status.to_string())
    } else {
        Err(invalid(format!(
            "`status` must be one of {}",
            RELEASE_STATUSES.join(", ")
        )))
    }
}

fn check_dates(release: Option<NaiveDate>, eol: Option<NaiveDate>) -> Result<(), ApiError> {
    match (release, eol) {
        (Some(release), Some(eol)) if eol < release => {
            Err(invalid("`eol_date` must not be before `release_date`"))
        }
        _ => Ok(()),
    }
}

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
    principal.require(Scope::ReleasesWrite)?;
    let ApiJson(body) = body?;
    let release = NewRelease {
        version: valid_version(&body.version)?,
        status: valid_status(body.status.as_deref().unwrap_or("development"))?,
        release_date: body.release_date,
        eol_date: body.eol_date,
    };
    check_dates(release.release_date, release.eol_date)?;
    let event = principal
        .audit(&meta, "release.create")
        .details(serde_json::json!({ "product_id": product_id, "version": release.version }));
    let created = state
        .store
        .create_release(principal.tenant(), product_id, &release, &event)
        .await?
        .ok_or_else(|| ApiError::not_found("product"))?;
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
    let page = state
        .store
        .list_releases(principal.tenant(), product_id, request)
        .await?
        .ok_or_else(|| ApiError::not_found("product"))?;
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
    principal.require(Scope::ReleasesRead)?;
    let release = state
        .store
        .release(principal.tenant(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("release"))?;
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
    let changes = ReleaseChanges {
        version: body.version.as_deref().map(valid_version).transpose()?,
        status: body.status.as_deref().map(valid_status).transpose()?,
        release_date: body.release_date,
        eol_date: body.eol_date,
    };
    let current = state
        .store
        .release(principal.tenant(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("release"))?;
    check_dates(
        changes.release_date.unwrap_or(current.release_date),
        changes.eol_date.unwrap_or(current.eol_date),
    )?;
    let event = principal
        .audit(&meta, "release.update")
        .details(serde_json::json!({ "changed": changes.changed_fields() }));
    let release = state
        .store
        .update_release(principal.tenant(), id, &changes, &event)
        .await?
        .ok_or_else(|| ApiError::not_found("release"))?;
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
    principal.require(Scope::ReleasesWrite)?;
    let event = principal.audit(&meta, "release.delete");
    if state
        .store
        .delete_release(principal.tenant(), id, &event)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("release"))
    }
}
