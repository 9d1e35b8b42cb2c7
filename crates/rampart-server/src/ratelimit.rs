//! Fixed one-minute windows per caller: an API key, a session's user, or (without valid
//! credentials) the source IP. On PostgreSQL the count lives in `rate_limit_counters` (one
//! atomic upsert per request) so every replica shares it; on SQLite (one process) it is
//! in memory.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use rampart_store::{Backend, Store};

const WINDOW_SECONDS: i64 = 60;

/// Health probes (`/healthz`, `/readyz`) are never counted nor limited, so they carry no
/// `X-RateLimit-*` headers: load balancers and orchestrators poll them often, many from one
/// shared address, and a refused probe would take a healthy replica out of service.
pub fn is_exempt(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz")
}

/// The outcome of one request's hit, with the header values.
#[derive(Debug, Clone, Copy)]
pub struct RateDecision {
    pub limit: u32,
    pub remaining: u32,
    /// Unix seconds when the window ends.
    pub reset: i64,
    pub allowed: bool,
    /// Seconds until the reset (for `Retry-After`).
    pub retry_after: i64,
}

#[derive(Default)]
pub struct RateLimiter {
    local: Mutex<HashMap<String, (i64, u32)>>,
}

impl RateLimiter {
    pub async fn hit(
        &self,
        store: &Store,
        bucket: &str,
        limit: u32,
        now: DateTime<Utc>,
    ) -> RateDecision {
        let now_secs = now.timestamp();
        let window_start = now_secs - now_secs.rem_euclid(WINDOW_SECONDS);
        let count = match store.backend() {
            Backend::Postgres => match store.hit_rate_counter(bucket, window_start).await {
                Ok(count) => u32::try_from(count).unwrap_or(u32::MAX),
                Err(error) => {
                    // Fail open to the local count rather than refusing every request.
                    tracing::warn!(%error, "shared rate-limit counter unavailable");
                    self.hit_local(bucket, window_start)
                }
            },
            Backend::Sqlite => self.hit_local(bucket, window_start),
        };
        let reset = window_start + WINDOW_SECONDS;
        RateDecision {
            limit,
            remaining: limit.saturating_sub(count),
            reset,
            allowed: count <= limit,
            retry_after: (reset - now_secs).max(1),
        }
    }

    fn hit_local(&self, bucket: &str, window_start: i64) -> u32 {
        let mut local = self.local.lock().expect("rate limiter lock");
        let entry = local.entry(bucket.to_string()).or_insert((window_start, 0));
        if entry.0 != window_start {
            *entry = (window_start, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1
    }

    /// Forgets windows that ended (memory) and old shared counters.
    pub async fn purge(&self, store: &Store, now: DateTime<Utc>) {
        let now_secs = now.timestamp();
        let current = now_secs - now_secs.rem_euclid(WINDOW_SECONDS);
        self.local
            .lock()
            .expect("rate limiter lock")
            .retain(|_, (window, _)| *window >= current);
        if store.backend() == Backend::Postgres {
            if let Err(error) = store.purge_rate_counters(current - WINDOW_SECONDS).await {
                tracing::warn!(%error, "cannot purge rate-limit counters");
            }
        }
    }
}
