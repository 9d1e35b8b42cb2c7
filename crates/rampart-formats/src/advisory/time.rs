//! Timestamp parsing shared by the feed parsers.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// RFC 3339 timestamps as OSV requires; also NVD's zone-less form ("2023-02-08T18:15:11.523"),
/// which NVD documents as UTC, and a bare date, which some feeds use for publication days.
pub(crate) fn parse_timestamp(raw: &str) -> Result<DateTime<Utc>, String> {
    let raw = raw.trim();
    if let Ok(with_zone) = DateTime::parse_from_rfc3339(raw) {
        return Ok(with_zone.with_timezone(&Utc));
    }
    // EPSS writes the offset without a colon ("+0000").
    if let Ok(with_zone) = DateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Ok(with_zone.with_timezone(&Utc));
    }
    if let Ok(naive) = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f") {
        return Ok(naive.and_utc());
    }
    if let Ok(day) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return Ok(day
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc())
            .unwrap_or_default());
    }
    Err(format!("invalid timestamp {raw:?}"))
}

pub(crate) fn parse_date(raw: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").map_err(|_| format!("invalid date {raw:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_osv_nvd_and_epss_forms() {
        let expected = "2023-02-08T18:15:11.523Z";
        for raw in [
            "2023-02-08T18:15:11.523Z",
            "2023-02-08T18:15:11.523",
            "2023-02-08T19:15:11.523+01:00",
            "2023-02-08T18:15:11.523+0000",
        ] {
            let parsed = parse_timestamp(raw).unwrap();
            assert_eq!(
                parsed.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                expected,
                "{raw}"
            );
        }
        assert_eq!(
            parse_timestamp("2024-01-31").unwrap().to_rfc3339(),
            "2024-01-31T00:00:00+00:00"
        );
    }

    #[test]
    fn rejects_nonsense() {
        for raw in ["", "yesterday", "2023-13-01T00:00:00Z", "2023-02-30"] {
            assert!(parse_timestamp(raw).is_err(), "{raw}");
        }
        assert!(parse_date("2024-02-30").is_err());
    }
}
