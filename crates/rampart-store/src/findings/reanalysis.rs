//! The re-analysis queue: knowledge-base changes become analyses of just the SBOMs they can
//! touch.

use crate::BeginWrite;
use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use rampart_core::package_lookup_key;
use sqlx::{PgConnection, SqliteConnection};

use super::ReanalysisPass;
use crate::bulk::{placeholder_list, MAX_PARAMETERS};
use crate::{now, with_pool, Backend, Store, StoreError};

/// The steps of [`Store::queue_reanalyses`], each on its transaction. `from` and `to` bound
/// the knowledge-base versions covered: changes after `from`, up to `to`.
trait ReanalysisSteps {
    /// The version the queue has covered so far, and whether this replica claimed the step
    /// to `to` (false: nothing new, or another replica took it).
    async fn claim_versions(&mut self, to: i64) -> Result<(i64, bool), sqlx::Error>;

    async fn changed_records(&mut self, from: i64, to: i64) -> Result<i64, sqlx::Error>;

    /// SBOMs with a component naming a changed record's package.
    async fn sboms_naming_changed_packages(
        &mut self,
        from: i64,
        to: i64,
    ) -> Result<BTreeSet<i64>, sqlx::Error>;

    /// SBOMs with open findings in a changed record's alias group.
    async fn sboms_with_changed_groups(
        &mut self,
        from: i64,
        to: i64,
    ) -> Result<Vec<i64>, sqlx::Error>;

    /// When a changed record has CPE criteria: SBOMs with CPEs of products that match by CPE.
    async fn sboms_matching_changed_cpes(
        &mut self,
        from: i64,
        to: i64,
    ) -> Result<Vec<i64>, sqlx::Error>;

    /// Queues an analysis of each SBOM that has none queued; returns how many were queued.
    async fn queue_analyses(
        &mut self,
        sboms: &BTreeSet<i64>,
        at: DateTime<Utc>,
    ) -> Result<usize, sqlx::Error>;
}

