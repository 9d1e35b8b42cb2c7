use std::ops::Deref;
use std::sync::Arc;

use rampart_engine::Engine;

use crate::ratelimit::RateLimiter;
use crate::request_log::RequestLog;
use crate::usage::KeyUsage;

/// What every handler can reach: the engine (store, configuration, match index, services'
/// dependencies) and what only the HTTP layer keeps (rate limits, batched key usage, the
/// request log).
/// Handlers read the engine's parts through `Deref` (`state.store`, `state.config`) and pass
/// `&state` wherever a service takes `&Engine`.
#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    pub rate_limiter: Arc<RateLimiter>,
    pub key_usage: Arc<KeyUsage>,
    /// The API request log's buffer (written in batches by a background task).
    pub request_log: Arc<RequestLog>,
}

impl Deref for AppState {
    type Target = Engine;

    fn deref(&self) -> &Engine {
        &self.engine
    }
}
