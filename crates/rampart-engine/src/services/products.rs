//! Products and their releases (seed 004), shared by `/api/v1/products`, `/api/v1/releases`
//! and seed 004's `/api/products` paths: field rules, scopes, audit records.
//!
//! A product's name is unique per team; deleting a product deletes its releases and SBOMs.
//! A release's version is unique within its product; its status is one of
//! [`RELEASE_STATUSES`] and its end of life is not before its release date.

use chrono::NaiveDate;
use rampart_core::{PageRequest, Scope};
use rampart_store::{
    NewProduct, NewRelease, Page, Product, ProductChanges, Release, ReleaseChanges,
    RELEASE_STATUSES,
};
use serde::Deserialize;

use crate::actor::{Actor, RequestOrigin};
use crate::error::ServiceError;
use crate::fields;
use crate::Engine;

const MAX_NAME: usize = 200;
const MAX_DESCRIPTION: usize = 4000;
const MAX_TAGS: usize = 50;
const MAX_TAG: usize = 64;
const MAX_VERSION: usize = 200;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProduct {
    /// Unique within the team, 1–200 characters, no control characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: String,
    /// At most 4000 characters; line breaks and tabs are the only control characters allowed.
    #[schema(
        max_length = 4000,
        pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
    )]
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
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: Option<String>,
    /// `null` clears the description.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 4000, pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$")]
    pub description: Option<Option<String>>,
    /// Replaces the tags: at most 50, each 1–64 characters.
    #[schema(max_items = 50, inline, value_type = Option<Vec<TagSchema>>)]
    pub tags: Option<Vec<String>>,
    pub cpe_matching: Option<bool>,
}

/// A one-line name as [`rampart_core::text::clean_name`] takes it: no control character, and
/// something besides white space.
pub const NAME_PATTERN: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$";

/// The schema of one item of `tags` (utoipa has no length attributes for list items).
pub struct TagSchema;

impl utoipa::PartialSchema for TagSchema {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .max_length(Some(MAX_TAG))
            .pattern(Some(crate::services::products::NAME_PATTERN))
            .into()
    }
}

