//! AppSec data-source integrations: tenant-scoped CRUD and health. Credentials arrive
//! sealed (the engine encrypts them); this module stores bytes and the mask.

use crate::BeginWrite;
use chrono::{DateTime, Utc};

use crate::audit::insert_audit;
use crate::products::{Page, PageRequest, Tenant};
use crate::{now, with_pool, AuditEvent, Store, StoreError};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct IntegrationRecord {
    pub id: i64,
    pub team_id: i64,
    pub is_test: bool,
    pub name: String,
    pub integration_type: String,
    pub base_url: Option<String>,
    /// Sealed credentials (JSON inside).
    pub credentials: Option<Vec<u8>>,
    pub credentials_masked: String,
    /// `ALL` or `SELECTED`.
    pub selection_type: String,
    /// JSON array of repository names.
    pub repositories: String,
    /// JSON array of `{vendor_project, repository, product_id}`.
    pub project_mappings: String,
    pub last_upload_at: Option<DateTime<Utc>>,
    pub last_contact_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A validated new integration.
#[derive(Debug, Clone)]
pub struct NewIntegration {
    pub name: String,
    pub integration_type: String,
    pub base_url: Option<String>,
    pub credentials: Option<Vec<u8>>,
    pub credentials_masked: String,
    pub selection_type: String,
    pub repositories: String,
    pub project_mappings: String,
}

/// Fields to change; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct IntegrationChanges {
    pub name: Option<String>,
    pub base_url: Option<Option<String>>,
    /// New sealed credentials and their mask.
    pub credentials: Option<(Option<Vec<u8>>, String)>,
    pub selection_type: Option<String>,
    pub repositories: Option<String>,
    pub project_mappings: Option<String>,
}

const COLUMNS: &str = "id, team_id, is_test, name, integration_type, base_url, credentials,
    credentials_masked, selection_type, repositories, project_mappings, last_upload_at,
    last_contact_at, last_error, last_error_at, created_at, updated_at";

fn name_taken(name: &str) -> StoreError {
    StoreError::Conflict(format!("an integration named {name:?} already exists"))
}

fn unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

impl Store {
    /// Creates an integration and records `event` (targeted at it) in one transaction.
    pub async fn create_integration(
        &self,
        tenant: Tenant,
        new: &NewIntegration,
        event: &AuditEvent,
    ) -> Result<IntegrationRecord, StoreError> {
        let at = now();
        let sql = format!(
            "INSERT INTO integrations (team_id, is_test, name, integration_type, base_url,
                 credentials, credentials_masked, selection_type, repositories, project_mappings,
                 created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING {COLUMNS}"
        );
        let row: Result<IntegrationRecord, sqlx::Error> = with_pool!(self, pool => {
            async {
                let mut tx = pool.begin_write().await?;
                let row: IntegrationRecord = sqlx::query_as(&sql)
                    .bind(tenant.team_id)
                    .bind(tenant.test)
                    .bind(&new.name)
                    .bind(&new.integration_type)
                    .bind(&new.base_url)
                    .bind(&new.credentials)
                    .bind(&new.credentials_masked)
                    .bind(&new.selection_type)
                    .bind(&new.repositories)
                    .bind(&new.project_mappings)
                    .bind(at)
                    .fetch_one(&mut *tx)
                    .await?;
                insert_audit!(&mut *tx, &event.clone().target("integration", row.id), at)?;
                tx.commit().await?;
                Ok(row)
            }
            .await
        });
        match row {
            Err(e) if unique_violation(&e) => Err(name_taken(&new.name)),
            other => Ok(other?),
        }
    }

