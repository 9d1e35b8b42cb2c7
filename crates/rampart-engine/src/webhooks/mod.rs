//! Webhook delivery: events (the outbox) fanned out to the endpoints that subscribe to their
//! type, each delivery a job row claimed with a lease (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL) so one replica sends it; signed both ways ([`signing`]); retried with
//! exponential backoff and jitter on [`WebhookSettings::retry_delays`]; `410 Gone` disables
//! the endpoint, and so does failing for [`WebhookSettings::disable_after`]. Every attempt is
//! logged (status, latency, the first KB of the answer, the error). Nothing is sent from
//! inside a request: the API only records events and queues deliveries.

pub mod signing;
mod worker;

use std::time::Duration;

use crate::sync::OutboundPolicy;

pub use signing::{SignatureHeaders, WebhookSecret};
pub use worker::{run_worker, DeliveryWorker};

/// Webhook behaviour of this server.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Deliver on this replica (off: a replica that only serves the API).
    pub deliver: bool,
    /// How often an idle worker looks for events to fan out and deliveries due.
    pub poll_interval: Duration,
    /// A worker's lease on the deliveries it claimed: longer than a request can take, so
    /// a live worker never loses one; a dead worker's deliveries are taken over after it.
    pub lease: Duration,
    /// Deliveries claimed at once.
    pub batch_size: usize,
    /// Requests in flight at once per replica.
    pub concurrency: usize,
    /// Delays before the 2nd, 3rd, … attempt (the number of attempts is one more). Each is
    /// stretched or shrunk by up to `jitter` (a fraction) at random.
    pub retry_delays: Vec<Duration>,
    pub jitter: f64,
    /// An endpoint whose deliveries have failed without a success for this long is disabled
    /// and its team told (a `webhook.disabled` event).
    pub disable_after: Duration,
    /// How long the previous secret keeps signing after a rotation, unless the rotation
    /// asks for another overlap.
    pub rotation_overlap: Duration,
    /// The outbound guard of deliveries: private targets and allowed networks as the
    /// operator sets them, a short time limit, no redirects, a small response read.
    pub outbound: OutboundPolicy,
}

/// The documented default schedule: 10 attempts over about 3 days (the first at once, then
/// after 1 min, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h), ±20 % jitter.
pub const DEFAULT_RETRY_DELAYS: [u64; 9] = [
    60,
    5 * 60,
    30 * 60,
    2 * 3600,
    5 * 3600,
    10 * 3600,
    14 * 3600,
    20 * 3600,
    24 * 3600,
];

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            deliver: true,
            poll_interval: Duration::from_millis(200),
            lease: Duration::from_secs(60),
            batch_size: 100,
            concurrency: 32,
            retry_delays: DEFAULT_RETRY_DELAYS
                .iter()
                .map(|s| Duration::from_secs(*s))
                .collect(),
            jitter: 0.2,
            disable_after: Duration::from_secs(5 * 24 * 3600),
            rotation_overlap: Duration::from_secs(24 * 3600),
            outbound: OutboundPolicy {
                max_response_bytes: 64 * 1024,
                request_timeout: Duration::from_secs(10),
                connect_timeout: Duration::from_secs(5),
                max_redirects: 0,
                ..OutboundPolicy::default()
            },
        }
    }
}

impl WebhookSettings {
    /// Attempts a delivery gets before it is given up.
    pub fn max_attempts(&self) -> i64 {
        self.retry_delays.len() as i64 + 1
    }

    /// The delay after failed attempt number `attempt` (1-based), jittered; `None` when that
    /// was the last attempt.
    pub fn retry_delay(&self, attempt: i64) -> Option<Duration> {
        let index = usize::try_from(attempt - 1).ok()?;
        let base = *self.retry_delays.get(index)?;
        if self.jitter <= 0.0 {
            return Some(base);
        }
        let factor = 1.0 + self.jitter * (2.0 * rand::random::<f64>() - 1.0);
        Some(base.mul_f64(factor.max(0.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_is_ten_tries_over_about_three_days() {
        let settings = WebhookSettings {
            jitter: 0.0,
            ..WebhookSettings::default()
        };
        assert_eq!(settings.max_attempts(), 10);
        let total: Duration = (1..10).filter_map(|a| settings.retry_delay(a)).sum();
        let days = total.as_secs_f64() / 86_400.0;
        assert!((2.8..3.3).contains(&days), "{days} days");
        assert_eq!(settings.retry_delay(10), None);
        // Jitter stays within its bounds.
        let jittered = WebhookSettings::default();
        for _ in 0..100 {
            let delay = jittered.retry_delay(1).unwrap().as_secs_f64();
            assert!((48.0..=72.0).contains(&delay), "{delay}");
        }
    }
}
