-- Knowledge-base writes in bulk (measured in BENCHMARKS.md, "OSV ingest").
--
-- No query filters or sorts by `modified`; its index only cost every write.
DROP INDEX IF EXISTS vulnerabilities_modified;

-- References live in the record (`vulnerabilities.record`: typed, exploit/PoC references
-- flagged), which is what every answer renders; whether a record has an exploit reference is
-- the `has_exploit_reference` column. This copy, one row per reference, was written by every
-- ingest and read by nothing.
DROP TABLE IF EXISTS vuln_references;
