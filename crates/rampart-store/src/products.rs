//! Products and their releases: tenant-scoped CRUD. Every function takes the caller's team;
//! another team's row is simply not found.

use crate::BeginWrite;
use chrono::{DateTime, NaiveDate, Utc};

use crate::audit::insert_audit;
use crate::{now, with_pool, AuditEvent, Store, StoreError};

/// Whose rows a call may touch: one team's live rows, or its test rows (those created with
/// an `rk_test_` key, seed 002). The two never mix: live callers do not see test rows and
/// test callers see nothing else. A bare team id means the live rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tenant {
    pub team_id: i64,
    pub test: bool,
}

impl Tenant {
    pub fn live(team_id: i64) -> Self {
        Tenant {
            team_id,
            test: false,
        }
    }
}

impl From<i64> for Tenant {
    fn from(team_id: i64) -> Self {
        Tenant::live(team_id)
    }
}

/// Release lifecycle states.
pub const RELEASE_STATUSES: &[&str] = &["development", "released", "end_of_life"];

#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub id: i64,
    pub team_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub cpe_matching: bool,
    /// Created with a test key.
    pub is_test: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ProductRow {
    id: i64,
    team_id: i64,
    name: String,
    description: Option<String>,
    tags: String,
    cpe_matching: bool,
    is_test: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ProductRow> for Product {
    type Error = StoreError;

    fn try_from(row: ProductRow) -> Result<Self, StoreError> {
        let tags = serde_json::from_str(&row.tags)
            .map_err(|e| StoreError::Corrupt(format!("product {} tags: {e}", row.id)))?;
        Ok(Product {
            id: row.id,
            team_id: row.team_id,
            name: row.name,
            description: row.description,
            tags,
            cpe_matching: row.cpe_matching,
            is_test: row.is_test,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A new product, already validated by the caller.
#[derive(Debug, Clone)]
pub struct NewProduct {
    pub name: String,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub cpe_matching: bool,
}

/// Fields to change; `None` leaves a field as it is. `description: Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct ProductChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub cpe_matching: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    pub id: i64,
    pub team_id: i64,
    pub product_id: i64,
    pub version: String,
    pub status: String,
    pub release_date: Option<NaiveDate>,
    pub eol_date: Option<NaiveDate>,
    /// Created with a test key (releases of test products are test data).
    pub is_test: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ReleaseRow {
    id: i64,
    team_id: i64,
    product_id: i64,
    version: String,
    status: String,
    release_date: Option<NaiveDate>,
    eol_date: Option<NaiveDate>,
    is_test: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<ReleaseRow> for Release {
    fn from(row: ReleaseRow) -> Self {
        Release {
            id: row.id,
            team_id: row.team_id,
            product_id: row.product_id,
            version: row.version,
            status: row.status,
            release_date: row.release_date,
            eol_date: row.eol_date,
            is_test: row.is_test,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewRelease {
    pub version: String,
    pub status: String,
    pub release_date: Option<NaiveDate>,
    pub eol_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, Default)]
pub struct ReleaseChanges {
    pub version: Option<String>,
    pub status: Option<String>,
    pub release_date: Option<Option<NaiveDate>>,
    pub eol_date: Option<Option<NaiveDate>>,
}

/// One page of a listing (validated; its offset and limit are what the queries bind).
pub use rampart_core::PageRequest;

/// One page of rows plus the number of rows in the whole listing.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
}

/// `%text%` for a case-insensitive `LOWER(col) LIKE $n ESCAPE '\'`, with the wildcards in
/// `text` escaped so a search for `50%` finds exactly that.
pub(crate) fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for ch in text.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

fn unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

const PRODUCT_COLUMNS: &str =
    "id, team_id, name, description, tags, cpe_matching, is_test, created_at, updated_at";
const RELEASE_COLUMNS: &str =
    "id, team_id, product_id, version, status, release_date, eol_date, is_test,
    created_at, updated_at";

impl Store {
    /// Creates a product and records `event` (targeted at it) in the same transaction. A
    /// name already used in the team is a [`StoreError::Conflict`].
    pub async fn create_product(
        &self,
        tenant: impl Into<Tenant>,
        product: &NewProduct,
        event: &AuditEvent,
    ) -> Result<Product, StoreError> {
        let tenant = tenant.into();
        let at = now();
        let tags = serde_json::to_string(&product.tags).expect("strings serialise");
        let sql = format!(
            "INSERT INTO products (team_id, name, description, tags, cpe_matching, is_test, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $7, $6, $6) RETURNING {PRODUCT_COLUMNS}"
        );
        let row: Result<ProductRow, sqlx::Error> = with_pool!(self, pool => {
            async {
                let mut tx = pool.begin_write().await?;
                let row: ProductRow = sqlx::query_as(&sql)
                    .bind(tenant.team_id)
                    .bind(&product.name)
                    .bind(&product.description)
                    .bind(&tags)
                    .bind(product.cpe_matching)
                    .bind(at)
                    .bind(tenant.test)
                    .fetch_one(&mut *tx)
                    .await?;
                insert_audit!(&mut *tx, &event.clone().target("product", row.id), at)?;
                tx.commit().await?;
                Ok(row)
            }
            .await
        });
        match row {
            Ok(row) => row.try_into(),
            Err(e) if unique_violation(&e) => Err(product_name_taken(&product.name)),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn product(
        &self,
        tenant: impl Into<Tenant>,
        id: i64,
    ) -> Result<Option<Product>, StoreError> {
        let tenant = tenant.into();
        let sql = format!(
            "SELECT {PRODUCT_COLUMNS} FROM products WHERE id = $1 AND team_id = $2 AND is_test = $3"
        );
        let row: Option<ProductRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(id)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .fetch_optional(pool)
                .await
        })?;
        row.map(Product::try_from).transpose()
    }

    /// The team's products by name, optionally only those whose name, description or tags
    /// contain `query` (case-insensitive).
    pub async fn list_products(
        &self,
        tenant: impl Into<Tenant>,
        query: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<Product>, StoreError> {
        let tenant = tenant.into();
        let pattern = query.map(like_pattern);
        let filter = "team_id = $1 AND is_test = $3 AND ($2 IS NULL OR LOWER(name) LIKE $2 ESCAPE '\\'
             OR LOWER(COALESCE(description, '')) LIKE $2 ESCAPE '\\' OR LOWER(tags) LIKE $2 ESCAPE '\\')";
        let list_sql = format!(
            "SELECT {PRODUCT_COLUMNS} FROM products WHERE {filter} ORDER BY name, id LIMIT $4 OFFSET $5"
        );
        let count_sql = format!("SELECT COUNT(*) FROM products WHERE {filter}");
        let (rows, total): (Vec<ProductRow>, i64) = with_pool!(self, pool => {
            let rows = sqlx::query_as(&list_sql)
                .bind(tenant.team_id)
                .bind(&pattern)
                .bind(tenant.test)
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(pool)
                .await?;
            let total = sqlx::query_scalar(&count_sql)
                .bind(tenant.team_id)
                .bind(&pattern)
                .bind(tenant.test)
                .fetch_one(pool)
                .await?;
            (rows, total)
        });
        Ok(Page {
            items: rows
                .into_iter()
                .map(Product::try_from)
                .collect::<Result<_, _>>()?,
            total,
        })
    }

    /// Applies `changes` and records `event` (targeted at the product) in the same
    /// transaction; `None` when the product does not exist in the team.
    pub async fn update_product(
        &self,
        tenant: impl Into<Tenant>,
        id: i64,
        changes: &ProductChanges,
        event: &AuditEvent,
    ) -> Result<Option<Product>, StoreError> {
        let tenant = tenant.into();
        let at = now();
        let tags = changes
            .tags
            .as_ref()
            .map(|tags| serde_json::to_string(tags).expect("strings serialise"));
        let sql = format!(
            "UPDATE products SET
                name = COALESCE($3, name),
                description = CASE WHEN $4 THEN $5 ELSE description END,
                tags = COALESCE($6, tags),
                cpe_matching = COALESCE($7, cpe_matching),
                updated_at = $8
             WHERE id = $1 AND team_id = $2 AND is_test = $9 RETURNING {PRODUCT_COLUMNS}"
        );
        let row: Result<Option<ProductRow>, sqlx::Error> = with_pool!(self, pool => {
            async {
                let mut tx = pool.begin_write().await?;
                let row: Option<ProductRow> = sqlx::query_as(&sql)
                    .bind(id)
                    .bind(tenant.team_id)
                    .bind(&changes.name)
                    .bind(changes.description.is_some())
                    .bind(changes.description.clone().flatten())
                    .bind(&tags)
                    .bind(changes.cpe_matching)
                    .bind(at)
                    .bind(tenant.test)
                    .fetch_optional(&mut *tx)
                    .await?;
                if row.is_some() {
                    insert_audit!(&mut *tx, &event.clone().target("product", id), at)?;
                }
                tx.commit().await?;
                Ok(row)
            }
            .await
        });
        match row {
            Ok(row) => row.map(Product::try_from).transpose(),
            Err(e) if unique_violation(&e) => Err(product_name_taken(
                changes.name.as_deref().unwrap_or_default(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes a product with its releases, SBOMs, components and analyses (foreign keys
    /// cascade within this one statement), recording `event`. `false` when there was no
    /// such product.
    pub async fn delete_product(
        &self,
        tenant: impl Into<Tenant>,
        id: i64,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        self.delete_tenant_row("products", "product", tenant.into(), id, event)
            .await
    }

    /// Creates a release of a product and records `event` (targeted at it) in the same
    /// transaction. `Ok(None)` when the product is not the team's; a version the product
    /// already has is a [`StoreError::Conflict`].
    pub async fn create_release(
        &self,
        tenant: impl Into<Tenant>,
        product_id: i64,
        release: &NewRelease,
        event: &AuditEvent,
    ) -> Result<Option<Release>, StoreError> {
        let tenant = tenant.into();
        let at = now();
        // The SELECT makes the insert tenant-safe: no product of this team, no row.
        let sql = format!(
            "INSERT INTO releases (team_id, product_id, version, status, release_date, eol_date, is_test,
                 created_at, updated_at)
             SELECT team_id, id, $3, $4, $5, $6, is_test, $7, $7 FROM products
             WHERE id = $1 AND team_id = $2 AND is_test = $8
             RETURNING {RELEASE_COLUMNS}"
        );
        let row: Result<Option<ReleaseRow>, sqlx::Error> = with_pool!(self, pool => {
            async {
                let mut tx = pool.begin_write().await?;
                let row: Option<ReleaseRow> = sqlx::query_as(&sql)
                    .bind(product_id)
                    .bind(tenant.team_id)
                    .bind(&release.version)
                    .bind(&release.status)
                    .bind(release.release_date)
                    .bind(release.eol_date)
                    .bind(at)
                    .bind(tenant.test)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(row) = &row {
                    insert_audit!(&mut *tx, &event.clone().target("release", row.id), at)?;
                }
                tx.commit().await?;
                Ok(row)
            }
            .await
        });
        match row {
            Ok(row) => Ok(row.map(Release::from)),
            Err(e) if unique_violation(&e) => Err(release_version_taken(&release.version)),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn release(
        &self,
        tenant: impl Into<Tenant>,
        id: i64,
    ) -> Result<Option<Release>, StoreError> {
        let tenant = tenant.into();
        let sql = format!(
            "SELECT {RELEASE_COLUMNS} FROM releases WHERE id = $1 AND team_id = $2 AND is_test = $3"
        );
        let row: Option<ReleaseRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(id)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(Release::from))
    }

    /// A product's releases, newest first. `None` when the product is not the team's.
    pub async fn list_releases(
        &self,
        tenant: impl Into<Tenant>,
        product_id: i64,
        page: PageRequest,
    ) -> Result<Option<Page<Release>>, StoreError> {
        let tenant = tenant.into();
        // A release has its product's flag, so the product check keeps the partitions apart.
        if self.product(tenant, product_id).await?.is_none() {
            return Ok(None);
        }
        let team_id = tenant.team_id;
        let list_sql = format!(
            "SELECT {RELEASE_COLUMNS} FROM releases WHERE product_id = $1 AND team_id = $2
             ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
        );
        let (rows, total): (Vec<ReleaseRow>, i64) = with_pool!(self, pool => {
            let rows = sqlx::query_as(&list_sql)
                .bind(product_id)
                .bind(team_id)
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(pool)
                .await?;
            let total = sqlx::query_scalar(
                "SELECT COUNT(*) FROM releases WHERE product_id = $1 AND team_id = $2",
            )
            .bind(product_id)
            .bind(team_id)
            .fetch_one(pool)
            .await?;
            (rows, total)
        });
        Ok(Some(Page {
            items: rows.into_iter().map(Release::from).collect(),
            total,
        }))
    }

    /// Applies `changes` and records `event` (targeted at the release) in the same
    /// transaction; `None` when the release does not exist in the team.
    pub async fn update_release(
        &self,
        tenant: impl Into<Tenant>,
        id: i64,
        changes: &ReleaseChanges,
        event: &AuditEvent,
    ) -> Result<Option<Release>, StoreError> {
        let tenant = tenant.into();
        let at = now();
        let sql = format!(
            "UPDATE releases SET
                version = COALESCE($3, version),
                status = COALESCE($4, status),
                release_date = CASE WHEN $5 THEN $6 ELSE release_date END,
                eol_date = CASE WHEN $7 THEN $8 ELSE eol_date END,
                updated_at = $9
             WHERE id = $1 AND team_id = $2 AND is_test = $10 RETURNING {RELEASE_COLUMNS}"
        );
        let row: Result<Option<ReleaseRow>, sqlx::Error> = with_pool!(self, pool => {
            async {
                let mut tx = pool.begin_write().await?;
                let row: Option<ReleaseRow> = sqlx::query_as(&sql)
                    .bind(id)
                    .bind(tenant.team_id)
                    .bind(&changes.version)
                    .bind(&changes.status)
                    .bind(changes.release_date.is_some())
                    .bind(changes.release_date.flatten())
                    .bind(changes.eol_date.is_some())
                    .bind(changes.eol_date.flatten())
                    .bind(at)
                    .bind(tenant.test)
                    .fetch_optional(&mut *tx)
                    .await?;
                if row.is_some() {
                    insert_audit!(&mut *tx, &event.clone().target("release", id), at)?;
                }
                tx.commit().await?;
                Ok(row)
            }
            .await
        });
        match row {
            Ok(row) => Ok(row.map(Release::from)),
            Err(e) if unique_violation(&e) => Err(release_version_taken(
                changes.version.as_deref().unwrap_or_default(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes a release with its SBOMs, components and analyses, recording `event`.
    pub async fn delete_release(
        &self,
        tenant: impl Into<Tenant>,
        id: i64,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        self.delete_tenant_row("releases", "release", tenant.into(), id, event)
            .await
    }

    /// Deletes one row of a tenant table (`products`, `releases`, `sboms`) and records
    /// `event` (targeted at `target_type` `id`) in the same transaction; the row's children
    /// go by `ON DELETE CASCADE` within the statement. `false` (and no record) when the
    /// tenant has no such row.
    pub(crate) async fn delete_tenant_row(
        &self,
        table: &'static str,
        target_type: &str,
        tenant: Tenant,
        id: i64,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let sql = format!("DELETE FROM {table} WHERE id = $1 AND team_id = $2 AND is_test = $3");
        let at = now();
        // The cascade meets an analysis completing on the same rows: PostgreSQL may pick the
        // delete as a deadlock's victim (40P01); the transaction rolled back whole, so try again.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result: Result<u64, sqlx::Error> = with_pool!(self, pool => async {
                let mut tx = pool.begin_write().await?;
                let deleted = sqlx::query(&sql)
                    .bind(id)
                    .bind(tenant.team_id)
                    .bind(tenant.test)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if deleted > 0 {
                    insert_audit!(&mut *tx, &event.clone().target(target_type, id), at)?;
                }
                tx.commit().await?;
                Ok(deleted)
            }
            .await);
            match result {
                Err(sqlx::Error::Database(error))
                    if attempt < 3 && error.code().as_deref() == Some("40P01") => {}
                other => return Ok(other? > 0),
            }
        }
    }
}

fn product_name_taken(name: &str) -> StoreError {
    StoreError::Conflict(format!("a product named {name:?} already exists"))
}

fn release_version_taken(version: &str) -> StoreError {
    StoreError::Conflict(format!(
        "this product already has a release with version {version:?}"
    ))
}

impl ProductChanges {
    /// The names of the fields these changes set (for audit records).
    pub fn changed_fields(&self) -> Vec<&'static str> {
        [
            ("name", self.name.is_some()),
            ("description", self.description.is_some()),
            ("tags", self.tags.is_some()),
            ("cpe_matching", self.cpe_matching.is_some()),
        ]
        .into_iter()
        .filter_map(|(field, set)| set.then_some(field))
        .collect()
    }
}

impl ReleaseChanges {
    /// The names of the fields these changes set (for audit records).
    pub fn changed_fields(&self) -> Vec<&'static str> {
        [
            ("version", self.version.is_some()),
            ("status", self.status.is_some()),
            ("release_date", self.release_date.is_some()),
            ("eol_date", self.eol_date.is_some()),
        ]
        .into_iter()
        .filter_map(|(field, set)| set.then_some(field))
        .collect()
    }
}
