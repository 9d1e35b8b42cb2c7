//! What `rampart scan` reads about the packages a lockfile or SBOM names, in one read.

use std::collections::HashMap;

use rampart_core::match_index::AffectedInput;

use crate::findings::{
    sqlite_group_identifiers, sqlite_matched_record_views, sqlite_vulnerability_refs,
};
use crate::kb::{sqlite_affected_package_rows, sqlite_affected_package_rows_named};
use crate::{
    sqlite_read, with_pool, AffectedPackageRow, MatchedRecordView, Pool, Store, StoreError,
    VulnerabilityRef,
};

/// The knowledge base as one scan sees it: the affected-package rows of the named packages,
/// and for every record among them its reference, its rating and its alias group's
/// identifiers. Read from the database, the rows are stored rows; from the scan index
/// ([`crate::ScanIndex`]), they are ready for the match index ([`AffectedInput`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ScanSnapshot<Row = AffectedPackageRow> {
    pub kb_version: i64,
    /// The random stamp the version was bumped with (see migration 0033): a version and a
    /// stamp name one state of one database.
    pub kb_stamp: String,
    /// In the order of their ids.
    pub affected: Vec<Row>,
    /// By the record's internal id.
    pub references: HashMap<i64, VulnerabilityRef>,
    /// By the record's internal id.
    pub views: HashMap<i64, MatchedRecordView>,
    /// Sorted identifiers by alias group.
    pub group_identifiers: HashMap<i64, Vec<String>>,
}

impl<Row> Default for ScanSnapshot<Row> {
    fn default() -> Self {
        ScanSnapshot {
            kb_version: 0,
            kb_stamp: String::new(),
            affected: Vec::new(),
            references: HashMap::new(),
            views: HashMap::new(),
            group_identifiers: HashMap::new(),
        }
    }
}

impl ScanSnapshot {
    /// The same snapshot with its rows as the match index takes them.
    pub fn into_inputs(self) -> ScanSnapshot<AffectedInput> {
        ScanSnapshot {
            kb_version: self.kb_version,
            kb_stamp: self.kb_stamp,
            affected: self.affected.into_iter().map(AffectedInput::from).collect(),
            references: self.references,
            views: self.views,
            group_identifiers: self.group_identifiers,
        }
    }
}

impl Store {
    /// Reads a [`ScanSnapshot`] of the packages with these normalised names. On SQLite it is
    /// one read transaction on one connection: a sync writing beside the scan cannot give it
    /// an index of one version and ratings of the next (a record the index matched but the
    /// references no longer hold would drop its finding). On PostgreSQL the reads run one
    /// after another.
    pub async fn scan_snapshot(
        &self,
        normalized_names: &[String],
    ) -> Result<ScanSnapshot, StoreError> {
        self.read_scan_snapshot(Some(normalized_names)).await
    }

    /// A [`ScanSnapshot`] of every package the knowledge base names, for `rampart scan`'s
    /// index file ([`crate::ScanIndex`]).
    pub async fn scan_snapshot_all(&self) -> Result<ScanSnapshot, StoreError> {
        self.read_scan_snapshot(None).await
    }

    /// The knowledge base's version and the stamp it was bumped with.
    pub async fn kb_stamp(&self) -> Result<(i64, String), StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as("SELECT version, stamp FROM kb_state WHERE id = 1")
                .fetch_one(pool)
                .await
        })?)
    }

    /// How many affected-package rows the knowledge base holds (what an index of all of it
    /// would carry).
    pub async fn affected_package_count(&self) -> Result<i64, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM affected_packages")
                .fetch_one(pool)
                .await
        })?)
    }

    /// The named packages' snapshot, or every package's (`None`).
    async fn read_scan_snapshot(
        &self,
        normalized_names: Option<&[String]>,
    ) -> Result<ScanSnapshot, StoreError> {
        let ((kb_version, kb_stamp), affected, references, views, group_identifiers) =
            match &self.pool {
                Pool::Sqlite(pool) => {
                    sqlite_read::read(pool, |connection| {
                        let transaction = connection.unchecked_transaction()?;
                        let state = transaction.query_row(
                            "SELECT version, stamp FROM kb_state WHERE id = 1",
                            [],
                            |row| Ok((row.get(0)?, row.get(1)?)),
                        )?;
                        let affected = match normalized_names {
                            Some(names) => sqlite_affected_package_rows_named(&transaction, names)?,
                            None => sqlite_affected_package_rows(&transaction)?,
                        };
                        let records = record_ids(&affected);
                        let references = sqlite_vulnerability_refs(&transaction, &records)?;
                        let views = sqlite_matched_record_views(&transaction, &records)?;
                        let groups = group_ids(&references);
                        let group_identifiers = sqlite_group_identifiers(&transaction, &groups)?;
                        transaction.commit()?;
                        Ok((state, affected, references, views, group_identifiers))
                    })
                    .await?
                }
                Pool::Postgres(_) => {
                    let state = self.kb_stamp().await?;
                    let affected = match normalized_names {
                        Some(names) => self.affected_package_rows_named(names).await?,
                        None => self.affected_package_rows().await?,
                    };
                    let records = record_ids(&affected);
                    let references = self.vulnerability_refs(&records).await?;
                    let views = self.matched_record_views(&records).await?;
                    let group_identifiers = self.group_identifiers(&group_ids(&references)).await?;
                    (state, affected, references, views, group_identifiers)
                }
            };
        Ok(ScanSnapshot {
            kb_version,
            kb_stamp,
            affected,
            references,
            views,
            group_identifiers,
        })
    }
}

/// The records of these rows, once each, in order.
fn record_ids(rows: &[AffectedPackageRow]) -> Vec<i64> {
    let mut ids: Vec<i64> = rows.iter().map(|row| row.vulnerability_id).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The alias groups of these records, once each, in order.
fn group_ids(references: &HashMap<i64, VulnerabilityRef>) -> Vec<i64> {
    let mut ids: Vec<i64> = references.values().map(|r| r.group_id).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}
