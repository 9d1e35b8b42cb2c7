//! The OSV writer: an [`Advisory`] back in OSV JSON (schema 1.7), as osv.dev serves it: empty
//! fields left out, timestamps in RFC 3339 UTC with `Z`. The reader beside it is
//! [`super::osv`]; what one writes the other reads back unchanged.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use super::model::{Advisory, RangeEvent, Severity};

fn timestamp(at: DateTime<Utc>) -> Value {
    Value::String(at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

fn severities(severity: &[Severity]) -> Value {
    Value::Array(
        severity
            .iter()
            .map(|s| json!({"type": s.kind.as_osv(), "score": s.score}))
            .collect(),
    )
}

fn strings(values: &[String]) -> Value {
    Value::Array(values.iter().cloned().map(Value::String).collect())
}

/// The advisory as one OSV JSON record (a value, so that a response can embed it or a cache
/// serialise it once).
pub fn write_osv_json(advisory: &Advisory) -> Value {
    let mut record = Map::new();
    // The record's own schema version; none is invented for records that did not declare one.
    if let Some(version) = &advisory.schema_version {
        record.insert("schema_version".into(), Value::String(version.clone()));
    }
    record.insert("id".into(), Value::String(advisory.id.clone()));
    record.insert("modified".into(), timestamp(advisory.modified));
    if let Some(published) = advisory.published {
        record.insert("published".into(), timestamp(published));
    }
    if let Some(withdrawn) = advisory.withdrawn {
        record.insert("withdrawn".into(), timestamp(withdrawn));
    }
    for (field, values) in [
        ("aliases", &advisory.aliases),
        ("related", &advisory.related),
        ("upstream", &advisory.upstream),
    ] {
        if !values.is_empty() {
            record.insert(field.into(), strings(values));
        }
    }
    if let Some(summary) = &advisory.summary {
        record.insert("summary".into(), Value::String(summary.clone()));
    }
    if let Some(details) = &advisory.details {
        record.insert("details".into(), Value::String(details.clone()));
    }
    if !advisory.severity.is_empty() {
        record.insert("severity".into(), severities(&advisory.severity));
    }
    if !advisory.affected.is_empty() {
        let affected = advisory
            .affected
            .iter()
            .map(|affected| {
                let mut entry = Map::new();
                if let Some(package) = &affected.package {
                    let mut p = Map::new();
                    p.insert("ecosystem".into(), Value::String(package.ecosystem.clone()));
                    p.insert("name".into(), Value::String(package.name.clone()));
                    if let Some(purl) = &package.purl {
                        p.insert("purl".into(), Value::String(purl.clone()));
                    }
                    entry.insert("package".into(), Value::Object(p));
                }
                if !affected.severity.is_empty() {
                    entry.insert("severity".into(), severities(&affected.severity));
                }
                if !affected.ranges.is_empty() {
                    let ranges = affected
                        .ranges
                        .iter()
                        .map(|range| {
                            let mut r = Map::new();
                            r.insert("type".into(), Value::String(range.kind.as_osv().into()));
                            if let Some(repo) = &range.repo {
                                r.insert("repo".into(), Value::String(repo.clone()));
                            }
                            let events = range
                                .events
                                .iter()
                                .map(|event| match event {
                                    RangeEvent::Introduced(v) => json!({"introduced": v}),
                                    RangeEvent::Fixed(v) => json!({"fixed": v}),
                                    RangeEvent::LastAffected(v) => json!({"last_affected": v}),
                                    RangeEvent::Limit(v) => json!({"limit": v}),
                                })
                                .collect();
                            r.insert("events".into(), Value::Array(events));
                            if let Some(specific) = &range.database_specific {
                                r.insert("database_specific".into(), specific.clone());
                            }
                            Value::Object(r)
                        })
                        .collect();
                    entry.insert("ranges".into(), Value::Array(ranges));
                }
                if !affected.versions.is_empty() {
                    entry.insert("versions".into(), strings(&affected.versions));
                }
                if let Some(specific) = &affected.ecosystem_specific {
                    entry.insert("ecosystem_specific".into(), specific.clone());
                }
                if let Some(specific) = &affected.database_specific {
                    entry.insert("database_specific".into(), specific.clone());
                }
                Value::Object(entry)
            })
            .collect();
        record.insert("affected".into(), Value::Array(affected));
    }
    if !advisory.references.is_empty() {
        record.insert(
            "references".into(),
            Value::Array(
                advisory
                    .references
                    .iter()
                    .map(|r| json!({"type": r.kind.as_osv(), "url": r.url}))
                    .collect(),
            ),
        );
    }
    if let Some(specific) = &advisory.database_specific {
        record.insert("database_specific".into(), specific.clone());
    }
    Value::Object(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisory::osv::tests::files_with_extension;
    use crate::advisory::{parse_osv_json, parse_osv_yaml};

    #[test]
    fn an_osv_record_survives_the_round_trip() {
        let original = br#"{"schema_version":"1.4.0","id":"RUSTSEC-0000-0001","modified":"2021-01-01T00:00:00Z",
            "published":"2020-12-31T00:00:00Z","aliases":["CVE-2020-1"],"summary":"s","details":"d",
            "affected":[{"package":{"ecosystem":"crates.io","name":"x","purl":"pkg:cargo/x"},
            "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.0"}]}],"versions":["0.1.0"]}],
            "references":[{"type":"WEB","url":"https://example.org"}]}"#;
        let advisory = parse_osv_json(original).unwrap().records.remove(0);
        let written = write_osv_json(&advisory);
        let again = parse_osv_json(written.to_string().as_bytes())
            .unwrap()
            .records
            .remove(0);
        assert_eq!(again, advisory);
        assert_eq!(written["modified"], "2021-01-01T00:00:00Z");
        assert_eq!(
            written["affected"][0]["ranges"][0]["events"][1]["fixed"],
            "1.0.0"
        );
    }

    /// Every record of the real OSV corpora (RustSec JSON, PyPA and OSS-Fuzz YAML) reads back
    /// from what the writer wrote as the same advisory: nothing the reader keeps is lost.
    #[test]
    fn every_corpus_record_survives_the_round_trip() {
        let Some(root) = rampart_test_data::root() else {
            return;
        };
        let corpora = [
            (
                "rustsec-advisory-db/osv",
                "json",
                parse_osv_json as fn(&[u8]) -> _,
            ),
            ("osv-pypa", "yaml", parse_osv_yaml),
            ("osv-oss-fuzz-vulns", "yaml", parse_osv_yaml),
        ];
        let mut compared = 0;
        for (dir, extension, parse) in corpora {
            for file in files_with_extension(&root.join(dir), extension) {
                for advisory in parse(&std::fs::read(&file).unwrap()).unwrap().records {
                    let written = write_osv_json(&advisory).to_string();
                    let again = parse_osv_json(written.as_bytes()).unwrap().records;
                    assert_eq!(again, [advisory], "{}", file.display());
                    compared += 1;
                }
            }
        }
        assert!(compared > 7000, "{compared}");
    }

    #[test]
    fn empty_fields_are_left_out_and_a_withdrawn_record_says_so() {
        let original = br#"{"id":"GHSA-xxxx","modified":"2024-05-01T10:20:30.5Z",
            "withdrawn":"2024-06-01T00:00:00Z","aliases":[],"affected":[]}"#;
        let advisory = parse_osv_json(original).unwrap().records.remove(0);
        let written = write_osv_json(&advisory);
        assert_eq!(
            written,
            json!({"id": "GHSA-xxxx", "modified": "2024-05-01T10:20:30.500Z",
                   "withdrawn": "2024-06-01T00:00:00Z"})
        );
    }
}
