//! CVSS base scores and qualitative bands, computed from vector strings with RustSec's
//! `cvss` crate (v2.0, v3.0, v3.1, v4.0), verified against Red Hat's and NVD's golden vectors.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CvssVersion {
    #[serde(rename = "2.0")]
    V2_0,
    #[serde(rename = "3.0")]
    V3_0,
    #[serde(rename = "3.1")]
    V3_1,
    #[serde(rename = "4.0")]
    V4_0,
}

/// Qualitative severity rating. For v2, which defines no bands, NVD's are used
/// (low < 4.0 <= medium < 7.0 <= high), so v2 never yields `None` or `Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeverityBand {
    None,
    Low,
    Medium,
    High,
    Critical,
}

impl SeverityBand {
    /// Every band, the most severe first.
    pub const ALL: [SeverityBand; 5] = [
        Self::Critical,
        Self::High,
        Self::Medium,
        Self::Low,
        Self::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    /// The band a name spells (`critical`, `High`, …), in any case.
    pub fn parse(name: &str) -> Option<SeverityBand> {
        Self::ALL
            .into_iter()
            .find(|band| band.as_str().eq_ignore_ascii_case(name))
    }
}

/// FIRST's qualitative scale, identical for v3.x and v4.0: the lowest score of each band
/// above `Low`, the most severe first. A score above 0 below all of them is `Low`; 0 is
/// `None`. The store's SQL band of a CVSS column is generated from these.
pub const V3_V4_LOWER_BOUNDS: [(SeverityBand, f64); 3] = [
    (SeverityBand::Critical, 9.0),
    (SeverityBand::High, 7.0),
    (SeverityBand::Medium, 4.0),
];

/// NVD's CVSS v2 bands, as [`V3_V4_LOWER_BOUNDS`]: any score below them is `Low`.
pub const V2_LOWER_BOUNDS: [(SeverityBand, f64); 2] =
    [(SeverityBand::High, 7.0), (SeverityBand::Medium, 4.0)];

/// The first band whose lower bound `score` reaches, else `Low`.
fn band_by(bounds: &[(SeverityBand, f64)], score: f64) -> SeverityBand {
    bounds
        .iter()
        .find(|(_, lowest)| score >= *lowest)
        .map_or(SeverityBand::Low, |(band, _)| *band)
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CvssScore {
    pub version: CvssVersion,
    /// Base score for v2/v3. For v4 the single score the vector's metrics yield (CVSS-B, -BT,
    /// -BE or -BTE depending on which groups the vector carries), as v4 has no separate base.
    pub base_score: f64,
    pub band: SeverityBand,
}

/// Parses a CVSS vector (v2 without prefix, `CVSS:3.0/`, `CVSS:3.1/`, `CVSS:4.0/`) and computes
/// its score. Tolerates NVD's v2 notation wrapped in parentheses.
pub fn score_vector(vector: &str) -> Result<CvssScore, String> {
    let trimmed = vector.trim();
    let trimmed = trimmed
        .strip_prefix('(')
        .and_then(|v| v.strip_suffix(')'))
        .unwrap_or(trimmed);
    let parsed = cvss::Cvss::from_str(trimmed).map_err(|e| format!("invalid CVSS vector: {e}"))?;
    // The crate scores a vector with absent base metrics as if they were zero; a vector that
    // omits one is malformed and must not yield a (too low) score.
    let required: &[&str] = match parsed {
        cvss::Cvss::CvssV20(_) => &["AV", "AC", "Au", "C", "I", "A"],
        cvss::Cvss::CvssV30(_) | cvss::Cvss::CvssV31(_) => {
            &["AV", "AC", "PR", "UI", "S", "C", "I", "A"]
        }
        cvss::Cvss::CvssV40(_) => &[
            "AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA",
        ],
        _ => &[],
    };
    let present: Vec<&str> = trimmed
        .split('/')
        .filter_map(|component| component.split_once(':').map(|(metric, _)| metric))
        .collect();
    if let Some(missing) = required.iter().find(|metric| !present.contains(metric)) {
        return Err(format!("CVSS vector lacks base metric {missing}"));
    }
    let version = match parsed {
        cvss::Cvss::CvssV20(_) => CvssVersion::V2_0,
        cvss::Cvss::CvssV30(_) => CvssVersion::V3_0,
        cvss::Cvss::CvssV31(_) => CvssVersion::V3_1,
        cvss::Cvss::CvssV40(_) => CvssVersion::V4_0,
        // The enum is non-exhaustive; a future version we have not verified is not scored.
        _ => return Err("unsupported CVSS version".to_string()),
    };
    let base_score = parsed.score();
    if !(0.0..=10.0).contains(&base_score) {
        return Err(format!("computed score {base_score} is out of range"));
    }
    let band = match version {
        CvssVersion::V2_0 => band_v2(base_score),
        _ => band_v3_v4(base_score),
    };
    Ok(CvssScore {
        version,
        base_score,
        band,
    })
}

/// NVD's CVSS v2 bands.
pub fn band_v2(score: f64) -> SeverityBand {
    band_by(&V2_LOWER_BOUNDS, score)
}

/// FIRST's qualitative scale, identical for v3.x and v4.0.
pub fn band_v3_v4(score: f64) -> SeverityBand {
    if score == 0.0 {
        SeverityBand::None
    } else {
        band_by(&V3_V4_LOWER_BOUNDS, score)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_follow_first_and_nvd_boundaries() {
        assert_eq!(band_v3_v4(0.0), SeverityBand::None);
        assert_eq!(band_v3_v4(0.1), SeverityBand::Low);
        assert_eq!(band_v3_v4(3.9), SeverityBand::Low);
        assert_eq!(band_v3_v4(4.0), SeverityBand::Medium);
        assert_eq!(band_v3_v4(6.9), SeverityBand::Medium);
        assert_eq!(band_v3_v4(7.0), SeverityBand::High);
        assert_eq!(band_v3_v4(8.9), SeverityBand::High);
        assert_eq!(band_v3_v4(9.0), SeverityBand::Critical);
        assert_eq!(band_v2(0.0), SeverityBand::Low);
        assert_eq!(band_v2(4.0), SeverityBand::Medium);
        assert_eq!(band_v2(10.0), SeverityBand::High);
    }

    #[test]
    fn band_names_parse_in_any_case_and_all_runs_most_severe_first() {
        for band in SeverityBand::ALL {
            assert_eq!(SeverityBand::parse(band.as_str()), Some(band));
            assert_eq!(
                SeverityBand::parse(&band.as_str().to_uppercase()),
                Some(band)
            );
        }
        assert_eq!(SeverityBand::parse("unknown"), None);
        assert_eq!(SeverityBand::parse(""), None);
        assert!(SeverityBand::ALL.windows(2).all(|pair| pair[0] > pair[1]));
    }

    #[test]
    fn garbage_vectors_are_errors_not_panics() {
        for vector in [
            "",
            "CVSS:3.1/",
            "CVSS:9.9/AV:N",
            "CVSS:3.1/AV:N/AC:L",
            "AV:N/AC:L/Au:N/C:P/I:P/A:Z",
            "(",
            "()",
            "CVSS:4.0/AV:N",
            "medium",
        ] {
            assert!(score_vector(vector).is_err(), "{vector:?} should not score");
        }
    }

    #[test]
    fn nvd_parenthesised_v2_vector_scores() {
        let score = score_vector("(AV:N/AC:L/Au:N/C:P/I:P/A:P)").unwrap();
        assert_eq!(score.version, CvssVersion::V2_0);
        assert_eq!(score.base_score, 7.5);
        assert_eq!(score.band, SeverityBand::High);
    }

    /// Agreement of one golden file: (vectors, parsed, agreeing, first disagreements).
    struct Agreement {
        total: usize,
        agreeing: usize,
        failures: Vec<String>,
    }

    /// Red Hat's format: `VECTOR - (base, temporal, env)` (v2/v3) or `VECTOR - (score,)` /
    /// `VECTOR - score` (v4). Only the first number is the base (v4: the only) score.
    fn check_redhat_file(path: &std::path::Path) -> Agreement {
        let text = std::fs::read_to_string(path).unwrap();
        let mut agreement = Agreement {
            total: 0,
            agreeing: 0,
            failures: Vec::new(),
        };
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            agreement.total += 1;
            let (vector, expected) = line.split_once(" - ").expect("golden line has ' - '");
            let expected: f64 = expected
                .trim()
                .trim_start_matches('(')
                .split(',')
                .next()
                .unwrap()
                .trim()
                .parse()
                .expect("golden score is a number");
            match score_vector(vector) {
                Ok(score) if (score.base_score - expected).abs() < 1e-9 => agreement.agreeing += 1,
                Ok(score) => agreement.failures.push(format!(
                    "{vector}: computed {} expected {expected}",
                    score.base_score
                )),
                Err(e) => agreement.failures.push(format!("{vector}: {e}")),
            }
        }
        agreement
    }

    #[test]
    fn golden_redhat_vectors_agree() {
        let Some(root) = rampart_test_data::root() else {
            return;
        };
        let dir = root.join("cvss-test-vectors/redhat-cvss/tests");
        let files = [
            "vectors_simple2",
            "vectors_calculator2",
            "vectors_cvsslib2",
            "vectors_simple3",
            "vectors_simple31",
            "vectors_calculator3",
            "vectors_cvsslib3",
            "vectors_simple4",
            "vectors_supplemental4",
            "vectors_security4",
            "vectors_threat4",
        ];
        let mut all_failures = Vec::new();
        for file in files {
            let agreement = check_redhat_file(&dir.join(file));
            println!("{file}: {}/{} agree", agreement.agreeing, agreement.total);
            assert!(agreement.total > 0, "{file} is empty");
            all_failures.extend(agreement.failures.into_iter().take(5));
        }
        assert!(
            all_failures.is_empty(),
            "disagreements:\n{}",
            all_failures.join("\n")
        );
    }

    #[derive(serde::Deserialize)]
    struct NvdScored {
        vector: String,
        score: f64,
        severity: String,
    }

    #[test]
    fn golden_nvd_scored_vectors_agree_including_band() {
        let Some(root) = rampart_test_data::root() else {
            return;
        };
        let mut checked = 0;
        for file in ["v30-scores.json", "v31-scores.json"] {
            let path = root.join("cvss-test-vectors/pablotron-nvd-go").join(file);
            let scored: Vec<NvdScored> =
                serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
            assert!(!scored.is_empty());
            for expected in scored {
                let computed = score_vector(&expected.vector).unwrap();
                assert_eq!(computed.base_score, expected.score, "{}", expected.vector);
                assert_eq!(
                    computed.band.as_str(),
                    expected.severity.to_ascii_lowercase(),
                    "{}",
                    expected.vector
                );
                checked += 1;
            }
        }
        println!("NVD-scored v3.x vectors: {checked}/{checked} agree (score and band)");
    }
}
