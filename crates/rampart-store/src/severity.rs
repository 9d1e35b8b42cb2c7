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
    use super::band_of_cvss;
    use rampart_formats::advisory::cvss::band_v3_v4;

    /// Every score from 0.0 to 10.0 in steps of 0.1, as CVSS base scores come.
    fn scores() -> impl Iterator<Item = f64> {
        (0..=100).map(|tenths| f64::from(tenths) / 10.0)
    }

    fn select(placeholder: &str) -> String {
        format!(
            "SELECT {} FROM (SELECT CAST({placeholder} AS DOUBLE PRECISION) AS score) s",
            band_of_cvss("score")
        )
    }

    #[tokio::test]
    async fn sqlite_bands_every_score_as_the_cvss_module_does() {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        for score in scores() {
            let band: Option<String> = sqlx::query_scalar(&select("$1"))
                .bind(score)
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(band.as_deref(), Some(band_v3_v4(score).as_str()), "{score}");
        }
        let none: Option<String> = sqlx::query_scalar(&select("NULL"))
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(none, None);
    }

    #[tokio::test]
    async fn postgres_bands_every_score_as_the_cvss_module_does() {
        let Some(database) = rampart_test_support::fresh_postgres_database(false).await else {
            return;
        };
        let pool = sqlx::PgPool::connect(database.url()).await.unwrap();
        for score in scores() {
            let band: Option<String> = sqlx::query_scalar(&select("$1"))
                .bind(score)
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(band.as_deref(), Some(band_v3_v4(score).as_str()), "{score}");
        }
        let none: Option<String> = sqlx::query_scalar(&select("NULL"))
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(none, None);
        pool.close().await;
    }
}
