//! The severity band of a CVSS score in SQL, generated from the one definition of the
//! thresholds ([`V3_V4_LOWER_BOUNDS`]) so that a finding read from the store is banded as the
//! CVSS module bands a score.

use rampart_formats::advisory::{SeverityBand, V3_V4_LOWER_BOUNDS};

/// A SQL expression of both dialects: the band (`critical` … `none`) of the score in `column`,
/// `NULL` when the score is.
pub(crate) fn band_of_cvss(column: &str) -> String {
    let mut sql = format!("CASE WHEN {column} IS NULL THEN NULL");
    for (band, lowest) in V3_V4_LOWER_BOUNDS {
        // `{:?}` keeps the decimal point (`9.0`): a float literal on both backends.
        sql.push_str(&format!(
            " WHEN {column} >= {lowest:?} THEN '{}'",
            band.as_str()
        ));
    }
    sql.push_str(&format!(
        " WHEN {column} > 0 THEN '{}' ELSE '{}' END",
        SeverityBand::Low.as_str(),
        SeverityBand::None.as_str()
    ));
    sql
}

#[cfg(test)]
mod tests {
    use std::future::Future;

    use super::band_of_cvss;
    use rampart_formats::advisory::cvss::band_v3_v4;

    /// The band of one score, bound as `$1` (`NULL` for no score).
    fn select_band() -> String {
        format!(
            "SELECT {} FROM (SELECT CAST($1 AS DOUBLE PRECISION) AS score) s",
            band_of_cvss("score")
        )
    }

    /// Every score from 0.0 to 10.0 in steps of 0.1 (as CVSS base scores come) is banded as
    /// the CVSS module bands it; no score has no band.
    async fn bands_agree<F, Fut>(band_in_sql: F)
    where
        F: Fn(Option<f64>) -> Fut,
        Fut: Future<Output = Result<Option<String>, sqlx::Error>>,
    {
        for score in (0..=100).map(|tenths| f64::from(tenths) / 10.0) {
            let band = band_in_sql(Some(score)).await.unwrap();
            assert_eq!(band.as_deref(), Some(band_v3_v4(score).as_str()), "{score}");
        }
        assert_eq!(band_in_sql(None).await.unwrap(), None);
    }

    #[tokio::test]
    async fn sqlite_bands_every_score_as_the_cvss_module_does() {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        let sql = select_band();
        bands_agree(|score| sqlx::query_scalar(&sql).bind(score).fetch_one(&pool)).await;
    }

    #[tokio::test]
    async fn postgres_bands_every_score_as_the_cvss_module_does() {
        let Some(database) = rampart_test_support::fresh_postgres_database(false).await else {
            return;
        };
        let pool = sqlx::PgPool::connect(database.url()).await.unwrap();
        let sql = select_band();
        bands_agree(|score| sqlx::query_scalar(&sql).bind(score).fetch_one(&pool)).await;
        pool.close().await;
    }
}
