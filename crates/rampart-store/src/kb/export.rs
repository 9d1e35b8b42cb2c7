//! Reading the knowledge base out whole, page by page, for the OSV export (`all.zip` for
//! mirrors, `rampart export`): the stored records of OSV-format feeds, by internal id.

use crate::{with_pool, Store, StoreError};

/// One stored record as the export reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExportRow {
    #[sqlx(rename = "id")]
    pub internal_id: i64,
    pub vuln_id: String,
    /// The normalised record (`rampart_formats::advisory::Advisory`) as JSON.
    pub record: String,
}

impl Store {
    /// At most `limit` records after internal id `after_id`, in id order, of every feed that
    /// speaks OSV (NVD's CVE records are left out: their CPE configurations have no place in
    /// an OSV record). With `ecosystem` (lower-case), only records affecting a package of that
    /// ecosystem or of one of its releases (`debian` takes `Debian:12`), the way an OSV sync
    /// source filters an archive.
    pub async fn osv_export_page(
        &self,
        ecosystem: Option<&str>,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<ExportRow>, StoreError> {
        let rows: Vec<ExportRow> = match ecosystem {
            None => with_pool!(self, pool => {
                sqlx::query_as(
                    "SELECT id, vuln_id, record FROM vulnerabilities
                     WHERE id > $1 AND source <> 'nvd' ORDER BY id LIMIT $2",
                )
                .bind(after_id)
                .bind(limit)
                .fetch_all(pool)
                .await
            })?,
            Some(ecosystem) => {
                let family = format!("{ecosystem}:");
                // `int4`: PostgreSQL has no `substr(text, int, bigint)`.
                let family_length = i32::try_from(family.chars().count()).unwrap_or(i32::MAX);
                with_pool!(self, pool => {
                    sqlx::query_as(
                        "SELECT v.id, v.vuln_id, v.record FROM vulnerabilities v
                         WHERE v.id > $1 AND v.source <> 'nvd' AND EXISTS (
                             SELECT 1 FROM affected_packages p WHERE p.vulnerability_id = v.id
                             AND (lower(p.ecosystem) = $2 OR substr(lower(p.ecosystem), 1, $3) = $4))
                         ORDER BY v.id LIMIT $5",
                    )
                    .bind(after_id)
                    .bind(ecosystem)
                    .bind(family_length)
                    .bind(&family)
                    .bind(limit)
                    .fetch_all(pool)
                    .await
                })?
            }
        };
        Ok(rows)
    }
}
