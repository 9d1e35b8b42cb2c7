-- Findings rebuilt without AUTOINCREMENT and without their release and SBOM foreign keys.
--
-- An analysis inserts its findings one single-row statement at a time (see
-- SQLITE_INSERT_FINDING), and AUTOINCREMENT costs every statement a read and a rewrite of its
-- sqlite_sequence row: ~1 s of the worst-case SBOM's 1.19 M findings (BENCHMARKS.md, SBOM
-- analysis). Finding ids must still never be reused (events and webhook receivers name
-- findings by id), so the store gives each new finding its id from a high-water mark kept
-- in id_watermarks, advanced once per batch in the same transaction.
--
-- The release and SBOM foreign keys were checked for every finding and are implied by the
-- component's: a component belongs to one SBOM of one release, and deleting either deletes
-- the component, whose deletion deletes its findings.
CREATE TABLE id_watermarks (
    table_name TEXT PRIMARY KEY,
    -- The largest id ever given to a row of the table.
    last_id INTEGER NOT NULL
);
INSERT INTO id_watermarks (table_name, last_id)
SELECT 'findings', MAX(
    COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'findings'), 0),
    COALESCE((SELECT MAX(id) FROM findings), 0));

CREATE TABLE findings_rebuilt (
    id INTEGER PRIMARY KEY,
    team_id INTEGER NOT NULL,
    release_id INTEGER NOT NULL,
    sbom_id INTEGER NOT NULL,
    component_id INTEGER NOT NULL REFERENCES sbom_components (id) ON DELETE CASCADE,
    -- One finding per component and vulnerability (alias group); the record that matched.
    group_id INTEGER NOT NULL,
    vulnerability_id INTEGER NOT NULL REFERENCES vulnerabilities (id) ON DELETE CASCADE,
    -- purl, package or cpe; the identifier, what decided, the deciding range's index
    matched_by TEXT NOT NULL,
    identifier TEXT NOT NULL,
    detail TEXT NOT NULL,
    range_index INTEGER,
    -- JSON array of the versions that fix it (from the matched record's ranges)
    fixed_versions TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    -- Appeared in the SBOM's latest analysis.
    is_new BOOLEAN NOT NULL,
    -- Set when a later analysis no longer finds it (cleared if it comes back).
    resolved_at TEXT,
    disposition_id INTEGER REFERENCES dispositions (id) ON DELETE SET NULL,
    -- The decision came from another release, or reached the finding after it was made.
    disposition_inherited BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (component_id, group_id)
);
INSERT INTO findings_rebuilt (id, team_id, release_id, sbom_id, component_id, group_id,
    vulnerability_id, matched_by, identifier, detail, range_index, fixed_versions,
    first_seen_at, last_seen_at, is_new, resolved_at, disposition_id, disposition_inherited)
SELECT id, team_id, release_id, sbom_id, component_id, group_id, vulnerability_id, matched_by,
    identifier, detail, range_index, fixed_versions, first_seen_at, last_seen_at, is_new,
    resolved_at, disposition_id, disposition_inherited
FROM findings ORDER BY id;
-- No table refers to findings: dropping it deletes nothing else.
DROP TABLE findings;
ALTER TABLE findings_rebuilt RENAME TO findings;

CREATE INDEX findings_sbom ON findings (sbom_id);
CREATE INDEX findings_group ON findings (group_id);
CREATE INDEX findings_release_page ON findings
    (release_id, resolved_at, team_id, component_id, group_id, disposition_id, first_seen_at,
     sbom_id, is_new);
CREATE INDEX findings_disposition ON findings (disposition_id) WHERE disposition_id IS NOT NULL;
