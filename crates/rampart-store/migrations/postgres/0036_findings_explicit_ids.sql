-- The findings' release and SBOM foreign keys, checked for every finding an analysis inserts,
-- are implied by the component's: a component belongs to one SBOM of one release, and
-- deleting either deletes the component, whose deletion deletes its findings. (On SQLite
-- this migration also rebuilds the table without AUTOINCREMENT; PostgreSQL's sequence never
-- reuses an id and costs no more per row.)
ALTER TABLE findings DROP CONSTRAINT findings_release_id_fkey;
ALTER TABLE findings DROP CONSTRAINT findings_sbom_id_fkey;