    pub async fn integration(
        &self,
        tenant: Tenant,
        id: i64,
    ) -> Result<Option<IntegrationRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM integrations WHERE id = $1 AND team_id = $2 AND is_test = $3"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(id)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// The team's integrations by name; only those of `types` when given.
    pub async fn list_integrations(
        &self,
        tenant: Tenant,
        types: Option<&[&str]>,
        page: PageRequest,
    ) -> Result<Page<IntegrationRecord>, StoreError> {
        // The type list comes from the engine's fixed catalogue: quoted constants.
        let type_filter = match types {
            Some([]) => " AND FALSE".to_string(),
            Some(types) => format!(
                " AND integration_type IN ({})",
                types
                    .iter()
                    .map(|t| format!("'{}'", t.replace('\'', "")))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => String::new(),
        };
        let filter = format!("team_id = $1 AND is_test = $2{type_filter}");
        let list_sql = format!(
            "SELECT {COLUMNS} FROM integrations WHERE {filter} ORDER BY name, id LIMIT $3 OFFSET $4"
        );
        let count_sql = format!("SELECT COUNT(*) FROM integrations WHERE {filter}");
        let (items, total) = with_pool!(self, pool => {
            let items: Vec<IntegrationRecord> = sqlx::query_as(&list_sql)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(pool)
                .await?;
            let total: i64 = sqlx::query_scalar(&count_sql)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .fetch_one(pool)
                .await?;
            (items, total)
        });
        Ok(Page { items, total })
    }

    /// Applies `changes` and records `event`; `None` when the integration is not the team's.
    pub async fn update_integration(
        &self,
        tenant: Tenant,
        id: i64,
        changes: &IntegrationChanges,
        event: &AuditEvent,
    ) -> Result<Option<IntegrationRecord>, StoreError> {
        let at = now();
        let (credentials_changed, credentials, masked) = match &changes.credentials {
            Some((sealed, masked)) => (true, sealed.clone(), Some(masked.clone())),
            None => (false, None, None),
        };
        let sql = format!(
            "UPDATE integrations SET
                name = COALESCE($4, name),
                base_url = CASE WHEN $5 THEN $6 ELSE base_url END,
                credentials = CASE WHEN $7 THEN $8 ELSE credentials END,
                credentials_masked = COALESCE($9, credentials_masked),
                selection_type = COALESCE($10, selection_type),
                repositories = COALESCE($11, repositories),
                project_mappings = COALESCE($12, project_mappings),
                updated_at = $13
             WHERE id = $1 AND team_id = $2 AND is_test = $3 RETURNING {COLUMNS}"
        );
        let row: Result<Option<IntegrationRecord>, sqlx::Error> = with_pool!(self, pool => {
            async {
                let mut tx = pool.begin_write().await?;
                let row: Option<IntegrationRecord> = sqlx::query_as(&sql)
                    .bind(id)
                    .bind(tenant.team_id)
                    .bind(tenant.test)
                    .bind(&changes.name)
                    .bind(changes.base_url.is_some())
                    .bind(changes.base_url.clone().flatten())
                    .bind(credentials_changed)
                    .bind(&credentials)
                    .bind(&masked)
                    .bind(&changes.selection_type)
                    .bind(&changes.repositories)
                    .bind(&changes.project_mappings)
                    .bind(at)
                    .fetch_optional(&mut *tx)
                    .await?;
                if row.is_some() {
                    insert_audit!(&mut *tx, &event.clone().target("integration", id), at)?;
                }
                tx.commit().await?;
                Ok(row)
            }
            .await
        });
        match row {
            Err(e) if unique_violation(&e) => {
                Err(name_taken(changes.name.as_deref().unwrap_or_default()))
            }
            other => Ok(other?),
        }
    }

    /// Deletes an integration (with its repository selection and project mappings, which are
    /// its columns); the findings it reported stay, marked orphaned. Records `event`.
    /// `false` when there was no such integration.
    pub async fn delete_integration(
        &self,
        tenant: Tenant,
        id: i64,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let at = now();
        let deleted = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let deleted = sqlx::query(
                "DELETE FROM integrations WHERE id = $1 AND team_id = $2 AND is_test = $3",
            )
            .bind(id)
            .bind(tenant.team_id)
            .bind(tenant.test)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if deleted > 0 {
                sqlx::query(
                    "UPDATE code_findings SET orphaned = TRUE
                     WHERE integration_id = $1 AND team_id = $2 AND is_test = $3",
                )
                .bind(id)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .execute(&mut *tx)
                .await?;
                insert_audit!(&mut *tx, &event.clone().target("integration", id), at)?;
            }
            tx.commit().await?;
            deleted
        });
        Ok(deleted > 0)
    }

    /// Records the outcome of a request to the integration's service (test connection,
    /// discovery): a success sets `last_contact_at` and clears the error.
    pub async fn record_integration_contact(
        &self,
        tenant: Tenant,
        id: i64,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let at = now();
        with_pool!(self, pool => {
            match error {
                None => sqlx::query(
                    "UPDATE integrations SET last_contact_at = $4, last_error = NULL, last_error_at = NULL
                     WHERE id = $1 AND team_id = $2 AND is_test = $3",
                )
                .bind(id)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(at)
                .execute(pool)
                .await
                .map(|_| ()),
                Some(error) => sqlx::query(
                    "UPDATE integrations SET last_error = $5, last_error_at = $4
                     WHERE id = $1 AND team_id = $2 AND is_test = $3",
                )
                .bind(id)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(at)
                .bind(error)
                .execute(pool)
                .await
                .map(|_| ()),
            }
        })?;
        Ok(())
    }
}
