//! API usage analytics, the pure part: the latency histogram the rollups keep, percentiles
//! read from it, status filters, grouping, and a team plan's subscription status.

use std::fmt;
use std::str::FromStr;

/// Upper bounds (inclusive, milliseconds) of the latency histogram's buckets; a last bucket
/// takes everything slower. The rollup table has one column per bucket (`latency_b00` …
/// `latency_b13`), so this list and the migration change together.
pub const LATENCY_BUCKETS_MS: [f64; 13] = [
    1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0,
];

/// Buckets including the last, unbounded one.
pub const LATENCY_BUCKET_COUNT: usize = LATENCY_BUCKETS_MS.len() + 1;

/// The bucket a latency (microseconds) falls in.
pub fn latency_bucket(latency_us: i64) -> usize {
    let ms = latency_us as f64 / 1000.0;
    LATENCY_BUCKETS_MS
        .iter()
        .position(|bound| ms <= *bound)
        .unwrap_or(LATENCY_BUCKETS_MS.len())
}

/// Requests per latency bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LatencyHistogram(pub [i64; LATENCY_BUCKET_COUNT]);

impl LatencyHistogram {
    pub fn record(&mut self, latency_us: i64) {
        self.0[latency_bucket(latency_us)] += 1;
    }

    pub fn add(&mut self, other: &LatencyHistogram) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0.iter()) {
            *mine += theirs;
        }
    }

    pub fn count(&self) -> i64 {
        self.0.iter().sum()
    }

    /// The `q` quantile (0 < q ≤ 1) in milliseconds, interpolated linearly inside the bucket
    /// it falls in (as Prometheus' `histogram_quantile` does); the unbounded bucket answers
    /// its lower bound. `None` for an empty histogram.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * total as f64;
        let mut below = 0i64;
        for (index, &count) in self.0.iter().enumerate() {
            if count > 0 && (below + count) as f64 >= rank {
                let lower = if index == 0 {
                    0.0
                } else {
                    LATENCY_BUCKETS_MS[index - 1]
                };
                let Some(&upper) = LATENCY_BUCKETS_MS.get(index) else {
                    return Some(lower);
                };
                let within = ((rank - below as f64) / count as f64).clamp(0.0, 1.0);
                return Some(lower + (upper - lower) * within);
            }
            below += count;
        }
        LATENCY_BUCKETS_MS.last().copied()
    }
}

/// Which statuses a usage query keeps: one code (`404`) or a class (`4xx`), or the errors
/// (`error`: 400 and above).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Exact(u16),
    /// `4` for `4xx`.
    Class(u16),
    Errors,
}

impl StatusFilter {
    /// The inclusive range of codes kept.
    pub fn range(self) -> (u16, u16) {
        match self {
            StatusFilter::Exact(code) => (code, code),
            StatusFilter::Class(class) => (class * 100, class * 100 + 99),
            StatusFilter::Errors => (400, 599),
        }
    }
}

impl FromStr for StatusFilter {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim().to_ascii_lowercase();
        if text == "error" || text == "errors" {
            return Ok(StatusFilter::Errors);
        }
        if let Some(class) = text.strip_suffix("xx") {
            return match class.parse::<u16>() {
                Ok(class @ 1..=5) => Ok(StatusFilter::Class(class)),
                _ => Err(format!("`status` class {text:?} is not 1xx-5xx")),
            };
        }
        match text.parse::<u16>() {
            Ok(code @ 100..=599) => Ok(StatusFilter::Exact(code)),
            _ => Err(format!(
                "`status` must be a code (404), a class (4xx) or `error`, not {text:?}"
            )),
        }
    }
}

/// How usage totals are broken down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageGrouping {
    /// `METHOD /route/{template}`.
    Endpoint,
    Status,
    Day,
    Hour,
    Key,
}

impl UsageGrouping {
    pub const NAMES: &'static [&'static str] = &["endpoint", "status", "day", "hour", "key"];

    pub fn as_str(self) -> &'static str {
        match self {
            UsageGrouping::Endpoint => "endpoint",
            UsageGrouping::Status => "status",
            UsageGrouping::Day => "day",
            UsageGrouping::Hour => "hour",
            UsageGrouping::Key => "key",
        }
    }
}