/// [`ReanalysisSteps`] for one backend's connection: the same SQL, compiled per backend.
macro_rules! reanalysis_steps {
    ($connection:ty, $backend:expr) => {
        impl ReanalysisSteps for $connection {
            async fn claim_versions(&mut self, to: i64) -> Result<(i64, bool), sqlx::Error> {
                let from: i64 =
                    sqlx::query_scalar("SELECT kb_version FROM reanalysis_state WHERE id = 1")
                        .fetch_one(&mut *self)
                        .await?;
                if from >= to {
                    return Ok((from, false));
                }
                let claimed = sqlx::query(
                    "UPDATE reanalysis_state SET kb_version = $2 WHERE id = 1 AND kb_version = $1",
                )
                .bind(from)
                .bind(to)
                .execute(&mut *self)
                .await?
                .rows_affected();
                Ok((from, claimed > 0))
            }

            async fn changed_records(&mut self, from: i64, to: i64) -> Result<i64, sqlx::Error> {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM vulnerabilities
                     WHERE changed_in_kb_version > $1 AND changed_in_kb_version <= $2",
                )
                .bind(from)
                .bind(to)
                .fetch_one(&mut *self)
                .await
            }

            async fn sboms_naming_changed_packages(
                &mut self,
                from: i64,
                to: i64,
            ) -> Result<BTreeSet<i64>, sqlx::Error> {
                let packages: Vec<(String, String)> = sqlx::query_as(
                    "SELECT DISTINCT p.ecosystem, p.name FROM affected_packages p
                     JOIN vulnerabilities v ON v.id = p.vulnerability_id
                     WHERE v.changed_in_kb_version > $1 AND v.changed_in_kb_version <= $2",
                )
                .bind(from)
                .bind(to)
                .fetch_all(&mut *self)
                .await?;
                let keys: BTreeSet<String> = packages
                    .iter()
                    .map(|(ecosystem, name)| package_lookup_key(ecosystem, name))
                    .collect();
                let keys: Vec<String> = keys.into_iter().collect();
                let mut sboms = BTreeSet::new();
                for chunk in keys.chunks(MAX_PARAMETERS) {
                    let sql = format!(
                        "SELECT DISTINCT sbom_id FROM sbom_components WHERE package_key IN ({})",
                        placeholder_list($backend, chunk.len())
                    );
                    let mut query = sqlx::query_scalar::<_, i64>(&sql);
                    for key in chunk {
                        query = query.bind(key.as_str());
                    }
                    sboms.extend(query.fetch_all(&mut *self).await?);
                }
                Ok(sboms)
            }

            async fn sboms_with_changed_groups(
                &mut self,
                from: i64,
                to: i64,
            ) -> Result<Vec<i64>, sqlx::Error> {
                sqlx::query_scalar(
                    "SELECT DISTINCT o.sbom_id FROM sbom_open_groups o
                     WHERE o.group_id IN (
                        SELECT v.group_id FROM vulnerabilities v
                        WHERE v.changed_in_kb_version > $1 AND v.changed_in_kb_version <= $2)",
                )
                .bind(from)
                .bind(to)
                .fetch_all(&mut *self)
                .await
            }

            async fn sboms_matching_changed_cpes(
                &mut self,
                from: i64,
                to: i64,
            ) -> Result<Vec<i64>, sqlx::Error> {
                let cpe_changed: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM cpe_matches m
                        JOIN vulnerabilities v ON v.id = m.vulnerability_id
                        WHERE v.changed_in_kb_version > $1 AND v.changed_in_kb_version <= $2)",
                )
                .bind(from)
                .bind(to)
                .fetch_one(&mut *self)
                .await?;
                if !cpe_changed {
                    return Ok(Vec::new());
                }
                sqlx::query_scalar(
                    "SELECT DISTINCT s.id FROM sboms s
                     JOIN releases r ON r.id = s.release_id
                     JOIN products p ON p.id = r.product_id
                     WHERE p.cpe_matching
                       AND EXISTS (SELECT 1 FROM sbom_components c
                                   WHERE c.sbom_id = s.id AND c.cpe IS NOT NULL)",
                )
                .fetch_all(&mut *self)
                .await
            }

            async fn queue_analyses(
                &mut self,
                sboms: &BTreeSet<i64>,
                at: DateTime<Utc>,
            ) -> Result<usize, sqlx::Error> {
                let mut queued = 0usize;
                for sbom_id in sboms {
                    let inserted = sqlx::query(
                        "INSERT INTO analyses (team_id, sbom_id, release_id, status, created_at,
                            component_count, reason)
                         SELECT s.team_id, s.id, s.release_id, 'queued', $2, s.component_count,
                            'knowledge_base'
                         FROM sboms s
                         WHERE s.id = $1 AND NOT EXISTS (
                            SELECT 1 FROM analyses a WHERE a.sbom_id = s.id AND a.status = 'queued')",
                    )
                    .bind(sbom_id)
                    .bind(at)
                    .execute(&mut *self)
                    .await?
                    .rows_affected();
                    queued += usize::try_from(inserted).unwrap_or(0);
                }
                Ok(queued)
            }
        }
    };
}

reanalysis_steps!(SqliteConnection, Backend::Sqlite);
reanalysis_steps!(PgConnection, Backend::Postgres);

impl Store {
    /// The knowledge-base version whose changes have been turned into re-analyses.
    pub async fn reanalysis_kb_version(&self) -> Result<i64, StoreError> {
        let version = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT kb_version FROM reanalysis_state WHERE id = 1")
                .fetch_one(pool)
                .await?
        });
        Ok(version)
    }

    /// Turns knowledge-base changes up to version `to` into analyses of just the SBOMs they
    /// can touch: components naming a changed record's package, SBOMs with open findings in
    /// a changed record's alias group, and (when a changed record has CPE criteria) SBOMs of
    /// products that match by CPE. One transaction; a compare-and-set on the progress row
    /// makes sure only one replica queues each change. An SBOM with an analysis already
    /// queued is not queued twice.
    pub async fn queue_reanalyses(&self, to: i64) -> Result<ReanalysisPass, StoreError> {
        let at = now();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let (from, claimed) = tx.claim_versions(to).await?;
            if !claimed {
                return Ok(ReanalysisPass { from, to: from, ..Default::default() });
            }
            let changed = tx.changed_records(from, to).await?;
            let mut sboms = BTreeSet::new();
            if changed > 0 {
                sboms.extend(tx.sboms_naming_changed_packages(from, to).await?);
                sboms.extend(tx.sboms_with_changed_groups(from, to).await?);
                sboms.extend(tx.sboms_matching_changed_cpes(from, to).await?);
            }
            let queued = tx.queue_analyses(&sboms, at).await?;
            tx.commit().await?;
            Ok(ReanalysisPass {
                from,
                to,
                changed_records: usize::try_from(changed).unwrap_or(0),
                queued_analyses: queued,
            })
        })
    }
}
