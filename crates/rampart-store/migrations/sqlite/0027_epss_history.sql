-- EPSS history (issue 17): a CVE's EPSS score and percentile per day, written by the EPSS sync
-- whenever a CVE's score or percentile changes (a day that changed nothing adds nothing: the
-- chart holds the last value), kept for a bounded window (the store deletes days older than
-- its retention behind the newest file's day). Seeded with the scores stored so far.
CREATE TABLE epss_history (
    cve_id TEXT NOT NULL,
    score_day TEXT NOT NULL,
    epss REAL NOT NULL,
    percentile REAL NOT NULL,
    PRIMARY KEY (cve_id, score_day)
);
CREATE INDEX epss_history_day ON epss_history (score_day);

INSERT INTO epss_history (cve_id, score_day, epss, percentile)
SELECT cve_id, COALESCE(substr(score_date, 1, 10), date('now')), epss, percentile
FROM epss_scores;