impl FromStr for UsageGrouping {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim() {
            "endpoint" => Ok(UsageGrouping::Endpoint),
            "status" => Ok(UsageGrouping::Status),
            "day" => Ok(UsageGrouping::Day),
            "hour" => Ok(UsageGrouping::Hour),
            "key" => Ok(UsageGrouping::Key),
            other => Err(format!(
                "`group_by` must be endpoint, status, day, hour or key, not {other:?}"
            )),
        }
    }
}

/// A team plan's subscription status (no payment provider: operators set it). Keys work
/// while `active` or `past_due` (a grace while payment is retried) and stop at once when
/// `inactive`; they work again when it is active again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlanStatus {
    #[default]
    Active,
    PastDue,
    Inactive,
}

impl PlanStatus {
    pub const NAMES: &'static [&'static str] = &["active", "past_due", "inactive"];

    pub fn as_str(self) -> &'static str {
        match self {
            PlanStatus::Active => "active",
            PlanStatus::PastDue => "past_due",
            PlanStatus::Inactive => "inactive",
        }
    }

    /// Whether API keys work: not inactive, and the paid period (if one is set) not over.
    pub fn keys_allowed(
        self,
        current_period_end: Option<chrono::DateTime<chrono::Utc>>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> bool {
        self != PlanStatus::Inactive && current_period_end.is_none_or(|end| now < end)
    }
}

impl FromStr for PlanStatus {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "active" => Ok(PlanStatus::Active),
            "past_due" => Ok(PlanStatus::PastDue),
            "inactive" => Ok(PlanStatus::Inactive),
            other => Err(format!(
                "`status` must be active, past_due or inactive, not {other:?}"
            )),
        }
    }
}

impl fmt::Display for PlanStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_fall_in_the_bucket_of_their_upper_bound() {
        assert_eq!(latency_bucket(0), 0);
        assert_eq!(latency_bucket(1_000), 0);
        assert_eq!(latency_bucket(1_001), 1);
        assert_eq!(latency_bucket(10_000_000), 12);
        assert_eq!(latency_bucket(10_000_001), 13);
    }

    #[test]
    fn quantiles_interpolate_inside_the_bucket() {
        let mut histogram = LatencyHistogram::default();
        assert_eq!(histogram.quantile_ms(0.5), None);
        // 100 requests between 10 and 25 ms.
        for _ in 0..100 {
            histogram.record(20_000);
        }
        assert_eq!(histogram.quantile_ms(0.5), Some(17.5));
        assert_eq!(histogram.quantile_ms(1.0), Some(25.0));
        // One very slow request: p99 stays in the 10-25 bucket, the max is the last bound.
        histogram.record(60_000_000);
        assert!(histogram.quantile_ms(0.99).unwrap() <= 25.0);
        assert_eq!(histogram.quantile_ms(1.0), Some(10_000.0));
    }

    #[test]
    fn status_filters_read_codes_classes_and_errors() {
        assert_eq!("404".parse(), Ok(StatusFilter::Exact(404)));
        assert_eq!("5XX".parse(), Ok(StatusFilter::Class(5)));
        assert_eq!("error".parse(), Ok(StatusFilter::Errors));
        assert_eq!(StatusFilter::Class(4).range(), (400, 499));
        for bad in ["", "99", "600", "6xx", "abc"] {
            assert!(bad.parse::<StatusFilter>().is_err(), "{bad}");
        }
    }

    #[test]
    fn inactive_plans_and_ended_periods_refuse_keys() {
        let now = chrono::Utc::now();
        let hour = chrono::Duration::hours(1);
        assert!(PlanStatus::Active.keys_allowed(None, now));
        assert!(PlanStatus::PastDue.keys_allowed(Some(now + hour), now));
        assert!(!PlanStatus::Inactive.keys_allowed(None, now));
        assert!(!PlanStatus::Active.keys_allowed(Some(now - hour), now));
    }
}
