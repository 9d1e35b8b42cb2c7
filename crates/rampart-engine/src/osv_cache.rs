//! Knowledge-base records rendered as OSV JSON, kept in memory, so that `/v1/query` answers
//! from memory: the match comes from the index, the records' JSON from here; only records
//! not seen since the knowledge base last changed are read from the store.
//!
//! Entries are keyed by the knowledge-base version of the index that asked for them. A record
//! changes only by an ingest, which moves the knowledge-base version; the first lookup under
//! a newer version empties the cache, and a slow request still holding an older index can
//! only add entries under its older version, which nothing newer reads.

use std::sync::atomic::{AtomicI64, Ordering};

use bytes::Bytes;
use quick_cache::sync::Cache;
use quick_cache::Weighter;
use rampart_formats::advisory::write_osv_json;
use rampart_store::{Store, StoreError};

/// The capacity when the configuration does not say: ~100k typical records.
pub const DEFAULT_CAPACITY_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Clone)]
struct RenderedSize;

impl Weighter<(i64, i64), Bytes> for RenderedSize {
    fn weight(&self, _key: &(i64, i64), rendered: &Bytes) -> u64 {
        // Never zero: zero-weight entries would never be evicted.
        rendered.len() as u64 + 64
    }
}

pub struct OsvRecordCache {
    /// The newest knowledge-base version a lookup came with.
    newest_kb_version: AtomicI64,
    /// (knowledge-base version, record's internal id) → its OSV JSON.
    records: Cache<(i64, i64), Bytes, RenderedSize>,
}

impl OsvRecordCache {
    pub fn new(capacity_bytes: u64) -> Self {
        let capacity_bytes = capacity_bytes.max(1);
        Self {
            newest_kb_version: AtomicI64::new(i64::MIN),
            records: Cache::with_weighter(
                (capacity_bytes / 2048).max(16) as usize,
                capacity_bytes,
                RenderedSize,
            ),
        }
    }

    /// The OSV JSON of each record in `ids` that exists, in the order asked, as of the
    /// index's `kb_version`.
    pub async fn rendered(
        &self,
        store: &Store,
        kb_version: i64,
        ids: &[i64],
    ) -> Result<Vec<Bytes>, StoreError> {
        if self
            .newest_kb_version
            .fetch_max(kb_version, Ordering::AcqRel)
            < kb_version
        {
            self.records.clear();
        }
        let mut rendered: Vec<Option<Bytes>> = ids
            .iter()
            .map(|&id| self.records.get(&(kb_version, id)))
            .collect();
        let missing: Vec<i64> = ids
            .iter()
            .zip(&rendered)
            .filter(|(_, cached)| cached.is_none())
            .map(|(&id, _)| id)
            .collect();
        if !missing.is_empty() {
            for record in store.stored_vulnerabilities(&missing).await? {
                let json = Bytes::from(
                    serde_json::to_vec(&write_osv_json(&record.advisory))
                        .map_err(|e| StoreError::Corrupt(format!("rendering a record: {e}")))?,
                );
                self.records
                    .insert((kb_version, record.internal_id), json.clone());
                for (slot, _) in rendered
                    .iter_mut()
                    .zip(ids)
                    .filter(|(_, &id)| id == record.internal_id)
                {
                    *slot = Some(json.clone());
                }
            }
        }
        Ok(rendered.into_iter().flatten().collect())
    }
}
