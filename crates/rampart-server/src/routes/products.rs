//! Products: what a team ships. Names are unique per team; deleting a product deletes its
//! releases and SBOMs.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use rampart_core::Scope;
use rampart_store::{NewProduct, Product, ProductChanges};
use serde::{Deserialize, Serialize};

use rampart_engine::fields;

use super::{double_option, search_term, PageQuery, Paginated};
use crate::auth::{Principal, RequestMeta};
use crate::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::state::AppState;

const MAX_NAME: usize = 200;
const MAX_DESCRIPTION: usize = 4000;
const MAX_TAGS: usize = 50;
const MAX_TAG: usize = 64;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProductBody {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub tags: Vec<String>,
    /// Match components by CPE as well as by purl (off by default: CPE matching breeds false
    /// positives).
    pub cpe_matching: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `true` when this is test data (created with an `rk_test_` key); absent for live data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_mode: Option<bool>,
}

impl From<Product> for ProductBody {
    fn from(product: Product) -> Self {
        ProductBody {
            id: product.id,
            name: product.name,
            description: product.description,
            tags: product.tags,
            cpe_matching: product.cpe_matching,
            created_at: product.created_at,
            updated_at: product.updated_at,
            test_mode: product.is_test.then_some(true),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProduct {
    /// Unique within the team, 1–200 characters, no control characters.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// At most 4000 characters; line breaks and tabs are the only control characters allowed.
    #[schema(max_length = 4000)]
    pub description: Option<String>,
    /// At most 50 tags, each 1–64 characters without control characters; duplicates are
    /// dropped.
    #[serde(default)]
    #[schema(max_items = 50, inline, value_type = Vec<TagSchema>)]
    pub tags: Vec<String>,
    /// [default: false]
    #[serde(default)]
    pub cpe_matching: bool,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProduct {
    /// Unique within the team, 1–200 characters, no control characters.
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// `null` clears the description.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 4000)]
    pub description: Option<Option<String>>,
    /// Replaces the tags: at most 50, each 1–64 characters.
    #[schema(max_items = 50, inline, value_type = Option<Vec<TagSchema>>)]
    pub tags: Option<Vec<String>>,
    pub cpe_matching: Option<bool>,
}

/// The schema of one item of `tags` (utoipa has no length attributes for list items).
pub struct TagSchema;

impl utoipa::PartialSchema for TagSchema {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .max_length(Some(MAX_TAG))
            .into()
    }
}

impl utoipa::ToSchema for TagSchema {}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductListQuery {
    /// Only products whose name, description or tags contain this text (case-insensitive).
    pub q: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

fn valid_name(name: &str) -> Result<String, ApiError> {
    Ok(fields::name("name", name, MAX_NAME)?)
}

fn valid_description(description: Option<String>) -> Result<Option<String>, ApiError> {
    Ok(description
        .map(|text| fields::text("description", &text, MAX_DESCRIPTION))
        .transpose()?)
}

/// At most 50, each 1–64 characters without control characters, trimmed, de-duplicated
/// (first occurrence kept). The count is checked on the list as sent, before any tag is
/// looked at.
fn valid_tags(tags: Vec<String>) -> Result<Vec<String>, ApiError> {
    fields::at_most("tags", &tags, MAX_TAGS)?;
    let mut seen = std::collections::HashSet::with_capacity(tags.len());
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for (index, tag) in tags.iter().enumerate() {
        let tag = fields::name(&format!("tags[{index}]"), tag, MAX_TAG)?;
        if seen.insert(tag.clone()) {
            out.push(tag);
        }
    }
    Ok(out)
}

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
    principal.require(Scope::ProductsWrite)?;
    let ApiJson(body) = body?;
    let product = NewProduct {
        name: valid_name(&body.name)?,
        description: valid_description(body.description)?,
        tags: valid_tags(body.tags)?,
        cpe_matching: body.cpe_matching,
    };
    let event = principal
        .audit(&meta, "product.create")
        .details(serde_json::json!({ "name": product.name }));
    let created = state
        .store
        .create_product(principal.tenant(), &product, &event)
        .await?;
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
    let page = state
        .store
        .list_products(principal.tenant(), search_term(&query.q), request)
        .await?;
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
    principal.require(Scope::ProductsRead)?;
    let product = state
        .store
        .product(principal.tenant(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("product"))?;
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
    let changes = ProductChanges {
        name: body.name.as_deref().map(valid_name).transpose()?,
        description: body.description.map(valid_description).transpose()?,
        tags: body.tags.map(valid_tags).transpose()?,
        cpe_matching: body.cpe_matching,
    };
    let event = principal
        .audit(&meta, "product.update")
        .details(serde_json::json!({ "changed": changes.changed_fields() }));
    let product = state
        .store
        .update_product(principal.tenant(), id, &changes, &event)
        .await?
        .ok_or_else(|| ApiError::not_found("product"))?;
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
    principal.require(Scope::ProductsWrite)?;
    let event = principal.audit(&meta, "product.delete");
    if state
        .store
        .delete_product(principal.tenant(), id, &event)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("product"))
    }
}
