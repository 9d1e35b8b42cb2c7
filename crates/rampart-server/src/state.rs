use std::ops::Deref;
use std::sync::Arc;

use rampart_engine::Engine;

use crate::ratelimit::RateLimiter;
use crate::usage::KeyUsage;

/// What every handler can reach: the engine (store, configuration, match index, services'
/// dependencies) and what only the HTTP layer keeps (rate limits, batched key usage).
/// Handlers read the engine's parts through `Deref` (`state.store`, `state.config`) and pass
/// `&state` wherever a service takes `&Engine`.
#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    pub rate_limiter: Arc<RateLimiter>,
    pub key_usage: Arc<KeyUsage>,
}

impl Deref for AppState {
    type Target = Engine;

    fn deref(&self) -> &Engine {
        &self.engine
    }
}
