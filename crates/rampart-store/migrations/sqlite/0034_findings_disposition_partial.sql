-- A new finding has no decision: indexing only the findings that have one keeps the million
-- NULL entries of a large SBOM's analysis out of the index (BENCHMARKS.md, SBOM analysis).
-- Deleting a decision still finds its findings through it (ON DELETE SET NULL looks them up
-- by `disposition_id = ?`, which implies NOT NULL).
DROP INDEX findings_disposition;
CREATE INDEX findings_disposition ON findings (disposition_id) WHERE disposition_id IS NOT NULL;
