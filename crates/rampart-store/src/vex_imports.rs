//! The record of VEX documents imported into releases (`vex_imports`): the document (format,
//! id, version, SHA-256), who imported it and when, and what it did. The decisions it made are
//! dispositions (source `vex`); see `rampart_engine::services::vex_import`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{now, with_pool, AuditActor, Store, StoreError};

/// An import to record.
#[derive(Debug, Clone)]
pub struct NewVexImport {
    pub release_id: i64,
    pub format: String,
    pub document_id: String,
    pub document_version: i64,
    pub sha256: String,
    pub size_bytes: i64,
    pub overwrite: bool,
    pub statements: i64,
    pub applied: i64,
    pub skipped: i64,
    pub unmatched: i64,
    pub findings_decided: i64,
    pub kept_manual: i64,
    pub imported_by: AuditActor,
}

/// A recorded import.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct VexImport {
    pub id: i64,
    pub release_id: i64,
    pub format: String,
    pub document_id: String,
    pub document_version: i64,
    pub sha256: String,
    pub size_bytes: i64,
    pub overwrite: bool,
    pub statements: i64,
    pub applied: i64,
    pub skipped: i64,
    pub unmatched: i64,
    pub findings_decided: i64,
    pub kept_manual: i64,
    pub imported_by_kind: String,
    pub imported_by_user_id: Option<i64>,
    pub imported_by: String,
    pub imported_at: DateTime<Utc>,
}

const VEX_IMPORT_COLUMNS: &str = "id, release_id, format, document_id, document_version, sha256,
    size_bytes, overwrite, statements, applied, skipped, unmatched, findings_decided, kept_manual,
    imported_by_kind, imported_by_user_id, imported_by, imported_at";

impl Store {
    /// Records an import into a release of `team_id`.
    pub async fn record_vex_import(
        &self,
        team_id: i64,
        import: &NewVexImport,
    ) -> Result<VexImport, StoreError> {
        let sql = format!(
            "INSERT INTO vex_imports (team_id, release_id, format, document_id, document_version,
                sha256, size_bytes, overwrite, statements, applied, skipped, unmatched,
                findings_decided, kept_manual, imported_by_kind, imported_by_user_id, imported_by,
                imported_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
             RETURNING {VEX_IMPORT_COLUMNS}"
        );
        let row: VexImport = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(team_id)
                .bind(import.release_id)
                .bind(&import.format)
                .bind(&import.document_id)
                .bind(import.document_version)
                .bind(&import.sha256)
                .bind(import.size_bytes)
                .bind(import.overwrite)
                .bind(import.statements)
                .bind(import.applied)
                .bind(import.skipped)
                .bind(import.unmatched)
                .bind(import.findings_decided)
                .bind(import.kept_manual)
                .bind(import.imported_by.kind)
                .bind(import.imported_by.user_id)
                .bind(&import.imported_by.label)
                .bind(now())
                .fetch_one(pool)
                .await
        })?;
        Ok(row)
    }

    /// The imports into a release of `team_id`, newest first.
    pub async fn vex_imports(
        &self,
        team_id: i64,
        release_id: i64,
    ) -> Result<Vec<VexImport>, StoreError> {
        let sql = format!(
            "SELECT {VEX_IMPORT_COLUMNS} FROM vex_imports WHERE team_id = $1 AND release_id = $2
             ORDER BY id DESC"
        );
        let rows: Vec<VexImport> = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(team_id)
                .bind(release_id)
                .fetch_all(pool)
                .await
        })?;
        Ok(rows)
    }
}
