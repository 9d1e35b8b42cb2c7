//! API key usage (request count, last use) batched in memory and written every few seconds
//! and at shutdown, so the request path never writes to the database for it.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use rampart_store::Store;

#[derive(Default)]
pub struct KeyUsage {
    pending: Mutex<HashMap<i64, (i64, DateTime<Utc>)>>,
}

impl KeyUsage {
    pub fn record(&self, key_id: i64, at: DateTime<Utc>) {
        let mut pending = self.pending.lock().expect("usage lock");
        let entry = pending.entry(key_id).or_insert((0, at));
        entry.0 += 1;
        entry.1 = entry.1.max(at);
    }

    /// Not yet written usage of one key (so listings on this replica are exact).
    pub fn pending(&self, key_id: i64) -> Option<(i64, DateTime<Utc>)> {
        self.pending
            .lock()
            .expect("usage lock")
            .get(&key_id)
            .copied()
    }

    /// Writes and clears the batch; on failure the batch is put back for the next flush.
    pub async fn flush(&self, store: &Store) {
        let batch: Vec<(i64, i64, DateTime<Utc>)> = {
            let mut pending = self.pending.lock().expect("usage lock");
            pending
                .drain()
                .map(|(id, (count, at))| (id, count, at))
                .collect()
        };
        if batch.is_empty() {
            return;
        }
        if let Err(error) = store.record_key_usage(&batch).await {
            tracing::warn!(%error, keys = batch.len(), "cannot write API key usage; will retry");
            for (id, count, at) in batch {
                let mut pending = self.pending.lock().expect("usage lock");
                let entry = pending.entry(id).or_insert((0, at));
                entry.0 += count;
                entry.1 = entry.1.max(at);
            }
        }
    }
}
