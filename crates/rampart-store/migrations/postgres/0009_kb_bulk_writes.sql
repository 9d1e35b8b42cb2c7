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

-- PostgreSQL checks a foreign key with a trigger that runs a query and takes a row lock on
-- the referenced row, once per inserted row: about half of the server's work when a batch of
-- advisories is ingested. The knowledge-base tables below have exactly one writer,
-- Store::ingest_prepared, which writes a record, its alias group, its child rows and their
-- catalogue products in one transaction, and nothing deletes vulnerabilities, groups or
-- products; these references are kept by that code and its tests. Foreign keys between
-- tenant data and the knowledge base (findings) stay. SQLite checks a foreign key with an
-- in-process index probe and keeps all of them.
ALTER TABLE vuln_aliases DROP CONSTRAINT IF EXISTS vuln_aliases_group_id_fkey;
ALTER TABLE vulnerabilities DROP CONSTRAINT IF EXISTS vulnerabilities_group_id_fkey;
ALTER TABLE vuln_severities DROP CONSTRAINT IF EXISTS vuln_severities_vulnerability_id_fkey;
ALTER TABLE vuln_cwes DROP CONSTRAINT IF EXISTS vuln_cwes_vulnerability_id_fkey;
ALTER TABLE affected_packages DROP CONSTRAINT IF EXISTS affected_packages_vulnerability_id_fkey;
ALTER TABLE cpe_matches DROP CONSTRAINT IF EXISTS cpe_matches_vulnerability_id_fkey;
ALTER TABLE cpe_matches DROP CONSTRAINT IF EXISTS cpe_matches_product_id_fkey;

-- Records and version lists compress with lz4 (several times faster than the default pglz)
-- where the server was built with it; otherwise they stay with pglz.
DO $$
BEGIN
    ALTER TABLE vulnerabilities
        ALTER COLUMN record SET COMPRESSION lz4,
        ALTER COLUMN details SET COMPRESSION lz4;
    ALTER TABLE affected_packages
        ALTER COLUMN ranges SET COMPRESSION lz4,
        ALTER COLUMN versions SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    NULL;
END $$;
