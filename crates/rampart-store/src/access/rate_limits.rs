//! Rate-limit counters shared by every replica (one row per bucket and window).

use crate::{with_pool, Store, StoreError};

impl Store {
    /// One more hit in `bucket`'s window; returns the window's count including this hit.
    /// Atomic across replicas (one upsert).
    pub async fn hit_rate_counter(
        &self,
        bucket: &str,
        window_start: i64,
    ) -> Result<i64, StoreError> {
        let hits = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO rate_limit_counters (bucket, window_start, hits) VALUES ($1, $2, 1)
                 ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limit_counters.hits + 1
                 RETURNING hits",
            )
            .bind(bucket)
            .bind(window_start)
            .fetch_one(pool)
            .await
        })?;
        Ok(hits)
    }

    /// Drops counters of windows that started before `window_start`.
    pub async fn purge_rate_counters(&self, window_start: i64) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM rate_limit_counters WHERE window_start < $1")
                .bind(window_start)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }
}
