//! API keys looked up by hash, kept in memory on SQLite so the request path does not read
//! the database for every authenticated request.
//!
//! Exactness: on SQLite one server process owns the database (DESIGN §6), so every change
//! that alters what a key lookup returns (revoke, rotate, removing the owner from the team,
//! a plan change) goes through this [`crate::Store`], which calls [`KeyCache::forget_all`]
//! once its transaction committed: the very next request reads the database again. Expiry
//! needs no invalidation: callers check `expires_at` on every use. A lookup that read the
//! database before a change but inserts after it is dropped (the generation moved on), so
//! a stale record cannot outlive the change. On PostgreSQL (several replicas, any of which
//! may revoke a key) the cache is not used.

use std::collections::HashMap;
use std::sync::RwLock;

use rampart_core::ApiKeyHash;

use crate::identity::ApiKeyRecord;

/// Entries kept at most; the cache starts over when full (keys in use come back at once).
const CAPACITY: usize = 10_000;

#[derive(Default)]
pub(crate) struct KeyCache {
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    generation: u64,
    entries: HashMap<[u8; 32], ApiKeyRecord>,
}

impl KeyCache {
    /// The cached record, or the current generation to pass to [`KeyCache::insert`] after
    /// reading the database.
    pub(crate) fn get(&self, hash: &ApiKeyHash) -> Result<ApiKeyRecord, u64> {
        let inner = self.inner.read().expect("key cache lock");
        inner.entries.get(&hash.0).cloned().ok_or(inner.generation)
    }

    /// Caches a record read at `generation`, unless an identity change happened since.
    pub(crate) fn insert(&self, generation: u64, record: &ApiKeyRecord) {
        let mut inner = self.inner.write().expect("key cache lock");
        if inner.generation != generation {
            return;
        }
        if inner.entries.len() >= CAPACITY {
            inner.entries.clear();
        }
        inner.entries.insert(record.key_hash.0, record.clone());
    }

    /// Drops every entry: called after each committed identity change.
    pub(crate) fn forget_all(&self) {
        let mut inner = self.inner.write().expect("key cache lock");
        inner.generation += 1;
        inner.entries.clear();
    }
}
