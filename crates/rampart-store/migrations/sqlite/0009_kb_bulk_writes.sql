-- Knowledge-base writes in bulk (measured in BENCHMARKS.md, "OSV ingest").
--
-- No query filters or sorts by `modified` or by an affected package's purl (purls are
-- matched in memory); those indexes only cost every write. Packages are looked up by
-- normalised name alone (any ecosystem; the `LOWER(ecosystem)` filters cannot use an index
-- on the stored spelling), which an index led by the ecosystem did not serve.
DROP INDEX IF EXISTS vulnerabilities_modified;
DROP INDEX IF EXISTS affected_packages_purl;
DROP INDEX IF EXISTS affected_packages_package;
CREATE INDEX affected_packages_name ON affected_packages (normalized_name);

-- References live in the record (`vulnerabilities.record`: typed, exploit/PoC references
-- flagged), which is what every answer renders; whether a record has an exploit reference is
-- the `has_exploit_reference` column. This copy, one row per reference, was written by every
-- ingest and read by nothing.
DROP TABLE IF EXISTS vuln_references;
