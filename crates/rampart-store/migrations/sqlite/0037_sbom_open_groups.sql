-- The alias groups each SBOM has open findings of, replacing the index over every finding's
-- group (findings_group).
--
-- Re-analysis asks which SBOMs have open findings of a changed vulnerability, and a CVE
-- newly listed in KEV which findings it reaches: both start from alias groups. An index
-- over findings.group_id answered that but took a random-order entry per finding, 0.5–2 s of
-- the worst-case SBOM's 1.19 M findings (BENCHMARKS.md, SBOM analysis); this table takes one
-- row per distinct group of an SBOM (~20 k there), rewritten by each analysis with its
-- findings.
CREATE TABLE sbom_open_groups (
    group_id INTEGER NOT NULL,
    sbom_id INTEGER NOT NULL REFERENCES sboms (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, sbom_id)
) WITHOUT ROWID;
CREATE INDEX sbom_open_groups_sbom ON sbom_open_groups (sbom_id);
INSERT INTO sbom_open_groups (group_id, sbom_id)
SELECT DISTINCT group_id, sbom_id FROM findings WHERE resolved_at IS NULL;
DROP INDEX findings_group;
