//! FIRST EPSS daily scores: CSV, plain or gzip-compressed, led by a comment line
//! `#model_version:v2023.03.01,score_date:2025-02-20T00:00:00+0000`.

use std::io::Read;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::report::{FormatError, ParseReport};
use super::time::parse_timestamp;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpssScore {
    pub cve_id: String,
    /// Probability of exploitation activity in the next 30 days, 0..=1.
    pub epss: f64,
    /// Rank of `epss` among all scored CVEs, 0..=1.
    pub percentile: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EpssFile {
    /// `None` only for files from before FIRST added the comment line (early 2022).
    pub model_version: Option<String>,
    pub score_date: Option<DateTime<Utc>>,
    pub scores: ParseReport<EpssScore>,
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// The real file is ~12 MB uncompressed; this bounds memory on hostile input (gzip bombs).
const MAX_DECOMPRESSED_BYTES: u64 = 256 * 1024 * 1024;

/// Parses an EPSS scores file; gzip is detected by its magic bytes.
pub fn parse_epss(bytes: &[u8]) -> Result<EpssFile, FormatError> {
    let decompressed;
    let plain = if bytes.starts_with(&GZIP_MAGIC) {
        decompressed = gunzip(bytes)?;
        &decompressed[..]
    } else {
        bytes
    };
    let text = std::str::from_utf8(plain).map_err(|e| FormatError::Encoding(e.to_string()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);

    let (model_version, score_date, body) = match text.strip_prefix('#') {
        Some(commented) => {
            let (comment, body) = commented.split_once('\n').unwrap_or((commented, ""));
            let (model_version, score_date) = parse_comment(comment.trim_end_matches('\r'))?;
            (Some(model_version), Some(score_date), body)
        }
        None => (None, None, text),
    };

    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(body.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| FormatError::Csv(e.to_string()))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(cve_column), Some(epss_column), Some(percentile_column)) =
        (column("cve"), column("epss"), column("percentile"))
    else {
        return Err(FormatError::Header(format!(
            "expected columns cve,epss,percentile, found {:?}",
            headers.iter().collect::<Vec<_>>().join(",")
        )));
    };

    let mut scores = ParseReport::default();
    for (index, row) in reader.records().enumerate() {
        let row = match row {
            Ok(row) => row,
            Err(e) => {
                scores.skip(index, None, e.to_string());
                continue;
            }
        };
        let cve_id = row.get(cve_column).unwrap_or_default().to_string();
        let id = Some(cve_id.clone()).filter(|id| !id.is_empty());
        let probability = |column: usize, name: &str| -> Result<f64, String> {
            let raw = row.get(column).unwrap_or_default();
            match raw.parse::<f64>() {
                Ok(value) if (0.0..=1.0).contains(&value) => Ok(value),
                _ => Err(format!("{name} {raw:?} is not a number in 0..=1")),
            }
        };
        let parsed = if cve_id.starts_with("CVE-") {
            probability(epss_column, "epss").and_then(|epss| {
                probability(percentile_column, "percentile").map(|percentile| EpssScore {
                    cve_id,
                    epss,
                    percentile,
                })
            })
        } else {
            Err(format!("{cve_id:?} is not a CVE id"))
        };
        match parsed {
            Ok(score) => scores.records.push(score),
            Err(reason) => scores.skip(index, id, reason),
        }
    }
    Ok(EpssFile {
        model_version,
        score_date,
        scores,
    })
}

fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, FormatError> {
    let mut decoder = flate2::read::MultiGzDecoder::new(bytes).take(MAX_DECOMPRESSED_BYTES + 1);
    let mut plain = Vec::new();
    decoder
        .read_to_end(&mut plain)
        .map_err(|e| FormatError::Gzip(e.to_string()))?;
    if plain.len() as u64 > MAX_DECOMPRESSED_BYTES {
        return Err(FormatError::Gzip(format!(
            "decompresses to more than {MAX_DECOMPRESSED_BYTES} bytes"
        )));
    }
    Ok(plain)
}

/// `model_version:<v>,score_date:<RFC 3339>`; both are required once the line is present,
/// since a score without its date cannot be placed in the daily series.
fn parse_comment(comment: &str) -> Result<(String, DateTime<Utc>), FormatError> {
    let mut model_version = None;
    let mut score_date = None;
    for pair in comment.split(',') {
        let Some((key, value)) = pair.split_once(':') else {
            return Err(FormatError::Header(format!(
                "comment field {pair:?} is not key:value"
            )));
        };
        match key.trim() {
            "model_version" => model_version = Some(value.trim().to_string()),
            "score_date" => {
                score_date = Some(
                    parse_timestamp(value)
                        .map_err(|e| FormatError::Header(format!("score_date: {e}")))?,
                )
            }
            // Fields FIRST may add later are not ours to reject.
            _ => {}
        }
    }
    match (model_version, score_date) {
        (Some(model_version), Some(score_date)) if !model_version.is_empty() => {
            Ok((model_version, score_date))
        }
        (None, _) | (Some(_), Some(_)) => Err(FormatError::Header(
            "comment line lacks model_version".to_string(),
        )),
        (Some(_), None) => Err(FormatError::Header(
            "comment line lacks score_date".to_string(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const SAMPLE: &str = "#model_version:v2023.03.01,score_date:2025-02-20T00:00:00+0000\ncve,epss,percentile\nCVE-1999-0001,0.00383,0.73075\nCVE-1999-0002,1.5,0.9\nnot-a-cve,0.1,0.1\nCVE-1999-0004,0.00917,0.82963\n";

    #[test]
    fn plain_csv_with_bad_rows_skipped() {
        let file = parse_epss(SAMPLE.as_bytes()).unwrap();
        assert_eq!(file.model_version.as_deref(), Some("v2023.03.01"));
        assert_eq!(
            file.score_date.unwrap().to_rfc3339(),
            "2025-02-20T00:00:00+00:00"
        );
        let ids: Vec<&str> = file
            .scores
            .records
            .iter()
            .map(|s| s.cve_id.as_str())
            .collect();
        assert_eq!(ids, ["CVE-1999-0001", "CVE-1999-0004"]);
        assert_eq!(file.scores.records[0].epss, 0.00383);
        assert_eq!(file.scores.records[0].percentile, 0.73075);
        let skipped: Vec<usize> = file.scores.skipped.iter().map(|s| s.index).collect();
        assert_eq!(skipped, [1, 2]);
        assert!(file.scores.skipped[0].reason.contains("epss"));
    }

    #[test]
    fn gzip_is_detected_and_bad_gzip_is_an_error() {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(SAMPLE.as_bytes()).unwrap();
        let compressed = encoder.finish().unwrap();
        assert_eq!(
            parse_epss(&compressed).unwrap(),
            parse_epss(SAMPLE.as_bytes()).unwrap()
        );
        let truncated = &compressed[..compressed.len() / 2];
        assert!(matches!(parse_epss(truncated), Err(FormatError::Gzip(_))));
        assert!(matches!(
            parse_epss(&[0x1f, 0x8b, 0, 0, 0]),
            Err(FormatError::Gzip(_))
        ));
    }

    #[test]
    fn malformed_headers_are_clear_errors() {
        for (input, expected) in [
            ("#model_version:v1\ncve,epss,percentile\n", "score_date"),
            (
                "#score_date:2025-01-01T00:00:00Z\ncve,epss,percentile\n",
                "model_version",
            ),
            (
                "#model_version:v1,score_date:soon\ncve,epss,percentile\n",
                "score_date",
            ),
            ("#garbage\ncve,epss,percentile\n", "key:value"),
            (
                "#model_version:v1,score_date:2025-01-01T00:00:00Z\ninvalid,header,format\n",
                "cve,epss,percentile",
            ),
        ] {
            match parse_epss(input.as_bytes()) {
                Err(FormatError::Header(message)) => {
                    assert!(message.contains(expected), "{input:?}: {message}")
                }
                other => panic!("{input:?}: expected a header error, got {other:?}"),
            }
        }
    }

    #[test]
    fn file_without_comment_line_keeps_scores() {
        let file = parse_epss(b"cve,epss,percentile\nCVE-2020-0001,0.5,0.5\n").unwrap();
        assert!(file.model_version.is_none());
        assert_eq!(file.scores.records.len(), 1);
    }

    #[test]
    fn real_excerpt_and_vunnel_fixtures() {
        let Some(root) = rampart_test_data::root() else {
            return;
        };
        let dir = root.join("epss");
        let excerpt =
            parse_epss(&std::fs::read(dir.join("epss_scores-current.head60.csv")).unwrap())
                .unwrap();
        assert!(
            excerpt.scores.skipped.is_empty(),
            "{:?}",
            excerpt.scores.skipped
        );
        assert_eq!(excerpt.scores.records.len(), 60);
        assert_eq!(excerpt.model_version.as_deref(), Some("v2026.06.15"));
        println!("EPSS excerpt: 60 scores parsed, 0 skipped");

        let example =
            parse_epss(&std::fs::read(dir.join("vunnel-fixtures/example-1.csv")).unwrap()).unwrap();
        assert_eq!(example.scores.records.len(), 5);
        assert!(example.scores.skipped.is_empty());
        assert!(matches!(
            parse_epss(&std::fs::read(dir.join("vunnel-fixtures/invalid-header.csv")).unwrap()),
            Err(FormatError::Header(_))
        ));
        assert!(matches!(
            parse_epss(&std::fs::read(dir.join("vunnel-fixtures/missing-date.csv")).unwrap()),
            Err(FormatError::Header(_))
        ));
    }
}
