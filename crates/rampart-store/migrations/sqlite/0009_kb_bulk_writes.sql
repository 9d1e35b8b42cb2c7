-- Knowledge-base writes in bulk (measured in BENCHMARKS.md, "OSV ingest").
--
-- No query filters or sorts by `modified`; its index only cost every write.
DROP INDEX IF EXISTS vulnerabilities_modified;