impl utoipa::ToSchema for TagSchema {}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRelease {
    /// Unique within the product, 1–200 characters, no control characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub version: String,
    /// `development`, `released` or `end_of_life` [default: development].
    #[schema(pattern = "^(development|released|end_of_life)$")]
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
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub version: Option<String>,
    #[schema(pattern = "^(development|released|end_of_life)$")]
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

/// `Option<Option<T>>` for PATCH bodies: absent → `None` (keep), `null` → `Some(None)`
/// (clear), a value → `Some(Some(v))`.
pub fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

fn valid_name(name: &str) -> Result<String, ServiceError> {
    fields::name("name", name, MAX_NAME)
}

fn valid_description(description: Option<String>) -> Result<Option<String>, ServiceError> {
    description
        .map(|text| fields::text("description", &text, MAX_DESCRIPTION))
        .transpose()
}

/// At most 50, each 1–64 characters without control characters, trimmed, de-duplicated
/// (first occurrence kept). The count is checked on the list as sent, before any tag is
/// looked at.
pub fn valid_tags(tags: Vec<String>) -> Result<Vec<String>, ServiceError> {
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

fn valid_version(version: &str) -> Result<String, ServiceError> {
    fields::name("version", version, MAX_VERSION)
}

fn valid_status(status: &str) -> Result<String, ServiceError> {
    if RELEASE_STATUSES.contains(&status) {
        Ok(status.to_string())
    } else {
        Err(ServiceError::invalid(format!(
            "`status` must be one of {}",
            RELEASE_STATUSES.join(", ")
        )))
    }
}

/// An end of life before the release date is refused; either date may be unknown.
pub fn check_dates(release: Option<NaiveDate>, eol: Option<NaiveDate>) -> Result<(), ServiceError> {
    match (release, eol) {
        (Some(release), Some(eol)) if eol < release => Err(ServiceError::invalid(
            "`eol_date` must not be before `release_date`",
        )),
        _ => Ok(()),
    }
}

/// Creates a product (`products:write`); audited as `product.create`.
pub async fn create_product(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    input: CreateProduct,
) -> Result<Product, ServiceError> {
    actor.require(Scope::ProductsWrite)?;
    let product = NewProduct {
        name: valid_name(&input.name)?,
        description: valid_description(input.description)?,
        tags: valid_tags(input.tags)?,
        cpe_matching: input.cpe_matching,
    };
    let event = actor
        .audit(origin, "product.create")
        .details(serde_json::json!({ "name": product.name }));
    Ok(engine
        .store
        .create_product(actor.tenant(), &product, &event)
        .await?)
}

/// One page of the team's products by name, optionally only those whose name, description or
/// tags contain `search` (`products:read`).
pub async fn list_products(
    engine: &Engine,
    actor: &Actor,
    search: Option<&str>,
    page: PageRequest,
) -> Result<Page<Product>, ServiceError> {
    actor.require(Scope::ProductsRead)?;
    Ok(engine
        .store
        .list_products(actor.tenant(), search, page)
        .await?)
}

/// One product of the team (`products:read`).
pub async fn get_product(engine: &Engine, actor: &Actor, id: i64) -> Result<Product, ServiceError> {
    actor.require(Scope::ProductsRead)?;
    engine
        .store
        .product(actor.tenant(), id)
        .await?
        .ok_or_else(|| ServiceError::not_found("product"))
}

/// Changes the fields given (`products:write`); audited as `product.update` naming them.
pub async fn update_product(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    id: i64,
    input: UpdateProduct,
) -> Result<Product, ServiceError> {
    actor.require(Scope::ProductsWrite)?;
    let changes = ProductChanges {
        name: input.name.as_deref().map(valid_name).transpose()?,
        description: input.description.map(valid_description).transpose()?,
        tags: input.tags.map(valid_tags).transpose()?,
        cpe_matching: input.cpe_matching,
    };
    let event = actor
        .audit(origin, "product.update")
        .details(serde_json::json!({ "changed": changes.changed_fields() }));
    engine
        .store
        .update_product(actor.tenant(), id, &changes, &event)
        .await?
        .ok_or_else(|| ServiceError::not_found("product"))
}

/// Deletes a product with its releases, SBOMs and analyses (`products:write`).
pub async fn delete_product(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    id: i64,
) -> Result<(), ServiceError> {
    actor.require(Scope::ProductsWrite)?;
    let event = actor.audit(origin, "product.delete");
    if engine
        .store
        .delete_product(actor.tenant(), id, &event)
        .await?
    {
        Ok(())
    } else {
        Err(ServiceError::not_found("product"))
    }
}

/// Creates a release of a product (`releases:write`); audited as `release.create`.
pub async fn create_release(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    product_id: i64,
    input: CreateRelease,
) -> Result<Release, ServiceError> {
    actor.require(Scope::ReleasesWrite)?;
    let release = NewRelease {
        version: valid_version(&input.version)?,
        status: valid_status(input.status.as_deref().unwrap_or("development"))?,
        release_date: input.release_date,
        eol_date: input.eol_date,
    };
    check_dates(release.release_date, release.eol_date)?;
    let event = actor
        .audit(origin, "release.create")
        .details(serde_json::json!({ "product_id": product_id, "version": release.version }));
    engine
        .store
        .create_release(actor.tenant(), product_id, &release, &event)
        .await?
        .ok_or_else(|| ServiceError::not_found("product"))
}

/// One page of a product's releases, newest first (`releases:read`).
pub async fn list_releases(
    engine: &Engine,
    actor: &Actor,
    product_id: i64,
    page: PageRequest,
) -> Result<Page<Release>, ServiceError> {
    actor.require(Scope::ReleasesRead)?;
    engine
        .store
        .list_releases(actor.tenant(), product_id, page)
        .await?
        .ok_or_else(|| ServiceError::not_found("product"))
}

/// One release of the team (`releases:read`).
pub async fn get_release(engine: &Engine, actor: &Actor, id: i64) -> Result<Release, ServiceError> {
    actor.require(Scope::ReleasesRead)?;
    engine
        .store
        .release(actor.tenant(), id)
        .await?
        .ok_or_else(|| ServiceError::not_found("release"))
}

/// Changes the fields given (`releases:write`), checking the dates as they will be;
/// audited as `release.update` naming them.
pub async fn update_release(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    id: i64,
    input: UpdateRelease,
) -> Result<Release, ServiceError> {
    actor.require(Scope::ReleasesWrite)?;
    let changes = ReleaseChanges {
        version: input.version.as_deref().map(valid_version).transpose()?,
        status: input.status.as_deref().map(valid_status).transpose()?,
        release_date: input.release_date,
        eol_date: input.eol_date,
    };
    let current = engine
        .store
        .release(actor.tenant(), id)
        .await?
        .ok_or_else(|| ServiceError::not_found("release"))?;
    check_dates(
        changes.release_date.unwrap_or(current.release_date),
        changes.eol_date.unwrap_or(current.eol_date),
    )?;
    let event = actor
        .audit(origin, "release.update")
        .details(serde_json::json!({ "changed": changes.changed_fields() }));
    engine
        .store
        .update_release(actor.tenant(), id, &changes, &event)
        .await?
        .ok_or_else(|| ServiceError::not_found("release"))
}

/// Deletes a release with its SBOMs and analyses (`releases:write`).
pub async fn delete_release(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    id: i64,
) -> Result<(), ServiceError> {
    actor.require(Scope::ReleasesWrite)?;
    let event = actor.audit(origin, "release.delete");
    if engine
        .store
        .delete_release(actor.tenant(), id, &event)
        .await?
    {
        Ok(())
    } else {
        Err(ServiceError::not_found("release"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn tags_are_trimmed_and_deduplicated_in_order() {
        let tags = valid_tags(vec![" b ".into(), "a".into(), "b".into()]).unwrap();
        assert_eq!(tags, ["b", "a"]);
    }

    #[test]
    fn too_many_tags_are_refused_before_any_is_read() {
        let mut tags = vec![String::new()];
        tags.extend((0..MAX_TAGS).map(|i| format!("t{i}")));
        let error = valid_tags(tags).unwrap_err();
        assert!(error.message().contains("tags"), "{}", error.message());
        assert!(!error.message().contains("tags[0]"), "{}", error.message());
    }

    #[test]
    fn eol_before_release_is_refused_and_unknown_dates_pass() {
        assert!(check_dates(Some(date("2026-02-01")), Some(date("2026-01-31"))).is_err());
        assert!(check_dates(Some(date("2026-02-01")), Some(date("2026-02-01"))).is_ok());
        assert!(check_dates(None, Some(date("2020-01-01"))).is_ok());
    }

    #[test]
    fn unknown_status_names_the_allowed_ones() {
        let error = valid_status("beta").unwrap_err();
        assert!(
            error.message().contains("end_of_life"),
            "{}",
            error.message()
        );
        assert_eq!(valid_status("released").unwrap(), "released");
    }
}
